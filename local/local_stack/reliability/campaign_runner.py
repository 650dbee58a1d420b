"""Runs one case of the campaign table on a fresh local stack and records how it ended: the error name and cause
(the campaign record's, or the trigger's refusal), the report's lines, the buyer's messages, what staged is gone.

A case enters by its entry: an upload under ``campaigns/`` (the S3 trigger starts the run), or ``POST /campaigns``
through the local HTTP API as the console sends it, its dry run first (:func:`_post`).

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
from dataclasses import dataclass
from typing import Any

from local_stack.reliability.api_client import Answer, call, local_api
from local_stack.reliability.bad_inputs import content_bytes
from local_stack.reliability.campaign_inputs import FINISHED, CampaignCase
from local_stack.reliability.runner import Run, fresh_stack, quiet_moto
from local_stack.reliability.verdicts import (
    NO_EXECUTION,
    NO_RECORD,
    NOT_STARTED,
    CampaignResult,
    DryRun,
    judge_campaign,
    one_line,
)

Message = tuple[str, str, str]  # (amazonOrderId, messageType, text): what identifies a row's message to the buyer


@dataclass(frozen=True)
class Entered:
    """How a case's manifest entered: the campaign's id (None: none started) or the entry's refusal (error, cause);
    through the API also its answer's status, its dry run, and what the POST left behind."""

    campaign_id: str | None
    refusal: tuple[str, str] | None = None
    answered: int | None = None
    dry_run: DryRun | None = None
    stored: tuple[str, ...] = ()


def run_campaign_case(case: CampaignCase, *, timeout_seconds: float = 120.0) -> CampaignResult:
    """Run one campaign case on a fresh local stack and judge its outcome."""
    began = time.monotonic()
    with quiet_moto(), fresh_stack("na") as run:
        for key, content in case.staged.items():
            run.put(key, content_bytes(content))
        data = case.manifest_bytes()
        entered = ENTRIES[case.entry](run, case, data, timeout_seconds)
        record = _record(run, entered.campaign_id)
        lines = _report_lines(run, record)
        actual, cause = entered.refusal or _outcome(record)
        # The manifest is the seller's upload, or what the API stored of an accepted POST (a refused one stores none).
        kept = {*case.staged, *([case.manifest_key] if case.entry == "campaign" or entered.campaign_id else [])}
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
            staged_lost=len(kept - run.current_keys()),
            send_executions=len(_send_executions(run)),
            answered=entered.answered,
            dry_run=entered.dry_run,
            stored=entered.stored,
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
        return Entered(None, (str(failed[0].error_type), str(failed[0].result.get("errorMessage", ""))))
    started = [item for i in invocations for item in (i.result or {}).get("executions", []) if "campaignId" in item]
    if not started:
        return Entered(None, (NOT_STARTED, "the trigger started no campaign"))
    run.local.wait_for(started[0]["executionArn"], timeout_seconds=timeout_seconds)
    return Entered(str(started[0]["campaignId"]))


def _post(run: Run, case: CampaignCase, data: bytes, timeout_seconds: float) -> Entered:
    """POST /campaigns {name, format, manifest: the text} as the console sends it, its dry run first: a 4xx is the
    case's refusal, a 202 names the campaign, whose run is waited for. What each POST left behind is noted (a dry
    run and a refusal must leave nothing)."""
    body = {"name": case.name, "format": case.fmt, "manifest": data.decode("utf-8"), **case.body}
    with local_api(run) as api:
        before = _footprint(run)
        dry = _post_json(api, {**body, "dryRun": True}, timeout_seconds)
        after_dry = _footprint(run)
        answer = _post_json(api, body, timeout_seconds)
        stored = tuple(sorted(_footprint(run) - after_dry))
    dry_run = DryRun(
        dry.status, "" if dry.status == 200 else dry.error, _preview_rows(dry.body), tuple(sorted(after_dry - before))
    )
    if answer.status is None or answer.raised:
        refusal = answer.dropped or f"{answer.status} " + "; ".join(answer.raised)
        return Entered(None, ("(handler raised)" if answer.raised else "(connection dropped)", refusal), answer.status)
    if answer.status != 202:
        return Entered(None, (answer.error, answer.cause), answer.status, dry_run, stored)
    from buyer_messaging import naming

    campaign_id = str(answer.body["campaignId"])
    machine = run.local.deployment.campaign_state_machine_arn
    execution = naming.campaign_run_name(campaign_id, int(answer.body["run"]))
    run.local.wait_for(
        f"{machine.replace(':stateMachine:', ':execution:')}:{execution}", timeout_seconds=timeout_seconds
    )
    return Entered(campaign_id, None, answer.status, dry_run, stored)


def _post_json(api: Any, body: Mapping[str, Any], timeout_seconds: float) -> Answer:
    headers = {"Content-Type": "application/json"}
    return call(api, "POST", "/campaigns", json.dumps(body).encode("ascii"), headers, timeout=timeout_seconds)


def _preview_rows(preview: Any) -> dict[int, str]:
    """Each row's verdict in a dry run's answer: its error, "" when ready."""
    items = preview.get("items", []) if isinstance(preview, Mapping) else []
    return {int(item["row"]): str(item.get("error") or "") if item["status"] == "invalid" else "" for item in items}


def _footprint(run: Run) -> set[str]:
    """What the stack holds that a POST could have left: the bucket's objects, every table's items (by key), every
    state machine's executions."""
    found = {f"s3://{run.bucket}/{key}" for key in run.current_keys()}
    dynamodb = run.client("dynamodb")
    for table in run.local.deployment.tables.values():
        key = [part["AttributeName"] for part in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            found.update(f"{table} item {[next(iter(item[name].values())) for name in key]}" for item in page["Items"])
    sfn = run.client("stepfunctions")
    deployment = run.local.deployment
    for machine in {deployment.state_machine_arn, *deployment.state_machines.values()}:
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
            found.update(f"execution {item['name']}" for item in page["executions"])
    return found


# The ways a manifest enters: uploaded under campaigns/, or posted to the HTTP API.
ENTRIES: Mapping[str, Callable[[Run, CampaignCase, bytes, float], Entered]] = {
    "campaign": _upload,
    "api": _post,
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
