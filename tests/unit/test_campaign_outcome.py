"""The outcome step of a campaign's row (RecordSent / RecordFailure): the row counted on its campaign once, and a
failure to count never failing the step (moto)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from buyer_messaging import status, table
from buyer_messaging.campaigns import records
from buyer_messaging.campaigns.records import CampaignSource
from buyer_messaging.models import OutcomeTask
from buyer_messaging.workflow import record_outcome as step
from tests import support

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

CAMPAIGN = "recall-2026-11-0123456789abcdef0123"
SOURCE = CampaignSource(support.BUCKET, "campaigns/recall-2026-11.csv", "v1", "recall-2026-11", "csv")
RETENTION = status.Retention(90)
SUMMARY = {"amazonOrderId": support.ORDER_ID, "marketplaceId": support.MARKETPLACE_ID, "messageType": "invoice"}


def _arn(row: int, run: int = 1) -> str:
    return f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:{CAMPAIGN}-{row}-{run}"


def _input(row: int, run: int = 1, campaign: Any = None) -> dict[str, Any]:
    return {
        **SUMMARY,
        "text": "Your order was recalled.",
        "campaign": campaign or {"id": CAMPAIGN, "row": row, "run": run},
    }


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    added: list[str] = []
    original = step.metrics.add_metric

    def add_metric(name: str, **kwargs: Any) -> None:
        added.append(name)
        original(name=name, **kwargs)

    monkeypatch.setattr(step.metrics, "add_metric", add_metric)
    return added


@pytest.fixture
def campaign(aws: dict[str, Any]) -> None:
    records.begin_run(support.TABLE, CAMPAIGN, SOURCE, run=1, retention=RETENTION)
    records.prepared(support.TABLE, CAMPAIGN, 1, rows=10, invalid_by={}, to_send=10)


def _sent(row: int) -> dict[str, Any]:
    arn = _arn(row)
    status.received(support.TABLE, arn, RETENTION, summary=SUMMARY)
    status.validated(support.TABLE, arn, {}, [])
    status.sent(support.TABLE, arn, {"amazonRequestId": "amzn-1"})
    return step.record_outcome(OutcomeTask.from_dict({"executionId": arn, "outcome": "sent", "input": _input(row)}))


def _failed(row: int, error: str, cause: str, execution_input: Any = None) -> dict[str, Any]:
    task = {
        "executionId": _arn(row),
        "outcome": "failed",
        "failure": {"error": error, "cause": cause},
        "input": _input(row) if execution_input is None else execution_input,
    }
    return step.record_outcome(OutcomeTask.from_dict(task))


def _record() -> dict[str, Any]:
    record = records.get(support.TABLE, CAMPAIGN)
    assert record is not None
    return {name: record[name] for name in ("waiting", "sent", "failed", "unknown", "failedBy")}


def test_a_sent_row_is_counted_once(campaign: None, metrics: list[str]) -> None:
    assert _sent(1)["status"] == "sent"
    step.record_outcome(OutcomeTask.from_dict({"executionId": _arn(1), "outcome": "sent", "input": _input(1)}))

    assert _record() == {"waiting": 9, "sent": 1, "failed": 0, "unknown": 0, "failedBy": {}}
    outcome = records.row_outcomes(support.TABLE, CAMPAIGN, [1])[1]
    assert (outcome.outcome, outcome.request_id, outcome.run, outcome.error) == ("sent", f"{CAMPAIGN}-1-1", 1, None)
    assert "CampaignRowNotCounted" not in metrics


def test_failed_and_unknown_rows_are_counted_with_their_error(campaign: None, metrics: list[str]) -> None:
    assert _failed(2, "AttachmentNotFound", "s3://b/attachments/gone.pdf does not exist.")["status"] == "failed"
    arn = _arn(3)
    status.received(support.TABLE, arn, RETENTION, summary=SUMMARY)
    status.validated(support.TABLE, arn, {}, [])
    assert _failed(3, "SendOutcomeUnknown", "No answer came within 30 s.")["status"] == "unknown"

    assert _record() == {"waiting": 8, "sent": 0, "failed": 1, "unknown": 1, "failedBy": {"AttachmentNotFound": 1}}
    outcomes = records.row_outcomes(support.TABLE, CAMPAIGN, [2, 3])
    assert [(o.outcome, o.error, o.cause) for o in outcomes.values()] == [
        ("failed", "AttachmentNotFound", "s3://b/attachments/gone.pdf does not exist."),
        ("unknown", "SendOutcomeUnknown", "No answer came within 30 s."),
    ]
    assert metrics.count("CampaignRowNotCounted") == 0


def test_a_failure_after_the_message_was_sent_counts_the_row_sent(campaign: None) -> None:
    _sent(4)
    assert _failed(4, "WorkflowError", "States.Timeout: RecordSent timed out")["status"] == "sent"
    assert _record() == {"waiting": 9, "sent": 1, "failed": 0, "unknown": 0, "failedBy": {}}


def test_a_row_that_cannot_be_counted_never_fails_the_step(aws: dict[str, Any], metrics: list[str]) -> None:
    """No campaign record: the outcome is still recorded, tagged and announced; the row is left to the report."""
    recorded = _failed(5, "AttachmentNotFound", "gone")

    assert recorded["status"] == "failed"
    assert status.get(support.TABLE, f"{CAMPAIGN}-5-1")["status"] == "failed"  # type: ignore[index]
    assert metrics.count("CampaignRowNotCounted") == 1
    assert [item["id"]["S"] for item in aws["dynamodb"].scan(TableName=support.TABLE)["Items"]] == [
        f"request#{CAMPAIGN}-5-1"
    ]


def test_dynamodb_failing_to_count_never_fails_the_step(
    campaign: None, metrics: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def throttled(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems")

    monkeypatch.setattr(table.client(), "transact_write_items", throttled)
    assert _failed(6, "AttachmentNotFound", "gone")["status"] == "failed"
    assert metrics.count("CampaignRowNotCounted") == 1
    assert _record()["failed"] == 0


def test_a_malformed_campaign_reference_is_not_counted(campaign: None, metrics: list[str]) -> None:
    _failed(7, "InvalidRequest", "campaign.row must be 1 or more", _input(7, campaign={"id": CAMPAIGN, "row": 0}))
    assert metrics.count("CampaignRowNotCounted") == 1
    assert _record() == {"waiting": 10, "sent": 0, "failed": 0, "unknown": 0, "failedBy": {}}


def test_a_request_of_no_campaign_writes_no_campaign_item(aws: dict[str, Any], metrics: list[str]) -> None:
    _failed(8, "AttachmentNotFound", "gone", dict(SUMMARY))
    assert metrics.count("CampaignRowNotCounted") == 0
    assert [item["id"]["S"] for item in aws["dynamodb"].scan(TableName=support.TABLE)["Items"]] == [
        f"request#{CAMPAIGN}-8-1"
    ]


def test_a_finished_row_is_counted_once_for_the_stalled_campaign_alarm(
    campaign: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _sent(1)
    step.record_outcome(OutcomeTask.from_dict({"executionId": _arn(1), "outcome": "sent", "input": _input(1)}))
    _failed(2, "AttachmentNotFound", "s3://b/attachments/gone.pdf does not exist.")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    finished = [line for line in lines if "CampaignRowsFinished" in line]
    assert [(line["CampaignRowsFinished"], line["service"]) for line in finished] == [([1.0], "buyer-messaging")] * 2
    assert [line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] for line in finished] == [[["service"]]] * 2
