"""The words of the messages: in the volunteer's language when we have it, English otherwise; what is asked and the link."""

from __future__ import annotations

import datetime as dt

import pytest

from helpt_matching.message_texts import Kind, language_for, render

DEADLINE = dt.datetime(2026, 3, 20, 13, 30, tzinfo=dt.UTC)  # 14:30 in Brussels (CET)
LINK = "https://helpt.example/m/abc.def"


@pytest.mark.parametrize(("language", "subject", "asked", "before"), [
    ("en", "Can you help? dog walking", "Someone 1.2 km from you needs help: dog walking.", "20 March 2026, 14:30 (Europe/Brussels)"),
    ("nl", "Kun je helpen? dog walking", "Iemand op 1,2 km van jou heeft hulp nodig: dog walking.", "20-03-2026 om 14:30 (Europe/Brussels)"),
    ("fr", "Pouvez-vous aider ? dog walking", "Une personne à 1,2 km de chez vous a besoin d'aide : dog walking.",
     "20/03/2026 à 14:30 (Europe/Brussels)"),
])
def test_an_offer_says_what_is_asked_how_far_answer_before_when_and_carries_the_link(language, subject, asked, before):
    rendered = render(Kind.OFFER, language, task="dog-walking", distance_km=1.234, deadline=DEADLINE, link=LINK)
    assert rendered.language == language
    assert rendered.subject == subject
    assert asked in rendered.body and before in rendered.body and LINK in rendered.body
    assert LINK in rendered.short and len(rendered.short) < 200


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_has_a_text_in_each_language_and_they_differ(kind):
    bodies = {lang: render(kind, lang, task="shopping", reference="H-7K3Q9", link=LINK).body for lang in ("nl", "en", "fr")}
    assert len(set(bodies.values())) == 3
    assert all("{" not in body for body in bodies.values())


def test_the_volunteers_first_language_we_have_texts_for_is_used_else_english():
    assert language_for(["fr", "nl"]) == "fr"
    assert language_for(["de", "nl"]) == "nl"
    assert language_for(["ar", "de"]) == "en"
    assert language_for(None) == "en"
    assert render(Kind.TAKEN, "de", task="shopping").language == "en"


def test_a_reminder_names_the_reference_and_no_link():
    rendered = render(Kind.REMINDER, "nl", task="shopping", reference="H-7K3Q9")
    assert "H-7K3Q9" in rendered.body and "http" not in rendered.body
