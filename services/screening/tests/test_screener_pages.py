"""The screener pages in a real browser on the real stack (gdpr, intake, screening, Kafka, FerretDB).

A screener signs in, works the queue in order of need, sees contact details only through gdpr (audited
in their name) and decides with the keyboard alone; a decision publishes once however often it is
sent; every page and error state passes axe-core in Dutch, English and French.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from helpt_contracts.events import VolunteerApproved
from helpt_contracts.examples import help_requested, volunteer_registered
from helpt_contracts.roles import Role
from helpt_platform.auth import issue_token
from helpt_platform.testing import axe_violations, chromium, eventually

pytestmark = [pytest.mark.infra, pytest.mark.browser]
LANGUAGES = ("nl", "en", "fr")
CONTACT = {"name": "Canary Pagescreenee", "phone": "0470 55 44 33", "email": "canary.pages@example.org"}


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def off_loop(call, *args):
    """Run `call` in a thread of its own: Playwright's sync API keeps an event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call, *args).result()


def base(stack) -> str:
    return str(stack.screening.base_url).rstrip("/")


def token(stack, role: Role = Role.SCREENER, sub: str = "screener-pages") -> str:
    return issue_token(stack.secret, sub=sub, role=role, tenant="leuven")


def sign_in(page, stack, lang: str = "en", role: Role = Role.SCREENER, sub: str = "screener-pages") -> None:
    page.goto(f"{base(stack)}/{lang}/screening/sign-in")
    page.locator("#token").fill(token(stack, role, sub))
    page.locator("main button[type=submit]").click()


def offer(stack, tasks: list[str], contact: dict | None = None) -> str:
    body = {"tasks": tasks, "postcode": "3000", "languages": ["nl"], "is_adult": True, "consent": True,
            "contact": contact or CONTACT}
    answer = stack.intake.post("/api/v1/volunteers", json=body)
    assert answer.status_code == 202, answer.text
    case_id = answer.json()["id"]
    stack.wait_for_case(case_id)
    return case_id


def registered(stack) -> str:
    event = volunteer_registered()
    off_loop(stack.publish, event)
    stack.wait_for_case(event.volunteer_id)
    return str(event.volunteer_id)


def approvals(stack, case_id: str) -> list:
    return [e for _, e in off_loop(stack.events_on, VolunteerApproved.TOPIC)
            if isinstance(e, VolunteerApproved) and str(e.volunteer_id) == case_id]


def press_tab_until(page, selector: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def test_a_screener_works_the_queue_in_order_of_need_reveals_details_and_approves_with_the_keyboard_alone(stack, browser):
    off_loop(stack.publish, help_requested(task="pharmacy"), help_requested(task="pharmacy"), help_requested(task="post-office"))
    waiting_longest = offer(stack, ["letter-writing"])
    post = offer(stack, ["post-office"])
    pharmacy = offer(stack, ["pharmacy"], CONTACT)
    mine = [pharmacy, post, waiting_longest]
    page = browser.new_page()
    page.goto(f"{base(stack)}/en/screening/")
    assert page.url.endswith("/en/screening/sign-in"), "the queue is not shown without signing in"
    sign_in(page, stack, role=Role.OPERATOR)
    assert "not a screener" in page.locator(".error-summary").inner_text()
    sign_in(page, stack)

    def queue_ids() -> list[str]:
        page.goto(f"{base(stack)}/en/screening/")
        links = page.locator("tbody a").evaluate_all("links => links.map(a => a.pathname.split('/').pop())")
        return [i for i in links if i in mine]

    assert eventually(queue_ids, lambda ids: ids == mine, "the queue in order of need") == mine
    row = page.locator("tbody tr", has_text=pharmacy[:8]).inner_text()
    assert "pharmacy" in row and "3000" in row and "waiting for a decision" in row
    assert CANARY_FREE(page.content()), "no personal data on the queue"

    page.get_by_role("link", name=f"Case {pharmacy[:8]}").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Case {pharmacy[:8]}"
    assert CANARY_FREE(page.content()), "no personal data before the reveal"
    page.get_by_role("button", name="Show contact details").click()
    shown = page.locator("section", has=page.get_by_role("heading", name="Contact details")).inner_text()
    assert all(value in shown for value in CONTACT.values())
    dpo = {"Authorization": f"Bearer {issue_token(stack.secret, sub='dpo-1', role=Role.DPO, tenant='leuven')}"}
    audit = httpx.get(f"{stack.gdpr_url}/api/v1/audit", params={"actor": "screener-pages"}, headers=dpo).json()
    assert any(r["operation"] == "reveal" and r["result"] == "allowed" and r["purpose"] == "screening-case"
               and r["action"] == {"kind": "screening-case", "id": pharmacy} for r in audit), audit

    page.goto(f"{base(stack)}/en/screening/cases/{pharmacy}")  # the details are gone again
    assert CANARY_FREE(page.content())
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the decision"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "decision", "the first decision follows the skip link"
    assert page.evaluate("document.activeElement.labels[0].textContent") == "Approve"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.labels[0].textContent") == "Identity verified"
    page.keyboard.press("Space")
    press_tab_until(page, "button[type=submit]")
    assert page.evaluate("document.activeElement.textContent") == "Record the decision"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.url.split("?")[0].endswith(f"/cases/{post}"), page.content()[:800]
    confirmation = page.get_by_role("status").inner_text()
    assert f"Case {pharmacy[:8]}: approved — Identity verified." in confirmation
    assert "Pending publication" in confirmation or "Published" in confirmation
    assert "/guidelines/" in confirmation, "the guidelines link to send the approved volunteer"
    assert axe_violations(page) == []
    events = eventually(lambda: approvals(stack, pharmacy), lambda found: len(found) >= 1, "the approval on Kafka")
    assert len(events) == 1 and events[0].reason.value == "identity-verified"
    assert stack.wait_for_case(pharmacy)["history"][-1]["by"] == "screener-pages"


def CANARY_FREE(html: str) -> bool:  # noqa: N802 — reads as a sentence in the asserts
    return not any(value in html for value in CONTACT.values())


def test_a_double_submitted_decision_publishes_once_and_the_second_hears_a_clear_409(stack, browser):
    case_id = registered(stack)
    cookie = {"helpt_screener_token": token(stack)}
    form = {"decision": "approve", "reason-approve": "interview-ok", "note": "sounds fine"}
    with httpx.Client(base_url=base(stack), cookies=cookie, timeout=60) as client, ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: client.post(f"/en/screening/cases/{case_id}/decision", data=form), range(2)))
    assert sorted(a.status_code for a in answers) == [303, 409], [a.status_code for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert "This case was decided already" in refused.text and "sounds fine" not in refused.text
    events = eventually(lambda: approvals(stack, case_id), lambda found: len(found) >= 1, "the approval on Kafka")
    assert len(events) == 1
    assert [h["action"] for h in stack.wait_for_case(case_id)["history"]] == ["registered", "approve"]

    # Two tabs on the same case: the one sent second is told so, and nothing else is recorded.
    other = registered(stack)
    page = browser.new_context().new_page()
    sign_in(page, stack)
    second = page.context.new_page()
    for tab in (page, second):
        tab.goto(f"{base(stack)}/en/screening/cases/{other}")
    page.get_by_label("Reject").check()
    page.get_by_label("Safety concern").check()
    page.get_by_role("button", name="Record the decision").click()
    second.get_by_label("Approve").check()
    second.get_by_label("Interview went well").check()
    second.get_by_role("button", name="Record the decision").click()
    assert second.get_by_role("heading", level=1).inner_text() == "This case was decided already"
    assert stack.wait_for_case(other)["state"] == "rejected"
    assert approvals(stack, other) == []


def test_a_decision_without_a_fitting_reason_comes_back_with_the_problem_at_its_field(stack, browser):
    case_id = registered(stack)
    page = browser.new_page()
    sign_in(page, stack, "nl")
    page.goto(f"{base(stack)}/nl/screening/cases/{case_id}")
    page.get_by_label("Goedkeuren").check()
    page.get_by_label("Notitie (optioneel)").fill("belde terug")
    page.get_by_role("button", name="Beslissing vastleggen").click()
    summary = page.locator(".error-summary").inner_text()
    assert "Kies een reden voor deze beslissing" in summary
    assert page.locator("#reason-approve").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Goedkeuren").is_checked() and page.get_by_label("Notitie (optioneel)").input_value() == "belde terug"
    page.locator(".error-summary a").click()
    assert page.evaluate("document.activeElement.id") == "reason-approve", "the summary leads to the field"

    with httpx.Client(base_url=base(stack), cookies={"helpt_screener_token": token(stack)}) as client:
        misfit = client.post(f"/en/screening/cases/{case_id}/decision",
                             data={"decision": "approve", "reason-approve": "safety-concern"})
        assert misfit.status_code == 422 and "This reason does not fit this decision" in misfit.text
        assert client.post(f"/en/screening/cases/{case_id}/decision", data={}).status_code == 422
        assert client.get(f"/en/screening/cases/{uuid.uuid4()}").status_code == 404
        assert client.get("/en/screening/cases/not-a-case").status_code == 404
        assert client.post(f"/en/screening/cases/{uuid.uuid4()}/decision",
                           data={"decision": "approve", "reason-approve": "interview-ok"}).status_code == 404
    assert stack.wait_for_case(case_id)["history"][-1]["action"] == "registered", "nothing was decided"


def test_suspend_and_reverse_follow_an_approval_and_a_closed_case_reveals_nothing(stack, browser):
    case_id = offer(stack, ["shopping"], {"name": "Canary Closed", "phone": "0470 11 11 11"})
    page = browser.new_page()
    sign_in(page, stack)
    page.goto(f"{base(stack)}/en/screening/cases/{case_id}")
    page.get_by_label("Approve").check()
    page.get_by_label("Interview went well").check()
    page.get_by_role("button", name="Record the decision").click()
    page.goto(f"{base(stack)}/en/screening/cases/{case_id}")
    assert page.get_by_role("button", name="Record the decision").count() == 0, "a decided case is not decided again"
    assert page.get_by_role("button", name="Show contact details").count() == 0
    assert "shown only while a case is open" in page.content()
    page.get_by_label("A complaint was received").check()
    page.get_by_role("button", name="Suspend").click()
    assert "suspended" in page.get_by_role("status").inner_text()
    page.get_by_label("The decision was wrong").check()
    page.get_by_role("button", name="Reverse the decision").click()
    assert "reversed the decision" in page.get_by_role("status").inner_text()
    history = page.locator("table").last.inner_text()
    assert all(word in history for word in ("approved", "suspended", "reversed the decision", "screener-pages"))
    assert page.get_by_role("button", name="Record the decision").count() == 1, "reversed: open for a decision again"
    with httpx.Client(base_url=base(stack), cookies={"helpt_screener_token": token(stack)}) as client:
        client.post(f"/en/screening/cases/{case_id}/decision", data={"decision": "reject", "reason-reject": "other"})
        closed = client.post(f"/en/screening/cases/{case_id}/reveal")
    assert closed.status_code == 409 and "contact details are shown only while a case is open" in closed.text
    assert "Canary Closed" not in closed.text


def test_every_screener_page_and_error_state_passes_axe_in_every_language(stack, browser):
    open_case = registered(stack)
    racing = registered(stack)
    page = browser.new_context().new_page()
    problems: dict[str, list[str]] = {}
    headings: dict[str, str] = {}
    for lang in LANGUAGES:
        page.context.clear_cookies()
        page.goto(f"{base(stack)}/{lang}/screening/sign-in")
        problems[f"{lang} sign-in"] = axe_violations(page)
        page.locator("main button[type=submit]").click()
        problems[f"{lang} sign-in (error)"] = axe_violations(page)
        sign_in(page, stack, lang)
        problems[f"{lang} queue"] = axe_violations(page)
        assert page.evaluate("document.documentElement.lang") == lang
        page.goto(f"{base(stack)}/{lang}/screening/cases/{open_case}")
        problems[f"{lang} case"] = axe_violations(page)
        page.locator("main button[type=submit]").first.click()
        problems[f"{lang} case (errors)"] = axe_violations(page)
        headings[f"{lang} errors"] = page.locator(".error-summary h2").inner_text()
        page.goto(f"{base(stack)}/{lang}/screening/cases/{uuid.uuid4()}")
        problems[f"{lang} 404 case"] = axe_violations(page)
        headings[f"{lang} 404"] = page.get_by_role("heading", level=1).inner_text()
        page.goto(f"{base(stack)}/{lang}/screening/no-such-page")
        problems[f"{lang} 404 page"] = axe_violations(page)

    # One tab per language on the same open case; a colleague decides first; each tab then hears 409.
    tabs = [page.context.new_page() for _ in LANGUAGES]
    for lang, tab in zip(LANGUAGES, tabs):
        tab.goto(f"{base(stack)}/{lang}/screening/cases/{racing}")
    with httpx.Client(base_url=base(stack), cookies={"helpt_screener_token": token(stack, sub="colleague")}) as client:
        assert client.post(f"/en/screening/cases/{racing}/decision",
                           data={"decision": "reject", "reason-reject": "other"}).status_code == 303
    for lang, tab in zip(LANGUAGES, tabs):
        tab.locator("#decision").check()
        tab.locator("#reason-approve").check()
        tab.locator("form[action$='/decision'] button").click()
        problems[f"{lang} 409"] = axe_violations(tab)
        headings[f"{lang} 409"] = tab.get_by_role("heading", level=1).inner_text()
    assert {k: v for k, v in problems.items() if v} == {}
    assert len(set(headings.values())) == len(headings), f"every language has its own words: {headings}"
    assert headings["en 409"] == "This case was decided already"
    assert httpx.get(f"{base(stack)}/de/screening/").status_code == 404
    assert approvals(stack, racing) == []

