"""Unmet demand per vacancy, learnt from help requests and matches: what orders the screening queue.

Each relevant event is kept as one inserted document (`_id` its event id), so a redelivery is a
duplicate key and changes nothing, and events of one request arriving on two topics at once never
overwrite each other (FerretDB's updates are not atomic under concurrency; inserts are). The demand
is folded from these facts when the queue is read: per request, its latest task and number of
volunteers, minus the accepted matches still standing; a cancelled request needs nobody.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from uuid import UUID

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from helpt_contracts.events import (
    Event,
    HelpRequestCancelled,
    HelpRequested,
    HelpRequestUpdated,
    MatchAccepted,
    MatchCancelled,
)

__all__ = ["Demand"]


def _fact(event: Event) -> dict[str, Any] | None:
    if isinstance(event, HelpRequested):
        return {"kind": "requested", "task": event.task, "needed": event.volunteers_needed, "subject_ids": [event.subject_id]}
    if isinstance(event, HelpRequestUpdated):
        return {"kind": "updated", "task": event.task, "needed": event.volunteers_needed}
    if isinstance(event, HelpRequestCancelled):
        return {"kind": "cancelled"}
    if isinstance(event, MatchAccepted):
        return {"kind": "matched", "match_id": str(event.match_id)}
    if isinstance(event, MatchCancelled):
        return {"kind": "unmatched", "match_id": str(event.match_id)}
    return None


class Demand:
    """The `demand` collection: one document a demand-relevant event."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._facts = db["demand"]
        self._indexed = False

    async def apply(self, event_id: UUID, at: dt.datetime, event: Event) -> bool:
        """Keep one event's fact; False if it does not concern demand or was kept before."""
        fact = _fact(event)
        if fact is None:
            return False
        if not self._indexed:
            await self._facts.create_index([("tenant", ASCENDING), ("at", ASCENDING)], name="by_tenant")
            self._indexed = True
        try:
            await self._facts.insert_one({"_id": str(event_id), "tenant": event.tenant, "request_id": str(event.request_id),
                                          "at": at, **fact})
        except DuplicateKeyError:
            return False
        return True

    async def unmet(self, tenant: str) -> Counter[str]:
        """Per vacancy: volunteers still needed by the tenant's open requests."""
        requests: dict[str, dict[str, Any]] = {}
        async for fact in self._facts.find({"tenant": tenant}).sort("at", ASCENDING):
            request = requests.setdefault(fact["request_id"], {"task": None, "needed": 1, "matched": set(), "cancelled": False})
            kind = fact["kind"]
            if kind in ("requested", "updated"):
                request["task"] = fact.get("task") or request["task"]
                request["needed"] = fact.get("needed") or request["needed"]
            elif kind == "cancelled":
                request["cancelled"] = True
            elif kind == "matched":
                request["matched"].add(fact["match_id"])
            elif kind == "unmatched":
                request["matched"].discard(fact["match_id"])
        needed: Counter[str] = Counter()
        for request in requests.values():
            if request["task"] and not request["cancelled"]:
                needed[request["task"]] += max(0, request["needed"] - len(request["matched"]))
        return needed
