"""Runs one case of the outage table (:mod:`.outages`) on a local stack and judges it: the messages sent during the
outage, how they ended, what one re-send after it started, what the buyer received, and what a second re-send did.

:func:`run_outage` runs on any running stack with its HTTP API (the matrix's fresh one, or the integration test's);
:func:`run_outage_case` gives it a fresh stack of its own.
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from local_stack.reliability.api_client import local_api
from local_stack.reliability.faults import RunningStack
from local_stack.reliability.inputs import ORDER, doc
from local_stack.reliability.outages import RESENT_ONCE, OutageCase

# More 503s than the executions' retries can use: the operation is down until the outage is lifted.
DOWN_FOR_EVERY_CALL = 100_000


@dataclass
class OutageResult:
    """How an outage case ended, and whether that is what it had to be (``problems`` empty)."""

    case_id: str
    injected: str
    expected: str
    actual: str = ""
    failed: int = 0  # messages that ended failed with the case's error
    first_run: str = ""  # the re-send's last line
    second_run: str = ""
    delivered_once: int = 0  # failed messages the buyer received exactly once after the re-send
    delivered_twice: int = 0  # messages the buyer received more than once
    executions: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def text_of(number: int) -> str:
    return f"Outage message {number}."


def resend(api_url: str, *arguments: str) -> tuple[int, str]:
    """``make resend`` against the API at ``api_url``: its exit status and what it printed."""
    from ops import resend as command

    out = io.StringIO()
    return command.main(["--api", api_url, *arguments], out=out), out.getvalue()


@contextmanager
def crashing_mark() -> Iterator[None]:
    """The re-send's mark on the original record fails (as a crash between start and mark would leave it), in this
    process's API function, until the block ends."""
    from buyer_messaging import status
    from buyer_messaging.errors import WorkflowTableUnavailable

    marked = status.mark_resent

    def crash(table: str, request_id: str, new_request_id: str) -> bool:
        raise WorkflowTableUnavailable("DynamoDB failed on the workflow table (InternalServerError).")

    status.mark_resent = crash
    try:
        yield
    finally:
        status.mark_resent = marked


def run_outage(stack: RunningStack, api_url: str, case: OutageCase, *, timeout_seconds: float = 60.0) -> OutageResult:
    """The outage on ``stack``, the re-sends through ``api_url``, and the verdict."""
    from buyer_messaging import status

    local: Any = stack.local
    table = local.deployment.tables["WorkflowTable"]
    result = OutageResult(case.id, case.injected, case.expected)
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    arguments = ("--since", since, "--error", case.error)
    stack.emulator.inject_fault(case.operation, status=503, count=DOWN_FOR_EVERY_CALL)
    stack.emulator.expire_tokens()
    for number in range(case.messages):
        document = doc("unexpectedProblem", text=text_of(number))
        started = local.client("stepfunctions").start_execution(
            stateMachineArn=local.deployment.state_machine_arn, name=f"outage-{number}", input=json.dumps(document)
        )
        local.wait_for(started["executionArn"], timeout_seconds=timeout_seconds)
    records = [status.get(table, f"outage-{number}") or {} for number in range(case.messages)]
    result.failed = sum(
        1 for record in records if (record.get("status"), record.get("error")) == ("failed", case.error)
    )
    stack.emulator.clear_faults()
    if case.crash_before_mark:
        with crashing_mark():
            code, printed = resend(api_url, *arguments)
        if code != 1:
            result.problems.append(f"the crashed re-send exited {code}, not 1")
    code, printed = resend(api_url, *arguments)
    result.first_run = _last_line(printed)
    if code != 0:
        result.problems.append(f"the re-send exited {code}: {result.first_run}")
    local.wait_for_executions(2 * case.messages, timeout_seconds=timeout_seconds)
    code, printed = resend(api_url, *arguments)
    result.second_run = _last_line(printed)
    if code != 0 or printed.count("skip: alreadyResent") != case.messages:
        result.problems.append(f"the second re-send did not skip every request as already re-sent: {printed!r}")
    received = Counter(delivery["text"] for delivery in stack.emulator.deliveries(ORDER))
    result.delivered_once = sum(1 for number in range(case.messages) if received[text_of(number)] == 1)
    result.delivered_twice = sum(1 for count in received.values() if count > 1)
    result.executions = len(local.executions())
    result.problems.extend(_judge(case, result))
    result.actual = RESENT_ONCE if not result.problems else "; ".join(result.problems)
    return result


def _judge(case: OutageCase, result: OutageResult) -> list[str]:
    problems = []
    if result.failed != case.messages:
        problems.append(f"{result.failed}/{case.messages} messages ended failed with {case.error}")
    if result.delivered_once != case.messages:
        problems.append(f"{result.delivered_once}/{case.messages} failed messages delivered once")
    if result.delivered_twice:
        problems.append(f"{result.delivered_twice} messages delivered twice")
    if result.executions != 2 * case.messages:
        problems.append(f"{result.executions} executions, not {2 * case.messages} (each original and one re-send)")
    return problems


def run_outage_case(case: OutageCase, *, timeout_seconds: float = 60.0) -> OutageResult:
    """One outage case on a fresh local stack of its own."""
    from local_stack.reliability.runner import fresh_stack, quiet_moto

    began = time.monotonic()
    with quiet_moto(), fresh_stack("na") as run, local_api(run) as api:
        result = run_outage(run, api.url, case, timeout_seconds=timeout_seconds)
    result.seconds = time.monotonic() - began
    return result


def _last_line(printed: str) -> str:
    lines = printed.strip().splitlines()
    return lines[-1] if lines else ""
