"""The phone console's back end on the real stack: real gdpr, Kafka and FerretDB.

Operators enter requests during a call, find earlier contacts by phone or e-mail, hear when
their cases are matched and done, and call back requests that waited too long.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from fastapi.testclient import TestClient
from pymongo import AsyncMongoClient, MongoClient

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope, encode_event
from helpt_contracts.events import (
    Event,
    HelpRequestCancelled,
    HelpRequested,
    MatchAccepted,
    MatchCompleted,
    MatchDeclined,
    MatchProposed,
    RequestCancellationReason,
    VolunteerRegistered,
)
from helpt_contracts.roles import Role
from helpt_intake.cases import CaseBook
from helpt_intake.settings import IntakeSettings
from helpt_platform.auth import issue_token
from helpt_platform.testing import eventually, topic_events

pytestmark = pytest.mark.infra

PHONE = "0470 12 34 56"
REQUEST = {"task": "shopping", "postcode": "3010", "languages": ["nl"], "consent": True,
           "contact": {"name": "Meneer Canary Peeters", "phone": PHONE, "email": "Canary.Peeters@Example.org"}}
OFFER = {"tasks": ["dog-walking"], "postcode": "3001", "languages": ["nl"], "is_adult": True, "consent": True,
         "contact": {"name": "Canary Helper", "phone": "0499 88 77 66"}}


@pytest.fixture(scope="module")
def stack(intake_stack, ready_client):
    with intake_stack("c") as (settings, _gdpr_url, secret), ready_client(settings) as client:
        yield client, settings, secret


def bearer(secret: bytes, role: Role, sub: str = "staff-1", *, tenant: str = "leuven", org: str | None = None,
           ttl: dt.timedelta = dt.timedelta(hours=1)) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(secret, sub=sub, role=role, tenant=tenant, organisation=org, ttl=ttl)}"}



def publish(settings: IntakeSettings, *events: Event | tuple[Event, Envelope], key: str | None = None) -> list[Envelope]:
    """Publish as matching would; an (event, envelope) pair sends an earlier one again (a redelivery).

    `key` puts them all on one partition, so they are consumed in the order given.
    """
    async def send():
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
        await producer.start()
        sent = []
        try:
            for item in events:
                event, envelope = item if isinstance(item, tuple) else (item, Envelope.for_event(item, source="matching"))
                own_key, body, headers = encode_event(event, envelope)
                await producer.send_and_wait(settings.topic(event.TOPIC), body, key=key.encode() if key else own_key,
                                             headers=[(k, v.encode()) for k, v in headers.items()])
                sent.append(envelope)
        finally:
            await producer.stop()
        return sent

    return asyncio.run(send())


def case_doc(settings: IntakeSettings, case_id: str) -> dict:
    with MongoClient(settings.mongodb_url.get_secret_value(), uuidRepresentation="standard") as mongo:
        return mongo[settings.database_name]["cases"].find_one({"_id": uuid.UUID(case_id)})


def submit(client: TestClient, headers: dict | None = None, body: dict | None = None, path: str = "/api/v1/help-requests") -> str:
    answer = client.post(path, json=body or REQUEST, headers=headers or {})
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def match(kind: type[Event], request_id: str, match_id: uuid.UUID, **extra) -> Event:
    if kind is MatchProposed:
        extra = {"task": "shopping", "distance_km": 1.2, "offer_round": 1,
                 "expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), **extra}
    return kind(tenant="leuven", match_id=match_id, request_id=uuid.UUID(request_id), volunteer_id=uuid.uuid4(), **extra)


def status_of(client: TestClient, headers: dict, case_id: str) -> str | None:
    return next((c["status"] for c in client.get("/api/v1/console/my-cases", headers=headers).json() if c["id"] == case_id), None)


# --- taking a call ---------------------------------------------------------------------------

def test_a_request_taken_on_the_phone_is_published_once_as_phone_with_the_operator_and_is_in_my_cases(stack):
    client, settings, secret = stack
    operator = bearer(secret, Role.OPERATOR, "operator-anna")
    case_id = submit(client, operator)
    published = [e for e in [e for _, e in topic_events(settings, topics.HELP_REQUESTS)] if isinstance(e, HelpRequested) and str(e.request_id) == case_id]
    assert len(published) == 1
    assert published[0].channel == "phone" and published[0].entered_by == "operator-anna"

    mine = client.get("/api/v1/console/my-cases", headers=operator).json()
    assert [c["id"] for c in mine].count(case_id) == 1
    case = next(c for c in mine if c["id"] == case_id)
    assert case | {"created_at": None, "status_at": None, "reference": None} == {
        "id": case_id, "reference": None, "kind": "request", "channel": "phone", "task": "shopping", "tasks": None,
        "postcode": "3010", "urgency": "normal", "volunteers_needed": 1, "organisation": None, "status": "received",
        "status_at": None, "created_at": None, "entered_by": "operator-anna"}
    others = client.get("/api/v1/console/my-cases", headers=bearer(secret, Role.OPERATOR, "operator-bert")).json()
    assert case_id not in [c["id"] for c in others]
    stored = json.dumps(case_doc(settings, case_id), default=str)
    assert not any(s in stored.lower() for s in ("canary", "peeters", "470123456", "12 34 56", "example.org")), "plaintext in the case"


def test_a_self_service_request_has_channel_web_and_no_operator(stack):
    client, settings, _ = stack
    case_id = submit(client)
    doc = case_doc(settings, case_id)
    assert doc["channel"] == "web" and doc["entered_by"] is None
    event = next(e for e in [e for _, e in topic_events(settings, topics.HELP_REQUESTS)] if str(getattr(e, "request_id", "")) == case_id)
    assert event.channel == "web" and event.entered_by is None


def test_an_offer_taken_on_the_phone_carries_the_operator_too(stack):
    client, settings, secret = stack
    case_id = submit(client, bearer(secret, Role.OPERATOR, "operator-anna"), OFFER, "/api/v1/volunteers")
    event = next(e for e in [e for _, e in topic_events(settings, topics.VOLUNTEERS)] if str(e.volunteer_id) == case_id)
    assert isinstance(event, VolunteerRegistered) and event.channel == "phone" and event.entered_by == "operator-anna"


def test_a_partner_asks_in_its_own_name_and_its_volunteers_join_its_network(stack):
    client, settings, secret = stack
    partner = bearer(secret, Role.PARTNER, "wgk-desk", org="wit-gele-kruis")
    request_id = submit(client, partner)
    event = next(e for e in [e for _, e in topic_events(settings, topics.HELP_REQUESTS)] if str(getattr(e, "request_id", "")) == request_id)
    assert event.channel == "partner" and event.organisation == "wit-gele-kruis" and event.entered_by is None
    assert case_doc(settings, request_id)["organisation"] == "wit-gele-kruis"

    volunteer_id = submit(client, partner, OFFER, "/api/v1/volunteers")
    offer = next(e for e in [e for _, e in topic_events(settings, topics.VOLUNTEERS)] if str(e.volunteer_id) == volunteer_id)
    assert offer.channel == "partner" and offer.networks == ["wit-gele-kruis"]

    other = client.post("/api/v1/help-requests", json={**REQUEST, "organisation": "rode-kruis"}, headers=partner)
    assert other.status_code == 403 and "own organisation" in other.json()["detail"]


# --- finding earlier contacts ----------------------------------------------------------------

@pytest.mark.parametrize("typed", [{"phone": "+32 470 12 34 56"}, {"phone": "0470123456"}, {"phone": "+32470 123 456"},
                                   {"email": " canary.peeters@EXAMPLE.org "}],
                         ids=["international-with-spaces", "national-no-spaces", "mixed", "e-mail-other-case"])
def test_search_finds_earlier_contacts_however_the_operator_types_the_number(stack, typed):
    client, _, secret = stack
    operator = bearer(secret, Role.OPERATOR, "operator-search")
    first = submit(client, operator)
    second = submit(client, operator, {**REQUEST, "contact": {"name": "Canary", "phone": "+32470 12 34 56"}})
    found = client.post("/api/v1/console/search", json=typed, headers=operator)
    assert found.status_code == 200, found.text
    ids = [c["id"] for c in found.json()]
    assert first in ids and (second in ids) == ("phone" in typed)
    if "phone" in typed:
        assert ids.index(second) < ids.index(first), "newest first"


def test_search_by_another_number_finds_none_of_them(stack):
    client, _, secret = stack
    operator = bearer(secret, Role.OPERATOR, "operator-search")
    mine = submit(client, operator)
    found = client.post("/api/v1/console/search", json={"phone": "0470 12 34 57"}, headers=operator).json()
    assert mine not in [c["id"] for c in found]


# --- case status from matching ---------------------------------------------------------------

def test_match_events_move_the_status_once_each_and_an_unknown_case_does_not_stop_the_consumer(stack):
    client, settings, secret = stack
    operator = bearer(secret, Role.OPERATOR, "operator-status")
    case_id = submit(client, operator)
    a = uuid.uuid4()
    publish(settings, match(MatchProposed, case_id, a))
    eventually(lambda: status_of(client, operator, case_id), lambda s: s == "offered", "offered")
    acceptance = match(MatchAccepted, case_id, a)
    [accepted] = publish(settings, acceptance)
    eventually(lambda: status_of(client, operator, case_id), lambda s: s == "matched", "matched")
    before = case_doc(settings, case_id)

    # On the case's partition, before the completion: a case this intake never held, and a redelivery.
    stranger = match(MatchAccepted, str(uuid.uuid4()), uuid.uuid4())
    publish(settings, stranger, (acceptance, accepted), match(MatchCompleted, case_id, a), key=case_id)
    eventually(lambda: status_of(client, operator, case_id), lambda s: s == "done", "done after an unknown case's event")
    after = case_doc(settings, case_id)
    assert after["applied"].count(str(accepted.id)) == 1, "the redelivered event was applied once"
    assert after["version"] == before["version"] + 1, "only the completion changed the case"
    assert after["status_at"] > before["status_at"]
    assert [e for _, e in topic_events(settings, topics.dead_letter_topic(topics.MATCHES))] == [], "nothing parked: skipped, not failed"

    publish(settings, match(MatchDeclined, case_id, uuid.uuid4(), reason="expired"))
    eventually(lambda: case_doc(settings, case_id)["version"], lambda v: v == after["version"] + 1, "late decline recorded")
    assert status_of(client, operator, case_id) == "done", "done is final"


def test_a_request_whose_offers_all_lapse_is_waiting_again(stack):
    client, settings, secret = stack
    operator = bearer(secret, Role.OPERATOR, "operator-status")
    case_id = submit(client, operator)
    a, b = uuid.uuid4(), uuid.uuid4()
    publish(settings, match(MatchProposed, case_id, a), match(MatchProposed, case_id, b),
            match(MatchDeclined, case_id, a, reason="declined"))
    eventually(lambda: case_doc(settings, case_id)["version"], lambda v: v == 3, "three events applied")
    assert status_of(client, operator, case_id) == "offered"
    publish(settings, match(MatchDeclined, case_id, b, reason="expired"))
    eventually(lambda: status_of(client, operator, case_id), lambda s: s == "received", "waiting again")


def test_a_withdrawn_request_is_cancelled_and_a_late_match_does_not_revive_it(stack):
    client, settings, secret = stack
    operator = bearer(secret, Role.OPERATOR, "operator-status")
    case_id = submit(client, operator)
    a = uuid.uuid4()
    publish(settings, match(MatchProposed, case_id, a))
    publish(settings, HelpRequestCancelled(tenant="leuven", request_id=uuid.UUID(case_id),
                                           reason=RequestCancellationReason.NO_LONGER_NEEDED))
    eventually(lambda: status_of(client, operator, case_id), lambda s: s == "cancelled", "cancelled")
    publish(settings, match(MatchAccepted, case_id, a))
    eventually(lambda: case_doc(settings, case_id)["version"], lambda v: v == 3, f"the late acceptance recorded: {case_doc(settings, case_id)}")
    assert status_of(client, operator, case_id) == "cancelled"


# --- call-backs ------------------------------------------------------------------------------

def test_requests_waiting_too_long_without_a_match_are_called_back_urgent_first(stack):
    client, settings, secret = stack
    operator = bearer(secret, Role.OPERATOR, "operator-calls")
    older = submit(client, operator)
    urgent = submit(client, operator, {**REQUEST, "urgency": "urgent"})
    offered = submit(client, operator)
    matched = submit(client, operator)
    volunteer = submit(client, operator, OFFER, "/api/v1/volunteers")
    publish(settings, match(MatchProposed, offered, uuid.uuid4()), match(MatchAccepted, matched, uuid.uuid4()))
    eventually(lambda: (case_doc(settings, offered)["status"], case_doc(settings, matched)["status"]),
               lambda s: s == ("offered", "matched"), "statuses from matching")

    async def waiting(hours_later: float) -> list[str]:
        async with AsyncMongoClient(settings.mongodb_url.get_secret_value(), uuidRepresentation="standard", tz_aware=True) as mongo:
            book = CaseBook(settings, mongo[settings.database_name])
            now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours_later)
            return [str(c.id) for c in await book.waiting_too_long("leuven", now)]

    later = [c for c in asyncio.run(waiting(settings.call_back_after_hours + 0.5)) if c in {older, urgent, offered, matched, volunteer}]
    assert later == [urgent, older, offered]
    assert not {older, urgent, offered} & set(asyncio.run(waiting(settings.call_back_after_hours - 0.5)))
    now = client.get("/api/v1/console/call-backs", headers=operator)
    assert now.status_code == 200 and older not in [c["id"] for c in now.json()], "not yet waited long enough"


# --- who may ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, body", [("GET", "/api/v1/console/my-cases", None), ("GET", "/api/v1/console/call-backs", None),
                                               ("POST", "/api/v1/console/search", {"phone": "0470123456"})])
def test_the_console_is_for_operators_only(stack, method, path, body):
    client, _, secret = stack

    def call(headers=None):
        return client.request(method, path, json=body, headers=headers or {})

    assert call().status_code == 401
    assert call({"Authorization": "Bearer not-a-token"}).status_code == 401
    expired = call(bearer(secret, Role.OPERATOR, ttl=dt.timedelta(seconds=-60)))
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    for role in (Role.CITIZEN, Role.SCREENER, Role.PARTNER):
        assert call(bearer(secret, role, org="wit-gele-kruis")).status_code == 403
    assert call(bearer(secret, Role.OPERATOR, tenant="gent")).status_code == 403, "not served here"


def test_a_search_by_address_is_refused_so_a_number_never_travels_in_a_url(stack):
    client, _, secret = stack
    answer = client.get("/api/v1/console/search?phone=0470123456", headers=bearer(secret, Role.OPERATOR))
    assert answer.status_code in (404, 405) and "Tel" not in answer.text, "no search by address"


def test_a_search_needs_a_phone_number_or_an_e_mail_address_it_can_read(stack):
    client, _, secret = stack
    operator = bearer(secret, Role.OPERATOR)
    for params in ({}, {"phone": "  ", "email": ""}):
        answer = client.post("/api/v1/console/search", json=params, headers=operator)
        assert answer.status_code == 422 and "phone number or an e-mail address" in answer.json()["detail"]
    for params in ({"phone": "Canary-street"}, {"email": "canary-at-home"}, {"phone": "9" * 41}):
        answer = client.post("/api/v1/console/search", json=params, headers=operator)
        assert answer.status_code == 422, answer.text
        assert "Canary" not in answer.text and "canary" not in answer.text, "an error never repeats what was typed"


@pytest.mark.parametrize("who, body, status", [
    ("garbage", REQUEST, 401),
    ("expired", REQUEST, 401),
    ("screener", REQUEST, 403),
    ("operator", {**REQUEST, "tenant": "gent"}, 403),
], ids=["bad-token", "expired-token", "role-may-not-submit", "another-municipality"])
def test_a_submission_with_a_token_that_may_not_submit_is_refused_and_nothing_is_published(stack, who, body, status):
    client, settings, secret = stack
    headers = {"garbage": {"Authorization": "Bearer nope"},
               "expired": bearer(secret, Role.OPERATOR, ttl=dt.timedelta(seconds=-60)),
               "screener": bearer(secret, Role.SCREENER),
               "operator": bearer(secret, Role.OPERATOR)}[who]
    before = len([e for _, e in topic_events(settings, topics.HELP_REQUESTS)])
    answer = client.post("/api/v1/help-requests", json=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert len([e for _, e in topic_events(settings, topics.HELP_REQUESTS)]) == before


def test_a_contact_number_that_is_no_phone_number_is_a_clear_422_and_nothing_is_kept(stack):
    client, settings, secret = stack
    body = {**REQUEST, "contact": {"name": "Canary", "phone": "call the neighbour"}}
    answer = client.post("/api/v1/help-requests", json=body, headers=bearer(secret, Role.OPERATOR, "operator-typo"))
    assert answer.status_code == 422 and "phone number" in answer.json()["detail"] and "neighbour" not in answer.text
    assert client.get("/api/v1/console/my-cases", headers=bearer(secret, Role.OPERATOR, "operator-typo")).json() == []


# --- after the call: changes, cancellations, withdrawals ---------------------------------------

def test_an_operator_cancels_a_request_once_and_a_closed_request_changes_no_more(stack):
    client, settings, secret = stack
    operator = bearer(secret, Role.OPERATOR, "operator-cancel")
    request_id = client.post("/api/v1/help-requests", json=REQUEST, headers=operator).json()["id"]
    cancel = {"reason": "no-longer-needed"}
    assert client.post(f"/api/v1/help-requests/{request_id}/cancel", json=cancel, headers=operator).json() == {
        "id": request_id, "status": "cancelled"}
    again = client.post(f"/api/v1/help-requests/{request_id}/cancel", json=cancel, headers=operator)
    assert again.status_code == 409, "a second cancellation publishes nothing"
    late = client.patch(f"/api/v1/help-requests/{request_id}", json={"urgency": "urgent"}, headers=operator)
    assert late.status_code == 409
    cancelled = [e for e in [e for _, e in topic_events(settings, topics.HELP_REQUESTS)]
                 if isinstance(e, HelpRequestCancelled) and str(e.request_id) == request_id]
    assert len(cancelled) == 1 and cancelled[0].reason == RequestCancellationReason.NO_LONGER_NEEDED
    assert case_doc(settings, request_id)["status"] == "cancelled"


def test_a_changed_phone_number_is_sealed_for_the_same_person_and_finds_the_case(stack):
    client, settings, secret = stack
    operator = bearer(secret, Role.OPERATOR, "operator-change")
    request_id = client.post("/api/v1/help-requests", json=REQUEST, headers=operator).json()["id"]
    new_phone = "0468 11 22 33"
    changed = client.patch(f"/api/v1/help-requests/{request_id}", headers=operator,
                           json={"postcode": "3012", "contact": {"phone": new_phone}})
    assert changed.status_code == 200 and sorted(changed.json()["changed"]) == ["phone", "postcode"]
    updates = [e for e in [e for _, e in topic_events(settings, topics.HELP_REQUESTS)]
               if type(e).__name__ == "HelpRequestUpdated" and str(e.request_id) == request_id]
    assert len(updates) == 1 and updates[0].postcode == "3012" and set(updates[0].personal) == {"phone"}
    assert new_phone.replace(" ", "") not in updates[0].model_dump_json() and new_phone not in updates[0].model_dump_json()
    original = next(e for e in [e for _, e in topic_events(settings, topics.HELP_REQUESTS)]
                    if isinstance(e, HelpRequested) and str(e.request_id) == request_id)
    doc = case_doc(settings, request_id)
    assert doc["postcode"] == "3012" and doc["subject_ids"] == [original.subject_id], "the same person at gdpr"
    for number in (new_phone, PHONE):  # the new number finds the case, and so does the old one
        found = client.post("/api/v1/console/search", json={"phone": number}, headers=operator).json()
        assert request_id in [c["id"] for c in found]


def test_an_operator_withdraws_a_volunteer_once(stack):
    client, settings, secret = stack
    operator = bearer(secret, Role.OPERATOR, "operator-withdraw")
    volunteer_id = client.post("/api/v1/volunteers", json=OFFER, headers=operator).json()["id"]
    first = client.post(f"/api/v1/volunteers/{volunteer_id}/withdraw", json={"reason": "volunteer-withdrew"}, headers=operator)
    second = client.post(f"/api/v1/volunteers/{volunteer_id}/withdraw", json={"reason": "volunteer-withdrew"}, headers=operator)
    assert (first.status_code, second.status_code) == (200, 409)
    withdrawn = [e for e in [e for _, e in topic_events(settings, topics.VOLUNTEERS)]
                 if type(e).__name__ == "VolunteerWithdrawn" and str(e.volunteer_id) == volunteer_id]
    assert len(withdrawn) == 1


def test_changes_are_refused_to_whoever_may_not_make_them(stack):
    client, settings, secret = stack
    operator = bearer(secret, Role.OPERATOR, "operator-guard")
    partner = bearer(secret, Role.PARTNER, "partner-1", org="wzc-sint-anna")
    own = client.post("/api/v1/help-requests", json=REQUEST, headers=partner).json()["id"]
    other = client.post("/api/v1/help-requests", json=REQUEST, headers=operator).json()["id"]
    cancel = {"reason": "resolved-elsewhere"}
    url = "/api/v1/help-requests/{}/cancel".format
    assert client.post(url(other), json=cancel).status_code == 401
    assert client.post(url(other), json=cancel, headers=bearer(secret, Role.CITIZEN)).status_code == 403
    assert client.post(url(other), json=cancel, headers=partner).status_code == 403, "not the partner's request"
    assert client.post(url(own), json=cancel, headers=bearer(secret, Role.PARTNER, "p-2", org="other-org")).status_code == 403
    assert client.post(url(uuid.uuid4()), json=cancel, headers=operator).status_code == 404
    assert client.post(url(other), json=cancel, headers=bearer(secret, Role.OPERATOR, tenant="elsewhere")).status_code in (403, 404)
    assert client.post(url(other), json={"reason": "erased"}, headers=operator).status_code == 422
    assert client.patch(f"/api/v1/help-requests/{other}", json={}, headers=operator).status_code == 422
    assert client.patch(f"/api/v1/help-requests/{other}", json={"task": "juggling"}, headers=operator).status_code == 422
    assert client.patch(f"/api/v1/help-requests/{other}", json={"surprise": 1}, headers=operator).status_code == 422
    assert client.post(url(own), json=cancel, headers=partner).status_code == 200, "the partner who asked may cancel"
