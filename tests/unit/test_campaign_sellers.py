"""A campaign is one seller's: the seller through its start (S3 key segment, the API's body), its run's input, its
record, every row's request, its report's key and column, and a run started again (moto S3, DynamoDB, Step
Functions; the real API handler)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from buyer_messaging import naming, sellers
from buyer_messaging.campaigns import api as campaigns_api
from buyer_messaging.campaigns import records
from buyer_messaging.campaigns.report import HEADER, Report, ReportLine, report_csv
from buyer_messaging.campaigns.run import CampaignRun
from buyer_messaging.config import get_settings
from buyer_messaging.errors import SellerMismatch, SellerRequired
from buyer_messaging.workflow.prepare_campaign import prepare_campaign
from buyer_messaging.workflow.start_workflow import start_workflows
from tests import support

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

SELLER_A = "A2EXAMPLESELLER"
SELLER_B = "A3OTHERSELLER"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ORDER = support.ORDER_ID
US = support.MARKETPLACE_ID
MANIFEST = (
    "amazonOrderId,marketplaceId,messageType,text,sellingPartnerId\r\n"
    f"{ORDER},{US},unexpectedProblem,Your order ships later.,\r\n"
    f"{ORDER},{US},unexpectedProblem,Your order ships today.,{SELLER_B}\r\n"
    f"{ORDER},{US},unexpectedProblem,Your order ships soon.,{SELLER_A}\r\n"
)
ROLE = "arn:aws:iam::123456789012:role/StatesExecutionRole"


@pytest.fixture
def two_sellers(aws: dict[str, Any]) -> dict[str, Any]:
    settings = get_settings()
    sellers.record_authorization(settings, SELLER_A, "Atzr|a-token", kind="self", at=NOW)
    sellers.record_authorization(settings, SELLER_B, "Atzr|b-token", kind="oauth", at=NOW)
    return aws


def _machine() -> str:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    definition = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}})
    arn: str = sfn.create_state_machine(name=support.CAMPAIGN_STATE_MACHINE_NAME, definition=definition, roleArn=ROLE)[
        "stateMachineArn"
    ]
    return arn


def _inputs(machine: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    return [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in listed]


def _record(aws: dict[str, Any], key: str) -> dict[str, Any]:
    put = aws["s3"].put_object(Bucket=support.BUCKET, Key=key, Body=MANIFEST.encode())
    obj = {"key": key, "versionId": put["VersionId"]}
    return {"Records": [{"s3": {"bucket": {"name": support.BUCKET}, "object": obj}}]}


# --- the S3 trigger -------------------------------------------------------------------------------------------------


def test_a_manifest_under_a_sellers_segment_starts_that_sellers_campaign(two_sellers: dict[str, Any]) -> None:
    machine = _machine()
    key = f"sellers/{SELLER_B}/campaigns/july.csv"
    event = _record(two_sellers, key)
    version = event["Records"][0]["s3"]["object"]["versionId"]

    (started,) = start_workflows(event)["executions"]

    run = CampaignRun.first(support.BUCKET, key, version, "july", "csv", seller=SELLER_B)
    assert started["started"] is True
    assert started["campaignId"] == run.campaign_id
    # The seller is part of the campaign's identity (and so of its run's and rows' execution names).
    assert run.campaign_id == naming.campaign_id(support.BUCKET, key, version, "july", SELLER_B)
    assert run.campaign_id != naming.campaign_id(support.BUCKET, key, version, "july")
    assert _inputs(machine) == [
        {
            "campaignId": run.campaign_id,
            "manifest": {"bucket": support.BUCKET, "key": key, "versionId": version},
            "name": "july",
            "format": "csv",
            "run": 1,
            "sellingPartnerId": SELLER_B,
        }
    ]
    assert run.report_key == f"sellers/{SELLER_B}/campaigns/july.report.csv"


def test_a_sellers_report_starts_nothing(two_sellers: dict[str, Any]) -> None:
    machine = _machine()
    (started,) = start_workflows(_record(two_sellers, f"sellers/{SELLER_B}/campaigns/july.report.csv"))["executions"]
    assert started["ignored"] == "a campaign's report"
    assert _inputs(machine) == []


def test_a_manifest_that_names_no_seller_is_refused_among_several_sellers(two_sellers: dict[str, Any]) -> None:
    machine = _machine()
    with pytest.raises(SellerRequired) as raised:
        start_workflows(_record(two_sellers, "campaigns/july.csv"))
    assert str(raised.value) == (
        "This deployment serves 2 sellers: say which one the request is for in sellingPartnerId (the request "
        "document's field; a query parameter of GET routes; sellers/{id}/… in S3 keys)."
    )
    assert _inputs(machine) == []


def test_a_manifest_without_a_segment_is_the_only_sellers(aws: dict[str, Any]) -> None:
    sellers.record_authorization(get_settings(), SELLER_B, "Atzr|b-token", kind="oauth", at=NOW)
    machine = _machine()
    event = _record(aws, "campaigns/july.csv")
    version = event["Records"][0]["s3"]["object"]["versionId"]

    start_workflows(event)

    # Today's id (no seller named), the seller resolved into the run's input.
    (run_input,) = _inputs(machine)
    assert run_input["campaignId"] == naming.campaign_id(support.BUCKET, "campaigns/july.csv", version, "july")
    assert run_input["sellingPartnerId"] == SELLER_B


# --- PrepareCampaign ----------------------------------------------------------------------------------------------


def _prepare(aws: dict[str, Any], key: str, seller: str | None) -> tuple[CampaignRun, dict[str, Any]]:
    put = aws["s3"].put_object(Bucket=support.BUCKET, Key=key, Body=MANIFEST.encode())
    run = CampaignRun.first(support.BUCKET, key, put["VersionId"], "july", "csv", seller=seller)
    return run, prepare_campaign({"campaign": run.to_dict()})


def test_every_row_is_the_campaigns_sellers_and_a_row_of_another_seller_is_invalid(
    two_sellers: dict[str, Any],
) -> None:
    run, prepared = _prepare(two_sellers, f"sellers/{SELLER_B}/campaigns/july.csv", SELLER_B)

    assert prepared["sellingPartnerId"] == SELLER_B
    rows = json.loads(two_sellers["s3"].get_object(Bucket=support.BUCKET, Key=run.rows_key)["Body"].read())
    assert [(item["row"], item["request"]["sellingPartnerId"]) for item in rows] == [(1, SELLER_B), (2, SELLER_B)]
    checked = json.loads(two_sellers["s3"].get_object(Bucket=support.BUCKET, Key=run.checked_key)["Body"].read())
    assert checked == {
        "3": [
            "SellerMismatch",
            f"Row 3's sellingPartnerId names {SELLER_A}, but the campaign is {SELLER_B}'s: every row of a campaign is "
            f"for the campaign's seller (leave the column empty, or put the row in a campaign of {SELLER_A}: "
            f"sellers/{SELLER_A}/campaigns/).",
        ]
    }
    record = records.get(support.TABLE, run.campaign_id)
    assert record is not None
    assert (record["sellingPartnerId"], record["invalidBy"]) == (SELLER_B, {"SellerMismatch": 1})


def test_a_run_started_by_hand_without_a_seller_among_several_fails_before_its_record(
    two_sellers: dict[str, Any],
) -> None:
    with pytest.raises(SellerRequired):
        _prepare(two_sellers, "campaigns/july.csv", None)
    listed = two_sellers["s3"].list_objects_v2(Bucket=support.BUCKET, Prefix="campaign-work/")
    assert listed["KeyCount"] == 0


def test_a_run_that_names_another_seller_than_its_manifests_key_is_refused(two_sellers: dict[str, Any]) -> None:
    with pytest.raises(SellerMismatch, match=f"the run names {SELLER_A}, its manifest sellers/{SELLER_B}/"):
        _prepare(two_sellers, f"sellers/{SELLER_B}/campaigns/july.csv", SELLER_A)


# --- the API ------------------------------------------------------------------------------------------------------


def _post(lambda_context: Any, **fields: Any) -> tuple[int, dict[str, Any]]:
    """POST /campaigns as a console user of both sellers (API Gateway hands the groups claim over flattened)."""
    event: dict[str, Any] = copy.deepcopy(support.load_event("api/post-campaign.json"))
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    claims["cognito:groups"] = f"[seller-{SELLER_A} seller-{SELLER_B}]"
    event["body"] = json.dumps({"name": "july", "format": "csv", "manifest": MANIFEST, **fields})
    result = support.function_module("api").lambda_handler(event, lambda_context)
    return result["statusCode"], json.loads(result["body"])


def test_a_posted_campaign_of_a_seller_is_staged_under_its_segment(
    two_sellers: dict[str, Any], lambda_context: Any
) -> None:
    machine = _machine()

    status, accepted = _post(lambda_context, sellingPartnerId=SELLER_B)

    key = f"sellers/{SELLER_B}/campaigns/july.csv"
    version = two_sellers["s3"].head_object(Bucket=support.BUCKET, Key=key)["VersionId"]
    run = CampaignRun.first(support.BUCKET, key, version, "july", "csv", seller=SELLER_B)
    assert status == 202, accepted
    assert (accepted["campaignId"], accepted["sellingPartnerId"]) == (run.campaign_id, SELLER_B)
    assert (accepted["ready"], accepted["invalidBy"]) == (2, {"SellerMismatch": 1})
    assert _inputs(machine) == [run.to_dict()]


def test_a_posted_campaign_that_names_no_seller_among_several_stores_nothing(
    two_sellers: dict[str, Any], lambda_context: Any
) -> None:
    machine = _machine()

    status, answer = _post(lambda_context)

    assert (status, answer["error"]) == (400, "SellerRequired"), answer
    assert [problem["field"] for problem in answer["errors"]] == ["sellingPartnerId"]
    assert two_sellers["s3"].list_objects_v2(Bucket=support.BUCKET)["KeyCount"] == 0
    assert _inputs(machine) == []


def test_a_run_started_again_keeps_the_campaigns_seller(two_sellers: dict[str, Any]) -> None:
    machine = _machine()
    key = f"sellers/{SELLER_B}/campaigns/july.csv"
    version_id, _ = campaigns_api.stage(
        campaigns_api.CampaignPost("july", "csv", MANIFEST.encode(), False, False, seller=SELLER_B)
    )
    source = records.CampaignSource(support.BUCKET, key, version_id, "july", "csv")
    records.begin_run(support.TABLE, "july-0123456789abcdef0123", source, run=1, seller=SELLER_B)
    records.run_failed(support.TABLE, "july-0123456789abcdef0123", 1, error="E", cause="C")

    campaigns_api.start_again("july-0123456789abcdef0123")

    (run_input,) = _inputs(machine)
    assert (run_input["run"], run_input["sellingPartnerId"]) == (2, SELLER_B)


def test_the_report_names_the_campaigns_seller_on_every_line() -> None:
    line = ReportLine(1, ORDER, "invoice", "july-1-1", "sent", "", "", SELLER_B)
    assert HEADER[-1] == "sellingPartnerId"
    assert report_csv(Report((line,))).decode().splitlines() == [
        ",".join(HEADER),
        f"1,{ORDER},invoice,july-1-1,sent,,,{SELLER_B}",
    ]
