"""make seller ARGS="grant EMAIL ID | revoke EMAIL ID": a console user joins or leaves a seller's group in the
deployed stack's user pool (moto's Cognito); the local stack has no user pool and says so."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest

from ops import seller, seller_groups

SELLER = "A2EXAMPLESELLER"


def test_grant_and_revoke_change_the_users_seller_groups(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    pool_id = cognito.create_user_pool(PoolName="console", UsernameAttributes=["email"])["UserPool"]["Id"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="ana@example.com")
    monkeypatch.setattr(seller_groups, "user_pool_of", lambda stack, region: (cognito, pool_id))

    def groups() -> list[str]:
        found = cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username="ana@example.com")["Groups"]
        return [group["GroupName"] for group in found]

    out = io.StringIO()
    assert seller.main(["grant", "ana@example.com", SELLER, "--stack", "bm"], out=out) == 0
    assert groups() == [f"seller-{SELLER}"]
    assert seller.main(["grant", "ana@example.com", SELLER, "--stack", "bm"], out=out) == 0  # again: no change
    assert groups() == [f"seller-{SELLER}"]
    assert seller.main(["revoke", "ana@example.com", SELLER, "--stack", "bm"], out=out) == 0
    assert groups() == []
    assert out.getvalue().splitlines() == [
        f"ana@example.com acts for seller {SELLER} from their next sign-in.",
        f"ana@example.com acts for seller {SELLER} from their next sign-in.",
        f"ana@example.com no longer acts for seller {SELLER} once their current sign-in ends (at most 1 hour).",
    ]


def test_the_local_stack_has_no_console_users_to_grant() -> None:
    out = io.StringIO()
    assert seller.main(["grant", "ana@example.com", SELLER], out=out) == 2
    assert out.getvalue() == seller_groups.LOCAL + "\n"
