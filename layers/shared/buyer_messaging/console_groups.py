"""The console user pool's group of each seller, ``seller-{sellingPartnerId}`` (buyer_messaging.access reads a user's
groups): onboarding creates it when a seller is authorized; the operator adds console users to it
(``make seller ARGS="grant EMAIL ID"``). A deployment without a user pool (the local stack) has no groups."""

from __future__ import annotations

from functools import cache
from typing import Any

from buyer_messaging.access import group_name
from buyer_messaging.aws_clients import CLIENT_LOCK
from buyer_messaging.observability import logger


@cache
def _client() -> Any:
    import boto3

    with CLIENT_LOCK:
        return boto3.client("cognito-idp")


def ensure_group(user_pool_id: str | None, seller_id: str) -> bool:
    """Create the seller's group in the console's user pool; False when there is no pool or the group exists.
    A failure is logged, not raised: the seller's authorization is stored already, and the next authorization or
    ``make seller ARGS="grant …"`` creates the group."""
    if not user_pool_id:
        return False
    from botocore.exceptions import BotoCoreError, ClientError

    description = f"Console users who act for seller {seller_id}."
    try:
        _client().create_group(GroupName=group_name(seller_id), UserPoolId=user_pool_id, Description=description)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "GroupExistsException":
            return False
        logger.error("Seller group not created", extra={"seller": seller_id, "error": type(error).__name__})
        return False
    except BotoCoreError as error:
        logger.error("Seller group not created", extra={"seller": seller_id, "error": type(error).__name__})
        return False
    logger.info("Seller group created", extra={"seller": seller_id})
    return True
