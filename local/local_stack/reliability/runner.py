"""Runs one case of either table on a fresh local stack (template.yaml on moto, the real handlers in-process, a
fresh SP-API emulator) and records how it ended: the error name and its cause, what the buyer received, what
was uploaded, which staged objects are gone, the request's status record.

buyer_messaging reads Powertools' settings from the environment when it is imported: what imports it
(local_stack.stack, spapi_emulator, buyer_messaging itself) is imported inside the functions, after
:func:`fresh_stack` (or the worker processes of :mod:`.pool`) set that environment.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from local_stack import timeline
from local_stack.reliability.api_client import call, local_api
from local_stack.reliability.bad_inputs import DELIVERED, BadInputCase, content_bytes
from local_stack.reliability.faults import (
    DELIVERED_ONCE,
    FAULT_KEY,
    FAULT_OUTBOX_KEY,
    FAULT_REQUEST,
    OTHER_KEY,
    FaultCase,
    redeliver_s3_event,
)
from local_stack.reliability.inputs import PDF
from local_stack.reliability.verdicts import (
    NO_EXECUTION,
    NO_RECORD,
    NOT_STARTED,
    CaseResult,
    FaultResult,
    judge,
    judge_fault,
    one_line,
)

# Retry waits (2 s, 4 s, ... with full jitter) run 200 times faster, quotas refill 50 times faster; the
# integration tests' stack is this one too.
RETRY_SPEEDUP = 200.0
QUOTA_SPEEDUP = 50.0


@dataclass
class Run:
    """One case's fresh stack."""

    local: Any  # local_stack.stack.LocalStack
    emulator: Any  # spapi_emulator.Emulator
    bucket: str
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:  # a boto3 client costs tens of milliseconds to make
            self._clients[service] = self.local.client(service)
        return self._clients[service]

    def put(self, key: str, body: bytes) -> None:
        self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=body)

    def current_keys(self) -> set[str]:
        keys: set[str] = set()
        for page in self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            keys.update(item["Key"] for item in page.get("Contents", []))
        return keys

    def start(self, document: object, name: str, timeout_seconds: float) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        started = sfn.start_execution(
            stateMachineArn=self.local.deployment.state_machine_arn, name=name, input=json.dumps(document)
        )
        described: dict[str, Any] = self.local.wait_for(started["executionArn"], timeout_seconds=timeout_seconds)
        return described

    def record(self, execution_name: str | None) -> str:
        """The request's status record in short: "sent", "failed <error>", NO_RECORD or NO_EXECUTION."""
        from buyer_messaging import status

        if execution_name is None:
            return NO_EXECUTION
        found = status.get(self.local.deployment.tables["WorkflowTable"], execution_name)
        if found is None:
            return NO_RECORD
        return " ".join(str(part) for part in (found.get("status"), found.get("error")) if part)

    def trigger_invocations(self) -> list[Any]:
        name = self.local.deployment.functions["StartWorkflowFunction"]
        return [i for i in self.local.lambdas.invocations if i.function_name == name]


@contextmanager
def fresh_stack(
    spapi_region: str,
    credentials: Mapping[str, str] | None = None,
    sellers: Sequence[str] = (),
    *,
    parameters: Mapping[str, str] | None = None,
    oauth_callback: str | None = None,
) -> Iterator[Run]:
    """A new emulator, a new moto and template.yaml deployed into it; everything undone on exit.
    ``credentials``: what the credentials secret holds instead of the seed's (e.g. a wrong refresh token).
    ``sellers``: seed sellers registered as self-authorized (each its own secret): a stack of several sellers.
    ``parameters``: template parameters other than their defaults. ``oauth_callback``: the onboarding routes'
    callback URL, registered with the emulator's application (local_stack.onboarding_demo.parameters_for)."""
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "BuyerMessaging")
    from local_stack.stack import LocalStack, SpApiTarget, in_process_aws
    from spapi_emulator import Emulator, load_default_seed

    seed = load_default_seed()
    with ExitStack() as resources:
        emulator = resources.enter_context(Emulator(seed, speedup=QUOTA_SPEEDUP))
        resources.enter_context(in_process_aws())
        secret = dict(credentials) if credentials is not None else seed.credentials.as_secret()
        target = SpApiTarget(emulator.base_url, emulator.token_url, emulator.upload_host, secret, spapi_region)
        given = dict(parameters or {})
        if oauth_callback is not None:
            from local_stack.onboarding_demo import parameters_for

            given.update(parameters_for(emulator, oauth_callback))
        local = LocalStack(target, retry_speedup=RETRY_SPEEDUP, parameters=given)
        resources.callback(local.close)
        deployment = local.deploy()
        register_seed_sellers(seed, sellers)
        yield Run(local, emulator, deployment.bucket)


def register_seed_sellers(seed: Any, seller_ids: Sequence[str]) -> None:
    """Register seed sellers as a self-authorized seller is (sellers.record_authorization, kind "self"), each with
    the refresh token its seed authorization gave; the stack's environment must be applied (after deploy)."""
    from datetime import UTC, datetime

    from buyer_messaging import sellers
    from buyer_messaging.config import get_settings

    for seller_id in seller_ids:
        refresh_token = seed.secret_for(seller_id)["refreshToken"]
        sellers.record_authorization(get_settings(), seller_id, refresh_token, kind="self", at=datetime.now(UTC))


def run_case(case: BadInputCase, *, timeout_seconds: float = 60.0) -> CaseResult:
    """Run one case on a fresh local stack and judge its outcome."""
    began = time.monotonic()
    with quiet_moto(), fresh_stack(case.spapi_region) as run:
        staged_keys = set(case.staged)
        for key, content in case.staged.items():
            run.put(key, content_bytes(content))
        if run.local.executions():  # what a staged outbox/ or requests/ object started is not the input's doing
            run.local.wait_for_executions(1, timeout_seconds=timeout_seconds)
        setup_problems = _send_before(run, case, timeout_seconds)
        delivered_before = len(run.emulator.deliveries())
        uploads_before = len(run.emulator.destinations())

        answered = None
        if case.entry == "api":
            actual, cause, execution_name, answered = _enter_api(run, case, timeout_seconds)
        else:
            actual, cause, execution_name = _enter(run, case, staged_keys, timeout_seconds)

        deliveries = run.emulator.deliveries()[delivered_before:]
        present = run.current_keys()
        result = CaseResult(
            case_id=case.id,
            entry=case.entry,
            expected=case.expected,
            actual=actual,
            cause=one_line(cause),
            messages_sent=len(deliveries),
            staged_lost=len(staged_keys - present),
            uploads=len(run.emulator.destinations()) - uploads_before,
            record=run.record(execution_name),
            answered=answered,
        )
        result.problems = setup_problems + judge(case, result)
        if case.positive:
            result.problems += _check_delivery(run, case, deliveries)
    result.seconds = time.monotonic() - began
    return result


def _send_before(run: Run, case: BadInputCase, timeout_seconds: float) -> list[str]:
    problems = []
    for index, document in enumerate(case.before):
        described = run.start(document, f"before-{index}-{case.id}"[:80], timeout_seconds)
        if described["status"] != "SUCCEEDED":
            problems.append(f"setup message {index} did not go out: {described.get('error')}: {described.get('cause')}")
    return problems


def _enter(run: Run, case: BadInputCase, staged_keys: set[str], timeout_seconds: float) -> tuple[str, str, str | None]:
    """Let the input in the case's way; the outcome (error name or DELIVERED), its cause and the execution's
    name (None when none started)."""
    if case.entry == "console":
        described = run.start(case.document, f"case-{case.id}"[:80], timeout_seconds)
        return (*_outcome(described), described["name"])
    if case.entry == "event":
        event = case.document if case.document is not None else _s3_event(run.bucket, case.key)
        run.client("lambda").invoke(
            FunctionName=run.local.deployment.functions["StartWorkflowFunction"], Payload=json.dumps(event)
        )
    elif case.entry == "outbox":
        staged_keys.add(case.key)
        run.put(case.key, content_bytes(case.content))
    else:
        raw = case.raw if case.raw is not None else json.dumps(case.document, ensure_ascii=False).encode()
        staged_keys.add(case.request_key)
        run.put(case.request_key, content_bytes(raw))
    # moto delivers the S3 notification synchronously: the trigger has run when put_object returns.
    invocations = run.trigger_invocations()
    failed = [i for i in invocations if i.error_type]
    if failed:
        return str(failed[0].error_type), str(failed[0].result.get("errorMessage", "")), None
    started = [
        item["executionArn"]
        for invocation in invocations
        for item in (invocation.result or {}).get("executions", [])
        if item.get("executionArn")
    ]
    if not started:
        return NOT_STARTED, "the trigger started no execution", None
    described = run.local.wait_for(started[0], timeout_seconds=timeout_seconds)
    return (*_outcome(described), described["name"])


def _enter_api(run: Run, case: BadInputCase, timeout_seconds: float) -> tuple[str, str, str | None, int | None]:
    """POST the case's body to the API like a client: the outcome (the answer's error name, or how the execution
    it started ended), its cause ("<status> <message>"), the execution's name and the answer's HTTP status."""
    started_before = {item["executionArn"] for item in run.local.executions()}
    # json.dumps escapes what is not ASCII: a lone surrogate travels as "\ud800", as a client would send it.
    body = content_bytes(case.raw) if case.raw is not None else json.dumps(case.document).encode("ascii")
    headers = {"Content-Type": case.content_type} if case.content_type is not None else {}
    with local_api(run) as api:
        answer = call(api, "POST", case.path, body, headers, timeout=timeout_seconds)
    if answer.status is None:
        return "(connection dropped)", answer.dropped, None, None
    actual, cause = answer.error, answer.cause
    if answer.raised:
        actual, cause = "(handler raised)", f"{answer.status} " + "; ".join(answer.raised)
    started = [item for item in run.local.executions() if item["executionArn"] not in started_before]
    if not started:
        return actual, cause, None, answer.status
    described = run.local.wait_for(started[0]["executionArn"], timeout_seconds=timeout_seconds)
    outcome, execution_cause = _outcome(described)
    return outcome, f"{answer.status}, then: {execution_cause}", described["name"], answer.status


def _outcome(described: Mapping[str, Any]) -> tuple[str, str]:
    if described["status"] == "SUCCEEDED":
        return DELIVERED, "the message was sent"
    return str(described.get("error") or described["status"]), str(described.get("cause") or "")


def _s3_event(bucket: str, key: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/"), "size": 0, "eTag": "0" * 32},
                },
            }
        ]
    }


def _check_delivery(run: Run, case: BadInputCase, deliveries: Sequence[Mapping[str, Any]]) -> list[str]:
    """A positive control: exactly one message, each file under its name with the staged bytes' MD5."""
    if len(deliveries) != 1:
        return [f"{len(deliveries)} messages delivered, expected exactly 1"]
    s3 = run.client("s3")
    expected = {}
    for file_name, key in case.delivered.items():
        data = s3.get_object(Bucket=run.bucket, Key=key)["Body"].read()
        expected[file_name] = hashlib.md5(data).hexdigest()  # noqa: S324  (a checksum, not security)
    received = {attachment["fileName"]: attachment["md5"] for attachment in deliveries[0].get("attachments", [])}
    if received != expected:
        return [f"the buyer received {received}, expected {expected}"]
    return []


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in os.environ for the block (the functions' cached settings are reset on both sides)."""
    if not values:
        yield
        return
    from local_stack.stack import reset_function_caches

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    reset_function_caches()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_function_caches()


def run_fault_case(case: FaultCase, *, timeout_seconds: float = 60.0) -> FaultResult:
    """Run one fault kind on a fresh local stack and judge its outcome."""
    from spapi_emulator import load_default_seed

    began = time.monotonic()
    credentials = None
    if case.refresh_token is not None:
        credentials = {**load_default_seed().credentials.as_secret(), "refreshToken": case.refresh_token}
    with quiet_moto(), _environment(case.environment), fresh_stack("na", credentials) as run:
        staged = {FAULT_KEY: PDF, OTHER_KEY: PDF + b"\n% another invoice\n"}
        for key, content in staged.items():
            run.put(key, content)
        case.apply(run)

        executions = _enter_fault(run, case, timeout_seconds)
        record = run.record(executions[0]["name"]) if executions else NO_EXECUTION

        actual, cause = _outcome(executions[0]) if executions else (NOT_STARTED, "no execution started")
        if actual == DELIVERED:
            actual = DELIVERED_ONCE if len(run.emulator.deliveries()) == 1 else DELIVERED
        kept = set(staged) | ({FAULT_OUTBOX_KEY} if case.entry == "outbox-twice" else set())
        result = FaultResult(
            case_id=case.id,
            injected=case.injected,
            expected=case.expected,
            actual=actual,
            cause=one_line(cause),
            retries=sum(_retries(run, execution) for execution in executions),
            messages_sent=len(run.emulator.deliveries()),
            destinations=len(run.emulator.destinations()),
            staged_lost=len(kept - set(case.removes) - run.current_keys()),
            send_calls=len(run.emulator.calls("sendInvoice")),
            executions=len(executions),
            record=record,
        )
        result.problems = judge_fault(case, result)
    result.seconds = time.monotonic() - began
    return result


def _enter_fault(run: Run, case: FaultCase, timeout_seconds: float) -> list[dict[str, Any]]:
    """Start the good request the case's way; every execution it led to, finished, oldest first."""
    if case.entry == "console":
        return [run.start(FAULT_REQUEST, f"fault-{case.id}"[:80], timeout_seconds)]
    run.put(FAULT_OUTBOX_KEY, PDF)  # moto runs the trigger synchronously
    redeliver_s3_event(run)
    sfn = run.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=run.local.deployment.state_machine_arn)["executions"]
    arns = [item["executionArn"] for item in sorted(listed, key=lambda item: item["startDate"])]
    return [run.local.wait_for(arn, timeout_seconds=timeout_seconds) for arn in arns]


def _retries(run: Run, execution: Mapping[str, Any]) -> int:
    """Failed attempts over the execution's state runs (each one retried, or the last one that ended it)."""
    events = run.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"], maxResults=1000)[
        "events"
    ]
    return sum(len(state.failures) for state in timeline.build(execution, events).states)


@contextmanager
def quiet_moto() -> Iterator[None]:
    """moto logs every failed execution with a dump of its state objects: costly to format, and noise here
    (the outcome is read from the execution itself)."""
    moto_logger = logging.getLogger("moto")
    saved_level = moto_logger.level
    moto_logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        moto_logger.setLevel(saved_level)
