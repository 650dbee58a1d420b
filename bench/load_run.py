"""``python -m bench.load_run RESULT ARGS``: one burst of messages on a fresh local stack, what became of each.

The local stack as ``make run`` has it (moto in-process executing the real ASL, the real handlers
in-process, the SP-API emulator in a thread), with the emulator's quotas and the Retry and Wait times at one
common ``factor``: ``Emulator(quota_speedup=factor)``, ``LocalStack(retry_speedup=factor)``. The emulator's
other clock (access tokens, presigned URLs) runs in real time: the client caches a token for the real
seconds LWA announces, so a faster token clock would only add expiries that no real run has.

The messages are dropped as S3 uploads, so the real S3 trigger starts them: ``outbox/`` files for invoices,
``requests/*.json`` documents for text-only and several-file messages (their files staged first under
``attachments/``, which starts nothing); a burst all at once, a trickle each at its time (``Message.at``), a seller's
under ``sellers/{id}/`` with the seed's ``sellers`` registered. The child then waits until no execution runs (or the
timeout) and writes raw facts as JSON; :mod:`bench.load` does the arithmetic. What the pacer decided is counted by
wrapping its two turn-taking functions (the handlers call them through the module), and with ``trace`` the emulator's
call log and every pacer decision are written to that file as well.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from itertools import groupby
from typing import TYPE_CHECKING, Any

from bench.common import write_result
from bench.load_plan import ORDER, Message, message_id_of

if TYPE_CHECKING:
    from local_stack.stack import LocalStack
    from spapi_emulator import Emulator

POLL_SECONDS = 0.5
_ORDER_IN = re.compile(r"\d{3}-\d{7}-\d{7}")
DROP_THREADS = 8  # like a client uploading a folder (the AWS CLI uses 10 at a time)


class PacerDecisions:
    """What :func:`buyer_messaging.pacer.reserve` and :func:`~buyer_messaging.pacer.resume` answered during the
    run: turns taken at once, turns to come back for, and, of the callers back, those that booked their call
    and those sent back again."""

    def __init__(self, keep_trace: bool) -> None:
        self.counts: Counter[str] = Counter()
        self.by_seller: dict[str, Counter[str]] = {}  # the same per pace key's seller
        self.trace: list[dict[str, Any]] = []
        self._keep_trace = keep_trace
        self._lock = threading.Lock()

    def install(self) -> None:
        from buyer_messaging import pacer

        for name in ("reserve", "resume"):
            setattr(pacer, name, self._wrap(name, getattr(pacer, name)))

    def _wrap(self, name: str, function: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            turn = function(*args, **kwargs)
            outcome = "none" if turn is None else ("booked" if turn.booked else "later")
            with self._lock:
                self.counts[f"{name} {outcome}"] += 1
                self.by_seller.setdefault(args[1].seller, Counter())[f"{name} {outcome}"] += 1
                if self._keep_trace and turn is not None:
                    self.trace.append(
                        {
                            "at": time.time(),
                            "fn": name,
                            "seller": args[1].seller,
                            "operation": args[1].operation,
                            "outcome": outcome,
                            "slot": turn.slot,
                            "now": turn.now,
                        }
                    )
            return turn

        return counted


@contextmanager
def load_stack(
    factor: float,
    *,
    quotas_off: bool,
    lambda_slots: int | None = None,
    parameters: Mapping[str, str] | None = None,
    sellers: Sequence[str] = (),
) -> Iterator[tuple[Emulator, LocalStack]]:
    """The SP-API emulator with its quotas ``factor`` times faster (or off: every plan at a million requests/s) and
    the local stack deployed against it, its Retry and Wait times ``factor`` times faster; ``lambda_slots``: the
    handlers it runs at once (default its own); ``parameters``: template parameters other than their defaults;
    ``sellers``: seed sellers registered (self-authorized, each its own secret): a deployment of several sellers."""
    from buyer_messaging import catalog
    from local_stack.lambdas import DEFAULT_SLOTS
    from local_stack.reliability.runner import register_seed_sellers
    from local_stack.stack import LocalStack, SpApiTarget, in_process_aws
    from spapi_emulator import Emulator, load_default_seed
    from spapi_emulator.quotas import MAX_BURST, MAX_RATE_PER_SECOND

    seed = load_default_seed()
    with Emulator(seed, quota_speedup=factor) as emulator, in_process_aws():
        if quotas_off:
            for operation in catalog.OPERATIONS:
                emulator.set_usage_plan(operation.name, MAX_RATE_PER_SECOND, MAX_BURST)
        target = SpApiTarget(emulator.base_url, emulator.token_url, emulator.upload_host, seed.credentials.as_secret())
        with LocalStack(
            target, retry_speedup=factor, lambda_slots=lambda_slots or DEFAULT_SLOTS, parameters=parameters
        ) as stack:
            register_seed_sellers(seed, sellers)
            yield emulator, stack


def main(result_path: str, arguments: dict[str, Any]) -> None:
    from local_stack import samples

    logging.disable(logging.CRITICAL)  # the functions' logs and moto's dumps of failed executions
    messages = [Message(**item) for item in arguments["messages"]]
    factor = float(arguments["factor"])
    timeout_seconds = float(arguments["timeout_seconds"])
    pdf = samples.invoice_pdf(ORDER)
    trace_path = arguments.get("trace")
    decisions = PacerDecisions(keep_trace=bool(trace_path))
    decisions.install()
    sellers = [str(seller) for seller in arguments.get("sellers", [])]
    with load_stack(factor, quotas_off=bool(arguments["quotas_off"]), sellers=sellers) as (emulator, stack):
        assert stack.deployment is not None
        bucket = stack.deployment.bucket
        s3 = stack.client("s3")
        for message in messages:
            for key in message.staged_keys():
                s3.put_object(Bucket=bucket, Key=key, Body=pdf)

        cpu_before = time.process_time()
        started_wall = time.time()
        started = time.monotonic()
        dropped_at = drop(s3, bucket, messages, pdf, started, factor)
        dropped = time.monotonic() - started

        threads_peak = threading.active_count()
        deadline = started + timeout_seconds
        listed = stack.executions()
        while any(item["status"] == "RUNNING" for item in listed) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            threads_peak = max(threads_peak, threading.active_count())
            listed = stack.executions()
        elapsed = time.monotonic() - started
        cpu_seconds = time.process_time() - cpu_before

        outcomes, by_seller = _outcomes(stack.client("stepfunctions"), listed, by_seller=bool(sellers))
        deliveries = [
            {"id": message_id_of(delivery), "seconds": seconds_since(delivery["sentAt"], started_wall)}
            for delivery in emulator.deliveries()
        ]
        calls = {op: {str(status): n for status, n in by.items()} for op, by in emulator.call_counts().items()}
        write_result(
            result_path,
            {
                "messages": len(messages),
                "factor": factor,
                "executions": len(listed),
                "outcomes": dict(outcomes),
                "deliveries": deliveries,
                "calls": calls,
                "dropSeconds": dropped,
                "elapsedSeconds": elapsed,
                "timedOut": any(item["status"] == "RUNNING" for item in listed),
                "cpuSeconds": cpu_seconds,
                "threadsPeak": threads_peak,
                "pacer": dict(decisions.counts),
                "droppedAt": {str(number): seconds for number, seconds in dropped_at.items()},
                "pacerBySeller": {seller: dict(counts) for seller, counts in decisions.by_seller.items()},
                "outcomesBySeller": {seller: dict(counts) for seller, counts in by_seller.items()},
                "throttledByOrder": dict(Counter(_order_of(c) for c in emulator.calls() if c["status"] == 429)),
            },
        )
        if trace_path:
            with open(trace_path, "w", encoding="utf-8") as trace:
                json.dump({"start": started_wall, "calls": emulator.calls(), "pacer": decisions.trace}, trace)
        sys.stdout.flush()
        sys.stderr.flush()
        # Executions still running after a timeout are moto's threads: they would hold the process open.
        os._exit(0)


def drop(
    s3: Any, bucket: str, messages: Sequence[Message], pdf: bytes, started: float, factor: float
) -> dict[int, float]:
    """Upload each message at its time (``Message.at``, emulated seconds after ``started``): those of one moment
    side by side (moto runs the S3 trigger, a StartExecution, before put_object returns). Each seller uploads as a
    client of its own, so a trickle's upload is never queued behind another seller's burst still uploading.
    Returns when each message's upload was done, real seconds after ``started``: when the workflow received it."""
    pools = {seller: ThreadPoolExecutor(DROP_THREADS) for seller in {m.seller for m in messages}}
    futures: dict[int, Future[None]] = {}
    dropped_at: dict[int, float] = {}

    def put(message: Message) -> None:
        _put(s3, bucket, *message.upload(pdf))
        dropped_at[message.number] = time.monotonic() - started

    try:
        for at, group in groupby(sorted(messages, key=lambda m: m.at), key=lambda m: m.at):
            time.sleep(max(0.0, started + at / factor - time.monotonic()))
            futures |= {m.number: pools[m.seller].submit(put, m) for m in group}
        for future in futures.values():
            future.result()
    finally:
        for pool in pools.values():
            pool.shutdown()
    return dropped_at


def _outcomes(
    sfn: Any, listed: list[dict[str, Any]], *, by_seller: bool = False
) -> tuple[Counter[str], dict[str, Counter[str]]]:
    """Executions by status, the failed ones by their error name; with ``by_seller``, also per the seller their
    input names."""
    outcomes: Counter[str] = Counter()
    sellers: dict[str, Counter[str]] = {}
    for item in listed:
        described = (
            sfn.describe_execution(executionArn=item["executionArn"]) if by_seller or item["status"] == "FAILED" else {}
        )
        outcome = item["status"]
        if item["status"] == "FAILED":
            outcome = f"FAILED {described.get('error') or '(no error name)'}"
        outcomes[outcome] += 1
        if by_seller:
            seller = str(json.loads(described.get("input") or "{}").get("sellingPartnerId") or "")
            sellers.setdefault(seller, Counter())[outcome] += 1
    return outcomes, sellers


def _order_of(call: Mapping[str, Any]) -> str:
    """The order an SP-API call was about: in its path (messaging) or its ``resource`` (uploads); else ''."""
    found = _ORDER_IN.search(str(call.get("path", "")) + " " + json.dumps(call.get("query") or {}))
    return found.group(0) if found else ""


def _put(s3: Any, bucket: str, key: str, body: bytes) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def seconds_since(timestamp: str, started_wall: float) -> float:
    """Real seconds from the drop's start to an emulator timestamp (its main clock runs in real time)."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() - started_wall


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
