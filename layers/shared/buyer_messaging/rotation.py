"""The LWA client secret's rotation: Amazon requires it every 180 days, or the application loses SP-API access.

Amazon's facts (the emulator, local/spapi_emulator/applications.py, reproduces them; sources there too):

- ``rotateApplicationClientSecret`` (Application Management API v2023-11-30): ``POST
  /applications/2023-11-30/clientSecret``, no body, ``204``. Grantless: a ``client_credentials`` token with the
  scope ``sellingpartnerapi::client_credential:rotation`` (jlevers/selling-partner-api#814: "credential",
  singular); a seller's token is refused 403 (PipedreamHQ/pipedream#19400). Usage plan 0.0167/s, burst 1.
  400 ``InvalidInput`` when no queue is registered for the new secret (SP-API changelog, 2024-08-14).
- The new secret does not come back in the answer: Amazon sends it in an ``APPLICATION_OAUTH_CLIENT_NEW_SECRET``
  notification to the SQS queue registered in the Developer Console, with the old secret's expiry; the old secret
  keeps working seven days (SP-API docs, "Rotate your application's LWA credentials").
- ``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`` warns 90 days before the 180-day deadline (same page); Amazon
  recommends rotating when it arrives (Application Management API use case guide, "Best practices").
- Payload shapes: amzn/selling-partner-api-samples, use-cases/lwa-rotation/README.md.

The workflow: a daily schedule runs :func:`scheduled_check` (rotate when the secret is ``rotation_days`` old, and
report the days left for the alarm before the deadline); the queue's messages run :func:`handle_notification`
(store a new secret in the credentials secret, keeping clientId and refreshToken; rotate on an expiry warning).
The new secret's expiry is kept beside it in the credentials secret (``clientSecretExpiresAt``), so the daily
check knows the secret's age. Each rotation asked for is remembered in the secret's tag ``rotationRequestedAt``:
while a rotation of the last seven days is not stored, no other is asked for. Amazon documents one old secret
working seven days after a rotation, not what a second rotation does to the one before (the emulator keeps one
old secret): a second rotation could end the stored secret at once, so the safe side is taken.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from buyer_messaging.auth import AccessTokenProvider, load_credentials
from buyer_messaging.aws_clients import CLIENT_LOCK
from buyer_messaging.config import Settings
from buyer_messaging.errors import (
    ClientSecretForAnotherClient,
    ClientSecretNotificationInvalid,
    ClientSecretNotStored,
    ClientSecretRotationNotEnrolled,
    ClientSecretRotationRefused,
    CredentialsNotConfigured,
    SpApiInvalidInput,
    SpApiUnauthorized,
)
from buyer_messaging.observability import logger, metrics
from buyer_messaging.sessions import new_session
from buyer_messaging.spapi import SpApiClient

ROTATION_OPERATION = "rotateApplicationClientSecret"
ROTATION_PATH = "/applications/2023-11-30/clientSecret"
ROTATION_SCOPE = "sellingpartnerapi::client_credential:rotation"
NEW_SECRET = "APPLICATION_OAUTH_CLIENT_NEW_SECRET"  # noqa: S105  (a notification type)
SECRET_EXPIRY = "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"  # noqa: S105  (a notification type)
# Amazon's rules (module docstring).
SECRET_LIFETIME_DAYS = 180
OLD_SECRET_GRACE_DAYS = 7
EXPIRY_WARNING_DAYS = 90
# Amazon's account that writes SP-API notifications to the developer's queue (SP-API docs, "Set up credential
# rotation notifications"); the template's queue policy grants it sqs:SendMessage and sqs:GetQueueAttributes.
AMAZON_NOTIFICATIONS_ACCOUNT = "437568002678"
# Beside clientId, clientSecret and refreshToken in the credentials secret: when the stored secret expires.
EXPIRES_AT_FIELD = "clientSecretExpiresAt"
# The credentials secret's tag: when the last rotation was asked for (the template grants this tag key only).
REQUESTED_TAG = "rotationRequestedAt"
DAYS_LEFT_METRIC = "ClientSecretDaysLeft"
STORED_METRIC = "ClientSecretStored"
ROTATED_METRIC = "ClientSecretRotationsRequested"


@dataclass(frozen=True, slots=True)
class NewSecret:
    """``APPLICATION_OAUTH_CLIENT_NEW_SECRET``: the secret a rotation made, and when the old one stops working."""

    client_id: str
    client_secret: str = field(repr=False)
    expires_at: datetime
    old_expires_at: datetime


@dataclass(frozen=True, slots=True)
class SecretExpiry:
    """``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY``: the current secret expires at ``expires_at``."""

    client_id: str
    expires_at: datetime


def parse_notification(body: str) -> NewSecret | SecretExpiry:
    """An SQS message body as Amazon sends it; :class:`ClientSecretNotificationInvalid` for anything else (the
    message names no secret value)."""
    try:
        notification = json.loads(body)
    except ValueError:
        raise ClientSecretNotificationInvalid("The queue's message is not JSON.") from None
    kind = notification.get("notificationType") if isinstance(notification, dict) else None
    payload = notification.get("payload") if isinstance(notification, dict) else None
    if kind == NEW_SECRET and isinstance(payload, dict):
        details = payload.get("applicationOAuthClientNewSecret")
        if isinstance(details, dict):
            return NewSecret(
                client_id=_text(details, "clientId", kind),
                client_secret=_text(details, "newClientSecret", kind),
                expires_at=_time(details, "newClientSecretExpiryTime", kind),
                old_expires_at=_time(details, "oldClientSecretExpiryTime", kind),
            )
    if kind == SECRET_EXPIRY and isinstance(payload, dict):
        details = payload.get("applicationOAuthClientSecretExpiry")
        if isinstance(details, dict):
            return SecretExpiry(
                client_id=_text(details, "clientId", kind),
                expires_at=_time(details, "clientSecretExpiryTime", kind),
            )
    raise ClientSecretNotificationInvalid(
        f"The queue's message is not a {NEW_SECRET} or {SECRET_EXPIRY} notification "
        f"(notificationType {kind!r}); only Amazon's client secret notifications belong on this queue."
    )


def _text(details: Mapping[str, Any], name: str, kind: str) -> str:
    value = details.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ClientSecretNotificationInvalid(f"The {kind} notification lacks {name}.")
    return value


def _time(details: Mapping[str, Any], name: str, kind: str) -> datetime:
    raw = _text(details, name, kind)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ClientSecretNotificationInvalid(f"The {kind} notification's {name} is not a time: {raw!r}.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- the credentials secret -------------------------------------------------------------------------------


def _secrets_client() -> Any:
    import boto3

    with CLIENT_LOCK:
        return boto3.client("secretsmanager")


def _read_secret(secret_id: str) -> dict[str, Any]:
    """The credentials secret's JSON, read now (never from a cache: it is about to be compared and written)."""
    try:
        raw = _secrets_client().get_secret_value(SecretId=secret_id)["SecretString"]
        value = json.loads(raw)
    except ValueError:
        raise CredentialsNotConfigured(f"The LWA credentials secret {secret_id!r} is not valid JSON.") from None
    if not isinstance(value, dict):
        raise CredentialsNotConfigured(f"The LWA credentials secret {secret_id!r} is not a JSON object.")
    return value


def stored_expiry(secret: Mapping[str, Any]) -> datetime | None:
    """When the stored client secret expires, as the last rotation's notification said; None when unknown (a
    secret stored by hand without ``clientSecretExpiresAt``)."""
    raw = secret.get(EXPIRES_AT_FIELD)
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def store_new_secret(secret_id: str, new: NewSecret) -> str:
    """Put the new client secret into the credentials secret, keeping every other field (clientId,
    refreshToken). Returns ``stored``, ``already stored`` (a redelivered notification) or ``stale`` (an older
    rotation's notification after a newer one's: storing it would bring back a secret about to expire)."""
    current = _read_secret(secret_id)
    if current.get("clientId") != new.client_id:
        raise ClientSecretForAnotherClient(
            f"The new client secret is for LWA client {new.client_id!r}, but the credentials secret holds client "
            f"{current.get('clientId')!r}: not stored. Register this stack's queue for its own application only."
        )
    if current.get("clientSecret") == new.client_secret:
        return "already stored"
    known = stored_expiry(current)
    if known is not None and known >= new.expires_at:
        return "stale"
    updated = {**current, "clientSecret": new.client_secret, EXPIRES_AT_FIELD: _iso(new.expires_at)}
    _secrets_client().put_secret_value(SecretId=secret_id, SecretString=json.dumps(updated))
    metrics.add_metric(name=STORED_METRIC, unit=MetricUnit.Count, value=1)
    logger.info(
        "Stored the new LWA client secret",
        extra={"expiresAt": _iso(new.expires_at), "oldSecretExpiresAt": _iso(new.old_expires_at)},
    )
    return "stored"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- the operation ----------------------------------------------------------------------------------------


def rotation_client(settings: Settings) -> SpApiClient:
    """An SP-API client whose tokens are grantless, of the rotation scope."""
    secret_id = settings.require("credentials_secret_id")
    session = new_session()
    timeout = (settings.connect_timeout_seconds, settings.read_timeout_seconds)
    tokens = AccessTokenProvider(
        settings.lwa_token_url,
        lambda: load_credentials(secret_id, fresh=True),
        session=session,
        timeout=timeout,
        scope=ROTATION_SCOPE,
    )
    return SpApiClient(settings.spapi_endpoint, tokens, session=session, timeout=timeout)


def _last_request(secret_id: str) -> datetime | None:
    tags = _secrets_client().describe_secret(SecretId=secret_id).get("Tags", [])
    found = [tag["Value"] for tag in tags if tag.get("Key") == REQUESTED_TAG]
    return stored_expiry({EXPIRES_AT_FIELD: found[0]}) if found else None


def request_rotation(settings: Settings, now: datetime | None = None) -> None:
    """Ask Amazon for a new client secret; it arrives on the queue. SpApiThrottled (0.0167/s, burst 1) is
    transient and left to the caller's retries. :class:`ClientSecretNotStored` instead of a second rotation
    while the last one (less than seven days ago) is not stored."""
    now = now or datetime.now(UTC)
    secret_id = settings.require("credentials_secret_id")
    requested = _last_request(secret_id)
    if requested is not None and now - requested < timedelta(days=OLD_SECRET_GRACE_DAYS):
        stored = stored_expiry(_read_secret(secret_id))
        if stored is None or stored < requested + timedelta(days=SECRET_LIFETIME_DAYS - 1):
            raise ClientSecretNotStored(
                f"A rotation asked for at {_iso(requested)} has not been stored in the credentials secret, and "
                "another would end the secret stored now: look at ClientSecretDeadLetterQueue and the notifications "
                "function's logs, and store the new secret by hand (docs/runbook-client-secret.md)."
            )
    try:
        rotation_client(settings).call(ROTATION_OPERATION, "POST", ROTATION_PATH)
    except SpApiInvalidInput as error:
        raise ClientSecretRotationNotEnrolled(
            f"Amazon did not rotate the client secret: {error} Register this stack's ClientSecretQueue for the "
            "Application Client New Secret notification in the Developer Console (docs/runbook-client-secret.md)."
        ) from None
    except SpApiUnauthorized as error:
        raise ClientSecretRotationRefused(
            f"Amazon refused the rotation: {error} The call takes a grantless token of scope {ROTATION_SCOPE} of a "
            "production (not sandbox) application."
        ) from None
    _secrets_client().tag_resource(SecretId=secret_id, Tags=[{"Key": REQUESTED_TAG, "Value": _iso(now)}])
    metrics.add_metric(name=ROTATED_METRIC, unit=MetricUnit.Count, value=1)
    logger.info("Amazon rotated the LWA client secret; the new one arrives on the client secret queue")


def scheduled_check(settings: Settings, rotation_days: int, now: datetime | None = None) -> dict[str, Any]:
    """The daily run: the days the stored secret has left (the metric the deadline alarm watches), and a rotation
    once it is ``rotation_days`` old, or when its age is unknown."""
    now = now or datetime.now(UTC)
    secret = _read_secret(settings.require("credentials_secret_id"))
    expires_at = stored_expiry(secret)
    days_left = None if expires_at is None else (expires_at - now) / timedelta(days=1)
    if days_left is not None:
        metrics.add_metric(name=DAYS_LEFT_METRIC, unit=MetricUnit.Count, value=round(days_left, 2))
    due = days_left is None or days_left <= SECRET_LIFETIME_DAYS - rotation_days
    if due:
        request_rotation(settings, now)
    return {"rotationRequested": due, "daysLeft": None if days_left is None else round(days_left, 2)}


def handle_notification(settings: Settings, body: str) -> str:
    """One message of the client secret queue: what was done (``stored``, ``already stored``, ``stale``,
    ``rotation requested``, ``already rotated``)."""
    notification = parse_notification(body)
    secret_id = settings.require("credentials_secret_id")
    if isinstance(notification, NewSecret):
        return store_new_secret(secret_id, notification)
    current = _read_secret(secret_id)
    if current.get("clientId") != notification.client_id:
        raise ClientSecretForAnotherClient(
            f"The expiry warning is for LWA client {notification.client_id!r}, but the credentials secret holds "
            f"client {current.get('clientId')!r}: nothing rotated."
        )
    known = stored_expiry(current)
    if known is not None and known > notification.expires_at:
        return "already rotated"  # the warning is about a secret already replaced
    request_rotation(settings)
    return "rotation requested"
