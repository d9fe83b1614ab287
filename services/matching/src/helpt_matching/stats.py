"""Statistics: non-personal facts about offers, requests and matches, kept past erasure and the end-of-crisis purge.

Every offer of help (one per vacancy a volunteer ticks: a volunteer offering three tasks counts
three, as in the seeds' table), every help request and every first match of a request becomes one
record in `statistics`: kind, task, form language, channel, day, times. No record carries a
subject id, a person's, request's or volunteer's id, or anything sealed; the `_id` is a one-way
hash of what makes the record unique (the aggregate id and the task), so a redelivery or a
rebuild counts once. The tenant is kept as `municipality`, not `tenant`, and there is no
`subject_ids`: the gdpr responder (helpt_platform.purge) deletes `{tenant, subject_ids}` on
erasure and `{tenant}` on the crisis purge, and these counts are what the crisis is evaluated
with afterwards (docs/adr/0013).

The records are a fold of the topics (intake.help-requests.v1, intake.volunteers.v1 and
matching.matches.v1), so `python -m helpt_matching.rebuild` can refold them. Idle volunteers are
the exception: they are counted live from the projections, which erasure and purge do empty.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import statistics as pystats
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event, HelpRequested, MatchAccepted, VolunteerRegistered

__all__ = ["LANGUAGES", "ChannelRow", "DayRow", "Statistics", "StatsReport", "TimeToMatch", "VacancyRow", "percentile"]

# The columns every report shows, as in the seeds' table (NL/EN); others appear when they occur.
LANGUAGES = ("nl", "en", "fr")


class VacancyRow(BaseModel):
    task: str = Field(description="The vacancy's code; 'total' in the totals row.")
    offers: dict[str, int] = Field(description="Offers of help per form language.")
    requests: dict[str, int] = Field(description="Help requests per form language.")
    offers_total: int
    requests_total: int


class ChannelRow(BaseModel):
    channel: str
    offers: int
    requests: int


class DayRow(BaseModel):
    day: dt.date = Field(description="The day (UTC).")
    offers: int
    requests: int
    matches: int = Field(description="Requests first matched that day.")


class TimeToMatch(BaseModel):
    matched: int = Field(description="Requests of the period that were matched.")
    median_s: float | None = Field(description="Median seconds from the request to its first accepted offer.")
    p90_s: float | None = Field(description="90th percentile (nearest rank) of the same.")


class StatsReport(BaseModel):
    """The statistics of one municipality over a period (days in UTC, both ends included)."""

    model_config = ConfigDict(populate_by_name=True)

    tenant: str
    from_: dt.date | None = Field(default=None, alias="from", serialization_alias="from")
    to: dt.date | None = None
    languages: list[str] = Field(description="The language columns of `by_vacancy`.")
    by_vacancy: list[VacancyRow]
    totals: VacancyRow
    by_channel: list[ChannelRow]
    over_time: list[DayRow]
    time_to_match: TimeToMatch
    share_matched: float | None = Field(description="Share of the period's requests that were matched; none without requests.")
    idle_volunteers: int = Field(description="Eligible volunteers not offered a task in the last `idle_days` days (now).")
    idle_days: int


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value at least `share` of the values are at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


def _language(event: HelpRequested | VolunteerRegistered) -> str:
    # The form's language; an event from before the field existed (or an API client that did not
    # say) counts under the person's first language.
    return event.form_language or event.languages[0]


class Statistics:
    """The `statistics` records of matching's database, and the reports read from them."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.records = db["statistics"]
        self._volunteers = db["volunteers"]
        self._offers = db["offers"]
        self._indexed = False

    async def ready(self) -> None:
        if not self._indexed:
            await self.records.create_index([("municipality", ASCENDING), ("kind", ASCENDING), ("day", ASCENDING)],
                                            name="by_kind_day")
            self._indexed = True

    async def record(self, envelope: Envelope, event: Event) -> int:
        """Count what `event` adds (offers, a request, a first match); how many records are new."""
        await self.ready()
        at = envelope.time.astimezone(dt.UTC)
        if isinstance(event, VolunteerRegistered):
            common = {"municipality": event.tenant, "kind": "offer", "language": _language(event),
                      "channel": event.channel.value, "day": at.date().isoformat(), "at": at}
            return await self._insert([{"_id": _key("offer", event.volunteer_id, task), "task": task, **common}
                                       for task in dict.fromkeys(event.tasks)])
        if isinstance(event, HelpRequested):
            return await self._insert([{"_id": _key("request", event.request_id), "municipality": event.tenant,
                                        "kind": "request", "task": event.task, "language": _language(event),
                                        "channel": event.channel.value, "day": at.date().isoformat(), "at": at}])
        if isinstance(event, MatchAccepted):
            request = await self.records.find_one({"_id": _key("request", event.request_id)})
            if request is None:
                # The request is counted before it can be offered (consumers, rebuild): retried, not guessed.
                raise LookupError("a match of a request not yet counted")
            requested_at = request["at"].replace(tzinfo=dt.UTC)
            return await self._insert([{"_id": _key("match", event.request_id), "municipality": event.tenant,
                                        "kind": "match", "task": request["task"], "language": request["language"],
                                        "channel": request["channel"], "day": at.date().isoformat(),
                                        "request_day": request["day"], "at": at, "requested_at": requested_at,
                                        "seconds": max((at - requested_at).total_seconds(), 0.0)}])
        return 0

    async def _insert(self, records: list[dict[str, Any]]) -> int:
        try:
            return len((await self.records.insert_many(records, ordered=False)).inserted_ids)
        except BulkWriteError as error:
            # Those counted already (a redelivery, a rebuild) are duplicates; anything else is a real failure.
            if any(e.get("code") != 11000 for e in error.details.get("writeErrors", [])):
                raise
            return error.details.get("nInserted", 0)

    async def report(self, tenant: str, *, start: dt.date | None = None, end: dt.date | None = None,
                     idle_days: int = 7, now: dt.datetime | None = None) -> StatsReport:
        """The municipality's statistics for the days `start`..`end` (either open), idle volunteers as of `now`."""
        await self.ready()
        now = now or dt.datetime.now(dt.UTC)
        days: dict[str, str] = {}
        if start:
            days["$gte"] = start.isoformat()
        if end:
            days["$lte"] = end.isoformat()
        counted = await self.records.aggregate([
            {"$match": {"municipality": tenant, "kind": {"$in": ["offer", "request"]}, **({"day": days} if days else {})}},
            {"$group": {"_id": {"kind": "$kind", "task": "$task", "language": "$language", "channel": "$channel",
                                "day": "$day"}, "n": {"$sum": 1}}},
        ])
        groups = [(g["_id"], g["n"]) async for g in counted]
        matches = [m async for m in self.records.find(
            {"municipality": tenant, "kind": "match", **({"request_day": days} if days else {})}, {"seconds": 1})]
        accepted_days = await self.records.aggregate([
            {"$match": {"municipality": tenant, "kind": "match", **({"day": days} if days else {})}},
            {"$group": {"_id": "$day", "n": {"$sum": 1}}},
        ])
        matched_per_day = {g["_id"]: g["n"] async for g in accepted_days}

        languages = list(LANGUAGES) + sorted({k["language"] for k, _ in groups} - set(LANGUAGES))
        tasks: dict[str, dict[str, dict[str, int]]] = {}
        channels: dict[str, dict[str, int]] = {}
        per_day: dict[str, dict[str, int]] = {}
        for k, n in groups:
            kind = "offers" if k["kind"] == "offer" else "requests"
            row = tasks.setdefault(k["task"], {"offers": dict.fromkeys(languages, 0), "requests": dict.fromkeys(languages, 0)})
            row[kind][k["language"]] += n
            channels.setdefault(k["channel"], {"offers": 0, "requests": 0})[kind] += n
            per_day.setdefault(k["day"], {"offers": 0, "requests": 0})[kind] += n

        def vacancy(task: str, counts: dict[str, dict[str, int]]) -> VacancyRow:
            return VacancyRow(task=task, offers=counts["offers"], requests=counts["requests"],
                              offers_total=sum(counts["offers"].values()), requests_total=sum(counts["requests"].values()))

        rows = [vacancy(task, counts) for task, counts in sorted(tasks.items())]
        total = {kind: {lang: sum(t[kind][lang] for t in tasks.values()) for lang in languages} for kind in ("offers", "requests")}
        seconds = [m["seconds"] for m in matches]
        requests_n = sum(r.requests_total for r in rows)
        return StatsReport(
            tenant=tenant, from_=start, to=end, languages=languages, by_vacancy=rows, totals=vacancy("total", total),
            by_channel=[ChannelRow(channel=c, **n) for c, n in sorted(channels.items())],
            over_time=[DayRow(day=dt.date.fromisoformat(d), offers=per_day.get(d, {}).get("offers", 0),
                              requests=per_day.get(d, {}).get("requests", 0), matches=matched_per_day.get(d, 0))
                       for d in sorted(per_day.keys() | matched_per_day.keys())],
            time_to_match=TimeToMatch(matched=len(seconds), median_s=pystats.median(seconds) if seconds else None,
                                      p90_s=percentile(seconds, 0.9)),
            share_matched=round(len(seconds) / requests_n, 4) if requests_n else None,
            idle_volunteers=await self._idle(tenant, now - dt.timedelta(days=idle_days)), idle_days=idle_days)

    async def _idle(self, tenant: str, since: dt.datetime) -> int:
        eligible = {v["_id"] async for v in self._volunteers.find({"tenant": tenant, "eligible": True}, {"_id": 1})}
        if not eligible:
            return 0
        busy = {o["volunteer_id"] async for o in self._offers.find(
            {"tenant": tenant, "created_at": {"$gte": since}}, {"volunteer_id": 1})}
        return len(eligible - busy)
