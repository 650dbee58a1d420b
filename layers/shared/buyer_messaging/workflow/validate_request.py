"""The ``ValidateRequest`` state: what Amazon allows for the order now, and the request checked against it and
against the staged files before anything is uploaded. The HTTP API makes the same check before it starts the
state machine (:func:`check_request`)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from buyer_messaging import authorization_hold, catalog, messaging, seller_scope, status, storage, turns, validation
from buyer_messaging.config import get_settings
from buyer_messaging.errors import SellerNeedsAuthorization
from buyer_messaging.models import MessageRequest, ValidatedRequest, ValidationTask
from buyer_messaging.observability import logger, metrics
from buyer_messaging.spapi import seller_client


def check_request(request: MessageRequest) -> ValidatedRequest:
    """The request checked against what Amazon allows for the order now and against the staged files:
    the one check both the first state and the HTTP API make."""
    message_type = catalog.message_type(request.message_type)
    validation.check_marketplace(request.marketplace_id, get_settings().spapi_region)
    staged = [
        validation.StagedObject(size=info.size, etag=info.etag)
        for info in (storage.head_object(ref.bucket, ref.key) for ref in request.attachments)
    ]
    client = seller_client(request.selling_partner_id)
    actions = messaging.get_messaging_actions(client, request.amazon_order_id, request.marketplace_id)
    action = validation.resolve_action(message_type, actions, request.amazon_order_id)
    return validation.validate(request, action, staged)


def validate_request(task: ValidationTask) -> dict[str, Any]:
    """getMessagingActionsForOrder, then the request checked against the order's schema and staged files.
    ``{"pacing": ...}`` instead when the call's turn in Amazon's quota is later, ``{"held": ...}`` while the seller
    needs authorization (the machine waits for either, then runs this step again)."""
    settings = get_settings()
    table = settings.require("workflow_table")
    request = task.request
    if request.selling_partner_id is None:
        # Started by hand (the Step Functions console) with a document that names no seller: resolved here as
        # every entry does, so a deployment of several sellers refuses it (SellerRequired) before Amazon is asked.
        request = seller_scope.for_request(settings, request)
    else:
        seller_scope.check_attachments(request)
    if task.pacing is None:  # back from waiting for its turn, the record exists
        status.received(
            table,
            task.execution_id,
            status.Retention(settings.status_retention_days),
            summary=status.request_summary(request),
        )
    taker = turns.Taker(
        task.execution_id,
        turns.Pacing.from_state(task.pacing),
        task.retry_count,
        request.lane,
        seller=request.selling_partner_id,
    )
    try:
        with turns.taking(taker):
            validated = check_request(request)
    except turns.TurnLater as later:
        return {"pacing": later.pacing.to_dict()}
    except SellerNeedsAuthorization as lost:
        previous = authorization_hold.Hold.from_state(task.held)
        return {"held": authorization_hold.hold(settings, task.execution_id, previous, lost).to_dict()}
    status.validated(
        table,
        task.execution_id,
        {"messageType": validated.message_type, "operation": validated.operation},
        [
            {
                "fileName": attachment.file_name,
                "bucket": attachment.bucket,
                "key": attachment.key,
                "size": attachment.size,
                "contentType": attachment.content_type,
            }
            for attachment in validated.attachments
        ],
    )
    metrics.add_metric(name="RequestsValidated", unit=MetricUnit.Count, value=1)
    logger.info(
        "Request validated",
        extra={
            "message_type": validated.message_type,
            "attachments": len(validated.attachments),
            "total_bytes": sum(a.size for a in validated.attachments),
        },
    )
    return validated.to_dict()
