"""Login with Amazon's token endpoint (``POST /auth/o2/token``): the refresh-token grant, the
``authorization_code`` grant of the website authorization workflow (:mod:`spapi_emulator.authorizations`), and the
``client_credentials`` grant of grantless operations (SP-API docs "Grantless operations").

Checks, in order (OAuth 2.0, RFC 6749 section 5.2, as LWA answers):

1. the body is form-urlencoded (``application/x-www-form-urlencoded``, as LWA documents), each field at
   most once (RFC 6749 section 3.2), or a JSON object of strings (``application/json``: Amazon's own Java
   and C# SDKs send that, amzn/selling-partner-api-models clients/sellingpartner-api-aa-java LWAClient;
   accepted and noted) -> else 400 ``invalid_request``;
2. ``grant_type`` is present (400 ``invalid_request``) and is ``refresh_token``, ``authorization_code`` or
   ``client_credentials`` (400 ``unsupported_grant_type``);
3. ``client_id`` is the seed's and ``client_secret`` the application's current one, or the one before it within
   seven days of a rotation (:mod:`spapi_emulator.applications`) -> else 401 ``invalid_client`` "Client
   authentication failed", as LWA answers a rotated-out secret (jlevers/selling-partner-api#595,
   amzn/selling-partner-api-docs#3030); client credentials in the body only, as LWA documents (no HTTP Basic);
4. refresh_token grant: ``refresh_token`` is present (400 ``invalid_request``) and is one of the seed's sellers'
   (400 ``invalid_grant``) whose authorization is live (not revoked, under 365 days old: else 400
   ``invalid_grant``); the access token acts for that seller (its usage plans, its orders);
   authorization_code grant: ``code`` is present (400 ``invalid_request``), was issued by the consent step less
   than five minutes ago, never exchanged, for the ``redirect_uri`` sent (else 400 ``invalid_grant``); a missing
   ``redirect_uri`` is noted, not refused (LWA documents it; never stricter than the clients that leave it out);
   client_credentials grant: ``scope`` is present (400 ``invalid_request``) and a grantless scope
   (``sellingpartnerapi::notifications``, ``sellingpartnerapi::client_credential:rotation``; else 400
   ``invalid_scope``); the token acts for no seller and answers only the operations of its scope.

Parameters the refresh-token grant does not use are ignored and noted in the call log.

Success: 200 ``{"access_token", "refresh_token", "token_type": "bearer", "expires_in": 3600}`` (no
``refresh_token`` for client_credentials); the access
token expires 3600 emulated seconds later, or sooner when the emulator is told so (its
``token_lifetime_seconds``, ``expire_tokens``, ``revoke_tokens``), as Amazon's tokens sometimes do.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from spapi_emulator.applications import GRANTLESS_SCOPES, Applications
from spapi_emulator.authorizations import INVALID_REFRESH_TOKEN, Authorizations
from spapi_emulator.clock import EmulatedClock
from spapi_emulator.errors import LwaError
from spapi_emulator.httpio import BodyTooLarge, IncompleteBody, MalformedBody, Request, Response, json_response
from spapi_emulator.state import ACCESS_TOKEN_LIFETIME_SECONDS, State

TOKEN_PATH = "/auth/o2/token"  # noqa: S105  (a path, not a secret)
MAX_FORM_BYTES = 16 * 1024
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"
GRANT_PARAMETERS = {
    "refresh_token": frozenset({"grant_type", "refresh_token", "client_id", "client_secret"}),
    "authorization_code": frozenset({"grant_type", "code", "redirect_uri", "client_id", "client_secret"}),
    "client_credentials": frozenset({"grant_type", "scope", "client_id", "client_secret"}),
}
_HEADERS = [("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache")]


def token(
    request: Request,
    state: State,
    clock: EmulatedClock,
    applications: Applications,
    authorizations: Authorizations,
) -> Response:
    """Answer a token request; raises :class:`LwaError` for every refusal."""
    if request.method != "POST":
        raise LwaError(405, "invalid_request", "The token endpoint accepts POST requests only.")
    form = _form(request)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise LwaError(400, "invalid_request", "The request is missing a required parameter : grant_type")
    if grant_type not in GRANT_PARAMETERS:
        raise LwaError(
            400,
            "unsupported_grant_type",
            f"The authorization grant type {grant_type!r} is not supported by the emulator; use refresh_token, "
            "authorization_code or client_credentials.",
        )
    unused = sorted(set(form) - GRANT_PARAMETERS[grant_type])
    if unused:
        request.notes.append(f"Parameters the {grant_type} grant does not use: {', '.join(unused)}; ignored.")
    if not applications.client_authenticates(form.get("client_id"), form.get("client_secret")):
        raise LwaError(401, "invalid_client", "Client authentication failed")
    if grant_type == "client_credentials":
        return _grantless(form, state, clock, applications.past_deadline())
    if grant_type == "authorization_code":
        code = form.get("code")
        if not code:
            raise LwaError(400, "invalid_request", "The request is missing a required parameter : code")
        if "redirect_uri" not in form:
            request.notes.append("The authorization_code grant came without redirect_uri, which LWA documents.")
        seller, minted = authorizations.redeem(code, form.get("redirect_uri"))
        return _tokens(state, clock, applications, seller, minted)
    refresh_token = form.get("refresh_token")
    if not refresh_token:
        raise LwaError(400, "invalid_request", "The request is missing a required parameter : refresh_token")
    found = authorizations.seller_of_refresh_token(refresh_token)
    if found is None:
        raise LwaError(400, "invalid_grant", INVALID_REFRESH_TOKEN)
    return _tokens(state, clock, applications, found, refresh_token)


def _tokens(
    state: State, clock: EmulatedClock, applications: Applications, seller: str, refresh_token: str
) -> Response:
    past_deadline = applications.past_deadline()
    with state.lock:
        access_token = state.tokens.issue(clock.now(), seller, secret_past_deadline=past_deadline)
    return json_response(
        200,
        {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME_SECONDS,
        },
        content_type="application/json;charset=UTF-8",
        headers=_HEADERS,
    )


def _grantless(form: dict[str, str], state: State, clock: EmulatedClock, past_deadline: bool) -> Response:
    scope = form.get("scope")
    if not scope:
        raise LwaError(400, "invalid_request", "The request is missing a required parameter : scope")
    if scope not in GRANTLESS_SCOPES:
        raise LwaError(400, "invalid_scope", "An unknown scope was requested")
    with state.lock:
        access_token = state.tokens.issue(clock.now(), None, scope, secret_past_deadline=past_deadline)
    return json_response(
        200,
        {
            "access_token": access_token,
            "scope": scope,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME_SECONDS,
        },
        content_type="application/json;charset=UTF-8",
        headers=_HEADERS,
    )


def _form(request: Request) -> dict[str, str]:
    content_type = (request.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type not in (FORM_CONTENT_TYPE, JSON_CONTENT_TYPE):
        raise LwaError(
            400,
            "invalid_request",
            f"The request body must be {FORM_CONTENT_TYPE}, not {content_type or 'missing'}.",
        )
    try:
        raw = request.body.read_all(MAX_FORM_BYTES)
    except BodyTooLarge:
        raise LwaError(400, "invalid_request", "The request body is too large.") from None
    except (IncompleteBody, MalformedBody):
        raise LwaError(400, "invalid_request", "The request body is incomplete.") from None
    if content_type == JSON_CONTENT_TYPE:
        request.notes.append(f"Token request sent as JSON; LWA documents {FORM_CONTENT_TYPE} but accepts JSON.")
        return _json_fields(raw)
    try:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError):
        raise LwaError(400, "invalid_request", "The request body is not a valid form.") from None
    repeated = sorted(name for name, values in fields.items() if len(values) > 1)
    if repeated:
        raise LwaError(400, "invalid_request", f"Parameters must not be repeated: {', '.join(repeated)}.")
    return {name: values[0] for name, values in fields.items()}


def _json_fields(raw: bytes) -> dict[str, str]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise LwaError(400, "invalid_request", "The request body is not valid JSON.") from None
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise LwaError(400, "invalid_request", "The request body must be a JSON object of string parameters.")
    return dict(value)
