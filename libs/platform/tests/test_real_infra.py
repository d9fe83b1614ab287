"""The plumbing against the real Kafka broker and the real MongoDB-wire server."""

import asyncio
import datetime as dt
import json
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from fastapi.testclient import TestClient

from helpt_contracts.envelope import decode_event
from helpt_contracts.examples import help_requested
from helpt_intake.app import create_app
from helpt_intake.settings import IntakeSettings
from helpt_platform.kafka import create_broker, create_router, publish_event
from helpt_platform.logs import configure_logging
from helpt_platform.mongo import SlowCommands, create_mongo_client, service_database
from pymongo import AsyncMongoClient

pytestmark = pytest.mark.infra


@pytest.fixture
def settings(infra, unique_name) -> IntakeSettings:
    return IntakeSettings(
        kafka_bootstrap_servers=infra.bootstrap_servers,
        mongodb_url=infra.mongodb_url,
        topic_prefix=f"{unique_name}.",
        mongodb_database=f"helpt_{unique_name}".replace("-", "_"),
        log_json=False,
    )


async def test_an_event_published_to_real_kafka_comes_back_with_key_headers_and_body_intact(settings):
    event = help_requested()
    broker = create_broker(settings)
    await broker.start()
    try:
        envelope = await publish_event(broker, settings, event, correlation_id="call-7")
    finally:
        await broker.stop()

    consumer = AIOKafkaConsumer(
        settings.topic(event.TOPIC), bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest", enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()
    assert record.key == str(event.request_id).encode()
    got_envelope, got_event = decode_event(record.headers, record.value)
    assert got_event == event
    assert got_envelope.id == envelope.id and got_envelope.correlation_id == "call-7"
    assert dict(record.headers)["ce_type"] == b"be.helpt.HelpRequested.v1"


async def test_a_message_whose_handler_fails_is_delivered_again_not_lost(settings):
    """At-least-once through a router: FastStream routers must not fall back to auto-commit."""
    router = create_router(settings)
    attempts: list[str] = []
    done = asyncio.Event()

    @router.subscriber("work", group_id=settings.consumer_group, auto_offset_reset="earliest")
    async def handle(body: dict) -> None:
        attempts.append(body["id"])
        if len(attempts) == 1:
            raise RuntimeError("transient failure")
        done.set()

    broker = create_broker(settings, routers=[router])
    await broker.start()
    try:
        await broker.publish({"id": "job-1"}, settings.topic("work"), key=b"job-1")
        await asyncio.wait_for(done.wait(), 60)
    finally:
        await broker.stop()
    assert attempts == ["job-1", "job-1"]


async def test_a_document_written_to_the_real_store_reads_back_the_same(settings):
    client = create_mongo_client(settings)
    try:
        cases = service_database(client, settings)["cases"]
        case_id = uuid.uuid4()
        opened = dt.datetime(2026, 3, 17, 9, 30, tzinfo=dt.UTC)
        await cases.insert_one({"_id": case_id, "tenant": "leuven", "opened_at": opened, "flags": ["duplicate"]})
        found = await cases.find_one({"_id": case_id})
    finally:
        await client.close()
    assert found == {"_id": case_id, "tenant": "leuven", "opened_at": opened, "flags": ["duplicate"]}


def test_a_service_is_ready_when_kafka_and_its_store_answer(settings):
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok", "service": "intake"}
        ready = None
        for _ in range(60):
            ready = client.get("/readyz")
            if ready.status_code == 200:
                break
            asyncio.run(asyncio.sleep(0.5))
        assert ready.status_code == 200, ready.json()
        assert ready.json()["checks"] == {"kafka": "ok", "mongodb": "ok"}


def test_a_service_whose_kafka_is_unreachable_is_alive_but_not_ready(settings):
    unreachable = settings.model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:1"})
    with TestClient(create_app(unreachable)) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["kafka"].startswith("unavailable")
        assert response.json()["checks"]["mongodb"] == "ok"


async def test_a_slow_store_command_is_logged_by_its_shape_never_by_the_values_it_looked_for(settings, capsys):
    """What an operator sees when the store is slow: which command, on which collection, asked what — and not
    the blind index or subject id it asked for (threshold 0 ms: every command counts as slow here)."""
    configure_logging("intake")
    client = AsyncMongoClient(settings.mongodb_url.get_secret_value(), uuidRepresentation="standard",
                              event_listeners=[SlowCommands(0)])
    secret = f"blind-{uuid.uuid4().hex}"
    try:
        contacts = client[settings.database_name]["contacts"]
        await contacts.insert_one({"_id": secret, "tenant": "leuven"})
        await contacts.find_one({"tenant": "leuven", "index": {"$in": [secret, "x"]}})
        await contacts.update_one({"_id": secret}, {"$set": {"seen": True}})
    finally:
        await client.close()
    out = capsys.readouterr().out
    slow = [json.loads(line) for line in out.splitlines() if '"slow store command"' in line]
    assert {(s["command"], s["collection"]) for s in slow} >= {("insert", "contacts"), ("find", "contacts"), ("update", "contacts")}
    (found,) = [s for s in slow if s["command"] == "find"]
    assert found["shape"] == {"tenant": "str", "index": {"$in": ["str", "..."]}}
    (updated,) = [s for s in slow if s["command"] == "update"]
    assert updated["shape"] == {"_id": "str"} and updated["ms"] >= 0
    assert secret not in out


def test_slow_store_commands_are_logged_from_half_a_second_unless_turned_off(monkeypatch):
    monkeypatch.setenv("HELPT_SLOW_STORE_COMMAND_MS", "0")
    assert IntakeSettings().slow_store_command_ms == 0
    monkeypatch.delenv("HELPT_SLOW_STORE_COMMAND_MS")
    assert IntakeSettings().slow_store_command_ms == 500
