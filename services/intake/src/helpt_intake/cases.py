"""The cases as the phone console sees them: earlier contacts, an operator's own cases, call-backs.

A `CaseView` holds no personal data (the sealed contact stays in the store, for gdpr to open on a
stated purpose). Earlier contacts are found by gdpr's blind indexes of phone and e-mail, which
each case keeps in `contact_index`.

`CaseBook.apply` keeps a case's status in step with matching's events, once per event: the event
id is recorded in the same write that applies it, and every write of a case is one version,
claimed by inserting "<case>:<version>" first (FerretDB's guarded updates are not atomic, ADR 9),
so a redelivery or a concurrent writer changes nothing twice.

The console's pages get the service's book from `request.app.state.case_book()` (as the JSON API
in `console_api` does) and render `CaseView`s.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from helpt_contracts.events import Event, HelpRequestCancelled, Urgency
from helpt_contracts.types import Channel
from helpt_intake.settings import IntakeSettings
from helpt_intake.status import CaseStatus, MatchState, case_status, match_state_after
from helpt_platform.claims import Conflict, VersionedDocuments
from helpt_platform.gdpr_client import GdprClient
from helpt_platform.keys import by_id
from helpt_platform.logs import get_logger

__all__ = ["Applied", "CaseBook", "CaseView", "case_writer"]

log = get_logger(__name__)
APPLIED_KEPT = 200  # event ids remembered per case; more than a request's offers and matches ever produce
LIST_LIMIT = 200
_WAITING = [CaseStatus.RECEIVED.value, CaseStatus.OFFERED.value]
_VIEW_FIELDS = ["reference", "kind", "channel", "task", "tasks", "postcode", "urgency", "volunteers_needed",
                "organisation", "status", "status_at", "created_at", "entered_by"]


class CaseView(BaseModel):
    """One case as an operator may see it: facts and status, never personal data."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    reference: str = Field(description="The reference the caller quotes.")
    kind: str = Field(description="'request' (help asked) or 'volunteer' (help offered).")
    channel: Channel | None = Field(description="How it came in; none for cases from before channels were kept.")
    task: str | None = Field(default=None, description="The task asked for (a request).")
    tasks: list[str] | None = Field(default=None, description="The tasks offered (a volunteer).")
    postcode: str | None = None
    urgency: Urgency | None = Field(default=None, description="How soon (a request).")
    volunteers_needed: int | None = None
    organisation: str | None = Field(default=None, description="The partner organisation that asked, if any.")
    status: CaseStatus
    status_at: dt.datetime | None = Field(description="When the status last changed.")
    created_at: dt.datetime
    entered_by: str | None = Field(default=None, description="The operator who entered it during a call.")

    @classmethod
    def of(cls, doc: dict[str, Any]) -> CaseView:
        return cls(id=doc["_id"], **{k: doc.get(k) for k in _VIEW_FIELDS})


class Applied(StrEnum):
    """What became of one event applied to the cases."""

    APPLIED = "applied"
    REPEATED = "repeated"
    UNKNOWN_CASE = "unknown-case"
    IRRELEVANT = "irrelevant"


def case_writer(db: AsyncDatabase) -> VersionedDocuments:
    """Every change of a case, one version after another, decided by claims in `case_changes` (ADR 9)."""
    return VersionedDocuments(db["cases"], db["case_changes"])


class CaseConflict(RuntimeError):
    """The case kept changing under us; the consumer retries the event."""


class CaseBook:
    """The `cases` collection, read for the console and kept in step with matching."""

    def __init__(self, settings: IntakeSettings, db: AsyncDatabase, gdpr: GdprClient | None = None) -> None:
        self._settings = settings
        self._cases = db["cases"]
        self._writer = case_writer(db)
        self._gdpr = gdpr
        self._indexed = False

    async def _ready(self) -> None:
        if not self._indexed:
            await self._cases.create_index([("tenant", ASCENDING), ("contact_index", ASCENDING)], name="by_contact")
            await self._cases.create_index([("tenant", ASCENDING), ("entered_by", ASCENDING), ("created_at", DESCENDING)],
                                           name="by_operator")
            await self._cases.create_index([("tenant", ASCENDING), ("kind", ASCENDING), ("status", ASCENDING),
                                            ("created_at", ASCENDING)], name="by_status")
            self._indexed = True

    async def _views(self, selector: dict[str, Any], sort: list[tuple[str, int]], limit: int = LIST_LIMIT) -> list[CaseView]:
        await self._ready()
        cursor = self._cases.find(selector, {"_id": 1, **dict.fromkeys(_VIEW_FIELDS, 1)}).sort(sort).limit(limit)
        return [CaseView.of(doc) async for doc in cursor]

    async def get(self, tenant: str, case_id: UUID) -> CaseView | None:
        """One case of the tenant; None if there is none (or it was erased)."""
        found = await self._views({"_id": case_id, "tenant": tenant}, [("_id", ASCENDING)], limit=1)
        return found[0] if found else None

    async def search(self, tenant: str, *, phone: str | None = None, email: str | None = None) -> list[CaseView]:
        """Earlier cases of whoever has this phone number or e-mail address, newest first.

        gdpr normalises what the operator typed (spaces, 0470… or +32470…, capitals) before it
        hashes; a value it cannot read is a 422 Refusal naming the kind of value, not the value.
        """
        if self._gdpr is None:
            raise RuntimeError("searching needs the gdpr client")
        if not (phone or email):
            return []
        found = await self._gdpr.blind_indexes(tenant, phone=phone or None, email=email or None)
        keys = [value for value in (found.get("phone"), found.get("email")) if value]
        return await self._views({"tenant": tenant, "contact_index": {"$in": keys}}, [("created_at", DESCENDING)])

    async def entered_by(self, tenant: str, operator: str) -> list[CaseView]:
        """The cases an operator entered, newest first, with their current status."""
        return await self._views({"tenant": tenant, "entered_by": operator}, [("created_at", DESCENDING)])

    async def waiting_too_long(self, tenant: str, now: dt.datetime) -> list[CaseView]:
        """Help requests without an accepted match for `call_back_after_hours`: urgent first, then oldest."""
        since = now - dt.timedelta(hours=self._settings.call_back_after_hours)
        out: list[CaseView] = []
        for urgency in (Urgency.URGENT, Urgency.NORMAL):
            selector = {"tenant": tenant, "kind": "request", "status": {"$in": _WAITING}, "urgency": urgency.value,
                        "created_at": {"$lte": since}}
            out += await self._views(selector, [("created_at", ASCENDING)], limit=LIST_LIMIT - len(out))
            if len(out) >= LIST_LIMIT:
                break
        return out

    async def apply(self, event_id: UUID, at: dt.datetime, event: Event) -> Applied:
        """Apply a match event or a cancellation to its request's case, once; `at` is when it happened."""
        case_id = getattr(event, "request_id", None)
        if case_id is None or (match_state_after(None, event) is None and not isinstance(event, HelpRequestCancelled)):
            return Applied.IRRELEVANT
        applied_id = str(event_id)
        seen: list[bool] = []

        def decide(doc: dict[str, Any]) -> dict[str, Any] | None:
            applied = list(doc.get("applied") or [])
            if applied_id in applied:
                seen.append(True)
                return None
            return {**_changes(doc, event, at), "applied": [*applied, applied_id][-APPLIED_KEPT:]}

        try:
            written = await self._writer.write(by_id(case_id, tenant=event.tenant), decide)
        except Conflict:
            raise CaseConflict("the case changed under every attempt") from None
        if written is None:
            return Applied.UNKNOWN_CASE
        return Applied.REPEATED if seen else Applied.APPLIED


def _changes(doc: dict[str, Any], event: Event, at: dt.datetime) -> dict[str, Any]:
    matches = {k: MatchState(v) for k, v in (doc.get("matches") or {}).items()}
    match_id = getattr(event, "match_id", None)
    if match_id is not None:
        state = match_state_after(matches.get(str(match_id)), event)
        if state is not None:
            matches[str(match_id)] = state
    current = CaseStatus(doc.get("status", CaseStatus.RECEIVED))
    status = case_status(current, matches, doc.get("volunteers_needed") or 1, event)
    changes: dict[str, Any] = {"matches": {k: v.value for k, v in matches.items()}}
    if status != current:
        changes |= {"status": status.value, "status_at": at}
    return changes
