"""Who is asking (buyer_messaging.access): the operator on the IAM API and locally, a console user and the sellers
of their groups as API Gateway's JWT authorizer hands the claims over, and what each may act for."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest

from buyer_messaging import access, sellers
from buyer_messaging.config import Settings
from buyer_messaging.errors import SellerNotPermitted, SellerRequired, UnknownSeller

SELLER_A = "A2EXAMPLESELLER"
SELLER_B = "A3OTHERSELLER"
SELLER_C = "A4THIRDSELLER"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _settings(**changes: str) -> Settings:
    return Settings.from_env({**os.environ, **changes})


def _jwt(groups: object = None) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": "user-1", "token_use": "id", "email": "ana@example.com"}
    if groups is not None:
        claims["cognito:groups"] = groups
    return {"jwt": {"claims": claims, "scopes": None}}


@pytest.mark.parametrize(
    ("claim", "values"),
    [
        # What a function behind API Gateway's HTTP API JWT authorizer receives for an array claim.
        (f"[seller-{SELLER_A} seller-{SELLER_B}]", (f"seller-{SELLER_A}", f"seller-{SELLER_B}")),
        (f"[seller-{SELLER_A}]", (f"seller-{SELLER_A}",)),
        ([f"seller-{SELLER_A}", "admins"], (f"seller-{SELLER_A}", "admins")),
        (f"seller-{SELLER_A}", (f"seller-{SELLER_A}",)),
        ("[]", ()),
        (None, ()),
        (7, ()),
    ],
)
def test_an_array_claim_is_read_flattened_or_as_a_list(claim: object, values: tuple[str, ...]) -> None:
    assert access.claim_values(claim) == values


def test_only_groups_named_seller_and_an_id_name_sellers() -> None:
    groups = (f"seller-{SELLER_A}", "admins", "seller-lowercase", "seller-", f"x-seller-{SELLER_B}", "seller-A1")
    assert access.sellers_of_groups(groups) == frozenset({SELLER_A})


def test_the_iam_api_and_the_local_server_are_the_operator(aws: dict[str, Any]) -> None:
    iam = {"iam": {"userArn": "arn:aws:iam::123456789012:user/ops", "callerId": "AIDA"}}
    assert access.from_authorizer(iam, _settings()) == access.Caller("arn:aws:iam::123456789012:user/ops")
    assert access.from_authorizer(None, _settings()) == access.OPERATOR
    assert access.OPERATOR.is_operator and access.OPERATOR.identity == "local"


def test_a_console_user_acts_for_the_sellers_of_their_groups(aws: dict[str, Any]) -> None:
    caller = access.from_authorizer(_jwt(f"[seller-{SELLER_A} seller-{SELLER_B} admins]"), _settings())
    assert caller == access.Caller("cognito:user-1", frozenset({SELLER_A, SELLER_B}))
    assert not caller.is_operator
    assert caller.named() == (SELLER_A, SELLER_B)
    assert caller.may_see({"sellingPartnerId": SELLER_B})
    assert not caller.may_see({"sellingPartnerId": SELLER_C})
    assert not caller.may_see({"requestId": "r-1"})  # a record of no seller is the operator's
    assert not caller.may_see(None)


def test_a_console_user_of_no_seller_may_do_nothing_once_the_deployment_names_sellers(aws: dict[str, Any]) -> None:
    settings = _settings(SELLING_PARTNER_ID=SELLER_A)
    with pytest.raises(SellerNotPermitted) as refused:
        access.from_authorizer(_jwt("[admins]"), settings)
    assert str(refused.value) == (
        "You act for no seller of this deployment: the operator adds you to a seller's group "
        '(make seller ARGS="grant EMAIL SELLING_PARTNER_ID").'
    )
    with pytest.raises(SellerNotPermitted):
        access.from_authorizer(_jwt(), settings)


def test_a_console_user_of_a_deployment_never_told_its_seller_works_as_before(aws: dict[str, Any]) -> None:
    settings = _settings()
    caller = access.from_authorizer(_jwt(), settings)
    assert caller.sellers == frozenset({None})
    assert caller.seller(settings, None) is None
    assert caller.may_see({"requestId": "r-1"})
    assert not caller.may_see({"sellingPartnerId": SELLER_A})


def test_a_seller_named_must_be_the_users_with_one_answer_whether_it_exists_or_not(aws: dict[str, Any]) -> None:
    settings = _settings(SELLING_PARTNER_ID=SELLER_A)
    sellers.record_authorization(settings, SELLER_B, "Atzr|b-token", kind="oauth", at=NOW)
    caller = access.Caller("cognito:user-1", frozenset({SELLER_A}))
    assert caller.seller(settings, SELLER_A) == SELLER_A
    assert caller.seller(settings, None) == SELLER_A  # the user's only seller
    answers = []
    for other in (SELLER_B, SELLER_C):  # B is a seller of the deployment, C is not
        with pytest.raises(SellerNotPermitted) as refused:
            caller.seller(settings, other)
        answers.append((str(refused.value).replace(other, "ID"), refused.value.problems))
    assert answers[0][0] == answers[1][0] == "You may not act for seller ID."
    # The operator is told the truth about a seller that does not exist.
    with pytest.raises(UnknownSeller):
        access.OPERATOR.seller(settings, SELLER_C)


def test_a_user_of_two_sellers_names_one(aws: dict[str, Any]) -> None:
    settings = _settings(SELLING_PARTNER_ID=SELLER_A)
    sellers.record_authorization(settings, SELLER_B, "Atzr|b-token", kind="oauth", at=NOW)
    caller = access.Caller("cognito:user-1", frozenset({SELLER_A, SELLER_B}))
    with pytest.raises(SellerRequired) as refused:
        caller.seller(settings, None)
    assert str(refused.value) == "You act for 2 sellers: say which one the request is for in sellingPartnerId."
    assert caller.seller(settings, SELLER_B) == SELLER_B


def test_the_sellers_view_shows_the_users_sellers_and_their_authorizations(aws: dict[str, Any]) -> None:
    settings = _settings(SELLING_PARTNER_ID=SELLER_A)
    sellers.record_authorization(settings, SELLER_B, "Atzr|b-token", kind="oauth", at=NOW)
    sellers.record_authorization(settings, SELLER_C, "Atzr|c-token", kind="self", at=NOW)
    later = datetime(2027, 11, 6, 12, 0, tzinfo=UTC)
    view = access.sellers_view(access.Caller("cognito:u", frozenset({SELLER_A, SELLER_B})), settings, later)
    assert view == {
        "sellers": [
            {"sellingPartnerId": SELLER_A, "status": "authorized", "kind": "self"},
            {
                "sellingPartnerId": SELLER_B,
                "status": "authorized",
                "kind": "oauth",
                "authorizedAt": "2026-12-06T12:00:00Z",
                "authorizationExpiresAt": "2027-12-06T12:00:00Z",
                "daysLeft": 30,
            },
        ]
    }
    everyone = access.sellers_view(access.OPERATOR, settings, later)
    assert [seller["sellingPartnerId"] for seller in everyone["sellers"]] == [SELLER_A, SELLER_B, SELLER_C]
