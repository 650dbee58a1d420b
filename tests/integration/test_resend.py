"""Re-send after an outage, end to end on the local stack (issue 17): LWA (or the SP-API) answers 503 to every call
for longer than the retry budget, the messages sent meanwhile end failed, the outage ends, and one ``make resend``
(ops.resend, through POST /resends on the API function) delivers each failed message exactly once; a second one
re-sends nothing. The request found by the failed index is the failed one, never a sent one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from buyer_messaging import naming
from local_stack.reliability.inputs import ORDER, doc
from local_stack.reliability.outage_runner import DOWN_FOR_EVERY_CALL, crashing_mark, resend
from tests.integration.conftest import Stack
from tests.integration.test_campaigns import HEADER, MARKETPLACE, finished_campaign, report_lines, text_of
from tests.integration.test_campaigns import ORDER as CAMPAIGN_ORDER

MESSAGES = 4
_run = resend  # make resend against the API fixture: (exit status, what it printed)


@pytest.mark.parametrize(
    ("operation", "error"),
    [("lwaToken", "LwaUnavailable"), ("getMessagingActionsForOrder", "SpApiUnavailable")],
    ids=["lwa-down", "spapi-down"],
)
def test_one_resend_after_an_outage_delivers_each_failed_message_once(
    stack: Stack, api: str, operation: str, error: str
) -> None:
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    before = stack.start(doc("unexpectedProblem", text="Sent before the outage."), name="before-the-outage")
    assert before["status"] == "SUCCEEDED"
    stack.emulator.inject_fault(operation, status=503, count=DOWN_FOR_EVERY_CALL)
    # An hour's outage outlives the access token the functions cached before it (LWA's tokens live an hour).
    stack.emulator.expire_tokens()
    for number in range(MESSAGES):
        stack.start(doc("unexpectedProblem", text=f"Outage message {number}."), name=f"outage-{number}")
    failed = [stack.record({"name": f"outage-{number}"}) for number in range(MESSAGES)]
    assert {(record["status"], record.get("error")) for record in failed} == {("failed", error)}
    assert len(stack.emulator.deliveries()) == 1
    stack.emulator.clear_faults()

    dry, plan = _run(api, "--since", since, "--error", error, "--dry-run")
    assert dry == 0, plan
    assert plan.splitlines()[-1] == f"{MESSAGES} selected; would re-send {MESSAGES}; failed to start 0."
    assert "before-the-outage" not in plan, "a sent request is not in the failed index"
    assert len(stack.local.executions()) == MESSAGES + 1

    code, printed = _run(api, "--since", since, "--error", error)
    assert code == 0, printed
    assert printed.splitlines()[-1] == f"{MESSAGES} selected; re-sent {MESSAGES}; failed to start 0."
    finished = stack.local.wait_for_executions(2 * MESSAGES + 1, timeout_seconds=120)
    assert sorted(execution["status"] for execution in finished) == ["FAILED"] * MESSAGES + ["SUCCEEDED"] * (
        MESSAGES + 1
    )
    texts = [delivery["text"] for delivery in stack.emulator.deliveries(ORDER)]
    assert sorted(texts) == sorted(["Sent before the outage."] + [f"Outage message {n}." for n in range(MESSAGES)])
    for number in range(MESSAGES):
        original = stack.record({"name": f"outage-{number}"})
        resent = stack.record({"name": original["resentAs"]})
        assert (resent["status"], resent["resendOf"], resent["origin"]) == ("sent", f"outage-{number}", "resend")

    again, second = _run(api, "--since", since, "--error", error)
    assert again == 0, second
    assert second.splitlines()[-1] == f"{MESSAGES} selected; re-sent 0; failed to start 0."
    assert second.count("skip: alreadyResent") == MESSAGES
    assert len(stack.local.executions()) == 2 * MESSAGES + 1
    assert len(stack.emulator.deliveries(ORDER)) == MESSAGES + 1


def test_a_selection_without_a_filter_is_refused_with_exit_status_2(stack: Stack, api: str) -> None:
    code, printed = _run(api, "--error", "LwaUnavailable")
    assert code == 2
    assert printed == (
        "Refused (400 ResendSelectionInvalid): Say what to re-send: a time range of failure (since, until), an order "
        "(amazonOrderId) or request ids (requests); error names only narrow one of them.\n"
    )


def test_a_crash_between_the_start_and_the_mark_delivers_nothing_twice(stack: Stack, api: str) -> None:
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    stack.emulator.inject_fault("lwaToken", status=503, count=DOWN_FOR_EVERY_CALL)
    stack.start(doc("unexpectedProblem", text="Outage message."), name="outage")
    stack.emulator.clear_faults()
    with crashing_mark():
        code, printed = _run(api, "--since", since, "--error", "LwaUnavailable")
    assert code == 1, printed
    assert printed.splitlines()[-1] == "1 selected; re-sent 0; failed to start 1."
    assert "resend: NOT STARTED" in printed
    stack.local.wait_for_executions(2, timeout_seconds=60)

    code, printed = _run(api, "--since", since, "--error", "LwaUnavailable")
    assert code == 0, printed
    assert printed.splitlines()[-1] == "1 selected; re-sent 1; failed to start 0."
    assert len(stack.local.executions()) == 2, "the second run started no execution of its own"
    assert [delivery["text"] for delivery in stack.emulator.deliveries(ORDER)] == ["Outage message."]
    assert (_run(api, "--since", since)[1]).count("skip: alreadyResent") == 1


def test_a_campaigns_rows_an_outage_failed_are_resent_once_by_its_next_run(stack: Stack, api: str) -> None:
    """resend --campaign: the rows of the campaign's report that failed, sent by its next run (one execution name),
    the rows sent before left alone; a second resend finds nothing failed and starts nothing."""
    delivered = "Row 2: delivered to the front desk."
    rows = [
        [CAMPAIGN_ORDER, MARKETPLACE, "unexpectedProblem", text_of(1)],
        [CAMPAIGN_ORDER, MARKETPLACE, "confirmDeliveryDetails", delivered],
        [CAMPAIGN_ORDER, MARKETPLACE, "unexpectedProblem", text_of(3)],
    ]
    body = "\r\n".join(",".join(row) for row in [HEADER, *rows]) + "\r\n"
    stack.emulator.inject_fault("createConfirmDeliveryDetails", status=503, count=DOWN_FOR_EVERY_CALL)
    put = stack.put("campaigns/recall.csv", body.encode())
    (first,) = finished_campaign(stack)
    assert first["status"] == "SUCCEEDED", first.get("cause")
    stack.emulator.clear_faults()
    campaign_id = naming.campaign_id(stack.bucket, "campaigns/recall.csv", put["VersionId"], "recall")
    failed_request = report_lines(stack, "campaigns/recall.report.csv")[1]["requestId"]

    dry, plan = _run(api, "--campaign", campaign_id, "--dry-run")
    assert dry == 0, plan
    assert plan.splitlines()[-1] == "1 selected; would re-send 1; failed to start 0."
    assert failed_request in plan
    assert len(finished_campaign(stack)) == 1  # a dry run starts no run

    code, printed = _run(api, "--campaign", campaign_id)
    assert code == 0, printed
    assert printed.splitlines()[-1] == "1 selected; re-sent 1; failed to start 0."
    assert f"{campaign_id}-2-2" in printed  # row 2's execution in run 2: its new request id
    runs = finished_campaign(stack, 2)
    assert sorted(run["status"] for run in runs) == ["SUCCEEDED", "SUCCEEDED"]
    texts = sorted(str(delivery.get("text")) for delivery in stack.emulator.deliveries(CAMPAIGN_ORDER))
    assert texts == sorted([text_of(1), delivered, text_of(3)])
    assert [line["status"] for line in report_lines(stack, "campaigns/recall.report.csv")] == [
        "skipped",
        "sent",
        "skipped",
    ]

    again, second = _run(api, "--campaign", campaign_id)
    assert again == 0, second
    assert second.splitlines()[-1] == "0 selected; re-sent 0; failed to start 0."
    assert len(finished_campaign(stack, 2)) == 2  # nothing failed: no run 3
