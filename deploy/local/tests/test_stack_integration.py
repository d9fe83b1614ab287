"""One real start of Kafka and FerretDB on PostgreSQL: round trips, data kept across a restart, then nothing left running."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from helpt_localstack.paths import port_is_free
from helpt_localstack.postgres import remove_outside_data
from helpt_localstack.procs import is_alive
from helpt_localstack.stack import LocalStack
from pymongo import MongoClient


async def test_stack_serves_kafka_and_mongodb_then_leaves_nothing_behind(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    # A "crashed earlier run": a live process that names this state dir in its pid file.
    leftover = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", str(state)], start_new_session=True
    )
    (state / "kafka.pid").write_text(f"{leftover.pid}\n")

    stack = LocalStack(state, kafka_port=0, kafka_controller_port=0, mongodb_port=0)
    ports = [stack.kafka_port, stack.kafka_controller_port, stack.mongodb_port, stack.postgres_port]
    # Called from inside a running event loop on purpose: start() must cope with that.
    stack.start()
    try:
        assert leftover.wait(timeout=5) is not None
        stack.start()  # idempotent
        pids = stack.pids()
        assert len(pids) == 3 and all(is_alive(pid) for pid in pids)
        assert stack.bootstrap_servers == f"127.0.0.1:{stack.kafka_port}"
        assert stack.mongodb_url == f"mongodb://127.0.0.1:{stack.mongodb_port}/"

        topic, payload = f"t-{uuid.uuid4().hex[:8]}", uuid.uuid4().bytes
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, payload, key=b"k")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=stack.bootstrap_servers,
            group_id=f"{topic}-group",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            record = await consumer.getone()
        finally:
            await consumer.stop()
        assert record.value == payload

        client: MongoClient[dict[str, object]] = MongoClient(
            stack.mongodb_url, serverSelectionTimeoutMS=5000
        )
        try:
            client["helpt_test"]["things"].insert_one({"name": topic, "n": 1})
            found = client["helpt_test"]["things"].find_one({"name": topic})
        finally:
            client.close()
        assert found is not None and found["n"] == 1

        assert "Kafka Server started" in (state / "logs" / "kafka.log").read_text()
        assert (state / "logs" / "ferretdb.log").stat().st_size > 0
    finally:
        stack.stop()

    assert not any(is_alive(pid) for pid in pids)
    assert all(port_is_free(port) for port in ports)
    assert not any((state / f"{name}.pid").exists() for name in ("kafka", "ferretdb", "postgres"))
    stack.stop()  # idempotent

    # A stopped stack keeps its documents: started again (as `make run` is), the store still has them.
    again = LocalStack(state, kafka_port=0, kafka_controller_port=0, mongodb_port=0)
    again.start()
    try:
        client = MongoClient(again.mongodb_url, serverSelectionTimeoutMS=5000)
        try:
            kept = client["helpt_test"]["things"].find_one({"name": topic})
        finally:
            client.close()
    finally:
        again.stop()
    assert kept is not None and kept["n"] == 1
    remove_outside_data(state)
