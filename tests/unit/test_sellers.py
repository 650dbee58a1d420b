"""The seller registry: which seller a request is for, each seller's own secret, lost and renewed authorizations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from buyer_messaging import sellers
from buyer_messaging.config import Settings
from buyer_messaging.errors import (
    InvalidRequest,
    SellerNeedsAuthorization,
    SellerRequired,
    UnknownSeller,
)
from tests import support

SELLER_A = "A2EXAMPLESELLER"
SELLER_B = "A3OTHERSELLER"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _settings(**changes: str) -> Settings:
    return Settings.from_env({**_environment(), **changes})


def _environment() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_a_deployment_never_told_its_seller_works_as_before(aws: dict[str, Any]) -> None:
    settings = _settings()
    assert sellers.resolve(settings, None) is None
    with pytest.raises(UnknownSeller, match="A2EXAMPLESELLER is not a seller of this deployment"):
        sellers.resolve(settings, SELLER_A)
    credentials = sellers.credentials_for(settings, None)
    assert credentials.credentials.refresh_token == support.CREDENTIALS["refreshToken"]
    assert credentials.authorized_at is None


def test_the_legacy_seller_is_the_one_seller_when_named_by_selling_partner_id(aws: dict[str, Any]) -> None:
    settings = _settings(SELLING_PARTNER_ID=SELLER_A)
    assert sellers.resolve(settings, None) == SELLER_A
    assert sellers.resolve(settings, SELLER_A) == SELLER_A
    assert sellers.credentials_for(settings, SELLER_A).credentials.refresh_token == support.CREDENTIALS["refreshToken"]


def test_with_two_sellers_a_request_must_name_one(aws: dict[str, Any]) -> None:
    settings = _settings(SELLING_PARTNER_ID=SELLER_A)
    sellers.record_authorization(settings, SELLER_B, "Atzr|b-token", kind="oauth", at=NOW)
    assert sellers.deployment_sellers(settings) == (SELLER_A, SELLER_B)
    with pytest.raises(SellerRequired) as refused:
        sellers.resolve(settings, None)
    assert str(refused.value).startswith("This deployment serves 2 sellers: say which one the request is for")
    assert refused.value.bad_input
    assert sellers.resolve(settings, SELLER_B) == SELLER_B


def test_a_malformed_seller_id_is_named_as_the_field(aws: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest) as refused:
        sellers.resolve(_settings(), "a2example", field="sellingPartnerId")
    assert refused.value.problems[0][0] == "sellingPartnerId"


def test_an_onboarded_seller_has_a_secret_of_its_own_and_a_year_of_authorization(aws: dict[str, Any]) -> None:
    settings = _settings()
    recorded = sellers.record_authorization(settings, SELLER_B, "Atzr|b-token", kind="oauth", at=NOW)
    assert recorded.first_time and not recorded.was_held
    stored = json.loads(
        aws["secretsmanager"].get_secret_value(SecretId=support.SELLER_SECRET_PREFIX + SELLER_B)["SecretString"]
    )
    assert stored == {
        "sellingPartnerId": SELLER_B,
        "refreshToken": "Atzr|b-token",
        "authorizedAt": "2026-12-06T12:00:00Z",
    }
    seller = sellers.get(settings, SELLER_B)
    assert seller is not None
    assert seller.to_dict() == {
        "sellingPartnerId": SELLER_B,
        "status": "authorized",
        "kind": "oauth",
        "authorizedAt": "2026-12-06T12:00:00Z",
        "authorizationExpiresAt": "2027-12-06T12:00:00Z",
    }
    assert seller.days_left(NOW + timedelta(days=335)) == 30
    # The application's client with the seller's own token; the legacy token in the application secret is not it.
    credentials = sellers.credentials_for(settings, SELLER_B)
    assert credentials.credentials.client_id == support.CREDENTIALS["clientId"]
    assert credentials.credentials.refresh_token == "Atzr|b-token"
    assert credentials.authorized_at == "2026-12-06T12:00:00Z"
    assert "b-token" not in repr(credentials)


def test_a_lost_authorization_holds_until_the_seller_authorizes_again(aws: dict[str, Any]) -> None:
    settings = _settings()
    sellers.record_authorization(settings, SELLER_B, "Atzr|b-token", kind="oauth", at=NOW)
    # A token from an older authorization than the registry's marks nothing (a container's stale cache).
    assert not sellers.mark_needs_authorization(
        settings, SELLER_B, reason="LwaInvalidGrant", refused_authorization="2026-01-01T00:00:00Z", at=NOW
    )
    assert sellers.mark_needs_authorization(
        settings, SELLER_B, reason="LwaInvalidGrant", refused_authorization="2026-12-06T12:00:00Z", at=NOW
    )
    # Once per loss: a second refusal of the same token marks nothing more.
    assert not sellers.mark_needs_authorization(
        settings, SELLER_B, reason="LwaInvalidGrant", refused_authorization="2026-12-06T12:00:00Z", at=NOW
    )
    held = sellers.get(settings, SELLER_B)
    assert held is not None and held.status == "needsAuthorization"
    assert held.to_dict()["needsAuthorizationReason"] == "LwaInvalidGrant"
    with pytest.raises(SellerNeedsAuthorization, match="must authorize the application again"):
        sellers.credentials_for(settings, SELLER_B)
    renewed = sellers.record_authorization(
        settings, SELLER_B, "Atzr|b-renewed", kind="oauth", at=NOW + timedelta(days=1)
    )
    assert renewed.was_held and not renewed.first_time
    assert sellers.credentials_for(settings, SELLER_B, fresh=True).credentials.refresh_token == "Atzr|b-renewed"
    assert "needsAuthorizationSince" not in sellers.get(settings, SELLER_B).to_dict()  # type: ignore[union-attr]


def test_a_removed_seller_is_no_longer_served_and_its_secret_is_scheduled_for_deletion(aws: dict[str, Any]) -> None:
    settings = _settings()
    sellers.record_authorization(settings, SELLER_B, "Atzr|b-token", kind="self", at=NOW)
    assert sellers.registered(settings) == (SELLER_B,)
    assert sellers.remove(settings, SELLER_B)
    assert sellers.registered(settings) == ()
    assert sellers.get(settings, SELLER_B) is None
    described = aws["secretsmanager"].describe_secret(SecretId=support.SELLER_SECRET_PREFIX + SELLER_B)
    assert "DeletedDate" in described
    with pytest.raises(UnknownSeller):
        sellers.credentials_for(settings, SELLER_B)
    assert not sellers.remove(settings, SELLER_B)


def test_a_seller_removed_and_onboarded_again_gets_its_secret_back_with_the_new_token(aws: dict[str, Any]) -> None:
    settings = _settings()
    sellers.record_authorization(settings, SELLER_B, "Atzr|b-token", kind="oauth", at=NOW)
    sellers.remove(settings, SELLER_B)
    sellers.record_authorization(settings, SELLER_B, "Atzr|b-again", kind="oauth", at=NOW + timedelta(days=2))
    assert sellers.credentials_for(settings, SELLER_B, fresh=True).credentials.refresh_token == "Atzr|b-again"
    assert "DeletedDate" not in aws["secretsmanager"].describe_secret(SecretId=support.SELLER_SECRET_PREFIX + SELLER_B)
