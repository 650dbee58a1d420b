"""Fixtures shared by every test: a clean environment, moto for AWS, `responses` for HTTP."""

from __future__ import annotations

import os

# Before any handler module is imported: no X-Ray daemon here, and metrics need a namespace.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "BuyerMessaging")

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import responses
from moto import mock_aws

from local_stack.stack import reset_function_caches
from tests import support


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from the same environment and empty per-container caches."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SPAPI_REGION": "na",
        "SPAPI_ENDPOINT": support.ENDPOINT,
        "LWA_TOKEN_URL": support.TOKEN_URL,
        "SPAPI_CREDENTIALS_SECRET": support.SECRET_ID,
        "SELLER_SECRET_PREFIX": support.SELLER_SECRET_PREFIX,
        "UPLOAD_URL_ALLOWED_HOSTS": "",
        "STAGING_BUCKET": support.BUCKET,
        "WORKFLOW_TABLE": support.TABLE,
        "STATE_MACHINE_ARN": f"arn:aws:states:us-east-1:123456789012:stateMachine:{support.STATE_MACHINE_NAME}",
        "CAMPAIGN_STATE_MACHINE_ARN": (
            f"arn:aws:states:us-east-1:123456789012:stateMachine:{support.CAMPAIGN_STATE_MACHINE_NAME}"
        ),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "buyer-messaging",
        "POWERTOOLS_METRICS_NAMESPACE": "BuyerMessaging",
        "POWERTOOLS_DEV": "false",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    reset_function_caches()
    yield
    reset_function_caches()


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """moto with the staging bucket (versioned, like the template's) and the credentials secret."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=support.BUCKET)
        s3.put_bucket_versioning(Bucket=support.BUCKET, VersioningConfiguration={"Status": "Enabled"})
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        secrets.create_secret(Name=support.SECRET_ID, SecretString=json.dumps(support.CREDENTIALS))
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=support.TABLE,
            **support.workflow_table_definition(),
            BillingMode="PAY_PER_REQUEST",
        )
        yield {"s3": s3, "secretsmanager": secrets, "dynamodb": dynamodb}


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    """Every HTTP call through requests is answered by registered fakes; anything else fails the test.
    LWA answers with a token; moto's own AWS calls pass through."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru("https://s3.amazonaws.com")
        mock.post(
            support.TOKEN_URL,
            json={
                "access_token": "Atza|test-access-token",
                "token_type": "bearer",
                "expires_in": 3600,
                "refresh_token": support.CREDENTIALS["refreshToken"],
            },
        )
        yield mock


@pytest.fixture
def lambda_context() -> Any:
    class Context:
        function_name = "test-function"
        function_version = "$LATEST"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
        aws_request_id = "11111111-2222-3333-4444-555555555555"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 30_000

    return Context()


@pytest.fixture
def tap(aws: dict[str, Any]) -> Callable[[], list[dict[str, Any]]]:
    """The events a seller's rule on the default bus would get, through an SQS queue: ``tap()`` drains them."""
    from buyer_messaging import eventbus

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="tap", EventPattern=json.dumps({"source": [eventbus.EVENT_SOURCE]}))
    events.put_targets(Rule="tap", Targets=[{"Id": "q", "Arn": arn}])

    def drain() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    return drain
