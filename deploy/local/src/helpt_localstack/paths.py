"""Where things live: repository root, cache, state directories, ports."""

from __future__ import annotations

import os
import socket
import tomllib
from pathlib import Path

from helpt_localstack.errors import StackError

KAFKA_VERSION = "4.1.2"
FERRETDB_VERSION = "1.24.2"

DEFAULT_KAFKA_PORT = 9092
DEFAULT_KAFKA_CONTROLLER_PORT = 9093
DEFAULT_MONGODB_PORT = 27017


def _is_workspace_root(directory: Path) -> bool:
    pyproject = directory / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return "workspace" in data.get("tool", {}).get("uv", {})


def find_repo_root(start: Path | None = None) -> Path | None:
    """The nearest directory upward holding the uv workspace's pyproject.toml.

    Tries the working directory first, then this package's own location, so the
    dev stack lands in the same place whether called from the repo or from elsewhere.
    """
    starts = [start] if start is not None else [Path.cwd(), Path(__file__).resolve().parent]
    for origin in starts:
        for directory in [origin.resolve(), *origin.resolve().parents]:
            if _is_workspace_root(directory):
                return directory
    return None


def cache_dir() -> Path:
    explicit = os.environ.get("HELPT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "helpt"


def default_state_dir() -> Path:
    explicit = os.environ.get("HELPT_STATE_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    root = find_repo_root() or Path.cwd()
    return root / ".state" / "local"


def env_port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        port = int(raw)
    except ValueError as exc:
        raise StackError(f"{name}={raw!r} is not a port number") from exc
    if not 0 <= port <= 65535:
        raise StackError(f"{name}={port} is outside 0..65535")
    return port


def free_port() -> int:
    """A port nothing listens on right now; the OS picks it, so two stacks never collide."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def resolve_port(value: int | None, env_name: str, default: int) -> int:
    port = env_port(env_name, default) if value is None else value
    return free_port() if port == 0 else port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
