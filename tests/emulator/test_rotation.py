"""The emulator's Application Management API: rotateApplicationClientSecret, LWA's client_credentials grant, the
old secret's seven days and the notifications on the developer's SQS queue (moto), as Amazon answers them
(sources in local/spapi_emulator/applications.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from buyer_messaging import rotation
from buyer_messaging.errors import SpApiUnauthorized
from spapi_emulator import Emulator

ROTATE = "/applications/2023-11-30/clientSecret"
QUEUE = "lwa-secret-notifications"
QUEUE_ARN = f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}"
DAY = 24 * 3600.0
NOT_ENROLLED = (
    "Application is not enrolled for rotation notification. "
    "Please update application notification preference in Developer console."
)


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        client.create_queue(QueueName=QUEUE)
        yield client


def _received(sqs: Any) -> list[dict[str, Any]]:
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def _token(emulator: Emulator, session: requests.Session, **form: str) -> requests.Response:
    credentials = emulator.seed.credentials
    return session.post(
        emulator.token_url,
        data={"client_id": credentials.client_id, "client_secret": credentials.client_secret, **form},
    )


def _grantless(emulator: Emulator, session: requests.Session, scope: str = rotation.ROTATION_SCOPE) -> str:
    response = _token(emulator, session, grant_type="client_credentials", scope=scope)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _rotate(emulator: Emulator, session: requests.Session, token: str | None) -> requests.Response:
    headers = {} if token is None else {"x-amz-access-token": token}
    return session.post(emulator.base_url + ROTATE, headers=headers)


def _errors(response: requests.Response) -> list[dict[str, str]]:
    return list(response.json()["errors"])


def test_the_client_credentials_grant_gives_a_grantless_token_of_its_scope(
    emulator: Emulator, session: requests.Session
) -> None:
    response = _token(emulator, session, grant_type="client_credentials", scope=rotation.ROTATION_SCOPE)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "scope", "token_type", "expires_in"}
    assert (body["scope"], body["token_type"], body["expires_in"]) == (rotation.ROTATION_SCOPE, "bearer", 3600)


@pytest.mark.parametrize(
    ("form", "error", "description"),
    [
        ({}, "invalid_request", "The request is missing a required parameter : scope"),
        (
            {"scope": "sellingpartnerapi::client_credentials:rotation"},
            "invalid_scope",
            "An unknown scope was requested",
        ),
    ],
)
def test_the_client_credentials_grant_needs_a_grantless_scope(
    emulator: Emulator, session: requests.Session, form: dict[str, str], error: str, description: str
) -> None:
    # The plural "client_credentials:rotation" is the misspelling jlevers/selling-partner-api#814 fixed.
    response = _token(emulator, session, grant_type="client_credentials", **form)
    assert (response.status_code, response.json()) == (400, {"error_description": description, "error": error})


def test_a_sellers_token_is_refused_as_amazon_refuses_it(emulator: Emulator, session: requests.Session) -> None:
    credentials = emulator.seed.credentials
    seller_token = _token(emulator, session, grant_type="refresh_token", refresh_token=credentials.refresh_token)
    response = _rotate(emulator, session, seller_token.json()["access_token"])
    assert response.status_code == 403
    assert _errors(response) == [
        {"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}
    ]
    assert "x-amzn-RateLimit-Limit" not in response.headers


def test_a_token_of_another_grantless_scope_is_refused(emulator: Emulator, session: requests.Session) -> None:
    token = _grantless(emulator, session, scope="sellingpartnerapi::notifications")
    response = _rotate(emulator, session, token)
    assert (response.status_code, _errors(response)[0]["code"]) == (403, "Unauthorized")


def test_no_token_is_refused(emulator: Emulator, session: requests.Session) -> None:
    response = _rotate(emulator, session, None)
    assert response.status_code == 403
    assert _errors(response)[0]["details"] == "Access token is missing in the request header."


def test_a_grantless_token_opens_no_sellers_operation(emulator: Emulator, session: requests.Session) -> None:
    token = _grantless(emulator, session)
    response = session.get(
        f"{emulator.base_url}/messaging/v1/orders/123-1234567-1234567",
        params={"marketplaceIds": "ATVPDKIKX0DER"},
        headers={"x-amz-access-token": token},
    )
    assert response.status_code == 403
    assert _errors(response) == [
        {"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}
    ]


def test_without_a_registered_queue_nothing_is_rotated(emulator: Emulator, session: requests.Session) -> None:
    secret = emulator.client_secret()
    response = _rotate(emulator, session, _grantless(emulator, session))
    assert response.status_code == 400
    assert _errors(response) == [{"code": "InvalidInput", "message": NOT_ENROLLED, "details": ""}]
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    assert emulator.client_secret() == secret


def test_a_rotation_sends_the_new_secret_and_the_old_one_works_seven_days(
    emulator: Emulator, session: requests.Session, sqs: Any
) -> None:
    emulator.register_notification_queue(rotation.NEW_SECRET, QUEUE_ARN)
    old = emulator.client_secret()
    token = _grantless(emulator, session)

    response = _rotate(emulator, session, token)

    assert (response.status_code, response.content) == (204, b"")
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    assert response.headers["x-amzn-RequestId"]
    (notification,) = _received(sqs)
    assert set(notification) == {
        "notificationVersion",
        "notificationType",
        "payloadVersion",
        "eventTime",
        "payload",
        "notificationMetadata",
    }
    assert (notification["notificationVersion"], notification["notificationType"], notification["payloadVersion"]) == (
        "1.0",
        "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
        "2023-11-30",
    )
    assert set(notification["notificationMetadata"]) == {
        "applicationId",
        "subscriptionId",
        "publishTime",
        "notificationId",
    }
    details = notification["payload"]["applicationOAuthClientNewSecret"]
    new = emulator.client_secret()
    assert new != old and new.startswith("amzn1.oa2-cs.v1.")
    assert (details["clientId"], details["newClientSecret"]) == (emulator.seed.credentials.client_id, new)
    event_time = _time(notification["eventTime"])
    assert _time(details["oldClientSecretExpiryTime"]) - event_time == timedelta(days=7)
    assert _time(details["newClientSecretExpiryTime"]) - event_time == timedelta(days=180)
    parsed = rotation.parse_notification(json.dumps(notification))
    assert isinstance(parsed, rotation.NewSecret) and parsed.client_secret == new

    refresh = {"grant_type": "refresh_token", "refresh_token": emulator.seed.credentials.refresh_token}
    assert _token(emulator, session, **refresh, client_secret=new).status_code == 200
    emulator.advance_clock(7 * DAY - 60)
    assert _token(emulator, session, **refresh, client_secret=old).status_code == 200
    emulator.advance_clock(61)
    refused = _token(emulator, session, **refresh, client_secret=old)
    assert (refused.status_code, refused.json()) == (
        401,
        {"error_description": "Client authentication failed", "error": "invalid_client"},
    )
    assert _token(emulator, session, **refresh, client_secret=new).status_code == 200


def test_a_second_rotation_within_the_minute_is_throttled(
    emulator: Emulator, session: requests.Session, sqs: Any
) -> None:
    emulator.register_notification_queue(rotation.NEW_SECRET, QUEUE_ARN)
    token = _grantless(emulator, session)
    assert _rotate(emulator, session, token).status_code == 204
    secret = emulator.client_secret()

    throttled = _rotate(emulator, session, token)

    assert throttled.status_code == 429
    assert _errors(throttled)[0]["code"] == "QuotaExceeded"
    assert "x-amzn-RateLimit-Limit" not in throttled.headers
    assert emulator.client_secret() == secret
    emulator.advance_clock(60)  # 0.0167 requests/s: one more after a minute
    assert _rotate(emulator, session, token).status_code == 204
    assert len(_received(sqs)) == 2


def test_the_expiry_warning_comes_ninety_days_before_the_deadline(
    emulator: Emulator, session: requests.Session, sqs: Any
) -> None:
    emulator.register_notification_queue(rotation.SECRET_EXPIRY, QUEUE_ARN)
    emulator.advance_clock(90 * DAY - 60)
    session.get(emulator.base_url + "/_emulator/health")
    assert _received(sqs) == []

    emulator.advance_clock(60)
    session.get(emulator.base_url + "/_emulator/health")

    (warning,) = _received(sqs)
    assert warning["notificationType"] == "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"
    details = warning["payload"]["applicationOAuthClientSecretExpiry"]
    assert details["clientId"] == emulator.seed.credentials.client_id
    assert details["clientSecretExpiryReason"] == "PERIODIC_ROTATION"
    # Sent at the first request past the warning's moment (a request starts the emulator's check).
    left = _time(details["clientSecretExpiryTime"]) - _time(warning["eventTime"])
    assert timedelta(days=90) - timedelta(seconds=5) < left <= timedelta(days=90)
    session.get(emulator.base_url + "/_emulator/health")
    assert _received(sqs) == [], "warned twice"


def test_the_control_endpoint_registers_a_queue(emulator: Emulator, session: requests.Session, sqs: Any) -> None:
    url = emulator.base_url + "/_emulator/notifications/destinations"
    wrong = session.post(url, json={"notificationType": "ANY_OFFER_CHANGED", "queueArn": QUEUE_ARN})
    assert wrong.status_code == 400
    created = session.post(url, json={"notificationType": rotation.NEW_SECRET, "queueArn": QUEUE_ARN})
    assert created.status_code == 201
    assert _rotate(emulator, session, _grantless(emulator, session)).status_code == 204
    listed = session.get(emulator.base_url + "/_emulator/notifications").json()["notifications"]
    assert [(n["notificationType"], n["queueArn"], n["delivered"]) for n in listed] == [
        (rotation.NEW_SECRET, QUEUE_ARN, True)
    ]


def test_a_reset_brings_back_the_seeds_secret(emulator: Emulator, session: requests.Session, sqs: Any) -> None:
    emulator.register_notification_queue(rotation.NEW_SECRET, QUEUE_ARN)
    assert _rotate(emulator, session, _grantless(emulator, session)).status_code == 204
    emulator.reset()
    assert emulator.client_secret() == emulator.seed.credentials.client_secret
    assert emulator.notifications() == []


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_past_the_deadline_every_call_is_refused_as_amazon_refuses_it(
    emulator: Emulator, session: requests.Session, sqs: Any, client: Any
) -> None:
    """A secret never rotated: LWA still mints tokens with it, the SP-API refuses them all."""
    emulator.register_notification_queue(rotation.NEW_SECRET, QUEUE_ARN)
    emulator.advance_clock(180 * DAY)

    with pytest.raises(SpApiUnauthorized) as raised:
        client.call(
            "getMessagingActionsForOrder",
            "GET",
            "/messaging/v1/orders/123-1234567-1234567",
            params={"marketplaceIds": "ATVPDKIKX0DER"},
        )
    refused = _rotate(emulator, session, _grantless(emulator, session))

    assert str(raised.value).startswith(
        "getMessagingActionsForOrder failed with HTTP 403: Unauthorized: Access to requested resource is denied. "
        "(The LWA secret token you provided has expired.) The LWA client secret is past Amazon's 180-day deadline"
    )
    assert _errors(refused) == [
        {
            "code": "Unauthorized",
            "message": "Access to requested resource is denied.",
            "details": "The LWA secret token you provided has expired.",
        }
    ]
    assert emulator.notifications() == []
