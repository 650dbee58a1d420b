"""Onboarding a seller in Chromium, by clicking, on the local stack: the operator's invitation link opened, the
emulator's Seller Central consent page (exact texts), the seller picked and "Confirm" clicked, and the callback's page
naming the seller (exact texts, no token, no stray null/undefined); the same link opened again is refused with
what to do."""

from __future__ import annotations

from typing import Any

import requests
from playwright.sync_api import expect

from tests.browser.cognito_route import assert_no_stray_words
from tests.browser.pages import Screens, Tab

SELLER = "A3ONBOARDSELLER"


def test_a_seller_onboards_by_clicking_confirm(console_server: Any, desktop: Tab, screens: Screens) -> None:
    api = console_server.url.rstrip("/")
    link = requests.post(api + "/sellers/invitations", json={"days": 7}, timeout=30).json()["invitationUrl"]
    page = desktop.page

    page.goto(link)

    expect(page.get_by_role("heading", level=1)).to_have_text("Authorize Buyer Messaging (local emulator)?")
    expect(page.locator("main p")).to_have_text(
        "Buyer Messaging (local emulator) asks to call the Selling Partner API for the selling account you sign in "
        f"with. After you confirm, you return to {api}/oauth/callback."
    )
    expect(page.get_by_role("group", name="Sign in as")).to_be_visible()
    assert_no_stray_words(page)
    screens(page, "consent")
    page.get_by_role("radio", name=SELLER).check()
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Seller {SELLER} authorized Buyer Messaging")
    assert page.url.startswith(api + "/oauth/callback?state=")
    paragraphs = page.locator("main p").all_inner_texts()
    assert paragraphs[0] == f"Buyer Messaging may now send messages to the buyers of seller {SELLER}."
    assert paragraphs[1].startswith("The authorization lasts until ")
    assert paragraphs[1].endswith(
        ". Amazon asks for a new one every 365 days; you will be invited to renew it before then."
    )
    assert paragraphs[2:] == ["You can close this page."]
    assert "Atzr|" not in page.content()
    assert_no_stray_words(page)
    screens(page, "authorized")

    page.goto(link)

    expect(page.get_by_role("heading", level=1)).to_have_text("The seller's authorization did not finish")
    expect(page.locator("main p")).to_have_text(
        [
            "This invitation was used already: ask the operator for a new invitation link.",
            "Error: InvitationInvalid",
        ]
    )
    assert_no_stray_words(page)
    screens(page, "used-invitation")
    listed = requests.get(api + "/sellers", timeout=30).json()["sellers"]
    assert [(entry["sellingPartnerId"], entry["status"]) for entry in listed] == [(SELLER, "authorized")]
