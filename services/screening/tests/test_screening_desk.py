"""A screener's work on the real stack: cases from intake's offers, decisions published once, reveals through gdpr."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from pymongo import MongoClient

from helpt_contracts.events import (
    MatchAccepted,
    SubjectErasureRequested,
    VolunteerApproved,
    VolunteerGuidelinesConfirmed,
    VolunteerRegistered,
    VolunteerRejected,
    VolunteerSuspended,
    VolunteerUpdated,
    VolunteerWithdrawn,
)
from helpt_contracts.examples import help_requested, volunteer_registered
from helpt_contracts.roles import Role
from helpt_platform.testing import eventually

pytestmark = pytest.mark.infra

CONTACT = {"name": "Canary Screenee", "phone": "0470 12 34 56", "email": "canary.screenee@example.org"}
OFFER = {"tasks": ["shopping", "logistics"], "postcode": "3001", "languages": ["nl"], "is_adult": True, "consent": True,
         "contact": CONTACT}
NOTE = "Canary note: called her mother, sounds reliable"


def offer(stack, **change) -> str:
    answer = stack.intake.post("/api/v1/volunteers", json={**OFFER, **change})
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def registered(stack, **overrides) -> str:
    event = volunteer_registered(**overrides)
    stack.publish(event)
    stack.wait_for_case(event.volunteer_id)
    return str(event.volunteer_id)


def decide(stack, case_id: str, decision: str = "approve", reason: str = "interview-ok", **extra):
    return stack.screening.post(f"/api/v1/screening/cases/{case_id}/decision", headers=stack.token(),
                                json={"decision": decision, "reason": reason, **extra})


def decisions_for(stack, case_id: str, kind=None) -> list:
    return [e for _, e in stack.events_on(VolunteerApproved.TOPIC)
            if str(e.volunteer_id) == case_id and (kind is None or isinstance(e, kind))]


def published(stack, case_id: str) -> dict:
    return stack.wait_for_case(case_id, lambda c: not c["pending_publication"], "the decision to be published")


def test_an_offer_through_intake_opens_exactly_one_case_even_when_its_event_is_delivered_twice(stack):
    case_id = offer(stack)
    case = stack.wait_for_case(case_id)
    assert case["state"] == "open" and case["facts"]["tasks"] == ["shopping", "logistics"]
    assert {"code": "missing-competence", "detail": "logistics requires driving-licence"} in case["flags"]
    assert case["sealed_fields"] == ["email", "name", "phone"]

    record = next(r for r, e in stack.events_on(VolunteerRegistered.TOPIC) if str(e.volunteer_id) == case_id)
    stack.republish(record)
    # Same key, so after the redelivery: once the update shows, the duplicate was consumed.
    stack.publish(VolunteerUpdated(tenant="leuven", volunteer_id=uuid.UUID(case_id), competences=["driving-licence"]))
    # The history (the log) shows a change the moment it is decided; the case's flags follow a moment later.
    case = stack.wait_for_case(case_id, lambda c: c["history"][-1]["action"] == "updated"
                               and not any(f["code"] == "missing-competence" for f in c["flags"]), "the update")
    assert [h["action"] for h in case["history"]] == ["registered", "updated"]
    queue = stack.screening.get("/api/v1/screening/queue", headers=stack.token()).json()
    assert [c["id"] for c in queue].count(case_id) == 1
    with MongoClient(stack.mongodb_url, uuidRepresentation="standard") as mongo:
        assert mongo[stack.settings.database_name]["cases"].count_documents({"_id": uuid.UUID(case_id)}) == 1


def test_the_same_person_registering_again_is_flagged_by_blind_index(stack):
    first = offer(stack, contact={"name": "Canary Twice", "phone": "0470 99 88 77"})
    second = offer(stack, contact={"name": "Canary Twice", "phone": "+32 470 998877"})
    stack.wait_for_case(first)
    case = stack.wait_for_case(second)
    assert {"code": "repeat-registration", "detail": first} in case["flags"]


@pytest.mark.parametrize("decision, reason, kind", [
    ("approve", "interview-ok", VolunteerApproved),
    ("reject", "safety-concern", VolunteerRejected),
])
def test_a_double_clicked_decision_publishes_exactly_one_event_and_the_second_click_hears_409(stack, decision, reason, kind):
    case_id = registered(stack)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: decide(stack, case_id, decision, reason), range(2)))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    case = published(stack, case_id)
    assert case["state"] == ("approved" if decision == "approve" else "rejected")
    assert [h["action"] for h in case["history"]] == ["registered", decision]
    events = eventually(lambda: decisions_for(stack, case_id), lambda found: len(found) >= 1, "the event on Kafka")
    assert len(events) == 1 and isinstance(events[0], kind) and events[0].reason.value == reason


def test_a_suspension_publishes_once_and_a_reversal_reopens_the_case_with_its_history(stack):
    case_id = registered(stack)
    assert decide(stack, case_id).status_code == 200
    suspend = lambda _: stack.screening.post(f"/api/v1/screening/cases/{case_id}/suspend", headers=stack.token(),  # noqa: E731
                                             json={"reason": "complaint-received"})
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(suspend, range(2)))
    assert sorted(a.status_code for a in answers) == [200, 409]
    reverse = stack.screening.post(f"/api/v1/screening/cases/{case_id}/reverse", headers=stack.token(sub="screener-2"),
                                   json={"reason": "decision-reversed"})
    assert reverse.status_code == 200, reverse.text
    case = published(stack, case_id)
    assert case["state"] == "open"
    assert [(h["action"], h["by"], h["to_state"]) for h in case["history"]] == [
        ("registered", "intake", "open"), ("approve", "screener-1", "approved"), ("suspend", "screener-1", "suspended"),
        ("reverse", "screener-2", "open")]
    events = eventually(lambda: decisions_for(stack, case_id), lambda found: len(found) >= 3, "three events")
    assert [type(e).__name__ for e in events] == ["VolunteerApproved", "VolunteerSuspended", "VolunteerDecisionReversed"]


def test_a_screener_sees_the_details_while_the_case_is_open_and_the_note_stays_sealed(stack):
    case_id = offer(stack)
    stack.wait_for_case(case_id)
    reveal = lambda: stack.screening.post(f"/api/v1/screening/cases/{case_id}/reveal", headers=stack.token())  # noqa: E731
    opened = eventually(reveal, lambda r: r.status_code == 200, "gdpr to know the case")  # gdpr learns it from Kafka
    assert opened.json()["fields"] == CONTACT
    assert decide(stack, case_id, "ask-for-information", "incomplete-information", note=NOTE).status_code == 200
    assert reveal().json()["notes"][0]["note"] == NOTE
    assert decide(stack, case_id, "reject", "does-not-meet-profile").status_code == 200
    published(stack, case_id)
    closed = reveal()
    assert closed.status_code == 409 and "Canary" not in closed.text
    with MongoClient(stack.mongodb_url, uuidRepresentation="standard") as mongo:
        db = mongo[stack.settings.database_name]
        stored = json.dumps([list(db[name].find({})) for name in db.list_collection_names()], default=str)
    raw = b"".join(r.value for r, _ in stack.events_on(VolunteerApproved.TOPIC))
    for plaintext in (*CONTACT.values(), NOTE):
        assert plaintext not in stored and plaintext.encode() not in raw, "plaintext in the store or on Kafka"


def test_the_queue_puts_volunteers_for_the_most_wanted_vacancy_first_then_the_longest_waiting(stack):
    requests = [help_requested(task="pharmacy"), help_requested(task="pharmacy"), help_requested(task="pharmacy"),
                help_requested(task="post-office"), help_requested(task="post-office")]
    matched = requests[0]
    stack.publish(*requests, MatchAccepted(tenant="leuven", match_id=uuid.uuid4(), request_id=matched.request_id,
                                                     volunteer_id=uuid.uuid4()))
    waiting_longest = registered(stack, tasks=["letter-writing"])
    post = registered(stack, tasks=["post-office"])
    pharmacy_early = registered(stack, tasks=["pharmacy", "drawing"])
    pharmacy_late = registered(stack, tasks=["pharmacy"])
    mine = {waiting_longest, post, pharmacy_early, pharmacy_late}

    def queue():
        return [c for c in stack.screening.get("/api/v1/screening/queue", headers=stack.token()).json() if c["id"] in mine]

    # pharmacy: 3 requests, 1 matched = 2 unmet; post-office: 2 unmet; then waiting time; letter-writing: none.
    order = eventually(queue, lambda q: [c["unmet_demand"] for c in q] == [2, 2, 2, 0], "demand to be counted")
    assert [c["id"] for c in order] == [post, pharmacy_early, pharmacy_late, waiting_longest]
    stack.publish(help_requested(task="pharmacy"))
    order = eventually(queue, lambda q: q[0]["unmet_demand"] == 3, "the new request to count")
    assert [c["id"] for c in order] == [pharmacy_early, pharmacy_late, post, waiting_longest]


def test_an_approved_volunteer_confirms_the_guidelines_once_through_the_signed_link(stack):
    case_id = registered(stack)
    assert decide(stack, case_id).status_code == 200
    link = stack.wait_for_case(case_id)["guidelines_link"]
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = stack.screening.get(f"/{path}", params={"lang": "fr"})
    assert page.status_code == 200 and "Consignes pour les bénévoles" in page.text
    for _ in range(2):  # a second click changes nothing
        confirmed = stack.screening.post(f"/{path}", data={"lang": "en"})
        assert confirmed.status_code == 200 and "Thank you" in confirmed.text
    case = published(stack, case_id)
    assert case["guidelines_confirmed_at"] and case["guidelines_link"] is None
    events = eventually(lambda: decisions_for(stack, case_id, VolunteerGuidelinesConfirmed), lambda f: len(f) >= 1, "confirmation")
    assert len(events) == 1
    assert stack.screening.get(f"/{path[:-4]}AAAA").status_code == 404


@pytest.mark.parametrize("how, status, says", [
    ("unknown case", 404, "no such screening case"),
    ("withdrawn case", 409, "withdrawn"),
    ("already decided", 409, "approved"),
    ("reason outside the list", 422, "reason"),
    ("reason that does not fit", 422, "does not fit approve"),
    ("operator token", 403, "lacks screening:decide"),
    ("no token", 401, "bearer token"),
    ("token of another municipality", 403, "municipality"),
    ("unknown field", 422, "extra"),
    ("not JSON", 422, "json"),
])
def test_each_bad_decision_gets_its_answer_and_publishes_nothing(stack, how, status, says):
    case_id = registered(stack)
    headers, body = stack.token(), {"decision": "approve", "reason": "interview-ok"}
    url = f"/api/v1/screening/cases/{case_id}/decision"
    if how == "unknown case":
        url = f"/api/v1/screening/cases/{uuid.uuid4()}/decision"
    elif how == "withdrawn case":
        stack.publish(VolunteerWithdrawn(tenant="leuven", volunteer_id=uuid.UUID(case_id), reason="volunteer-withdrew"))
        stack.wait_for_case(case_id, lambda c: c["state"] == "withdrawn", "the withdrawal")
    elif how == "already decided":
        assert decide(stack, case_id).status_code == 200
        body = {"decision": "reject", "reason": "other"}
    elif how == "reason outside the list":
        body["reason"] = "looks-nice"
    elif how == "reason that does not fit":
        body["reason"] = "complaint-received"
    elif how == "operator token":
        headers = stack.token(Role.OPERATOR)
    elif how == "no token":
        headers = {}
    elif how == "token of another municipality":
        headers = stack.token(tenant="atlantis")
    elif how == "unknown field":
        body["favourite_colour"] = "blue"
    before = len(decisions_for(stack, case_id))
    if how == "not JSON":
        answer = stack.screening.post(url, headers={**headers, "content-type": "application/json"}, content=b"{approve")
    else:
        answer = stack.screening.post(url, headers=headers, json=body)
    assert answer.status_code == status, answer.text
    assert says in answer.text.lower()
    if how != "already decided":
        assert stack.case(case_id).json()["history"][-1]["action"] in ("registered", "withdrawn")
        assert len(decisions_for(stack, case_id)) == before


def test_erasure_deletes_the_volunteers_case_and_answers_with_a_receipt(stack):
    subject = uuid.uuid4()
    case_id = registered(stack, subject_id=subject)
    purge_id = uuid.uuid4()
    stack.publish(SubjectErasureRequested(tenant="leuven", purge_id=purge_id, subject_id=subject, subject_kind="volunteer"))
    eventually(lambda: stack.case(case_id), lambda r: r.status_code == 404, "the case to be erased")
    receipts = eventually(lambda: [e for _, e in stack.events_on("gdpr.receipts.v1") if e.purge_id == purge_id and e.service.value == "screening"],
                          lambda found: bool(found), "the receipt")
    assert receipts[0].counts["cases"] == 1 and receipts[0].counts["case_log"] == 1


def test_the_guidelines_page_passes_axe_in_every_language_and_confirms_from_the_keyboard(stack):
    from playwright.sync_api import sync_playwright

    from helpt_platform.testing import CHROMIUM_ARGS, axe_violations, chromium_path

    case_id = registered(stack)
    assert decide(stack, case_id).status_code == 200
    link = stack.wait_for_case(case_id)["guidelines_link"]
    url = str(stack.screening.base_url).rstrip("/") + "/" + link.split("://", 1)[1].split("/", 1)[1]
    problems = {}
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page()
            for lang in ("nl", "en", "fr"):
                page.goto(f"{url}?lang={lang}")
                problems[lang] = axe_violations(page)
            page.keyboard.press("Tab")  # the language links, then the button
            for _ in range(5):
                if page.evaluate("document.activeElement.tagName") == "BUTTON":
                    break
                page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            page.wait_for_selector("[role=status]")
            problems["confirmed"] = axe_violations(page)
        finally:
            chromium.close()
    assert problems == {"nl": [], "en": [], "fr": [], "confirmed": []}
    assert stack.wait_for_case(case_id)["guidelines_confirmed_at"]
