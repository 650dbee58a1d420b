"""Login with Amazon's token endpoint: the refresh-token grant and every way to get it wrong."""

from __future__ import annotations

import time

import pytest
import requests

from spapi_emulator import Emulator
from tests.emulator.conftest import INSTANT_REFILL, Api

# Amazon's answer to a token it no longer accepts: the reason is in details, not in message.
DENIED = "Access to requested resource is denied."
EXPIRED_ANSWER = {
    "errors": [{"code": "Unauthorized", "message": DENIED, "details": "The access token you provided has expired."}]
}
REVOKED_ANSWER = {
    "errors": [
        {
            "code": "Unauthorized",
            "message": DENIED,
            "details": "The access token you provided is revoked, malformed or invalid.",
        }
    ]
}


def test_refresh_token_grant_answers_a_bearer_token_for_an_hour(api: Api) -> None:
    response = api.session.post(api.emulator.token_url, data=api.token_form())

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"] == api.emulator.seed.credentials.refresh_token
    assert body["access_token"].startswith("Atza|")
    assert response.headers["x-amzn-RequestId"]


def test_each_grant_issues_a_new_access_token(api: Api) -> None:
    first = api.session.post(api.emulator.token_url, data=api.token_form()).json()["access_token"]
    second = api.session.post(api.emulator.token_url, data=api.token_form()).json()["access_token"]

    assert first != second


def test_unknown_refresh_token_is_invalid_grant(api: Api) -> None:
    response = api.session.post(api.emulator.token_url, data=api.token_form(refresh_token="Atzr|revoked"))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.json()["error_description"]


def test_wrong_client_id_is_invalid_client(api: Api) -> None:
    response = api.session.post(api.emulator.token_url, data=api.token_form(client_id="amzn1.application-oa2-client.x"))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_wrong_client_secret_is_invalid_client(api: Api) -> None:
    response = api.session.post(api.emulator.token_url, data=api.token_form(client_secret="guessed"))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_missing_grant_type_is_invalid_request(api: Api) -> None:
    form = api.token_form()
    del form["grant_type"]

    response = api.session.post(api.emulator.token_url, data=form)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_other_grant_type_is_unsupported(api: Api) -> None:
    response = api.session.post(api.emulator.token_url, data=api.token_form(grant_type="password"))

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_missing_refresh_token_is_invalid_request(api: Api) -> None:
    form = api.token_form()
    del form["refresh_token"]

    response = api.session.post(api.emulator.token_url, data=form)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_json_body_is_accepted_and_noted(api: Api) -> None:
    # Amazon's own Java and C# SDKs post the token request as JSON (their LWAClient).
    response = api.session.post(api.emulator.token_url, json=api.token_form())

    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    [call] = api.emulator.calls("lwaToken")
    assert call["notes"] == [
        "Token request sent as JSON; LWA documents application/x-www-form-urlencoded but accepts JSON."
    ]


def test_body_neither_form_nor_json_is_invalid_request(api: Api) -> None:
    response = api.session.post(
        api.emulator.token_url, data="grant_type=refresh_token", headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "x-www-form-urlencoded" in response.json()["error_description"]


def test_parameters_the_grant_does_not_use_are_ignored_and_noted(api: Api) -> None:
    response = api.session.post(api.emulator.token_url, data=api.token_form(scope="sellingpartnerapi::notifications"))

    assert response.status_code == 200
    [call] = api.emulator.calls("lwaToken")
    assert call["notes"] == ["Parameters the refresh_token grant does not use: scope; ignored."]


def test_get_is_refused(api: Api) -> None:
    response = api.session.get(api.emulator.token_url, params=api.token_form())

    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"


def test_token_expires_after_expires_in_emulated_seconds(api: Api) -> None:
    assert api.get_actions().status_code == 200

    api.emulator.advance_clock(3599)
    assert api.get_actions().status_code == 200
    api.emulator.advance_clock(2)
    response = api.get_actions()

    assert response.status_code == 403
    assert response.json() == EXPIRED_ANSWER


def test_token_lifetime_is_divided_by_speedup(session: requests.Session) -> None:
    # 3600 emulated seconds at 18000x pass in 0.2 real seconds.
    with Emulator(speedup=18_000, quota_speedup=INSTANT_REFILL) as emulator:
        api = Api(emulator, session)
        assert api.get_actions().status_code == 200
        time.sleep(0.3)
        response = api.get_actions()

    assert response.status_code == 403
    assert response.json() == EXPIRED_ANSWER


# --- Tokens that die before their expires_in ---------------------------------------------------------------


def _fresh_token(api: Api) -> str:
    response = api.session.post(api.emulator.token_url, data=api.token_form())
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_expire_tokens_ends_every_token_issued_so_far_before_its_expires_in(api: Api) -> None:
    first, second = api.token(), _fresh_token(api)
    assert api.get_actions(headers={"x-amz-access-token": first}).status_code == 200

    assert api.emulator.expire_tokens() == 2

    for token in (first, second):
        response = api.get_actions(headers={"x-amz-access-token": token})
        assert response.status_code == 403
        assert response.json() == EXPIRED_ANSWER
    # A token asked for afterwards is good for its hour again.
    assert api.get_actions(headers={"x-amz-access-token": _fresh_token(api)}).status_code == 200


def test_revoke_tokens_answers_revoked_malformed_or_invalid(api: Api) -> None:
    token = api.token()

    assert api.emulator.revoke_tokens() == 1

    response = api.get_actions(headers={"x-amz-access-token": token})
    assert response.status_code == 403
    assert response.json() == REVOKED_ANSWER
    assert api.get_actions(headers={"x-amz-access-token": _fresh_token(api)}).status_code == 200


def test_an_expired_token_revoked_later_stays_expired_and_counts_for_nothing(api: Api) -> None:
    token = api.token()
    api.emulator.expire_tokens()

    assert api.emulator.revoke_tokens() == 0
    assert api.emulator.expire_tokens() == 0
    assert api.get_actions(headers={"x-amz-access-token": token}).json() == EXPIRED_ANSWER


def test_expire_and_revoke_over_http(api: Api) -> None:
    token = api.token()  # the only token so far

    expired = api.session.post(f"{api.base_url}/_emulator/tokens/expire")
    assert (expired.status_code, expired.json()) == (200, {"expired": 1})
    assert api.get_actions(headers={"x-amz-access-token": token}).json() == EXPIRED_ANSWER

    token = _fresh_token(api)
    revoked = api.session.post(f"{api.base_url}/_emulator/tokens/revoke")
    assert (revoked.status_code, revoked.json()) == (200, {"revoked": 1})
    assert api.get_actions(headers={"x-amz-access-token": token}).json() == REVOKED_ANSWER
    assert api.session.get(f"{api.base_url}/_emulator/tokens/expire").status_code == 405


def test_a_shorter_token_lifetime_still_announces_an_hour(session: requests.Session) -> None:
    with Emulator(quota_speedup=INSTANT_REFILL, token_lifetime_seconds=1200) as emulator:
        api = Api(emulator, session)
        answer = session.post(emulator.token_url, data=api.token_form()).json()
        token = answer["access_token"]
        assert answer["expires_in"] == 3600

        emulator.advance_clock(1199)
        assert api.get_actions(headers={"x-amz-access-token": token}).status_code == 200
        emulator.advance_clock(1)
        response = api.get_actions(headers={"x-amz-access-token": token})

    assert response.status_code == 403
    assert response.json() == EXPIRED_ANSWER


@pytest.mark.parametrize("lifetime", [-1, 3601])
def test_a_token_lifetime_outside_zero_to_expires_in_is_refused(lifetime: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 3600 seconds"):
        Emulator(token_lifetime_seconds=lifetime)
