"""Child processes that outlive nothing: own session, pid file, group-wide stop.

A pid file alone could point at an unrelated process after a reboot or pid reuse, so a
pid is only acted on when its command line or environment mentions our state directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Set in every child's environment so pids of children whose command line does not name
# the state directory (the services) can still be recognised as ours.
OWNER_ENV = "HELPT_LOCALSTACK_OWNER"


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"(log {path} is empty)"


def _read_proc(pid: int, name: str) -> str:
    try:
        return (
            (Path("/proc") / str(pid) / name)
            .read_bytes()
            .replace(b"\0", b" ")
            .decode("utf-8", errors="replace")
        )
    except OSError:
        return ""


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited; it only waits for its parent to reap it.
    stat = _read_proc(pid, "stat")
    return not (stat and stat.rsplit(")", 1)[-1].split()[:1] == ["Z"])


def belongs_to(pid: int, state_dir: Path) -> bool:
    marker = str(state_dir)
    return is_alive(pid) and (
        marker in _read_proc(pid, "cmdline")
        or f"{OWNER_ENV}={marker}" in _read_proc(pid, "environ")
    )


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        # start_new_session made the child its own group leader; signal the whole group so
        # helpers it spawned go too. Fall back to the pid if it is not a leader.
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_pids(pids: Sequence[int], timeout: float = 30.0) -> None:
    """SIGTERM every pid's group, wait up to `timeout` for all of them, then SIGKILL the rest."""
    for pid in pids:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(is_alive(p) for p in pids) and time.monotonic() < deadline:
        _reap(pids)
        time.sleep(0.1)
    for pid in pids:
        if is_alive(pid):
            signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while any(is_alive(p) for p in pids) and time.monotonic() < deadline:
        _reap(pids)
        time.sleep(0.05)


def _reap(pids: Sequence[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ChildProcessError):  # not our child: init reaps it
            os.waitpid(pid, os.WNOHANG)


@dataclass
class Managed:
    """One child process with its log file and pid file."""

    name: str
    pid_file: Path
    log_file: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else read_pid(self.pid_file)

    def start(
        self,
        cmd: Sequence[str],
        state_dir: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: tuple[int, int] | None = None,
    ) -> None:
        """Start `cmd` in a session of its own, output to the log file; as (uid, gid) `user` when given."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        child_env = dict(os.environ if env is None else env)
        child_env[OWNER_ENV] = str(state_dir)
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env,
                cwd=cwd,
                start_new_session=True,
                user=user[0] if user else None,
                group=user[1] if user else None,
                extra_groups=[] if user else None,
            )
        self.pid_file.write_text(f"{self.process.pid}\n", encoding="utf-8")

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def tail(self, lines: int = 30) -> str:
        return log_tail(self.log_file, lines)

    def pids(self, state_dir: Path) -> list[int]:
        pid = self.pid
        if pid is None:
            return []
        if self.process is not None:
            return [pid] if self.process.poll() is None else []
        return [pid] if belongs_to(pid, state_dir) else []

    def forget(self) -> None:
        if self.process is not None:
            self.process.poll()
        self.process = None
        self.pid_file.unlink(missing_ok=True)


def stop_all(items: Sequence[Managed], state_dir: Path, timeout: float = 30.0) -> None:
    """Stop several processes in parallel (Kafka alone takes seconds) and clear their pid files."""
    pids = [pid for item in items for pid in item.pids(state_dir)]
    if pids:
        stop_pids(pids, timeout)
    for item in items:
        item.forget()
