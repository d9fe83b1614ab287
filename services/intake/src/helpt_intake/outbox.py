"""A case keeps the event that announces it until Kafka has it, so a crash between the two loses nothing.

`Intake.submit` inserts the case with its event (`outbox`, an `outbox_entry`) and `unsent: True`,
publishes, and marks it sent. A process killed in between leaves the case unsent; `CaseRelay`
publishes such cases once they are older than `outbox_grace_s` — longer than a publish may take,
so a submission that is still being refused (and will be undone) is left alone. Whether an unsent
case is undone by its submitter (Kafka refused: 503) or published by the relay is decided once, by
a unique insert `settle:<case id>` (docs/adr/0009): the loser follows the winner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event, event_class
from helpt_platform.claims import claim
from helpt_platform.logs import get_logger

__all__ = ["CaseRelay", "settle"]

log = get_logger(__name__)
PublishEntry = Callable[[Event, Envelope], Awaitable[object]]


async def settle(db: AsyncDatabase, case: dict[str, Any], by: str) -> str:
    """Who finishes this unsent case, "undo" or "relay": the first to ask."""
    key = f"settle:{case['_id']}"
    if await claim(db["outbox_settled"], key, by=by, tenant=case.get("tenant"), subject_ids=case.get("subject_ids", [])):
        return by
    earlier = await db["outbox_settled"].find_one({"_id": key})
    return str(earlier["by"]) if earlier else by


async def publish_entry(publish: PublishEntry, entry: dict[str, Any]) -> None:
    """Publish an outbox entry with its own envelope: a second publish keeps the ce_id, so consumers drop it."""
    await publish(event_class(entry["type"]).model_validate_json(entry["body"]), Envelope.model_validate(entry["envelope"]))


async def mark_sent(db: AsyncDatabase, case_id: Any) -> None:
    await db["cases"].update_one({"_id": case_id}, {"$set": {"unsent": False, "sent_at": dt.datetime.now(dt.UTC)},
                                                    "$unset": {"outbox": ""}})


class CaseRelay:
    """Publishes the events of cases whose submitter died before it was sure Kafka had them."""

    def __init__(self, db: AsyncDatabase, publish: PublishEntry, grace_s: float) -> None:
        self._db = db
        self._publish = publish
        self._grace = dt.timedelta(seconds=grace_s)

    async def run_once(self, batch: int = 100) -> int:
        """Publish the cases left unsent longer than the grace period, oldest first; how many went out."""
        cutoff = dt.datetime.now(dt.UTC) - self._grace
        cases = self._db["cases"]
        sent = 0
        async for case in cases.find({"unsent": True, "created_at": {"$lt": cutoff}}).sort("created_at", 1).limit(batch):
            if await settle(self._db, case, "relay") == "undo":
                await cases.delete_one({"_id": case["_id"]})  # an undo that died half-way: finish it
                continue
            if case.get("outbox"):
                await publish_entry(self._publish, case["outbox"])
            await mark_sent(self._db, case["_id"])
            sent += 1
            log.info("unsent case published by the relay", case_id=str(case["_id"]), kind=case.get("kind"))
        return sent
