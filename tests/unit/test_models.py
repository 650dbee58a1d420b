"""Parsing every payload that crosses a function boundary, with field-level problems, and round trips."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from buyer_messaging.errors import InvalidRequest
from buyer_messaging.fields import MAX_ATTACHMENTS_IN_REQUEST
from buyer_messaging.models import (
    AttachmentRef,
    AttachmentTask,
    MessageRequest,
    SendRequest,
    StagedAttachment,
    UploadDestination,
    UploadedAttachment,
    ValidatedRequest,
)
from tests import support


def _request(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "amazonOrderId": support.ORDER_ID,
        "marketplaceId": support.MARKETPLACE_ID,
        "messageType": "invoice",
        "attachments": [{"key": "attachments/inv-1.pdf", "fileName": "Invoice-1.pdf"}],
    }
    document.update(overrides)
    return {name: value for name, value in document.items() if value is not ...}


def _problem_paths(document: object, **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidRequest) as raised:
        MessageRequest.from_dict(document, **kwargs)
    paths = [path for path, _ in raised.value.problems]
    for path in paths:
        assert path in str(raised.value)
    return paths


STAGED = StagedAttachment(
    bucket=support.BUCKET,
    key="attachments/inv-1.pdf",
    file_name="Invoice-1.pdf",
    size=1234,
    etag='"2c6ee24b09816a6f14f95d1698b24ead"',
    content_type="application/pdf",
)
DESTINATION = UploadDestination(
    upload_destination_id="4a3d5f2e-93a8-4c8e-9b0c-6f1f2b7e9d10",
    url=f"https://{support.UPLOAD_HOST}/%2FNinetyDays/amzn1.tortuga.4.na.x?X-Amz-Signature=abc",
    headers={"Content-MD5": "LG7iSwmBam8U+V0WmLJOrQ==", "x-amz-server-side-encryption": "aws:kms"},
)
UPLOADED = UploadedAttachment(
    upload_destination_id=DESTINATION.upload_destination_id,
    file_name="Invoice-1.pdf",
    size=1234,
    content_md5="LG7iSwmBam8U+V0WmLJOrQ==",
    key="attachments/inv-1.pdf",
)
EXECUTION_ID = (
    "arn:aws:states:us-east-1:123456789012:execution:SendMessageStateMachine:123-1234567-1234567-invoice-6af8d576"
)
VALIDATED = ValidatedRequest(
    amazon_order_id=support.ORDER_ID,
    marketplace_id=support.MARKETPLACE_ID,
    message_type="invoice",
    operation="sendInvoice",
    title="Send Invoice Message Template",
    text=None,
    attachments=(STAGED,),
)


# --- MessageRequest: good documents ----------------------------------------------------------------------


def test_full_document_is_read_field_by_field() -> None:
    request = MessageRequest.from_dict(
        _request(
            messageType="warranty",
            text="Thanks",
            coverageStartDate="2026-11-27T00:00:00Z",
            coverageEndDate="2028-11-27T00:00:00Z",
            attachments=[{"bucket": "other-bucket", "key": "attachments/w.pdf", "fileName": "Warranty.pdf"}],
        ),
        default_bucket=support.BUCKET,
    )
    assert request == MessageRequest(
        amazon_order_id=support.ORDER_ID,
        marketplace_id=support.MARKETPLACE_ID,
        message_type="warranty",
        text="Thanks",
        attachments=(AttachmentRef("other-bucket", "attachments/w.pdf", "Warranty.pdf"),),
        coverage_start_date="2026-11-27T00:00:00Z",
        coverage_end_date="2028-11-27T00:00:00Z",
    )


def test_identifiers_are_stripped_and_message_type_kept_as_given() -> None:
    request = MessageRequest.from_dict(
        _request(amazonOrderId=f" {support.ORDER_ID} ", marketplaceId=" ATVPDKIKX0DER\n", messageType=" sendInvoice "),
        default_bucket=support.BUCKET,
    )
    assert request.amazon_order_id == support.ORDER_ID
    assert request.marketplace_id == support.MARKETPLACE_ID
    assert request.message_type == "sendInvoice"


@pytest.mark.parametrize("order_id", ["123-1234567-1234567", "D01-1234567-1234567", "902-0000000-9999999"])
def test_order_id_formats_accepted(order_id: str) -> None:
    request = MessageRequest.from_dict(_request(amazonOrderId=order_id), default_bucket=support.BUCKET)
    assert request.amazon_order_id == order_id


def test_attachment_bucket_defaults_to_the_staging_bucket() -> None:
    request = MessageRequest.from_dict(_request(), default_bucket=support.BUCKET)
    assert request.attachments[0].bucket == support.BUCKET


@pytest.mark.parametrize("bucket", [None, ""])
def test_null_or_empty_bucket_also_defaults(bucket: str | None) -> None:
    document = _request(attachments=[{"bucket": bucket, "key": "attachments/a.pdf"}])
    assert MessageRequest.from_dict(document, default_bucket=support.BUCKET).attachments[0].bucket == support.BUCKET


def test_no_bucket_and_no_default_is_a_problem() -> None:
    assert _problem_paths(_request()) == ["attachments[0].bucket"]


@pytest.mark.parametrize(
    ("key", "file_name"),
    [
        ("attachments/inv-1.pdf", "inv-1.pdf"),
        ("attachments/2026/11/Invoice 7.pdf", "Invoice 7.pdf"),
        ("invoice.pdf", "invoice.pdf"),
    ],
)
def test_file_name_defaults_to_the_keys_last_part(key: str, file_name: str) -> None:
    request = MessageRequest.from_dict(_request(attachments=[{"key": key}]), default_bucket=support.BUCKET)
    assert request.attachments[0].file_name == file_name


def test_text_only_document_has_no_attachments() -> None:
    request = MessageRequest.from_dict(_request(messageType="unexpectedProblem", text="Sorry", attachments=...))
    assert request.attachments == ()
    assert request.text == "Sorry"


def test_null_attachments_mean_none() -> None:
    assert MessageRequest.from_dict(_request(attachments=None)).attachments == ()


def test_to_dict_round_trips_and_drops_absent_fields() -> None:
    document = _request(attachments=[{"bucket": support.BUCKET, "key": "attachments/a.pdf", "fileName": "A.pdf"}])
    request = MessageRequest.from_dict(document)
    assert request.to_dict() == document
    assert MessageRequest.from_dict(request.to_dict()) == request


def test_a_campaign_row_round_trips() -> None:
    document = _request(campaign={"id": "recall-2026-11-a1b2", "row": 12, "run": 2})
    request = MessageRequest.from_dict(document, default_bucket=support.BUCKET)
    assert request.campaign is not None
    assert (request.campaign.id, request.campaign.row, request.campaign.run) == ("recall-2026-11-a1b2", 12, 2)
    assert request.to_dict()["campaign"] == {"id": "recall-2026-11-a1b2", "row": 12, "run": 2}
    assert MessageRequest.from_dict(request.to_dict()) == request


def test_a_request_without_campaign_has_none() -> None:
    request = MessageRequest.from_dict(_request(), default_bucket=support.BUCKET)
    assert request.campaign is None
    assert "campaign" not in request.to_dict()


def test_a_campaign_row_takes_the_campaign_lane_every_other_request_the_interactive_one() -> None:
    row = MessageRequest.from_dict(_request(campaign={"id": "recall-a1", "row": 3, "run": 1}), default_bucket="b")
    assert (row.lane, MessageRequest.from_dict(_request(), default_bucket="b").lane) == ("campaign", "interactive")


@pytest.mark.parametrize(
    ("campaign", "problems"),
    [
        ("recall", [("campaign", "must be a JSON object, not a string")]),
        ({"id": "recall"}, [("campaign.row", "is required"), ("campaign.run", "is required")]),
        (
            {"id": "has space", "row": 0, "run": -1},
            [
                ("campaign.id", "must be a campaign id (1 to 64 of A-Z, a-z, 0-9, _ and -)"),
                ("campaign.row", "must be 1 or more"),
                ("campaign.run", "must be 1 or more"),
            ],
        ),
        (
            {"id": "a", "row": 1, "run": 1, "rows": 3},
            [("campaign.rows", "is not a field of a campaign reference (a typo?)")],
        ),
    ],
)
def test_bad_campaign_references_are_named(campaign: object, problems: list[tuple[str, str]]) -> None:
    with pytest.raises(InvalidRequest) as raised:
        MessageRequest.from_dict(_request(campaign=campaign), default_bucket=support.BUCKET)
    assert list(raised.value.problems) == problems


# --- MessageRequest: malformed documents -----------------------------------------------------------------


@pytest.mark.parametrize("document", [None, [], "invoice", 42, True, [{"amazonOrderId": support.ORDER_ID}]])
def test_not_an_object(document: object) -> None:
    paths = _problem_paths(document)
    assert paths[0] == "(document)"
    assert {"amazonOrderId", "marketplaceId", "messageType"} <= set(paths)


def test_empty_object_names_every_required_field() -> None:
    assert _problem_paths({}) == ["amazonOrderId", "marketplaceId", "messageType"]


@pytest.mark.parametrize("field", ["amazonOrderId", "marketplaceId", "messageType"])
def test_missing_required_field(field: str) -> None:
    assert _problem_paths(_request(**{field: ...}), default_bucket=support.BUCKET) == [field]


@pytest.mark.parametrize("field", ["amazonOrderId", "marketplaceId", "messageType"])
@pytest.mark.parametrize("value", ["", "   "])
def test_empty_required_field(field: str, value: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        MessageRequest.from_dict(_request(**{field: value}), default_bucket=support.BUCKET)
    assert raised.value.problems == ((field, "must not be empty"),)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amazonOrderId", 1231234567),
        ("marketplaceId", ["ATVPDKIKX0DER"]),
        ("messageType", {"name": "invoice"}),
        ("text", 5),
        ("text", False),
        ("coverageStartDate", 20261127),
        ("coverageEndDate", ["2026"]),
    ],
)
def test_wrong_types(field: str, value: object) -> None:
    with pytest.raises(InvalidRequest) as raised:
        MessageRequest.from_dict(_request(**{field: value}), default_bucket=support.BUCKET)
    ((path, message),) = raised.value.problems
    assert path == field
    assert message.startswith("must be a string")


@pytest.mark.parametrize(
    "order_id",
    ["1231234567", "123-123456-1234567", "123-1234567-12345678", "abc-1234567-1234567", "123_1234567_1234567"],
)
def test_bad_order_id_format(order_id: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        MessageRequest.from_dict(_request(amazonOrderId=order_id), default_bucket=support.BUCKET)
    ((path, message),) = raised.value.problems
    assert path == "amazonOrderId"
    assert order_id in message


def test_unknown_fields_are_named() -> None:
    document = _request(messagetype="invoice", attachment=[])
    assert _problem_paths(document, default_bucket=support.BUCKET) == ["attachment", "messagetype"]


@pytest.mark.parametrize("attachments", ["attachments/a.pdf", {"key": "attachments/a.pdf"}, 3])
def test_attachments_not_a_list(attachments: object) -> None:
    with pytest.raises(InvalidRequest) as raised:
        MessageRequest.from_dict(_request(attachments=attachments), default_bucket=support.BUCKET)
    ((path, message),) = raised.value.problems
    assert path == "attachments"
    assert message.startswith("must be a list")


def test_attachment_not_an_object_names_its_index() -> None:
    document = _request(attachments=[{"key": "attachments/a.pdf"}, "attachments/b.pdf"])
    paths = _problem_paths(document, default_bucket=support.BUCKET)
    assert paths == ["attachments[1]", "attachments[1].key"]


def test_attachment_key_missing_names_its_path() -> None:
    document = _request(attachments=[{"key": "attachments/a.pdf"}, {"fileName": "B.pdf"}])
    assert _problem_paths(document, default_bucket=support.BUCKET) == ["attachments[1].key"]


@pytest.mark.parametrize(
    ("attachment", "problem"),
    [
        ({"key": ""}, ("attachments[0].key", "must not be empty")),
        ({"key": 7}, ("attachments[0].key", "must be a string, not a number")),
        ({"key": "a.pdf", "fileName": 7}, ("attachments[0].fileName", "must be a string, not a number")),
        ({"key": "a.pdf", "bucket": True}, ("attachments[0].bucket", "must be a string, not a boolean")),
    ],
)
def test_attachment_field_problems(attachment: dict[str, Any], problem: tuple[str, str]) -> None:
    with pytest.raises(InvalidRequest) as raised:
        MessageRequest.from_dict(_request(attachments=[attachment]), default_bucket=support.BUCKET)
    assert raised.value.problems == (problem,)


def test_too_many_attachments() -> None:
    attachments = [{"key": f"attachments/{i}.pdf"} for i in range(MAX_ATTACHMENTS_IN_REQUEST + 1)]
    with pytest.raises(InvalidRequest) as raised:
        MessageRequest.from_dict(_request(attachments=attachments), default_bucket=support.BUCKET)
    ((path, message),) = raised.value.problems
    assert path == "attachments"
    assert str(MAX_ATTACHMENTS_IN_REQUEST) in message


def test_the_most_attachments_the_parser_takes() -> None:
    attachments = [{"key": f"attachments/{i}.pdf"} for i in range(MAX_ATTACHMENTS_IN_REQUEST)]
    request = MessageRequest.from_dict(_request(attachments=attachments), default_bucket=support.BUCKET)
    assert len(request.attachments) == MAX_ATTACHMENTS_IN_REQUEST


def test_every_problem_is_reported_at_once() -> None:
    document = {
        "amazonOrderId": "nope",
        "marketplaceId": 1,
        "text": [],
        "attachments": [{"key": "a.pdf"}, {}],
        "extra": 1,
    }
    paths = _problem_paths(document, default_bucket=support.BUCKET)
    assert sorted(paths) == sorted(
        ["amazonOrderId", "marketplaceId", "messageType", "text", "attachments[1].key", "extra"]
    )


def test_invalid_request_is_the_step_functions_error_name() -> None:
    with pytest.raises(InvalidRequest) as raised:
        MessageRequest.from_dict({})
    assert type(raised.value).__name__ == "InvalidRequest"
    assert not raised.value.transient


# --- the models between the states: round trips ----------------------------------------------------------


def test_validated_request_round_trip() -> None:
    data = VALIDATED.to_dict()
    assert data["attachments"][0] == {
        "bucket": support.BUCKET,
        "key": "attachments/inv-1.pdf",
        "fileName": "Invoice-1.pdf",
        "size": 1234,
        "etag": '"2c6ee24b09816a6f14f95d1698b24ead"',
        "contentType": "application/pdf",
    }
    assert data["text"] is None
    assert data["coverageStartDate"] is None
    assert ValidatedRequest.from_dict(data) == VALIDATED


def test_validated_request_with_text_and_dates_round_trip() -> None:
    validated = ValidatedRequest(
        amazon_order_id=support.ORDER_ID,
        marketplace_id=support.MARKETPLACE_ID,
        message_type="warranty",
        operation="CreateWarranty",
        title="Warranty",
        text=None,
        attachments=(STAGED,),
        coverage_start_date="2026-11-27T00:00:00Z",
        coverage_end_date="2028-11-27T00:00:00Z",
    )
    assert ValidatedRequest.from_dict(validated.to_dict()) == validated


def test_the_validated_request_always_names_its_lane() -> None:
    campaign_row = replace(VALIDATED, lane="campaign")
    assert campaign_row.to_dict()["lane"] == "campaign"
    assert ValidatedRequest.from_dict(campaign_row.to_dict()) == campaign_row
    missing = {key: value for key, value in VALIDATED.to_dict().items() if key != "lane"}
    with pytest.raises(InvalidRequest) as raised:
        ValidatedRequest.from_dict(missing)
    assert list(raised.value.problems) == [("lane", "is required")]
    with pytest.raises(InvalidRequest) as raised:
        ValidatedRequest.from_dict({**VALIDATED.to_dict(), "lane": "express"})
    assert list(raised.value.problems) == [("lane", "must be one of interactive, campaign")]


def test_an_attachment_item_carries_the_messages_lane() -> None:
    item = {**AttachmentTask(EXECUTION_ID, 0, support.ORDER_ID, support.MARKETPLACE_ID, "invoice", STAGED).to_dict()}
    assert item["lane"] == "interactive"
    assert AttachmentTask.from_dict({**item, "lane": "campaign"}).lane == "campaign"
    del item["lane"]  # an item of an execution started before the lanes: the interactive lane
    assert AttachmentTask.from_dict(item).lane == "interactive"


def test_validated_request_with_bad_attachment_names_the_fields() -> None:
    data = VALIDATED.to_dict()
    data["attachments"][0]["size"] = "1234"
    del data["attachments"][0]["etag"]
    with pytest.raises(InvalidRequest) as raised:
        ValidatedRequest.from_dict(data)
    assert [path for path, _ in raised.value.problems] == ["attachments[0].size", "attachments[0].etag"]


@pytest.mark.parametrize(
    ("content_md5", "destination_id"),
    [(None, None), ("LG7iSwmBam8U+V0WmLJOrQ==", None), ("LG7iSwmBam8U+V0WmLJOrQ==", DESTINATION.upload_destination_id)],
    ids=["bare", "hashed", "with-destination"],
)
def test_attachment_task_round_trip(content_md5: str | None, destination_id: str | None) -> None:
    task = AttachmentTask(
        execution_id=EXECUTION_ID,
        index=2,
        amazon_order_id=support.ORDER_ID,
        marketplace_id=support.MARKETPLACE_ID,
        message_type="invoice",
        attachment=STAGED,
        content_md5=content_md5,
        destination_id=destination_id,
    )
    data = task.to_dict()
    assert ("hash" in data) == (content_md5 is not None)
    assert ("destination" in data) == (destination_id is not None)
    if destination_id is not None:
        assert data["destination"] == {"uploadDestinationId": destination_id}
    assert AttachmentTask.from_dict(data) == task


def test_attachment_task_reads_the_map_items_shape() -> None:
    task = AttachmentTask.from_dict(
        {
            "executionId": EXECUTION_ID,
            "index": 1,
            "amazonOrderId": support.ORDER_ID,
            "marketplaceId": support.MARKETPLACE_ID,
            "messageType": "invoice",
            "attachment": STAGED.to_dict(),
            "hash": {"contentMd5": "abc=="},
            "destination": {"uploadDestinationId": DESTINATION.upload_destination_id},
        }
    )
    assert task.require_content_md5() == "abc=="
    assert task.require_destination_id() == DESTINATION.upload_destination_id
    assert task.attachment == STAGED


def test_attachment_task_without_hash_or_destination_refuses_to_use_them() -> None:
    task = AttachmentTask.from_dict(
        {
            "executionId": EXECUTION_ID,
            "index": 1,
            "amazonOrderId": support.ORDER_ID,
            "marketplaceId": support.MARKETPLACE_ID,
            "messageType": "invoice",
            "attachment": STAGED.to_dict(),
        }
    )
    assert task.destination_id is None
    with pytest.raises(InvalidRequest, match="hash"):
        task.require_content_md5()
    with pytest.raises(InvalidRequest, match="destination"):
        task.require_destination_id()


def test_attachment_task_with_an_empty_destination_id_refuses_to_use_it() -> None:
    data = AttachmentTask(
        EXECUTION_ID, 0, support.ORDER_ID, support.MARKETPLACE_ID, "invoice", STAGED, "abc==", "x"
    ).to_dict()
    data["destination"]["uploadDestinationId"] = ""
    with pytest.raises(InvalidRequest, match="destination"):
        AttachmentTask.from_dict(data).require_destination_id()


@pytest.mark.parametrize(
    ("mutate", "paths"),
    [
        (lambda d: d.pop("attachment"), ["attachment", "attachment.bucket"]),
        (lambda d: d["attachment"].pop("key"), ["attachment.key"]),
        (lambda d: d.update(hash={}), ["hash.contentMd5"]),
        (lambda d: d.update(hash="abc"), ["hash", "hash.contentMd5"]),
        (lambda d: d.update(destination={}), ["destination.uploadDestinationId"]),
        (lambda d: d.update(destination="abc"), ["destination", "destination.uploadDestinationId"]),
        (lambda d: d["destination"].update(uploadDestinationId=7), ["destination.uploadDestinationId"]),
        (lambda d: d.pop("amazonOrderId"), ["amazonOrderId"]),
        (lambda d: d.pop("executionId"), ["executionId"]),
        (lambda d: d.update(index=-1), ["index"]),
        (lambda d: d.update(index="0"), ["index"]),
    ],
)
def test_attachment_task_problems_name_the_field(mutate: Any, paths: list[str]) -> None:
    data = AttachmentTask(
        EXECUTION_ID,
        0,
        support.ORDER_ID,
        support.MARKETPLACE_ID,
        "invoice",
        STAGED,
        "abc==",
        DESTINATION.upload_destination_id,
    ).to_dict()
    mutate(data)
    with pytest.raises(InvalidRequest) as raised:
        AttachmentTask.from_dict(data)
    found = [path for path, _ in raised.value.problems]
    assert found[: len(paths)] == paths


@pytest.mark.parametrize(
    ("secrets", "paths"),
    [
        ({"url": DESTINATION.url}, ["destination.url"]),
        ({"headers": dict(DESTINATION.headers)}, ["destination.headers"]),
        ({"url": DESTINATION.url, "headers": dict(DESTINATION.headers)}, ["destination.url", "destination.headers"]),
        ({"url": None}, ["destination.url"]),
    ],
    ids=["url", "headers", "both", "null-url"],
)
def test_attachment_task_refuses_a_presigned_url_in_the_state(secrets: dict[str, Any], paths: list[str]) -> None:
    """The old shape (url and signed headers in the Map item) would put a credential into execution history."""
    data = AttachmentTask(
        EXECUTION_ID,
        0,
        support.ORDER_ID,
        support.MARKETPLACE_ID,
        "invoice",
        STAGED,
        "abc==",
        DESTINATION.upload_destination_id,
    ).to_dict()
    data["destination"].update(secrets)
    with pytest.raises(InvalidRequest) as raised:
        AttachmentTask.from_dict(data)
    assert [path for path, _ in raised.value.problems] == paths
    assert all("must not travel in the state" in message for _, message in raised.value.problems)
    # The error names the fields, never the credential itself.
    assert "X-Amz-Signature" not in str(raised.value)


def test_upload_destination_hides_its_url_and_headers() -> None:
    shown = f"{DESTINATION!r} {DESTINATION}"
    assert DESTINATION.upload_destination_id in shown
    assert "X-Amz-Signature" not in shown
    assert support.UPLOAD_HOST not in shown
    assert "aws:kms" not in shown
    # No way back into the state: the destination has no JSON form.
    assert not hasattr(DESTINATION, "to_dict")
    assert not hasattr(UploadDestination, "read")


@pytest.mark.parametrize("uploaded", [(), (UPLOADED,)], ids=["text-only", "with-upload"])
def test_send_request_round_trip(uploaded: tuple[UploadedAttachment, ...]) -> None:
    send = SendRequest(execution_id=EXECUTION_ID, request=VALIDATED, uploaded=uploaded)
    data = send.to_dict()
    assert set(data) == {"executionId", "request"}
    assert data["executionId"] == EXECUTION_ID
    assert data["request"]["uploaded"] == [item.to_dict() for item in uploaded]
    assert {k: v for k, v in data["request"].items() if k != "uploaded"} == VALIDATED.to_dict()
    assert SendRequest.from_dict(data) == send


def test_send_request_reads_the_state_with_uploaded() -> None:
    send = SendRequest.from_dict(
        {"executionId": EXECUTION_ID, "request": {**VALIDATED.to_dict(), "uploaded": [UPLOADED.to_dict()]}}
    )
    assert send.execution_id == EXECUTION_ID
    assert send.request == VALIDATED
    assert send.uploaded == (UPLOADED,)


def test_send_request_without_uploaded_has_none() -> None:
    assert SendRequest.from_dict({"executionId": EXECUTION_ID, "request": VALIDATED.to_dict()}).uploaded == ()


def test_send_request_bad_upload_names_the_field() -> None:
    bad = UPLOADED.to_dict()
    del bad["uploadDestinationId"]
    with pytest.raises(InvalidRequest) as raised:
        SendRequest.from_dict(
            {"executionId": EXECUTION_ID, "request": {**VALIDATED.to_dict(), "uploaded": [UPLOADED.to_dict(), bad]}}
        )
    assert [path for path, _ in raised.value.problems] == ["request.uploaded[1].uploadDestinationId"]


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        ({"request": VALIDATED.to_dict()}, [("executionId", "is required")]),
        ({"executionId": 7, "request": VALIDATED.to_dict()}, [("executionId", "must be a string, not a number")]),
        ({"executionId": EXECUTION_ID, "request": []}, [("request", "must be a JSON object, not a list")]),
    ],
    ids=["no-execution-id", "number-execution-id", "request-not-an-object"],
)
def test_send_request_problems_name_the_field(data: dict[str, Any], problems: list[tuple[str, str]]) -> None:
    with pytest.raises(InvalidRequest) as raised:
        SendRequest.from_dict(data)
    assert list(raised.value.problems[: len(problems)]) == problems


def test_send_request_in_the_old_unwrapped_shape_is_refused() -> None:
    """The validated request at the top level (before the execution id wrapped it) names what is missing."""
    with pytest.raises(InvalidRequest) as raised:
        SendRequest.from_dict({**VALIDATED.to_dict(), "uploaded": [UPLOADED.to_dict()]})
    paths = [path for path, _ in raised.value.problems]
    assert paths[:2] == ["executionId", "request"]
    assert "request.amazonOrderId" in paths


def test_uploaded_attachment_shape() -> None:
    assert UPLOADED.to_dict() == {
        "uploadDestinationId": DESTINATION.upload_destination_id,
        "fileName": "Invoice-1.pdf",
        "size": 1234,
        "contentMd5": "LG7iSwmBam8U+V0WmLJOrQ==",
        "key": "attachments/inv-1.pdf",
    }
