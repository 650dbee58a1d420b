"""The sellers one deployment serves: the registry in the workflow table and each seller's own secret.

The application (LWA ``clientId`` and ``clientSecret``) is the deployment's: it stays in the credentials secret
(``SPAPI_CREDENTIALS_SECRET``), rotated by buyer_messaging.rotation. Each seller who authorized the application
has a secret of its own, ``SELLER_SECRET_PREFIX`` + its selling partner id, holding only
``{"sellingPartnerId", "refreshToken", "authorizedAt"}``: never logged, never returned by a route.

The registry lives in the workflow table (family ``seller#``): one item a seller (status, authorization date and
end, kind) and ``seller#directory``, the set of registered ids, so listing the sellers needs no Scan. A seller
id is upper-case letters and digits, so no seller's item can be the directory's.

A deployment of one seller may keep working as before this registry: the seller's refresh token in the
application secret (the "legacy seller"), named by ``SELLING_PARTNER_ID`` or not named at all. :func:`resolve`
says which seller a request is for.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from buyer_messaging import table
from buyer_messaging.aws_clients import CLIENT_LOCK
from buyer_messaging.config import Settings
from buyer_messaging.errors import (
    CredentialsNotConfigured,
    InvalidRequest,
    SellerNeedsAuthorization,
    SellerRequired,
    SellerSecretUnavailable,
    UnknownSeller,
)
from buyer_messaging.fields import SELLING_PARTNER_ID_PATTERN

if TYPE_CHECKING:
    from buyer_messaging.auth import LwaCredentials

SELLER_FAMILY = "seller#"
DIRECTORY_ID = SELLER_FAMILY + "directory"
# Amazon makes a seller authorize a public application again every 365 days (SP-API docs, "Authorize Public
# Applications"); the registry keeps when each authorization ends so the deployment can warn before it does.
AUTHORIZATION_DAYS = 365
# Read again past Powertools' cache this long after the last read: a renewed authorization reaches every
# container within this time (and at once where LWA refused the cached token: credentials_for(fresh=True)).
SECRET_CACHE_SECONDS = 300
AUTHORIZED: Literal["authorized"] = "authorized"
NEEDS_AUTHORIZATION: Literal["needsAuthorization"] = "needsAuthorization"
Status = Literal["authorized", "needsAuthorization"]
Kind = Literal["oauth", "self"]
KINDS: tuple[Kind, ...] = ("oauth", "self")


@dataclass(frozen=True, slots=True)
class Seller:
    """One registered seller, as the registry holds it (no secret: its refresh token stays in its own secret)."""

    selling_partner_id: str
    status: Status
    kind: Kind
    authorized_at: datetime
    authorization_expires_at: datetime
    secret_id: str
    needs_authorization_since: datetime | None = None
    needs_authorization_reason: str | None = None

    def days_left(self, now: datetime) -> int:
        """Whole days until the authorization ends (0 on its last day, negative once it ended)."""
        return (self.authorization_expires_at - now).days

    def to_dict(self) -> dict[str, Any]:
        """The seller as routes and events show it: no secret id, no token."""
        shown: dict[str, Any] = {
            "sellingPartnerId": self.selling_partner_id,
            "status": self.status,
            "kind": self.kind,
            "authorizedAt": iso(self.authorized_at),
            "authorizationExpiresAt": iso(self.authorization_expires_at),
        }
        if self.status == NEEDS_AUTHORIZATION:
            shown["needsAuthorizationSince"] = (
                iso(self.needs_authorization_since) if self.needs_authorization_since else None
            )
            shown["needsAuthorizationReason"] = self.needs_authorization_reason
        return shown


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_id(seller_id: str, field: str = "sellingPartnerId") -> str:
    """``seller_id`` when it is a selling partner id, else :class:`InvalidRequest` naming ``field``."""
    if not SELLING_PARTNER_ID_PATTERN.match(seller_id):
        message = f"{field} must be a selling partner id (upper-case letters and digits, 8 to 20, e.g. A2EUQ1WTGCTBG2)."
        raise InvalidRequest(message, problems=((field, message),))
    return seller_id


def secret_id_of(settings: Settings, seller_id: str) -> str:
    return settings.require("seller_secret_prefix") + seller_id


def _key(seller_id: str) -> dict[str, Any]:
    return {"id": {"S": SELLER_FAMILY + seller_id}}


def _seller(item: Mapping[str, Any]) -> Seller:
    fields = table.from_item(item)
    authorized_at = _moment(fields.get("authorizedAt")) or datetime.fromtimestamp(0, UTC)
    return Seller(
        selling_partner_id=str(fields["sellingPartnerId"]),
        status=NEEDS_AUTHORIZATION if fields.get("status") == NEEDS_AUTHORIZATION else AUTHORIZED,
        kind="self" if fields.get("kind") == "self" else "oauth",
        authorized_at=authorized_at,
        authorization_expires_at=_moment(fields.get("authorizationExpiresAt"))
        or authorized_at + timedelta(days=AUTHORIZATION_DAYS),
        secret_id=str(fields.get("secretId", "")),
        needs_authorization_since=_moment(fields.get("needsAuthorizationSince")),
        needs_authorization_reason=fields.get("needsAuthorizationReason"),
    )


# --- reading the registry --------------------------------------------------------------------------------


def registered(settings: Settings) -> tuple[str, ...]:
    """The ids of the registered sellers, sorted (a consistent read of the directory: a seller onboarded a moment
    ago is known at once, in every container)."""
    name = settings.require("workflow_table")
    response = table.call(
        name, lambda client: client.get_item(TableName=name, Key={"id": {"S": DIRECTORY_ID}}, ConsistentRead=True)
    )
    ids = table.from_item(response.get("Item", {})).get("sellers") or set()
    return tuple(sorted(str(seller_id) for seller_id in ids))


def get(settings: Settings, seller_id: str) -> Seller | None:
    """The registered seller ``seller_id``, or None."""
    name = settings.require("workflow_table")
    response = table.call(
        name, lambda client: client.get_item(TableName=name, Key=_key(seller_id), ConsistentRead=True)
    )
    item = response.get("Item")
    return _seller(item) if item else None


def all_sellers(settings: Settings) -> list[Seller]:
    """Every registered seller, by id."""
    ids = registered(settings)
    items = table.batch_get(settings.require("workflow_table"), [_key(seller_id) for seller_id in ids])
    return sorted((_seller(item) for item in items), key=lambda seller: seller.selling_partner_id)


def deployment_sellers(settings: Settings) -> tuple[str, ...]:
    """The sellers this deployment serves: the registered ones and the legacy seller named by SELLING_PARTNER_ID."""
    ids = set(registered(settings))
    if settings.selling_partner_id:
        ids.add(settings.selling_partner_id)
    return tuple(sorted(ids))


def resolve(settings: Settings, requested: str | None, *, field: str = "sellingPartnerId") -> str | None:
    """The seller a request is for.

    Named: it must be one of the deployment's sellers (:class:`UnknownSeller`). Not named: the only seller when
    there is one; ``None`` in a one-seller deployment that was never told its id (it works as before the
    registry); :class:`SellerRequired` when there are several."""
    sellers = deployment_sellers(settings)
    if requested is not None:
        check_id(requested, field)
        if requested not in sellers:
            message = (
                f"{field} {requested} is not a seller of this deployment: onboard it first "
                "(README, 'Onboard a seller'), or check the id."
            )
            raise UnknownSeller(message, problems=((field, message),))
        return requested
    if len(sellers) > 1:
        message = (
            f"This deployment serves {len(sellers)} sellers: say which one the request is for in {field} "
            "(the request document's field; a query parameter of GET routes; sellers/{id}/… in S3 keys)."
        )
        raise SellerRequired(message, problems=((field, message),))
    return sellers[0] if sellers else None


# --- credentials -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SellerCredentials:
    """The LWA credentials that act for one seller, and which authorization their refresh token is of (None: the
    legacy seller's, in the application secret)."""

    credentials: LwaCredentials
    authorized_at: str | None


def credentials_for(settings: Settings, seller_id: str | None, *, fresh: bool = False) -> SellerCredentials:
    """The application's client id and secret with ``seller_id``'s refresh token.

    A registered seller's refresh token comes from its own secret; the legacy seller's (or, with ``None``, the one
    seller's of a deployment never told its id) from the application secret. A seller whose authorization is lost
    raises :class:`SellerNeedsAuthorization` before LWA is asked."""
    from buyer_messaging.auth import LwaCredentials, load_application_secret

    application = load_application_secret(settings.require("credentials_secret_id"), fresh=fresh)
    seller = get(settings, seller_id) if seller_id is not None else None
    if seller is None:
        if seller_id is not None and seller_id != settings.selling_partner_id:
            raise UnknownSeller(f"The seller {seller_id} is not a seller of this deployment (removed?).")
        return SellerCredentials(LwaCredentials.from_secret(application), authorized_at=None)
    if seller.status == NEEDS_AUTHORIZATION:
        raise SellerNeedsAuthorization(
            f"The seller {seller_id} must authorize the application again (its authorization was lost: "
            f"{seller.needs_authorization_reason}); its messages wait until it does."
        )
    stored = _read_seller_secret(seller.secret_id, fresh=fresh)
    refresh_token = stored.get("refreshToken")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise CredentialsNotConfigured(f"The secret of seller {seller_id} holds no refreshToken.")
    merged = {**application, "refreshToken": refresh_token}
    authorized_at = stored.get("authorizedAt")
    return SellerCredentials(
        LwaCredentials.from_secret(merged), authorized_at=authorized_at if isinstance(authorized_at, str) else None
    )


def _read_seller_secret(secret_id: str, *, fresh: bool) -> dict[str, Any]:
    from aws_lambda_powertools.utilities import parameters

    try:
        value = parameters.get_secret(secret_id, transform="json", max_age=SECRET_CACHE_SECONDS, force_fetch=fresh)
    except parameters.exceptions.TransformParameterError:
        raise CredentialsNotConfigured(f"The seller secret {secret_id!r} is not valid JSON.") from None
    except parameters.exceptions.GetParameterError:
        raise CredentialsNotConfigured(f"The seller secret {secret_id!r} could not be read.") from None
    if not isinstance(value, dict):
        raise CredentialsNotConfigured(f"The seller secret {secret_id!r} is not a JSON object.")
    return value


# --- writing the registry --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorizationRecorded:
    seller: Seller
    first_time: bool  # the seller was not registered before
    was_held: bool  # its authorization had been lost: its held messages may go out now


def record_authorization(
    settings: Settings, seller_id: str, refresh_token: str, *, kind: Kind, at: datetime
) -> AuthorizationRecorded:
    """Store the seller's refresh token in its own secret and mark it authorized from ``at`` for 365 days.

    The secret is written first, the registry item last: a seller is never listed authorized without its token.
    A renewed authorization (the same seller again) replaces the token and the dates and ends a lost
    authorization."""
    check_id(seller_id)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    secret_id = secret_id_of(settings, seller_id)
    _store_secret(
        settings,
        secret_id,
        {"sellingPartnerId": seller_id, "refreshToken": refresh_token, "authorizedAt": iso(at)},
    )
    name = settings.require("workflow_table")
    expires = at + timedelta(days=AUTHORIZATION_DAYS)
    fields = {
        "sellingPartnerId": seller_id,
        "status": AUTHORIZED,
        "kind": kind,
        "authorizedAt": iso(at),
        "authorizationExpiresAt": iso(expires),
        "secretId": secret_id,
    }
    names, values, clauses = table.set_clauses(fields)
    response = table.call(
        name,
        lambda client: client.update_item(
            TableName=name,
            Key=_key(seller_id),
            UpdateExpression="SET "
            + ", ".join(clauses)
            + " REMOVE needsAuthorizationSince, needsAuthorizationReason, warnedDaysLeft",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        ),
    )
    before = table.from_item(response.get("Attributes", {}))
    _directory(name, "ADD", seller_id)
    seller = Seller(seller_id, AUTHORIZED, kind, at, expires, secret_id)
    return AuthorizationRecorded(seller, first_time=not before, was_held=before.get("status") == NEEDS_AUTHORIZATION)


def mark_needs_authorization(
    settings: Settings, seller_id: str, *, reason: str, refused_authorization: str | None, at: datetime
) -> bool:
    """Mark the seller as needing a new authorization; True when this call marked it (once per loss).

    ``refused_authorization``: the ``authorizedAt`` of the refresh token LWA refused. A token of an older
    authorization than the registry's (a container's cache from before a renewal) marks nothing."""
    name = settings.require("workflow_table")
    condition = "#status = :authorized"
    values: dict[str, Any] = {
        ":authorized": {"S": AUTHORIZED},
        ":needs": {"S": NEEDS_AUTHORIZATION},
        ":since": {"S": iso(at)},
        ":reason": {"S": reason},
    }
    if refused_authorization is not None:
        condition += " AND authorizedAt = :refused"
        values[":refused"] = {"S": refused_authorization}
    try:
        table.call(
            name,
            lambda client: client.update_item(
                TableName=name,
                Key=_key(seller_id),
                UpdateExpression="SET #status = :needs, needsAuthorizationSince = :since, "
                "needsAuthorizationReason = :reason",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            ),
        )
    except table.ConditionNotMet:
        return False
    return True


def remove(settings: Settings, seller_id: str) -> bool:
    """Stop serving the seller: out of the directory first (no new request names it), then its item, then its
    secret (Secrets Manager keeps it seven days, then deletes it). False when it was not registered."""
    check_id(seller_id)
    name = settings.require("workflow_table")
    _directory(name, "DELETE", seller_id)
    response = table.call(
        name, lambda client: client.delete_item(TableName=name, Key=_key(seller_id), ReturnValues="ALL_OLD")
    )
    existed = bool(response.get("Attributes"))
    _delete_secret(secret_id_of(settings, seller_id))
    return existed


def _directory(name: str, action: Literal["ADD", "DELETE"], seller_id: str) -> None:
    table.call(
        name,
        lambda client: client.update_item(
            TableName=name,
            Key={"id": {"S": DIRECTORY_ID}},
            UpdateExpression=f"{action} sellers :one",
            ExpressionAttributeValues={":one": {"SS": [seller_id]}},
        ),
    )


# --- the sellers' secrets (Secrets Manager) --------------------------------------------------------------

_secrets_lock = threading.Lock()


@lru_cache(maxsize=1)
def _secrets_client() -> Any:
    import boto3

    with CLIENT_LOCK:
        return boto3.client("secretsmanager")


def reset_client() -> None:
    _secrets_client.cache_clear()


def _store_secret(settings: Settings, secret_id: str, value: Mapping[str, str]) -> None:
    client = _secrets_client()
    text = json.dumps(value)
    with _secrets_lock, _named_secret_errors(secret_id):
        try:
            described = client.describe_secret(SecretId=secret_id)
        except client.exceptions.ResourceNotFoundException:
            options: dict[str, Any] = (
                {"KmsKeyId": settings.seller_secret_kms_key} if settings.seller_secret_kms_key else {}
            )
            client.create_secret(
                Name=secret_id,
                SecretString=text,
                Description="A seller's LWA refresh token (buyer-messaging); written by onboarding only.",
                Tags=[{"Key": "buyer-messaging:seller", "Value": str(value["sellingPartnerId"])}],
                **options,
            )
            return
        if "DeletedDate" in described:
            # Removed less than seven days ago, the secret waits for its deletion: onboarding the seller again
            # brings it back (Secrets Manager refuses to write a secret marked for deletion, or to create its name).
            client.restore_secret(SecretId=secret_id)
        client.put_secret_value(SecretId=secret_id, SecretString=text)


def _delete_secret(secret_id: str) -> None:
    client = _secrets_client()
    # Not found, or already waiting for its deletion (InvalidRequestException): removed already.
    gone = (client.exceptions.ResourceNotFoundException, client.exceptions.InvalidRequestException)
    with _named_secret_errors(secret_id), contextlib.suppress(*gone):
        client.delete_secret(SecretId=secret_id, RecoveryWindowInDays=7)


@contextlib.contextmanager
def _named_secret_errors(secret_id: str) -> Iterator[None]:
    """Secrets Manager's failures as named errors; the token in flight never appears in them."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("AccessDeniedException", "AccessDenied"):
            raise CredentialsNotConfigured(
                f"This function may not write the seller secret {secret_id!r} (AccessDenied): check its IAM "
                "statements (template.yaml, the sellers' secrets)."
            ) from None
        raise SellerSecretUnavailable(f"Secrets Manager failed on the seller secret {secret_id!r} ({code}).") from None
    except BotoCoreError as error:
        raise SellerSecretUnavailable(f"Secrets Manager could not be reached ({type(error).__name__}).") from None
