"""The outcome of a request: its record, the tags on its staged objects, its EventBridge event (moto)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from buyer_messaging import eventbus, outcome, status
from buyer_messaging.errors import EventBusUnavailable, StagingUnavailable
from buyer_messaging.models import Failure
from tests import support

ARN = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:req-42"
WHERE = outcome.Destinations(
    table=support.TABLE, staging_bucket=support.BUCKET, event_bus="default", retention=status.Retention(90)
)
SUMMARY = {"amazonOrderId": support.ORDER_ID, "marketplaceId": support.MARKETPLACE_ID, "messageType": "invoice"}
FAILURE = Failure("AttachmentNotFound", "s3://bucket/attachments/gone.pdf does not exist.")


def _stage(aws: dict[str, Any], key: str, tags: dict[str, str] | None = None) -> None:
    aws["s3"].put_object(Bucket=support.BUCKET, Key=key, Body=b"%PDF-1.7 test")
    if tags:
        tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
        aws["s3"].put_object_tagging(Bucket=support.BUCKET, Key=key, Tagging={"TagSet": tag_set})


def _tags(aws: dict[str, Any], key: str) -> dict[str, str]:
    tag_set = aws["s3"].get_object_tagging(Bucket=support.BUCKET, Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tag_set}


def _validated(keys: list[str]) -> None:
    status.received(support.TABLE, ARN, WHERE.retention, summary=SUMMARY)
    attachments = [
        {"fileName": key.rsplit("/", 1)[-1], "bucket": support.BUCKET, "key": key, "size": 13, "contentType": "x"}
        for key in keys
    ]
    status.validated(support.TABLE, ARN, {}, attachments)


def test_a_failure_is_recorded_tagged_and_announced(aws: dict[str, Any], tap: Any) -> None:
    _stage(aws, "attachments/a.pdf", {"seller:batch": "2026-11"})
    _validated(["attachments/a.pdf"])

    recorded = outcome.record_failed(WHERE, ARN, FAILURE, execution_input=None)

    assert (recorded.status, recorded.objects_tagged) == ("failed", 1)
    assert _tags(aws, "attachments/a.pdf") == {
        "seller:batch": "2026-11",  # the seller's own tags stay
        outcome.TAG_OUTCOME: "failed",
        outcome.TAG_REQUEST: "req-42",
        outcome.TAG_ERROR: "AttachmentNotFound",
    }
    (event,) = tap()
    assert (event["source"], event["detail-type"], event["resources"]) == ("buyer-messaging", "MessageFailed", [ARN])
    assert event["id"] == recorded.event_id
    detail = event["detail"]
    assert (detail["requestId"], detail["status"], detail["error"]) == ("req-42", "failed", "AttachmentNotFound")
    assert detail["attachments"] == [{"fileName": "a.pdf", "key": "attachments/a.pdf", "size": 13, "contentType": "x"}]
    assert "history" not in detail


def test_a_send_without_an_answer_is_recorded_unknown_not_failed(aws: dict[str, Any], tap: Any) -> None:
    """ "May have reached the buyer": its own status, tag and detail-type, so nothing sends it again blindly."""
    _stage(aws, "attachments/a.pdf")
    _validated(["attachments/a.pdf"])
    status.uploading(support.TABLE, ARN)
    cause = "sendInvoice: the request was sent but no answer came (read timeout), so Amazon may have delivered it."

    recorded = outcome.record_failed(WHERE, ARN, Failure("SendOutcomeUnknown", cause), execution_input=None)

    assert (recorded.status, recorded.objects_tagged) == ("unknown", 1)
    record = status.get(support.TABLE, "req-42")
    assert record is not None
    assert (record["status"], record["error"], record["cause"]) == ("unknown", "SendOutcomeUnknown", cause)
    assert [step["status"] for step in record["history"]] == ["received", "validated", "uploading", "unknown"]
    assert _tags(aws, "attachments/a.pdf") == {
        outcome.TAG_OUTCOME: "unknown",
        outcome.TAG_REQUEST: "req-42",
        outcome.TAG_ERROR: "SendOutcomeUnknown",
    }
    (event,) = tap()
    assert event["detail-type"] == "MessageOutcomeUnknown"
    assert (event["detail"]["status"], event["detail"]["error"]) == ("unknown", "SendOutcomeUnknown")
    # Final: a failure recorded later cannot turn it into a plain "failed".
    assert not status.failed(support.TABLE, ARN, WHERE.retention, "WorkflowError", "late")
    assert status.get(support.TABLE, "req-42")["status"] == "unknown"  # type: ignore[index]


@pytest.mark.parametrize(
    ("send_started", "failure", "ended"),
    [
        (True, Failure("WorkflowError", "States.Timeout: "), "unknown"),  # the state timed out mid-send
        (True, Failure("Sandbox.Timedout", "Task timed out after 180.00 seconds"), "unknown"),
        (True, Failure("SendInProgress", "Another attempt is sending this message right now."), "unknown"),
        (True, Failure("SpApiInvalidInput", "sendInvoice failed with HTTP 400: InvalidInput."), "failed"),
        (True, Failure("SpApiUnavailable", "sendInvoice failed with HTTP 503: ServiceUnavailable."), "failed"),
        (False, Failure("WorkflowError", "States.Timeout: "), "failed"),  # no send had begun
    ],
    ids=["state-timeout", "lambda-timeout", "still-sending", "amazon-refused", "amazon-5xx", "before-the-send"],
)
def test_an_end_without_amazons_answer_after_the_send_began_is_unknown(
    aws: dict[str, Any], tap: Any, send_started: bool, failure: Failure, ended: str
) -> None:
    _validated([])
    if send_started:
        assert status.send_started(support.TABLE, ARN)

    recorded = outcome.record_failed(WHERE, ARN, failure, execution_input=None)

    assert recorded.status == ended
    assert status.get(support.TABLE, "req-42")["status"] == ended  # type: ignore[index]
    expected_type = "MessageOutcomeUnknown" if ended == "unknown" else "MessageFailed"
    assert [event["detail-type"] for event in tap()] == [expected_type]


def test_a_later_sent_outcome_replaces_the_error_tag(aws: dict[str, Any], tap: Any) -> None:
    _stage(aws, "attachments/a.pdf", {outcome.TAG_ERROR: "OldError", outcome.TAG_OUTCOME: "failed"})
    _validated(["attachments/a.pdf"])
    status.sent(support.TABLE, ARN, {})

    recorded = outcome.record_sent(WHERE, ARN)

    assert recorded.status == "sent"
    assert _tags(aws, "attachments/a.pdf") == {outcome.TAG_OUTCOME: "sent", outcome.TAG_REQUEST: "req-42"}
    assert [event["detail-type"] for event in tap()] == ["MessageSent"]


def test_a_failure_after_the_message_was_sent_changes_nothing(aws: dict[str, Any], tap: Any) -> None:
    _stage(aws, "attachments/a.pdf")
    _validated(["attachments/a.pdf"])
    status.sent(support.TABLE, ARN, {})

    recorded = outcome.record_failed(WHERE, ARN, Failure("WorkflowError", "States.Timeout: late"), None)

    assert (recorded.status, recorded.objects_tagged, recorded.event_id) == ("sent", 0, None)
    assert status.get(support.TABLE, "req-42")["status"] == "sent"  # type: ignore[index]
    assert _tags(aws, "attachments/a.pdf") == {}
    assert tap() == []


def test_a_request_that_failed_validation_tags_what_its_input_named(aws: dict[str, Any], tap: Any) -> None:
    _stage(aws, "attachments/a.pdf")
    execution_input = {
        **SUMMARY,
        "attachments": [
            {"key": "attachments/a.pdf"},
            {"key": "attachments/missing.pdf"},  # not there: nothing to tag, not an error
            {"bucket": "someone-elses-bucket", "key": "attachments/a.pdf"},  # only the staging bucket is tagged
            {"key": 7},
            "not an object",
        ],
    }
    recorded = outcome.record_failed(WHERE, ARN, FAILURE, execution_input)
    assert recorded.objects_tagged == 1
    assert _tags(aws, "attachments/a.pdf")[outcome.TAG_OUTCOME] == "failed"
    record = status.get(support.TABLE, "req-42")
    assert record is not None
    assert (record["amazonOrderId"], record["messageType"]) == (support.ORDER_ID, "invoice")


def test_an_object_whose_tags_are_full_is_left_as_it_is(aws: dict[str, Any], tap: Any) -> None:
    full = {f"seller:{index}": "x" for index in range(9)}
    _stage(aws, "attachments/a.pdf", full)
    _validated(["attachments/a.pdf"])
    recorded = outcome.record_failed(WHERE, ARN, FAILURE, None)
    assert recorded.objects_tagged == 0
    assert _tags(aws, "attachments/a.pdf") == full
    assert [event["detail-type"] for event in tap()] == ["MessageFailed"]  # the outcome is still told


def test_s3_being_unavailable_is_retried(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from buyer_messaging import storage

    _stage(aws, "attachments/a.pdf")
    _validated(["attachments/a.pdf"])

    def slow_down(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Reduce your request rate."}}, "GetObjectTagging")

    monkeypatch.setattr(storage._client(), "get_object_tagging", slow_down)
    with pytest.raises(StagingUnavailable):
        outcome.record_failed(WHERE, ARN, FAILURE, None)


def test_an_event_eventbridge_does_not_take_is_retried(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    _validated([])
    status.sent(support.TABLE, ARN, {})

    def refuse(**_: Any) -> Any:
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "oops"}]}

    monkeypatch.setattr(eventbus._client(), "put_events", refuse)
    with pytest.raises(EventBusUnavailable, match="InternalFailure") as raised:
        outcome.record_sent(WHERE, ARN)
    assert raised.value.transient


@pytest.mark.parametrize(
    ("value", "expected"),
    [("AttachmentNotFound", "AttachmentNotFound"), ("Bad<Name>&Co", "Bad_Name__Co"), ("x" * 300, "x" * 256)],
)
def test_tag_values_only_use_what_s3_allows(value: str, expected: str) -> None:
    assert outcome._tag_value(value) == expected
