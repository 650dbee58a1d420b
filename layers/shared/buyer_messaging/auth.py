"""Login with Amazon: the seller's credentials from Secrets Manager and cached access tokens.

Credentials never leave this module except as the form fields of the token request; their ``repr``
hides them so they cannot reach a log by accident. Access tokens are cached per container and
refreshed shortly before ``expires_in`` runs out, and at once when Amazon refuses one (see spapi).

A cached token's age is measured on the wall clock (``time.time``): Lambda freezes an idle container,
and the monotonic clock need not advance while it is frozen, so by monotonic time a token could look
minutes old when hours have passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from buyer_messaging.errors import (
    CredentialsNotConfigured,
    LwaInvalidGrant,
    LwaRejected,
    LwaUnavailable,
)
from buyer_messaging.sessions import new_session

if TYPE_CHECKING:
    import requests

# Refresh this long before the token's announced expiry, so a token never expires mid-call.
REFRESH_MARGIN_SECONDS = 120.0
SECRET_CACHE_SECONDS = 300
REQUIRED_CREDENTIAL_FIELDS = ("clientId", "clientSecret", "refreshToken")


@dataclass(frozen=True, slots=True)
class LwaCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    @classmethod
    def from_secret(cls, secret: object) -> LwaCredentials:
        if not isinstance(secret, Mapping):
            raise CredentialsNotConfigured(
                "The LWA credentials secret must be a JSON object with clientId, clientSecret and refreshToken."
            )
        missing = [name for name in REQUIRED_CREDENTIAL_FIELDS if not _non_empty_string(secret.get(name))]
        if missing:
            raise CredentialsNotConfigured(
                "The LWA credentials secret lacks " + ", ".join(missing) + ". Store the app's LWA client id "
                "and secret and the seller's refresh token in it (see README, 'Configure credentials')."
            )
        return cls(
            client_id=str(secret["clientId"]),
            client_secret=str(secret["clientSecret"]),
            refresh_token=str(secret["refreshToken"]),
        )


def _non_empty_string(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def load_credentials(secret_id: str) -> LwaCredentials:
    """Read the credentials secret through Powertools Parameters (cached for a few minutes)."""
    # Imported here: only functions that call the SP-API pay for the Parameters utility's import.
    from aws_lambda_powertools.utilities import parameters

    try:
        secret = parameters.get_secret(secret_id, transform="json", max_age=SECRET_CACHE_SECONDS)
    except parameters.exceptions.TransformParameterError:
        raise CredentialsNotConfigured(f"The LWA credentials secret {secret_id!r} is not valid JSON.") from None
    except parameters.exceptions.GetParameterError as error:
        raise CredentialsNotConfigured(
            f"The LWA credentials secret {secret_id!r} could not be read: {_first_line(error)}"
        ) from None
    return LwaCredentials.from_secret(secret)


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


@dataclass(slots=True)
class _CachedToken:
    value: str
    refresh_at: float


class AccessTokenProvider:
    """Hands out an LWA access token, asking LWA only when the cached one is close to expiry."""

    def __init__(
        self,
        token_url: str,
        credentials: Callable[[], LwaCredentials],
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 15.0),
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._token_url = token_url
        self._credentials = credentials
        self._session = session or new_session()
        self._timeout = timeout
        self._clock = clock or _wall_clock
        self._cached: _CachedToken | None = None
        self._lock = threading.Lock()

    def access_token(self) -> str:
        with self._lock:
            cached = self._cached
            if cached is None or self._clock() >= cached.refresh_at:
                cached = self._cached = self._request_token()
            return cached.value

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (Amazon said it expired or was revoked).

        With ``token``, only if it is still the cached one: a concurrent caller refused the same old token
        must not throw away the fresh token another caller already fetched.
        """
        with self._lock:
            if token is None or (self._cached is not None and self._cached.value == token):
                self._cached = None

    def _request_token(self) -> _CachedToken:
        import requests

        credentials = self._credentials()
        requested_at = self._clock()
        try:
            response = self._session.post(
                self._token_url,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": credentials.refresh_token,
                    "client_id": credentials.client_id,
                    "client_secret": credentials.client_secret,
                },
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except requests.RequestException as error:
            raise LwaUnavailable(f"Login with Amazon could not be reached ({type(error).__name__}).") from None
        body = _json_object(response)
        if response.status_code >= 500 or response.status_code == 429:
            raise LwaUnavailable(f"Login with Amazon answered {response.status_code}.")
        if response.status_code != 200:
            code = str(body.get("error", "")) or f"HTTP {response.status_code}"
            description = str(body.get("error_description", "")).strip()
            if code == "invalid_grant":
                raise LwaInvalidGrant(
                    "Login with Amazon refused the refresh token (invalid_grant): the seller must authorize "
                    "the application again and the new refresh token must be stored in the credentials secret."
                    + (f" LWA said: {description}" if description else "")
                )
            raise LwaRejected(
                f"Login with Amazon refused the token request ({code})"
                + (f": {description}" if description else "")
                + ". Check the client id and client secret in the credentials secret."
            )
        token = body.get("access_token")
        expires_in = body.get("expires_in", 3600)
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise LwaUnavailable("Login with Amazon answered without an access token.")
        refresh_at = requested_at + max(float(expires_in) - REFRESH_MARGIN_SECONDS, 0.0)
        return _CachedToken(value=token, refresh_at=refresh_at)


def _wall_clock() -> float:
    # Looked up at each call (not bound as a default argument) so a test can move the wall clock.
    return time.time()


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
