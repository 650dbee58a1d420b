"""The AWS calls each function makes, recorded on a whole run, stay inside the grants that issue 14 (item 6)
narrowed: moto enforces no IAM, so without this a code change that starts using a removed grant would pass
every test and fail only on AWS. tests/static/test_grants.py checks the other side (the grants stay removed).

One message with an attachment goes through every step, started from S3 (a request document and an outbox
file), with an upload destination that expired before its upload (the renewal path).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import responses

from buyer_messaging import destinations, idempotency, pacer, status, steps
from buyer_messaging.models import AttachmentTask, MessageRequest, OutcomeTask, SendRequest, ValidationTask
from tests import support

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
DESTINATION_ID = "0b8c7d54-3f3e-4c55-9e0e-3c7f2b1d9a10"
UPLOAD_URL = f"https://{support.UPLOAD_HOST}/%2FNinetyDays/amzn1.tortuga.4.na.{DESTINATION_ID}?X-Amz-Signature=abc"
EXECUTION_ID = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:calls-within-grants"
PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


class Calls:
    """Every AWS call the package's own clients make, by the function (step) that makes it."""

    def __init__(self) -> None:
        self.function = ""
        self.by_function: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)

    def record(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        _, service, operation = event_name.split(".")
        self.by_function[self.function].append((f"{service}:{operation}", dict(params)))

    def of(self, function: str, action: str) -> list[dict[str, Any]]:
        return [params for name, params in self.by_function[function] if name == action]


@pytest.fixture
def calls(aws: dict[str, Any]) -> Iterator[Calls]:
    # The package makes its clients (after this) from boto3's default session: they all carry the hook.
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    recorder = Calls()
    session.events.register("before-parameter-build.*.*", recorder.record)
    yield recorder
    session.events.unregister("before-parameter-build.*.*", recorder.record)


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


def _run_everything(aws: dict[str, Any], http: responses.RequestsMock, calls: Calls, lambda_context: Any) -> None:
    boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
        name=support.STATE_MACHINE_NAME,
        definition=PASS_DEFINITION,
        roleArn="arn:aws:iam::123456789012:role/StatesExecutionRole",
    )
    document = support.load_event("statemachine/invoice.json")
    calls.function = "StartWorkflowFunction"
    steps.start_workflows(
        {
            "Records": [
                _s3_record(aws, "requests/invoice-1.json", json.dumps(document).encode()),
                _s3_record(aws, f"outbox/{support.MARKETPLACE_ID}/{support.ORDER_ID}/invoice/Invoice.pdf", PDF),
            ]
        }
    )

    aws["s3"].put_object(Bucket=support.BUCKET, Key="attachments/inv-1.pdf", Body=PDF)
    http.get(
        f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}",
        json=support.actions_body(["sendInvoice"]),
        headers={"x-amzn-RateLimit-Limit": "1.0"},
    )
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
    http.post(f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}/messages/invoice", json={}, status=201)

    request = MessageRequest.from_dict(
        {
            "amazonOrderId": support.ORDER_ID,
            "marketplaceId": support.MARKETPLACE_ID,
            "messageType": "sendInvoice",
            "attachments": [{"key": "attachments/inv-1.pdf", "fileName": "Invoice-1.pdf"}],
        },
        default_bucket=support.BUCKET,
    )
    calls.function = "ListActionsFunction"
    validated = steps.validate_request(ValidationTask(EXECUTION_ID, request))
    item: dict[str, Any] = {
        "executionId": EXECUTION_ID,
        "index": 0,
        "amazonOrderId": support.ORDER_ID,
        "marketplaceId": support.MARKETPLACE_ID,
        "messageType": validated["messageType"],
        "attachment": validated["attachments"][0],
    }
    calls.function = "HashAttachmentFunction"
    item["hash"] = {"contentMd5": steps.hash_attachment(AttachmentTask.from_dict(item))["contentMd5"]}
    calls.function = "CreateDestinationFunction"
    item["destination"] = {
        "uploadDestinationId": steps.create_destination(AttachmentTask.from_dict(item))["uploadDestinationId"]
    }
    # The destination expired before its upload: the upload step creates a new one.
    calls.function = ""
    stored = destinations.load(support.TABLE, DESTINATION_ID)
    assert stored is not None
    destinations.save(support.TABLE, stored.destination, created_at=time.time() - destinations.URL_LIFETIME_SECONDS)
    calls.function = "UploadAttachmentFunction"
    uploaded = steps.upload_attachment(AttachmentTask.from_dict(item))
    calls.function = "SendMessageFunction"
    steps.send_message(
        SendRequest.from_dict({"executionId": EXECUTION_ID, "request": {**validated, "uploaded": [uploaded]}}),
        lambda_context,
    )
    calls.function = "RecordOutcomeFunction"
    recorded = steps.record_outcome(OutcomeTask.from_dict({"executionId": EXECUTION_ID, "outcome": "sent"}))
    assert recorded["status"] == "sent"


def _key_prefixes(requests: list[dict[str, Any]]) -> set[str]:
    return {params["Key"]["id"]["S"].split("#")[0] + "#" for params in requests}


def test_every_function_stays_inside_its_narrowed_grants(
    aws: dict[str, Any], http: responses.RequestsMock, calls: Calls, lambda_context: Any
) -> None:
    _run_everything(aws, http, calls, lambda_context)
    assert set(calls.by_function) >= {"StartWorkflowFunction", *support.WORKFLOW_FUNCTIONS}

    # The trigger reads request documents only, at the event's version; never an outbox/ object.
    reads = calls.of("StartWorkflowFunction", "s3:GetObject") + calls.of("StartWorkflowFunction", "s3:HeadObject")
    assert [(params["Key"], "VersionId" in params) for params in reads] == [("requests/invoice-1.json", True)]
    # Every other read of a staged object pins it by ETag, never by version (no s3:GetObjectVersion).
    for function, made in calls.by_function.items():
        if function != "StartWorkflowFunction":
            versioned = [(name, p) for name, p in made if name.startswith("s3:") and "VersionId" in p]
            assert [name for name, _ in versioned] in ([], ["s3:GetObjectTagging", "s3:PutObjectTagging"]), function
            assert not versioned or function == "RecordOutcomeFunction", function

    # Status records: StartWorkflow and UploadAttachment only write them; the destinations' and the pacer's
    # items are the only ones UploadAttachment reads.
    assert calls.of("StartWorkflowFunction", "dynamodb:GetItem") == []
    assert _key_prefixes(calls.of("StartWorkflowFunction", "dynamodb:UpdateItem")) == {status.KEY_PREFIX}
    assert _key_prefixes(calls.of("UploadAttachmentFunction", "dynamodb:GetItem")) == {
        destinations.KEY_PREFIX,
        pacer.KEY_PREFIX,
    }
    assert status.KEY_PREFIX in _key_prefixes(calls.of("UploadAttachmentFunction", "dynamodb:UpdateItem"))
    assert calls.of("HashAttachmentFunction", "dynamodb:GetItem") == []
    # The readers that keep GetItem on status records do read them.
    assert status.KEY_PREFIX in _key_prefixes(calls.of("RecordOutcomeFunction", "dynamodb:GetItem"))


def test_only_request_records_carry_the_order_index_keys(
    aws: dict[str, Any], http: responses.RequestsMock, calls: Calls, lambda_context: Any
) -> None:
    """ApiFunction's Query on ByOrder has no dynamodb:LeadingKeys (template.yaml, OrderHistory: on an index it
    would name the order id, not the item's id). The sparse index is what holds the query to request records:
    no other family's item may carry its keys."""
    _run_everything(aws, http, calls, lambda_context)
    items = aws["dynamodb"].scan(TableName=support.TABLE)["Items"]
    families = {item["id"]["S"].split("#")[0] + "#" for item in items}
    assert families == {status.KEY_PREFIX, destinations.KEY_PREFIX, pacer.KEY_PREFIX, idempotency.KEY_PREFIX}
    indexed = {
        item["id"]["S"].split("#")[0] + "#"
        for item in items
        if status.ORDER_INDEX_PARTITION in item or status.ORDER_INDEX_SORT in item
    }
    assert indexed == {status.KEY_PREFIX}
