"""Static checks of template.yaml and statemachine/send_message.asl.json (no AWS account needed).

They pin the contracts of docs/architecture.md: function and state names, the data between the states,
which errors are retried and which end in the failure path, and the security settings of the stack.
"""

from __future__ import annotations

import graphlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from buyer_messaging import errors, urls

pytestmark = pytest.mark.static

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ASL_PATH = ROOT / "statemachine" / "send_message.asl.json"
STATE_MACHINE_ID = "SendMessageStateMachine"

# logical id -> folder under functions/ (docs/architecture.md, "Functions")
FUNCTION_FOLDERS = {
    "StartWorkflowFunction": "start_workflow",
    "ListActionsFunction": "list_actions",
    "HashAttachmentFunction": "hash_attachment",
    "CreateDestinationFunction": "create_destination",
    "UploadAttachmentFunction": "upload_attachment",
    "SendMessageFunction": "send_message",
    "RecordOutcomeFunction": "record_outcome",
    "ApiFunction": "api",
    "RotateClientSecretFunction": "rotate_client_secret",
    "ClientSecretNotificationsFunction": "client_secret_notifications",
    "PrepareCampaignFunction": "prepare_campaign",
    "FinishCampaignFunction": "finish_campaign",
    "OnboardSellerFunction": "onboard_seller",
}

# DefinitionSubstitutions key -> the function whose ARN it carries
SUBSTITUTIONS = {
    "ListActionsFunctionArn": "ListActionsFunction",
    "HashAttachmentFunctionArn": "HashAttachmentFunction",
    "CreateDestinationFunctionArn": "CreateDestinationFunction",
    "UploadAttachmentFunctionArn": "UploadAttachmentFunction",
    "SendMessageFunctionArn": "SendMessageFunction",
    "RecordOutcomeFunctionArn": "RecordOutcomeFunction",
}

ENVIRONMENT_VARIABLES = {
    "SPAPI_REGION",
    "SPAPI_ENDPOINT",
    "LWA_TOKEN_URL",
    "SPAPI_CREDENTIALS_SECRET",
    "UPLOAD_URL_ALLOWED_HOSTS",
    "WORKFLOW_TABLE",
    "STAGING_BUCKET",
    "STATUS_RETENTION_DAYS",
    "QUOTA_WAIT_DEADLINE_HOURS",
    "AUTHORIZATION_HOLD_HOURS",
    "SELLING_PARTNER_ID",
    "SELLER_SECRET_PREFIX",
    "SELLER_SECRET_KMS_KEY",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}

# The error classes are the one source of truth: transient ones are retried, every other one is not.
_ERROR_CLASSES = [
    value
    for value in vars(errors).values()
    if isinstance(value, type)
    and issubclass(value, errors.BuyerMessagingError)
    and value not in (errors.BuyerMessagingError, errors.TransientError, errors.SpApiError)
]
# ExecutionStartFailed is raised only by the S3 trigger (retried by Lambda's async retries), never in a state.
TRANSIENT_ERRORS = {cls.__name__ for cls in _ERROR_CLASSES if cls.transient} - {"ExecutionStartFailed"}
PERMANENT_ERRORS = {cls.__name__ for cls in _ERROR_CLASSES if not cls.transient}
LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
THROTTLING_RETRIER = {
    "ErrorEquals": ["SpApiThrottled"],
    "IntervalSeconds": 2,
    "BackoffRate": 2,
    "MaxAttempts": 6,
    "MaxDelaySeconds": 60,
    "JitterStrategy": "FULL",
}
TRANSIENT_RETRIER = {
    "ErrorEquals": [
        *sorted(TRANSIENT_ERRORS - {"SpApiThrottled"}),
        *LAMBDA_SERVICE_ERRORS,
    ],
    "IntervalSeconds": 2,
    "BackoffRate": 2,
    "MaxAttempts": 4,
    "MaxDelaySeconds": 30,
    "JitterStrategy": "FULL",
}
# Catch-alls would retry permanent errors too.
CATCH_ALL_ERRORS = {"States.ALL", "States.TaskFailed"}

TOP_LEVEL_STATES = {
    "ValidateRequest",
    "ValidatedOrTurnLater",
    "WaitForActionsTurn",
    "WaitForSellerAuthorization",
    "HasAttachments",
    "UploadAttachments",
    "SendMessage",
    "SentOrTurnLater",
    "WaitForSendTurn",
    "WaitForSellerAuthorizationToSend",
    "RecordSent",
    "MessageSent",
    "KeepOnlyTheError",
    "DescribeFailure",
    "ReadFailureCause",
    "DescribeFunctionFailure",
    "DescribeWorkflowError",
    "NameWorkflowError",
    "KeepTheCause",
    "GiveACause",
    "RecordFailure",
    "MessageFailed",
}
# Pass states of the failure path: each turns one kind of caught error into {error, cause}.
DESCRIBING_STATES = (
    "DescribeFunctionFailure",
    "DescribeWorkflowError",
    "NameWorkflowError",
    "KeepTheCause",
    "GiveACause",
)
UPLOAD_STATES = {
    "HashAttachment",
    "CreateUploadDestination",
    "DestinationOrTurnLater",
    "WaitForUploadTurn",
    "WaitForSellerAuthorizationToUpload",
    "UploadAttachment",
}
# Task state -> the function it invokes
TASK_FUNCTIONS = {
    "ValidateRequest": "ListActionsFunction",
    "HashAttachment": "HashAttachmentFunction",
    "CreateUploadDestination": "CreateDestinationFunction",
    "UploadAttachment": "UploadAttachmentFunction",
    "SendMessage": "SendMessageFunction",
    "RecordSent": "RecordOutcomeFunction",
    "RecordFailure": "RecordOutcomeFunction",
}
# Every step that knows the request says which one it is: the execution id names its status record.
EXECUTION_ID = {"executionId.$": "$$.Execution.Id"}
TASK_PAYLOADS = {
    # The request is the execution's input; the state is the request, or {pacing} back from a wait for its turn.
    "ValidateRequest": {
        **EXECUTION_ID,
        "request.$": "$$.Execution.Input",
        "state.$": "$",
        "retryCount.$": "$$.State.RetryCount",
    },
    "HashAttachment": {"Payload.$": "$"},
    "CreateUploadDestination": {"Payload.$": "$"},
    "UploadAttachment": {"Payload.$": "$"},
    "SendMessage": {**EXECUTION_ID, "request.$": "$", "retryCount.$": "$$.State.RetryCount"},
    # The input names the campaign row a request is (its outcome is counted on the campaign).
    "RecordSent": {**EXECUTION_ID, "outcome": "sent", "input.$": "$$.Execution.Input"},
    "RecordFailure": {**EXECUTION_ID, "outcome": "failed", "failure.$": "$", "input.$": "$$.Execution.Input"},
}

# Actions allowed with Resource "*" because the service offers no resource-level permissions for them:
# - X-Ray trace upload (Tracing: Active / Enabled);
# - the CloudWatch Logs "vended log" delivery APIs that Step Functions uses to set up execution logging
#   (docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
WILDCARD_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


# ------------------------------------------------------------------ helpers and fixtures
def run_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    tool = BIN / name
    assert tool.exists(), f"{tool} is missing: run `make venv`"
    return subprocess.run([str(tool), *args], cwd=ROOT, capture_output=True, text=True, check=False)


def plain(node: Any) -> Any:
    """cfn-lint's decoder returns dict/str subclasses that carry line marks: make plain JSON values."""
    return json.loads(json.dumps(node))


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]
    return found


@pytest.fixture(scope="module")
def asl_text() -> str:
    return ASL_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def asl(asl_text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(asl_text)
    return loaded


def iter_states(states: dict[str, Any], nested: bool = False) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """Every state as (name, definition, is inside a Map/Parallel)."""
    for name, state in states.items():
        yield name, state, nested
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from iter_states(processor["States"], nested=True)
        for branch in state.get("Branches", []):
            yield from iter_states(branch["States"], nested=True)


def functions(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def function_setting(template: dict[str, Any], logical_id: str, key: str) -> Any:
    properties = template["Resources"][logical_id]["Properties"]
    return properties.get(key, template["Globals"]["Function"].get(key))


def iter_statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every IAM/resource policy statement anywhere in a (transformed or not) template."""
    if isinstance(node, dict):
        statements = node.get("Statement")
        if isinstance(statements, list):
            yield from (s for s in statements if isinstance(s, dict))
        elif isinstance(statements, dict):
            yield statements
        for value in node.values():
            yield from iter_statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from iter_statements(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def key_policy_statements(node: Any) -> set[int]:
    """The statements of KMS key policies (by id): their Resource "*" is the key itself, the only form a key policy
    takes."""
    found: set[int] = set()
    if isinstance(node, dict):
        if isinstance(node.get("KeyPolicy"), dict):
            found |= {id(statement) for statement in iter_statements(node["KeyPolicy"])}
        for value in node.values():
            found |= key_policy_statements(value)
    elif isinstance(node, list):
        for value in node:
            found |= key_policy_statements(value)
    return found


def assert_least_privilege(node: Any) -> int:
    checked = 0
    of_keys = key_policy_statements(node)
    for statement in iter_statements(node):
        if statement.get("Effect") != "Allow":
            continue  # Deny statements may (and should) be broad
        actions = [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]
        for action in actions:
            assert action != "*", statement
            assert not action.endswith(":*"), f"service-wide action {action}: {statement}"
        assert "NotAction" not in statement, statement
        if "*" in as_list(statement.get("Resource")) and id(statement) not in of_keys:
            broad = set(actions) - WILDCARD_RESOURCE_ACTIONS
            assert not broad, f"Resource '*' for {sorted(broad)}: {statement}"
        checked += 1
    return checked


def references(node: Any) -> set[str]:
    """Logical ids a template fragment refers to (Ref, Fn::GetAtt, ${Name} in Fn::Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                found |= references(value)
            else:
                found |= references(value)
    elif isinstance(node, list):
        for value in node:
            found |= references(value)
    return found


# ------------------------------------------------------------------ linters
def test_cfn_lint_passes() -> None:
    result = run_tool("cfn-lint", "template.yaml")
    assert result.returncode == 0, f"cfn-lint failed:\n{result.stdout}\n{result.stderr}"


def test_statelint_passes() -> None:
    result = run_tool("statelint", "--ignore", "URI", str(ASL_PATH.relative_to(ROOT)))
    assert result.returncode == 0, f"statelint failed:\n{result.stdout}\n{result.stderr}"
    assert "error" not in result.stdout.lower(), result.stdout


def test_ruff_check_passes() -> None:
    result = run_tool("ruff", "check", ".")
    assert result.returncode == 0, f"ruff check failed:\n{result.stdout}\n{result.stderr}"


def test_ruff_format_check_passes() -> None:
    result = run_tool("ruff", "format", "--check", ".")
    assert result.returncode == 0, f"ruff format --check failed:\n{result.stdout}\n{result.stderr}"


# ------------------------------------------------------------------ state machine wiring
def test_definition_substitutions_match_placeholders(resources: dict[str, Any], asl_text: str) -> None:
    properties = resources[STATE_MACHINE_ID]["Properties"]
    assert properties["DefinitionUri"] == "statemachine/send_message.asl.json"
    substitutions = properties["DefinitionSubstitutions"]
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", asl_text))
    assert placeholders == set(substitutions), (
        f"only in the ASL: {placeholders - set(substitutions)}; "
        f"only in DefinitionSubstitutions: {set(substitutions) - placeholders}"
    )
    assert set(substitutions) == set(SUBSTITUTIONS)
    for key, function in SUBSTITUTIONS.items():
        assert substitutions[key] == {"Fn::GetAtt": [function, "Arn"]}, key


def test_state_machine_may_invoke_exactly_its_functions(resources: dict[str, Any]) -> None:
    """Exact ARNs, not SAM's LambdaInvokePolicy (function:<name>*, which matches other functions too);
    tests/static/test_grants.py checks the same on the translated template."""
    assert resources[STATE_MACHINE_ID]["Properties"]["Role"] == {"Fn::GetAtt": [f"{STATE_MACHINE_ID}Role", "Arn"]}
    assert "Policies" not in resources[STATE_MACHINE_ID]["Properties"]
    invoking = [
        statement
        for statement in iter_statements(resources[f"{STATE_MACHINE_ID}Role"])
        if "lambda:InvokeFunction" in as_list(statement["Action"])
    ]
    assert [statement["Resource"] for statement in invoking] == [
        [{"Fn::GetAtt": [function, "Arn"]} for function in SUBSTITUTIONS.values()]
    ]


def test_states_are_those_of_the_architecture(asl: dict[str, Any]) -> None:
    assert asl["StartAt"] == "ValidateRequest"
    assert set(asl["States"]) == TOP_LEVEL_STATES
    processor = asl["States"]["UploadAttachments"]["ItemProcessor"]
    assert processor["ProcessorConfig"]["Mode"] == "INLINE"
    assert processor["StartAt"] == "HashAttachment"
    assert set(processor["States"]) == UPLOAD_STATES


def test_data_flow_between_states(asl: dict[str, Any]) -> None:
    states = asl["States"]
    assert states["ValidateRequest"]["OutputPath"] == "$.Payload"
    assert states["ValidateRequest"]["Next"] == "ValidatedOrTurnLater"
    # A step whose turn in Amazon's quota is later answers {pacing}, one whose seller needs authorization {held}:
    # the machine waits, then runs it again.
    for choice, waits, task, default in (
        (
            "ValidatedOrTurnLater",
            (("$.pacing", "WaitForActionsTurn"), ("$.held", "WaitForSellerAuthorization")),
            "ValidateRequest",
            "HasAttachments",
        ),
        (
            "SentOrTurnLater",
            (("$.pacing", "WaitForSendTurn"), ("$.held", "WaitForSellerAuthorizationToSend")),
            "SendMessage",
            "RecordSent",
        ),
    ):
        assert states[choice]["Choices"] == [
            {"Variable": path, "IsPresent": True, "Next": wait} for path, wait in waits
        ]
        assert states[choice]["Default"] == default
        for path, wait in waits:
            assert states[wait]["Type"] == "Wait"
            assert (states[wait]["SecondsPath"], states[wait]["Next"]) == (path + ".waitSeconds", task)
    assert states["HasAttachments"]["Choices"] == [
        {"Variable": "$.attachments[0]", "IsPresent": True, "Next": "UploadAttachments"}
    ]
    assert states["HasAttachments"]["Default"] == "SendMessage"

    upload = states["UploadAttachments"]
    assert upload["ItemsPath"] == "$.attachments"
    assert upload["MaxConcurrency"] == 5
    assert upload["ResultPath"] == "$.uploaded"
    assert upload["ItemSelector"] == {
        **EXECUTION_ID,
        "index.$": "$$.Map.Item.Index",
        "amazonOrderId.$": "$.amazonOrderId",
        "marketplaceId.$": "$.marketplaceId",
        "messageType.$": "$.messageType",
        "attachment.$": "$$.Map.Item.Value",
        # The pacer's lane of the message (ValidatedRequest.lane): a campaign row's uploads wait behind people's.
        "lane.$": "$.lane",
        "sellingPartnerId.$": "$.sellingPartnerId",
    }
    assert upload["Next"] == "SendMessage"
    inner = upload["ItemProcessor"]["States"]
    assert inner["HashAttachment"]["ResultSelector"] == {"contentMd5.$": "$.Payload.contentMd5"}
    assert inner["HashAttachment"]["ResultPath"] == "$.hash"
    assert inner["HashAttachment"]["Next"] == "CreateUploadDestination"
    # Only the id: the presigned URL is a credential and stays out of the state and the history.
    assert inner["CreateUploadDestination"]["ResultSelector"] == {
        "uploadDestinationId.$": "$.Payload.uploadDestinationId",
        "pacing.$": "$.Payload.pacing",
        "held.$": "$.Payload.held",
    }
    assert inner["CreateUploadDestination"]["ResultPath"] == "$.destination"
    assert inner["CreateUploadDestination"]["Next"] == "DestinationOrTurnLater"
    assert inner["DestinationOrTurnLater"]["Choices"] == [
        {"Variable": "$.destination.pacing", "IsNull": False, "Next": "WaitForUploadTurn"},
        {"Variable": "$.destination.held", "IsNull": False, "Next": "WaitForSellerAuthorizationToUpload"},
    ]
    assert inner["WaitForSellerAuthorizationToUpload"]["SecondsPath"] == "$.destination.held.waitSeconds"
    assert inner["WaitForSellerAuthorizationToUpload"]["Next"] == "CreateUploadDestination"
    assert inner["DestinationOrTurnLater"]["Default"] == "UploadAttachment"
    assert inner["WaitForUploadTurn"]["SecondsPath"] == "$.destination.pacing.waitSeconds"
    assert inner["WaitForUploadTurn"]["Next"] == "CreateUploadDestination"
    assert inner["UploadAttachment"]["OutputPath"] == "$.Payload"
    assert inner["UploadAttachment"]["End"] is True

    assert states["SendMessage"]["OutputPath"] == "$.Payload"
    assert states["SendMessage"]["Next"] == "SentOrTurnLater"
    # The output stays what SendMessage returned; a failure to record the outcome cannot unsend it.
    assert states["RecordSent"]["ResultPath"] is None
    assert states["RecordSent"]["Next"] == "MessageSent"
    assert states["RecordSent"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.outcomeNotRecorded", "Next": "MessageSent"}
    ]
    assert states["MessageSent"]["Type"] == "Succeed"


def test_tasks_invoke_their_function_with_the_whole_state(asl: dict[str, Any], template: dict[str, Any]) -> None:
    tasks = {name: state for name, state, _ in iter_states(asl["States"]) if state["Type"] == "Task"}
    assert set(tasks) == set(TASK_FUNCTIONS)
    for name, state in tasks.items():
        function = TASK_FUNCTIONS[name]
        assert state["Resource"] == "arn:aws:states:::lambda:invoke", name
        payload = TASK_PAYLOADS[name]
        expected = payload if "Payload.$" in payload else {"Payload": payload}
        assert state["Parameters"] == {"FunctionName": f"${{{function}Arn}}", **expected}, name
        # The task must outlive the function's own timeout, or the state gives up while Lambda still runs.
        timeout = function_setting(template, function, "Timeout")
        assert state["TimeoutSeconds"] > timeout, f"{name}: TimeoutSeconds must exceed {function} Timeout"


def test_every_task_and_the_map_catch_into_the_failure_path(asl: dict[str, Any]) -> None:
    expected = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "DescribeFailure"}]
    checked = 0
    for name, state, nested in iter_states(asl["States"]):
        if state["Type"] not in {"Task", "Map"}:
            continue
        if nested:
            # A Catch cannot leave the Map's item processor: an iteration's error must fail the
            # iteration so that the Map's own Catch sends it to the failure path.
            assert "Catch" not in state, f"{name} would swallow errors inside the Map"
        elif name in {"RecordSent", "RecordFailure"}:
            continue  # the end of their paths: see test_data_flow_between_states and test_failure_path
        elif name == "ValidateRequest":
            # The first state's input may not be an object: the error replaces it, then joins the path.
            assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$", "Next": "KeepOnlyTheError"}]
            assert asl["States"]["KeepOnlyTheError"]["Parameters"] == {"error.$": "$"}
            assert asl["States"]["KeepOnlyTheError"]["Next"] == "DescribeFailure"
            checked += 1
        else:
            assert state["Catch"] == expected, name
            checked += 1
    assert checked == 3  # ValidateRequest, UploadAttachments, SendMessage


def test_retries_are_for_transient_errors_only(asl: dict[str, Any]) -> None:
    checked = 0
    for name, state, _ in iter_states(asl["States"]):
        if state["Type"] != "Task":
            # The Map has no Retry either: its tasks retry themselves, and a Map retry would
            # re-run every attachment after the inner retries were already spent.
            assert "Retry" not in state, name
            continue
        retriers = state["Retry"]
        assert retriers == [THROTTLING_RETRIER, TRANSIENT_RETRIER], name
        for retrier in retriers:
            errors = set(retrier["ErrorEquals"])
            assert not errors & PERMANENT_ERRORS, f"{name} retries permanent {errors & PERMANENT_ERRORS}"
            assert not errors & CATCH_ALL_ERRORS, f"{name} retries everything: {errors & CATCH_ALL_ERRORS}"
            assert retrier["JitterStrategy"] == "FULL", name
            assert retrier["MaxDelaySeconds"] > 0, name
        checked += 1
    assert checked == len(TASK_FUNCTIONS)


def test_failure_path(asl: dict[str, Any]) -> None:
    states = asl["States"]
    describe = states["DescribeFailure"]
    assert describe["Type"] == "Choice"
    assert [choice["Next"] for choice in describe["Choices"]] == [
        "ReadFailureCause",
        "DescribeWorkflowError",
        "NameWorkflowError",
        "KeepTheCause",
    ]
    assert describe["Default"] == "GiveACause"
    # A function's error: its JSON cause is read so the execution ends with the function's own message.
    read = states["ReadFailureCause"]
    assert read["Parameters"] == {"error.$": "$.error.Error", "parsed.$": "States.StringToJson($.error.Cause)"}
    assert read["Next"] == "DescribeFunctionFailure"
    assert states["DescribeFunctionFailure"]["Parameters"] == {"error.$": "$.error", "cause.$": "$.parsed.errorMessage"}
    # Every kind of error becomes {error, cause}, is recorded, and ends in the one Fail state.
    for name in DESCRIBING_STATES:
        assert states[name]["Type"] == "Pass", name
        assert set(states[name]["Parameters"]) in ({"error", "cause.$"}, {"error.$", "cause.$"}, {"error.$", "cause"})
        assert states[name]["Next"] == "RecordFailure", name
    # Step Functions' own errors (States.*) are reserved names a Fail state cannot raise: WorkflowError.
    for name in ("DescribeWorkflowError", "NameWorkflowError"):
        assert states[name]["Parameters"]["error"] == "WorkflowError"
    record = states["RecordFailure"]
    assert record["ResultPath"] is None
    assert record["Next"] == "MessageFailed"
    # Even when recording fails, the execution fails with the original error and cause.
    assert record["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.outcomeNotRecorded", "Next": "MessageFailed"}
    ]
    assert (states["MessageFailed"]["ErrorPath"], states["MessageFailed"]["CausePath"]) == ("$.error", "$.cause")
    # ErrorPath is only used where the name cannot be a States.* name.
    for choice in describe["Choices"][1:3]:
        conditions = choice.get("And", [choice])
        assert {"Variable": "$.error.Error", "StringMatches": "States.*"} in [
            {key: value for key, value in condition.items() if key != "Next"} for condition in conditions
        ]
    assert [name for name, state in states.items() if state["Type"] == "Fail"] == ["MessageFailed"]


def test_jsonpath_only_and_moto_compatible(asl: dict[str, Any], asl_text: str) -> None:
    # moto (the local stack) has no JSONata and cannot read Assign variables;
    # $$.Execution.StartTime breaks its describe_execution.
    assert asl.get("QueryLanguage", "JSONPath") == "JSONPath"
    assert "$$.Execution.StartTime" not in asl_text
    for name, state, _ in iter_states(asl["States"]):
        assert state.get("QueryLanguage", "JSONPath") == "JSONPath", name
        for jsonata_field in ("Assign", "Arguments", "Output", "Condition", "Items"):
            assert jsonata_field not in state, f"{name} uses {jsonata_field}"


def test_machine_and_every_state_say_why_they_exist(asl: dict[str, Any]) -> None:
    assert asl.get("Comment", "").strip()
    for name, state, _ in iter_states(asl["States"]):
        assert state.get("Comment", "").strip(), f"{name} has no Comment"


# ------------------------------------------------------------------ functions
def test_functions_are_those_of_the_architecture(resources: dict[str, Any]) -> None:
    assert {logical_id: resource["Properties"]["CodeUri"] for logical_id, resource in functions(resources).items()} == {
        logical_id: f"functions/{folder}/" for logical_id, folder in FUNCTION_FOLDERS.items()
    }


@pytest.mark.parametrize("logical_id", sorted(FUNCTION_FOLDERS))
def test_function_code_folder_has_a_handler(resources: dict[str, Any], logical_id: str) -> None:
    code_uri = resources[logical_id]["Properties"]["CodeUri"]
    assert (ROOT / code_uri / "app.py").is_file(), f"{code_uri}app.py is missing"


def test_function_globals_and_environment(template: dict[str, Any]) -> None:
    globals_ = template["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["Handler"] == "app.lambda_handler"
    assert globals_["Tracing"] == "Active"
    assert globals_["Layers"] == [{"Ref": "SharedLayer"}]
    variables = globals_["Environment"]["Variables"]
    assert set(variables) == ENVIRONMENT_VARIABLES
    assert variables["POWERTOOLS_SERVICE_NAME"] == "buyer-messaging"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "BuyerMessaging"
    assert variables["SPAPI_CREDENTIALS_SECRET"] == {"Ref": "CredentialsSecret"}
    assert variables["SELLER_SECRET_PREFIX"] == {"Fn::Sub": "${AWS::StackName}/sellers/"}
    assert variables["SELLER_SECRET_KMS_KEY"] == {"Ref": "SellerSecretsKey"}
    for logical_id, resource in functions(template["Resources"]).items():
        own = resource["Properties"].get("Environment", {}).get("Variables", {})
        expected = {
            "StartWorkflowFunction": {"STATE_MACHINE_ARN", "CAMPAIGN_STATE_MACHINE_ARN"},
            "RecordOutcomeFunction": {"EVENT_BUS_NAME"},
            # SellerAuthorizationLost from whichever SP-API caller sees a seller's token refused first.
            "ListActionsFunction": {"EVENT_BUS_NAME"},
            "CreateDestinationFunction": {"EVENT_BUS_NAME"},
            "UploadAttachmentFunction": {"EVENT_BUS_NAME"},
            "SendMessageFunction": {"EVENT_BUS_NAME"},
            "PrepareCampaignFunction": {"CAMPAIGN_MAX_ROWS"},
            "FinishCampaignFunction": {"CAMPAIGN_MAX_ROWS", "EVENT_BUS_NAME"},
            "ApiFunction": {
                "STATE_MACHINE_ARN",
                "EVENT_BUS_NAME",
                "CAMPAIGN_STATE_MACHINE_ARN",
                "CAMPAIGN_MAX_ROWS",
                "CONSOLE_USER_POOL_ID",
                "CONSOLE_CLIENT_ID",
                "CONSOLE_PASSWORD_POLICY",
            },
            "RotateClientSecretFunction": {"CLIENT_SECRET_ROTATION_DAYS"},
            "OnboardSellerFunction": {
                "EVENT_BUS_NAME",
                "SELLER_SECRET_PREFIX",
                "SPAPI_APPLICATION_ID",
                "SELLER_CENTRAL_URL",
                "OAUTH_REDIRECT_URI",
                "OAUTH_DRAFT_APPLICATION",
                "CONSOLE_USER_POOL_ID",
            },
        }
        assert set(own) == expected.get(logical_id, set()), logical_id
    assert template["Resources"]["StartWorkflowFunction"]["Properties"]["Environment"]["Variables"] == {
        "STATE_MACHINE_ARN": {"Ref": STATE_MACHINE_ID},
        "CAMPAIGN_STATE_MACHINE_ARN": {"Ref": "CampaignStateMachine"},
    }


def test_no_credentials_in_environment_or_state_machine(template: dict[str, Any], asl_text: str) -> None:
    for name in ("clientSecret", "refreshToken", "LwaClientSecret", "LwaRefreshToken"):
        assert name not in json.dumps(template["Globals"]), name
        assert name not in asl_text, name
    for resource in functions(template["Resources"]).values():
        environment = json.dumps(resource["Properties"].get("Environment", {}))
        assert "Lwa" not in environment


def test_long_running_functions_have_room(template: dict[str, Any]) -> None:
    # Two destinations and two PUTs at most (tests/static/test_timeouts.py).
    assert function_setting(template, "UploadAttachmentFunction", "Timeout") == 480
    assert function_setting(template, "UploadAttachmentFunction", "MemorySize") == 1024
    assert function_setting(template, "HashAttachmentFunction", "Timeout") == 300


def test_start_workflow_failures_are_kept(resources: dict[str, Any]) -> None:
    config = resources["StartWorkflowFunction"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["FailedStartsQueue", "Arn"]},
    }
    queue = resources["FailedStartsQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_every_function_has_a_log_group_with_retention(resources: dict[str, Any]) -> None:
    log_groups = {
        json.dumps(r["Properties"]["LogGroupName"]): r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Logs::LogGroup"
    }
    for logical_id in FUNCTION_FOLDERS:
        name = json.dumps({"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"})
        assert name in log_groups, f"no log group for {logical_id}"
        assert log_groups[name]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


# ------------------------------------------------------------------ security
def test_no_wildcard_permissions(template: dict[str, Any]) -> None:
    assert assert_least_privilege(template) > 0


def test_staging_bucket_is_private_encrypted_versioned(resources: dict[str, Any]) -> None:
    bucket = resources["StagingBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms", "aws:kms:dsse"}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}  # execution names use version ids
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    rules = bucket["LifecycleConfiguration"]["Rules"]
    retention = {"Ref": "StagedFileRetentionDays"}
    assert any(r.get("ExpirationInDays") == retention for r in rules)
    assert any(r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") == retention for r in rules)
    assert any("AbortIncompleteMultipartUpload" in r for r in rules)


def test_staging_bucket_allows_tls_only(resources: dict[str, Any]) -> None:
    policies = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": "StagingBucket"}
    ]
    assert len(policies) == 1
    statements = policies[0]["PolicyDocument"]["Statement"]
    tls = [
        s
        for s in statements
        if s["Effect"] == "Deny"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in {"false", False}
    ]
    assert tls, statements
    assert tls[0]["Principal"] == "*"
    assert tls[0]["Action"] in ("s3:*", ["s3:*"])
    assert {"Fn::GetAtt": ["StagingBucket", "Arn"]} in tls[0]["Resource"]
    assert {"Fn::Sub": "${StagingBucket.Arn}/*"} in tls[0]["Resource"]


def test_staging_bucket_triggers_start_workflow(resources: dict[str, Any]) -> None:
    configurations = resources["StagingBucket"]["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    filters = []
    for configuration in configurations:
        assert configuration["Function"] == {"Fn::GetAtt": ["StartWorkflowFunction", "Arn"]}
        assert configuration["Event"] == "s3:ObjectCreated:*"
        rules = configuration["Filter"]["S3Key"]["Rules"]
        filters.append({r["Name"]: r["Value"] for r in rules})
    assert filters == [
        {"prefix": "outbox/"},
        {"prefix": "requests/", "suffix": ".json"},
        {"prefix": "campaigns/", "suffix": ".csv"},
        {"prefix": "campaigns/", "suffix": ".jsonl"},
        # A seller's keys: every one arrives, the trigger starts only what the filters above mean (starts_something).
        {"prefix": "sellers/"},
    ]
    permission = resources["StartWorkflowS3Permission"]["Properties"]
    assert permission["Principal"] == "s3.amazonaws.com"
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert "SourceArn" in permission
    assert resources["StagingBucket"]["DependsOn"] in ("StartWorkflowS3Permission", ["StartWorkflowS3Permission"])


def test_staging_bucket_name_is_one_string_everywhere(template: dict[str, Any]) -> None:
    """The functions name the bucket by the same deterministic string instead of a Ref (which would be
    a circular dependency: the bucket's notification needs StartWorkflowFunction)."""
    resources = template["Resources"]
    name = resources["StagingBucket"]["Properties"]["BucketName"]
    assert template["Globals"]["Function"]["Environment"]["Variables"]["STAGING_BUCKET"] == name
    name_template, variables = name["Fn::Sub"]
    arn = f"arn:${{AWS::Partition}}:s3:::{name_template}"
    assert resources["StartWorkflowS3Permission"]["Properties"]["SourceArn"] == {"Fn::Sub": [arn, variables]}
    bucket_resources = [
        r
        for statement in iter_statements(resources)
        if statement["Effect"] == "Allow" and any(a.startswith("s3:") for a in as_list(statement["Action"]))
        for r in as_list(statement["Resource"])
    ]
    assert bucket_resources
    for resource in bucket_resources:
        resource_template, resource_variables = resource["Fn::Sub"]
        assert resource_template == arn or resource_template.startswith(arn + "/"), resource_template
        assert resource_variables == variables
    # and no function refers to the bucket resource itself
    for logical_id, resource in functions(resources).items():
        assert "StagingBucket" not in references(resource), logical_id
    assert "StagingBucket" not in references(template["Globals"])


def test_state_machine_logs_no_execution_data(resources: dict[str, Any]) -> None:
    properties = resources[STATE_MACHINE_ID]["Properties"]
    assert properties["Type"] == "STANDARD"
    assert properties["Tracing"] == {"Enabled": True}
    logging = properties["Logging"]
    assert logging["IncludeExecutionData"] is False  # orders carry personal data
    assert logging["Level"] in {"ERROR", "ALL", "FATAL"}
    (destination,) = logging["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert resources[log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


# Functions that call the SP-API: each takes its calls' turns from the pacer (buyer_messaging.turns).
SP_API_CALLERS = {
    "ListActionsFunction",
    "CreateDestinationFunction",
    "UploadAttachmentFunction",
    "SendMessageFunction",
    "ApiFunction",
}


def test_the_pacer_items_and_only_they_are_open_to_the_sp_api_callers(resources: dict[str, Any]) -> None:
    # moto enforces no IAM: this test is what keeps the pacer's permissions right.
    policy = resources["PacerPolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem"]  # read, one conditional write
    assert statement["Resource"] == {"Fn::GetAtt": ["WorkflowTable", "Arn"]}
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["pace#*"]}}
    from buyer_messaging import pacer

    assert pacer.KEY_PREFIX + "*" == "pace#*"
    users = {
        logical_id
        for logical_id, resource in functions(resources).items()
        if {"Ref": "PacerPolicy"} in resource["Properties"].get("Policies", [])
    }
    assert users == SP_API_CALLERS


# URL parameters and the variables they set: the access tokens, the LWA client secret and refresh token travel there.
CREDENTIAL_URL_PARAMETERS = {"SpApiEndpoint": "SPAPI_ENDPOINT", "LwaTokenUrl": "LWA_TOKEN_URL"}


def test_credential_url_parameters_take_https_only_loopback_excepted(template: dict[str, Any]) -> None:
    """CloudFormation refuses a plain-http URL to another host before anything is deployed, by the rule the
    functions' settings apply (buyer_messaging.urls)."""
    parameters = template["Parameters"]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert {name for name in parameters if name.endswith(("Url", "Endpoint"))} == set(CREDENTIAL_URL_PARAMETERS)
    for name, variable in CREDENTIAL_URL_PARAMETERS.items():
        parameter = parameters[name]
        assert parameter["AllowedPattern"] == urls.SECURE_URL_PATTERN, name
        assert parameter["ConstraintDescription"].startswith(
            "an https URL (plain http only to localhost, 127.0.0.1 or ::1)"
        ), name
        assert re.fullmatch(parameter["AllowedPattern"], parameter["Default"]), name
        assert not re.fullmatch(parameter["AllowedPattern"], "http://api.amazon.com/auth/o2/token"), name
        assert variables[variable] == {"Ref": name}, name


def test_pacing_parameters_reach_every_function(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert parameters["QuotaWaitDeadlineHours"]["Default"] == 24
    assert parameters["SellingPartnerId"]["Default"] == ""
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["QUOTA_WAIT_DEADLINE_HOURS"] == {"Ref": "QuotaWaitDeadlineHours"}
    assert variables["SELLING_PARTNER_ID"] == {"Ref": "SellingPartnerId"}
    # The pacer's clock runs faster on the local stack only: never on AWS.
    assert "PACER_CLOCK_SPEEDUP" not in json.dumps(template)


def test_credentials_secret_holds_the_lwa_json(resources: dict[str, Any]) -> None:
    secret = resources["CredentialsSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    # tests/static/test_credentials_secret.py: a constant placeholder, filled out of band.
    assert set(json.loads(secret["Properties"]["SecretString"])) == {"clientId", "clientSecret", "refreshToken"}


# ------------------------------------------------------------------ the SAM transform itself
def test_sam_transform_has_no_cycles_and_least_privilege_roles(transformed: dict[str, Any]) -> None:
    graph = {}
    for logical_id, resource in transformed.items():
        depends_on = set(as_list(resource.get("DependsOn", [])))
        graph[logical_id] = (references(resource.get("Properties", {})) | depends_on) & set(transformed)
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:  # pragma: no cover - the failure message is the point
        pytest.fail(f"circular dependency: {error.args[1]}")

    assert assert_least_privilege(transformed) > 0
    allowed_managed = {
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    }
    for logical_id, resource in transformed.items():
        if resource["Type"] == "AWS::IAM::Role":
            for arn in resource["Properties"].get("ManagedPolicyArns", []):
                assert arn in (
                    {"Ref": "StagingBucketReadPolicy"},
                    {"Ref": "RequestRecordsPolicy"},
                    {"Ref": "RequestRecordsReadPolicy"},
                    {"Ref": "PacerPolicy"},
                    {"Ref": "SellerRegistryReadPolicy"},
                    {"Ref": "SellerSecretsReadPolicy"},
                    {"Ref": "SellerAuthorizationLostPolicy"},
                    {"Ref": "CampaignRecordsPolicy"},
                    {"Ref": "StateMachineLogsAndTracesPolicy"},
                ) or (arn in allowed_managed), (logical_id, arn)
