"""The metrics the alarms and the dashboard read, as the code writes them: Powertools' EMF lines (captured from
stdout), each with its exact name, unit, namespace, dimensions and value."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from buyer_messaging import messaging, pacer, status, turns
from buyer_messaging.config import get_settings
from buyer_messaging.errors import LwaInvalidGrant, SpApiThrottled, SpApiUnauthorized
from buyer_messaging.models import MessageRequest, OutcomeTask, SendRequest, ValidationTask
from buyer_messaging.spapi import default_client
from buyer_messaging.workflow.record_outcome import record_outcome
from buyer_messaging.workflow.send_message import send_message
from buyer_messaging.workflow.validate_request import validate_request
from tests import support

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

EXECUTION_ID = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:metrics-0001"
ACTIONS_URL = f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}"


def emf(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str, dict[str, str], list[float]]]:
    """(name, unit, dimensions, values) of every EMF line printed since the last call."""
    found = []
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        record = json.loads(line)
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "BuyerMessaging"
        (dimension_names,) = directive["Dimensions"]
        for metric in directive["Metrics"]:
            dimensions = {name: record[name] for name in dimension_names}
            found.append((metric["Name"], metric["Unit"], dimensions, record[metric["Name"]]))
    return found


def _named(found: list[tuple[str, str, dict[str, str], list[float]]], name: str) -> list[tuple[Any, ...]]:
    return [(unit, dimensions, values) for metric, unit, dimensions, values in found if metric == name]


def _actions(http: responses.RequestsMock, names: list[str]) -> None:
    http.get(ACTIONS_URL, json=support.actions_body(names), headers={"x-amzn-RateLimit-Limit": "1.0"})


def test_a_sent_message_counts_its_type_and_its_calls(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _actions(http, ["unexpectedProblem"])
    http.post(f"{ACTIONS_URL}/messages/unexpectedProblem", json={}, status=201)
    request = MessageRequest.from_dict(
        support.load_event("statemachine/unexpectedProblem-text-only.json"), default_bucket=support.BUCKET
    )
    status.received(support.TABLE, EXECUTION_ID, status.Retention(90))
    validated = validate_request(ValidationTask(EXECUTION_ID, request))
    send_message(SendRequest.from_dict({"executionId": EXECUTION_ID, "request": validated}), lambda_context)

    found = emf(capsys)
    service = {"service": "buyer-messaging"}
    assert _named(found, "MessagesSent") == [("Count", {**service, "MessageType": "unexpectedProblem"}, [1.0])]
    assert _named(found, "TimeToSent") == []  # the outcome step's, once per request
    assert _named(found, "SpApiCalls") == [
        ("Count", {**service, "Operation": "getMessagingActionsForOrder"}, [1.0]),
        ("Count", {**service, "Operation": "createUnexpectedProblem"}, [1.0]),
    ]
    assert _named(found, "SpApiQuotaExceeded") == []


def test_a_429_is_counted_per_operation(
    aws: dict[str, Any], http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    http.get(
        ACTIONS_URL, status=429, json={"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota"}]}
    )
    with pytest.raises(SpApiThrottled):
        messaging.get_messaging_actions(default_client(), support.ORDER_ID, support.MARKETPLACE_ID)
    found = emf(capsys)
    operation = {"service": "buyer-messaging", "Operation": "getMessagingActionsForOrder"}
    assert _named(found, "SpApiCalls") == [("Count", operation, [1.0])]
    assert _named(found, "SpApiQuotaExceeded") == [("Count", operation, [1.0])]


def test_a_refused_app_is_authorization_lost(
    aws: dict[str, Any], http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    http.get(ACTIONS_URL, status=403, json={"errors": [{"code": "Unauthorized", "message": "Access denied."}]})
    with pytest.raises(SpApiUnauthorized):
        messaging.get_messaging_actions(default_client(), support.ORDER_ID, support.MARKETPLACE_ID)
    assert _named(emf(capsys), "AuthorizationLost") == [
        ("Count", {"service": "buyer-messaging", "Error": "SpApiUnauthorized"}, [1.0])
    ]


def test_a_refused_refresh_token_is_authorization_lost(
    aws: dict[str, Any], http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    http.replace(
        responses.POST,
        support.TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "The request has an invalid grant parameter"},
    )
    with pytest.raises(LwaInvalidGrant):
        messaging.get_messaging_actions(default_client(), support.ORDER_ID, support.MARKETPLACE_ID)
    found = emf(capsys)
    assert _named(found, "AuthorizationLost") == [
        ("Count", {"service": "buyer-messaging", "Error": "LwaInvalidGrant"}, [1.0])
    ]
    assert _named(found, "SpApiCalls") == []  # nothing left for Amazon


@pytest.mark.parametrize(
    ("error", "reason", "by_error"),
    [
        ("InvalidAttachments", "BadInput", "InvalidAttachments"),
        ("SpApiNotFound", "BadInput", "SpApiNotFound"),
        ("LwaInvalidGrant", "Other", "LwaInvalidGrant"),
        ("QuotaWaitExpired", "Other", "QuotaWaitExpired"),
        ("States.Timeout", "Other", "Unlisted"),
    ],
)
def test_a_failed_message_is_counted_by_reason_and_by_error(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str], error: str, reason: str, by_error: str
) -> None:
    status.received(support.TABLE, EXECUTION_ID, status.Retention(90))
    failure = {"error": error, "cause": "Why, for a person."}
    record_outcome(OutcomeTask.from_dict({"executionId": EXECUTION_ID, "outcome": "failed", "failure": failure}))
    found = emf(capsys)
    service = {"service": "buyer-messaging"}
    assert _named(found, "MessagesFailed") == [("Count", {**service, "Reason": reason}, [1.0])]
    assert _named(found, "MessagesFailedByError") == [("Count", {**service, "Error": by_error}, [1.0])]


def test_a_sent_outcome_counts_its_time_from_received_to_sent_and_no_failure(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    clock = iter([1_796_000_000.250, 1_796_000_001.0, 1_796_000_003.125])  # received, validated, sent
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(status.time, "time", lambda: next(clock))
        status.received(support.TABLE, EXECUTION_ID, status.Retention(90))
        status.validated(support.TABLE, EXECUTION_ID, {}, [])
        status.sent(support.TABLE, EXECUTION_ID, {"amazonRequestId": "amzn-1"})
    record_outcome(OutcomeTask.from_dict({"executionId": EXECUTION_ID, "outcome": "sent"}))
    found = emf(capsys)
    assert _named(found, "TimeToSent") == [("Milliseconds", {"service": "buyer-messaging"}, [2875.0])]
    assert _named(found, "MessagesFailed") == _named(found, "MessagesFailedByError") == []


def test_a_step_made_to_wait_counts_the_wait_and_how_late_the_message_will_be(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    status.received(support.TABLE, EXECUTION_ID, status.Retention(90))
    key = pacer.PaceKey(turns.seller_key(get_settings()), "getMessagingActionsForOrder")
    for _ in range(30):  # the next turn is about 27 s away (burst 5, then 1/s)
        pacer.reserve(support.TABLE, key, 1.0, 5, pacer.PacerClock().now)
    with pytest.raises(turns.TurnLater) as later:
        turns.take_turn("getMessagingActionsForOrder", turns.Taker(EXECUTION_ID, lane="campaign"))
    found = emf(capsys)
    operation = {"service": "buyer-messaging", "Operation": "getMessagingActionsForOrder"}
    assert _named(found, "QuotaWaits") == [("Count", operation, [1.0])]
    ((unit, dimensions, (wait,)),) = _named(found, "QuotaWaitSeconds")
    assert (unit, dimensions) == ("Seconds", operation)
    assert later.value.pacing.wait_seconds <= wait < later.value.pacing.wait_seconds + 1
    ((unit, dimensions, (late,)),) = _named(found, "MessageWaitSeconds")
    assert (unit, dimensions) == ("Seconds", {"service": "buyer-messaging", "Lane": "campaign"})
    assert wait <= late < wait + 5  # received a moment ago
