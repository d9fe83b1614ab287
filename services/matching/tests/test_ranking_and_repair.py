"""Who is offered first (availability, continuity, trusted networks), and offers a crashed writer left half-done.

The ranking tests are pure. The repair tests drive a `Matcher` on the real store (FerretDB) in-process
and make a write fail at the worst moment, as a `kill -9` between two writes would.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from helpt_contracts.events import VolunteerApproved, VolunteerGuidelinesConfirmed, VolunteerSuspended
from helpt_contracts.examples import help_requested, volunteer_registered
from helpt_contracts.types import TimeWindow, WeeklySlot
from helpt_matching.areas import load_areas
from helpt_matching.domain import NEVER, Candidate, available, fold_volunteer, rank, reach
from helpt_matching.offers import REFS, Answer, Matcher, Status, mark_told, mark_winners
from helpt_matching.projections import Projections
from helpt_platform.keys import backfill_job, by_ref, id_text_step
from helpt_platform.testing import StoreCommands

BRUSSELS = load_areas("leuven").timezone
# Monday 23 March 2026, Brussels is UTC+1 (summer time starts on the 29th).
MONDAY = dt.datetime(2026, 3, 23, tzinfo=BRUSSELS)


def window(start: dt.datetime, hours: float) -> dict[str, Any]:
    return TimeWindow(start=start, end=start + dt.timedelta(hours=hours)).model_dump(mode="json")


def slot(weekday: int, start: str, end: str) -> dict[str, Any]:
    return WeeklySlot(weekday=weekday, start=dt.time.fromisoformat(start), end=dt.time.fromisoformat(end)).model_dump(mode="json")


def test_a_volunteer_is_available_only_when_one_of_their_weekly_slots_meets_the_requests_window():
    monday_morning = [slot(0, "09:00", "12:00")]
    assert available(window(MONDAY.replace(hour=10), 1), monday_morning, BRUSSELS)
    assert not available(window(MONDAY.replace(hour=14), 2), monday_morning, BRUSSELS), "afternoon, slot is morning"
    assert not available(window(MONDAY.replace(hour=12), 1), monday_morning, BRUSSELS), "the slot ends as the window starts"
    assert not available(window(MONDAY + dt.timedelta(days=1, hours=10), 1), monday_morning, BRUSSELS), "Tuesday"
    # The slot is in Brussels time: 08:30 UTC is 09:30 in Brussels, inside it; 07:30 UTC is 08:30, before it.
    assert available(window(dt.datetime(2026, 3, 23, 8, 30, tzinfo=dt.UTC), 0.25), monday_morning, BRUSSELS)
    assert not available(window(dt.datetime(2026, 3, 23, 7, 30, tzinfo=dt.UTC), 0.25), monday_morning, BRUSSELS)
    # A window across midnight meets a slot on the next day; a week-long window meets any slot.
    assert available(window(MONDAY.replace(hour=22), 12), [slot(1, "08:00", "09:00")], BRUSSELS)
    assert available(window(MONDAY + dt.timedelta(days=2), 24 * 7), monday_morning, BRUSSELS)
    # No window (as soon as possible) or no slots (any time): available.
    assert available(None, monday_morning, BRUSSELS)
    assert available(window(MONDAY.replace(hour=3), 1), [], BRUSSELS)


def test_a_volunteer_outside_the_window_is_not_in_reach_of_the_request():
    areas = load_areas("leuven")
    request = {**help_requested(task="dog-walking", postcode="3001", languages=["en"]).model_dump(mode="json"),
               "window": window(MONDAY.replace(hour=15), 2)}
    volunteer = {"eligible": True, "tasks": ["dog-walking"], "languages": ["en"], "postcode": "3001",
                 "guidelines_confirmed": True, "availability": [slot(0, "09:00", "12:00")]}
    assert reach(request, volunteer, areas) is None
    assert reach(request, {**volunteer, "availability": [slot(0, "14:00", "18:00")]}, areas) == 0.0


def candidate(distance: float, **extra: Any) -> Candidate:
    return Candidate(uuid.uuid4(), uuid.uuid4(), distance, extra.pop("last", NEVER), extra.pop("times", 0), **extra)


def test_the_helper_who_helped_this_person_before_comes_first_then_the_partners_network_then_the_nearest():
    near = candidate(0.0, last=MONDAY, times=4)
    network = candidate(2.0, in_network=True)
    before = candidate(4.5, helped_before=True, last=MONDAY, times=9)
    fresh = candidate(0.0)
    assert rank([near, network, before, fresh]) == [before, network, fresh, near]


def test_among_equally_near_volunteers_the_one_offered_least_recently_goes_first():
    yesterday, last_week = MONDAY - dt.timedelta(days=1), MONDAY - dt.timedelta(days=7)
    busy, rested, never = candidate(1.0, last=yesterday, times=1), candidate(1.0, last=last_week, times=5), candidate(1.0)
    assert rank([busy, rested, never]) == [never, rested, busy]


# -- on the real store -----------------------------------------------------------------------------------------------


class Crash(Exception):
    """A process killed between two writes."""


@pytest.fixture
async def store(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True, uuidRepresentation="standard")
    db = client[f"helpt_matching_repair_{uuid.uuid4().hex[:8]}"]
    yield db
    await client.drop_database(db.name)
    await client.close()


def matcher(db, ttl: dt.timedelta = dt.timedelta(hours=2)) -> Matcher:
    return Matcher(db, Projections(db), load_areas, lambda: None, per_round=1, offer_ttl=ttl)


async def approved(projections: Projections, postcode: str = "3001", **fields: Any):
    registered = volunteer_registered(tasks=["dog-walking"], postcode=postcode, languages=["en"], **fields)
    case = uuid.uuid4()
    for event in (registered,
                  VolunteerApproved(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=case, reason="interview-ok"),
                  VolunteerGuidelinesConfirmed(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=case,
                                               guidelines_version="2026-03", confirmed_at=MONDAY)):
        await projections.apply(uuid.uuid4(), dt.datetime.now(dt.UTC), event)
    return registered.volunteer_id


async def requested(projections: Projections, **fields: Any):
    request = help_requested(**{"task": "dog-walking", "postcode": "3001", "languages": ["en"], **fields})
    await projections.apply(uuid.uuid4(), dt.datetime.now(dt.UTC), request)
    return request


@pytest.mark.infra
async def test_a_round_whose_writer_died_after_deciding_it_is_finished_by_the_next_writer(store, monkeypatch):
    projections = Projections(store)
    volunteer = await approved(projections)
    request = await requested(projections)
    now = dt.datetime.now(dt.UTC)
    dying = matcher(store)

    async def killed(*_args, **_kwargs):
        raise Crash

    monkeypatch.setattr(dying.offers, "insert_one", killed)
    with pytest.raises(Crash):
        await dying.offer_round("leuven", request.request_id, now)
    assert await store["offers"].count_documents({}) == 0, "the crash left the round decided but its offers unwritten"

    monkeypatch.undo()
    await matcher(store).tick(("leuven",), now)
    offers = [o async for o in store["offers"].find({"request_id": request.request_id})]
    assert [(o["volunteer_id"], o["round"], o["status"]) for o in offers] == [(volunteer, 1, "open")]
    decided = await store["claims"].find_one({"_id": f"round:{request.request_id}:1"})
    assert [json.loads(entry["body"])["match_id"] for entry in decided["outbox"]] == [str(offers[0]["_id"])], \
        "the offer written is the one whose MatchProposed the relay publishes"


@pytest.mark.infra
async def test_an_accept_interrupted_after_it_ended_the_offer_is_finished_not_lost(store, monkeypatch):
    projections = Projections(store)
    await approved(projections)
    request = await requested(projections)
    now = dt.datetime.now(dt.UTC)
    dying = matcher(store)
    [offer] = await dying.offer_round("leuven", request.request_id, now)

    async def killed(*_args, **_kwargs):
        raise Crash

    monkeypatch.setattr(dying, "_win", killed)
    with pytest.raises(Crash):
        await dying.answer("leuven", offer["_id"], Answer.ACCEPT, now)
    assert (await store["offers"].find_one({"_id": offer["_id"]}))["status"] == Status.OPEN
    monkeypatch.undo()

    # The volunteer clicks accept again (their first click seemed to do nothing): they get the match.
    again = await matcher(store).answer("leuven", offer["_id"], Answer.ACCEPT, now)
    assert again.status is Status.ACCEPTED
    assert (await store["offers"].find_one({"_id": offer["_id"]}))["status"] == Status.ACCEPTED
    winner = await store["claims"].find_one({"_id": f"winner:{request.request_id}"})
    assert winner["match_id"] == offer["_id"]
    assert [json.loads(e["body"])["match_id"] for e in winner["outbox"]] == [str(offer["_id"])], \
        "one MatchAccepted, for this offer, waits for the relay"


@pytest.mark.infra
async def test_the_clock_finishes_an_interrupted_accept_when_nobody_clicks_again(store, monkeypatch):
    projections = Projections(store)
    await approved(projections)
    request = await requested(projections)
    start = dt.datetime.now(dt.UTC)
    dying = matcher(store, ttl=dt.timedelta(minutes=5))
    [offer] = await dying.offer_round("leuven", request.request_id, start)

    async def killed(*_args, **_kwargs):
        raise Crash

    monkeypatch.setattr(dying, "_win", killed)
    with pytest.raises(Crash):
        await dying.answer("leuven", offer["_id"], Answer.ACCEPT, start)
    monkeypatch.undo()

    expired = await matcher(store, ttl=dt.timedelta(minutes=5)).tick(("leuven",), start + dt.timedelta(minutes=10))
    assert expired == 0, "an offer accepted in time is not expired because its writer died"
    assert (await store["offers"].find_one({"_id": offer["_id"]}))["status"] == Status.ACCEPTED
    assert await store["offers"].count_documents({"request_id": request.request_id}) == 1, "no new round for a matched request"


@pytest.mark.infra
async def test_continuity_the_volunteer_who_helped_this_person_before_is_offered_their_next_request(store):
    projections = Projections(store)
    kessel_lo = await approved(projections, postcode="3010")
    heverlee = await approved(projections)
    first = await requested(projections, postcode="3010")
    m = matcher(store)
    now = dt.datetime.now(dt.UTC)
    [offer] = await m.offer_round("leuven", first.request_id, now)
    assert offer["volunteer_id"] == kessel_lo, "the nearest goes first when nobody helped this person before"
    assert (await m.answer("leuven", offer["_id"], Answer.ACCEPT, now)).status is Status.ACCEPTED

    second = await requested(projections, subject_id=first.subject_id)  # the same person asks again, now in Heverlee
    [again] = await m.offer_round("leuven", second.request_id, now)
    assert again["volunteer_id"] == kessel_lo, "the same helper, though another volunteer lives nearer"
    stranger = await requested(projections)
    [other] = await m.offer_round("leuven", stranger.request_id, now)
    assert other["volunteer_id"] == heverlee, "for someone else, the nearest"


@pytest.mark.infra
async def test_a_partners_request_goes_first_to_a_volunteer_in_its_trusted_network(store):
    projections = Projections(store)
    await approved(projections)
    member = await approved(projections, postcode="3010", networks=["wzc-ter-linde"])
    request = await requested(projections, organisation="wzc-ter-linde", channel="partner")
    [offer] = await matcher(store).offer_round("leuven", request.request_id, dt.datetime.now(dt.UTC))
    assert offer["volunteer_id"] == member


def test_folding_keeps_the_availability_a_volunteer_gave():
    slots = [slot(2, "18:00", "20:00")]
    state = fold_volunteer([{"kind": "registered", "data": {"availability": slots, "tasks": ["shopping"]}}])
    assert state["availability"] == slots


# -- what the consumers and the clock ask the store (FerretDB 1.24 reads a whole collection for any look-up
#    but an insert's unique key, so a per-event or per-request look-up grows with the store) -----------------


@pytest.fixture
async def watched(infra):
    commands = StoreCommands()
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True, uuidRepresentation="standard", event_listeners=[commands])
    db = client[f"helpt_matching_reads_{uuid.uuid4().hex[:8]}"]
    yield db, commands
    await client.drop_database(db.name)
    await client.close()


@pytest.mark.infra
async def test_a_new_volunteer_or_request_is_kept_with_inserts_only_and_folds_as_before(watched):
    db, commands = watched
    projections = Projections(db)
    await projections.ready()
    registered = volunteer_registered(tasks=["dog-walking"], postcode="3001", languages=["en"])
    request = help_requested(task="dog-walking", postcode="3001", languages=["en"])
    commands.seen.clear()
    volunteer = await projections.apply(uuid.uuid4(), dt.datetime.now(dt.UTC), registered)
    kept = await projections.apply(uuid.uuid4(), dt.datetime.now(dt.UTC), request)
    assert {name for name, *_ in commands.seen} == {"insert"}, commands.seen
    # The same state as a fold of the facts read back from the store.
    facts = [f async for f in db["facts"].find({"aggregate_id": registered.volunteer_id})]
    stored = await db["volunteers"].find_one({"_id": registered.volunteer_id})
    assert {k: v for k, v in stored.items() if k not in ("_id", "id_text")} == {k: v for k, v in volunteer.items() if k != "_id"}
    assert {k: v for k, v in fold_volunteer(facts).items()} == {k: stored[k] for k in fold_volunteer(facts)}
    assert (await db["requests"].find_one({"_id": request.request_id}))["version"] == kept["version"] == 1


@pytest.mark.infra
async def test_a_version_whose_writer_died_before_writing_it_is_written_when_its_event_comes_again(store, monkeypatch):
    projections = Projections(store)
    registered = volunteer_registered(tasks=["dog-walking"], postcode="3001", languages=["en"])
    await projections.apply(uuid.uuid4(), dt.datetime.now(dt.UTC), registered)
    approval = VolunteerApproved(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=uuid.uuid4(), reason="interview-ok")
    event_id = uuid.uuid4()

    async def killed(*_args, **_kwargs):
        raise Crash

    monkeypatch.setattr(Projections, "_write", killed)
    with pytest.raises(Crash):
        await projections.apply(event_id, dt.datetime.now(dt.UTC), approval)
    monkeypatch.undo()
    assert (await store["volunteers"].find_one({"_id": registered.volunteer_id}))["version"] == 1, "claimed, not written"

    again = await Projections(store).apply(event_id, dt.datetime.now(dt.UTC), approval)  # the redelivery
    stored = await store["volunteers"].find_one({"_id": registered.volunteer_id})
    assert again["version"] == stored["version"] == 2 and stored["decision"] == "approved"
    assert await store["claims"].count_documents({"_id": {"$regex": f"^volunteer:{registered.volunteer_id}:"}}) == 2


@pytest.mark.infra
async def test_the_clock_looks_up_only_the_waiting_requests_offers_each_by_its_id_as_text(watched):
    db, commands = watched
    projections = Projections(db)
    clock = matcher(db)
    await approved(projections)
    matched = await requested(projections)  # the volunteer's task: offered at the first tick, then accepted
    await clock.tick(("leuven",), dt.datetime.now(dt.UTC))
    offer = await db["offers"].find_one({"request_id": matched.request_id})
    assert (await clock.answer("leuven", offer["_id"], Answer.ACCEPT, dt.datetime.now(dt.UTC))).ok
    others = []
    for waiting in (1, 2, 6):
        while await db["requests"].count_documents({"open": True}) < waiting + 1:
            # a task nobody offers: they wait, and every tick looks at them again
            await requested(projections, task="shopping")
        commands.seen.clear()
        await clock.tick(("leuven",), dt.datetime.now(dt.UTC))
        reads = [c for c in commands.seen if c[0] in ("find", "count", "aggregate")]
        offers = [f for name, coll, f in reads if coll == "offers"]
        # the waiting requests' offers, by their ids (one `$in` on a store this small, a look-up each on a large one)
        asked = [i for f in offers if "request_id" in f
                 for i in (f["request_id"]["$in"] if isinstance(f["request_id"], dict) else [f["request_id"]])]
        assert len(asked) == len(set(asked)) == waiting, offers  # the matched request is not among them
        assert matched.request_id not in asked
        assert all("request_id" in f or f == {"status": "open", "expires_at": f["expires_at"]} for f in offers), offers
        others.append(sorted((name, coll) for name, coll, _ in reads if coll != "offers"))
    assert others[1] == others[2], others  # every other collection is read as often with 2 or 6 waiting


@pytest.mark.infra
async def test_the_pool_holds_the_eligible_volunteers_alone_follows_their_decisions_and_is_refilled_when_lost(store):
    projections = Projections(store)
    volunteer = await approved(projections)
    waiting = volunteer_registered(tasks=["dog-walking"], postcode="3001", languages=["en"])
    await projections.apply(uuid.uuid4(), dt.datetime.now(dt.UTC), waiting)  # registered, not approved
    pool = await projections.pool("leuven", "dog-walking")
    assert [v["_id"] for v in pool] == [volunteer] and pool[0]["subject_ids"] and "personal" not in pool[0]
    entry = await store["eligible"].find_one({})
    assert entry["tenant"] == "leuven" and entry["subject_ids"], "erasure and purge reach it"

    await store["eligible"].drop()  # a store from before the collection
    assert [v["_id"] for v in await Projections(store).pool("leuven", "dog-walking")] == [volunteer]

    await projections.apply(uuid.uuid4(), dt.datetime.now(dt.UTC),
                            VolunteerSuspended(tenant="leuven", volunteer_id=volunteer, case_id=uuid.uuid4(),
                                               reason="complaint-received"))
    assert await projections.pool("leuven", "dog-walking") == []


# A store written before offers carried their references as text, a `tell` mark and winner claims a `kind`:
# matching's start-up backfill brings it up to date, and the clock and the messages find what they must.

class Runtime:
    def __init__(self, db) -> None:
        self.db = db


@pytest.mark.infra
async def test_offers_and_winners_written_before_are_found_by_the_clock_and_the_messages_after_the_backfill(store):
    projections = Projections(store)
    volunteer = await approved(projections)
    matched, waiting = await requested(projections), await requested(projections)
    now = dt.datetime.now(dt.UTC)
    # As the matcher wrote them before: an accepted match and its winner claim, and an open offer still to be told.
    accepted, open_offer = uuid.uuid4(), uuid.uuid4()
    common = {"tenant": "leuven", "volunteer_id": volunteer, "subject_ids": [], "task": "dog-walking", "organisation": None,
              "round": 1, "distance_km": 0.0, "created_at": now, "expires_at": now + dt.timedelta(hours=2)}
    await store["offers"].insert_many([
        {**common, "_id": accepted, "id_text": str(accepted), "request_id": matched.request_id, "status": Status.ACCEPTED.value},
        {**common, "_id": open_offer, "id_text": str(open_offer), "request_id": waiting.request_id, "status": Status.OPEN.value}])
    await store["claims"].insert_one({"_id": f"winner:{matched.request_id}", "tenant": "leuven", "match_id": accepted,
                                      "claimed_at": now})
    clock = matcher(store)
    assert await clock.winners("leuven") == set()  # what the backfill is for
    assert await store["offers"].find_one(by_ref("request_id", waiting.request_id)) is None

    await backfill_job(id_text_step("offers", *REFS), mark_told, mark_winners)(Runtime(store))

    assert await clock.winners("leuven") == {str(matched.request_id)}
    assert [o["_id"] for o in (await clock.offers_of([waiting.request_id]))[waiting.request_id]] == [open_offer]
    told = {o["_id"]: o["tell"] async for o in store["offers"].find({}, {"tell": 1})}
    assert told == {accepted: False, open_offer: True}  # the open offer's volunteer is still to get its message
    # The waiting request holds an open offer, the matched one is matched: the clock offers neither again.
    await clock.tick(("leuven",), now)
    assert await store["offers"].count_documents({}) == 2
    assert await mark_told(store) == 0 and await mark_winners(store) == 0  # run through: nothing left
