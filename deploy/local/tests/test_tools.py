"""Missing tools are reported by name before anything is downloaded or started."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpt_localstack import toolcheck, tools
from helpt_localstack.stack import LocalStack, MissingToolError, StackError


def test_missing_tools_are_named_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = shutil.which
    monkeypatch.setattr(
        "shutil.which", lambda name: None if name in ("mvn", "go") else real_which(name)
    )

    with pytest.raises(MissingToolError) as caught:
        tools.check_tools(("mvn", "go"))

    message = str(caught.value)
    assert caught.value.missing == ["mvn", "go"]
    assert "apt-get install openjdk-17-jre-headless maven golang" in message
    assert "KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL" in message
    assert isinstance(caught.value, StackError)


def test_too_old_java_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolcheck, "java_executable", lambda: "/opt/jdk11/bin/java")
    monkeypatch.setattr(toolcheck, "java_major_version", lambda java: 11)

    with pytest.raises(MissingToolError, match=r"java 17 or newer \(found 11"):
        tools.check_tools(("java",))


def test_start_without_any_tool_fails_fast_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("HELPT_CACHE_DIR", str(tmp_path / "empty-cache"))
    stack = LocalStack(tmp_path / "state", kafka_port=0, kafka_controller_port=0, mongodb_port=0)

    with pytest.raises(MissingToolError) as caught:
        stack.start()

    assert caught.value.missing == ["java (17 or newer)", "mvn", "go"]
    assert stack.pids() == []
    assert not (tmp_path / "empty-cache").exists()


def test_cached_install_needs_no_build_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stamp whose content matches means "complete": nothing is re-run, so mvn/go are not needed.
    monkeypatch.setattr("shutil.which", lambda name: None)
    home = tools.kafka_home(tmp_path)
    home.mkdir(parents=True)
    (home / tools.STAMP).write_text(tools._kafka_stamp_text())
    binary = tools.ferretdb_binary(tmp_path)
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    (binary.parent / tools.STAMP).write_text(tools._ferretdb_stamp_text())

    assert tools.ensure_kafka(tmp_path) == home
    assert tools.ensure_ferretdb(tmp_path) == binary


def test_stale_stamp_from_another_pom_means_not_installed(tmp_path: Path) -> None:
    home = tools.kafka_home(tmp_path)
    home.mkdir(parents=True)
    (home / tools.STAMP).write_text("sha256-of-an-older-pom")

    assert not tools.kafka_installed(tmp_path)
