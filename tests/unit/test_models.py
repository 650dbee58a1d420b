"""Parsing every payload that crosses a function boundary, with field-level problems, and round trips."""

from __future__ import annotations

from typing import Any

import pytest

from buyer_messaging.errors import InvalidRequest
from buyer_messaging.models import (
    MAX_ATTACHMENTS_IN_REQUEST,
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


def test_validated_request_with_bad_attachment_names_the_fields() -> None:
    data = VALIDATED.to_dict()
    data["attachments"][0]["size"] = "1234"
    del data["attachments"][0]["etag"]
    with pytest.raises(InvalidRequest) as raised:
        ValidatedRequest.from_dict(data)
    assert [path for path, _ in raised.value.problems] == ["attachments[0].size", "attachments[0].etag"]


@pytest.mark.parametrize(
    ("content_md5", "destination"),
    [(None, None), ("LG7iSwmBam8U+V0WmLJOrQ==", None), ("LG7iSwmBam8U+V0WmLJOrQ==", DESTINATION)],
    ids=["bare", "hashed", "with-destination"],
)
def test_attachment_task_round_trip(content_md5: str | None, destination: UploadDestination | None) -> None:
    task = AttachmentTask(
        amazon_order_id=support.ORDER_ID,
        marketplace_id=support.MARKETPLACE_ID,
        message_type="invoice",
        attachment=STAGED,
        content_md5=content_md5,
        destination=destination,
    )
    data = task.to_dict()
    assert ("hash" in data) == (content_md5 is not None)
    assert ("destination" in data) == (destination is not None)
    assert AttachmentTask.from_dict(data) == task


def test_attachment_task_reads_the_map_items_shape() -> None:
    task = AttachmentTask.from_dict(
        {
            "amazonOrderId": support.ORDER_ID,
            "marketplaceId": support.MARKETPLACE_ID,
            "messageType": "invoice",
            "attachment": STAGED.to_dict(),
            "hash": {"contentMd5": "abc=="},
            "destination": DESTINATION.to_dict(),
        }
    )
    assert task.require_content_md5() == "abc=="
    assert task.require_destination() == DESTINATION
    assert task.destination is not None
    assert task.destination.headers["x-amz-server-side-encryption"] == "aws:kms"


def test_attachment_task_without_hash_or_destination_refuses_to_use_them() -> None:
    task = AttachmentTask.from_dict(
        {
            "amazonOrderId": support.ORDER_ID,
            "marketplaceId": support.MARKETPLACE_ID,
            "messageType": "invoice",
            "attachment": STAGED.to_dict(),
        }
    )
    with pytest.raises(InvalidRequest, match="hash"):
        task.require_content_md5()
    with pytest.raises(InvalidRequest, match="destination"):
        task.require_destination()


@pytest.mark.parametrize(
    ("mutate", "paths"),
    [
        (lambda d: d.pop("attachment"), ["attachment", "attachment.bucket"]),
        (lambda d: d["attachment"].pop("key"), ["attachment.key"]),
        (lambda d: d.update(hash={}), ["hash.contentMd5"]),
        (lambda d: d.update(hash="abc"), ["hash", "hash.contentMd5"]),
        (lambda d: d["destination"].pop("url"), ["destination.url"]),
        (lambda d: d["destination"].update(headers={"Content-MD5": 1}), ["destination.headers"]),
        (lambda d: d["destination"].update(headers=["Content-MD5"]), ["destination.headers"]),
        (lambda d: d.pop("amazonOrderId"), ["amazonOrderId"]),
    ],
)
def test_attachment_task_problems_name_the_field(mutate: Any, paths: list[str]) -> None:
    data = AttachmentTask(support.ORDER_ID, support.MARKETPLACE_ID, "invoice", STAGED, "abc==", DESTINATION).to_dict()
    mutate(data)
    with pytest.raises(InvalidRequest) as raised:
        AttachmentTask.from_dict(data)
    found = [path for path, _ in raised.value.problems]
    assert found[: len(paths)] == paths


@pytest.mark.parametrize("uploaded", [(), (UPLOADED,)], ids=["text-only", "with-upload"])
def test_send_request_round_trip(uploaded: tuple[UploadedAttachment, ...]) -> None:
    send = SendRequest(request=VALIDATED, uploaded=uploaded)
    data = send.to_dict()
    assert data["uploaded"] == [item.to_dict() for item in uploaded]
    assert {k: v for k, v in data.items() if k != "uploaded"} == VALIDATED.to_dict()
    assert SendRequest.from_dict(data) == send


def test_send_request_reads_the_state_with_uploaded() -> None:
    send = SendRequest.from_dict({**VALIDATED.to_dict(), "uploaded": [UPLOADED.to_dict()]})
    assert send.request == VALIDATED
    assert send.uploaded == (UPLOADED,)


def test_send_request_without_uploaded_has_none() -> None:
    assert SendRequest.from_dict(VALIDATED.to_dict()).uploaded == ()


def test_send_request_bad_upload_names_the_field() -> None:
    bad = UPLOADED.to_dict()
    del bad["uploadDestinationId"]
    with pytest.raises(InvalidRequest) as raised:
        SendRequest.from_dict({**VALIDATED.to_dict(), "uploaded": [UPLOADED.to_dict(), bad]})
    assert [path for path, _ in raised.value.problems] == ["uploaded[1].uploadDestinationId"]


def test_uploaded_attachment_shape() -> None:
    assert UPLOADED.to_dict() == {
        "uploadDestinationId": DESTINATION.upload_destination_id,
        "fileName": "Invoice-1.pdf",
        "size": 1234,
        "contentMd5": "LG7iSwmBam8U+V0WmLJOrQ==",
        "key": "attachments/inv-1.pdf",
    }
