"""Intake's JSON API on the real stack: sealed through the real gdpr, published once on real Kafka."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from helpt_contracts.events import HelpRequested, VolunteerRegistered
from helpt_contracts.roles import Role
from helpt_intake.app import create_app
from helpt_intake.settings import IntakeSettings
from helpt_platform.auth import issue_token
from helpt_platform.testing import topic_events

pytestmark = pytest.mark.infra

CONTACT = {"name": "Mevrouw Canary Claes", "phone": "0470 55 66 77", "note": "hears badly, please let it ring"}
REQUEST = {"task": "shopping", "postcode": "3010", "languages": ["nl"], "consent": True, "contact": CONTACT}
OFFER = {"tasks": ["dog-walking"], "postcode": "3001", "languages": ["en", "nl"], "is_adult": True, "consent": True,
         "contact": {"name": "Canary Volunteer", "email": "canary.volunteer@example.org"}}


@pytest.fixture(scope="module")
def stack(intake_stack, ready_client):
    with intake_stack("i") as (settings, gdpr_url, secret), ready_client(settings) as client:
        yield client, settings, gdpr_url, secret



def test_a_help_request_is_published_once_sealed_with_its_consent_and_opens_only_at_gdpr(stack):
    client, settings, gdpr_url, secret = stack
    answer = client.post("/api/v1/help-requests", json=REQUEST)
    assert answer.status_code == 202, answer.text
    reference = answer.json()["reference"]
    mine = [(raw, e) for raw, e in topic_events(settings, HelpRequested.TOPIC) if e.reference == reference]
    assert len(mine) == 1
    raw, event = mine[0]
    assert isinstance(event, HelpRequested) and event.task == "shopping"
    assert event.privacy_notice_version == settings.privacy_notice_version
    assert not any(value.encode() in raw for value in CONTACT.values()), "plaintext on Kafka"
    with MongoClient(settings.mongodb_url.get_secret_value()) as mongo:
        stored = json.dumps(list(mongo[settings.database_name]["cases"].find({}, {"_id": 0})), default=str)
    assert reference in stored and not any(value in stored for value in CONTACT.values()), "plaintext in the store"

    dpo = {"Authorization": f"Bearer {issue_token(secret, sub='dpo-1', role=Role.DPO, tenant='leuven')}"}
    revealed = httpx.post(f"{gdpr_url}/api/v1/reveal", headers=dpo, json={
        "tenant": "leuven", "subject_id": str(event.subject_id), "purpose": "subject-access",
        "action": {"kind": "subject", "id": str(event.subject_id)},
        "sealed": {f.value: s.model_dump() for f, s in event.personal.items()}})
    assert revealed.json()["fields"] == CONTACT


def test_an_offer_of_help_is_published_as_a_volunteer_registration(stack):
    client, settings, *_ = stack
    answer = client.post("/api/v1/volunteers", json=OFFER)
    assert answer.status_code == 202, answer.text
    registered = [e for _, e in topic_events(settings, VolunteerRegistered.TOPIC) if str(e.volunteer_id) == answer.json()["id"]]
    assert len(registered) == 1 and registered[0].tasks == ["dog-walking"] and registered[0].languages == ["en", "nl"]
    assert registered[0].form_language is None, "an API client that does not say has no form language"


def test_an_api_client_may_say_which_language_its_form_was_in(stack):
    client, settings, *_ = stack
    answer = client.post("/api/v1/volunteers", json={**OFFER, "form_language": "fr"})
    assert answer.status_code == 202, answer.text
    registered = [e for _, e in topic_events(settings, VolunteerRegistered.TOPIC) if str(e.volunteer_id) == answer.json()["id"]]
    assert [e.form_language for e in registered] == ["fr"]
    assert client.post("/api/v1/volunteers", json={**OFFER, "form_language": "French"}).status_code == 422


def test_a_retried_submission_with_the_same_idempotency_key_publishes_nothing_new(stack):
    client, settings, *_ = stack
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = client.post("/api/v1/help-requests", json=REQUEST, headers=key)
    second = client.post("/api/v1/help-requests", json=REQUEST, headers=key)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    published = [e for _, e in topic_events(settings, HelpRequested.TOPIC) if e.reference == first.json()["reference"]]
    assert len(published) == 1


@pytest.mark.parametrize("change, status, says", [
    ({"contact": None}, 422, "contact"),
    ({"contact": {"name": "Jan"}}, 422, "phone number or an e-mail"),
    ({"favourite_colour": "blue"}, 422, "favourite_colour"),
    ({"task": "juggling"}, 422, "unknown vacancy"),
    ({"consent": False}, 422, "consent"),
    ({"languages": []}, 422, "languages"),
    ({"tenant": "atlantis"}, 422, "unknown municipality"),
], ids=["no-contact", "unreachable", "unknown-field", "unknown-vacancy", "no-consent", "no-language", "unknown-tenant"])
def test_bad_input_gets_a_clear_4xx_and_nothing_is_published(stack, change, status, says):
    client, settings, *_ = stack
    before = len(topic_events(settings, HelpRequested.TOPIC))
    body = {k: v for k, v in ({**REQUEST, **change}).items() if v is not None}
    answer = client.post("/api/v1/help-requests", json=body)
    assert answer.status_code == status, answer.text
    assert says in answer.text
    assert "Canary" not in answer.text, "an error never repeats personal data"
    assert len(topic_events(settings, HelpRequested.TOPIC)) == before


def test_malformed_oversized_or_non_json_bodies_get_their_own_4xx(stack):
    client, *_ = stack
    assert client.post("/api/v1/help-requests", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    assert client.post("/api/v1/help-requests", content=b"task=shopping", headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 415
    big = json.dumps({**REQUEST, "contact": {**CONTACT, "note": "x" * 70_000}}).encode()
    assert client.post("/api/v1/help-requests", content=big, headers={"content-type": "application/json"}).status_code == 413


def test_vacancies_are_listed_in_each_language_and_an_unknown_language_is_a_4xx(stack):
    client, *_ = stack
    for lang, title in (("nl", "De hond uitlaten"), ("en", "Walking the dog"), ("fr", "Promener le chien")):
        listing = client.get("/api/v1/vacancies", params={"lang": lang}).json()
        assert len(listing) == 12 and {"code": "dog-walking", "title": title}.items() <= next(
            v for v in listing if v["code"] == "dog-walking").items()
    assert client.get("/api/v1/vacancies", params={"lang": "de"}).status_code == 422


def test_when_gdpr_is_down_the_person_hears_503_with_the_help_desk_number_and_nothing_is_kept(infra, tmp_path):
    run = uuid.uuid4().hex[:8]
    settings = IntakeSettings(kafka_bootstrap_servers=infra.bootstrap_servers, mongodb_url=infra.mongodb_url,
                              topic_prefix=f"d-{run}.", mongodb_database=f"helpt_intake_{run}", gdpr_url="http://127.0.0.1:1",
                              jwt_secret_file=tmp_path / "jwt.secret", log_json=False)
    with TestClient(create_app(settings)) as client:
        for _ in range(100):
            if client.get("/readyz").status_code == 200:
                break
            asyncio.run(asyncio.sleep(0.2))
        answer = client.post("/api/v1/help-requests", json=REQUEST, headers={"Idempotency-Key": "k-1"})
    assert answer.status_code == 503
    assert settings.help_phone_of("leuven") in answer.json()["detail"]
    with MongoClient(infra.mongodb_url) as mongo:
        db = mongo[settings.database_name]
        assert db["cases"].count_documents({}) == 0 and db["idempotency_keys"].count_documents({}) == 0
    assert topic_events(settings, HelpRequested.TOPIC) == []
