"""The relay: publishes the events decisions left in their case's outbox, in order, and marks them sent.

Each outbox entry keeps its envelope, so an event republished after a crash between the send and
the mark keeps its `ce_id` and consumers deduplicate it (at-least-once, never lost). Marking is
the relay's own: nothing else writes a log entry after it was inserted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event, event_class
from helpt_platform.logs import get_logger
from helpt_screening.cases import CaseStore

__all__ = ["Relay"]

log = get_logger(__name__)
Publish = Callable[[Event, Envelope], Awaitable[object]]


class Relay:
    """Publishes pending outbox entries; `wake()` makes it look at once instead of at the next round."""

    def __init__(self, store: CaseStore, publish: Publish) -> None:
        self._store = store
        self._publish = publish
        self._woken = asyncio.Event()

    def wake(self) -> None:
        self._woken.set()

    async def run_once(self, batch: int = 100) -> int:
        """Publish what is pending, oldest first; how many events went out. A failure stops the round, so a
        case's later event never overtakes an earlier one."""
        sent = 0
        async for entry in self._store.log.find({"unsent": True}, {"event": 1, "case_id": 1}).sort("at", 1).limit(batch):
            await self._send(entry["event"])
            await self._store.log.update_one({"_id": entry["_id"]},
                                             {"$set": {"unsent": False, "sent_at": dt.datetime.now(dt.UTC)}})
            sent += 1
            log.info("decision published", case_id=str(entry["case_id"]), event_id=entry["event"]["id"],
                     event_type=entry["event"]["type"])
        return sent

    async def _send(self, entry: dict[str, Any]) -> None:
        event = event_class(entry["type"]).model_validate_json(entry["body"])
        await self._publish(event, Envelope.model_validate(entry["envelope"]))

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
