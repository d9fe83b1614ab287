"""Offsets committed behind the handlers (helpt_platform.commits) against the real Kafka broker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope, encode_event
from helpt_contracts.events import Event, HelpRequested
from helpt_contracts.examples import help_requested
from helpt_intake.settings import IntakeSettings
from helpt_platform import testing
from helpt_platform.commits import drain_commits
from helpt_platform.kafka import publish_event

pytestmark = pytest.mark.infra
DEADLINE_S = 60


def consuming(settings: IntakeSettings, handler: Callable[[Envelope, Event], Awaitable[None]]) -> Any:
    return testing.consuming(settings, topics.HELP_REQUESTS, handler)


def group(settings: IntakeSettings) -> str:
    return f"{settings.consumer_group}.{topics.HELP_REQUESTS}"


async def committed(settings: IntakeSettings) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group(settings))
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def ends(settings: IntakeSettings) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await consumer.start()
    try:
        topic = settings.topic(topics.HELP_REQUESTS)
        await consumer._client.force_metadata_update()  # noqa: SLF001 - the topic is new
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp: end for tp, end in (await consumer.end_offsets(parts)).items() if end > 0}
    finally:
        await consumer.stop()


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while not await check():
        assert loop.time() < end, f"not within {DEADLINE_S} s: {what}"
        await asyncio.sleep(0.1)


@pytest.fixture
def commits(monkeypatch) -> list[int]:
    """[how many times a consumer committed] while the test runs."""
    count = [0]
    original = AIOKafkaConsumer.commit

    async def counted(self: AIOKafkaConsumer, offsets=None) -> None:
        count[0] += 1
        await original(self, offsets)

    monkeypatch.setattr(AIOKafkaConsumer, "commit", counted)
    return count


async def test_every_handled_event_ends_committed_with_fewer_commits_than_events(settings, commits):
    events = [help_requested() for _ in range(150)]
    handled: list[HelpRequested] = []
    arrived = asyncio.Event()

    async def handler(_envelope: Envelope, event: Event) -> None:
        assert isinstance(event, HelpRequested)
        handled.append(event)
        await asyncio.sleep(0.002)  # a handler's store write
        if len(handled) >= len(events):
            arrived.set()

    async with consuming(settings, handler) as broker:
        for event in events:
            await publish_event(broker, settings, event)
        await asyncio.wait_for(arrived.wait(), DEADLINE_S)
        written = await ends(settings)

        async def all_committed() -> bool:
            return await committed(settings) == written

        await eventually(all_committed, "the group's committed offsets reach the end of every partition")
    assert sorted(e.request_id for e in handled) == sorted(e.request_id for e in events)
    # Under load one commit covers several events (before, FastStream awaited one per event).
    assert 0 < commits[0] < len(events)


async def test_events_arriving_one_by_one_share_a_commit_per_interval(settings, commits):
    """A help desk's usual day: a submission now and then, each handled before the next arrives. Committed
    at once, each cost its subscribers a commit apiece; within an interval (250 ms) they share one."""
    assert settings.kafka_commit_interval_ms == 250
    events = [help_requested() for _ in range(12)]
    handled: list[object] = []

    async def handler(_envelope: Envelope, event: Event) -> None:
        handled.append(event)

    async with consuming(settings, handler) as broker:
        for i, event in enumerate(events, start=1):
            await publish_event(broker, settings, event)
            await eventually(lambda: _now(len(handled) >= i), "the event is handled before the next is sent")
            await asyncio.sleep(0.05)
        written = await ends(settings)

        async def all_committed() -> bool:
            return await committed(settings) == written

        await eventually(all_committed, "the group's committed offsets reach the end of every partition")
    assert commits[0] <= len(events) // 2, f"{commits[0]} commits for {len(events)} events handled one by one"


async def test_an_event_whose_handler_has_not_finished_is_never_committed(settings):
    first, stuck, after = help_requested(), help_requested(), help_requested()
    release = asyncio.Event()
    seen: list[object] = []

    async def handler(_envelope: Envelope, event: Event) -> None:
        assert isinstance(event, HelpRequested)
        seen.append(event.request_id)
        if event.request_id == stuck.request_id:
            await release.wait()  # a crash now must not lose it

    async with consuming(settings, handler) as broker:
        for event in (first, stuck, after):  # one key, so one partition, in this order
            _key, body, headers = encode_event(event, Envelope.for_event(event, source="intake"))
            await broker.publish(body, settings.topic(topics.HELP_REQUESTS), key=first.key(), headers=headers)
        await eventually(lambda: _now(stuck.request_id in seen), "the second event reaches its handler")
        (partition,) = await ends(settings)

        async def first_committed() -> bool:
            return (await committed(settings)).get(partition) == 1

        await eventually(first_committed, "the first event's offset is committed")
        await drain_commits()
        await asyncio.sleep(0.5)  # room for a wrong commit: the consumer's position is already past the stuck one
        assert (await committed(settings)).get(partition) == 1
        assert seen == [first.request_id, stuck.request_id]

        release.set()

        async def all_committed() -> bool:
            return (await committed(settings)).get(partition) == 3

        await eventually(all_committed, "once its handler finishes, it and the next one are committed")
    assert seen == [first.request_id, stuck.request_id, after.request_id]


async def _now(value: bool) -> bool:
    return value
