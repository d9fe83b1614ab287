"""Collective needs, and one assignment for them and the waiting requests (docs/adr/0012).

A partner organisation posts a need for N volunteers (`needs`, `_id` = the need id). A need is a
request-like aggregate: its offers live in `offers` with `request_id` = the need id and
`kind: "need"`, and its events carry the partner's organisation, so they reach the partner's topic.

`NeedsMatcher.plan` runs one min-cost-flow assignment (`helpt_matching.assignment`) over every
need's open slots and every waiting request (open, unmatched, no open offer), with each
volunteer's remaining weekly capacity. A need's chosen volunteers are offered at once, in one
round (`round:<need>:<n>`); a request's chosen volunteer is offered it first in its next round.
Accepting fills one slot: the accept claims the first free `slot:<need>:<n>` (n = 1..N) by
unique insert, so a need is never over-filled, however many accept at once. Declined and
expired offers free their slot for the next assignment.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any
from uuid import UUID, uuid4

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from helpt_contracts.events import MatchAccepted, MatchCancellationReason, MatchCancelled, MatchDeclined, MatchDeclineReason, MatchProposed
from helpt_platform.claims import claim
from helpt_platform.logs import get_logger
from helpt_platform.keys import by_id, by_ref, find_each, with_id_text
from helpt_matching.areas import Areas
from helpt_matching.assignment import Demand, assign
from helpt_matching.domain import NEVER, Candidate, reach
from helpt_matching.offers import MESSAGES, REFS, WEEK, Answer, Matcher, Outcome, Status, _ids, changed
from helpt_matching.outbox import outbox
from helpt_matching.projections import Projections

__all__ = ["NEED", "NeedsMatcher", "known_competences", "known_tasks"]

log = get_logger(__name__)
NEED = "need"
NEAREST = 20  # edges per demand beyond its slots: the sparse graph keeps each demand's slots + 20 nearest
FULL = "All places of this need were filled by other volunteers first. Thank you all the same."


@cache
def _table() -> dict[str, Any]:
    return json.loads((resources.files("helpt_matching") / "data" / "needs.json").read_text(encoding="utf-8"))


def known_tasks() -> frozenset[str]:
    """Vacancy codes a need may ask for."""
    return frozenset(_table()["tasks"])


def known_competences() -> frozenset[str]:
    """Competence codes a need may ask for (those volunteers can state)."""
    return frozenset(_table()["competences"])


def _slot_keys(need: dict[str, Any]) -> list[str]:
    return [f"slot:{need['_id']}:{n}" for n in range(1, need["volunteers_needed"] + 1)]


class NeedsMatcher(Matcher):
    """The matcher, with collective needs and the joint assignment of needs and waiting requests."""

    def __init__(self, db: AsyncDatabase, projections: Projections, areas: Callable[[str], Areas], wake: Callable[[], None], *,
                 per_round: int, offer_ttl: dt.timedelta, spare_offers: int = 0) -> None:
        super().__init__(db, projections, areas, wake, per_round=per_round, offer_ttl=offer_ttl)
        self.needs = db["needs"]
        self._spare = spare_offers
        self._planning = asyncio.Lock()
        self._needs_indexed = False

    async def ready(self) -> None:
        await super().ready()
        if not self._needs_indexed:
            await self.needs.create_index([("tenant", ASCENDING), ("created_at", ASCENDING)], name="by_tenant")
            self._needs_indexed = True

    # -- posting and reading ------------------------------------------------------------------

    async def post(self, need: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Keep a new need (its `_id` chosen by the caller); (the stored need, whether this call stored it)."""
        await self.ready()
        try:
            await self.needs.insert_one(with_id_text({**need, "subject_ids": []}))
        except DuplicateKeyError:
            return await self.needs.find_one(by_id(need["_id"])), False
        log.info("need posted", need_id=str(need["_id"]), volunteers_needed=need["volunteers_needed"], task=need["task"])
        return {**need, "subject_ids": []}, True

    async def need(self, tenant: str, need_id: UUID) -> dict[str, Any] | None:
        return await self.needs.find_one(by_id(need_id, tenant=tenant))

    async def filled(self, need: dict[str, Any]) -> int:
        return len(await self._slot_claims(need))

    async def _slot_claims(self, need: dict[str, Any], *, whole: bool = False) -> list[dict[str, Any]]:
        """The need's filled places' claims (their `match_id`, or `whole`), each read by its `_id`: an `$in` on `_id`
        reads every claim on FerretDB."""
        return await find_each(self.claims, "_id", _slot_keys(need), None if whole else {"match_id": 1})

    async def slots(self, need: dict[str, Any]) -> dict[str, int]:
        """How many places are filled, offered (open offers) and still open."""
        filled = await self.filled(need)
        offered = await self.offers.count_documents(by_ref("request_id", need["_id"], status=Status.OPEN.value))
        return {"needed": need["volunteers_needed"], "filled": filled, "offered": offered,
                "open": max(0, need["volunteers_needed"] - filled - offered)}

    # -- the joint assignment -----------------------------------------------------------------

    async def plan(self, tenant: str, now: dt.datetime, *, requests: list[dict[str, Any]] | None = None,
                   offers: dict[Any, list[dict[str, Any]]] | None = None, matched: set[str] | None = None,
                   ) -> dict[Any, Candidate]:
        """Assign the needs' open slots and the waiting requests as one optimisation; offer the needs' choices now,
        and return each waiting request's choice (offered first in its next round).

        `requests` (the open ones), `offers` (by request or need) and `matched` (`winners`) when the caller has just
        read them: on FerretDB each read is a scan of the whole collection, and read per request they made the
        clock's tick take minutes. A stale answer only changes a preference: `offer_round` still checks and claims."""
        await self.ready()

        async def earlier_of(ident: Any) -> list[dict[str, Any]]:
            if offers is not None and ident in offers:
                return offers[ident]
            return await self.offers.find(by_ref("request_id", ident), {"volunteer_id": 1, "status": 1}).to_list()

        async with self._planning:
            demands: dict[tuple[str, UUID], tuple[dict[str, Any], int, set[Any]]] = {}
            async for need in self.needs.find({"tenant": tenant}).sort("created_at", ASCENDING).limit(500):
                earlier = await earlier_of(need["_id"])
                waiting = sum(o["status"] == Status.OPEN for o in earlier)
                missing = need["volunteers_needed"] - await self.filled(need)
                if missing > 0 and (slots := missing + self._spare - waiting) > 0:
                    demands[(NEED, need["_id"])] = need, slots, {o["volunteer_id"] for o in earlier}
            for request in requests if requests is not None else await self._projections.open_requests(tenant):
                if (str(request["_id"]) in matched) if matched is not None else await self.matched(request["_id"]):
                    continue
                earlier = await earlier_of(request["_id"])
                if not any(o["status"] == Status.OPEN for o in earlier):
                    demands[("request", request["_id"])] = request, 1, {o["volunteer_id"] for o in earlier}
            if not demands:
                return {}
            chosen = await self._assign(tenant, demands, now)
            preferred: dict[Any, Candidate] = {}
            for (kind, ident), picks in chosen.items():
                if kind == NEED:
                    await self._offer_need(demands[(kind, ident)][0], picks, now)
                elif picks:
                    preferred[ident] = picks[0]
            return preferred

    async def _assign(self, tenant: str, demands: dict[tuple[str, UUID], tuple[dict[str, Any], int, set[Any]]],
                      now: dt.datetime) -> dict[tuple[str, UUID], list[Candidate]]:
        areas = self._areas(tenant)
        pools = {task: await self._projections.pool(tenant, task) for task in {d["task"] for d, _, _ in demands.values()}}
        volunteers = {v["_id"]: v for pool in pools.values() for v in pool}
        history: dict[Any, list[dict[str, Any]]] = {}
        for o in await find_each(self.offers, "volunteer_id", volunteers, {"volunteer_id": 1, "status": 1, "created_at": 1}):
            history.setdefault(o["volunteer_id"], []).append(o)
        capacity = {}
        for ident, volunteer in volunteers.items():
            load = sum(1 for o in history.get(ident, []) if o["status"] in (Status.OPEN, Status.ACCEPTED, Status.COMPLETED)
                       and o["created_at"] > now - WEEK)
            capacity[ident] = max(0, volunteer.get("max_tasks_per_week", 3) - load)
        graph, distance = [], {}
        for key, (doc, slots, offered) in demands.items():
            near = sorted(((v["_id"], round(d * 1000)) for v in pools[doc["task"]]
                           if v["_id"] not in offered and capacity[v["_id"]] > 0 and (d := reach(doc, v, areas)) is not None),
                          key=lambda edge: (edge[1], str(edge[0])))[: slots + NEAREST]
            graph.append(Demand(key, slots, tuple(near)))
            distance.update({(key, v): m for v, m in near})
        result = assign(graph, capacity)
        log.info("assignment made", demands=len(graph), volunteers=len(capacity), assigned=len(result.pairs),
                 unmatched=sum(result.unmatched.values()), total_m=result.total_metres)
        chosen: dict[tuple[str, UUID], list[Candidate]] = {key: [] for key in demands}
        for key, ident in result.pairs:
            past = history.get(ident, [])
            subject = volunteers[ident]["subject_ids"][0] if volunteers[ident]["subject_ids"] else None
            chosen[key].append(Candidate(ident, subject, distance[(key, ident)] / 1000,
                                         max((o["created_at"] for o in past), default=NEVER), len(past)))
        return chosen

    async def _offer_need(self, need: dict[str, Any], chosen: list[Candidate], now: dt.datetime) -> list[dict[str, Any]]:
        """One round of offers for a need: one per chosen volunteer; the round claim makes it once."""
        earlier = await self.offers.find(by_ref("request_id", need["_id"]), {"round": 1, "volunteer_id": 1, "status": 1}).to_list()
        # Re-read: a plan made before another replica's round must not offer its places again.
        room = need["volunteers_needed"] - await self.filled(need) + self._spare - sum(o["status"] == Status.OPEN for o in earlier)
        chosen = [c for c in chosen if c.volunteer_id not in {o["volunteer_id"] for o in earlier}][: max(0, room)]
        if not chosen:
            return []
        round_no = max((o["round"] for o in earlier), default=0) + 1
        made = [{"_id": uuid4(), "tenant": need["tenant"], "request_id": need["_id"], "kind": NEED,
                 "volunteer_id": c.volunteer_id, "subject_ids": [c.subject_id] if c.subject_id else [], "task": need["task"],
                 "organisation": need["organisation"], "round": round_no, "distance_km": round(c.distance_km, 2),
                 "created_at": now, "expires_at": now + self._ttl, "status": Status.OPEN.value, "tell": True} for c in chosen]
        proposed = [MatchProposed(**_ids(o), task=o["task"], distance_km=o["distance_km"], offer_round=round_no,
                                  expires_at=o["expires_at"]) for o in made]
        if not await claim(self.claims, f"round:{need['_id']}:{round_no}", tenant=need["tenant"],
                           subject_ids=sorted({s for o in made for s in o["subject_ids"]}, key=str), **outbox(*proposed)):
            return []  # another replica made this round
        await self.offers.insert_many([with_id_text(offer, *REFS) for offer in made])
        self._wake()
        log.info("need offered", need_id=str(need["_id"]), offer_round=round_no, offers=len(made))
        return made

    # -- answers ------------------------------------------------------------------------------

    async def answer(self, tenant: str, match_id: UUID, answer: Answer, now: dt.datetime) -> Outcome | None:
        offer = await self.offer(tenant, match_id)
        if (offer is None or offer.get("kind") != NEED or answer is not Answer.ACCEPT
                or offer["status"] != Status.OPEN or offer["expires_at"] <= now):
            return await super().answer(tenant, match_id, answer, now)  # declines, done, expiry: as any offer
        await self.ready()
        need = await self.need(tenant, offer["request_id"])
        volunteer = await self._projections.volunteer(tenant, offer["volunteer_id"])
        if need is None or not (volunteer and volunteer.get("eligible")):
            return Outcome(False, Status.OPEN, "This need no longer needs you. Thank you all the same.")
        if not await claim(self.claims, f"end:{match_id}", tenant=tenant, subject_ids=offer["subject_ids"], ending="accept"):
            return await self._unchanged(tenant, offer)
        keys = _slot_keys(need)
        taken = {c["_id"] for c in await self._slot_claims(need)}
        for key in (k for k in keys if k not in taken):
            if await claim(self.claims, key, tenant=tenant, subject_ids=offer["subject_ids"], match_id=match_id,
                           **outbox(MatchAccepted(**_ids(offer)))):
                await self.offers.update_one(by_id(match_id), changed(Status.ACCEPTED, accepted_at=now))
                self._wake()
                log.info("need slot filled", match_id=str(match_id), need_id=str(need["_id"]), slot=key.rsplit(":", 1)[1])
                if await self.filled(need) >= need["volunteers_needed"]:
                    async for other in self.offers.find(by_ref("request_id", need["_id"], status=Status.OPEN.value)):
                        await self._end(other, Status.TAKEN, MatchDeclineReason.TAKEN_BY_ANOTHER)
                return Outcome(True, Status.ACCEPTED, MESSAGES[Status.ACCEPTED])
        if await claim(self.claims, f"taken:{match_id}", tenant=tenant, subject_ids=offer["subject_ids"],
                       **outbox(MatchDeclined(**_ids(offer), reason=MatchDeclineReason.TAKEN_BY_ANOTHER))):
            await self.offers.update_one(by_id(match_id), changed(Status.TAKEN))
            self._wake()
        return Outcome(False, Status.TAKEN, FULL)

    async def call_off(self, offer: dict[str, Any], reason: MatchCancellationReason) -> bool:
        """A need's accepted place is called off once (`cancel:<match>`) and its slot freed for the next assignment."""
        if offer.get("kind") != NEED or offer["status"] != Status.ACCEPTED.value:
            return await super().call_off(offer, reason)
        need = await self.need(offer["tenant"], offer["request_id"])
        slots = await self._slot_claims(need, whole=True) if need else []  # whole: the copy kept aside carries the outbox entry
        slot = next((c for c in slots if c.get("match_id") == offer["_id"]), None)
        if await self.claims.find_one({"_id": f"done:{offer['_id']}"}, {"_id": 1}) or slot is None:
            return False
        if not await claim(self.claims, f"cancel:{offer['_id']}", tenant=offer["tenant"], subject_ids=offer["subject_ids"],
                           reason=reason.value, **outbox(MatchCancelled(**_ids(offer), reason=reason))):
            return False
        await self.offers.update_one(by_id(offer["_id"]), changed(Status.CANCELLED))
        try:  # keep the slot's claim (and its outbox entry) aside, so the slot can be claimed anew
            await self.claims.insert_one({**slot, "_id": f"{slot['_id']}:called-off:{offer['_id']}"})
        except DuplicateKeyError:
            pass
        await self.claims.delete_one({"_id": slot["_id"], "match_id": offer["_id"]})
        self._wake()
        log.info("need place cancelled", match_id=str(offer["_id"]), reason=reason.value)
        return True
