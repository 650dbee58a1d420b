"""Deploys template.yaml into moto: bucket + notification, functions, state machine, secret, queues, tables.

Works in-process (inside ``moto.mock_aws``) and against a moto server (``endpoint_url``): everything is
created through boto3, like a deployment would.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.stepfunctions.parser.utils import TMP_THREADS

from buyer_messaging.eventbus import EVENT_SOURCE
from local_stack import asl_parser, atomic_dynamodb, distributed_map, task_clients, task_time
from local_stack.lambdas import ACCOUNT_CONCURRENCY, DEFAULT_SLOTS, InProcessLambdas, LocalFunction
from local_stack.template import ACCOUNT_ID, Resolver, Template

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STACK_NAME = "buyer-messaging-local"
STACK_UUID = "1a2b3c4d-0000-4000-8000-000000000000"
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
SEND_STATE_MACHINE = "SendMessageStateMachine"  # Deployment.state_machine_arn; every machine in .state_machines
TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")
# Deployed to AWS, not to the local stack: their Ref is empty, so the console runs without sign-in.
NOT_LOCAL_TYPES = ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient")
# Deployed to AWS only, deliberately: moto enforces no queue policy, runs no alarm, draws no dashboard and has no
# SNS subscriber to tell (nor a use for the alarm topic's key); tests/static checks them on the translated template.
# An event source mapping is not polled by moto: LocalStack.poll_queue drives its function from its queue, as
# Lambda's poller would.
AWS_ONLY_TYPES = (
    "AWS::SQS::QueuePolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
)
EVENT_SOURCE_MAPPING = "AWS::Lambda::EventSourceMapping"
# What close() gives the executions it stops to end: a step in a Lambda handler finishes it first.
STOP_TIMEOUT_SECONDS = 60.0
STOP_CAUSE = "The local stack was closed while the execution ran."
# The queue attributes the local stack applies (moto keeps them; the redrive moves a message that failed too often).
QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy")


@dataclass(frozen=True)
class SpApiTarget:
    """Which SP-API the deployed functions call, and with which LWA credentials."""

    endpoint: str
    token_url: str
    upload_allowed_hosts: str
    credentials: Mapping[str, str]
    region: str = "na"


@dataclass
class Deployment:
    bucket: str
    state_machine_arn: str
    secret_id: str
    functions: dict[str, str]  # logical id -> function name
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> queue URL
    tables: dict[str, str] = field(default_factory=dict)  # logical id -> table name
    environment: dict[str, str] = field(default_factory=dict)
    state_machines: dict[str, str] = field(default_factory=dict)  # logical id -> ARN

    @property
    def campaign_state_machine_arn(self) -> str:
        return self.state_machines["CampaignStateMachine"]


class LocalStack:
    def __init__(
        self,
        target: SpApiTarget,
        *,
        root: Path = ROOT,
        region: str = "us-east-1",
        stack_name: str = DEFAULT_STACK_NAME,
        endpoint_url: str | None = None,
        retry_speedup: float = 1.0,
        parameters: Mapping[str, str] | None = None,
        lambda_slots: int = DEFAULT_SLOTS,
        lambda_concurrency: int = ACCOUNT_CONCURRENCY,
    ) -> None:
        """``retry_speedup``: how many times faster than real time the state machine's waits pass, Retry intervals
        and Wait states alike (a pacer's clock must run at the same factor). TimeoutSeconds is not scaled: it
        bounds a task's work, which runs at real speed. ``lambda_slots`` / ``lambda_concurrency``: see
        :mod:`local_stack.lambdas`."""
        self.target = target
        self.root = root
        self.region = region
        self.stack_name = stack_name
        self.endpoint_url = endpoint_url
        self.retry_speedup = retry_speedup
        self.template = Template.load(root / "template.yaml")
        self.lambdas = InProcessLambdas(slots=lambda_slots, concurrency=lambda_concurrency)
        self.deployment: Deployment | None = None
        self._parameters = {
            **self.template.parameter_defaults(),
            "SpApiRegion": target.region,
            "SpApiEndpoint": target.endpoint,
            "LwaTokenUrl": target.token_url,
            "UploadUrlAllowedHosts": target.upload_allowed_hosts,
            **(parameters or {}),
        }
        # What the stack changed in moto while it runs, by name, in the order installed: close() undoes them.
        self._patches: dict[str, Callable[[], None]] = {}
        self._threads_before: set[threading.Thread] = set()
        self._saved_environment: dict[str, str | None] = {}

    # ------------------------------------------------------------------ clients

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]

    # ------------------------------------------------------------------ deploy

    def deploy(self) -> Deployment:
        resolver = Resolver(
            template=self.template,
            parameters=self._parameters,
            region=self.region,
            stack_name=self.stack_name,
            stack_id=f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:stack/{self.stack_name}/{STACK_UUID}",
        )
        self._name_resources(resolver)
        self._patch("dynamodb", atomic_dynamodb.install)
        secret_id = self._create_secrets(resolver)
        self._create_queues(resolver)
        tables = self._create_tables(resolver)
        environment = self._function_environment(resolver)
        if self.retry_speedup != 1.0:
            # The pacer measures time as the state machine spends it: its Wait states and Retry intervals
            # run retry_speedup times faster here (never set on AWS, where time is real).
            environment["PACER_CLOCK_SPEEDUP"] = repr(float(self.retry_speedup))
        self._apply_environment(environment)
        functions = self._create_functions(resolver)
        state_machines = self._create_state_machines(resolver)
        bucket = self._create_bucket(resolver)
        if self.retry_speedup != 1.0:
            self._patch("time", self._scale_time)
        self._threads_before = set(TMP_THREADS)
        self.lambdas.install()
        self._patch("distributed_map", distributed_map.install)
        self._patch("asl_parser", asl_parser.install)
        self._patch("task_clients", task_clients.install)
        self.deployment = Deployment(
            bucket=bucket,
            state_machine_arn=state_machines[SEND_STATE_MACHINE],
            state_machines=state_machines,
            secret_id=secret_id,
            functions=functions,
            queues={name: resolver.refs[name] for name in self.template.resources_of_type("AWS::SQS::Queue")},
            tables=tables,
            environment=environment,
        )
        return self.deployment

    def close(self) -> None:
        self._stop_executions()
        self.lambdas.uninstall()
        while self._patches:
            self._patches.popitem()[1]()  # the last installed first
        self._restore_environment()

    def _patch(self, name: str, install: Callable[[], Callable[[], None]]) -> None:
        """Install one of the stack's changes to moto, once however often deploy() runs; close() undoes it."""
        if name not in self._patches:
            self._patches[name] = install()

    def _stop_executions(self, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop the executions still running and wait for their threads: moto runs each in a thread that would
        outlive the stack and, its Wait over, invoke the next stack deployed in this process (the same function,
        table and secret names) for a request that stack never received."""
        if self.deployment is None:
            return
        sfn = self.client("stepfunctions")
        for machine in self.deployment.state_machines.values():
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
                for execution in page["executions"]:
                    if execution["status"] == "RUNNING":
                        with suppress(sfn.exceptions.ExecutionDoesNotExist, sfn.exceptions.InvalidArn):
                            sfn.stop_execution(
                                executionArn=execution["executionArn"], error="LocalStackClosed", cause=STOP_CAUSE
                            )
        started = [thread for thread in list(TMP_THREADS) if thread not in self._threads_before]
        deadline = time.monotonic() + timeout_seconds
        for thread in started:
            thread.join(max(0.0, deadline - time.monotonic()))
        running = [thread for thread in started if thread.is_alive()]
        if running:
            print(f"local stack: {len(running)} executions still running after {timeout_seconds:g} s", file=sys.stderr)
        TMP_THREADS[:] = [thread for thread in TMP_THREADS if thread.is_alive()]

    def __enter__(self) -> LocalStack:
        self.deploy()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _name_resources(self, resolver: Resolver) -> None:
        """The physical ids Ref and GetAtt give, known before anything is created."""
        arn = f"{self.region}:{ACCOUNT_ID}"
        for logical, spec in self.template.resources.items():
            kind = spec["Type"]
            if kind in FUNCTION_TYPES:
                name = f"{self.stack_name}-{logical}"
                resolver.refs[logical] = name
                resolver.attributes[(logical, "Arn")] = f"arn:aws:lambda:{arn}:function:{name}"
            elif kind in STATE_MACHINE_TYPES:
                name = f"{self.stack_name}-{logical}"
                resolver.refs[logical] = f"arn:aws:states:{arn}:stateMachine:{name}"
                resolver.attributes[(logical, "Name")] = name
                resolver.attributes[(logical, "Arn")] = resolver.refs[logical]
            elif kind == "AWS::SQS::Queue":
                name = f"{self.stack_name}-{logical}"
                resolver.refs[logical] = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{name}"
                resolver.attributes[(logical, "Arn")] = f"arn:aws:sqs:{arn}:{name}"
                resolver.attributes[(logical, "QueueName")] = name
            elif kind in TABLE_TYPES:
                name = spec.get("Properties", {}).get("TableName") or f"{self.stack_name}-{logical}"
                name = resolver.resolve(name)
                resolver.refs[logical] = name
                resolver.attributes[(logical, "Arn")] = f"arn:aws:dynamodb:{arn}:table/{name}"
            elif kind == "AWS::S3::Bucket":
                name = resolver.resolve(spec.get("Properties", {}).get("BucketName", f"{self.stack_name}-{logical}"))
                resolver.refs[logical] = name.lower()
                resolver.attributes[(logical, "Arn")] = f"arn:aws:s3:::{name.lower()}"
            elif kind in NOT_LOCAL_TYPES:
                resolver.refs[logical] = ""
            elif kind in (*AWS_ONLY_TYPES, EVENT_SOURCE_MAPPING):
                resolver.refs[logical] = f"{self.stack_name}-{logical}"  # named, never created
            else:
                resolver.refs.setdefault(logical, f"{self.stack_name}-{logical}")

    def _create_secrets(self, resolver: Resolver) -> str:
        secrets = self.client("secretsmanager")
        secret_id = ""
        for logical, spec in self.template.resources_of_type("AWS::SecretsManager::Secret").items():
            properties = resolver.resolve(spec.get("Properties", {}))
            name = properties.get("Name") or f"{self.stack_name}/{logical}"
            created = secrets.create_secret(Name=name, SecretString=json.dumps(dict(self.target.credentials)))
            resolver.refs[logical] = created["ARN"]
            secret_id = created["ARN"]
        return secret_id

    def _create_queues(self, resolver: Resolver) -> None:
        sqs = self.client("sqs")
        queues = self.template.resources_of_type("AWS::SQS::Queue")
        # Dead-letter queues first: a redrive policy names a queue that exists.
        for logical in sorted(queues, key=lambda name: "RedrivePolicy" in queues[name].get("Properties", {})):
            properties = resolver.resolve(queues[logical].get("Properties", {}))
            attributes = {
                name: json.dumps(properties[name]) if isinstance(properties[name], dict) else str(properties[name])
                for name in QUEUE_ATTRIBUTES
                if name in properties
            }
            created = sqs.create_queue(QueueName=resolver.attributes[(logical, "QueueName")], Attributes=attributes)
            resolver.refs[logical] = created["QueueUrl"]

    def _create_tables(self, resolver: Resolver) -> dict[str, str]:
        dynamodb = self.client("dynamodb")
        tables = {}
        for logical, spec in self.template.resources_of_type(*TABLE_TYPES).items():
            properties = resolver.resolve(spec.get("Properties", {}))
            name = resolver.refs[logical]
            if spec["Type"] == "AWS::Serverless::SimpleTable":
                key = properties.get("PrimaryKey", {"Name": "id", "Type": "String"})
                key_type = {"String": "S", "Number": "N", "Binary": "B"}[key["Type"]]
                dynamodb.create_table(
                    TableName=name,
                    KeySchema=[{"AttributeName": key["Name"], "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": key["Name"], "AttributeType": key_type}],
                    BillingMode="PAY_PER_REQUEST",
                )
            else:
                arguments = {
                    "TableName": name,
                    "KeySchema": properties["KeySchema"],
                    "AttributeDefinitions": properties["AttributeDefinitions"],
                    "BillingMode": "PAY_PER_REQUEST",
                }
                if properties.get("GlobalSecondaryIndexes"):
                    arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
                dynamodb.create_table(**arguments)
                ttl = properties.get("TimeToLiveSpecification")
                if ttl:
                    dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            tables[logical] = name
        return tables

    def _function_environment(self, resolver: Resolver) -> dict[str, str]:
        """The environment of every function, merged: the handlers share this one process."""
        shared = resolver.resolve(self.template.function_globals().get("Environment", {}).get("Variables", {}))
        merged: dict[str, str] = {key: str(value) for key, value in shared.items()}
        owners: dict[str, str] = {}
        for logical in self.template.resources_of_type(*FUNCTION_TYPES):
            for key, value in self._environment_of(resolver, logical).items():
                if key in owners and merged[key] != value:
                    raise ValueError(f"{logical} and {owners[key]} set {key} differently; one process cannot")
                if key not in shared:
                    owners[key] = logical
                merged[key] = value
        return merged

    def _apply_environment(self, environment: Mapping[str, str]) -> None:
        """The handlers read os.environ: set the functions' variables for this process (undone by close)."""
        wanted = dict(environment)
        wanted.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", self.region))
        if self.endpoint_url:
            wanted["AWS_ENDPOINT_URL"] = self.endpoint_url
        for key, value in wanted.items():
            self._saved_environment.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        reset_function_caches()

    def _restore_environment(self) -> None:
        for key, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environment.clear()
        reset_function_caches()

    def _role(self, purpose: str, service: str) -> str:
        """An IAM role the service may assume (moto wants one; the local stack enforces no policy)."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}],
        }
        created = self.client("iam").create_role(
            RoleName=f"{self.stack_name}-{purpose}", AssumeRolePolicyDocument=json.dumps(trust)
        )
        return str(created["Role"]["Arn"])

    def _create_functions(self, resolver: Resolver) -> dict[str, str]:
        role = self._role("functions", "lambda.amazonaws.com")
        lambda_client = self.client("lambda")
        defaults = self.template.function_globals()
        functions = {}
        for logical, spec in self.template.resources_of_type(*FUNCTION_TYPES).items():
            properties = {**defaults, **spec.get("Properties", {})}
            name = resolver.refs[logical]
            code_dir = self.root / str(properties["CodeUri"])
            handler = str(properties.get("Handler", "app.lambda_handler"))
            memory = int(properties.get("MemorySize", 128))
            timeout = int(properties.get("Timeout", 3))
            lambda_client.create_function(
                FunctionName=name,
                Runtime=str(properties.get("Runtime", "python3.13")),
                Role=role,
                Handler=handler,
                Code={"ZipFile": _zip_of(code_dir)},
                Timeout=timeout,
                MemorySize=memory,
                Environment={"Variables": self._environment_of(resolver, logical)},
            )
            self.lambdas.register(LocalFunction(name, code_dir, handler, memory, timeout))
            functions[logical] = name
        return functions

    def _environment_of(self, resolver: Resolver, logical: str) -> dict[str, str]:
        shared = resolver.resolve(self.template.function_globals().get("Environment", {}).get("Variables", {}))
        spec = self.template.resources[logical]
        own = resolver.resolve(spec.get("Properties", {}).get("Environment", {}).get("Variables", {}))
        return {key: str(value) for key, value in {**shared, **own}.items()}

    def _create_state_machines(self, resolver: Resolver) -> dict[str, str]:
        role = self._role("states", "states.amazonaws.com")
        sfn = self.client("stepfunctions")
        arns = {}
        for logical, spec in self.template.resources_of_type(*STATE_MACHINE_TYPES).items():
            properties = spec.get("Properties", {})
            definition = (self.root / str(properties["DefinitionUri"])).read_text(encoding="utf-8")
            substitutions = resolver.resolve(properties.get("DefinitionSubstitutions", {}))
            for key, value in substitutions.items():
                definition = definition.replace("${" + key + "}", str(value))
            created = sfn.create_state_machine(
                name=resolver.attributes[(logical, "Name")],
                definition=distributed_map.definition_for_moto(definition),
                roleArn=role,
                type=str(properties.get("Type", "STANDARD")),
            )
            arns[logical] = created["stateMachineArn"]
            resolver.refs[logical] = arns[logical]
        return arns

    def _create_bucket(self, resolver: Resolver) -> str:
        s3 = self.client("s3")
        bucket = ""
        for logical, spec in self.template.resources_of_type("AWS::S3::Bucket").items():
            properties = resolver.resolve(spec.get("Properties", {}))
            bucket = resolver.refs[logical]
            if self.region == "us-east-1":
                s3.create_bucket(Bucket=bucket)
            else:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region})
            if properties.get("VersioningConfiguration"):
                s3.put_bucket_versioning(
                    Bucket=bucket, VersioningConfiguration={"Status": properties["VersioningConfiguration"]["Status"]}
                )
            lambda_configurations = properties.get("NotificationConfiguration", {}).get("LambdaConfigurations", [])
            if lambda_configurations:
                s3.put_bucket_notification_configuration(
                    Bucket=bucket,
                    NotificationConfiguration={
                        "LambdaFunctionConfigurations": [
                            {
                                "LambdaFunctionArn": configuration["Function"],
                                "Events": [configuration["Event"]],
                                "Filter": {"Key": {"FilterRules": configuration["Filter"]["S3Key"]["Rules"]}},
                            }
                            for configuration in lambda_configurations
                        ]
                    },
                )
        return bucket

    def _scale_time(self) -> Callable[[], None]:
        """moto really waits a Retry's interval and a Wait state's seconds; both run ``retry_speedup`` times faster
        until the returned function is called."""
        restore_wait = task_time.install_wait_speedup(self.retry_speedup)
        # moto's private Retry waits with time.sleep of its module global time (checked against moto 5.2.5 by
        # tests/unit/test_library_internals.py): that global is replaced while the stack runs.
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

        namespace = vars(retrier_decl)
        original = namespace["time"]
        speedup = self.retry_speedup

        class _ScaledTime:
            def __getattr__(self, name: str) -> Any:
                return getattr(original, name)

            @staticmethod
            def sleep(seconds: float) -> None:
                original.sleep(seconds / speedup)

        namespace["time"] = _ScaledTime()

        def restore() -> None:
            namespace["time"] = original
            restore_wait()

        return restore

    def tap_events(self) -> EventTap:
        """Subscribe to the workflow's EventBridge events the way a seller's integration would: a rule on
        the bus the functions publish to, delivering to an SQS queue that :meth:`EventTap.drain` reads."""
        bus = self._parameters.get("EventBusName") or "default"
        sqs = self.client("sqs")
        queue_url = sqs.create_queue(QueueName=f"{self.stack_name}-event-tap")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = self.client("events")
        rule = f"{self.stack_name}-event-tap"
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "tap", "Arn": queue_arn}])
        return EventTap(sqs, queue_url)

    # ------------------------------------------------------------------ running

    def executions(self) -> list[dict[str, Any]]:
        assert self.deployment is not None
        sfn = self.client("stepfunctions")
        found: list[dict[str, Any]] = []
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=self.deployment.state_machine_arn):
            found.extend(page["executions"])
        return found

    def wait_for_executions(self, count: int, *, timeout_seconds: float = 120.0) -> list[dict[str, Any]]:
        """Wait until at least ``count`` executions exist and none is running; their descriptions."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout_seconds
        while True:
            listed = self.executions()
            if len(listed) >= count and all(item["status"] != "RUNNING" for item in listed):
                return [sfn.describe_execution(executionArn=item["executionArn"]) for item in listed]
            if time.monotonic() > deadline:
                states = {item["name"]: item["status"] for item in listed}
                raise TimeoutError(f"executions not finished after {timeout_seconds} s: {states}")
            time.sleep(0.05)

    def poll_queue(self, mapping: str) -> list[dict[str, Any]]:
        """What Lambda's poller does for the event source mapping ``mapping`` (logical id), once: receive the
        queue's messages (a batch of the mapping's BatchSize), invoke the function with an SQS event, and delete
        the messages it did not report failed (ReportBatchItemFailures); a failed message comes back after its
        visibility timeout and, past the redrive's maxReceiveCount, moves to the dead-letter queue. Returns what
        each invocation answered (``{"payload", "errored"}``), until the queue gives nothing."""
        assert self.deployment is not None
        spec = self.template.resources[mapping]
        if spec["Type"] != EVENT_SOURCE_MAPPING:
            raise ValueError(f"{mapping} is not an event source mapping")
        properties = spec["Properties"]
        queue = properties["EventSourceArn"]["Fn::GetAtt"][0]
        function = self.lambdas.function(self.deployment.functions[properties["FunctionName"]["Ref"]])
        queue_url = self.deployment.queues[queue]
        queue_arn = f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{queue_url.rsplit('/', 1)[1]}"
        sqs = self.client("sqs")
        answers: list[dict[str, Any]] = []
        while True:
            received = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=int(properties.get("BatchSize", 10)),
                AttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                return answers
            event = {"Records": [_sqs_record(message, queue_arn, self.region) for message in received]}
            payload, errored, _ = self.lambdas.invoke(function, event)
            answer = json.loads(payload) if payload else None
            answers.append({"payload": answer, "errored": errored})
            failed = set() if errored else {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
            for message in received:
                if errored or message["MessageId"] in failed:
                    continue
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if errored or failed:
                return answers  # the failed ones come back after their visibility timeout, as on AWS

    def wait_for(self, execution_arn: str, *, timeout_seconds: float = 120.0) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout_seconds
        while True:
            described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still running after {timeout_seconds} s")
            time.sleep(0.05)


class EventTap:
    """The workflow's events as delivered by an EventBridge rule to an SQS queue."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self.received: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        """Every event delivered so far (kept in :attr:`received`, oldest first)."""
        while True:
            batch = self._sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return list(self.received)
            for message in batch:
                self.received.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])


def reset_function_caches() -> None:
    """Forget per-container state (settings, clients, cached secrets) after the environment changed."""
    from aws_lambda_powertools.utilities import parameters

    from buyer_messaging import config, eventbus, executions, idempotency, sellers, spapi, storage, table

    config.get_settings.cache_clear()
    table.reset_client()
    eventbus.reset_client()
    idempotency.reset()
    spapi.reset_clients()
    storage.reset_client()
    executions.reset_client()
    sellers.reset_client()
    parameters.clear_caches()  # type: ignore[no-untyped-call]


def _sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message as Lambda's poller hands it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _zip_of(code_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(code_dir.rglob("*.py")):
            archive.write(path, path.relative_to(code_dir))
    return buffer.getvalue()


@contextmanager
def in_process_aws() -> Iterator[None]:
    """moto with the state machine executed (not just recorded)."""
    from moto import mock_aws

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield
