"""What each handler imports when Lambda loads it: only what it uses (checked in fresh processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from buyer_messaging import observability
from tests import support

# Every function but the API's (which has a test of its own below): the folders of functions/.
HANDLERS = tuple(
    sorted(path.parent.name for path in (support.ROOT / "functions").glob("*/app.py") if path.parent.name != "api")
)
# The functions that never call over HTTP (only AWS through botocore).
WITHOUT_HTTP = ("start_workflow", "hash_attachment", "record_outcome")
# What every handler loads of our package when it starts; the rest comes with its step. The status record
# (status, table) is written by almost every step, and neither loads an SDK before its first call.
STEP_BASICS = (
    "",
    ".steps",
    ".config",
    ".urls",
    ".errors",
    ".models",
    ".observability",
    ".status",
    ".table",
    ".aws_clients",
)
WATCHED = ("requests", "boto3", "botocore.client", "aws_xray_sdk", "wrapt", "asyncio", "sqlite3", "pydantic")
TRACE_HEADER = "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"


def _lambda_environment(handler: str, **extra: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POWERTOOLS_", "AWS_SAM", "AWS_CHALICE", "_X_AMZN"))
    }
    environment.update(
        {
            "PYTHONPATH": os.pathsep.join(str(support.ROOT / part) for part in ("layers/shared", ".")),
            "LAMBDA_TASK_ROOT": str(support.ROOT / "functions" / handler),
            "AWS_LAMBDA_FUNCTION_NAME": handler,
            "AWS_REGION": "us-east-1",
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "POWERTOOLS_SERVICE_NAME": "buyer-messaging",
            "POWERTOOLS_METRICS_NAMESPACE": "BuyerMessaging",
            **extra,
        }
    )
    return environment


_PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
loaded = {name: name in sys.modules for name in json.loads(sys.argv[2])}
ours = sorted(name for name in sys.modules if name.startswith("buyer_messaging"))
from buyer_messaging import observability
tracer = type(observability.tracer).__name__
botocore_traced = False
if "botocore.client" in sys.modules:
    import botocore.client
    botocore_traced = hasattr(botocore.client.BaseClient._make_api_call, "__wrapped__")
requests_traced = None
if len(sys.argv) > 3:
    from buyer_messaging.sessions import new_session
    new_session()
    import requests
    requests_traced = hasattr(requests.Session.request, "__wrapped__")
print(json.dumps({"loaded": loaded, "tracer": tracer, "botocore_traced": botocore_traced,
                  "requests_traced": requests_traced, "ours": ours}))
"""


def _load(handler: str, *, make_session: bool = False, **environment: str) -> dict[str, Any]:
    command = [sys.executable, "-c", _PROBE, str(support.ROOT / "functions" / handler / "app.py"), json.dumps(WATCHED)]
    if make_session:
        command.append("session")
    completed = subprocess.run(
        command,
        env=_lambda_environment(handler, **environment),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=support.ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("handler", HANDLERS)
def test_a_handler_loads_traced_botocore_and_nothing_it_does_not_use(handler: str) -> None:
    found = _load(handler)

    assert found["tracer"] == "Tracer"  # Powertools' Tracer, as on Lambda
    assert found["botocore_traced"]  # every function calls AWS: patched from the start
    loaded = found["loaded"]
    # requests comes with the first HTTP session (the SP-API functions' first call), not with the module.
    assert not loaded["requests"]
    # Only botocore and requests are traced: nothing else the X-Ray SDK could patch is imported for it.
    assert not loaded["sqlite3"]
    assert not loaded["pydantic"]
    # The adapters (S3, SP-API, DynamoDB, Step Functions, validation, ...) come with the step that uses them.
    assert set(found["ours"]) <= {f"buyer_messaging{name}" for name in STEP_BASICS}


def test_the_api_function_loads_neither_pydantic_nor_an_adapter_before_a_route_needs_it() -> None:
    found = _load("api")

    assert found["botocore_traced"]
    loaded = found["loaded"]
    # Requests are read with the package's own readers; pydantic only makes GET /openapi.json.
    assert not loaded["pydantic"]
    assert not loaded["requests"]
    assert not loaded["sqlite3"]
    api_basics = ("", ".http_api", ".request_body", ".config", ".urls", ".errors", ".models", ".observability")
    assert set(found["ours"]) == {f"buyer_messaging{name}" for name in api_basics}


@pytest.mark.parametrize("handler", WITHOUT_HTTP)
def test_a_function_without_http_never_imports_requests(handler: str) -> None:
    assert not _load(handler)["loaded"]["requests"]


def test_the_first_http_session_turns_on_tracing_of_requests() -> None:
    found = _load("list_actions", make_session=True)

    assert found["requests_traced"] is True


@pytest.mark.parametrize(
    "environment",
    [{"POWERTOOLS_TRACE_DISABLED": "true"}, {"AWS_SAM_LOCAL": "true"}, {"LAMBDA_TASK_ROOT": ""}],
    ids=["trace-disabled", "sam-local", "outside-lambda"],
)
def test_with_tracing_off_the_xray_sdk_is_not_even_imported(environment: dict[str, str]) -> None:
    found = _load("hash_attachment", make_session=True, **environment)

    assert found["tracer"] == "_Untraced"
    for heavy in ("aws_xray_sdk", "wrapt", "asyncio"):
        assert not found["loaded"][heavy], heavy
    assert found["requests_traced"] is False


@pytest.mark.parametrize(
    ("environment", "enabled"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "true"}, False),
        ({}, False),
    ],
)
def test_tracing_is_on_exactly_where_powertools_would_trace(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], enabled: bool
) -> None:
    for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert observability.tracing_enabled() is enabled


def test_the_untraced_stand_in_leaves_a_handler_as_it_is() -> None:
    untraced = observability._Untraced()

    def handler(event: Any, context: Any) -> str:
        return "answer"

    assert untraced.capture_lambda_handler(capture_response=False)(handler) is handler
    assert untraced.capture_lambda_handler(handler) is handler
    untraced.patch(["requests"])  # a no-op, like Powertools' disabled Tracer
