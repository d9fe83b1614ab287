"""Pid files: stale ones are cleared, foreign processes are never touched."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpt_localstack import control
from helpt_localstack.health import wait_healthy
from helpt_localstack.procs import Managed, is_alive, stop_all
from helpt_localstack.stack import LocalStack, StackError


def _sleeper(*args: str) -> subprocess.Popen[bytes]:
    """A process whose command line names `args`, once it does: until the child has exec'd, /proc shows the
    parent's command line, and `down` would rightly take it for a foreign process (seen on a loaded machine)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", *args], start_new_session=True
    )
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    for _ in range(500):
        if b"time.sleep(60)" in cmdline.read_bytes():
            break
        time.sleep(0.01)
    return process


def test_stale_pid_file_of_dead_process_is_cleared(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "kafka.pid").write_text(f"{dead.pid}\n")
    (tmp_path / "ferretdb.pid").write_text("not a pid\n")

    LocalStack(tmp_path, 0, 0, 0).stop()

    assert not (tmp_path / "kafka.pid").exists()
    assert not (tmp_path / "ferretdb.pid").exists()


def test_down_stops_leftover_that_names_the_state_dir(tmp_path: Path) -> None:
    leftover = _sleeper(str(tmp_path / "kafka" / "server.properties"))
    (tmp_path / "kafka.pid").write_text(f"{leftover.pid}\n")
    try:
        entries = control.down(tmp_path)
        assert [(e.name, e.pid, e.running) for e in entries] == [("kafka", leftover.pid, True)]
        assert leftover.wait(timeout=5) is not None
        assert not (tmp_path / "kafka.pid").exists()
        assert control.down(tmp_path) == []  # idempotent
    finally:
        leftover.kill()


def test_pid_file_naming_a_foreign_process_leaves_it_alone(tmp_path: Path) -> None:
    foreign = _sleeper()  # alive, but its command line does not mention tmp_path
    (tmp_path / "ferretdb.pid").write_text(f"{foreign.pid}\n")
    try:
        entries = control.down(tmp_path)
        assert [(e.name, e.running) for e in entries] == [("ferretdb", False)]
        assert is_alive(foreign.pid)
        assert not (tmp_path / "ferretdb.pid").exists()
    finally:
        foreign.kill()
        foreign.wait()


def test_process_that_exits_early_fails_with_its_log_tail(tmp_path: Path) -> None:
    item = Managed("kafka", tmp_path / "kafka.pid", tmp_path / "logs" / "kafka.log")
    item.start(["sh", "-c", "echo 'Address already in use'; exit 3"], tmp_path)

    with pytest.raises(StackError, match=r"(?s)exited with code 3.*Address already in use"):
        wait_healthy(item, "Kafka", 10, port=1, check=lambda timeout: None)
    item.forget()


def test_deadline_passes_without_hanging(tmp_path: Path) -> None:
    item = Managed("ferretdb", tmp_path / "ferretdb.pid", tmp_path / "logs" / "ferretdb.log")
    item.start(["sh", "-c", "echo still booting; exec sleep 60"], tmp_path)
    try:
        with pytest.raises(StackError, match=r"(?s)not healthy within 1 s.*still booting"):
            wait_healthy(item, "FerretDB", 1, port=1, check=lambda timeout: None)
    finally:
        pid = item.pid
        stop_all([item], tmp_path)
    assert pid is not None and not is_alive(pid)
    assert os.path.exists(tmp_path / "logs" / "ferretdb.log")
