"""Onboarding makes each authorized seller's console group, seller-{id}, in the console's user pool (moto's
Cognito); a deployment without a pool (the local stack) makes none."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from buyer_messaging import console_groups, onboarding
from buyer_messaging.config import get_settings

SELLER = "A2EXAMPLESELLER"


def test_authorizing_a_seller_creates_its_group_once(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    pool_id = cognito.create_user_pool(PoolName="console")["UserPool"]["Id"]
    monkeypatch.setenv("CONSOLE_USER_POOL_ID", pool_id)
    console_groups._client.cache_clear()
    monkeypatch.setattr(onboarding, "check_refresh_token", lambda *args, **kwargs: None)
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

    onboarding.add_self_authorized(get_settings(), SELLER, "Atzr|token", now=now)
    onboarding.add_self_authorized(get_settings(), SELLER, "Atzr|token", now=now)  # renewed: the group stays

    groups = cognito.list_groups(UserPoolId=pool_id)["Groups"]
    assert [(group["GroupName"], group["Description"]) for group in groups] == [
        (f"seller-{SELLER}", f"Console users who act for seller {SELLER}.")
    ]


def test_no_user_pool_no_group(aws: dict[str, Any]) -> None:
    assert console_groups.ensure_group("", SELLER) is False
    assert console_groups.ensure_group(None, SELLER) is False
