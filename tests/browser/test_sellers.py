"""A console user's sellers in a real browser: signed in at the Cognito stand-in, the local API server checking the
token as API Gateway's JWT authorizer does. A user of one seller sees no picker and sends for that seller; a user of
two chooses one (the choice kept for the session); each seller to act on has its banner, in exact words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from buyer_messaging import sellers
from buyer_messaging.config import get_settings
from local_stack.cognito_standin import UserPool
from tests.browser.cognito_route import assert_no_stray_words, serve_pool
from tests.browser.pages import Screens, Tab
from tests.browser.test_sign_in import PASSWORD, enter_password

SELLER_A = "A2EXAMPLESELLER"
SELLER_B = "A3OTHERSELLER"
ONE = "one@example.com"
TWO = "two@example.com"


@pytest.fixture
def pool() -> UserPool:
    pool = UserPool(mfa="OFF")
    for email, groups in ((ONE, (SELLER_A,)), (TWO, (SELLER_A, SELLER_B))):
        pool.create_confirmed_user(email, PASSWORD)
        for seller in groups:
            pool.create_group(f"seller-{seller}")
            pool.add_user_to_group(email, f"seller-{seller}")
    return pool


@pytest.fixture
def signed_in_server(pool: UserPool) -> Iterator[Any]:
    """Two sellers: A's authorization ends in 24 days, B needs to authorize the app again."""
    from local_stack.serve import serve_console

    with serve_console(verify=pool.verify, sellers=(SELLER_A, SELLER_B)) as server:
        settings = get_settings()
        now = datetime.now(UTC)
        ends = now + timedelta(days=24, hours=12)
        began = ends - timedelta(days=sellers.AUTHORIZATION_DAYS)
        secret = server.served.emulator.seed.secret_for(SELLER_A)["refreshToken"]
        sellers.record_authorization(settings, SELLER_A, secret, kind="self", at=began)
        b_seller = sellers.get(settings, SELLER_B)
        assert b_seller is not None
        sellers.mark_needs_authorization(
            settings,
            SELLER_B,
            reason="LwaInvalidGrant",
            refused_authorization=sellers.iso(b_seller.authorized_at),
            at=now,
        )
        server.ends = ends.strftime("%Y-%m-%d")
        yield server


def test_a_user_of_one_seller_sees_its_banner_and_no_picker_and_sends_for_it(
    signed_in_server: Any, pool: UserPool, desktop: Tab, screens: Screens, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = desktop.page
    serve_pool(page, pool, monkeypatch)
    page.goto(signed_in_server.url)
    with page.expect_request(re.compile(r"/message-types\?")) as listed:
        enter_password(page, ONE, PASSWORD)
        expect(page.locator("#seller-banners")).to_have_text(
            f"Seller {SELLER_A}'s authorization ends on {signed_in_server.ends}, in 24 days."
        )
        expect(page.locator("#seller-choice")).to_be_hidden()
        page.get_by_label("Amazon order id").fill("123-1234567-1234567")
        page.get_by_role("button", name="Show message types").click()
    assert f"sellingPartnerId={SELLER_A}" in listed.value.url
    assert_no_stray_words(page)
    screens(page, "one-seller")


def test_a_user_of_two_sellers_picks_one_and_sees_a_banner_for_each(
    signed_in_server: Any, pool: UserPool, desktop: Tab, screens: Screens, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = desktop.page
    serve_pool(page, pool, monkeypatch)
    page.goto(signed_in_server.url)
    enter_password(page, TWO, PASSWORD)
    banners = page.locator("#seller-banners .banner")
    expect(banners).to_have_text(
        [
            f"Seller {SELLER_A}'s authorization ends on {signed_in_server.ends}, in 24 days.",
            f"Seller {SELLER_B} needs to authorize the app again: its messages wait.",
        ]
    )
    picker = page.get_by_label("Seller", exact=True)
    expect(picker).to_be_visible()
    expect(picker.locator("option")).to_have_text([SELLER_A, SELLER_B])
    picker.select_option(SELLER_B)
    page.reload()  # the choice is kept for the session
    expect(page.get_by_label("Seller", exact=True)).to_have_value(SELLER_B)
    with page.expect_request(re.compile(r"/message-types\?")) as listed:
        page.get_by_label("Amazon order id").fill("113-2000001-0000001")
        page.get_by_role("button", name="Show message types").click()
    assert f"sellingPartnerId={SELLER_B}" in listed.value.url
    assert_no_stray_words(page)
    screens(page, "two-sellers")


def test_a_user_of_two_sellers_checks_a_campaign_for_the_seller_chosen(
    signed_in_server: Any, pool: UserPool, desktop: Tab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Campaigns page names the picker's seller in POST /campaigns: without it a user of two sellers would be
    answered SellerRequired, and the campaign would not be the seller's they chose."""
    from tests.browser.test_campaigns import campaigns_page, choose_manifest

    page = desktop.page
    serve_pool(page, pool, monkeypatch)
    page.goto(signed_in_server.url)
    enter_password(page, TWO, PASSWORD)
    page.get_by_label("Seller", exact=True).select_option(SELLER_B)
    campaigns_page(page, signed_in_server.url)
    manifest = (
        "amazonOrderId,marketplaceId,messageType,text\r\n113-2000001-0000001,ATVPDKIKX0DER,unexpectedProblem,Late.\r\n"
    )
    with page.expect_request(re.compile(r"/campaigns$")) as checked:
        choose_manifest(page, "late.csv", manifest)
    assert checked.value.post_data_json["sellingPartnerId"] == SELLER_B
    assert checked.value.post_data_json["dryRun"] is True
    expect(page.locator("#preview-rows tr")).to_have_count(1)
    assert_no_stray_words(page)
