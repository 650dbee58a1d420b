"""The SP-API HTTP client: one requests Session per container, auth headers, errors mapped to names."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from buyer_messaging import __version__, authorization_hold, sellers
from buyer_messaging.auth import AccessTokenProvider, LwaCredentials, load_credentials
from buyer_messaging.config import Settings, get_settings
from buyer_messaging.emf import emit
from buyer_messaging.errors import (
    LwaInvalidGrant,
    MessageTypeNotAvailable,
    SellerNeedsAuthorization,
    SendOutcomeUnknown,
    SpApiError,
    SpApiInvalidInput,
    SpApiNotFound,
    SpApiThrottled,
    SpApiTokenExpired,
    SpApiUnauthorized,
    SpApiUnavailable,
)
from buyer_messaging.observability import logger
from buyer_messaging.sessions import new_session
from buyer_messaging.turns import Pace

if TYPE_CHECKING:
    import requests

# Amazon asks for "AppName/Version (Language=LanguageName/Version)".
USER_AGENT = f"BuyerMessagingWorkflow/{__version__} (Language=Python/{platform.python_version()})"
NOT_AVAILABLE_MESSAGE = "Invalid amazonOrderId and template combination"
# Amazon refuses a token it no longer accepts with 403 Unauthorized "Access to requested resource is denied.",
# the reason in `details` (amzn/selling-partner-api-models#2333 quotes the revoked one). Tokens die before
# their expires_in (amzn/selling-partner-api-models#2335: after about 20 minutes), and
# amzn/selling-partner-api-models#230 shows a token used past its time answered as revoked/invalid: both are
# worth one fresh token. "The security token included in the request is expired" (in `message`) was
# Amazon's answer to every call for a while (amzn/selling-partner-api-models#2595) and passed by itself.
EXPIRED_TOKEN_TEXTS = (
    "the access token you provided has expired",
    "the security token included in the request is expired",
)
REVOKED_TOKEN_TEXTS = ("the access token you provided is revoked, malformed or invalid",)
# A client secret past Amazon's 180-day deadline (PipedreamHQ/pipedream#16843): no fresh token helps.
SECRET_EXPIRED_TEXT = "the lwa secret token you provided has expired"  # noqa: S105  (a message)


@dataclass(frozen=True, slots=True)
class SpApiResponse:
    status: int
    body: Mapping[str, Any]
    request_id: str | None
    rate_limit: str | None


class Pacer(Protocol):
    """Takes each call's turn in the seller's quota and hears what each answer says about the pace (see
    buyer_messaging.turns.Pace)."""

    def before(self, operation: str) -> None: ...

    def answered(self, operation: str, rate_limit: str | None) -> None: ...

    def throttled(self, operation: str) -> None: ...


class SpApiClient:
    """Calls SP-API operations. ``operation`` names the call in errors and logs. ``pacer`` gives each call its
    turn, and hears every answer's ``x-amzn-RateLimit-Limit`` and every 429."""

    def __init__(
        self,
        endpoint: str,
        tokens: AccessTokenProvider,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        pacer: Pacer | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._tokens = tokens
        self._session = session or new_session()
        self._timeout = timeout
        self._pacer = pacer
        # The seller's authorization the tokens are of (None: the application secret's refresh token).
        self.authorization: SellerAuthorization | None = None

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        at_most_once: bool = False,
    ) -> SpApiResponse:
        """``at_most_once``: the call acts at Amazon's (a message send) and must never be repeated blindly, so a
        request that left without an answer ends in :class:`SendOutcomeUnknown` instead of a retried error."""
        token = self._tokens.access_token()
        if self._pacer is not None:
            self._pacer.before(operation)
        response = self._send(operation, method, path, params, json_body, token, at_most_once)
        _count(operation, response)
        if _token_refused(response):
            # Amazon refused the token itself (expired early, revoked): one fresh token, one more try. A 403
            # means Amazon did not act on the request, so sending it again cannot message the buyer twice.
            self._tokens.invalidate(token)
            token = self._tokens.access_token()
            response = self._send(operation, method, path, params, json_body, token, at_most_once)
            _count(operation, response)
            if _token_refused(response):
                self._tokens.invalidate(token)  # a later attempt starts with a new token, not a refused one
        if self._pacer is not None:
            if response.status_code == 429:
                self._pacer.throttled(operation)
            elif 200 <= response.status_code < 300:
                self._pacer.answered(operation, response.headers.get("x-amzn-RateLimit-Limit"))
        return _parse(operation, response)

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json_body: Mapping[str, Any] | None,
        token: str,
        at_most_once: bool,
    ) -> requests.Response:
        import requests

        headers = {
            "x-amz-access-token": token,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        try:
            return self._session.request(
                method,
                self.endpoint + path,
                params=params,
                json=json_body,
                headers=headers,
                timeout=self._timeout,
            )
        except requests.RequestException as error:
            if at_most_once and _may_have_arrived(error):
                raise SendOutcomeUnknown(
                    f"{operation}: the request was sent but no answer came ({_what_happened(error)}), so Amazon may"
                    " have delivered the message to the buyer. It was not sent again: the Messaging API takes no"
                    " idempotency key and a second send could message the buyer twice. Look at the order's messages"
                    " in Seller Central before sending it again."
                ) from None
            if isinstance(error, requests.Timeout):
                raise SpApiUnavailable(f"{operation}: the SP-API did not answer in time.") from None
            raise SpApiUnavailable(f"{operation}: the SP-API could not be reached ({type(error).__name__}).") from None


def _count(operation: str, response: requests.Response) -> None:
    """Each answered exchange, and each 429 (an exchange without an answer raised before)."""
    emit("SpApiCalls", 1, Operation=operation)
    if response.status_code == 429:
        emit("SpApiQuotaExceeded", 1, Operation=operation)


def _may_have_arrived(error: Exception) -> bool:
    """Whether a request that failed may have reached Amazon: anything but a connection that was never made
    (refused, a name that does not resolve, a connect timeout, a failed TLS handshake) or a request that could
    not even be prepared. A read timeout, or a connection reset or closed after the request was written, may
    come after Amazon acted on it."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(error, requests.ConnectTimeout | requests.exceptions.SSLError):
        return False
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.InvalidHeader):
        return False
    if isinstance(error, requests.ConnectionError):
        # requests wraps urllib3's MaxRetryError, whose reason says why no connection could be made.
        reason = getattr(error.args[0], "reason", None) if error.args else None
        return not isinstance(reason, NewConnectionError | ConnectTimeoutError)
    return True


def _what_happened(error: Exception) -> str:
    import requests

    if isinstance(error, requests.ReadTimeout):
        return "read timeout"
    return type(error).__name__


def _token_refused(response: requests.Response) -> bool:
    """Whether Amazon refused the access token itself (expired, revoked, invalid)."""
    return response.status_code == 403 and _says(_errors(response), EXPIRED_TOKEN_TEXTS + REVOKED_TOKEN_TEXTS)


def _says(errors: list[tuple[str, str, str]], texts: tuple[str, ...]) -> bool:
    """Whether Amazon's errors say one of ``texts``, in ``details`` (where Amazon puts the reason) or ``message``."""
    said = " ".join(f"{message} {details}" for _, message, details in errors).lower()
    return any(text in said for text in texts)


def _errors(response: requests.Response) -> list[tuple[str, str, str]]:
    try:
        body = response.json()
    except ValueError:
        return []
    found = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(found, list):
        return []
    return [
        (str(item.get("code", "")), str(item.get("message", "")), str(item.get("details", "") or ""))
        for item in found
        if isinstance(item, dict)
    ]


def _parse(operation: str, response: requests.Response) -> SpApiResponse:
    request_id = response.headers.get("x-amzn-RequestId")
    status = response.status_code
    if 200 <= status < 300:
        try:
            body = response.json() if response.content else {}
        except ValueError:
            raise SpApiUnavailable(f"{operation}: the SP-API answered {status} with a body that is not JSON.") from None
        return SpApiResponse(
            status=status,
            body=body if isinstance(body, dict) else {"payload": body},
            request_id=request_id,
            rate_limit=response.headers.get("x-amzn-RateLimit-Limit"),
        )
    errors = _errors(response)
    code = errors[0][0] if errors else ""
    said = "; ".join(f"{c}: {m}" + (f" ({d})" if d else "") for c, m, d in errors) or (
        response.text[:200].strip() or f"HTTP {status}"
    )
    where = f"{operation} failed with HTTP {status}"
    suffix = f" [x-amzn-RequestId {request_id}]" if request_id else ""
    error_class: type[SpApiError]
    # Facts only: this call cannot know whether the state machine will try again (its last attempt's message
    # is the message's final cause), so no hint may promise a retry.
    if status == 429:
        error_class, hint = SpApiThrottled, ""
    elif status >= 500:
        error_class, hint = SpApiUnavailable, ""
    elif status == 403 and _says(errors, EXPIRED_TOKEN_TEXTS):
        # Only after a fresh token was refused too (see SpApiClient.call): Amazon's side, so transient.
        error_class, hint = SpApiTokenExpired, " A token fresh from Login with Amazon was refused as expired too."
    elif status == 403 and NOT_AVAILABLE_MESSAGE.lower() in said.lower():
        raise MessageTypeNotAvailable(
            f"{where}: Amazon does not allow this message type for this order now ({said}).{suffix}"
        )
    elif status == 403 and _says(errors, (SECRET_EXPIRED_TEXT,)):
        error_class, hint = (
            SpApiUnauthorized,
            " The LWA client secret is past Amazon's 180-day deadline: rotate it in the Developer Console and store"
            " it in the credentials secret (docs/runbook-client-secret.md).",
        )
    elif status in (401, 403):
        error_class, hint = (
            SpApiUnauthorized,
            (" Check that the app has the Buyer Communication role and that the seller authorized it for this region."),
        )
    elif status == 404:
        error_class, hint = SpApiNotFound, " Check the order id and the marketplace."
    else:
        error_class, hint = SpApiInvalidInput, ""
    if hint.strip().rstrip(".").lower() in said.lower():
        hint = ""  # Amazon's details already say it
    said = said if said.endswith(")") else said.rstrip(".") + "."  # no ".)." after Amazon's details
    if error_class is SpApiUnauthorized:
        emit("AuthorizationLost", 1, Error=SpApiUnauthorized.__name__)
    raise error_class(f"{where}: {said}{hint}{suffix}", status=status, code=code or None, request_id=request_id)


# A container serves a few sellers at a time; a client a seller keeps its token and its connections. Bounded:
# a seller past the bound gets a new client (one more LWA token), never another seller's.
SELLER_CLIENTS = 32


@lru_cache(maxsize=1)
def default_client() -> SpApiClient:
    """The client of this container: built once so the Session's connections and the token are reused."""
    return client_for(get_settings())


def seller_client(seller: str | None) -> SpApiClient:
    """The client that acts for ``seller`` (None: the deployment's one seller never named, :func:`default_client`)."""
    return default_client() if seller is None else _seller_client(seller)


@lru_cache(maxsize=SELLER_CLIENTS)
def _seller_client(seller: str) -> SpApiClient:
    return client_for(get_settings(), seller)


def reset_clients() -> None:
    default_client.cache_clear()
    _seller_client.cache_clear()


class SellerAuthorization:
    """Loads the LWA credentials of one seller (buyer_messaging.sellers.credentials_for) and remembers which
    authorization the refresh token last loaded is of (``authorized_at``): what a refused token is to be
    compared with before the seller is marked as needing a new authorization."""

    def __init__(self, settings: Settings, seller: str) -> None:
        self._settings = settings
        self.seller = seller
        self.authorized_at: str | None = None

    def load(self, *, fresh: bool = False) -> LwaCredentials:
        found = sellers.credentials_for(self._settings, self.seller, fresh=fresh)
        self.authorized_at = found.authorized_at
        return found.credentials

    def refused(self, error: LwaInvalidGrant) -> LwaCredentials:
        """LWA refused the refresh token last loaded (``invalid_grant``). The seller's secret is read again first:
        a newer authorization's credentials are returned to be tried. Otherwise the seller is marked as needing
        authorization (once per loss) and :class:`SellerNeedsAuthorization` raised: its messages are held. The
        legacy seller (no registry item) has nothing to mark or renew: ``error`` stands and fails the message."""
        if sellers.get(self._settings, self.seller) is None:
            raise error
        refused_at = self.authorized_at
        renewed = self.load(fresh=True)  # SellerNeedsAuthorization when another container marked it already
        if self.authorized_at != refused_at:
            logger.info("LWA refused an earlier authorization's token; the seller's secret holds a newer one")
            return renewed
        authorization_hold.authorization_lost(self._settings, self.seller, refused_at)
        raise SellerNeedsAuthorization(
            f"Login with Amazon refused the refresh token of seller {self.seller} (invalid_grant): the seller must "
            "authorize the application again (README, 'Authorization lost'); its messages wait until it does."
        )


def client_for(settings: Settings, seller: str | None = None) -> SpApiClient:
    """A client acting for ``seller``: its refresh token (its own secret, or the application secret for the
    legacy seller and for None). Grantless calls (rotation) do not go through here."""
    session = new_session()
    authorization: SellerAuthorization | None = None
    if seller is None:
        secret_id = settings.require("credentials_secret_id")

        def credentials() -> LwaCredentials:
            return load_credentials(secret_id)

        def fresh_credentials() -> LwaCredentials:
            return load_credentials(secret_id, fresh=True)
    else:
        authorization = SellerAuthorization(settings, seller)
        credentials, fresh_credentials = authorization.load, lambda: authorization.load(fresh=True)
    tokens = AccessTokenProvider(
        settings.lwa_token_url,
        credentials,
        session=session,
        timeout=(settings.connect_timeout_seconds, settings.read_timeout_seconds),
        fresh_credentials=fresh_credentials,
        grant_refused=authorization.refused if authorization is not None else None,
    )
    client = SpApiClient(
        settings.spapi_endpoint,
        tokens,
        session=session,
        timeout=(settings.connect_timeout_seconds, settings.read_timeout_seconds),
        pacer=Pace(),
    )
    client.authorization = authorization
    return client
