"""The outbox: events a decision must publish are stored with it, and a relay sends them.

A service stores each event with the decision that causes it, in the same insert (so a crash or
a Kafka outage after deciding loses nothing), as `outbox_entry(...)` documents under an
`unsent: True` marker. `Relay` publishes the pending documents oldest first and marks them sent.
Each entry keeps its envelope, so a republish after a crash between send and mark keeps its
`ce_id` and consumers drop the copy (at-least-once, never lost). Marking is the relay's own
write: nothing else updates such a document after it was inserted.

Finding the pending documents: on FerretDB 1.24 a query for `unsent: True` reads every document
of the collection (only a lone string `_id` is looked up directly; ADR 0016), and the claims and
case logs grow with every decision, so a relay round cost seconds once they held thousands. So
the writer of a pending document also notes its `_id` in the collection's queue
(`<collection>_queue`, `enqueue`) right after inserting it; the relay reads the queue (only what is
pending), opens each document by its string `_id`, publishes, marks it and drops the note. A writer
that dies between its insert and its note leaves a pending document without a note: the relay's
sweep (`{"unsent": True}`, once a minute and at start) finds it, so nothing is lost — only late.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event, event_class
from helpt_platform.logs import get_logger

__all__ = ["Publish", "Relay", "enqueue", "outbox_entry", "queue_of"]

log = get_logger(__name__)
Publish = Callable[[Event, Envelope, str], Awaitable[object]]


def outbox_entry(event: Event, *, source: str, topics: Sequence[str] = (), time: dt.datetime | None = None) -> dict[str, Any]:
    """An event as an outbox keeps it: type, body, its envelope and the topics it goes to (its own by default)."""
    envelope = Envelope.for_event(event, source=source, time=time)
    return {"id": str(envelope.id), "type": envelope.type, "body": event.model_dump_json(),
            "envelope": envelope.model_dump(mode="json"), "topics": list(topics or [event.TOPIC])}


def queue_of(collection: AsyncCollection) -> AsyncCollection:
    """The notes of `collection`'s pending documents."""
    return collection.database[f"{collection.name}_queue"]


async def enqueue(collection: AsyncCollection, document_id: str, **fields: Any) -> None:
    """Note a pending document just inserted (a string `_id`), so the relay finds it without a scan.

    `fields` should carry `tenant` and `subject_ids`, so an erasure or a purge removes the note too."""
    try:
        await queue_of(collection).insert_one({"_id": document_id, "at": dt.datetime.now(dt.UTC), **fields})
    except DuplicateKeyError:
        pass  # noted already


class Relay:
    """Publishes the pending entries of `collection`; `wake()` makes it look at once instead of at the next round.

    `entries(document)` lists a pending document's outbox entries; `order` is the sort that puts
    older decisions first.
    """

    def __init__(self, collection: AsyncCollection, publish: Publish, *, entries: Callable[[dict[str, Any]], list[dict[str, Any]]],
                 order: Sequence[tuple[str, int]], sweep_every_s: float = 60.0) -> None:
        self._collection = collection
        self._queue = queue_of(collection)
        self._publish = publish
        self._entries = entries
        self._order = list(order)
        self._woken = asyncio.Event()
        self._sweep_every_s = sweep_every_s
        self._swept_at: float | None = None

    def wake(self) -> None:
        self._woken.set()

    async def pending(self) -> int:
        return await self._collection.count_documents({"unsent": True})

    async def run_once(self, batch: int = 100, *, sweep: bool | None = None) -> int:
        """Publish what is pending, oldest first; how many events went out. A failure stops the round, so an
        aggregate's later event never overtakes an earlier one.

        The queue's notes first; then, when `sweep` (by default: at the first round and once every
        `sweep_every_s`), every pending document, which finds those whose writer died before noting them."""
        sent = 0
        notes = [note async for note in self._queue.find({}).sort([("at", 1), ("_id", 1)]).limit(batch)]
        for note in notes:
            document = await self._collection.find_one({"_id": note["_id"]})
            if document is not None and document.get("unsent"):
                sent += await self._send(document)
            await self._queue.delete_one({"_id": note["_id"]})
        now = time.monotonic()
        if sweep if sweep is not None else (self._swept_at is None or now - self._swept_at >= self._sweep_every_s):
            async for document in self._collection.find({"unsent": True}).sort(self._order).limit(batch):
                sent += await self._send(document)
            self._swept_at = now
        return sent

    async def _send(self, pending: dict[str, Any]) -> int:
        sent = 0
        for entry in self._entries(pending):
            event = event_class(entry["type"]).model_validate_json(entry["body"])
            envelope = Envelope.model_validate(entry["envelope"])
            for topic in entry.get("topics") or [event.TOPIC]:
                await self._publish(event, envelope, topic)
            sent += 1
            log.info("event published", event_id=entry["id"], event_type=entry["type"])
        await self._collection.update_one({"_id": pending["_id"]}, {"$set": {"unsent": False, "sent_at": dt.datetime.now(dt.UTC)}})
        return sent

    async def run(self, interval_s: float, ready: Callable[[], Awaitable[object]]) -> None:
        """Publish pending events for ever: when woken, else every `interval_s`; a failure waits for the next round."""
        await ready()
        while True:
            self._woken.clear()
            try:
                await self.run_once()
            except Exception as exc:  # noqa: BLE001 — Kafka or the store away: keep the entries, retry next round
                log.warning("relay round failed; retrying", error=type(exc).__name__)
            try:
                await asyncio.wait_for(self._woken.wait(), interval_s)
            except TimeoutError:
                pass
