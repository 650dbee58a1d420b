"""``make load-campaign`` kept alive: a campaign of 12 rows run by the benchmark's own child process (a fresh local
stack, the manifest uploaded under campaigns/, a console message posted half-way), every row accounted for."""

from __future__ import annotations

from bench import load_campaign
from bench.load_plan import counts_by_kind, plan_messages

ROWS = 12
FACTOR = 20.0  # quotas and waits 20 times faster: the quota (20 rows/s) is not what this test waits for


def test_a_small_campaign_accounts_for_every_row_and_sends_the_console_message_once() -> None:
    messages = plan_messages(ROWS, {"invoice": 80, "text": 10, "files": 10}, files=3)
    assert counts_by_kind(messages) == {"invoice": 10, "text": 1, "files": 1}

    raw = load_campaign.run_campaign(messages, FACTOR, quotas_off=False, interactive=True, timeout_seconds=90)
    summary = load_campaign.summarize(raw, capacity=1.0, quota=1.0, binding_operation="getMessagingActionsForOrder")

    assert summary.campaign_status == "SUCCEEDED"
    assert (summary.rows, summary.report_rows, summary.sent) == (ROWS, ROWS, ROWS)
    assert (summary.failed, summary.unknown) == (0, 0)
    assert summary.accounted
    assert (summary.delivered, summary.duplicates) == (ROWS, 0)
    assert raw["interactive"]["status"] == 202
    assert summary.interactive_deliveries == 1
    assert summary.interactive_seconds is not None and summary.interactive_seconds > 0
    assert summary.finished_seconds is not None
    assert raw["sendExecutions"] == {"SUCCEEDED": ROWS + 1}  # the rows and the console's message
    assert summary.total_throttled == 0
