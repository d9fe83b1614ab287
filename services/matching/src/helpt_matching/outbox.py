"""Matching's outbox: the events a decision publishes are stored in the claim that decides, and a relay sends them.

Every claim in `claims` that decides something others must hear of (`round:`, `end:`, `winner:`,
`taken:`, `done:`, `cancel:`) is inserted with `outbox` — each event with its envelope and the
topics it goes to (`matching.matches.v1`, and the partner's topic when a partner is involved) —
and `unsent: True`. The decision and its events are one insert, so a crash or a Kafka outage
after deciding loses nothing. The relay publishes pending claims oldest first and marks them sent;
a republish after a crash between send and mark keeps each event's `ce_id`, so consumers
deduplicate it (at-least-once, never lost). Marking is the relay's own write: nothing else
updates a claim after it was inserted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event, event_class
from helpt_contracts.roles import ServiceName
from helpt_platform.logs import get_logger

__all__ = ["Relay", "outbox"]

log = get_logger(__name__)
Publish = Callable[[Event, Envelope, str], Awaitable[object]]


def outbox(*events: Event) -> dict[str, Any]:
    """The fields a deciding claim carries so its events are published: pass as `claim(..., **outbox(...))`."""
    entries = []
    for event in events:
        envelope = Envelope.for_event(event, source=ServiceName.MATCHING.value)
        organisation = getattr(event, "organisation", None)
        entries.append({"id": str(envelope.id), "type": envelope.type, "body": event.model_dump_json(),
                        "envelope": envelope.model_dump(mode="json"),
                        "topics": [event.TOPIC, *([topics.partner_topic(organisation)] if organisation else [])]})
    return {"outbox": entries, "unsent": True} if entries else {}


class Relay:
    """Publishes pending outbox entries; `wake()` makes it look at once instead of at the next round."""

    def __init__(self, claims: AsyncCollection, publish: Publish) -> None:
        self._claims = claims
        self._publish = publish
        self._woken = asyncio.Event()

    def wake(self) -> None:
        self._woken.set()

    async def pending(self) -> int:
        return await self._claims.count_documents({"unsent": True})

    async def run_once(self, batch: int = 100) -> int:
        """Publish what is pending, oldest first; how many events went out. A failure stops the round, so a
        request's later event never overtakes an earlier one."""
        sent = 0
        cursor = self._claims.find({"unsent": True}, {"outbox": 1}).sort([("claimed_at", 1), ("_id", 1)]).limit(batch)
        async for pending in cursor:
            for entry in pending.get("outbox", []):
                event = event_class(entry["type"]).model_validate_json(entry["body"])
                envelope = Envelope.model_validate(entry["envelope"])
                for topic in entry["topics"]:
                    await self._publish(event, envelope, topic)
                sent += 1
                log.info("match event published", event_id=entry["id"], event_type=entry["type"])
            await self._claims.update_one({"_id": pending["_id"]},
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
