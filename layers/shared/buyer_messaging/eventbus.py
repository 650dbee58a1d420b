"""The EventBridge adapter: MessageSent / MessageFailed / MessageOutcomeUnknown on the seller's bus, for their
own integrations, and CampaignCompleted when a campaign's run ends with its report.

MessageOutcomeUnknown (a send that left without an answer, SendOutcomeUnknown) has its own detail-type so that a
rule that sends failed messages again never matches a message the buyer may already have.

CampaignCompleted's detail is the campaign's counts and its report's object (campaigns.records.completed_detail):
no order id and no message text; the report CSV has the rows.

Rules match ``{"source": ["buyer-messaging"], "detail-type": ["MessageSent"]}``. Delivery is at least
once (EventBridge's own guarantee, and a retried step may publish again): consumers dedupe on
``detail.requestId`` + ``detail-type`` (CampaignCompleted: ``detail.campaignId`` + ``detail.run``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from buyer_messaging.aws_clients import CLIENT_LOCK
from buyer_messaging.errors import ConfigurationError, EventBusUnavailable

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

EVENT_SOURCE = "buyer-messaging"
MESSAGE_SENT = "MessageSent"
MESSAGE_FAILED = "MessageFailed"
MESSAGE_OUTCOME_UNKNOWN = "MessageOutcomeUnknown"
CAMPAIGN_COMPLETED = "CampaignCompleted"
# A seller's authorization (buyer_messaging.onboarding): its detail is Seller.to_dict(), never a token.
SELLER_AUTHORIZED = "SellerAuthorized"
SELLER_REMOVED = "SellerRemoved"
SELLER_AUTHORIZATION_EXPIRING = "SellerAuthorizationExpiring"
# LWA refused a seller's refresh token (buyer_messaging.authorization_hold): once per loss, detail
# {sellingPartnerId, since, reason}. Its messages are held until the seller authorizes again (SellerAuthorized).
SELLER_AUTHORIZATION_LOST = "SellerAuthorizationLost"


@lru_cache(maxsize=1)
def _client() -> EventBridgeClient:
    import boto3

    with CLIENT_LOCK:
        return boto3.client("events")


def reset_client() -> None:
    _client.cache_clear()


def publish(bus: str, detail_type: str, detail: Mapping[str, Any], resources: Sequence[str] = ()) -> str:
    """Put one event on ``bus``; returns its EventBridge id."""
    from botocore.exceptions import BotoCoreError, ClientError

    entry = {
        "Source": EVENT_SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":")),
        "EventBusName": bus,
        "Resources": list(resources),
    }
    try:
        response = _client().put_events(Entries=[entry])  # type: ignore[list-item]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in {"AccessDeniedException", "ResourceNotFoundException"}:
            raise ConfigurationError(f"EventBridge refused the {detail_type} event on bus {bus!r} ({code}).") from None
        raise EventBusUnavailable(f"EventBridge failed to take the {detail_type} event ({code}).") from None
    except BotoCoreError as error:
        raise EventBusUnavailable(
            f"EventBridge could not be reached for the {detail_type} event ({type(error).__name__})."
        ) from None
    result = response["Entries"][0] if response.get("Entries") else {}
    if response.get("FailedEntryCount") or "EventId" not in result:
        code = result.get("ErrorCode", "unknown")
        raise EventBusUnavailable(f"EventBridge did not take the {detail_type} event ({code}).")
    return str(result["EventId"])
