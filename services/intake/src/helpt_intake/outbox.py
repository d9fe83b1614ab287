"""A submission's event waits in the outbox until Kafka has it, so a crash between the two loses nothing.

`Intake.submit` first inserts the event to publish as an outbox entry `pending:<case id>` in
`outbox` (string `_id`), then the case, publishes, and deletes the entry. A process killed in
between leaves the entry; `CaseRelay` publishes it once it is older than `outbox_grace_s` — longer
than a publish may take, so a submission that is still being refused (and will be undone) is left
alone — if its case was kept, and drops it if not (the person was never told "received"). Whether
an unsent case is undone by its submitter (Kafka refused: 503) or published by the relay is decided
once, by a unique insert `settle:<case id>` (docs/adr/0009): the loser follows the winner.

Why the entry is a document of its own and not a flag on the case (as it was): on FerretDB 1.24
(SQLite) only a lookup by a lone string `_id` is pushed down; any other filter reads every
document. Marking a case sent by its UUID, and the relay's search for unsent cases, each read all
cases — on the submission's path that grew with the number of cases and held intake to a few
submissions a second (bench/README.md). The entries are few (only what is in flight or was left
by a crash) and every write of one is by its string `_id` (docs/adr/0016).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event, event_class
from helpt_platform.claims import claim
from helpt_platform.keys import by_id
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


def pending_entry(case: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """The outbox document of a case's event (kept before the case, removed once Kafka has it)."""
    return {"_id": f"pending:{case['_id']}", "case_id": case["_id"], "tenant": case.get("tenant"),
            "subject_ids": case.get("subject_ids", []), "at": case["created_at"], "outbox": entry}


async def mark_sent(db: AsyncDatabase, case_id: Any) -> None:
    """Kafka has the case's event: its outbox entry goes (by string `_id`: one row on FerretDB)."""
    await db["outbox"].delete_one({"_id": f"pending:{case_id}"})


class CaseRelay:
    """Publishes the events of cases whose submitter died before it was sure Kafka had them."""

    def __init__(self, db: AsyncDatabase, publish: PublishEntry, grace_s: float) -> None:
        self._db = db
        self._publish = publish
        self._grace = dt.timedelta(seconds=grace_s)

    async def run_once(self, batch: int = 100) -> int:
        """Publish the events left pending longer than the grace period, oldest first; how many went out."""
        cutoff = dt.datetime.now(dt.UTC) - self._grace
        cases = self._db["cases"]
        sent = 0
        left = [entry async for entry in self._db["outbox"].find({"at": {"$lt": cutoff}}).sort("at", 1).limit(batch)]
        for entry in left:
            case_id = entry["case_id"]
            kept = await cases.find_one(by_id(case_id), {"_id": 1}) is not None
            if await settle(self._db, {**entry, "_id": case_id}, "relay") == "undo":  # the case's id, as its submitter settles
                await cases.delete_one(by_id(case_id))  # an undo that died half-way: finish it
            elif kept:
                await publish_entry(self._publish, entry["outbox"])
                sent += 1
                log.info("unsent case published by the relay", case_id=str(case_id))
            # else: the submitter died before keeping the case, so no one was told "received": nothing to send.
            await mark_sent(self._db, case_id)
        return sent
