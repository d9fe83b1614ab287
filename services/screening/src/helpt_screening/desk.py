"""The screener's desk: the queue, a case, its reveal through gdpr, and decisions written with their events (outbox).

A decision is one single-document write: the claim of the case's next version in its log
(`CaseStore.commit`), holding the state change, the history entry and the event to publish (with
its envelope, so a republish keeps its `ce_id`). A double click or a racing colleague claims the
same version and loses — the first stands, the other hears 409 — and a decision taken while Kafka
is down is kept and published by the relay (`outbox`) once Kafka is back.

The screener pages build on this class (its methods take the verified `Principal`); the JSON API
in `api` is a thin layer over it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from helpt_contracts.events import (
    Event,
    ScreeningReason,
    VolunteerApproved,
    VolunteerDecisionReversed,
    VolunteerGuidelinesConfirmed,
    VolunteerRejected,
    VolunteerSuspended,
)
from helpt_contracts.roles import ActionKind, Purpose
from helpt_contracts.sealed import PersonalField, SealedField
from helpt_platform.auth import Principal, Refusal
from helpt_platform.gdpr_client import GdprClient
from helpt_platform.logs import get_logger
from helpt_screening.cases import CaseStore, Conflict
from helpt_screening.demand import Demand
from helpt_screening.domain import ALLOWED, OPEN, Action, State, check_reason, queue_order
from helpt_screening.links import LinkSigner
from helpt_screening.settings import ScreeningSettings

__all__ = ["CaseDetail", "CaseSummary", "HistoryEntry", "Revealed", "ScreeningDesk"]

log = get_logger(__name__)
NOTES_REVEALED = 20


class FlagView(BaseModel):
    code: str = Field(description="What the pre-check found, e.g. 'repeat-registration', 'missing-competence'.")
    detail: str = Field(description="Which vacancy, competence or earlier case; never personal data.")


class CaseSummary(BaseModel):
    """A case in the queue: facts and flags, no personal data."""

    id: UUID = Field(description="The case id, which is the volunteer id.")
    state: State
    tasks: list[str]
    postcode: str
    languages: list[str]
    competences: list[str]
    is_adult: bool
    flags: list[FlagView]
    unmet_demand: int = Field(description="Volunteers still needed for the most wanted of this volunteer's vacancies.")
    registered_at: dt.datetime


class HistoryEntry(BaseModel):
    at: dt.datetime
    by: str = Field(description="Staff id of the screener, or 'intake' / 'volunteer'.")
    action: str
    reason: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    has_note: bool = Field(default=False, description="A sealed note is kept; the reveal opens it.")


class Publication(BaseModel):
    event_id: UUID
    type: str
    sent_at: dt.datetime | None = Field(description="None: pending publication (Kafka not reached yet).")


class CaseDetail(BaseModel):
    """One case for a screener: facts, flags, history, what is still pending publication, the guidelines."""

    id: UUID
    state: State
    version: int
    facts: dict[str, Any]
    flags: list[FlagView]
    sealed_fields: list[str] = Field(description="Which personal fields the volunteer gave (their content is sealed).")
    registered_at: dt.datetime
    history: list[HistoryEntry]
    publications: list[Publication]
    pending_publication: bool = Field(description="An event of this case has not reached Kafka yet; the relay retries.")
    guidelines_confirmed_at: dt.datetime | None = None
    guidelines_link: str | None = Field(
        default=None,
        description="For an approved volunteer who has not confirmed yet: the signed link to send them "
        "(sending it is matching's and messages' job, later).",
    )


class RevealedNote(BaseModel):
    at: dt.datetime
    by: str
    action: str
    note: str


class Revealed(BaseModel):
    """A case's personal details, opened by gdpr for this screener (audited there)."""

    fields: dict[str, str]
    notes: list[RevealedNote]


class ScreeningDesk:
    """What a screener can do; every method takes the verified caller and works in its tenant."""

    def __init__(self, settings: ScreeningSettings, store: CaseStore, demand: Demand, gdpr: GdprClient,
                 links: LinkSigner, wake_relay: Callable[[], None] = lambda: None) -> None:
        self.settings = settings
        self.store = store
        self.demand = demand
        self._gdpr = gdpr
        self.links = links
        self._wake = wake_relay

    async def queue(self, who: Principal) -> list[CaseSummary]:
        """Open cases, those for the vacancies with the most unmet requests first, then the longest waiting."""
        demand = await self.demand.unmet(who.tenant)
        out = []
        for doc in queue_order(await self.store.open_cases(who.tenant), demand):
            facts = doc["facts"]
            out.append(CaseSummary(
                id=doc["_id"], state=doc["state"], tasks=facts["tasks"], postcode=facts["postcode"],
                languages=facts["languages"], competences=facts.get("competences") or [], is_adult=facts["is_adult"],
                flags=doc.get("flags", []), registered_at=doc["registered_at"],
                unmet_demand=max((demand.get(t, 0) for t in facts["tasks"]), default=0)))
        return out

    async def _case(self, who: Principal, case_id: UUID) -> dict[str, Any]:
        doc = await self.store.get(who.tenant, case_id)
        if doc is None:
            raise Refusal(404, "no such screening case")
        return doc

    async def case(self, who: Principal, case_id: UUID) -> CaseDetail:
        return await self.detail(await self._case(who, case_id))

    async def detail(self, doc: dict[str, Any]) -> CaseDetail:
        entries = await self.store.history(doc["_id"])
        link = None
        if doc["state"] == State.APPROVED and doc.get("guidelines_confirmed_at") is None:
            link = self.guidelines_link(doc["tenant"], doc["_id"])
        publications = [Publication(event_id=e["event"]["id"], type=e["event"]["type"], sent_at=e.get("sent_at"))
                        for e in entries if e.get("event")]
        return CaseDetail(
            id=doc["_id"], state=doc["state"], version=doc["version"], facts=doc["facts"], flags=doc.get("flags", []),
            sealed_fields=sorted(doc.get("personal", {})), registered_at=doc["registered_at"],
            history=[HistoryEntry(at=h["at"], by=h["by"], action=h["action"], reason=h.get("reason"),
                                  from_state=h.get("from"), to_state=h.get("to"), has_note=bool(h.get("note")))
                     for h in entries],
            publications=publications, pending_publication=any(p.sent_at is None for p in publications),
            guidelines_confirmed_at=doc.get("guidelines_confirmed_at"), guidelines_link=link)

    def guidelines_link(self, tenant: str, volunteer_id: UUID) -> str:
        token = self.links.token(tenant, volunteer_id, dt.datetime.now(dt.UTC))
        return f"{self.settings.public_url.rstrip('/')}/guidelines/{token}"

    async def reveal(self, who: Principal, bearer: str, case_id: UUID) -> Revealed:
        """Open the case's personal fields and notes through gdpr with the screener's own token, so gdpr decides and audits."""
        doc = await self._case(who, case_id)
        if State(doc["state"]) not in OPEN:
            raise Refusal(409, f"the case is {doc['state']}: its personal details are shown only while it is open")
        as_screener = GdprClient(self.settings.gdpr_url, lambda _tenant: bearer)
        action = (ActionKind.SCREENING_CASE, doc["_id"])
        subject = doc["subject_ids"][0]
        try:
            sealed = {PersonalField(f): SealedField(**v) for f, v in doc.get("personal", {}).items()}
            fields = await as_screener.reveal(who.tenant, subject, Purpose.SCREENING_CASE, action, sealed) if sealed else {}
            notes = []
            for entry in [h for h in await self.store.history(doc["_id"]) if h.get("note")][-NOTES_REVEALED:]:
                opened = await as_screener.reveal(who.tenant, subject, Purpose.SCREENING_CASE, action,
                                                  {PersonalField.NOTE: SealedField(**entry["note"])})
                notes.append(RevealedNote(at=entry["at"], by=entry["by"], action=entry["action"],
                                          note=opened.get(PersonalField.NOTE, "")))
        finally:
            await as_screener.aclose()
        return Revealed(fields={f.value: v for f, v in fields.items()}, notes=notes)

    async def decide(self, who: Principal, case_id: UUID, action: Action, reason: ScreeningReason,
                     note: str | None = None) -> CaseDetail:
        """Approve, reject, ask for information, suspend or reverse; 404 unknown, 409 closed or beaten, 422 wrong reason."""
        problem = check_reason(action, reason)
        if problem:
            raise Refusal(422, problem)
        doc = await self._case(who, case_id)
        rule = ALLOWED[action]
        state = State(doc["state"])
        if state not in rule.source:
            raise Refusal(409, f"the case is {state.value}: it cannot be given '{action.value}'")
        target = rule.target or State.OPEN
        sealed_note = await self._seal_note(doc, note) if note else None
        now = dt.datetime.now(dt.UTC)
        event = self._event(doc, action, state, reason)
        entry = {"at": now, "by": who.sub, "action": action.value, "reason": reason.value, "from": state.value,
                 "to": target.value, "note": sealed_note}
        try:
            await self.store.commit(doc, entry, {"state": target.value, "updated_at": now}, event)
        except Conflict:
            raise Refusal(409, "another decision on this case was taken first; it stands") from None
        log.info("screening decision taken", case_id=str(case_id), action=action.value, reason=reason.value,
                 by=who.sub, published=event is not None)
        self._wake()
        return await self.case(who, case_id)

    def _event(self, doc: dict[str, Any], action: Action, state: State, reason: ScreeningReason) -> Event | None:
        common = {"tenant": doc["tenant"], "volunteer_id": doc["_id"], "case_id": doc["_id"], "reason": reason}
        if action is Action.APPROVE:
            return VolunteerApproved(**common, guidelines_confirmed=doc.get("guidelines_confirmed_at") is not None)
        if action is Action.REJECT:
            return VolunteerRejected(**common)
        if action is Action.SUSPEND:
            return VolunteerSuspended(**common)
        if action is Action.REVERSE:
            return VolunteerDecisionReversed(**common, reversed_decision=state.value)
        return None  # asking for information changes nothing for matching or gdpr

    async def _seal_note(self, doc: dict[str, Any], note: str) -> dict[str, str]:
        # The note may name the person or their health: sealed under the volunteer's own key, so
        # erasing the volunteer shreds it too, and only gdpr opens it, for a screener of an open case.
        _, sealed = await self._gdpr.seal(doc["tenant"], {PersonalField.NOTE: note}, subject_id=doc["subject_ids"][0])
        return sealed[PersonalField.NOTE].model_dump()

    async def confirm_guidelines(self, tenant: str, volunteer_id: UUID, *, attempts: int = 5) -> bool:
        """The volunteer confirmed through their signed link; True when confirmed (now or before), 409 if not approved."""
        for _ in range(attempts):
            doc = await self.store.get(tenant, volunteer_id)
            if doc is None:
                raise Refusal(404, "no such screening case")
            if doc.get("guidelines_confirmed_at") is not None:
                return True
            if doc["state"] != State.APPROVED:
                raise Refusal(409, "this volunteer is not approved (any more)")
            now = dt.datetime.now(dt.UTC)
            event = VolunteerGuidelinesConfirmed(tenant=tenant, volunteer_id=volunteer_id, case_id=volunteer_id,
                                                 guidelines_version=self.settings.guidelines_version, confirmed_at=now)
            entry = {"at": now, "by": "volunteer", "action": "guidelines-confirmed", "from": doc["state"], "to": doc["state"]}
            try:
                await self.store.commit(doc, entry, {"guidelines_confirmed_at": now, "updated_at": now}, event)
            except Conflict:
                continue  # a second click, or a screener at the same moment: look again
            self._wake()
            return True
        raise Refusal(409, "the case kept changing; please try again")
