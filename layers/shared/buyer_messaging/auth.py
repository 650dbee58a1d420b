"""Login with Amazon: the seller's credentials from Secrets Manager and cached access tokens.

Credentials never leave this module except as the form fields of the token request; their ``repr``
hides them so they cannot reach a log by accident. Access tokens are cached per container and
refreshed shortly before ``expires_in`` runs out, and at once when Amazon refuses one (see spapi).

Rotation of the client secret (buyer_messaging.rotation): the credentials secret is cached for
``SECRET_CACHE_SECONDS`` (5 minutes), far inside the seven days Amazon keeps the old secret working after a
rotation, so every container picks the new one up in time. Should LWA still refuse the client (``invalid_client``:
the cached secret was rotated out, or stored by hand a moment ago), the secret is read once more past the cache
and, when it changed, the token is asked for with the new one instead of failing.

Grantless operations (the rotation itself) take a token of LWA's ``client_credentials`` grant with their
``scope`` instead of the seller's refresh token (SP-API docs, "Grantless operations").

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

from aws_lambda_powertools.metrics import MetricUnit

from buyer_messaging.emf import emit
from buyer_messaging.errors import (
    CredentialsNotConfigured,
    LwaInvalidGrant,
    LwaRejected,
    LwaUnavailable,
)
from buyer_messaging.observability import logger, metrics
from buyer_messaging.sessions import new_session

if TYPE_CHECKING:
    import requests

# Refresh this long before the token's announced expiry, so a token never expires mid-call.
REFRESH_MARGIN_SECONDS = 120.0
SECRET_CACHE_SECONDS = 300
REQUIRED_CREDENTIAL_FIELDS = ("clientId", "clientSecret", "refreshToken")
# Counted each time LWA refuses the client: the template's LwaRejectedAlarm watches it.
LWA_REJECTED_METRIC = "LwaRejected"


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


def load_credentials(secret_id: str, *, fresh: bool = False) -> LwaCredentials:
    """The credentials in the application secret alone (the legacy seller's refresh token among them)."""
    return LwaCredentials.from_secret(load_application_secret(secret_id, fresh=fresh))


def load_application_secret(secret_id: str, *, fresh: bool = False) -> dict[str, Any]:
    """Read the application's credentials secret through Powertools Parameters (cached for a few minutes;
    ``fresh``: read Secrets Manager now, and cache that). A JSON object, else :class:`CredentialsNotConfigured`."""
    # Imported here: only functions that call the SP-API pay for the Parameters utility's import.
    from aws_lambda_powertools.utilities import parameters

    try:
        secret = parameters.get_secret(secret_id, transform="json", max_age=SECRET_CACHE_SECONDS, force_fetch=fresh)
    except parameters.exceptions.TransformParameterError:
        raise CredentialsNotConfigured(f"The LWA credentials secret {secret_id!r} is not valid JSON.") from None
    except parameters.exceptions.GetParameterError as error:
        raise CredentialsNotConfigured(
            f"The LWA credentials secret {secret_id!r} could not be read: {_first_line(error)}"
        ) from None
    if not isinstance(secret, dict):
        raise CredentialsNotConfigured(
            "The LWA credentials secret must be a JSON object with clientId, clientSecret and refreshToken."
        )
    return secret


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


@dataclass(slots=True)
class _CachedToken:
    value: str
    refresh_at: float


class AccessTokenProvider:
    """Hands out an LWA access token, asking LWA only when the cached one is close to expiry.

    ``scope``: a grantless token of that scope (``client_credentials`` grant) instead of the seller's.
    ``fresh_credentials``: the credentials read past any cache, tried once when LWA refuses the client.
    ``grant_refused``: called with LWA's ``invalid_grant``; answers the credentials to try instead (a renewed
    authorization's) or raises (buyer_messaging.spapi.SellerAuthorization.refused)."""

    def __init__(
        self,
        token_url: str,
        credentials: Callable[[], LwaCredentials],
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 15.0),
        clock: Callable[[], float] | None = None,
        scope: str | None = None,
        fresh_credentials: Callable[[], LwaCredentials] | None = None,
        grant_refused: Callable[[LwaInvalidGrant], LwaCredentials] | None = None,
    ) -> None:
        self._token_url = token_url
        self._credentials = credentials
        self._scope = scope
        self._fresh_credentials = fresh_credentials
        self._grant_refused = grant_refused
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
        credentials = self._credentials()
        try:
            return self._exchange(credentials)
        except LwaInvalidGrant as refused:
            if self._grant_refused is None:
                raise
            renewed = self._grant_refused(refused)
            try:
                return self._exchange(renewed)
            except LwaInvalidGrant as refused_again:
                # The renewed authorization's token refused too: that one is lost (the callback raises).
                return self._exchange(self._grant_refused(refused_again))
        except LwaRejected as refused:
            if refused.code != "invalid_client" or self._fresh_credentials is None:
                raise
            fresh = self._fresh_credentials()
            if (fresh.client_id, fresh.client_secret) == (credentials.client_id, credentials.client_secret):
                raise
            # The secret changed since it was cached (a rotation stored a new one): once more with it.
            logger.info("LWA refused the cached client secret; the credentials secret holds a newer one")
            return self._exchange(fresh)

    def _form(self, credentials: LwaCredentials) -> dict[str, str]:
        client = {"client_id": credentials.client_id, "client_secret": credentials.client_secret}
        if self._scope is not None:
            return {"grant_type": "client_credentials", "scope": self._scope, **client}
        return {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token, **client}

    def _exchange(self, credentials: LwaCredentials) -> _CachedToken:
        import requests

        requested_at = self._clock()
        try:
            response = self._session.post(
                self._token_url,
                data=self._form(credentials),
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
                emit("AuthorizationLost", 1, Error=LwaInvalidGrant.__name__)
                raise LwaInvalidGrant(
                    "Login with Amazon refused the refresh token (invalid_grant): the seller must authorize "
                    "the application again and the new refresh token must be stored in the credentials secret."
                    + (f" LWA said: {description}" if description else "")
                )
            metrics.add_metric(name=LWA_REJECTED_METRIC, unit=MetricUnit.Count, value=1)
            raise LwaRejected(
                f"Login with Amazon refused the token request ({code})"
                + (f": {description}" if description else "")
                + ". Check the client id and client secret in the credentials secret"
                + " (docs/runbook-client-secret.md).",
                code=code,
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
