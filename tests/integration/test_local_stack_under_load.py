"""The local stack under its own load behaves like Step Functions and Lambda, not like one busy process.

On AWS each Lambda invocation has a container of its own, so a burst of executions does not make a task run
past its state's TimeoutSeconds, and Lambda's concurrency limit answers ``TooManyRequestsException``, which
the state machine retries. Before: 300 invoices dropped at once on the local stack ended 80 executions in
``States.Timeout`` (hundreds of handlers sharing one interpreter), some of them already delivered.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.lambdas import LocalFunction
from local_stack.stack import LocalStack, SpApiTarget, in_process_aws
from spapi_emulator import Emulator, load_default_seed
from tests.integration.conftest import QUOTA_SPEEDUP, RETRY_SPEEDUP, Stack

ROLE = "arn:aws:iam::123456789012:role/buyer-messaging-local-functions"
# A handler that needs this much CPU of its own (thread time, whatever else runs), then answers.
CPU_BOUND = """
import time


def lambda_handler(event, context):
    until = time.thread_time() + event["cpuSeconds"]
    while time.thread_time() < until:
        pass
    return {"done": event["n"]}
"""
SLEEPER = """
import time


def lambda_handler(event, context):
    time.sleep(event["seconds"])
    return {"done": event["n"]}
"""


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalStack]:
    """The template deployed, with the local stack's defaults (slots, concurrency) and Retry/Wait at 10x."""
    seed = load_default_seed()
    with Emulator(seed, speedup=QUOTA_SPEEDUP) as emulator, in_process_aws():
        target = SpApiTarget(emulator.base_url, emulator.token_url, emulator.upload_host, seed.credentials.as_secret())
        stack = LocalStack(target, retry_speedup=10)
        stack.deploy()
        try:
            yield stack
        finally:
            stack.close()


def _function(local: LocalStack, tmp_path: Path, name: str, code: str) -> str:
    """A function of the test's own, run in-process like the template's; its ARN."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "app.py").write_text(code, encoding="utf-8")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(folder / "app.py", "app.py")
    created = local.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=ROLE,
        Handler="app.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=30,
    )
    local.lambdas.register(LocalFunction(name, folder, "app.lambda_handler", 128, 30))
    return str(created["FunctionArn"])


def _state_machine(local: LocalStack, name: str, states: dict[str, Any], start: str) -> str:
    definition = {"StartAt": start, "States": states}
    created = local.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE.replace("functions", "states")
    )
    return str(created["stateMachineArn"])


def _run_all(local: LocalStack, machine: str, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sfn = local.client("stepfunctions")
    arns = [
        sfn.start_execution(stateMachineArn=machine, name=f"run-{n}", input=json.dumps(document))["executionArn"]
        for n, document in enumerate(inputs)
    ]
    return [local.wait_for(arn, timeout_seconds=120) for arn in arns]


def _task(function_arn: str, timeout_seconds: int, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
        "OutputPath": "$.Payload",
        "TimeoutSeconds": timeout_seconds,
        "End": True,
        **extra,
    }


def test_a_burst_of_tasks_is_not_timed_out_by_the_stacks_own_load(local: LocalStack, tmp_path: Path) -> None:
    """40 tasks of 0.15 s of CPU each, TimeoutSeconds 4: run all at once in one interpreter, each would take ~6 s
    and time out; each has a slot of its own time now (~0.6 s with the stack's four slots sharing the GIL), and
    the wait for a slot is not its time. The margin (4 s against 0.6 s) holds on a host that other processes
    slow several times; 20 tasks against 2 s failed there."""
    function = _function(local, tmp_path, "cpu-bound", CPU_BOUND)
    machine = _state_machine(local, "burst", {"Work": _task(function, 4)}, "Work")

    ended = _run_all(local, machine, [{"n": n, "cpuSeconds": 0.15} for n in range(40)])

    assert [(described["status"], described.get("error")) for described in ended] == [("SUCCEEDED", None)] * 40
    assert [json.loads(described["output"]) for described in ended] == [{"done": n} for n in range(40)]
    assert local.lambdas.peak_running == local.lambdas.slots


def test_beyond_a_functions_concurrency_lambda_answers_too_many_requests_and_the_retry_gets_through(
    local: LocalStack, tmp_path: Path
) -> None:
    function = _function(local, tmp_path, "sleeper", SLEEPER)
    local.client("lambda").put_function_concurrency(FunctionName="sleeper", ReservedConcurrentExecutions=1)
    retry = [
        {
            "ErrorEquals": ["Lambda.TooManyRequestsException"],
            "IntervalSeconds": 1,
            "BackoffRate": 1.0,
            "MaxAttempts": 20,
        }
    ]
    machine = _state_machine(local, "throttled", {"Work": _task(function, 10, Retry=retry)}, "Work")

    ended = _run_all(local, machine, [{"n": n, "seconds": 0.3} for n in range(3)])

    assert [described["status"] for described in ended] == ["SUCCEEDED"] * 3
    sfn = local.client("stepfunctions")
    refusals = [
        event["taskFailedEventDetails"]
        for described in ended
        for event in sfn.get_execution_history(executionArn=described["executionArn"])["events"]
        if event["type"] == "TaskFailed"
    ]
    assert refusals, "no invocation was refused"
    assert {refusal["error"] for refusal in refusals} == {"Lambda.TooManyRequestsException"}
    assert all("Status Code: 429" in refusal["cause"] for refusal in refusals)
    assert local.lambdas.throttled == len(refusals)


def test_wait_states_run_at_the_stacks_speedup_like_retries(local: LocalStack) -> None:
    machine = _state_machine(
        local, "waits", {"Pause": {"Type": "Wait", "Seconds": 20, "Next": "Done"}, "Done": {"Type": "Succeed"}}, "Pause"
    )
    began = time.monotonic()

    (ended,) = _run_all(local, machine, [{}])

    assert ended["status"] == "SUCCEEDED"
    assert time.monotonic() - began < 10  # 20 s at 10x: 2 s


def test_a_burst_of_invoices_through_the_state_machine_is_delivered_in_slots(stack: Stack) -> None:
    """Invoices dropped at once in the outbox: every one delivered once, no step ran past its time, and never
    more handlers ran at once than the stack has slots."""
    for n in range(24):
        stack.put(f"outbox/ATVPDKIKX0DER/123-1234567-1234567/invoice/Invoice-{n}.pdf", b"%PDF-1.4\n%%EOF\n")

    ended = stack.finished(24)

    assert [(described["status"], described.get("error")) for described in ended] == [("SUCCEEDED", None)] * 24
    assert sorted(a["fileName"] for d in stack.emulator.deliveries() for a in d["attachments"]) == sorted(
        f"Invoice-{n}.pdf" for n in range(24)
    )
    assert stack.local.lambdas.peak_running <= stack.local.lambdas.slots
    assert RETRY_SPEEDUP > 1  # the conftest's stack, Retry intervals sped up
