"""A campaign run's report: a line per manifest row, every row in exactly one status, and a CSV that a spreadsheet
reads as the rows wrote it (RFC 4180, no formula run)."""

from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

from buyer_messaging.campaigns import manifest
from buyer_messaging.campaigns.manifest import Manifest, ManifestRow
from buyer_messaging.campaigns.records import RowOutcome
from buyer_messaging.campaigns.report import NO_RESULT, STATUSES, Report, ReportLine, build_report, report_csv
from buyer_messaging.models import MessageRequest
from tests import support

CAMPAIGN = "recall-2026-11-0123456789abcdef0123"


def _manifest(*rows: ManifestRow) -> Manifest:
    return Manifest("csv", ("amazonOrderId", "marketplaceId", "messageType", "text"), rows)


def _request(order: str = support.ORDER_ID) -> MessageRequest:
    return MessageRequest(order, support.MARKETPLACE_ID, "invoice")


def _valid(number: int) -> ManifestRow:
    return ManifestRow(number, _request(f"123-1234567-{number:07d}"), None, None)


def _invalid(number: int) -> ManifestRow:
    return ManifestRow(
        number,
        None,
        "InvalidMessageText",
        "text is 2001 characters; at most 2000",
        {"amazonOrderId": "not-an-order", "messageType": "invoice"},
    )


def _rid(row: int, run: int) -> str:
    return f"{CAMPAIGN}-{row}-{run}"


def _sent_child(row: int, run: int) -> dict[str, Any]:
    """startExecution.sync:2's output for a child that succeeded (Input and Output as JSON objects)."""
    return {
        "ExecutionArn": f"arn:aws:states:us-east-1:123456789012:execution:SendMessage:{_rid(row, run)}",
        "Input": {"amazonOrderId": support.ORDER_ID, "campaign": {"id": CAMPAIGN, "row": row, "run": run}},
        "Output": {"requestId": _rid(row, run)},
        "Status": "SUCCEEDED",
    }


def _lines(report: Report) -> list[tuple[int, str, str, str, str]]:
    return [(line.row, line.request_id, line.status, line.error, line.cause) for line in report.lines]


def test_every_row_has_its_line_from_its_result_the_check_or_an_earlier_run() -> None:
    manifest = _manifest(_valid(1), _valid(2), _invalid(3), _valid(4), _valid(5), _valid(6), _valid(7))
    results = [
        _sent_child(1, 2),
        {"row": 2, "status": "failed", "error": "SpApiInvalidInput", "cause": "Amazon refused the text."},
        # ResultWriter's entry of a child that failed without Amazon's answer (caught: its output is the failure)
        {"Status": "SUCCEEDED", "Output": json.dumps({"row": 4, "status": "failed", "error": "SendOutcomeUnknown"})},
    ]
    outcomes = {
        1: RowOutcome(1, "sent", None, None, _rid(1, 2), 2),
        5: RowOutcome(5, "sent", None, None, _rid(5, 1), 1),
        6: RowOutcome(6, "unknown", "SendOutcomeUnknown", "No answer came.", _rid(6, 1), 1),
    }

    report = build_report(manifest, results, outcomes)

    lost = (
        "This run has no result for the row and no outcome was recorded: look at the row's execution and the "
        "order's messages in Seller Central before sending it again."
    )
    assert _lines(report) == [
        (1, _rid(1, 2), "sent", "", ""),
        (2, "", "failed", "SpApiInvalidInput", "Amazon refused the text."),
        (3, "", "invalid", "InvalidMessageText", "text is 2001 characters; at most 2000"),
        (4, "", "unknown", "SendOutcomeUnknown", ""),
        (5, _rid(5, 1), "skipped", "", "Sent by run 1."),
        (6, _rid(6, 1), "unknown", "SendOutcomeUnknown", "No answer came."),
        (7, "", "unknown", NO_RESULT, lost),
    ]
    assert report.lines[2].amazon_order_id == "not-an-order"  # an invalid row as it was written
    assert report.lines[0].amazon_order_id == "123-1234567-0000001"
    counts = report.counts
    assert counts.to_dict() == {
        "rows": 7,
        "sent": 1,
        "failed": 1,
        "unknown": 3,
        "invalid": 1,
        "skipped": 1,
        "failedBy": {"SpApiInvalidInput": 1},
    }


def test_a_failed_child_whose_outcome_step_recorded_unknown_is_unknown() -> None:
    manifest = _manifest(_valid(1))
    failed = {
        "ExecutionArn": f"arn:aws:states:us-east-1:123456789012:execution:SendMessage:{_rid(1, 1)}",
        "Input": json.dumps({"campaign": {"id": CAMPAIGN, "row": 1, "run": 1}}),
        "Status": "FAILED",
        "Error": "WorkflowError",
        "Cause": "States.Timeout: the send timed out",
    }
    outcomes = {1: RowOutcome(1, "unknown", "WorkflowError", "States.Timeout", _rid(1, 1), 1)}

    assert _lines(build_report(manifest, [failed], outcomes)) == [
        (1, _rid(1, 1), "unknown", "WorkflowError", "States.Timeout: the send timed out")
    ]
    assert _lines(build_report(manifest, [failed], {})) == [
        (1, _rid(1, 1), "failed", "WorkflowError", "States.Timeout: the send timed out")
    ]


def test_an_uncaught_failure_in_result_writers_entry_is_the_rows_failure() -> None:
    entry = {
        "Status": "FAILED",
        "Input": json.dumps({"amazonOrderId": support.ORDER_ID, "campaign": {"id": CAMPAIGN, "row": 1, "run": 1}}),
        "Error": "States.TaskFailed",
        "Cause": "the child could not start",
    }
    report = build_report(_manifest(_valid(1)), [entry], {})
    assert _lines(report) == [(1, "", "failed", "States.TaskFailed", "the child could not start")]


def test_the_csv_keeps_each_cause_one_field_and_runs_no_formula() -> None:
    cause = 'Amazon said "no", twice,\nthen =1+1\r\nand more'
    report = Report(
        (
            ReportLine(1, "123-1234567-1234567", "invoice", _rid(1, 1), "sent", "", ""),
            ReportLine(2, '=HYPERLINK("http://x")', "invoice", "", "failed", "InvalidRequest", cause),
            ReportLine(3, "+1", "@SUM(A1)", "", "failed", "-2", "\tTab"),
            ReportLine(4, "Ünïcödé-名前", "invoice", "", "invalid", "InvalidRequest", "ok"),
        )
    )

    data = report_csv(report)

    assert data.startswith(b"row,amazonOrderId,messageType,requestId,status,error,cause,sellingPartnerId\r\n")
    assert data.decode("utf-8").count("\r\n") == 5 + 1  # four lines and the header, and the cause's own CRLF
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert parsed == [
        ["row", "amazonOrderId", "messageType", "requestId", "status", "error", "cause", "sellingPartnerId"],
        ["1", "123-1234567-1234567", "invoice", _rid(1, 1), "sent", "", "", ""],
        ["2", '\'=HYPERLINK("http://x")', "invoice", "", "failed", "InvalidRequest", cause, ""],
        ["3", "'+1", "'@SUM(A1)", "", "failed", "'-2", "'\tTab", ""],
        ["4", "Ünïcödé-名前", "invoice", "", "invalid", "InvalidRequest", "ok", ""],
    ]
    assert b'"Amazon said ""no"", twice,\nthen =1+1\r\nand more"' in data


def test_the_counts_always_add_up_to_the_rows() -> None:
    """Random manifests, results (every shape the Map writes, some rows lost, some unreadable) and outcomes."""
    chance = random.Random(16)
    for _ in range(300):
        rows = tuple(_invalid(n) if chance.random() < 0.2 else _valid(n) for n in range(1, chance.randint(0, 40) + 1))
        results: list[Any] = []
        outcomes: dict[int, RowOutcome] = {}
        for row in rows:
            kind = chance.randrange(6)
            if kind == 0:
                results.append(_sent_child(row.number, 2))
            elif kind == 1:
                results.append({"row": row.number, "status": "failed", "error": chance.choice(["A", "B", ""])})
            elif kind == 2:
                results.append({"Status": "FAILED", "Input": "not JSON", "Error": "X"})  # no row: unreadable
            if chance.random() < 0.5:
                outcome = chance.choice(["sent", "failed", "unknown"])
                outcomes[row.number] = RowOutcome(row.number, outcome, "E", "c", _rid(row.number, 1), 1)
        report = build_report(_manifest(*rows), results, outcomes)
        counts = report.counts
        assert [line.row for line in report.lines] == [row.number for row in rows]
        assert {line.status for line in report.lines} <= set(STATUSES)
        assert (
            counts.sent + counts.failed + counts.unknown + counts.invalid + counts.skipped == counts.rows == len(rows)
        )
        assert sum(counts.failed_by.values()) == counts.failed


def test_a_manifest_as_read_gets_a_line_per_row_with_its_order_as_written() -> None:
    """The report of a real manifest (read_manifest): the bad row keeps the order id it was written with."""
    data = (
        "amazonOrderId,marketplaceId,messageType,text\r\n"
        f"123-1234567-0000001,{support.MARKETPLACE_ID},unexpectedProblem,Delayed by two days.\r\n"
        f"=cmd|' /C calc'!A0,{support.MARKETPLACE_ID},unexpectedProblem,Delayed.\r\n"
    ).encode()
    read = manifest.read_manifest(data, "csv", default_bucket=support.BUCKET, max_rows=10)

    report = build_report(read, [_sent_child(1, 1)], {})

    assert [(line.row, line.status) for line in report.lines] == [(1, "sent"), (2, "invalid")]
    assert report.lines[1].amazon_order_id == "=cmd|' /C calc'!A0"
    assert report.lines[1].error == "InvalidRequest"
    (_, _, row_two) = list(csv.reader(io.StringIO(report_csv(report).decode("utf-8"), newline="")))
    assert row_two[:3] == ["2", "'=cmd|' /C calc'!A0", "unexpectedProblem"]
