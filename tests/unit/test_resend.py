"""Re-send after an outage (buyer_messaging.resend): the selection read and refused, the plan's decisions, and each
failed request started exactly once, a crash between the start and the mark included (moto)."""

from __future__ import annotations

import copy
import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from buyer_messaging import errors, resend, status
from buyer_messaging.errors import InvalidRequest, ResendLimitExceeded, ResendSelectionInvalid, WorkflowTableUnavailable
from ops import resend as command
from tests import support

PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
RETENTION = status.Retention(days=90)
NOW = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
DOCUMENT = {
    "amazonOrderId": support.ORDER_ID,
    "marketplaceId": support.MARKETPLACE_ID,
    "messageType": "invoice",
    "attachments": [{"key": "attachments/inv-1.pdf", "fileName": "Invoice-1.pdf"}],
}


def _post(body: dict[str, Any]) -> resend.ResendPost:
    return resend.read_post(json.dumps(body), now=NOW)


def test_a_selection_is_read_with_its_defaults() -> None:
    post = _post({"since": "2026-12-06T14:00:00Z", "errors": ["LwaUnavailable"], "dryRun": True})
    assert post == resend.ResendPost(
        resend.Selection(since=NOW - timedelta(hours=2), until=NOW, errors=("LwaUnavailable",), limit=50), True
    )


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (
            {"errors": ["LwaUnavailable"]},
            ResendSelectionInvalid,
            "Say what to re-send: a time range of failure (since, until), an order (amazonOrderId) or request ids "
            "(requests); error names only narrow one of them.",
        ),
        (
            {"since": "2026-11-01T00:00:00Z", "until": "2026-12-06T00:00:00Z"},
            ResendSelectionInvalid,
            "The range spans more than 31 days, the most one re-send reads: split it into ranges of at most 31 days.",
        ),
        (
            {"campaign": "recall-0123456789abcdef0123", "since": "2026-12-06T14:00:00Z", "errors": ["LwaUnavailable"]},
            ResendSelectionInvalid,
            "Name the campaign alone: its next run re-sends every row of it not sent, so since, errors cannot narrow "
            "it.",
        ),
        (
            {"campaign": "recall/2026"},
            ResendSelectionInvalid,
            "campaign is not a campaign id (the campaignId POST /campaigns gave: 1 to 64 of A-Z, a-z, 0-9, '_', '-').",
        ),
        (
            {"since": "2026-12-06T15:00:00Z", "until": "2026-12-06T14:00:00Z"},
            ResendSelectionInvalid,
            "until must be after since.",
        ),
        (
            {"since": "yesterday", "errors": ["LwaUnavailble"], "limit": 500, "dryRun": "yes", "order": "x"},
            InvalidRequest,
            "The re-send is invalid: since must be an ISO 8601 time with its zone (like 2026-12-06T14:00:00Z); "
            "errors[0] is not an error name of the workflow (a typo?); limit must be from 1 to 100; dryRun must be "
            "true or false; order is not a field of a re-send (a typo?).",
        ),
        (
            {"since": "2026-12-06T14:00:00", "requests": ["a/b"], "errors": "LwaUnavailable"},
            InvalidRequest,
            "The re-send is invalid: since must be an ISO 8601 time with its zone (like 2026-12-06T14:00:00Z); "
            "errors must be a list of strings; requests[0] is not a request id (1 to 80 of A-Z, a-z, 0-9, '_' and "
            "'-').",
        ),
        (
            {"since": "2026-12-06T14:00:00Z", "errors": None, "requests": []},
            InvalidRequest,
            "The re-send is invalid: errors must be a list of strings; requests must name at least one (or be left "
            "out).",
        ),
    ],
)
def test_a_bad_selection_is_refused_with_its_reason(body: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as raised:
        _post(body)
    assert str(raised.value) == message


@pytest.fixture
def machine(aws: dict[str, Any]) -> str:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    created = sfn.create_state_machine(
        name=support.STATE_MACHINE_NAME, definition=PASS_DEFINITION, roleArn="arn:aws:iam::123456789012:role/States"
    )
    aws["s3"].put_object(Bucket=support.BUCKET, Key="attachments/inv-1.pdf", Body=b"%PDF-1.4")
    return str(created["stateMachineArn"])


def _request(machine: str, name: str, ending: str, error: str = "LwaUnavailable", **document: Any) -> str:
    """A request started with ``document`` and ended ``ending`` (failed with ``error``, sent, unknown)."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps({**DOCUMENT, **document}))[
        "executionArn"
    ]
    status.received(
        support.TABLE, arn, RETENTION, summary={"amazonOrderId": support.ORDER_ID, "messageType": "invoice"}
    )
    status.validated(support.TABLE, arn, {"messageType": "invoice"}, [])
    if ending == "failed":
        status.failed(support.TABLE, arn, RETENTION, error, "it failed")
    elif ending == "sent":
        status.sent(support.TABLE, arn, {})
    elif ending == "unknown":
        status.outcome_unknown(support.TABLE, arn, "SendOutcomeUnknown", "no answer")
    return name


def _today() -> resend.Selection:
    now = datetime.now(UTC)
    return resend.Selection(since=now - timedelta(hours=1), until=now + timedelta(minutes=1))


def _executions(machine: str) -> list[str]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    return sorted(execution["name"] for execution in sfn.list_executions(stateMachineArn=machine)["executions"])


def test_the_plan_resends_failures_and_skips_what_must_not_be_sent_again(machine: str) -> None:
    _request(machine, "lwa-down", "failed")
    _request(machine, "was-sent", "sent")
    _request(machine, "no-answer", "unknown")
    _request(machine, "too-long", "failed", "InvalidMessageText")
    _request(machine, "file-missing", "failed", "AttachmentNotFound")
    _request(machine, "a-row", "failed", campaign={"id": "recall-1", "row": 3, "run": 1})
    _request(machine, "file-gone", "failed", attachments=[{"key": "attachments/gone.pdf", "fileName": "G.pdf"}])
    named = ["lwa-down", "was-sent", "no-answer", "too-long", "file-missing", "a-row", "file-gone", "never"]
    planned = {entry.request_id: entry for entry in resend.plan(resend.Selection(requests=tuple(named)))}
    assert {name: (entry.decision, entry.reason) for name, entry in planned.items()} == {
        "lwa-down": ("resend", None),
        "was-sent": ("skip", "sent"),
        "no-answer": ("skip", "outcomeUnknown"),
        "too-long": ("skip", "badInput"),
        "file-missing": ("skip", "badInput"),
        "a-row": ("skip", "campaignRow"),
        "file-gone": ("skip", "attachmentGone"),
        "never": ("skip", "notFound"),
    }
    assert planned["lwa-down"].new_request_id == resend.new_request_id(status.get(support.TABLE, "lwa-down") or {})
    assert planned["no-answer"].detail.startswith("The send left without an answer: Amazon may have delivered it.")
    assert (
        planned["too-long"].detail
        == "InvalidMessageText: the same request fails the same way. Fix it and send it anew."
    )
    assert (
        planned["a-row"].detail
        == 'A campaign\'s row: re-send the campaign ({"campaign": "recall-1"}), whose next run sends it.'
    )
    assert planned["file-gone"].detail == (
        "The staged file attachments/gone.pdf is gone (expired or deleted): stage it and send anew."
    )
    # A mendable bad input is re-sent when the operator names it (the file was put back at its key).
    named_error = resend.Selection(
        requests=("file-missing", "too-long"), errors=("AttachmentNotFound", "InvalidMessageText")
    )
    assert [(entry.request_id, entry.decision) for entry in resend.plan(named_error)] == [
        ("file-missing", "resend"),
        ("too-long", "skip"),
    ]


def test_the_range_selects_by_the_failed_index_and_the_errors(machine: str) -> None:
    _request(machine, "lwa-down", "failed")
    _request(machine, "spapi-down", "failed", "SpApiUnavailable")
    _request(machine, "was-sent", "sent")
    everything = resend.plan(_today())
    assert sorted(entry.request_id for entry in everything) == ["lwa-down", "spapi-down"]
    only_lwa = resend.plan(resend.Selection(**{**_fields(_today()), "errors": ("LwaUnavailable",)}))
    assert [entry.request_id for entry in only_lwa] == ["lwa-down"]
    yesterday = resend.Selection(since=NOW - timedelta(days=2), until=NOW - timedelta(days=1))
    assert resend.plan(yesterday) == []


def _fields(selection: resend.Selection) -> dict[str, Any]:
    return {name: getattr(selection, name) for name in resend.Selection.__slots__}


def test_each_failed_request_is_resent_once_with_the_original_input(machine: str) -> None:
    _request(machine, "lwa-down", "failed")
    answer = resend.run(_today(), dry_run=False)
    new = resend.new_request_id(status.get(support.TABLE, "lwa-down") or {})
    assert (answer["started"], answer["failedToStart"]) == (1, 0)
    assert answer["requests"][0]["newRequestId"] == new
    assert answer["requests"][0]["detail"] == f"Re-sent as {new}."
    assert _executions(machine) == sorted(["lwa-down", new])
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    described = sfn.describe_execution(executionArn=machine.replace(":stateMachine:", ":execution:") + ":" + new)
    assert json.loads(described["input"]) == DOCUMENT
    assert (status.get(support.TABLE, "lwa-down") or {})["resentAs"] == new
    new_record = status.get(support.TABLE, new) or {}
    assert (new_record["resendOf"], new_record["origin"], new_record["amazonOrderId"]) == (
        "lwa-down",
        "resend",
        support.ORDER_ID,
    )
    again = resend.run(_today(), dry_run=False)
    assert [(entry["decision"], entry["reason"], entry["detail"]) for entry in again["requests"]] == [
        ("skip", "alreadyResent", f"Already re-sent as {new}.")
    ]
    assert again["started"] == 0
    assert _executions(machine) == sorted(["lwa-down", new])


def test_a_crash_between_the_start_and_the_mark_resends_nothing_twice(
    machine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _request(machine, "lwa-down", "failed")
    new = resend.new_request_id(status.get(support.TABLE, "lwa-down") or {})
    marked = status.mark_resent

    def crash(table: str, request_id: str, new_request_id: str) -> bool:
        raise WorkflowTableUnavailable("DynamoDB failed on the workflow table (InternalServerError).")

    monkeypatch.setattr(status, "mark_resent", crash)
    crashed = resend.run(_today(), dry_run=False)
    assert [(entry["reason"], entry["detail"]) for entry in crashed["requests"]] == [
        ("startFailed", "WorkflowTableUnavailable: DynamoDB failed on the workflow table (InternalServerError).")
    ]
    assert crashed["failedToStart"] == 1
    assert _executions(machine) == sorted(["lwa-down", new])
    monkeypatch.setattr(status, "mark_resent", marked)
    mended = resend.run(_today(), dry_run=False)
    # Started by the crashed run: Step Functions answers the same start with that execution (moto within the second
    # of executions.REPEAT_MARGIN) or ExecutionAlreadyExists (a closed one); either way no second execution.
    assert mended["requests"][0]["detail"].startswith(f"Re-sent as {new}")
    assert _executions(machine) == sorted(["lwa-down", new]), "the second run started nothing new"
    assert (status.get(support.TABLE, "lwa-down") or {})["resentAs"] == new


def test_a_dry_run_starts_nothing_and_the_limit_refuses_a_larger_resend(machine: str) -> None:
    for name in ("one", "two", "three"):
        _request(machine, name, "failed")
    dry = resend.run(resend.Selection(**{**_fields(_today()), "limit": 2}), dry_run=True)
    assert (dry["resend"], dry["started"], [entry["decision"] for entry in dry["requests"]]) == (
        3,
        0,
        ["resend"] * 3,
    )
    with pytest.raises(ResendLimitExceeded) as raised:
        resend.run(resend.Selection(**{**_fields(_today()), "limit": 2}), dry_run=False)
    assert str(raised.value) == (
        "3 requests would be re-sent; one call re-sends at most limit=2 (up to 100). Narrow the range or the errors, "
        "or raise the limit."
    )
    assert _executions(machine) == ["one", "three", "two"]


def _route(body: dict[str, Any], lambda_context: Any) -> tuple[int, dict[str, Any]]:
    """POST /resends through the API function's real handler, as API Gateway hands it over."""
    event: dict[str, Any] = copy.deepcopy(support.load_event("api/post-message.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/resends"
    event["body"], event["isBase64Encoded"] = json.dumps(body), False
    result = support.function_module("api").lambda_handler(event, lambda_context)
    return result["statusCode"], json.loads(result["body"])


@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
def test_the_route_answers_the_plan_for_a_dry_run_and_what_it_started_otherwise(
    machine: str, lambda_context: Any
) -> None:
    _request(machine, "lwa-down", "failed")
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    code, plan = _route({"since": since, "errors": ["LwaUnavailable"], "dryRun": True}, lambda_context)
    new = resend.new_request_id(status.get(support.TABLE, "lwa-down") or {})
    assert (code, plan["started"], plan["requests"][0]["decision"], plan["requests"][0]["newRequestId"]) == (
        200,
        0,
        "resend",
        new,
    )
    assert _executions(machine) == ["lwa-down"]
    code, started = _route({"since": since, "errors": ["LwaUnavailable"]}, lambda_context)
    assert (code, started["started"], started["requests"][0]["detail"]) == (202, 1, f"Re-sent as {new}.")
    code, refused = _route({"errors": ["LwaUnavailable"]}, lambda_context)
    assert (code, refused["error"], refused["errors"]) == (
        400,
        "ResendSelectionInvalid",
        [{"field": "since", "message": "or amazonOrderId or requests is required"}],
    )


def test_the_command_signs_a_deployed_stacks_request_with_sigv4_for_execute_api() -> None:
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/resends"
    headers = command.signed_headers(url, b'{"dryRun": true}', {"Content-Type": "application/json"}, "eu-west-1")
    authorization = headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization
    assert headers["X-Amz-Security-Token"] == "testing"
    assert command.body_of(command.parse(["--since", "2026-12-06T14:00:00Z", "--error", "LwaUnavailable"])) == {
        "since": "2026-12-06T14:00:00Z",
        "errors": ["LwaUnavailable"],
        "dryRun": False,
    }


@pytest.mark.parametrize(
    ("since", "until"),
    [("0001-01-01T00:00:00+01:00", "2026-12-06T00:00:00Z"), ("2026-12-06t14:00:00z", "9999-12-31T23:59:59-01:00")],
)
def test_times_at_the_ends_of_the_calendar_are_refused_by_the_range_limit(since: str, until: str) -> None:
    with pytest.raises(ResendSelectionInvalid) as raised:
        _post({"since": since, "until": until})
    assert str(raised.value).startswith("The range spans more than 31 days")


def test_bad_input_is_the_requests_own_errors_and_a_resend_may_mend_only_what_it_points_to() -> None:
    bad = {name for name in resend.KNOWN_ERRORS if getattr(errors, name).bad_input}
    assert bad == {
        "InvalidRequest",
        "UnknownMessageType",
        "MessageTypeNotAvailable",
        "InvalidMessageText",
        "InvalidAttachments",
        "AttachmentNotFound",
        "AttachmentChanged",
        "UnsupportedS3Key",
        "StagingAccessDenied",
        "SpApiInvalidInput",
        "SpApiNotFound",
        # Which seller the request is for (buyer_messaging.sellers).
        "SellerRequired",
        "UnknownSeller",
        "SellerMismatch",
        "AttachmentOfAnotherSeller",
        # The API's and the manifests' own refusals: never the error of a failed request, bad input all the same.
        "IdempotencyKeyReused",
        "UnsupportedContentType",
        "DuplicateRow",
        "ManifestInvalid",
        "ManifestTooLarge",
        # Onboarding's: never the error of a failed request.
        "AuthorizationStateInvalid",
        "InvitationInvalid",
    }
    assert bad > resend.FIXABLE_BAD_INPUT
    assert not any(getattr(errors, name).transient for name in bad)


def test_the_command_says_which_api_did_not_answer() -> None:
    # A port nothing listens on (bound, never accepting): the operator learns where it tried and what to do.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(SystemExit) as refused:
            command.main(["--api", url, "--since", "2026-12-06T14:00:00Z", "--dry-run"])

    assert str(refused.value) == (
        f"No API answered at {url} ([Errno 111] Connection refused): is `make serve` running? Or name a deployed "
        "stack with --stack NAME."
    )
