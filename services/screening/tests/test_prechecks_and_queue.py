"""Pre-checks flag, never decide; the queue puts the most needed vacancies first; links cannot be forged."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest

from helpt_contracts.events import ScreeningReason
from helpt_screening.domain import Action, check_reason, default_requirements, pre_checks, queue_order
from helpt_screening.links import BadLink, ExpiredLink, LinkSigner

ADULT = {"tasks": ["shopping"], "competences": [], "is_adult": True}
CONTACT = {"name": 16 + 12, "email": 16 + 20}


def codes(flags):
    return [(f.code.value, f.detail) for f in flags]


def test_a_complete_adult_offer_for_a_vacancy_it_fits_has_no_flags():
    assert pre_checks(ADULT, CONTACT, [], default_requirements()) == []


def test_the_same_person_registered_before_is_flagged_with_the_earlier_case():
    earlier = str(uuid.uuid4())
    assert codes(pre_checks(ADULT, CONTACT, [earlier], default_requirements())) == [("repeat-registration", earlier)]


@pytest.mark.parametrize("lengths, expected", [
    ({"name": 30}, [("no-contact", "neither phone nor e-mail")]),
    ({"name": 30, "phone": 16 + 3}, [("implausible-contact", "phone too short")]),
    ({"email": 40}, [("implausible-contact", "no name")]),
])
def test_missing_or_implausible_contact_details_are_flagged(lengths, expected):
    assert codes(pre_checks(ADULT, lengths, [], default_requirements())) == expected


def test_a_minor_offering_an_adults_vacancy_and_a_driver_without_licence_are_flagged():
    facts = {"tasks": ["shopping", "logistics", "dog-walking"], "competences": [], "is_adult": False}
    assert codes(pre_checks(facts, CONTACT, [], default_requirements())) == [
        ("under-age", "shopping requires 18+"),
        ("under-age", "logistics requires 18+"),
        ("missing-competence", "logistics requires driving-licence"),
        ("under-age", "dog-walking requires 16+; check the age"),
    ]
    licensed = {"tasks": ["logistics"], "competences": ["driving-licence"], "is_adult": True}
    assert pre_checks(licensed, CONTACT, [], default_requirements()) == []


def test_screenings_requirements_agree_with_the_default_catalogue():
    catalogue = json.loads((Path(__file__).parents[3] / "services/intake/src/helpt_intake/data/catalogue.json").read_text())
    expected = {v["code"]: (v["requirements"]["min_age"], frozenset(v["requirements"]["competences"])) for v in catalogue["vacancies"]}
    assert {code: (r.min_age, r.competences) for code, r in default_requirements().items()} == expected


def test_the_queue_puts_the_vacancy_with_most_unmet_requests_first_then_the_longest_waiting():
    t0 = dt.datetime(2026, 3, 20, 9, tzinfo=dt.UTC)

    def case(name, tasks, minutes):
        return {"_id": name, "facts": {"tasks": tasks}, "registered_at": t0 + dt.timedelta(minutes=minutes)}

    cases = [case("drawer", ["drawing"], 0), case("walker", ["dog-walking"], 1), case("shopper-late", ["shopping"], 3),
             case("shopper-early", ["shopping", "drawing"], 2)]
    order = [c["_id"] for c in queue_order(cases, {"shopping": 5, "dog-walking": 1})]
    assert order == ["shopper-early", "shopper-late", "walker", "drawer"]


@pytest.mark.parametrize("action, reason, fits", [
    (Action.APPROVE, ScreeningReason.INTERVIEW_OK, True),
    (Action.APPROVE, ScreeningReason.SAFETY_CONCERN, False),
    (Action.REJECT, ScreeningReason.DUPLICATE_REGISTRATION, True),
    (Action.SUSPEND, ScreeningReason.COMPLAINT_RECEIVED, True),
    (Action.SUSPEND, ScreeningReason.IDENTITY_VERIFIED, False),
    (Action.REVERSE, ScreeningReason.DECISION_REVERSED, True),
])
def test_each_decision_takes_only_the_reason_codes_that_fit_it(action, reason, fits):
    assert (check_reason(action, reason) is None) is fits


def test_a_guidelines_link_opens_for_its_volunteer_until_it_expires_and_cannot_be_forged():
    signer = LinkSigner(b"s" * 32, dt.timedelta(days=14))
    now = dt.datetime.now(dt.UTC)
    volunteer = uuid.uuid4()
    token = signer.token("leuven", volunteer, now)
    assert signer.read(token, now).ident == volunteer
    with pytest.raises(ExpiredLink):
        signer.read(token, now + dt.timedelta(days=15))
    with pytest.raises(BadLink):
        signer.read(token.replace("leuven", "heverlee"), now)
    with pytest.raises(BadLink):
        LinkSigner(b"t" * 32, dt.timedelta(days=14)).read(token, now)
