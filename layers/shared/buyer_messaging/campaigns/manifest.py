"""A campaign's manifest: one file, one row per message, read and checked before anything is sent.

A CSV manifest's columns are the request document's fields (:data:`COLUMNS`, the one table the README's column
table and ``events/campaigns/`` follow); a JSONL manifest's lines are request documents. :func:`read_manifest`
refuses a file that cannot be read as a whole (:class:`ManifestInvalid`, :class:`ManifestTooLarge`); a bad row
never stops the others: it carries its error and cause. :func:`check_rows` then checks every row with the single
message path's own checks that need no call to Amazon (validation.check_offline), so a row that would fail for
its content fails here, before its campaign sends anything.

Pure: what needs S3 (whether an attachment exists) is a callable the caller passes in.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from buyer_messaging import catalog, seller_scope, storage, validation
from buyer_messaging.campaigns.columns import (
    ATTACHMENT_SLOTS,
    COLUMN_NAMES,
    COLUMNS,
    PLAIN_COLUMNS,
    REQUIRED_COLUMNS,
    Column,
)
from buyer_messaging.campaigns.keys import FORMATS, manifest_name
from buyer_messaging.errors import (
    BuyerMessagingError,
    DuplicateRow,
    InvalidRequest,
    ManifestInvalid,
    ManifestTooLarge,
    SellerMismatch,
    error_name,
)
from buyer_messaging.models import MessageRequest
from buyer_messaging.seller_scope import SELLER_FIELD

__all__ = [
    "COLUMNS",
    "Column",
    "Manifest",
    "ManifestRow",
    "ObjectFacts",
    "check_rows",
    "manifest_name",
    "read_manifest",
    "rows_as_csv",
]

# What S3 says about a staged object (its size and ETag): the callable of check_rows answers it, or None.
ObjectFacts = validation.StagedObject

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SAVE_AS_UTF8 = 'save it as UTF-8 (in Excel: "CSV UTF-8 (Comma delimited)") and upload it again'
_LIMIT_SETTING = "CAMPAIGN_MAX_ROWS, the template parameter CampaignMaxRows"


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One data row (numbered from 1; blank lines are no rows). ``request`` is None when the row could not be read
    as a request document; ``error`` / ``cause`` say why the row will not be sent (None: ready)."""

    number: int
    request: MessageRequest | None
    error: str | None
    cause: str | None
    values: Mapping[str, str] = field(default_factory=dict)  # the row as written, by CSV column

    @property
    def ready(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest read (and, after check_rows, checked): its format, its columns and every row's verdict."""

    fmt: str
    columns: tuple[str, ...]  # the CSV header as written; for JSONL the columns its documents fill
    rows: tuple[ManifestRow, ...]

    def to_preview(self) -> dict[str, Any]:
        """Every row's verdict, for the seller to see before the campaign sends anything."""
        invalid_by = Counter(row.error for row in self.rows if row.error is not None)
        return {
            "rows": len(self.rows),
            "ready": sum(1 for row in self.rows if row.ready),
            "invalid": sum(invalid_by.values()),
            "invalidBy": dict(sorted(invalid_by.items())),
            "items": [
                {
                    "row": row.number,
                    "status": "ready" if row.ready else "invalid",
                    "amazonOrderId": row.request.amazon_order_id if row.request else row.values.get("amazonOrderId"),
                    "messageType": row.request.message_type if row.request else row.values.get("messageType"),
                    "error": row.error,
                    "cause": row.cause,
                }
                for row in self.rows
            ],
        }


def read_manifest(data: bytes, fmt: str, *, default_bucket: str, max_rows: int) -> Manifest:
    """Every row of the manifest, each a request document or the reason it is none. ManifestInvalid when the file
    cannot be read as a whole, ManifestTooLarge over ``max_rows``; a bad row never raises."""
    if fmt not in FORMATS:
        raise ManifestInvalid(f"{fmt!r} is not a manifest format; use one of: {', '.join(FORMATS)}.")
    text = _decode(data)
    if not text.strip():
        raise ManifestInvalid(
            "The manifest is empty: it has no rows. "
            + (
                f"Its first line names the columns ({','.join(REQUIRED_COLUMNS)},...), then one line per message."
                if fmt == "csv"
                else "Write one request document (a JSON object) per line."
            )
        )
    if fmt == "csv":
        return _read_csv(text, default_bucket, max_rows)
    return _read_jsonl(text, default_bucket, max_rows)


def _decode(data: bytes) -> str:
    """The manifest as text: UTF-8, a BOM (Excel writes one) dropped."""
    if data.startswith(_UTF16_BOMS):
        raise ManifestInvalid(f'The manifest is UTF-16 text (Excel\'s "Unicode Text"), not UTF-8: {_SAVE_AS_UTF8}.')
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = start + error.start
        line = data.count(b"\n", 0, offset) + 1
        raise ManifestInvalid(
            f"The manifest is not UTF-8 text: the byte 0x{data[offset]:02X} at byte offset {offset:,} (line {line:,}) "
            f"is not UTF-8; {_SAVE_AS_UTF8}."
        ) from None


# --- CSV -------------------------------------------------------------------------------------------------


def _records(text: str) -> Iterator[tuple[int, list[str] | str]]:
    """(first line, values) of each record that is not blank, or (first line, why it is no CSV record). A quote
    left open reads the lines after it as one value: the whole manifest is refused rather than lose those rows."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        first_line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "unexpected end of data" in str(error) or "field larger than field limit" in str(error):
                raise ManifestInvalid(
                    f"The manifest's line {first_line:,} opens a quoted value that is never closed, so every line "
                    'after it would be read as one value: close the quote (a quote inside a value is written "").'
                ) from None
            if reader.line_num > first_line:
                raise ManifestInvalid(
                    f"The manifest's line {first_line:,} opens a quoted value that runs to line {reader.line_num:,}, "
                    f"where it is not valid CSV ({error}): lines {first_line:,} to {reader.line_num:,} would be read "
                    f'as one value. Close the quote on line {first_line:,}; a quote inside a value is written "".'
                ) from None
            yield first_line, f'is not valid CSV ({error}; a quote inside a quoted value is written "")'
            continue
        if any(value.strip() for value in values):  # a blank line, or Excel's ",,,," of an empty row, is no row
            yield first_line, values


def _read_csv(text: str, default_bucket: str, max_rows: int) -> Manifest:
    records = _records(text)
    _, header = next(records, (0, []))
    if isinstance(header, str):
        raise ManifestInvalid(f"The manifest's header {header}.")
    _check_header(header)
    rows: list[ManifestRow] = []
    for count, (line, values) in enumerate(records, start=1):
        if count > max_rows:
            _too_large(max_rows, count + sum(1 for _ in records))
        rows.append(_csv_row(count, line, values, header, default_bucket))
    if not rows:
        raise ManifestInvalid("The manifest has a header but no rows: add one line per message below the header.")
    return Manifest("csv", tuple(header), tuple(rows))


_OTHER_DELIMITERS = {";": "';'", "\t": "a tab"}  # what spreadsheets write in locales with a decimal comma, and TSV


def _check_header(header: list[str]) -> None:
    if len(header) == 1:
        shown = next((shown for sign, shown in _OTHER_DELIMITERS.items() if sign in header[0]), None)
        if shown is not None:
            raise ManifestInvalid(
                f"The manifest's header is separated by {shown}, but manifests are comma-separated (CSV): save it "
                'with commas (in Excel: "CSV UTF-8 (Comma delimited)").'
            )
    problems = []
    unknown = [name for name in header if name not in COLUMN_NAMES]
    if unknown:
        problems.append("unknown columns " + ", ".join(_with_hint(name) for name in unknown))
    repeated = sorted(name for name, times in Counter(header).items() if times > 1)
    if repeated:
        problems.append("repeated columns " + ", ".join(repr(name) for name in repeated))
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        problems.append("missing required columns " + ", ".join(repr(name) for name in missing))
    if problems:
        raise ManifestInvalid(
            f"The manifest's header has {'; '.join(problems)}. The columns are (exact, case-sensitive): "
            f"{', '.join(COLUMN_NAMES)}."
        )


def _with_hint(name: str) -> str:
    close = difflib.get_close_matches(name.strip(), COLUMN_NAMES, n=1, cutoff=0.75) or [
        known for known in COLUMN_NAMES if known.lower() == name.strip().lower()
    ]
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)


def _too_large(max_rows: int, rows: int) -> None:
    raise ManifestTooLarge(
        f"The manifest has {rows:,} rows; a campaign takes at most {max_rows:,} ({_LIMIT_SETTING}). Split it into "
        f"manifests of at most {max_rows:,} rows; nothing of this one was sent."
    )


def _csv_row(number: int, line: int, values: list[str] | str, header: list[str], bucket: str) -> ManifestRow:
    if isinstance(values, str):
        return _invalid(number, f"Row {number} (line {line:,}) {values}.", {})
    written = dict(zip(header, values, strict=False))
    if len(values) != len(header):
        if len(values) > len(header):  # kept, joined into the last column: the fix-and-send-again file shows them
            written[header[-1]] = ",".join(values[len(header) - 1 :])
        hint = (
            "a value with a comma in it is written in double quotes"
            if len(values) > len(header)
            else "every row has a value, maybe empty, for each column"
        )
        cause = f"Row {number} has {len(values)} values; the header has {len(header)} (line {line:,}: {hint})."
        return _invalid(number, cause, written)
    try:
        request = MessageRequest.from_dict(_csv_document(written, bucket), default_bucket=bucket)
    except InvalidRequest as error:
        return _invalid(number, str(error), written)
    return ManifestRow(number, request, None, None, written)


def _csv_document(values: Mapping[str, str], bucket: str) -> dict[str, Any]:
    """The request document of a CSV row: an empty value is a field left out (required ones stay, to be named)."""
    document: dict[str, Any] = {
        name: values[name] for name in PLAIN_COLUMNS if values.get(name) or name in REQUIRED_COLUMNS
    }
    problems = []
    attachments: list[dict[str, str]] = []
    for slot in ATTACHMENT_SLOTS:
        key, name = values.get(f"attachment{slot}", ""), values.get(f"attachment{slot}Name", "")
        if not key:
            if name:
                problems.append((f"attachment{slot}Name", f"is given, but attachment{slot} is empty"))
            continue
        if len(attachments) < slot - 1:
            problems.append((f"attachment{slot}", f"is given, but attachment{len(attachments) + 1} is empty"))
        attachments.append({"key": key, **({"fileName": name} if name else {})})
    if problems:
        details = "; ".join(f"{column} {message}" for column, message in problems)
        raise InvalidRequest(
            f"The row's attachments are invalid: {details} (fill the attachment columns from attachment1 on).",
            problems=tuple(problems),
        )
    if attachments:
        document["attachments"] = attachments
    return document


def _invalid(number: int, cause: str, values: Mapping[str, str]) -> ManifestRow:
    return ManifestRow(number, None, InvalidRequest.__name__, cause, values)


# --- JSON lines ------------------------------------------------------------------------------------------


def _read_jsonl(text: str, default_bucket: str, max_rows: int) -> Manifest:
    lines = [(number, line.rstrip("\r")) for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if len(lines) > max_rows:
        _too_large(max_rows, len(lines))
    _refuse_one_document(text, lines[0][1])
    rows = tuple(
        _jsonl_row(count, line, written, default_bucket) for count, (line, written) in enumerate(lines, start=1)
    )
    filled = {name for row in rows for name in row.values}
    return Manifest("jsonl", tuple(name for name in COLUMN_NAMES if name in filled), rows)


def _refuse_one_document(text: str, first_line: str) -> None:
    """A JSON array, or one object over several lines, is one document, not JSON lines."""
    try:
        json.loads(first_line)
    except json.JSONDecodeError:
        try:
            whole = json.loads(text)
        except json.JSONDecodeError:
            return  # its lines are rows, each failing with its own reason
        shape = "a JSON array" if isinstance(whole, list) else "one JSON document over several lines"
        raise ManifestInvalid(
            f"The manifest is {shape}, not JSON lines: write each request document on a line of its own, with no "
            "brackets around them and no commas between them."
        ) from None


def _jsonl_row(number: int, line: int, written: str, bucket: str) -> ManifestRow:
    try:
        document = json.loads(written)
    except json.JSONDecodeError as error:
        # The line as written stays, in text, so a fix-and-send-again file still shows it.
        return _invalid(
            number,
            f"Row {number} (line {line:,}) is not JSON: {error.msg} at character {error.colno}.",
            {"text": written},
        )
    values = _jsonl_values(document, bucket) if isinstance(document, dict) else {"text": written}
    if isinstance(document, dict) and "campaign" in document:
        cause = (
            f"Row {number} (line {line:,}) has a 'campaign' field: only the campaign sets it on its rows; remove it."
        )
        return _invalid(number, cause, values)
    try:
        request = MessageRequest.from_dict(document, default_bucket=bucket)
    except InvalidRequest as error:
        return _invalid(number, str(error), values)
    return ManifestRow(number, request, None, None, values)


def _jsonl_values(document: Mapping[str, Any], bucket: str) -> dict[str, str]:
    """A request document as CSV columns, for a fix-and-send-again manifest. An attachment in another bucket is
    written as its s3:// address, which no key of the staging bucket is: it fails again, never sends another file."""
    values = {name: _as_text(document[name]) for name in PLAIN_COLUMNS if document.get(name) is not None}
    attachments = document.get("attachments")
    for slot, item in zip(ATTACHMENT_SLOTS, attachments if isinstance(attachments, list) else [], strict=False):
        if not isinstance(item, dict):
            continue
        key, where = _as_text(item.get("key", "")), item.get("bucket") or bucket
        values[f"attachment{slot}"] = key if where == bucket else f"s3://{where}/{key}"
        if item.get("fileName") is not None:
            values[f"attachment{slot}Name"] = _as_text(item["fileName"])
    return values


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# --- Checking the rows -----------------------------------------------------------------------------------


def check_rows(
    manifest: Manifest,
    *,
    object_facts: Callable[[str, str], ObjectFacts | None],
    spapi_region: str,
    seller: str | None = None,
) -> Manifest:
    """Every row read with the single-message path's checks that need no call to Amazon, in its order: the row
    for the campaign's ``seller`` (a row may name ``sellingPartnerId`` only equal to it, SellerMismatch, and no
    file staged under another seller's ``sellers/{id}/``, AttachmentOfAnotherSeller), the type known, the
    marketplace in ``spapi_region``, the attachments staged (``object_facts(bucket, key)``, None when
    S3 has no such object; each key looked up once), then validation.check_offline with the catalog's rules. A
    row that repeats an earlier one (order, type, text and attachments) fails DuplicateRow naming that row.

    A transient error of ``object_facts`` (StagingUnavailable) is raised, not a row's failure: the step is retried.
    """
    facts: dict[tuple[str, str], ObjectFacts | BuyerMessagingError] = {}

    def staged(bucket: str, key: str) -> ObjectFacts:
        if (bucket, key) not in facts:
            try:
                facts[bucket, key] = object_facts(bucket, key) or storage.attachment_not_found(bucket, key)
            except BuyerMessagingError as error:
                if error.transient:
                    raise
                facts[bucket, key] = error
        found = facts[bucket, key]
        if isinstance(found, BuyerMessagingError):
            raise found
        return found

    first_of: dict[tuple[object, ...], int] = {}
    checked = []
    for row in manifest.rows:
        verdict = row if row.request is None else _check_row(row, row.request, staged, spapi_region, seller)
        if verdict.request is not None:
            first = first_of.setdefault(_sameness(verdict.request), verdict.number)
            if verdict.ready and first != verdict.number:
                cause = _duplicate_cause(verdict.number, first, verdict.request)
                verdict = replace(verdict, error=DuplicateRow.__name__, cause=cause)
        checked.append(verdict)
    return replace(manifest, rows=tuple(checked))


def _check_row(
    row: ManifestRow,
    request: MessageRequest,
    staged: Callable[[str, str], ObjectFacts],
    spapi_region: str,
    seller: str | None,
) -> ManifestRow:
    try:
        _check_seller(row.number, request, seller)
        message_type = catalog.message_type(request.message_type)
        validation.check_marketplace(request.marketplace_id, spapi_region)
        objects = [staged(ref.bucket, ref.key) for ref in request.attachments]
        validation.check_offline(request, objects, message_type)
    except BuyerMessagingError as error:
        if error.transient:
            raise
        return replace(row, error=error_name(error), cause=str(error))
    return row


def _check_seller(number: int, request: MessageRequest, seller: str | None) -> None:
    """A campaign is one seller's: its rows are sent for that seller, never for another one a row names."""
    named = request.selling_partner_id
    if named is not None and named != seller:
        campaign = f"the campaign is {seller}'s" if seller else "the campaign names no seller"
        message = f"names {named}, but {campaign}: every row of a campaign is for the campaign's seller"
        raise SellerMismatch(
            f"Row {number}'s {SELLER_FIELD} {message} (leave the column empty, or put the row in a campaign of "
            f"{named}: sellers/{named}/campaigns/).",
            problems=((SELLER_FIELD, message),),
        )
    seller_scope.check_attachments(request.for_seller(seller))


def _sameness(request: MessageRequest) -> tuple[object, ...]:
    """What makes two rows one message to the buyer: the order, the type (however spelled), the text and the
    staged files (in any order, whatever name the buyer sees)."""
    known = catalog.find_message_type(request.message_type)
    return (
        request.amazon_order_id,
        known.path if known else request.message_type,
        request.text,
        tuple(sorted((ref.bucket, ref.key) for ref in request.attachments)),
    )


def _duplicate_cause(number: int, first: int, request: MessageRequest) -> str:
    return (
        f"Row {number} repeats row {first}: the same order {request.amazon_order_id}, message type, text and "
        "attachments, so the buyer would get the message twice; it is not sent. Remove one of them, or change it "
        "if a second message was meant."
    )


def rows_as_csv(rows: Iterable[ManifestRow]) -> str:
    """A CSV manifest of ``rows`` as they were written (a failed row's to fix and send again): the required columns
    and every other column one of them fills, in the order of :data:`COLUMNS`."""
    chosen = list(rows)
    filled = {name for row in chosen for name, value in row.values.items() if value}
    columns = [name for name in COLUMN_NAMES if name in REQUIRED_COLUMNS or name in filled]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([row.values.get(name, "") for name in columns] for row in chosen)
    return out.getvalue()
