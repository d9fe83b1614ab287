"""The public forms' rules, without a browser: what a person typed becomes a request or an offer, or
comes back with a clear problem per field; languages are chosen as people expect; catalogues are complete."""

from __future__ import annotations

import datetime as dt

import pytest

from helpt_intake.catalogue import load_catalogue
from helpt_intake.forms import HONEYPOT, check_help_request, check_offer, parse_form
from helpt_intake.i18n import languages, negotiate, translations
from helpt_intake.messages import missing
from helpt_intake.web import RateLimiter

RULES = {"region": "BE", "postcode_pattern": r"^\d{4}$"}


def form(**fields: str | list[str]) -> bytes:
    from urllib.parse import urlencode

    return urlencode([(k, v) for k, vs in fields.items() for v in (vs if isinstance(vs, list) else [vs])]).encode()


def test_a_complete_offer_becomes_the_volunteer_the_api_would_take():
    typed = parse_form(form(tasks=["dog-walking", "phone-chat"], postcode=" 3001 ", languages=["en", "nl"],
                            availability=["0-morning", "5-evening"], competences=["first-aid"], is_adult="yes",
                            name="Jan Peeters", phone="0470 12 34 56", consent="yes", max_distance_km="10",
                            max_tasks_per_week="3"))
    checked = check_offer(typed, load_catalogue(), **RULES)
    assert checked.errors == {}
    offer = checked.model
    assert offer.tasks == ["dog-walking", "phone-chat"] and offer.postcode == "3001" and offer.languages == ["en", "nl"]
    assert [(s.weekday, s.start, s.end) for s in offer.availability] == [
        (0, dt.time(9), dt.time(12)), (5, dt.time(18), dt.time(21))]
    assert offer.competences == ["first-aid"] and offer.is_adult and offer.max_distance_km == 10
    assert offer.contact.name == "Jan Peeters" and offer.contact.email is None


def test_an_empty_offer_names_every_missing_thing_and_keeps_what_was_typed():
    typed = parse_form(form(name="Jan", email="jan(at)example", **{HONEYPOT: "http://spam.example"}))
    checked = check_offer(typed, load_catalogue(), **RULES)
    assert checked.model is None
    assert set(checked.errors) == {"tasks", "postcode", "languages", "email", "consent", HONEYPOT}
    assert typed.get("name") == "Jan" and typed.get("email") == "jan(at)example"


@pytest.mark.parametrize(("phone", "email", "problem"), [
    ("", "", "Give a phone number or an e-mail address"),
    ("12", "", "Enter a phone number like"),
    ("", "no-at-sign.example.org", "Enter an e-mail address like"),
])
def test_a_request_needs_a_way_to_reach_someone(phone, email, problem):
    typed = parse_form(form(task="shopping", postcode="3010", languages="nl", name="Mevrouw Claes", phone=phone,
                            email=email, consent="yes"))
    checked = check_help_request(typed, load_catalogue(), **RULES)
    field = "email" if email else "phone"
    assert checked.errors[field].message.startswith(problem)


def test_a_request_for_someone_else_is_marked_so_and_a_collective_task_cannot_be_asked_by_a_citizen():
    fine = parse_form(form(task="pharmacy", postcode="3000", languages=["fr"], name="Marie", phone="+32 16 27 27 72",
                           consent="yes", for_whom="other", urgency="urgent", address="Naamsestraat 1"))
    request = check_help_request(fine, load_catalogue(), **RULES).model
    assert request.on_behalf_of_another and request.urgency == "urgent" and request.contact.address == "Naamsestraat 1"
    collective = parse_form(form(task="logistics", postcode="3000", languages="nl", name="X", phone="016272772",
                                 consent="yes"))
    assert "task" in check_help_request(collective, load_catalogue(), **RULES).errors


def test_too_long_a_text_is_refused_with_its_limit_in_the_message():
    typed = parse_form(form(task="shopping", postcode="3000", languages="nl", name="N" * 201, phone="016272772",
                            consent="yes"))
    problem = check_help_request(typed, load_catalogue(), **RULES).errors["name"]
    assert dict(problem.params) == {"limit": 200}
    assert translations("nl").gettext(problem.message) % problem.kwargs == "Houd het korter: ten hoogste 200 tekens"


@pytest.mark.parametrize(("header", "expected"), [
    ("fr-BE,fr;q=0.9,en;q=0.5", "fr"),
    ("de-DE,de;q=0.9,en;q=0.8", "en"),
    ("en;q=0.2,nl;q=0.8", "nl"),
    ("es", "nl"),
    ("", "nl"),
    ("fr;q=nonsense,en", "en"),
])
def test_the_language_follows_the_browser_and_falls_back_to_dutch(header, expected):
    assert negotiate(header, ("nl", "en", "fr")) == expected


def test_every_text_on_the_pages_is_translated_in_every_catalogue():
    assert set(languages()) >= {"nl", "en", "fr"}
    assert missing() == {}, "run `make messages` and translate the new texts"


def test_the_rate_limit_counts_per_client_and_forgets_after_its_window():
    now = [0.0]
    limiter = RateLimiter(limit=2, window_s=60, clock=lambda: now[0])
    assert limiter.allow("a") and limiter.allow("a")
    assert not limiter.allow("a"), "a third form within the minute waits"
    assert limiter.allow("b"), "another client is not held back"
    now[0] = 61
    assert limiter.allow("a"), "after the window the client may send again"
