"""What each handler and each workflow step imports when Lambda loads it: only what it uses (checked in fresh
processes, against the imports written at the top of the modules)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Tracer

from buyer_messaging import observability
from buyer_messaging.errors import InvalidRequest
from tests import support

PACKAGE = support.ROOT / "layers/shared/buyer_messaging"
# The functions behind the HTTP APIs: routes, not a workflow step (each has a test of its own below).
HTTP_API_FUNCTIONS = ("api", "onboard_seller")
# Every other function: the folders of functions/.
HANDLERS = tuple(
    sorted(
        path.parent.name
        for path in (support.ROOT / "functions").glob("*/app.py")
        if path.parent.name not in HTTP_API_FUNCTIONS
    )
)
# The workflow's steps: the modules of buyer_messaging/workflow/.
STEPS = tuple(sorted(path.stem for path in (PACKAGE / "workflow").glob("*.py") if path.stem != "__init__"))
# The functions that never call over HTTP (only AWS through botocore).
WITHOUT_HTTP = ("start_workflow", "hash_attachment", "record_outcome")
WATCHED = ("requests", "boto3", "botocore.client", "aws_xray_sdk.core", "wrapt", "asyncio", "sqlite3", "pydantic")
TRACE_HEADER = "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"


def _module_file(name: str) -> Path | None:
    """The source of one of our modules (``buyer_messaging...``), or None for a name that is no module of ours."""
    if name != "buyer_messaging" and not name.startswith("buyer_messaging."):
        return None
    path = PACKAGE.parent.joinpath(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _top_imports(name: str) -> set[str]:
    """Our modules that ``name`` imports at its top (not in a function, not for type checking only), with the
    packages Python runs on the way (``buyer_messaging.workflow`` before ``buyer_messaging.workflow.send_message``)."""
    file = _module_file(name)
    assert file is not None, name
    found: set[str] = set()
    for node in ast.parse(file.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    modules = {module for module in found if _module_file(module) is not None}
    return modules | {parent for module in modules for parent in _parents(module)}


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def _written_closure(*names: str) -> set[str]:
    """Our modules that importing ``names`` loads, read from the imports written at the top of each module."""
    seen: set[str] = set()
    todo = [*names, *(parent for name in names for parent in _parents(name))]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_top_imports(name) - seen)
    return seen


def _handler_closure(handler: str) -> set[str]:
    """Our modules that a handler's ``app.py`` loads, by its own top imports and theirs."""
    tree = ast.parse((support.ROOT / "functions" / handler / "app.py").read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("buyer_messaging"):
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    return _written_closure(*(module for module in imported if _module_file(module) is not None))


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


# The X-Ray SDK's patch wraps botocore's private BaseClient._make_api_call (botocore 1.44.8) and requests' public
# Session.request: a wrapper has __wrapped__. tests/unit/test_library_internals.py checks the botocore method.
_PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
loaded = {name: name in sys.modules for name in json.loads(sys.argv[2])}
ours = sorted(name for name in sys.modules if name.startswith("buyer_messaging"))
from buyer_messaging import observability
tracer = type(observability.tracer).__name__
tracer_disabled = observability.tracer.disabled
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
print(json.dumps({"loaded": loaded, "tracer": tracer, "tracer_disabled": tracer_disabled,
                  "botocore_traced": botocore_traced,
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
    assert found["tracer_disabled"] is False
    assert found["botocore_traced"]  # every function calls AWS: patched from the start
    loaded = found["loaded"]
    # requests comes with the first HTTP session (the SP-API functions' first call), not with the module.
    assert not loaded["requests"]
    # Only botocore and requests are traced: nothing else the X-Ray SDK could patch is imported for it.
    assert not loaded["sqlite3"]
    assert not loaded["pydantic"]
    # Of our package, exactly what the handler's and its step's top imports name: one step, no other.
    ours = set(found["ours"])
    steps = sorted(name for name in ours if name.startswith("buyer_messaging.workflow."))
    assert len(steps) == 1, f"functions/{handler}/app.py loads the step modules {steps}: it must load its own only"
    assert ours == _handler_closure(handler), (
        f"functions/{handler}/app.py loads {sorted(ours - _handler_closure(handler))} that no top-level import names"
        f" and not {sorted(_handler_closure(handler) - ours)} that one names"
    )


def test_the_api_function_loads_neither_pydantic_nor_an_adapter_before_a_route_needs_it() -> None:
    found = _load("api")

    assert found["botocore_traced"]
    loaded = found["loaded"]
    # Requests are read with the package's own readers; pydantic only makes GET /openapi.json. The payload models
    # (their classes cost about 5 ms to build) load when a message is submitted, not for every page and status.
    assert not loaded["pydantic"]
    assert not loaded["requests"]
    assert not loaded["sqlite3"]
    api_basics = (
        *("", ".http_api", ".request_body", ".config", ".urls", ".errors", ".fields", ".observability"),
        *(".campaigns", ".campaigns.api", ".campaigns.keys"),  # the campaign routes load the manifest when they run
        ".seller_scope",  # a manifest key's seller segment (its registry loads when a request is resolved)
        ".resend",  # POST /resends loads the status record, Step Functions and S3 adapters when it runs
    )
    assert set(found["ours"]) == {f"buyer_messaging{name}" for name in api_basics}


def test_the_onboarding_function_loads_neither_requests_nor_pydantic_before_a_route_needs_it() -> None:
    found = _load("onboard_seller")

    assert found["botocore_traced"]
    loaded = found["loaded"]
    # Login with Amazon's session comes with the first code exchange, not with every page.
    assert not loaded["pydantic"]
    assert not loaded["requests"]
    assert not loaded["sqlite3"]


_STEP_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps({"ours": sorted(name for name in sys.modules if name.startswith("buyer_messaging")),
                  "loaded": {name: name in sys.modules for name in json.loads(sys.argv[2])}}))
"""


def _load_step(step: str) -> dict[str, Any]:
    """What importing one step module loads, alone in a fresh interpreter with Lambda's environment."""
    completed = subprocess.run(
        [sys.executable, "-c", _STEP_PROBE, f"buyer_messaging.workflow.{step}", json.dumps(WATCHED)],
        env=_lambda_environment(step),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=support.ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_every_function_has_a_step_module_of_its_name() -> None:
    # ValidateRequest's function keeps its deployed name (buyer_messaging/workflow/__init__.py says why).
    assert {"validate_request" if handler == "list_actions" else handler for handler in HANDLERS} == set(STEPS)


@pytest.mark.parametrize("step", STEPS)
def test_a_step_loads_no_other_step_and_only_what_its_top_imports_name(step: str) -> None:
    ours = set(_load_step(step)["ours"])

    others = sorted(name for name in ours if name.startswith("buyer_messaging.workflow.") and not name.endswith(step))
    assert not others, f"buyer_messaging.workflow.{step} loads the modules of other steps: {others}"
    # Nothing comes in by a side door (a package's __init__, a module that imports more than it names): what the
    # step loads is what the imports at the top of it, and of the modules it names, say.
    written = _written_closure(f"buyer_messaging.workflow.{step}")
    assert ours == written, (
        f"buyer_messaging.workflow.{step} loads {sorted(ours - written)} that no top-level import names, and not"
        f" {sorted(written - ours)}"
    )


@pytest.mark.parametrize("step", [step for step in STEPS if step in WITHOUT_HTTP])
def test_a_step_that_never_calls_over_http_loads_nothing_that_makes_an_http_session(step: str) -> None:
    """The hash step, the trigger and the outcome's step talk to AWS only: none of them may load the SP-API client,
    Login with Amazon, the uploads or the pacer, nor any other module that can open an HTTP session."""
    found = _load_step(step)

    assert not found["loaded"]["requests"]
    http_side = sorted(name for name in found["ours"] if "buyer_messaging.sessions" in _written_closure(name))
    assert not http_side, f"buyer_messaging.workflow.{step} loads {http_side}, which reach buyer_messaging.sessions"


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
def test_with_tracing_off_the_xray_recorder_is_not_even_imported(environment: dict[str, str]) -> None:
    found = _load("hash_attachment", make_session=True, **environment)

    # Powertools' Tracer, disabled, with a provider that imports nothing: the X-Ray SDK's recorder (and wrapt and
    # asyncio with it) stays out. Only the SDK's package face comes, where Powertools switches the SDK off.
    assert found["tracer"] == "Tracer"
    assert found["tracer_disabled"] is True
    for heavy in ("aws_xray_sdk.core", "wrapt", "asyncio"):
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
    # Powertools' own decision, which the rule mirrors to choose the Tracer's provider before Powertools decides:
    # a private method, checked against aws-lambda-powertools 3.37.0 (tests/unit/test_library_internals.py).
    assert observability.tracing_enabled() is not Tracer._is_tracer_disabled()


def test_with_tracing_off_the_tracer_is_powertools_own_and_leaves_answers_and_errors_as_they_are() -> None:
    tracer = observability.tracer  # this process is outside Lambda: tracing is off
    assert isinstance(tracer, Tracer)
    assert tracer.disabled
    assert isinstance(tracer.provider, observability.NoTracing)

    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event.get("fail"):
            raise InvalidRequest("The event is not an S3 notification (no Records list).")
        return {"answer": event["question"]}

    assert handler({"question": 42}, None) == {"answer": 42}
    with pytest.raises(InvalidRequest, match=r"^The event is not an S3 notification \(no Records list\)\.$"):
        handler({"fail": True}, None)
    tracer.patch(["requests"])  # a no-op while disabled
