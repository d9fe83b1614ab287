"""Collective needs on real Kafka and FerretDB: a partner's need of 10 and a waiting request assigned together at the
least total distance (brute force says which), on the partner's own topic; bad needs refused; a need never over-filled."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid

import httpx
import pytest

from helpt_contracts import topics
from helpt_contracts.events import MatchAccepted, MatchDeclined, MatchProposed, VolunteerApproved, VolunteerGuidelinesConfirmed
from helpt_contracts.examples import help_requested, volunteer_registered
from helpt_contracts.roles import Role
from helpt_matching.areas import load_areas
from helpt_platform.auth import issue_token
from helpt_platform.testing import eventually

pytestmark = pytest.mark.infra

ORG = "wzc-ter-linde"
SHIFTS = [{"start": "2026-04-01T09:00:00+02:00", "end": "2026-04-01T13:00:00+02:00"},
          {"start": "2026-04-02T09:00:00+02:00", "end": "2026-04-02T13:00:00+02:00"}]


def volunteer(postcode: str, **overrides):
    """An approved Dutch-speaking volunteer for care centres and shopping, guidelines confirmed, one task a week."""
    registered = volunteer_registered(tasks=["care-centre-support", "shopping"], postcode=postcode, languages=["nl"],
                                      competences=["first-aid"], max_distance_km=15, max_tasks_per_week=1, **overrides)
    case = uuid.uuid4()
    return registered, [registered,
                        VolunteerApproved(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=case, reason="interview-ok"),
                        VolunteerGuidelinesConfirmed(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=case,
                                                     guidelines_version="2026-03", confirmed_at=dt.datetime.now(dt.UTC))]


def need_body(**overrides):
    return {"task": "care-centre-support", "volunteers_needed": 10, "postcode": "3000", "languages": ["nl"],
            "competences": ["first-aid"], "shifts": SHIFTS, "note": "Report to the reception desk.", **overrides}


def partner(service, organisation: str = ORG) -> dict[str, str]:
    token = issue_token(service.secret, sub=f"{organisation}-desk", role=Role.PARTNER, tenant="leuven", organisation=organisation)
    return {"Authorization": f"Bearer {token}"}


def count(service, collection: str, query: dict) -> int:
    async def run() -> int:
        from pymongo import AsyncMongoClient

        client = AsyncMongoClient(service.settings.mongodb_url.get_secret_value(), uuidRepresentation="standard")
        try:
            return await client[service.settings.database_name][collection].count_documents(query)
        finally:
            await client.close()

    return asyncio.run(run())


def path(link: str) -> str:
    return "/m/" + link.split("/m/", 1)[1]


def test_a_need_of_ten_and_a_waiting_request_get_the_least_total_distance_not_the_nearest_first(matching):
    # The offer clock runs once at start (before anything is there), then only when a need is posted.
    service = matching(expiry_interval_s=3600, offers_per_round=1)
    request = help_requested(task="shopping", postcode="3110", languages=["nl"])  # Rotselaar, waiting: nobody yet
    service.publish(request)
    eventually(lambda: count(service, "requests", {"open": True}), lambda n: n == 1, "the waiting request")
    # Nine at the care centre's postcode (Leuven), one in Wijgmaal (near both), one in Bertem (near only the centre).
    pool = [volunteer("3000") for _ in range(9)] + [volunteer("3018"), volunteer("3060")]
    service.publish(*[e for _, events in pool for e in events])
    eventually(lambda: count(service, "volunteers", {"eligible": True, "guidelines_confirmed": True}),
               lambda n: n == len(pool), "the volunteers")
    assert service.offers(request.request_id)["offers"] == [], "the request must still be waiting when the need arrives"

    answer = service.client.post("/api/v1/matching/needs", json=need_body(), headers=partner(service))
    assert answer.status_code == 201, answer.text
    need = answer.json()
    assert need["organisation"] == ORG and need["slots"] == {"needed": 10, "filled": 0, "offered": 10, "open": 0}

    # Brute force: every way to give the need 10 of the 11 and the request one of the rest.
    areas = load_areas("leuven")
    metres = {(r.volunteer_id, place): round(areas.distance_km(r.postcode, place) * 1000) for r, _ in pool for place in ("3000", "3110")}
    ids = [r.volunteer_id for r, _ in pool]
    best = min(((sum(metres[(v, "3000")] for v in team) + metres[(helper, "3110")], set(team), helper)
                for team in itertools.combinations(ids, 10) for helper in set(ids) - set(team)), key=lambda c: c[0])
    # Nearest first for the need's slots, then the request: what a greedy matcher would do, and worse.
    greedy_team = sorted(ids, key=lambda v: metres[(v, "3000")])[:10]
    greedy = sum(metres[(v, "3000")] for v in greedy_team) + min(metres[(v, "3110")] for v in set(ids) - set(greedy_team))
    assert best[0] < greedy

    proposed = eventually(lambda: [e for _, e in service.events_on(topics.MATCHES) if isinstance(e, MatchProposed)],
                          lambda found: len(found) >= 11, "the need's ten offers and the request's one")
    for_need = [e for e in proposed if str(e.request_id) == need["need_id"]]
    assert len(for_need) == 10 and {e.volunteer_id for e in for_need} == best[1]
    assert [e.volunteer_id for e in proposed if e.request_id == request.request_id] == [best[2]]
    assert all(e.organisation == ORG and e.task == "care-centre-support" for e in for_need)

    feed = eventually(lambda: [e for _, e in service.events_on(topics.partner_topic(ORG))],
                      lambda found: len(found) >= 10, "the partner's feed")
    assert sorted(str(e.match_id) for e in feed) == sorted(str(e.match_id) for e in for_need)

    read = service.client.get(f"/api/v1/matching/needs/{need['need_id']}", headers=partner(service))
    assert read.status_code == 200 and read.json()["slots"]["offered"] == 10 and read.json()["shifts"][0]["start"].startswith("2026-04-01T07:00")
    assert service.client.get(f"/api/v1/matching/needs/{need['need_id']}", headers=service.coordinator()).status_code == 200
    assert service.client.get(f"/api/v1/matching/needs/{need['need_id']}", headers=partner(service, "other-care")).status_code == 404


def test_bad_needs_are_refused_with_a_clear_422_and_only_partners_and_coordinators_may_post(matching):
    service = matching()
    post = lambda body, headers=None: service.client.post("/api/v1/matching/needs", json=body,  # noqa: E731
                                                          headers=headers or partner(service))
    for body, field, words in [
        (need_body(volunteers_needed=0), "volunteers_needed", "greater than or equal to 1"),
        (need_body(volunteers_needed=501), "volunteers_needed", "less than or equal to 500"),
        (need_body(competences=["juggling"]), "competences", "unknown competence 'juggling'"),
        (need_body(task="astronaut"), "task", "unknown vacancy 'astronaut'"),
        (need_body(postcode="9999"), "postcode", "not an area of leuven"),
        (need_body(shifts=[{"start": SHIFTS[0]["end"], "end": SHIFTS[0]["start"]}]), "shifts", "end after it starts"),
        (need_body(shifts=[{"start": "2026-04-01T09:00:00", "end": "2026-04-01T13:00:00"}]), "shifts", "timezone"),
        (need_body(shifts=[]), "shifts", "at least 1"),
        (need_body(note="Call Mia on 0475 12 34 56"), "note", "phone number"),
    ]:
        answer = post(body)
        assert answer.status_code == 422, (field, answer.text)
        problems = answer.json()["detail"]
        assert any(field in p["loc"] and words in p["msg"] for p in problems), (field, problems)
        assert "0475" not in answer.text  # the input is never echoed
    assert count(service, "needs", {}) == 0

    coordinator = post(need_body(), service.coordinator())
    assert coordinator.status_code == 422 and "organisation" in coordinator.text
    assert post(need_body(organisation="other-care")).status_code == 403
    for role in (Role.VOLUNTEER, Role.OPERATOR, Role.SCREENER):
        token = issue_token(service.secret, sub="someone", role=role, tenant="leuven")
        assert post(need_body(), {"Authorization": f"Bearer {token}"}).status_code == 403
    assert service.client.post("/api/v1/matching/needs", json=need_body()).status_code == 401

    # A retried post with the same key makes one need; the same key for another need is a conflict.
    key = {"Idempotency-Key": "order-2026-04-01-a", **partner(service)}
    first, again = post(need_body(), key), post(need_body(), key)
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["need_id"] == again.json()["need_id"]
    assert post(need_body(volunteers_needed=3), key).status_code == 409
    on_behalf = post(need_body(organisation=ORG), service.coordinator())
    assert on_behalf.status_code == 201 and on_behalf.json()["organisation"] == ORG
    assert count(service, "needs", {}) == 2


def test_concurrent_accepts_for_the_last_place_of_a_need_fill_it_once(matching):
    service = matching(need_spare_offers=1)
    pool = [volunteer("3000") for _ in range(3)]
    service.publish(*[e for _, events in pool for e in events])
    eventually(lambda: count(service, "volunteers", {"eligible": True, "guidelines_confirmed": True}),
               lambda n: n == 3, "the volunteers")
    need = service.client.post("/api/v1/matching/needs", json=need_body(volunteers_needed=2), headers=partner(service))
    assert need.status_code == 201 and need.json()["slots"]["offered"] == 3, need.text  # two places and one spare offer
    need_id = need.json()["need_id"]
    offers = service.wait_offers(need_id, lambda o: len(o) == 3, "three offers")

    assert service.client.post(path(offers[0]["link"]), data={"action": "accept"}).status_code == 200

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(*(client.post(service.url + path(o["link"]), data={"action": "accept"}) for o in offers[1:]))

    answers = asyncio.run(both())
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert "filled" in next(a for a in answers if a.status_code == 409).text
    slots = service.client.get(f"/api/v1/matching/needs/{need_id}", headers=partner(service)).json()["slots"]
    assert slots == {"needed": 2, "filled": 2, "offered": 0, "open": 0}
    assert sorted(o["status"] for o in service.offers(need_id)["offers"]) == ["accepted", "accepted", "taken"]
    events = eventually(lambda: [e for _, e in service.events_on(topics.partner_topic(ORG))],
                        lambda found: sum(isinstance(e, MatchDeclined) for e in found) == 1, "the taken notice")
    assert sum(isinstance(e, MatchAccepted) for e in events) == 2
