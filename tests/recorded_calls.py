"""Every AWS call the functions' code makes on a whole run, by function: what the grants tests compare with the
template (tests/unit/test_calls_within_grants.py, tests/static/test_permission_table.py). moto enforces no IAM,
so this recording is how a call without its grant, or a grant without its call, shows before a deployment.

One run goes through every path that calls AWS: two S3 starts (a request document and an outbox file), every
step of one message with an attachment, its upload destination expired before the upload (the renewal path),
the outcome (the message is a campaign's row, counted on its campaign), the HTTP API's operations (message types,
staging form, a submit and its repeat, status, history) as ApiFunction runs them, and the client secret's
rotation: the daily check asks for one, Amazon's new secret is stored, and Amazon's expiry warning about it asks
for the next.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import responses

from buyer_messaging import authorization_age, destinations, http_api, onboarding, resend, rotation, sellers
from buyer_messaging.access import Caller
from buyer_messaging.campaigns import api as campaigns_api
from buyer_messaging.campaigns import records as campaign_records
from buyer_messaging.campaigns.run import CampaignRun
from buyer_messaging.config import Settings
from buyer_messaging.models import AttachmentTask, MessageRequest, OutcomeTask, SendRequest, ValidationTask
from buyer_messaging.workflow.client_secret_notifications import client_secret_notification
from buyer_messaging.workflow.create_destination import create_destination
from buyer_messaging.workflow.finish_campaign import finish_campaign
from buyer_messaging.workflow.hash_attachment import hash_attachment
from buyer_messaging.workflow.prepare_campaign import prepare_campaign
from buyer_messaging.workflow.record_outcome import record_outcome
from buyer_messaging.workflow.rotate_client_secret import rotate_client_secret
from buyer_messaging.workflow.send_message import send_message
from buyer_messaging.workflow.start_workflow import start_workflows
from buyer_messaging.workflow.upload_attachment import upload_attachment
from buyer_messaging.workflow.validate_request import validate_request
from local_stack.stack import reset_function_caches
from tests import support

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
DESTINATION_ID = "0b8c7d54-3f3e-4c55-9e0e-3c7f2b1d9a10"
UPLOAD_URL = f"https://{support.UPLOAD_HOST}/%2FNinetyDays/amzn1.tortuga.4.na.{DESTINATION_ID}?X-Amz-Signature=abc"
EXECUTION_ID = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:calls-within-grants"
CAMPAIGN_ID = "recorded-0123456789abcdef0123"
PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


class Calls:
    """Every AWS call the package's own clients make, by the function (step) that makes it."""

    def __init__(self) -> None:
        self.function = ""
        self.by_function: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)

    def record(self, service: str, operation: str, params: dict[str, Any]) -> None:
        self.by_function[self.function].append((f"{service}:{operation}", dict(params)))

    def now(self, function: str) -> None:
        """``function`` makes the next calls, in a container of its own: no secret, token or client cached from
        another function's calls (each function is its own Lambda)."""
        reset_function_caches()
        self.function = function

    def of(self, function: str, action: str) -> list[dict[str, Any]]:
        return [params for name, params in self.by_function[function] if name == action]


@contextmanager
def recording() -> Iterator[Calls]:
    """Every API call of every botocore client: the package's own, and those of Powertools (Parameters reads the
    secret, Idempotency writes its records), which make their clients from sessions of their own. A call the test
    makes itself is recorded under the function "" (set around it). ``_make_api_call`` is where every client's
    operation goes through (botocore's private BaseClient method, stable since 1.0, checked against botocore 1.44.8 by
    tests/unit/test_library_internals.py; a presigned URL or form makes none)."""
    from botocore.client import BaseClient

    recorder = Calls()
    original = BaseClient._make_api_call

    def make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        # The signing name is the IAM service prefix for every service the stack uses (states, secretsmanager,
        # events, s3, dynamodb, sqs).
        recorder.record(client.meta.service_model.signing_name, operation_name, api_params)
        return original(client, operation_name, api_params)

    BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _s3_record(aws: dict[str, Any], key: str, body: bytes) -> dict[str, Any]:
    put = aws["s3"].put_object(Bucket=support.BUCKET, Key=key, Body=body)
    return {
        "s3": {
            "bucket": {"name": support.BUCKET},
            "object": {"key": key, "versionId": put["VersionId"], "eTag": put["ETag"].strip('"'), "size": len(body)},
        }
    }


def _register_sp_api(http: responses.RequestsMock) -> None:
    orders = f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}"
    http.get(orders, json=support.actions_body(["sendInvoice"]), headers={"x-amzn-RateLimit-Limit": "1.0"})
    http.get(f"{orders}/attributes", json={"buyer": {"locale": "en-US"}})
    http.post(
        f"{support.ENDPOINT}/uploads/2020-11-01/uploadDestinations/messaging/v1/orders/{support.ORDER_ID}"
        "/messages/invoice",
        json={
            "payload": {
                "uploadDestinationId": DESTINATION_ID,
                "url": UPLOAD_URL,
                "headers": {"Content-MD5": _md5(PDF), "x-amz-server-side-encryption": "aws:kms"},
            }
        },
    )
    http.put(UPLOAD_URL, status=200)
    http.post(f"{orders}/messages/invoice", json={}, status=201)


def run_everything(aws: dict[str, Any], http: responses.RequestsMock, calls: Calls, lambda_context: Any) -> None:
    boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
        name=support.STATE_MACHINE_NAME,
        definition=PASS_DEFINITION,
        roleArn="arn:aws:iam::123456789012:role/StatesExecutionRole",
    )
    _register_sp_api(http)
    document = support.load_event("statemachine/invoice.json")
    records = [
        _s3_record(aws, "requests/invoice-1.json", json.dumps(document).encode()),
        _s3_record(aws, f"outbox/{support.MARKETPLACE_ID}/{support.ORDER_ID}/invoice/Invoice.pdf", PDF),
    ]
    aws["s3"].put_object(Bucket=support.BUCKET, Key="attachments/inv-1.pdf", Body=PDF)
    calls.now("StartWorkflowFunction")
    started = start_workflows({"Records": records})["executions"]

    request = MessageRequest.from_dict(
        {
            "amazonOrderId": support.ORDER_ID,
            "marketplaceId": support.MARKETPLACE_ID,
            "messageType": "sendInvoice",
            "attachments": [{"key": "attachments/inv-1.pdf", "fileName": "Invoice-1.pdf"}],
        },
        default_bucket=support.BUCKET,
    )
    calls.now("ListActionsFunction")
    validated = validate_request(ValidationTask(EXECUTION_ID, request))
    item: dict[str, Any] = {
        "executionId": EXECUTION_ID,
        "index": 0,
        "amazonOrderId": support.ORDER_ID,
        "marketplaceId": support.MARKETPLACE_ID,
        "messageType": validated["messageType"],
        "attachment": validated["attachments"][0],
    }
    calls.now("HashAttachmentFunction")
    item["hash"] = {"contentMd5": hash_attachment(AttachmentTask.from_dict(item))["contentMd5"]}
    calls.now("CreateDestinationFunction")
    item["destination"] = {
        "uploadDestinationId": create_destination(AttachmentTask.from_dict(item))["uploadDestinationId"]
    }
    # The destination expired before its upload: the upload step creates a new one.
    calls.now("")
    stored = destinations.load(support.TABLE, DESTINATION_ID)
    assert stored is not None
    destinations.save(support.TABLE, stored.destination, created_at=time.time() - destinations.URL_LIFETIME_SECONDS)
    calls.now("UploadAttachmentFunction")
    uploaded = upload_attachment(AttachmentTask.from_dict(item))
    calls.now("SendMessageFunction")
    send_message(
        SendRequest.from_dict({"executionId": EXECUTION_ID, "request": {**validated, "uploaded": [uploaded]}}),
        lambda_context,
    )
    # The message is a campaign's row: its outcome is counted on the campaign (whose record the test makes).
    calls.now("")
    source = campaign_records.CampaignSource(support.BUCKET, "campaigns/recorded.csv", "v1", "recorded", "csv")
    campaign_records.begin_run(support.TABLE, CAMPAIGN_ID, source, run=1)
    campaign_records.prepared(support.TABLE, CAMPAIGN_ID, 1, rows=1, invalid_by={}, to_send=1)
    calls.now("RecordOutcomeFunction")
    row = {**document, "campaign": {"id": CAMPAIGN_ID, "row": 1, "run": 1}}
    recorded = record_outcome(OutcomeTask.from_dict({"executionId": EXECUTION_ID, "outcome": "sent", "input": row}))
    assert recorded["status"] == "sent"
    assert (campaign_records.get(support.TABLE, CAMPAIGN_ID) or {}).get("sent") == 1
    # The outbox file's request fails: its record becomes failed, its source object is tagged by version.
    failed = support.load_event("record_outcome/failed.json")
    failed["executionId"] = started[1]["executionArn"]
    failed["input"]["attachments"] = []
    assert record_outcome(OutcomeTask.from_dict(failed))["status"] == "failed"

    _run_the_api(aws, calls)
    _run_a_campaign(aws, calls)
    _run_the_campaign_routes(calls)
    _run_the_rotation(http, calls)
    _run_onboarding(calls)
    calls.now("")


def _run_the_api(aws: dict[str, Any], calls: Calls) -> None:
    """ApiFunction's operations, each as its route calls it (functions/api/app.py)."""
    calls.now("ApiFunction")
    types = http_api.message_types(support.ORDER_ID, support.MARKETPLACE_ID)
    assert any(entry["available"] for entry in types["messageTypes"])
    form = http_api.stage_attachment("Invoice-2.pdf", "application/pdf", len(PDF))
    calls.now("")  # the browser posts the file to S3 with the form
    aws["s3"].put_object(Bucket=support.BUCKET, Key=form["key"], Body=PDF)
    calls.now("ApiFunction")
    body = {
        "marketplaceId": support.MARKETPLACE_ID,
        "messageType": "invoice",
        "attachments": [{"key": form["key"], "fileName": "Invoice-2.pdf"}],
    }
    operator = Caller("recorded-calls")
    submitted = http_api.submit(support.ORDER_ID, body, caller=operator, idempotency_key="one")
    again = http_api.submit(support.ORDER_ID, body, caller=operator, idempotency_key="one")
    assert (submitted.repeat, again.repeat) == (False, True)
    assert http_api.request_status(submitted.request_id)["status"] == "received"
    history = http_api.order_history(support.ORDER_ID)
    assert submitted.request_id in [message["requestId"] for message in history["messages"]]
    # POST /resends: the outbox request that failed (run_everything) found by its index and re-sent (its error is
    # bad input a re-send may mend, so the selection names it).
    since, until = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(minutes=1)
    selection = resend.Selection(since=since, until=until, errors=("MessageTypeNotAvailable",))
    resent = resend.run(selection, dry_run=False)
    assert [entry["decision"] for entry in resent["requests"]] == ["resend"], resent


def _run_the_campaign_routes(calls: Calls) -> None:
    """The campaign routes (campaigns.api), after _run_a_campaign: a dry run, a manifest staged and its campaign
    started, the list, and the recall campaign's record, report and rows to fix, then its next run."""
    calls.now("ApiFunction")
    manifest = f"amazonOrderId,marketplaceId,messageType,attachment1\r\n{support.ORDER_ID},{support.MARKETPLACE_ID},"
    manifest += "invoice,attachments/inv-1.pdf\r\n"
    post = campaigns_api.CampaignPost("from-the-api", "csv", manifest.encode(), dry_run=False, replace=False)
    assert campaigns_api.preview(post)["ready"] == 1
    assert campaigns_api.submit(post)["repeat"] is False
    listed = {found["name"]: found["campaignId"] for found in campaigns_api.recent()["campaigns"]}
    assert set(listed) == {"recorded", "recall"}  # from-the-api's record is its PrepareCampaign's to write
    assert campaigns_api.campaign(listed["recall"])["status"] == "failed"  # its run 2 failed (_run_a_campaign)
    assert campaigns_api.report(listed["recall"])[0] == "recall.report.csv"
    assert campaigns_api.failed_rows(listed["recall"])[1].decode().startswith("amazonOrderId,")
    assert campaigns_api.start_again(listed["recall"])["run"] == 3
    # Run 3 is stopped before it begins (as a start refused while a run went on ends): its number is spent, and
    # the next start asks its execution how it ended, then takes run 4.
    calls.now("")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    (third,) = [
        e for e in sfn.list_executions(stateMachineArn=_campaign_machine(sfn))["executions"] if e["name"].endswith("-3")
    ]
    sfn.stop_execution(executionArn=third["executionArn"], error="CampaignRunning")
    calls.now("ApiFunction")
    assert campaigns_api.start_again(listed["recall"])["run"] == 4


def _run_a_campaign(aws: dict[str, Any], calls: Calls) -> None:
    """A manifest's campaign: the S3 start, run 1 prepared and finished as the Map left it, run 2 prepared (the
    rows not sent are looked up) and failed (RecordRunFailure)."""
    calls.now("")
    boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
        name=support.CAMPAIGN_STATE_MACHINE_NAME,
        definition=PASS_DEFINITION,
        roleArn="arn:aws:iam::123456789012:role/StatesExecutionRole",
    )
    manifest = f"amazonOrderId,marketplaceId,messageType,attachment1\r\n{support.ORDER_ID},{support.MARKETPLACE_ID},"
    record = _s3_record(aws, "campaigns/recall.csv", (manifest + "invoice,attachments/inv-1.pdf\r\n").encode())
    calls.now("StartWorkflowFunction")
    assert start_workflows({"Records": [record]})["executions"][0]["started"] is True
    version = record["s3"]["object"]["versionId"]
    run = CampaignRun.first(support.BUCKET, "campaigns/recall.csv", version, "recall", "csv")
    calls.now("PrepareCampaignFunction")
    prepared = prepare_campaign({"campaign": run.to_dict()})
    assert prepared["toSend"] == 1
    calls.now("")  # what the Distributed Map's ResultWriter leaves: its manifest and a result file
    results = f"campaign-results/{run.execution_name}/map-run/"
    output = json.dumps({"row": 1, "status": "failed", "error": "SpApiUnavailable", "cause": "Amazon answered 503."})
    aws["s3"].put_object(Bucket=support.BUCKET, Key=results + "SUCCEEDED_0.json", Body=json.dumps([{"Output": output}]))
    written = {
        "DestinationBucket": support.BUCKET,
        "ResultFiles": {"SUCCEEDED": [{"Key": results + "SUCCEEDED_0.json"}]},
    }
    aws["s3"].put_object(Bucket=support.BUCKET, Key=results + "manifest.json", Body=json.dumps(written))
    details = {"ResultWriterDetails": {"Bucket": support.BUCKET, "Key": results + "manifest.json"}}
    calls.now("FinishCampaignFunction")
    assert finish_campaign({"state": {"campaign": prepared, "results": details}})["failed"] == 1
    second = {**run.to_dict(), "run": 2}
    calls.now("PrepareCampaignFunction")
    assert prepare_campaign({"campaign": second})["toSend"] == 1
    calls.now("FinishCampaignFunction")
    failure = {"Error": "States.Timeout", "Cause": "The Map did not end in time."}
    assert finish_campaign({"campaign": second, "failure": failure})["error"] == "States.Timeout"


def _notification(sample: str, fields: dict[str, str]) -> str:
    """A sample notification of events/client_secret_notifications/ with its payload's ``fields`` replaced."""
    body = json.loads(support.load_event(f"client_secret_notifications/{sample}")["Records"][0]["body"])
    (payload,) = body["payload"].values()
    payload.update(fields)
    return json.dumps(body)


def _run_the_rotation(http: responses.RequestsMock, calls: Calls) -> None:
    """The client secret's two functions (functions/rotate_client_secret, functions/client_secret_notifications)."""
    http.post(support.ENDPOINT + rotation.ROTATION_PATH, status=204)
    calls.now("RotateClientSecretFunction")
    assert rotate_client_secret()["rotationRequested"] is True  # the stored secret's age is unknown
    expires = (datetime.now(UTC) + timedelta(days=rotation.SECRET_LIFETIME_DAYS)).isoformat()
    calls.now("ClientSecretNotificationsFunction")
    stored = _notification("new-secret.json", {"newClientSecret": "recorded-run", "newClientSecretExpiryTime": expires})
    assert client_secret_notification(stored) == "stored"
    warning = _notification("secret-expiry.json", {"clientSecretExpiryTime": expires})
    assert client_secret_notification(warning) == "rotation requested"


def _run_onboarding(calls: Calls) -> None:
    """OnboardSellerFunction's routes (functions/onboard_seller): an invitation, its state, the callback (LWA answers
    the code with the http fixture's token), a self-authorization, the list, a removal and the seller back."""
    environment = {
        **os.environ,
        "SPAPI_APPLICATION_ID": "amzn1.sp.solution.recorded",
        "OAUTH_REDIRECT_URI": "https://console.example/oauth/callback",
    }
    settings = Settings.from_env(environment)
    now = datetime.now(UTC)
    calls.now("OnboardSellerFunction")
    link = onboarding.invite(settings, days=7, seller_id=None, now=now)["invitationUrl"]
    started = onboarding.start(settings, parse_qs(urlsplit(link).query)["invitation"][0], now=now)
    state = parse_qs(urlsplit(started.consent_url).query)["state"][0]
    onboarding.finish(
        settings, state=state, cookie=started.cookie_value, seller_id="A3RECORDEDSELLER", code="ANrecorded", now=now
    )
    onboarding.add_self_authorized(settings, "A2RECORDEDSELF", "Atzr|recorded", now=now)
    assert [seller.selling_partner_id for seller in sellers.all_sellers(settings)] == [
        "A2RECORDEDSELF",
        "A3RECORDEDSELLER",
    ]
    assert onboarding.remove(settings, "A2RECORDEDSELF")
    onboarding.add_self_authorized(settings, "A2RECORDEDSELF", "Atzr|recorded", now=now)  # its secret restored
    # The daily check, a year less 20 days on: both sellers warned once.
    assert len(authorization_age.check(settings, now + timedelta(days=345))["warned"]) == 2


def _campaign_machine(sfn: Any) -> str:
    (machine,) = [
        found["stateMachineArn"]
        for found in sfn.list_state_machines()["stateMachines"]
        if found["name"] == support.CAMPAIGN_STATE_MACHINE_NAME
    ]
    return str(machine)
