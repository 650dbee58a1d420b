"""The real state machine on moto, the real handlers in-process, the SP-API emulator: end to end."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from buyer_messaging import catalog
from local_stack import timeline
from local_stack.reliability import bad_inputs, faults
from local_stack.reliability.inputs import ORDER, PDF, PNG
from local_stack.reliability.inputs import US as MARKETPLACE
from tests.integration.conftest import Stack


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _document(
    message_type: str,
    *,
    order: str = ORDER,
    text: str | None = None,
    attachments: list[dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    document: dict[str, Any] = {"amazonOrderId": order, "marketplaceId": MARKETPLACE, "messageType": message_type}
    if text is not None:
        document["text"] = text
    if attachments:
        document["attachments"] = attachments
    document.update(extra)
    return document


def _stage(stack: Stack, count: int, *, prefix: str = "file") -> tuple[list[dict[str, str]], dict[str, bytes]]:
    """``count`` distinct PDFs under attachments/; their request entries and bytes by buyer file name."""
    entries, contents = [], {}
    for index in range(count):
        data = PDF + f"\n% copy {index}\n".encode()
        key = f"attachments/{prefix}-{index}.pdf"
        stack.put(key, data)
        name = f"{prefix.title()} {index + 1}.pdf"
        entries.append({"key": key, "fileName": name})
        contents[name] = data
    return entries, contents


def _cases() -> list[Any]:
    """Every message type, with each shape of body it allows: text, 1 file, text + file, 5 files."""
    cases = []
    for message_type in catalog.MESSAGE_TYPES:
        text = "Hello — a message from the seller. Grüße!" if message_type.text is not None else None
        if message_type.attachments is None:
            cases.append(pytest.param(message_type.path, text, 0, id=f"{message_type.path}-text"))
            continue
        if message_type.attachments.min_count == 0 and text is not None:
            cases.append(pytest.param(message_type.path, text, 0, id=f"{message_type.path}-text-only"))
        cases.append(pytest.param(message_type.path, text, 1, id=f"{message_type.path}-1-file"))
    cases.append(pytest.param("invoice", None, 5, id="invoice-5-files"))
    cases.append(pytest.param("warranty", None, 5, id="warranty-5-files"))
    return cases


@pytest.mark.parametrize(("message_type", "text", "files"), _cases())
def test_every_message_type_is_delivered_with_the_exact_bytes(
    stack: Stack, message_type: str, text: str | None, files: int
) -> None:
    entries, contents = _stage(stack, files)
    extra = {}
    if message_type == "warranty":
        extra = {"coverageStartDate": "2026-11-27T00:00:00Z", "coverageEndDate": "2028-11-27T00:00:00Z"}
    execution = stack.start(_document(message_type, text=text, attachments=entries, **extra))

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    (delivery,) = stack.emulator.deliveries(ORDER)
    assert delivery["messageType"] == message_type
    assert delivery.get("text") == text
    received = {attachment["fileName"]: attachment for attachment in delivery.get("attachments", [])}
    assert set(received) == set(contents)
    for name, data in contents.items():
        assert received[name]["md5"] == _md5(data)
        assert received[name]["size"] == len(data)
    if message_type == "warranty":
        assert delivery.get("coverageStartDate") == "2026-11-27T00:00:00Z"


def test_a_file_dropped_in_the_outbox_reaches_the_buyer(stack: Stack) -> None:
    key = f"outbox/{MARKETPLACE}/{ORDER}/sendInvoice/Invoice 2026-001.pdf"
    stack.put(key, PDF)
    (execution,) = stack.finished(1)

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    (delivery,) = stack.emulator.deliveries(ORDER)
    assert delivery["messageType"] == "invoice"
    assert [(a["fileName"], a["md5"]) for a in delivery["attachments"]] == [("Invoice 2026-001.pdf", _md5(PDF))]
    assert key in stack.staged_keys()  # the staged file stays


def test_a_request_document_with_text_and_an_image_reaches_the_buyer(stack: Stack) -> None:
    stack.put("attachments/proof.png", PNG)
    stack.put_request(
        "customization",
        _document(
            "confirmCustomizationDetails",
            text="Is the spelling right?",
            attachments=[{"key": "attachments/proof.png", "fileName": "Proof.png"}],
        ),
    )
    (execution,) = stack.finished(1)

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    (delivery,) = stack.emulator.deliveries(ORDER)
    assert delivery["text"] == "Is the spelling right?"
    assert [(a["fileName"], a["md5"]) for a in delivery["attachments"]] == [("Proof.png", _md5(PNG))]


def test_a_redelivered_s3_event_starts_nothing_new(stack: Stack) -> None:
    stack.put(faults.FAULT_OUTBOX_KEY, PDF)
    stack.finished(1)

    again = faults.redeliver_s3_event(stack)  # the fault table's duplicate-s3-event
    assert "FunctionError" not in again

    assert len(stack.finished(1)) == 1
    assert len(stack.emulator.deliveries(ORDER)) == 1


def _stage_case(stack: Stack, case: bad_inputs.BadInputCase) -> None:
    for key, content in case.staged.items():
        stack.put(key, bad_inputs.content_bytes(content))


def test_a_zero_byte_file_is_rejected_clearly_and_nothing_is_sent(stack: Stack) -> None:
    case = bad_inputs.case_by_id("zero-byte-file")  # the matrix enters it as a request document
    _stage_case(stack, case)
    execution = stack.start(case.document)

    assert execution["status"] == "FAILED"
    assert execution["error"] == "InvalidAttachments"
    assert "empty (0 bytes)" in execution["cause"]
    assert stack.emulator.deliveries() == []
    assert stack.emulator.calls("createUploadDestinationForResource") == []
    assert "attachments/empty.pdf" in stack.staged_keys()


def test_warranty_dates_with_an_offset_are_sent_to_amazon_in_utc(stack: Stack) -> None:
    entries, _ = _stage(stack, 1)
    dates = {"coverageStartDate": "2026-11-27T00:00:00+01:00", "coverageEndDate": "2028-11-27t08:30:00.50-05:00"}
    execution = stack.start(_document("warranty", attachments=entries, **dates))

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    (delivery,) = stack.emulator.deliveries()
    assert (delivery["coverageStartDate"], delivery["coverageEndDate"]) == (
        "2026-11-26T23:00:00Z",
        "2028-11-27T13:30:00.5Z",
    )


def test_a_warranty_date_in_another_iso_8601_form_is_sent_to_amazon_as_rfc_3339(stack: Stack) -> None:
    entries, _ = _stage(stack, 1)
    dates = {"coverageStartDate": "20261127T000000Z", "coverageEndDate": "2028-W48-1 09:00+01:00"}
    execution = stack.start(_document("warranty", attachments=entries, **dates))

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    (delivery,) = stack.emulator.deliveries()
    assert (delivery["coverageStartDate"], delivery["coverageEndDate"]) == (
        "2026-11-27T00:00:00Z",
        "2028-11-27T08:00:00Z",
    )


def test_a_warranty_date_without_a_time_zone_fails_before_any_upload(stack: Stack) -> None:
    entries, _ = _stage(stack, 1)
    dates = {"coverageStartDate": "2026-11-27T00:00:00", "coverageEndDate": "2028-11-27T00:00:00Z"}
    execution = stack.start(_document("warranty", attachments=entries, **dates))

    assert execution["status"] == "FAILED"
    assert execution["error"] == "InvalidRequest"
    assert execution["cause"] == (
        "The warranty coverage dates are invalid: coverageStartDate '2026-11-27T00:00:00' needs a time zone "
        "(like 2026-01-31T00:00:00Z)."
    )
    assert stack.emulator.calls("createUploadDestinationForResource") == []
    assert stack.emulator.deliveries() == []


def test_a_type_the_order_does_not_allow_fails_clearly_and_sends_nothing(stack: Stack) -> None:
    case = bad_inputs.case_by_id("type-not-available")  # the matrix enters it as a request document
    _stage_case(stack, case)
    execution = stack.start(case.document)

    assert execution["status"] == "FAILED"
    assert execution["error"] == "MessageTypeNotAvailable"
    assert "invoice" in execution["cause"]
    assert "unexpectedProblem" in execution["cause"]  # what is allowed instead
    assert stack.emulator.deliveries() == []
    assert stack.emulator.calls("createUploadDestinationForResource") == []


def test_throttling_and_server_errors_are_retried_and_the_message_is_delivered_once(stack: Stack) -> None:
    stack.emulator.inject_fault("getMessagingActionsForOrder", status=429, count=2)
    stack.emulator.inject_fault("createUploadDestinationForResource", status=503, count=2)
    stack.emulator.inject_fault("upload", status=500, count=1)
    stack.emulator.inject_fault("sendInvoice", status=429, count=3)
    stack.emulator.inject_fault("sendInvoice", status=500, count=1)
    entries, contents = _stage(stack, 1)
    execution = stack.start(_document("invoice", attachments=entries))

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    (delivery,) = stack.emulator.deliveries(ORDER)
    assert [a["md5"] for a in delivery["attachments"]] == [_md5(data) for data in contents.values()]
    runs = {run.name: run for run in timeline.build(execution, stack.history(execution)).states}
    assert runs["ValidateRequest"].failures == ["SpApiThrottled", "SpApiThrottled"]
    assert runs["CreateUploadDestination"].failures == ["SpApiUnavailable", "SpApiUnavailable"]
    assert runs["UploadAttachment"].failures == ["UploadEndpointUnavailable"]
    assert sorted(runs["SendMessage"].failures) == ["SpApiThrottled"] * 3 + ["SpApiUnavailable"]


def test_s3_asking_to_retry_an_upload_with_a_400_is_retried_and_the_message_delivered_once(stack: Stack) -> None:
    # S3 answers 400 RequestTimeout when the body stalls; SlowDown and InternalError may come with any status.
    faults.fault_case_by_id("upload-request-timeout").apply(stack)
    stack.emulator.inject_fault("upload", status=400, error_code="SlowDown")
    entries, contents = _stage(stack, 1)
    execution = stack.start(_document("invoice", attachments=entries))

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    (delivery,) = stack.emulator.deliveries()
    assert [a["md5"] for a in delivery["attachments"]] == [_md5(data) for data in contents.values()]
    runs = {run.name: run for run in timeline.build(execution, stack.history(execution)).states}
    assert runs["UploadAttachment"].failures == ["UploadEndpointUnavailable", "UploadEndpointUnavailable"]
    assert len(stack.emulator.calls("createUploadDestinationForResource")) == 1  # the same URL, PUT again


def test_an_lwa_outage_is_retried(stack: Stack) -> None:
    faults.fault_case_by_id("lwa-down").apply(stack)
    execution = stack.start(_document("unexpectedProblem", text="Your parcel is delayed."))

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert len(stack.emulator.deliveries(ORDER)) == 1


def test_an_upload_the_endpoint_rejects_fails_clearly_and_sends_nothing(stack: Stack) -> None:
    faults.fault_case_by_id("upload-bad-digest").apply(stack)
    entries, _ = _stage(stack, 1)
    execution = stack.start(_document("invoice", attachments=entries))

    assert execution["status"] == "FAILED"
    assert execution["error"] == "UploadRejected"
    assert "BadDigest" in execution["cause"]
    assert stack.emulator.deliveries() == []


def test_retries_give_up_after_their_attempts_with_a_clear_cause(stack: Stack) -> None:
    stack.emulator.inject_fault("createUnexpectedProblem", status=503, count=50)
    execution = stack.start(_document("unexpectedProblem", text="Your parcel is delayed."))

    assert execution["status"] == "FAILED"
    assert execution["error"] == "SpApiUnavailable"
    assert "503" in execution["cause"]
    assert stack.emulator.deliveries() == []
    # The first try and MaxAttempts (4) retries of the transient retrier.
    assert len(stack.emulator.calls("createUnexpectedProblem")) == 1 + 4


def test_a_step_functions_error_ends_as_workflow_error_with_its_name_in_the_cause(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """States.* names are reserved: the failure path still ends the execution with a readable cause."""
    invoke = stack.local.lambdas.invoke

    def lambda_service_breaks(function: Any, event: Any) -> tuple[str, bool, str]:
        if function.name.endswith("SendMessageFunction"):
            raise RuntimeError("the Lambda service broke")
        return invoke(function, event)

    monkeypatch.setattr(stack.local.lambdas, "invoke", lambda_service_breaks)
    execution = stack.start(_document("unexpectedProblem", text="Your parcel is delayed."))

    assert execution["status"] == "FAILED"
    assert execution["error"] == "WorkflowError"
    assert execution["cause"] == "States.Runtime: the Lambda service broke"
    assert stack.emulator.deliveries() == []


def test_a_burst_over_the_real_messaging_quota_is_throttled_retried_and_delivered_once_each() -> None:
    """Eight messages at once against Messaging's real token buckets (burst 5), with the pacer's clock (which
    runs at the stack's retry speedup) ten times faster than the buckets, as a pacer that misjudges Amazon's
    pace would be: some calls get 429 QuotaExceeded from the emulator's quota, the state machine backs off,
    every buyer gets one message."""
    from local_stack.stack import LocalStack, SpApiTarget, in_process_aws
    from spapi_emulator import Emulator, load_default_seed

    seed = load_default_seed()
    # Quotas refill 2x faster (2 requests/s, burst 5); retry waits and the pacer run 20x faster (0.1 s, 0.2 s, ...).
    with Emulator(seed, quota_speedup=2) as emulator, in_process_aws():
        target = SpApiTarget(emulator.base_url, emulator.token_url, emulator.upload_host, seed.credentials.as_secret())
        local = LocalStack(target, retry_speedup=20)
        deployment = local.deploy()
        try:
            sfn = local.client("stepfunctions")
            texts = [f"Update {index}: your parcel is on its way." for index in range(8)]
            for index, text in enumerate(texts):
                sfn.start_execution(
                    stateMachineArn=deployment.state_machine_arn,
                    name=f"burst-{index}",
                    input=json.dumps(_document("unexpectedProblem", text=text)),
                )
            executions = local.wait_for_executions(8, timeout_seconds=120)
        finally:
            local.close()
        assert [e["status"] for e in executions] == ["SUCCEEDED"] * 8, [e.get("cause") for e in executions]
        assert sorted(d["text"] for d in emulator.deliveries(ORDER)) == sorted(texts)
        throttled = [c for c in emulator.calls() if c.get("status") == 429]
        assert throttled, "the burst never exceeded the quota: the test proves nothing"


def test_a_crash_after_the_send_returned_is_retried_without_messaging_the_buyer_twice(stack: Stack) -> None:
    """The send step sends, then its Lambda sandbox dies before answering: Step Functions retries the step,
    and the idempotency record the first attempt saved answers instead of a second message."""
    crashes = faults.fault_case_by_id("crash-after-send").apply(stack)
    entries, _ = _stage(stack, 1)
    execution = stack.start(_document("invoice", attachments=entries))

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert crashes, "the crash was not simulated"
    assert len(stack.emulator.deliveries(ORDER)) == 1
    assert len(stack.emulator.calls("sendInvoice")) == 1
    runs = {run.name: run for run in timeline.build(execution, stack.history(execution)).states}
    assert runs["SendMessage"].failures == ["Lambda.ServiceException"]


def test_an_upload_destination_that_expires_before_the_upload_is_recreated(stack: Stack) -> None:
    """Amazon's presigned URLs live 15 minutes; a Map that waited longer (throttling, a slow Lambda) must
    upload to a fresh destination rather than fail."""
    faults.fault_case_by_id("destination-expired").apply(stack)
    entries, contents = _stage(stack, 1)
    execution = stack.start(_document("invoice", attachments=entries))

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert len(stack.emulator.calls("createUploadDestinationForResource")) == 2
    (delivery,) = stack.emulator.deliveries(ORDER)
    (attachment,) = delivery["attachments"]
    assert attachment["md5"] == _md5(next(iter(contents.values())))
    first, second = (d["uploadDestinationId"] for d in stack.emulator.destinations())
    assert attachment["uploadDestinationId"] == second != first


def test_no_presigned_url_or_credential_in_anything_a_run_writes(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Everything a sent and a failed run write: the functions' logs, the executions' input, output and history,
    the status and idempotency records, the EventBridge events, the staged objects' tags. Only the destination
    records hold a presigned URL, by design (TTL, never logged)."""
    import io
    import logging

    from buyer_messaging.observability import logger

    captured = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    monkeypatch.setattr(handler, "stream", captured)
    level = logger.log_level
    logger.setLevel(logging.DEBUG)  # every line a function could write, not only INFO and up
    request.addfinalizer(lambda: logger.setLevel(level))
    stack.emulator.inject_fault("sendInvoice", status=503, count=1)  # an error cause is written too
    entries, _ = _stage(stack, 2)
    execution = stack.start(_document("invoice", attachments=entries))
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    # A failure after the upload: its cause, record, tags and event are written too.
    stack.emulator.inject_fault("sendInvoice", status=400, count=1, error_code="InvalidInput")
    failed = stack.start(_document("invoice", attachments=entries[:1]))
    assert failed["status"] == "FAILED"

    assert stack.local.deployment is not None
    table = stack.local.deployment.tables["WorkflowTable"]
    items = stack.local.client("dynamodb").scan(TableName=table)["Items"]
    records = [item for item in items if not item["id"]["S"].startswith("destination#")]
    assert sum(item["id"]["S"].startswith("request#") for item in records) == 2, "no status records"
    assert any(not item["id"]["S"].startswith("request#") for item in records), "no idempotency record"
    events = stack.events.drain()
    assert sorted(event["detail-type"] for event in events) == ["MessageFailed", "MessageSent"]
    tags = [stack.tags(entry["key"]) for entry in entries]
    written = "\n".join(
        [
            captured.getvalue(),
            *(json.dumps(stack.history(run), default=str) for run in (execution, failed)),
            json.dumps([execution, failed], default=str),
            json.dumps(records),
            json.dumps(events),
            json.dumps(tags),
        ]
    )
    assert "Message sent" in captured.getvalue()  # the logs were captured
    secret = stack.emulator.seed.credentials
    for forbidden in ("X-Amz-Signature", "/upload/", secret.client_secret, secret.refresh_token, "Atza|"):
        assert forbidden not in written, forbidden
