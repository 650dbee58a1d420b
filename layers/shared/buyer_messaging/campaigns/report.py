"""A campaign run's report: one line per manifest row, every row in exactly one status (pure: no AWS call).

Statuses: ``sent`` (by this run), ``failed``, ``unknown`` (the send left without an answer: the message may have
reached the buyer; look before sending again), ``invalid`` (the manifest check refused the row: nothing sent) and
``skipped`` (an earlier run sent it; not sent again). ``sent + failed + unknown + invalid + skipped = rows``.

What a row's line says comes from, in this order: this run's result for the row (the Distributed Map's item as
``ResultWriter`` wrote it), refined by the row's counted outcome (``records.row_outcomes``: the outcome step knows
``unknown`` where the Map only saw a failed child); the manifest check (invalid); an earlier run's outcome
(skipped, or still unknown or failed). A valid row with neither a result nor an outcome was lost on the way (a
child never started or its result never written): ``unknown``, error :data:`NO_RESULT`, never a silent gap and
never an invitation to send blindly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from buyer_messaging.campaigns.manifest import Manifest, ManifestRow
from buyer_messaging.campaigns.records import CampaignCounts, RowOutcome

# sellingPartnerId (last, so a reader of the columns before it by position keeps working): the campaign's seller,
# the same on every line, empty when the deployment names none.
HEADER = ("row", "amazonOrderId", "messageType", "requestId", "status", "error", "cause", "sellingPartnerId")
STATUSES = ("sent", "failed", "unknown", "invalid", "skipped")
NO_RESULT = "NoResult"
OUTCOME_UNKNOWN = "SendOutcomeUnknown"  # errors.SendOutcomeUnknown's name: the child failed without Amazon's answer
# A cell that starts with one of these is a formula to Excel and LibreOffice ("CSV injection"): an order id or a
# cause an attacker chose could run one when the seller opens the report. Such a cell starts with ' instead, which
# the spreadsheet shows as text (OWASP, "CSV Injection", also names tab and carriage return).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class ReportLine:
    row: int
    amazon_order_id: str
    message_type: str
    request_id: str
    status: str
    error: str
    cause: str
    selling_partner_id: str = ""

    def cells(self) -> tuple[str, ...]:
        return (
            str(self.row),
            self.amazon_order_id,
            self.message_type,
            self.request_id,
            self.status,
            self.error,
            self.cause,
            self.selling_partner_id,
        )


@dataclass(frozen=True, slots=True)
class Report:
    lines: tuple[ReportLine, ...]

    @property
    def counts(self) -> CampaignCounts:
        by_status = {status: 0 for status in STATUSES}
        failed_by: dict[str, int] = {}
        for line in self.lines:
            by_status[line.status] += 1
            if line.status == "failed":
                failed_by[line.error] = failed_by.get(line.error, 0) + 1
        return CampaignCounts(rows=len(self.lines), failed_by=failed_by, **by_status)


@dataclass(frozen=True, slots=True)
class _Result:
    row: int
    status: str
    error: str
    cause: str
    request_id: str


def build_report(
    manifest: Manifest,
    results: Iterable[Mapping[str, Any]],
    outcomes: Mapping[int, RowOutcome],
    *,
    seller: str | None = None,
) -> Report:
    """One line per manifest row, in the manifest's order (see the module's docstring), each of the campaign's
    ``seller``."""
    this_run = {result.row: result for result in filter(None, map(_read_result, results))}
    return Report(
        tuple(_line(row, this_run.get(row.number), outcomes.get(row.number), seller or "") for row in manifest.rows)
    )


def _line(row: ManifestRow, result: _Result | None, outcome: RowOutcome | None, seller: str) -> ReportLine:
    order = row.request.amazon_order_id if row.request else row.values.get("amazonOrderId", "")
    message_type = row.request.message_type if row.request else row.values.get("messageType", "")

    def line(status: str, error: str | None, cause: str | None, request_id: str = "") -> ReportLine:
        return ReportLine(row.number, order, message_type, request_id, status, error or "", cause or "", seller)

    if result is not None:
        status = result.status
        same = outcome is not None and (not result.request_id or outcome.request_id == result.request_id)
        if status == "failed" and (
            result.error == OUTCOME_UNKNOWN or (same and outcome and outcome.outcome == "unknown")
        ):
            status = "unknown"
        request_id = result.request_id or (outcome.request_id if same and outcome else "")
        error, cause = result.error, result.cause
        if same and outcome and not error and status != "sent":
            error, cause = outcome.error or "", outcome.cause or ""
        return line(status, error if status != "sent" else "", cause if status != "sent" else "", request_id)
    if row.request is None or row.error:
        return line("invalid", row.error, row.cause)
    if outcome is None:
        return line(
            "unknown",
            NO_RESULT,
            "This run has no result for the row and no outcome was recorded: look at the row's execution and the "
            "order's messages in Seller Central before sending it again.",
        )
    if outcome.outcome == "sent":
        return line("skipped", None, f"Sent by run {outcome.run}.", outcome.request_id)
    return line(outcome.outcome, outcome.error, outcome.cause, outcome.request_id)


def _read_result(item: Mapping[str, Any]) -> _Result | None:
    """A row's result, from what the Map's item processor returned ({row, status, error, cause, requestId?}, or the
    child execution as ``startExecution.sync:2`` describes it), bare or inside ResultWriter's entry
    ({Status, Input, Output, Error, Cause} with Input and Output as JSON text). None: no row to tie it to."""
    data: Mapping[str, Any] = item
    if "row" not in data and "Status" in data and "ExecutionArn" not in data:
        # ResultWriter's entry for one item: its output when it succeeded, its error when it failed uncaught.
        if data["Status"] == "SUCCEEDED":
            data = _json(data.get("Output"))
        else:
            data = {
                "row": _row_of(_json(data.get("Input"))),
                "status": "failed",
                "error": data.get("Error"),
                "cause": data.get("Cause"),
            }
    if "row" in data and "status" in data:
        row, status = data.get("row"), str(data.get("status"))
        request_id = str(data.get("requestId") or "")
    elif "ExecutionArn" in data and "Status" in data:
        row = _row_of(_json(data.get("Input")))
        status = "sent" if data["Status"] == "SUCCEEDED" else "failed"
        request_id = str(data["ExecutionArn"]).rsplit(":", 1)[-1]
    else:
        return None
    if not isinstance(row, int) or isinstance(row, bool) or status not in ("sent", "failed", "unknown"):
        return None
    return _Result(row, status, str(data.get("error") or data.get("Error") or ""), _cause(data), request_id)


def _cause(data: Mapping[str, Any]) -> str:
    return str(data.get("cause") or data.get("Cause") or "")


def _row_of(request: Mapping[str, Any]) -> int | None:
    campaign = request.get("campaign")
    row = campaign.get("row") if isinstance(campaign, Mapping) else request.get("row")
    return row if isinstance(row, int) else None


def _json(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}


def report_csv(report: Report) -> bytes:
    """The report as CSV (RFC 4180: CRLF line ends, a field with a comma, quote or line break quoted, its quotes
    doubled), UTF-8, header first."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADER)
    for line in report.lines:
        writer.writerow([_cell(cell) for cell in line.cells()])
    return text.getvalue().encode("utf-8")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value
