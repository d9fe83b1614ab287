"""Acting on a stack from its pid files alone: `down` and `status`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from helpt_localstack.procs import Managed, belongs_to, read_pid, stop_all
from helpt_localstack.services import DEFAULT_PORTS

INFRA = ("kafka", "ferretdb", "postgres")


@dataclass(frozen=True)
class Entry:
    name: str
    pid: int | None
    running: bool


def _managed(state_dir: Path, name: str) -> Managed:
    return Managed(name, state_dir / f"{name}.pid", state_dir / "logs" / f"{name}.log")


def _names(state_dir: Path) -> list[str]:
    # Services first: they should go before the broker and the store they talk to.
    found = sorted(p.stem for p in state_dir.glob("*.pid"))
    known = [*DEFAULT_PORTS, *INFRA]
    return [n for n in known if n in found] + [n for n in found if n not in known]


def status(state_dir: Path) -> list[Entry]:
    entries = []
    for name in _names(state_dir):
        pid = read_pid(state_dir / f"{name}.pid")
        entries.append(Entry(name, pid, pid is not None and belongs_to(pid, state_dir)))
    return entries


def urls(state_dir: Path) -> dict[str, str]:
    try:
        data = json.loads((state_dir / "stack.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def down(state_dir: Path) -> list[Entry]:
    """Stop whatever the pid files name (if it is still ours), services first; idempotent."""
    before = status(state_dir)
    services = [_managed(state_dir, e.name) for e in before if e.name not in INFRA]
    infra = [_managed(state_dir, e.name) for e in before if e.name in INFRA]
    stop_all(services, state_dir, 15.0)
    stop_all([m for m in infra if m.name != "postgres"], state_dir, 30.0)
    stop_all([m for m in infra if m.name == "postgres"], state_dir, 30.0)  # after FerretDB, its only client
    (state_dir / "stack.json").unlink(missing_ok=True)
    return before
