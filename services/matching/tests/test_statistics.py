"""Statistics on the real stack: the seeds' table replayed (Leuven, 24 h after launch), redeliveries counted once,
time to match and idle volunteers, and counts that outlive a volunteer's erasure and the end-of-crisis purge."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Any

import bson
import pytest

from helpt_contracts import topics
from helpt_contracts.events import (
    CrisisPurgeRequested,
    Event,
    HelpRequested,
    HelpRequestUpdated,
    PurgeCompleted,
    SubjectErasureRequested,
    VolunteerApproved,
    VolunteerGuidelinesConfirmed,
    VolunteerRegistered,
    VolunteerUpdated,
)
from helpt_contracts.examples import help_requested, sealed, volunteer_registered
from helpt_contracts.roles import Role
from helpt_matching.stats import percentile
from helpt_platform.auth import issue_token
from helpt_platform.testing import eventually, republish, topic_records

pytestmark = pytest.mark.infra

LAUNCH = dt.datetime(2020, 3, 18, 9, 0, tzinfo=dt.UTC)
# The seeds' table: offers per vacancy by the language of the form (NL, EN), 24 hours after the launch.
SEEDS = {"shopping": (169, 21), "food-delivery": (0, 14), "pharmacy": (179, 23), "dog-walking": (185, 16),
         "post-office": (117, 16), "drawing": (68, 0), "phone-chat": (56, 13), "video-call": (39, 0), "letter-writing": (69, 9)}
# And its 7 requests (the seeds give no breakdown): (task, form language or None, first spoken language, channel).
REQUESTS = [("shopping", "nl", "nl", "web"), ("shopping", "nl", "nl", "phone"), ("pharmacy", "nl", "nl", "web"),
            ("pharmacy", "nl", "fr", "phone"), ("dog-walking", "nl", "nl", "web"), ("phone-chat", "en", "en", "web"),
            ("food-delivery", None, "en", "email")]


def stats(service, token: str | None = None, **params: str) -> Any:
    token = token or issue_token(service.secret, sub="coord-1", role=Role.COORDINATOR, tenant="leuven")
    return service.client.get("/api/v1/stats", params=params, headers={"Authorization": f"Bearer {token}"})


def ticked(counts: dict[str, int], start: int) -> list[list[str]]:
    """Volunteers' ticked vacancies making exactly `counts` offers: by turns one to four of the most-offered left."""
    left, volunteers = dict(counts), []
    while any(left.values()):
        tasks = sorted((t for t in left if left[t]), key=lambda t: (-left[t], t))[: 1 + (start + len(volunteers)) % 4]
        for task in tasks:
            left[task] -= 1
        volunteers.append(tasks)
    return volunteers


def seeds_offers() -> list[tuple[VolunteerRegistered, dt.datetime]]:
    """The seeds' 882 NL and 112 EN offers, spread over the first 24 hours; some EN forms predate `form_language`."""
    nl = ticked({task: n for task, (n, _) in SEEDS.items()}, 0)
    en = ticked({task: n for task, (_, n) in SEEDS.items()}, 1)
    people = [(tasks, "nl") for tasks in nl] + [(tasks, "en") for tasks in en]
    offers = []
    for i, (tasks, language) in enumerate(people):
        # A Dutch form from someone who also (first) speaks English counts as Dutch: the form's language counts.
        spoken = ["en", "nl"] if (language == "en" or i % 3 == 0) else ["nl"]
        form = None if (language == "en" and i % 4 == 0) else language
        offers.append((volunteer_registered(tasks=tasks, languages=spoken, form_language=form,
                                            channel="phone" if i % 5 == 0 else "web"),
                       LAUNCH + dt.timedelta(hours=24) * i / len(people)))
    return offers


def seeds_requests() -> list[tuple[HelpRequested, dt.datetime]]:
    return [(help_requested(task=task, languages=[first], form_language=form, channel=channel, postcode="3000"),
             LAUNCH + dt.timedelta(hours=3 * i + 1)) for i, (task, form, first, channel) in enumerate(REQUESTS)]


def expected_table() -> list[dict[str, Any]]:
    requests = Counter((task, form or first) for task, form, first, _ in REQUESTS)
    return [{"task": task, "offers": {"nl": nl, "en": en, "fr": 0},
             "requests": {lang: requests[(task, lang)] for lang in ("nl", "en", "fr")},
             "offers_total": nl + en, "requests_total": sum(requests[(task, lang)] for lang in ("nl", "en", "fr"))}
            for task, (nl, en) in sorted(SEEDS.items())]


def test_the_seeds_table_comes_back_exactly_and_redelivered_events_count_once(matching):
    service = matching()
    offers, requests = seeds_offers(), seeds_requests()
    service.publish_at(*offers, *requests)
    report = eventually(lambda: stats(service).json(),
                        lambda r: r["totals"]["offers_total"] == 994 and r["totals"]["requests_total"] == 7,
                        "the 994 offers and 7 requests counted", 300)

    assert report["languages"] == ["nl", "en", "fr"]
    assert report["by_vacancy"] == expected_table()
    assert report["totals"]["offers"] == {"nl": 882, "en": 112, "fr": 0}
    assert report["totals"]["requests"] == {"nl": 5, "en": 2, "fr": 0}
    per_channel = Counter()
    for event, _ in offers:
        per_channel[event.channel.value] += len(event.tasks)
    assert report["by_channel"] == [{"channel": "email", "offers": 0, "requests": 1},
                                    {"channel": "phone", "offers": per_channel["phone"], "requests": 2},
                                    {"channel": "web", "offers": per_channel["web"], "requests": 4}]
    per_day = Counter()
    for event, at in offers:
        per_day[at.date().isoformat()] += len(event.tasks)
    assert report["over_time"] == [{"day": "2020-03-18", "offers": per_day["2020-03-18"], "requests": 5, "matches": 0},
                                   {"day": "2020-03-19", "offers": per_day["2020-03-19"], "requests": 2, "matches": 0}]
    assert report["time_to_match"] == {"matched": 0, "median_s": None, "p90_s": None}
    assert report["share_matched"] == 0.0 and report["idle_volunteers"] == 0, "nobody is approved yet"

    # Redelivered: five volunteers' and every request's records, byte for byte. An update behind each on the same
    # key (so the same partition) tells when the redelivery has been read.
    again = [r for r, e in topic_records(service.settings, topics.VOLUNTEERS) if isinstance(e, VolunteerRegistered)][:5]
    again += [r for r, e in topic_records(service.settings, topics.HELP_REQUESTS) if isinstance(e, HelpRequested)]
    assert len(again) == 12
    for record in again:
        republish(service.settings, record)
    volunteers = [uuid.UUID(r.key.decode()) for r in again[:5]]
    request_ids = [event.request_id for event, _ in requests]
    service.publish_at(*[(VolunteerUpdated(tenant="leuven", volunteer_id=v, max_distance_km=9), None) for v in volunteers],
            *[(HelpRequestUpdated(tenant="leuven", request_id=r, urgency="urgent"), None) for r in request_ids])

    async def updated(db) -> int:
        return (await db["volunteers"].count_documents({"_id": {"$in": volunteers}, "max_distance_km": 9})
                + await db["requests"].count_documents({"_id": {"$in": request_ids}, "urgency": "urgent"}))

    eventually(lambda: service.store(updated), lambda n: n == 12, "the updates behind the redeliveries")
    assert stats(service).json() == report

    day_two = stats(service, **{"from": "2020-03-19", "to": "2020-03-19"}).json()
    assert day_two["from"] == day_two["to"] == "2020-03-19"
    assert day_two["totals"]["offers_total"] == per_day["2020-03-19"] and day_two["totals"]["requests_total"] == 2
    assert [row["day"] for row in day_two["over_time"]] == ["2020-03-19"]


def test_statistics_are_for_coordinators_of_this_municipality_with_sound_dates(matching):
    service = matching()
    assert service.client.get("/api/v1/stats").status_code == 401
    for role in (Role.VOLUNTEER, Role.OPERATOR, Role.SCREENER, Role.PARTNER):
        refused = stats(service, issue_token(service.secret, sub="x", role=role, tenant="leuven", organisation="org"))
        assert refused.status_code == 403, role
    assert stats(service, issue_token(service.secret, sub="c", role=Role.COORDINATOR, tenant="elsewhere")).status_code == 403
    assert stats(service, **{"from": "18-03-2020"}).status_code == 422
    backwards = stats(service, **{"from": "2020-03-19", "to": "2020-03-18"})
    assert backwards.status_code == 422 and "after" in backwards.json()["detail"]
    assert stats(service, idle_days="0").status_code == 422
    empty = stats(service).json()
    assert empty["by_vacancy"] == [] and empty["share_matched"] is None and empty["totals"]["offers_total"] == 0


def test_percentiles_are_nearest_rank():
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert percentile([float(n) for n in range(10, 0, -1)], 0.5) == 5.0


def approved(tasks: list[str]) -> tuple[list[tuple[Event, None]], VolunteerRegistered]:
    registered = volunteer_registered(tasks=tasks, postcode="3001", languages=["en"], form_language="en")
    case = uuid.uuid4()
    return [(registered, None),
            (VolunteerApproved(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=case, reason="interview-ok"), None),
            (VolunteerGuidelinesConfirmed(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=case,
                                          guidelines_version="2026-03", confirmed_at=dt.datetime.now(dt.UTC)), None)], registered


def naming(db_documents: dict[str, list[dict]], subject: uuid.UUID) -> dict[str, int]:
    """Per collection, how many documents hold the subject's id anywhere (as a UUID or as text)."""
    found = Counter()
    for name, documents in db_documents.items():
        for doc in documents:
            raw = bson.encode(doc, codec_options=bson.CodecOptions(uuid_representation=bson.binary.UuidRepresentation.STANDARD))
            if subject.bytes in raw or str(subject).encode() in raw:
                found[name] += 1
    return dict(found)


async def everything(db) -> dict[str, list[dict]]:
    return {name: [d async for d in db[name].find({})] for name in await db.list_collection_names() if not name.startswith("system.")}


def test_a_match_is_counted_with_its_waiting_time_and_the_counts_outlive_erasure_and_the_purge(matching):
    service = matching()
    walker_events, walker = approved(["dog-walking"])
    idle_events, _idle = approved(["letter-writing"])
    service.publish_at(*walker_events, *idle_events)
    eventually(lambda: service.store(lambda db: db["volunteers"].count_documents({"eligible": True})), lambda n: n == 2,
               "two eligible volunteers")
    asked = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    walk = help_requested(task="dog-walking", postcode="3001", languages=["en"], form_language="en")
    nobody = help_requested(task="video-call", postcode="3001", languages=["en"], form_language="en")
    service.publish_at((walk, asked), (nobody, asked))
    offer = service.wait_offers(walk.request_id, lambda o: len(o) == 1, "the walk offered")[0]
    accepted = service.client.post("/m/" + offer["link"].split("/m/", 1)[1], data={"action": "accept"})
    assert accepted.status_code == 200, accepted.text

    report = eventually(lambda: stats(service).json(), lambda r: r["time_to_match"]["matched"] == 1, "the match counted")
    waited = report["time_to_match"]
    assert waited["median_s"] == waited["p90_s"] and waited["median_s"] >= 2 * 3600, "asked two hours before the accept"
    assert report["share_matched"] == 0.5
    assert report["idle_volunteers"] == 1, "the letter writer was offered nothing"
    assert sum(day["matches"] for day in report["over_time"]) == 1

    # A change of e-mail address (sealed) reaches matching before the erasure: it is about them too.
    service.publish_at((VolunteerUpdated(tenant="leuven", volunteer_id=walker.volunteer_id, personal={"email": sealed()}), None))
    eventually(lambda: service.store(lambda db: db["volunteers"].find_one({"_id": walker.volunteer_id})),
               lambda doc: len(doc["facts"]) == 4, "the change projected")

    # The volunteer asks to be erased: nothing in matching names them any more; the counts stay.
    assert naming(service.store(everything), walker.subject_id), "the volunteer is in the store before"
    erasure = uuid.uuid4()
    service.publish_at((SubjectErasureRequested(tenant="leuven", purge_id=erasure, subject_id=walker.subject_id,
                                              subject_kind="volunteer"), None))
    receipt = eventually(lambda: [e for _, e in service.events_on(topics.GDPR_RECEIPTS)
                                  if isinstance(e, PurgeCompleted) and e.purge_id == erasure],
                         lambda found: len(found) == 1, "the erasure receipt")[0]
    assert receipt.service.value == "matching" and receipt.scope.value == "subject"
    assert receipt.counts["offers"] == 1 and receipt.counts["volunteers"] == 1 and receipt.counts.get("statistics", 0) == 0
    left = service.store(everything)
    assert naming(left, walker.subject_id) == {}
    assert naming(left, walker.volunteer_id) == {}, "facts and claims kept before the registration was read go too"
    after = stats(service).json()
    counted = ("by_vacancy", "totals", "by_channel", "over_time", "time_to_match", "share_matched")
    assert {k: after[k] for k in counted} == {k: report[k] for k in counted}

    # The crisis ends: every document of the municipality goes, the statistics stay.
    purge = uuid.uuid4()
    service.publish_at((CrisisPurgeRequested(tenant="leuven", purge_id=purge, approvals=2), None))
    eventually(lambda: [e for _, e in service.events_on(topics.GDPR_RECEIPTS) if isinstance(e, PurgeCompleted) and e.purge_id == purge],
               lambda found: len(found) == 1, "the purge receipt")
    left = {name: len(docs) for name, docs in service.store(everything).items() if docs}
    assert set(left) == {"statistics"}, left
    final = stats(service).json()
    assert {k: final[k] for k in counted} == {k: report[k] for k in counted}
    assert final["idle_volunteers"] == 0
