"""Grants the code never uses stay out (issue 14, item 6), read from the SAM-translated template: the roles
as CloudFormation deploys them, managed policies included. moto enforces no IAM, so only these tests notice a
grant that comes back.

Each removal rests on the call sites named beside it (every boto3 call of the functions, by module):
- storage.head_object / storage.open_object pin the staged bytes by ETag (If-Match), never by version id;
  only storage.read_json_object (the trigger's request documents) passes a VersionId.
- trigger.request_for_object reads request documents only: an outbox/ key is its request, its bytes are not read.
- status.py reads a record only in status.get: through turns._Deadline (a turn more than a moment away, in the
  steps that wait: ListActions, CreateDestination, SendMessage), outcome.py (RecordOutcome),
  send_message._refuse_after_an_unknown_outcome (SendMessage) and http_api (Api). StartWorkflow only creates records
  (status.received: UpdateItem); UploadAttachment only updates them (status.attachment_uploaded) and renews a
  destination outside any execution's turn (turns.API_TAKER: the deadline is never read).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from buyer_messaging import destinations, pacer, status
from tests import support
from tests.static.test_template import WILDCARD_RESOURCE_ACTIONS

pytestmark = pytest.mark.static

STATE_MACHINE_ROLE = "SendMessageStateMachineRole"
WORKFLOW_FUNCTIONS = support.WORKFLOW_FUNCTIONS
FUNCTIONS = ("StartWorkflowFunction", *WORKFLOW_FUNCTIONS, "ApiFunction")
# The functions that read a status record (module docstring).
STATUS_RECORD_READERS = {
    "ListActionsFunction",
    "CreateDestinationFunction",
    "SendMessageFunction",
    "RecordOutcomeFunction",
    "ApiFunction",
}
STAGING_BUCKET = "arn:${AWS::Partition}:s3:::buyer-messaging-${AWS::AccountId}-${AWS::Region}-${StackSuffix}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_of(transformed: dict[str, Any], function: str) -> str:
    role = transformed[function]["Properties"]["Role"]
    assert role == {"Fn::GetAtt": [f"{function}Role", "Arn"]}, function
    return f"{function}Role"


def allowed(transformed: dict[str, Any], role: str) -> Iterator[dict[str, Any]]:
    """Every Allow statement of the role: its inline policies and the stack's managed policies it attaches."""
    properties = transformed[role]["Properties"]
    documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
    for arn in properties.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and "Ref" in arn:
            documents.append(transformed[arn["Ref"]]["Properties"]["PolicyDocument"])
    for document in documents:
        for statement in _as_list(document["Statement"]):
            if statement["Effect"] == "Allow":
                yield statement


def grants(transformed: dict[str, Any], role: str, action: str) -> list[dict[str, Any]]:
    return [s for s in allowed(transformed, role) if action in _as_list(s["Action"])]


def leading_keys(statement: dict[str, Any]) -> list[str] | None:
    """The item key patterns a DynamoDB statement is held to (None: every item of the table)."""
    condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
    keys = condition.get("dynamodb:LeadingKeys")
    return None if keys is None else _as_list(keys)


def object_resources(statement: dict[str, Any]) -> list[str]:
    """The staging bucket ARNs of an S3 statement, as the Fn::Sub templates they are."""
    found = []
    for resource in _as_list(statement["Resource"]):
        template, _ = resource["Fn::Sub"]
        found.append(template)
    return found


def test_the_trigger_reads_request_documents_only(transformed: dict[str, Any]) -> None:
    role = role_of(transformed, "StartWorkflowFunction")
    reads = [s for s in allowed(transformed, role) if any(a.startswith("s3:GetObject") for a in _as_list(s["Action"]))]
    assert [(sorted(_as_list(s["Action"])), object_resources(s)) for s in reads] == [
        (["s3:GetObject", "s3:GetObjectVersion"], [STAGING_BUCKET + "/requests/*"])
    ]


def test_only_the_trigger_reads_object_versions(transformed: dict[str, Any]) -> None:
    readers = {
        function for function in FUNCTIONS if grants(transformed, role_of(transformed, function), "s3:GetObjectVersion")
    }
    # And the API's campaign routes: a campaign's report and manifest are the versions its record names.
    assert readers == {"StartWorkflowFunction", "ApiFunction"}
    api_reads = grants(transformed, role_of(transformed, "ApiFunction"), "s3:GetObjectVersion")
    assert [object_resources(statement) for statement in api_reads] == [
        [STAGING_BUCKET + "/campaigns/*", STAGING_BUCKET + "/sellers/*/campaigns/*"]
    ]
    policy = transformed["StagingBucketReadPolicy"]["Properties"]["PolicyDocument"]
    assert [(s["Sid"], s["Action"]) for s in policy["Statement"]] == [
        ("ReadStagedObjects", "s3:GetObject"),
        ("ListStagedObjects", "s3:ListBucket"),
    ]


def _may_read_status_records(transformed: dict[str, Any], function: str) -> bool:
    record = status.KEY_PREFIX + "x"
    for statement in grants(transformed, role_of(transformed, function), "dynamodb:GetItem"):
        keys = leading_keys(statement)
        if keys is None or any(record.startswith(pattern.rstrip("*")) for pattern in keys):
            return True
    return False


def test_status_records_are_read_only_by_the_functions_that_read_them(transformed: dict[str, Any]) -> None:
    readers = {function for function in FUNCTIONS if _may_read_status_records(transformed, function)}
    assert readers == STATUS_RECORD_READERS


def test_every_status_record_writer_may_update_them(transformed: dict[str, Any]) -> None:
    # Removing GetItem must not take UpdateItem with it: every step that moves a request along keeps it.
    writers = {
        function
        for function in FUNCTIONS
        if any(
            leading_keys(s) == ["request#*"]
            for s in grants(transformed, role_of(transformed, function), "dynamodb:UpdateItem")
        )
    }
    assert writers == {
        "StartWorkflowFunction",
        "ListActionsFunction",
        "CreateDestinationFunction",
        "UploadAttachmentFunction",
        "SendMessageFunction",
        "RecordOutcomeFunction",
        "ApiFunction",
    }


@pytest.mark.parametrize(
    ("function", "actions"),
    [
        ("CreateDestinationFunction", ["dynamodb:PutItem"]),
        ("UploadAttachmentFunction", ["dynamodb:GetItem", "dynamodb:PutItem"]),
    ],
)
def test_upload_destination_statements_hold_to_their_items(
    transformed: dict[str, Any], function: str, actions: list[str]
) -> None:
    (statement,) = [
        s for s in allowed(transformed, role_of(transformed, function)) if "Destinations" in s.get("Sid", "")
    ]
    assert sorted(_as_list(statement["Action"])) == actions
    assert leading_keys(statement) == [destinations.KEY_PREFIX + "*"]
    assert pacer.KEY_PREFIX != destinations.KEY_PREFIX != status.KEY_PREFIX


def test_the_state_machine_invokes_exactly_its_six_functions(transformed: dict[str, Any]) -> None:
    assert transformed["SendMessageStateMachine"]["Properties"]["RoleArn"] == {
        "Fn::GetAtt": [STATE_MACHINE_ROLE, "Arn"]
    }
    invoking = grants(transformed, STATE_MACHINE_ROLE, "lambda:InvokeFunction")
    assert [s["Resource"] for s in invoking] == [[{"Fn::GetAtt": [function, "Arn"]} for function in WORKFLOW_FUNCTIONS]]
    # No pattern (SAM's LambdaInvokePolicy grants function:<name>*), and nothing else for the role.
    assert "*" not in str([s["Resource"] for s in invoking])
    assert [sorted(_as_list(s["Action"])) for s in allowed(transformed, STATE_MACHINE_ROLE)] == [
        ["lambda:InvokeFunction"],
        sorted(action for action in WILDCARD_RESOURCE_ACTIONS if action.startswith("logs:")),
        ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"],
    ]
    # Logging and tracing come from the policy both state machines' roles attach, and nothing else does.
    assert transformed[STATE_MACHINE_ROLE]["Properties"].get("ManagedPolicyArns", []) == [
        {"Ref": "StateMachineLogsAndTracesPolicy"}
    ]


def test_the_state_machine_role_trusts_step_functions_of_this_account_only(transformed: dict[str, Any]) -> None:
    """Confused deputy: AWS's recommended trust policy for a state machine's role (Step Functions developer
    guide, "Prevent cross-service confused deputy issue"; aws/aws-cdk#37567)."""
    document = transformed[STATE_MACHINE_ROLE]["Properties"]["AssumeRolePolicyDocument"]
    assert document["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                "ArnLike": {
                    "aws:SourceArn": {
                        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:*"
                    }
                },
            },
        }
    ]
