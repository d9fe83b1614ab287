"""The outbox: events a decision must publish are stored with it, and a relay sends them.

A service stores each event with the decision that causes it, in the same insert (so a crash or
a Kafka outage after deciding loses nothing), as `outbox_entry(...)` documents under an
`unsent: True` marker. `Relay` publishes the pending documents oldest first and marks them sent.
Each entry keeps its envelope, so a republish after a crash between send and mark keeps its
`ce_id` and consumers drop the copy (at-least-once, never lost). Marking is the relay's own
write: nothing else updates such a document after it was inserted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event, event_class
from helpt_platform.logs import get_logger

__all__ = ["Publish", "Relay", "outbox_entry"]

log = get_logger(__name__)
Publish = Callable[[Event, Envelope, str], Awaitable[object]]


def outbox_entry(event: Event, *, source: str, topics: Sequence[str] = (), time: dt.datetime | None = None) -> dict[str, Any]:
    """An event as an outbox keeps it: type, body, its envelope and the topics it goes to (its own by default)."""
    envelope = Envelope.for_event(event, source=source, time=time)
    return {"id": str(envelope.id), "type": envelope.type, "body": event.model_dump_json(),
            "envelope": envelope.model_dump(mode="json"), "topics": list(topics or [event.TOPIC])}


class Relay:
    """Publishes the pending entries of `collection`; `wake()` makes it look at once instead of at the next round.

    `entries(document)` lists a pending document's outbox entries; `order` is the sort that puts
    older decisions first.
    """

    def __init__(self, collection: AsyncCollection, publish: Publish, *, entries: Callable[[dict[str, Any]], list[dict[str, Any]]],
                 order: Sequence[tuple[str, int]]) -> None:
        self._collection = collection
        self._publish = publish
        self._entries = entries
        self._order = list(order)
        self._woken = asyncio.Event()

    def wake(self) -> None:
        self._woken.set()

    async def pending(self) -> int:
        return await self._collection.count_documents({"unsent": True})

    async def run_once(self, batch: int = 100) -> int:
        """Publish what is pending, oldest first; how many events went out. A failure stops the round, so an
        aggregate's later event never overtakes an earlier one."""
        sent = 0
        async for pending in self._collection.find({"unsent": True}).sort(self._order).limit(batch):
            for entry in self._entries(pending):
                event = event_class(entry["type"]).model_validate_json(entry["body"])
                envelope = Envelope.model_validate(entry["envelope"])
                for topic in entry.get("topics") or [event.TOPIC]:
                    await self._publish(event, envelope, topic)
                sent += 1
                log.info("event published", event_id=entry["id"], event_type=entry["type"])
            await self._collection.update_one({"_id": pending["_id"]},
                                              {"$set": {"unsent": False, "sent_at": dt.datetime.now(dt.UTC)}})
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
