"""Handlers written against contract events, not raw Kafka messages.

`subscribe_events(router, settings, topic, handler)` subscribes a plain async function
`handler(envelope, event)` to a contracts topic: the message is validated with the contracts'
`decode_event` (a message that does not decode raises `EnvelopeError`, which the router's
dead-letter middleware sends to `<topic>.dlt` at once), and every log line the handler writes
carries the event's id, correlation id and tenant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from faststream import StreamMessage
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from helpt_contracts.envelope import Envelope, EnvelopeError, decode_event
from helpt_contracts.events import Event
from helpt_platform.logs import bound
from helpt_platform.settings import ServiceSettings

__all__ = ["MAX_EVENT_BYTES", "EventHandler", "subscribe_events"]

# No Helpt event comes near this (sealed fields are a few hundred bytes each); a larger one is not ours,
# and the contracts ignore unknown fields, so without this cap a padded event would be stored whole.
MAX_EVENT_BYTES = 256 * 1024

EventHandler = Callable[[Envelope, Event], Awaitable[None]]


def subscribe_events(router: KafkaRouter, settings: ServiceSettings, topic: str, handler: EventHandler) -> None:
    """Call `handler(envelope, event)` for every event on the contracts `topic`.

    The subscriber joins a consumer group of its own, `<service group>.<topic>`, and starts from
    `earliest`, so a new service or replica reads every event the topic still holds. One group per
    topic, not one per service: in a shared group every subscriber that starts, stops or stalls
    makes all the others stop and rejoin (a rebalance), and a service with several subscriptions
    spent its first seconds, and sometimes much longer, rebalancing instead of consuming. The
    router adds the topic prefix.
    """

    async def consume(message: KafkaMessage) -> None:
        # The raw record, not FastStream's decoded body: decoding is the contracts' job, and
        # their errors never echo the body.
        record = message.raw_message
        if len(record.value or b"") > MAX_EVENT_BYTES:
            raise EnvelopeError(f"message of {len(record.value)} bytes is over the {MAX_EVENT_BYTES // 1024} KB limit")
        envelope, event = decode_event(record.headers, record.value or b"")
        with bound(event_id=str(envelope.id), correlation_id=envelope.correlation_id, tenant=envelope.tenant):
            await handler(envelope, event)

    # FastStream names the subscriber (logs, AsyncAPI) after the function.
    consume.__name__ = consume.__qualname__ = getattr(handler, "__name__", "consume")
    router.subscriber(
        topic,
        group_id=f"{settings.consumer_group}.{topic}",
        auto_offset_reset="earliest",
        decoder=_undecoded,
        description=handler.__doc__,
    )(consume)


async def _undecoded(message: StreamMessage[object]) -> bytes:
    # FastStream would json-decode the body before any handler runs, and a body that is not
    # JSON would fail there, as a retryable error. Leave it as bytes for `decode_event`.
    return message.body
