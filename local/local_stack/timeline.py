"""A readable timeline of one execution: each state, its duration, its retries, from the event history."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_FAILED_TASK_EVENTS = {"TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut"}


@dataclass
class StateRun:
    name: str
    kind: str
    entered: datetime
    iteration: int | None = None
    exited: datetime | None = None
    failures: list[str] = field(default_factory=list)  # error names of failed attempts, retried or not

    @property
    def duration_ms(self) -> float | None:
        if self.exited is None:
            return None
        return (self.exited - self.entered).total_seconds() * 1000

    @property
    def retries(self) -> int:
        """Attempts after the first; a last failure that ended the state is not a retry."""
        if self.exited is None:
            return max(len(self.failures) - 1, 0)
        return len(self.failures)


@dataclass
class Timeline:
    execution_name: str
    status: str
    started: datetime
    stopped: datetime | None
    states: list[StateRun]
    error: str | None = None
    cause: str | None = None

    @property
    def duration_ms(self) -> float | None:
        return None if self.stopped is None else (self.stopped - self.started).total_seconds() * 1000


def build(description: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> Timeline:
    """``description`` from DescribeExecution, ``events`` from GetExecutionHistory (oldest first)."""
    by_id: dict[int, Mapping[str, Any]] = {}
    open_runs: dict[tuple[str, int | None], list[StateRun]] = {}
    runs: list[StateRun] = []
    iteration_of: dict[int, int | None] = {}
    for event in events:
        event_id = int(event.get("id", 0))
        by_id[event_id] = event
        kind = str(event["type"])
        iteration = _iteration(event, by_id, iteration_of)
        iteration_of[event_id] = iteration
        if kind.endswith("StateEntered"):
            entered = event["stateEnteredEventDetails"]
            run = StateRun(entered["name"], kind.removesuffix("StateEntered"), event["timestamp"], iteration)
            runs.append(run)
            open_runs.setdefault((run.name, iteration), []).append(run)
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            pending = open_runs.get((name, iteration))
            if pending:
                pending.pop(0).exited = event["timestamp"]
        elif kind in _FAILED_TASK_EVENTS:
            failure: Mapping[str, Any] = next(
                (value for key, value in event.items() if key.endswith("EventDetails")), {}
            )
            candidates = [
                run for run in runs if run.exited is None and run.kind == "Task" and run.iteration == iteration
            ]
            if candidates:
                candidates[-1].failures.append(str(failure.get("error", kind)))
    error, cause = description.get("error"), description.get("cause")
    return Timeline(
        execution_name=str(description["name"]),
        status=str(description["status"]),
        started=description["startDate"],
        stopped=description.get("stopDate"),
        states=runs,
        error=str(error) if error else None,
        cause=str(cause) if cause else None,
    )


def _iteration(
    event: Mapping[str, Any], by_id: Mapping[int, Mapping[str, Any]], iteration_of: Mapping[int, int | None]
) -> int | None:
    """The Map iteration an event belongs to, following previousEventId back to MapIterationStarted."""
    kind = event["type"]
    if kind == "MapIterationStarted":
        return int(event["mapIterationStartedEventDetails"]["index"])
    if kind in ("MapStateExited", "MapStateSucceeded", "MapStateFailed", "MapStateAborted"):
        return None
    previous = event.get("previousEventId")
    if previous is None or int(previous) not in by_id:
        return None
    previous_event = by_id[int(previous)]
    if previous_event["type"] in ("MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"):
        return None
    return iteration_of.get(int(previous))


def render(timeline: Timeline) -> list[str]:
    """Lines for a terminal: one per state run, indented inside the Map, with retries."""
    total = f"{timeline.duration_ms:,.0f} ms" if timeline.duration_ms is not None else "still running"
    lines = [f"{timeline.status:<9} {timeline.execution_name}  ({total})"]
    for run in timeline.states:
        if run.kind in ("Succeed", "Fail"):
            lines.append(f"    {run.name}")
            continue
        label = f"[{run.iteration}] {run.name}" if run.iteration is not None else run.name
        indent = "      " if run.iteration is not None else "    "
        duration = f"{run.duration_ms:>7,.0f} ms" if run.duration_ms is not None else "      —   "
        note = ""
        if run.failures:
            note = f"  retried {run.retries}x ({', '.join(sorted(set(run.failures)))})" if run.retries else ""
            if run.exited is None or run.retries < len(run.failures):
                note += f"  failed: {run.failures[-1]}"
        lines.append(f"{indent}{label:<{40 - len(indent)}}{duration}{note}")
    if timeline.error:
        lines.append(f"    error: {timeline.error}")
        lines.append(f"    cause: {_readable_cause(timeline.cause)}")
    return lines


def _readable_cause(cause: str | None) -> str:
    if not cause:
        return "(none)"
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed["errorMessage"])
    return cause
