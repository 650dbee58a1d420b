"""Runs one case of the campaign table on a fresh local stack and records how it ended: the error name and cause
(the campaign record's, or the trigger's refusal), the report's lines, the buyer's messages, what staged is gone.

What the buyer must have received is read from the manifest independently of the code under test (Python's csv
and json modules, :func:`manifest_rows`), and held against the report's ``sent`` rows and the emulator's
deliveries: a delivery no sent row accounts for is a message sent by a bad row (or a second copy).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from local_stack.reliability.bad_inputs import content_bytes
from local_stack.reliability.campaign_inputs import FINISHED, CampaignCase
from local_stack.reliability.runner import Run, fresh_stack, quiet_moto
from local_stack.reliability.verdicts import (
    NO_EXECUTION,
    NO_RECORD,
    NOT_STARTED,
    CampaignResult,
    judge_campaign,
    one_line,
)

Message = tuple[str, str, str]  # (amazonOrderId, messageType, text): what identifies a row's message to the buyer
# How a case's manifest entered: the campaign's id (None: none started) or the entry's refusal (error, cause).
Entered = tuple[str | None, tuple[str, str] | None]


def run_campaign_case(case: CampaignCase, *, timeout_seconds: float = 120.0) -> CampaignResult:
    """Run one campaign case on a fresh local stack and judge its outcome."""
    began = time.monotonic()
    with quiet_moto(), fresh_stack("na") as run:
        for key, content in case.staged.items():
            run.put(key, content_bytes(content))
        data = case.manifest_bytes()
        campaign_id, refusal = ENTRIES[case.entry](run, case, data, timeout_seconds)
        record = _record(run, campaign_id)
        lines = _report_lines(run, record)
        actual, cause = refusal or _outcome(record)
        delivered = Counter(
            (str(d["amazonOrderId"]), str(d["messageType"]), str(d.get("text") or ""))
            for d in run.emulator.deliveries()
        )
        rows = manifest_rows(data, case.fmt) if case.finishes else {}
        sent_rows = Counter(rows.get(int(line["row"]), ("?", "?", "?")) for line in lines if line["status"] == "sent")
        result = CampaignResult(
            case_id=case.id,
            entry=case.entry,
            expected=case.expected,
            actual=actual,
            cause=one_line(cause),
            statuses=Counter(line["status"] for line in lines),
            record=_record_summary(record),
            messages_sent=sum(delivered.values()),
            duplicates=sum(count - 1 for count in delivered.values()),
            stray_messages=sum((delivered - sent_rows).values()),
            undelivered=sum((sent_rows - delivered).values()),
            staged_lost=len({case.manifest_key, *case.staged} - run.current_keys()),
            send_executions=len(_send_executions(run)),
        )
        result.problems = judge_campaign(case, result, lines, record or {})
    result.seconds = time.monotonic() - began
    return result


def _upload(run: Run, case: CampaignCase, data: bytes, timeout_seconds: float) -> Entered:
    """The manifest uploaded under campaigns/: the campaign the trigger started (its run ended), or its refusal."""
    run.put(case.manifest_key, data)  # moto runs the trigger synchronously
    invocations = run.trigger_invocations()
    failed = [i for i in invocations if i.error_type]
    if failed:
        return None, (str(failed[0].error_type), str(failed[0].result.get("errorMessage", "")))
    started = [item for i in invocations for item in (i.result or {}).get("executions", []) if "campaignId" in item]
    if not started:
        return None, (NOT_STARTED, "the trigger started no campaign")
    run.local.wait_for(started[0]["executionArn"], timeout_seconds=timeout_seconds)
    return str(started[0]["campaignId"]), None


# The ways a manifest enters. The HTTP API's (POST /campaigns, with the console's branch) is added here as "api".
ENTRIES: Mapping[str, Callable[[Run, CampaignCase, bytes, float], Entered]] = {
    "campaign": _upload,
}


def _record(run: Run, campaign_id: str | None) -> dict[str, Any] | None:
    from buyer_messaging.campaigns import records

    if campaign_id is None:
        return None
    return records.get(run.local.deployment.tables["WorkflowTable"], campaign_id)


def _outcome(record: Mapping[str, Any] | None) -> tuple[str, str]:
    """The error of a failed run, with its cause; FINISHED with the counts of a finished one."""
    if record is None:
        return NO_RECORD, "the campaign started, but it has no record"
    if record.get("status") == "failed":
        return str(record.get("error")), str(record.get("cause") or "")
    if record.get("status") == FINISHED:
        counts = ", ".join(f"{record.get(name, 0)} {name}" for name in ("sent", "failed", "unknown", "invalid"))
        return FINISHED, f"{record.get('rows')} rows: {counts}"
    return f"({record.get('status')})", "the run has not ended"


def _record_summary(record: Mapping[str, Any] | None) -> str:
    if record is None:
        return NO_EXECUTION
    return " ".join(str(part) for part in (record.get("status"), record.get("error")) if part)


def _report_lines(run: Run, record: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """The report CSV the record names (none before a run finished)."""
    report = (record or {}).get("report")
    if not isinstance(report, Mapping):
        return []
    where = {"Bucket": report["bucket"], "Key": report["key"]}
    if report.get("versionId"):
        where["VersionId"] = report["versionId"]
    body = run.client("s3").get_object(**where)["Body"].read().decode("utf-8")
    return list(csv.DictReader(io.StringIO(body)))


def _send_executions(run: Run) -> list[dict[str, Any]]:
    """Every execution of the send state machine: a campaign's rows each start one."""
    return list(run.local.executions())


def manifest_rows(data: bytes, fmt: str) -> dict[int, Message]:
    """Each data row's (order, type, text), numbered from 1 as a seller counts them (blank lines are no rows; a quoted
    line break does not start one): the oracle the deliveries are held against."""
    text = data.decode("utf-8-sig")
    if fmt == "jsonl":
        documents = []
        for line in text.split("\n"):
            if line.strip():
                try:
                    documents.append(json.loads(line))
                except json.JSONDecodeError:
                    documents.append({})
        values: list[Mapping[str, Any]] = [d if isinstance(d, Mapping) else {} for d in documents]
    else:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, [])
        values = [dict(zip(header, row, strict=False)) for row in reader if any(value.strip() for value in row)]
    return {
        number: (str(row.get("amazonOrderId") or ""), str(row.get("messageType") or ""), str(row.get("text") or ""))
        for number, row in enumerate(values, start=1)
    }
