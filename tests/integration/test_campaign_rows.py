"""A campaign's rows through the real send state machine on the local stack: RecordSent and RecordFailure count
each row on its campaign (RecordSent knows the row from the execution's input)."""

from __future__ import annotations

from buyer_messaging.campaigns import records
from buyer_messaging.campaigns.records import CampaignSource
from tests.integration.conftest import Stack

CAMPAIGN = "delay-2026-12-0123456789abcdef0123"
ORDER = "123-1234567-1234567"
ONLY_UNEXPECTED_PROBLEM = "702-0000000-0000000"
MARKETPLACE = "ATVPDKIKX0DER"


def _row(order: str, message_type: str, row: int) -> dict[str, object]:
    return {
        "amazonOrderId": order,
        "marketplaceId": MARKETPLACE,
        "messageType": message_type,
        "text": "Your order is delayed by two days. We are sorry for the wait.",
        "campaign": {"id": CAMPAIGN, "row": row, "run": 1},
    }


def test_a_campaigns_rows_are_counted_by_their_outcome_steps(stack: Stack) -> None:
    assert stack.local.deployment is not None
    table = stack.local.deployment.tables["WorkflowTable"]
    source = CampaignSource(stack.bucket, "campaigns/delay-2026-12.csv", "v1", "delay-2026-12", "csv")
    records.begin_run(table, CAMPAIGN, source, run=1)
    records.prepared(table, CAMPAIGN, 1, rows=3, invalid_by={"InvalidMessageText": 1}, to_send=2)

    sent = stack.start(_row(ORDER, "unexpectedProblem", 1), name=f"{CAMPAIGN}-1-1")
    failed = stack.start(_row(ONLY_UNEXPECTED_PROBLEM, "invoice", 2), name=f"{CAMPAIGN}-2-1")

    assert (sent["status"], failed["status"]) == ("SUCCEEDED", "FAILED"), failed.get("cause")
    record = records.get(table, CAMPAIGN)
    assert record is not None
    assert {name: record[name] for name in ("rows", "invalid", "waiting", "sent", "failed", "unknown")} == {
        "rows": 3,
        "invalid": 1,
        "waiting": 0,
        "sent": 1,
        "failed": 1,
        "unknown": 0,
    }
    assert record["failedBy"] == {"MessageTypeNotAvailable": 1}
    outcomes = records.row_outcomes(table, CAMPAIGN, [1, 2])
    assert [(o.outcome, o.request_id, o.error) for o in outcomes.values()] == [
        ("sent", f"{CAMPAIGN}-1-1", None),
        ("failed", f"{CAMPAIGN}-2-1", "MessageTypeNotAvailable"),
    ]
