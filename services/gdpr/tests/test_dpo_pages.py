"""The data protection officer's pages in a real browser: usable, accessible (axe-core, WCAG 2.1 AA), and data-free."""

from __future__ import annotations

import contextlib
import uuid

import httpx
import pytest

from helpt_contracts.roles import Role
from helpt_gdpr.app import create_app
from helpt_platform.auth import issue_token, local_secret
from helpt_platform.testing import axe_violations, chromium, serve_in_thread

pytestmark = [pytest.mark.infra, pytest.mark.browser]
SECRET_PHONE = "+32 16 55 44 33"


@pytest.fixture(scope="module")
def site(gdpr_settings):
    settings = gdpr_settings()
    stack = contextlib.ExitStack()
    base = stack.enter_context(serve_in_thread(create_app(settings)))
    secret = local_secret(settings.jwt_secret_file)

    def token(role: Role, sub: str) -> str:
        return issue_token(secret, sub=sub, role=role, tenant="leuven")

    sealed = httpx.post(f"{base}/api/v1/seal", headers={"Authorization": f"Bearer {token(Role.SERVICE, 'intake')}"},
                        json={"tenant": "leuven", "fields": {"phone": SECRET_PHONE}}).json()
    refused = httpx.post(f"{base}/api/v1/reveal", headers={"Authorization": f"Bearer {token(Role.OPERATOR, 'operator-7')}"},
                         json={"tenant": "leuven", "subject_id": sealed["subject_id"], "purpose": "case-follow-up",
                               "action": {"kind": "request", "id": str(uuid.uuid4())}, "sealed": sealed["sealed"]})
    assert refused.status_code == 403
    with stack:
        yield base, token, sealed["subject_id"]


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def test_the_dpo_signs_in_filters_by_person_and_sees_who_was_refused_without_any_data(site, browser):
    base, token, subject_id = site
    page = browser.new_page()
    page.goto(f"{base}/dpo/audit")
    assert page.url.endswith("/dpo/sign-in"), "the log is not shown without signing in"
    assert axe_violations(page) == []

    page.get_by_role("button", name="Sign in").click()
    assert "Enter your access token" in page.locator(".error-summary").inner_text()
    assert page.get_by_label("Access token").get_attribute("aria-invalid") == "true"
    assert axe_violations(page) == []

    page.get_by_label("Access token").fill(token(Role.OPERATOR, "operator-7"))
    page.get_by_role("button", name="Sign in").click()
    assert "not a data protection officer" in page.locator(".error-summary").inner_text()

    page.get_by_label("Access token").fill(token(Role.DPO, "dpo-1"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/dpo/audit")
    assert "intact" in page.locator("main").inner_text()
    assert axe_violations(page) == []

    page.get_by_label("Person (id)").fill(subject_id)
    page.get_by_role("button", name="Show records").click()
    rows = page.locator("tbody tr").all_inner_texts()
    assert any("reveal" in r and "denied" in r and "operator-7" in r for r in rows), rows
    assert all(subject_id in r for r in rows)
    assert SECRET_PHONE not in page.content()

    page.get_by_label("From (UTC)").fill("last tuesday")
    page.get_by_role("button", name="Show records").click()
    assert "Enter the start as a date" in page.locator(".error-summary").inner_text()
    assert page.get_by_label("Person (id)").input_value() == subject_id, "what was typed is kept"
    assert axe_violations(page) == []

    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{base}/dpo/audit")
    assert page.url.endswith("/dpo/sign-in")


def test_the_pages_work_with_the_keyboard_alone(site, browser):
    base, token, _ = site
    page = browser.new_page()
    page.goto(f"{base}/dpo/sign-in")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.insert_text(token(Role.DPO, "dpo-1"))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/dpo/audit")
    assert page.get_by_role("heading", level=1).inner_text() == "Audit log of leuven"
