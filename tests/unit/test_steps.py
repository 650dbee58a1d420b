"""The five workflow steps chained by hand, as the state machine chains them, against moto + fake SP-API."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from buyer_messaging import destinations, status
from buyer_messaging.errors import (
    AttachmentNotFound,
    InvalidAttachments,
    InvalidMessageText,
    MessageTypeNotAvailable,
    UnknownMessageType,
)
from buyer_messaging.models import AttachmentTask, MessageRequest, OutcomeTask, SendRequest, ValidationTask
from buyer_messaging.workflow.create_destination import create_destination
from buyer_messaging.workflow.hash_attachment import hash_attachment
from buyer_messaging.workflow.record_outcome import record_outcome
from buyer_messaging.workflow.send_message import send_message
from buyer_messaging.workflow.upload_attachment import upload_attachment
from buyer_messaging.workflow.validate_request import validate_request
from tests import support

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
DESTINATION_ID = "6a2e41d6-8a0b-4b11-9bdf-2f0f5a5e8c11"
UPLOAD_URL = f"https://{support.UPLOAD_HOST}/%2FNinetyDays/amzn1.tortuga.4.na.{DESTINATION_ID}?X-Amz-Signature=abc"
EXECUTION_ID = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:steps-by-hand"
REQUEST_ID = "steps-by-hand"


def _register_spapi(http: responses.RequestsMock, names: list[str]) -> None:
    http.get(
        f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}",
        json=support.actions_body(names),
        headers={"x-amzn-RequestId": "req-actions", "x-amzn-RateLimit-Limit": "1.0"},
    )


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _assert_no_credential(state: Any) -> None:
    """What a step hands on becomes execution history: a presigned URL must never be in it."""
    text = json.dumps(state)
    assert "X-Amz-Signature" not in text
    assert "https://" not in text


def _run_attachment(validated: dict[str, Any], http: responses.RequestsMock) -> dict[str, Any]:
    """The Map item as the state machine builds it: ResultSelector keeps contentMd5 and uploadDestinationId."""
    item = {
        "executionId": EXECUTION_ID,
        "index": 0,
        "amazonOrderId": validated["amazonOrderId"],
        "marketplaceId": validated["marketplaceId"],
        "messageType": validated["messageType"],
        "attachment": validated["attachments"][0],
    }
    item["hash"] = {"contentMd5": hash_attachment(AttachmentTask.from_dict(item))["contentMd5"]}
    created = create_destination(AttachmentTask.from_dict(item))
    assert created == {"uploadDestinationId": DESTINATION_ID, "pacing": None, "held": None}
    item["destination"] = {"uploadDestinationId": created["uploadDestinationId"]}
    _assert_no_credential(item)
    uploaded = upload_attachment(AttachmentTask.from_dict(item))
    _assert_no_credential(uploaded)
    return uploaded


def test_invoice_with_pdf_goes_through_every_step_with_exact_requests(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    aws["s3"].put_object(Bucket=support.BUCKET, Key="attachments/inv-1.pdf", Body=PDF)
    _register_spapi(http, ["sendInvoice", "unexpectedProblem"])
    create = http.post(
        f"{support.ENDPOINT}/uploads/2020-11-01/uploadDestinations/messaging/v1/orders/{support.ORDER_ID}"
        "/messages/invoice",
        json={
            "payload": {
                "uploadDestinationId": DESTINATION_ID,
                "url": UPLOAD_URL,
                "headers": {"Content-MD5": _md5(PDF), "x-amz-server-side-encryption": "aws:kms"},
            }
        },
    )
    put = http.put(UPLOAD_URL, status=200)
    send = http.post(
        f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}/messages/invoice",
        json={},
        status=201,
        headers={"x-amzn-RequestId": "req-send"},
    )

    request = MessageRequest.from_dict(
        {
            "amazonOrderId": support.ORDER_ID,
            "marketplaceId": support.MARKETPLACE_ID,
            "messageType": "sendInvoice",
            "attachments": [{"key": "attachments/inv-1.pdf", "fileName": "Invoice-1.pdf"}],
        },
        default_bucket=support.BUCKET,
    )
    validated = validate_request(ValidationTask(EXECUTION_ID, request))
    assert validated["messageType"] == "invoice"
    assert validated["operation"] == "sendInvoice"
    assert validated["attachments"][0]["size"] == len(PDF)
    assert validated["attachments"][0]["contentType"] == "application/pdf"

    uploaded = _run_attachment(validated, http)
    send_input = {"executionId": EXECUTION_ID, "request": {**validated, "uploaded": [uploaded]}}
    sent = send_message(SendRequest.from_dict(send_input), lambda_context)
    _assert_no_credential(sent)

    # The create step kept the URL and the signed headers in the workflow table, not in the state.
    stored = destinations.load(support.TABLE, DESTINATION_ID)
    assert stored is not None
    assert stored.destination.url == UPLOAD_URL
    assert dict(stored.destination.headers) == {"Content-MD5": _md5(PDF), "x-amz-server-side-encryption": "aws:kms"}
    assert len(create.calls) == 1  # the upload used the stored destination: no second one was created

    # createUploadDestinationForResource: literal slashes in the resource, base64 MD5 of the real bytes.
    create_call = create.calls[0].request
    assert "%2F" not in urlsplit(create_call.url).path
    query = parse_qs(urlsplit(create_call.url).query)
    assert query == {
        "marketplaceIds": [support.MARKETPLACE_ID],
        "contentMD5": [_md5(PDF)],
        "contentType": ["application/pdf"],
    }
    assert create_call.headers["x-amz-access-token"] == "Atza|test-access-token"
    assert create_call.headers["User-Agent"].startswith("BuyerMessagingWorkflow/")
    assert "(Language=Python/3." in create_call.headers["User-Agent"]

    # The PUT: the exact bytes, the signed headers as returned, a Content-Length, no chunking.
    put_call = put.calls[0].request
    body = put_call.body if isinstance(put_call.body, bytes) else b"".join(put_call.body)
    assert body == PDF
    assert put_call.headers["Content-MD5"] == _md5(PDF)
    assert put_call.headers["x-amz-server-side-encryption"] == "aws:kms"
    assert put_call.headers["Content-Length"] == str(len(PDF))
    assert "Transfer-Encoding" not in put_call.headers
    assert "x-amz-access-token" not in put_call.headers

    # The message: the invoice operation's body shape.
    send_call = send.calls[0].request
    assert parse_qs(urlsplit(send_call.url).query) == {"marketplaceIds": [support.MARKETPLACE_ID]}
    assert json.loads(send_call.body) == {
        "attachments": [{"uploadDestinationId": DESTINATION_ID, "fileName": "Invoice-1.pdf"}]
    }
    assert sent["status"] == "sent"
    assert sent["attachments"][0]["contentMd5"] == _md5(PDF)

    # The request's record went through every status, and holds what was sent (never a URL).
    record = status.get(support.TABLE, REQUEST_ID)
    assert record is not None
    _assert_no_credential(record)
    assert [entry["status"] for entry in record["history"]] == ["received", "validated", "uploading", "sent"]
    assert record["status"] == "sent"
    assert record["executionArn"] == EXECUTION_ID
    assert (record["amazonOrderId"], record["marketplaceId"], record["messageType"]) == (
        support.ORDER_ID,
        support.MARKETPLACE_ID,
        "invoice",
    )
    assert record["amazonRequestId"] == "req-send"
    (attachment,) = record["attachments"]
    assert attachment["fileName"] == "Invoice-1.pdf"
    assert attachment["size"] == len(PDF)
    assert attachment["contentMd5"] == _md5(PDF)
    assert attachment["uploadDestinationId"] == DESTINATION_ID
    assert record["receivedAt"] <= record["validatedAt"] <= record["uploadingAt"] <= attachment["uploadedAt"]
    assert attachment["uploadedAt"] <= record["sentAt"]

    # The last step tags the staged file with the outcome.
    recorded = record_outcome(OutcomeTask.from_dict({"executionId": EXECUTION_ID, "outcome": "sent"}))
    assert recorded["status"] == "sent"
    assert recorded["objectsTagged"] == 1
    assert recorded["eventId"]
    tags = aws["s3"].get_object_tagging(Bucket=support.BUCKET, Key="attachments/inv-1.pdf")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {
        "buyer-messaging:outcome": "sent",
        "buyer-messaging:request-id": REQUEST_ID,
    }


def test_text_message_needs_no_upload(aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any) -> None:
    _register_spapi(http, ["unexpectedProblem"])
    send = http.post(
        f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}/messages/unexpectedProblem", json={}, status=201
    )
    request = MessageRequest.from_dict(
        support.load_event("statemachine/unexpectedProblem-text-only.json"), default_bucket=support.BUCKET
    )
    validated = validate_request(ValidationTask(EXECUTION_ID, request))
    assert validated["attachments"] == []
    sent = send_message(SendRequest.from_dict({"executionId": EXECUTION_ID, "request": validated}), lambda_context)
    assert json.loads(send.calls[0].request.body) == {"text": request.text}
    assert sent["attachments"] == []
    # No destination was created, so the table holds the request's status, the send step's record and the
    # pacer's items of the two operations called.
    items = aws["dynamodb"].scan(TableName=support.TABLE)["Items"]
    paces = sorted(item["operation"]["S"] for item in items if item["id"]["S"].startswith("pace#"))
    assert paces == ["createUnexpectedProblem", "getMessagingActionsForOrder"]
    items = [item for item in items if not item["id"]["S"].startswith("pace#")]
    by_kind = {item["id"]["S"].split("#", 1)[0]: item for item in items}
    assert len(items) == 2
    assert by_kind["request"]["status"] == {"S": "sent"}
    (idempotency_record,) = [item for key, item in by_kind.items() if key != "request"]
    assert idempotency_record["status"] == {"S": "COMPLETED"}


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"messageType": "sendPostcard"}, UnknownMessageType),
        ({"messageType": "warranty"}, MessageTypeNotAvailable),
        ({"messageType": "unexpectedProblem", "text": "x" * 2001, "attachments": []}, InvalidMessageText),
        (
            {"attachments": [{"key": "attachments/inv-1.pdf", "fileName": f"Invoice-{i}.pdf"} for i in range(6)]},
            InvalidAttachments,
        ),
        ({"attachments": [{"key": "attachments/missing.pdf"}]}, AttachmentNotFound),
        ({"attachments": [{"key": "attachments/empty.pdf"}]}, InvalidAttachments),
        ({"attachments": [{"key": "attachments/inv-1.pdf", "fileName": "invoice.exe"}]}, InvalidAttachments),
    ],
)
def test_bad_requests_fail_before_any_upload_or_send(
    aws: dict[str, Any], http: responses.RequestsMock, document: dict[str, Any], error: type[Exception]
) -> None:
    aws["s3"].put_object(Bucket=support.BUCKET, Key="attachments/inv-1.pdf", Body=PDF)
    aws["s3"].put_object(Bucket=support.BUCKET, Key="attachments/empty.pdf", Body=b"")
    _register_spapi(http, ["sendInvoice", "unexpectedProblem"])
    full = {
        "amazonOrderId": support.ORDER_ID,
        "marketplaceId": support.MARKETPLACE_ID,
        "messageType": "invoice",
        **document,
    }
    with pytest.raises(error) as raised:
        validate_request(ValidationTask(EXECUTION_ID, MessageRequest.from_dict(full, default_bucket=support.BUCKET)))
    assert str(raised.value)
    record = status.get(support.TABLE, REQUEST_ID)
    assert record is not None
    assert record["status"] == "received"

    # The failure path records it: the record says why, the staged files are tagged and kept.
    failure = {"error": type(raised.value).__name__, "cause": str(raised.value)}
    task = OutcomeTask.from_dict({"executionId": EXECUTION_ID, "outcome": "failed", "failure": failure, "input": full})
    recorded = record_outcome(task)
    assert recorded["status"] == "failed"
    record = status.get(support.TABLE, REQUEST_ID)
    assert record is not None
    assert (record["status"], record["error"], record["cause"]) == ("failed", failure["error"], failure["cause"])
    assert [entry["status"] for entry in record["history"]] == ["received", "failed"]
    staged_in_request = {a["key"] for a in full.get("attachments", [])} & {
        "attachments/inv-1.pdf",
        "attachments/empty.pdf",
    }
    assert recorded["objectsTagged"] == len(staged_in_request)
    for key in staged_in_request:
        tags = aws["s3"].get_object_tagging(Bucket=support.BUCKET, Key=key)["TagSet"]
        assert {t["Key"]: t["Value"] for t in tags} == {
            "buyer-messaging:outcome": "failed",
            "buyer-messaging:request-id": REQUEST_ID,
            "buyer-messaging:error": failure["error"],
        }
    sent_or_uploaded = [
        c
        for c in http.calls
        if "/uploads/" in c.request.url or c.request.method in ("PUT",) or "/messages/" in c.request.url
    ]
    assert sent_or_uploaded == []
    # Nothing staged was deleted.
    keys = {o["Key"] for o in aws["s3"].list_objects_v2(Bucket=support.BUCKET)["Contents"]}
    assert keys == {"attachments/inv-1.pdf", "attachments/empty.pdf"}
