"""The onboarding function's routes (functions/onboard_seller) as API Gateway hands them events: the operator's
invitation, the seller's browser through authorize -> the emulator's consent -> callback, the pages it sees, and
self-authorization, listing and removal."""

from __future__ import annotations

import html
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from buyer_messaging.config import Settings
from buyer_messaging.observability import logger
from local_stack.api_server import to_event
from spapi_emulator import Emulator
from tests import support
from tests.integration.onboarding_flow import (
    FIRST_SELLER,
    NEW_SELLER,
    REDIRECT_URI,
    confirm_at_seller_central,
    onboarding_settings,
    running_emulator,
)

pytestmark = pytest.mark.usefixtures("settings")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    yield from running_emulator()


@pytest.fixture
def settings(aws: dict[str, Any], emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return onboarding_settings(aws, emulator, monkeypatch)


def call(lambda_context: Any, method: str, target: str, body: Any = None, cookie: str | None = None) -> dict[str, Any]:
    headers = {"host": "console.example"}
    if body is not None:
        headers["content-type"] = "application/json"
    if cookie is not None:
        headers["cookie"] = cookie
    raw = json.dumps(body).encode() if body is not None else b""
    event = to_event(method, target, headers, raw, "192.0.2.1")
    result: dict[str, Any] = support.function_module("onboard_seller").lambda_handler(event, lambda_context)
    return result


def visible_text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).strip())


def browser_consent(consent_url: str, seller: str) -> str:
    """The seller at the emulator's Seller Central: sign in as ``seller``, Confirm; the callback route it reaches."""
    location = confirm_at_seller_central(consent_url, seller)
    assert location.startswith(REDIRECT_URI + "?")
    return "/oauth/callback?" + urlsplit(location).query


def start(lambda_context: Any, **invitation: Any) -> tuple[str, str]:
    """An invitation opened in a browser: (the consent URL, the cookie the browser keeps)."""
    made = call(lambda_context, "POST", "/sellers/invitations", invitation)
    assert made["statusCode"] == 201, made
    link = json.loads(made["body"])["invitationUrl"]
    assert link.startswith("https://console.example/oauth/authorize?invitation=")
    opened = call(lambda_context, "GET", "/oauth/authorize?" + urlsplit(link).query)
    assert opened["statusCode"] == 302, opened
    (cookie,) = opened["cookies"]
    assert re.fullmatch(
        r"bm_oauth_state=[A-Za-z0-9_-]{43}; Path=/oauth; Max-Age=600; HttpOnly; Secure; SameSite=Lax", cookie
    ), cookie
    return opened["headers"]["Location"], cookie.split(";", 1)[0]


def test_a_seller_onboards_through_the_routes_and_sees_a_page_naming_it(
    lambda_context: Any, emulator: Emulator, aws: dict[str, Any]
) -> None:
    consent_url, cookie = start(lambda_context, days=7)
    assert parse_qs(urlsplit(consent_url).query)["version"] == ["beta"]
    callback = browser_consent(consent_url, NEW_SELLER)

    page = call(lambda_context, "GET", callback, cookie=cookie)

    assert page["statusCode"] == 200
    assert page["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert page["cookies"] == ["bm_oauth_state=; Path=/oauth; Max-Age=0; HttpOnly; Secure; SameSite=Lax"]
    assert visible_text(page["body"]) == (
        f"Seller authorized - Buyer Messaging Seller {NEW_SELLER} authorized Buyer Messaging "
        f"Buyer Messaging may now send messages to the buyers of seller {NEW_SELLER}. "
        f"The authorization lasts until {_year_from_today()}. Amazon asks for a new one every 365 days; you will "
        "be invited to renew it before then. You can close this page."
    )
    token = json.loads(
        aws["secretsmanager"].get_secret_value(SecretId=support.SELLER_SECRET_PREFIX + NEW_SELLER)["SecretString"]
    )["refreshToken"]
    assert token not in page["body"] and "spapi_oauth_code" not in page["body"]
    listed = call(lambda_context, "GET", "/sellers")
    assert [s["sellingPartnerId"] for s in json.loads(listed["body"])["sellers"]] == [NEW_SELLER]
    assert token not in listed["body"]


def _year_from_today() -> str:
    return (datetime.now(UTC) + timedelta(days=365)).strftime("%d %B %Y")


def test_a_callback_in_another_browser_gets_a_page_saying_what_to_do(lambda_context: Any, emulator: Emulator) -> None:
    consent_url, _ = start(lambda_context)
    callback = browser_consent(consent_url, NEW_SELLER)

    page = call(lambda_context, "GET", callback)

    assert page["statusCode"] == 400
    assert visible_text(page["body"]) == (
        "Authorization not finished - Buyer Messaging The seller's authorization did not finish "
        "The authorization was started in another browser (its cookie is missing here). "
        "Start again from the invitation link. Error: AuthorizationStateInvalid"
    )


def test_an_expired_code_is_a_502_page(lambda_context: Any, emulator: Emulator) -> None:
    consent_url, cookie = start(lambda_context)
    callback = browser_consent(consent_url, NEW_SELLER)
    emulator.advance_clock(301)

    page = call(lambda_context, "GET", callback, cookie=cookie)

    assert page["statusCode"] == 502
    assert "Error: AuthorizationCodeRefused" in visible_text(page["body"])


def test_an_unknown_invitation_is_a_page_saying_what_to_do(lambda_context: Any) -> None:
    answer = call(lambda_context, "GET", "/oauth/authorize?invitation=never-issued")

    assert answer["statusCode"] == 400
    assert answer["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert visible_text(answer["body"]) == (
        "Authorization not finished - Buyer Messaging The seller's authorization did not finish "
        "This invitation is unknown: ask the operator for a new invitation link. Error: InvitationInvalid"
    )


def test_self_authorization_never_echoes_the_token_and_removal(lambda_context: Any, emulator: Emulator) -> None:
    token = emulator.seed.credentials.refresh_token

    added = call(lambda_context, "POST", "/sellers", {"sellingPartnerId": FIRST_SELLER, "refreshToken": token})
    again = call(lambda_context, "POST", "/sellers", {"sellingPartnerId": FIRST_SELLER, "refreshToken": token})
    wrong = call(lambda_context, "POST", "/sellers", {"sellingPartnerId": NEW_SELLER, "refreshToken": "Atzr|x"})

    assert (added["statusCode"], again["statusCode"]) == (201, 200)
    assert json.loads(added["body"])["kind"] == "self"
    assert token not in added["body"]
    assert wrong["statusCode"] == 502 and json.loads(wrong["body"])["error"] == "LwaInvalidGrant"
    removed = call(lambda_context, "DELETE", f"/sellers/{FIRST_SELLER}")
    assert removed["statusCode"] == 204
    assert call(lambda_context, "DELETE", f"/sellers/{FIRST_SELLER}")["statusCode"] == 404
    assert json.loads(call(lambda_context, "GET", "/sellers")["body"]) == {"sellers": []}


def test_a_renewal_invitation_for_one_seller(lambda_context: Any, emulator: Emulator) -> None:
    made = call(lambda_context, "POST", "/sellers/invitations", {"days": 3, "sellingPartnerId": NEW_SELLER})
    assert json.loads(made["body"])["sellingPartnerId"] == NEW_SELLER
    bad = call(lambda_context, "POST", "/sellers/invitations", {"days": 31})
    assert bad["statusCode"] == 400
    assert json.loads(bad["body"])["errors"] == [
        {"field": "days", "message": "days must be a whole number of days from 1 to 30."}
    ]


def test_nothing_an_onboarding_writes_holds_a_token_a_code_a_state_or_a_cookie(
    lambda_context: Any,
    emulator: Emulator,
    aws: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """The function's logs at DEBUG, its answers, the table's items and the events of an OAuth onboarding, a
    refused callback and a self-authorization: the secrets are only in the sellers' own secrets."""
    captured = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    monkeypatch.setattr(handler, "stream", captured)
    level = logger.log_level
    logger.setLevel(logging.DEBUG)
    request.addfinalizer(lambda: logger.setLevel(level))
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="tap", EventPattern=json.dumps({"source": ["buyer-messaging"]}))
    events.put_targets(Rule="tap", Targets=[{"Id": "q", "Arn": arn}])
    consent_url, cookie = start(lambda_context)
    callback = browser_consent(consent_url, NEW_SELLER)
    refused = call(lambda_context, "GET", callback)  # no cookie: refused, and logged
    answered = call(lambda_context, "GET", callback, cookie=cookie)
    added = call(
        lambda_context,
        "POST",
        "/sellers",
        {"sellingPartnerId": FIRST_SELLER, "refreshToken": emulator.seed.credentials.refresh_token},
    )

    assert (refused["statusCode"], answered["statusCode"], added["statusCode"]) == (400, 200, 201)
    stored = {
        seller: json.loads(
            aws["secretsmanager"].get_secret_value(SecretId=support.SELLER_SECRET_PREFIX + seller)["SecretString"]
        )["refreshToken"]
        for seller in (NEW_SELLER, FIRST_SELLER)
    }
    query = parse_qs(urlsplit(callback).query)
    secrets = [*stored.values(), query["spapi_oauth_code"][0], query["state"][0], cookie.split("=", 1)[1]]
    written = "\n".join(
        [
            captured.getvalue(),
            json.dumps([refused, answered, added]),
            json.dumps(aws["dynamodb"].scan(TableName=support.TABLE)["Items"]),
            json.dumps(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])),
        ]
    )
    assert "Onboarding refused" in captured.getvalue()  # the logs were captured
    assert written.count("SellerAuthorized") == 2  # the events were captured
    assert [secret for secret in secrets if secret in written] == []
