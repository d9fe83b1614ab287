"""The case store: one projection document a volunteer, and an append-only log of its changes.

FerretDB 1.24 evaluates an update's filter and writes without a lock: two `update_one` calls with
the same version condition both "modify" the document, and the last write wins (measured; see
docs/adr/0009). What it does enforce atomically is a unique `_id`. So every change of a case is
first *claimed* by inserting its log entry `_id = "<case>:<version>"` — the one write that
decides, holding the history entry, the projection changes and the event to publish (the outbox)
— and only the claim's winner then writes the projection `cases`. A loser (a double click, a
racing colleague, a consumer) gets `Conflict`. A winner that died between the two writes is
caught up by the next reader, who applies the pending entry (its changes are whole values, so
applying twice is harmless).

The registration opens the case with an insert (`_id` is the volunteer id, so a redelivered
registration opens nothing new). Updates and withdrawals record the event id in the entry's
changes, so a redelivery is recognised. Every document carries `tenant` and `subject_ids`, so
gdpr's erasure and purge reach it (helpt_platform.purge). Personal fields stay sealed.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from uuid import UUID

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from helpt_contracts.events import Event, VolunteerRegistered, VolunteerUpdated, VolunteerWithdrawn
from helpt_contracts.roles import ServiceName
from helpt_platform.outbox import enqueue, outbox_entry
from helpt_platform.keys import by_id, with_id_text
from helpt_screening.domain import OPEN, Requirement, State, pre_checks

__all__ = ["APPLIED_KEPT", "Applied", "CaseStore", "Conflict", "sealed_lengths"]

APPLIED_KEPT = 100
MAX_CATCH_UP = 50
MAX_HOLDERS = 50  # cases sharing one phone number or e-mail address that are looked at (a shared office phone)
_FACTS = ("channel", "tasks", "postcode", "max_distance_km", "languages", "availability", "competences",
          "max_tasks_per_week", "is_adult", "networks", "entered_by")


class Applied(StrEnum):
    """What became of one volunteer event."""

    APPLIED = "applied"
    REPEATED = "repeated"
    UNKNOWN_CASE = "unknown-case"


class Conflict(RuntimeError):
    """Another change claimed this version of the case first."""


def sealed_lengths(personal: Mapping[str, Mapping[str, str]]) -> dict[str, int]:
    """How many bytes each sealed field holds (tag included): a non-personal fact the pre-checks use."""
    return {field: len(base64.b64decode(value["ciphertext"])) for field, value in personal.items()}


class CaseStore:
    """The `cases` projection and its `case_log`."""

    def __init__(self, db: AsyncDatabase, requirements: Mapping[str, Requirement]) -> None:
        self.cases = db["cases"]
        self.log = db["case_log"]
        self.contacts = db["contacts"]
        self._requirements = requirements
        self._indexed = False

    async def ready(self) -> None:
        if not self._indexed:
            await self.cases.create_index([("tenant", ASCENDING), ("state", ASCENDING), ("registered_at", ASCENDING)],
                                          name="by_state")
            await self.cases.create_index([("tenant", ASCENDING), ("contact_index", ASCENDING)], name="by_contact")
            await self.log.create_index([("case_id", ASCENDING), ("version", ASCENDING)], name="by_case")
            await self.log.create_index([("unsent", ASCENDING), ("at", ASCENDING)], name="by_unsent")
            self._indexed = True

    # -- reading ------------------------------------------------------------------------------

    async def get(self, tenant: str, case_id: UUID) -> dict[str, Any] | None:
        """The case as of its last claimed change (a change whose writer died is applied first)."""
        await self.ready()
        doc = await self.cases.find_one(by_id(case_id, tenant=tenant))
        for _ in range(MAX_CATCH_UP):
            if doc is None:
                return None
            pending = await self.log.find_one({"_id": f"{case_id}:{doc['version'] + 1}"})
            if pending is None:
                return doc
            changes = dict(pending["set"])
            await self.cases.update_one(by_id(case_id), {"$set": changes})
            doc = {**doc, **changes}
        return doc

    async def history(self, case_id: UUID) -> list[dict[str, Any]]:
        """The case's log, oldest first."""
        # Entry by entry, by `_id` ("<case>:<version>", from 0 until one is missing): a filter on `case_id`
        # reads the whole log on the local store (docs/adr/0016).
        entries, version = [], 0
        while (entry := await self.log.find_one({"_id": f"{case_id}:{version}"}, {"set": 0})) is not None:
            entries.append(entry)
            version += 1
        return entries

    async def open_cases(self, tenant: str, limit: int = 1000) -> list[dict[str, Any]]:
        """The tenant's cases awaiting a screener, oldest first (the queue orders them by need)."""
        await self.ready()
        cursor = self.cases.find({"tenant": tenant, "state": {"$in": [s.value for s in OPEN]}},
                                 {"personal": 0, "applied": 0})
        return [doc async for doc in cursor.sort("registered_at", ASCENDING).limit(limit)]

    # -- writing ------------------------------------------------------------------------------

    async def commit(self, doc: dict[str, Any], entry: dict[str, Any], changes: dict[str, Any],
                     event: Event | None = None) -> dict[str, Any]:
        """Claim the case's next version with `entry` (history, changes, event to publish), then apply it; `Conflict` if taken."""
        version = doc["version"] + 1
        changes = {**changes, "version": version}
        claim = {"_id": f"{doc['_id']}:{version}", "case_id": doc["_id"], "tenant": doc["tenant"],
                 "subject_ids": doc["subject_ids"], "version": version, **entry,
                 "set": changes, "event": outgoing(event, entry["at"]) if event else None,
                 "unsent": event is not None, "sent_at": None}
        try:
            await self.log.insert_one(claim)
        except DuplicateKeyError:
            raise Conflict("another change of this case came first") from None
        if event is not None:
            await enqueue(self.log, claim["_id"], tenant=doc["tenant"], subject_ids=doc["subject_ids"])
        await self.cases.update_one(by_id(doc["_id"]), {"$set": changes})
        return claim

    async def apply(self, event_id: UUID, at: dt.datetime, event: Event, *, attempts: int = 5) -> Applied:
        """Apply one of intake's volunteer events to its case, once."""
        await self.ready()
        if isinstance(event, VolunteerRegistered):
            return await self._register(at, event)
        if not isinstance(event, VolunteerUpdated | VolunteerWithdrawn):
            return Applied.REPEATED  # not ours to apply: nothing changes
        applied_id = str(event_id)
        for _ in range(attempts):
            doc = await self.get(event.tenant, event.volunteer_id)
            if doc is None:
                return Applied.UNKNOWN_CASE
            applied = list(doc.get("applied") or [])
            if applied_id in applied:
                return Applied.REPEATED
            changes, entry = await (self._updated(doc, event) if isinstance(event, VolunteerUpdated) else self._withdrawn(doc, event))
            changes |= {"applied": [*applied, applied_id][-APPLIED_KEPT:], "updated_at": at}
            try:
                await self.commit(doc, {"at": at, "by": "intake", **entry}, changes)
            except Conflict:
                continue
            return Applied.APPLIED
        raise Conflict("the case changed under every attempt; the consumer retries the event")

    async def _earlier(self, tenant: str, volunteer_id: UUID, subject_ids: list[UUID], contact_index: list[str]) -> list[str]:
        """The cases that gave one of these contact details (gdpr's blind indexes) before this one.

        Each blind index has its holders in `contacts`, one document a holder, `_id` "<tenant>:<index>:<n>" with
        n = 0, 1, 2, ...: a case takes the first free n by inserting it (unique `_id`, so two registrations at once
        each get their own), and those before it are the earlier cases. Not a query over `cases`: FerretDB 1.24
        answers that by reading every case (0.1-0.2 ms each, on every registration — measured, bench/README.md),
        while an insert is decided by the unique index and only documents that exist are read back. The holders
        carry `tenant` and `subject_ids`, so erasure and purge delete them with the case; a case erased from the
        middle leaves a gap that the next registration fills, not seeing the holders after it.
        """
        earlier: dict[str, None] = {}
        for index in dict.fromkeys(contact_index):
            for n in range(MAX_HOLDERS):
                key = f"{tenant}:{index}:{n}"
                try:
                    await self.contacts.insert_one({"_id": key, "tenant": tenant, "subject_ids": subject_ids,
                                                    "volunteer_id": volunteer_id})
                    break
                except DuplicateKeyError:
                    held = await self.contacts.find_one({"_id": key}, {"volunteer_id": 1})
                if held is None:
                    continue  # erased between the two: the next number
                if held["volunteer_id"] == volunteer_id:
                    break  # this case holds it already (a redelivery, an update)
                earlier[str(held["volunteer_id"])] = None
        return list(earlier)

    def _flags(self, facts: Mapping[str, Any], personal: Mapping[str, Any], earlier: list[str]) -> list[dict[str, str]]:
        return [f.as_doc() for f in pre_checks(facts, sealed_lengths(personal), earlier, self._requirements)]

    async def _register(self, at: dt.datetime, event: VolunteerRegistered) -> Applied:
        facts = event.model_dump(mode="json", include=set(_FACTS))
        personal = {f.value: s.model_dump() for f, s in event.personal.items()}
        earlier = await self._earlier(event.tenant, event.volunteer_id, [event.subject_id], list(event.contact_index))
        outcome = Applied.APPLIED
        try:
            await self.cases.insert_one(with_id_text({
                "_id": event.volunteer_id, "tenant": event.tenant, "subject_ids": [event.subject_id],
                "state": State.OPEN.value, "facts": facts, "personal": personal, "contact_index": list(event.contact_index),
                "flags": self._flags(facts, personal, earlier), "registered_at": at, "updated_at": at,
                "version": 0, "applied": [], "guidelines_confirmed_at": None,
            }))
        except DuplicateKeyError:
            outcome = Applied.REPEATED
        with contextlib.suppress(DuplicateKeyError):  # also after a redelivery: a crash may have come in between
            await self.log.insert_one({
                "_id": f"{event.volunteer_id}:0", "case_id": event.volunteer_id, "tenant": event.tenant,
                "subject_ids": [event.subject_id], "version": 0, "at": at, "by": "intake", "action": "registered",
                "from": None, "to": State.OPEN.value, "set": {}, "event": None, "unsent": False, "sent_at": None})
        return outcome

    async def _updated(self, doc: dict[str, Any], event: VolunteerUpdated) -> tuple[dict[str, Any], dict[str, Any]]:
        changed = event.model_dump(mode="json", include=set(_FACTS), exclude_none=True)
        facts = {**doc["facts"], **changed}
        personal = {**doc["personal"], **{f.value: s.model_dump() for f, s in (event.personal or {}).items()}}
        contact_index = list(event.contact_index) if event.contact_index is not None else doc.get("contact_index", [])
        earlier = await self._earlier(doc["tenant"], doc["_id"], doc["subject_ids"], contact_index)
        state = State(doc["state"])
        # The volunteer answered a request for information: the case is back in the queue.
        new_state = State.OPEN if state is State.INFORMATION_REQUESTED else state
        changes = {"facts": facts, "personal": personal, "contact_index": contact_index, "state": new_state.value,
                   "flags": self._flags(facts, personal, earlier)}
        return changes, {"action": "updated", "from": state.value, "to": new_state.value}

    async def _withdrawn(self, doc: dict[str, Any], event: VolunteerWithdrawn) -> tuple[dict[str, Any], dict[str, Any]]:
        return ({"state": State.WITHDRAWN.value},
                {"action": "withdrawn", "reason": event.reason.value, "from": doc["state"], "to": State.WITHDRAWN.value})


def outgoing(event: Event, at: dt.datetime) -> dict[str, Any]:
    """An event as the outbox keeps it: type, body and its envelope (so a republish keeps its `ce_id`)."""
    return outbox_entry(event, source=ServiceName.SCREENING.value, time=at)
