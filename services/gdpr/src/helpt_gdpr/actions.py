"""Which actions are open, and whose: learnt from the events gdpr consumes.

Every event that opens, closes or reopens an action is kept as one *fact* document, inserted
once under `<tenant>:<kind>:<id>:<event id>` (a redelivery is a duplicate key and changes
nothing); an action's state is the fold of its facts in the order they arrived. Nothing is ever
updated in place: the store does not apply concurrent conditional updates atomically (ADR 0009),
and the facts of one action arrive from several topics at once. Facts carry `tenant`, and the
opening ones `subject_ids`, like every personal record in Helpt.

Events of one aggregate arrive in order, but topics do not order among themselves: a screening
decision may come before the registration it decides on. So an opening only opens an action
nothing has closed yet, and closings win — with one exception: a reversed screening decision
(`VolunteerDecisionReversed`, on the same topic as the decision it takes back, so after it)
reopens the case, unless the volunteer has withdrawn.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from typing import Any
from uuid import UUID

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from helpt_contracts.events import (
    Event,
    HelpRequestCancelled,
    HelpRequested,
    MailReceived,
    MailTriaged,
    MatchAccepted,
    MatchCancelled,
    MatchCompleted,
    VolunteerApproved,
    VolunteerDecisionReversed,
    VolunteerRegistered,
    VolunteerRejected,
    VolunteerSuspended,
    VolunteerWithdrawn,
)
from helpt_contracts.roles import ActionKind
from helpt_gdpr.policy import ActionFacts
from helpt_platform.mongo import delete_all

__all__ = ["Actions"]

_CLOSING = {
    HelpRequestCancelled: (ActionKind.REQUEST, "request_id"),
    VolunteerApproved: (ActionKind.SCREENING_CASE, "volunteer_id"),
    VolunteerRejected: (ActionKind.SCREENING_CASE, "volunteer_id"),
    VolunteerSuspended: (ActionKind.SCREENING_CASE, "volunteer_id"),
    MatchCompleted: (ActionKind.MATCH, "match_id"),
    MatchCancelled: (ActionKind.MATCH, "match_id"),
    MailTriaged: (ActionKind.MAIL, "mail_id"),
}


def _id(tenant: str, kind: ActionKind, ref: UUID) -> str:
    return f"{tenant}:{kind.value}:{ref}"


class Actions:
    """The projection of open actions, as insert-only facts (`actions` collection)."""

    def __init__(self, actions: AsyncCollection) -> None:
        self._actions = actions
        self._indexed = False

    async def _keep(self, event_id: UUID, tenant: str, kind: ActionKind, ref: UUID, effect: str, **fields: Any) -> None:
        if not self._indexed:
            await self._actions.create_index([("action", ASCENDING), ("at", ASCENDING)], name="by_action")
            self._indexed = True
        with contextlib.suppress(DuplicateKeyError):  # a redelivery: kept already
            await self._actions.insert_one({"_id": f"{_id(tenant, kind, ref)}:{event_id}", "action": _id(tenant, kind, ref),
                                            "tenant": tenant, "kind": kind.value, "effect": effect,
                                            "at": dt.datetime.now(dt.UTC), "arrived_ns": time.time_ns(), **fields})

    async def apply(self, event: Event, event_id: UUID) -> None:
        """Keep one event's effect on an action, once; events it does not care about change nothing."""
        if isinstance(event, HelpRequested):
            await self._keep(event_id, event.tenant, ActionKind.REQUEST, event.request_id, "open", subject_ids=[event.subject_id])
        elif isinstance(event, MailReceived):
            await self._keep(event_id, event.tenant, ActionKind.MAIL, event.mail_id, "open", subject_ids=[event.subject_id])
        elif isinstance(event, VolunteerRegistered):
            await self._keep(event_id, event.tenant, ActionKind.SCREENING_CASE, event.volunteer_id, "open",
                             subject_ids=[event.subject_id])
        elif isinstance(event, MatchAccepted):
            await self._keep(event_id, event.tenant, ActionKind.MATCH, event.match_id, "open", request_id=event.request_id,
                             volunteer_id=event.volunteer_id, organisation=event.organisation)
        elif isinstance(event, VolunteerDecisionReversed):
            await self._keep(event_id, event.tenant, ActionKind.SCREENING_CASE, event.volunteer_id, "reopen")
        elif isinstance(event, VolunteerWithdrawn):
            await self._keep(event_id, event.tenant, ActionKind.SCREENING_CASE, event.volunteer_id, "withdrawn")
        elif type(event) in _CLOSING:
            kind, attr = _CLOSING[type(event)]
            await self._keep(event_id, event.tenant, kind, getattr(event, attr), "close")

    async def _state(self, tenant: str, kind: ActionKind, ref: UUID) -> dict[str, Any] | None:
        """The fold of one action's facts, oldest first; None when gdpr has heard nothing of it."""
        facts = [f async for f in self._actions.find({"action": _id(tenant, kind, ref)}).sort([("at", ASCENDING), ("arrived_ns", ASCENDING), ("_id", ASCENDING)])]
        # `at` is kept to the millisecond: two facts kept within one are ordered by their arrival in nanoseconds,
        # not by their random ids (a reversal and the approval before it, read in the wrong order, left it closed).
        if not facts:
            return None
        state: dict[str, Any] = {"open": None, "withdrawn": False, "subject_ids": []}
        for fact in facts:
            effect = fact["effect"]
            if effect == "open":
                state["open"] = True if state["open"] is None else state["open"]
                state["subject_ids"] = sorted({*state["subject_ids"], *fact.get("subject_ids", [])}, key=str)
                state.update({k: fact[k] for k in ("request_id", "volunteer_id", "organisation") if k in fact})
            elif effect == "close":
                state["open"] = False
            elif effect == "withdrawn":
                state["open"], state["withdrawn"] = False, True
            elif effect == "reopen" and not state["withdrawn"]:
                state["open"] = True
        state["open"] = bool(state["open"])
        return state

    async def _subjects(self, tenant: str, kind: ActionKind, ref: UUID | None) -> list[UUID]:
        if ref is None:
            return []
        state = await self._state(tenant, kind, ref)
        return list(state["subject_ids"]) if state else []

    async def facts(self, tenant: str, kind: ActionKind, ref: UUID) -> ActionFacts:
        """What the policy needs to know about one action of one tenant."""
        if kind is ActionKind.SUBJECT:
            opened = self._actions.find({"tenant": tenant, "kind": ActionKind.SCREENING_CASE.value, "effect": "open",
                                         "subject_ids": ref}, {"action": 1})
            cases = {f["action"].rsplit(":", 1)[-1] async for f in opened}
            states = [await self._state(tenant, ActionKind.SCREENING_CASE, UUID(case)) for case in cases]
            registered = any(state is not None and not state["withdrawn"] for state in states)
            return ActionFacts(kind, ref, known=True, open=registered, subject_ids=frozenset({ref}), tenant=tenant)
        doc = await self._state(tenant, kind, ref)
        if doc is None:
            return ActionFacts(kind, ref)
        subjects = list(doc.get("subject_ids", []))
        volunteer_subjects: list[UUID] = []
        if kind is ActionKind.MATCH:
            volunteer_subjects = await self._subjects(tenant, ActionKind.SCREENING_CASE, doc.get("volunteer_id"))
            subjects += volunteer_subjects + await self._subjects(tenant, ActionKind.REQUEST, doc.get("request_id"))
        return ActionFacts(
            kind, ref, known=True, open=bool(doc.get("open")), subject_ids=frozenset(subjects),
            organisation=doc.get("organisation"), volunteer_subject_id=volunteer_subjects[0] if volunteer_subjects else None,
            tenant=tenant,
        )

    async def forget_subject(self, tenant: str, subject_id: UUID) -> int:
        """Erasure: drop what gdpr knows of the subject's actions."""
        return (await self._actions.delete_many({"tenant": tenant, "subject_ids": subject_id})).deleted_count

    async def forget_tenant(self, tenant: str) -> int:
        """Purge: drop every action of the tenant."""
        return await delete_all(self._actions, {"tenant": tenant})
