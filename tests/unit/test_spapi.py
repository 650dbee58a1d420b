"""The SP-API client: request headers, Amazon's errors mapped to names, the expired-token retry, settings."""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from buyer_messaging import config, spapi
from buyer_messaging.auth import AccessTokenProvider, LwaCredentials
from buyer_messaging.errors import (
    ConfigurationError,
    MessageTypeNotAvailable,
    SpApiError,
    SpApiInvalidInput,
    SpApiNotFound,
    SpApiThrottled,
    SpApiTokenExpired,
    SpApiUnauthorized,
    SpApiUnavailable,
    TransientError,
)
from buyer_messaging.spapi import SpApiClient
from tests import support

ORDER_URL = f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}"
ORDER_PATH = f"/messaging/v1/orders/{support.ORDER_ID}"
USER_AGENT_PATTERN = r"^BuyerMessagingWorkflow/\S+ \(Language=Python/3\.\d+\.\d+\)$"
REQUEST_ID = "c2a1b7e4-0d6f-4a8e-9a55-3d7c1f0e9b21"


def _client(endpoint: str = support.ENDPOINT) -> SpApiClient:
    credentials = LwaCredentials.from_secret(support.CREDENTIALS)
    return SpApiClient(endpoint, AccessTokenProvider(support.TOKEN_URL, lambda: credentials))


def _get_order(client: SpApiClient | None = None) -> spapi.SpApiResponse:
    return (client or _client()).call(
        "getMessagingActionsForOrder", "GET", ORDER_PATH, params={"marketplaceIds": support.MARKETPLACE_ID}
    )


def _errors(code: str, message: str, details: str = "") -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": details}]}


def _api_calls(http: responses.RequestsMock) -> list[Any]:
    return [call for call in http.calls if call.request.url.startswith(support.ENDPOINT)]


def _lwa_calls(http: responses.RequestsMock) -> list[Any]:
    return [call for call in http.calls if call.request.url == support.TOKEN_URL]


def _issue_numbered_tokens(http: responses.RequestsMock) -> None:
    """LWA answers "token-1", "token-2", ... so a test can tell which token a call carried."""
    issued = iter(range(1, 100))

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        body = {"access_token": f"token-{next(issued)}", "token_type": "bearer", "expires_in": 3600}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    http.remove(responses.POST, support.TOKEN_URL)
    http.add_callback(responses.POST, support.TOKEN_URL, callback=answer)


# --- Requests --------------------------------------------------------------------------------------------


def test_every_call_carries_the_access_token_and_user_agent(http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, json={})

    _get_order()

    (call,) = _api_calls(http)
    assert call.request.headers["x-amz-access-token"] == "Atza|test-access-token"
    assert re.match(USER_AGENT_PATTERN, call.request.headers["User-Agent"])
    assert call.request.headers["Accept"] == "application/json"


def test_user_agent_names_the_app_and_its_python_version() -> None:
    assert re.match(USER_AGENT_PATTERN, spapi.USER_AGENT)


def test_get_sends_the_query_and_no_body(http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, json={})

    _get_order()

    (call,) = _api_calls(http)
    parts = urlsplit(call.request.url)
    assert parts.path == ORDER_PATH
    assert parse_qs(parts.query) == {"marketplaceIds": [support.MARKETPLACE_ID]}
    assert call.request.body is None
    assert "Content-Type" not in call.request.headers


def test_post_sends_the_json_body_with_its_content_type(http: responses.RequestsMock) -> None:
    http.post(f"{ORDER_URL}/messages/unexpectedProblem", json={}, status=201)

    _client().call(
        "createUnexpectedProblem",
        "POST",
        f"{ORDER_PATH}/messages/unexpectedProblem",
        params={"marketplaceIds": support.MARKETPLACE_ID},
        json_body={"text": "Your parcel is delayed."},
    )

    (call,) = _api_calls(http)
    assert call.request.method == "POST"
    assert call.request.headers["Content-Type"] == "application/json"
    assert json.loads(call.request.body) == {"text": "Your parcel is delayed."}


def test_endpoint_trailing_slash_does_not_double_the_slash(http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, json={})

    _get_order(_client(support.ENDPOINT + "/"))

    (call,) = _api_calls(http)
    assert urlsplit(call.request.url).path == ORDER_PATH


def test_the_token_is_fetched_once_for_several_calls(http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, json={})
    client = _client()

    _get_order(client)
    _get_order(client)

    assert len(_lwa_calls(http)) == 1
    assert len(_api_calls(http)) == 2


# --- Successful answers ----------------------------------------------------------------------------------


def test_success_returns_body_status_request_id_and_rate_limit(http: responses.RequestsMock) -> None:
    http.get(
        ORDER_URL,
        json={"_links": {"actions": []}},
        headers={"x-amzn-RequestId": REQUEST_ID, "x-amzn-RateLimit-Limit": "1.0"},
    )

    response = _get_order()

    assert response.status == 200
    assert response.body == {"_links": {"actions": []}}
    assert response.request_id == REQUEST_ID
    assert response.rate_limit == "1.0"


def test_created_with_an_empty_body_is_an_empty_mapping(http: responses.RequestsMock) -> None:
    http.post(f"{ORDER_URL}/messages/invoice", body=b"", status=201)

    response = _client().call("sendInvoice", "POST", f"{ORDER_PATH}/messages/invoice", json_body={})

    assert response.status == 201
    assert response.body == {}


def test_success_with_a_json_list_is_wrapped_as_payload(http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, json=[1, 2])

    assert _get_order().body == {"payload": [1, 2]}


def test_success_with_a_body_that_is_not_json_is_unavailable(http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, body="<html>gateway</html>", content_type="text/html")

    with pytest.raises(SpApiUnavailable, match="not JSON"):
        _get_order()


# --- Errors ----------------------------------------------------------------------------------------------


def test_400_is_invalid_input_with_amazons_code_message_and_details(http: responses.RequestsMock) -> None:
    http.get(
        ORDER_URL,
        status=400,
        json=_errors("InvalidInput", "Missing required marketplaceIds", "marketplaceIds is required"),
        headers={"x-amzn-RequestId": REQUEST_ID},
    )

    with pytest.raises(SpApiInvalidInput) as raised:
        _get_order()

    error = raised.value
    assert "InvalidInput" in str(error)
    assert "Missing required marketplaceIds" in str(error)
    assert "marketplaceIds is required" in str(error)
    assert "getMessagingActionsForOrder" in str(error)
    assert (error.status, error.code, error.request_id) == (400, "InvalidInput", REQUEST_ID)
    assert not error.transient


def test_every_error_amazon_lists_is_in_the_message(http: responses.RequestsMock) -> None:
    http.get(
        ORDER_URL,
        status=400,
        json={"errors": [{"code": "InvalidInput", "message": "first"}, {"code": "InvalidInput", "message": "second"}]},
    )

    with pytest.raises(SpApiInvalidInput) as raised:
        _get_order()

    assert "first" in str(raised.value)
    assert "second" in str(raised.value)


def test_error_without_amazons_json_quotes_the_body(http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, status=400, body="Bad things happened", content_type="text/plain")

    with pytest.raises(SpApiInvalidInput, match="Bad things happened") as raised:
        _get_order()
    assert raised.value.code is None


def test_403_invalid_order_and_template_combination_is_message_type_not_available(
    http: responses.RequestsMock,
) -> None:
    http.post(
        f"{ORDER_URL}/messages/invoice",
        status=403,
        json=_errors("Unauthorized", "Invalid amazonOrderId and template combination."),
        headers={"x-amzn-RequestId": REQUEST_ID},
    )

    with pytest.raises(MessageTypeNotAvailable) as raised:
        _client().call("sendInvoice", "POST", f"{ORDER_PATH}/messages/invoice", json_body={})

    assert "Invalid amazonOrderId and template combination" in str(raised.value)
    assert REQUEST_ID in str(raised.value)
    assert not raised.value.transient


def test_other_403_is_unauthorized_with_a_hint_about_the_role(http: responses.RequestsMock) -> None:
    http.get(
        ORDER_URL,
        status=403,
        json=_errors("Unauthorized", "Access to requested resource is denied.", "Access token is missing"),
        headers={"x-amzn-RequestId": REQUEST_ID},
    )

    with pytest.raises(SpApiUnauthorized) as raised:
        _get_order()

    assert "Access to requested resource is denied." in str(raised.value)
    assert "Buyer Communication" in str(raised.value)
    assert (raised.value.status, raised.value.code, raised.value.request_id) == (403, "Unauthorized", REQUEST_ID)


def test_other_403_is_not_retried(http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, status=403, json=_errors("Unauthorized", "Access to requested resource is denied."))

    with pytest.raises(SpApiUnauthorized):
        _get_order()

    assert len(_api_calls(http)) == 1
    assert len(_lwa_calls(http)) == 1


def test_401_is_unauthorized(http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, status=401, json=_errors("Unauthenticated", "Not signed"))

    with pytest.raises(SpApiUnauthorized):
        _get_order()


def test_404_is_not_found_with_a_hint_about_order_and_marketplace(http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, status=404, json=_errors("NotFound", "The order was not found."))

    with pytest.raises(SpApiNotFound, match="order id and the marketplace") as raised:
        _get_order()
    assert (raised.value.status, raised.value.code) == (404, "NotFound")
    assert not raised.value.transient


def test_429_is_throttled_and_transient(http: responses.RequestsMock) -> None:
    http.get(
        ORDER_URL,
        status=429,
        json=_errors("QuotaExceeded", "You exceeded your quota for the requested resource."),
        headers={"x-amzn-RequestId": REQUEST_ID},
    )

    with pytest.raises(SpApiThrottled) as raised:
        _get_order()

    assert isinstance(raised.value, TransientError)
    assert (raised.value.status, raised.value.code, raised.value.request_id) == (429, "QuotaExceeded", REQUEST_ID)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_unavailable_and_transient(http: responses.RequestsMock, status: int) -> None:
    http.get(ORDER_URL, status=status, json=_errors("InternalFailure", "We encountered an internal error."))

    with pytest.raises(SpApiUnavailable) as raised:
        _get_order()

    assert isinstance(raised.value, TransientError)
    assert raised.value.status == status


@pytest.mark.parametrize("status", [413, 415, 422])
def test_other_4xx_is_invalid_input(http: responses.RequestsMock, status: int) -> None:
    http.get(ORDER_URL, status=status, json=_errors("InvalidInput", "Nope"))

    with pytest.raises(SpApiInvalidInput):
        _get_order()


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (requests.ReadTimeout("slow"), "did not answer in time"),
        (requests.ConnectTimeout("slow"), "did not answer in time"),
        (requests.ConnectionError("refused"), "could not be reached (ConnectionError)"),
    ],
    ids=["read-timeout", "connect-timeout", "connection-error"],
)
def test_network_failures_are_unavailable(http: responses.RequestsMock, failure: Exception, said: str) -> None:
    http.get(ORDER_URL, body=failure)

    with pytest.raises(SpApiUnavailable, match=re.escape(said)) as raised:
        _get_order()
    assert isinstance(raised.value, TransientError)


@pytest.mark.parametrize("status", [400, 403, 404, 429, 500])
def test_request_id_is_carried_into_message_and_attribute(http: responses.RequestsMock, status: int) -> None:
    http.get(ORDER_URL, status=status, json=_errors("Some", "thing"), headers={"x-amzn-RequestId": REQUEST_ID})

    with pytest.raises(SpApiError) as raised:
        _get_order()

    assert f"x-amzn-RequestId {REQUEST_ID}" in str(raised.value)
    assert raised.value.request_id == REQUEST_ID


def test_error_without_request_id_says_nothing_about_it(http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, status=404, json=_errors("NotFound", "no"))

    with pytest.raises(SpApiNotFound) as raised:
        _get_order()

    assert "x-amzn-RequestId" not in str(raised.value)
    assert raised.value.request_id is None


# --- The expired-token retry -----------------------------------------------------------------------------

# Amazon's answers to a token it no longer accepts: the reason is in details, not in message.
DENIED = "Access to requested resource is denied."
EXPIRED = _errors("Unauthorized", DENIED, "The access token you provided has expired.")
REVOKED = _errors("Unauthorized", DENIED, "The access token you provided is revoked, malformed or invalid.")
# amzn/selling-partner-api-models#2595: Amazon's answer to every call for a while, in message.
SECURITY_TOKEN_EXPIRED = _errors("Unauthorized", "The security token included in the request is expired")


@pytest.mark.parametrize("refusal", [EXPIRED, REVOKED, SECURITY_TOKEN_EXPIRED], ids=["expired", "revoked", "sts"])
def test_a_refused_token_is_refreshed_and_the_call_retried_once(
    http: responses.RequestsMock, refusal: dict[str, Any]
) -> None:
    _issue_numbered_tokens(http)
    http.get(ORDER_URL, status=403, json=refusal)
    http.get(ORDER_URL, json={"ok": True})

    response = _get_order()

    assert response.body == {"ok": True}
    assert len(_lwa_calls(http)) == 2
    api_calls = _api_calls(http)
    assert [call.request.headers["x-amz-access-token"] for call in api_calls] == ["token-1", "token-2"]


def test_expired_token_twice_is_transient_token_expired_after_exactly_one_retry(http: responses.RequestsMock) -> None:
    _issue_numbered_tokens(http)
    http.get(ORDER_URL, status=403, json=EXPIRED, headers={"x-amzn-RequestId": REQUEST_ID})

    with pytest.raises(SpApiTokenExpired) as raised:
        _get_order()

    assert str(raised.value) == (
        "getMessagingActionsForOrder failed with HTTP 403: Unauthorized: Access to requested resource is denied. "
        "(The access token you provided has expired.) A token fresh from Login with Amazon was refused as "
        f"expired too. [x-amzn-RequestId {REQUEST_ID}]"
    )
    assert isinstance(raised.value, TransientError)
    assert (raised.value.status, raised.value.code) == (403, "Unauthorized")
    assert len(_lwa_calls(http)) == 2
    assert len(_api_calls(http)) == 2


def test_after_a_fresh_token_was_refused_too_the_next_call_starts_with_a_new_one(
    http: responses.RequestsMock,
) -> None:
    _issue_numbered_tokens(http)
    http.get(ORDER_URL, status=403, json=EXPIRED)
    http.get(ORDER_URL, status=403, json=EXPIRED)
    http.get(ORDER_URL, json={})
    client = _client()
    with pytest.raises(SpApiTokenExpired):
        _get_order(client)

    _get_order(client)  # the state machine's retry, in the same container

    assert [call.request.headers["x-amz-access-token"] for call in _api_calls(http)] == [
        "token-1",
        "token-2",
        "token-3",
    ]


def test_revoked_token_twice_is_unauthorized_after_exactly_one_retry(http: responses.RequestsMock) -> None:
    _issue_numbered_tokens(http)
    http.get(ORDER_URL, status=403, json=REVOKED)

    with pytest.raises(SpApiUnauthorized, match="revoked, malformed or invalid") as raised:
        _get_order()

    assert not raised.value.transient
    assert len(_lwa_calls(http)) == 2
    assert len(_api_calls(http)) == 2


@pytest.mark.parametrize(
    ("refusal", "error_class"),
    [
        (_errors("Unauthorized", "Invalid amazonOrderId and template combination."), MessageTypeNotAvailable),
        (_errors("Unauthorized", DENIED), SpApiUnauthorized),  # no role, no authorization: details are empty
        # PipedreamHQ/pipedream#16843: the app's LWA client secret expired; a new token cannot help.
        (_errors("Unauthorized", DENIED, "The LWA secret token you provided has expired."), SpApiUnauthorized),
    ],
    ids=["not-available", "denied", "lwa-secret-expired"],
)
def test_a_403_for_another_reason_is_neither_refreshed_nor_retried(
    http: responses.RequestsMock, refusal: dict[str, Any], error_class: type[Exception]
) -> None:
    http.post(f"{ORDER_URL}/messages/invoice", status=403, json=refusal)

    with pytest.raises(error_class) as raised:
        _client().call("sendInvoice", "POST", f"{ORDER_PATH}/messages/invoice", json_body={})

    assert not getattr(raised.value, "transient", True)
    assert len(_api_calls(http)) == 1
    assert len(_lwa_calls(http)) == 1


def test_retry_after_expired_token_sends_the_same_request_again(http: responses.RequestsMock) -> None:
    _issue_numbered_tokens(http)
    url = f"{ORDER_URL}/messages/unexpectedProblem"
    http.post(url, status=403, json=EXPIRED)
    http.post(url, json={}, status=201)

    _client().call(
        "createUnexpectedProblem",
        "POST",
        f"{ORDER_PATH}/messages/unexpectedProblem",
        params={"marketplaceIds": support.MARKETPLACE_ID},
        json_body={"text": "Sorry"},
    )

    first, second = _api_calls(http)
    assert first.request.url == second.request.url
    assert json.loads(first.request.body) == json.loads(second.request.body) == {"text": "Sorry"}


def test_refreshed_token_is_kept_for_later_calls(http: responses.RequestsMock) -> None:
    _issue_numbered_tokens(http)
    http.get(ORDER_URL, status=403, json=EXPIRED)
    http.get(ORDER_URL, json={})
    client = _client()

    _get_order(client)
    _get_order(client)

    assert len(_lwa_calls(http)) == 2
    assert _api_calls(http)[-1].request.headers["x-amz-access-token"] == "token-2"


def test_a_token_refused_to_two_concurrent_calls_is_refreshed_once(http: responses.RequestsMock) -> None:
    """Both calls carried token-1 and both were refused; the second refusal must not discard token-2."""
    _issue_numbered_tokens(http)
    client = _client()
    _get_order_refused_while_another_call_refreshes(http, client)

    # Recorded as answered: B's two calls (inside A's first), then A's two; A's retry reuses B's token-2.
    assert [call.request.headers["x-amz-access-token"] for call in _api_calls(http)] == [
        "token-1",
        "token-2",
        "token-1",
        "token-2",
    ]
    assert len(_lwa_calls(http)) == 2


def _get_order_refused_while_another_call_refreshes(http: responses.RequestsMock, client: SpApiClient) -> None:
    """Call A sends token-1 and is refused; before it retries, call B (also with token-1) is refused,
    refreshes to token-2 and succeeds; then A, refused with token-1, retries."""
    answers = iter(["refuse-A", "refuse-B", "ok-B", "ok-A"])
    nested: list[spapi.SpApiResponse] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        step = next(answers)
        if step == "refuse-A":
            # B runs while A waits for its answer, with the token A sent.
            nested.append(client.call("getMessagingActionsForOrder", "GET", ORDER_PATH))
        if step.startswith("refuse"):
            return 403, {"Content-Type": "application/json"}, json.dumps(EXPIRED)
        return 200, {"Content-Type": "application/json"}, "{}"

    http.add_callback(responses.GET, ORDER_URL, callback=answer)
    client.call("getMessagingActionsForOrder", "GET", ORDER_PATH)
    assert len(nested) == 1


def test_the_cached_tokens_age_is_judged_by_the_wall_clock(
    http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda froze the container for an hour: its monotonic clock stood still, the wall clock did not.
    The client asks LWA for a new token before the call instead of sending a dead one."""
    _issue_numbered_tokens(http)
    http.get(ORDER_URL, json={})
    wall = [1_800_000_000.0]
    monkeypatch.setattr(time, "monotonic", lambda: 5_000.0)
    monkeypatch.setattr(time, "time", lambda: wall[0])
    client = _client()
    _get_order(client)

    wall[0] += 3600
    _get_order(client)

    assert [call.request.headers["x-amz-access-token"] for call in _api_calls(http)] == ["token-1", "token-2"]


# --- Building the client from the settings ---------------------------------------------------------------


def test_client_for_uses_the_endpoint_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPAPI_ENDPOINT", "http://127.0.0.1:8123/")

    client = spapi.client_for(config.Settings.from_env())

    assert client.endpoint == "http://127.0.0.1:8123"


@pytest.mark.parametrize("region", sorted(config.REGION_ENDPOINTS))
def test_client_for_uses_the_regions_endpoint_when_no_override(monkeypatch: pytest.MonkeyPatch, region: str) -> None:
    monkeypatch.setenv("SPAPI_REGION", region)
    monkeypatch.setenv("SPAPI_ENDPOINT", "")

    client = spapi.client_for(config.Settings.from_env())

    assert client.endpoint == config.REGION_ENDPOINTS[region]


def test_client_for_uses_the_region_endpoint_when_the_override_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPAPI_REGION", "eu")
    monkeypatch.delenv("SPAPI_ENDPOINT")

    assert spapi.client_for(config.Settings.from_env()).endpoint == "https://sellingpartnerapi-eu.amazon.com"


def test_client_for_without_a_credentials_secret_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPAPI_CREDENTIALS_SECRET", "")

    with pytest.raises(ConfigurationError, match="SPAPI_CREDENTIALS_SECRET"):
        spapi.client_for(config.Settings.from_env())


def test_default_client_is_built_once_per_container() -> None:
    assert spapi.default_client() is spapi.default_client()


def test_default_client_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPAPI_REGION", "fe")
    monkeypatch.setenv("SPAPI_ENDPOINT", "")

    assert spapi.default_client().endpoint == config.REGION_ENDPOINTS["fe"]


def test_default_client_gets_its_token_from_the_configured_lwa_url_with_the_secrets_credentials(
    monkeypatch: pytest.MonkeyPatch, aws: dict[str, Any], http: responses.RequestsMock
) -> None:
    token_url = "https://lwa.example.test/auth/o2/token"
    monkeypatch.setenv("LWA_TOKEN_URL", token_url)
    http.post(token_url, json={"access_token": "Atza|configured", "token_type": "bearer", "expires_in": 3600})
    http.get(ORDER_URL, json={})

    spapi.default_client().call("getMessagingActionsForOrder", "GET", ORDER_PATH)

    (lwa_call,) = [call for call in http.calls if call.request.url == token_url]
    assert parse_qs(lwa_call.request.body)["client_id"] == [support.CREDENTIALS["clientId"]]
    assert parse_qs(lwa_call.request.body)["refresh_token"] == [support.CREDENTIALS["refreshToken"]]
    assert _api_calls(http)[0].request.headers["x-amz-access-token"] == "Atza|configured"
    assert _lwa_calls(http) == []


def test_default_client_uses_the_configured_timeouts(
    monkeypatch: pytest.MonkeyPatch, aws: dict[str, Any], http: responses.RequestsMock
) -> None:
    monkeypatch.setenv("SPAPI_CONNECT_TIMEOUT", "2.5")
    monkeypatch.setenv("SPAPI_READ_TIMEOUT", "11")
    http.get(ORDER_URL, json={})

    spapi.default_client().call("getMessagingActionsForOrder", "GET", ORDER_PATH)

    assert _api_calls(http)[0].request.req_kwargs["timeout"] == (2.5, 11.0)
    assert _lwa_calls(http)[0].request.req_kwargs["timeout"] == (2.5, 11.0)
