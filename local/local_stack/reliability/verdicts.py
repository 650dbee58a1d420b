"""How a run of a case ended, and what is wrong with that: the verdicts of both matrices."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from local_stack.reliability.bad_inputs import BadInputCase
from local_stack.reliability.campaign_inputs import CampaignCase
from local_stack.reliability.faults import FaultCase

NOT_STARTED = "(nothing started)"  # the trigger was never invoked or returned without starting anything
NO_EXECUTION = "—"  # no execution, so no status record is due
NO_RECORD = "(no record)"  # an execution that left no status record: a request that vanished


@dataclass
class CaseResult:
    """How a case ended, and whether that is what it had to be (``problems`` empty)."""

    case_id: str
    entry: str
    expected: str
    actual: str
    cause: str
    messages_sent: int
    staged_lost: int
    uploads: int = 0
    # The request's status record: "<status>" or "<status> <error>", NO_RECORD, or NO_EXECUTION.
    record: str = ""
    seconds: float = 0.0
    answered: int | None = None  # the HTTP status of the API's answer (entry "api")
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass
class FaultResult:
    """How a fault kind ended, and whether that is what it had to be (``problems`` empty)."""

    case_id: str
    injected: str
    expected: str
    actual: str
    cause: str
    retries: int
    messages_sent: int
    destinations: int
    staged_lost: int
    send_calls: int = 0
    executions: int = 0
    record: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class DryRun:
    """``POST /campaigns`` with dryRun, as the console sends it before the campaign: its answer's status and error
    name ("" for a preview), each row's verdict in the preview (row -> its error, "" when ready), and what it left
    behind (objects, table items, executions: it must leave nothing)."""

    status: int | None
    error: str
    rows: Mapping[int, str]
    stored: tuple[str, ...] = ()


@dataclass
class CampaignResult:
    """How a campaign case ended, and whether that is what it had to be (``problems`` empty)."""

    case_id: str
    entry: str
    expected: str
    actual: str
    cause: str
    statuses: Counter[str]  # the report's lines by status (sent, failed, unknown, invalid, skipped)
    record: str  # the campaign record in short: "<status>" or "failed <error>", or NO_EXECUTION (none)
    messages_sent: int  # every message the buyer received
    duplicates: int  # messages the buyer received again (same order, type and text)
    stray_messages: int  # received, but no row the report says sent accounts for it: a bad row's, or a 2nd copy
    undelivered: int  # rows the report says sent that the buyer never received
    staged_lost: int
    send_executions: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    answered: int | None = None  # the HTTP status of POST /campaigns (entry "api")
    dry_run: DryRun | None = None  # the dry run before it (entry "api")
    stored: tuple[str, ...] = ()  # what the POST left behind (a refused one must leave nothing)

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def rows(self) -> int:
        return sum(self.statuses.values())


# What a cause written for a person never contains: a traceback, a Python exception's repr, an object dump.
NOT_FOR_A_PERSON = re.compile(r"Traceback|File \"|\b\w+(?:Error|Exception)\(|Exception=|object at 0x")


def judge(case: BadInputCase, result: CaseResult) -> list[str]:
    """What is wrong with a result (empty: the case ended as it must)."""
    problems = []
    if result.actual != case.expected:
        problems.append(f"ended as {result.actual}, expected {case.expected}")
    if case.entry == "api" and result.answered != case.status:
        problems.append(f"the API answered {result.answered or 'nothing'}, expected {case.status}")
    if not case.positive:
        if not result.cause.strip():
            problems.append("the cause is empty")
        if NOT_FOR_A_PERSON.search(result.cause):
            problems.append("the cause is not written for a person (traceback, exception repr or object dump)")
        if case.cause_contains and case.cause_contains.lower() not in result.cause.lower():
            problems.append(f"the cause does not mention {case.cause_contains!r}")
        if result.messages_sent:
            problems.append(f"{result.messages_sent} message(s) sent to the buyer")
        if result.uploads:
            problems.append(f"{result.uploads} file(s) uploaded to Amazon before the input was refused")
    if result.staged_lost:
        problems.append(f"{result.staged_lost} staged object(s) lost")
    problems += _judge_record(result.record, result.actual, case.positive)
    return problems


def _judge_record(record: str, actual: str, delivered: bool) -> list[str]:
    """Every execution leaves a status record that says how it ended, under the error it ended with."""
    if record == NO_EXECUTION:
        return []  # nothing started: the S3 event itself is kept (failed-starts queue) and named
    if delivered:
        expected = "sent"
    elif actual == "SendOutcomeUnknown":
        expected = f"unknown {actual}"  # "may have reached the buyer", never a plain failure
    else:
        expected = f"failed {'WorkflowError' if actual.startswith('States.') else actual}"
    return [] if record == expected else [f"status record says {record!r}, expected {expected!r}"]


def judge_fault(case: FaultCase, result: FaultResult) -> list[str]:
    """What is wrong with a fault result (empty: it ended as it must)."""
    problems = []
    if result.actual != case.expected:
        problems.append(f"ended as {result.actual}, expected {case.expected}")
    expected_sent = 1 if case.transient else 0
    if result.messages_sent != expected_sent:
        problems.append(f"{result.messages_sent} message(s) delivered, expected {expected_sent}")
    if result.executions != case.executions:
        problems.append(f"{result.executions} executions, expected {case.executions}")
    if case.transient and case.faults and result.retries == 0:
        problems.append("no retry seen: the fault was not hit")
    if case.destinations is not None and result.destinations != case.destinations:
        problems.append(f"{result.destinations} upload destination(s) created, expected {case.destinations}")
    if case.send_calls is not None and result.send_calls != case.send_calls:
        problems.append(f"sendInvoice called {result.send_calls} time(s), expected {case.send_calls}")
    if not case.transient and not result.cause.strip():
        problems.append("the cause is empty")
    if NOT_FOR_A_PERSON.search(result.cause):
        problems.append("the cause is not written for a person (traceback, exception repr or object dump)")
    if result.staged_lost:
        problems.append(f"{result.staged_lost} staged object(s) lost")
    problems += _judge_record(result.record, result.actual, case.transient)
    return problems


def one_line(text: str) -> str:
    return " ".join(text.split())


# A report line's statuses that are a row's end; "skipped" (sent by an earlier run) comes only with a later run.
REPORT_STATUSES = ("sent", "failed", "unknown", "invalid")


def judge_campaign(
    case: CampaignCase, result: CampaignResult, lines: Sequence[Mapping[str, str]], record: Mapping[str, Any]
) -> list[str]:
    """What is wrong with a campaign result, judged from the report CSV's ``lines`` and the campaign ``record``
    (empty: the case ended as it must)."""
    problems = []
    if result.actual != case.expected:
        problems.append(f"ended as {result.actual}, expected {case.expected}")
    if not case.finishes:
        problems += _judge_cause(case.cause_contains, result.cause)
        if result.messages_sent:
            problems.append(f"{result.messages_sent} message(s) sent from a manifest that was refused")
        if result.send_executions:
            problems.append(f"{result.send_executions} row(s) started although the manifest was refused")
    if result.duplicates:
        problems.append(f"{result.duplicates} duplicate message(s): a buyer got a row's message twice")
    if result.stray_messages:
        problems.append(f"{result.stray_messages} message(s) that no row reported sent accounts for")
    if result.undelivered:
        problems.append(f"{result.undelivered} row(s) reported sent that the buyer never received")
    if result.staged_lost:
        problems.append(f"{result.staged_lost} staged object(s) lost (the manifest or its attachments)")
    if case.finishes:
        problems += _judge_report(case, lines, record)
    if case.entry == "api":
        problems += _judge_api(case, result, lines)
    return problems


def _judge_api(case: CampaignCase, result: CampaignResult, lines: Sequence[Mapping[str, str]]) -> list[str]:
    """The API's answer is the case's; a refusal stored nothing; the dry run stored nothing and said what the run
    did: the same refusal, or each row's verdict where it can know it (invalid rows by error; a ready row may still
    fail at Amazon, which only the send can know)."""
    problems = []
    if result.answered != case.status:
        problems.append(f"POST /campaigns answered {result.answered or 'nothing'}, expected {case.status}")
    if not case.finishes and result.stored:
        problems.append(f"the refused POST stored {_few(result.stored)}")
    dry = result.dry_run
    if dry is None:
        return [*problems, "no dry run"]
    if dry.stored:
        problems.append(f"the dry run stored {_few(dry.stored)}")
    if not case.finishes:
        if (dry.status, dry.error) != (case.status, case.expected):
            problems.append(f"the dry run answered {dry.status} {dry.error}, expected {case.status} {case.expected}")
        return problems
    if dry.status != 200:
        return [*problems, f"the dry run answered {dry.status} {dry.error}, expected 200 and each row's verdict"]
    ran = {int(line["row"]): line["error"] if line["status"] == "invalid" else "" for line in lines}
    differ = [row for row in sorted(ran.keys() | dry.rows.keys()) if ran.get(row) != dry.rows.get(row)]
    if differ:
        shown = ", ".join(f"row {row} {dry.rows.get(row)!r} / {ran.get(row)!r}" for row in differ[:3])
        problems.append(f"the dry run disagrees with the run on {len(differ)} row(s) (dry run / run): {shown}")
    return problems


def _few(things: Sequence[str]) -> str:
    return ", ".join(things[:3]) + (f" and {len(things) - 3} more" if len(things) > 3 else "")


def _judge_cause(piece: str, cause: str) -> list[str]:
    problems = []
    if not cause.strip():
        problems.append("the cause is empty")
    if NOT_FOR_A_PERSON.search(cause):
        problems.append("the cause is not written for a person (traceback, exception repr or object dump)")
    if piece and piece.lower() not in cause.lower():
        problems.append(f"the cause does not mention {piece!r}")
    return problems


def _judge_report(case: CampaignCase, lines: Sequence[Mapping[str, str]], record: Mapping[str, Any]) -> list[str]:
    """Every row in the report once, with its reason when it was not sent; the record's counts the report's."""
    if not lines:
        return ["no report"]
    problems = []
    numbers = [int(line["row"]) for line in lines]
    if numbers != list(range(1, case.rows + 1)):
        problems.append(f"the report has rows {_span(numbers)}, expected 1 to {case.rows}")
    statuses = Counter(line["status"] for line in lines)
    if set(statuses) - set(REPORT_STATUSES):
        problems.append(f"report statuses {sorted(set(statuses) - set(REPORT_STATUSES))} are no row's end")
    by_error = {
        status: dict(Counter(line["error"] for line in lines if line["status"] == status))
        for status in ("invalid", "failed")
    }
    expected = {"sent": case.sent, "unknown": 0}
    for status, count in expected.items():
        if statuses[status] != count:
            problems.append(f"{statuses[status]} row(s) {status} in the report, expected {count}")
    for status, wanted in (("invalid", case.invalid_by), ("failed", case.failed_by)):
        if by_error[status] != dict(wanted):
            problems.append(f"{status} rows by error {by_error[status]}, expected {dict(wanted)}")
    problems += _judge_lines(case, lines)
    counted = {name: record.get(name) for name in ("rows", *REPORT_STATUSES)}
    reported = {"rows": len(lines), **{status: statuses[status] for status in REPORT_STATUSES}}
    if counted != reported:
        problems.append(f"the campaign record counts {counted}, the report {reported}")
    if record.get("status") != "finished":
        problems.append(f"the campaign record is {record.get('status')!r}, not 'finished'")
    return problems


def _judge_lines(case: CampaignCase, lines: Sequence[Mapping[str, str]]) -> list[str]:
    """Each row not sent says why, for a person; the rows the case names end with their error."""
    problems = []
    for line in lines:
        if line["status"] in ("invalid", "failed") and not (line["error"] and line["cause"].strip()):
            problems.append(f"row {line['row']} is {line['status']} without its error and cause")
        elif line["status"] in ("invalid", "failed") and NOT_FOR_A_PERSON.search(line["cause"]):
            problems.append(f"row {line['row']}'s cause is not written for a person")
    by_row = {int(line["row"]): line for line in lines}
    for row, (error, piece) in case.row_errors.items():
        line = by_row.get(row, {})
        if line.get("error") != error or piece.lower() not in line.get("cause", "").lower():
            problems.append(
                f"row {row} ended {line.get('error')!r} ({line.get('cause')!r}), expected {error} ({piece})"
            )
    return problems


def _span(numbers: Sequence[int]) -> str:
    return f"{numbers[0]} to {numbers[-1]} ({len(numbers)})" if numbers else "none"
