"""Runs moto's Lambda invocations in-process with the real handler code (no Docker).

moto's ``LambdaFunction._invoke_lambda(self, event)`` returns ``(payload_json, errored, logs)``; it is
replaced so that a function whose name is registered here runs its ``app.py`` handler in this process.
An exception becomes ``{"errorType": <class name>, "errorMessage": <message>}`` with ``errored=True``,
which is how Step Functions sees a function error, so the state machine's Retry and Catch match the
error names exactly as on AWS. Each invocation's Powertools state is its own, as in a container of its own
(:mod:`local_stack.containers`).
"""

from __future__ import annotations

import importlib.util
import io
import json
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.awslambda.models import LambdaFunction

from local_stack.containers import Containers


@dataclass
class LambdaContext:
    """The parts of the Lambda context object the handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


@dataclass
class Invocation:
    """One in-process invocation, kept for inspection (timelines, tests)."""

    function_name: str
    event: Any
    result: Any
    error_type: str | None


@dataclass
class LocalFunction:
    name: str
    code_dir: Path
    handler: str
    memory_mb: int
    timeout_seconds: int
    _module: ModuleType | None = None
    # The Map's iterations call a function on several threads at once: its module is loaded once, by one.
    _loading: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def load(self) -> Callable[[Any, Any], Any]:
        module_name, _, attribute = self.handler.rpartition(".")
        with self._loading:
            return getattr(self._loaded(module_name), attribute)  # type: ignore[no-any-return]

    def _loaded(self, module_name: str) -> ModuleType:
        if self._module is None:
            path = self.code_dir / f"{module_name}.py"
            # Every handler is app.py: each gets a module name of its own.
            spec = importlib.util.spec_from_file_location(f"local_lambda_{self.name.replace('-', '_')}", path)
            if spec is None or spec.loader is None:
                raise FileNotFoundError(path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._module = module
        return self._module


class InProcessLambdas:
    """The registry moto's patched invoke consults; install() patches, uninstall() restores."""

    def __init__(self) -> None:
        self._functions: dict[str, LocalFunction] = {}
        self._lock = threading.Lock()
        self.invocations: list[Invocation] = []
        self._original: Any = None
        self._containers = Containers()

    def register(self, function: LocalFunction) -> None:
        self._functions[function.name] = function

    def function(self, name: str) -> LocalFunction:
        """A registered function (its handler runs in this process: ``function(name).load()(event, context)``)."""
        return self._functions[name]

    def install(self) -> None:
        if self._original is not None:
            return
        from buyer_messaging.observability import logger, metrics

        self._containers.install(metrics, logger)
        self._original = LambdaFunction._invoke_lambda
        registry = self

        def invoke(moto_function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            local = registry._functions.get(moto_function.function_name)
            if local is None:
                return registry._original(moto_function, event)  # type: ignore[no-any-return]
            return registry.invoke(local, event)

        LambdaFunction._invoke_lambda = invoke  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            LambdaFunction._invoke_lambda = self._original  # type: ignore[method-assign]
            self._original = None
            self._containers.uninstall()

    def invoke(self, function: LocalFunction, event: Any) -> tuple[str, bool, str]:
        # moto hands over the payload already parsed (a JSON string payload arrives as a str), except an
        # empty payload, which it passes as the text "{}".
        if isinstance(event, bytes):
            event = json.loads(event or b"{}")
        elif event is None or event == "{}":
            event = {}
        context = LambdaContext(function.name, function.memory_mb, function.timeout_seconds)
        logs = io.StringIO()
        try:
            result = function.load()(event, context)
        except Exception as error:
            logs.write(traceback.format_exc())
            payload = {"errorType": type(error).__name__, "errorMessage": str(error)}
            self._record(Invocation(function.name, event, payload, type(error).__name__))
            return json.dumps(payload), True, logs.getvalue()
        self._record(Invocation(function.name, event, result, None))
        return json.dumps(result), False, logs.getvalue()

    def _record(self, invocation: Invocation) -> None:
        with self._lock:
            self.invocations.append(invocation)
