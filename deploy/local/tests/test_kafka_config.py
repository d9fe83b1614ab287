"""The broker configuration the stack writes."""

from __future__ import annotations

import base64
from pathlib import Path

from helpt_localstack import kafka


def _parse(text: str) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


def test_server_properties_use_configured_ports_and_static_voters(tmp_path: Path) -> None:
    props = _parse(
        kafka.render_server_properties(tmp_path / "data", port=19092, controller_port=19093)
    )

    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["min.insync.replicas"] == "1"
    assert props["num.partitions"] == "3"
    assert props["auto.create.topics.enable"] == "true"
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_format_runs_without_standalone_flag(tmp_path: Path) -> None:
    cmd = kafka.format_command(
        "java", tmp_path, tmp_path / "log4j2.properties", tmp_path / "server.properties", "abc"
    )

    assert cmd[cmd.index("kafka.tools.StorageTool") :] == [
        "kafka.tools.StorageTool",
        "format",
        "-t",
        "abc",
        "-c",
        str(tmp_path / "server.properties"),
    ]
    assert "--standalone" not in cmd


def test_cluster_id_is_16_bytes_base64url_without_padding() -> None:
    cluster_id = kafka.new_cluster_id()

    assert len(cluster_id) == 22 and "=" not in cluster_id
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
    assert kafka.new_cluster_id() != cluster_id


def test_a_cluster_id_never_starts_with_a_dash_which_the_format_tool_would_take_for_an_option(monkeypatch):
    import uuid as uuid_module

    from helpt_localstack import kafka as kafka_module

    dash_first = uuid_module.UUID(bytes=b"\xf8" + bytes(15))  # base64url: starts with "-"
    ids = iter([dash_first, uuid_module.UUID(int=1)])
    monkeypatch.setattr(kafka_module.uuid, "uuid4", lambda: next(ids))
    cluster_id = kafka_module.new_cluster_id()
    assert not cluster_id.startswith("-") and len(cluster_id) == 22
