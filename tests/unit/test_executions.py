"""Starting executions under deterministic names against moto's Step Functions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from buyer_messaging import executions
from buyer_messaging.errors import ConfigurationError
from tests import support

PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
ROLE_ARN = "arn:aws:iam::123456789012:role/StatesExecutionRole"
DOCUMENT = support.load_event("statemachine/invoice.json")
NAME = "123-1234567-1234567-invoice-0123456789abcdef0123456789abcdef"


@pytest.fixture
def sfn() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("stepfunctions", region_name="us-east-1")


@pytest.fixture
def state_machine_arn(sfn: Any) -> str:
    created = sfn.create_state_machine(name=support.STATE_MACHINE_NAME, definition=PASS_DEFINITION, roleArn=ROLE_ARN)
    return str(created["stateMachineArn"])


def _executions(sfn: Any, state_machine_arn: str) -> list[dict[str, Any]]:
    return list(sfn.list_executions(stateMachineArn=state_machine_arn)["executions"])


def test_start_execution_returns_the_executions_arn(sfn: Any, state_machine_arn: str) -> None:
    started = executions.start_execution(state_machine_arn, NAME, DOCUMENT)
    assert started == executions.StartedExecution(
        name=NAME,
        execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:{NAME}",
        already_existed=False,
    )
    (listed,) = _executions(sfn, state_machine_arn)
    assert listed["executionArn"] == started.execution_arn
    assert listed["name"] == NAME


def test_the_document_is_the_executions_input(sfn: Any, state_machine_arn: str) -> None:
    document = {**DOCUMENT, "messageType": "unexpectedProblem", "text": "Grüße, 請求書", "attachments": []}
    started = executions.start_execution(state_machine_arn, NAME, document)
    described = sfn.describe_execution(executionArn=started.execution_arn)
    assert json.loads(described["input"]) == document
    assert "Grüße" in described["input"]


def test_same_name_again_while_running_starts_nothing(
    sfn: Any, state_machine_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A re-delivered S3 event comes later than the first delivery; the margin is for clock skew in AWS.
    monkeypatch.setattr(executions, "REPEAT_MARGIN", timedelta(0))
    first = executions.start_execution(state_machine_arn, NAME, DOCUMENT)
    time.sleep(0.01)
    again = executions.start_execution(state_machine_arn, NAME, DOCUMENT)
    assert again.already_existed is True
    assert again.execution_arn == first.execution_arn
    assert len(_executions(sfn, state_machine_arn)) == 1


def test_same_name_again_after_the_execution_ended(sfn: Any, state_machine_arn: str) -> None:
    first = executions.start_execution(state_machine_arn, NAME, DOCUMENT)
    sfn.stop_execution(executionArn=first.execution_arn)
    again = executions.start_execution(state_machine_arn, NAME, DOCUMENT)
    assert again == executions.StartedExecution(name=NAME, execution_arn=first.execution_arn, already_existed=True)
    assert len(_executions(sfn, state_machine_arn)) == 1


def test_same_name_with_another_input_starts_nothing(sfn: Any, state_machine_arn: str) -> None:
    first = executions.start_execution(state_machine_arn, NAME, DOCUMENT)
    again = executions.start_execution(state_machine_arn, NAME, {**DOCUMENT, "messageType": "sendInvoice"})
    assert again.already_existed is True
    assert again.execution_arn == first.execution_arn
    (listed,) = _executions(sfn, state_machine_arn)
    assert json.loads(sfn.describe_execution(executionArn=listed["executionArn"])["input"]) == DOCUMENT


def test_a_start_within_the_clock_skew_margin_counts_as_new(sfn: Any, state_machine_arn: str) -> None:
    first = executions.start_execution(state_machine_arn, NAME, DOCUMENT)
    again = executions.start_execution(state_machine_arn, NAME, DOCUMENT)
    assert not again.already_existed  # only logs read it; a real repeat arrives later than the margin
    assert again.execution_arn == first.execution_arn
    assert len(_executions(sfn, state_machine_arn)) == 1


def test_different_names_start_different_executions(sfn: Any, state_machine_arn: str) -> None:
    one = executions.start_execution(state_machine_arn, NAME, DOCUMENT)
    other = executions.start_execution(state_machine_arn, NAME + "-2", DOCUMENT)
    assert not one.already_existed
    assert not other.already_existed
    assert one.execution_arn != other.execution_arn
    assert len(_executions(sfn, state_machine_arn)) == 2


def test_unknown_state_machine(sfn: Any, state_machine_arn: str) -> None:
    missing = state_machine_arn.replace(support.STATE_MACHINE_NAME, "NoSuchStateMachine")
    with pytest.raises(ConfigurationError) as raised:
        executions.start_execution(missing, NAME, DOCUMENT)
    assert "STATE_MACHINE_ARN" in str(raised.value)
    assert _executions(sfn, state_machine_arn) == []


def test_state_machine_arn_that_is_no_arn(sfn: Any) -> None:
    with pytest.raises(ConfigurationError, match="STATE_MACHINE_ARN"):
        executions.start_execution("arn:aws:states:us-east-1:123456789012:notAStateMachine", NAME, DOCUMENT)
