"""The Application Management API v2023-11-30: the application's LWA client secret, its rotation, and the two
notifications Amazon sends about it to the SQS queues the developer registered in the Developer Console.

What Amazon documents, and the emulator does (sources beside each fact):

- ``rotateApplicationClientSecret``: ``POST /applications/2023-11-30/clientSecret``, no body, answered ``204``
  (amzn/selling-partner-api-models, models/application-management-api-model/application_2023-11-30.json). It is
  grantless: the access token comes from LWA's ``client_credentials`` grant with the scope
  ``sellingpartnerapi::client_credential:rotation`` (singular "credential": jlevers/selling-partner-api#814; SP-API
  docs "Grantless operations"). A token minted from a refresh token is refused 403 ``Unauthorized`` "Access to
  requested resource is denied." with empty ``details`` (PipedreamHQ/pipedream#19400).
- Usage plan 0.0167 requests/s, burst 1 (the model). The plan is the application's (a grantless call acts for no
  selling partner), so the emulator keeps one bucket for the application, on its own clock.
- No queue registered for ``APPLICATION_OAUTH_CLIENT_NEW_SECRET`` -> 400 ``InvalidInput`` "Application is not
  enrolled for rotation notification. Please update application notification preference in Developer console."
  (the model's example; SP-API changelog of 2024-08-14 "Update: 400 Error Response Message").
- A rotation makes a new secret at once and sends it to the registered queue with the old secret's expiry; the old
  secret keeps working for seven days ("Your old credentials expire seven days after you generate new
  credentials", SP-API docs "Rotate your application's LWA credentials"; airbytehq/airbyte#26411 quotes Amazon's
  mail: "your previous LWA secret will work for 7 days"). After that LWA refuses it 401 ``invalid_client``
  "Client authentication failed" (jlevers/selling-partner-api#595, amzn/selling-partner-api-docs#3030).
- Every secret must be rotated every 180 days; Amazon warns 90 days before the deadline (SP-API docs "Rotate your
  application's LWA credentials"): the ``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`` notification, sent here when the
  emulated clock reaches the warning (or on request).
- Notification shapes: Amazon's sample solution, amzn/selling-partner-api-samples
  use-cases/lwa-rotation/README.md (notificationVersion 1.0, payloadVersion 2023-11-30, ``payload`` with
  ``applicationOAuthClientNewSecret`` {clientId, newClientSecret, newClientSecretExpiryTime,
  oldClientSecretExpiryTime} or ``applicationOAuthClientSecretExpiry`` {clientId, clientSecretExpiryTime,
  clientSecretExpiryReason}, and ``notificationMetadata``).
- Amazon writes to the queue as account 437568002678, with sqs:SendMessage and sqs:GetQueueAttributes granted by
  the queue's policy (SP-API docs "Set up credential rotation notifications"). The emulator sends with the
  caller's AWS credentials (moto's, locally), so it cannot check that policy: tests/static checks the template's.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from buyer_messaging import rotation
from buyer_messaging.rotation import NEW_SECRET, ROTATION_SCOPE, SECRET_EXPIRY
from spapi_emulator.clock import EmulatedClock, iso_timestamp
from spapi_emulator.errors import (
    ACCESS_DENIED_MESSAGE,
    QUOTA_EXCEEDED_MESSAGE,
    ApiError,
    spapi_error_response,
    unauthorized,
)
from spapi_emulator.gateway import live_token
from spapi_emulator.httpio import Request, Response
from spapi_emulator.quotas import TokenBucket
from spapi_emulator.seed import Credentials
from spapi_emulator.state import State

logger = logging.getLogger("spapi_emulator")

NOTIFICATIONS_SCOPE = "sellingpartnerapi::notifications"
GRANTLESS_SCOPES = frozenset({ROTATION_SCOPE, NOTIFICATIONS_SCOPE})
ROTATION_RATE_PER_SECOND = 0.0167
ROTATION_BURST = 1
DAY_SECONDS = 24 * 3600
OLD_SECRET_GRACE_SECONDS = rotation.OLD_SECRET_GRACE_DAYS * DAY_SECONDS
SECRET_LIFETIME_SECONDS = rotation.SECRET_LIFETIME_DAYS * DAY_SECONDS
EXPIRY_WARNING_SECONDS = rotation.EXPIRY_WARNING_DAYS * DAY_SECONDS  # before the deadline
NOTIFICATION_TYPES = (NEW_SECRET, SECRET_EXPIRY)
NOT_ENROLLED_MESSAGE = (
    "Application is not enrolled for rotation notification. "
    "Please update application notification preference in Developer console."
)
APPLICATION_ID = "amzn1.sp.solution.local-emulator"
PAYLOAD_VERSION = "2023-11-30"
RATE_LIMIT_STATUSES = frozenset({204, 400, 404})  # where the model declares x-amzn-RateLimit-Limit


@dataclass(slots=True)
class ClientSecrets:
    """The application's current secret and, for seven days after a rotation, the one before it."""

    current: str = field(repr=False)
    issued_at: float
    previous: str | None = field(default=None, repr=False)
    previous_expires_at: float = 0.0
    expiry_warned: bool = False

    @property
    def expires_at(self) -> float:
        return self.issued_at + SECRET_LIFETIME_SECONDS

    def accepts(self, secret: str, now: float) -> bool:
        if secrets.compare_digest(secret.encode(), self.current.encode()):
            return True
        return (
            self.previous is not None
            and now < self.previous_expires_at
            and secrets.compare_digest(secret.encode(), self.previous.encode())
        )

    def rotate(self, now: float) -> str:
        self.previous, self.previous_expires_at = self.current, now + OLD_SECRET_GRACE_SECONDS
        self.current, self.issued_at, self.expiry_warned = new_client_secret(), now, False
        return self.current


def new_client_secret() -> str:
    """A secret shaped like Amazon's (``amzn1.oa2-cs.v1.`` and 64 hex digits)."""
    return "amzn1.oa2-cs.v1." + secrets.token_hex(32)


@dataclass(frozen=True, slots=True)
class Destination:
    """An SQS queue registered for a notification type (the Developer Console's Notification Preferences)."""

    queue_arn: str
    endpoint_url: str | None = None  # where its SQS answers (a moto server); None: boto3's default

    def queue_parts(self) -> tuple[str, str, str]:
        """(region, account, queue name) of the ARN; ValueError when it is not an SQS queue's ARN."""
        parts = self.queue_arn.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not all(parts[3:]):
            raise ValueError(f"{self.queue_arn!r} is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME).")
        return parts[3], parts[4], parts[5]


class Applications:
    """The one application of the seed: its client secrets, notification destinations and rotation quota."""

    def __init__(self, credentials: Credentials, clock: EmulatedClock) -> None:
        self._credentials = credentials
        self._clock = clock
        self._lock = threading.Lock()
        self.secrets = ClientSecrets(credentials.client_secret, clock.now())
        self._destinations: dict[str, Destination] = {}
        self._sent: list[dict[str, Any]] = []
        self._bucket = TokenBucket(ROTATION_RATE_PER_SECOND, ROTATION_BURST, float(ROTATION_BURST), clock.now())

    @property
    def client_id(self) -> str:
        return self._credentials.client_id

    def reset(self) -> None:
        """The seed's secret again, no destinations, nothing sent, the rotation bucket full."""
        with self._lock:
            now = self._clock.now()
            self.secrets = ClientSecrets(self._credentials.client_secret, now)
            self._destinations = {}
            self._sent = []
            self._bucket = TokenBucket(ROTATION_RATE_PER_SECOND, ROTATION_BURST, float(ROTATION_BURST), now)

    def client_authenticates(self, client_id: str | None, client_secret: str | None) -> bool:
        """LWA's client check: the client id, and the current secret or the previous one within its seven days."""
        if client_id is None or client_secret is None:
            return False
        if not secrets.compare_digest(client_id.encode(), self._credentials.client_id.encode()):
            return False
        with self._lock:
            return self.secrets.accepts(client_secret, self._clock.now())

    def past_deadline(self) -> bool:
        """Whether the current secret is past Amazon's 180-day deadline (never rotated in time). LWA still mints
        tokens with it; every SP-API call with one is refused (errors.SECRET_EXPIRED_DETAILS)."""
        with self._lock:
            return self._clock.now() >= self.secrets.expires_at

    def current_secret(self) -> str:
        with self._lock:
            return self.secrets.current

    def register(self, notification_type: str, queue_arn: str, endpoint_url: str | None = None) -> dict[str, Any]:
        """Register the queue that gets ``notification_type`` (as in the Developer Console); ValueError when the
        type or ARN is wrong."""
        if notification_type not in NOTIFICATION_TYPES:
            raise ValueError(
                f"notificationType must be one of {', '.join(NOTIFICATION_TYPES)}; not {notification_type!r}."
            )
        destination = Destination(str(queue_arn), endpoint_url)
        destination.queue_parts()
        with self._lock:
            self._destinations[notification_type] = destination
        return {"notificationType": notification_type, "queueArn": destination.queue_arn}

    def sent(self) -> list[dict[str, Any]]:
        """Every notification sent, oldest first: ``notificationType``, ``queueArn``, ``delivered``, ``body``."""
        with self._lock:
            return json.loads(json.dumps(self._sent))  # type: ignore[no-any-return]

    # --- the operation -----------------------------------------------------------------------------------------

    def rotate(self, request: Request, state: State) -> Response:
        """``rotateApplicationClientSecret``: checks in the order Amazon answers them (module docstring)."""
        rate_limited = False
        try:
            self._authorize(request, state)
            with self._lock:
                if not self._bucket.take(self._clock.now()):
                    raise ApiError(429, "QuotaExceeded", QUOTA_EXCEEDED_MESSAGE)
                rate_limited = True
                destination = self._destinations.get(NEW_SECRET)
                if destination is None:
                    raise ApiError(400, "InvalidInput", NOT_ENROLLED_MESSAGE)
                now = self._clock.now()
                old_expires_at = now + OLD_SECRET_GRACE_SECONDS
                new_secret = self.secrets.rotate(now)
                body = self._notification(
                    NEW_SECRET,
                    {
                        "applicationOAuthClientNewSecret": {
                            "clientId": self.client_id,
                            "newClientSecret": new_secret,
                            "newClientSecretExpiryTime": self._at(self.secrets.expires_at),
                            "oldClientSecretExpiryTime": self._at(old_expires_at),
                        }
                    },
                    now,
                )
            self._send(NEW_SECRET, destination, body)
            response = Response(204)
        except ApiError as error:
            response = spapi_error_response(error)
        if rate_limited and response.status in RATE_LIMIT_STATUSES:
            response.headers.append(("x-amzn-RateLimit-Limit", str(ROTATION_RATE_PER_SECOND)))
        return response

    def _authorize(self, request: Request, state: State) -> None:
        # Past the secret's deadline Amazon's docs say only that "your application returns an error when it calls
        # the SP-API": the rotation is refused like every other call, and only the Developer Console's is left.
        token = live_token(request, state, self._clock)
        with state.lock:
            scope = state.tokens.scope_of(token)
        if scope != ROTATION_SCOPE:
            request.notes.append(
                f"The access token's grant is {scope or 'a refresh token'}; rotateApplicationClientSecret takes a "
                f"client_credentials token with scope {ROTATION_SCOPE}."
            )
            raise unauthorized(ACCESS_DENIED_MESSAGE, "")

    # --- the expiry warning ------------------------------------------------------------------------------------

    def warn_if_due(self) -> None:
        """Send ``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`` once the emulated clock reaches 90 days before the current
        secret's deadline (when a queue is registered for it)."""
        with self._lock:
            due = not self.secrets.expiry_warned and self._clock.now() >= (
                self.secrets.expires_at - EXPIRY_WARNING_SECONDS
            )
            if not due or SECRET_EXPIRY not in self._destinations:
                return
        self.warn()

    def warn(self) -> dict[str, Any]:
        """Send the expiry warning now; ValueError when no queue is registered for it."""
        with self._lock:
            destination = self._destinations.get(SECRET_EXPIRY)
            if destination is None:
                raise ValueError(f"No queue is registered for {SECRET_EXPIRY}.")
            self.secrets.expiry_warned = True
            body = self._notification(
                SECRET_EXPIRY,
                {
                    "applicationOAuthClientSecretExpiry": {
                        "clientId": self.client_id,
                        "clientSecretExpiryTime": self._at(self.secrets.expires_at),
                        "clientSecretExpiryReason": "PERIODIC_ROTATION",
                    }
                },
                self._clock.now(),
            )
        return self._send(SECRET_EXPIRY, destination, body)

    # --- notifications -----------------------------------------------------------------------------------------

    def _at(self, emulated_seconds: float) -> str:
        return iso_timestamp(self._clock.wall_at(emulated_seconds))

    def _notification(self, notification_type: str, payload: dict[str, Any], at: float) -> dict[str, Any]:
        now = self._at(at)
        return {
            "notificationVersion": "1.0",
            "notificationType": notification_type,
            "payloadVersion": PAYLOAD_VERSION,
            "eventTime": now,
            "payload": payload,
            "notificationMetadata": {
                "applicationId": APPLICATION_ID,
                "subscriptionId": str(uuid.uuid4()),
                "publishTime": now,
                "notificationId": str(uuid.uuid4()),
            },
        }

    def _send(self, notification_type: str, destination: Destination, body: dict[str, Any]) -> dict[str, Any]:
        """Put the notification on the queue as Amazon does (one SQS message, the JSON as its body)."""
        import boto3

        region, account, name = destination.queue_parts()
        delivered = True
        try:
            sqs = boto3.client("sqs", region_name=region, endpoint_url=destination.endpoint_url)
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
        except Exception:  # Amazon's delivery failing is the developer's problem to see, not a 500 to the caller
            logger.warning("The %s notification could not be sent to %s", notification_type, destination.queue_arn)
            delivered = False
        record = {
            "notificationType": notification_type,
            "queueArn": destination.queue_arn,
            "delivered": delivered,
            "body": body,
        }
        with self._lock:
            self._sent.append(record)
        return record
