"""The axe-core check every console screen goes through (tests/browser/accessibility.py) fails when it should:
on a page it is given, without the console, so an axe that silently stopped running a rule would show here."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import AxeViolations, assert_accessible, run_axe
from tests.browser.pages import Tab

PAGE = '<!doctype html><html lang="en"><head><title>Check</title></head><body><main>{}</main></body></html>'


def test_a_button_not_named_by_what_it_shows_fails_with_a_readable_list(desktop: Tab) -> None:
    page = desktop.page
    page.set_content(PAGE.format('<button type="button" aria-label="Go">Send now</button>'))
    with pytest.raises(AxeViolations) as raised:
        assert_accessible(page, "a bad button")
    lines = str(raised.value).splitlines()
    assert lines[0] == "axe-core found 1 WCAG 2.1 AA violation(s) on the screen 'a bad button':"
    assert lines[1].startswith(
        "- label-content-name-mismatch (serious): Elements must have their visible text as part of their "
        "accessible name <https://dequeuniversity.com/rules/axe/"
    )
    assert lines[2] == '    button: <button type="button" aria-label="Go">Send now</button>'
    assert lines[3:] == [
        "      Fix any of the following:",
        "      Text inside the element is not included in the accessible name",
    ]


def test_the_same_button_named_by_its_text_passes(desktop: Tab) -> None:
    page = desktop.page
    page.set_content(PAGE.format('<button type="button" aria-label="Send now to the buyer">Send now</button>'))
    assert_accessible(page, "a good button")
    result = run_axe(page)
    assert result["version"].startswith("4.")
    assert result["violations"] == []


def test_the_campaigns_page_and_its_preview_pass_on_a_phone(phone: Tab, console_server: Any, console_url: str) -> None:
    """The Campaigns page (issue 16) on a narrow screen: the rows' table scrolls in its own focusable region."""
    from tests.browser.test_campaigns import MANIFEST, campaigns_page, choose_manifest
    from tests.browser.test_console import tiny_pdf

    page = phone.page
    console_server.s3.put_object(Bucket=console_server.bucket, Key="attachments/invoice-1.pdf", Body=tiny_pdf("1"))
    campaigns_page(page, console_url)
    assert_accessible(page, "campaigns page, phone")
    choose_manifest(page, "november.csv", MANIFEST)
    expect(page.locator("#preview-summary")).to_have_text("5 rows: 2 ready, 3 will not be sent.")
    assert_accessible(page, "campaign preview, phone")
