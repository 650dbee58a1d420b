"""Static checks of statemachine/campaign.asl.json and its wiring in template.yaml (issue 16): its states, the
retriers kept in step with the error classes, the Distributed Map as the design has it, the substitutions."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.static.test_template import (
    CATCH_ALL_ERRORS,
    PERMANENT_ERRORS,
    TRANSIENT_RETRIER,
    iter_states,
    plain,
    run_tool,
)
from tests.static.test_timeouts import STATE_MARGIN_SECONDS
from tests.support import ROOT

pytestmark = pytest.mark.static

ASL_PATH = ROOT / "statemachine" / "campaign.asl.json"
STATE_MACHINE_ID = "CampaignStateMachine"
SUBSTITUTIONS = {
    "PrepareCampaignFunctionArn": {"Fn::GetAtt": ["PrepareCampaignFunction", "Arn"]},
    "FinishCampaignFunctionArn": {"Fn::GetAtt": ["FinishCampaignFunction", "Arn"]},
    "SendStateMachineArn": {"Ref": "SendMessageStateMachine"},
    "CampaignConcurrency": {"Ref": "CampaignConcurrency"},
}
# Step Functions' refusals of a StartExecution that waiting cures (AWS names an integration's error
# StepFunctions.<the SDK's exception>): too many executions running, throttled, a service or client fault.
START_RETRIED = [
    "StepFunctions.ExecutionLimitExceededException",
    "StepFunctions.ThrottlingException",
    "StepFunctions.AWSStepFunctionsException",
    "StepFunctions.SdkClientException",
]
# statelint 3.1.0 knows ReaderConfig's MaxItems only; InputType (JSON, JSONL, CSV, ...) is Step Functions' own field.
STATELINT_GAPS = ['Field "InputType" not allowed in State Machine.States.SendRows.ItemReader.ReaderConfig']


@pytest.fixture(scope="module")
def asl() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ASL_PATH.read_text(encoding="utf-8"))
    return loaded


def test_statelint_finds_nothing_but_its_own_gap() -> None:
    result = run_tool("statelint", "--ignore", "URI", str(ASL_PATH.relative_to(ROOT)))
    problems = [line.strip() for line in result.stdout.splitlines() if line.strip() and "error" not in line.lower()]
    assert problems == STATELINT_GAPS, result.stdout + result.stderr


def test_the_states_and_their_order(asl: dict[str, Any]) -> None:
    states = asl["States"]
    assert asl["StartAt"] == "PrepareCampaign"
    assert states["PrepareCampaign"]["Next"] == "AnyRowToSend"
    assert states["AnyRowToSend"]["Choices"] == [
        {"Variable": "$.campaign.toSend", "NumericGreaterThan": 0, "Next": "SendRows"}
    ]
    assert states["AnyRowToSend"]["Default"] == states["SendRows"]["Next"] == "FinishCampaign"
    assert states["FinishCampaign"]["Next"] == "CampaignFinished"
    for name in ("PrepareCampaign", "SendRows", "FinishCampaign"):
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "RecordRunFailure"}
        ], name
    assert states["RecordRunFailure"]["Next"] == "CampaignFailed"
    assert states["CampaignFailed"]["Type"] == "Fail"


def test_the_rows_are_a_distributed_map_that_no_row_fails(asl: dict[str, Any]) -> None:
    send_rows = asl["States"]["SendRows"]
    assert send_rows["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert send_rows["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket.$": "$.campaign.work.bucket", "Key.$": "$.campaign.work.key"},
    }
    assert send_rows["ToleratedFailurePercentage"] == 100
    assert send_rows["MaxConcurrencyPath"] == "$.concurrency"
    assert asl["States"]["PrepareCampaign"]["ResultSelector"]["concurrency.$"] == (
        "States.StringToJson('${CampaignConcurrency}')"
    )
    assert send_rows["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert send_rows["ResultWriter"]["Parameters"]["Bucket"] == "${StagingBucketName}"
    send_row = send_rows["ItemProcessor"]["States"]["SendRow"]
    assert send_row["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert send_row["Parameters"] == {
        "StateMachineArn": "${SendStateMachineArn}",
        "Name.$": "$.name",
        "Input.$": "$.request",
    }
    # Every way a row's item can end is an output: the row's start refused or its execution failed, caught.
    assert [catcher["ErrorEquals"] for catcher in send_row["Catch"]] == [
        ["StepFunctions.ExecutionAlreadyExistsException"],
        ["States.ALL"],
    ]
    for name, state, _ in iter_states(send_rows["ItemProcessor"]["States"]):
        if state["Type"] == "Pass" and state.get("End"):
            assert state["Parameters"]["row.$"] == "$.row", name
            assert state["Parameters"]["status"] in {"started", "failed"}, name


def test_lambda_tasks_retry_the_transient_errors_and_the_start_of_a_row_step_functions_refusals(
    asl: dict[str, Any],
) -> None:
    for name, state, _ in iter_states(asl["States"]):
        if state["Type"] != "Task":
            assert "Retry" not in state, name
            continue
        if state["Resource"] == "arn:aws:states:::lambda:invoke":
            assert state["Retry"] == [TRANSIENT_RETRIER], name
            continue
        (retrier,) = state["Retry"]
        assert retrier["ErrorEquals"] == START_RETRIED, name
        errors = set(retrier["ErrorEquals"])
        assert not errors & (PERMANENT_ERRORS | CATCH_ALL_ERRORS), name
        assert retrier["JitterStrategy"] == "FULL" and retrier["MaxDelaySeconds"] > 0, name


def test_a_lambda_tasks_timeout_is_its_functions_and_the_margin(asl: dict[str, Any], template: dict[str, Any]) -> None:
    """As tests/static/test_timeouts.py holds the send machine's: the state outlasts its function's own timeout."""
    substitutions = plain(template["Resources"][STATE_MACHINE_ID]["Properties"]["DefinitionSubstitutions"])
    for name, state, _ in iter_states(asl["States"]):
        if state.get("Resource") == "arn:aws:states:::lambda:invoke":
            placeholder = state["Parameters"]["FunctionName"].strip("${}")
            function = substitutions[placeholder]["Fn::GetAtt"][0]
            timeout = template["Resources"][function]["Properties"]["Timeout"]
            assert state["TimeoutSeconds"] == timeout + STATE_MARGIN_SECONDS, name


def test_substitutions_are_the_placeholders(template: dict[str, Any]) -> None:
    properties = plain(template["Resources"][STATE_MACHINE_ID]["Properties"])
    assert properties["DefinitionUri"] == "statemachine/campaign.asl.json"
    substitutions = properties["DefinitionSubstitutions"]
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", ASL_PATH.read_text(encoding="utf-8")))
    assert placeholders == set(substitutions)
    assert {key: substitutions[key] for key in SUBSTITUTIONS} == SUBSTITUTIONS
    assert "Fn::Sub" in substitutions["StagingBucketName"]


def test_the_role_invokes_exactly_the_functions_of_the_substitutions(template: dict[str, Any]) -> None:
    role = plain(template["Resources"]["CampaignStateMachineRole"]["Properties"])
    statements = [statement for policy in role["Policies"] for statement in policy["PolicyDocument"]["Statement"]]
    (invoke,) = [statement for statement in statements if statement["Action"] == "lambda:InvokeFunction"]
    assert invoke["Resource"] == [
        {"Fn::GetAtt": ["PrepareCampaignFunction", "Arn"]},
        {"Fn::GetAtt": ["FinishCampaignFunction", "Arn"]},
    ]
