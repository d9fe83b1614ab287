"""Bounded retries, then `<topic>.dlt`: a router middleware for FastStream 0.7 Kafka subscribers.

With `NACK_ON_ERROR` alone, a message whose handler fails is redelivered forever and blocks its
partition. `DeadLetters` lets it be redelivered up to `attempts` times in total (with a short,
growing pause, so a flapping store gets a moment), then publishes it to `<topic>.dlt` — the
topic as consumed, prefix included — with its original key, body and headers plus `dlt_*`
headers, and lets FastStream acknowledge it so the consumer moves on. A message that can never
succeed (`EnvelopeError`: not JSON, not a valid event, unknown `ce_type`) goes there at once.

Attempts are counted in memory per (consumer group, topic, partition, offset). A restart or a
rebalance starts the count again: a message may then get up to `attempts` more tries, never
fewer, so delivery stays at-least-once.

It belongs on routers, not on the broker: a broker middleware would also wrap the broker's own
publish of the dead letter and could loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict
from types import TracebackType
from typing import Any

from aiokafka import ConsumerRecord
from faststream import BaseMiddleware, ContextRepo
from faststream.exceptions import IgnoredException

from helpt_contracts.envelope import EnvelopeError
from helpt_contracts.topics import dead_letter_topic
from helpt_platform.logs import get_logger

__all__ = ["DEFAULT_ATTEMPTS", "DeadLetters", "dead_letter_headers"]

log = get_logger(__name__)
DEFAULT_ATTEMPTS = 5
# Errors retrying cannot cure: the message itself is wrong.
POISON: tuple[type[Exception], ...] = (EnvelopeError,)

_Key = tuple[str, str, int, int]


class DeadLetters:
    """Middleware factory for `KafkaRouter(middlewares=[...])`; holds the attempt counts of one router."""

    def __init__(
        self,
        service: str,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_s: float = 0.1,
        max_backoff_s: float = 2.0,
        max_tracked: int = 10_000,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.service = service
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._max_tracked = max_tracked
        self._failures: OrderedDict[_Key, int] = OrderedDict()

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> _DeadLetterScope:
        return _DeadLetterScope(msg, context=context, policy=self)

    def failed(self, key: _Key) -> int:
        """Count one more failed attempt of a message; the total so far."""
        count = self._failures.pop(key, 0) + 1
        self._failures[key] = count
        while len(self._failures) > self._max_tracked:  # forgotten counts only cost extra retries
            self._failures.popitem(last=False)
        return count

    def forget(self, key: _Key) -> None:
        self._failures.pop(key, None)

    def pause(self, attempt: int) -> float:
        """Seconds to wait before the message is redelivered after `attempt` failed."""
        return min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s)


class _DeadLetterScope(BaseMiddleware):
    """One message's pass through the middleware (FastStream builds one per message)."""

    def __init__(self, msg: Any, /, *, context: ContextRepo, policy: DeadLetters) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        record = self.msg
        if not isinstance(record, ConsumerRecord):  # batches are not supported: leave them to the ack policy
            return False
        subscriber = self.context.get_local("handler_")
        key: _Key = (getattr(subscriber, "group_id", None) or "", record.topic, record.partition, record.offset)
        if exc_val is None:
            self.policy.forget(key)
            return False
        if not isinstance(exc_val, Exception) or isinstance(exc_val, IgnoredException):
            return False  # cancellation, or the handler's own AckMessage/NackMessage: not a failure
        attempt = self.policy.failed(key)
        if attempt < self.policy.attempts and not isinstance(exc_val, POISON):
            # Pausing here holds the partition, which keeps the aggregate's events in order.
            await asyncio.sleep(self.policy.pause(attempt))
            return False  # NACK_ON_ERROR seeks back: the message comes again
        try:
            await self._dead_letter(record, exc_val, attempt)
        except Exception:
            # Not parked, so not acknowledged: the message comes again and we try once more.
            await asyncio.sleep(self.policy.pause(attempt))
            raise
        self.policy.forget(key)
        return True  # handled: FastStream acknowledges it and the consumer moves on

    async def _dead_letter(self, record: ConsumerRecord, error: Exception, attempt: int) -> None:
        broker = self.context.get("broker")
        headers = dead_letter_headers(record, error, attempts=attempt, service=self.policy.service)
        await broker.publish(
            record.value,
            dead_letter_topic(record.topic),
            key=record.key,
            headers=headers,  # the original correlation_id header wins over FastStream's own
        )
        log.error(
            "message dead-lettered",
            topic=record.topic, partition=record.partition, offset=record.offset,
            attempts=attempt, error=type(error).__name__,
        )


def dead_letter_headers(record: ConsumerRecord, error: Exception, *, attempts: int, service: str) -> dict[str, str]:
    """The original headers plus why, where from and when the message was dead-lettered."""
    # FastStream sends header values as UTF-8 text; the rare non-UTF-8 byte is replaced.
    original = {name: value.decode("utf-8", "replace") for name, value in record.headers}
    return original | {
        "dlt_error": describe(error),
        "dlt_topic": record.topic,
        "dlt_partition": str(record.partition),
        "dlt_offset": str(record.offset),
        "dlt_attempts": str(attempts),
        "dlt_service": service,
        "dlt_time": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def describe(error: Exception) -> str:
    """The error for a header: its type; the message only for our own `EnvelopeError`.

    Any other exception's text may quote the data it choked on, and that may be personal data.
    """
    if isinstance(error, EnvelopeError):
        return f"{type(error).__name__}: {error}"
    return type(error).__name__
