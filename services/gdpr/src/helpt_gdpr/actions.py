"""Which actions are open, and whose: learnt from the events gdpr consumes.

One document per action, `_id` "<tenant>:<kind>:<id>", carrying `tenant` and `subject_ids` like
every personal record in Helpt. Events of one aggregate arrive in order, but topics do not
order among themselves: a screening decision may be applied before the registration it decides
on, so openings only ever set `open` on insert and closings win — with one exception: a reversed
screening decision (`VolunteerDecisionReversed`, on the same topic as the decision it takes back,
so after it) reopens the case, unless the volunteer has withdrawn.
"""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID

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
    """The projection of open actions."""

    def __init__(self, actions: AsyncCollection) -> None:
        self._actions = actions

    async def _open(self, tenant: str, kind: ActionKind, ref: UUID, **fields: Any) -> None:
        await self._actions.update_one(
            {"_id": _id(tenant, kind, ref)},
            {"$setOnInsert": {"open": True}, "$set": {"tenant": tenant, "kind": kind.value, **fields}},
            upsert=True,
        )

    async def apply(self, event: Event) -> None:
        """Update the projection with one event; events it does not care about change nothing."""
        if isinstance(event, HelpRequested):
            await self._open(event.tenant, ActionKind.REQUEST, event.request_id, subject_ids=[event.subject_id])
        elif isinstance(event, MailReceived):
            await self._open(event.tenant, ActionKind.MAIL, event.mail_id, subject_ids=[event.subject_id])
        elif isinstance(event, VolunteerRegistered):
            await self._open(event.tenant, ActionKind.SCREENING_CASE, event.volunteer_id, subject_ids=[event.subject_id])
        elif isinstance(event, MatchAccepted):
            await self._open(
                event.tenant, ActionKind.MATCH, event.match_id,
                request_id=event.request_id, volunteer_id=event.volunteer_id, organisation=event.organisation,
            )
        elif isinstance(event, VolunteerDecisionReversed):
            await self._reopen(event.tenant, ActionKind.SCREENING_CASE, event.volunteer_id)
        elif isinstance(event, VolunteerWithdrawn):
            await self._close(event.tenant, ActionKind.SCREENING_CASE, event.volunteer_id, withdrawn=True)
        elif type(event) in _CLOSING:
            kind, attr = _CLOSING[type(event)]
            await self._close(event.tenant, kind, getattr(event, attr))

    async def _close(self, tenant: str, kind: ActionKind, ref: UUID, **fields: Any) -> None:
        await self._actions.update_one(
            {"_id": _id(tenant, kind, ref)},
            {"$set": {"open": False, "tenant": tenant, "kind": kind.value, **fields}},
            upsert=True,
        )

    async def _reopen(self, tenant: str, kind: ActionKind, ref: UUID) -> None:
        # Upsert: the reversal may come before the registration (another topic). A withdrawn
        # volunteer's document does not match, and the upsert then collides with it: it stays closed.
        with contextlib.suppress(DuplicateKeyError):
            await self._actions.update_one(
                {"_id": _id(tenant, kind, ref), "withdrawn": {"$ne": True}},
                {"$set": {"open": True, "tenant": tenant, "kind": kind.value}},
                upsert=True,
            )

    async def _subjects(self, tenant: str, kind: ActionKind, ref: UUID | None) -> list[UUID]:
        if ref is None:
            return []
        doc = await self._actions.find_one({"_id": _id(tenant, kind, ref)})
        return list(doc.get("subject_ids", [])) if doc else []

    async def facts(self, tenant: str, kind: ActionKind, ref: UUID) -> ActionFacts:
        """What the policy needs to know about one action of one tenant."""
        if kind is ActionKind.SUBJECT:
            volunteer = await self._actions.find_one(
                {"tenant": tenant, "kind": ActionKind.SCREENING_CASE.value, "subject_ids": ref, "withdrawn": {"$ne": True}}
            )
            return ActionFacts(kind, ref, known=True, open=volunteer is not None, subject_ids=frozenset({ref}), tenant=tenant)
        doc = await self._actions.find_one({"_id": _id(tenant, kind, ref)})
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
        return (await self._actions.delete_many({"tenant": tenant})).deleted_count
