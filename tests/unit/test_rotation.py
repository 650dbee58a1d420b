"""The client secret's rotation (issue 14, item 8): the notifications read, the new secret stored without losing
clientId and refreshToken, the daily check, the grantless call, and a cached secret that LWA no longer takes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses

from buyer_messaging import auth, rotation, spapi
from buyer_messaging.config import Settings, get_settings
from buyer_messaging.errors import (
    ClientSecretForAnotherClient,
    ClientSecretNotificationInvalid,
    ClientSecretNotStored,
    ClientSecretRotationNotEnrolled,
    ClientSecretRotationRefused,
    ConfigurationError,
    LwaRejected,
    SpApiThrottled,
)
from tests import support

ROTATE_URL = support.ENDPOINT + rotation.ROTATION_PATH
NEW = "amzn1.oa2-cs.v1.new-secret"
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def _new_secret_body(
    client_id: str = support.CREDENTIALS["clientId"], secret: str = NEW, days: int = 180, now: datetime = NOW
) -> str:
    """Shaped as in amzn/selling-partner-api-samples use-cases/lwa-rotation/README.md."""
    return json.dumps(
        {
            "notificationVersion": "1.0",
            "notificationType": "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
            "payloadVersion": "2023-11-30",
            "eventTime": "2026-12-06T10:00:00.000Z",
            "payload": {
                "applicationOAuthClientNewSecret": {
                    "clientId": client_id,
                    "newClientSecret": secret,
                    "newClientSecretExpiryTime": (now + timedelta(days=days)).isoformat().replace("+00:00", "Z"),
                    "oldClientSecretExpiryTime": "2026-12-13T10:00:00.000Z",
                }
            },
            "notificationMetadata": {
                "applicationId": "amzn1.sp.solution.x",
                "subscriptionId": "s",
                "publishTime": "2026-12-06T10:00:01.000Z",
                "notificationId": "n",
            },
        }
    )


def _expiry_body(expires_at: datetime, client_id: str = support.CREDENTIALS["clientId"]) -> str:
    return json.dumps(
        {
            "notificationVersion": "1.0",
            "notificationType": "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
            "payloadVersion": "2023-11-30",
            "eventTime": "2026-12-06T10:00:00.000Z",
            "payload": {
                "applicationOAuthClientSecretExpiry": {
                    "clientId": client_id,
                    "clientSecretExpiryTime": expires_at.isoformat(),
                    "clientSecretExpiryReason": "PERIODIC_ROTATION",
                }
            },
        }
    )


def _stored(aws: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(aws["secretsmanager"].get_secret_value(SecretId=support.SECRET_ID)["SecretString"]))


def _versions(aws: dict[str, Any]) -> int:
    return len(aws["secretsmanager"].list_secret_version_ids(SecretId=support.SECRET_ID)["Versions"])


def _put(aws: dict[str, Any], **fields: str) -> None:
    aws["secretsmanager"].put_secret_value(
        SecretId=support.SECRET_ID, SecretString=json.dumps({**support.CREDENTIALS, **fields})
    )


# --- storing the new secret ---------------------------------------------------------------------------------


def test_the_new_secret_is_stored_beside_the_client_id_and_refresh_token(aws: dict[str, Any]) -> None:
    assert rotation.handle_notification(get_settings(), _new_secret_body()) == "stored"

    assert _stored(aws) == {
        "clientId": support.CREDENTIALS["clientId"],
        "clientSecret": NEW,
        "refreshToken": support.CREDENTIALS["refreshToken"],
        "clientSecretExpiresAt": "2027-06-04T10:00:00Z",
    }


def test_a_redelivered_notification_changes_nothing(aws: dict[str, Any]) -> None:
    rotation.handle_notification(get_settings(), _new_secret_body())
    versions = _versions(aws)

    assert rotation.handle_notification(get_settings(), _new_secret_body()) == "already stored"
    assert _versions(aws) == versions


def test_an_older_rotations_notification_after_a_newer_one_is_not_stored(aws: dict[str, Any]) -> None:
    rotation.handle_notification(get_settings(), _new_secret_body(secret="newer", days=180))

    assert rotation.handle_notification(get_settings(), _new_secret_body(secret="older", days=170)) == "stale"
    assert _stored(aws)["clientSecret"] == "newer"


def test_a_notification_for_another_client_is_refused(aws: dict[str, Any]) -> None:
    with pytest.raises(ClientSecretForAnotherClient) as raised:
        rotation.handle_notification(get_settings(), _new_secret_body(client_id="amzn1.application-oa2-client.other"))

    assert str(raised.value) == (
        "The new client secret is for LWA client 'amzn1.application-oa2-client.other', but the credentials secret "
        "holds client 'amzn1.application-oa2-client.test': not stored. Register this stack's queue for its own "
        "application only."
    )
    assert _stored(aws) == support.CREDENTIALS
    assert NEW not in str(raised.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "The queue's message is not JSON."),
        (
            json.dumps({"notificationType": "ANY_OFFER_CHANGED", "payload": {}}),
            "The queue's message is not a APPLICATION_OAUTH_CLIENT_NEW_SECRET or "
            "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY notification (notificationType 'ANY_OFFER_CHANGED'); only "
            "Amazon's client secret notifications belong on this queue.",
        ),
        (
            json.dumps(
                {
                    "notificationType": "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
                    "payload": {"applicationOAuthClientNewSecret": {"clientId": "x", "newClientSecret": "y"}},
                }
            ),
            "The APPLICATION_OAUTH_CLIENT_NEW_SECRET notification lacks newClientSecretExpiryTime.",
        ),
    ],
)
def test_anything_but_amazons_notification_is_refused(body: str, message: str) -> None:
    with pytest.raises(ClientSecretNotificationInvalid) as raised:
        rotation.parse_notification(body)
    assert str(raised.value) == message


# --- the grantless call ---------------------------------------------------------------------------------------


def _token_forms(http: responses.RequestsMock) -> list[dict[str, list[str]]]:
    return [parse_qs(str(call.request.body)) for call in http.calls if call.request.url == support.TOKEN_URL]


def test_a_rotation_is_asked_with_a_grantless_token_of_the_rotation_scope(
    aws: dict[str, Any], http: responses.RequestsMock
) -> None:
    http.post(ROTATE_URL, status=204, headers={"x-amzn-RateLimit-Limit": "0.0167"})

    rotation.request_rotation(get_settings())

    (form,) = _token_forms(http)
    assert form == {
        "grant_type": ["client_credentials"],
        "scope": ["sellingpartnerapi::client_credential:rotation"],
        "client_id": [support.CREDENTIALS["clientId"]],
        "client_secret": [support.CREDENTIALS["clientSecret"]],
    }
    (call,) = [c for c in http.calls if c.request.url == ROTATE_URL]
    assert call.request.method == "POST"
    assert call.request.headers["x-amz-access-token"] == "Atza|test-access-token"
    assert not call.request.body


@pytest.mark.parametrize(
    ("status", "code", "error", "says"),
    [
        (
            400,
            "InvalidInput",
            ClientSecretRotationNotEnrolled,
            "Register this stack's ClientSecretQueue for the Application Client New Secret notification",
        ),
        (403, "Unauthorized", ClientSecretRotationRefused, "of scope sellingpartnerapi::client_credential:rotation"),
        (429, "QuotaExceeded", SpApiThrottled, "HTTP 429"),
    ],
)
def test_amazons_refusals_of_a_rotation_are_named(
    aws: dict[str, Any], http: responses.RequestsMock, status: int, code: str, error: type[Exception], says: str
) -> None:
    http.post(ROTATE_URL, status=status, json={"errors": [{"code": code, "message": "m", "details": ""}]})

    with pytest.raises(error) as raised:
        rotation.request_rotation(get_settings())

    assert says in str(raised.value)


# --- the daily check ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_in_days", "rotated"),
    [(91.0, False), (90.0, True), (None, True)],
    ids=["89-days-old", "90-days-old", "age-unknown"],
)
def test_the_daily_check_rotates_a_secret_ninety_days_old_or_of_unknown_age(
    aws: dict[str, Any], http: responses.RequestsMock, expires_in_days: float | None, rotated: bool
) -> None:
    if expires_in_days is not None:
        _put(aws, clientSecretExpiresAt=(NOW + timedelta(days=expires_in_days)).isoformat())
    http.post(ROTATE_URL, status=204)

    result = rotation.scheduled_check(get_settings(), rotation_days=90, now=NOW)

    assert result == {"rotationRequested": rotated, "daysLeft": expires_in_days}
    assert len([c for c in http.calls if c.request.url == ROTATE_URL]) == int(rotated)


def test_an_expiry_warning_rotates_unless_the_secret_was_already_replaced(
    aws: dict[str, Any], http: responses.RequestsMock
) -> None:
    http.post(ROTATE_URL, status=204)
    warned_about = NOW + timedelta(days=90)
    _put(aws, clientSecretExpiresAt=warned_about.isoformat())
    assert rotation.handle_notification(get_settings(), _expiry_body(warned_about)) == "rotation requested"

    _put(aws, clientSecretExpiresAt=(NOW + timedelta(days=180)).isoformat())
    assert rotation.handle_notification(get_settings(), _expiry_body(warned_about)) == "already rotated"
    assert len([c for c in http.calls if c.request.url == ROTATE_URL]) == 1


def test_the_rotation_period_leaves_room_for_the_old_secrets_seven_days() -> None:
    assert Settings.from_env({"CLIENT_SECRET_ROTATION_DAYS": "173"}).client_secret_rotation_days == 173
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"CLIENT_SECRET_ROTATION_DAYS": "174"})
    assert str(raised.value) == (
        "CLIENT_SECRET_ROTATION_DAYS must be at most 173 (Amazon's 180-day deadline less the old secret's seven "
        "days), not 174."
    )


# --- the functions' cached secret ------------------------------------------------------------------------------


def test_the_cached_secret_lives_far_shorter_than_the_old_secrets_grace() -> None:
    """Every container reads the secret again within minutes, days before Amazon stops taking the old one."""
    assert auth.SECRET_CACHE_SECONDS * 100 < rotation.OLD_SECRET_GRACE_DAYS * 24 * 3600


def test_lwa_refusing_the_cached_secret_reads_the_secret_again_once(
    aws: dict[str, Any], http: responses.RequestsMock
) -> None:
    """The secret was cached, then a rotation stored a new one and the old one expired: the next token request
    is refused invalid_client; the client reads the secret past its cache and asks again with the new one."""
    client = spapi.default_client()
    auth.load_credentials(support.SECRET_ID)  # cached with the old secret
    _put(aws, clientSecret=NEW)
    secrets_seen: list[str] = []

    def lwa(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        secret = parse_qs(str(request.body))["client_secret"][0]
        secrets_seen.append(secret)
        if secret != NEW:
            return 401, {}, json.dumps({"error_description": "Client authentication failed", "error": "invalid_client"})
        return 200, {}, json.dumps({"access_token": "Atza|fresh", "token_type": "bearer", "expires_in": 3600})

    http.remove(responses.POST, support.TOKEN_URL)
    http.add_callback(responses.POST, support.TOKEN_URL, callback=lwa)
    http.get(f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}", json=support.actions_body(["sendInvoice"]))

    answer = client.call(
        "getMessagingActionsForOrder",
        "GET",
        f"/messaging/v1/orders/{support.ORDER_ID}",
        params={"marketplaceIds": support.MARKETPLACE_ID},
    )

    assert answer.status == 200
    assert secrets_seen == [support.CREDENTIALS["clientSecret"], NEW]


def test_lwa_refusing_a_secret_that_did_not_change_fails_once(
    aws: dict[str, Any], http: responses.RequestsMock
) -> None:
    http.remove(responses.POST, support.TOKEN_URL)
    http.post(
        support.TOKEN_URL,
        status=401,
        json={"error_description": "Client authentication failed", "error": "invalid_client"},
    )

    with pytest.raises(LwaRejected) as raised:
        spapi.default_client().call("getMessagingActionsForOrder", "GET", f"/messaging/v1/orders/{support.ORDER_ID}")

    assert raised.value.code == "invalid_client"
    assert len(_token_forms(http)) == 1


# --- the handlers ---------------------------------------------------------------------------------------------


def test_the_notifications_function_reports_the_failed_message_alone(aws: dict[str, Any], lambda_context: Any) -> None:
    event = support.load_event("client_secret_notifications/new-secret.json")
    good = event["Records"][0]
    other = {
        **good,
        "messageId": "other-client",
        "body": _new_secret_body(client_id="amzn1.application-oa2-client.other", secret="someone-elses"),
    }
    event["Records"].append(other)

    answer = support.function_module("client_secret_notifications").lambda_handler(event, lambda_context)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "other-client"}]}
    assert _stored(aws)["clientSecret"] == "amzn1.oa2-cs.v1.example-not-a-real-secret"


def test_the_rotation_function_runs_the_daily_check(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    _put(aws, clientSecretExpiresAt=(datetime.now(UTC) + timedelta(days=150)).isoformat())

    answer = support.function_module("rotate_client_secret").lambda_handler(
        support.load_event("rotate_client_secret/daily-check.json"), lambda_context
    )

    assert answer["rotationRequested"] is False
    assert 149.9 < answer["daysLeft"] <= 150
    assert not [c for c in http.calls if c.request.url == ROTATE_URL]


def test_no_second_rotation_while_the_last_one_is_not_stored(aws: dict[str, Any], http: responses.RequestsMock) -> None:
    """A second rotation before the first one's secret is stored could end the stored secret at once (Amazon
    documents one old secret working seven days, not two)."""
    http.post(ROTATE_URL, status=204)
    assert rotation.scheduled_check(get_settings(), rotation_days=90, now=NOW)["rotationRequested"] is True
    tags = aws["secretsmanager"].describe_secret(SecretId=support.SECRET_ID)["Tags"]
    assert tags == [{"Key": "rotationRequestedAt", "Value": "2026-12-06T10:00:00Z"}]

    with pytest.raises(ClientSecretNotStored) as raised:
        rotation.scheduled_check(get_settings(), rotation_days=90, now=NOW + timedelta(days=1))

    assert str(raised.value).startswith(
        "A rotation asked for at 2026-12-06T10:00:00Z has not been stored in the credentials secret"
    )
    assert len([c for c in http.calls if c.request.url == ROTATE_URL]) == 1
    # Once stored, the daily check finds a fresh secret.
    rotation.handle_notification(get_settings(), _new_secret_body(days=180))
    assert rotation.scheduled_check(get_settings(), rotation_days=90, now=NOW + timedelta(days=1)) == {
        "rotationRequested": False,
        "daysLeft": 179.0,
    }
