"""Runs moto's Lambda invocations in-process with the real handler code (no Docker).

moto's ``LambdaFunction._invoke_lambda(self, event)`` returns ``(payload_json, errored, logs)`` (a private method,
checked against moto 5.2.5 by tests/unit/test_library_internals.py); it is replaced so that a function whose
name is registered here runs its ``app.py`` handler in this process.
An exception becomes ``{"errorType": <class name>, "errorMessage": <message>}`` with ``errored=True``,
which is how Step Functions sees a function error, so the state machine's Retry and Catch match the
error names exactly as on AWS. Each invocation's Powertools state is its own, as in a container of its own
(:mod:`local_stack.containers`).

Concurrency, as Lambda has it and as one process can bear:

- **Lambda's concurrency limit**: invocations in flight beyond the account's limit (``concurrency``, AWS's
  default 1,000 per region) or a function's reserved concurrency (``put_function_concurrency``) are refused
  with ``TooManyRequestsException`` (HTTP 429, its ``Reason`` as Lambda gives it), which Step Functions
  names ``Lambda.TooManyRequestsException`` and the state machine retries.
- **Slots**: at most ``slots`` handlers run at once. On AWS each invocation has a container of its own; here
  every handler shares one interpreter, and hundreds run at once made each one hundreds of times slower, past
  its state's TimeoutSeconds (a burst of 300 messages ended 80 executions in ``States.Timeout``, some of them
  already delivered). An invocation waits for a free slot instead, and that wait does not count against its
  state's TimeoutSeconds (:func:`local_stack.task_time.paused`): the task's time is its own work, as on AWS.
  The slots are shared fairly among sellers (:class:`local_stack.fairness.FairSlots`): on AWS one seller's burst of
  invocations never makes another seller's wait for a container, so a seller running no handler starts one at
  once, and a freed slot goes to the seller whose turn it is, round robin, not to whichever invocation came first
  (a burst of 300 for seller A queued in front of seller B's every step). The seller of a handler is the one its
  event names; the thread acts for it while the handler runs (what the DynamoDB lock's turns read).
"""

from __future__ import annotations

import importlib.util
import io
import json
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.core.exceptions import JsonRESTError

from local_stack import task_time
from local_stack.containers import Containers
from local_stack.fairness import FairSlots, acting_for, tenant_of

# AWS's default concurrency limit per account and region.
ACCOUNT_CONCURRENCY = 1000
# Handlers running at once: enough for the Map's attachments and a slow answer or two, few enough that a burst
# does not make each one many times slower (they share one interpreter).
DEFAULT_SLOTS = 4


class TooManyRequestsException(JsonRESTError):
    """Lambda's answer to an invocation beyond the concurrency limit (429, with the ``Reason`` Lambda gives)."""

    code = 429

    def __init__(self, reason: str) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.description = json.dumps(
            {"__type": "TooManyRequestsException", "message": "Rate Exceeded.", "Reason": reason, "Type": "User"}
        )


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

    def __init__(self, *, slots: int = DEFAULT_SLOTS, concurrency: int = ACCOUNT_CONCURRENCY) -> None:
        if slots < 1 or concurrency < 1:
            raise ValueError(f"slots and concurrency must be at least 1, not {slots} and {concurrency}")
        self._functions: dict[str, LocalFunction] = {}
        self._lock = threading.Lock()
        self.invocations: list[Invocation] = []
        self._original: Any = None
        self._containers = Containers()
        self._restore_timer: Callable[[], None] | None = None
        self.slots = slots
        self.concurrency = concurrency
        self._free_slots = FairSlots(slots, idle_tenant_starts=True)
        self._in_a_slot = threading.local()
        self._in_flight: dict[str, int] = {}
        self.throttled = 0  # invocations refused with TooManyRequestsException
        self.running = 0  # handlers in a slot now
        self.peak_running = 0  # the most that ever ran at once

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
        self._restore_timer = task_time.install_task_timer()
        self._original = LambdaFunction._invoke_lambda
        registry = self

        def invoke(moto_function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            local = registry._functions.get(moto_function.function_name)
            if local is None:
                return registry._original(moto_function, event)  # type: ignore[no-any-return]
            with registry._admitted(local.name, moto_function.reserved_concurrency):
                return registry.invoke(local, event)

        LambdaFunction._invoke_lambda = invoke  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            LambdaFunction._invoke_lambda = self._original  # type: ignore[method-assign]
            self._original = None
            self._containers.uninstall()
            if self._restore_timer is not None:
                self._restore_timer()
                self._restore_timer = None

    @contextmanager
    def _admitted(self, name: str, reserved: object) -> Iterator[None]:
        """One invocation in flight (running or waiting for a slot), or TooManyRequestsException beyond the limit."""
        with self._lock:
            total = sum(self._in_flight.values())
            mine = self._in_flight.get(name, 0)
            reason = None
            if reserved is not None and mine >= int(str(reserved)):
                reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
            elif total >= self.concurrency:
                reason = "ConcurrentInvocationLimitExceeded"
            if reason is not None:
                self.throttled += 1
                raise TooManyRequestsException(reason)
            self._in_flight[name] = mine + 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[name] -= 1

    @contextmanager
    def _slot(self, tenant: str = "") -> Iterator[None]:
        """A slot to run in, in ``tenant``'s turn; the wait for one is not the task's time. A thread that holds one
        keeps it."""
        if getattr(self._in_a_slot, "held", False):
            yield
            return
        if not self._free_slots.try_acquire(tenant):
            with task_time.paused():
                self._free_slots.acquire(tenant)
        self._in_a_slot.held = True
        with self._lock:
            self.running += 1
            self.peak_running = max(self.peak_running, self.running)
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
            self._in_a_slot.held = False
            self._free_slots.release(tenant)

    def invoke(self, function: LocalFunction, event: Any) -> tuple[str, bool, str]:
        # moto hands over the payload already parsed (a JSON string payload arrives as a str), except an
        # empty payload, which it passes as the text "{}".
        if isinstance(event, bytes):
            event = json.loads(event or b"{}")
        elif event is None or event == "{}":
            event = {}
        context = LambdaContext(function.name, function.memory_mb, function.timeout_seconds)
        logs = io.StringIO()
        tenant = tenant_of(event)
        try:
            with acting_for(tenant), self._slot(tenant):
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
