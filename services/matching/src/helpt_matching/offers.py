"""Offers: a few eligible volunteers at a time, expiring, rotating; the first accept wins.

Who came first is decided by unique inserts in `claims` (docs/adr/0009), never by a guarded update:
- `round:<request>:<n>` — one writer makes round n of offers (a redelivered request makes none);
- `end:<match>` — one outcome ends an open offer (accepted, declined, expired, taken by another,
  withdrawn because the request was cancelled or the volunteer may no longer be offered tasks);
- `winner:<request>` — the first accept gets the match (moved aside when its volunteer leaves, so the
  request can be matched again); `taken:<match>` — an accept that lost it;
- `done:<match>` — the match is completed once; `cancel:<match>` — an accepted match is called off once.
Each of these claims carries the events it decides (`helpt_matching.outbox`): the relay publishes
them, so deciding and publishing cannot come apart. The `offers` document of a match is written
only by the winner of its claim, so writes never race.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError
from pymongo.asynchronous.database import AsyncDatabase

from helpt_contracts.events import (
    MatchAccepted,
    MatchCancellationReason,
    MatchCancelled,
    MatchCompleted,
    MatchDeclined,
    MatchDeclineReason,
    MatchProposed,
)
from helpt_platform.auth import Refusal
from helpt_platform.claims import claim
from helpt_platform.logs import get_logger
from helpt_platform.keys import by_id, by_ref, find_each, with_id_text
from helpt_matching.areas import Areas
from helpt_matching.domain import NEVER, Candidate, rank, reach
from helpt_matching.outbox import outbox
from helpt_matching.projections import Projections

__all__ = ["MESSAGES", "Answer", "Matcher", "Outcome", "Status", "cancellation"]

log = get_logger(__name__)
WEEK = dt.timedelta(days=7)
REFS = ("request_id", "volunteer_id")  # an offer's references, written also as text (helpt_platform.keys)
TOLD = frozenset({"open", "taken", "withdrawn", "cancelled"})  # statuses a volunteer is sent a message about
WINNER = "winner"  # the `kind` of a request's winner claim, `winner:<request>`, so the tick reads them by a plain field


class Status(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    TAKEN = "taken"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


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
    def __init__(self, db: AsyncDatabase, projections: Projections, areas: Callable[[str], Areas], wake: Callable[[], None], *,
                 per_round: int, offer_ttl: dt.timedelta) -> None:
        self.offers = db["offers"]
        self.claims = projections.claims
        self._projections = projections
        self._areas = areas
        self._wake = wake
        self._per_round = per_round
        self._ttl = offer_ttl
        self._indexed = False

    async def ready(self) -> None:
        if not self._indexed:
            await self.offers.create_index([("request_id", ASCENDING)], name="by_request")
            await self.offers.create_index([("volunteer_id", ASCENDING)], name="by_volunteer")
            await self.offers.create_index([("request_id_text", ASCENDING)], name="by_request_text")
            await self.offers.create_index([("volunteer_id_text", ASCENDING)], name="by_volunteer_text")
            await self.offers.create_index([("tell", ASCENDING), ("tenant", ASCENDING)], name="by_tell")  # the messages round
            await self.claims.create_index([("kind", ASCENDING), ("tenant", ASCENDING)], name="by_kind")
            await self.offers.create_index([("status", ASCENDING), ("expires_at", ASCENDING)], name="by_expiry")
            await self.claims.create_index([("unsent", ASCENDING), ("claimed_at", ASCENDING)], name="by_unsent")
            self._indexed = True

    # -- offering -----------------------------------------------------------------------------

    async def offer_round(self, tenant: str, request_id: UUID, now: dt.datetime,
                          preferred: Candidate | None = None, *, request: dict[str, Any] | None = None,
                          earlier: list[dict[str, Any]] | None = None,
                          pools: dict[str, list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
        """Offer an open, unmatched request without open offers to the next few volunteers; the offers made.

        `preferred` (the batch assignment's choice, docs/adr/0012) is offered first when not offered this request before.
        A caller that has just read them passes the `request`'s projection, its `earlier` offers (`[]` for a request
        seen for the first time) and `pools` (per task, filled as read): on FerretDB each of these reads is a scan of
        the whole collection. The round's claim still decides: with stale offers, the round is someone else's.
        """
        await self.ready()
        if request is None:
            request = await self._projections.request(tenant, request_id)
        if request is None or not request.get("open"):
            return []
        if earlier is None:
            earlier = await self.offers.find(by_ref("request_id", request_id)).to_list()
        if any(o["status"] == Status.OPEN for o in earlier):
            return []
        offered = {o["volunteer_id"] for o in earlier}
        chosen = await self._candidates(tenant, request, offered, now, pools)
        # The batch choice goes first, unless continuity or the partner's network already put someone first.
        personal_tie = bool(chosen) and (chosen[0].helped_before or chosen[0].in_network)
        if preferred is not None and preferred.volunteer_id not in offered and not personal_tie:
            chosen = [preferred, *(c for c in chosen if c.volunteer_id != preferred.volunteer_id)][: self._per_round]
        # Matched already? Asked only when there is someone to offer it to: a look-up that finds nothing reads all
        # the claims on FerretDB, and most waiting requests have no one (yet).
        if not chosen or await self.matched(request_id):
            return []
        round_no = max((o["round"] for o in earlier), default=0) + 1
        made = [{"_id": uuid4(), "tenant": tenant, "request_id": request_id, "volunteer_id": candidate.volunteer_id,
                 "subject_ids": [*request["subject_ids"], candidate.subject_id], "task": request["task"],
                 "organisation": request.get("organisation"), "round": round_no,
                 "distance_km": round(candidate.distance_km, 2), "created_at": now, "expires_at": now + self._ttl,
                 "status": Status.OPEN.value, "tell": True} for candidate in chosen]
        proposed = [MatchProposed(**_ids(offer), task=offer["task"], distance_km=offer["distance_km"], offer_round=round_no,
                                  expires_at=offer["expires_at"]) for offer in made]
        if not await claim(self.claims, f"round:{request_id}:{round_no}", tenant=tenant,
                           subject_ids=sorted({s for o in made for s in o["subject_ids"] if s is not None}, key=str),
                           offers=made, **outbox(*proposed)):
            await self._finish_round(f"round:{request_id}:{round_no}")
            return []  # someone else made this round
        await self._finish_round(f"round:{request_id}:{round_no}", made)
        self._wake()
        log.info("offers made", request_id=str(request_id), offer_round=round_no, offers=len(made))
        return made

    async def _finish_round(self, key: str, made: list[dict[str, Any]] | None = None) -> None:
        """Write a round's offers as its claim decided them. A writer that died between its claim and this
        write left the round without offers (the request would wait forever): the next writer finishes it."""
        if made is None:
            decided = await self.claims.find_one({"_id": key}, {"offers": 1})
            made = (decided or {}).get("offers") or []
        for offer in made:
            with contextlib.suppress(DuplicateKeyError):
                await self.offers.insert_one(with_id_text(offer, *REFS))

    async def _candidates(self, tenant: str, request: dict[str, Any], offered: set[Any], now: dt.datetime,
                          pools: dict[str, list[dict[str, Any]]] | None = None) -> list[Candidate]:
        areas = self._areas(tenant)
        if pools is None:
            pool = await self._projections.pool(tenant, request["task"])
        elif (pool := pools.get(request["task"])) is None:
            pool = pools[request["task"]] = await self._projections.pool(tenant, request["task"])
        within = {v["_id"]: (v, d) for v in pool
                  if v["_id"] not in offered and (d := reach(request, v, areas)) is not None}
        if not within:
            return []
        history: dict[Any, list[dict[str, Any]]] = {}
        for o in await find_each(self.offers, "volunteer_id", within, {"volunteer_id": 1, "status": 1, "created_at": 1, "subject_ids": 1}):
            history.setdefault(o["volunteer_id"], []).append(o)
        requester = set(request.get("subject_ids") or [])
        organisation = request.get("organisation")
        candidates = []
        for ident, (volunteer, distance) in within.items():
            past = history.get(ident, [])
            load = sum(1 for o in past if o["status"] in (Status.OPEN, Status.ACCEPTED, Status.COMPLETED)
                       and o["created_at"] > now - WEEK)
            if load >= volunteer.get("max_tasks_per_week", 3):
                continue
            last = max((o["created_at"] for o in past), default=NEVER)
            helped = any(o["status"] in (Status.ACCEPTED, Status.COMPLETED) and requester & set(o.get("subject_ids") or [])
                         for o in past)
            candidates.append(Candidate(ident, volunteer["subject_ids"][0] if volunteer["subject_ids"] else None,
                                        distance, last, len(past), helped_before=helped,
                                        in_network=organisation is not None and organisation in (volunteer.get("networks") or [])))
        return rank(candidates)[: self._per_round]

    # -- answers ------------------------------------------------------------------------------

    async def matched(self, request_id: UUID) -> bool:
        return await self.claims.find_one({"_id": f"winner:{request_id}"}, {"_id": 1}) is not None

    async def offer(self, tenant: str, match_id: UUID) -> dict[str, Any] | None:
        return await self.offers.find_one(by_id(match_id, tenant=tenant))

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
        if answer is Answer.DECLINE:
            if not await self._end(offer, Status.DECLINED, MatchDeclineReason.DECLINED):
                return await self._unchanged(tenant, offer)
            await self.offer_round(tenant, offer["request_id"], now)
            return Outcome(True, Status.DECLINED, MESSAGES[Status.DECLINED])
        # An accept ends the offer first (no event yet: whether it wins the match is decided next).
        if not await claim(self.claims, f"end:{match_id}", tenant=tenant, subject_ids=offer["subject_ids"], ending="accept"):
            return await self._unchanged(tenant, offer)
        return await self._win(offer, now)

    async def _win(self, offer: dict[str, Any], now: dt.datetime) -> Outcome:
        """The rest of an accept whose `end:` claim is won: the match, if no other accept came first.

        Every step is a claim or an idempotent write, so it can be run again to finish an accept that
        was interrupted (`settle`)."""
        tenant, match_id = offer["tenant"], offer["_id"]
        if not await claim(self.claims, f"winner:{offer['request_id']}", kind=WINNER, tenant=tenant,
                           subject_ids=offer["subject_ids"], match_id=match_id, **outbox(MatchAccepted(**_ids(offer)))):
            winner = await self.claims.find_one({"_id": f"winner:{offer['request_id']}"}, {"match_id": 1})
            if winner is None or winner.get("match_id") != match_id:
                await claim(self.claims, f"taken:{match_id}", tenant=tenant, subject_ids=offer["subject_ids"],
                            **outbox(MatchDeclined(**_ids(offer), reason=MatchDeclineReason.TAKEN_BY_ANOTHER)))
                await self.offers.update_one(by_id(match_id), changed(Status.TAKEN))
                self._wake()
                return Outcome(False, Status.TAKEN, MESSAGES[Status.TAKEN])
            # this accept had already won, and was interrupted before it said so: finish it
        await self.offers.update_one(by_id(match_id), changed(Status.ACCEPTED, accepted_at=offer.get("accepted_at") or now))
        self._wake()
        log.info("match accepted", match_id=str(match_id), request_id=str(offer["request_id"]))
        async for other in self.offers.find(by_ref("request_id", offer["request_id"], status=Status.OPEN.value)):
            if other["_id"] != match_id:
                await self._end(other, Status.TAKEN, MatchDeclineReason.TAKEN_BY_ANOTHER)
        # The request may have been cancelled, or the volunteer suspended, while this accept was deciding: the
        # consumer that kept that checks the winner after its write, this accept checks the projections after its own.
        request = await self._projections.request(tenant, offer["request_id"])
        volunteer = await self._projections.volunteer(tenant, offer["volunteer_id"])
        if not (request and request.get("open")):
            await self.call_off({**offer, "status": Status.ACCEPTED.value}, MatchCancellationReason.REQUEST_CANCELLED)
        elif not (volunteer and volunteer.get("eligible")):
            await self.call_off({**offer, "status": Status.ACCEPTED.value}, cancellation(volunteer))
        return Outcome(True, Status.ACCEPTED, MESSAGES[Status.ACCEPTED])

    async def _unchanged(self, tenant: str, offer: dict[str, Any]) -> Outcome:
        fresh = await self.settle(await self.offer(tenant, offer["_id"]) or offer)
        return Outcome(False, Status(fresh["status"]), MESSAGES[Status(fresh["status"])])

    async def settle(self, offer: dict[str, Any]) -> dict[str, Any]:
        """An offer still marked open although its `end:` claim was won: the writer died between deciding and
        writing (or is still writing). Finish what the claim decided; the offer as it now stands."""
        if offer["status"] != Status.OPEN.value:
            return offer
        ended = await self.claims.find_one({"_id": f"end:{offer['_id']}"}, {"ending": 1, "claimed_at": 1})
        if ended is None:
            return offer
        if ended.get("ending") == "accept":
            await self._win(offer, ended["claimed_at"])
        else:
            status = Status(ended.get("ending", Status.EXPIRED.value))
            await self.offers.update_one(by_id(offer["_id"]), changed(status))
        log.info("offer settled after an interrupted write", match_id=str(offer["_id"]))
        return await self.offers.find_one(by_id(offer["_id"])) or offer

    async def _complete(self, offer: dict[str, Any]) -> Outcome:
        status = Status(offer["status"])
        if status is Status.COMPLETED:
            return Outcome(True, status, MESSAGES[status])
        if status is not Status.ACCEPTED:
            return Outcome(False, status, "Only an accepted match can be marked done.")
        if await self.claims.find_one({"_id": f"cancel:{offer['_id']}"}, {"_id": 1}):
            return Outcome(False, Status.CANCELLED, MESSAGES[Status.CANCELLED])
        await claim(self.claims, f"done:{offer['_id']}", tenant=offer["tenant"], subject_ids=offer["subject_ids"],
                    **outbox(MatchCompleted(**_ids(offer))))
        # Whoever claimed it, the offer says so now (a writer may have died between its claim and this write).
        await self.offers.update_one(by_id(offer["_id"]), changed(Status.COMPLETED))
        self._wake()
        return Outcome(True, Status.COMPLETED, MESSAGES[Status.COMPLETED])

    async def _end(self, offer: dict[str, Any], status: Status, reason: MatchDeclineReason) -> bool:
        """End an open offer with `MatchDeclined`, if nothing else ended it first; whether this call did."""
        if not await claim(self.claims, f"end:{offer['_id']}", tenant=offer["tenant"], subject_ids=offer["subject_ids"],
                           ending=status.value, **outbox(MatchDeclined(**_ids(offer), reason=reason))):
            return False
        await self.offers.update_one(by_id(offer["_id"]), changed(status))
        self._wake()
        return True

    # -- ending matches -----------------------------------------------------------------------

    async def call_off(self, offer: dict[str, Any], reason: MatchCancellationReason) -> bool:
        """End an offer for good: an accepted match with `MatchCancelled`, an open offer with `MatchDeclined`.

        The contracts have no decline reason for "withdrawn" (adding one would break v1's consumers), so an
        open offer withdrawn because its request was cancelled or its volunteer left ends as `expired`: it
        lapsed early, and the offer page says why. Once each, however often it is called (claims).
        """
        winner = await self.claims.find_one({"_id": f"winner:{offer['request_id']}"}, {"match_id": 1})
        if winner is not None and winner.get("match_id") == offer["_id"]:
            if await self.claims.find_one({"_id": f"done:{offer['_id']}"}, {"_id": 1}):
                return False  # done is done
            first = await claim(self.claims, f"cancel:{offer['_id']}", tenant=offer["tenant"],
                                subject_ids=offer["subject_ids"], reason=reason.value,
                                **outbox(MatchCancelled(**_ids(offer), reason=reason)))
            decided = await self.claims.find_one({"_id": f"cancel:{offer['_id']}"}, {"reason": 1})
            # Finish what the cancel claim decided, whoever won it (a writer may have died half-way).
            await self.offers.update_one(by_id(offer["_id"]), changed(Status.CANCELLED))
            if (decided or {}).get("reason", reason.value) != MatchCancellationReason.REQUEST_CANCELLED.value:
                await self._reopen(offer)
            if not first:
                return False
            self._wake()
            log.info("match cancelled", match_id=str(offer["_id"]), reason=reason.value)
            return True
        if offer["status"] != Status.OPEN.value:
            return False
        return await self._end(offer, Status.WITHDRAWN, MatchDeclineReason.EXPIRED)

    async def _reopen(self, offer: dict[str, Any]) -> None:
        """The volunteer left, the request still needs help: the next accept may win it.

        The winner claim moves aside (kept, with its outbox entry, under "...:called-off:<match>";
        a copy the relay may publish from again carries the same event id, which consumers drop), so
        `winner:<request>` can be claimed anew.
        """
        key = f"winner:{offer['request_id']}"
        won = await self.claims.find_one({"_id": key})
        if won is None or won.get("match_id") != offer["_id"]:
            return
        with contextlib.suppress(DuplicateKeyError):
            await self.claims.insert_one({**won, "_id": f"{key}:called-off:{offer['_id']}", "kind": "called-off"})
        await self.claims.delete_one({"_id": key, "match_id": offer["_id"]})

    async def end_request(self, tenant: str, request_id: UUID) -> int:
        """A cancelled request: its accepted match is cancelled, its open offers withdrawn; how many ended."""
        await self.ready()
        ended = 0
        async for offer in self.offers.find(by_ref("request_id", request_id, tenant=tenant)):
            ended += await self.call_off(offer, MatchCancellationReason.REQUEST_CANCELLED)
        return ended

    async def end_volunteer(self, tenant: str, volunteer_id: UUID, reason: MatchCancellationReason, now: dt.datetime) -> int:
        """A volunteer who may no longer be offered tasks: their accepted matches cancelled, open offers withdrawn,
        and each request they held offered to the next volunteers (when it still can be)."""
        await self.ready()
        ended = 0
        async for offer in self.offers.find(by_ref("volunteer_id", volunteer_id, tenant=tenant)):
            if await self.call_off(offer, reason):
                ended += 1
                await self.offer_round(tenant, offer["request_id"], now)
        return ended

    # -- the clock ----------------------------------------------------------------------------

    async def tick(self, tenants: tuple[str, ...], now: dt.datetime) -> int:
        """Expire lapsed offers, then offer every open, unmatched request without open offers to the next volunteers."""
        await self.ready()
        expired = 0
        async for offer in self.offers.find({"status": Status.OPEN.value, "expires_at": {"$lte": now}}).limit(500):
            if await self._end(offer, Status.EXPIRED, MatchDeclineReason.EXPIRED):
                expired += 1
            else:
                await self.settle(offer)  # ended by an answer whose writer was interrupted
        for tenant in tenants:
            await self.offer_waiting(tenant, now)
        return expired

    async def offer_waiting(self, tenant: str, now: dt.datetime) -> None:
        """Offer every open, unmatched request without open offers, each first to the volunteer `plan` chose for it.

        Every open request is read (a matched request stays open until it is cancelled, so a limit would leave the
        newest waiting ones unseen), the matched ones are set aside at once (`winners`), and only the waiting ones'
        offers are read, each request's by its id as text (`offers_of`): the whole offers collection is not read."""
        await self.ready()
        matched = await self.winners(tenant)
        waiting = [r for r in await self._projections.open_requests(tenant, limit=None) if str(r["_id"]) not in matched]
        by_request = await self.offers_of(r["_id"] for r in waiting)
        preferred = await self.plan(tenant, now, requests=waiting, offers=by_request, matched=matched)
        pools: dict[str, list[dict[str, Any]]] = {}
        for request in waiting:
            await self.offer_round(tenant, request["_id"], now, preferred=preferred.get(request["_id"]), request=request,
                                   earlier=by_request[request["_id"]], pools=pools)

    async def offers_of(self, request_ids: Iterable[Any]) -> dict[Any, list[dict[str, Any]]]:
        """The offers of each of `request_ids` (requests or needs): a key for every one, offered or not."""
        found: dict[Any, list[dict[str, Any]]] = {ident: [] for ident in request_ids}
        for offer in await find_each(self.offers, "request_id", found):
            found[offer["request_id"]].append(offer)
        return found

    async def winners(self, tenant: str) -> set[str]:
        """The ids (as text) of the tenant's matched requests, read at once (`matched` asks about one)."""
        return {c["_id"].removeprefix("winner:") async for c in self.claims.find({"tenant": tenant, "kind": WINNER}, {"_id": 1})}

    async def plan(self, tenant: str, now: dt.datetime, *, requests: list[dict[str, Any]] | None = None,
                   offers: dict[Any, list[dict[str, Any]]] | None = None, matched: set[str] | None = None,
                   ) -> dict[Any, Candidate]:
        """The volunteer to offer each waiting request first; none here (`helpt_matching.needs` assigns them jointly)."""
        return {}
    # -- the coordinators' back office (new methods: manual match and override) ----------------

    async def assign(self, tenant: str, request_id: UUID, volunteer_id: UUID, actor: str, reason: str,
                     now: dt.datetime) -> dict[str, Any]:
        """A coordinator's manual match: `volunteer_id` gets the open, unmatched request as an accepted match at once.

        Decided by the same `winner:<request>` claim as a volunteer's accept (so a manual match and an accept
        cannot both win), carrying `MatchProposed` and `MatchAccepted`; other open offers end as taken.
        Refusal 404 for an unknown request or volunteer, 409 when the request is closed or matched already
        or the volunteer may not be offered this task. The match document as written.
        """
        await self.ready()
        request = await self._projections.request(tenant, request_id)
        volunteer = await self._projections.volunteer(tenant, volunteer_id)
        if request is None or volunteer is None:
            raise Refusal(404, "no such request" if request is None else "no such volunteer")
        if not request.get("open"):
            raise Refusal(409, "the request is closed")
        distance = reach(request, volunteer, self._areas(tenant))
        if distance is None:
            raise Refusal(409, "the volunteer may not be offered this request (screening, task, language, reach)")
        if await self.matched(request_id):
            raise Refusal(409, "the request is matched already")
        earlier = await self.offers.find(by_ref("request_id", request_id), {"round": 1}).to_list()
        match = {"_id": uuid4(), "tenant": tenant, "request_id": request_id, "volunteer_id": volunteer_id,
                 "subject_ids": [*request["subject_ids"], *volunteer["subject_ids"][:1]], "task": request["task"],
                 "organisation": request.get("organisation"), "round": max((o["round"] for o in earlier), default=0) + 1,
                 "distance_km": round(distance, 2), "created_at": now, "expires_at": now + self._ttl,
                 "status": Status.ACCEPTED.value, "tell": False, "accepted_at": now, "assigned_by": actor}
        proposed = MatchProposed(**_ids(match), task=match["task"], distance_km=match["distance_km"],
                                 offer_round=match["round"], expires_at=match["expires_at"])
        if not await claim(self.claims, f"winner:{request_id}", kind=WINNER, tenant=tenant, subject_ids=match["subject_ids"],
                           match_id=match["_id"], assigned_by=actor, reason=reason,
                           **outbox(proposed, MatchAccepted(**_ids(match)))):
            raise Refusal(409, "the request is matched already")
        await self.offers.insert_one(with_id_text(match, *REFS))
        self._wake()
        log.info("match assigned by a coordinator", match_id=str(match["_id"]), request_id=str(request_id))
        async for other in self.offers.find(by_ref("request_id", request_id, status=Status.OPEN.value)):
            await self._end(other, Status.TAKEN, MatchDeclineReason.TAKEN_BY_ANOTHER)
        # As after an accept: a cancellation or suspension that came in while this was deciding ends the match.
        request = await self._projections.request(tenant, request_id)
        volunteer = await self._projections.volunteer(tenant, volunteer_id)
        if not (request and request.get("open")):
            await self.call_off(match, MatchCancellationReason.REQUEST_CANCELLED)
        elif not (volunteer and volunteer.get("eligible")):
            await self.call_off(match, cancellation(volunteer))
        return match

    async def override(self, tenant: str, match_id: UUID) -> dict[str, Any]:
        """A coordinator calls off an accepted match (`MatchCancelled`, coordinator-override); the request is open again.

        Refusal 404 for an unknown match, 409 when it is not the request's accepted match (any more).
        """
        await self.ready()
        match = await self.offer(tenant, match_id)
        if match is None:
            raise Refusal(404, "no such match")
        winner = await self.claims.find_one({"_id": f"winner:{match['request_id']}"}, {"match_id": 1})
        if match["status"] != Status.ACCEPTED.value or winner is None or winner.get("match_id") != match_id:
            raise Refusal(409, "this is not the request's accepted match")
        if not await self.call_off(match, MatchCancellationReason.COORDINATOR_OVERRIDE):
            raise Refusal(409, "this match was ended already")
        return match


def changed(status: Status, **more: Any) -> dict[str, Any]:
    """The update that gives an offer `status` (and `more`): `tell` says whether the volunteer is to be sent a message
    about it (helpt_matching.messages reads the offers to tell by that plain field, not by scanning them all)."""
    return {"$set": {"status": status.value, "tell": status.value in TOLD, **more}}


async def mark_told(db: AsyncDatabase) -> int:
    """Give `tell` to the offers written before they had it (a `backfill_job` step); how many."""
    count = 0
    async for offer in db["offers"].find({"tell": {"$exists": False}}, {"status": 1}):
        await db["offers"].update_one(by_id(offer["_id"], tell={"$exists": False}),
                                      {"$set": {"tell": offer["status"] in TOLD}})
        count += 1
    return count


async def mark_winners(db: AsyncDatabase) -> int:
    """Give `kind` to the winner claims written before they had it (a `backfill_job` step); how many."""
    count = 0  # not `changed`: that is the module's update builder
    async for won in db["claims"].find({"_id": {"$regex": "^winner:[^:]+$"}, "kind": {"$exists": False}}, {"_id": 1}):
        await db["claims"].update_one({"_id": won["_id"]}, {"$set": {"kind": WINNER}})
        count += 1
    return count


def cancellation(volunteer: dict[str, Any] | None) -> MatchCancellationReason:
    """Why a volunteer's match is called off, from their projection."""
    if volunteer is not None and volunteer.get("withdrawn"):
        return MatchCancellationReason.VOLUNTEER_WITHDRAWN
    return MatchCancellationReason.VOLUNTEER_SUSPENDED  # suspended, approval reversed, rejected


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
    Status.WITHDRAWN: "This offer was withdrawn: the request no longer needs you. Thank you all the same.",
    Status.CANCELLED: "This match was called off. Thank you for being ready to help.",
}
