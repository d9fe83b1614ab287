"""Offers: a few eligible volunteers at a time, expiring, rotating; the first accept wins.

Who came first is decided by unique inserts in `claims` (docs/adr/0009), never by a guarded update:
- `round:<request>:<n>` — one writer makes round n of offers (a redelivered request makes none);
- `end:<match>` — one outcome ends an open offer (accepted, declined, expired, taken by another);
- `winner:<request>` — the first accept gets the match;
- `done:<match>` — the match is completed once.
The `offers` document of a match is written only by the winner of its claim, so writes never race.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from helpt_contracts.events import (
    Event,
    MatchAccepted,
    MatchCompleted,
    MatchDeclined,
    MatchDeclineReason,
    MatchProposed,
)
from helpt_platform.claims import claim
from helpt_platform.logs import get_logger
from helpt_matching.areas import Areas
from helpt_matching.domain import NEVER, Candidate, rank, reach
from helpt_matching.projections import Projections

__all__ = ["MESSAGES", "Answer", "Matcher", "Outcome", "Status"]

log = get_logger(__name__)
Publish = Callable[[Event], Awaitable[object]]
WEEK = dt.timedelta(days=7)


class Status(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    TAKEN = "taken"
    COMPLETED = "completed"


class Answer(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    DONE = "done"


@dataclass(frozen=True)
class Outcome:
    """What became of a volunteer's answer: `ok` False means nothing changed (a 409 to the volunteer)."""

    ok: bool
    status: Status
    message: str


class Matcher:
    def __init__(self, db: AsyncDatabase, projections: Projections, areas: Callable[[str], Areas], publish: Publish, *,
                 per_round: int, offer_ttl: dt.timedelta) -> None:
        self.offers = db["offers"]
        self.claims = projections.claims
        self._projections = projections
        self._areas = areas
        self._publish = publish
        self._per_round = per_round
        self._ttl = offer_ttl
        self._indexed = False

    async def ready(self) -> None:
        if not self._indexed:
            await self.offers.create_index([("request_id", ASCENDING)], name="by_request")
            await self.offers.create_index([("volunteer_id", ASCENDING)], name="by_volunteer")
            await self.offers.create_index([("status", ASCENDING), ("expires_at", ASCENDING)], name="by_expiry")
            self._indexed = True

    # -- offering -----------------------------------------------------------------------------

    async def offer_round(self, tenant: str, request_id: UUID, now: dt.datetime) -> list[dict[str, Any]]:
        """Offer an open, unmatched request without open offers to the next few volunteers; the offers made."""
        await self.ready()
        request = await self._projections.request(tenant, request_id)
        if request is None or not request.get("open") or await self.matched(request_id):
            return []
        earlier = [o async for o in self.offers.find({"request_id": request_id})]
        if any(o["status"] == Status.OPEN for o in earlier):
            return []
        chosen = await self._candidates(tenant, request, {o["volunteer_id"] for o in earlier}, now)
        if not chosen:
            return []
        round_no = max((o["round"] for o in earlier), default=0) + 1
        if not await claim(self.claims, f"round:{request_id}:{round_no}", tenant=tenant,
                           subject_ids=list(request["subject_ids"])):
            return []  # someone else makes this round
        made = []
        for candidate in chosen:
            offer = {"_id": uuid4(), "tenant": tenant, "request_id": request_id, "volunteer_id": candidate.volunteer_id,
                     "subject_ids": [*request["subject_ids"], candidate.subject_id], "task": request["task"],
                     "organisation": request.get("organisation"), "round": round_no,
                     "distance_km": round(candidate.distance_km, 2), "created_at": now, "expires_at": now + self._ttl,
                     "status": Status.OPEN.value}
            await self.offers.insert_one(offer)
            await self._publish(MatchProposed(tenant=tenant, match_id=offer["_id"], request_id=request_id,
                                              volunteer_id=candidate.volunteer_id, organisation=offer["organisation"],
                                              task=offer["task"], distance_km=offer["distance_km"], offer_round=round_no,
                                              expires_at=offer["expires_at"]))
            made.append(offer)
        log.info("offers made", request_id=str(request_id), offer_round=round_no, offers=len(made))
        return made

    async def _candidates(self, tenant: str, request: dict[str, Any], offered: set[Any], now: dt.datetime) -> list[Candidate]:
        areas = self._areas(tenant)
        within = {v["_id"]: (v, d) for v in await self._projections.pool(tenant, request["task"])
                  if v["_id"] not in offered and (d := reach(request, v, areas)) is not None}
        if not within:
            return []
        history: dict[Any, list[dict[str, Any]]] = {}
        async for o in self.offers.find({"volunteer_id": {"$in": list(within)}}, {"volunteer_id": 1, "status": 1, "created_at": 1}):
            history.setdefault(o["volunteer_id"], []).append(o)
        candidates = []
        for ident, (volunteer, distance) in within.items():
            past = history.get(ident, [])
            load = sum(1 for o in past if o["status"] in (Status.OPEN, Status.ACCEPTED, Status.COMPLETED)
                       and o["created_at"] > now - WEEK)
            if load >= volunteer.get("max_tasks_per_week", 3):
                continue
            last = max((o["created_at"] for o in past), default=NEVER)
            candidates.append(Candidate(ident, volunteer["subject_ids"][0] if volunteer["subject_ids"] else None,
                                        distance, last, len(past)))
        return rank(candidates)[: self._per_round]

    # -- answers ------------------------------------------------------------------------------

    async def matched(self, request_id: UUID) -> bool:
        return await self.claims.find_one({"_id": f"winner:{request_id}"}, {"_id": 1}) is not None

    async def offer(self, tenant: str, match_id: UUID) -> dict[str, Any] | None:
        return await self.offers.find_one({"_id": match_id, "tenant": tenant})

    async def answer(self, tenant: str, match_id: UUID, answer: Answer, now: dt.datetime) -> Outcome | None:
        """A volunteer's answer through their link; None when the offer is not (or no longer) held."""
        await self.ready()
        offer = await self.offer(tenant, match_id)
        if offer is None:
            return None
        if answer is Answer.DONE:
            return await self._complete(offer)
        status = Status(offer["status"])
        if status is not Status.OPEN:
            same = (answer is Answer.ACCEPT and status is Status.ACCEPTED) or (answer is Answer.DECLINE and status is Status.DECLINED)
            return Outcome(same, status, MESSAGES[status])
        if offer["expires_at"] <= now:
            return Outcome(False, Status.EXPIRED, MESSAGES[Status.EXPIRED])
        if answer is Answer.ACCEPT:
            request = await self._projections.request(tenant, offer["request_id"])
            volunteer = await self._projections.volunteer(tenant, offer["volunteer_id"])
            if not (request and request.get("open")) or not (volunteer and volunteer.get("eligible")):
                return Outcome(False, status, "This request no longer needs you. Thank you all the same.")
        if not await claim(self.claims, f"end:{match_id}", tenant=tenant, subject_ids=offer["subject_ids"]):
            fresh = await self.offer(tenant, match_id) or offer
            return Outcome(False, Status(fresh["status"]), MESSAGES[Status(fresh["status"])])
        if answer is Answer.DECLINE:
            await self._end(offer, Status.DECLINED, MatchDeclineReason.DECLINED)
            await self.offer_round(tenant, offer["request_id"], now)
            return Outcome(True, Status.DECLINED, MESSAGES[Status.DECLINED])
        if not await claim(self.claims, f"winner:{offer['request_id']}", tenant=tenant, subject_ids=offer["subject_ids"],
                           match_id=match_id):
            await self._end(offer, Status.TAKEN, MatchDeclineReason.TAKEN_BY_ANOTHER)
            return Outcome(False, Status.TAKEN, MESSAGES[Status.TAKEN])
        await self.offers.update_one({"_id": match_id}, {"$set": {"status": Status.ACCEPTED.value, "accepted_at": now}})
        await self._publish(MatchAccepted(**_ids(offer)))
        log.info("match accepted", match_id=str(match_id), request_id=str(offer["request_id"]))
        async for other in self.offers.find({"request_id": offer["request_id"], "status": Status.OPEN.value}):
            if other["_id"] != match_id and await claim(self.claims, f"end:{other['_id']}", tenant=tenant,
                                                        subject_ids=other["subject_ids"]):
                await self._end(other, Status.TAKEN, MatchDeclineReason.TAKEN_BY_ANOTHER)
        return Outcome(True, Status.ACCEPTED, MESSAGES[Status.ACCEPTED])

    async def _complete(self, offer: dict[str, Any]) -> Outcome:
        status = Status(offer["status"])
        if status is Status.COMPLETED:
            return Outcome(True, status, MESSAGES[status])
        if status is not Status.ACCEPTED:
            return Outcome(False, status, "Only an accepted match can be marked done.")
        if await claim(self.claims, f"done:{offer['_id']}", tenant=offer["tenant"], subject_ids=offer["subject_ids"]):
            await self.offers.update_one({"_id": offer["_id"]}, {"$set": {"status": Status.COMPLETED.value}})
            await self._publish(MatchCompleted(**_ids(offer)))
        return Outcome(True, Status.COMPLETED, MESSAGES[Status.COMPLETED])

    async def _end(self, offer: dict[str, Any], status: Status, reason: MatchDeclineReason) -> None:
        """End an offer whose `end:` claim the caller won."""
        await self.offers.update_one({"_id": offer["_id"]}, {"$set": {"status": status.value}})
        await self._publish(MatchDeclined(**_ids(offer), reason=reason))

    # -- the clock ----------------------------------------------------------------------------

    async def tick(self, tenants: tuple[str, ...], now: dt.datetime) -> int:
        """Expire lapsed offers, then offer every open, unmatched request without open offers to the next volunteers."""
        await self.ready()
        expired = 0
        async for offer in self.offers.find({"status": Status.OPEN.value, "expires_at": {"$lte": now}}).limit(500):
            if await claim(self.claims, f"end:{offer['_id']}", tenant=offer["tenant"], subject_ids=offer["subject_ids"]):
                await self._end(offer, Status.EXPIRED, MatchDeclineReason.EXPIRED)
                expired += 1
        for tenant in tenants:
            for request in await self._projections.open_requests(tenant):
                await self.offer_round(tenant, request["_id"], now)
        return expired


def _ids(offer: dict[str, Any]) -> dict[str, Any]:
    return {"tenant": offer["tenant"], "match_id": offer["_id"], "request_id": offer["request_id"],
            "volunteer_id": offer["volunteer_id"], "organisation": offer.get("organisation")}


MESSAGES = {
    Status.OPEN: "This offer is waiting for your answer.",
    Status.ACCEPTED: "You accepted this request: the match is yours. Thank you!",
    Status.DECLINED: "You declined this offer. Thank you for letting us know.",
    Status.EXPIRED: "This offer has expired; it went to other volunteers.",
    Status.TAKEN: "Another volunteer accepted this request first. Thank you all the same.",
    Status.COMPLETED: "This task is marked done. Thank you!",
}
