"""The console's sign-in in Chromium against the local stand-in of the deployment's Cognito user pool (issue 14,
item 2): SRP (the password never leaves the page), a code from an authenticator app, a first password to replace
the temporary one, setting up the authenticator app when MFA is required, and Cognito's refusals in words.

The stand-in really checks the page's SRP proof and TOTP codes (tests/unit/test_cognito_standin.py checks the
stand-in itself against pycognito), so a page that computed either wrongly could not sign in here.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from local_stack.cognito_standin import SESSION_SECONDS, UserPool, totp
from tests.browser.cognito_route import Cognito, assert_no_stray_words, serve_pool
from tests.browser.pages import Screens, Tab

EMAIL = "seller@example.com"
PASSWORD = "Correct-Horse-9"
TEMPORARY = "Temporary-Pass-1"
NEW_PASSWORD = "My-Own-Password-2"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SIGNED_IN = f"Signed in as {EMAIL}"


def current_code(secret: str) -> str:
    return totp(secret, time.time())


def wrong_code(secret: str) -> str:
    """A code outside the ±1 step Cognito accepts."""
    accepted = {totp(secret, time.time(), step) for step in (-2, -1, 0, 1, 2)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in accepted)


def alert(page: Page) -> Any:
    return page.locator("#signin-error")


def enter_password(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def assert_srp_only(cognito: Cognito, *passwords: str) -> None:
    """Every sign-in was SRP, and no request body carried a password, under any key."""
    starts = [call.body for call in cognito.calls if call.target.endswith(".InitiateAuth")]
    assert starts and all(body["AuthFlow"] == "USER_SRP_AUTH" for body in starts)
    assert all(set(body["AuthParameters"]) == {"USERNAME", "SRP_A"} for body in starts)
    for call in cognito.calls:
        assert "PASSWORD" not in (call.body.get("AuthParameters") or {})
        assert "PASSWORD" not in (call.body.get("ChallengeResponses") or {})
        assert [password for password in passwords if password in call.raw] == [], call.target


def test_a_user_with_an_authenticator_app_signs_in_with_srp_and_a_code(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = UserPool(mfa="ON")
    pool.create_confirmed_user(EMAIL, PASSWORD, totp_secret=SECRET)
    page = desktop.page
    cognito = serve_pool(page, pool, monkeypatch)
    page.goto(console_url)
    expect(page.get_by_label("Email")).to_be_focused()

    enter_password(page, EMAIL, "Wrong-Horse-9")
    expect(alert(page)).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    assert_no_stray_words(page)
    screens(page, "wrong-password")

    enter_password(page, EMAIL, PASSWORD)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    code_field = page.get_by_label("Code from your authenticator app")
    expect(code_field).to_be_focused()
    expect(code_field).to_have_attribute("autocomplete", "one-time-code")
    expect(code_field).to_have_attribute("inputmode", "numeric")
    expect(alert(page)).to_have_text("")
    assert_no_stray_words(page)
    screens(page, "code")

    code_field.fill(wrong_code(SECRET))
    page.get_by_role("button", name="Verify").click()
    expect(alert(page)).to_have_text("That code is not right. Enter the 6-digit code your authenticator app shows now.")
    expect(code_field).to_have_value("")
    assert_no_stray_words(page)
    screens(page, "wrong-code")

    code_field.fill(current_code(SECRET))
    with page.expect_request(re.compile(r"/message-types\?")) as listed:
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_text(SIGNED_IN)).to_be_visible()
        page.get_by_label("Amazon order id").fill("123-1234567-1234567")
        page.get_by_role("button", name="Show message types").click()
    token = page.evaluate("JSON.parse(sessionStorage.getItem('buyer-messaging.console.session')).token")
    assert listed.value.headers["authorization"] == f"Bearer {token}"
    assert_no_stray_words(page)
    screens(page, "signed-in")

    assert cognito.operations() == [
        "InitiateAuth",
        "RespondToAuthChallenge",  # PASSWORD_VERIFIER, refused: wrong password
        "InitiateAuth",
        "RespondToAuthChallenge",  # PASSWORD_VERIFIER
        "RespondToAuthChallenge",  # SOFTWARE_TOKEN_MFA, refused: wrong code
        "RespondToAuthChallenge",  # SOFTWARE_TOKEN_MFA
    ]
    assert [call.body["ChallengeName"] for call in cognito.calls[1:] if "ChallengeName" in call.body] == [
        "PASSWORD_VERIFIER",
        "PASSWORD_VERIFIER",
        "SOFTWARE_TOKEN_MFA",
        "SOFTWARE_TOKEN_MFA",
    ]
    assert_srp_only(cognito, PASSWORD, "Wrong-Horse-9")
    stored = page.evaluate("JSON.stringify(sessionStorage)")
    assert PASSWORD not in stored and SECRET not in stored
    assert page.evaluate("JSON.stringify(localStorage)") == "{}"


def test_a_new_user_sets_a_password_then_sets_up_the_authenticator_app_and_is_signed_in(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = UserPool(mfa="ON")
    pool.admin_create_user(EMAIL, TEMPORARY)
    page = desktop.page
    cognito = serve_pool(page, pool, monkeypatch)
    page.goto(console_url)
    enter_password(page, EMAIL, TEMPORARY)

    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    new_password = page.get_by_label("New password", exact=True)
    expect(new_password).to_be_focused()
    expect(new_password).to_have_attribute("autocomplete", "new-password")
    expect(page.locator("#new-password-rules")).to_have_text(
        "At least 12 characters, with an upper-case letter, a lower-case letter and a digit."
    )
    assert_no_stray_words(page)
    screens(page, "new-password")

    new_password.fill("Too-Short-1")
    page.get_by_label("New password again").fill("Too-Short-2")
    page.get_by_role("button", name="Set password").click()
    expect(alert(page)).to_have_text("The two passwords are not the same.")

    page.get_by_label("New password again").fill("Too-Short-1")
    page.get_by_role("button", name="Set password").click()
    expect(alert(page)).to_have_text(
        "The new password was refused: Password does not conform to policy: Password not long enough."
    )
    assert_no_stray_words(page)
    screens(page, "password-refused")

    new_password.fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()

    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    shown = page.locator("#totp-secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", shown), shown  # groups of four, for reading
    secret = shown.replace(" ", "")
    assert secret == pool.users[next(iter(pool.users))].pending_totp_secret
    link = page.get_by_role("link", name="open the key in the app")
    expect(link).to_have_attribute(
        "href", f"otpauth://totp/Buyer%20Messaging:seller%40example.com?secret={secret}&issuer=Buyer%20Messaging"
    )
    code_field = page.get_by_label("Code the app shows now")
    expect(code_field).to_be_focused()
    expect(code_field).to_have_attribute("autocomplete", "one-time-code")
    assert_no_stray_words(page)
    screens(page, "set-up-the-app")

    code_field.fill(wrong_code(secret))
    page.get_by_role("button", name="Verify and sign in").click()
    expect(alert(page)).to_have_text(
        "That code does not match the key. Check that the app has the key shown here, then enter the code it shows now."
    )
    assert_no_stray_words(page)
    screens(page, "setup-wrong-code")

    code_field.fill(current_code(secret))
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    expect(page.get_by_label("Amazon order id")).to_be_visible()
    assert_no_stray_words(page)
    screens(page, "signed-in")

    new_password_call = next(c for c in cognito.calls if c.body.get("ChallengeName") == "NEW_PASSWORD_REQUIRED")
    assert set(new_password_call.body["ChallengeResponses"]) == {"USERNAME", "NEW_PASSWORD"}
    assert cognito.operations()[-3:] == ["VerifySoftwareToken", "VerifySoftwareToken", "RespondToAuthChallenge"]
    assert cognito.calls[-1].body["ChallengeName"] == "MFA_SETUP"

    # Signed out, the user signs in with their own password and is asked for the app's code from now on.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Code the app shows now")).to_be_hidden()
    enter_password(page, EMAIL, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code from your authenticator app").fill(current_code(secret))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    # The temporary and new passwords went nowhere; only NEW_PASSWORD_REQUIRED carries the new one, as Cognito asks.
    assert_srp_only(cognito, TEMPORARY)
    assert [c.target for c in cognito.calls if NEW_PASSWORD in c.raw] == [new_password_call.target]


def test_a_sign_in_left_past_cognitos_three_minutes_starts_again(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = 0.0
    pool = UserPool(mfa="ON", clock=lambda: time.time() + later)
    pool.create_confirmed_user(EMAIL, PASSWORD, totp_secret=SECRET)
    page = desktop.page
    serve_pool(page, pool, monkeypatch)
    page.goto(console_url)
    enter_password(page, EMAIL, PASSWORD)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()

    later = SESSION_SECONDS + 1  # the user came back to the tab after more than three minutes
    page.get_by_label("Code from your authenticator app").fill(totp(SECRET, time.time() + later))
    page.get_by_role("button", name="Verify").click()
    expect(alert(page)).to_have_text(
        "This sign-in took too long or was interrupted. Start again with your email and password."
    )
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Code from your authenticator app")).to_be_hidden()
    expect(page.get_by_label("Email")).to_be_focused()
    assert_no_stray_words(page)
    screens(page, "session-expired")

    enter_password(page, EMAIL, PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(totp(SECRET, time.time() + later))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()


def test_start_again_leaves_a_challenge_for_the_email_and_password_form(
    console_server: Any, console_url: str, desktop: Tab, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = UserPool(mfa="ON")
    pool.create_confirmed_user(EMAIL, PASSWORD, totp_secret=SECRET)
    page = desktop.page
    serve_pool(page, pool, monkeypatch)
    page.goto(console_url)
    enter_password(page, EMAIL, PASSWORD)
    page.get_by_label("Code from your authenticator app").fill("12")
    page.get_by_role("button", name="Verify").click()
    expect(alert(page)).to_have_text("Enter the 6 digits your authenticator app shows.")
    page.get_by_role("button", name="Start again").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(alert(page)).to_have_text("")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")


def test_cognitos_throttling_refusals_are_said_in_words(
    console_server: Any, console_url: str, desktop: Tab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cognito's quotas (TooManyRequestsException for the pool, LimitExceededException for one account) refuse
    before any check of the password: the page says to wait, not that the password is wrong."""
    pool = UserPool(mfa="OPTIONAL")
    pool.create_confirmed_user(EMAIL, PASSWORD)
    page = desktop.page
    serve_pool(page, pool, monkeypatch)
    refusals = [
        {"__type": "TooManyRequestsException", "message": "Too many requests"},
        {"__type": "LimitExceededException", "message": "Attempt limit exceeded, please try after some time."},
    ]

    def throttled(route: Any) -> None:
        if route.request.method == "POST" and refusals:
            route.fulfill(
                status=400,
                headers={"access-control-allow-origin": "*", "content-type": "application/x-amz-json-1.1"},
                body=json.dumps(refusals.pop(0)),
            )
        else:
            route.fallback()  # to the stand-in

    page.route(f"https://cognito-idp.{pool.region}.amazonaws.com/", throttled)
    page.goto(console_url)
    enter_password(page, EMAIL, PASSWORD)
    expect(alert(page)).to_have_text("Too many sign-in attempts at once. Wait a minute and try again.")
    enter_password(page, EMAIL, PASSWORD)
    expect(alert(page)).to_have_text("Too many attempts for this account. Wait a few minutes and try again.")
    assert_no_stray_words(page)
    enter_password(page, EMAIL, PASSWORD)
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
