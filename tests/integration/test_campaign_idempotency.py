"""A campaign's idempotency on the local stack: no buyer gets a row's message twice, whatever is repeated.

Beside tests/integration/test_campaigns.py (the same manifest version delivered twice starts one campaign; a second
run sends only the row an outage failed): a run started while one is going is refused (CampaignRunning) and leaves
the going run alone; a row whose send outcome is unknown is never sent again; a child that crashed after its send
is not sent twice, neither by its own retry nor by a second run. Each is judged by the emulator's received
messages, the report CSV and the campaign record.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import pytest

from buyer_messaging import naming
from local_stack.reliability.faults import crash_after_send
from tests.integration.conftest import Stack
from tests.integration.test_campaigns import (
    HEADER,
    MARKETPLACE,
    ORDER,
    finished_campaign,
    record_of,
    report_lines,
    text_of,
)

DELIVERY_TEXT = "Row 2: delivered to the front desk."


def _manifest(*rows: tuple[str, str]) -> bytes:
    lines = [",".join(HEADER), *(f"{ORDER},{MARKETPLACE},{message_type},{text}" for message_type, text in rows)]
    return ("\r\n".join(lines) + "\r\n").encode()


THREE_ROWS = _manifest(
    ("unexpectedProblem", text_of(1)), ("confirmDeliveryDetails", DELIVERY_TEXT), ("unexpectedProblem", text_of(3))
)
THREE_TEXTS = {text_of(1): 1, DELIVERY_TEXT: 1, text_of(3): 1}


def received(stack: Stack) -> Counter[str]:
    """How many times the buyer received each text."""
    return Counter(str(delivery.get("text")) for delivery in stack.emulator.deliveries(ORDER))


def start_run(stack: Stack, first: dict[str, Any], run: int) -> str:
    """Start run ``run`` of the campaign whose run 1 is ``first``, as the API's POST /campaigns/{id}/runs does."""
    assert stack.local.deployment is not None
    document = {**json.loads(first["input"]), "run": run}
    name = naming.campaign_run_name(document["campaignId"], run)
    stack.sfn.start_execution(
        stateMachineArn=stack.local.deployment.campaign_state_machine_arn, name=name, input=json.dumps(document)
    )
    return name


def run_of(stack: Stack, name: str, count: int) -> dict[str, Any]:
    (found,) = [execution for execution in finished_campaign(stack, count) if execution["name"] == name]
    return found


def test_a_run_started_while_one_is_going_is_refused_and_leaves_it_alone(stack: Stack) -> None:
    """Run 2 starts while run 1's rows are being sent: it fails CampaignRunning, sends nothing, and run 1 ends as
    if it had not been there (its record, counts and report)."""
    assert stack.local.deployment is not None
    sending = threading.Event()
    go_on = threading.Event()
    invoke = stack.local.lambdas.invoke

    def held(function: Any, event: Any) -> tuple[str, bool, str]:
        if function.name.endswith("SendMessageFunction"):
            sending.set()
            assert go_on.wait(60), "run 1 was never let go on"
        result: tuple[str, bool, str] = invoke(function, event)
        return result

    stack.local.lambdas.invoke = held  # type: ignore[method-assign]
    put = stack.put("campaigns/going.csv", THREE_ROWS)
    campaign_id = naming.campaign_id(stack.bucket, "campaigns/going.csv", put["VersionId"], "going")
    assert sending.wait(60), "run 1 never reached a send"
    (first,) = [execution for execution in _campaign_runs(stack) if execution["name"] == f"{campaign_id}-1"]
    second = start_run(stack, stack.sfn.describe_execution(executionArn=first["executionArn"]), 2)
    try:
        refused = stack.local.wait_for(_arn(stack, second), timeout_seconds=60)
        during = record_of(stack, campaign_id)
    finally:
        go_on.set()
    first_ended = run_of(stack, f"{campaign_id}-1", 2)

    assert (refused["status"], refused["error"]) == ("FAILED", "CampaignFailed")
    assert json.loads(refused["cause"]) == {
        "errorType": "CampaignRunning",
        "errorMessage": f"Campaign {campaign_id} is still in run 1 (running): start it again once that run has "
        "finished.",
    }
    assert (during["run"], during["status"]) == (1, "running")
    assert "error" not in during
    assert first_ended["status"] == "SUCCEEDED", first_ended.get("cause")
    record = record_of(stack, campaign_id)
    assert {name: record[name] for name in ("run", "status", "rows", "sent", "failed", "unknown")} == {
        "run": 1,
        "status": "finished",
        "rows": 3,
        "sent": 3,
        "failed": 0,
        "unknown": 0,
    }
    assert [line["status"] for line in report_lines(stack, "campaigns/going.report.csv")] == ["sent"] * 3
    assert received(stack) == THREE_TEXTS


def test_a_row_whose_send_outcome_is_unknown_is_never_sent_again(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Amazon delivers row 2's message but answers after the client's read timeout: run 1 reports it unknown, and
    run 2 leaves it out (it may have reached the buyer), so the buyer has it once."""
    from local_stack.stack import reset_function_caches

    monkeypatch.setenv("SPAPI_READ_TIMEOUT", "1")
    reset_function_caches()
    stack.emulator.inject_fault("createConfirmDeliveryDetails", delay_seconds=3.0, processed=True)
    put = stack.put("campaigns/unknown.csv", THREE_ROWS)
    campaign_id = naming.campaign_id(stack.bucket, "campaigns/unknown.csv", put["VersionId"], "unknown")
    (first,) = finished_campaign(stack)
    assert first["status"] == "SUCCEEDED", first.get("cause")
    lines = report_lines(stack, "campaigns/unknown.report.csv")
    assert [(line["status"], line["error"]) for line in lines] == [
        ("sent", ""),
        ("unknown", "SendOutcomeUnknown"),
        ("sent", ""),
    ]
    assert received(stack) == THREE_TEXTS  # Amazon has row 2's message: only its answer was lost

    second = run_of(stack, start_run(stack, first, 2), 2)

    assert second["status"] == "SUCCEEDED", second.get("cause")
    assert received(stack) == THREE_TEXTS
    assert _row_executions(stack, campaign_id) == [f"{campaign_id}-{row}-1" for row in (1, 2, 3)]  # none of run 2
    lines = report_lines(stack, "campaigns/unknown.report.csv")
    assert [(line["status"], line["error"]) for line in lines] == [
        ("skipped", ""),
        ("unknown", "SendOutcomeUnknown"),
        ("skipped", ""),
    ]
    record = record_of(stack, campaign_id)
    assert {name: record[name] for name in ("run", "status", "sent", "unknown", "skipped")} == {
        "run": 2,
        "status": "finished",
        "sent": 2,
        "unknown": 1,
        "skipped": 2,
    }


def test_a_row_whose_child_crashed_after_its_send_is_sent_once_by_either_run(stack: Stack) -> None:
    """The first row's SendMessage Lambda sends, then dies before answering: the send machine's retry finds the
    message sent (no second send), and a second run leaves every row out."""
    crashes = crash_after_send(stack)
    put = stack.put("campaigns/crash.csv", THREE_ROWS)
    campaign_id = naming.campaign_id(stack.bucket, "campaigns/crash.csv", put["VersionId"], "crash")
    (first,) = finished_campaign(stack)

    assert len(crashes) == 1, "the crash never happened"
    assert first["status"] == "SUCCEEDED", first.get("cause")
    assert received(stack) == THREE_TEXTS
    assert [line["status"] for line in report_lines(stack, "campaigns/crash.report.csv")] == ["sent"] * 3
    sends = Counter(call["operation"] for call in stack.emulator.calls() if call["status"] == 201)

    second = run_of(stack, start_run(stack, first, 2), 2)

    assert second["status"] == "SUCCEEDED", second.get("cause")
    assert received(stack) == THREE_TEXTS
    assert Counter(call["operation"] for call in stack.emulator.calls() if call["status"] == 201) == sends
    _assert_second_run_skipped_every_row(stack, campaign_id, "campaigns/crash.report.csv")


def test_a_row_sent_but_never_counted_is_not_sent_again(stack: Stack) -> None:
    """Row 2 went out, but its outcome never reached the campaign (the outcome step could not count it:
    CampaignRowNotCounted, a row whose count is lost): a second run finds the row's own request record sent,
    leaves the row out and counts it, so the buyer has it once and the report says it was sent before."""
    assert stack.local.deployment is not None
    put = stack.put("campaigns/uncounted.csv", THREE_ROWS)
    campaign_id = naming.campaign_id(stack.bucket, "campaigns/uncounted.csv", put["VersionId"], "uncounted")
    (first,) = finished_campaign(stack)
    assert first["status"] == "SUCCEEDED", first.get("cause")
    assert received(stack) == THREE_TEXTS
    table = stack.local.deployment.tables["WorkflowTable"]
    stack.local.client("dynamodb").delete_item(TableName=table, Key={"id": {"S": f"campaign#{campaign_id}#row#2"}})

    second = run_of(stack, start_run(stack, first, 2), 2)

    assert second["status"] == "SUCCEEDED", second.get("cause")
    assert received(stack) == THREE_TEXTS
    _assert_second_run_skipped_every_row(stack, campaign_id, "campaigns/uncounted.report.csv")


def _assert_second_run_skipped_every_row(stack: Stack, campaign_id: str, report_key: str) -> None:
    """Run 2 started no row of its own, its report says each of the three rows was sent before (skipped), and the
    record counts them sent once."""
    assert _row_executions(stack, campaign_id) == [f"{campaign_id}-{row}-1" for row in (1, 2, 3)]  # none of run 2
    assert [line["status"] for line in report_lines(stack, report_key)] == ["skipped"] * 3
    record = record_of(stack, campaign_id)
    assert {name: record[name] for name in ("run", "sent", "skipped", "failed", "unknown")} == {
        "run": 2,
        "sent": 3,
        "skipped": 3,
        "failed": 0,
        "unknown": 0,
    }


def _campaign_runs(stack: Stack) -> list[dict[str, Any]]:
    assert stack.local.deployment is not None
    listed = stack.sfn.list_executions(stateMachineArn=stack.local.deployment.campaign_state_machine_arn)
    return list(listed["executions"])


def _arn(stack: Stack, name: str) -> str:
    (found,) = [execution["executionArn"] for execution in _campaign_runs(stack) if execution["name"] == name]
    return str(found)


def _row_executions(stack: Stack, campaign_id: str) -> list[str]:
    """The names of the campaign's rows' send executions, in row order."""
    names = [execution["name"] for execution in stack.local.executions()]
    return sorted(
        (name for name in names if name.startswith(campaign_id + "-")),
        key=lambda name: [int(part) for part in name.rsplit("-", 2)[1:]],
    )
