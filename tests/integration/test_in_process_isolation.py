"""Each in-process invocation behaves as in its own Lambda container, however many run at once.

On AWS a container runs one invocation at a time, so the handlers' module-level Powertools Metrics object is
never shared. The local stack runs the handlers on many threads of one process: shared, one invocation's flush
serialized a metric set another was changing ("RuntimeError: dictionary changed size during iteration"),
flushed after another had cleared it ("SchemaValidationError: Must contain at least one metric."), or published
another invocation's metrics as its own; the Logger's lines carried the request id of whichever invocation had
started last.
"""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from buyer_messaging.observability import logger
from tests import support
from tests.integration.conftest import Stack

THREADS = 12
INVOCATIONS_PER_THREAD = 8


@pytest.fixture
def eager_thread_switching() -> Iterator[None]:
    """Threads switch as often as the interpreter allows, so a window between two statements is hit for sure."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _failure_event(number: int) -> dict[str, Any]:
    event: dict[str, Any] = support.load_event("record_outcome/failed.json")
    event["executionId"] = event["executionId"].rsplit(":", 1)[0] + f":isolation-{number}"
    return event


def test_concurrent_invocations_each_publish_exactly_their_own_metrics(
    stack: Stack, eager_thread_switching: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.local.deployment is not None
    function = stack.local.lambdas.function(stack.local.deployment.functions["RecordOutcomeFunction"])
    function.load()  # imported once, as a container would, before the burst
    capsys.readouterr()
    log = io.StringIO()
    previous_stream = logger.registered_handler.setStream(log)  # type: ignore[attr-defined]
    outcomes: list[tuple[bool, str]] = []
    lock = threading.Lock()

    def invoke_several(first: int) -> None:
        for number in range(first, first + INVOCATIONS_PER_THREAD):
            payload, errored, _ = stack.local.lambdas.invoke(function, _failure_event(number))
            with lock:
                outcomes.append((errored, payload))

    threads = [
        threading.Thread(target=invoke_several, args=(index * INVOCATIONS_PER_THREAD,)) for index in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logger.registered_handler.setStream(previous_stream)  # type: ignore[attr-defined]

    errors = [payload for errored, payload in outcomes if errored]
    assert errors == []
    printed = _json_documents(capsys.readouterr().out)
    published = [line for line in printed if "_aws" in line]
    invocations = THREADS * INVOCATIONS_PER_THREAD
    # Each invocation publishes its own Metrics blob (OutcomesRecorded) and, a failure, its two single metrics
    # (MessagesFailed by Reason, MessagesFailedByError by Error: buyer_messaging.emf): each document one metric,
    # counted once, nothing another invocation added.
    by_name: dict[str, list[list[float]]] = {}
    for blob in published:
        names = [metric["Name"] for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
        assert len(names) == 1, names
        by_name.setdefault(names[0], []).append(blob[names[0]])
    assert {name: len(values) for name, values in by_name.items()} == {
        "OutcomesRecorded": invocations,
        "MessagesFailed": invocations,
        "MessagesFailedByError": invocations,
    }
    assert all(values == [1.0] for all_values in by_name.values() for values in all_values)
    # Each invocation's log line names its own request (the Lambda context's id), never another's.
    logged = [json.loads(line) for line in log.getvalue().splitlines()]
    logged = [line for line in logged if line.get("message") == "Outcome recorded"]
    assert len(logged) == invocations
    assert len({line["function_request_id"] for line in logged}) == len(logged)


def _json_documents(output: str) -> list[Any]:
    """Every JSON object printed, wherever the lines break: Powertools prints a blob and its newline in two
    writes, so two threads of one process (never two Lambda containers) may put two blobs on one line."""
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    position = output.find("{")
    while position != -1:
        document, end = decoder.raw_decode(output, position)
        documents.append(document)
        position = output.find("{", end)
    return documents
