"""Who is asking, and for which sellers they may act: the one place the API's isolation is decided.

- The IAM API (MachineApi, SigV4) is the operator's: every seller of the deployment.
- The console API (ConsoleApi) hands the function the claims of the user pool's JWT: a console user acts only for
  the sellers of their groups named ``seller-{sellingPartnerId}`` (``cognito:groups``). A user in no such group may
  do nothing, except in a deployment that was never told any seller (it works as before sellers were named).
- The local server without authentication is the operator, as the IAM API.

What another seller's is answers exactly as what does not exist (the routes by id, the staged files): whether a
thing of another seller exists is not the caller's to learn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from buyer_messaging import seller_scope, sellers
from buyer_messaging.config import Settings
from buyer_messaging.errors import SellerNotPermitted, SellerRequired
from buyer_messaging.fields import SELLING_PARTNER_ID_PATTERN

GROUP_PREFIX = "seller-"
GROUPS_CLAIM = "cognito:groups"
SELLER_FIELD = seller_scope.SELLER_FIELD
LOCAL_IDENTITY = "local"


def group_name(seller_id: str) -> str:
    """The user pool group whose members act for ``seller_id`` (the onboarding creates it)."""
    return f"{GROUP_PREFIX}{seller_id}"


def claim_values(value: object) -> tuple[str, ...]:
    """The values of an array claim as the function receives it. API Gateway's HTTP API JWT authorizer hands an
    array claim over flattened to one string, ``"[seller-A seller-B]"`` (reported against real API Gateway:
    aws-solutions-library-samples/guidance-for-claude-code-with-amazon-bedrock#802, floci-io/floci#2011); a
    JSON array (a test, another authorizer) and a single bare value are read too."""
    if isinstance(value, list | tuple):
        return tuple(str(item) for item in value if str(item))
    if not isinstance(value, str):
        return ()
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return tuple(part for part in text.replace(",", " ").split() if part)


def sellers_of_groups(groups: tuple[str, ...]) -> frozenset[str]:
    """The sellers a user's groups name (other groups, and ones whose id is no selling partner id, name none)."""
    found = (group[len(GROUP_PREFIX) :] for group in groups if group.startswith(GROUP_PREFIX))
    return frozenset(seller for seller in found if SELLING_PARTNER_ID_PATTERN.fullmatch(seller))


@dataclass(frozen=True, slots=True)
class Caller:
    """``identity`` scopes idempotency keys; ``sellers`` None is the operator (every seller), else the sellers the
    caller acts for (``None`` among them: the one seller of a deployment never told its id)."""

    identity: str
    sellers: frozenset[str | None] | None = None

    @property
    def is_operator(self) -> bool:
        return self.sellers is None

    def may_see(self, record: Mapping[str, Any] | None) -> bool:
        """Whether a record (status record, campaign record) is of one of the caller's sellers."""
        return self.sellers is None or (record is not None and seller_scope.owner(record) in self.sellers)

    def seller(self, settings: Settings, requested: str | None) -> str | None:
        """The seller a request is for (the body's or the query's ``sellingPartnerId``): the operator's resolved
        among the deployment's sellers; a console user's must be one of theirs (SellerNotPermitted, the same
        answer whether that seller exists or not); not named, the user's only seller (else SellerRequired)."""
        if self.sellers is None:
            return sellers.resolve(settings, requested)
        if requested is not None:
            self.permit(requested)
            return sellers.resolve(settings, requested)
        if len(self.sellers) > 1:
            message = f"You act for {len(self.sellers)} sellers: say which one the request is for in {SELLER_FIELD}."
            raise SellerRequired(message, problems=((SELLER_FIELD, message),))
        (only,) = self.sellers
        resolved = sellers.resolve(settings, only)
        if resolved != only:  # the deployment was told of a seller since this request began
            raise not_permitted(None)
        return resolved

    def permit(self, seller: str) -> None:
        """SellerNotPermitted unless the caller acts for ``seller`` (whether it exists or not)."""
        if self.sellers is not None and seller not in self.sellers:
            raise not_permitted(seller)

    def named(self) -> tuple[str, ...]:
        """The caller's sellers by id (the operator's: none named here, it acts for all)."""
        return tuple(sorted(seller for seller in self.sellers or () if seller is not None))


OPERATOR = Caller(LOCAL_IDENTITY)


def not_permitted(seller: str | None) -> SellerNotPermitted:
    if seller is None:
        message = (
            "You act for no seller of this deployment: the operator adds you to a seller's group "
            '(make seller ARGS="grant EMAIL SELLING_PARTNER_ID").'
        )
    else:
        message = f"You may not act for seller {seller}."
    return SellerNotPermitted(message, problems=((SELLER_FIELD, message),))


def from_authorizer(authorizer: Mapping[str, Any] | None, settings: Settings) -> Caller:
    """The caller of one request from API Gateway's ``requestContext.authorizer`` (payload 2.0): ``iam`` → the
    operator; ``jwt.claims`` → a console user (SellerNotPermitted when they act for no seller); none → the local
    server's operator."""
    authorizer = authorizer or {}
    iam = authorizer.get("iam")
    if isinstance(iam, Mapping) and (iam.get("userArn") or iam.get("callerId")):
        return Caller(str(iam.get("userArn") or iam.get("callerId")))
    jwt = authorizer.get("jwt")
    claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    if not isinstance(claims, Mapping):
        return OPERATOR
    identity = f"cognito:{claims.get('sub')}"
    named = sellers_of_groups(claim_values(claims.get(GROUPS_CLAIM)))
    if named:
        return Caller(identity, frozenset[str | None](named))
    if not sellers.deployment_sellers(settings):
        return Caller(identity, frozenset({None}))  # a deployment never told its seller: as before sellers
    raise not_permitted(None)


def sellers_view(caller: Caller, settings: Settings, now: datetime) -> dict[str, Any]:
    """GET /sellers of the console: the caller's sellers (the operator's: every seller of the deployment), each
    with its status, when its authorization ends and the whole days left (the console's banners), never a secret.
    The legacy seller (SELLING_PARTNER_ID, its token in the application's secret) has no authorization date. One
    GetItem per seller (SellerRegistryReadPolicy grants the API function no more)."""
    ids = sellers.deployment_sellers(settings) if caller.is_operator else caller.named()
    shown = []
    for seller_id in ids:
        seller = sellers.get(settings, seller_id)
        if seller is not None:
            shown.append({**seller.to_dict(), "daysLeft": seller.days_left(now)})
        elif seller_id == settings.selling_partner_id:
            shown.append({"sellingPartnerId": seller_id, "status": sellers.AUTHORIZED, "kind": "self"})
    return {"sellers": shown}
