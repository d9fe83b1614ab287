"""The coordinators' back office on real Kafka and FerretDB: waiting requests, manual matches and overrides (audited,
published once), who may use it, idle volunteers and stale requests told once a day, pools, partners' history and quotas;
every page and error state checked with axe-core in headless Chromium, in nl, en and fr, its buttons pressed by keyboard."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from helpt_contracts import topics
from helpt_contracts.events import (
    MatchAccepted,
    MatchCancelled,
    MatchDeclined,
    MatchProposed,
    VolunteerApproved,
    VolunteerGuidelinesConfirmed,
    VolunteerRejected,
)
from helpt_contracts.examples import help_requested, sealed, volunteer_registered
from helpt_contracts.sealed import PersonalField
from helpt_contracts.roles import Role
from helpt_matching.i18n import missing, translations
from helpt_platform.auth import issue_token
from helpt_platform.testing import axe_violations, chromium, eventually

pytestmark = pytest.mark.infra

API = "/api/v1/matching/backoffice"
ORG = "woonzorg-leuven"


def volunteer(tasks=("dog-walking",), postcode="3001", languages=("en",), *, confirmed=True, approved=True):
    """A registered volunteer, approved (or rejected) by screening: (events, volunteer id)."""
    registered = volunteer_registered(tasks=list(tasks), postcode=postcode, languages=list(languages))
    case, vid = uuid.uuid4(), registered.volunteer_id
    if not approved:
        return [registered, VolunteerRejected(tenant="leuven", volunteer_id=vid, case_id=case, reason="safety-concern")], vid
    events = [registered, VolunteerApproved(tenant="leuven", volunteer_id=vid, case_id=case, reason="interview-ok")]
    if confirmed:
        events.append(VolunteerGuidelinesConfirmed(tenant="leuven", volunteer_id=vid, case_id=case, guidelines_version="2026-03",
                                                   confirmed_at=dt.datetime.now(dt.UTC)))
    return events, vid


def dog_walk(**overrides):
    return help_requested(task="dog-walking", postcode="3001", languages=["en"], **overrides)


def token(service, role: Role = Role.COORDINATOR, **extra: Any) -> str:
    return issue_token(service.secret, sub=f"{role.value}-1", role=role, tenant="leuven", **extra)


def bearer(service, role: Role = Role.COORDINATOR, **extra: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(service, role, **extra)}"}


def documents(service, collection: str, selector: dict[str, Any]) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        client = AsyncMongoClient(service.settings.mongodb_url.get_secret_value(), uuidRepresentation="standard")
        try:
            return [d async for d in client[service.settings.database_name][collection].find(selector)]
        finally:
            await client.close()

    return asyncio.run(read())


def eligible(service, n: int) -> None:
    eventually(lambda: len(documents(service, "volunteers", {"eligible": True})), lambda k: k >= n, f"{n} eligible volunteers")


def listed(service, request_id) -> dict[str, Any]:
    """The request as the back office's open list shows it (waits until it is there)."""
    rows = eventually(lambda: service.client.get(f"{API}/requests", headers=bearer(service)).json(),
                      lambda rows: any(r["id"] == str(request_id) for r in rows), "the request in the back office")
    return next(r for r in rows if r["id"] == str(request_id))


def of_match(service, topic: str, match_id: str, kind: type) -> list[Any]:
    return [e for _r, e in service.events_on(topic) if isinstance(e, kind) and str(e.match_id) == match_id]


@contextlib.contextmanager
def signed_in_client(service, role: Role = Role.COORDINATOR) -> Iterator[httpx.Client]:
    """A browser-like client signed in through the sign-in form; another role's sign-in is refused, so its cookie is set by hand."""
    with httpx.Client(base_url=service.url, timeout=60) as client:
        answer = client.post("/en/backoffice/sign-in", data={"token": token(service, role)})
        assert answer.status_code == (303 if role is Role.COORDINATOR else 403), answer.text
        if role is not Role.COORDINATOR:
            client.cookies.set("helpt_coordinator_token", token(service, role))
        yield client


def test_every_back_office_text_is_translated_into_dutch_and_french():
    assert missing() == {}


def test_a_request_nobody_fits_waits_in_plain_sight_and_is_offered_once_a_fitting_volunteer_is_approved(matching):
    service = matching()
    request = dog_walk()
    service.publish(request)
    row = listed(service, request.request_id)
    assert (row["eligible"], row["matched"], row["rounds"]) == (0, False, [])
    with signed_in_client(service) as browser:
        page = browser.get("/en/backoffice/requests")
        assert page.status_code == 200 and "No eligible volunteer" in page.text and request.reference in page.text
        assert "Geen inzetbare vrijwilliger" in browser.get("/nl/backoffice/requests").text

    events, walker = volunteer()
    service.publish(*events)
    offers = service.wait_offers(request.request_id, lambda o: len(o) == 1, "an offer once a dog walker is approved")
    assert offers[0]["volunteer_id"] == str(walker)
    row = eventually(lambda: listed(service, request.request_id), lambda r: r["rounds"], "round 1 in the back office")
    assert row["eligible"] == 1 and row["rounds"] == [[1, {"open": 1}]]


def test_manual_match_and_override_publish_once_on_both_topics_leave_an_audit_trail_and_refuse_a_second_try(matching):
    service = matching(offers_per_round=1, partner_quotas={ORG: 1})
    first, first_id = volunteer()
    second, second_id = volunteer(postcode="3010")  # farther: the round offers the first one
    service.publish(*first, *second)
    eligible(service, 2)
    request = dog_walk(organisation=ORG)
    service.publish(request)
    service.wait_offers(request.request_id, lambda o: len(o) == 1, "round 1")
    url = f"{API}/requests/{request.request_id}/match"

    for body, status in (({"volunteer_id": str(second_id)}, 422), ({"volunteer_id": str(second_id), "reason": "  "}, 422),
                         ({"volunteer_id": str(second_id), "reason": "x" * 501}, 422), ({"reason": "knows the dog"}, 422),
                         ({"volunteer_id": str(uuid.uuid4()), "reason": "knows the dog"}, 404)):
        assert service.client.post(url, json=body, headers=bearer(service)).status_code == status, body
    assert service.client.post(f"{API}/requests/{uuid.uuid4()}/match", json={"volunteer_id": str(second_id), "reason": "r"},
                               headers=bearer(service)).status_code == 404

    made = service.client.post(url, json={"volunteer_id": str(second_id), "reason": "Walked this dog before"}, headers=bearer(service))
    assert made.status_code == 201, made.text
    match_id = made.json()["match_id"]
    again = service.client.post(url, json={"volunteer_id": str(first_id), "reason": "second click"}, headers=bearer(service))
    assert again.status_code == 409

    for topic in (topics.MATCHES, topics.partner_topic(ORG)):
        eventually(lambda t=topic: of_match(service, t, match_id, MatchAccepted), lambda e: len(e) >= 1, f"accepted on {topic}")
        assert len(of_match(service, topic, match_id, MatchProposed)) == 1
        assert len(of_match(service, topic, match_id, MatchAccepted)) == 1
    offers = service.offers(request.request_id)["offers"]
    assert {(o["volunteer_id"], o["status"]) for o in offers} == {(str(first_id), "taken"), (str(second_id), "accepted")}
    taken = [e for _r, e in service.events_on(topics.MATCHES) if isinstance(e, MatchDeclined) and e.volunteer_id == first_id]
    assert [e.reason.value for e in taken] == ["taken-by-another"]

    detail = service.client.get(f"{API}/requests/{request.request_id}", headers=bearer(service)).json()
    assert [(a["action"], a["actor"], a["reason"], a["match_id"]) for a in detail["audit"]] == [
        ("manual-match", "coordinator-1", "Walked this dog before", match_id)]
    partner = next(p for p in service.client.get(f"{API}/partners", headers=bearer(service)).json() if p["organisation"] == ORG)
    assert (partner["proposed"], partner["accepted"], partner["active"], partner["quota"]) == (2, 1, 1, 1)
    assert {c["volunteer_id"] for c in partner["contacts"]} == {str(first_id), str(second_id)}

    override = f"{API}/matches/{match_id}/override"
    assert service.client.post(override, json={}, headers=bearer(service)).status_code == 422
    assert service.client.post(f"{API}/matches/{uuid.uuid4()}/override", json={"reason": "r"}, headers=bearer(service)).status_code == 404
    swapped = service.client.post(override, json={"reason": "Volunteer is ill", "volunteer_id": str(first_id)}, headers=bearer(service))
    assert swapped.status_code == 200, swapped.text
    assert swapped.json()["cancelled"]["match_id"] == match_id
    replacement = swapped.json()["replacement"]["match_id"]
    assert service.client.post(override, json={"reason": "again"}, headers=bearer(service)).status_code == 409

    eventually(lambda: of_match(service, topics.partner_topic(ORG), replacement, MatchAccepted), lambda e: len(e) == 1, "the replacement")
    cancelled = of_match(service, topics.MATCHES, match_id, MatchCancelled)
    assert [e.reason.value for e in cancelled] == ["coordinator-override"]
    assert len(of_match(service, topics.MATCHES, replacement, MatchAccepted)) == 1
    detail = service.client.get(f"{API}/requests/{request.request_id}", headers=bearer(service)).json()
    assert [(a["action"], a["volunteer_id"]) for a in detail["audit"]] == [
        ("manual-match", str(second_id)), ("override", str(second_id)), ("manual-match", str(first_id))]
    with signed_in_client(service) as browser:
        page = browser.get(f"/fr/backoffice/requests/{request.request_id}").text
        assert "Volunteer is ill" in page and "Piste d’audit" in page
        assert "1 sur 1 mises en relation en cours utilisées" in browser.get("/fr/backoffice/partners").text


def test_a_manual_match_racing_a_volunteers_accept_leaves_exactly_one_match(matching):
    service = matching(offers_per_round=1)
    first, _ = volunteer()
    second, second_id = volunteer(postcode="3010")
    service.publish(*first, *second)
    eligible(service, 2)
    request = dog_walk()
    service.publish(request)
    link = service.wait_offers(request.request_id, lambda o: len(o) == 1, "round 1")[0]["link"]

    def accept() -> int:
        return service.client.post("/m/" + link.split("/m/", 1)[1], data={"action": "accept"}).status_code

    def assign() -> int:
        return service.client.post(f"{API}/requests/{request.request_id}/match", headers=bearer(service),
                                   json={"volunteer_id": str(second_id), "reason": "urgent, phoned her"}).status_code

    with ThreadPoolExecutor(2) as pool:
        accepted, assigned = (f.result() for f in [pool.submit(accept), pool.submit(assign)])
    assert sorted([accepted == 200, assigned == 201]) == [False, True], (accepted, assigned)
    eventually(lambda: documents(service, "claims", {"unsent": True}), lambda pending: not pending, "every decision published")
    won = [e for _r, e in service.events_on(topics.MATCHES) if isinstance(e, MatchAccepted) and e.request_id == request.request_id]
    assert len(won) == 1
    audit = service.client.get(f"{API}/requests/{request.request_id}", headers=bearer(service)).json()["audit"]
    assert len(audit) == (1 if assigned == 201 else 0)

def test_partners_operators_and_screeners_are_refused_every_back_office_endpoint_and_page(matching):
    service = matching()
    some = uuid.uuid4()
    calls = [("GET", f"{API}/requests"), ("GET", f"{API}/requests/stale"), ("GET", f"{API}/requests/{some}"),
             ("GET", f"{API}/pools"), ("GET", f"{API}/volunteers/idle"), ("GET", f"{API}/partners"),
             ("POST", f"{API}/requests/{some}/match"), ("POST", f"{API}/matches/{some}/override"),
             ("POST", f"{API}/volunteers/{some}/still-needed"), ("POST", f"{API}/requests/{some}/remind")]
    pages = [("GET", "/en/backoffice/"), ("GET", "/nl/backoffice/requests"), ("GET", "/fr/backoffice/stale"),
             ("GET", f"/en/backoffice/requests/{some}"), ("GET", "/en/backoffice/pools"), ("GET", "/en/backoffice/idle"),
             ("GET", "/en/backoffice/partners"), ("POST", f"/en/backoffice/requests/{some}/match"),
             ("POST", f"/en/backoffice/requests/{some}/override"), ("POST", f"/en/backoffice/requests/{some}/remind"),
             ("POST", f"/en/backoffice/volunteers/{some}/still-needed")]
    for method, path in calls:
        assert service.client.request(method, path, json={"reason": "r"}).status_code == 401, path
        for role, extra in ((Role.PARTNER, {"organisation": ORG}), (Role.OPERATOR, {}), (Role.SCREENER, {})):
            answer = service.client.request(method, path, content=b"not json", headers=bearer(service, role, **extra))
            assert answer.status_code == 403, (role, path)
    for role in (Role.PARTNER, Role.OPERATOR, Role.SCREENER):
        with signed_in_client(service, role) as browser:
            for method, path in pages:
                answer = browser.request(method, path, data={"reason": "r", "volunteer": str(some)})
                assert answer.status_code == 403, (role, path)
    with httpx.Client(base_url=service.url) as anonymous:
        assert anonymous.get("/en/backoffice/pools").headers["location"] == "/en/backoffice/sign-in"
    with signed_in_client(service) as browser:  # a coordinator's form posted from another site
        cross = browser.post(f"/en/backoffice/volunteers/{some}/still-needed", headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403


def test_idle_volunteers_and_stale_requests_are_told_once_a_day_however_often_the_button_is_clicked(matching):
    service = matching(idle_after_days=0, stale_after_hours=0, offers_per_round=1)
    idle_events, idle_id = volunteer(tasks=("shopping",))
    busy_events, busy_id = volunteer()
    service.publish(*idle_events, *busy_events)
    eligible(service, 2)
    request = dog_walk(personal={PersonalField.NAME: sealed(), PersonalField.EMAIL: sealed()})  # reachable by e-mail
    service.publish(request)
    service.wait_offers(request.request_id, lambda o: len(o) == 1, "the dog walker's offer")

    rows = service.client.get(f"{API}/volunteers/idle", headers=bearer(service)).json()
    assert [r["id"] for r in rows] == [str(idle_id)]  # the one holding an open offer is not idle
    with signed_in_client(service) as browser:
        for _ in range(2):
            click = browser.post(f"/en/backoffice/volunteers/{idle_id}/still-needed")
            assert click.status_code == 303
        assert click.headers["location"].endswith(f"done=already&id={idle_id}")
        assert "Sent " in browser.get("/en/backoffice/idle").text
        stale = browser.get("/en/backoffice/stale")
        assert request.reference in stale.text and "call-back list" in stale.text
        for _ in range(2):
            browser.post(f"/en/backoffice/requests/{request.request_id}/remind", data={"from": "stale"})
    second = service.client.post(f"{API}/volunteers/{idle_id}/still-needed", headers=bearer(service))
    assert (second.status_code, second.json()["queued"], second.json()["already_asked_today"]) == (200, False, True)
    assert service.client.post(f"{API}/volunteers/{uuid.uuid4()}/still-needed", headers=bearer(service)).status_code == 404

    # The Messenger's queue (helpt_matching.messages) holds one of each, whatever the clicks.
    told = documents(service, "messages", {"kind": "still_needed"})
    assert [(m["volunteer_id"], m["requested_by"]) for m in told] == [(idle_id, "coordinator-1")]
    reminded = documents(service, "messages", {"kind": "reminder"})
    assert [(m["request_id"], m["requested_by"]) for m in reminded] == [(request.request_id, "coordinator-1")]


def test_pools_count_eligible_volunteers_per_area_task_and_language(matching):
    service = matching()
    both, _ = volunteer(tasks=("dog-walking", "shopping"), languages=("en", "nl"))
    unconfirmed, _ = volunteer(confirmed=False)
    rejected, _ = volunteer(approved=False)
    kessel_lo, _ = volunteer(tasks=("shopping",), postcode="3010", languages=("fr",))
    service.publish(*both, *unconfirmed, *rejected, *kessel_lo)
    eligible(service, 3)
    rows = service.client.get(f"{API}/pools", headers=bearer(service)).json()
    assert [(r["postcode"], r["area"], r["task"], r["language"], r["eligible"], r["unconfirmed"]) for r in rows] == [
        ("3001", "Heverlee", "dog-walking", "en", 2, 1), ("3001", "Heverlee", "dog-walking", "nl", 1, 0),
        ("3001", "Heverlee", "shopping", "en", 1, 0), ("3001", "Heverlee", "shopping", "nl", 1, 0),
        ("3010", "Kessel-Lo", "shopping", "fr", 1, 0)]


def tab_to(page, name: str, presses: int = 120) -> bool:
    """Press Tab until the focused element's text holds `name`; whether it got there."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if name in (page.evaluate("document.activeElement ? document.activeElement.innerText || '' : ''") or ""):
            return True
    return False


@pytest.mark.browser
def test_every_back_office_page_and_error_state_passes_axe_in_dutch_english_and_french(matching):
    service = matching(idle_after_days=0, stale_after_hours=0, offers_per_round=1, partner_quotas={ORG: 1})
    near, _ = volunteer()
    farther, farther_id = volunteer(postcode="3010")
    idle, _ = volunteer(tasks=("shopping",))
    service.publish(*near, *farther, *idle)
    eligible(service, 3)
    nobody = help_requested(task="pharmacy", postcode="3001", languages=["fr"])
    partnered = dog_walk(organisation=ORG)
    per_language = {lang: dog_walk() for lang in ("nl", "en", "fr")}
    service.publish(nobody, partnered, *per_language.values())
    for request in (nobody, partnered, *per_language.values()):
        listed(service, request.request_id)
    made = service.client.post(f"/api/v1/matching/backoffice/requests/{partnered.request_id}/match",
                               json={"volunteer_id": str(farther_id), "reason": "Knows the family's dog"}, headers=bearer(service))
    assert made.status_code == 201, made.text

    with chromium() as browser:
        for lang in ("nl", "en", "fr"):
            _ = translations(lang).gettext
            page = browser.new_page()
            base = f"{service.url}/{lang}/backoffice"

            def clean(what: str, status: int | None = None, response=None) -> None:
                if status is not None:
                    assert response is not None and response.status == status, (lang, what, response and response.status)
                assert axe_violations(page) == [], f"{lang}: {what}"

            clean("sign-in", 200, page.goto(f"{base}/sign-in"))
            with page.expect_navigation():
                page.get_by_role("button", name=_("Sign in")).click()
            assert page.get_by_role("alert").is_visible()
            clean("sign-in without a token")
            page.fill("#token", token(service))
            page.get_by_role("button", name=_("Sign in")).click()
            page.wait_for_url(f"{base}/")
            clean("overview")
            for path in ("requests", "stale", "pools", "partners", "statistics", f"requests/{nobody.request_id}"):
                clean(path, 200, page.goto(f"{base}/{path}"))
            assert _("Open: no eligible volunteer") in page.locator("main").inner_text()

            clean("a matched request", 200, page.goto(f"{base}/requests/{partnered.request_id}"))
            page.get_by_role("button", name=_("Call off this match")).click()
            assert page.get_by_role("alert").is_visible()
            clean("an override without a reason")

            own = per_language[lang]
            clean("an open request", 200, page.goto(f"{base}/requests/{own.request_id}"))
            page.locator("#main").focus()
            assert tab_to(page, _("Match with this volunteer")), f"{lang}: the match button is not reachable by keyboard"
            with page.expect_navigation():
                page.keyboard.press("Enter")
            clean("a manual match without a volunteer or reason")
            page.locator("input[name=volunteer]").first.check()
            page.fill("#reason", "Asked for by the neighbourhood team")
            service.client.post(f"/api/v1/matching/backoffice/requests/{own.request_id}/match",
                                json={"volunteer_id": page.locator("input[name=volunteer]").first.get_attribute("value"),
                                      "reason": "a colleague was faster"}, headers=bearer(service))
            with page.expect_navigation():
                page.get_by_role("button", name=_("Match with this volunteer")).click()
            assert page.locator("h1").inner_text() == _("Nothing was changed")
            clean("a manual match that came second")

            clean("idle volunteers", 200, page.goto(f"{base}/idle"))
            page.locator("#main").focus()
            assert tab_to(page, _("You are still needed")), f"{lang}: the still-needed button is not reachable by keyboard"
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert page.get_by_role("status").is_visible()
            clean("idle volunteers after a click")
            page.goto(f"{base}/stale")
            page.locator("#main").focus()
            assert tab_to(page, _("Remind the requester")), f"{lang}: the reminder button is not reachable by keyboard"
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert page.get_by_role("status").is_visible()
            clean("stale requests after a reminder")
            clean("not found", 404, page.goto(f"{base}/requests/{uuid.uuid4()}"))
            page.close()

            stranger = browser.new_context()
            stranger.add_cookies([{"name": "helpt_coordinator_token", "value": token(service, Role.PARTNER, organisation=ORG),
                                   "url": service.url}])
            page = stranger.new_page()
            clean("a partner's visit", 403, page.goto(f"{base}/requests"))
            stranger.close()


def test_the_statistics_page_draws_the_seeds_table_with_its_numbers_beside_each_chart(matching):
    service = matching()
    dutch = [volunteer_registered(tasks=["dog-walking", "shopping"], form_language="nl") for _ in range(3)]
    english = volunteer_registered(tasks=["dog-walking"], form_language="en")
    service.publish(*dutch, english, dog_walk(form_language="en"))
    eventually(lambda: service.client.get("/api/v1/stats", headers=bearer(service)).json()["totals"],
               lambda totals: (totals["offers_total"], totals["requests_total"]) == (7, 1), "the offers and the request counted")
    with signed_in_client(service) as browser:
        page = browser.get("/en/backoffice/statistics")
    assert page.status_code == 200
    text = page.text
    assert '<figcaption id="offers-per-vacancy-caption">Offers of help per vacancy and language of the form</figcaption>' in text
    assert '<th scope="row">dog-walking</th><td>3</td><td>1</td>' in text, "3 Dutch and 1 English offer to walk a dog"
    assert '<th scope="row">shopping</th><td>3</td><td>0</td>' in text
    assert "Offers of help: <strong>7</strong>" in text and "Help requests: <strong>1</strong>" in text
    assert 'aria-current="page">Statistics</a>' in text
