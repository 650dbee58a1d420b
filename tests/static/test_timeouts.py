"""Timeouts in order: a state's TimeoutSeconds above its function's Lambda timeout, above the longest time the
function's calls to Amazon may take with the default SP-API timeouts (config.py).

Then a state times out only when Amazon itself does not answer, and a send whose answer never comes ends in
the client's own read timeout (SendOutcomeUnknown, "may have reached the buyer"), never in a Lambda or state
timeout that would be recorded as a plain failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from buyer_messaging.config import (
    DEFAULT_CONNECT_TIMEOUT_SECONDS,
    DEFAULT_READ_TIMEOUT_SECONDS,
    Settings,
)
from tests.support import ROOT

pytestmark = pytest.mark.static

ASL_PATH = ROOT / "statemachine" / "send_message.asl.json"
# What a function does besides calling Amazon (DynamoDB, S3, Secrets Manager, EventBridge, the body of a PUT):
# seconds its Lambda timeout keeps beyond its calls' timeouts.
OWN_WORK_SECONDS = 30
# Between a Lambda timeout and the state's: the function's init phase (up to 10 s, not part of its timeout) and
# the invocation's way there and back.
STATE_MARGIN_SECONDS = 30
# Per function the state machine invokes: (SP-API operations, presigned PUTs) one invocation makes at most.
AMAZON_CALLS = {
    "ListActionsFunction": (1, 0),  # getMessagingActionsForOrder
    "HashAttachmentFunction": (0, 0),  # S3 only
    "CreateDestinationFunction": (1, 0),  # createUploadDestinationForResource
    # A destination re-created before the PUT (expired) and once more during it (workflow.upload_attachment).
    "UploadAttachmentFunction": (2, 2),
    "SendMessageFunction": (1, 0),  # the message type's operation
    "RecordOutcomeFunction": (0, 0),  # DynamoDB, S3 tags, EventBridge
}


def _default_settings() -> Settings:
    return Settings.from_env({})


def _task_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        for nested in (state.get("ItemProcessor") or state.get("Iterator") or {},):
            if nested:
                yield from _task_states(nested["States"])
        for branch in state.get("Branches", []):
            yield from _task_states(branch["States"])


def _function_of(state: dict[str, Any], template: dict[str, Any]) -> str:
    """The logical id of the function a Task state invokes, through DefinitionSubstitutions."""
    reference = state["Parameters"]["FunctionName"]
    assert reference.startswith("${") and reference.endswith("}"), reference
    substitutions = template["Resources"]["SendMessageStateMachine"]["Properties"]["DefinitionSubstitutions"]
    target = substitutions[reference[2:-1]]
    logical, attribute = target["Fn::GetAtt"]
    assert attribute == "Arn"
    return str(logical)


def _lambda_timeout(template: dict[str, Any], logical: str) -> int:
    properties = template["Resources"][logical]["Properties"]
    return int(properties.get("Timeout", template["Globals"]["Function"]["Timeout"]))


def test_the_defaults_are_the_documented_ones() -> None:
    settings = _default_settings()
    assert (settings.connect_timeout_seconds, settings.read_timeout_seconds) == (5.0, 30.0)
    assert (DEFAULT_CONNECT_TIMEOUT_SECONDS, DEFAULT_READ_TIMEOUT_SECONDS) == (5.0, 30.0)
    assert settings.spapi_call_seconds() == 140.0  # LWA + call, and both again after a refused token
    assert settings.upload_timeout == (5.0, 60.0)


def test_every_task_state_times_out_after_its_function_and_the_function_after_its_calls_to_amazon(
    template: dict[str, Any],
) -> None:
    asl = json.loads(ASL_PATH.read_text(encoding="utf-8"))
    settings = _default_settings()
    put_seconds = sum(settings.upload_timeout)
    problems = []
    invoked = set()
    for name, state in _task_states(asl["States"]):
        logical = _function_of(state, template)
        invoked.add(logical)
        spapi_calls, puts = AMAZON_CALLS[logical]
        amazon = spapi_calls * settings.spapi_call_seconds() + puts * put_seconds
        function_timeout = _lambda_timeout(template, logical)
        state_timeout = state.get("TimeoutSeconds")
        if function_timeout < amazon + OWN_WORK_SECONDS:
            problems.append(
                f"{logical}: Lambda Timeout {function_timeout} s < {amazon:g} s of calls to Amazon"
                f" + {OWN_WORK_SECONDS} s of its own work"
            )
        if state_timeout is None or state_timeout < function_timeout + STATE_MARGIN_SECONDS:
            problems.append(
                f"{name}: TimeoutSeconds {state_timeout} < {logical}'s Lambda Timeout {function_timeout} s"
                f" + {STATE_MARGIN_SECONDS} s"
            )
    assert problems == []
    assert invoked == set(AMAZON_CALLS)


def test_the_budget_follows_the_settings() -> None:
    settings = Settings.from_env({"SPAPI_CONNECT_TIMEOUT": "2", "SPAPI_READ_TIMEOUT": "10"})
    assert settings.spapi_call_seconds() == 48.0
    assert settings.upload_timeout == (2.0, 60.0)
