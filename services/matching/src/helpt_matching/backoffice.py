"""The coordinators' back office, read side: what waits, who is available, who was contacted.

Reads matching's own projections, offers, claims and audit; shows ids, references, tasks, postcodes
and languages, never a sealed field (a coordinator who needs a contact uses the reveal flows). What
a coordinator decides is `decisions` (`helpt_matching.backoffice_decisions`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from helpt_matching.areas import Areas
from helpt_matching.backoffice_decisions import Decisions, Messenger
from helpt_matching.domain import NEVER, reach
from helpt_matching.offers import Matcher, Status
from helpt_matching.projections import Projections
from helpt_matching.settings import MatchingSettings
from helpt_platform.keys import by_id, by_ref, find_each

__all__ = ["Backoffice", "Waiting"]

HIDDEN = {"personal": 0, "facts": 0, "subject_ids": 0}
_HELD = (Status.OPEN.value, Status.ACCEPTED.value)


@dataclass
class Waiting:
    """An open request as the back office lists it."""

    id: UUID
    reference: str
    task: str
    postcode: str
    languages: list[str]
    urgency: str
    organisation: str | None
    requested_at: dt.datetime
    matched: bool
    eligible: int
    rounds: list[tuple[int, dict[str, int]]] = field(default_factory=list)
    reminded_at: dt.datetime | None = None


class Backoffice:
    """The lists and pages a coordinator reads; `decisions` for what they decide."""

    def __init__(self, db: AsyncDatabase, projections: Projections, matcher: Matcher, areas: Callable[[str], Areas],
                 messenger: Callable[[], Messenger], settings: MatchingSettings) -> None:
        self.audit = db["audit"]
        self._claims = projections.claims
        self._facts = projections.facts
        self._projections = projections
        self._matcher = matcher
        self._areas = areas
        self._settings = settings
        self._indexed = False
        self.decisions = Decisions(db, projections, matcher, areas, messenger)

    async def ready(self) -> None:
        if not self._indexed:
            await self.audit.create_index([("tenant", ASCENDING), ("request_id", ASCENDING)], name="by_request")
            await self._claims.create_index([("message", ASCENDING), ("tenant", ASCENDING)], name="by_message")
            await self._matcher.ready()
            self._indexed = True

    # -- what waits -----------------------------------------------------------------------------

    async def _requested_at(self, tenant: str, ids: list[UUID]) -> dict[UUID, dt.datetime]:
        cursor = self._facts.find({"tenant": tenant, "aggregate": "request", "kind": "requested", "aggregate_id": {"$in": ids}},
                                  {"aggregate_id": 1, "at": 1})
        return {f["aggregate_id"]: _aware(f["at"]) async for f in cursor}

    async def _last_sent(self, tenant: str, message: str, key: str) -> dict[UUID, dt.datetime]:
        last: dict[UUID, dt.datetime] = {}
        async for c in self._claims.find({"message": message, "tenant": tenant}, {key: 1, "claimed_at": 1}):
            last[c[key]] = max(last.get(c[key], NEVER), _aware(c["claimed_at"]))
        return last

    async def open_requests(self, tenant: str) -> list[Waiting]:
        """Open requests, urgent first, then the longest waiting; with their offers per round and eligible volunteers now."""
        await self.ready()
        requests = await self._projections.open_requests(tenant)
        ids = [r["_id"] for r in requests]
        since = await self._requested_at(tenant, ids)
        winners = await self._matcher.winners(tenant)
        offers: dict[UUID, list[dict[str, Any]]] = {}
        for o in await find_each(self._matcher.offers, "request_id", ids, {"request_id": 1, "round": 1, "status": 1}, tenant=tenant):
            offers.setdefault(o["request_id"], []).append(o)
        reminded = await self._last_sent(tenant, "remind", "request_id")
        pools: dict[str, list[dict[str, Any]]] = {}
        areas = self._areas(tenant)
        rows = []
        for r in requests:
            if r["task"] not in pools:
                pools[r["task"]] = await self._projections.pool(tenant, r["task"])
            rounds: dict[int, Counter[str]] = {}
            for o in offers.get(r["_id"], []):
                rounds.setdefault(o["round"], Counter())[o["status"]] += 1
            rows.append(Waiting(r["_id"], r.get("reference", "—"), r["task"], r["postcode"], r.get("languages", []),
                                r.get("urgency", "normal"), r.get("organisation"), since.get(r["_id"], NEVER),
                                str(r["_id"]) in winners, sum(reach(r, v, areas) is not None for v in pools[r["task"]]),
                                [(n, dict(c)) for n, c in sorted(rounds.items())], reminded.get(r["_id"])))
        return sorted(rows, key=lambda w: (w.urgency != "urgent", w.requested_at))

    async def stale(self, tenant: str, now: dt.datetime) -> list[Waiting]:
        """Open, unmatched requests older than `stale_after_hours`."""
        cutoff = now - dt.timedelta(hours=self._settings.stale_after_hours)
        return [w for w in await self.open_requests(tenant) if not w.matched and w.requested_at <= cutoff]

    async def request(self, tenant: str, request_id: UUID) -> dict[str, Any] | None:
        """One request (open or not) with its offers, the volunteers a coordinator may match it with, and its audit trail."""
        await self.ready()
        request = await self._projections.requests.find_one(by_id(request_id, tenant=tenant), HIDDEN)
        if request is None:
            return None
        offers = [o async for o in self._matcher.offers.find(by_ref("request_id", request_id, tenant=tenant),
                                                             {"subject_ids": 0}).sort([("created_at", ASCENDING), ("_id", ASCENDING)])]
        areas, tried = self._areas(tenant), {o["volunteer_id"]: o["status"] for o in offers}
        candidates = sorted(({"id": v["_id"], "postcode": v["postcode"], "languages": v.get("languages", []), "distance_km": d,
                              "earlier": tried.get(v["_id"])}
                             for v in await self._projections.pool(tenant, request["task"])
                             if (d := reach(request, v, areas)) is not None), key=lambda c: (c["distance_km"], str(c["id"])))
        # Stored times are to the millisecond: an override and the match replacing it may share one, and the override came first.
        audit = [a async for a in self.audit.find({"tenant": tenant, "request_id": request_id}, {"subject_ids": 0})
                 .sort([("at", ASCENDING), ("action", DESCENDING)])]
        reminders = [_aware(c["claimed_at"]) async for c in self._claims.find(
            {"message": "remind", "tenant": tenant, "request_id": request_id}, {"claimed_at": 1})]
        since = (await self._requested_at(tenant, [request_id])).get(request_id, NEVER)
        accepted = next((o for o in offers if o["status"] == Status.ACCEPTED.value), None)
        return {"request": request, "requested_at": since, "matched": await self._matcher.matched(request_id),
                "offers": offers, "accepted": accepted, "candidates": candidates, "audit": audit, "reminders": sorted(reminders)}

    # -- who is available -----------------------------------------------------------------------

    async def pools(self, tenant: str) -> list[dict[str, Any]]:
        """Eligible volunteers counted per area × task × language; how many of them lack the guidelines confirmation."""
        counts: Counter[tuple[str, str, str]] = Counter()
        unconfirmed: Counter[tuple[str, str, str]] = Counter()
        async for v in self._projections.volunteers.find({"tenant": tenant, "eligible": True}, HIDDEN):
            for task in v.get("tasks", []):
                for language in v.get("languages", []):
                    key = (v.get("postcode", "—"), task, language)
                    counts[key] += 1
                    unconfirmed[key] += not v.get("guidelines_confirmed")
        names = self._areas(tenant).by_postcode
        return [{"postcode": p, "area": names[p].name if p in names else "—", "task": t, "language": lang,
                 "eligible": n, "unconfirmed": unconfirmed[(p, t, lang)]} for (p, t, lang), n in sorted(counts.items())]

    async def idle(self, tenant: str, now: dt.datetime) -> list[dict[str, Any]]:
        """Eligible volunteers holding no offer or match, offered nothing (and approved) longer than `idle_after_days` ago."""
        await self.ready()
        cutoff = now - dt.timedelta(days=self._settings.idle_after_days)
        volunteers = {v["_id"]: v async for v in self._projections.volunteers.find({"tenant": tenant, "eligible": True}, HIDDEN)}
        last: dict[UUID, dt.datetime] = {}
        busy: set[UUID] = set()
        for o in await find_each(self._matcher.offers, "volunteer_id", volunteers, {"volunteer_id": 1, "created_at": 1, "status": 1},
                                 tenant=tenant):
            last[o["volunteer_id"]] = max(last.get(o["volunteer_id"], NEVER), _aware(o["created_at"]))
            if o["status"] in _HELD:
                busy.add(o["volunteer_id"])
        async for f in self._facts.find({"tenant": tenant, "aggregate": "volunteer", "kind": "decision",
                                         "aggregate_id": {"$in": list(volunteers)}}, {"aggregate_id": 1, "at": 1}):
            last[f["aggregate_id"]] = max(last.get(f["aggregate_id"], NEVER), _aware(f["at"]))
        told = await self._last_sent(tenant, "still-needed", "volunteer_id")
        rows = [{"id": i, "postcode": v.get("postcode"), "tasks": v.get("tasks", []), "languages": v.get("languages", []),
                 "idle_since": last.get(i, NEVER), "told_at": told.get(i)}
                for i, v in volunteers.items() if i not in busy and last.get(i, NEVER) <= cutoff]
        return sorted(rows, key=lambda r: (r["idle_since"], str(r["id"])))

    async def partners(self, tenant: str) -> list[dict[str, Any]]:
        """Per partner organisation: matches proposed, accepted, completed, cancelled; who was contacted, when; quota use."""
        await self.ready()
        found: dict[str, dict[str, Any]] = {}
        async for o in self._matcher.offers.find({"tenant": tenant, "organisation": {"$ne": None}},
                                                 {"subject_ids": 0}).sort("created_at", DESCENDING):
            org = found.setdefault(o["organisation"], {"counts": Counter(), "contacts": []})
            org["counts"][o["status"]] += 1
            org["contacts"].append({"volunteer_id": o["volunteer_id"], "request_id": o["request_id"],
                                    "at": _aware(o["created_at"]), "status": o["status"]})
        quotas = self._settings.partner_quotas
        rows = []
        for name in sorted(set(found) | set(quotas)):
            counts: Counter[str] = found.get(name, {}).get("counts", Counter())
            rows.append({"organisation": name, "proposed": sum(counts.values()),
                         "accepted": sum(counts[s] for s in (Status.ACCEPTED, Status.COMPLETED, Status.CANCELLED)),
                         "completed": counts[Status.COMPLETED], "cancelled": counts[Status.CANCELLED],
                         "active": counts[Status.ACCEPTED], "quota": quotas.get(name),
                         "contacts": found.get(name, {}).get("contacts", [])[:200]})
        return rows


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
