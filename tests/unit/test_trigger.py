"""From an S3 notification to message requests and deterministic execution names."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from buyer_messaging import naming, trigger
from buyer_messaging.errors import InvalidRequest, UnsupportedS3Key
from buyer_messaging.models import AttachmentRef
from buyer_messaging.trigger import StagedObjectEvent
from tests import support

OUTBOX_KEY = f"outbox/{support.MARKETPLACE_ID}/{support.ORDER_ID}/invoice/Invoice-1.pdf"
NAME_CHARACTERS = re.compile(r"^[A-Za-z0-9_-]+$")


def _record(key: str, *, bucket: str = support.BUCKET, **object_fields: Any) -> dict[str, Any]:
    return {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, **object_fields}},
    }


def _staged(key: str, version_id: str | None = "v1", etag: str | None = '"abc"') -> StagedObjectEvent:
    return StagedObjectEvent(bucket=support.BUCKET, key=key, version_id=version_id, etag=etag, size=10)


def _never_read(bucket: str, key: str, version_id: str | None) -> object:
    raise AssertionError(f"{key} must not be read")


class _Documents:
    """A fake reader of request documents that records what it was asked for."""

    def __init__(self, document: object) -> None:
        self.document = document
        self.calls: list[tuple[str, str, str | None]] = []

    def __call__(self, bucket: str, key: str, version_id: str | None) -> object:
        self.calls.append((bucket, key, version_id))
        return self.document


# --- parse_s3_event --------------------------------------------------------------------------------------


def test_sample_event_is_parsed() -> None:
    (staged,) = trigger.parse_s3_event(support.load_event("start_workflow/s3-outbox-invoice.json"))
    assert staged == StagedObjectEvent(
        bucket=support.BUCKET,
        key="outbox/ATVPDKIKX0DER/123-1234567-1234567/invoice/Invoice 123-1234567-1234567.pdf",
        version_id="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
        etag="2c6ee24b09816a6f14f95d1698b24ead",
        size=1234,
    )


@pytest.mark.parametrize(
    ("encoded", "key"),
    [
        ("outbox/A/B/invoice/Invoice+1.pdf", "outbox/A/B/invoice/Invoice 1.pdf"),
        ("outbox/A/B/invoice/Invoice%201.pdf", "outbox/A/B/invoice/Invoice 1.pdf"),
        ("outbox/A/B/invoice/Rechnung-M%C3%BCller.pdf", "outbox/A/B/invoice/Rechnung-Müller.pdf"),
        ("outbox/A/B/invoice/%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf", "outbox/A/B/invoice/請求書.pdf"),
        ("outbox/A/B/invoice/a%2Bb.pdf", "outbox/A/B/invoice/a+b.pdf"),
        ("outbox/A/B/invoice/100%25.pdf", "outbox/A/B/invoice/100%.pdf"),
        ("requests/plain.json", "requests/plain.json"),
    ],
)
def test_keys_are_url_decoded(encoded: str, key: str) -> None:
    (staged,) = trigger.parse_s3_event({"Records": [_record(encoded)]})
    assert staged.key == key


def test_every_record_is_parsed_in_order() -> None:
    event = {"Records": [_record("requests/a.json", versionId="1"), _record("requests/b.json", bucket="other")]}
    parsed = trigger.parse_s3_event(event)
    assert [(s.bucket, s.key, s.version_id) for s in parsed] == [
        (support.BUCKET, "requests/a.json", "1"),
        ("other", "requests/b.json", None),
    ]


def test_optional_object_fields() -> None:
    (staged,) = trigger.parse_s3_event({"Records": [_record("requests/a.json", versionId="", size="12")]})
    assert staged.version_id is None
    assert staged.etag is None
    assert staged.size is None


@pytest.mark.parametrize(
    ("version_id", "etag", "version"),
    [("v1", '"abc"', "v1"), (None, '"abc"', "abc"), (None, "abc", "abc"), (None, None, "")],
)
def test_version_is_the_version_id_else_the_etag(version_id: str | None, etag: str | None, version: str) -> None:
    assert _staged("requests/a.json", version_id, etag).version == version


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"Records": None},
        {"Records": {"s3": {}}},
        {"Service": "Amazon S3", "Event": "s3:ObjectCreated:Put"},
        [],
        None,
        "Records",
    ],
)
def test_event_without_records(event: object) -> None:
    with pytest.raises(InvalidRequest, match="Records"):
        trigger.parse_s3_event(event)


def test_the_test_event_s3_sends_when_notifications_are_configured_starts_nothing() -> None:
    event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-27T04:00:00.000Z",
        "Bucket": support.BUCKET,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3e",
    }
    assert trigger.parse_s3_event(event) == []


def test_no_records_means_no_objects() -> None:
    assert trigger.parse_s3_event({"Records": []}) == []


@pytest.mark.parametrize(
    "bad_record",
    [
        {"eventSource": "aws:sqs", "body": "{}"},
        "s3",
        None,
        {"s3": None},
        {"s3": {"object": {"key": "requests/a.json"}}},
        {"s3": {"bucket": None, "object": {"key": "requests/a.json"}}},
        {"s3": {"bucket": "bucket-name", "object": {"key": "requests/a.json"}}},
        {"s3": {"bucket": {"name": 7}, "object": {"key": "requests/a.json"}}},
        {"s3": {"bucket": {"name": support.BUCKET}}},
        {"s3": {"bucket": {"name": support.BUCKET}, "object": "requests/a.json"}},
        {"s3": {"bucket": {"name": support.BUCKET}, "object": {"size": 3}}},
        {"s3": {"bucket": {"name": support.BUCKET}, "object": {"key": None}}},
    ],
)
def test_record_that_is_no_s3_object_record(bad_record: object) -> None:
    with pytest.raises(InvalidRequest) as raised:
        trigger.parse_s3_event({"Records": [_record("requests/ok.json"), bad_record]})
    assert "Records[1]" in str(raised.value)


# --- request_for_object: outbox/ -------------------------------------------------------------------------


def test_outbox_key_makes_a_one_attachment_request() -> None:
    request = trigger.request_for_object(_staged(OUTBOX_KEY), _never_read)
    assert request.amazon_order_id == support.ORDER_ID
    assert request.marketplace_id == support.MARKETPLACE_ID
    assert request.message_type == "invoice"
    assert request.text is None
    assert request.attachments == (AttachmentRef(support.BUCKET, OUTBOX_KEY, "Invoice-1.pdf"),)


@pytest.mark.parametrize("alias", ["sendInvoice", "SENDINVOICE", "CreateWarranty", "legalDisclosure"])
def test_outbox_message_type_is_kept_as_given(alias: str) -> None:
    key = f"outbox/{support.MARKETPLACE_ID}/{support.ORDER_ID}/{alias}/file.pdf"
    assert trigger.request_for_object(_staged(key), _never_read).message_type == alias


def test_outbox_file_name_is_the_decoded_last_part() -> None:
    (staged,) = trigger.parse_s3_event(
        {"Records": [_record(f"outbox/{support.MARKETPLACE_ID}/{support.ORDER_ID}/invoice/Rechnung+M%C3%BCller.pdf")]}
    )
    request = trigger.request_for_object(staged, _never_read)
    assert request.attachments[0].file_name == "Rechnung Müller.pdf"
    assert request.attachments[0].key == staged.key


@pytest.mark.parametrize(
    "key",
    [
        "outbox/a/b.pdf",
        "outbox/file.pdf",
        "outbox/",
        f"outbox/{support.MARKETPLACE_ID}/{support.ORDER_ID}/invoice",
        f"outbox/{support.MARKETPLACE_ID}/{support.ORDER_ID}/invoice/",
        f"outbox/{support.MARKETPLACE_ID}/{support.ORDER_ID}/invoice/sub/file.pdf",
        f"outbox/{support.MARKETPLACE_ID}//invoice/file.pdf",
        f"outbox//{support.ORDER_ID}/invoice/file.pdf",
        f"outbox/{support.MARKETPLACE_ID}/{support.ORDER_ID}//file.pdf",
    ],
)
def test_outbox_key_of_the_wrong_shape(key: str) -> None:
    with pytest.raises(UnsupportedS3Key) as raised:
        trigger.request_for_object(_staged(key), _never_read)
    assert key in str(raised.value)


def test_outbox_key_with_a_bad_order_id_is_an_invalid_request() -> None:
    key = f"outbox/{support.MARKETPLACE_ID}/not-an-order/invoice/file.pdf"
    with pytest.raises(InvalidRequest) as raised:
        trigger.request_for_object(_staged(key), _never_read)
    assert raised.value.problems[0][0] == "amazonOrderId"


# --- request_for_object: requests/ -----------------------------------------------------------------------


def test_request_document_is_read_with_the_objects_version() -> None:
    document = support.load_event("statemachine/invoice.json")
    reader = _Documents(document)
    request = trigger.request_for_object(_staged("requests/invoice-1.json", version_id="v7"), reader)
    assert reader.calls == [(support.BUCKET, "requests/invoice-1.json", "v7")]
    assert request.amazon_order_id == document["amazonOrderId"]
    assert request.message_type == "invoice"
    assert request.attachments[0].key == document["attachments"][0]["key"]


def test_request_document_attachments_default_to_the_objects_bucket() -> None:
    document = {
        "amazonOrderId": support.ORDER_ID,
        "marketplaceId": support.MARKETPLACE_ID,
        "messageType": "invoice",
        "attachments": [{"key": "attachments/a.pdf"}, {"bucket": "elsewhere", "key": "b.pdf"}],
    }
    staged = StagedObjectEvent(bucket="another-bucket", key="requests/r.json", version_id=None, etag="e", size=1)
    request = trigger.request_for_object(staged, _Documents(document))
    assert [a.bucket for a in request.attachments] == ["another-bucket", "elsewhere"]


@pytest.mark.parametrize(
    "key", ["requests/a/b.json", "requests/a/", "requests/request.txt", "requests/request", "requests/request.json.bak"]
)
def test_request_key_of_the_wrong_shape(key: str) -> None:
    reader = _Documents({})
    with pytest.raises(UnsupportedS3Key) as raised:
        trigger.request_for_object(_staged(key), reader)
    assert key in str(raised.value)
    assert reader.calls == []


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        "invoice",
        {"amazonOrderId": support.ORDER_ID},
        {**support.load_event("statemachine/invoice.json"), "attachments": "attachments/a.pdf"},
        {**support.load_event("statemachine/invoice.json"), "unknown": 1},
    ],
)
def test_malformed_request_document(document: object) -> None:
    with pytest.raises(InvalidRequest):
        trigger.request_for_object(_staged("requests/r.json"), _Documents(document))


def test_reader_errors_propagate() -> None:
    def broken(bucket: str, key: str, version_id: str | None) -> object:
        raise InvalidRequest("not JSON")

    with pytest.raises(InvalidRequest, match="not JSON"):
        trigger.request_for_object(_staged("requests/r.json"), broken)


@pytest.mark.parametrize(
    "key",
    ["attachments/inv-1.pdf", "Outbox/A/B/invoice/x.pdf", "REQUESTS/r.json", "inbox/r.json", "requests", "x.json", ""],
)
def test_other_prefixes_are_unsupported(key: str) -> None:
    with pytest.raises(UnsupportedS3Key) as raised:
        trigger.request_for_object(_staged(key), _never_read)
    assert "outbox/" in str(raised.value)
    assert "requests/" in str(raised.value)


# --- execution_name --------------------------------------------------------------------------------------


def test_execution_name_is_deterministic() -> None:
    first = trigger.execution_name(_staged(OUTBOX_KEY), "123-1234567-1234567-invoice")
    again = trigger.execution_name(_staged(OUTBOX_KEY), "123-1234567-1234567-invoice")
    assert first == again


def test_execution_name_differs_for_another_version() -> None:
    assert trigger.execution_name(_staged(OUTBOX_KEY, "v1")) != trigger.execution_name(_staged(OUTBOX_KEY, "v2"))


def test_execution_name_differs_for_another_etag_without_versions() -> None:
    one = trigger.execution_name(_staged(OUTBOX_KEY, None, '"aaa"'))
    other = trigger.execution_name(_staged(OUTBOX_KEY, None, '"bbb"'))
    assert one != other


def test_execution_name_ignores_etag_quotes() -> None:
    assert trigger.execution_name(_staged(OUTBOX_KEY, None, '"aaa"')) == trigger.execution_name(
        _staged(OUTBOX_KEY, None, "aaa")
    )


def test_execution_name_differs_for_another_key_or_bucket() -> None:
    base = _staged(OUTBOX_KEY)
    other_key = _staged(OUTBOX_KEY.replace("Invoice-1", "Invoice-2"))
    other_bucket = StagedObjectEvent("other-bucket", base.key, base.version_id, base.etag, base.size)
    names = {trigger.execution_name(s) for s in (base, other_key, other_bucket)}
    assert len(names) == 3


def test_execution_name_separates_its_parts() -> None:
    # bucket "ab" + key "c" must not collide with bucket "a" + key "bc".
    one = StagedObjectEvent("ab", "c", "v", None, None)
    other = StagedObjectEvent("a", "bc", "v", None, None)
    assert trigger.execution_name(one) != trigger.execution_name(other)


def test_execution_name_keeps_a_readable_hint() -> None:
    name = trigger.execution_name(_staged(OUTBOX_KEY), "123-1234567-1234567-invoice")
    assert name.startswith("123-1234567-1234567-invoice-")


def test_execution_name_hint_does_not_change_the_identity_part() -> None:
    plain = trigger.execution_name(_staged(OUTBOX_KEY))
    hinted = trigger.execution_name(_staged(OUTBOX_KEY), "order-invoice")
    assert hinted.endswith("-" + plain)


@pytest.mark.parametrize(
    "hint",
    [
        "",
        "123-1234567-1234567-invoice",
        "Rechnung Müller / 請求書 : <script>",
        "x" * 500,
        "-" * 100,
        "a.b.c~d!e@f#g$h%i^j&k*l(m)n",
        "\n\t\x00",
    ],
)
def test_execution_name_is_a_valid_step_functions_name(hint: str) -> None:
    name = trigger.execution_name(_staged(OUTBOX_KEY), hint)
    assert 1 <= len(name) <= naming.EXECUTION_NAME_MAX_LENGTH == 80
    assert NAME_CHARACTERS.match(name), name
    assert not name.startswith("-")


def test_very_long_hint_is_truncated_not_the_identity() -> None:
    long_hint = "order-" + "x" * 300
    name = trigger.execution_name(_staged(OUTBOX_KEY), long_hint)
    assert len(name) == 80
    assert name.startswith("order-xxx")
    assert name.endswith(trigger.execution_name(_staged(OUTBOX_KEY)))


def test_unsafe_hint_characters_become_dashes() -> None:
    name = trigger.execution_name(_staged(OUTBOX_KEY), "a b/c")
    assert name.startswith("a-b-c-")


# --- describe --------------------------------------------------------------------------------------------


def test_describe_leaves_the_text_out() -> None:
    request = trigger.request_for_object(
        _staged("requests/r.json"),
        _Documents(support.load_event("statemachine/unexpectedProblem-text-only.json")),
    )
    summary = trigger.describe(request)
    assert summary == {
        "amazonOrderId": support.ORDER_ID,
        "marketplaceId": support.MARKETPLACE_ID,
        "messageType": "unexpectedProblem",
        "attachments": 0,
    }
    assert request.text is not None
    assert request.text not in json.dumps(summary)
