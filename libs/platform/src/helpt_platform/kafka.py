"""FastStream Kafka plumbing: the broker, routers and event publishing, configured once.

Delivery guarantees (shared/DESIGN.md):
- producers: acks=all and the idempotent producer, so an acknowledged event survives a broker
  failover and a retried send is not written twice;
- consumers: at-least-once. FastStream 0.7's Kafka default is ACK_FIRST (commit before handling:
  at-most-once), and a `KafkaRouter` does not inherit the broker's policy, so both the broker
  and every router here get `AckPolicy.NACK_ON_ERROR` explicitly. Routers also get the
  bounded-retry dead-letter middleware (`helpt_platform.deadletters`), so a failing message is
  retried a few times and then parked on `<topic>.dlt` instead of blocking its partition, and
  `CommitBehind` (`helpt_platform.commits`), so a handled message's offset is committed by a task
  of its own instead of before the next message is read (only handled offsets, so still
  at-least-once).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.security import BaseSecurity, SASLScram512

from helpt_contracts.envelope import Envelope, encode_event
from helpt_contracts.events import Event
from helpt_platform.commits import CommitBehind
from helpt_platform.deadletters import DEFAULT_ATTEMPTS, DeadLetters
from helpt_platform.settings import ServiceSettings

__all__ = ["ACK_POLICY", "create_broker", "create_router", "kafka_security", "publish_event"]

ACK_POLICY = AckPolicy.NACK_ON_ERROR


def create_broker(settings: ServiceSettings, *, routers: Sequence[KafkaRouter] = ()) -> KafkaBroker:
    """The service's broker: idempotent acks=all producer, at-least-once consumers."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers.split(","),
        client_id=f"helpt-{settings.service.value}",
        acks="all",
        enable_idempotence=True,
        ack_policy=ACK_POLICY,
        routers=routers,
        logger=logging.getLogger("faststream"),
        # FastStream's "Received" and "Processed" for every message and subscriber: at DEBUG, not INFO. Each
        # service logs what an event did to it; a handler's error is still logged at ERROR.
        log_level=logging.DEBUG,
        graceful_timeout=15.0,
        description=f"Helpt {settings.service.value} service",
        security=kafka_security(settings),
    )


def kafka_security(settings: ServiceSettings) -> BaseSecurity | None:
    """How the service signs in to Kafka: SCRAM-SHA-512 as its own user (ACLs: deploy/README.md), over TLS if set."""
    context = None
    if settings.kafka_tls:
        context = ssl.create_default_context(cafile=str(settings.kafka_ca_file) if settings.kafka_ca_file else None)
    if settings.kafka_sasl_username:
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        return SASLScram512(settings.kafka_sasl_username, password, ssl_context=context, use_ssl=settings.kafka_tls)
    return BaseSecurity(ssl_context=context, use_ssl=True) if context else None


def create_router(
    settings: ServiceSettings,
    *,
    middlewares: Sequence[Any] = (),
    dead_letter_attempts: int | None = DEFAULT_ATTEMPTS,
) -> KafkaRouter:
    """A router for the service's subscribers, with the topic prefix and the at-least-once policy.

    A message whose handler fails is tried `dead_letter_attempts` times in all, then goes to
    `<topic>.dlt`; `None` leaves out the dead-letter middleware (redelivered until it succeeds).
    Subscribers on it should join a group of the service's (`subscribe_events` uses one group per
    topic, `<settings.consumer_group>.<topic>`) and start from `earliest`, so a new replica or a
    new service reads every event the topic still holds.
    """
    if dead_letter_attempts is not None:
        # First of those that handle errors, so the outermost of them: it sees whatever the others raise.
        middlewares = (DeadLetters(settings.service.value, attempts=dead_letter_attempts), *middlewares)
    middlewares = (CommitBehind(settings.kafka_commit_interval_ms / 1000), *middlewares)  # handles no error: it only changes how an ack commits
    return KafkaRouter(prefix=settings.topic_prefix, ack_policy=ACK_POLICY, middlewares=middlewares)


async def publish_event(
    broker: KafkaBroker,
    settings: ServiceSettings,
    event: Event,
    *,
    correlation_id: str | None = None,
    topic: str | None = None,
    envelope: Envelope | None = None,
) -> Envelope:
    """Publish `event` on its contracts topic (or `topic`) with its key and envelope; wait for acks=all.

    Pass the `envelope` kept with an event in an outbox, so a republished event keeps its `ce_id`
    and consumers deduplicate it.
    """
    envelope = envelope or Envelope.for_event(event, source=settings.service.value, correlation_id=correlation_id)
    key, body, headers = encode_event(event, envelope)
    await broker.publish(
        body,
        settings.topic(topic or event.TOPIC),
        key=key,
        headers=headers,
        correlation_id=envelope.correlation_id,
    )
    return envelope
