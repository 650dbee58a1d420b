"""The permission table (issue 14, "Build"): every grant of every function and of the state machine, read from the
SAM-translated template (policy templates expanded, the stack's and AWS's managed policies included), compared
with a table kept here, and the table compared with the AWS calls the code makes on a whole recorded run.

Both ways, both sides: a grant added to or removed from the template fails, naming the function and the action;
a call the code makes without its grant fails, and so does a grant that no call uses, unless the table says why
(a reason instead of CALLED). A new function is one entry in PERMISSIONS (and one role in its run of
tests/recorded_calls.py).

A grant is (IAM action, resource, condition): the resource named by logical id ("WorkflowTable",
"StagingBucket/requests/*", "states:stateMachine:SendMessageStateMachine"), the condition the item family that
the dynamodb:LeadingKeys pattern holds the statement to ("request#*") or the only tag key a tagging statement may
write ("aws:TagKeys=rotationRequestedAt"), None where there is none.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from buyer_messaging import destinations, idempotency, onboarding, pacer, rotation, sellers, status
from buyer_messaging.campaigns import records
from tests import support
from tests.recorded_calls import recording, run_everything
from tests.static.test_template import WILDCARD_RESOURCE_ACTIONS

pytestmark = [pytest.mark.static, pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")]

Grant = tuple[str, str, str | None]
# Each onboarded seller's secret ({stack}/sellers/{id}), as the template names them.
SELLER_SECRETS = "secretsmanager:secret:${AWS::StackName}/sellers/*"
SELLER_SECRET_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:CreateSecret",
    "secretsmanager:PutSecretValue",
    "secretsmanager:RestoreSecret",
    "secretsmanager:DeleteSecret",
)
CALLED = ""  # the code calls it: the recorded run must show the call

# What Lambda itself does with every function's role (SAM attaches both AWS managed policies).
_LOGS = "log delivery: Lambda writes the function's own logs with its role (AWSLambdaBasicExecutionRole)"
_XRAY = "X-Ray via Powertools: Tracing Active, Lambda and the Tracer send segments (AWSXrayWriteOnlyAccess)"
EVERY_FUNCTION: dict[Grant, str] = {
    ("logs:CreateLogGroup", "*", None): _LOGS,
    ("logs:CreateLogStream", "*", None): _LOGS,
    ("logs:PutLogEvents", "*", None): _LOGS,
    ("xray:PutTraceSegments", "*", None): _XRAY,
    ("xray:PutTelemetryRecords", "*", None): _XRAY,
    ("xray:GetSamplingRules", "*", None): _XRAY,
    ("xray:GetSamplingTargets", "*", None): _XRAY,
    ("xray:GetSamplingStatisticSummaries", "*", None): _XRAY,
}
# A function that calls the SP-API: the LWA credentials and the pacer's turns (PacerPolicy).
SP_API_CALLER: dict[Grant, str] = {
    ("secretsmanager:GetSecretValue", "CredentialsSecret", None): CALLED,
    ("dynamodb:GetItem", "WorkflowTable", "pace#*"): CALLED,
    ("dynamodb:PutItem", "WorkflowTable", "pace#*"): CALLED,
}
# The seller registry: which sellers the deployment serves (resolve), each seller's status (credentials_for).
SELLER_REGISTRY_READER: dict[Grant, str] = {("dynamodb:GetItem", "WorkflowTable", "seller#*"): CALLED}
# A seller's campaign (sellers/{id}/campaigns/…): the calls of campaigns/*, for a manifest under a seller's segment.
SELLER_CAMPAIGNS = "StagingBucket/sellers/*/campaigns/*"
_FOR_A_SELLERS_CAMPAIGN = (
    "the same calls as on campaigns/*, for a manifest staged under a seller's segment: the recorded run's campaign "
    "names no seller; tests/unit/test_campaign_sellers.py and tests/integration/test_campaign_sellers.py run them"
)
_FOR_A_REGISTERED_SELLER = (
    "read for a registered seller only (sellers.credentials_for): the recorded run's deployment has none; "
    "tests/unit/test_seller_scope.py calls with each seller's own token"
)
# A function that calls the SP-API for a seller: the seller's own secret (its refresh token), and the registry (with
# SELLER_REGISTRY_READER where the recorded run resolves a request, else with the reason).
SELLER_SECRETS = "secretsmanager:secret:${AWS::StackName}/sellers/*"
SELLER_SECRET: dict[Grant, str] = {
    ("secretsmanager:GetSecretValue", SELLER_SECRETS, None): _FOR_A_REGISTERED_SELLER,
    ("kms:Decrypt", "SellerSecretsKey", "kms:ViaService=secretsmanager"): _FOR_A_REGISTERED_SELLER,
}
# LWA refused a registered seller's refresh token (buyer_messaging.authorization_hold): the seller marked, once.
_ON_A_LOST_AUTHORIZATION = (
    "only when LWA refuses a registered seller's refresh token (authorization_hold.authorization_lost); "
    "tests/integration/test_authorization_lost.py"
)
AUTHORIZATION_LOSER: dict[Grant, str] = {
    ("dynamodb:UpdateItem", "WorkflowTable", "seller#*"): _ON_A_LOST_AUTHORIZATION,
    ("events:PutEvents", "events:event-bus/EventBusName", None): _ON_A_LOST_AUTHORIZATION,
}
STAGED_READER: dict[Grant, str] = {
    ("s3:GetObject", "StagingBucket/*", None): CALLED,
    ("s3:ListBucket", "StagingBucket", None): (
        "no call of its own: with it S3 answers a missing key 404 (AttachmentNotFound) instead of 403"
    ),
}
ROTATION_TAG = f"aws:TagKeys={rotation.REQUESTED_TAG}"
REQUEST_RECORDS: dict[Grant, str] = {("dynamodb:UpdateItem", "WorkflowTable", "request#*"): CALLED}
# A campaign's record and its rows' outcomes (campaigns/records.py, CampaignRecordsPolicy).
CAMPAIGN_RECORDS: dict[Grant, str] = {
    ("dynamodb:GetItem", "WorkflowTable", "campaign#*"): CALLED,
    ("dynamodb:UpdateItem", "WorkflowTable", "campaign#*"): CALLED,
    ("dynamodb:BatchGetItem", "WorkflowTable", "campaign#*"): CALLED,
}
# Both state machines' roles: Logging and Tracing (StateMachineLogsAndTracesPolicy).
STATE_MACHINE_LOGS_AND_TRACES: dict[Grant, str] = {
    **{
        (action, "*", None): "Step Functions sets up its execution logging (log delivery APIs)"
        for action in sorted(WILDCARD_RESOURCE_ACTIONS)
        if action.startswith("logs:")
    },
    **{
        (action, "*", None): "X-Ray: the state machine's Tracing Enabled"
        for action in (
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
        )
    },
}
_DEADLINE = "the quota deadline (turns._Deadline reads receivedAt) only for a turn more than a moment away"

PERMISSIONS: dict[str, dict[Grant, str]] = {
    "StartWorkflowFunction": {
        **EVERY_FUNCTION,
        **SELLER_REGISTRY_READER,
        **REQUEST_RECORDS,
        ("states:StartExecution", "states:stateMachine:SendMessageStateMachine", None): CALLED,
        ("states:StartExecution", "states:stateMachine:CampaignStateMachine", None): CALLED,
        ("s3:GetObjectVersion", "StagingBucket/requests/*", None): CALLED,
        ("s3:GetObject", "StagingBucket/requests/*", None): (
            "a request document's event without a versionId (storage.read_json_object; never on the versioned bucket)"
        ),
        ("sqs:SendMessage", "FailedStartsQueue", None): (
            "Lambda's OnFailure destination sends a failed S3 event with the function's role (EventInvokeConfig)"
        ),
    },
    "ListActionsFunction": {
        **EVERY_FUNCTION,
        **SP_API_CALLER,
        **SELLER_SECRET,
        **AUTHORIZATION_LOSER,
        **SELLER_REGISTRY_READER,
        **STAGED_READER,
        **REQUEST_RECORDS,
        ("dynamodb:GetItem", "WorkflowTable", "request#*"): _DEADLINE,
    },
    "HashAttachmentFunction": {**EVERY_FUNCTION, **STAGED_READER},
    "CreateDestinationFunction": {
        **EVERY_FUNCTION,
        **SP_API_CALLER,
        **SELLER_SECRET,
        **AUTHORIZATION_LOSER,
        ("dynamodb:GetItem", "WorkflowTable", "seller#*"): _FOR_A_REGISTERED_SELLER,
        **REQUEST_RECORDS,
        ("dynamodb:GetItem", "WorkflowTable", "request#*"): _DEADLINE,
        ("dynamodb:PutItem", "WorkflowTable", "destination#*"): CALLED,
    },
    "UploadAttachmentFunction": {
        **EVERY_FUNCTION,
        **SP_API_CALLER,
        **SELLER_SECRET,
        **AUTHORIZATION_LOSER,
        ("dynamodb:GetItem", "WorkflowTable", "seller#*"): _FOR_A_REGISTERED_SELLER,
        **STAGED_READER,
        **REQUEST_RECORDS,
        ("dynamodb:GetItem", "WorkflowTable", "destination#*"): CALLED,
        ("dynamodb:PutItem", "WorkflowTable", "destination#*"): CALLED,
    },
    "SendMessageFunction": {
        **EVERY_FUNCTION,
        **SP_API_CALLER,
        **SELLER_SECRET,
        **AUTHORIZATION_LOSER,
        ("dynamodb:GetItem", "WorkflowTable", "seller#*"): _FOR_A_REGISTERED_SELLER,
        **REQUEST_RECORDS,
        ("dynamodb:GetItem", "WorkflowTable", "request#*"): (
            f"{_DEADLINE}, and a retry after a send without an answer "
            "(workflow.send_message._refuse_after_an_unknown_outcome)"
        ),
        ("dynamodb:PutItem", "WorkflowTable", "idempotency#*"): CALLED,
        ("dynamodb:UpdateItem", "WorkflowTable", "idempotency#*"): CALLED,
        ("dynamodb:GetItem", "WorkflowTable", "idempotency#*"): (
            "Powertools Idempotency reads the record when a refused PutItem returns no old item "
            "(persistence/dynamodb.py)"
        ),
        ("dynamodb:DeleteItem", "WorkflowTable", "idempotency#*"): (
            "Powertools Idempotency deletes the record of an attempt that raised (a failed send leaves none)"
        ),
    },
    "RecordOutcomeFunction": {
        **EVERY_FUNCTION,
        **REQUEST_RECORDS,
        ("dynamodb:GetItem", "WorkflowTable", "request#*"): CALLED,
        ("events:PutEvents", "events:event-bus/EventBusName", None): CALLED,
        # The source object (outbox/ file, request document) by its version; attachments by key (outcome.py).
        ("s3:GetObjectVersionTagging", "StagingBucket/*", None): CALLED,
        ("s3:PutObjectVersionTagging", "StagingBucket/*", None): CALLED,
        ("s3:GetObjectTagging", "StagingBucket/*", None): CALLED,
        ("s3:PutObjectTagging", "StagingBucket/*", None): CALLED,
        # A campaign row's outcome counted on its campaign (records.row_finished: read, then one transaction).
        ("dynamodb:GetItem", "WorkflowTable", "campaign#*"): CALLED,
        ("dynamodb:PutItem", "WorkflowTable", "campaign#*"): CALLED,
        ("dynamodb:UpdateItem", "WorkflowTable", "campaign#*"): CALLED,
    },
    "ApiFunction": {
        **EVERY_FUNCTION,
        **SP_API_CALLER,
        **SELLER_SECRET,
        **AUTHORIZATION_LOSER,
        **SELLER_REGISTRY_READER,
        **STAGED_READER,
        **REQUEST_RECORDS,
        ("dynamodb:GetItem", "WorkflowTable", "request#*"): CALLED,
        ("dynamodb:Query", "WorkflowTable/index/ByOrder", None): CALLED,
        ("dynamodb:Query", "WorkflowTable/index/FailedByDay", None): CALLED,
        ("states:StartExecution", "states:stateMachine:SendMessageStateMachine", None): CALLED,
        ("states:DescribeExecution", "states:execution:SendMessageStateMachine:*", None): CALLED,
        ("s3:PutObject", "StagingBucket/attachments/*", None): (
            "signs POST /attachments' presigned form (storage.presigned_post): the browser's upload uses it"
        ),
        # The campaign routes (campaigns.api): the manifest staged, the records read, the list from its index.
        ("s3:PutObject", "StagingBucket/campaigns/*", None): CALLED,
        ("s3:GetObjectVersion", "StagingBucket/campaigns/*", None): CALLED,
        ("s3:PutObject", SELLER_CAMPAIGNS, None): _FOR_A_SELLERS_CAMPAIGN,
        ("s3:GetObjectVersion", SELLER_CAMPAIGNS, None): _FOR_A_SELLERS_CAMPAIGN,
        ("dynamodb:GetItem", "WorkflowTable", "campaign#*"): CALLED,
        ("dynamodb:BatchGetItem", "WorkflowTable", "campaign#*"): CALLED,
        ("dynamodb:Query", "WorkflowTable/index/RecentCampaigns", None): CALLED,
        ("states:StartExecution", "states:stateMachine:CampaignStateMachine", None): CALLED,
        ("states:DescribeExecution", "states:execution:CampaignStateMachine:*", None): CALLED,
    },
    # Onboarding (onboarding.py, sellers.py): the application's client for LWA, each seller's own secret, the
    # registry, invitations and OAuth states, SellerAuthorized / SellerRemoved.
    "OnboardSellerFunction": {
        **EVERY_FUNCTION,
        ("secretsmanager:GetSecretValue", "CredentialsSecret", None): CALLED,
        **{(action, SELLER_SECRETS, None): CALLED for action in SELLER_SECRET_ACTIONS},
        ("secretsmanager:TagResource", SELLER_SECRETS, "aws:TagKeys=buyer-messaging:seller"): (
            "CreateSecret with Tags (the seller's tag) needs it as well: IAM authorizes the tags of a CreateSecret "
            "as a TagResource"
        ),
        ("dynamodb:GetItem", "WorkflowTable", "seller#*"): CALLED,
        ("dynamodb:BatchGetItem", "WorkflowTable", "seller#*"): CALLED,
        ("dynamodb:UpdateItem", "WorkflowTable", "seller#*"): CALLED,
        ("dynamodb:DeleteItem", "WorkflowTable", "seller#*"): CALLED,
        ("dynamodb:GetItem", "WorkflowTable", "invitation#*"): CALLED,
        ("dynamodb:PutItem", "WorkflowTable", "invitation#*"): CALLED,
        ("dynamodb:UpdateItem", "WorkflowTable", "invitation#*"): CALLED,
        ("dynamodb:GetItem", "WorkflowTable", "oauthstate#*"): CALLED,
        ("dynamodb:PutItem", "WorkflowTable", "oauthstate#*"): CALLED,
        ("dynamodb:DeleteItem", "WorkflowTable", "oauthstate#*"): CALLED,
        ("events:PutEvents", "events:event-bus/EventBusName", None): CALLED,
        ("cognito-idp:CreateGroup", "ConsoleUserPool", None): (
            "the seller's console group (console_groups.ensure_group) when a seller is authorized; the local stack "
            "deploys no user pool, so the recorded run makes no Cognito call (tests/unit/test_console_groups.py)"
        ),
        **{
            (action, "SellerSecretsKey", "kms:ViaService=secretsmanager"): (
                "Secrets Manager asks SellerSecretsKey for a data key in the writer's name when CreateSecret or "
                "PutSecretValue writes a seller's token (KmsKeyId from SELLER_SECRET_KMS_KEY); moto does not use KMS"
            )
            for action in ("kms:GenerateDataKey", "kms:Decrypt")
        },
    },
    # The client secret's rotation (rotation.py): the secret's own fields, and the tag that remembers a rotation
    # asked for (rotation.REQUESTED_TAG, the only key it may write).
    "RotateClientSecretFunction": {
        **EVERY_FUNCTION,
        ("secretsmanager:GetSecretValue", "CredentialsSecret", None): CALLED,
        ("secretsmanager:DescribeSecret", "CredentialsSecret", None): CALLED,
        ("secretsmanager:TagResource", "CredentialsSecret", ROTATION_TAG): CALLED,
    },
    "ClientSecretNotificationsFunction": {
        **EVERY_FUNCTION,
        ("secretsmanager:GetSecretValue", "CredentialsSecret", None): CALLED,
        ("secretsmanager:PutSecretValue", "CredentialsSecret", None): CALLED,
        ("secretsmanager:DescribeSecret", "CredentialsSecret", None): CALLED,
        ("secretsmanager:TagResource", "CredentialsSecret", ROTATION_TAG): CALLED,
        **{
            (action, "ClientSecretQueue", None): (
                "Lambda's event source mapping polls the queue with the function's role "
                "(ClientSecretNotificationsMapping)"
            )
            for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
        },
    },
    "PrepareCampaignFunction": {
        **EVERY_FUNCTION,
        **STAGED_READER,
        **CAMPAIGN_RECORDS,
        **SELLER_REGISTRY_READER,
        ("dynamodb:GetItem", "WorkflowTable", "campaign#*"): (
            "a retried step: begin_run reads the record when its conditional write was refused (run begun, or running)"
        ),
        ("dynamodb:PutItem", "WorkflowTable", "campaign#*"): CALLED,
        ("dynamodb:BatchGetItem", "WorkflowTable", "request#*"): CALLED,
        ("s3:GetObjectVersion", "StagingBucket/campaigns/*", None): CALLED,
        ("s3:GetObjectVersion", SELLER_CAMPAIGNS, None): _FOR_A_SELLERS_CAMPAIGN,
        ("s3:PutObject", "StagingBucket/campaign-work/*", None): CALLED,
    },
    "FinishCampaignFunction": {
        **EVERY_FUNCTION,
        **CAMPAIGN_RECORDS,
        ("events:PutEvents", "events:event-bus/EventBusName", None): CALLED,
        ("s3:GetObjectVersion", "StagingBucket/campaigns/*", None): CALLED,
        ("s3:GetObject", "StagingBucket/campaigns/*", None): (
            "a manifest read without its version: never, the run names it (kept with GetObjectVersion, one statement)"
        ),
        ("s3:GetObjectVersion", SELLER_CAMPAIGNS, None): _FOR_A_SELLERS_CAMPAIGN,
        ("s3:GetObject", SELLER_CAMPAIGNS, None): (
            "a seller's manifest read without its version: never, the run names it (kept with GetObjectVersion)"
        ),
        ("s3:GetObject", "StagingBucket/campaign-work/*", None): CALLED,
        ("s3:GetObjectVersion", "StagingBucket/campaign-work/*", None): (
            "the run's work files are read at their latest version (kept with GetObject, one statement)"
        ),
        ("s3:GetObject", "StagingBucket/campaign-results/*", None): CALLED,
        ("s3:GetObjectVersion", "StagingBucket/campaign-results/*", None): (
            "the Map's result files are read at their latest version (kept with GetObject, one statement)"
        ),
        ("s3:PutObject", "StagingBucket/campaigns/*", None): CALLED,
        ("s3:PutObject", SELLER_CAMPAIGNS, None): _FOR_A_SELLERS_CAMPAIGN,
    },
    "SendMessageStateMachineRole": {
        **{
            ("lambda:InvokeFunction", function, None): "the state machine's Task states (send_message.asl.json)"
            for function in support.WORKFLOW_FUNCTIONS
        },
        **STATE_MACHINE_LOGS_AND_TRACES,
    },
    "CampaignStateMachineRole": {
        **{
            ("lambda:InvokeFunction", function, None): "the campaign machine's Lambda Tasks (campaign.asl.json)"
            for function in ("PrepareCampaignFunction", "FinishCampaignFunction")
        },
        ("states:StartExecution", "SendMessageStateMachine", None): "SendRow starts each row's send execution",
        **{
            (action, "states:execution:SendMessageStateMachine:*", None): (
                "startExecution.sync:2 follows the row's execution, and stops it when the campaign is stopped"
            )
            for action in ("states:DescribeExecution", "states:StopExecution")
        },
        **{
            (action, "events:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule", None): (
                "the .sync integration learns of a row's end through this managed EventBridge rule"
            )
            for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule")
        },
        ("s3:GetObject", "StagingBucket/campaign-work/*", None): "the Distributed Map's ItemReader reads rows.json",
        ("s3:PutObject", "StagingBucket/campaign-results/*", None): "the Distributed Map's ResultWriter writes results",
        ("states:StartExecution", "CampaignStateMachine", None): (
            "the Distributed Map runs each row as a child execution of this state machine"
        ),
        **{
            (action, "states:execution:CampaignStateMachine/*", None): (
                "the Distributed Map follows and stops its child executions (CampaignChildExecutionsPolicy)"
            )
            for action in ("states:DescribeExecution", "states:StopExecution")
        },
        **STATE_MACHINE_LOGS_AND_TRACES,
    },
}

STATE_MACHINE_ROLES = {"SendMessageStateMachineRole", "CampaignStateMachineRole"}

# The workflow table's item families (each module's KEY_PREFIX) and the one statement on the table without one.
TABLE_FAMILIES = {
    "request#*",
    "pace#*",
    "destination#*",
    "idempotency#*",
    "campaign#*",
    "seller#*",
    "invitation#*",
    "oauthstate#*",
}
WITHOUT_FAMILY = {
    ("ApiFunction", ("dynamodb:Query", "WorkflowTable/index/ByOrder", None)): (
        "on a Query LeadingKeys is the index's partition key (an order id); the sparse index holds request records "
        "only (template.yaml, OrderHistory; tests/unit/test_calls_within_grants.py)"
    ),
    ("ApiFunction", ("dynamodb:Query", "WorkflowTable/index/FailedByDay", None)): (
        "on a Query LeadingKeys is the index's partition key (a day); the sparse index holds failed request records "
        "only (template.yaml, FailedRequests; tests/unit/test_calls_within_grants.py)"
    ),
    ("ApiFunction", ("dynamodb:Query", "WorkflowTable/index/RecentCampaigns", None)): (
        "on a Query LeadingKeys is the index's one partition value; the sparse index holds campaign records only "
        "(template.yaml, RecentCampaigns; tests/unit/test_calls_within_grants.py)"
    ),
}

# AWS managed policies SAM attaches (their documents are AWS's; the actions as published).
AWS_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": "*",
        }
    ],
}
_STACK_ARN = r"arn:\$\{AWS::Partition\}:(\w+):\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
_BUCKET_ARN = "arn:${AWS::Partition}:s3:::buyer-messaging-${AWS::AccountId}-${AWS::Region}-${StackSuffix}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resource_name(resource: Any) -> str:
    """A statement's resource by logical id: "WorkflowTable", "StagingBucket/requests/*", "states:stateMachine:…"."""
    if resource == "*":
        return "*"
    if isinstance(resource, dict) and "Ref" in resource:
        return str(resource["Ref"])
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return str(resource["Fn::GetAtt"][0])  # its Arn, or the Name that the ARN is built from
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text, variables = (resource["Fn::Sub"], {}) if isinstance(resource["Fn::Sub"], str) else resource["Fn::Sub"]
        text = text.replace(_BUCKET_ARN, "StagingBucket")
        for name, value in variables.items():
            if name != "StackSuffix":
                text = text.replace(f"${{{name}}}", resource_name(value))
        text = re.sub(r"\$\{(\w+)\.Arn\}", r"\1", text)
        return re.sub(_STACK_ARN, r"\1:", text)
    raise AssertionError(f"a resource this table cannot name: {resource}")


def family(statement: dict[str, Any], role: str) -> str | None:
    condition = statement.get("Condition")
    if condition is None:
        return None
    if list(condition) == ["StringEquals"]:
        assert list(condition["StringEquals"]) == ["kms:ViaService"], f"{role}: {condition}"
        via = condition["StringEquals"]["kms:ViaService"]
        text = via["Fn::Sub"] if isinstance(via, dict) else via
        return "kms:ViaService=" + str(text).split(".", 1)[0]
    if list(condition) == ["ForAllValues:StringEquals"]:
        assert list(condition["ForAllValues:StringEquals"]) == ["aws:TagKeys"], f"{role}: {condition}"
        (tag_key,) = _as_list(condition["ForAllValues:StringEquals"]["aws:TagKeys"])
        return f"aws:TagKeys={tag_key}"
    assert list(condition) == ["ForAllValues:StringLike"], f"{role}: a condition this table does not know: {condition}"
    (patterns,) = [_as_list(value) for key, value in condition["ForAllValues:StringLike"].items()]
    assert list(condition["ForAllValues:StringLike"]) == ["dynamodb:LeadingKeys"], f"{role}: {condition}"
    assert len(patterns) == 1, f"{role}: one family per statement: {patterns}"
    return str(patterns[0])


def statements(transformed: dict[str, Any], role: str) -> Iterator[dict[str, Any]]:
    """Every statement that applies to the role: inline, the stack's managed policies, AWS's, attached policies."""
    properties = transformed[role]["Properties"]
    documents = [policy["PolicyDocument"]["Statement"] for policy in properties.get("Policies", [])]
    for arn in properties.get("ManagedPolicyArns", []):
        if isinstance(arn, dict):
            documents.append(transformed[arn["Ref"]]["Properties"]["PolicyDocument"]["Statement"])
        else:
            assert arn in AWS_MANAGED, f"{role}: an AWS managed policy this table does not know: {arn}"
            documents.append(AWS_MANAGED[arn])
    for resource in transformed.values():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
            roles = resource["Properties"].get("Roles") or [resource["Properties"].get("RoleName")]
            if {"Ref": role} in roles:
                documents.append(resource["Properties"]["PolicyDocument"]["Statement"])
    for document in documents:
        yield from _as_list(document)


def effective_grants(transformed: dict[str, Any], role: str) -> set[Grant]:
    grants = set()
    for statement in statements(transformed, role):
        assert statement["Effect"] == "Allow", f"{role}: {statement}"
        assert "NotAction" not in statement and "NotResource" not in statement, f"{role}: {statement}"
        kept = family(statement, role)
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                grants.add((action, resource_name(resource), kept))
    return grants


def role_of(transformed: dict[str, Any], entry: str) -> str:
    if transformed[entry]["Type"] == "AWS::IAM::Role":
        return entry
    assert transformed[entry]["Properties"]["Role"] == {"Fn::GetAtt": [f"{entry}Role", "Arn"]}, entry
    return f"{entry}Role"


def _show(grants: set[Grant]) -> str:
    return "; ".join(f"{a} on {r}" + (f" ({f})" if f else "") for a, r, f in sorted(grants, key=str))


# ---------------------------------------------------------------- the template against the table
def test_every_function_and_role_has_its_entry(transformed: dict[str, Any]) -> None:
    functions = {logical for logical, r in transformed.items() if r["Type"] == "AWS::Lambda::Function"}
    roles = {logical for logical, r in transformed.items() if r["Type"] == "AWS::IAM::Role"}
    assert functions | STATE_MACHINE_ROLES == set(PERMISSIONS)
    assert {role_of(transformed, entry) for entry in PERMISSIONS} == roles


@pytest.mark.parametrize("entry", sorted(PERMISSIONS))
def test_the_template_grants_exactly_the_table(transformed: dict[str, Any], entry: str) -> None:
    granted = effective_grants(transformed, role_of(transformed, entry))
    table = set(PERMISSIONS[entry])
    assert not granted - table, f"{entry}: granted by the template, not in the table: {_show(granted - table)}"
    assert not table - granted, f"{entry}: in the table, not granted by the template: {_show(table - granted)}"


def test_no_statement_on_the_table_without_its_family(transformed: dict[str, Any]) -> None:
    prefixes = (
        status.KEY_PREFIX,
        pacer.KEY_PREFIX,
        destinations.KEY_PREFIX,
        idempotency.KEY_PREFIX,
        records.KEY_PREFIX,
        sellers.SELLER_FAMILY,
        onboarding.INVITATION_FAMILY,
        onboarding.STATE_FAMILY,
    )
    assert set(prefixes) == {pattern.removesuffix("*") for pattern in TABLE_FAMILIES}
    without = set()
    for entry in PERMISSIONS:
        for grant in effective_grants(transformed, role_of(transformed, entry)):
            action, resource, kept = grant
            if resource.split("/")[0] == "WorkflowTable" or action.startswith("dynamodb:"):
                assert resource.startswith("WorkflowTable"), f"{entry}: {action} on {resource}"
                if kept is None:
                    without.add((entry, grant))
                else:
                    assert kept in TABLE_FAMILIES, f"{entry}: {action} held to {kept}, not an item family"
    assert without == set(WITHOUT_FAMILY), f"statements on the table without dynamodb:LeadingKeys: {without}"


# ---------------------------------------------------------------- the table against the code's calls
def _bucket_resource(params: dict[str, Any]) -> str:
    assert params["Bucket"] == support.BUCKET, params
    return f"StagingBucket/{params['Key']}" if "Key" in params else "StagingBucket"


_S3_ACTIONS = {  # operation -> IAM action, without and with a VersionId
    "GetObject": ("s3:GetObject", "s3:GetObjectVersion"),
    "HeadObject": ("s3:GetObject", "s3:GetObjectVersion"),
    "GetObjectTagging": ("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
    "PutObjectTagging": ("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
    "PutObject": ("s3:PutObject", "s3:PutObject"),
    "ListObjectsV2": ("s3:ListBucket", "s3:ListBucket"),
}


# A transaction's items, each authorized as the single-item action it holds (DynamoDB developer guide, "Using IAM
# with DynamoDB transactions").
_TRANSACTION_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def called_grants(call: str, params: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """The grants a recorded call needs: one per item of a transaction or of a batch (its keys' leading keys are
    held to the family), else the call's own."""
    if call == "dynamodb:TransactWriteItems":
        return [
            called_grant(_TRANSACTION_ACTIONS[kind], operation)
            for item in params["TransactItems"]
            for kind, operation in item.items()
        ]
    if call == "dynamodb:BatchGetItem":
        return [
            called_grant(call, {"TableName": table, "Key": key})
            for table, request in params["RequestItems"].items()
            for key in request["Keys"]
        ]
    return [called_grant(call, params)]


def test_a_transaction_or_a_batch_needs_a_grant_per_item() -> None:
    keys = [{"id": {"S": "campaign#c#row#1"}}, {"id": {"S": "campaign#c#row#2"}}]
    batch = {"RequestItems": {support.TABLE: {"Keys": keys, "ConsistentRead": True}}}
    assert called_grants("dynamodb:BatchGetItem", batch) == [
        ("dynamodb:BatchGetItem", "WorkflowTable", "campaign#c#row#1"),
        ("dynamodb:BatchGetItem", "WorkflowTable", "campaign#c#row#2"),
    ]
    transaction = {
        "TransactItems": [
            {"Put": {"TableName": support.TABLE, "Item": {"id": {"S": "campaign#c#row#1"}, "run": {"N": "1"}}}},
            {
                "Update": {
                    "TableName": support.TABLE,
                    "Key": {"id": {"S": "campaign#c"}},
                    "UpdateExpression": "SET a = b",
                }
            },
        ]
    }
    assert called_grants("dynamodb:TransactWriteItems", transaction) == [
        ("dynamodb:PutItem", "WorkflowTable", "campaign#c#row#1"),
        ("dynamodb:UpdateItem", "WorkflowTable", "campaign#c"),
    ]


def called_grant(call: str, params: dict[str, Any]) -> tuple[str, str, str | None]:
    """The grant a recorded call needs: (IAM action, resource name, the item's id for a table item)."""
    service, operation = call.split(":")
    if service == "s3":
        return _S3_ACTIONS[operation]["VersionId" in params], _bucket_resource(params), None
    if service == "dynamodb":
        assert params["TableName"] == support.TABLE, params
        index = params.get("IndexName")
        item_id = None if index else (params.get("Key") or params["Item"])["id"]["S"]
        return call, "WorkflowTable" + (f"/index/{index}" if index else ""), item_id
    if service == "secretsmanager":
        secret_id = params.get("SecretId") or params["Name"]
        tag_keys = "aws:TagKeys=" + ",".join(sorted(tag["Key"] for tag in params["Tags"])) if "Tags" in params else None
        if secret_id.startswith(support.SELLER_SECRET_PREFIX):
            seller = secret_id.removeprefix(support.SELLER_SECRET_PREFIX)
            return call, SELLER_SECRETS.replace("*", seller), tag_keys
        assert secret_id == support.SECRET_ID, params
        return call, "CredentialsSecret", tag_keys
    if call == "states:StartExecution":
        if params["stateMachineArn"].endswith(f":stateMachine:{support.CAMPAIGN_STATE_MACHINE_NAME}"):
            return call, "states:stateMachine:CampaignStateMachine", None
        assert params["stateMachineArn"].endswith(f":stateMachine:{support.STATE_MACHINE_NAME}"), params
        return call, "states:stateMachine:SendMessageStateMachine", None
    if call == "states:DescribeExecution":
        if f":execution:{support.CAMPAIGN_STATE_MACHINE_NAME}:" in params["executionArn"]:
            return call, "states:execution:CampaignStateMachine:*", None
        assert f":execution:{support.STATE_MACHINE_NAME}:" in params["executionArn"], params
        return call, "states:execution:SendMessageStateMachine:*", None
    if call == "events:PutEvents":
        assert {entry["EventBusName"] for entry in params["Entries"]} == {"default"}, params
        return call, "events:event-bus/EventBusName", None
    raise AssertionError(f"a call this table cannot name: {call} {params}")


def covers(grant: Grant, needed: tuple[str, str, str | None]) -> bool:
    action, resource, item = needed  # item: a table item's id, or the tag keys a tagging call writes
    kept = grant[2]
    if kept is not None and kept.startswith("aws:TagKeys="):
        held = item == kept
    else:
        held = kept is None or (item is not None and fnmatch.fnmatchcase(item, kept))
    return grant[0] == action and fnmatch.fnmatchcase(resource, grant[1]) and held


@pytest.fixture
def recorded(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """One recorded run of tests/recorded_calls.py: every function's calls."""
    with recording() as calls:
        run_everything(aws, http, calls, lambda_context)
    return dict(calls.by_function)


FUNCTIONS = sorted(set(PERMISSIONS) - STATE_MACHINE_ROLES)


def test_every_call_the_code_makes_is_in_the_table(recorded: dict[str, list[tuple[str, dict[str, Any]]]]) -> None:
    missing = []
    for function in FUNCTIONS:
        for call, params in recorded[function]:
            for needed in called_grants(call, params):
                action, resource, item_id = needed
                if not any(covers(grant, needed) for grant in PERMISSIONS[function]):
                    item = f", item {item_id}" if item_id else ""
                    missing.append(f"{function}: the code calls {call} ({action} on {resource}{item}), not granted")
    assert not missing, "\n".join(missing)


def test_every_grant_is_called_or_says_why(recorded: dict[str, list[tuple[str, dict[str, Any]]]]) -> None:
    wrong = []
    for function in FUNCTIONS:
        needed = [one for call, params in recorded[function] for one in called_grants(call, params)]
        for grant, reason in PERMISSIONS[function].items():
            called = any(covers(grant, one) for one in needed)
            if reason == CALLED and not called:
                wrong.append(f"{function}: {grant[0]} on {grant[1]} is granted for the code, which never called it")
            elif reason != CALLED and called:
                wrong.append(f"{function}: {grant[0]} on {grant[1]} is called: mark it CALLED, not {reason!r}")
            elif reason != CALLED and len(reason.split()) < 5:
                wrong.append(f"{function}: {grant[0]} on {grant[1]}: say why it is granted without a call")
    assert not wrong, "\n".join(wrong)


def test_the_state_machine_invokes_what_its_role_grants(asl_text: str, template: dict[str, Any]) -> None:
    """The state machine's calls are its Task states: every function they name, and nothing else, is invoked."""
    substitutions = template["Resources"]["SendMessageStateMachine"]["Properties"]["DefinitionSubstitutions"]
    named = {substitutions[name]["Fn::GetAtt"][0] for name in re.findall(r"\$\{(\w+)\}", asl_text)}
    granted = {r for (a, r, _) in PERMISSIONS["SendMessageStateMachineRole"] if a == "lambda:InvokeFunction"}
    assert named == granted


@pytest.fixture(scope="module")
def asl_text() -> str:
    return (support.ROOT / "statemachine" / "send_message.asl.json").read_text(encoding="utf-8")


def test_the_recorded_run_is_the_whole_workflow(recorded: dict[str, list[tuple[str, dict[str, Any]]]]) -> None:
    """Every function of the table made calls in the run: a function left out of tests/recorded_calls.py would
    otherwise pass with every grant explained away."""
    assert set(PERMISSIONS) - STATE_MACHINE_ROLES <= {f for f, made in recorded.items() if made}
    assert json.dumps(sorted(recorded)) != "[]"
