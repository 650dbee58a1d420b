"""moto's Step Functions timing, made to match AWS on a local stack whose Lambdas share one process.

**A task's TimeoutSeconds counts the task's own time.** On AWS every Lambda invocation has a container of its
own: hundreds of executions at once do not make one invocation slower. The local stack runs the handlers
in-process on a few slots (:mod:`local_stack.lambdas`); an invocation that waits for a free slot is not
running, and that wait must not count against its state's ``TimeoutSeconds`` (or a burst of messages ends in
``States.Timeout`` that AWS would never give). moto 5.2.5's ``ExecutionState._evaluate_with_timeout`` waits
``terminated_event.wait(timeout_seconds)``; it is replaced by the same method whose wait leaves out the time
the task's invocation spent :func:`paused` (a :class:`TaskTimer` per task attempt, found by the invoking thread).

**Wait states run at the stack's speedup**, like the Retry intervals (:meth:`LocalStack._scale_time`): moto
waits a Wait state's seconds in real time (``WaitFunction._wait_interval``).

Both originals are checked by the SHA-256 of their source when installed (and by tests/unit/test_library_internals.py
before any stack runs): a moto whose code moved fails loudly (``RuntimeError``) instead of being patched blindly.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.utils import TMP_THREADS

CHECKED_MOTO = "5.2.5"
_EVALUATE_WITH_TIMEOUT_SHA256 = "c56deda08a42e98d3958bfb2ab95de74c7ec7a515085614a80e1ea4948722485"
_WAIT_INTERVAL_SHA256 = "8f954dee80372b4b8233918f4d94810949f402cb3ddd2361ef4cbd9719d02253"
_current = threading.local()


class TaskTimer:
    """One task attempt's clock against its TimeoutSeconds: real time, less the time it was paused."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._started = time.monotonic()
        self._paused_for = 0.0
        self._paused_at: float | None = None
        self._lock = threading.Lock()

    def pause(self) -> None:
        with self._lock:
            if self._paused_at is None:
                self._paused_at = time.monotonic()

    def resume(self) -> None:
        with self._lock:
            if self._paused_at is not None:
                self._paused_for += time.monotonic() - self._paused_at
                self._paused_at = None

    def remaining(self) -> float:
        with self._lock:
            now = time.monotonic()
            paused = self._paused_for + (now - self._paused_at if self._paused_at is not None else 0.0)
            return self.seconds - (now - self._started - paused)

    def wait(self, finished: threading.Event) -> bool:
        """Whether ``finished`` was set before the task's own time ran out."""
        while True:
            left = self.remaining()
            if left <= 0:
                return finished.is_set()
            if finished.wait(left):
                return True


@contextmanager
def paused() -> Iterator[None]:
    """The calling task's timer stands still for the block (no timer outside a task: nothing to pause)."""
    timer: TaskTimer | None = getattr(_current, "timer", None)
    if timer is None:
        yield
        return
    timer.pause()
    try:
        yield
    finally:
        timer.resume()


def _evaluate_with_timeout(self: ExecutionState, env: Any) -> None:
    """moto 5.2.5's ``ExecutionState._evaluate_with_timeout``, but timed by a :class:`TaskTimer`."""
    self.timeout.eval(env=env)
    timeout_seconds: int = env.stack.pop()

    frame = env.open_frame()
    frame.states.reset(input_value=env.states.get_input())
    frame.stack = copy.deepcopy(env.stack)
    execution_outputs: list[Any] = []
    execution_exceptions: list[Exception | None] = [None]
    terminated_event = threading.Event()
    timer = TaskTimer(timeout_seconds)

    def _exec_and_notify() -> None:
        _current.timer = timer
        try:
            self._eval_execution(frame)
            execution_outputs.extend(frame.stack)
        except Exception as ex:
            execution_exceptions.append(ex)
        finally:
            _current.timer = None
        terminated_event.set()

    thread = threading.Thread(target=_exec_and_notify, daemon=True)
    TMP_THREADS.append(thread)
    thread.start()

    finished_on_time = timer.wait(terminated_event)
    frame.set_ended()
    env.close_frame(frame)

    execution_exception = execution_exceptions.pop()
    if execution_exception:
        raise execution_exception

    if not finished_on_time:
        raise EvalTimeoutError()

    execution_output = execution_outputs.pop()
    env.stack.append(execution_output)

    if not self._is_language_query_jsonpath():
        env.states.set_result(execution_output)

    if self.assign_decl:
        self.assign_decl.eval(env=env)

    if self.result_selector:
        self.result_selector.eval(env=env)

    if self.result_path:
        self.result_path.eval(env)
    else:
        res = env.stack.pop()
        env.states.reset(input_value=res)


def _scaled_wait_interval(speedup: float) -> Callable[[WaitFunction, Any, int], None]:
    def wait_interval(self: WaitFunction, env: Any, wait_seconds: int) -> None:
        """A Wait state's seconds, ``speedup`` times faster; ends early when the execution stops."""
        deadline = time.monotonic() + max(wait_seconds, 0) / speedup
        while env.is_running() and (left := deadline - time.monotonic()) > 0:
            env.program_state_event.wait(left)

    return wait_interval


def _checked(function: Callable[..., Any], expected: str) -> None:
    digest = hashlib.sha256(inspect.getsource(function).encode()).hexdigest()
    if digest != expected:
        raise RuntimeError(
            f"moto's {function.__qualname__} is not the one local_stack.task_time was written against (moto"
            f" {CHECKED_MOTO}): read the new one and update the replacement."
        )


class _SharedTimer:
    """The one replacement of moto's method, counted: several local stacks in one process share it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._original: Any = None

    def acquire(self) -> None:
        with self._lock:
            if self._users == 0:
                _checked(ExecutionState._evaluate_with_timeout, _EVALUATE_WITH_TIMEOUT_SHA256)
                self._original = ExecutionState._evaluate_with_timeout
                ExecutionState._evaluate_with_timeout = _evaluate_with_timeout  # type: ignore[method-assign]
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                ExecutionState._evaluate_with_timeout = self._original  # type: ignore[method-assign]


_shared_timer = _SharedTimer()


def install_task_timer() -> Callable[[], None]:
    """TimeoutSeconds without the paused time, until the returned function is called (once)."""
    _shared_timer.acquire()
    done = threading.Event()

    def restore() -> None:
        if not done.is_set():
            done.set()
            _shared_timer.release()

    return restore


def install_wait_speedup(speedup: float) -> Callable[[], None]:
    """Wait states ``speedup`` times faster, until the returned function is called."""
    original = WaitFunction._wait_interval
    _checked(original, _WAIT_INTERVAL_SHA256)
    WaitFunction._wait_interval = _scaled_wait_interval(speedup)  # type: ignore[method-assign,assignment]

    def restore() -> None:
        WaitFunction._wait_interval = original  # type: ignore[method-assign]

    return restore
