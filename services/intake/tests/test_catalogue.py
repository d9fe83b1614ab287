"""The shipped catalogue, the checks every draft passes, and a store that is down (no infrastructure)."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient

from helpt_intake.app import create_app
from helpt_intake.catalogue import TEXT_FIELDS, load_catalogue, parse_catalogue
from helpt_intake.settings import IntakeSettings
from helpt_platform.auth import Refusal

TWELVE = {"shopping", "food-delivery", "pharmacy", "dog-walking", "post-office", "drawing", "phone-chat", "video-call",
          "letter-writing", "logistics", "triage-phone-support", "care-centre-support"}


def shipped_body() -> dict:
    return copy.deepcopy(load_catalogue().content())


def test_the_shipped_catalogue_has_the_twelve_vacancies_with_every_text_in_dutch_english_and_french():
    catalogue = load_catalogue()
    assert catalogue.version == 1 and catalogue.languages == ("nl", "en", "fr")
    assert {v.code for v in catalogue.vacancies} == TWELVE
    for vacancy in catalogue.vacancies:
        for lang in ("nl", "en", "fr"):
            text = vacancy.texts[lang]
            assert all(getattr(text, field).strip() for field in TEXT_FIELDS), (vacancy.code, lang)
        # Every language says something different from the others (no untranslated copy).
        assert len({vacancy.texts[lang].asks for lang in catalogue.languages}) == 3, vacancy.code
    assert {v.code for v in catalogue.vacancies if v.collective} == {"logistics", "triage-phone-support", "care-centre-support"}
    assert catalogue.get("pharmacy").requirements.min_age == 18
    assert "driving-licence" in catalogue.get("logistics").requirements.competences
    assert catalogue.get("juggling") is None and not catalogue.has("juggling")


def test_the_listing_in_one_language_carries_what_a_volunteer_needs_to_decide():
    listing = load_catalogue().listing("fr")
    dog = next(v for v in listing if v["code"] == "dog-walking")
    assert dog["title"] == "Promener le chien" and dog["visit"] is True and not dog["collective"]
    assert {"asks", "material", "profile", "requirements"} <= dog.keys()
    with pytest.raises(Refusal) as refused:
        load_catalogue().listing("de")
    assert refused.value.status == 422 and "nl, en, fr" in refused.value.reason


def refusal(body) -> str:
    with pytest.raises(Refusal) as refused:
        parse_catalogue(body, 2)
    assert refused.value.status == 422
    return refused.value.reason


def test_a_draft_missing_a_language_is_refused_naming_the_vacancy_and_the_language():
    body = shipped_body()
    del body["vacancies"][2]["texts"]["fr"]
    assert "vacancy pharmacy has no text in fr" in refusal(body)


def test_a_draft_missing_one_text_names_the_vacancy_language_and_text():
    body = shipped_body()
    del body["vacancies"][0]["texts"]["en"]["material"]
    assert "vacancy shopping texts.en.material" in refusal(body)


@pytest.mark.parametrize("change, says", [
    (lambda b: b["vacancies"].append(copy.deepcopy(b["vacancies"][0])), "vacancy code used twice: shopping"),
    (lambda b: b["vacancies"][0].update(code="Not A Code!"), "code"),
    (lambda b: b.update(languages=[]), "languages"),
    (lambda b: b.update(languages=["nl", "en", "fr", "de"]), "has no text in de"),
    (lambda b: b["vacancies"][1]["texts"]["nl"].update(summary="   "), "vacancy food-delivery texts.nl.summary"),
    (lambda b: b["vacancies"][1].update(requirements={"min_age": -3, "competences": []}), "min_age"),
    (lambda b: b.update(vacancies="everything"), "vacancies"),
], ids=["duplicate-code", "bad-code", "no-language", "language-without-texts", "blank-text", "negative-age", "not-a-list"])
def test_an_invalid_draft_is_refused_with_a_reason(change, says):
    body = shipped_body()
    change(body)
    assert says in refusal(body)


def test_a_draft_that_is_not_an_object_is_refused_and_metadata_from_a_get_is_ignored():
    assert "languages and vacancies" in refusal(["shopping"])
    body = {**shipped_body(), "version": 7, "based_on": 6}
    assert parse_catalogue(body, 2).version == 2


def test_when_the_store_is_down_the_public_hears_503_with_the_help_desk_number(tmp_path):
    settings = IntakeSettings(mongodb_url="mongodb://127.0.0.1:1/", kafka_bootstrap_servers="127.0.0.1:1",
                              jwt_secret_file=tmp_path / "jwt.secret", log_json=False)
    offer = {"tasks": ["dog-walking"], "postcode": "3000", "languages": ["nl"], "is_adult": True, "consent": True,
             "contact": {"name": "Canary Down", "phone": "0470 00 00 00"}}
    with TestClient(create_app(settings)) as client:
        listing = client.get("/api/v1/vacancies")
        submission = client.post("/api/v1/volunteers", json=offer)
    for answer in (listing, submission):
        assert answer.status_code == 503 and settings.help_phone_of("leuven") in answer.json()["detail"]
