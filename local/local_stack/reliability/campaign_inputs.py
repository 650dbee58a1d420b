"""The campaign bad-input table: every way a seller can get a campaign's manifest wrong, and how each must end.

Each :class:`CampaignCase` enters the way a seller's manifest would: uploaded under ``campaigns/`` in the staging
bucket of a fresh local stack (entry ``campaign``; the S3 trigger starts run 1 of the campaign state machine).
A manifest that cannot be read as a whole must end as a named error on the campaign record (status ``failed``,
error and a readable cause) or as the trigger's refusal, with nothing sent; a manifest with bad rows must finish
with every good row delivered once and every bad row in the report with its error and cause, none sent. Nothing
staged is lost (the manifest, its attachments). Data only: :mod:`.campaign_runner` runs a case, :mod:`.verdicts`
judges it from the report CSV and the campaign record, :mod:`.cli` prints the table.

The same manifests also enter through the HTTP API (entry ``api``: ``POST /campaigns`` {name, format, manifest: the
text} as the console sends it, after its dry run): :data:`API_CAMPAIGN_CASES` are derived from the uploads' cases, not
copied. A whole-file problem is the API's answer before anything is stored (400 ``ManifestInvalid``, 413
``ManifestTooLarge``); a manifest that is read ends as its upload does. The API takes the manifest as JSON text, which
cannot carry bytes that are not UTF-8: those cases stay S3's (:data:`API_TAKES_TEXT` says so in the table), and three
cases of the API's own body take their place.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from local_stack.reliability.bad_inputs import INVOICE_KEY, Content
from local_stack.reliability.inputs import ONLY_UNEXPECTED_PROBLEM, ORDER, PDF, US

CampaignEntry = Literal["campaign", "api"]  # an upload under campaigns/, or POST /campaigns
FINISHED = "finished"  # the run read the manifest and ended with its report: the rows are judged one by one
HEADER = ("amazonOrderId", "marketplaceId", "messageType", "text")
ROW_LIMIT = 10_000  # the template's CampaignMaxRows default, which the local stack deploys
API_MAX_BYTES = 5_000_000  # buyer_messaging.campaigns.api.MANIFEST_MAX_BYTES (a test holds them together)
MANIFEST_PREFIX = "campaigns/"


@dataclass(frozen=True)
class CampaignCase:
    """One manifest and the outcome it must have.

    - ``manifest``: its bytes, or a function that makes them when the case runs (big manifests cost no memory at
      import); uploaded under ``key`` (default ``campaigns/{id}.{fmt}``).
    - ``expected``: the error name the run (the campaign record) or the trigger ends with, or :data:`FINISHED`.
    - ``cause_contains``: a piece of that cause a person needs to fix the manifest (case-insensitive).
    - ``sent``: how many rows must reach the buyer (once each); ``invalid_by`` / ``failed_by``: how many rows the
      report must show invalid (refused before sending) / failed (refused while sending), by error.
    - ``row_errors``: rows whose report line must carry this error and a cause with this piece in it.
    - ``staged``: objects put in the staging bucket first (attachments the rows name); none may be lost.
    - ``status``: the HTTP status ``POST /campaigns`` must answer (entry ``api``); ``body``: fields of that body
      other than the console's {name, format, manifest: the text} (a manifest that is no string, another format).
    """

    id: str
    description: str
    expected: str
    manifest: bytes | Callable[[], bytes]
    cause_contains: str = ""
    fmt: Literal["csv", "jsonl"] = "csv"
    entry: CampaignEntry = "campaign"
    key: str = ""
    sent: int = 0
    invalid_by: Mapping[str, int] = field(default_factory=dict)
    failed_by: Mapping[str, int] = field(default_factory=dict)
    row_errors: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    staged: Mapping[str, Content] = field(default_factory=dict)
    status: int | None = None
    body: Mapping[str, object] = field(default_factory=dict)

    @property
    def manifest_key(self) -> str:
        return self.key or f"{MANIFEST_PREFIX}{self.id}.{self.fmt}"

    @property
    def name(self) -> str:
        """The campaign's name as ``POST /campaigns`` takes it: the manifest key's, between campaigns/ and .{fmt}."""
        return self.manifest_key.removeprefix(MANIFEST_PREFIX).removesuffix(f".{self.fmt}")

    @property
    def finishes(self) -> bool:
        return self.expected == FINISHED

    @property
    def positive(self) -> bool:
        """A positive control: a manifest a seller may well write that must be sent whole."""
        return self.finishes and not self.invalid_by and not self.failed_by

    @property
    def rows(self) -> int:
        return self.sent + sum(self.invalid_by.values()) + sum(self.failed_by.values())

    def manifest_bytes(self) -> bytes:
        return self.manifest() if callable(self.manifest) else self.manifest


def text_of(row: int) -> str:
    """A good row's text: unique per row, so each delivery names the row it came from."""
    return f"Row {row}: your parcel is delayed by two days. We are sorry for the wait."


def good(row: int) -> tuple[str, ...]:
    return (ORDER, US, "unexpectedProblem", text_of(row))


def csv_lines(rows: Iterable[Sequence[str]], delimiter: str = ",") -> bytes:
    """CSV lines as a spreadsheet writes them (CRLF, quotes only where needed)."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def manifest_csv(rows: Iterable[Sequence[str]], header: Sequence[str] = HEADER, delimiter: str = ",") -> bytes:
    return csv_lines([header, *rows], delimiter)


def _good_rows(count: int) -> list[tuple[str, ...]]:
    return [good(row) for row in range(1, count + 1)]


# 1,000 bad rows among 20 good ones: each 51st row is good, the others cycle through four faults that the check
# finds without calling Amazon; rows 1020 and 1021 are well-formed but Amazon refuses their type for the order.
MIXED_GOOD_EVERY = 51
MIXED_ROWS = 1_020
_MIXED_BAD: tuple[tuple[str, Callable[[int], tuple[str, ...]]], ...] = (
    ("UnknownMessageType", lambda row: (ORDER, US, "sendPostcard", f"Row {row}: a postcard.")),
    ("InvalidMessageText", lambda row: (ORDER, US, "unexpectedProblem", f"Row {row}: " + "x" * 2000)),
    ("InvalidRequest", lambda row: ("123-4567", US, "unexpectedProblem", text_of(row))),
    ("InvalidMessageText", lambda row: (ORDER, US, "unexpectedProblem", f"Row {row}: <b>late</b>")),
)
_NOT_AVAILABLE = [
    (ONLY_UNEXPECTED_PROBLEM, US, "confirmDeliveryDetails", f"Row {row}: delivered to the front desk.")
    for row in (MIXED_ROWS + 1, MIXED_ROWS + 2)
]


def _mixed_fault(row: int) -> tuple[str, Callable[[int], tuple[str, ...]]] | None:
    """The fault of a row of the mixed manifest (None: a good row)."""
    if row % MIXED_GOOD_EVERY == 1:
        return None
    good_before = (row - 1) // MIXED_GOOD_EVERY + 1
    return _MIXED_BAD[(row - 1 - good_before) % len(_MIXED_BAD)]


def _mixed_row(row: int) -> tuple[str, ...]:
    fault = _mixed_fault(row)
    return good(row) if fault is None else fault[1](row)


def _mixed_manifest() -> bytes:
    return manifest_csv([*map(_mixed_row, range(1, MIXED_ROWS + 1)), *_NOT_AVAILABLE])


def _mixed_invalid_by() -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in range(1, MIXED_ROWS + 1):
        fault = _mixed_fault(row)
        if fault is not None:
            counts[fault[0]] = counts.get(fault[0], 0) + 1
    return counts


def _over_the_limit() -> bytes:
    return manifest_csv(_good_rows(ROW_LIMIT + 1))


def _jsonl(lines: Iterable[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


def _document(row: int) -> str:
    return json.dumps(dict(zip(HEADER, good(row), strict=True)))


_INVOICE_HEADER = (*HEADER, "attachment1", "attachment1Name")
_DUPLICATE = manifest_csv([good(1), good(2), good(1)])

UPLOAD_CAMPAIGN_CASES: tuple[CampaignCase, ...] = (
    # --- manifests that cannot be read as a whole: the run fails, named, nothing sent ------------------------
    CampaignCase("campaign-empty", "an empty manifest (0 bytes)", "ManifestInvalid", b"", "is empty"),
    CampaignCase(
        "campaign-header-only",
        "a manifest with its header and no rows",
        "ManifestInvalid",
        manifest_csv([]),
        "header but no rows",
    ),
    CampaignCase(
        "campaign-semicolons",
        "a manifest separated by ';' (a spreadsheet in a decimal-comma locale)",
        "ManifestInvalid",
        manifest_csv(_good_rows(3), delimiter=";"),
        "separated by ';'",
    ),
    CampaignCase(
        "campaign-latin1",
        "a manifest in Latin-1 ('Grüße'), not UTF-8",
        "ManifestInvalid",
        manifest_csv([(ORDER, US, "unexpectedProblem", "Grüße: your parcel is delayed.")]).decode().encode("latin-1"),
        "not UTF-8",
    ),
    CampaignCase(
        "campaign-utf16",
        'a manifest saved as UTF-16 (Excel\'s "Unicode Text")',
        "ManifestInvalid",
        manifest_csv(_good_rows(2)).decode().encode("utf-16"),
        "UTF-16",
    ),
    CampaignCase(
        "campaign-unknown-column",
        "a header with 'txt' for 'text'",
        "ManifestInvalid",
        manifest_csv(_good_rows(2), header=(*HEADER[:3], "txt")),
        "'txt' (did you mean 'text'?)",
    ),
    CampaignCase(
        "campaign-unclosed-quote",
        "a quote opened in row 2 and never closed (every line after it would be one value)",
        "ManifestInvalid",
        manifest_csv([good(1)]) + f'{ORDER},{US},unexpectedProblem,"Row 2: delayed\r\n'.encode() + csv_lines([good(3)]),
        "never closed",
    ),
    CampaignCase(
        "campaign-over-limit",
        f"a manifest of {ROW_LIMIT + 1:,} rows (CampaignMaxRows {ROW_LIMIT:,})",
        "ManifestTooLarge",
        _over_the_limit,
        f"at most {ROW_LIMIT:,}",
    ),
    CampaignCase(
        "campaign-jsonl-array",
        "a .jsonl manifest that is one JSON array",
        "ManifestInvalid",
        json.dumps([json.loads(_document(1)), json.loads(_document(2))], indent=1).encode(),
        "not JSON lines",
        fmt="jsonl",
    ),
    CampaignCase(
        "campaign-nested-key",
        "a manifest in a folder under campaigns/ (campaigns/2026/december.csv)",
        "UnsupportedS3Key",
        manifest_csv(_good_rows(2)),
        "directly under campaigns/",
        key="campaigns/2026/december.csv",
    ),
    # --- bad rows: each in the report with its reason, the other rows sent ----------------------------------
    CampaignCase(
        "campaign-wrong-column-count",
        "row 2 with an extra value (an unquoted comma), row 4 with a value missing",
        FINISHED,
        manifest_csv([good(1), (*good(2)[:3], "Row 2: late", " sorry"), good(3), good(4)[:3], good(5)]),
        sent=3,
        invalid_by={"InvalidRequest": 2},
        row_errors={2: ("InvalidRequest", "has 5 values; the header has 4"), 4: ("InvalidRequest", "has 3 values")},
    ),
    CampaignCase(
        "campaign-1000-bad-rows",
        f"1,000 bad rows among {MIXED_ROWS - 1000} good ones, and 2 rows whose type Amazon refuses for the order",
        FINISHED,
        _mixed_manifest,
        sent=MIXED_ROWS - 1000,
        invalid_by=_mixed_invalid_by(),
        failed_by={"MessageTypeNotAvailable": 2},
        row_errors={
            2: ("UnknownMessageType", "sendPostcard"),
            3: ("InvalidMessageText", "at most 2000"),
            4: ("InvalidRequest", "not an Amazon order id"),
            5: ("InvalidMessageText", "HTML"),
            MIXED_ROWS + 1: ("MessageTypeNotAvailable", "types allowed now: unexpectedProblem"),
        },
    ),
    CampaignCase(
        "campaign-duplicate-row",
        "row 3 repeats row 1 (same order, type and text)",
        FINISHED,
        _DUPLICATE,
        sent=2,
        invalid_by={"DuplicateRow": 1},
        row_errors={3: ("DuplicateRow", "repeats row 1")},
    ),
    CampaignCase(
        "campaign-missing-attachment",
        "an invoice row naming attachments/nope.pdf, which was never staged",
        FINISHED,
        manifest_csv(
            [
                (ORDER, US, "invoice", "", INVOICE_KEY, "Invoice.pdf"),
                (ORDER, US, "invoice", "", "attachments/nope.pdf", ""),
            ],
            header=_INVOICE_HEADER,
        ),
        sent=1,
        invalid_by={"AttachmentNotFound": 1},
        row_errors={2: ("AttachmentNotFound", "attachments/nope.pdf")},
        staged={INVOICE_KEY: PDF},
    ),
    CampaignCase(
        "campaign-jsonl-not-json",
        "a .jsonl manifest whose line 2 is not JSON",
        FINISHED,
        _jsonl([_document(1), '{"amazonOrderId": "123-1234567-1234567", "text": ', _document(3)]),
        fmt="jsonl",
        sent=2,
        invalid_by={"InvalidRequest": 1},
        row_errors={2: ("InvalidRequest", "is not JSON")},
    ),
    # --- positive controls: what spreadsheets write is sent whole -------------------------------------------
    CampaignCase(
        "campaign-quoted-newline",
        "a text with a quoted line break in row 2 (one row, not two; positive control)",
        FINISHED,
        manifest_csv([good(1), (ORDER, US, "unexpectedProblem", "Row 2: delayed.\nSorry for the wait."), good(3)]),
        sent=3,
    ),
    CampaignCase(
        "campaign-bom",
        'a manifest with a UTF-8 byte order mark (Excel\'s "CSV UTF-8"; positive control)',
        FINISHED,
        b"\xef\xbb\xbf" + manifest_csv([*_good_rows(2), (ORDER, US, "unexpectedProblem", "Row 3: Grüße, 遅れ")]),
        sent=3,
    ),
)

# --- the same manifests through POST /campaigns ---------------------------------------------------------------------

# The uploads' cases whose manifest a JSON string cannot carry, and why (the table shows it in their place).
API_TAKES_TEXT: Mapping[str, str] = {
    case_id: "not through the API: it takes the manifest as JSON text, which cannot carry bytes that are not UTF-8 "
    "(the console reads a file as UTF-8); see the api cases of the body's own faults"
    for case_id in ("campaign-latin1", "campaign-utf16")
}
# Where the API's answer names another error than the upload's run: a name is the key's part under campaigns/, and
# the API's name has no folders.
_API_ERRORS: Mapping[str, tuple[str, str]] = {
    "campaign-nested-key": ("InvalidRequest", "name must be 1 to 100 of A-Z"),
}
_API_STATUS = {FINISHED: 202, "ManifestTooLarge": 413}


def _through_api(case: CampaignCase) -> CampaignCase:
    """The upload's case posted instead: the same manifest, refused by the API's answer or run to the same report."""
    expected, cause = _API_ERRORS.get(case.id, (case.expected, case.cause_contains))
    return replace(
        case,
        id=f"{case.id}-api",
        entry="api",
        expected=expected,
        cause_contains=cause,
        status=_API_STATUS.get(expected, 400),
    )


def _over_the_api_limit() -> bytes:
    """Rows within the row limit whose bytes are over the API's: only the byte limit refuses it."""
    padding = " We will keep you posted." * 17
    return manifest_csv([(*good(row)[:3], text_of(row) + padding) for row in range(1, ROW_LIMIT + 1)])


_API_BODY_CASES: tuple[CampaignCase, ...] = (
    CampaignCase(
        "campaign-manifest-not-text-api",
        "a body whose manifest is the file's bytes as a JSON array of numbers, not its text",
        "InvalidRequest",
        manifest_csv(_good_rows(2)),
        "manifest must be a string",
        entry="api",
        status=400,
        body={"manifest": list(manifest_csv(_good_rows(2)))},
    ),
    CampaignCase(
        "campaign-format-xlsx-api",
        "a body whose format is 'xlsx' (a spreadsheet's own file)",
        "InvalidRequest",
        manifest_csv(_good_rows(2)),
        "format must be one of: csv, jsonl",
        entry="api",
        status=400,
        body={"format": "xlsx"},
    ),
    CampaignCase(
        "campaign-over-api-bytes-api",
        f"{ROW_LIMIT:,} rows (within the row limit) in over {API_MAX_BYTES:,} bytes, the API's limit",
        "ManifestTooLarge",
        _over_the_api_limit,
        f"under {MANIFEST_PREFIX}",
        entry="api",
        status=413,
    ),
)
API_CAMPAIGN_CASES: tuple[CampaignCase, ...] = (
    *(_through_api(case) for case in UPLOAD_CAMPAIGN_CASES if case.id not in API_TAKES_TEXT),
    *_API_BODY_CASES,
)
CAMPAIGN_CASES = (*UPLOAD_CAMPAIGN_CASES, *API_CAMPAIGN_CASES)
BAD_CAMPAIGN_CASES = tuple(case for case in CAMPAIGN_CASES if not case.positive)


def campaign_case_by_id(case_id: str) -> CampaignCase:
    for case in CAMPAIGN_CASES:
        if case.id == case_id:
            return case
    raise KeyError(case_id)
