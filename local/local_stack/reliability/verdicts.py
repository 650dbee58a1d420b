"""How a run of a case ended, and what is wrong with that: the verdicts of both matrices."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from local_stack.reliability.bad_inputs import BadInputCase
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
