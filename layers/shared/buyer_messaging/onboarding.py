"""Onboarding sellers: invitations, Amazon's website authorization workflow, self-authorization, removal.

The website workflow (SP-API docs "Website Authorization Workflow"), as the routes of functions/onboard_seller run it:

1. The operator makes an invitation (:func:`invite`): a one-time link to ``GET /oauth/authorize`` valid for some
   days, optionally for one seller (a renewal). Only its SHA-256 is stored (``invitation#…``).
2. The seller opens it (:func:`start`): the invitation must be live; a one-time ``state`` is stored hashed
   (``oauthstate#…``, ten minutes) with the hash of a random cookie value, the browser gets that cookie and is sent
   to the region's Seller Central consent URI (``version=beta`` while the application is a draft).
3. Amazon sends the browser back to the redirect URI (:func:`finish`): the state must be known, live, unused and
   this browser's (its cookie); the ``spapi_oauth_code`` is exchanged at LWA with the application's client for the
   seller's refresh token, stored in the seller's own secret (sellers.record_authorization), the invitation is used
   up and ``SellerAuthorized`` goes on the event bus. The token is never logged, returned or shown.

Self-authorization (:func:`add_self_authorized`): a refresh token the seller made in Seller Central for a private
application; LWA must accept it before it is stored. LWA does not say whose a refresh token is, so the operator's
seller id is taken as given.

A state or an invitation is compared by its hash only: the table never holds a value that opens the flow.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from buyer_messaging import console_groups, eventbus, sellers, table
from buyer_messaging.auth import load_application_secret
from buyer_messaging.config import Settings
from buyer_messaging.errors import (
    AuthorizationCodeRefused,
    AuthorizationStateInvalid,
    CredentialsNotConfigured,
    InvalidRequest,
    InvitationInvalid,
    LwaInvalidGrant,
    LwaRejected,
    LwaUnavailable,
)
from buyer_messaging.sessions import new_session

INVITATION_FAMILY = "invitation#"
STATE_FAMILY = "oauthstate#"
STATE_SECONDS = 600
INVITATION_DEFAULT_DAYS = 7
INVITATION_MAX_DAYS = 30
STATE_COOKIE = "bm_oauth_state"
CONSENT_PATH = "/apps/authorize/consent"
LWA_TIMEOUT = (5.0, 15.0)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


# --- invitations -------------------------------------------------------------------------------------------


def authorize_url(settings: Settings) -> str:
    """The public ``GET /oauth/authorize`` route: the redirect URI's API, its sibling path."""
    redirect_uri = settings.require("oauth_redirect_uri")
    base, _, last = redirect_uri.rstrip("/").rpartition("/")
    if last != "callback":
        raise CredentialsNotConfigured(f"OAUTH_REDIRECT_URI={redirect_uri!r} must end in /oauth/callback.")
    return base + "/authorize"


def invite(settings: Settings, *, days: object, seller_id: object, now: datetime) -> dict[str, Any]:
    """A one-time invitation link valid ``days`` (1 to 30; None: 7), optionally for one seller (a renewal)."""
    if days is None:
        days = INVITATION_DEFAULT_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= INVITATION_MAX_DAYS:
        message = f"days must be a whole number of days from 1 to {INVITATION_MAX_DAYS}."
        raise InvalidRequest(message, problems=(("days", message),))
    if seller_id is not None and not isinstance(seller_id, str):
        raise InvalidRequest("sellingPartnerId must be a string.", problems=(("sellingPartnerId", "not a string"),))
    if seller_id is not None:
        sellers.check_id(seller_id)
    url = authorize_url(settings)
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(days=days)
    fields: dict[str, Any] = {"expiresAt": sellers.iso(expires), "expiration": _epoch(expires)}
    if seller_id is not None:
        fields["sellingPartnerId"] = seller_id
    name = settings.require("workflow_table")
    item = table.to_item({"id": INVITATION_FAMILY + digest(token), **fields})
    table.call(name, lambda client: client.put_item(TableName=name, Item=item))
    shown: dict[str, Any] = {
        "invitationUrl": f"{url}?{urlencode({'invitation': token})}",
        "expiresAt": fields["expiresAt"],
    }
    if seller_id is not None:
        shown["sellingPartnerId"] = seller_id
    return shown


def _live_invitation(settings: Settings, token: str | None, now: datetime) -> dict[str, Any]:
    if not token:
        raise InvitationInvalid("The link has no invitation: ask the operator for a new invitation link.")
    name = settings.require("workflow_table")
    key = {"id": {"S": INVITATION_FAMILY + digest(token)}}
    response = table.call(name, lambda client: client.get_item(TableName=name, Key=key, ConsistentRead=True))
    fields = table.from_item(response.get("Item", {}))
    if not fields:
        raise InvitationInvalid("This invitation is unknown: ask the operator for a new invitation link.")
    if fields.get("usedAt"):
        raise InvitationInvalid("This invitation was used already: ask the operator for a new invitation link.")
    if int(fields.get("expiration", 0)) <= _epoch(now):
        raise InvitationInvalid("This invitation has expired: ask the operator for a new invitation link.")
    return fields


# --- the website authorization workflow ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Started:
    """Where to send the browser, and the cookie that binds the state to it (``repr`` hides both secrets)."""

    consent_url: str
    cookie_value: str

    def __repr__(self) -> str:
        return "Started(consent_url=<hidden>, cookie_value=<hidden>)"


def start(settings: Settings, invitation: str | None, *, now: datetime) -> Started:
    """Step 2: a live invitation -> a new one-time state bound to a new cookie, and the consent URI."""
    found = _live_invitation(settings, invitation, now)
    state = secrets.token_urlsafe(32)
    cookie = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=STATE_SECONDS)
    fields: dict[str, Any] = {
        "id": STATE_FAMILY + digest(state),
        "cookieHash": digest(cookie),
        "invitationHash": digest(invitation or ""),
        "expiresAt": sellers.iso(expires),
        "expiration": _epoch(expires),
    }
    if found.get("sellingPartnerId"):
        fields["sellingPartnerId"] = found["sellingPartnerId"]
    name = settings.require("workflow_table")
    item = table.to_item(fields)
    table.call(name, lambda client: client.put_item(TableName=name, Item=item))
    query = {"application_id": settings.require("spapi_application_id"), "state": state}
    if settings.oauth_draft_application:
        query["version"] = "beta"
    return Started(f"{settings.seller_central_url}{CONSENT_PATH}?{urlencode(query)}", cookie)


def _take_state(settings: Settings, state: str | None, cookie: str | None, now: datetime) -> dict[str, Any]:
    """The state's item, deleted (one use); :class:`AuthorizationStateInvalid` says which check failed."""
    again = "Start again from the invitation link."
    if not state:
        raise AuthorizationStateInvalid(f"Amazon's redirect carries no state. {again}")
    name = settings.require("workflow_table")
    key = {"id": {"S": STATE_FAMILY + digest(state)}}
    response = table.call(name, lambda client: client.get_item(TableName=name, Key=key, ConsistentRead=True))
    fields = table.from_item(response.get("Item", {}))
    if not fields:
        raise AuthorizationStateInvalid(f"The state is unknown or was used already. {again}")
    if not cookie or not secrets.compare_digest(digest(cookie), str(fields.get("cookieHash", ""))):
        raise AuthorizationStateInvalid(
            f"The authorization was started in another browser (its cookie is missing here). {again}"
        )
    if int(fields.get("expiration", 0)) <= _epoch(now):
        raise AuthorizationStateInvalid(f"The authorization took longer than {STATE_SECONDS // 60} minutes. {again}")
    try:
        table.call(
            name,
            lambda client: client.delete_item(TableName=name, Key=key, ConditionExpression="attribute_exists(id)"),
        )
    except table.ConditionNotMet:
        raise AuthorizationStateInvalid(f"The state is unknown or was used already. {again}") from None
    return fields


def finish(
    settings: Settings,
    *,
    state: str | None,
    cookie: str | None,
    seller_id: str | None,
    code: str | None,
    now: datetime,
    session: Any = None,
) -> sellers.AuthorizationRecorded:
    """Step 3: check the state, exchange the code, store the token, use up the invitation, tell the bus."""
    fields = _take_state(settings, state, cookie, now)
    if not seller_id or not code:
        raise AuthorizationStateInvalid(
            "Amazon's redirect lacks selling_partner_id or spapi_oauth_code. Start again from the invitation link."
        )
    sellers.check_id(seller_id, "selling_partner_id")
    bound = fields.get("sellingPartnerId")
    if bound and bound != seller_id:
        raise InvitationInvalid(
            f"This invitation is for the seller {bound}; the seller who signed in is {seller_id}. Sign in to Seller "
            "Central as that seller, or ask the operator for an invitation for this one."
        )
    refresh_token = exchange_code(settings, code, session=session)
    recorded = sellers.record_authorization(settings, seller_id, refresh_token, kind="oauth", at=now)
    _use_invitation(settings, str(fields.get("invitationHash", "")), now)
    _announce(settings, recorded)
    return recorded


def _use_invitation(settings: Settings, invitation_hash: str, now: datetime) -> None:
    name = settings.require("workflow_table")
    key = {"id": {"S": INVITATION_FAMILY + invitation_hash}}
    table.call(
        name,
        lambda client: client.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET usedAt = :at",
            ExpressionAttributeValues={":at": {"S": sellers.iso(now)}},
        ),
    )


def _announce(settings: Settings, recorded: sellers.AuthorizationRecorded) -> None:
    """The seller's console group made (its users act for it: access.py), and the bus told."""
    console_groups.ensure_group(os.environ.get("CONSOLE_USER_POOL_ID"), recorded.seller.selling_partner_id)
    detail = {**recorded.seller.to_dict(), "renewal": not recorded.first_time}
    eventbus.publish(settings.event_bus_name, eventbus.SELLER_AUTHORIZED, detail)


# --- Login with Amazon ------------------------------------------------------------------------------------


def _token_request(settings: Settings, form: dict[str, str], session: Any) -> tuple[int, dict[str, Any]]:
    import requests

    application = load_application_secret(settings.require("credentials_secret_id"))
    client_id, client_secret = application.get("clientId"), application.get("clientSecret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str) or not client_id or not client_secret:
        raise CredentialsNotConfigured("The credentials secret holds no clientId and clientSecret.")
    try:
        response = (session or new_session()).post(
            settings.lwa_token_url,
            data={**form, "client_id": client_id, "client_secret": client_secret},
            headers={"Accept": "application/json"},
            timeout=LWA_TIMEOUT,
        )
    except requests.RequestException as error:
        raise LwaUnavailable(f"Login with Amazon could not be reached ({type(error).__name__}).") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 500 or response.status_code == 429:
        raise LwaUnavailable(f"Login with Amazon answered {response.status_code}.")
    return response.status_code, body if isinstance(body, dict) else {}


def _refused(status: int, body: dict[str, Any]) -> LwaRejected:
    code = str(body.get("error", "")) or f"HTTP {status}"
    return LwaRejected(
        f"Login with Amazon refused the application's client ({code}): check the client id and secret in the "
        "credentials secret (docs/runbook-client-secret.md).",
        code=code,
    )


def exchange_code(settings: Settings, code: str, *, session: Any = None) -> str:
    """The refresh token of an ``spapi_oauth_code`` (grant_type=authorization_code, the registered redirect URI)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": settings.require("oauth_redirect_uri")}
    status, body = _token_request(settings, form, session)
    if status != 200 and body.get("error") in ("invalid_grant", "invalid_request"):
        raise AuthorizationCodeRefused(
            "Login with Amazon refused the authorization code (it lives five minutes and is used once; "
            f"{body.get('error')}). Start again from the invitation link."
        )
    if status != 200:
        raise _refused(status, body)
    refresh_token = body.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise LwaUnavailable("Login with Amazon answered the code exchange without a refresh token.")
    return refresh_token


def check_refresh_token(settings: Settings, refresh_token: str, *, session: Any = None) -> None:
    """LWA accepts ``refresh_token`` for the application's client, else :class:`LwaInvalidGrant`."""
    status, body = _token_request(settings, {"grant_type": "refresh_token", "refresh_token": refresh_token}, session)
    if status != 200 and body.get("error") == "invalid_grant":
        raise LwaInvalidGrant(
            "Login with Amazon refused this refresh token (invalid_grant): copy it again from Seller Central "
            "(Develop Apps, Authorize), for this application, and add the seller again."
        )
    if status != 200:
        raise _refused(status, body)


# --- self-authorization and removal ----------------------------------------------------------------------


def add_self_authorized(
    settings: Settings, seller_id: object, refresh_token: object, *, now: datetime, session: Any = None
) -> sellers.AuthorizationRecorded:
    """Store a refresh token the seller authorized by hand, once LWA accepts it."""
    if not isinstance(seller_id, str):
        raise InvalidRequest("sellingPartnerId is required.", problems=(("sellingPartnerId", "required"),))
    sellers.check_id(seller_id)
    if not isinstance(refresh_token, str) or not refresh_token.strip():
        raise InvalidRequest("refreshToken is required.", problems=(("refreshToken", "required"),))
    check_refresh_token(settings, refresh_token.strip(), session=session)
    recorded = sellers.record_authorization(settings, seller_id, refresh_token.strip(), kind="self", at=now)
    _announce(settings, recorded)
    return recorded


def remove(settings: Settings, seller_id: str) -> bool:
    """Stop serving the seller (sellers.remove) and tell the bus; False when it was not registered."""
    sellers.check_id(seller_id)
    existed = sellers.remove(settings, seller_id)
    if existed:
        eventbus.publish(settings.event_bus_name, eventbus.SELLER_REMOVED, {"sellingPartnerId": seller_id})
    return existed
