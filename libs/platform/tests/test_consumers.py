"""Handlers on contract events and the dead-letter policy, without a real broker."""

from __future__ import annotations

import pytest
import structlog
from aiokafka import ConsumerRecord
from faststream.kafka import TestKafkaBroker

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope, EnvelopeError
from helpt_contracts.events import Event
from helpt_contracts.examples import help_requested
from helpt_intake.settings import IntakeSettings
from helpt_platform.consumers import subscribe_events
from helpt_platform.deadletters import DeadLetters, dead_letter_headers, describe
from helpt_platform.kafka import create_broker, create_router, publish_event


async def test_a_handler_gets_the_decoded_event_and_its_log_lines_carry_the_event_ids():
    settings = IntakeSettings(topic_prefix="unit.")
    router = create_router(settings)
    seen: list[tuple[Envelope, Event, dict]] = []

    async def on_help_requested(envelope: Envelope, event: Event) -> None:
        seen.append((envelope, event, structlog.contextvars.get_contextvars()))

    subscribe_events(router, settings, topics.HELP_REQUESTS, on_help_requested)
    broker = create_broker(settings, routers=[router])
    event = help_requested()
    async with TestKafkaBroker(broker):
        sent = await publish_event(broker, settings, event, correlation_id="call-9")
    ((envelope, got, bound_ids),) = seen
    assert got == event and envelope == sent
    assert bound_ids == {"event_id": str(sent.id), "correlation_id": "call-9", "tenant": "leuven"}
    assert structlog.contextvars.get_contextvars() == {}


def test_a_dead_letter_names_an_arbitrary_error_by_type_only_because_its_text_may_hold_personal_data():
    assert describe(ValueError("no volunteer near Jan Peeters, Naamsestraat 12")) == "ValueError"
    assert describe(EnvelopeError("unknown event type 'be.helpt.X.v1'")) == "EnvelopeError: unknown event type 'be.helpt.X.v1'"


def test_dead_letter_headers_keep_the_original_ones_and_say_where_the_message_came_from():
    record = ConsumerRecord(
        topic="t-1.intake.volunteers.v1", partition=2, offset=41, timestamp=0, timestamp_type=0, key=b"k",
        value=b"{}", checksum=None, serialized_key_size=1, serialized_value_size=2,
        headers=[("ce_type", b"be.helpt.VolunteerRegistered.v1"), ("tenant", b"leuven")],
    )
    headers = dead_letter_headers(record, RuntimeError("boom"), attempts=5, service="matching")
    assert headers | {"dlt_time": "-"} == {
        "ce_type": "be.helpt.VolunteerRegistered.v1", "tenant": "leuven", "dlt_error": "RuntimeError",
        "dlt_topic": "t-1.intake.volunteers.v1", "dlt_partition": "2", "dlt_offset": "41",
        "dlt_attempts": "5", "dlt_service": "matching", "dlt_time": "-",
    }
    assert headers["dlt_time"].endswith("Z")


def test_the_pause_between_attempts_grows_and_is_capped():
    policy = DeadLetters("intake", backoff_s=0.1, max_backoff_s=0.5)
    assert [policy.pause(n) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.4, 0.5]


def test_attempts_are_counted_per_message_and_forgotten_once_it_is_settled():
    policy = DeadLetters("intake")
    first, other = ("g", "t", 0, 7), ("g", "t", 0, 8)
    assert [policy.failed(first), policy.failed(first), policy.failed(other)] == [1, 2, 1]
    policy.forget(first)
    assert policy.failed(first) == 1


def test_fewer_than_one_attempt_is_refused():
    with pytest.raises(ValueError):
        DeadLetters("intake", attempts=0)
