"""The website authorization workflow against the emulator: Seller Central's consent step, the code exchange at LWA,
and authorizations that end (revoked, past 365 days)."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from spapi_emulator import Emulator, load_default_seed
from tests.emulator.conftest import SANDBOX_ORDER, Api

APPLICATION_ID = "amzn1.sp.solution.local-emulator"
REDIRECT_URI = "https://app.example/oauth/callback"
SECOND_REDIRECT_URI = "https://app.example/oauth/other"
NEW_SELLER = "A3ONBOARDSELLER"
OTHER_SELLER = "A3OTHERSELLER"  # the seed's second seller, authorized from the start
FIRST_SELLER = "A2EXAMPLESELLER"
STATE = "s t/a+t=e&ü"  # verbatim, whatever it holds
INVALID_CODE = {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : code"}
INVALID_REFRESH_TOKEN = {
    "error": "invalid_grant",
    "error_description": "The request has an invalid grant parameter : refresh_token",
}


@pytest.fixture
def registered(api: Api) -> Api:
    api.emulator.register_redirect_uri(REDIRECT_URI)
    api.emulator.register_redirect_uri(SECOND_REDIRECT_URI)
    return api


def consent_params(**overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {"application_id": APPLICATION_ID, "state": STATE, "version": "beta"}
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


def visible_text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).strip())


def confirm(api: Api, seller: str = NEW_SELLER, **overrides: str | None) -> requests.Response:
    form = {**consent_params(**overrides), "selling_partner_id": seller}
    return api.session.post(api.emulator.consent_url, data=form, allow_redirects=False)


def authorize(api: Api, seller: str = NEW_SELLER, **overrides: str | None) -> dict[str, str]:
    """The query the redirect URI receives after the seller confirms."""
    response = confirm(api, seller, **overrides)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    query = parse_qs(location.query, keep_blank_values=True)
    assert all(len(values) == 1 for values in query.values())
    return {"at": f"{location.scheme}://{location.netloc}{location.path}", **{k: v[0] for k, v in query.items()}}


def exchange(api: Api, code: str | None, **overrides: str | None) -> requests.Response:
    credentials = api.emulator.seed.credentials
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }
    form.update(overrides)
    return api.session.post(api.emulator.token_url, data={k: v for k, v in form.items() if v is not None})


def refresh(api: Api, refresh_token: str) -> requests.Response:
    return api.session.post(api.emulator.token_url, data=api.token_form(refresh_token=refresh_token))


def test_the_consent_page_names_the_application_and_the_sellers_to_sign_in_as(registered: Api) -> None:
    response = registered.session.get(registered.emulator.consent_url, params=consent_params())

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert visible_text(response.text) == (
        "Authorize Buyer Messaging (local emulator) - Seller Central (local emulator) "
        "Authorize Buyer Messaging (local emulator)? "
        "Buyer Messaging (local emulator) asks to call the Selling Partner API for the selling account you sign in "
        f"with. After you confirm, you return to {REDIRECT_URI}. "
        f"Sign in as {FIRST_SELLER} {NEW_SELLER} {OTHER_SELLER} Confirm"
    )


def test_confirming_redirects_with_the_state_verbatim_the_seller_and_a_code(registered: Api) -> None:
    answer = authorize(registered)

    assert set(answer) == {"at", "state", "selling_partner_id", "spapi_oauth_code"}
    assert answer["at"] == REDIRECT_URI
    assert answer["state"] == STATE
    assert answer["selling_partner_id"] == NEW_SELLER
    assert answer["spapi_oauth_code"]


def test_the_code_buys_a_refresh_token_whose_calls_act_for_that_seller(registered: Api) -> None:
    code = authorize(registered, FIRST_SELLER)["spapi_oauth_code"]

    response = exchange(registered, code)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert (
        body["refresh_token"].startswith("Atzr|") and body["refresh_token"] != registered.token_form()["refresh_token"]
    )
    assert refresh(registered, body["refresh_token"]).status_code == 200
    found = registered.get_actions(SANDBOX_ORDER, headers={"x-amz-access-token": body["access_token"]})
    assert found.status_code == 200  # the order of the seller who authorized


def test_a_new_sellers_token_does_not_find_another_sellers_order(registered: Api) -> None:
    body = exchange(registered, authorize(registered)["spapi_oauth_code"]).json()

    response = registered.get_actions(SANDBOX_ORDER, headers={"x-amz-access-token": body["access_token"]})

    assert response.status_code == 404


def test_a_code_is_used_once(registered: Api) -> None:
    code = authorize(registered)["spapi_oauth_code"]
    assert exchange(registered, code).status_code == 200

    again = exchange(registered, code)

    assert again.status_code == 400
    assert again.json() == INVALID_CODE


@pytest.mark.parametrize(("seconds", "status"), [(299, 200), (300, 400)])
def test_a_code_lives_five_minutes(registered: Api, seconds: int, status: int) -> None:
    code = authorize(registered)["spapi_oauth_code"]
    registered.emulator.advance_clock(seconds)

    response = exchange(registered, code)

    assert response.status_code == status
    if status == 400:
        assert response.json() == INVALID_CODE


def test_unknown_code_and_another_redirect_uri_are_invalid_grant(registered: Api) -> None:
    code = authorize(registered)["spapi_oauth_code"]

    assert exchange(registered, "ANnever-issued").json() == INVALID_CODE
    assert exchange(registered, code, redirect_uri=SECOND_REDIRECT_URI).json() == INVALID_CODE


def test_a_missing_code_is_invalid_request(registered: Api) -> None:
    response = exchange(registered, None)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"] == "The request is missing a required parameter : code"


def test_an_exchange_without_redirect_uri_is_accepted_and_noted(registered: Api) -> None:
    response = exchange(registered, authorize(registered)["spapi_oauth_code"], redirect_uri=None)

    assert response.status_code == 200
    notes = registered.emulator.calls("lwaToken")[-1]["notes"]
    assert notes == ["The authorization_code grant came without redirect_uri, which LWA documents."]


def test_the_exchange_needs_the_applications_client(registered: Api) -> None:
    response = exchange(registered, authorize(registered)["spapi_oauth_code"], client_secret="guessed")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_named_redirect_uri_is_where_the_seller_returns(registered: Api) -> None:
    answer = authorize(registered, redirect_uri=SECOND_REDIRECT_URI)

    assert answer["at"] == SECOND_REDIRECT_URI
    assert exchange(registered, answer["spapi_oauth_code"], redirect_uri=SECOND_REDIRECT_URI).status_code == 200


def error_page(api: Api, method: str = "GET", **overrides: str | None) -> str:
    if method == "GET":
        response = api.session.get(api.emulator.consent_url, params=consent_params(**overrides))
    else:
        response = confirm(api, **overrides)
    assert response.status_code == 400
    return visible_text(response.text)


def page_of(code: str, sentence: str) -> str:
    return (
        "Something went wrong - Seller Central (local emulator) Something went wrong "
        f"{sentence} App ID: {APPLICATION_ID} Error Code: {code}"
    )


@pytest.mark.parametrize(
    ("overrides", "code", "sentence"),
    [
        ({"version": None}, "MD1000", "The application is in Draft state: its authorization URI needs version=beta."),
        ({"application_id": "amzn1.application-oa2-client.x"}, "MD1000", "Unable to find the application."),
        ({"application_id": None}, "MD1000", "Unable to find the application."),
        (
            {"redirect_uri": "https://app.example/oauth/callback/"},
            "MD5101",
            "The redirect URI is not one of the application's redirect URIs.",
        ),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_seller_centrals_error_pages(
    registered: Api, overrides: dict[str, Any], code: str, sentence: str, method: str
) -> None:
    assert error_page(registered, method, **overrides) == page_of(code, sentence)


def test_no_redirect_uri_registered_is_md5101(api: Api) -> None:
    assert error_page(api) == page_of("MD5101", "The application has no OAuth redirect URI registered.")


def test_confirming_as_no_listed_seller_is_md9999(registered: Api) -> None:
    response = confirm(registered, "A9NOSUCHSELLER")

    assert response.status_code == 400
    expected = page_of("MD9999", "Sign in as one of the sellers listed to authorize the application.")
    assert visible_text(response.text) == expected


def test_a_published_application_needs_no_version_beta(session: requests.Session) -> None:
    seed = load_default_seed()
    published = replace(seed, application=replace(seed.application, published=True, redirect_uris=(REDIRECT_URI,)))
    with Emulator(published) as emulator:
        response = session.get(emulator.consent_url, params=consent_params(version=None))

    assert response.status_code == 200


def test_only_https_or_loopback_redirect_uris_are_registered(api: Api) -> None:
    with pytest.raises(ValueError, match="is not an https URI"):
        api.emulator.register_redirect_uri("http://app.example/oauth/callback")
    response = api.session.post(
        api.base_url + "/_emulator/application/redirect-uris", json={"uri": "http://127.0.0.1:3000/oauth/callback"}
    )
    assert response.status_code == 201
    assert response.json() == {"redirectUris": ["http://127.0.0.1:3000/oauth/callback"]}
    assert api.session.get(api.base_url + "/_emulator/application").json() == {
        "applicationId": APPLICATION_ID,
        "name": "Buyer Messaging (local emulator)",
        "published": False,
        "redirectUris": ["http://127.0.0.1:3000/oauth/callback"],
    }


def test_a_revoked_authorization_refuses_its_refresh_tokens_and_ends_its_access_tokens(registered: Api) -> None:
    onboarded = exchange(registered, authorize(registered)["spapi_oauth_code"]).json()
    first_sellers_token = registered.token()

    response = registered.session.post(
        registered.base_url + "/_emulator/authorizations/revoke", json={"sellingPartnerId": NEW_SELLER}
    )

    assert response.json() == {"revoked": 1}
    assert refresh(registered, onboarded["refresh_token"]).json() == INVALID_REFRESH_TOKEN
    denied = registered.get_actions(headers={"x-amz-access-token": onboarded["access_token"]})
    assert denied.status_code == 403
    assert denied.json()["errors"][0]["details"] == "The access token you provided is revoked, malformed or invalid."
    assert registered.get_actions(headers={"x-amz-access-token": first_sellers_token}).status_code == 200
    assert refresh(registered, registered.token_form()["refresh_token"]).status_code == 200
    # The seller authorizes again: a new refresh token works.
    again = exchange(registered, authorize(registered)["spapi_oauth_code"]).json()
    assert refresh(registered, again["refresh_token"]).status_code == 200


@pytest.mark.parametrize(("days", "status"), [(364, 200), (365, 400)])
def test_an_authorization_lapses_after_365_days(registered: Api, days: int, status: int) -> None:
    refresh_token = registered.token_form()["refresh_token"]

    response = registered.session.post(
        registered.base_url + "/_emulator/authorizations/age", json={"days": days, "sellingPartnerId": FIRST_SELLER}
    )

    assert response.status_code == 200
    listed = response.json()["authorizations"]
    assert [(a["sellingPartnerId"], a["status"]) for a in listed] == [
        (FIRST_SELLER, "live" if status == 200 else "lapsed"),
        (OTHER_SELLER, "live"),  # only the seller named ages
    ]
    assert listed[0]["daysLeft"] == 0  # under a day left at 364 days
    answer = refresh(registered, refresh_token)
    assert answer.status_code == status
    if status == 400:
        assert answer.json() == INVALID_REFRESH_TOKEN


def test_a_renewal_after_the_lapse_works_and_a_reset_restores_the_seeds(registered: Api) -> None:
    registered.emulator.age_authorizations(400)
    assert refresh(registered, registered.token_form()["refresh_token"]).json() == INVALID_REFRESH_TOKEN
    renewed = exchange(registered, authorize(registered, FIRST_SELLER)["spapi_oauth_code"]).json()
    assert refresh(registered, renewed["refresh_token"]).status_code == 200

    registered.emulator.reset()

    assert refresh(registered, registered.token_form()["refresh_token"]).status_code == 200
    assert refresh(registered, renewed["refresh_token"]).status_code == 200  # kept, as issued access tokens are
    assert [a["status"] for a in registered.emulator.authorizations()] == ["live", "live", "live"]


def test_control_refuses_unknown_sellers_and_bad_days(api: Api) -> None:
    revoke = api.session.post(
        api.base_url + "/_emulator/authorizations/revoke", json={"sellingPartnerId": "A9NOPE0000"}
    )
    age = api.session.post(api.base_url + "/_emulator/authorizations/age", json={"days": -1})

    assert revoke.status_code == 400
    assert revoke.json()["errors"][0]["message"] == (
        f"sellingPartnerId must be one of the seed's sellers ({FIRST_SELLER}, {NEW_SELLER}, {OTHER_SELLER}); not "
        "'A9NOPE0000'."
    )
    assert age.status_code == 400
    assert age.json()["errors"][0]["message"] == "days must be a number of days from 0 to 10000, not -1.0."
