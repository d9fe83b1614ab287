"""The infrastructure choice, seen from a separate pytest run that loads the plugin."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpt_localstack import pytest_plugin
from helpt_localstack.paths import port_is_free

LOCAL_TEST = """
from pymongo import MongoClient

def test_mongodb(infra):
    assert infra.kind == "local"
    client = MongoClient(infra.mongodb_url, serverSelectionTimeoutMS=5000)
    client.db.c.insert_one({"x": 1})
    assert client.db.c.find_one({"x": 1}) is not None
    client.close()

def test_same_session_same_stack(infra):
    kafka_port = infra.bootstrap_servers.rsplit(":", 1)[1]
    print("PORTS", kafka_port, infra.mongodb_url.rstrip("/").rsplit(":", 1)[1])
"""

INNER_TEST = """
import re

def test_infra(infra, unique_name):
    print("INFRA", infra)
    assert re.fullmatch(r"t-[0-9a-f]{8}", unique_name)
"""


def _inner_pytest(
    tmp_path: Path, env: dict[str, str], test_file: str = "test_inner.py"
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "helpt_localstack.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "-s",
            test_file,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _clean_env(**extra: str) -> dict[str, str]:
    names = ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL", "HELPT_TEST_INFRA", "PYTEST_ADDOPTS")
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(extra)
    return env


def test_urls_from_environment_are_used_as_given(tmp_path: Path) -> None:
    result = _inner_pytest(
        tmp_path,
        _clean_env(
            KAFKA_BOOTSTRAP_SERVERS="kafka.example:9092", MONGODB_URL="mongodb://db.example:27017/"
        ),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "helpt infrastructure: from the environment (KAFKA_BOOTSTRAP_SERVERS=kafka.example:9092"
        in result.stdout
    )
    assert (
        "INFRA Infra(kind='env', bootstrap_servers='kafka.example:9092', "
        "mongodb_url='mongodb://db.example:27017/', state_dir=None)"
    ) in result.stdout


def test_infrastructure_that_cannot_start_fails_the_run_loudly(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = _clean_env(
        HELPT_TEST_INFRA="local", PATH=str(empty_bin), HELPT_CACHE_DIR=str(tmp_path / "cache")
    )
    env.pop("JAVA_HOME", None)

    result = _inner_pytest(tmp_path, env)

    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "helpt infrastructure: local processes (Kafka 4.1.2 KRaft + FerretDB 1.24.2)"
        in result.stdout
    )
    assert "1 error" in result.stdout and "skipped" not in result.stdout
    assert "Missing tool(s): java (17 or newer), mvn, go" in result.stdout


def test_local_processes_serve_the_session_and_stop_after_it(tmp_path: Path) -> None:
    (tmp_path / "test_local.py").write_text(LOCAL_TEST)

    result = _inner_pytest(tmp_path, _clean_env(HELPT_TEST_INFRA="local"), "test_local.py")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    ports = [int(p) for p in re.findall(r"PORTS (\d+) (\d+)", result.stdout)[0]]
    assert all(port_is_free(port) for port in ports)


def test_choice_order(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL", "HELPT_TEST_INFRA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pytest_plugin, "docker_answers", lambda: False)
    assert pytest_plugin.choose_kind() == "local"

    monkeypatch.setattr(pytest_plugin, "docker_answers", lambda: True)
    assert pytest_plugin.choose_kind() == "docker"

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    assert pytest_plugin.choose_kind() == "docker"  # one URL alone is not enough
    monkeypatch.setenv("MONGODB_URL", "mongodb://m/")
    assert pytest_plugin.choose_kind() == "env"

    monkeypatch.setenv("HELPT_TEST_INFRA", "local")
    assert pytest_plugin.choose_kind() == "local"
    monkeypatch.setenv("HELPT_TEST_INFRA", "kubernetes")
    with pytest.raises(pytest.UsageError):
        pytest_plugin.choose_kind()


def test_without_docker_binary_docker_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)

    assert pytest_plugin.docker_answers() is False


def test_abandoned_test_stacks_are_swept_but_live_ones_kept(tmp_path: Path) -> None:
    dead_owner = subprocess.Popen(["true"])
    dead_owner.wait()
    abandoned, live = tmp_path / "test-abandoned", tmp_path / "test-live"
    for state_dir, owner in ((abandoned, dead_owner.pid), (live, os.getpid())):
        state_dir.mkdir()
        (state_dir / pytest_plugin.OWNER_FILE).write_text(f"{owner}\n")
    leftover = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", str(abandoned)],
        start_new_session=True,
    )
    (abandoned / "kafka.pid").write_text(f"{leftover.pid}\n")
    try:
        pytest_plugin._sweep_abandoned(tmp_path)

        assert leftover.wait(timeout=5) is not None
        assert not abandoned.exists()
        assert live.exists()
    finally:
        leftover.kill()
