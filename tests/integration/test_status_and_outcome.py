"""Every request's status record, the outcome tags on its staged objects and its EventBridge event, through
the real state machine on the local stack."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from buyer_messaging import status
from local_stack import samples
from tests.integration.conftest import Stack

ORDER = "123-1234567-1234567"
ONLY_UNEXPECTED_PROBLEM = "702-0000000-0000000"
MARKETPLACE = "ATVPDKIKX0DER"
PDF = samples.invoice_pdf(ORDER)


def _content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _statuses(record: dict[str, Any]) -> list[str]:
    return [entry["status"] for entry in record["history"]]


def _events(stack: Stack, request_id: str) -> list[dict[str, Any]]:
    return [event for event in stack.events.drain() if event["detail"].get("requestId") == request_id]


def test_a_sent_outbox_file_is_recorded_tagged_and_announced(stack: Stack) -> None:
    key = f"outbox/{MARKETPLACE}/{ORDER}/invoice/Invoice 2026-001.pdf"
    put = stack.put(key, PDF)
    (execution,) = stack.finished(1)
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    (delivery,) = stack.emulator.deliveries(ORDER)

    record = stack.record(execution)
    assert record["requestId"] == execution["name"]
    assert record["executionArn"] == execution["executionArn"]
    assert _statuses(record) == ["received", "validated", "uploading", "sent"]
    assert (record["status"], record["amazonOrderId"], record["messageType"]) == ("sent", ORDER, "invoice")
    assert record["origin"] == "s3"
    # The object version as the S3 event named it (moto's events carry no versionId; S3's do).
    (start,) = [i.event for i in stack.local.lambdas.invocations if i.function_name.endswith("StartWorkflowFunction")]
    notified_version = start["Records"][0]["s3"]["object"].get("versionId")
    assert notified_version in (None, put["VersionId"])
    assert record["source"] == {"bucket": stack.bucket, "key": key, "versionId": notified_version}
    (attachment,) = record["attachments"]
    assert attachment["fileName"] == "Invoice 2026-001.pdf"
    assert attachment["size"] == len(PDF)
    assert attachment["contentMd5"] == _content_md5(PDF)
    # The destination the buyer's message references is the one recorded.
    assert attachment["uploadDestinationId"] == delivery["attachments"][0]["uploadDestinationId"]
    assert record["amazonRequestId"]
    assert "error" not in record

    assert stack.tags(key, put["VersionId"]) == {
        "buyer-messaging:outcome": "sent",
        "buyer-messaging:request-id": execution["name"],
    }
    (event,) = _events(stack, execution["name"])
    assert (event["source"], event["detail-type"]) == ("buyer-messaging", "MessageSent")
    assert event["resources"] == [execution["executionArn"]]
    assert event["detail"]["status"] == "sent"
    assert event["detail"]["attachments"][0]["contentMd5"] == _content_md5(PDF)
    assert "history" not in event["detail"]


def test_a_failed_request_is_recorded_tagged_kept_and_announced(stack: Stack) -> None:
    key = f"outbox/{MARKETPLACE}/{ONLY_UNEXPECTED_PROBLEM}/invoice/Invoice.pdf"
    put = stack.put(key, PDF)
    (execution,) = stack.finished(1)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "MessageTypeNotAvailable"

    record = stack.record(execution)
    assert _statuses(record) == ["received", "failed"]
    assert (record["status"], record["error"], record["cause"]) == ("failed", execution["error"], execution["cause"])
    assert record["failedAt"] >= record["receivedAt"]
    assert stack.tags(key, put["VersionId"]) == {
        "buyer-messaging:outcome": "failed",
        "buyer-messaging:request-id": execution["name"],
        "buyer-messaging:error": "MessageTypeNotAvailable",
    }
    assert key in stack.staged_keys()
    (event,) = _events(stack, execution["name"])
    assert event["detail-type"] == "MessageFailed"
    assert (event["detail"]["error"], event["detail"]["cause"]) == (execution["error"], execution["cause"])
    assert stack.emulator.deliveries() == []


def test_a_failure_after_the_upload_keeps_what_was_uploaded_in_the_record(stack: Stack) -> None:
    stack.put("attachments/a.pdf", PDF)
    stack.emulator.inject_fault("sendInvoice", status=400, count=10, error_code="InvalidInput")
    execution = stack.start(
        {
            "amazonOrderId": ORDER,
            "marketplaceId": MARKETPLACE,
            "messageType": "invoice",
            "attachments": [{"key": "attachments/a.pdf", "fileName": "A.pdf"}],
        }
    )
    assert (execution["status"], execution["error"]) == ("FAILED", "SpApiInvalidInput")

    record = stack.record(execution)
    assert _statuses(record) == ["received", "validated", "uploading", "failed"]
    (attachment,) = record["attachments"]
    assert attachment["contentMd5"] == _content_md5(PDF)
    assert attachment["uploadDestinationId"]
    assert "origin" not in record  # started from the console, not by an S3 object
    assert stack.tags("attachments/a.pdf")["buyer-messaging:outcome"] == "failed"


def test_input_that_is_not_even_a_request_gets_a_failed_record(stack: Stack) -> None:
    assert stack.local.deployment is not None
    sfn = stack.sfn
    started = sfn.start_execution(
        stateMachineArn=stack.local.deployment.state_machine_arn, name="pasted-a-string", input='"invoice please"'
    )
    execution = stack.local.wait_for(started["executionArn"], timeout_seconds=60)
    assert (execution["status"], execution["error"]) == ("FAILED", "InvalidRequest")

    record = stack.record(execution)
    assert _statuses(record) == ["received", "failed"]
    assert record["error"] == "InvalidRequest"
    assert "amazonOrderId" not in record
    (event,) = _events(stack, "pasted-a-string")
    assert event["detail-type"] == "MessageFailed"


def test_a_request_documents_objects_are_all_tagged(stack: Stack) -> None:
    stack.put("attachments/one.pdf", PDF)
    stack.put("attachments/two.pdf", PDF + b"\n% two\n")
    document = {
        "amazonOrderId": ORDER,
        "marketplaceId": MARKETPLACE,
        "messageType": "invoice",
        "attachments": [{"key": "attachments/one.pdf"}, {"key": "attachments/two.pdf"}],
    }
    put = stack.put_request("two-invoices", document)
    (execution,) = stack.finished(1)
    assert execution["status"] == "SUCCEEDED", execution.get("cause")

    record = stack.record(execution)
    assert [a["fileName"] for a in record["attachments"]] == ["one.pdf", "two.pdf"]
    assert all(a["contentMd5"] and a["uploadDestinationId"] for a in record["attachments"])
    for key, version in (("requests/two-invoices.json", put["VersionId"]), ("attachments/one.pdf", None)):
        assert stack.tags(key, version)["buyer-messaging:outcome"] == "sent", key
    assert stack.tags("attachments/two.pdf")["buyer-messaging:request-id"] == execution["name"]


def test_an_orders_requests_are_listed_newest_first(stack: Stack) -> None:
    first = stack.start({"amazonOrderId": ORDER, "marketplaceId": MARKETPLACE, "messageType": "sendPostcard"})
    second = stack.start(
        {"amazonOrderId": ORDER, "marketplaceId": MARKETPLACE, "messageType": "unexpectedProblem", "text": "Sorry!"}
    )
    assert (first["status"], second["status"]) == ("FAILED", "SUCCEEDED")
    assert stack.local.deployment is not None
    listed = status.for_order(stack.local.deployment.tables["WorkflowTable"], ORDER)
    assert [(item["requestId"], item["status"]) for item in listed] == [
        (second["name"], "sent"),
        (first["name"], "failed"),
    ]
    # The record never holds the message text.
    assert "Sorry!" not in json.dumps(listed)


def test_attachments_marked_uploaded_at_the_same_moment_are_all_recorded(stack: Stack) -> None:
    """The Map uploads up to five attachments at once and each marks the same status record. DynamoDB applies
    every update whole; the local stack must too (moto alone fails some with RuntimeError or loses them)."""
    assert stack.local.deployment is not None
    table = stack.local.deployment.tables["WorkflowTable"]
    attachments = 5
    together = threading.Barrier(attachments)

    def mark(arn: str, index: int) -> bool:
        together.wait()
        return status.attachment_uploaded(table, arn, index, {"uploadDestinationId": f"destination-{index}"})

    every_five_ms = sys.getswitchinterval()
    # Threads switch every microsecond instead of every 5 ms: requests interleave as on a busy machine.
    sys.setswitchinterval(1e-6)
    try:
        for attempt in range(40):
            arn = f"arn:aws:states:us-east-1:123456789012:execution:local:concurrent-{attempt}"
            status.received(table, arn, status.Retention(1))
            status.validated(table, arn, {"messageType": "invoice"}, [{"fileName": f"{n}.pdf"} for n in range(5)])
            status.uploading(table, arn)
            with ThreadPoolExecutor(attachments) as pool:
                marked = list(pool.map(lambda index, arn=arn: mark(arn, index), range(attachments)))
            assert marked == [True] * attachments
            record = status.get(table, f"concurrent-{attempt}")
            assert record is not None
            assert [entry["uploadDestinationId"] for entry in record["attachments"]] == [
                f"destination-{n}" for n in range(attachments)
            ]
    finally:
        sys.setswitchinterval(every_five_ms)


def test_a_send_without_an_answer_is_recorded_as_may_have_reached_the_buyer_and_not_sent_again(
    stack: Stack, monkeypatch: Any
) -> None:
    """Amazon delivers the invoice but its answer comes after the client's read timeout: the record, the tags and
    the event say "unknown" (never a plain failure that invites a second send) and nothing sends it again."""
    from local_stack.stack import reset_function_caches

    monkeypatch.setenv("SPAPI_READ_TIMEOUT", "1")
    reset_function_caches()
    stack.emulator.inject_fault("sendInvoice", delay_seconds=3.0, processed=True)
    key = f"outbox/{MARKETPLACE}/{ORDER}/invoice/Invoice.pdf"
    put = stack.put(key, PDF)

    (execution,) = stack.finished(1)

    assert (execution["status"], execution["error"]) == ("FAILED", "SendOutcomeUnknown")
    assert execution["cause"] == (
        "sendInvoice: the request was sent but no answer came (read timeout), so Amazon may have delivered the"
        " message to the buyer. It was not sent again: the Messaging API takes no idempotency key and a second"
        " send could message the buyer twice. Look at the order's messages in Seller Central before sending it"
        " again."
    )
    record = stack.record(execution)
    assert _statuses(record) == ["received", "validated", "uploading", "unknown"]
    assert (record["status"], record["error"], record["cause"]) == ("unknown", execution["error"], execution["cause"])
    assert stack.tags(key, put["VersionId"]) == {
        "buyer-messaging:outcome": "unknown",
        "buyer-messaging:request-id": execution["name"],
        "buyer-messaging:error": "SendOutcomeUnknown",
    }
    (event,) = _events(stack, execution["name"])
    assert event["detail-type"] == "MessageOutcomeUnknown"
    assert event["detail"]["status"] == "unknown"
    # The buyer has it, once: the late answer is logged when it finally goes out, and no second send followed.
    (delivered,) = stack.emulator.deliveries()
    assert [attachment["fileName"] for attachment in delivered["attachments"]] == ["Invoice.pdf"]
    deadline = time.monotonic() + 10
    while not stack.emulator.calls("sendInvoice") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [call["status"] for call in stack.emulator.calls("sendInvoice")] == [201]


def test_a_send_step_that_timed_out_mid_send_is_recorded_as_may_have_reached_the_buyer(stack: Stack) -> None:
    """Lambda ends the send step at its timeout while Amazon is still processing the send (its answer comes
    later): an end that says nothing of Amazon's answer, after the request left, is "unknown", never "failed"."""
    assert stack.local.deployment is not None
    send_function = stack.local.deployment.functions["SendMessageFunction"]
    real_invoke = stack.local.lambdas.invoke

    def invoke_timed_out_while_amazon_answers(function: Any, event: Any) -> tuple[str, bool, str]:
        if function.name != send_function:
            return real_invoke(function, event)
        # The handler goes on in the background (a thread cannot be killed); Lambda would have stopped it. The
        # step times out once Amazon has the send (its answer held back 3 s), not after a fixed second: on a busy
        # host the handler could still be before its request then, and "failed" would be the right record.
        running = ThreadPoolExecutor(1).submit(real_invoke, function, event)
        deadline = time.monotonic() + 60
        while not stack.emulator.deliveries() and time.monotonic() < deadline and not running.done():
            time.sleep(0.05)
        if running.done():
            return running.result()
        failure = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 1.00 seconds"}
        return json.dumps(failure), True, ""

    stack.local.lambdas.invoke = invoke_timed_out_while_amazon_answers  # type: ignore[method-assign]
    stack.emulator.inject_fault("sendInvoice", delay_seconds=3.0, processed=True)
    key = f"outbox/{MARKETPLACE}/{ORDER}/invoice/Invoice.pdf"
    stack.put(key, PDF)

    (execution,) = stack.finished(1)

    assert (execution["status"], execution["error"]) == ("FAILED", "Sandbox.Timedout")
    record = stack.record(execution)
    assert (record["status"], record["error"]) == ("unknown", "Sandbox.Timedout")
    assert record["sendStartedAt"] <= record["unknownAt"]
    (event,) = _events(stack, execution["name"])
    assert event["detail-type"] == "MessageOutcomeUnknown"
    time.sleep(2.5)  # the send's late answer arrives: the record stays unknown (only a person settles it)
    assert len(stack.emulator.deliveries()) == 1
    assert stack.record(execution)["status"] == "unknown"
