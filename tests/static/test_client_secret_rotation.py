"""The client secret rotation's resources (issue 14, item 8), read from the SAM-translated template: least
privilege of both functions, the queue Amazon writes to and its policy, the schedule, and the alarms. moto
enforces no IAM and runs no alarm: only these tests notice a grant or an alarm that goes wrong."""

from __future__ import annotations

from typing import Any

import pytest

from buyer_messaging import auth, config, rotation
from tests.static.test_grants import allowed, role_of

pytestmark = pytest.mark.static

# The statements' exact shape; tests/static/test_permission_table.py holds both functions' grants to the calls
# their code makes on a recorded run (tests/recorded_calls.py).
TAG_KEY_ONLY = {"ForAllValues:StringEquals": {"aws:TagKeys": [rotation.REQUESTED_TAG]}}
BASIC_MANAGED = [
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
]
SECRET = {"Ref": "CredentialsSecret"}
QUEUE = {"Fn::GetAtt": ["ClientSecretQueue", "Arn"]}
# Asking for a rotation: the tag rotationRequestedAt (and no other key) remembers the last one asked for.
ROTATION_REQUEST_GRANTS = [
    (["secretsmanager:DescribeSecret"], SECRET, None),
    (["secretsmanager:TagResource"], SECRET, TAG_KEY_ONLY),
]


def _grants(transformed: dict[str, Any], function: str) -> list[tuple[list[str], Any, Any]]:
    role = role_of(transformed, function)
    assert transformed[role]["Properties"]["ManagedPolicyArns"] == BASIC_MANAGED, function
    found = []
    for statement in allowed(transformed, role):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resource = statement["Resource"]
        if isinstance(resource, dict) and "Fn::Sub" in resource:  # SAM's policy template: "${secretArn}"
            resource = resource["Fn::Sub"][1]["secretArn"]
        found.append((sorted(actions), resource, statement.get("Condition")))
    return found


def test_the_daily_check_may_read_the_credentials_secret_and_tag_its_requests(transformed: dict[str, Any]) -> None:
    # rotation.scheduled_check reads the secret (its clientSecretExpiresAt, and the client id and secret for the
    # grantless token); the rotation itself is an HTTPS call to Amazon, no AWS permission.
    grants = _grants(transformed, "RotateClientSecretFunction")
    assert grants == [(["secretsmanager:GetSecretValue"], SECRET, None), *ROTATION_REQUEST_GRANTS]


def test_the_notifications_function_may_store_the_secret_and_poll_its_queue_only(transformed: dict[str, Any]) -> None:
    # rotation.store_new_secret: GetSecretValue then PutSecretValue; the event source mapping polls with the
    # function's role: ReceiveMessage, DeleteMessage, GetQueueAttributes, on this queue (no AWS managed SQS policy).
    grants = _grants(transformed, "ClientSecretNotificationsFunction")
    assert grants == [
        (["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"], SECRET, None),
        *ROTATION_REQUEST_GRANTS,
        (["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"], QUEUE, None),
    ]


def test_amazon_may_write_to_the_queue_and_nobody_else_is_granted(transformed: dict[str, Any]) -> None:
    policy = transformed["ClientSecretQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "ClientSecretQueue"}]
    allow, deny = policy["PolicyDocument"]["Statement"]
    assert allow == {
        "Sid": "AmazonSellingPartnerApiNotifications",
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::{rotation.AMAZON_NOTIFICATIONS_ACCOUNT}:root"}},
        "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes"],
        "Resource": QUEUE,
    }
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_queue_is_encrypted_keeps_a_new_secret_past_its_grace_and_ends_in_a_dead_letter_queue(
    transformed: dict[str, Any],
) -> None:
    queue = transformed["ClientSecretQueue"]["Properties"]
    dead_letters = transformed["ClientSecretDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and dead_letters["SqsManagedSseEnabled"] is True
    grace = rotation.OLD_SECRET_GRACE_DAYS * 24 * 3600
    assert queue["MessageRetentionPeriod"] > grace and dead_letters["MessageRetentionPeriod"] > grace
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["ClientSecretDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    timeout = transformed["ClientSecretNotificationsFunction"]["Properties"]["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout


def test_the_queue_drives_the_notifications_function_one_message_at_a_time(transformed: dict[str, Any]) -> None:
    mappings = {
        name: r["Properties"] for name, r in transformed.items() if r["Type"] == "AWS::Lambda::EventSourceMapping"
    }
    assert mappings == {
        "ClientSecretNotificationsMapping": {
            "FunctionName": {"Ref": "ClientSecretNotificationsFunction"},
            "EventSourceArn": QUEUE,
            "BatchSize": 1,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }
    }


def test_the_check_runs_daily_with_the_rotation_period(template: dict[str, Any], transformed: dict[str, Any]) -> None:
    rules = [r["Properties"] for r in transformed.values() if r["Type"] == "AWS::Events::Rule"]
    # The other daily schedule is the sellers' authorizations' (OnboardSellerFunction, authorization_age.py).
    assert sorted((r["ScheduleExpression"], r["Targets"][0]["Arn"]["Fn::GetAtt"][0]) for r in rules) == [
        ("rate(1 day)", "OnboardSellerFunction"),
        ("rate(1 day)", "RotateClientSecretFunction"),
    ]
    parameter = template["Parameters"]["ClientSecretRotationDays"]
    assert (parameter["Default"], parameter["MaxValue"]) == (90, config.MAX_ROTATION_DAYS)
    variables = template["Resources"]["RotateClientSecretFunction"]["Properties"]["Environment"]["Variables"]
    assert variables == {"CLIENT_SECRET_ROTATION_DAYS": {"Ref": "ClientSecretRotationDays"}}


@pytest.mark.parametrize(
    ("alarm", "namespace", "metric", "dimension", "comparison", "missing"),
    [
        (
            "ClientSecretDeadlineAlarm",
            "BuyerMessaging",
            rotation.DAYS_LEFT_METRIC,
            {"Name": "service", "Value": "buyer-messaging"},
            "LessThanThreshold",
            "breaching",
        ),
        (
            "LwaRejectedAlarm",
            "BuyerMessaging",
            auth.LWA_REJECTED_METRIC,
            {"Name": "service", "Value": "buyer-messaging"},
            "GreaterThanOrEqualToThreshold",
            "notBreaching",
        ),
        (
            "ClientSecretDeadLetterAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ClientSecretDeadLetterQueue", "QueueName"]}},
            "GreaterThanOrEqualToThreshold",
            "notBreaching",
        ),
        (
            "RotateClientSecretErrorsAlarm",
            "AWS/Lambda",
            "Errors",
            {"Name": "FunctionName", "Value": {"Ref": "RotateClientSecretFunction"}},
            "GreaterThanOrEqualToThreshold",
            "notBreaching",
        ),
    ],
)
def test_each_alarm_watches_what_the_code_reports_and_calls_the_topic(
    transformed: dict[str, Any], alarm: str, namespace: str, metric: str, dimension: Any, comparison: str, missing: str
) -> None:
    properties = transformed[alarm]["Properties"]
    assert (properties["Namespace"], properties["MetricName"], properties["Dimensions"]) == (
        namespace,
        metric,
        [dimension],
    )
    assert (properties["ComparisonOperator"], properties["TreatMissingData"]) == (comparison, missing)
    assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_deadline_alarm_has_room_before_the_deadline(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["ClientSecretDeadlineAlarm"]["Properties"]
    assert alarm["Threshold"] == {"Ref": "ClientSecretAlarmDaysLeft"}
    days_left = template["Parameters"]["ClientSecretAlarmDaysLeft"]
    # Below the days left at the rotation (180 - 90), and above the old secret's seven days.
    assert rotation.OLD_SECRET_GRACE_DAYS < days_left["Default"] < rotation.SECRET_LIFETIME_DAYS - 90
    assert days_left["MinValue"] > rotation.OLD_SECRET_GRACE_DAYS
