"""The daily check of the sellers' authorizations (buyer_messaging.authorization_age): one SellerAuthorizationExpiring
per threshold (30, 14, 7, 1 days left), never twice, again after a renewal; the fewest days left as a metric."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from buyer_messaging import authorization_age, sellers
from buyer_messaging.config import Settings

SELLER = "A3ONBOARDSELLER"
OTHER = "A2EXAMPLESELLER"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _on(day: int) -> datetime:
    return NOW + timedelta(days=day)


@pytest.mark.parametrize(
    ("days_left", "threshold"), [(31, None), (30, 30), (15, 30), (14, 14), (8, 14), (7, 7), (2, 7), (1, 1), (-3, 1)]
)
def test_the_threshold_reached(days_left: int, threshold: int | None) -> None:
    assert authorization_age.threshold_reached(days_left) == threshold


def test_each_threshold_warns_once(aws: dict[str, Any], tap: Callable[[], list[dict[str, Any]]]) -> None:
    settings = Settings.from_env()
    sellers.record_authorization(settings, SELLER, "Atzr|token", kind="oauth", at=NOW)

    days = [334, 335, 335, 340, 351, 358, 364, 364]
    results = [authorization_age.check(settings, _on(day)) for day in days]

    assert [[w["daysLeft"] for w in result["warned"]] for result in results] == [[], [30], [], [], [14], [7], [1], []]
    assert [result["fewestDaysLeft"] for result in results] == [31, 30, 30, 25, 14, 7, 1, 1]
    events = tap()
    assert [event["detail-type"] for event in events] == ["SellerAuthorizationExpiring"] * 4
    assert events[0]["detail"] == {
        "sellingPartnerId": SELLER,
        "authorizationExpiresAt": "2027-12-06T12:00:00Z",
        "daysLeft": 30,
    }


def test_a_jump_warns_for_the_tightest_threshold_only(aws: dict[str, Any]) -> None:
    settings = Settings.from_env()
    sellers.record_authorization(settings, SELLER, "Atzr|token", kind="oauth", at=NOW)

    first = authorization_age.check(settings, _on(360))  # the schedule did not run for weeks: 5 days left
    after = authorization_age.check(settings, _on(361))

    assert [w["daysLeft"] for w in first["warned"]] == [5]
    assert after["warned"] == []


def test_a_renewal_warns_again_next_year_and_a_lost_seller_is_not_warned(aws: dict[str, Any]) -> None:
    settings = Settings.from_env()
    sellers.record_authorization(settings, SELLER, "Atzr|token", kind="oauth", at=NOW)
    sellers.record_authorization(settings, OTHER, "Atzr|other", kind="self", at=NOW)
    sellers.mark_needs_authorization(settings, OTHER, reason="LwaInvalidGrant", refused_authorization=None, at=NOW)
    assert [w["sellingPartnerId"] for w in authorization_age.check(settings, _on(340))["warned"]] == [SELLER]

    sellers.record_authorization(settings, SELLER, "Atzr|renewed", kind="oauth", at=_on(341))

    assert authorization_age.check(settings, _on(342))["warned"] == []
    assert [w["daysLeft"] for w in authorization_age.check(settings, _on(341 + 335))["warned"]] == [30]


def test_no_sellers_no_metric(aws: dict[str, Any]) -> None:
    assert authorization_age.check(Settings.from_env(), NOW) == {"warned": [], "fewestDaysLeft": None}
