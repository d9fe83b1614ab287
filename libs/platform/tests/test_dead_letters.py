"""Bounded retries and the dead-letter topic against the real Kafka broker."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event, HelpRequested
from helpt_contracts.examples import help_requested
from helpt_contracts.topics import dead_letter_topic
from helpt_intake.settings import IntakeSettings
from helpt_platform import dlt, testing
from helpt_platform.kafka import publish_event

pytestmark = pytest.mark.infra
DEADLINE_S = 60


def consuming(settings: IntakeSettings, handler: Callable[[Envelope, Event], Awaitable[None]], *, attempts: int = 5) -> Any:
    return testing.consuming(settings, topics.HELP_REQUESTS, handler, attempts=attempts)


async def dead_letters(settings: IntakeSettings, expected: int) -> list[ConsumerRecord]:
    """The dead-letter topic's records, once `expected` are there; fails if it holds more."""
    topic = dead_letter_topic(settings.topic(topics.HELP_REQUESTS))
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="earliest")
    await consumer.start()
    try:
        records: list[ConsumerRecord] = []
        while len(records) < expected:
            records.append(await asyncio.wait_for(consumer.getone(), DEADLINE_S))
        ends = await consumer.end_offsets(list(consumer.assignment()))
        assert sum(ends.values()) == expected, "more dead letters than expected"
        return sorted(records, key=lambda r: r.offset)
    finally:
        await consumer.stop()


async def topic_exists(settings: IntakeSettings, topic: str) -> bool:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await consumer.start()
    try:
        return topic in await consumer.topics()  # a metadata request for all topics creates none
    finally:
        await consumer.stop()


class Recorder:
    """A handler that fails for the requests in `failing` (for their first `times` calls) and records every call."""

    def __init__(self, failing: set[object] = frozenset(), times: int = 10**6) -> None:
        self.failing, self.times = failing, times
        self.calls: list[object] = []
        self.handled: asyncio.Queue[HelpRequested] = asyncio.Queue()

    async def __call__(self, envelope: Envelope, event: Event) -> None:
        assert isinstance(event, HelpRequested)
        self.calls.append(event.request_id)
        if event.request_id in self.failing and self.calls.count(event.request_id) <= self.times:
            raise RuntimeError(f"store unavailable while saving request of {event.reference}")
        self.handled.put_nowait(event)

    async def next_handled(self) -> HelpRequested:
        return await asyncio.wait_for(self.handled.get(), DEADLINE_S)


async def test_messages_that_are_not_events_go_to_the_dead_letter_topic_at_once_and_the_next_event_is_handled(settings):
    handler = Recorder()
    good = help_requested()
    key = good.key()  # one key: the poison and the good event share a partition
    original = Envelope.for_event(good, source="intake").to_headers() | {"origin": "unit-test"}
    topic = settings.topic(topics.HELP_REQUESTS)
    async with consuming(settings, handler) as broker:
        await broker.publish(b"\x00 not json", topic, key=key, headers=original)
        await broker.publish(b'{"tenant": "leuven"}', topic, key=key, headers=original | {"ce_type": "be.helpt.Unheard.v1"})
        await publish_event(broker, settings, good)
        assert await handler.next_handled() == good
    assert handler.calls == [good.request_id]

    not_json, unknown_type = await dead_letters(settings, expected=2)
    assert (not_json.key, not_json.value) == (key, b"\x00 not json")
    assert (unknown_type.key, unknown_type.value) == (key, b'{"tenant": "leuven"}')
    for record, ce_type in ((not_json, "be.helpt.HelpRequested.v1"), (unknown_type, "be.helpt.Unheard.v1")):
        headers = {name: value.decode() for name, value in record.headers}
        assert headers.items() >= (original | {"ce_type": ce_type}).items()
        assert headers["dlt_topic"] == topic and headers["dlt_attempts"] == "1" and headers["dlt_service"] == "intake"
        assert headers["dlt_time"].endswith("Z")
    assert dict(not_json.headers)["dlt_error"] == b"EnvelopeError: body is not a valid HelpRequested: (root): json_invalid"
    assert dict(unknown_type.headers)["dlt_error"] == b"EnvelopeError: unknown event type 'be.helpt.Unheard.v1'"
    assert dict(not_json.headers)["dlt_partition"] == dict(unknown_type.headers)["dlt_partition"]
    assert int(dict(not_json.headers)["dlt_offset"]) + 1 == int(dict(unknown_type.headers)["dlt_offset"])


async def test_a_handler_that_fails_twice_then_succeeds_leaves_no_dead_letter(settings):
    event = help_requested()
    handler = Recorder(failing={event.request_id}, times=2)
    async with consuming(settings, handler, attempts=3) as broker:
        await publish_event(broker, settings, event)
        assert await handler.next_handled() == event
    assert handler.calls == [event.request_id] * 3
    assert not await topic_exists(settings, dead_letter_topic(settings.topic(topics.HELP_REQUESTS)))


async def test_a_handler_that_always_fails_parks_the_event_after_its_attempts_and_moves_on(settings):
    doomed = help_requested(reference="H-DOOM1")
    after = help_requested(request_id=doomed.request_id, reference="H-AFTER")  # same key, same partition
    handler = Recorder(failing={doomed.request_id}, times=3)
    async with consuming(settings, handler, attempts=3) as broker:
        await publish_event(broker, settings, doomed, correlation_id="c-doom")
        await publish_event(broker, settings, after)
        assert await handler.next_handled() == after
    assert handler.calls == [doomed.request_id] * 4  # three failed attempts, then the next event

    (letter,) = await dead_letters(settings, expected=1)
    assert letter.key == doomed.key() and HelpRequested.model_validate_json(letter.value) == doomed
    headers = dict(letter.headers)
    assert headers["dlt_attempts"] == b"3" and headers["correlation_id"] == b"c-doom"
    assert headers["dlt_error"] == b"RuntimeError"  # its text named the request's reference
    assert all(b"H-DOOM1" not in value for value in headers.values())


async def test_an_operator_lists_shows_and_replays_a_dead_letter_once_the_cause_is_fixed(settings):
    """`make deadletters`: the parked event is listed with why; replayed after the fix, it is handled once."""
    doomed = help_requested(reference="H-DLT01")
    handler = Recorder(failing={doomed.request_id}, times=2)  # the store is down for two tries, then back
    dlt_topic = dead_letter_topic(settings.topic(topics.HELP_REQUESTS))
    async with consuming(settings, handler, attempts=2) as broker:
        await publish_event(broker, settings, doomed)
        (letter,) = await dead_letters(settings, expected=1)

        out = io.StringIO()
        assert await asyncio.to_thread(dlt.main, ["--bootstrap", settings.kafka_bootstrap_servers,
                                                  "--prefix", settings.topic_prefix, "list"], out) == 0
        listing = out.getvalue().splitlines()
        assert listing[-1] == "1 dead letter(s) on 1 topic(s)"
        assert listing[0].startswith(f"{dlt_topic} @{letter.offset}  from {settings.topic(topics.HELP_REQUESTS)}[")
        assert "be.helpt.HelpRequested.v1" in listing[0] and "after 2 attempt(s)" in listing[0] and listing[0].endswith("RuntimeError")

        out = io.StringIO()
        assert await asyncio.to_thread(dlt.main, ["--bootstrap", settings.kafka_bootstrap_servers, "show", dlt_topic,
                                                  str(letter.offset), "--bytes", "40"], out) == 0
        shown = out.getvalue()
        assert "  dlt_error: RuntimeError" in shown and f"  ce_id: {dict(letter.headers)['ce_id'].decode()}" in shown
        assert "more bytes; --bytes to see them" in shown
        assert await asyncio.to_thread(dlt.main, ["--bootstrap", settings.kafka_bootstrap_servers, "show", dlt_topic,
                                                  str(letter.offset + 7)], io.StringIO()) == 1, "no such dead letter"

        out = io.StringIO()
        assert await asyncio.to_thread(dlt.main, ["--bootstrap", settings.kafka_bootstrap_servers, "replay", dlt_topic,
                                                  str(letter.offset)], out) == 0
        assert out.getvalue().endswith("1 dead letter(s) replayed\n")
        assert await handler.next_handled() == doomed, "the replayed event reaches the consumer, which now succeeds"
    assert handler.calls == [doomed.request_id] * 3  # two failed tries, then the replay
    await dead_letters(settings, expected=1)  # handled this time: nothing new was parked


def test_the_dead_letter_command_refuses_a_topic_that_is_not_a_dead_letter_topic(capsys):
    assert dlt.main(["--bootstrap", "127.0.0.1:1", "show", "intake.help-requests.v1", "0"]) == 2
    assert "is not a dead-letter topic" in capsys.readouterr().err
