"""The ``SendMessage`` state: the message type's operation; Amazon emails the buyer on 201. At most once per
execution (:mod:`buyer_messaging.idempotency`), and never again after an attempt that got no answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from buyer_messaging import authorization_hold, catalog, idempotency, messaging, status, turns
from buyer_messaging.config import get_settings
from buyer_messaging.emf import emit
from buyer_messaging.errors import BuyerMessagingError, InvalidRequest, SellerNeedsAuthorization, SendOutcomeUnknown
from buyer_messaging.models import SendRequest, SentMessage
from buyer_messaging.observability import logger
from buyer_messaging.spapi import seller_client


def send_message(send: SendRequest, lambda_context: Any | None = None) -> dict[str, Any]:
    """The message type's operation, at most once per execution (see buyer_messaging.idempotency)."""
    request = send.request
    message_type = catalog.message_type(request.message_type)
    expected = sorted(a.key for a in request.attachments)
    uploaded_keys = sorted(u.key for u in send.uploaded)
    if expected != uploaded_keys:
        missing = ", ".join(sorted(set(expected) - set(uploaded_keys))) or "none"
        raise InvalidRequest(f"Not every attachment was uploaded (missing: {missing}); the message was not sent.")
    body = messaging.build_message_body(
        message_type,
        text=request.text,
        attachments=[(u.upload_destination_id, u.file_name) for u in send.uploaded],
        coverage_start_date=request.coverage_start_date,
        coverage_end_date=request.coverage_end_date,
    )

    table = get_settings().require("workflow_table")

    def deliver() -> dict[str, Any]:
        if not status.send_started(table, send.execution_id):
            _refuse_after_an_unknown_outcome(table, send.execution_id)
        try:
            amazon_request_id = messaging.send_message(
                seller_client(request.selling_partner_id),
                message_type,
                request.amazon_order_id,
                request.marketplace_id,
                body,
            )
        except SendOutcomeUnknown:
            raise
        except (BuyerMessagingError, turns.TurnLater):
            # Amazon answered (429, 5xx, 4xx), the call never left, or its turn is later (the pacer let nothing
            # leave): nothing was sent, a later attempt may send.
            status.send_answered(table, send.execution_id)
            raise
        emit("MessagesSent", 1, MessageType=message_type.path)
        logger.info("Message sent", extra={"message_type": message_type.path, "amazon_request_id": amazon_request_id})
        return SentMessage(
            amazon_order_id=request.amazon_order_id,
            marketplace_id=request.marketplace_id,
            message_type=message_type.path,
            operation=message_type.operation,
            attachments=send.uploaded,
            sent_at=datetime.now(UTC).isoformat(timespec="seconds"),
            amazon_request_id=amazon_request_id,
        ).to_dict()

    digest = idempotency.fingerprint(request.amazon_order_id, request.marketplace_id, message_type.path, body)
    taker = turns.Taker(
        send.execution_id,
        turns.Pacing.from_state(send.pacing),
        send.retry_count,
        request.lane,
        seller=request.selling_partner_id,
    )
    try:
        with turns.taking(taker):
            result = idempotency.once(table, send.execution_id, digest, deliver, lambda_context)
    except turns.TurnLater as later:
        # Nothing was sent (the idempotency record of the attempt is gone with the exception). The state as
        # it came, with the turn: the machine waits for it and runs this step again.
        return {**send.to_dict()["request"], "pacing": later.pacing.to_dict()}
    except SellerNeedsAuthorization as lost:
        # Raised before the request could leave (no token to send it with): nothing was sent. A send that left
        # without an answer is SendOutcomeUnknown, never a hold.
        held = authorization_hold.hold(
            get_settings(), send.execution_id, authorization_hold.Hold.from_state(send.held), lost
        )
        return {**send.to_dict()["request"], "held": held.to_dict()}
    # After the idempotent call, so a retry that is answered from the idempotency record marks it too.
    status.sent(table, send.execution_id, {"amazonRequestId": result.get("amazonRequestId")})
    return result


def _refuse_after_an_unknown_outcome(table: str, execution_id: str) -> None:
    """A retry or a redrive after an attempt that ended without Amazon's answer (killed mid-send: its idempotency
    record expired with it) must not send a second time."""
    record = status.get(table, status.request_id_of(execution_id)) or {}
    if record.get("status") == status.Status.UNKNOWN or record.get("sendStartedAt"):
        raise SendOutcomeUnknown(
            f"An earlier attempt sent this message at {record.get('sendStartedAt') or record.get('unknownAt')} and"
            " got no answer, so Amazon may have delivered it to the buyer. It was not sent again: look at the"
            " order's messages in Seller Central before sending it again."
        )
