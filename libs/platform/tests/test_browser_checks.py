"""The accessibility check itself: axe-core in headless Chromium finds what it should."""

import pytest
from playwright.sync_api import sync_playwright

from helpt_platform.testing import CHROMIUM_ARGS, axe_violations, chromium_path

pytestmark = pytest.mark.browser


def test_axe_flags_an_unlabelled_field_and_passes_a_labelled_one():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content('<!doctype html><html lang="en"><title>t</title><main><input id="q"></main></html>')
            assert any(v.startswith("label") for v in axe_violations(page))
            page.set_content('<!doctype html><html lang="en"><title>t</title><main><label for="q">Postcode</label>'
                             '<input id="q"></main></html>')
            assert axe_violations(page) == []
        finally:
            browser.close()
