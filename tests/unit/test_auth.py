"""Login with Amazon: the token request, the token cache, LWA's errors and the credentials secret."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses

from buyer_messaging.auth import AccessTokenProvider, LwaCredentials, load_credentials
from buyer_messaging.errors import (
    CredentialsNotConfigured,
    LwaInvalidGrant,
    LwaRejected,
    LwaUnavailable,
    TransientError,
)
from tests import support

CREDENTIALS = LwaCredentials.from_secret(support.CREDENTIALS)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Lwa:
    """The LWA token endpoint answering "token-1", "token-2", ... (one new token per request)."""

    def __init__(self, http: responses.RequestsMock, expires_in: Any = 3600) -> None:
        self.http = http
        self.expires_in = expires_in
        self.issued = 0
        http.remove(responses.POST, support.TOKEN_URL)
        http.add_callback(responses.POST, support.TOKEN_URL, callback=self._answer)

    def _answer(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        self.issued += 1
        body: dict[str, Any] = {"access_token": f"token-{self.issued}", "token_type": "bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    @property
    def calls(self) -> list[Any]:
        return [call for call in self.http.calls if call.request.url == support.TOKEN_URL]


def _provider(clock: Callable[[], float] | None = None, **kwargs: Any) -> AccessTokenProvider:
    if clock is not None:
        kwargs["clock"] = clock
    return AccessTokenProvider(support.TOKEN_URL, lambda: CREDENTIALS, **kwargs)


def _answer_token_request(http: responses.RequestsMock, **kwargs: Any) -> None:
    http.replace(responses.POST, support.TOKEN_URL, **kwargs)


# --- The token request -----------------------------------------------------------------------------------


def test_token_request_posts_exactly_the_refresh_token_grant_form(http: responses.RequestsMock) -> None:
    _provider().access_token()

    (call,) = http.calls
    assert call.request.method == "POST"
    assert call.request.url == support.TOKEN_URL
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(call.request.body, strict_parsing=True) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [support.CREDENTIALS["refreshToken"]],
        "client_id": [support.CREDENTIALS["clientId"]],
        "client_secret": [support.CREDENTIALS["clientSecret"]],
    }


def test_access_token_is_the_one_lwa_returned(http: responses.RequestsMock) -> None:
    assert _provider().access_token() == "Atza|test-access-token"


def test_token_request_uses_the_given_session_and_timeout(http: responses.RequestsMock) -> None:
    session = requests.Session()
    _provider(session=session, timeout=(1.5, 7.0)).access_token()

    (call,) = http.calls
    assert call.request.req_kwargs["timeout"] == (1.5, 7.0)


# --- The cache -------------------------------------------------------------------------------------------


def test_second_call_uses_the_cached_token_without_asking_lwa(http: responses.RequestsMock) -> None:
    lwa = Lwa(http)
    provider = _provider(FakeClock())

    assert provider.access_token() == "token-1"
    assert provider.access_token() == "token-1"
    assert len(lwa.calls) == 1


def test_credentials_are_read_only_when_a_token_is_requested(http: responses.RequestsMock) -> None:
    Lwa(http)
    reads: list[int] = []

    def credentials() -> LwaCredentials:
        reads.append(1)
        return CREDENTIALS

    provider = AccessTokenProvider(support.TOKEN_URL, credentials, clock=FakeClock())
    assert reads == []  # building the provider reads nothing
    provider.access_token()
    provider.access_token()
    assert len(reads) == 1


def test_token_is_reused_until_two_minutes_before_expiry(http: responses.RequestsMock) -> None:
    lwa = Lwa(http, expires_in=3600)
    clock = FakeClock()
    provider = _provider(clock)
    provider.access_token()

    clock.advance(3600 - 120 - 0.001)
    assert provider.access_token() == "token-1"
    assert len(lwa.calls) == 1


def test_token_is_refreshed_two_minutes_before_expiry(http: responses.RequestsMock) -> None:
    lwa = Lwa(http, expires_in=3600)
    clock = FakeClock()
    provider = _provider(clock)
    provider.access_token()

    clock.advance(3600 - 120)
    assert provider.access_token() == "token-2"
    assert len(lwa.calls) == 2
    # The fresh token is cached in turn.
    assert provider.access_token() == "token-2"
    assert len(lwa.calls) == 2


def test_refresh_time_follows_the_announced_expires_in(http: responses.RequestsMock) -> None:
    lwa = Lwa(http, expires_in=600)
    clock = FakeClock()
    provider = _provider(clock)
    provider.access_token()

    clock.advance(600 - 120 - 1)
    assert provider.access_token() == "token-1"
    clock.advance(1)
    assert provider.access_token() == "token-2"
    assert len(lwa.calls) == 2


def test_expires_in_defaults_to_an_hour_when_lwa_omits_it(http: responses.RequestsMock) -> None:
    lwa = Lwa(http, expires_in=None)
    clock = FakeClock()
    provider = _provider(clock)
    provider.access_token()

    clock.advance(3479)
    assert provider.access_token() == "token-1"
    clock.advance(1)
    assert provider.access_token() == "token-2"
    assert len(lwa.calls) == 2


def test_token_shorter_lived_than_the_margin_is_not_reused(http: responses.RequestsMock) -> None:
    lwa = Lwa(http, expires_in=60)
    provider = _provider(FakeClock())

    assert provider.access_token() == "token-1"
    assert provider.access_token() == "token-2"
    assert len(lwa.calls) == 2


def test_invalidate_forgets_the_cached_token(http: responses.RequestsMock) -> None:
    lwa = Lwa(http)
    provider = _provider(FakeClock())
    provider.access_token()

    provider.invalidate()

    assert provider.access_token() == "token-2"
    assert len(lwa.calls) == 2


def test_invalidating_a_token_no_longer_cached_keeps_the_fresh_one(http: responses.RequestsMock) -> None:
    """Two calls were refused token-1; the first to invalidate it got token-2, the second must keep it."""
    lwa = Lwa(http)
    provider = _provider(FakeClock())
    assert provider.access_token() == "token-1"

    provider.invalidate("token-1")
    assert provider.access_token() == "token-2"
    provider.invalidate("token-1")

    assert provider.access_token() == "token-2"
    assert len(lwa.calls) == 2


def test_the_cached_tokens_age_is_judged_by_the_wall_clock(
    http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda freezes an idle container; its monotonic clock need not advance meanwhile. An hour later on
    the wall clock the token is dead, however young it looks by monotonic time."""
    lwa = Lwa(http, expires_in=3600)
    wall = FakeClock(1_800_000_000.0)
    monkeypatch.setattr(time, "monotonic", lambda: 5_000.0)  # frozen
    monkeypatch.setattr(time, "time", wall)
    provider = _provider()  # the default clock
    assert provider.access_token() == "token-1"

    wall.advance(3600 - 120 - 1)
    assert provider.access_token() == "token-1"
    wall.advance(1)
    assert provider.access_token() == "token-2"
    assert len(lwa.calls) == 2


def test_concurrent_callers_share_one_token_request(http: responses.RequestsMock) -> None:
    lwa = Lwa(http)
    provider = _provider(FakeClock())
    tokens: list[str] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        tokens.append(provider.access_token())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert tokens == ["token-1"] * 8
    assert len(lwa.calls) == 1


# --- LWA's errors ----------------------------------------------------------------------------------------


def test_invalid_grant_says_the_seller_must_authorize_again(http: responses.RequestsMock) -> None:
    _answer_token_request(
        http,
        status=400,
        json={"error": "invalid_grant", "error_description": "The request has an invalid grant parameter"},
    )

    with pytest.raises(LwaInvalidGrant) as raised:
        _provider().access_token()

    message = str(raised.value)
    assert "authorize the application again" in message
    assert "refresh token" in message
    assert "The request has an invalid grant parameter" in message
    assert not raised.value.transient


def test_invalid_client_is_rejected_with_a_hint_about_client_id_and_secret(http: responses.RequestsMock) -> None:
    _answer_token_request(
        http, status=401, json={"error": "invalid_client", "error_description": "Client authentication failed"}
    )

    with pytest.raises(LwaRejected) as raised:
        _provider().access_token()

    message = str(raised.value)
    assert "invalid_client" in message
    assert "Client authentication failed" in message
    assert "client id and client secret" in message
    assert not raised.value.transient


def test_client_error_without_json_is_rejected_with_the_status(http: responses.RequestsMock) -> None:
    _answer_token_request(http, status=400, body="Bad Request", content_type="text/plain")

    with pytest.raises(LwaRejected, match=r"HTTP 400"):
        _provider().access_token()


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_throttling_are_transient(http: responses.RequestsMock, status: int) -> None:
    _answer_token_request(http, status=status, json={"error": "server_error"})

    with pytest.raises(LwaUnavailable, match=str(status)) as raised:
        _provider().access_token()
    assert isinstance(raised.value, TransientError)


@pytest.mark.parametrize(
    "failure",
    [requests.ConnectionError("refused"), requests.ConnectTimeout("slow"), requests.ReadTimeout("slow")],
    ids=["connection-error", "connect-timeout", "read-timeout"],
)
def test_network_failures_are_transient(http: responses.RequestsMock, failure: Exception) -> None:
    _answer_token_request(http, body=failure)

    with pytest.raises(LwaUnavailable, match=type(failure).__name__):
        _provider().access_token()


def test_answer_without_access_token_is_transient(http: responses.RequestsMock) -> None:
    _answer_token_request(http, json={"token_type": "bearer", "expires_in": 3600})

    with pytest.raises(LwaUnavailable, match="without an access token"):
        _provider().access_token()


def test_answer_that_is_not_json_is_transient(http: responses.RequestsMock) -> None:
    _answer_token_request(http, body="<html>maintenance</html>", content_type="text/html")

    with pytest.raises(LwaUnavailable):
        _provider().access_token()


def test_answer_with_a_non_numeric_expires_in_is_transient(http: responses.RequestsMock) -> None:
    _answer_token_request(http, json={"access_token": "Atza|x", "expires_in": "soon"})

    with pytest.raises(LwaUnavailable):
        _provider().access_token()


def test_a_failed_request_caches_nothing(http: responses.RequestsMock) -> None:
    _answer_token_request(http, status=503, json={})
    provider = _provider(FakeClock())
    with pytest.raises(LwaUnavailable):
        provider.access_token()

    Lwa(http)
    assert provider.access_token() == "token-1"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "invalid_grant", "error_description": "bad"}),
        (401, {"error": "invalid_client", "error_description": "bad"}),
        (500, {"error": "server_error"}),
    ],
)
def test_error_messages_never_contain_the_secrets(
    http: responses.RequestsMock, status: int, body: dict[str, str]
) -> None:
    _answer_token_request(http, status=status, json=body)

    with pytest.raises((LwaInvalidGrant, LwaRejected, LwaUnavailable)) as raised:
        _provider().access_token()

    assert support.CREDENTIALS["clientSecret"] not in str(raised.value)
    assert support.CREDENTIALS["refreshToken"] not in str(raised.value)


# --- The credentials -------------------------------------------------------------------------------------


def test_credentials_from_a_complete_secret() -> None:
    credentials = LwaCredentials.from_secret(support.CREDENTIALS)

    assert credentials.client_id == support.CREDENTIALS["clientId"]
    assert credentials.client_secret == support.CREDENTIALS["clientSecret"]
    assert credentials.refresh_token == support.CREDENTIALS["refreshToken"]


@pytest.mark.parametrize(
    ("secret", "missing"),
    [
        ({"clientId": "id", "clientSecret": "s"}, ["refreshToken"]),
        ({"refreshToken": "r"}, ["clientId", "clientSecret"]),
        ({"clientId": "  ", "clientSecret": "s", "refreshToken": "r"}, ["clientId"]),
        ({"clientId": "id", "clientSecret": 42, "refreshToken": "r"}, ["clientSecret"]),
        ({}, ["clientId", "clientSecret", "refreshToken"]),
    ],
)
def test_secret_lacking_fields_names_every_missing_field(secret: dict[str, Any], missing: list[str]) -> None:
    with pytest.raises(CredentialsNotConfigured) as raised:
        LwaCredentials.from_secret(secret)

    assert f"lacks {', '.join(missing)}." in str(raised.value)


@pytest.mark.parametrize("secret", [["clientId"], "clientId", None, 42])
def test_secret_that_is_not_an_object_is_not_configured(secret: object) -> None:
    with pytest.raises(CredentialsNotConfigured, match="JSON object"):
        LwaCredentials.from_secret(secret)


def test_repr_of_credentials_hides_secret_and_refresh_token() -> None:
    shown = repr(CREDENTIALS) + str(CREDENTIALS) + f"{CREDENTIALS}"

    assert support.CREDENTIALS["clientId"] in shown
    assert support.CREDENTIALS["clientSecret"] not in shown
    assert support.CREDENTIALS["refreshToken"] not in shown


def test_load_credentials_reads_the_secret_from_secrets_manager(aws: dict[str, Any]) -> None:
    assert load_credentials(support.SECRET_ID) == CREDENTIALS


def test_load_credentials_for_a_missing_secret_is_not_configured(aws: dict[str, Any]) -> None:
    with pytest.raises(CredentialsNotConfigured, match="buyer-messaging/does-not-exist"):
        load_credentials("buyer-messaging/does-not-exist")


def test_load_credentials_for_a_secret_that_is_not_json_is_not_configured(aws: dict[str, Any]) -> None:
    aws["secretsmanager"].create_secret(Name="buyer-messaging/plain", SecretString="clientId=abc")

    with pytest.raises(CredentialsNotConfigured, match="not valid JSON"):
        load_credentials("buyer-messaging/plain")


def test_load_credentials_for_json_lacking_fields_names_them(aws: dict[str, Any]) -> None:
    aws["secretsmanager"].create_secret(Name="buyer-messaging/partial", SecretString=json.dumps({"clientId": "id"}))

    with pytest.raises(CredentialsNotConfigured, match=r"clientSecret, refreshToken"):
        load_credentials("buyer-messaging/partial")


def test_provider_with_secrets_manager_credentials_sends_them_to_lwa(
    aws: dict[str, Any], http: responses.RequestsMock
) -> None:
    provider = AccessTokenProvider(support.TOKEN_URL, lambda: load_credentials(support.SECRET_ID))

    assert provider.access_token() == "Atza|test-access-token"
    (call,) = [call for call in http.calls if call.request.url == support.TOKEN_URL]
    form = parse_qs(call.request.body)
    assert form["client_id"] == [support.CREDENTIALS["clientId"]]
    assert form["client_secret"] == [support.CREDENTIALS["clientSecret"]]
    assert form["refresh_token"] == [support.CREDENTIALS["refreshToken"]]
