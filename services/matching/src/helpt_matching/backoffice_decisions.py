"""What a coordinator decides in the back office: a manual match, an override, "still needed" and reminders.

A manual match and an override go through the `Matcher` (claims + outbox, docs/adr/0014) and leave
one append-only record each in `audit`. "You are still needed" and a reminder to a requester are
asked of the messenger once per person per day: the claim `still-needed:<volunteer>:<day>` /
`remind:<request>:<day>` stops a second click, and is the record of what was asked, by whom, when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID, uuid4

from pymongo.asynchronous.database import AsyncDatabase

from helpt_platform.auth import Principal, Refusal
from helpt_platform.claims import claim, release
from helpt_matching.areas import Areas
from helpt_matching.domain import reach
from helpt_matching.offers import Matcher
from helpt_matching.projections import Projections

__all__ = ["REASON_LENGTH", "Decisions", "Messenger", "Sent", "check_reason"]

REASON_LENGTH = 500


class Messenger(Protocol):
    async def still_needed(self, tenant: str, volunteer_id: UUID, actor: str) -> bool: ...

    async def remind_requester(self, tenant: str, request_id: UUID, actor: str) -> bool: ...


def check_reason(reason: str | None) -> str:
    """A coordinator's reason, trimmed; Refusal 422 when missing or longer than `REASON_LENGTH`."""
    reason = (reason or "").strip()
    if not reason:
        raise Refusal(422, "a reason is required")
    if len(reason) > REASON_LENGTH:
        raise Refusal(422, f"the reason is longer than {REASON_LENGTH} characters")
    return reason


@dataclass(frozen=True)
class Sent:
    """What became of a "still needed" or reminder click: asked now, asked already today, or no address."""

    queued: bool
    already: bool
    at: dt.datetime | None


class Decisions:
    """Manual matches and overrides (audited), and messages asked once per person per day."""

    def __init__(self, db: AsyncDatabase, projections: Projections, matcher: Matcher, areas: Callable[[str], Areas],
                 messenger: Callable[[], Messenger]) -> None:
        self.audit = db["audit"]
        self._claims = projections.claims
        self._projections = projections
        self._matcher = matcher
        self._areas = areas
        self._messenger = messenger

    async def _record(self, who: Principal, action: str, match: dict[str, Any], reason: str, now: dt.datetime) -> None:
        # Append-only: one insert per decision, never updated; subject_ids let an erasure remove the link to a person.
        await self.audit.insert_one({"_id": uuid4(), "tenant": who.tenant, "at": now, "actor": who.sub, "action": action,
                                     "request_id": match["request_id"], "match_id": match["_id"],
                                     "volunteer_id": match["volunteer_id"], "reason": reason,
                                     "subject_ids": match["subject_ids"]})

    async def manual_match(self, who: Principal, request_id: UUID, volunteer_id: UUID, reason: str,
                           now: dt.datetime) -> dict[str, Any]:
        """An accepted match of a chosen eligible volunteer, audited; Refusal 404/409/422 as `Matcher.assign`."""
        reason = check_reason(reason)
        match = await self._matcher.assign(who.tenant, request_id, volunteer_id, who.sub, reason, now)
        await self._record(who, "manual-match", match, reason, now)
        return match

    async def override(self, who: Principal, match_id: UUID, reason: str, replacement: UUID | None,
                       now: dt.datetime) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Call off an accepted match, audited; then, if named, match the request with `replacement` (audited too).

        The replacement is checked before anything is called off, so a wrong choice changes nothing.
        """
        reason = check_reason(reason)
        match = await self._matcher.offer(who.tenant, match_id)
        if match is None:
            raise Refusal(404, "no such match")
        if replacement is not None:
            await self._check_replacement(who.tenant, match, replacement)
        ended = await self._matcher.override(who.tenant, match_id)
        await self._record(who, "override", ended, reason, now)
        if replacement is None:
            return ended, None
        return ended, await self.manual_match(who, ended["request_id"], replacement, reason, now)

    async def _check_replacement(self, tenant: str, match: dict[str, Any], replacement: UUID) -> None:
        request = await self._projections.request(tenant, match["request_id"])
        volunteer = await self._projections.volunteer(tenant, replacement)
        if volunteer is None:
            raise Refusal(404, "no such volunteer")
        if replacement == match["volunteer_id"] or request is None or reach(request, volunteer, self._areas(tenant)) is None:
            raise Refusal(409, "the replacement may not be offered this request")

    async def still_needed(self, who: Principal, volunteer_id: UUID, now: dt.datetime) -> Sent:
        """Ask the messenger to tell an eligible volunteer they are still needed, at most once a day; Refusal 404 if unknown."""
        volunteer = await self._projections.volunteer(who.tenant, volunteer_id)
        if volunteer is None or not volunteer.get("eligible"):
            raise Refusal(404, "no such eligible volunteer")
        return await self._once(who, "still-needed", "volunteer_id", volunteer_id, volunteer["subject_ids"], now,
                                lambda: self._messenger().still_needed(who.tenant, volunteer_id, who.sub))

    async def remind(self, who: Principal, request_id: UUID, now: dt.datetime) -> Sent:
        """Ask the messenger to remind the requester of an open request, at most once a day; Refusal 404/409."""
        request = await self._projections.request(who.tenant, request_id)
        if request is None:
            raise Refusal(404, "no such request")
        if not request.get("open"):
            raise Refusal(409, "the request is closed")
        return await self._once(who, "remind", "request_id", request_id, request["subject_ids"], now,
                                lambda: self._messenger().remind_requester(who.tenant, request_id, who.sub))

    async def _once(self, who: Principal, message: str, key: str, ident: UUID, subject_ids: list[Any], now: dt.datetime,
                    send: Callable[[], Any]) -> Sent:
        name = f"{message}:{ident}:{now.date().isoformat()}"
        if not await claim(self._claims, name, tenant=who.tenant, subject_ids=subject_ids, message=message, actor=who.sub,
                           **{key: ident}):
            earlier = await self._claims.find_one({"_id": name}, {"claimed_at": 1})
            return Sent(False, True, _aware(earlier["claimed_at"]) if earlier else None)
        try:
            queued = await send()
        except BaseException:
            await release(self._claims, name)  # not asked: a later click may try again
            raise
        if not queued:
            await release(self._claims, name)
        return Sent(bool(queued), False, now if queued else None)



def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
