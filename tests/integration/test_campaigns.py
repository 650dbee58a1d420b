"""Campaigns end to end on the local stack: a manifest uploaded under campaigns/ runs the real campaign state machine
(its Distributed Map starting the real send state machine per row) against the SP-API emulator."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

import pytest

from buyer_messaging import naming
from buyer_messaging.campaigns import records
from tests.integration.conftest import Stack

ORDER = "123-1234567-1234567"
MARKETPLACE = "ATVPDKIKX0DER"
HEADER = ["amazonOrderId", "marketplaceId", "messageType", "text"]
BAD_ROWS = {
    5: ("postcard", "Row 5: a type Amazon does not have.", "UnknownMessageType"),
    9: ("unexpectedProblem", "x" * 2001, "InvalidMessageText"),
    14: ("unexpectedProblem", "Row 2: your parcel is delayed by two days.", "DuplicateRow"),
}


def text_of(row: int) -> str:
    return f"Row {row}: your parcel is delayed by two days."


def manifest_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in range(1, rows + 1):
        message_type, text, _ = BAD_ROWS.get(row, ("unexpectedProblem", text_of(row), None))
        writer.writerow([ORDER, MARKETPLACE, message_type, text])
    return out.getvalue().encode()


def campaign_executions(stack: Stack) -> list[dict[str, Any]]:
    assert stack.local.deployment is not None
    listed = stack.sfn.list_executions(stateMachineArn=stack.local.deployment.campaign_state_machine_arn)
    return list(listed["executions"])


def finished_campaign(stack: Stack, count: int = 1, timeout_seconds: float = 90) -> list[dict[str, Any]]:
    """The campaign executions once ``count`` exist and none runs."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        listed = campaign_executions(stack)
        if len(listed) >= count and all(item["status"] != "RUNNING" for item in listed):
            return [stack.sfn.describe_execution(executionArn=item["executionArn"]) for item in listed]
        assert time.monotonic() < deadline, f"campaign not finished: {[(i['name'], i['status']) for i in listed]}"
        time.sleep(0.1)


def report_lines(stack: Stack, key: str) -> list[dict[str, str]]:
    body = stack.s3.get_object(Bucket=stack.bucket, Key=key)["Body"].read().decode("utf-8")
    return list(csv.DictReader(io.StringIO(body)))


def texts_delivered(stack: Stack) -> list[str]:
    return sorted(str(delivery.get("text")) for delivery in stack.emulator.deliveries(ORDER))


def record_of(stack: Stack, campaign_id: str) -> dict[str, Any]:
    assert stack.local.deployment is not None
    found = records.get(stack.local.deployment.tables["WorkflowTable"], campaign_id)
    assert found is not None, f"no campaign record {campaign_id}"
    return found


def test_a_manifest_sends_every_good_row_once_and_reports_every_row(stack: Stack) -> None:
    put = stack.put("campaigns/delay-2026-12.csv", manifest_csv(20))
    (execution,) = finished_campaign(stack)
    campaign_id = naming.campaign_id(stack.bucket, "campaigns/delay-2026-12.csv", put["VersionId"], "delay-2026-12")

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert execution["name"] == f"{campaign_id}-1"
    good = [row for row in range(1, 21) if row not in BAD_ROWS]
    assert texts_delivered(stack) == sorted(text_of(row) for row in good)
    lines = report_lines(stack, "campaigns/delay-2026-12.report.csv")
    assert [int(line["row"]) for line in lines] == list(range(1, 21))
    assert {int(line["row"]): (line["status"], line["error"]) for line in lines} == {
        **{row: ("sent", "") for row in good},
        **{row: ("invalid", error) for row, (_, _, error) in BAD_ROWS.items()},
    }
    assert {line["requestId"] for line in lines if line["status"] == "sent"} == {
        f"{campaign_id}-{row}-1" for row in good
    }
    record = record_of(stack, campaign_id)
    counts = {name: record[name] for name in ("status", "run", "rows", "invalid", "sent", "failed", "unknown")}
    assert counts == {"status": "finished", "run": 1, "rows": 20, "invalid": 3, "sent": 17, "failed": 0, "unknown": 0}
    assert record["invalidBy"] == {"DuplicateRow": 1, "InvalidMessageText": 1, "UnknownMessageType": 1}
    completed = [event for event in stack.events.drain() if event["detail-type"] == "CampaignCompleted"]
    assert [(event["detail"]["campaignId"], event["detail"]["sent"]) for event in completed] == [(campaign_id, 17)]
    assert completed[0]["detail"]["report"]["key"] == "campaigns/delay-2026-12.report.csv"


def test_the_same_manifest_version_delivered_twice_starts_one_campaign(stack: Stack) -> None:
    assert stack.local.deployment is not None
    put = stack.put("campaigns/twice.csv", manifest_csv(3))
    event = {
        "Records": [
            {
                "s3": {
                    "bucket": {"name": stack.bucket},
                    "object": {"key": "campaigns/twice.csv", "versionId": put["VersionId"], "size": 1},
                }
            }
        ]
    }
    (execution,) = finished_campaign(stack)
    function = stack.local.lambdas.function(stack.local.deployment.functions["StartWorkflowFunction"])
    payload, errored, _ = stack.local.lambdas.invoke(function, event)  # S3 delivers the event again

    assert not errored, payload
    assert json.loads(payload)["executions"][0]["started"] is False
    assert [item["name"] for item in campaign_executions(stack)] == [execution["name"]]
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert texts_delivered(stack) == [text_of(1), text_of(2), text_of(3)]


def test_a_second_run_sends_only_the_row_an_outage_failed(stack: Stack) -> None:
    rows = [
        [ORDER, MARKETPLACE, "unexpectedProblem", text_of(1)],
        [ORDER, MARKETPLACE, "confirmDeliveryDetails", "Row 2: delivered to the front desk."],
        [ORDER, MARKETPLACE, "unexpectedProblem", text_of(3)],
    ]
    body = "\r\n".join(",".join(row) for row in [HEADER, *rows]) + "\r\n"
    # Every attempt of row 2's send (the first and the state machine's four retries) meets an outage.
    stack.emulator.inject_fault("createConfirmDeliveryDetails", status=503, count=5)
    put = stack.put("campaigns/outage.csv", body.encode())
    (first,) = finished_campaign(stack)
    assert first["status"] == "SUCCEEDED", first.get("cause")
    assert texts_delivered(stack) == [text_of(1), text_of(3)]
    lines = report_lines(stack, "campaigns/outage.report.csv")
    assert [(line["status"], line["error"]) for line in lines] == [
        ("sent", ""),
        ("failed", "SpApiUnavailable"),
        ("sent", ""),
    ]

    campaign_id = naming.campaign_id(stack.bucket, "campaigns/outage.csv", put["VersionId"], "outage")
    run_2 = {**json.loads(first["input"]), "run": 2}
    assert stack.local.deployment is not None
    stack.sfn.start_execution(
        stateMachineArn=stack.local.deployment.campaign_state_machine_arn,
        name=f"{campaign_id}-2",
        input=json.dumps(run_2),
    )
    (second,) = [e for e in finished_campaign(stack, 2) if e["name"] == f"{campaign_id}-2"]

    assert second["status"] == "SUCCEEDED", second.get("cause")
    assert texts_delivered(stack) == sorted([text_of(1), text_of(3), "Row 2: delivered to the front desk."])
    lines = report_lines(stack, "campaigns/outage.report.csv")
    assert [line["status"] for line in lines] == ["skipped", "sent", "skipped"]
    record = record_of(stack, campaign_id)
    assert {name: record[name] for name in ("run", "sent", "failed", "skipped")} == {
        "run": 2,
        "sent": 3,
        "failed": 0,
        "skipped": 2,
    }


def test_a_jsonl_manifest_runs_as_a_campaign(stack: Stack) -> None:
    documents = [
        {"amazonOrderId": ORDER, "marketplaceId": MARKETPLACE, "messageType": "unexpectedProblem", "text": text_of(row)}
        for row in (1, 2)
    ]
    stack.put("campaigns/lines.jsonl", "".join(json.dumps(document) + "\n" for document in documents).encode())
    (execution,) = finished_campaign(stack)

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert texts_delivered(stack) == [text_of(1), text_of(2)]
    lines = report_lines(stack, "campaigns/lines.report.csv")
    assert [(line["row"], line["status"]) for line in lines] == [("1", "sent"), ("2", "sent")]


@pytest.mark.parametrize("key", ["campaigns/notes.txt.csv.bak", "campaigns/sub/dir.csv"])
def test_other_keys_under_campaigns_start_nothing(stack: Stack, key: str) -> None:
    assert stack.local.deployment is not None
    function = stack.local.lambdas.function(stack.local.deployment.functions["StartWorkflowFunction"])
    event = {"Records": [{"s3": {"bucket": {"name": stack.bucket}, "object": {"key": key, "versionId": "v1"}}}]}
    payload, errored, _ = stack.local.lambdas.invoke(function, event)
    assert errored
    assert json.loads(payload)["errorType"] == "UnsupportedS3Key"
    assert campaign_executions(stack) == []
