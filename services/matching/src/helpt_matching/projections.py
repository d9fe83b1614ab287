"""Matching's projections of help requests and volunteers, built from intake's and screening's events.

Every event is first kept as a *fact* (`facts`, `_id` = its event id): a redelivery is a duplicate
key and changes nothing. The projection document of the request or volunteer (`requests`,
`volunteers`) is then refolded from all its facts. Two topics write one volunteer (intake's and
screening's), so writers race; FerretDB's conditional updates are not atomic (docs/adr/0009), so
each new version of a projection is claimed by inserting `<kind>:<id>:<version>` in `claims`,
and a writer whose facts are already covered by the stored document has nothing to do. Personal
fields stay sealed as they arrived; every document carries `tenant` and `subject_ids` — facts that arrive
before the aggregate's subject is known (updates, screening's decisions) take it once it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable
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
    VolunteerApproved,
    VolunteerDecisionReversed,
    VolunteerGuidelinesConfirmed,
    VolunteerRegistered,
    VolunteerRejected,
    VolunteerSuspended,
    VolunteerUpdated,
    VolunteerWithdrawn,
)
from helpt_platform.claims import Conflict, claim
from helpt_platform.keys import by_id, with_id_text
from helpt_platform.logs import get_logger
from helpt_matching.domain import fold_request, fold_volunteer

__all__ = ["Projections"]

log = get_logger(__name__)

_DECISIONS = {VolunteerApproved: "approved", VolunteerRejected: "rejected", VolunteerSuspended: "suspended",
              VolunteerDecisionReversed: "reversed"}
_REQUEST_FIELDS = ("task", "postcode", "languages", "window", "urgency", "volunteers_needed", "competences",
                   "organisation", "personal", "reference", "channel")
_VOLUNTEER_FIELDS = ("tasks", "postcode", "max_distance_km", "languages", "availability", "competences",
                     "max_tasks_per_week", "networks", "personal")


def _fact(event: Event) -> tuple[str, UUID, str, dict[str, Any], list[UUID]] | None:
    """(aggregate, id, kind, data, subject_ids) of an event matching keeps; None for others."""
    def fields(names: tuple[str, ...]) -> dict[str, Any]:
        dumped = event.model_dump(mode="json")
        return {name: dumped[name] for name in names if name in dumped}

    if isinstance(event, HelpRequested):
        return "request", event.request_id, "requested", fields(_REQUEST_FIELDS), [event.subject_id]
    if isinstance(event, HelpRequestUpdated):
        return "request", event.request_id, "updated", fields(_REQUEST_FIELDS), []
    if isinstance(event, HelpRequestCancelled):
        return "request", event.request_id, "cancelled", {}, []
    if isinstance(event, VolunteerRegistered):
        return "volunteer", event.volunteer_id, "registered", fields(_VOLUNTEER_FIELDS), [event.subject_id]
    if isinstance(event, VolunteerUpdated):
        return "volunteer", event.volunteer_id, "updated", fields(_VOLUNTEER_FIELDS), []
    if isinstance(event, VolunteerWithdrawn):
        return "volunteer", event.volunteer_id, "withdrawn", {}, []
    if type(event) in _DECISIONS:
        data = {"decision": _DECISIONS[type(event)],
                "guidelines_confirmed": getattr(event, "guidelines_confirmed", False)}
        return "volunteer", event.volunteer_id, "decision", data, []
    if isinstance(event, VolunteerGuidelinesConfirmed):
        return "volunteer", event.volunteer_id, "guidelines", {}, []
    return None


def _stored_time(at: dt.datetime) -> dt.datetime:
    """A time as BSON keeps it: UTC (here without a zone, whether the client reads zones or not), to the millisecond."""
    at = at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo else at
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


class Projections:
    """`facts`, the `requests` and `volunteers` projections, and their version claims."""

    def __init__(self, db: AsyncDatabase, *, attempts: int = 20) -> None:
        self.facts = db["facts"]
        self.requests = db["requests"]
        self.volunteers = db["volunteers"]
        self.claims = db["claims"]
        # The eligible volunteers alone, `_id` "<tenant>:<volunteer>": what an offer round reads, instead of every
        # volunteer who ever registered (FerretDB reads a whole collection for a query; most volunteers are never
        # approved, or not yet). Written after the volunteer's document, by the same writer.
        self.eligible = db["eligible"]
        self._attempts = attempts
        self._indexed = False

    async def ready(self) -> None:
        if not self._indexed:
            await self.facts.create_index([("aggregate_id", ASCENDING), ("at", ASCENDING)], name="by_aggregate")
            await self.volunteers.create_index([("tenant", ASCENDING), ("eligible", ASCENDING), ("tasks", ASCENDING)],
                                               name="by_pool")
            await self.requests.create_index([("tenant", ASCENDING), ("open", ASCENDING)], name="by_open")
            if await self.eligible.find_one({}, {"_id": 1}) is None:
                # Empty: new, or a store from before this collection (or nobody is eligible): fill it from the projection.
                async for volunteer in self.volunteers.find({"eligible": True}):
                    await self._keep_eligible(volunteer)
            self._indexed = True

    async def apply(self, event_id: UUID, at: dt.datetime, event: Event) -> dict[str, Any] | None:
        """Keep one event and refold its request or volunteer; the new state, or None when the event is not matching's."""
        found = _fact(event)
        if found is None:
            return None
        await self.ready()
        aggregate, ident, kind, data, subject_ids = found
        fact: dict[str, Any] | None = {"_id": str(event_id), "tenant": event.tenant, "aggregate": aggregate,
                                        "aggregate_id": ident, "kind": kind, "data": data, "at": at, "subject_ids": subject_ids}
        try:
            await self.facts.insert_one(fact)
        except DuplicateKeyError:
            # A redelivery: the fact is kept; refolding below is harmless and finishes an interrupted run.
            log.info("redelivery dropped", event_type=type(event).__name__)
            fact = None  # as stored (its subject may have been adopted since)
        if aggregate == "request":
            return await self._refold(self.requests, "request", ident, event.tenant, fold_request, str(event_id), fact)
        return await self._refold(self.volunteers, "volunteer", ident, event.tenant, fold_volunteer, str(event_id), fact)

    async def _refold(self, documents: Any, kind: str, ident: UUID, tenant: str,
                      fold: Callable[[list[dict[str, Any]]], dict[str, Any]], fact_id: str,
                      fact: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fold the aggregate's facts with `fact_id` into its next version, unless a version holds it already.

        FerretDB 1.24 (SQLite) answers every look-up by scanning the collection: a filter on a string `_id`
        is evaluated by SQLite (a few µs a document, and a hit stops early), any other filter — a UUID `_id`,
        `aggregate_id` — by decoding every document (0.1-0.2 ms each; measured, bench/README.md). Only an
        insert is decided by an index. So: the first version is claimed straight away (most events begin
        their aggregate; the claim's unique key says whether it did), the latest state is otherwise read
        from the version claims (`<kind>:<id>:<v>`, string keys, each holding the whole state), the facts by
        their event ids (the event's own is in hand), and a first version is inserted, not upserted.
        """
        for attempt in range(self._attempts):
            # Most events begin their aggregate: try to claim its first version straight away (an insert is
            # decided by the unique index, while a look-up that finds nothing reads the whole collection).
            head = None if attempt == 0 and fact is not None else await self._head(kind, ident)
            have = set(head["facts"]) if head else set()
            if fact_id in have:
                if fact is None:  # a redelivery: its writer may have died between its claim and its write
                    await self._catch_up(documents, kind, ident, head["version"])
                return head
            facts = [f for i in sorted(have | {fact_id})
                     if (f := fact if fact is not None and i == fact_id else await self.facts.find_one({"_id": i})) is not None]
            facts.sort(key=lambda f: (_stored_time(f["at"]), f["_id"]))  # the one in hand as the others read back
            ids = {f["_id"] for f in facts}
            version = head["version"] + 1 if head else 1
            subjects = sorted({s for f in facts for s in f.get("subject_ids", [])}, key=str)
            state = {**fold(facts), "_id": ident, "tenant": tenant, "subject_ids": subjects,
                     "facts": sorted(ids), "version": version}
            if await claim(self.claims, f"{kind}:{ident}:{version}", tenant=tenant, subject_ids=subjects, state=state):
                await self._write(documents, ident, state, was_eligible=bool(head and head.get("eligible")))
                if subjects and (orphans := [f["_id"] for f in facts if not f.get("subject_ids")]):
                    await self._adopt(kind, ident, subjects, orphans, version)
                return state
            if attempt > 0:
                await asyncio.sleep(0.01 * attempt)
        raise Conflict(f"the {kind} projection kept changing")

    async def _head(self, kind: str, ident: UUID) -> dict[str, Any] | None:
        """The latest claimed state of the aggregate (versions are claimed one after another, from 1)."""
        head, version = None, 1
        while (won := await self.claims.find_one({"_id": f"{kind}:{ident}:{version}"}, {"state": 1})) is not None:
            head, version = won.get("state"), version + 1
        return head

    async def _write(self, documents: Any, ident: UUID, state: dict[str, Any], *, was_eligible: bool = True) -> None:
        """Write a won version. The first is an insert (fast); if the document is there already, a catch-up
        wrote this very state or a later one, which stays. Later versions replace the whole document. A
        volunteer's entry among the eligible follows (kept or removed; left alone if it was never there)."""
        if state["version"] == 1:
            with contextlib.suppress(DuplicateKeyError):
                await documents.insert_one(with_id_text(state))
        else:
            await documents.replace_one(by_id(ident), with_id_text(state), upsert=True)
        if documents is self.volunteers and (state.get("eligible") or was_eligible):
            await self._keep_eligible(state)

    async def _keep_eligible(self, volunteer: dict[str, Any]) -> None:
        key = f"{volunteer['tenant']}:{volunteer['_id']}"
        if volunteer.get("eligible"):
            entry = {k: v for k, v in volunteer.items() if k not in ("personal", "facts")}
            await self.eligible.replace_one({"_id": key}, {**entry, "_id": key, "volunteer_id": volunteer["_id"]}, upsert=True)
        else:
            await self.eligible.delete_one({"_id": key})

    async def _adopt(self, kind: str, ident: UUID, subjects: list[UUID], orphans: list[str], version: int) -> None:
        """Facts and version claims kept before the subject was known (an update, or a decision read before the
        registration) take the subject's id, so an erasure finds them too (the same values twice are harmless).
        Each by its own `_id`: a filter on anything else reads the whole collection on FerretDB."""
        for fact_id in orphans:
            await self.facts.update_one({"_id": fact_id}, {"$set": {"subject_ids": subjects}})
        for v in range(1, version + 1):
            await self.claims.update_one({"_id": f"{kind}:{ident}:{v}"}, {"$set": {"subject_ids": subjects}})

    async def _catch_up(self, documents: Any, kind: str, ident: UUID, version: int) -> None:
        """Write a claimed version whose writer died before writing it (whole state: writing it twice is harmless)."""
        won = await self.claims.find_one({"_id": f"{kind}:{ident}:{version}"})
        current = await documents.find_one(by_id(ident), {"version": 1})
        if won and (current or {}).get("version", 0) < version:
            await documents.replace_one(by_id(ident), with_id_text(won["state"]), upsert=True)
            if documents is self.volunteers:
                await self._keep_eligible(won["state"])

    async def request(self, tenant: str, request_id: UUID) -> dict[str, Any] | None:
        return await self.requests.find_one(by_id(request_id, tenant=tenant))

    async def volunteer(self, tenant: str, volunteer_id: UUID) -> dict[str, Any] | None:
        return await self.volunteers.find_one(by_id(volunteer_id, tenant=tenant))

    async def pool(self, tenant: str, task: str) -> list[dict[str, Any]]:
        """The tenant's eligible volunteers offering `task` (the rest of eligibility is the domain's)."""
        await self.ready()
        cursor = self.eligible.find({"tenant": tenant, "eligible": True, "tasks": task})
        return [{**doc, "_id": doc.pop("volunteer_id")} async for doc in cursor]

    async def open_requests(self, tenant: str, limit: int | None = 500) -> list[dict[str, Any]]:
        """The tenant's open requests (matched or not), at most `limit` of them (None: all)."""
        cursor = self.requests.find({"tenant": tenant, "open": True}, {"personal": 0, "facts": 0})
        return await (cursor if limit is None else cursor.limit(limit)).to_list()
