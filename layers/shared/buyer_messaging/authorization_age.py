"""Sellers' authorizations age: Amazon makes a seller authorize a public application again every 365 days (SP-API
docs "Renew Authorizations"). The daily check (OnboardSellerFunction's schedule) warns before an authorization
lapses: ``SellerAuthorizationExpiring`` once per threshold (30, 14, 7 and 1 days left), and the fewest days left
of any seller as a metric for the alarm (SellerAuthorizationAlarm, docs/runbook.md).

Once per threshold: the seller's item remembers the last threshold warned (``warnedDaysLeft``), written with a
condition, so a check run twice in a day (a retry, a second schedule) warns once. A renewal
(sellers.record_authorization) forgets it, and the next year warns again. The check is on the same function as
onboarding: it reads and writes the same items (seller#) and puts events on the same bus, so it needs no grant
the function lacks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from buyer_messaging import eventbus, sellers, table
from buyer_messaging.config import Settings
from buyer_messaging.observability import logger, metrics

THRESHOLDS = (30, 14, 7, 1)
DAYS_LEFT_METRIC = "SellerAuthorizationDaysLeft"


def threshold_reached(days_left: int) -> int | None:
    """The tightest threshold ``days_left`` is at or under (1 for a lapsed one), or None above 30 days."""
    reached = [threshold for threshold in THRESHOLDS if days_left <= threshold]
    return min(reached) if reached else None


def check(settings: Settings, now: datetime) -> dict[str, Any]:
    """Warn every authorized seller whose authorization reached a threshold not warned yet; the fewest days left."""
    warned: list[dict[str, Any]] = []
    fewest: int | None = None
    for seller in sellers.all_sellers(settings):
        if seller.status != sellers.AUTHORIZED:
            continue  # already lost: the seller has to authorize again, which a warning cannot add to
        days_left = seller.days_left(now)
        fewest = days_left if fewest is None else min(fewest, days_left)
        threshold = threshold_reached(days_left)
        if threshold is not None and _remember(settings, seller, threshold):
            detail = {
                "sellingPartnerId": seller.selling_partner_id,
                "authorizationExpiresAt": sellers.iso(seller.authorization_expires_at),
                "daysLeft": days_left,
            }
            eventbus.publish(settings.event_bus_name, eventbus.SELLER_AUTHORIZATION_EXPIRING, detail)
            logger.info("A seller's authorization nears its end", extra=detail)
            warned.append(detail)
    if fewest is not None:
        metrics.add_metric(name=DAYS_LEFT_METRIC, unit=MetricUnit.Count, value=fewest)
    return {"warned": warned, "fewestDaysLeft": fewest}


def _remember(settings: Settings, seller: sellers.Seller, threshold: int) -> bool:
    """Record ``threshold`` as warned for this authorization; False when it (or a tighter one) was already."""
    name = settings.require("workflow_table")
    try:
        table.call(
            name,
            lambda client: client.update_item(
                TableName=name,
                Key={"id": {"S": sellers.SELLER_FAMILY + seller.selling_partner_id}},
                UpdateExpression="SET warnedDaysLeft = :threshold",
                ConditionExpression="authorizedAt = :authorized AND "
                "(attribute_not_exists(warnedDaysLeft) OR warnedDaysLeft > :threshold)",
                ExpressionAttributeValues={
                    ":threshold": {"N": str(threshold)},
                    ":authorized": {"S": sellers.iso(seller.authorized_at)},
                },
            ),
        )
    except table.ConditionNotMet:
        return False
    return True
