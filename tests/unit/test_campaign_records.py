"""The campaign record and its rows' outcomes (moto DynamoDB): each row counted once, a later run's outcome
replacing an earlier one's, a repeat or a late outcome changing nothing, sent final, runs one after the other."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from buyer_messaging import table
from buyer_messaging.campaigns import records
from buyer_messaging.campaigns.records import CampaignCounts, CampaignSource
from buyer_messaging.errors import CampaignNotFound, CampaignRunning, WorkflowTableUnavailable
from buyer_messaging.models import CampaignRef
from buyer_messaging.status import Retention
from buyer_messaging.storage import ObjectVersion
from tests import support

CAMPAIGN = "recall-2026-11-0123456789abcdef0123"
SOURCE = CampaignSource(support.BUCKET, "campaigns/recall-2026-11.csv", "v1", "recall-2026-11", "csv")
RETENTION = Retention(days=90)
REPORT = ObjectVersion(support.BUCKET, "campaigns/recall-2026-11.report.csv", "r1")


def _start(run: int = 1, *, rows: int = 10, to_send: int = 10, invalid_by: dict[str, int] | None = None) -> None:
    records.begin_run(support.TABLE, CAMPAIGN, SOURCE, run=run, retention=RETENTION)
    records.prepared(support.TABLE, CAMPAIGN, run, rows=rows, invalid_by=invalid_by or {}, to_send=to_send)


def _finish(run: int, counts: CampaignCounts) -> None:
    records.finished(support.TABLE, CAMPAIGN, run, counts=counts, report=REPORT)


def _row(row: int, run: int, outcome: str, error: str | None = None) -> bool:
    cause = f"{error}: the cause" if error else None
    return records.row_finished(
        support.TABLE,
        CampaignRef(CAMPAIGN, row, run),
        outcome=outcome,
        error=error,
        cause=cause,
        request_id=f"{CAMPAIGN}-{row}-{run}",
        retention=RETENTION,
    )


def _counts() -> dict[str, Any]:
    record = records.get(support.TABLE, CAMPAIGN)
    assert record is not None
    return {name: record[name] for name in ("waiting", "sent", "failed", "unknown", "failedBy")}


def test_run_one_creates_the_record_once(aws: dict[str, Any]) -> None:
    before = time.time()
    records.begin_run(support.TABLE, CAMPAIGN, SOURCE, run=1, retention=RETENTION)
    first = records.get(support.TABLE, CAMPAIGN)
    records.begin_run(support.TABLE, CAMPAIGN, SOURCE, run=1, retention=RETENTION)  # a repeated S3 event

    assert records.get(support.TABLE, CAMPAIGN) == first
    assert first is not None
    assert {name: first[name] for name in ("campaignId", "name", "manifest", "format", "run", "status")} == {
        "campaignId": CAMPAIGN,
        "name": "recall-2026-11",
        "manifest": {"bucket": support.BUCKET, "key": "campaigns/recall-2026-11.csv", "versionId": "v1"},
        "format": "csv",
        "run": 1,
        "status": "checking",
    }
    item = aws["dynamodb"].get_item(TableName=support.TABLE, Key={"id": {"S": f"campaign#{CAMPAIGN}"}})["Item"]
    assert before + 90 * 86_400 - 1 <= int(item["expiration"]["N"]) <= time.time() + 90 * 86_400 + 1


def test_prepared_sets_the_rows_once(aws: dict[str, Any]) -> None:
    _start(rows=12, to_send=9, invalid_by={"InvalidMessageText": 2, "DuplicateRow": 1})
    _row(1, 1, "sent")
    records.prepared(support.TABLE, CAMPAIGN, 1, rows=12, invalid_by={}, to_send=9)  # a retried step

    record = records.get(support.TABLE, CAMPAIGN)
    assert record is not None
    assert (record["status"], record["rows"], record["invalid"], record["waiting"]) == ("running", 12, 3, 8)
    assert record["invalidBy"] == {"InvalidMessageText": 2, "DuplicateRow": 1}


def test_each_row_is_counted_once_and_a_repeat_changes_nothing(aws: dict[str, Any]) -> None:
    _start()
    assert _row(1, 1, "sent")
    assert _row(2, 1, "failed", "SpApiInvalidInput")
    assert _row(3, 1, "unknown", "SendOutcomeUnknown")
    assert not _row(2, 1, "failed", "SpApiInvalidInput")  # a retried outcome step
    assert not _row(1, 1, "sent")

    assert _counts() == {"waiting": 7, "sent": 1, "failed": 1, "unknown": 1, "failedBy": {"SpApiInvalidInput": 1}}
    outcome = records.row_outcomes(support.TABLE, CAMPAIGN, [2])[2]
    assert (outcome.outcome, outcome.error, outcome.cause, outcome.request_id, outcome.run) == (
        "failed",
        "SpApiInvalidInput",
        "SpApiInvalidInput: the cause",
        f"{CAMPAIGN}-2-1",
        1,
    )


def test_a_later_run_replaces_a_failure(aws: dict[str, Any]) -> None:
    _start(rows=2, to_send=2)
    _row(1, 1, "failed", "SpApiThrottled")
    _row(2, 1, "failed", "MessageTypeNotAvailable")
    failed_by = {"SpApiThrottled": 1, "MessageTypeNotAvailable": 1}
    assert _counts() == {"waiting": 0, "sent": 0, "failed": 2, "unknown": 0, "failedBy": failed_by}
    _finish(1, CampaignCounts(rows=2, sent=0, failed=2, unknown=0, invalid=0, skipped=0, failed_by=failed_by))
    _start(2, rows=2, to_send=2)

    assert _row(1, 2, "sent")
    assert _counts() == {
        "waiting": 1,
        "sent": 1,
        "failed": 1,
        "unknown": 0,
        "failedBy": {"MessageTypeNotAvailable": 1},
    }
    assert _row(2, 2, "failed", "SpApiInvalidInput")
    assert _counts() == {"waiting": 0, "sent": 1, "failed": 1, "unknown": 0, "failedBy": {"SpApiInvalidInput": 1}}
    outcomes = records.row_outcomes(support.TABLE, CAMPAIGN, [1, 2])
    assert [(o.outcome, o.error, o.run) for o in outcomes.values()] == [
        ("sent", None, 2),
        ("failed", "SpApiInvalidInput", 2),
    ]


def test_a_late_outcome_of_an_earlier_run_never_replaces_a_later_ones(aws: dict[str, Any]) -> None:
    _start(rows=1, to_send=1)
    records.run_failed(support.TABLE, CAMPAIGN, 1, error="States.Timeout", cause="the campaign timed out")
    _start(2, rows=1, to_send=1)
    assert _row(1, 2, "failed", "SpApiInvalidInput")
    assert not _row(1, 1, "sent")  # run 1's child, still running when run 1 failed, ends late

    assert _counts() == {"waiting": 0, "sent": 0, "failed": 1, "unknown": 0, "failedBy": {"SpApiInvalidInput": 1}}
    assert records.row_outcomes(support.TABLE, CAMPAIGN, [1])[1].run == 2


def test_a_late_outcome_of_an_earlier_run_counts_but_is_not_waited_for(aws: dict[str, Any]) -> None:
    _start(rows=2, to_send=2)
    records.run_failed(support.TABLE, CAMPAIGN, 1, error="States.Timeout", cause="the campaign timed out")
    _start(2, rows=2, to_send=2)
    assert _row(1, 1, "failed", "SpApiThrottled")  # before run 2's outcome for the row
    assert _counts() == {"waiting": 2, "sent": 0, "failed": 1, "unknown": 0, "failedBy": {"SpApiThrottled": 1}}
    assert _row(1, 2, "sent")
    assert _counts() == {"waiting": 1, "sent": 1, "failed": 0, "unknown": 0, "failedBy": {}}


def test_sent_is_final_for_a_row(aws: dict[str, Any]) -> None:
    _start(rows=1, to_send=1)
    _row(1, 1, "sent")
    _finish(1, CampaignCounts(rows=1, sent=1, failed=0, unknown=0, invalid=0, skipped=0))
    _start(2, rows=1, to_send=1)
    assert _row(1, 2, "failed", "MessageTypeNotAvailable")  # the row of run 2 finished: no longer waited for

    assert _counts() == {"waiting": 0, "sent": 1, "failed": 0, "unknown": 0, "failedBy": {}}
    outcome = records.row_outcomes(support.TABLE, CAMPAIGN, [1])[1]
    assert (outcome.outcome, outcome.run, outcome.request_id) == ("sent", 1, f"{CAMPAIGN}-1-1")


def test_a_run_may_skip_a_number_a_refused_start_spent(aws: dict[str, Any]) -> None:
    """Run 2's start was refused while run 1 went on (its execution name is spent): run 3 begins after run 1, and
    a late retry of run 2 changes nothing."""
    _start()
    _finish(1, CampaignCounts(rows=10, sent=10, failed=0, unknown=0, invalid=0, skipped=0))
    records.begin_run(support.TABLE, CAMPAIGN, SOURCE, run=3, retention=RETENTION)
    records.begin_run(support.TABLE, CAMPAIGN, SOURCE, run=2, retention=RETENTION)
    record = records.get(support.TABLE, CAMPAIGN)
    assert record is not None
    assert (record["run"], record["status"]) == (3, "checking")


def test_a_run_begins_only_after_the_one_before_ended(aws: dict[str, Any]) -> None:
    with pytest.raises(CampaignNotFound, match=CAMPAIGN):
        records.begin_run(support.TABLE, CAMPAIGN, SOURCE, run=2, retention=RETENTION)
    _start()
    with pytest.raises(CampaignRunning) as raised:
        records.begin_run(support.TABLE, CAMPAIGN, SOURCE, run=2, retention=RETENTION)
    assert str(raised.value) == (
        f"Campaign {CAMPAIGN} is still in run 1 (running): start it again once that run has finished."
    )
    _finish(1, CampaignCounts(rows=10, sent=10, failed=0, unknown=0, invalid=0, skipped=0))
    records.begin_run(support.TABLE, CAMPAIGN, SOURCE, run=2, retention=RETENTION)
    records.begin_run(support.TABLE, CAMPAIGN, SOURCE, run=2, retention=RETENTION)  # a retried step
    record = records.get(support.TABLE, CAMPAIGN)
    assert record is not None
    assert (record["run"], record["status"], "finishedAt" in record) == (2, "checking", False)
    assert record["report"] == REPORT.to_dict()  # the last report stays until this run writes its own


def test_finished_writes_the_reports_counts(aws: dict[str, Any]) -> None:
    _start(rows=10, to_send=8, invalid_by={"DuplicateRow": 2})
    _row(1, 1, "sent")
    counts = CampaignCounts(
        rows=10, sent=5, failed=2, unknown=1, invalid=2, skipped=0, failed_by={"SpApiInvalidInput": 2}
    )
    _finish(1, counts)
    _finish(1, CampaignCounts(rows=10, sent=0, failed=0, unknown=0, invalid=0, skipped=0))  # a repeat: no-op

    record = records.get(support.TABLE, CAMPAIGN)
    assert record is not None
    assert {name: record[name] for name in ("status", "rows", "sent", "skipped", "failed", "unknown", "invalid")} == {
        "status": "finished",
        "rows": 10,
        "sent": 5,
        "skipped": 0,
        "failed": 2,
        "unknown": 1,
        "invalid": 2,
    }
    assert (record["waiting"], record["failedBy"], record["report"]) == (0, {"SpApiInvalidInput": 2}, REPORT.to_dict())
    assert records.completed_detail(record) == {
        "campaignId": CAMPAIGN,
        "name": "recall-2026-11",
        "run": 1,
        "rows": 10,
        "sent": 5,
        "skipped": 0,
        "failed": 2,
        "unknown": 1,
        "invalid": 2,
        "failedBy": {"SpApiInvalidInput": 2},
        "report": REPORT.to_dict(),
    }


def test_run_failed_keeps_the_error_and_never_undoes_an_end(aws: dict[str, Any]) -> None:
    _start()
    records.run_failed(support.TABLE, CAMPAIGN, 1, error="ManifestInvalid", cause="The manifest is empty.")
    _finish(1, CampaignCounts(rows=10, sent=10, failed=0, unknown=0, invalid=0, skipped=0))  # too late: no-op

    record = records.get(support.TABLE, CAMPAIGN)
    assert record is not None
    assert (record["status"], record["error"], record["cause"]) == (
        "failed",
        "ManifestInvalid",
        "The manifest is empty.",
    )
    assert record["sent"] == 0
    with pytest.raises(CampaignNotFound):
        records.run_failed(support.TABLE, "another", 1, error="X", cause="y")


def test_a_row_of_a_campaign_without_a_record_is_not_written(aws: dict[str, Any]) -> None:
    with pytest.raises(CampaignNotFound):
        _row(1, 1, "sent")
    assert aws["dynamodb"].scan(TableName=support.TABLE)["Items"] == []


def test_row_outcomes_reads_in_batches_of_a_hundred(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    _start(rows=250, to_send=250)
    for row in range(1, 251, 2):
        _row(row, 1, "sent")
    batches: list[int] = []
    client = table.client()
    original = client.batch_get_item

    def batch_get_item(**params: Any) -> Any:
        batches.append(len(params["RequestItems"][support.TABLE]["Keys"]))
        return original(**params)

    monkeypatch.setattr(client, "batch_get_item", batch_get_item)
    found = records.row_outcomes(support.TABLE, CAMPAIGN, [*range(1, 251), 3, 5])  # repeats asked once

    assert sorted(found) == list(range(1, 251, 2))
    assert batches == [100, 100, 50]


def test_a_row_counted_meanwhile_by_another_attempt_is_not_counted_again(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read says "not counted yet", another attempt counts the row before this one writes: the transaction's
    condition fails, the read is made again, and the row stays counted once."""
    _start()
    original = records._read
    stale = {"left": 1}

    def read(table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
        if "#row#" in key["id"]["S"] and stale["left"]:
            stale["left"] -= 1
            _row(1, 1, "sent")  # the other attempt
            return None
        return original(table_name, key)

    monkeypatch.setattr(records, "_read", read)
    assert not _row(1, 1, "sent")
    assert _counts() == {"waiting": 9, "sent": 1, "failed": 0, "unknown": 0, "failedBy": {}}


def test_dynamodb_failing_is_workflow_table_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    def transact_write_items(**params: Any) -> Any:
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": "None"}, {"Code": "ThrottlingError"}],
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(table.client(), "transact_write_items", transact_write_items)
    with pytest.raises(WorkflowTableUnavailable, match="TransactionCanceledException"):
        table.call(support.TABLE, lambda client: client.transact_write_items(TransactItems=[]))


def test_counters_always_match_the_rows_over_random_runs(aws: dict[str, Any]) -> None:
    """Random outcomes, repeats and late outcomes over three runs: the counters are the rows' outcomes counted."""
    chance = random.Random(16)
    rows = 12
    for run in (1, 2, 3):
        _start(run, rows=rows, to_send=rows)
        for _ in range(40):
            row, reported = chance.randint(1, rows), chance.randint(1, run)
            outcome = chance.choice(records.ROW_OUTCOMES)
            _row(row, reported, outcome, None if outcome == "sent" else chance.choice(["SpApiThrottled", "X"]))
        outcomes = records.row_outcomes(support.TABLE, CAMPAIGN, range(1, rows + 1)).values()
        record = records.get(support.TABLE, CAMPAIGN)
        assert record is not None
        for name in records.ROW_OUTCOMES:
            assert record[name] == sum(1 for o in outcomes if o.outcome == name), name
        failed_by: dict[str, int] = {}
        for o in outcomes:
            if o.outcome == "failed" and o.error:
                failed_by[o.error] = failed_by.get(o.error, 0) + 1
        assert record["failedBy"] == failed_by
        finished_in_run = sum(
            1
            for item in aws["dynamodb"].scan(TableName=support.TABLE)["Items"]
            if item.get("finishedRun", {}).get("N") == str(run)
        )
        assert record["waiting"] == rows - finished_in_run
        records.run_failed(support.TABLE, CAMPAIGN, run, error="X", cause="ended for the next run")
