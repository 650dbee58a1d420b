"""The request checked against the order's schema (and the catalog's fallbacks) before any upload."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from buyer_messaging import catalog, messaging, validation
from buyer_messaging.catalog import AttachmentRule, TextRule
from buyer_messaging.errors import (
    ActionSchemaUnreadable,
    InvalidAttachments,
    InvalidMessageText,
    InvalidRequest,
    MessageTypeNotAvailable,
)
from buyer_messaging.messaging import AvailableAction
from buyer_messaging.models import AttachmentRef, MessageRequest
from buyer_messaging.validation import StagedObject
from tests import support

ETAG = '"2c6ee24b09816a6f14f95d1698b24ead"'


def _action(name: str, schema: dict[str, Any] | None = None, *, title: str = "") -> AvailableAction:
    message_type = catalog.message_type(name)
    return AvailableAction(
        name=message_type.operation,
        message_type=message_type,
        title=title,
        schema=support.schema_for(message_type) if schema is None else schema,
    )


def _schema(name: str, **properties: dict[str, Any] | None) -> dict[str, Any]:
    """The catalog-like schema of ``name`` with some properties changed (None removes one)."""
    schema = copy.deepcopy(support.schema_for(catalog.message_type(name)))
    for prop, changes in properties.items():
        if changes is None:
            schema["properties"].pop(prop, None)
            schema["required"] = [r for r in schema["required"] if r != prop]
        else:
            schema["properties"][prop].update(changes)
    return schema


def _request(
    message_type: str,
    *,
    text: str | None = None,
    files: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
) -> MessageRequest:
    return MessageRequest(
        amazon_order_id=support.ORDER_ID,
        marketplace_id=support.MARKETPLACE_ID,
        message_type=message_type,
        text=text,
        attachments=tuple(
            AttachmentRef(support.BUCKET, f"attachments/{i}", name) for i, name in enumerate(files or [])
        ),
        coverage_start_date=start,
        coverage_end_date=end,
    )


def _staged(*sizes: int) -> list[StagedObject]:
    return [StagedObject(size=size, etag=ETAG) for size in sizes]


def _validate(
    message_type: str,
    *,
    text: str | None = None,
    files: list[str] | None = None,
    sizes: list[int] | None = None,
    schema: dict[str, Any] | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Any:
    files = files or []
    request = _request(message_type, text=text, files=files, start=start, end=end)
    staged = _staged(*(sizes if sizes is not None else [1000] * len(files)))
    return validation.validate(request, _action(message_type, schema), staged)


# --- marketplace -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "marketplace_id", ["", "atvpdkikx0der", "XTVPDKIKX0DER", "A12", "ATVPDKIKX0DER ", "ATVPDKIKX0-ER", "A" * 20]
)
def test_marketplace_id_of_the_wrong_shape(marketplace_id: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        validation.check_marketplace(marketplace_id, "na")
    assert raised.value.problems[0][0] == "marketplaceId"


def test_marketplace_of_another_region_names_its_region() -> None:
    with pytest.raises(InvalidRequest) as raised:
        validation.check_marketplace("A1PA6795UKMFR9", "na")
    assert "'eu'" in str(raised.value)
    assert "DE" in str(raised.value)
    assert raised.value.problems == (("marketplaceId", "belongs to region eu, not na"),)


@pytest.mark.parametrize(
    ("marketplace_id", "region"),
    [
        ("ATVPDKIKX0DER", "na"),
        ("A2EUQ1WTGCTBG2", "sandbox-na"),
        ("A1PA6795UKMFR9", "eu"),
        ("A1PA6795UKMFR9", "sandbox-eu"),
        ("A21TJRUUN4KGV", "eu"),
        ("A1VC38T7YXB528", "fe"),
        ("A39IBJ37TRP1C6", "sandbox-fe"),
    ],
)
def test_marketplace_of_the_configured_region(marketplace_id: str, region: str) -> None:
    validation.check_marketplace(marketplace_id, region)


@pytest.mark.parametrize(("marketplace_id", "region"), [("ATVPDKIKX0DER", "sandbox-eu"), ("A1VC38T7YXB528", "na")])
def test_sandbox_regions_are_their_base_region(marketplace_id: str, region: str) -> None:
    with pytest.raises(InvalidRequest):
        validation.check_marketplace(marketplace_id, region)


@pytest.mark.parametrize("region", ["na", "eu", "fe", "sandbox-eu"])
def test_unknown_well_formed_marketplace_is_accepted(region: str) -> None:
    validation.check_marketplace("A3NEWMARKET9X", region)


# --- text_rule / attachment_rule -------------------------------------------------------------------------


def test_text_rule_takes_the_schemas_max_length() -> None:
    rule = validation.text_rule(
        catalog.message_type("unexpectedProblem"), _schema("unexpectedProblem", rawMessageBody={"maxLength": 1500})
    )
    assert rule == TextRule(min_length=1, max_length=1500, required=True)


def test_text_rule_never_exceeds_the_catalogs_limit() -> None:
    schema = _schema("confirmCustomizationDetails", rawMessageBody={"maxLength": 5000})
    rule = validation.text_rule(catalog.message_type("confirmCustomizationDetails"), schema)
    assert rule is not None
    assert rule.max_length == 800


def test_text_rule_takes_the_schemas_min_length_and_required() -> None:
    schema = _schema("unexpectedProblem", rawMessageBody={"minLength": 10})
    schema["required"] = []
    rule = validation.text_rule(catalog.message_type("unexpectedProblem"), schema)
    assert rule == TextRule(min_length=10, max_length=2000, required=False)


@pytest.mark.parametrize("bad", ["1500", 1500.0, True, None])
def test_text_rule_ignores_a_max_length_that_is_no_integer(bad: object) -> None:
    rule = validation.text_rule(
        catalog.message_type("unexpectedProblem"), _schema("unexpectedProblem", rawMessageBody={"maxLength": bad})
    )
    assert rule is not None
    assert rule.max_length == 2000


def test_schema_without_raw_message_body_allows_no_text() -> None:
    schema = _schema("confirmCustomizationDetails", rawMessageBody=None)
    assert "attachments" in schema["properties"]
    assert validation.text_rule(catalog.message_type("confirmCustomizationDetails"), schema) is None


@pytest.mark.parametrize("schema", [{}, {"properties": {}}, {"properties": None}, {"type": "object", "properties": []}])
def test_empty_schema_falls_back_to_the_catalog(schema: dict[str, Any]) -> None:
    for message_type in catalog.MESSAGE_TYPES:
        assert validation.text_rule(message_type, schema) == message_type.text
        assert validation.attachment_rule(message_type, schema) == message_type.attachments


def test_type_without_text_has_no_text_rule_whatever_the_schema() -> None:
    schema = _schema("invoice")
    schema["properties"]["rawMessageBody"] = {"type": "string", "maxLength": 2000}
    assert validation.text_rule(catalog.message_type("invoice"), schema) is None


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"maxItems": 2}, AttachmentRule(min_count=1, max_count=2)),
        ({"maxItems": 10}, AttachmentRule(min_count=1, max_count=5)),
        ({"minItems": 2, "maxItems": 3}, AttachmentRule(min_count=2, max_count=3)),
    ],
)
def test_attachment_rule_takes_the_schemas_counts(changes: dict[str, Any], rule: AttachmentRule) -> None:
    assert validation.attachment_rule(catalog.message_type("invoice"), _schema("invoice", attachments=changes)) == rule


def test_attachments_required_by_the_schema_need_one() -> None:
    schema = _schema("digitalAccessKey", attachments={"minItems": 0})
    schema["required"] = ["attachments"]
    rule = validation.attachment_rule(catalog.message_type("digitalAccessKey"), schema)
    assert rule == AttachmentRule(min_count=1, max_count=5)


def test_schema_without_attachments_allows_none() -> None:
    schema = _schema("digitalAccessKey", attachments=None)
    assert validation.attachment_rule(catalog.message_type("digitalAccessKey"), schema) is None


def test_type_without_attachments_has_no_attachment_rule() -> None:
    schema = _schema("unexpectedProblem")
    schema["properties"]["attachments"] = {"type": "array", "maxItems": 5}
    assert validation.attachment_rule(catalog.message_type("unexpectedProblem"), schema) is None


# --- resolve_action --------------------------------------------------------------------------------------


def test_type_not_listed_names_the_allowed_types() -> None:
    actions = messaging.parse_actions(support.actions_body(["updateFeedback", "unexpectedProblem", "sendInvoice"]))
    with pytest.raises(MessageTypeNotAvailable) as raised:
        validation.resolve_action(catalog.message_type("warranty"), actions, support.ORDER_ID)
    message = str(raised.value)
    assert "'warranty'" in message
    assert support.ORDER_ID in message
    assert "unexpectedProblem, invoice" in message
    assert "updateFeedback" not in message


def test_no_action_at_all_says_none() -> None:
    with pytest.raises(MessageTypeNotAvailable, match="types allowed now: none"):
        validation.resolve_action(catalog.message_type("invoice"), [], support.ORDER_ID)


@pytest.mark.parametrize(
    ("listed", "wanted"), [("sendInvoice", "invoice"), ("invoice", "sendInvoice"), ("CreateWarranty", "warranty")]
)
def test_either_spelling_resolves(listed: str, wanted: str) -> None:
    actions = messaging.parse_actions(support.actions_body([listed]))
    action = validation.resolve_action(catalog.message_type(wanted), actions, support.ORDER_ID)
    assert action.name == listed
    assert action.message_type is catalog.message_type(wanted)


def test_disabled_type_names_the_reason() -> None:
    schema = support.schema_for(catalog.message_type("invoice"))
    schema.update(disabled=True, disabledReason="An invoice was already sent for this order")
    actions = messaging.parse_actions(support.actions_body(["sendInvoice"], schemas={"sendInvoice": schema}))
    with pytest.raises(MessageTypeNotAvailable) as raised:
        validation.resolve_action(catalog.message_type("invoice"), actions, support.ORDER_ID)
    assert "disabled" in str(raised.value)
    assert "An invoice was already sent for this order" in str(raised.value)


def test_disabled_type_without_reason() -> None:
    schema = support.schema_for(catalog.message_type("invoice"))
    schema["disabled"] = True
    actions = messaging.parse_actions(support.actions_body(["sendInvoice"], schemas={"sendInvoice": schema}))
    with pytest.raises(MessageTypeNotAvailable, match="no reason given"):
        validation.resolve_action(catalog.message_type("invoice"), actions, support.ORDER_ID)


@pytest.mark.parametrize("model_shape", [False, True], ids=["answer shape", "model shape"])
def test_a_type_whose_schema_cannot_be_read_is_refused_by_name(model_shape: bool) -> None:
    body = support.actions_body(["sendInvoice"], model_shape=model_shape)
    schema = body["_embedded"]["actions"][0]["_embedded"]["schema"]
    if model_shape:
        schema["payload"] = "unavailable"
    else:
        del schema["properties"]
    actions = messaging.parse_actions(body)
    request = _request("invoice", files=["Invoice.pdf"])
    detail = (
        "its embedded schema is a string, not a JSON object"
        if model_shape
        else "its embedded schema has no 'properties' object (keys: $schema, description, disabled, disabledReason, "
        "name, required, title, type)"
    )
    expected = (
        f"Amazon lists the message type 'invoice' for order {support.ORDER_ID}, but {detail}: its limits for this "
        "order are unknown, so nothing was uploaded or sent. If sending again later fails the same way, Amazon's "
        "getMessagingActionsForOrder answer has a shape this workflow does not read: report it."
    )

    with pytest.raises(ActionSchemaUnreadable) as resolved:
        validation.resolve_action(catalog.message_type("invoice"), actions, support.ORDER_ID)
    with pytest.raises(ActionSchemaUnreadable) as validated:
        validation.validate(request, actions[0], _staged(10))

    assert str(resolved.value) == str(validated.value) == expected
    assert not resolved.value.transient


# --- validate: text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message_type", "limit"),
    [
        ("unexpectedProblem", 2000),
        ("confirmOrderDetails", 2000),
        ("confirmCustomizationDetails", 800),
        ("digitalAccessKey", 400),
    ],
)
def test_text_exactly_at_the_limit(message_type: str, limit: int) -> None:
    assert _validate(message_type, text="x" * limit).text == "x" * limit


@pytest.mark.parametrize(
    ("message_type", "limit"),
    [
        ("unexpectedProblem", 2000),
        ("confirmServiceDetails", 2000),
        ("confirmCustomizationDetails", 800),
        ("digitalAccessKey", 400),
    ],
)
def test_text_one_over_the_limit(message_type: str, limit: int) -> None:
    with pytest.raises(InvalidMessageText) as raised:
        _validate(message_type, text="x" * (limit + 1))
    assert str(limit) in str(raised.value)
    assert raised.value.problems[0][0] == "text"


def test_text_limit_from_the_schema() -> None:
    schema = _schema("unexpectedProblem", rawMessageBody={"maxLength": 1500})
    _validate("unexpectedProblem", text="x" * 1500, schema=schema)
    with pytest.raises(InvalidMessageText, match="1500"):
        _validate("unexpectedProblem", text="x" * 1501, schema=schema)


def test_text_min_length_from_the_schema() -> None:
    schema = _schema("unexpectedProblem", rawMessageBody={"minLength": 10})
    with pytest.raises(InvalidMessageText, match="at least 10"):
        _validate("unexpectedProblem", text="too short", schema=schema)


@pytest.mark.parametrize("char", ["ü", "€", "請"])
def test_non_ascii_text_counts_characters_not_bytes(char: str) -> None:
    text = char * 2000
    assert len(text.encode("utf-8")) > 2000
    assert _validate("unexpectedProblem", text=text).text == text
    with pytest.raises(InvalidMessageText):
        _validate("unexpectedProblem", text=char * 2001)


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_required_text_missing_or_blank(text: str | None) -> None:
    with pytest.raises(InvalidMessageText) as raised:
        _validate("unexpectedProblem", text=text)
    assert raised.value.problems == (("text", "is required"),)


@pytest.mark.parametrize("text", ["", "  "])
def test_blank_optional_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidMessageText) as raised:
        _validate("digitalAccessKey", text=text, files=["key.txt"])
    assert raised.value.problems == (("text", "is blank"),)


def test_optional_text_may_be_left_out() -> None:
    assert _validate("digitalAccessKey", files=["key.txt"]).text is None


@pytest.mark.parametrize("message_type", ["invoice", "warranty", "legalDisclosure"])
def test_text_for_a_type_that_takes_none(message_type: str) -> None:
    with pytest.raises(InvalidMessageText) as raised:
        _validate(message_type, text="Hello", files=["a.pdf"])
    assert raised.value.problems == (("text", "is not allowed for this message type"),)


def test_text_for_an_order_whose_schema_offers_none() -> None:
    schema = _schema("confirmCustomizationDetails", rawMessageBody=None)
    with pytest.raises(InvalidMessageText):
        _validate("confirmCustomizationDetails", text="Hello", files=["a.png"], schema=schema)


def test_neither_text_nor_attachments() -> None:
    with pytest.raises(InvalidMessageText, match="neither"):
        _validate("digitalAccessKey")


def test_an_attachment_type_whose_schema_allows_none_still_needs_one() -> None:
    # A schema may say minItems 0, but an invoice without a file is no message at all.
    schema = _schema("invoice", attachments={"minItems": 0})
    schema["required"] = []
    with pytest.raises(InvalidAttachments, match="at least one attachment") as raised:
        _validate("invoice", schema=schema)
    assert raised.value.problems == (("attachments", "at least 1 required"),)


@pytest.mark.parametrize(
    "file_name", ["\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.pdf", "\u0915\u094d\u200d\u0937.pdf"]
)
def test_joiners_used_in_persian_and_indic_names_are_accepted(file_name: str) -> None:
    validated = _validate("invoice", files=[file_name])
    assert validated.attachments[0].file_name == file_name


# --- validate: attachments -------------------------------------------------------------------------------


@pytest.mark.parametrize("message_type", ["unexpectedProblem", "confirmDeliveryDetails", "confirmOrderDetails"])
def test_attachments_for_a_type_that_takes_none(message_type: str) -> None:
    with pytest.raises(InvalidAttachments) as raised:
        _validate(message_type, text="Hello", files=["a.pdf"])
    assert raised.value.problems == (("attachments", "are not allowed for this message type"),)


def test_attachments_for_an_order_whose_schema_offers_none() -> None:
    schema = _schema("digitalAccessKey", attachments=None)
    with pytest.raises(InvalidAttachments):
        _validate("digitalAccessKey", text="Key: 123", files=["a.txt"], schema=schema)


@pytest.mark.parametrize("message_type", ["invoice", "warranty", "legalDisclosure"])
def test_type_that_needs_an_attachment(message_type: str) -> None:
    with pytest.raises(InvalidAttachments) as raised:
        _validate(message_type, schema={})
    assert raised.value.problems == (("attachments", "at least 1 required"),)


def test_five_attachments_allowed_six_refused() -> None:
    assert len(_validate("invoice", files=[f"{i}.pdf" for i in range(5)]).attachments) == 5
    with pytest.raises(InvalidAttachments) as raised:
        _validate("invoice", files=[f"{i}.pdf" for i in range(6)])
    assert raised.value.problems == (("attachments", "at most 5 allowed"),)


def test_attachment_count_limit_from_the_schema() -> None:
    schema = _schema("invoice", attachments={"maxItems": 2})
    _validate("invoice", files=["1.pdf", "2.pdf"], schema=schema)
    with pytest.raises(InvalidAttachments, match="at most 2"):
        _validate("invoice", files=["1.pdf", "2.pdf", "3.pdf"], schema=schema)


def test_attachment_minimum_from_the_schema() -> None:
    schema = _schema("invoice", attachments={"minItems": 2})
    with pytest.raises(InvalidAttachments, match="at least 2"):
        _validate("invoice", files=["1.pdf"], schema=schema)


@pytest.mark.parametrize(
    ("file_name", "content_type"),
    [
        ("Invoice.pdf", "application/pdf"),
        ("Letter.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("Photo.jpg", "image/jpeg"),
        ("Photo.jpeg", "image/jpeg"),
        ("Proof.png", "image/png"),
        ("Anim.gif", "image/gif"),
        ("Notes.txt", "text/plain"),
        ("INVOICE.PDF", "application/pdf"),
        ("Rechnung-Müller.pdf", "application/pdf"),
        ("請求書.pdf", "application/pdf"),
        ("Invoice 123-1234567-1234567 (copy).pdf", "application/pdf"),
        ("x" * 251 + ".pdf", "application/pdf"),
    ],
)
def test_allowed_file_names(file_name: str, content_type: str) -> None:
    (attachment,) = _validate("invoice", files=[file_name]).attachments
    assert attachment.file_name == file_name
    assert attachment.content_type == content_type


@pytest.mark.parametrize(
    "file_name",
    [
        "setup.exe",
        "bundle.zip",
        "page.html",
        "README",
        "invoice.pdf.exe",
        "../x.pdf",
        "a/b.pdf",
        "a\\b.pdf",
        "..\\..\\x.pdf",
        ".pdf",
        ".hidden.pdf",
        " invoice.pdf",
        "invoice.pdf ",
        "",
        "   ",
        "in\x00voice.pdf",
        "in\nvoice.pdf",
        "in\rvoice.pdf",
        "in\tvoice.pdf",
        "in\x7fvoice.pdf",
        "fdp.\u202eexe.pdf",
        "invoice\u2066.pdf",
        "in\u200bvoice.pdf",
        "x" * 252 + ".pdf",
    ],
)
def test_refused_file_names(file_name: str) -> None:
    with pytest.raises(InvalidAttachments) as raised:
        _validate("invoice", files=[file_name])
    assert raised.value.problems[0][0] == "attachments[0].fileName"


def test_every_bad_attachment_is_named() -> None:
    with pytest.raises(InvalidAttachments) as raised:
        _validate("invoice", files=["ok.pdf", "bad.exe", "ok2.pdf", "a/b.pdf"], sizes=[10, 10, 0, 10])
    assert [path for path, _ in raised.value.problems] == [
        "attachments[1].fileName",
        "attachments[2]",
        "attachments[3].fileName",
    ]


def test_empty_file_is_refused() -> None:
    with pytest.raises(InvalidAttachments) as raised:
        _validate("invoice", files=["Invoice.pdf"], sizes=[0])
    assert raised.value.problems == (("attachments[0]", f"s3://{support.BUCKET}/attachments/0 is empty (0 bytes)"),)


@pytest.mark.parametrize("sizes", [[9_999_999], [5_000_000, 4_999_999], [1] * 4 + [9_999_995]])
def test_total_just_under_ten_megabytes(sizes: list[int]) -> None:
    validated = _validate("invoice", files=[f"{i}.pdf" for i in range(len(sizes))], sizes=sizes)
    assert sum(a.size for a in validated.attachments) == 9_999_999


@pytest.mark.parametrize("sizes", [[10_000_000], [5_000_000, 5_000_000], [10_485_760]])
def test_total_of_ten_megabytes_or_more(sizes: list[int]) -> None:
    with pytest.raises(InvalidAttachments) as raised:
        _validate("invoice", files=[f"{i}.pdf" for i in range(len(sizes))], sizes=sizes)
    ((path, message),) = raised.value.problems
    assert path == "attachments"
    assert "10,000,000" in message


def test_validated_attachments_carry_size_etag_and_content_type() -> None:
    validated = _validate("invoice", files=["Invoice.pdf", "Scan.png"], sizes=[1234, 99])
    assert [a.to_dict() for a in validated.attachments] == [
        {
            "bucket": support.BUCKET,
            "key": "attachments/0",
            "fileName": "Invoice.pdf",
            "size": 1234,
            "etag": ETAG,
            "contentType": "application/pdf",
        },
        {
            "bucket": support.BUCKET,
            "key": "attachments/1",
            "fileName": "Scan.png",
            "size": 99,
            "etag": ETAG,
            "contentType": "image/png",
        },
    ]


def test_validated_request_names_the_canonical_type_and_operation() -> None:
    request = _request("sendInvoice", files=["Invoice.pdf"])
    validated = validation.validate(request, _action("invoice", title="Send Invoice Message Template"), _staged(5))
    assert validated.message_type == "invoice"
    assert validated.operation == "sendInvoice"
    assert validated.title == "Send Invoice Message Template"


def test_title_falls_back_to_the_catalog() -> None:
    assert _validate("invoice", files=["a.pdf"]).title == catalog.message_type("invoice").title


def test_action_of_an_unknown_type_is_not_sent() -> None:
    action = AvailableAction(name="updateFeedback", message_type=None, title="", schema={})
    with pytest.raises(MessageTypeNotAvailable):
        validation.validate(_request("updateFeedback"), action, [])


# --- validate: warranty coverage dates -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "sent_start", "sent_end"),
    [
        ("2026-11-27T00:00:00Z", "2028-11-27T00:00:00Z", "2026-11-27T00:00:00Z", "2028-11-27T00:00:00Z"),
        ("2026-11-27T00:00:00+01:00", "2026-11-27T00:00:00+00:00", "2026-11-26T23:00:00Z", "2026-11-27T00:00:00Z"),
        ("2026-11-27t00:00:00z", "2026-11-27T00:00:00-00:00", "2026-11-27T00:00:00Z", "2026-11-27T00:00:00Z"),
        ("2026-11-27T00:00:00.000Z", None, "2026-11-27T00:00:00Z", None),
        ("2026-11-27T00:00:00.25+05:30", None, "2026-11-26T18:30:00.25Z", None),
        ("2026-11-27T00:00:00.1234567Z", None, "2026-11-27T00:00:00.123456Z", None),
        (None, "2028-11-27T23:59:59-05:00", None, "2028-11-28T04:59:59Z"),
        # ISO 8601 forms datetime.fromisoformat reads but RFC 3339 does not: one moment each, sent as RFC 3339.
        ("20260131T000000Z", None, "2026-01-31T00:00:00Z", None),
        ("2026-W05-6T00:00Z", None, "2026-01-31T00:00:00Z", None),
        ("2026-01-31 00:00:00+01:00", None, "2026-01-30T23:00:00Z", None),
        ("2026-01-31T00:00Z", None, "2026-01-31T00:00:00Z", None),
        ("2026-01-31T00:00:00+0100", None, "2026-01-30T23:00:00Z", None),
    ],
)
def test_valid_coverage_dates_are_sent_in_utc(
    start: str | None, end: str | None, sent_start: str | None, sent_end: str | None
) -> None:
    validated = _validate("warranty", files=["Warranty.pdf"], start=start, end=end)
    assert (validated.coverage_start_date, validated.coverage_end_date) == (sent_start, sent_end)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("27/11/2026", "'27/11/2026' is not an RFC 3339 date-time (like 2026-01-31T00:00:00Z)"),
        ("next year", "'next year' is not an RFC 3339 date-time (like 2026-01-31T00:00:00Z)"),
        ("", "'' is not an RFC 3339 date-time (like 2026-01-31T00:00:00Z)"),
        ("2026-13-01T00:00:00Z", "'2026-13-01T00:00:00Z' is not a real date and time (like 2026-01-31T00:00:00Z)"),
        ("2026-11-27T25:00:00Z", "'2026-11-27T25:00:00Z' is not a real date and time (like 2026-01-31T00:00:00Z)"),
        ("2026-02-29T00:00:00Z", "'2026-02-29T00:00:00Z' is not a real date and time (like 2026-01-31T00:00:00Z)"),
        (
            "2026-11-27T00:00:00+24:00",
            "'2026-11-27T00:00:00+24:00' is not a real date and time (like 2026-01-31T00:00:00Z)",
        ),
        (
            "0001-01-01T00:00:00+01:00",
            "'0001-01-01T00:00:00+01:00' is not a real date and time (like 2026-01-31T00:00:00Z)",
        ),
        (
            "2016-12-31T23:59:60Z",
            "'2016-12-31T23:59:60Z' names a leap second, which cannot be converted to UTC here; write :59 instead "
            "of :60",
        ),
        ("2026-11-27T00:00:00", "'2026-11-27T00:00:00' needs a time zone (like 2026-01-31T00:00:00Z)"),
        ("2026-11-27 00:00", "'2026-11-27 00:00' needs a time zone (like 2026-01-31T00:00:00Z)"),
        (
            "2026-11-27",
            "'2026-11-27' is a date alone; give a date-time with a time zone (2026-11-27T00:00:00Z is the start of "
            "that day in UTC)",
        ),
    ],
)
def test_a_coverage_date_that_is_not_rfc_3339_is_refused_before_any_upload(value: str, problem: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        _validate("warranty", files=["Warranty.pdf"], start=value, end="2028-11-27T00:00:00Z")

    assert raised.value.problems == (("coverageStartDate", problem),)
    assert str(raised.value) == f"The warranty coverage dates are invalid: coverageStartDate {problem}."


def test_coverage_end_before_start() -> None:
    with pytest.raises(InvalidRequest) as raised:
        _validate("warranty", files=["Warranty.pdf"], start="2028-11-27T00:00:00Z", end="2026-11-27T00:00:00Z")
    assert raised.value.problems == (("coverageEndDate", "is before coverageStartDate"),)


def test_coverage_end_before_start_across_time_zones() -> None:
    with pytest.raises(InvalidRequest):
        _validate("warranty", files=["W.pdf"], start="2026-11-27T00:00:00Z", end="2026-11-27T00:30:00+01:00")


def test_both_bad_dates_are_named() -> None:
    with pytest.raises(InvalidRequest) as raised:
        _validate("warranty", files=["Warranty.pdf"], start="soon", end="2028-11-27")
    assert [name for name, _ in raised.value.problems] == ["coverageStartDate", "coverageEndDate"]


@pytest.mark.parametrize("message_type", ["invoice", "legalDisclosure", "digitalAccessKey"])
def test_coverage_dates_on_a_non_warranty_type(message_type: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        _validate(message_type, files=["a.pdf"], start="2026-11-27T00:00:00Z", end="2028-11-27T00:00:00Z")
    assert [name for name, _ in raised.value.problems] == ["coverageStartDate", "coverageEndDate"]
    assert message_type in str(raised.value)


def test_a_single_coverage_date_on_a_non_warranty_type() -> None:
    with pytest.raises(InvalidRequest) as raised:
        _validate("invoice", files=["a.pdf"], end="2028-11-27T00:00:00Z")
    assert raised.value.problems == (("coverageEndDate", "is only for warranty messages"),)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Write to me at seller@example.com", "must not contain email addresses"),
        ("Click <a href='https://example.com'>here</a>", "must not contain HTML"),
        ("Line one<br/>line two", "must not contain HTML"),
    ],
)
def test_text_with_html_or_email_addresses_is_refused(text: str, problem: str) -> None:
    with pytest.raises(InvalidMessageText) as raised:
        _validate("unexpectedProblem", text=text)
    assert ("text", problem) in raised.value.problems


@pytest.mark.parametrize("text", ["Delivery on 3 < 5 days", "Order 123 @ 10:00", "Track it: https://track.example/1"])
def test_text_that_only_looks_like_html_or_email_is_accepted(text: str) -> None:
    assert _validate("unexpectedProblem", text=text).text == text
