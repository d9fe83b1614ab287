"""The volunteer's offer page in headless Chromium, checked with axe-core (WCAG 2.1 AA) in every state it shows."""

from __future__ import annotations

import asyncio

import pytest
from pymongo import AsyncMongoClient

from helpt_contracts.examples import help_requested, volunteer_registered
from helpt_contracts.events import VolunteerApproved, VolunteerGuidelinesConfirmed
from helpt_platform.testing import axe_violations, chromium, eventually

pytestmark = [pytest.mark.infra, pytest.mark.browser]


def walker():
    import datetime as dt
    import uuid

    registered = volunteer_registered(tasks=["dog-walking"], postcode="3001", languages=["en"])
    case = uuid.uuid4()
    return [registered, VolunteerApproved(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=case, reason="interview-ok"),
            VolunteerGuidelinesConfirmed(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=case,
                                         guidelines_version="2026-03", confirmed_at=dt.datetime.now(dt.UTC))]


def local(service, link: str) -> str:
    return service.url + "/m/" + link.split("/m/", 1)[1]


def eligible(service) -> int:
    async def count() -> int:
        client = AsyncMongoClient(service.settings.mongodb_url.get_secret_value())
        try:
            return await client[service.settings.database_name]["volunteers"].count_documents({"eligible": True})
        finally:
            await client.close()

    return asyncio.run(count())


def test_the_offer_page_has_no_axe_violations_open_accepted_taken_expired_or_forged(matching):
    service = matching(offers_per_round=2, offer_ttl_s=8)
    service.publish(*walker(), *walker())
    eventually(lambda: eligible(service), lambda n: n >= 2, "two eligible volunteers")
    request = help_requested(task="dog-walking", postcode="3001", languages=["en"])
    service.publish(request)
    offers = service.wait_offers(request.request_id, lambda o: len(o) == 2, "two offers")
    later = help_requested(task="dog-walking", postcode="3001", languages=["en"])
    service.publish(later)  # left to expire; published here, as Playwright's loop below rules out asyncio.run
    with chromium() as browser:
        page = browser.new_page()
        page.goto(local(service, offers[0]["link"]))
        assert page.get_by_role("button", name="Accept").is_visible()
        assert axe_violations(page) == [], "open"

        page.get_by_role("button", name="Accept").click()
        assert "the match is yours" in page.locator("main").inner_text()
        assert axe_violations(page) == [], "after accept"
        page.goto(local(service, offers[0]["link"]))
        assert page.get_by_role("button", name="Mark as done").is_visible()
        assert axe_violations(page) == [], "accepted, seen again"

        page.goto(local(service, offers[1]["link"]))
        assert "accepted this request first" in page.locator("main").inner_text()
        assert axe_violations(page) == [], "taken"

        lapsing = service.wait_offers(later.request_id, lambda o: len(o) >= 1 and o[0]["status"] == "expired",
                                      "an offer to expire", seconds=60)
        page.goto(local(service, lapsing[0]["link"]))
        assert "expired" in page.locator("main").inner_text()
        assert axe_violations(page) == [], "expired"

        page.goto(f"{service.url}/m/not-a-link")
        assert "not valid" in page.locator("main").inner_text()
        assert axe_violations(page) == [], "forged"
