"""The public pages in a real browser against the real stack (gdpr, intake, Kafka, FerretDB).

A person offers to walk a dog in English and asks for help in Dutch; each form produces exactly one
sealed event with the consent version. Every page and every error state passes axe-core (WCAG 2.1
AA) in Dutch, English and French, and the forms work with the keyboard alone.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlencode

import httpx
import pytest

from helpt_contracts.events import HelpRequested, VolunteerRegistered
from helpt_contracts.types import Channel
from helpt_intake.app import create_app
from helpt_intake.settings import IntakeSettings
from helpt_contracts.roles import Role
from helpt_platform.auth import issue_token, local_secret
from helpt_platform.testing import (
    axe_violations,
    chromium,
    eventually,
    free_port,
    serve_in_thread,
    topic_events,
)

pytestmark = [pytest.mark.infra, pytest.mark.browser]
LANGUAGES = ("nl", "en", "fr")
CANARY_NAME, CANARY_PHONE = "Canary Dogwalker", "0470 98 76 54"



@pytest.fixture(scope="module")
def site(intake_stack):
    with intake_stack("p", form_rate_limit=3, trust_forwarded_for=True, smtp_port=free_port(),
                      call_back_after_hours=0.001) as (settings, _gdpr_url, _secret):  # 3.6 s: the call-back list fills
        base_url = serve_in_thread(create_app(settings))
        with base_url as base:
            eventually(lambda: httpx.get(f"{base}/readyz").status_code, lambda s: s == 200, "intake ready")
            yield base, settings


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched



def test_a_person_offers_to_walk_a_dog_in_english_and_gets_a_reference(site, browser):
    base, settings = site
    page = browser.new_page(extra_http_headers={"Accept-Language": "en-GB,en;q=0.9"})
    page.goto(f"{base}/")
    assert page.url == f"{base}/en/"
    page.get_by_role("link", name=re.compile(r"^Offer to help\W+Walking the dog$")).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Offer to help: Walking the dog"
    assert page.get_by_label("Walking the dog").is_checked(), "the tile's task is already ticked"
    page.get_by_label("Your postcode").fill("3001")
    page.get_by_label("English").check()
    page.get_by_label("Saturday morning").check()
    page.get_by_label("I am 18 or older").check()
    page.get_by_label("Your name").fill(CANARY_NAME)
    page.get_by_label("Phone number").fill(CANARY_PHONE)
    page.get_by_label("I agree that my details are used as this privacy notice says.").check()
    page.get_by_role("button", name="Send my offer").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Thank you for your offer to help"
    reference = page.locator(".reference").inner_text()
    assert re.fullmatch(r"V-[A-Z2-9]{6}", reference)
    assert axe_violations(page) == []
    page.reload()  # a reload shows the confirmation again and sends nothing

    records = topic_events(settings, VolunteerRegistered.TOPIC)
    for secret in (CANARY_NAME, CANARY_PHONE, CANARY_PHONE.replace(" ", ""), "+32470987654"):
        assert not any(secret.encode() in raw for raw, _ in records), "personal data on Kafka in plaintext"
    mine = [e for _, e in records if e.tasks == ["dog-walking"] and e.postcode == "3001"]
    assert len(mine) == 1
    offer = mine[0]
    assert offer.channel == Channel.WEB and offer.privacy_notice_version == settings.privacy_notice_version
    assert offer.form_language == "en", "the English page's form"
    assert offer.languages == ["en"] and offer.is_adult and [(s.weekday, s.start.hour) for s in offer.availability] == [(5, 9)]
    assert {f.value for f in offer.personal} == {"name", "phone"}


def test_a_request_in_dutch_for_someone_else_is_published_once(site, browser):
    base, settings = site
    page = browser.new_page()
    page.goto(f"{base}/nl/help")
    page.get_by_label("Ik vraag hulp voor iemand anders").check()
    page.get_by_label("Apotheek").check()
    page.get_by_label("Postcode").fill("3010")
    page.get_by_label("Nederlands").check()
    page.get_by_label("Naam", exact=True).fill("Mevrouw Canary")
    page.get_by_label("E-mailadres").fill("canary.request@example.org")
    page.get_by_label("Ik ga ermee akkoord", exact=False).check()
    page.get_by_role("button", name="Vraag hulp").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Bedankt, we hebben je vraag ontvangen"
    reference = page.locator(".reference").inner_text()
    mine = [e for _, e in topic_events(settings, HelpRequested.TOPIC) if getattr(e, "reference", None) == reference]
    assert len(mine) == 1
    assert mine[0].on_behalf_of_another and mine[0].task == "pharmacy" and mine[0].channel == Channel.WEB
    assert mine[0].form_language == "nl"
    assert mine[0].privacy_notice_version == settings.privacy_notice_version


def test_a_form_with_mistakes_comes_back_in_french_with_each_problem_at_its_field_and_nothing_lost(site, browser):
    base, settings = site
    before = len(topic_events(settings, HelpRequested.TOPIC))
    page = browser.new_page()
    page.goto(f"{base}/fr/help")
    page.get_by_label("Nom", exact=True).fill("Jeanne")
    page.get_by_label("Numéro de téléphone").fill("12")
    page.get_by_role("button", name="Demander de l’aide").click()
    summary = page.locator(".error-summary").inner_text()
    assert "Choisissez pour quoi vous avez besoin d’aide" in summary
    assert "Indiquez un numéro de téléphone comme 0470 12 34 56" in summary
    phone = page.get_by_label("Numéro de téléphone")
    assert phone.input_value() == "12" and page.get_by_label("Nom", exact=True).input_value() == "Jeanne"
    assert phone.get_attribute("aria-invalid") == "true"
    assert "Indiquez un numéro" in page.locator(f"#{phone.get_attribute('aria-describedby').split()[-1]}").inner_text()
    page.locator(".error-summary a", has_text="Indiquez un numéro").click()
    assert page.evaluate("document.activeElement.id") == "phone", "the summary leads to the field"
    assert len(topic_events(settings, HelpRequested.TOPIC)) == before, "nothing is published"


def test_every_page_and_error_state_passes_axe_in_every_language(site, browser):
    base, _ = site
    page = browser.new_page()
    problems: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        for path in ("", "help", "offer/dog-walking", "offer/care-centre-support", "privacy", "accessibility",
                     "received/H-ABCDEF", "no-such-page"):
            page.goto(f"{base}/{lang}/{path}")
            problems[f"{lang}/{path}"] = axe_violations(page)
            assert page.evaluate("document.documentElement.lang") == lang
        for form, button in (("help", 0), ("offer/dog-walking", 0)):
            page.goto(f"{base}/{lang}/{form}")
            page.locator("button[type=submit]").nth(button).click()
            assert page.locator(".error-summary").count() == 1
            problems[f"{lang}/{form} (errors)"] = axe_violations(page)
        page.goto(f"{base}/{lang}/help")
        page.evaluate("document.getElementById('homepage').value = 'http://spam.example'")  # what a bot does
        page.locator("button[type=submit]").click()
        assert page.locator("#homepage-error").count() == 1
        problems[f"{lang}/help (honeypot)"] = axe_violations(page)
    assert {where: found for where, found in problems.items() if found} == {}


def test_the_offer_form_works_with_the_keyboard_alone(site, browser):
    base, _ = site
    page = browser.new_page()
    page.goto(f"{base}/en/offer/shopping")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    reached: list[str] = []
    for _ in range(120):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
        if reached[-1] == "Send my offer":
            break
    for control in ("tasks", "postcode", "max_distance_km", "languages", "availability", "max_tasks_per_week",
                    "is_adult", "name", "phone", "email", "note", "consent", "Send my offer"):
        assert control in reached, f"{control} cannot be reached with Tab"
    assert "homepage" not in reached, "the trap for software is out of a person's way"
    order = [reached.index(c) for c in ("postcode", "languages", "name", "phone", "consent", "Send my offer")]
    assert order == sorted(order), "focus follows the reading order"


def test_honeypot_double_submission_and_rate_limit(site):
    base, settings = site
    with httpx.Client(base_url=base) as client:
        token = re.search(r'name="submission" value="([^"]+)"', client.get("/en/help").text).group(1)
        fields = {"task": "shopping", "postcode": "3000", "languages": "nl", "name": "Canary Twice", "phone": "016272772",
                  "consent": "yes", "submission": token}
        headers = {"content-type": "application/x-www-form-urlencoded", "x-forwarded-for": "203.0.113.7"}
        bot = client.post("/en/help", content=urlencode({**fields, "homepage": "http://spam.example"}), headers=headers)
        assert bot.status_code == 422 and "Leave the field" in bot.text
        first = client.post("/en/help", content=urlencode(fields), headers=headers)
        second = client.post("/en/help", content=urlencode(fields), headers=headers)
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"], "a double click gives the same reference"
        reference = first.headers["location"].rsplit("/", 1)[1]
        assert len([e for _, e in topic_events(settings, HelpRequested.TOPIC) if getattr(e, "reference", None) == reference]) == 1

        # The limit is 3 forms a window here: the third passes, the fourth waits, with what was typed kept.
        assert client.post("/en/help", content=urlencode({**fields, "submission": str(uuid.uuid4())}),
                           headers=headers).status_code == 303
        waited = client.post("/en/help", content=urlencode({**fields, "submission": str(uuid.uuid4())}), headers=headers)
        assert waited.status_code == 429 and "wait a few minutes" in waited.text and "Canary Twice" in waited.text
        other = client.post("/en/help", content=urlencode({**fields, "submission": str(uuid.uuid4())}),
                            headers={**headers, "x-forwarded-for": "198.51.100.9"})
        assert other.status_code == 303, "another household is not held back"


@pytest.mark.parametrize(("content_type", "body", "status", "heading"), [
    ("application/json", b'{"task": "shopping"}', 415, "Ce formulaire n’a pas pu être lu"),
    ("application/x-www-form-urlencoded", b"note=" + b"x" * 70_000, 413, "Ce formulaire est trop long"),
])
def test_unreadable_forms_get_a_clear_page_in_the_persons_language(site, content_type, body, status, heading):
    base, _ = site
    answer = httpx.post(f"{base}/fr/help", content=body, headers={"content-type": content_type})
    assert answer.status_code == status and heading in answer.text


def test_unknown_pages_and_languages_get_a_404_page(site):
    base, _ = site
    assert httpx.get(f"{base}/en/offer/juggling").status_code == 404
    unknown = httpx.get(f"{base}/de/", headers={"accept-language": "fr"})
    assert unknown.status_code == 404 and "Page introuvable" in unknown.text


def sign_in(page, base: str, settings: IntakeSettings, role: Role, lang: str = "nl", sub: str = "operator-7") -> None:
    token = issue_token(local_secret(settings.jwt_secret_file), sub=sub, role=role, tenant="leuven")
    page.goto(f"{base}/{lang}/console/sign-in")
    page.locator("#token").fill(token)
    page.locator("button[type=submit]").last.click()


def test_an_operator_takes_a_call_finds_the_caller_again_and_follows_the_case(site, browser):
    base, settings = site
    page = browser.new_page()
    page.goto(f"{base}/nl/console/")
    assert page.url.endswith("/nl/console/sign-in"), "the console is not shown without signing in"
    sign_in(page, base, settings, Role.VOLUNTEER)
    assert "niet van een medewerker van het callcenter" in page.locator(".error-summary").inner_text()

    sign_in(page, base, settings, Role.OPERATOR)
    page.get_by_role("link", name="Nieuwe hulpvraag").first.click()
    page.get_by_label("Boodschappen doen").check()
    page.get_by_label("Dringend, vandaag").check()
    page.get_by_label("Postcode").fill("3012")
    page.get_by_label("Nederlands").check()
    page.get_by_label("Naam", exact=True).fill("Meneer Canary Phone")
    page.get_by_label("Telefoonnummer").fill("016 22 33 44")
    page.get_by_label("Ik las de privacyverklaring voor aan de beller, en die gaat akkoord.").check()
    page.get_by_role("button", name="Vraag hulp").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Genoteerd"
    reference = page.locator(".reference").inner_text()

    mine = [e for _, e in topic_events(settings, HelpRequested.TOPIC) if getattr(e, "reference", None) == reference]
    assert len(mine) == 1
    assert mine[0].channel == Channel.PHONE and mine[0].entered_by == "operator-7" and mine[0].urgency == "urgent"
    assert mine[0].form_language == "nl", "the console's language"
    assert mine[0].privacy_notice_version == settings.privacy_notice_version

    page.goto(f"{base}/nl/console/my-cases")
    row = page.locator("tr", has_text=reference)
    assert "wacht op een vrijwilliger" in row.inner_text() and "dringend" in row.inner_text()
    page.goto(f"{base}/nl/console/search")
    page.get_by_label("Telefoonnummer").fill("+32 16 22 33 44")  # the same number, written another way
    page.get_by_role("button", name="Zoeken").click()
    assert page.locator("tbody tr", has_text=reference).count() == 1
    page.get_by_label("Telefoonnummer").fill("016 99 99 99")
    page.get_by_role("button", name="Zoeken").click()
    assert page.locator("tbody tr", has_text=reference).count() == 0
    assert "Niemand met dit telefoonnummer" in page.locator("tbody").inner_text()
    listed = eventually(lambda: (page.goto(f"{base}/nl/console/call-backs"), page.locator("tbody").inner_text())[1],
                        lambda text: reference in text, "the unmatched request on the call-back list", seconds=30)
    assert reference in listed
    assert "Meneer Canary Phone" not in page.content() and "22 33 44" not in page.content(), "no personal data on the lists"
    raw = [raw for raw, e in topic_events(settings, HelpRequested.TOPIC) if getattr(e, "reference", None) == reference]
    assert raw and not any(secret in raw[0] for secret in (b"Meneer Canary Phone", b"016 22 33 44", b"+3216223344"))

    # Another caller offers to help; the operator takes the offer in.
    page.get_by_role("link", name="Nieuw hulpaanbod").first.click()
    page.get_by_label("Telefoongesprek").check()
    page.get_by_label("Je postcode").fill("3018")
    page.get_by_label("Nederlands").check()
    page.get_by_label("Ik ben 18 jaar of ouder").check()
    page.get_by_label("Je naam").fill("Mevrouw Canary Offer")
    page.get_by_label("Telefoonnummer").fill("0478 12 12 12")
    page.get_by_label("Ik las de privacyverklaring voor aan de beller, en die gaat akkoord.").check()
    page.get_by_role("button", name="Verstuur mijn aanbod").click()
    offer_reference = page.locator(".reference").inner_text()
    assert offer_reference.startswith("V-")
    offers = [(raw, e) for raw, e in topic_events(settings, VolunteerRegistered.TOPIC)
              if e.channel == Channel.PHONE and e.entered_by == "operator-7" and e.postcode == "3018"]
    assert len(offers) == 1 and offers[0][1].privacy_notice_version == settings.privacy_notice_version
    assert b"Canary Offer" not in offers[0][0] and b"0478 12 12 12" not in offers[0][0]

    # The first caller phones again: help is no longer needed. The operator cancels from the case page.
    page.goto(f"{base}/nl/console/my-cases")
    page.get_by_role("link", name=reference).click()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Annuleer de hulpvraag").click()
    assert "Kies waarom" in page.locator(".error-summary").inner_text() and axe_violations(page) == []
    page.get_by_label("Hulp is niet meer nodig").check()
    page.get_by_role("button", name="Annuleer de hulpvraag").click()
    assert "geannuleerd" in page.locator("dl").inner_text()
    assert page.get_by_role("button", name="Annuleer de hulpvraag").count() == 0, "a cancelled request cannot be cancelled again"
    cancelled = [e for _, e in topic_events(settings, HelpRequested.TOPIC)
                 if type(e).__name__ == "HelpRequestCancelled" and str(e.request_id) == str(mine[0].request_id)]
    assert len(cancelled) == 1


def test_every_console_page_and_error_state_passes_axe_in_every_language(site, browser):
    base, settings = site
    page = browser.new_page()
    problems: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        page.goto(f"{base}/{lang}/console/sign-in")
        problems[f"{lang} sign-in"] = axe_violations(page)
        page.locator("button[type=submit]").last.click()
        assert page.locator(".error-summary").count() == 1
        problems[f"{lang} sign-in (error)"] = axe_violations(page)
        sign_in(page, base, settings, Role.OPERATOR, lang)
        for path in ("", "help", "offer", "search", "search?phone=016223344", "search?phone=12", "my-cases", "call-backs",
                     "received/H-ABCDEF", "mail", f"mail/{uuid.uuid4()}"):
            page.goto(f"{base}/{lang}/console/{path}")
            problems[f"{lang} console/{path}"] = axe_violations(page)
        for form in ("help", "offer"):
            page.goto(f"{base}/{lang}/console/{form}")
            page.locator("main button[type=submit]").click()
            assert page.locator(".error-summary").count() == 1
            problems[f"{lang} console/{form} (errors)"] = axe_violations(page)
        page.goto(f"{base}/{lang}/console/search")
        page.locator("main input[name=phone]").fill("12")
        page.locator("main button[type=submit]").click()
        assert page.locator(".error-summary").count() == 1, "a number that is none gets a clear error"
        assert "12" not in page.url.split("/console/")[1], "what was typed is not in the address"
        problems[f"{lang} console/search (error)"] = axe_violations(page)
        page.locator("header button[type=submit]").click()  # sign out
        assert page.url.endswith(f"/{lang}/console/sign-in")
    assert {where: found for where, found in problems.items() if found} == {}


def test_an_operator_turns_a_mail_into_one_request_from_the_console(site, browser):
    import smtplib
    from email.message import EmailMessage

    base, settings = site
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Canary Mailer <canary.mailer@example.org>", "help@leuven.helpt.local", "Hulp"
    mail.set_content("Goeiedag, ik kan niet meer naar de winkel. Kan iemand boodschappen doen? Ik woon in Kessel-Lo.")
    with smtplib.SMTP("127.0.0.1", settings.smtp_port, timeout=30) as smtp:
        smtp.send_message(mail)

    page = browser.new_page()
    sign_in(page, base, settings, Role.OPERATOR, "nl", sub="operator-mail")
    page.get_by_role("link", name="Mail", exact=True).first.click()
    assert axe_violations(page) == []
    page.get_by_role("link", name=re.compile("^Open de mail")).first.click()
    eventually(lambda: (page.reload(), page.get_by_role("heading", level=1).inner_text())[1], lambda h: h == "Mail",
               "gdpr to learn of the mail and let the operator open it", seconds=30)
    assert "ik kan niet meer naar de winkel" in page.locator(".mail-text").inner_text()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Een vraag om hulp").click()
    assert page.get_by_label("Naam", exact=True).input_value() == "Canary Mailer", "the form starts from the mail"
    assert page.get_by_label("E-mailadres").input_value() == "canary.mailer@example.org"
    page.get_by_role("button", name="Vraag hulp").click()  # not complete yet: the form comes back
    assert page.locator(".error-summary").count() == 1 and axe_violations(page) == []
    page.get_by_label("Boodschappen doen").check()
    page.get_by_label("Postcode").fill("3010")
    page.get_by_label("Nederlands").check()
    page.get_by_label("Ik las de privacyverklaring voor aan de beller, en die gaat akkoord.").check()
    page.get_by_role("button", name="Vraag hulp").click()
    reference = page.locator(".reference").inner_text()

    mine = [e for _, e in topic_events(settings, HelpRequested.TOPIC) if getattr(e, "reference", None) == reference]
    assert len(mine) == 1 and mine[0].channel == Channel.EMAIL and mine[0].entered_by == "operator-mail"
    page.go_back()
    page.get_by_role("button", name="Vraag hulp").click()  # sent again from the browser's history
    assert page.get_by_role("heading", level=1).inner_text() == "Deze mail werd al behandeld"
    assert len([e for _, e in topic_events(settings, HelpRequested.TOPIC) if getattr(e, "reference", None) == reference]) == 1
    page.goto(f"{base}/nl/console/mail")
    assert "Canary" not in page.content() and "Geen enkele mail wacht." in page.locator("tbody").inner_text()


def test_a_coordinator_previews_a_draft_as_the_public_will_see_it_and_publishes_it(site, browser):
    base, settings = site
    coordinator = {"Authorization": "Bearer " + issue_token(local_secret(settings.jwt_secret_file), sub="coordinator-1",
                                                            role=Role.COORDINATOR, tenant="leuven")}
    page = browser.new_page()
    sign_in(page, base, settings, Role.COORDINATOR, "en", sub="coordinator-1")
    assert page.url.endswith("/en/preview/") and page.get_by_role("heading", level=1).inner_text() == "No draft to preview"
    assert axe_violations(page) == []

    live = httpx.get(f"{base}/api/v1/catalogue/versions/1", headers=coordinator).json()
    draft = {key: live[key] for key in ("languages", "vacancies")}
    dog = next(v for v in draft["vacancies"] if v["code"] == "dog-walking")
    dog["texts"]["en"]["title"] = "Walking a dog round the block"
    saved = httpx.put(f"{base}/api/v1/catalogue/draft", json=draft, headers=coordinator)
    assert saved.status_code == 200, saved.text

    page.goto(f"{base}/en/preview/")
    assert "not published" in page.locator("[role=note]").inner_text()
    assert page.get_by_role("heading", name="Walking a dog round the block").count() == 1
    assert axe_violations(page) == []
    page.get_by_role("link", name=re.compile(r"^Offer to help\W+Walking a dog round the block$")).click()
    assert page.get_by_role("button", name="Send my offer").count() == 0, "a preview cannot be sent"
    assert axe_violations(page) == []
    assert "Walking a dog round the block" not in httpx.get(f"{base}/en/").text, "the public still sees the live version"

    page.get_by_role("button", name="Publish this draft").click()
    assert "is published" in page.locator("[role=status]").inner_text()
    assert "Walking a dog round the block" in httpx.get(f"{base}/en/").text, "the public sees it now"
    page.goto(f"{base}/en/console/")
    assert page.url.endswith("/en/console/sign-in"), "a coordinator is not an operator"
    page.goto(f"{base}/en/preview/")
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{base}/en/preview/")
    assert page.url.endswith("/en/console/sign-in"), "signed out"
    # Put the live texts back for whatever runs after this test on the same site.
    assert httpx.put(f"{base}/api/v1/catalogue/draft", json={key: live[key] for key in ("languages", "vacancies")},
                     headers=coordinator).status_code == 200
    assert httpx.post(f"{base}/api/v1/catalogue/publish", json={}, headers=coordinator).status_code == 200


def test_adding_a_language_is_adding_a_catalogue(site, tmp_path, monkeypatch):
    import shutil

    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    from helpt_intake import i18n, web
    from helpt_platform import tenants

    base, _ = site
    locale = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale)
    german = Catalog(locale="de")
    german.add("I need help", "Ich brauche Hilfe")
    (locale / "de" / "LC_MESSAGES").mkdir(parents=True)
    with open(locale / "de" / "LC_MESSAGES" / "messages.po", "wb") as po:
        write_po(po, german)

    def reload() -> None:
        for cached in (i18n.languages, i18n.translations, web._environment, tenants.load_tenant_profiles):
            cached.cache_clear()

    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    reload()
    try:
        assert httpx.get(f"{base}/de/").status_code == 404, "a catalogue alone: not yet on Leuven's pages"
        shipped = tenants._shipped()  # the municipality lists the language in its profile
        leuven = json.loads(shipped["leuven"])
        monkeypatch.setattr(tenants, "_shipped", lambda: {**shipped, "leuven": json.dumps(leuven | {"languages": [*leuven["languages"], "de"]})})
        reload()
        home = httpx.get(f"{base}/de/")
        assert home.status_code == 200 and 'lang="de"' in home.text
        assert "Ich brauche Hilfe" in home.text, "the new catalogue's text"
        assert 'hreflang="de"' in httpx.get(f"{base}/nl/").text and ">Deutsch<" in home.text, "every page links to it"
        assert httpx.get(f"{base}/", headers={"Accept-Language": "de-AT,de;q=0.9"}).headers["location"] == "/de/"
        assert httpx.get(f"{base}/de/help").status_code == 200, "texts not yet translated fall back to English"
    finally:
        monkeypatch.undo()
        reload()
