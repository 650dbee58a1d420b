"""A campaign run's names and keys (campaigns/run.py, naming.campaign_id), the S3 trigger's routing of campaigns/
keys, and how FinishCampaign reads a failure and the Map's results."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from buyer_messaging import naming, trigger
from buyer_messaging.campaigns.run import CampaignRun
from buyer_messaging.errors import InvalidRequest, UnsupportedS3Key
from buyer_messaging.fields import CAMPAIGN_ID_PATTERN
from buyer_messaging.workflow import finish_campaign
from buyer_messaging.workflow.start_workflow import start_workflows
from tests import support

BUCKET = support.BUCKET


def staged(key: str, version_id: str | None = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY") -> trigger.StagedObjectEvent:
    return trigger.StagedObjectEvent(BUCKET, key, version_id, "0" * 32, 10)


def test_a_campaign_id_is_the_name_and_a_digest_of_the_manifest_version() -> None:
    campaign_id = naming.campaign_id(BUCKET, "campaigns/recall-2026-11.csv", "v1", "recall-2026-11")
    assert re.fullmatch(r"recall-2026-11-[0-9a-f]{20}", campaign_id)
    assert campaign_id == naming.campaign_id(BUCKET, "campaigns/recall-2026-11.csv", "v1", "recall-2026-11")
    assert campaign_id != naming.campaign_id(BUCKET, "campaigns/recall-2026-11.csv", "v2", "recall-2026-11")


@pytest.mark.parametrize("name", ["a" * 100, "recall.2026.11", "...", "x"])
def test_a_campaign_id_fits_the_pattern_and_leaves_room_for_a_rows_execution(name: str) -> None:
    campaign_id = naming.campaign_id(BUCKET, f"campaigns/{name}.csv", "v1", name)
    assert CAMPAIGN_ID_PATTERN.fullmatch(campaign_id), campaign_id
    run = CampaignRun(campaign_id, BUCKET, f"campaigns/{name}.csv", "v1", name, "csv", 999)
    assert len(run.row_execution_name(100_000)) <= naming.EXECUTION_NAME_MAX_LENGTH


def test_a_run_names_its_execution_its_rows_and_its_files() -> None:
    run = CampaignRun.first(BUCKET, "campaigns/recall.csv", "v1", "recall", "csv")
    campaign = run.campaign_id
    assert run.run == 1
    assert run.execution_name == f"{campaign}-1"
    assert run.row_execution_name(7) == f"{campaign}-7-1"
    assert run.rows_key == f"campaign-work/{campaign}/1/rows.json"
    assert run.checked_key == f"campaign-work/{campaign}/1/checked.json"
    assert run.report_key == "campaigns/recall.report.csv"
    assert CampaignRun.from_dict(run.to_dict()) == run
    assert run.to_dict() == {
        "campaignId": campaign,
        "manifest": {"bucket": BUCKET, "key": "campaigns/recall.csv", "versionId": "v1"},
        "name": "recall",
        "format": "csv",
        "run": 1,
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("text", "A campaign run is {campaignId, manifest: {bucket, key, versionId}, name, format, run}."),
        ({"campaignId": "x", "manifest": {}, "run": 0}, "The campaign run lacks format, manifest.bucket, manifest.key, "
         "manifest.versionId, name, run (1 or more)."),
        (
            {"campaignId": "no spaces", "manifest": {"bucket": "b", "key": "k", "versionId": "v"}, "name": "n",
             "format": "csv", "run": 1},
            "campaignId 'no spaces' is not a campaign id (1 to 64 of A-Z, a-z, 0-9, _ and -).",
        ),
    ],
)  # fmt: skip
def test_a_run_that_is_not_one_is_refused_with_what_is_wrong(document: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        CampaignRun.from_dict(document)
    assert str(raised.value) == message


def test_the_trigger_starts_run_1_of_a_manifest_version() -> None:
    run = trigger.campaign_for_object(staged("campaigns/recall-2026-11.jsonl"))
    assert run == CampaignRun.first(
        BUCKET, "campaigns/recall-2026-11.jsonl", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", "recall-2026-11", "jsonl"
    )


def test_the_trigger_ignores_a_campaigns_report() -> None:
    assert trigger.campaign_for_object(staged("campaigns/recall-2026-11.report.csv")) is None


@pytest.mark.parametrize("key", ["campaigns/recall.txt", "campaigns/2026/recall.csv", "campaigns/.csv"])
def test_any_other_key_under_campaigns_is_unsupported(key: str) -> None:
    with pytest.raises(UnsupportedS3Key, match="is not a campaign manifest"):
        trigger.campaign_for_object(staged(key))


def test_a_manifest_upload_starts_the_campaign_machine_once_per_version(aws: dict[str, Any]) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    definition = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}})
    role = "arn:aws:iam::123456789012:role/StatesExecutionRole"
    machine = sfn.create_state_machine(name=support.CAMPAIGN_STATE_MACHINE_NAME, definition=definition, roleArn=role)
    put = aws["s3"].put_object(Bucket=BUCKET, Key="campaigns/recall.csv", Body=b"amazonOrderId\r\n")
    record = {
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": "campaigns/recall.csv", "versionId": put["VersionId"]}}
    }
    report = {"s3": {"bucket": {"name": BUCKET}, "object": {"key": "campaigns/recall.report.csv", "versionId": "r1"}}}

    first = start_workflows({"Records": [record, report]})["executions"]

    run = CampaignRun.first(BUCKET, "campaigns/recall.csv", put["VersionId"], "recall", "csv")
    assert [entry.get("started") for entry in first] == [True, False]
    assert first[1]["ignored"] == "a campaign's report"
    (execution,) = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    assert execution["name"] == run.execution_name
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == run.to_dict()


@pytest.mark.parametrize(
    ("failure", "described"),
    [
        (
            {"Error": "ManifestInvalid", "Cause": '{"errorType": "ManifestInvalid", "errorMessage": "empty"}'},
            ("ManifestInvalid", "empty"),
        ),
        (
            {"Error": "States.Timeout", "Cause": "The Map ran out of time."},
            ("States.Timeout", "The Map ran out of time."),
        ),
        (
            {"Error": "States.Runtime"},
            ("States.Runtime", "The run failed without a cause; see the execution's event history."),
        ),
        ({"Error": "X", "Cause": "{not json"}, ("X", "{not json")),
    ],
)  # fmt: skip
def test_a_failed_run_is_described_by_its_error_and_the_functions_own_message(
    failure: dict[str, str], described: tuple[str, str]
) -> None:
    assert finish_campaign.describe_failure(failure) == described


def test_the_maps_results_are_read_from_the_files_its_manifest_names(aws: dict[str, Any]) -> None:
    outputs = [{"row": 2, "status": "sent"}, {"row": 1, "status": "failed", "error": "E", "cause": "C"}]
    entries = [{"Output": json.dumps(output), "Status": "SUCCEEDED"} for output in outputs]
    failed = [
        {"Input": json.dumps({"row": 3, "name": "n", "request": {}}), "Status": "FAILED", "Error": "States.Timeout"}
    ]
    aws["s3"].put_object(Bucket=BUCKET, Key="campaign-results/r/SUCCEEDED_0.json", Body=json.dumps(entries))
    aws["s3"].put_object(Bucket=BUCKET, Key="campaign-results/r/FAILED_0.json", Body=json.dumps(failed))
    files = {
        "SUCCEEDED": [{"Key": "campaign-results/r/SUCCEEDED_0.json"}],
        "FAILED": [{"Key": "campaign-results/r/FAILED_0.json"}],
    }
    manifest = {"DestinationBucket": BUCKET, "ResultFiles": {**files, "PENDING": []}}
    aws["s3"].put_object(Bucket=BUCKET, Key="campaign-results/r/manifest.json", Body=json.dumps(manifest))

    results = list(
        finish_campaign.map_results(
            {"ResultWriterDetails": {"Bucket": BUCKET, "Key": "campaign-results/r/manifest.json"}}
        )
    )

    assert results == [
        *outputs,
        {
            "row": 3,
            "status": "failed",
            "error": "States.Timeout",
            "cause": "The row's item ended failed in the Distributed Map.",
        },
    ]
    assert list(finish_campaign.map_results(None)) == []
