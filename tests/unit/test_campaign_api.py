"""POST /campaigns through the API function's real handler (moto S3): the preview of a dry run, the named errors of
a manifest that cannot be read, and a manifest staged under campaigns/ without overwriting another campaign's."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import boto3
import pytest

from buyer_messaging import storage
from buyer_messaging.campaigns import api as campaigns_api
from buyer_messaging.campaigns import records
from tests import support

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

ORDER = support.ORDER_ID
US = support.MARKETPLACE_ID
HEADER = "amazonOrderId,marketplaceId,messageType,text,attachment1"
GOOD_AND_BAD = (
    f"{HEADER}\r\n"
    f"{ORDER},{US},unexpectedProblem,Your order ships two days later.,\r\n"
    f"{ORDER},{US},invoice,,attachments/missing.pdf\r\n"
    f"{ORDER},{US},postcard,Hello,\r\n"
    f"{ORDER},{US},unexpectedProblem,Your order ships two days later.,\r\n"
)
MISSING = (
    f"s3://{support.BUCKET}/attachments/missing.pdf does not exist (was it deleted, or is the key or bucket wrong?)."
)


def _event(body: dict[str, Any] | str, *, method: str = "POST", path: str = "/campaigns") -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(support.load_event("api/post-campaign.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return event


def _call(event: dict[str, Any], lambda_context: Any) -> tuple[int, dict[str, Any]]:
    result = support.function_module("api").lambda_handler(event, lambda_context)
    return result["statusCode"], json.loads(result["body"])


def _post(lambda_context: Any, **fields: Any) -> tuple[int, dict[str, Any]]:
    body = {"name": "november", "format": "csv", "manifest": GOOD_AND_BAD, "dryRun": True, **fields}
    return _call(_event(body), lambda_context)


def _campaign_objects(aws: dict[str, Any]) -> list[str]:
    listed = aws["s3"].list_object_versions(Bucket=support.BUCKET, Prefix="campaigns/")
    return [version["Key"] for version in listed.get("Versions", [])]


def test_a_dry_run_answers_every_rows_verdict_and_stores_nothing(aws: dict[str, Any], lambda_context: Any) -> None:
    status, body = _post(lambda_context)

    assert status == 200
    assert body == {
        "name": "november",
        "format": "csv",
        "rows": 4,
        "ready": 1,
        "invalid": 3,
        "invalidBy": {"AttachmentNotFound": 1, "DuplicateRow": 1, "UnknownMessageType": 1},
        "items": [
            {"row": 1, "status": "ready", "amazonOrderId": ORDER, "messageType": "unexpectedProblem", "error": None,
             "cause": None},
            {"row": 2, "status": "invalid", "amazonOrderId": ORDER, "messageType": "invoice",
             "error": "AttachmentNotFound", "cause": MISSING},
            {"row": 3, "status": "invalid", "amazonOrderId": ORDER, "messageType": "postcard",
             "error": "UnknownMessageType", "cause": body["items"][2]["cause"]},
            {"row": 4, "status": "invalid", "amazonOrderId": ORDER, "messageType": "unexpectedProblem",
             "error": "DuplicateRow", "cause": body["items"][3]["cause"]},
        ],
    }  # fmt: skip
    assert body["items"][2]["cause"].startswith("'postcard' is not a message type")
    assert body["items"][3]["cause"].startswith("Row 4 repeats row 1: the same order 123-1234567-1234567")
    assert _campaign_objects(aws) == []


@pytest.mark.parametrize(
    ("manifest_text", "status", "error", "starts"),
    [
        ("", 400, "ManifestInvalid", "The manifest is empty: it has no rows."),
        (HEADER + "\r\n", 400, "ManifestInvalid", "The manifest has a header but no rows"),
        (HEADER.replace(",", ";") + f"\r\n{ORDER};{US};invoice;;\r\n", 400, "ManifestInvalid", "The manifest's"),
        (f"{HEADER}\r\n" + f"{ORDER},{US},unexpectedProblem,Hi,\r\n" * 3, 413, "ManifestTooLarge", "The manifest has"),
    ],
    ids=["empty", "header only", "semicolons", "over the row limit"],
)
def test_a_manifest_that_cannot_be_read_is_refused_by_name_and_nothing_is_stored(
    aws: dict[str, Any],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    manifest_text: str,
    status: int,
    error: str,
    starts: str,
) -> None:
    monkeypatch.setenv("CAMPAIGN_MAX_ROWS", "2")
    for dry_run in (True, False):
        answered, body = _post(lambda_context, manifest=manifest_text, dryRun=dry_run)

        assert (answered, body["error"]) == (status, error), body
        assert body["message"].startswith(starts), body["message"]
        assert [problem["field"] for problem in body["errors"]] == ["manifest"]
    assert _campaign_objects(aws) == []


def test_a_manifest_over_the_apis_byte_limit_names_the_s3_way(
    aws: dict[str, Any], lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaigns_api, "MANIFEST_MAX_BYTES", 100)
    status, body = _post(lambda_context, manifest=GOOD_AND_BAD)

    assert (status, body["error"]) == (413, "ManifestTooLarge")
    assert body["message"] == (
        f"The manifest has {len(GOOD_AND_BAD.encode())} bytes; the API takes manifests up to 100 bytes (the body of "
        "one Lambda invocation). Upload a larger one to the staging bucket under campaigns/ instead (aws s3 cp "
        "november.csv s3://BUCKET/campaigns/)."
    )
    assert body["errors"] == [{"field": "manifest", "message": "has more than 100 bytes"}]


def test_the_body_is_read_field_by_field(aws: dict[str, Any], lambda_context: Any) -> None:
    status, body = _call(
        _event({"name": "../etc", "format": "xlsx", "manifest": 3, "dryRun": "yes", "send": True}), lambda_context
    )

    assert (status, body["error"]) == (400, "InvalidRequest")
    assert body["errors"] == [
        {"field": "manifest", "message": "must be a string, not a number"},
        {"field": "dryRun", "message": "must be true or false"},
        {"field": "format", "message": "must be one of: csv, jsonl"},
        {"field": "send", "message": "is not a field of a campaign (a typo?)"},
    ]
    status, body = _call(_event({"name": "a/b", "format": "csv", "manifest": GOOD_AND_BAD}), lambda_context)
    assert body["errors"] == [
        {"field": "name", "message": "must be 1 to 100 of A-Z, a-z, 0-9, '.', '_' and '-', and not end in '.report'"}
    ]


def _stage(text: str, fmt: str = "csv", *, replace: bool = False) -> tuple[str, bool]:
    return campaigns_api.stage(campaigns_api.CampaignPost("november", fmt, text.encode(), False, replace))


def test_a_manifest_is_staged_once_and_never_overwritten_silently(aws: dict[str, Any]) -> None:
    from buyer_messaging.errors import CampaignExists

    first, repeat = _stage(GOOD_AND_BAD)
    assert repeat is False
    # The same file again (a retried POST) is the same campaign, not a second one that messages every buyer again.
    assert _stage(GOOD_AND_BAD) == (first, True)
    with pytest.raises(CampaignExists) as taken:
        _stage(GOOD_AND_BAD + f"{ORDER},{US},unexpectedProblem,One more.,\r\n")
    assert str(taken.value).startswith(
        "A manifest named 'november' is already staged (campaigns/november.csv) with other content: a new version "
        "would start a new campaign that messages its buyers again."
    )
    with pytest.raises(CampaignExists):
        _stage('{"amazonOrderId": "x"}\n', "jsonl")  # the same name in the other format
    second, repeat = _stage(GOOD_AND_BAD + f"{ORDER},{US},unexpectedProblem,One more.,\r\n", replace=True)

    assert (repeat, second != first) == (False, True)
    assert _campaign_objects(aws) == ["campaigns/november.csv", "campaigns/november.csv"]


# --- a campaign's record, the list, its report and its rows to fix ------------------------------------------------


def _begin(campaign_id: str, name: str, manifest_text: str) -> str:
    """A campaign of ``manifest_text`` staged and begun, as its run's first step does; its manifest's version."""
    version_id, _ = campaigns_api.stage(campaigns_api.CampaignPost(name, "csv", manifest_text.encode(), False, False))
    source = records.CampaignSource(support.BUCKET, f"campaigns/{name}.csv", version_id, name, "csv")
    records.begin_run(support.TABLE, campaign_id, source, run=1)
    return version_id


def _finish(aws: dict[str, Any], campaign_id: str, name: str, report: str, **counts: int) -> None:
    records.prepared(support.TABLE, campaign_id, 1, rows=counts["rows"], invalid_by={}, to_send=counts["rows"])
    key = f"campaigns/{name}.report.csv"
    written = aws["s3"].put_object(Bucket=support.BUCKET, Key=key, Body=report.encode())
    records.finished(
        support.TABLE,
        campaign_id,
        1,
        counts=records.CampaignCounts(**{"sent": 0, "unknown": 0, "skipped": 0, "invalid": 0, **counts}),
        report=storage.ObjectVersion(support.BUCKET, key, written["VersionId"]),
    )


REPORT = (
    "row,amazonOrderId,messageType,requestId,status,error,cause\r\n"
    f"1,{ORDER},unexpectedProblem,november-1-1,sent,,\r\n"
    f"2,{ORDER},invoice,,invalid,AttachmentNotFound,{MISSING}\r\n"
    f"3,{ORDER},postcard,,invalid,UnknownMessageType,'postcard' is not a message type.\r\n"
    f"4,{ORDER},unexpectedProblem,november-4-1,failed,SpApiUnauthorized,Amazon refused it.\r\n"
)


def _get(path: str, lambda_context: Any) -> dict[str, Any]:
    result: dict[str, Any] = support.function_module("api").lambda_handler(
        _event("", method="GET", path=path), lambda_context
    )
    return result


def test_a_campaign_shows_its_counts_its_report_and_its_rows_to_fix(aws: dict[str, Any], lambda_context: Any) -> None:
    manifest_text = GOOD_AND_BAD.replace(",Your order ships two days later.,\r\n", ",Your order ships later.,\r\n", 1)
    _begin("november-0123456789abcdef0123", "november", manifest_text)

    running = json.loads(_get("/campaigns/november-0123456789abcdef0123", lambda_context)["body"])
    assert {name: running[name] for name in ("status", "done", "reportUrl", "failedRowsUrl", "manifestKey")} == {
        "status": "checking",
        "done": False,
        "reportUrl": None,
        "failedRowsUrl": None,
        "manifestKey": "campaigns/november.csv",
    }
    assert "manifest" not in running  # the bucket is the seller's business, not the page's
    early = _get("/campaigns/november-0123456789abcdef0123/report", lambda_context)
    assert (early["statusCode"], json.loads(early["body"])["error"]) == (409, "CampaignRunning")

    _finish(aws, "november-0123456789abcdef0123", "november", REPORT, rows=4, sent=1, failed=1, invalid=2)
    record = json.loads(_get("/campaigns/november-0123456789abcdef0123", lambda_context)["body"])
    report = _get("/campaigns/november-0123456789abcdef0123/report", lambda_context)
    rows = _get("/campaigns/november-0123456789abcdef0123/failed-rows", lambda_context)

    assert {name: record[name] for name in ("status", "done", "rows", "sent", "failed", "invalid", "reportUrl")} == {
        "status": "finished",
        "done": True,
        "rows": 4,
        "sent": 1,
        "failed": 1,
        "invalid": 2,
        "reportUrl": "/campaigns/november-0123456789abcdef0123/report",
    }
    assert (report["statusCode"], report["headers"]["Content-Type"], report["body"]) == (
        200,
        "text/csv; charset=utf-8",
        REPORT,
    )
    assert report["headers"]["Content-Disposition"] == 'attachment; filename="november.report.csv"'
    assert rows["headers"]["Content-Disposition"] == 'attachment; filename="november.failed-rows.csv"'
    # Rows 2, 3 (refused by the check) and 4 (failed), as the seller wrote them; row 1 was sent.
    assert rows["body"] == (
        f"{HEADER}\r\n"
        f"{ORDER},{US},invoice,,attachments/missing.pdf\r\n"
        f"{ORDER},{US},postcard,Hello,\r\n"
        f"{ORDER},{US},unexpectedProblem,Your order ships two days later.,\r\n"
    )


def test_the_latest_campaigns_come_newest_first_from_the_index(aws: dict[str, Any], lambda_context: Any) -> None:
    for number in range(3):
        time.sleep(0.002)  # startedAt is written to the millisecond
        _begin(f"c{number}-0123456789abcdef0123", f"c{number}", GOOD_AND_BAD + f"{ORDER},{US},invoice,{number},\r\n")

    listed = json.loads(_get("/campaigns", lambda_context)["body"])["campaigns"]

    assert [campaign["name"] for campaign in listed] == ["c2", "c1", "c0"]
    assert all("listedIn" not in campaign for campaign in listed)


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/campaigns/nothing-here", 404, "CampaignNotFound"),
        ("/campaigns/nothing-here/report", 404, "CampaignNotFound"),
        ("/campaigns/nothing-here/failed-rows", 404, "CampaignNotFound"),
        ("/campaigns/a%20b", 400, "InvalidRequest"),
    ],
)
def test_an_unknown_campaign_is_named_not_found(
    aws: dict[str, Any], lambda_context: Any, path: str, status: int, error: str
) -> None:
    answer = _get(path, lambda_context)
    assert (answer["statusCode"], json.loads(answer["body"])["error"]) == (status, error)


# --- hostile input: a named error, nothing stored ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            '{"name": "x", "format": "csv", "manifest": "a\\ud800"}',
            "manifest",
            "is not valid Unicode text (a lone surrogate",
        ),
        ('{"name": "../outbox/ATVPDKIKX0DER/x", "format": "csv", "manifest": "a"}', "name", "must be 1 to 100 of"),
        ('{"name": "november.report", "format": "csv", "manifest": "a"}', "name", "must be 1 to 100 of"),
        ('{"name": "x", "format": "csv/../../requests/x", "manifest": "a"}', "format", "must be one of: csv, jsonl"),
        ('{"name": "x", "format": "csv", "manifest": "a", "dryRun": 1}', "dryRun", "must be true or false"),
        ('{"name": "x", "format": "csv", "manifest": "a", "replace": "true"}', "replace", "must be true or false"),
        ('["name", "format"]', "body", "must be a JSON object"),
    ],
    ids=["lone surrogate", "path in the name", "a report's name", "path in the format", "1", "'true'", "array"],
)
def test_hostile_bodies_are_refused_by_field_and_nothing_is_stored(
    aws: dict[str, Any], lambda_context: Any, body: str, field: str, message: str
) -> None:
    status, answer = _call(_event(body), lambda_context)

    assert (status, answer["error"]) == (400, "InvalidRequest"), answer
    assert [problem["field"] for problem in answer["errors"]] == [field]
    assert answer["errors"][0]["message"].startswith(message), answer["errors"]
    assert _campaign_objects(aws) == []


# --- a campaign started: by the API and by the S3 trigger, one execution ---------------------------------------------


def test_a_posted_campaign_is_started_once_whoever_starts_it(aws: dict[str, Any], lambda_context: Any) -> None:
    from buyer_messaging.campaigns.run import CampaignRun
    from buyer_messaging.workflow.start_workflow import start_workflows

    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    machine = sfn.create_state_machine(
        name=support.CAMPAIGN_STATE_MACHINE_NAME,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/StatesExecutionRole",
    )["stateMachineArn"]

    status, accepted = _post(lambda_context, dryRun=False)
    again_status, again = _post(lambda_context, dryRun=False)
    version = aws["s3"].head_object(Bucket=support.BUCKET, Key="campaigns/november.csv")["VersionId"]
    run = CampaignRun.first(support.BUCKET, "campaigns/november.csv", version, "november", "csv")
    # The S3 event of the same object version, as the trigger gets it.
    record = {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": support.BUCKET},
            "object": {"key": "campaigns/november.csv", "versionId": version, "eToken": "", "size": 1},
        },
    }
    triggered = start_workflows({"Records": [record]})["executions"]

    assert (status, again_status) == (202, 202)
    assert accepted == {
        "campaignId": run.campaign_id,
        "name": "november",
        "format": "csv",
        "run": 1,
        "rows": 4,
        "ready": 1,
        "invalid": 3,
        "invalidBy": {"AttachmentNotFound": 1, "DuplicateRow": 1, "UnknownMessageType": 1},
        "repeat": False,
        "statusUrl": f"/campaigns/{run.campaign_id}",
    }
    assert again == {**accepted, "repeat": True}
    # The trigger's start is answered with the API's execution (a repeat within a second reads as a start to its
    # log, executions.REPEAT_MARGIN): the same name, and still one execution.
    assert triggered[0]["executionArn"].endswith(f":{run.execution_name}")
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [execution["name"] for execution in executions] == [run.execution_name]
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(described["input"]) == run.to_dict()
    assert _campaign_objects(aws) == ["campaigns/november.csv"]


def test_a_campaign_is_started_again_only_once_its_run_ended(aws: dict[str, Any], lambda_context: Any) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    machine = sfn.create_state_machine(
        name=support.CAMPAIGN_STATE_MACHINE_NAME,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/StatesExecutionRole",
    )["stateMachineArn"]
    campaign_id = "november-0123456789abcdef0123"
    _begin(campaign_id, "november", GOOD_AND_BAD)

    def post_run() -> tuple[int, dict[str, Any]]:
        result = support.function_module("api").lambda_handler(
            _event("", method="POST", path=f"/campaigns/{campaign_id}/runs"), lambda_context
        )
        return result["statusCode"], json.loads(result["body"])

    running = post_run()
    _finish(aws, campaign_id, "november", REPORT, rows=4, sent=1, failed=1, invalid=2)
    started, again = post_run(), post_run()

    assert (running[0], running[1]["error"]) == (409, "CampaignRunning")
    assert running[1]["message"] == (
        f"Campaign {campaign_id} is still in run 1 (checking): start it again once that run has finished."
    )
    assert started == (
        202,
        {"campaignId": campaign_id, "run": 2, "repeat": False, "statusUrl": f"/campaigns/{campaign_id}"},
    )
    assert again[1]["run"] == 2  # the same next run: nothing more starts
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [execution["name"] for execution in executions] == [f"{campaign_id}-2"]


def test_a_run_number_spent_by_a_refused_start_is_skipped(aws: dict[str, Any], lambda_context: Any) -> None:
    """Run 2 was started while run 1 went on (say by hand, or two POSTs at once): its execution failed with
    CampaignRunning before it began, and its name stays taken. Once run 1 ends, POST .../runs starts run 3."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    refuses = {"StartAt": "Refused", "States": {"Refused": {"Type": "Fail", "Error": "CampaignRunning"}}}
    machine = sfn.create_state_machine(
        name=support.CAMPAIGN_STATE_MACHINE_NAME,
        definition=json.dumps(refuses),
        roleArn="arn:aws:iam::123456789012:role/StatesExecutionRole",
    )["stateMachineArn"]
    campaign_id = "november-0123456789abcdef0123"
    _begin(campaign_id, "november", GOOD_AND_BAD)
    spent = sfn.start_execution(stateMachineArn=machine, name=f"{campaign_id}-2", input="{}")["executionArn"]
    sfn.stop_execution(executionArn=spent, error="CampaignRunning")  # moto runs no state here: it ends by hand
    _finish(aws, campaign_id, "november", REPORT, rows=4, sent=1, failed=1, invalid=2)

    result = support.function_module("api").lambda_handler(
        _event("", method="POST", path=f"/campaigns/{campaign_id}/runs"), lambda_context
    )

    assert (result["statusCode"], json.loads(result["body"])["run"]) == (202, 3)
    names = sorted(execution["name"] for execution in sfn.list_executions(stateMachineArn=machine)["executions"])
    assert names == [f"{campaign_id}-2", f"{campaign_id}-3"]
