"""Held, not failed (buyer_messaging.authorization_hold): each step that needs a seller's token answers a hold while
the seller needs authorization, before anything is asked of LWA or Amazon; the wait doubles from 1 to 15 minutes;
the record says held once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import responses

from buyer_messaging import sellers, status
from buyer_messaging.config import get_settings
from buyer_messaging.models import AttachmentTask, MessageRequest, SendRequest, ValidationTask
from buyer_messaging.workflow.create_destination import create_destination
from buyer_messaging.workflow.send_message import send_message
from buyer_messaging.workflow.validate_request import validate_request
from tests import support

SELLER_B = "A3OTHERSELLER"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
EXECUTION_ID = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:held-by-hand"
DOCUMENT = {
    "amazonOrderId": support.ORDER_ID,
    "marketplaceId": support.MARKETPLACE_ID,
    "messageType": "unexpectedProblem",
    "text": "Your parcel is late.",
    "sellingPartnerId": SELLER_B,
}


def _lost_seller() -> None:
    settings = get_settings()
    sellers.record_authorization(settings, SELLER_B, "Atzr|b-token", kind="oauth", at=NOW)
    assert sellers.mark_needs_authorization(
        settings, SELLER_B, reason="LwaInvalidGrant", refused_authorization=None, at=NOW
    )


def test_validation_is_held_with_a_doubling_wait_and_the_record_says_held_once(
    aws: dict[str, Any], http: responses.RequestsMock
) -> None:
    _lost_seller()
    request = MessageRequest.from_dict(DOCUMENT, default_bucket=support.BUCKET)
    state: dict[str, Any] = {"executionId": EXECUTION_ID, "request": request.to_dict()}
    waits = []
    for _ in range(6):
        answer = validate_request(ValidationTask.from_dict(state, default_bucket=support.BUCKET))
        assert set(answer) == {"held"}
        waits.append(answer["held"]["waitSeconds"])
        state = {**state, "state": answer}
    assert waits == [60, 120, 240, 480, 900, 900]
    assert answer["held"]["reason"] == "SellerNeedsAuthorization"
    record = status.get(support.TABLE, "held-by-hand")
    assert record is not None and record["status"] == "received"
    assert record["held"] == {"reason": "SellerNeedsAuthorization", "since": answer["held"]["since"]}
    assert [entry["status"] for entry in record["history"]] == ["received", "held"]
    assert [call.request.url for call in http.calls] == []  # neither LWA nor Amazon was asked


def test_a_destination_and_a_send_are_held_and_nothing_leaves(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    _lost_seller()
    settings = get_settings()
    request = MessageRequest.from_dict(DOCUMENT, default_bucket=support.BUCKET)
    status.received(support.TABLE, EXECUTION_ID, status.Retention(90), summary=status.request_summary(request))
    status.validated(support.TABLE, EXECUTION_ID, {"messageType": "unexpectedProblem"}, [])
    item = {
        "executionId": EXECUTION_ID,
        "index": 0,
        "amazonOrderId": support.ORDER_ID,
        "marketplaceId": support.MARKETPLACE_ID,
        "messageType": "invoice",
        "sellingPartnerId": SELLER_B,
        "attachment": {
            "bucket": support.BUCKET,
            "key": f"sellers/{SELLER_B}/attachments/inv.pdf",
            "fileName": "Invoice.pdf",
            "size": 10,
            "etag": '"abc"',
            "contentType": "application/pdf",
        },
        "hash": {"contentMd5": "1B2M2Y8AsgTpgAmY7PhCfg=="},
    }
    created = create_destination(AttachmentTask.from_dict(item))
    assert created["uploadDestinationId"] is None and created["pacing"] is None
    assert created["held"]["waitSeconds"] == 60
    again = create_destination(AttachmentTask.from_dict({**item, "destination": created}))
    assert again["held"]["waitSeconds"] == 120

    validated = {
        **request.to_dict(),
        "messageType": "unexpectedProblem",
        "operation": "createUnexpectedProblem",
        "attachments": [],
        "uploaded": [],
        "lane": "interactive",
    }
    sent = send_message(SendRequest.from_dict({"executionId": EXECUTION_ID, "request": validated}), lambda_context)
    assert sent["held"]["waitSeconds"] == 60
    first = SendRequest.from_dict({"executionId": EXECUTION_ID, "request": validated})
    assert {key: value for key, value in sent.items() if key != "held"} == first.to_dict()["request"]
    resent = send_message(SendRequest.from_dict({"executionId": EXECUTION_ID, "request": sent}), lambda_context)
    assert resent["held"]["waitSeconds"] == 120
    record = status.get(support.TABLE, "held-by-hand")
    assert record is not None and record["status"] == "uploading" and "sendStartedAt" not in record
    # Held once: the destination's hold; the send's hold found the record held already.
    assert [entry["status"] for entry in record["history"]] == ["received", "validated", "uploading", "held"]
    assert [call.request.url for call in http.calls] == []
    assert settings.authorization_hold_hours == 72.0
