"""The send step messages the buyer at most once per execution (Powertools Idempotency in the workflow table)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
import responses

from buyer_messaging import idempotency, status
from buyer_messaging.config import get_settings
from buyer_messaging.errors import (
    ConfigurationError,
    InvalidRequest,
    SendInProgress,
    SendOutcomeUnknown,
    SpApiUnavailable,
    WorkflowTableUnavailable,
)
from buyer_messaging.models import SendRequest
from buyer_messaging.workflow.send_message import send_message
from tests import support

EXECUTION = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:"
FIRST = EXECUTION + "123-1234567-1234567-unexpectedProblem-1"
SECOND = EXECUTION + "123-1234567-1234567-unexpectedProblem-2"
SEND_URL = f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}/messages/unexpectedProblem"


class Crash(BaseException):
    """What a Lambda timeout or an out-of-memory kill does: the invocation stops, no handler code runs after."""


def _send(execution_id: str = FIRST, **changes: Any) -> SendRequest:
    event = support.load_event("send_message/unexpectedProblem-text-only.json")
    event["executionId"] = execution_id
    event["request"].update(changes)
    return SendRequest.from_dict(event)


def _register_send(http: responses.RequestsMock, status: int = 201, **kwargs: Any) -> Any:
    return http.post(SEND_URL, status=status, headers={"x-amzn-RequestId": "req-send"}, **({"json": {}} | kwargs))


def _records(aws: dict[str, Any]) -> list[dict[str, Any]]:
    """The idempotency records in the workflow table (not the requests' status records, not the pacer's items)."""
    items: list[dict[str, Any]] = aws["dynamodb"].scan(TableName=support.TABLE, ConsistentRead=True)["Items"]
    return [item for item in items if not item["id"]["S"].startswith((status.KEY_PREFIX, "pace#"))]


# --- once per execution ----------------------------------------------------------------------------------


def test_the_same_execution_sends_once_and_gets_the_first_result_again(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    send = _register_send(http)

    first = send_message(_send(), lambda_context)
    time.sleep(1.1)  # a later "sentAt" would show a second send
    again = send_message(_send(), lambda_context)

    assert send.call_count == 1
    assert again == first
    assert first["status"] == "sent"
    assert json.loads(send.calls[0].request.body) == {"text": _send().request.text}


def test_a_third_attempt_is_answered_from_the_record_too(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    send = _register_send(http)
    results = [send_message(_send(), lambda_context) for _ in range(3)]
    assert send.call_count == 1
    assert results[0] == results[1] == results[2]


def test_two_executions_send_two_messages(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    send = _register_send(http)
    send_message(_send(FIRST), lambda_context)
    send_message(_send(SECOND), lambda_context)
    assert send.call_count == 2
    assert len(_records(aws)) == 2


def test_the_same_execution_with_another_text_is_refused_and_sends_nothing(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    send = _register_send(http)
    first = send_message(_send(), lambda_context)

    with pytest.raises(InvalidRequest) as raised:
        send_message(_send(text="A different message"), lambda_context)

    assert send.call_count == 1
    assert FIRST in str(raised.value)
    assert "Nothing was sent" in str(raised.value)
    assert not raised.value.transient
    # The record of the first send is untouched: the original attempt is still answered from it.
    assert send_message(_send(), lambda_context) == first
    assert send.call_count == 1


def test_the_same_execution_for_another_order_is_refused(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    _register_send(http)
    other = http.post(f"{support.ENDPOINT}/messaging/v1/orders/902-0000000-9999999/messages/unexpectedProblem")
    send_message(_send(), lambda_context)
    with pytest.raises(InvalidRequest):
        send_message(_send(amazonOrderId="902-0000000-9999999"), lambda_context)
    assert other.call_count == 0


# --- the record ------------------------------------------------------------------------------------------


def test_the_record_holds_the_result_and_outlives_every_redrive(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    _register_send(http)
    before = time.time()
    result = send_message(_send(), lambda_context)

    (record,) = _records(aws)
    assert record["status"] == {"S": "COMPLETED"}
    assert json.loads(record["data"]["S"]) == result
    # TTL in epoch seconds: Step Functions redrives an execution up to 14 days after it ended.
    expiration = int(record["expiration"]["N"])
    assert before + idempotency.RECORD_SECONDS - 1 <= expiration <= time.time() + idempotency.RECORD_SECONDS + 1
    assert idempotency.RECORD_SECONDS > 14 * 24 * 3600
    # The key stands for the execution; the message is only in the validation hash and the result.
    assert not record["id"]["S"].startswith("destination#")
    assert record["validation"]["S"]


def test_the_records_are_the_idempotency_family_of_the_table(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    """Every record's id is ``idempotency#`` and the hash of its execution (Powertools' key_prefix): the send
    step's IAM statement is held to that family (template.yaml, IdempotencyRecords' dynamodb:LeadingKeys), so the
    ids must never take another form, neither a completed nor an in-progress record's."""
    _register_send(http)
    http.add_callback("POST", SEND_URL, callback=_crash)  # answers the second send: responses keeps the order
    send_message(_send(FIRST), lambda_context)
    with pytest.raises(Crash):
        send_message(_send(SECOND), lambda_context)

    records = {record["id"]["S"]: record["status"]["S"] for record in _records(aws)}
    assert records == {
        "idempotency#" + hashlib.md5(json.dumps(FIRST).encode()).hexdigest(): "COMPLETED",
        "idempotency#" + hashlib.md5(json.dumps(SECOND).encode()).hexdigest(): "INPROGRESS",
    }
    assert idempotency.KEY_PREFIX == "idempotency#"


@contextmanager
def _before_the_key_prefix() -> Iterator[None]:
    """The send step as deployed before its records had a prefix: Powertools' own ids,
    ``<function name>.buyer_messaging.idempotency._guard.<locals>.send#<hash>`` (an empty key_prefix is none to
    Powertools: ``key_prefix or <its default>``)."""
    saved = idempotency.KEY_PREFIX
    idempotency.KEY_PREFIX = "#"
    idempotency.reset()
    try:
        yield
    finally:
        idempotency.KEY_PREFIX = saved
        idempotency.reset()


def _legacy_ids(aws: dict[str, Any]) -> list[str]:
    ids = [record["id"]["S"] for record in _records(aws)]
    assert all(i.startswith("test-func.buyer_messaging.idempotency._guard.<locals>.send#") for i in ids), ids
    return ids


def test_a_send_in_flight_during_the_deploy_is_not_sent_again_by_the_new_code(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    """The deploy that gave the records their prefix lands while an attempt is sending: its in-progress record
    (the old id) is invisible to the new code, but the send's mark on the status record is not. The retry ends in
    SendOutcomeUnknown at once, as the old code's retry would have after the record's in-progress expiry."""
    _validated_record()
    crash = http.add_callback("POST", SEND_URL, callback=_crash)
    with _before_the_key_prefix(), pytest.raises(Crash):
        send_message(_send(), lambda_context)
    assert len(_legacy_ids(aws)) == 1
    http.remove(crash)
    send = _register_send(http)

    with pytest.raises(SendOutcomeUnknown, match="An earlier attempt sent this message at 20"):
        send_message(_send(), lambda_context)

    assert send.call_count == 0


def test_a_send_completed_before_the_deploy_is_not_sent_again_by_the_new_code(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    """A retry or redrive after the deploy of a send that Amazon took under the old id (a Lambda service error
    after the function returned): no second message. It ends in SendOutcomeUnknown instead of the recorded
    result, which only the old id holds: the status record says sent."""
    _validated_record()
    send = _register_send(http)
    with _before_the_key_prefix():
        first = send_message(_send(), lambda_context)
    assert first["status"] == "sent"
    assert len(_legacy_ids(aws)) == 1

    with pytest.raises(SendOutcomeUnknown):
        send_message(_send(), lambda_context)

    assert send.call_count == 1
    record = status.get(support.TABLE, FIRST.rsplit(":", 1)[-1])
    assert record is not None and record["status"] == "sent"


def test_the_in_progress_record_expires_with_the_invocation(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    """With the Lambda context registered, a crashed attempt blocks retries only until its timeout."""
    http.add_callback("POST", SEND_URL, callback=_crash)
    before_ms = time.time() * 1000
    with pytest.raises(Crash):
        send_message(_send(), lambda_context)
    after_ms = time.time() * 1000

    (record,) = _records(aws)
    assert record["status"] == {"S": "INPROGRESS"}
    remaining = lambda_context.get_remaining_time_in_millis()
    # Bounded by the clock before and after the call, so a slow machine cannot fail it.
    assert before_ms + remaining - 1000 <= int(record["in_progress_expiration"]["N"]) <= after_ms + remaining + 1000


# --- failures do not block the retry ---------------------------------------------------------------------


def test_a_failed_send_leaves_no_record_and_the_retry_sends(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    unavailable = {"errors": [{"code": "InternalFailure", "message": "We encountered an internal error."}]}
    _register_send(http, status=503, json=unavailable)
    _register_send(http)  # responses answers in the order registered: 503 first, then 201

    with pytest.raises(SpApiUnavailable) as raised:
        send_message(_send(), lambda_context)
    assert raised.value.transient
    assert _records(aws) == []

    result = send_message(_send(), lambda_context)

    assert result["status"] == "sent"
    assert [call.response.status_code for call in http.calls if call.request.url.startswith(SEND_URL)] == [503, 201]
    (record,) = _records(aws)
    assert record["status"] == {"S": "COMPLETED"}


def test_a_send_without_an_answer_is_recorded_as_unknown_and_never_sent_again(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    """Amazon may have the message: a retry or a redrive of the execution gets the unknown outcome again."""
    http.post(SEND_URL, body=requests.ReadTimeout("no answer"))
    _register_send(http)  # were it sent again, this 201 would answer

    with pytest.raises(SendOutcomeUnknown) as first:
        send_message(_send(), lambda_context)
    with pytest.raises(SendOutcomeUnknown) as again:
        send_message(_send(), lambda_context)

    assert not first.value.transient
    assert str(again.value) == str(first.value)
    assert str(first.value).startswith(
        "createUnexpectedProblem: the request was sent but no answer came (read timeout), so Amazon may have"
        " delivered the message to the buyer."
    )
    assert len([call for call in http.calls if call.request.url.startswith(SEND_URL)]) == 1
    (record,) = _records(aws)
    assert record["status"] == {"S": "COMPLETED"}
    assert json.loads(record["data"]["S"]) == {"outcomeUnknown": str(first.value)}


def test_a_permanent_failure_leaves_no_record_either(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    _register_send(
        http,
        status=403,
        json={"errors": [{"code": "Unauthorized", "message": "Invalid amazonOrderId and template combination."}]},
    )
    with pytest.raises(Exception) as raised:
        send_message(_send(), lambda_context)
    assert type(raised.value).__name__ == "MessageTypeNotAvailable"
    assert _records(aws) == []


def test_a_crashed_attempt_still_in_time_is_in_progress(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    http.add_callback("POST", SEND_URL, callback=_crash)
    with pytest.raises(Crash):
        send_message(_send(), lambda_context)
    send = _register_send(http)

    with pytest.raises(SendInProgress) as raised:
        send_message(_send(), lambda_context)

    assert raised.value.transient
    assert FIRST in str(raised.value)
    assert send.call_count == 0


def _killed_mid_send_then_expired(aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any) -> Any:
    """An attempt killed while its send was in flight, its in-progress record expired since; the send endpoint
    answering again (the mock that counts the calls)."""
    crash = http.add_callback("POST", SEND_URL, callback=_crash)
    with pytest.raises(Crash):
        send_message(_send(), lambda_context)
    _expire_in_progress(aws)
    http.remove(crash)
    return _register_send(http)


def test_a_crashed_attempt_past_its_timeout_is_sent_by_the_retry(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    send = _killed_mid_send_then_expired(aws, http, lambda_context)

    result = send_message(_send(), lambda_context)

    assert result["status"] == "sent"
    assert send.call_count == 1
    (record,) = _records(aws)
    assert record["status"] == {"S": "COMPLETED"}


def _validated_record(execution_id: str = FIRST) -> None:
    status.received(support.TABLE, execution_id, status.Retention(90))
    status.validated(support.TABLE, execution_id, {}, [])


def test_a_retry_after_an_attempt_killed_mid_send_does_not_send_again(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    """The killed attempt's request may have reached Amazon: once its in-progress record expired, the retry finds
    the send begun without an answer and ends in SendOutcomeUnknown instead of messaging the buyer again."""
    _validated_record()
    send = _killed_mid_send_then_expired(aws, http, lambda_context)

    with pytest.raises(SendOutcomeUnknown, match="An earlier attempt sent this message at 20"):
        send_message(_send(), lambda_context)

    assert send.call_count == 0


def test_a_retry_after_amazon_answered_an_error_sends(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    _validated_record()
    unavailable = {"errors": [{"code": "InternalFailure", "message": "We encountered an internal error."}]}
    _register_send(http, status=503, json=unavailable)
    send = _register_send(http)
    with pytest.raises(SpApiUnavailable):
        send_message(_send(), lambda_context)

    result = send_message(_send(), lambda_context)

    assert result["status"] == "sent"
    assert send.call_count == 1
    record = status.get(support.TABLE, FIRST.rsplit(":", 1)[-1])
    assert record is not None and record["status"] == "sent"


def _crash(request: Any) -> Any:
    raise Crash


def _expire_in_progress(aws: dict[str, Any]) -> None:
    """Move the in-progress expiry of the only record into the past, as the clock would."""
    (record,) = _records(aws)
    aws["dynamodb"].update_item(
        TableName=support.TABLE,
        Key={"id": record["id"]},
        UpdateExpression="SET in_progress_expiration = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time() * 1000) - 1000)}},
    )


# --- configuration and the table -------------------------------------------------------------------------


def test_without_a_workflow_table_nothing_is_sent(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKFLOW_TABLE", "")
    get_settings.cache_clear()
    send = _register_send(http)
    with pytest.raises(ConfigurationError, match="WORKFLOW_TABLE"):
        send_message(_send(), lambda_context)
    assert send.call_count == 0


def test_a_table_that_does_not_exist_sends_nothing(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKFLOW_TABLE", "no-such-table")
    get_settings.cache_clear()
    send = _register_send(http)
    with pytest.raises((WorkflowTableUnavailable, ConfigurationError)):
        send_message(_send(), lambda_context)
    assert send.call_count == 0


def test_a_table_that_does_not_exist_is_a_configuration_error_like_for_destinations(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKFLOW_TABLE", "no-such-table")
    get_settings.cache_clear()
    _register_send(http)
    with pytest.raises(ConfigurationError, match="no-such-table"):
        send_message(_send(), lambda_context)


def test_an_empty_execution_id_is_an_invalid_request(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    send = _register_send(http)
    with pytest.raises(InvalidRequest):
        send_message(_send(""), lambda_context)
    assert send.call_count == 0


def test_an_unreachable_table_is_transient_and_sends_nothing(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import DynamoDBPersistenceLayer

    def unreachable(self: Any, data_record: Any) -> None:
        raise ConnectionError("DynamoDB did not answer")

    monkeypatch.setattr(DynamoDBPersistenceLayer, "_put_record", unreachable)
    send = _register_send(http)
    with pytest.raises(WorkflowTableUnavailable) as raised:
        send_message(_send(), lambda_context)
    assert raised.value.transient
    assert send.call_count == 0


def test_a_record_that_cannot_be_completed_after_the_send_does_not_send_again(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Amazon answered 201, then DynamoDB failed to mark the record COMPLETED: the step must report the
    message as sent, not fail into a retry that would message the buyer a second time."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
    from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import DynamoDBPersistenceLayer

    def fail(*_: Any, **__: Any) -> None:
        raise IdempotencyPersistenceLayerError("Failed to update success record to idempotency store")

    monkeypatch.setattr(DynamoDBPersistenceLayer, "save_success", fail)
    send = _register_send(http)
    output = send_message(_send(), lambda_context)
    assert output["status"] == "sent"
    assert send.call_count == 1
