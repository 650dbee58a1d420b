"""The status record: forward-only transitions, sent is final, and nothing secret in it (moto DynamoDB)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from buyer_messaging import status, storage, table
from buyer_messaging.config import Settings
from buyer_messaging.errors import ConfigurationError, WorkflowTableUnavailable
from buyer_messaging.models import MessageRequest
from tests import support

ARN = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:order-invoice-0123"
RETENTION = status.Retention(days=90)
SUMMARY = {"amazonOrderId": support.ORDER_ID, "marketplaceId": support.MARKETPLACE_ID, "messageType": "sendInvoice"}
ATTACHMENTS = [
    {
        "fileName": "A.pdf",
        "bucket": support.BUCKET,
        "key": "attachments/a.pdf",
        "size": 10,
        "contentType": "application/pdf",
    },
    {
        "fileName": "B.pdf",
        "bucket": support.BUCKET,
        "key": "attachments/b.pdf",
        "size": 20,
        "contentType": "application/pdf",
    },
]


def _record() -> dict[str, Any]:
    record = status.get(support.TABLE, "order-invoice-0123")
    assert record is not None
    return record


def _statuses() -> list[str]:
    return [entry["status"] for entry in _record()["history"]]


def test_the_request_id_is_the_execution_name() -> None:
    assert status.request_id_of(ARN) == "order-invoice-0123"


def test_a_request_goes_through_every_status_in_order(aws: dict[str, Any]) -> None:
    before = time.time()
    assert status.received(support.TABLE, ARN, RETENTION, summary=SUMMARY)
    assert status.validated(support.TABLE, ARN, {"messageType": "invoice", "operation": "sendInvoice"}, ATTACHMENTS)
    assert status.uploading(support.TABLE, ARN)
    assert status.attachment_uploaded(support.TABLE, ARN, 1, {"contentMd5": "md5-b", "uploadDestinationId": "d-b"})
    assert status.attachment_uploaded(support.TABLE, ARN, 0, {"contentMd5": "md5-a", "uploadDestinationId": "d-a"})
    assert status.sent(support.TABLE, ARN, {"amazonRequestId": "req-1"})

    record = _record()
    assert _statuses() == ["received", "validated", "uploading", "sent"]
    assert record["status"] == "sent"
    assert record["messageType"] == "invoice"  # canonical once validated
    assert record["amazonRequestId"] == "req-1"
    assert [(a["fileName"], a["contentMd5"], a["uploadDestinationId"]) for a in record["attachments"]] == [
        ("A.pdf", "md5-a", "d-a"),
        ("B.pdf", "md5-b", "d-b"),
    ]
    assert record["receivedAt"] <= record["validatedAt"] <= record["uploadingAt"] <= record["sentAt"]
    assert record["updatedAt"] == record["sentAt"]
    # TTL: the raw item expires after the retention period.
    item = aws["dynamodb"].get_item(TableName=support.TABLE, Key={"id": {"S": "request#order-invoice-0123"}})["Item"]
    expiration = int(item["expiration"]["N"])
    assert before + 90 * 86_400 - 1 <= expiration <= time.time() + 90 * 86_400 + 1


def test_repeated_steps_do_not_move_the_record_or_repeat_history(aws: dict[str, Any]) -> None:
    status.received(support.TABLE, ARN, RETENTION, summary=SUMMARY)
    assert not status.received(support.TABLE, ARN, RETENTION, summary=SUMMARY)
    status.validated(support.TABLE, ARN, {}, ATTACHMENTS)
    assert not status.validated(support.TABLE, ARN, {}, ATTACHMENTS)  # a retried validation
    status.uploading(support.TABLE, ARN)
    assert not status.uploading(support.TABLE, ARN)  # the second attachment's destination
    assert _statuses() == ["received", "validated", "uploading"]


def test_sent_is_final(aws: dict[str, Any]) -> None:
    status.received(support.TABLE, ARN, RETENTION, summary=SUMMARY)
    status.validated(support.TABLE, ARN, {}, [])
    status.sent(support.TABLE, ARN, {})
    assert not status.failed(support.TABLE, ARN, RETENTION, "States.Timeout", "late")
    assert not status.sent(support.TABLE, ARN, {})
    assert not status.attachment_uploaded(support.TABLE, ARN, 0, {"contentMd5": "x"})
    assert not status.validated(support.TABLE, ARN, {}, [])
    record = _record()
    assert record["status"] == "sent"
    assert "error" not in record
    assert _statuses() == ["received", "validated", "sent"]


def test_failed_is_final_too(aws: dict[str, Any]) -> None:
    status.received(support.TABLE, ARN, RETENTION, summary=SUMMARY)
    assert status.failed(support.TABLE, ARN, RETENTION, "MessageTypeNotAvailable", "Amazon does not allow it.")
    assert not status.validated(support.TABLE, ARN, {}, [])
    assert not status.sent(support.TABLE, ARN, {})
    assert not status.failed(support.TABLE, ARN, RETENTION, "Other", "second failure")
    record = _record()
    assert (record["status"], record["error"], record["cause"]) == (
        "failed",
        "MessageTypeNotAvailable",
        "Amazon does not allow it.",
    )


def test_a_failure_before_any_record_creates_one(aws: dict[str, Any]) -> None:
    assert status.failed(support.TABLE, ARN, RETENTION, "InvalidRequest", "not a request", summary={})
    record = _record()
    assert _statuses() == ["received", "failed"]
    assert "amazonOrderId" not in record  # absent, not empty: the order index skips it


def test_an_attachment_outside_the_list_or_before_uploading_is_not_recorded(aws: dict[str, Any]) -> None:
    status.received(support.TABLE, ARN, RETENTION, summary=SUMMARY)
    status.validated(support.TABLE, ARN, {}, ATTACHMENTS)
    assert not status.attachment_uploaded(support.TABLE, ARN, 0, {"contentMd5": "x"})  # not uploading yet
    status.uploading(support.TABLE, ARN)
    assert not status.attachment_uploaded(support.TABLE, ARN, 2, {"contentMd5": "x"})  # only two attachments
    with pytest.raises(ValueError, match="negative"):
        status.attachment_uploaded(support.TABLE, ARN, -1, {"contentMd5": "x"})
    assert all("contentMd5" not in a for a in _record()["attachments"])


def test_the_source_object_is_added_to_a_record_the_first_step_already_created(aws: dict[str, Any]) -> None:
    status.received(support.TABLE, ARN, RETENTION, summary=SUMMARY)  # the first step was quicker
    source = storage.ObjectVersion(support.BUCKET, "outbox/a/b/invoice/A.pdf", "v1")
    assert not status.received(support.TABLE, ARN, RETENTION, summary=SUMMARY, origin="s3", source=source)
    record = _record()
    assert record["origin"] == "s3"
    assert record["source"] == {"bucket": support.BUCKET, "key": "outbox/a/b/invoice/A.pdf", "versionId": "v1"}
    assert _statuses() == ["received"]


def test_an_orders_requests_newest_first(aws: dict[str, Any]) -> None:
    now = time.time()
    for offset, name in enumerate(["first", "second", "third"]):
        arn = ARN.rsplit(":", 1)[0] + ":" + name
        status.received(support.TABLE, arn, RETENTION, summary=SUMMARY, now=now + offset)
    other = {**SUMMARY, "amazonOrderId": "114-3941689-8772232"}
    status.received(support.TABLE, ARN.rsplit(":", 1)[0] + ":other", RETENTION, summary=other)
    assert [r["requestId"] for r in status.for_order(support.TABLE, support.ORDER_ID)] == ["third", "second", "first"]
    assert [r["requestId"] for r in status.for_order(support.TABLE, support.ORDER_ID, limit=1)] == ["third"]


def test_an_unknown_request_has_no_record(aws: dict[str, Any]) -> None:
    assert status.get(support.TABLE, "never-started") is None


def test_dynamodb_failures_are_named(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    def throttled(**_: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "UpdateItem"
        )

    monkeypatch.setattr(table.client(), "update_item", throttled)
    with pytest.raises(WorkflowTableUnavailable):
        status.received(support.TABLE, ARN, RETENTION, summary=SUMMARY)
    with pytest.raises(ConfigurationError, match="WORKFLOW_TABLE"):
        status.get("", "x")


REQUEST = MessageRequest.from_dict(
    {"amazonOrderId": support.ORDER_ID, "marketplaceId": support.MARKETPLACE_ID, "messageType": "invoice"}
)


def test_record_received_marks_the_origin_and_the_source(aws: dict[str, Any]) -> None:
    settings = Settings.from_env({"WORKFLOW_TABLE": support.TABLE})
    source = storage.ObjectVersion(support.BUCKET, "outbox/a.pdf", "v1")
    status.record_received(settings, ARN, REQUEST, origin="s3", source=source, only_logged=())
    record = _record()
    assert (record["status"], record["origin"], record["source"]) == (
        "received",
        "s3",
        {"bucket": support.BUCKET, "key": "outbox/a.pdf", "versionId": "v1"},
    )
    assert (record["amazonOrderId"], record["marketplaceId"], record["messageType"]) == (
        support.ORDER_ID,
        support.MARKETPLACE_ID,
        "invoice",
    )


def test_record_received_only_logs_the_errors_its_caller_lets_go(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The execution runs either way: the caller says which errors only cost the record its origin."""
    unconfigured = Settings.from_env({})
    with pytest.raises(ConfigurationError, match="WORKFLOW_TABLE"):
        status.record_received(unconfigured, ARN, REQUEST, origin="api", only_logged=(WorkflowTableUnavailable,))
    status.record_received(
        unconfigured, ARN, REQUEST, origin="s3", only_logged=(WorkflowTableUnavailable, ConfigurationError)
    )
    [logged] = caplog.records
    assert (logged.getMessage(), vars(logged)["error"]) == ("Request record not written", "ConfigurationError")

    def throttled(**_: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "UpdateItem"
        )

    monkeypatch.setattr(table.client(), "update_item", throttled)
    settings = Settings.from_env({"WORKFLOW_TABLE": support.TABLE})
    status.record_received(settings, ARN, REQUEST, origin="api", only_logged=(WorkflowTableUnavailable,))
    assert vars(caplog.records[-1])["error"] == "WorkflowTableUnavailable"
    with pytest.raises(WorkflowTableUnavailable):
        status.record_received(settings, ARN, REQUEST, origin="api", only_logged=(ConfigurationError,))
    assert status.get(support.TABLE, "order-invoice-0123") is None


def test_a_failed_record_carries_the_failed_index_keys_and_the_index_finds_it(aws: dict[str, Any]) -> None:
    """Issue 17: a re-send selects failed requests by time and error with a Query on FailedByDay, never a Scan."""
    sent_arn = ARN.replace("0123", "0456")
    for arn in (ARN, sent_arn):
        status.received(support.TABLE, arn, RETENTION, summary=SUMMARY)
        status.validated(support.TABLE, arn, {"messageType": "invoice"}, [])
    assert status.failed(support.TABLE, ARN, RETENTION, "LwaUnavailable", "LWA answered 503.")
    assert status.sent(support.TABLE, sent_arn, {"amazonRequestId": "req-1"})
    record = _record()
    assert record["failedOn"] == record["failedAt"][:10]
    assert "failedOn" not in (status.get(support.TABLE, "order-invoice-0456") or {})
    day, at = record["failedOn"], record["failedAt"]
    assert status.failed_between(support.TABLE, day, f"{day}T00:00:00.000Z", "9999") == ["order-invoice-0123"]
    assert status.failed_between(support.TABLE, day, "0000", "9999", ["LwaUnavailable"]) == ["order-invoice-0123"]
    assert status.failed_between(support.TABLE, day, "0000", "9999", ["SpApiUnavailable"]) == []
    # The range is half-open: a failure at its end belongs to the next range.
    assert status.failed_between(support.TABLE, day, "0000", at) == []
    assert status.failed_between(support.TABLE, "1999-01-01", "0000", "9999") == []


def test_resent_as_is_written_once_and_only_on_a_failed_record(aws: dict[str, Any]) -> None:
    sent_arn = ARN.replace("0123", "0456")
    for arn in (ARN, sent_arn):
        status.received(support.TABLE, arn, RETENTION, summary=SUMMARY)
        status.validated(support.TABLE, arn, {"messageType": "invoice"}, [])
    status.failed(support.TABLE, ARN, RETENTION, "LwaUnavailable", "LWA answered 503.")
    status.sent(support.TABLE, sent_arn, {})
    assert status.mark_resent(support.TABLE, "order-invoice-0123", "new-1")
    resent_at = _record()["resentAt"]
    assert status.mark_resent(support.TABLE, "order-invoice-0123", "new-1"), "the same re-send again: already so"
    assert not status.mark_resent(support.TABLE, "order-invoice-0123", "new-2")
    assert (_record()["resentAs"], _record()["resentAt"]) == ("new-1", resent_at)
    assert not status.mark_resent(support.TABLE, "order-invoice-0456", "new-3"), "a sent record is never re-sent"
