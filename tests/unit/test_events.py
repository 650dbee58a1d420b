"""Every sample under events/ is what its function expects, and the state machine inputs are valid requests."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from buyer_messaging import catalog, http_api, naming, rotation, trigger, validation
from buyer_messaging.campaigns import api as campaigns_api
from buyer_messaging.campaigns.keys import manifest_name, manifest_seller
from buyer_messaging.campaigns.run import CampaignRun
from buyer_messaging.messaging import AvailableAction
from buyer_messaging.models import AttachmentTask, MessageRequest, OutcomeTask, SendRequest, ValidationTask
from tests import support

SAMPLES = sorted(path.relative_to(support.EVENTS).as_posix() for path in support.EVENTS.rglob("*.json"))
STATE_MACHINE_INPUTS = [sample for sample in SAMPLES if sample.startswith("statemachine/")]


def _message_request(event: Any) -> None:
    request = MessageRequest.from_dict(event, default_bucket=support.BUCKET)
    catalog.message_type(request.message_type)


def _validation_task(event: Any) -> None:
    task = ValidationTask.from_dict(event, default_bucket=support.BUCKET)
    assert task.execution_id == event["executionId"]
    catalog.message_type(task.request.message_type)


def _outcome_task(event: Any) -> None:
    task = OutcomeTask.from_dict(event)
    assert task.execution_id == event["executionId"]
    if task.outcome == "failed":
        assert task.failure is not None
        assert task.failure.error and task.failure.cause
        # The execution's input rides along: it is a state machine input sample.
        _message_request(task.execution_input)


def _http_api_event(event: Any) -> None:
    """An HTTP API (payload 2.0) request for one of the API's routes (docs/api.md)."""
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    request = APIGatewayProxyEventV2(event)
    assert request.request_context.http.method in {"GET", "POST"}
    routes = [r"/orders/[^/]+/message-types", r"/attachments", r"/orders/[^/]+/messages", r"/messages/[^/]+"]
    routes += [r"/campaigns", r"/campaigns/[^/]+(/report|/failed-rows|/runs)?"]
    assert any(re.fullmatch(route, request.raw_path) for route in routes), request.raw_path
    if request.body:
        assert isinstance(json.loads(request.body), dict)
    if request.request_context.http.method == "POST" and request.raw_path.endswith("/messages"):
        # Its attachments are files POST /attachments staged: the only keys the API sends.
        http_api.check_staged_files(http_api.read_send_message(request.body).get("attachments") or [])
    if request.request_context.http.method == "POST" and request.raw_path == "/campaigns":
        assert campaigns_api.read_campaign_post(request.body).dry_run


def _onboarding_event(event: Any) -> None:
    """An HTTP API (payload 2.0) request for one of the onboarding routes: the public OAuth ones carry no
    authorizer, the operator's are IAM-signed; or the daily schedule of the sellers' authorizations."""
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    if event.get("source") == "aws.events":
        _scheduled_event(event)
        return
    request = APIGatewayProxyEventV2(event)
    route = f"{request.request_context.http.method} {request.raw_path}"
    public = {"GET /oauth/authorize", "GET /oauth/callback"}
    assert route in public | {"POST /sellers/invitations", "GET /sellers", "POST /sellers"}, route
    assert ("authorizer" not in event["requestContext"]) == (route in public), route
    if request.body:
        assert isinstance(json.loads(request.body), dict)


def _bare_task(event: Any) -> None:
    task = AttachmentTask.from_dict(event)
    catalog.message_type(task.message_type)
    assert task.attachment.size > 0


def _hashed_task(event: Any) -> None:
    task = AttachmentTask.from_dict(event)
    assert task.require_content_md5()


def _task_with_destination(event: Any) -> None:
    task = AttachmentTask.from_dict(event)
    assert task.require_content_md5()
    assert task.require_destination_id() == event["destination"]["uploadDestinationId"]


def _send_request(event: Any) -> None:
    send = SendRequest.from_dict(event)
    assert send.execution_id == event["executionId"]
    catalog.message_type(send.request.message_type)
    assert sorted(u.key for u in send.uploaded) == sorted(a.key for a in send.request.attachments)


def _s3_event(event: Any) -> None:
    staged = trigger.parse_s3_event(event)
    assert staged
    document = support.load_event("statemachine/invoice.json")
    for item in staged:
        assert item.bucket == support.BUCKET
        request = trigger.request_for_object(item, lambda bucket, key, version_id: document)
        catalog.message_type(request.message_type)


def _campaign_run(event: Any) -> None:
    run = CampaignRun.from_dict(event["campaign"])
    assert manifest_name(run.key) == (run.name, run.fmt)
    assert run.campaign_id == naming.campaign_id(run.bucket, run.key, run.version_id, run.name, run.seller)
    assert run.seller == manifest_seller(run.key)  # a seller's campaign is staged under its segment


def _finished_or_failed_run(event: Any) -> None:
    if "failure" in event:
        _campaign_run(event)
        assert set(event["failure"]) == {"Error", "Cause"}
        return
    _campaign_run(event["state"])
    assert event["state"]["results"]["ResultWriterDetails"]["Key"].endswith("/manifest.json")


def _client_secret_notifications(event: Any) -> None:
    """An SQS event whose message is one of Amazon's client secret notifications (buyer_messaging.rotation)."""
    from aws_lambda_powertools.utilities.data_classes import SQSEvent

    for record in SQSEvent(event).records:
        notification = rotation.parse_notification(record.body)
        assert notification.client_id == support.CREDENTIALS["clientId"]


def _scheduled_event(event: Any) -> None:
    from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

    assert EventBridgeEvent(event).detail_type == "Scheduled Event"


PARSERS: dict[str, Callable[[Any], None]] = {
    "client_secret_notifications": _client_secret_notifications,
    "rotate_client_secret": _scheduled_event,
    "api": _http_api_event,
    "onboard_seller": _onboarding_event,
    "list_actions": _validation_task,
    "record_outcome": _outcome_task,
    "statemachine": _message_request,
    "hash_attachment": _bare_task,
    "create_destination": _hashed_task,
    "upload_attachment": _task_with_destination,
    "send_message": _send_request,
    "start_workflow": _s3_event,
    "prepare_campaign": _campaign_run,
    "finish_campaign": _finished_or_failed_run,
}


def test_there_are_samples_for_every_function() -> None:
    functions = {path.name for path in (support.ROOT / "functions").iterdir() if (path / "app.py").exists()}
    folders = {sample.split("/", maxsplit=1)[0] for sample in SAMPLES}
    assert folders == set(PARSERS)
    assert functions <= folders


@pytest.mark.parametrize("sample", SAMPLES)
def test_sample_parses_into_its_functions_model(sample: str) -> None:
    PARSERS[sample.split("/", maxsplit=1)[0]](support.load_event(sample))


@pytest.mark.parametrize("sample", SAMPLES)
def test_sample_buckets_are_the_staging_bucket(sample: str) -> None:
    text = (support.EVENTS / sample).read_text(encoding="utf-8")
    for bucket in _buckets_of(json.loads(text)):
        assert bucket == support.BUCKET


def _buckets_of(data: Any) -> list[Any]:
    """Every bucket a sample names: ``bucket`` / ``Bucket`` values, and an S3 event's ``bucket.name``."""
    if isinstance(data, dict):
        found = []
        for key, value in data.items():
            if key in {"bucket", "Bucket"} and isinstance(value, str):
                found.append(value)
            elif key == "bucket" and isinstance(value, dict) and isinstance(value.get("name"), str):
                found.append(value["name"])
        return found + [v for value in data.values() for v in _buckets_of(value)]
    if isinstance(data, list):
        return [v for item in data for v in _buckets_of(item)]
    return []


# --- the Map item samples --------------------------------------------------------------------------------


def test_create_destination_sample_is_the_hash_sample_plus_its_hash() -> None:
    hashed = support.load_event("create_destination/attachment-hashed.json")
    bare = support.load_event("hash_attachment/attachment.json")
    assert {k: v for k, v in hashed.items() if k != "hash"} == bare
    assert set(hashed["hash"]) == {"contentMd5"}


def test_upload_sample_is_the_create_sample_plus_its_destination() -> None:
    with_destination = support.load_event("upload_attachment/attachment-with-destination.json")
    hashed = support.load_event("create_destination/attachment-hashed.json")
    assert {k: v for k, v in with_destination.items() if k != "destination"} == hashed
    # Only the id: the presigned URL and its signed headers stay in the workflow table.
    assert list(with_destination["destination"]) == ["uploadDestinationId"]
    assert with_destination["destination"]["uploadDestinationId"]


@pytest.mark.parametrize("sample", SAMPLES)
def test_no_sample_carries_a_presigned_url(sample: str) -> None:
    text = (support.EVENTS / sample).read_text(encoding="utf-8")
    assert "X-Amz-" not in text
    assert "https://" not in text
    assert '"url"' not in text
    if not sample.startswith(("api/", "onboard_seller/")):  # an HTTP request has headers; a workflow state never does
        assert '"headers"' not in text


def test_sample_content_md5_is_the_base64_of_the_etags_digest() -> None:
    event = support.load_event("hash_attachment/attachment.json")
    hashed = support.load_event("create_destination/attachment-hashed.json")
    digest = bytes.fromhex(event["attachment"]["etag"].strip('"'))
    assert hashed["hash"]["contentMd5"] == base64.b64encode(digest).decode()


@pytest.mark.parametrize(
    "sample",
    [
        "hash_attachment/attachment.json",
        "create_destination/attachment-hashed.json",
        "upload_attachment/attachment-with-destination.json",
    ],
)
def test_map_item_samples_round_trip(sample: str) -> None:
    event = support.load_event(sample)
    assert AttachmentTask.from_dict(event).to_dict() == event


def test_hash_sample_has_no_hash_and_create_sample_no_destination() -> None:
    assert AttachmentTask.from_dict(support.load_event("hash_attachment/attachment.json")).content_md5 is None
    hashed = AttachmentTask.from_dict(support.load_event("create_destination/attachment-hashed.json"))
    assert hashed.destination_id is None


# --- send_message samples --------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.startswith("send_message/")])
def test_send_message_samples_round_trip(sample: str) -> None:
    event = support.load_event(sample)
    event["request"].setdefault("uploaded", [])
    assert SendRequest.from_dict(event).to_dict() == event


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.startswith("send_message/")])
def test_send_message_samples_are_wrapped_with_an_execution_arn(sample: str) -> None:
    event = support.load_event(sample)
    assert set(event) == {"executionId", "request"}
    arn = event["executionId"].split(":")
    assert arn[:3] == ["arn", "aws", "states"]
    assert arn[5] == "execution"
    assert event["request"]["messageType"] in arn[-1]


def test_send_message_invoice_sample_matches_the_upload_sample() -> None:
    send = SendRequest.from_dict(support.load_event("send_message/invoice.json"))
    task = AttachmentTask.from_dict(support.load_event("upload_attachment/attachment-with-destination.json"))
    (uploaded,) = send.uploaded
    assert send.request.attachments == (task.attachment,)
    assert uploaded.upload_destination_id == task.require_destination_id()
    assert uploaded.content_md5 == task.content_md5


# --- start_workflow samples ------------------------------------------------------------------------------


def test_outbox_sample_stands_for_an_invoice_request() -> None:
    (staged,) = trigger.parse_s3_event(support.load_event("start_workflow/s3-outbox-invoice.json"))
    request = trigger.request_for_object(staged, lambda bucket, key, version_id: pytest.fail("no document read"))
    assert request.amazon_order_id == support.ORDER_ID
    assert request.marketplace_id == support.MARKETPLACE_ID
    assert catalog.message_type(request.message_type).path == "invoice"
    (attachment,) = request.attachments
    assert (attachment.bucket, attachment.key) == (support.BUCKET, staged.key)
    assert attachment.file_name == "Invoice 123-1234567-1234567.pdf"
    assert staged.version_id
    assert trigger.execution_name(staged)


def test_request_document_sample_is_read_by_version() -> None:
    (staged,) = trigger.parse_s3_event(support.load_event("start_workflow/s3-request-document.json"))
    calls: list[tuple[str, str, str | None]] = []

    def reader(bucket: str, key: str, version_id: str | None) -> object:
        calls.append((bucket, key, version_id))
        return support.load_event("statemachine/invoice.json")

    request = trigger.request_for_object(staged, reader)
    assert calls == [(support.BUCKET, "requests/invoice-123-1234567-1234567.json", staged.version_id)]
    assert request.attachments[0].bucket == support.BUCKET


# --- state machine inputs --------------------------------------------------------------------------------


def _input_types() -> dict[str, catalog.MessageType]:
    return {sample: catalog.message_type(support.load_event(sample)["messageType"]) for sample in STATE_MACHINE_INPUTS}


def test_a_state_machine_input_for_every_type_that_takes_attachments() -> None:
    covered = {message_type.path for message_type in _input_types().values()}
    wanted = {m.path for m in catalog.MESSAGE_TYPES if m.attachments is not None}
    assert wanted <= covered, f"no events/statemachine input for {sorted(wanted - covered)}"


def test_a_text_only_state_machine_input() -> None:
    text_only = [
        sample
        for sample in STATE_MACHINE_INPUTS
        if support.load_event(sample).get("text") and not support.load_event(sample).get("attachments")
    ]
    assert text_only


def test_state_machine_inputs_include_an_operation_name_alias() -> None:
    aliases = []
    for sample in STATE_MACHINE_INPUTS:
        spelling = support.load_event(sample)["messageType"]
        message_type = catalog.message_type(spelling)
        if spelling == message_type.operation != message_type.path:
            aliases.append(spelling)
    assert aliases


@pytest.mark.parametrize("sample", STATE_MACHINE_INPUTS)
def test_state_machine_input_passes_the_catalogs_rules(sample: str) -> None:
    request = MessageRequest.from_dict(support.load_event(sample), default_bucket=support.BUCKET)
    message_type = catalog.message_type(request.message_type)
    validation.check_marketplace(request.marketplace_id, "na")
    action = AvailableAction(name=message_type.operation, message_type=message_type, title="", schema={})
    staged = [
        validation.StagedObject(size=1000, etag='"0123456789abcdef0123456789abcdef"') for _ in request.attachments
    ]

    validated = validation.validate(request, action, staged)

    assert validated.message_type == message_type.path
    assert validated.operation == message_type.operation
    assert all(a.content_type != "application/octet-stream" for a in validated.attachments)


@pytest.mark.parametrize("sample", STATE_MACHINE_INPUTS)
def test_state_machine_input_passes_the_schema_amazon_would_embed(sample: str) -> None:
    request = MessageRequest.from_dict(support.load_event(sample), default_bucket=support.BUCKET)
    message_type = catalog.message_type(request.message_type)
    action = AvailableAction(
        name=message_type.operation, message_type=message_type, title="", schema=support.schema_for(message_type)
    )
    staged = [validation.StagedObject(size=1000, etag='"e"') for _ in request.attachments]
    validation.validate(request, action, staged)


@pytest.mark.parametrize("sample", STATE_MACHINE_INPUTS)
def test_state_machine_input_file_names_match_the_sample(sample: str) -> None:
    assert Path(sample).stem.split("-")[0] in {m.path for m in catalog.MESSAGE_TYPES}
    assert _input_types()[sample].path == Path(sample).stem.split("-")[0]
