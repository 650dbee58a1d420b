"""Onboarding a seller (buyer_messaging.onboarding) through Amazon's website authorization workflow, played by the
SP-API emulator's consent step and LWA, with the workflow table, the secrets and the event bus in moto: the way a
browser goes (invitation -> authorize -> consent -> callback), and every way it must be refused."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from buyer_messaging import onboarding, sellers
from buyer_messaging.config import Settings
from buyer_messaging.errors import (
    AuthorizationCodeRefused,
    AuthorizationStateInvalid,
    InvitationInvalid,
    LwaInvalidGrant,
)
from spapi_emulator import Emulator
from tests import support
from tests.integration.onboarding_flow import (
    FIRST_SELLER,
    NEW_SELLER,
    consent,
    onboarding_settings,
    running_emulator,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    yield from running_emulator()


@pytest.fixture
def settings(aws: dict[str, Any], emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return onboarding_settings(aws, emulator, monkeypatch)


def invitation_token(invitation: dict[str, Any]) -> str:
    return parse_qs(urlsplit(invitation["invitationUrl"]).query)["invitation"][0]


def onboard(settings: Settings, seller: str = NEW_SELLER, *, for_seller: str | None = None) -> sellers.Seller:
    invitation = onboarding.invite(settings, days=7, seller_id=for_seller, now=NOW)
    started = onboarding.start(settings, invitation_token(invitation), now=NOW)
    redirect = consent(started, seller)
    recorded = onboarding.finish(
        settings,
        state=redirect["state"],
        cookie=started.cookie_value,
        seller_id=redirect["selling_partner_id"],
        code=redirect["spapi_oauth_code"],
        now=NOW,
    )
    return recorded.seller


def stored_token(aws: dict[str, Any], seller: str) -> str:
    secret = aws["secretsmanager"].get_secret_value(SecretId=support.SELLER_SECRET_PREFIX + seller)
    return str(json.loads(secret["SecretString"])["refreshToken"])


def test_a_seller_onboards_through_the_consent_step(
    settings: Settings, emulator: Emulator, aws: dict[str, Any], tap: Callable[[], list[dict[str, Any]]]
) -> None:
    invitation = onboarding.invite(settings, days=7, seller_id=None, now=NOW)
    assert invitation == {
        "invitationUrl": f"https://console.example/oauth/authorize?invitation={invitation_token(invitation)}",
        "expiresAt": "2026-12-13T12:00:00Z",
    }
    started = onboarding.start(settings, invitation_token(invitation), now=NOW)
    consent_url = urlsplit(started.consent_url)
    assert f"{consent_url.scheme}://{consent_url.netloc}{consent_url.path}" == emulator.consent_url
    query = parse_qs(consent_url.query)
    assert set(query) == {"application_id", "state", "version"}
    assert query["application_id"] == ["amzn1.sp.solution.local-emulator"] and query["version"] == ["beta"]
    redirect = consent(started, NEW_SELLER)
    assert redirect["state"] == query["state"][0]

    recorded = onboarding.finish(
        settings,
        state=redirect["state"],
        cookie=started.cookie_value,
        seller_id=redirect["selling_partner_id"],
        code=redirect["spapi_oauth_code"],
        now=NOW,
    )

    assert recorded.first_time
    assert recorded.seller.to_dict() == {
        "sellingPartnerId": NEW_SELLER,
        "status": "authorized",
        "kind": "oauth",
        "authorizedAt": "2026-12-06T12:00:00Z",
        "authorizationExpiresAt": "2027-12-06T12:00:00Z",
    }
    token = stored_token(aws, NEW_SELLER)
    answer = requests.post(
        emulator.token_url,
        data={"grant_type": "refresh_token", "refresh_token": token, **_client(emulator)},
        timeout=10,
    )
    assert answer.status_code == 200  # the stored token is the seller's live authorization
    assert [(e["detail-type"], e["detail"]) for e in tap()] == [
        ("SellerAuthorized", {**recorded.seller.to_dict(), "renewal": False})
    ]
    # The table holds hashes only: neither the state nor the invitation nor the cookie can be read back.
    items = json.dumps(aws["dynamodb"].scan(TableName=support.TABLE)["Items"])
    for secret in (redirect["state"], invitation_token(invitation), started.cookie_value, token):
        assert secret not in items


def _client(emulator: Emulator) -> dict[str, str]:
    credentials = emulator.seed.credentials
    return {"client_id": credentials.client_id, "client_secret": credentials.client_secret}


def _redirect(settings: Settings) -> tuple[onboarding.Started, dict[str, str]]:
    invitation = onboarding.invite(settings, days=7, seller_id=None, now=NOW)
    started = onboarding.start(settings, invitation_token(invitation), now=NOW)
    return started, consent(started, NEW_SELLER)


def _finish(settings: Settings, started: onboarding.Started, redirect: dict[str, str], **changes: Any) -> Any:
    arguments: dict[str, Any] = {
        "state": redirect["state"],
        "cookie": started.cookie_value,
        "seller_id": redirect["selling_partner_id"],
        "code": redirect["spapi_oauth_code"],
        "now": NOW,
    }
    arguments.update(changes)
    return onboarding.finish(settings, **arguments)


def test_an_expired_code_is_refused_and_nothing_is_stored(
    settings: Settings, emulator: Emulator, aws: dict[str, Any]
) -> None:
    started, redirect = _redirect(settings)
    emulator.advance_clock(300)

    with pytest.raises(AuthorizationCodeRefused) as refused:
        _finish(settings, started, redirect)

    assert str(refused.value) == (
        "Login with Amazon refused the authorization code (it lives five minutes and is used once; invalid_grant). "
        "Start again from the invitation link."
    )
    assert sellers.get(settings, NEW_SELLER) is None


def test_a_reused_code_is_refused(settings: Settings, emulator: Emulator) -> None:
    started, redirect = _redirect(settings)
    _finish(settings, started, redirect)
    second_started, second = _redirect(settings)

    with pytest.raises(AuthorizationCodeRefused):
        _finish(settings, second_started, {**second, "spapi_oauth_code": redirect["spapi_oauth_code"]})


def test_a_forged_state_is_refused(settings: Settings) -> None:
    started, redirect = _redirect(settings)

    with pytest.raises(AuthorizationStateInvalid) as refused:
        _finish(settings, started, redirect, state="forged-" + redirect["state"])

    assert str(refused.value) == "The state is unknown or was used already. Start again from the invitation link."


def test_a_state_is_used_once(settings: Settings) -> None:
    started, redirect = _redirect(settings)
    _finish(settings, started, redirect)

    with pytest.raises(AuthorizationStateInvalid) as refused:
        _finish(settings, started, redirect)

    assert str(refused.value) == "The state is unknown or was used already. Start again from the invitation link."


def test_a_state_lives_ten_minutes(settings: Settings) -> None:
    started, redirect = _redirect(settings)

    with pytest.raises(AuthorizationStateInvalid) as refused:
        _finish(settings, started, redirect, now=NOW + timedelta(minutes=10))

    assert str(refused.value) == (
        "The authorization took longer than 10 minutes. Start again from the invitation link."
    )


@pytest.mark.parametrize("cookie", [None, "another-browser's-cookie"])
def test_a_state_from_another_browser_is_refused(settings: Settings, cookie: str | None) -> None:
    started, redirect = _redirect(settings)

    with pytest.raises(AuthorizationStateInvalid) as refused:
        _finish(settings, started, redirect, cookie=cookie)

    assert str(refused.value) == (
        "The authorization was started in another browser (its cookie is missing here). "
        "Start again from the invitation link."
    )
    _finish(settings, started, redirect)  # the right browser still can: a stranger cannot burn its state


@pytest.mark.parametrize(
    ("token", "sentence"),
    [
        (None, "The link has no invitation: ask the operator for a new invitation link."),
        ("never-issued", "This invitation is unknown: ask the operator for a new invitation link."),
    ],
)
def test_an_unknown_invitation_is_refused(settings: Settings, token: str | None, sentence: str) -> None:
    with pytest.raises(InvitationInvalid) as refused:
        onboarding.start(settings, token, now=NOW)

    assert str(refused.value) == sentence


def test_an_invitation_expires_and_is_used_once(settings: Settings) -> None:
    invitation = invitation_token(onboarding.invite(settings, days=1, seller_id=None, now=NOW))
    with pytest.raises(InvitationInvalid, match="This invitation has expired"):
        onboarding.start(settings, invitation, now=NOW + timedelta(days=1))
    started = onboarding.start(settings, invitation, now=NOW)
    abandoned = onboarding.start(settings, invitation, now=NOW)  # the seller may start again until it succeeds
    redirect = consent(started, NEW_SELLER)
    _finish(settings, started, redirect)

    with pytest.raises(InvitationInvalid, match="This invitation was used already"):
        onboarding.start(settings, invitation, now=NOW)
    assert abandoned.cookie_value != started.cookie_value


def test_a_renewal_replaces_the_token_and_the_dates(
    settings: Settings, aws: dict[str, Any], tap: Callable[[], list[dict[str, Any]]]
) -> None:
    onboard(settings)
    first_token = stored_token(aws, NEW_SELLER)
    later = NOW + timedelta(days=340)
    invitation = onboarding.invite(settings, days=7, seller_id=NEW_SELLER, now=later)
    started = onboarding.start(settings, invitation_token(invitation), now=later)
    redirect = consent(started, NEW_SELLER)

    recorded = _finish(settings, started, redirect, now=later)

    assert not recorded.first_time
    assert recorded.seller.to_dict()["authorizedAt"] == "2027-11-11T12:00:00Z"
    assert recorded.seller.to_dict()["authorizationExpiresAt"] == "2028-11-10T12:00:00Z"
    assert stored_token(aws, NEW_SELLER) != first_token
    assert [e["detail"]["renewal"] for e in tap()] == [False, True]


def test_a_renewal_invitation_is_for_its_seller_only(settings: Settings) -> None:
    invitation = onboarding.invite(settings, days=7, seller_id=FIRST_SELLER, now=NOW)
    started = onboarding.start(settings, invitation_token(invitation), now=NOW)
    redirect = consent(started, NEW_SELLER)

    with pytest.raises(InvitationInvalid) as refused:
        _finish(settings, started, redirect)

    assert str(refused.value).startswith(
        f"This invitation is for the seller {FIRST_SELLER}; the seller who signed in is {NEW_SELLER}."
    )
    assert sellers.get(settings, NEW_SELLER) is None


def test_a_seller_removed_then_onboarded_again(
    settings: Settings, aws: dict[str, Any], tap: Callable[[], list[dict[str, Any]]]
) -> None:
    onboard(settings)
    assert onboarding.remove(settings, NEW_SELLER) is True
    assert sellers.get(settings, NEW_SELLER) is None and sellers.registered(settings) == ()
    assert onboarding.remove(settings, NEW_SELLER) is False

    again = onboard(settings)

    assert again.status == "authorized"
    assert sellers.registered(settings) == (NEW_SELLER,)
    assert stored_token(aws, NEW_SELLER).startswith("Atzr|")
    assert [e["detail-type"] for e in tap()] == ["SellerAuthorized", "SellerRemoved", "SellerAuthorized"]


def test_self_authorization_checks_the_token_at_lwa_first(
    settings: Settings, emulator: Emulator, aws: dict[str, Any]
) -> None:
    with pytest.raises(LwaInvalidGrant, match="Login with Amazon refused this refresh token"):
        onboarding.add_self_authorized(settings, FIRST_SELLER, "Atzr|typed-wrong", now=NOW)
    assert sellers.get(settings, FIRST_SELLER) is None

    recorded = onboarding.add_self_authorized(settings, FIRST_SELLER, emulator.seed.credentials.refresh_token, now=NOW)

    assert recorded.seller.kind == "self"
    assert stored_token(aws, FIRST_SELLER) == emulator.seed.credentials.refresh_token
