"""``python -m bench.load_campaign_run RESULT ARGS``: one campaign of N rows on a fresh local stack, and one message a
person sends from the console in its middle; what became of each row.

The local stack as in :mod:`bench.load_run` (moto in-process executing the real ASL, the real handlers in-process,
the SP-API emulator in a thread; quotas, Retry and Wait times at one common ``factor``), plus the HTTP API on
127.0.0.1 (:class:`local_stack.api_server.LocalApi`, the console's routes). The rows' files are staged under
``attachments/`` (which starts nothing), then the manifest is uploaded to ``campaigns/load-N.csv``: the real S3
trigger starts the campaign state machine, whose Distributed Map starts one send execution per row. When half the
rows have been delivered, ``POST /orders/{id}/messages`` sends one text message as the console does (the
interactive lane). The child waits until the campaign and the interactive message have ended (or the timeout),
reads the campaign's report CSV and writes raw facts as JSON; :mod:`bench.load_campaign` does the arithmetic.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.common import write_result
from bench.load_plan import ORDER, US, Message, campaign_attachments, manifest_csv, message_id_of
from bench.load_run import DROP_THREADS, load_stack, seconds_since

POLL_SECONDS = 0.1  # the interactive message's POST follows the half-way delivery by at most this much
INTERACTIVE_TEXT = "Interactive message: your replacement ships today."


def campaign_name(rows: int) -> str:
    return f"load-{rows}"


def main(result_path: str, arguments: dict[str, Any]) -> None:
    from local_stack import samples
    from local_stack.api_server import LocalApi
    from local_stack.lambdas import LambdaContext

    logging.disable(logging.CRITICAL)  # the functions' logs and moto's dumps of failed executions
    messages = [Message(**item) for item in arguments["messages"]]
    factor = float(arguments["factor"])
    timeout_seconds = float(arguments["timeout_seconds"])
    interactive = bool(arguments["interactive"])
    pdf = samples.invoice_pdf(ORDER)
    slots = arguments.get("lambda_slots")
    concurrency = arguments.get("concurrency")
    parameters = {"CampaignConcurrency": str(concurrency)} if concurrency else None
    quotas_off = bool(arguments["quotas_off"])
    with load_stack(factor, quotas_off=quotas_off, lambda_slots=slots, parameters=parameters) as (emulator, stack):
        assert stack.deployment is not None
        bucket = stack.deployment.bucket
        s3 = stack.client("s3")
        sfn = stack.client("stepfunctions")
        function = stack.lambdas.function(stack.deployment.functions["ApiFunction"])
        api = LocalApi(
            function.load(),
            context=lambda: LambdaContext(function.name, function.memory_mb, function.timeout_seconds),
        )
        staging_seconds = _stage(s3, bucket, messages, pdf)

        api.start()
        key = f"campaigns/{campaign_name(len(messages))}.csv"
        cpu_before = time.process_time()
        started_wall = time.time()
        started = time.monotonic()
        s3.put_object(Bucket=bucket, Key=key, Body=manifest_csv(messages))  # the trigger starts the campaign
        campaign_arn = stack.deployment.campaign_state_machine_arn
        watch = _Watch(api.url if interactive else None, half=len(messages) / 2)
        while time.monotonic() < started + timeout_seconds and not watch.done(stack, sfn, emulator, campaign_arn):
            time.sleep(POLL_SECONDS)
        elapsed = time.monotonic() - started
        cpu_seconds = time.process_time() - cpu_before
        api.stop()

        campaigns = sfn.list_executions(stateMachineArn=campaign_arn)["executions"]
        sends = stack.executions()
        deliveries = emulator.deliveries()
        interactive_sent = [d for d in deliveries if d.get("text") == INTERACTIVE_TEXT]
        write_result(
            result_path,
            {
                "rows": len(messages),
                "factor": factor,
                "campaign": [_how_it_ended(sfn, item) for item in campaigns],
                "report": _report(s3, bucket, key.removesuffix(".csv") + ".report.csv"),
                "deliveries": [
                    {"id": message_id_of(delivery), "seconds": seconds_since(delivery["sentAt"], started_wall)}
                    for delivery in deliveries
                    if delivery.get("text") != INTERACTIVE_TEXT
                ],
                "interactive": {
                    "postedSeconds": None if watch.posted is None else watch.posted - started_wall,
                    "status": watch.post_status,
                    "sentSeconds": [seconds_since(d["sentAt"], started_wall) for d in interactive_sent],
                },
                "sendExecutions": dict(Counter(item["status"] for item in sends)),
                "calls": {
                    op: {str(status): n for status, n in by.items()} for op, by in emulator.call_counts().items()
                },
                "stagingSeconds": staging_seconds,
                "finishedSeconds": None if watch.finished_at is None else watch.finished_at - started,
                "elapsedSeconds": elapsed,
                "timedOut": watch.finished_at is None or any(item["status"] == "RUNNING" for item in sends),
                "cpuSeconds": cpu_seconds,
                "threadsPeak": watch.threads_peak,
                "lambdaPeakRunning": stack.lambdas.peak_running,
            },
        )
        sys.stdout.flush()
        sys.stderr.flush()
        # Executions still running after a timeout are moto's threads: they would hold the process open.
        os._exit(0)


def _how_it_ended(sfn: Any, execution: dict[str, Any]) -> str:
    """The execution's status, with its error and cause when it failed (the table says why, not only that)."""
    if execution["status"] in ("SUCCEEDED", "RUNNING"):
        return str(execution["status"])
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    cause = " ".join(str(described.get("cause", "")).split())
    return f"{execution['status']} ({described.get('error', 'no error')}: {cause[:300]})"


def _stage(s3: Any, bucket: str, messages: list[Message], pdf: bytes) -> float:
    """Every row's files staged under attachments/ (which starts nothing), side by side; the real seconds it took."""
    started = time.monotonic()
    with ThreadPoolExecutor(DROP_THREADS) as pool:
        staged = [
            pool.submit(s3.put_object, Bucket=bucket, Key=key, Body=pdf)
            for message in messages
            for key, _ in campaign_attachments(message)
        ]
        for future in staged:
            future.result()
    return time.monotonic() - started


class _Watch:
    """Polled until the campaign has ended and no send execution runs; posts the console's message (``api_url``)
    once ``half`` the rows are delivered."""

    def __init__(self, api_url: str | None, half: float) -> None:
        self.api_url = api_url
        self.half = half
        self.posted: float | None = None
        self.post_status: int | None = None
        self.finished_at: float | None = None
        self.threads_peak = threading.active_count()

    def done(self, stack: Any, sfn: Any, emulator: Any, campaign_arn: str) -> bool:
        self.threads_peak = max(self.threads_peak, threading.active_count())
        if self.api_url and self.posted is None and len(emulator.deliveries()) >= self.half:
            self.posted, self.post_status = _post_message(self.api_url)
        campaigns = sfn.list_executions(stateMachineArn=campaign_arn)["executions"]
        if self.finished_at is None and campaigns and all(item["status"] != "RUNNING" for item in campaigns):
            self.finished_at = time.monotonic()
        if self.finished_at is None or (self.api_url and self.posted is None):
            return False
        return not any(item["status"] == "RUNNING" for item in stack.executions())


def _post_message(api_url: str) -> tuple[float, int]:
    """The console's ``POST /orders/{id}/messages`` (a text message); when it was sent (epoch seconds), its status."""
    body = json.dumps({"marketplaceId": US, "messageType": "unexpectedProblem", "text": INTERACTIVE_TEXT}).encode()
    request = urllib.request.Request(  # noqa: S310  (the local API on 127.0.0.1)
        f"{api_url}/orders/{ORDER}/messages",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": "load-campaign-interactive"},
    )
    posted = time.time()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return posted, int(response.status)
    except urllib.error.HTTPError as error:
        print(f"POST /orders/{ORDER}/messages answered {error.code}: {error.read().decode()[:500]}", file=sys.stderr)
        return posted, int(error.code)


def _report(s3: Any, bucket: str, key: str) -> list[dict[str, str]]:
    """The campaign's report CSV, one dict per line (none when it was not written)."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    except s3.exceptions.NoSuchKey:
        return []
    return list(csv.DictReader(io.StringIO(body)))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
