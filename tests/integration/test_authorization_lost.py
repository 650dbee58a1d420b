"""A seller's lost authorization (buyer_messaging.authorization_hold): LWA's invalid_grant for a registered seller's
refresh token marks the seller once and announces it once; a container's token of an authorization the seller has
since renewed marks nothing; the legacy seller's refusal stays LwaInvalidGrant. LWA and the SP-API are the
emulator's; the registry, the secrets and the event bus are moto's."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from buyer_messaging import sellers, spapi
from buyer_messaging.config import Settings
from buyer_messaging.errors import LwaInvalidGrant, SellerNeedsAuthorization
from spapi_emulator import Emulator
from tests.integration.onboarding_flow import FIRST_SELLER, onboarding_settings, running_emulator

SELLER_B = "A3OTHERSELLER"
ORDER_B = "113-2000001-0000001"
MARKETPLACE = "ATVPDKIKX0DER"
FIRST_AUTHORIZATION = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    yield from running_emulator()


@pytest.fixture
def settings(aws: dict[str, Any], emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("SPAPI_ENDPOINT", emulator.base_url)
    configured = onboarding_settings(aws, emulator, monkeypatch)
    spapi.reset_clients()
    yield configured
    spapi.reset_clients()


def _actions(settings: Settings, seller: str | None, order: str = ORDER_B) -> int:
    client = spapi.client_for(settings, seller)
    return client.call(
        "getMessagingActionsForOrder",
        "GET",
        f"/messaging/v1/orders/{order}",
        params={"marketplaceIds": MARKETPLACE},
    ).status


def _revoke(emulator: Emulator, seller: str) -> None:
    answer = requests.post(
        f"{emulator.base_url}/_emulator/authorizations/revoke", json={"sellingPartnerId": seller}, timeout=10
    )
    assert answer.status_code == 200 and answer.json()["revoked"] >= 1, answer.text


def _register_b(settings: Settings, emulator: Emulator, at: datetime = FIRST_AUTHORIZATION) -> None:
    token = emulator.seed.secret_for(SELLER_B)["refreshToken"]
    sellers.record_authorization(settings, SELLER_B, token, kind="self", at=at)


def test_a_refused_refresh_token_marks_the_seller_once_and_announces_it_once(
    settings: Settings, emulator: Emulator, tap: Callable[[], list[dict[str, Any]]]
) -> None:
    _register_b(settings, emulator)
    assert _actions(settings, SELLER_B) == 200
    _revoke(emulator, SELLER_B)
    # Two containers whose tokens are refused: each raises SellerNeedsAuthorization, one marks, one announces.
    for _ in range(2):
        with pytest.raises(SellerNeedsAuthorization) as held:
            _actions(settings, SELLER_B)
    first = str(held.value)
    assert first.startswith(f"The seller {SELLER_B} must authorize the application again")

    seller = sellers.get(settings, SELLER_B)
    assert seller is not None and seller.status == "needsAuthorization"
    assert seller.needs_authorization_reason == "LwaInvalidGrant"
    events = tap()
    assert [event["detail-type"] for event in events] == ["SellerAuthorizationLost"]
    assert events[0]["detail"] == {
        "sellingPartnerId": SELLER_B,
        "since": sellers.iso(seller.needs_authorization_since or FIRST_AUTHORIZATION),
        "reason": "LwaInvalidGrant",
    }
    # The deployment's other seller (the application secret's) is untouched.
    assert _actions(settings, None, "123-1234567-1234567") == 200


def test_a_containers_token_from_before_a_renewal_marks_nothing(
    settings: Settings, emulator: Emulator, tap: Callable[[], list[dict[str, Any]]], aws: dict[str, Any]
) -> None:
    _register_b(settings, emulator)
    # A container read an older authorization's token (one LWA no longer takes); the seller has renewed since.
    aws["secretsmanager"].put_secret_value(
        SecretId=sellers.secret_id_of(settings, SELLER_B),
        SecretString=json.dumps(
            {
                "sellingPartnerId": SELLER_B,
                "refreshToken": "Atzr|refused-old-token",
                "authorizedAt": "2026-11-01T00:00:00Z",
            }
        ),
    )
    refused = spapi.client_for(settings, SELLER_B)
    assert refused.authorization is not None
    refused.authorization.load()  # the container's cache: the old token, of the authorization of 2026-11-01
    assert refused.authorization.authorized_at == "2026-11-01T00:00:00Z"
    _register_b(settings, emulator, at=datetime(2026, 12, 6, 12, 0, tzinfo=UTC))  # the renewal's token
    answer = refused.call(
        "getMessagingActionsForOrder",
        "GET",
        f"/messaging/v1/orders/{ORDER_B}",
        params={"marketplaceIds": MARKETPLACE},
    )
    assert answer.status == 200  # the renewed token, read past the cache, was tried instead
    seller = sellers.get(settings, SELLER_B)
    assert seller is not None and seller.status == "authorized"
    assert tap() == []


def test_the_legacy_sellers_refused_token_still_fails_with_lwa_invalid_grant(
    settings: Settings, emulator: Emulator, tap: Callable[[], list[dict[str, Any]]]
) -> None:
    settings = dataclasses.replace(settings, selling_partner_id=FIRST_SELLER)
    _revoke(emulator, FIRST_SELLER)
    with pytest.raises(LwaInvalidGrant, match="Login with Amazon refused the refresh token"):
        _actions(settings, FIRST_SELLER, "123-1234567-1234567")
    with pytest.raises(LwaInvalidGrant):
        _actions(settings, None, "123-1234567-1234567")
    assert sellers.get(settings, FIRST_SELLER) is None
    assert tap() == []
