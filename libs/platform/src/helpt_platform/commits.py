"""Offsets committed behind the handlers, not after each one: a router middleware for FastStream 0.7 Kafka.

With `AckPolicy.NACK_ON_ERROR`, FastStream acknowledges a handled message by awaiting
`consumer.commit()` before it reads the next one: a round trip to the group coordinator per event
(~6.5 ms on a loaded two-core machine, where a handler takes ~5 ms — bench/README.md). `CommitBehind`
keeps the policy and moves the round trip off the path: the acknowledgement only notes "this
partition is handled up to here", and one task per consumer commits what is noted, then what was
noted meanwhile, until nothing is left. Each commit waits the interval first
(`HELPT_KAFKA_COMMIT_INTERVAL_MS`, 250 ms), so that one commit covers the events of that interval at any
rate: committed at once, each event had cost a commit per subscriber, two of the four Kafka requests
a submission made at 30 a second (bench/README.md).

At-least-once is kept: only offsets of messages whose handler finished are ever committed (the
explicit offset of the message after them, per partition), never the consumer's position, which
runs ahead of the handler. A failed message is not noted: `nack` seeks back as before, and the note
for its partition stays below it. What a crash loses is the notes not yet committed (at most an
interval's) — those messages come again, and every consumer here is idempotent (the guarantee was
never exactly-once).
A commit that fails (a rebalance took the partition, Kafka away) is logged and dropped: the same.

`drain_commits()` cuts the waits short and waits for the commits under way: the service calls it
before and after stopping its broker, so a graceful stop leaves little to redeliver.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from faststream import BaseMiddleware, StreamMessage

from helpt_platform.logs import get_logger

__all__ = ["CommitBehind", "drain_commits"]

log = get_logger(__name__)


class _Committer:
    """The handled-up-to offsets of one consumer, and the one task that commits them."""

    def __init__(self, consumer: AIOKafkaConsumer, interval_s: float) -> None:
        self.consumer = consumer
        self.interval_s = interval_s
        self.noted: dict[TopicPartition, int] = {}
        self.task: asyncio.Task[None] | None = None
        self.now = asyncio.Event()  # set by drain_commits: commit without waiting

    def handled(self, record: ConsumerRecord) -> None:
        # Messages of a partition are handled in order, so the latest note is the highest.
        self.noted[TopicPartition(record.topic, record.partition)] = record.offset + 1
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._commit_all(), name="helpt-commit-behind")

    async def _commit_all(self) -> None:
        while self.noted:
            if self.interval_s and not self.now.is_set():
                with contextlib.suppress(TimeoutError):  # gather what is handled meanwhile
                    await asyncio.wait_for(self.now.wait(), self.interval_s)
            offsets, self.noted = self.noted, {}
            if getattr(self.consumer, "_closed", False):
                return  # stopped: what is left comes again
            assigned = self.consumer.assignment()
            offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
            if not offsets:
                continue
            try:
                await self.consumer.commit(offsets)
            except Exception as exc:  # noqa: BLE001 — not committed means redelivered, never lost
                log.warning("offsets not committed; those events will come again", error=type(exc).__name__)
        self.now.clear()  # a drain is over once nothing is left to commit


class _Acknowledger:
    """Stands in for the consumer of one message: its `commit` notes, its `seek` is the consumer's."""

    __slots__ = ("committer", "record")

    def __init__(self, committer: _Committer, record: ConsumerRecord) -> None:
        self.committer, self.record = committer, record

    async def commit(self) -> None:
        self.committer.handled(self.record)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.committer.consumer.seek(partition, offset)


_committers: weakref.WeakKeyDictionary[AIOKafkaConsumer, _Committer] = weakref.WeakKeyDictionary()


class CommitBehind:
    """Middleware factory for `KafkaRouter(middlewares=[...])`: see the module's docstring. `interval_s`: how long
    a commit waits for more handled events to cover."""

    def __init__(self, interval_s: float = 0.25) -> None:
        self.interval_s = interval_s

    def __call__(self, msg: Any, /, *, context: Any) -> _CommitBehindScope:
        return _CommitBehindScope(msg, context=context, interval_s=self.interval_s)


class _CommitBehindScope(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, interval_s: float) -> None:
        super().__init__(msg, context=context)
        self.interval_s = interval_s

    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        consumer = getattr(msg, "consumer", None)
        record = msg.raw_message
        # Only a real consumer's single message (FastStream's test broker has a fake one; batches are not used).
        if isinstance(consumer, AIOKafkaConsumer) and isinstance(record, ConsumerRecord):
            committer = _committers.get(consumer)
            if committer is None:
                committer = _committers[consumer] = _Committer(consumer, self.interval_s)
            msg.consumer = _Acknowledger(committer, record)  # type: ignore[attr-defined]
        return await call_next(msg)


async def drain_commits(timeout_s: float = 5.0) -> None:
    """Commit what is noted now, and wait up to `timeout_s` for the commits under way in this process (each
    task ends once nothing is noted). A commit that waits longer (Kafka away while the service stops) is left:
    its events come again."""
    committers = list(_committers.values())
    for committer in committers:
        committer.now.set()
    tasks = [c.task for c in committers if c.task is not None and not c.task.done()]
    if tasks:
        await asyncio.wait(tasks, timeout=timeout_s)
