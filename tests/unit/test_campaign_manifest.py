"""A campaign's manifest read and checked before anything is sent: every bad input of issue 16 is a named error
of the whole file or one row's failure with its reason, and a bad row never stops the others."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable

import pytest

from buyer_messaging import catalog, messaging, validation
from buyer_messaging.campaigns import manifest
from buyer_messaging.campaigns.columns import COLUMN_NAMES
from buyer_messaging.campaigns.manifest import Manifest, ManifestRow, ObjectFacts
from buyer_messaging.errors import (
    ManifestInvalid,
    ManifestTooLarge,
    StagingAccessDenied,
    StagingUnavailable,
    UnsupportedS3Key,
)
from buyer_messaging.models import MessageRequest
from tests import support

BUCKET = "staging-bucket"
ORDER = "123-1234567-1234567"
US = "ATVPDKIKX0DER"
HEADER = "amazonOrderId,marketplaceId,messageType,text,attachment1,attachment1Name"
FILE = ObjectFacts(size=2_000, etag='"2c6ee24b09816a6f14f95d1698b24ead"')
NOT_UTF8_HINT = 'save it as UTF-8 (in Excel: "CSV UTF-8 (Comma delimited)") and upload it again.'


def _staged(*keys: str, calls: list[tuple[str, str]] | None = None) -> Callable[[str, str], ObjectFacts | None]:
    """object_facts for a bucket that holds ``keys`` (2,000 bytes each), recording each look-up."""

    def object_facts(bucket: str, key: str) -> ObjectFacts | None:
        if calls is not None:
            calls.append((bucket, key))
        return FILE if bucket == BUCKET and key in keys else None

    return object_facts


def _read(data: str | bytes, fmt: str = "csv", *, max_rows: int = 10_000) -> Manifest:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return manifest.read_manifest(raw, fmt, default_bucket=BUCKET, max_rows=max_rows)


def _checked(data: str | bytes, fmt: str = "csv", *keys: str, region: str = "na") -> Manifest:
    return manifest.check_rows(_read(data, fmt), object_facts=_staged(*keys), spapi_region=region)


def _verdicts(rows: Iterable[ManifestRow]) -> list[tuple[int, str | None, str | None]]:
    return [(row.number, row.error, row.cause) for row in rows]


def _refused(data: str | bytes, fmt: str = "csv", *, max_rows: int = 10_000) -> str:
    with pytest.raises((ManifestInvalid, ManifestTooLarge)) as raised:
        _read(data, fmt, max_rows=max_rows)
    return f"{type(raw := raised.value).__name__}: {raw}"


def _csv(header: str, *rows: str) -> str:
    return "\n".join([header, *rows])


def _text_row(text: str, order: str = ORDER) -> str:
    return f'{order},{US},unexpectedProblem,"{text}",,'


# --- The file as a whole -------------------------------------------------------------------------------------

EMPTY_CSV = (
    "ManifestInvalid: The manifest is empty: it has no rows. Its first line names the columns "
    "(amazonOrderId,marketplaceId,messageType,...), then one line per message."
)


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\r\n  \n"], ids=["0 bytes", "a BOM alone", "blank lines"])
def test_an_empty_csv_file_is_refused(data: bytes) -> None:
    assert _refused(data) == EMPTY_CSV


def test_an_empty_jsonl_file_is_refused() -> None:
    assert _refused(b"\n\n", "jsonl") == (
        "ManifestInvalid: The manifest is empty: it has no rows. Write one request document (a JSON object) per line."
    )


@pytest.mark.parametrize("after", ["", "\n", "\r\n", "\n\n,,,,,\n"], ids=["no newline", "LF", "CRLF", "blank rows"])
def test_a_header_without_rows_is_refused(after: str) -> None:
    assert _refused(HEADER + after) == (
        "ManifestInvalid: The manifest has a header but no rows: add one line per message below the header."
    )


@pytest.mark.parametrize(("delimiter", "named"), [(";", "';'"), ("\t", "a tab")])
def test_a_manifest_that_is_not_comma_separated_is_refused_naming_its_delimiter(delimiter: str, named: str) -> None:
    data = HEADER.replace(",", delimiter) + "\n" + _text_row("Hello").replace(",", delimiter) + "\n"
    assert _refused(data) == (
        f"ManifestInvalid: The manifest's header is separated by {named}, but manifests are comma-separated (CSV): "
        'save it with commas (in Excel: "CSV UTF-8 (Comma delimited)").'
    )


def test_a_header_with_unknown_repeated_and_missing_columns_names_each() -> None:
    data = "amazonOrderId,marketplaceid,Text,colour,messageType,messageType\n" + f"{ORDER},{US},x,red,a,b\n"
    assert _refused(data) == (
        "ManifestInvalid: The manifest's header has unknown columns 'marketplaceid' (did you mean 'marketplaceId'?), "
        "'Text' (did you mean 'text'?), 'colour'; repeated columns 'messageType'; missing required columns "
        "'marketplaceId'. The columns are (exact, case-sensitive): amazonOrderId, marketplaceId, messageType, text, "
        "coverageStartDate, coverageEndDate, sellingPartnerId, attachment1, attachment1Name, attachment2, "
        "attachment2Name, attachment3, attachment3Name, attachment4, attachment4Name, attachment5, attachment5Name."
    )


def test_a_missing_required_column_is_refused() -> None:
    assert _refused(f"amazonOrderId,messageType\n{ORDER},invoice\n").startswith(
        "ManifestInvalid: The manifest's header has missing required columns 'marketplaceId'. The columns are"
    )


def test_a_byte_that_is_not_utf8_is_named_with_its_offset_and_line() -> None:
    data = (HEADER + "\n" + _text_row("Café") + "\n").encode("utf-8").replace("é".encode(), b"\xe9")
    offset = data.index(b"\xe9")
    assert _refused(data) == (
        f"ManifestInvalid: The manifest is not UTF-8 text: the byte 0xE9 at byte offset {offset} (line 2) is not "
        f"UTF-8; {NOT_UTF8_HINT}"
    )
    # The offset is the file's, its BOM counted.
    assert f"byte offset {offset + 3} (line 2)" in _refused(b"\xef\xbb\xbf" + data)


def test_utf16_text_is_named() -> None:
    data = "\ufeff" + HEADER + "\n"
    assert _refused(data.encode("utf-16-le")) == (
        f'ManifestInvalid: The manifest is UTF-16 text (Excel\'s "Unicode Text"), not UTF-8: {NOT_UTF8_HINT}'
    )


def test_a_quote_never_closed_refuses_the_file_instead_of_swallowing_the_rows_after_it() -> None:
    left_open = f'{ORDER},{US},unexpectedProblem,"Not closed,,'
    rows = [HEADER, _text_row("Fine"), left_open, f"{ORDER},{US},unexpectedProblem,B,,"]
    assert _refused("\n".join(rows)) == (
        "ManifestInvalid: The manifest's line 3 opens a quoted value that is never closed, so every line after it "
        'would be read as one value: close the quote (a quote inside a value is written "").'
    )
    # Closed by the quote of a later row: the rows between would be one value.
    rows += [_text_row("C"), _text_row("D")]
    assert _refused("\n".join(rows)) == (
        "ManifestInvalid: The manifest's line 3 opens a quoted value that runs to line 5, where it is not valid CSV "
        "(',' expected after '\"'): lines 3 to 5 would be read as one value. Close the quote on line 3; a quote "
        'inside a value is written "".'
    )


def test_a_manifest_over_the_row_limit_is_refused_naming_the_limit_and_its_setting() -> None:
    rows = "\n".join(_text_row(f"Message {n}") for n in range(11))
    assert _read(f"{HEADER}\n{rows}", max_rows=11).rows[-1].number == 11  # at the limit: read
    assert _refused(f"{HEADER}\n{rows}\n\n", max_rows=10) == (
        "ManifestTooLarge: The manifest has 11 rows; a campaign takes at most 10 (CAMPAIGN_MAX_ROWS, the template "
        "parameter CampaignMaxRows). Split it into manifests of at most 10 rows; nothing of this one was sent."
    )
    lines = "\n".join(json.dumps({"amazonOrderId": ORDER}) for _ in range(11))
    assert _refused(lines, "jsonl", max_rows=10).startswith("ManifestTooLarge: The manifest has 11 rows;")


def test_an_unknown_format_is_refused() -> None:
    assert _refused(HEADER, "xlsx") == "ManifestInvalid: 'xlsx' is not a manifest format; use one of: csv, jsonl."


# --- Rows --------------------------------------------------------------------------------------------------


def test_quoted_newlines_commas_and_doubled_quotes_are_one_value_and_do_not_start_a_row() -> None:
    text = 'Line one, with a comma\nLine two: the ""Deluxe"" model'
    checked = _checked(f"{HEADER}\n{_text_row(text)}\n{_text_row('Second')}\n")
    assert _verdicts(checked.rows) == [(1, None, None), (2, None, None)]
    first = checked.rows[0].request
    assert first is not None
    assert first.text == 'Line one, with a comma\nLine two: the "Deluxe" model'


def test_a_bom_is_dropped_and_crlf_line_ends_are_read() -> None:
    data = b"\xef\xbb\xbf" + (f"{HEADER}\r\n{_text_row('One')}\r\n\r\n{_text_row('Two')}\r\n").encode()
    checked = _checked(data)
    assert checked.columns == tuple(HEADER.split(","))
    assert [(row.number, row.error, row.request.text if row.request else None) for row in checked.rows] == [
        (1, None, "One"),
        (2, None, "Two"),
    ]


def test_a_row_with_more_or_fewer_values_than_the_header_fails_alone() -> None:
    data = "\n".join(
        [
            HEADER,
            f"{ORDER},{US},unexpectedProblem,Sorry, late,,",
            _text_row("Fine"),
            f"{ORDER},{US},unexpectedProblem",
        ]
    )
    checked = _checked(data)
    assert _verdicts(checked.rows) == [
        (
            1,
            "InvalidRequest",
            "Row 1 has 7 values; the header has 6 (line 2: a value with a comma in it is written in double quotes).",
        ),
        (2, None, None),
        (
            3,
            "InvalidRequest",
            "Row 3 has 3 values; the header has 6 (line 4: every row has a value, maybe empty, for each column).",
        ),
    ]
    # The extra value is kept in the last column, so the row as written can be fixed and sent again.
    assert checked.rows[0].values["attachment1Name"] == ","
    assert checked.rows[0].values["text"] == "Sorry"


def test_blank_lines_and_empty_spreadsheet_rows_are_no_rows() -> None:
    data = f"\n{HEADER}\n\n{_text_row('One')}\n,,,,,\n  \n{_text_row('Two')}\n\n"
    assert [row.number for row in _read(data).rows] == [1, 2]


def test_a_stray_quote_fails_its_row_only() -> None:
    data = "\n".join([HEADER, f'{ORDER},{US},unexpectedProblem,"Say "hi" now",,', _text_row("Fine")])
    assert _verdicts(_checked(data).rows) == [
        (
            1,
            "InvalidRequest",
            "Row 1 (line 2) is not valid CSV (',' expected after '\"'; a quote inside a quoted value is written \"\").",
        ),
        (2, None, None),
    ]


def test_attachment_columns_fill_from_the_first_and_a_name_needs_its_key() -> None:
    header = "amazonOrderId,marketplaceId,messageType,attachment1,attachment1Name,attachment2,attachment2Name"
    data = _csv(
        header,
        f"{ORDER},{US},invoice,,Invoice.pdf,,",
        f"{ORDER},{US},invoice,,,attachments/b.pdf,",
        f"{ORDER},{US},invoice,attachments/a.pdf,,attachments/b.pdf,B.pdf",
    )
    checked = _checked(data, "csv", "attachments/a.pdf", "attachments/b.pdf")
    assert _verdicts(checked.rows) == [
        (
            1,
            "InvalidRequest",
            "The row's attachments are invalid: attachment1Name is given, but attachment1 is empty (fill the "
            "attachment columns from attachment1 on).",
        ),
        (
            2,
            "InvalidRequest",
            "The row's attachments are invalid: attachment2 is given, but attachment1 is empty (fill the attachment "
            "columns from attachment1 on).",
        ),
        (3, None, None),
    ]
    request = checked.rows[2].request
    assert request is not None
    assert [(ref.bucket, ref.key, ref.file_name) for ref in request.attachments] == [
        (BUCKET, "attachments/a.pdf", "a.pdf"),  # no name: the key's last part, as in a request document
        (BUCKET, "attachments/b.pdf", "B.pdf"),
    ]


# --- The single-message path's checks ----------------------------------------------------------------------

LIMIT = 2_000  # unexpectedProblem's text in the catalog


def test_a_text_at_the_catalogs_limit_is_ready_and_one_over_fails_with_the_single_paths_sentence() -> None:
    assert catalog.message_type("unexpectedProblem").text == catalog.TextRule(1, LIMIT, required=True)
    checked = _checked(f"{HEADER}\n{_text_row('a' * LIMIT)}\n{_text_row('b' * (LIMIT + 1))}\n")
    assert _verdicts(checked.rows) == [
        (1, None, None),
        (2, "InvalidMessageText", "The text has 2001 characters; 'unexpectedProblem' allows at most 2000."),
    ]
    # The same sentence as the state machine's ValidateRequest for the same request (one rule, two callers).
    request = checked.rows[1].request
    assert request is not None
    action = messaging.AvailableAction(
        name="createUnexpectedProblem",
        message_type=catalog.message_type("unexpectedProblem"),
        title="",
        schema=support.schema_for(catalog.message_type("unexpectedProblem")),
    )
    with pytest.raises(validation.InvalidMessageText) as raised:
        validation.validate(request, action, [])
    assert str(raised.value) == checked.rows[1].cause


def test_each_check_that_needs_no_call_to_amazon_fails_its_row_with_the_single_paths_error() -> None:
    rows = [
        f"{ORDER},{US},thankYou,Hi,,",
        f"{ORDER},A1PA6795UKMFR9,unexpectedProblem,Hallo,,",
        f"{ORDER},{US},invoice,,attachments/gone.pdf,",
        f"{ORDER},{US},invoice,,attachments/a.pdf,Invoice.exe",
        f"{ORDER},{US},invoice,Thanks,attachments/a.pdf,",
        f"{ORDER},{US},unexpectedProblem,Write to me@example.com,,",
        f"123-45,{US},unexpectedProblem,Hi,,",
        f"{ORDER},{US},legalDisclosure,,,",
    ]
    checked = _checked(HEADER + "\n" + "\n".join(rows), "csv", "attachments/a.pdf")
    assert _verdicts(checked.rows) == [
        (
            1,
            "UnknownMessageType",
            "'thankYou' is not a message type of the Messaging API. Use one of: confirmCustomizationDetails, "
            "confirmDeliveryDetails, legalDisclosure, confirmOrderDetails, confirmServiceDetails, warranty, "
            "digitalAccessKey, unexpectedProblem, invoice.",
        ),
        (
            2,
            "InvalidRequest",
            "marketplaceId A1PA6795UKMFR9 (DE) is served by the SP-API region 'eu', but this deployment calls region "
            "'na'; deploy with SpApiRegion=eu for this marketplace.",
        ),
        (
            3,
            "AttachmentNotFound",
            f"s3://{BUCKET}/attachments/gone.pdf does not exist (was it deleted, or is the key or bucket wrong?).",
        ),
        (
            4,
            "InvalidAttachments",
            "The attachments break the rules of 'invoice': attachments[0].fileName: 'Invoice.exe' is not an allowed "
            "file type (allowed: .txt, .pdf, .doc, .docx, .jpg, .jpeg, .gif, .png).",
        ),
        (
            5,
            "InvalidMessageText",
            "The message type 'invoice' takes no text for this order; remove 'text' or choose a type that takes text "
            "(e.g. unexpectedProblem, confirmOrderDetails).",
        ),
        (
            6,
            "InvalidMessageText",
            "The text must not contain email addresses (Amazon's rule for buyer messages); write links related to "
            "the order only, as plain text.",
        ),
        (
            7,
            "InvalidRequest",
            "The request document is invalid: amazonOrderId '123-45' is not an Amazon order id (like "
            "123-1234567-1234567).",
        ),
        (8, "InvalidAttachments", "'legalDisclosure' needs at least 1 attachment(s); 0 given."),
    ]
    # The same deployment in Europe takes the German order.
    assert _checked(f"{HEADER}\n{rows[1]}", "csv", region="eu").rows[0].error is None


def test_warranty_dates_are_checked_and_normalised() -> None:
    header = "amazonOrderId,marketplaceId,messageType,coverageStartDate,coverageEndDate,attachment1"
    data = _csv(
        header,
        f"{ORDER},{US},warranty,2026-11-27T01:00:00+01:00,2028-11-27T00:00:00Z,attachments/w.pdf",
        f"{ORDER},{US},warranty,2026-11-27,2025-01-01T00:00:00Z,attachments/w.pdf",
    )
    checked = _checked(data, "csv", "attachments/w.pdf")
    assert _verdicts(checked.rows) == [
        (1, None, None),
        (
            2,
            "InvalidRequest",
            "The warranty coverage dates are invalid: coverageStartDate '2026-11-27' is a date alone; give a "
            "date-time with a time zone (2026-11-27T00:00:00Z is the start of that day in UTC).",
        ),
    ]


def test_each_attachment_key_is_looked_up_once_however_many_rows_send_it() -> None:
    calls: list[tuple[str, str]] = []
    rows = "\n".join(f"{n:03d}-1234567-1234567,{US},invoice,,attachments/recall.pdf,Recall.pdf" for n in range(300))
    checked = manifest.check_rows(
        _read(
            f"{HEADER}\n{rows}\n{ORDER},{US},invoice,,attachments/gone.pdf,\n{ORDER},{US},warranty,,attachments/gone.pdf,"
        ),
        object_facts=_staged("attachments/recall.pdf", calls=calls),
        spapi_region="na",
    )
    assert calls == [(BUCKET, "attachments/recall.pdf"), (BUCKET, "attachments/gone.pdf")]
    assert [row.error for row in checked.rows[-2:]] == ["AttachmentNotFound", "AttachmentNotFound"]
    assert all(row.ready for row in checked.rows[:300])


def test_s3_unavailable_is_raised_for_a_retry_and_access_denied_fails_the_row() -> None:
    def unavailable(bucket: str, key: str) -> ObjectFacts | None:
        raise StagingUnavailable(f"S3 failed to serve s3://{bucket}/{key} (SlowDown).")

    data = f"{HEADER}\n{ORDER},{US},invoice,,attachments/a.pdf,\n"
    with pytest.raises(StagingUnavailable, match="SlowDown"):
        manifest.check_rows(_read(data), object_facts=unavailable, spapi_region="na")

    def denied(bucket: str, key: str) -> ObjectFacts | None:
        raise StagingAccessDenied(f"This function may not read s3://{bucket}/{key} (AccessDenied).")

    checked = manifest.check_rows(_read(data), object_facts=denied, spapi_region="na")
    assert _verdicts(checked.rows) == [
        (1, "StagingAccessDenied", f"This function may not read s3://{BUCKET}/attachments/a.pdf (AccessDenied).")
    ]


def test_a_repeated_row_fails_duplicate_row_naming_the_first() -> None:
    header = "amazonOrderId,marketplaceId,messageType,text,attachment1,attachment1Name,attachment2"
    rows = [
        f"{ORDER},{US},invoice,,attachments/a.pdf,A.pdf,attachments/b.pdf",
        f"{ORDER},{US},unexpectedProblem,Late,,,",
        f"{ORDER},{US},sendInvoice,,attachments/b.pdf,Other name.pdf,attachments/a.pdf",  # alias, files reordered
        f"{ORDER},{US},unexpectedProblem,Late again,,,",  # another text: another message
        f"114-3941689-8772232,{US},unexpectedProblem,Late,,,",  # another order
        f" {ORDER} ,{US},createUnexpectedProblem,Late,,,",
    ]
    checked = _checked(header + "\n" + "\n".join(rows), "csv", "attachments/a.pdf", "attachments/b.pdf")
    assert _verdicts(checked.rows) == [
        (1, None, None),
        (2, None, None),
        (
            3,
            "DuplicateRow",
            f"Row 3 repeats row 1: the same order {ORDER}, message type, text and attachments, so the buyer would "
            "get the message twice; it is not sent. Remove one of them, or change it if a second message was meant.",
        ),
        (4, None, None),
        (5, None, None),
        (
            6,
            "DuplicateRow",
            f"Row 6 repeats row 2: the same order {ORDER}, message type, text and attachments, so the buyer would "
            "get the message twice; it is not sent. Remove one of them, or change it if a second message was meant.",
        ),
    ]


def test_a_thousand_bad_rows_among_good_ones_each_fail_with_their_reason() -> None:
    bad_kinds = [
        (f"{ORDER},{US},unexpectedProblem,{'x' * (LIMIT + 1)},,", "InvalidMessageText"),
        (f"{ORDER},{US},noSuchType,Hi,,", "UnknownMessageType"),
        (f"{ORDER},{US},invoice,,attachments/missing.pdf,", "AttachmentNotFound"),
        (f"{ORDER},{US},unexpectedProblem", "InvalidRequest"),
    ]
    lines, expected = [HEADER], {}
    for number in range(1, 3_001):
        if number % 3 == 0:
            line, error = bad_kinds[(number // 3) % len(bad_kinds)]
            expected[number] = error
        else:
            line = f"123-{number:07d}-1234567,{US},unexpectedProblem,Message {number},,"
        lines.append(line)
        if number % 500 == 0:
            lines.append("")  # a blank line: no row, no number
    checked = _checked("\n".join(lines))
    assert len(checked.rows) == 3_000
    assert [row.number for row in checked.rows] == list(range(1, 3_001))
    assert {row.number: row.error for row in checked.rows if not row.ready} == expected
    assert len(expected) == 1_000
    good = [row for row in checked.rows if row.ready]
    assert len(good) == 2_000
    assert all(row.request and row.request.text == f"Message {row.number}" for row in good)
    preview = checked.to_preview()
    assert (preview["rows"], preview["ready"], preview["invalid"]) == (3_000, 2_000, 1_000)
    assert preview["invalidBy"] == {
        "AttachmentNotFound": 250,
        "InvalidMessageText": 250,
        "InvalidRequest": 250,
        "UnknownMessageType": 250,
    }


# --- JSON lines ----------------------------------------------------------------------------------------------


def _line(**fields: object) -> str:
    return json.dumps({"amazonOrderId": ORDER, "marketplaceId": US, "messageType": "unexpectedProblem", **fields})


def test_jsonl_lines_are_request_documents_and_bad_lines_fail_alone() -> None:
    data = "\r\n".join(
        [
            _line(text="One"),
            "",
            '{"amazonOrderId": "123-1234567-1234567", "text": ',
            _line(text="Two", campaign={"id": "x", "row": 1, "run": 1}),
            "[1, 2]",
            _line(text="Three", colour="red"),
            _line(messageType="invoice", attachments=[{"key": "attachments/a.pdf", "fileName": "A.pdf"}]),
            _line(text="One"),
        ]
    )
    checked = _checked(b"\xef\xbb\xbf" + data.encode(), "jsonl", "attachments/a.pdf")
    assert _verdicts(checked.rows) == [
        (1, None, None),
        (2, "InvalidRequest", "Row 2 (line 3) is not JSON: Expecting value at character 50."),
        (
            3,
            "InvalidRequest",
            "Row 3 (line 4) has a 'campaign' field: only the campaign sets it on its rows; remove it.",
        ),
        (
            4,
            "InvalidRequest",
            "The request document is invalid: (document) must be a JSON object, not a list; amazonOrderId is "
            "required; marketplaceId is required; messageType is required.",
        ),
        (
            5,
            "InvalidRequest",
            "The request document is invalid: colour is not a field of a request document (a typo?).",
        ),
        (6, None, None),
        (
            7,
            "DuplicateRow",
            f"Row 7 repeats row 1: the same order {ORDER}, message type, text and attachments, so the buyer would "
            "get the message twice; it is not sent. Remove one of them, or change it if a second message was meant.",
        ),
    ]
    assert checked.columns == (
        "amazonOrderId",
        "marketplaceId",
        "messageType",
        "text",
        "attachment1",
        "attachment1Name",
    )


@pytest.mark.parametrize(
    ("data", "shape"),
    [
        (f"[{_line(text='A')},\n{_line(text='B')}]\n", "a JSON array"),
        ('{\n  "amazonOrderId": "123-1234567-1234567"\n}\n', "one JSON document over several lines"),
    ],
    ids=["array", "pretty-printed object"],
)
def test_one_json_document_is_not_json_lines(data: str, shape: str) -> None:
    assert _refused(data, "jsonl") == (
        f"ManifestInvalid: The manifest is {shape}, not JSON lines: write each request document on a line of its "
        "own, with no brackets around them and no commas between them."
    )


def test_jsonl_that_is_not_utf8_is_refused() -> None:
    assert _refused(b'{"text": "caf\xe9"}\n', "jsonl").startswith(
        "ManifestInvalid: The manifest is not UTF-8 text: the byte 0xE9 at byte offset 13 (line 1) is not UTF-8;"
    )


# --- What the caller does with the rows ----------------------------------------------------------------------


def test_the_preview_lists_every_row() -> None:
    data = f"{HEADER}\n{_text_row('Fine')}\n{ORDER},{US},noSuchType,Hi,,\n{ORDER},{US}\n"
    assert _checked(data).to_preview() == {
        "rows": 3,
        "ready": 1,
        "invalid": 2,
        "invalidBy": {"InvalidRequest": 1, "UnknownMessageType": 1},
        "items": [
            {
                "row": 1,
                "status": "ready",
                "amazonOrderId": ORDER,
                "messageType": "unexpectedProblem",
                "error": None,
                "cause": None,
            },
            {
                "row": 2,
                "status": "invalid",
                "amazonOrderId": ORDER,
                "messageType": "noSuchType",
                "error": "UnknownMessageType",
                "cause": _checked(data).rows[1].cause,
            },
            {
                "row": 3,
                "status": "invalid",
                "amazonOrderId": ORDER,
                "messageType": None,
                "error": "InvalidRequest",
                "cause": "Row 3 has 2 values; the header has 6 (line 4: every row has a value, maybe empty, for each "
                "column).",
            },
        ],
    }


def test_failed_rows_written_as_a_manifest_read_back_as_written() -> None:
    text = 'Two lines,\nand a "quote"'
    data = "\n".join([HEADER, _text_row(text.replace('"', '""')), f"{ORDER},{US},noSuchType,Hi,,", _text_row("Ok")])
    checked = _checked(data)
    failed = [row for row in checked.rows if not row.ready]
    again = manifest.rows_as_csv(failed)
    assert again == f"amazonOrderId,marketplaceId,messageType,text\r\n{ORDER},{US},noSuchType,Hi\r\n"
    both = manifest.rows_as_csv(checked.rows[:2])
    assert [row.values for row in _read(both).rows] == [
        {"amazonOrderId": ORDER, "marketplaceId": US, "messageType": "unexpectedProblem", "text": text},
        {"amazonOrderId": ORDER, "marketplaceId": US, "messageType": "noSuchType", "text": "Hi"},
    ]


def test_a_jsonl_row_as_csv_keeps_what_it_said() -> None:
    data = "\n".join(
        [
            _line(
                messageType="invoice", attachments=[{"key": "attachments/a.pdf"}, {"bucket": "other", "key": "b.pdf"}]
            ),
            "{not json",
        ]
    )
    rows = _read(data, "jsonl").rows
    assert list(csv.reader(io.StringIO(manifest.rows_as_csv(rows), newline=""))) == [
        ["amazonOrderId", "marketplaceId", "messageType", "text", "attachment1", "attachment2"],
        [ORDER, US, "invoice", "", "attachments/a.pdf", "s3://other/b.pdf"],
        ["", "", "", "{not json", "", ""],
    ]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("campaigns/recall-2026-11.csv", ("recall-2026-11", "csv")),
        ("campaigns/invoices.v2_nov.jsonl", ("invoices.v2_nov", "jsonl")),
    ],
)
def test_manifest_name(key: str, expected: tuple[str, str]) -> None:
    assert manifest.manifest_name(key) == expected


@pytest.mark.parametrize(
    "key",
    ["campaigns/a/b.csv", "campaigns/x.CSV", "campaigns/x.json", "outbox/x.csv", "campaigns/.csv", "campaigns/é.csv"],
)
def test_a_key_that_names_no_manifest(key: str) -> None:
    with pytest.raises(UnsupportedS3Key) as raised:
        manifest.manifest_name(key)
    assert str(raised.value) == (
        f"{key!r} is not a campaign manifest: a manifest is campaigns/{{name}}.csv or campaigns/{{name}}.jsonl, "
        "directly under campaigns/ (or sellers/{sellingPartnerId}/campaigns/), {name} 1 to 100 of A-Z, a-z, 0-9, "
        "'.', '_' and '-'."
    )


def test_a_report_is_no_manifest() -> None:
    with pytest.raises(UnsupportedS3Key, match=r"is a campaign's report \(campaigns/\{name\}.report.csv\)"):
        manifest.manifest_name("campaigns/recall.report.csv")


# --- The template rows in events/campaigns/ ------------------------------------------------------------------

EXAMPLE_KEYS = (
    "attachments/invoice-114-3941689-8772232.pdf",
    "attachments/warranty-card.pdf",
    "attachments/battery-disposal.pdf",
    "attachments/weee.pdf",
    "attachments/withdrawal-form.pdf",
    "attachments/privacy-notice.pdf",
    "attachments/safety-sheet.pdf",
)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_example_manifests_are_ready_row_by_row(fmt: str) -> None:
    data = (support.EVENTS / "campaigns" / f"example.{fmt}").read_bytes()
    checked = manifest.check_rows(_read(data, fmt), object_facts=_staged(*EXAMPLE_KEYS), spapi_region="na")
    assert _verdicts(checked.rows) == [(n, None, None) for n in range(1, 5)]
    kinds = [
        (row.request.message_type, bool(row.request.text), len(row.request.attachments))
        for row in checked.rows
        if row.request
    ]
    assert kinds == [
        ("invoice", False, 1),
        ("unexpectedProblem", True, 0),
        ("warranty", False, 1),
        ("legalDisclosure", False, 5),
    ]


def test_the_example_csv_uses_every_column_and_says_what_the_jsonl_says() -> None:
    csv_manifest = _read((support.EVENTS / "campaigns" / "example.csv").read_bytes())
    jsonl_manifest = _read((support.EVENTS / "campaigns" / "example.jsonl").read_bytes(), "jsonl")
    assert csv_manifest.columns == COLUMN_NAMES
    # sellingPartnerId stays empty: the template is any seller's (a seller named in it would refuse its rows in a
    # campaign of another seller, SellerMismatch).
    filled = {name for row in csv_manifest.rows for name, value in row.values.items() if value}
    assert filled == set(COLUMN_NAMES) - {"sellingPartnerId"}
    as_requests: list[MessageRequest | None] = [row.request for row in csv_manifest.rows]
    assert as_requests == [row.request for row in jsonl_manifest.rows]
