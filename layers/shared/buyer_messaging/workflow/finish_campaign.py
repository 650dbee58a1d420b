"""The ``FinishCampaign`` state (a run's report, final counts and ``CampaignCompleted``) and ``RecordRunFailure``
(the run failed: recorded on the campaign record)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from buyer_messaging import eventbus, storage
from buyer_messaging.campaigns import manifest, records, report
from buyer_messaging.campaigns.run import CampaignRun
from buyer_messaging.config import get_settings
from buyer_messaging.observability import logger, metrics

# ResultWriter's result files: the Map's items that ended; PENDING ones never ran (the Map ended first).
RESULT_FILES = ("SUCCEEDED", "FAILED", "PENDING")


def finish_campaign(event: Mapping[str, Any]) -> dict[str, Any]:
    """The end of a run: its report (or, with ``failure``, the run's failure) on the campaign record."""
    if "failure" in event:
        return record_run_failure(CampaignRun.from_dict(event.get("campaign")), event["failure"])
    state = event.get("state")
    if not isinstance(state, Mapping):
        state = {}
    run = CampaignRun.from_dict(state.get("campaign"))
    settings = get_settings()
    table = settings.require("workflow_table")
    checked = _checked_manifest(run, settings.campaign_max_rows)
    results = list(map_results(state.get("results")))
    outcomes = records.row_outcomes(table, run.campaign_id, [row.number for row in checked.rows])
    built = report.build_report(checked, results, outcomes, seller=run.seller)
    version = storage.put_object(run.bucket, run.report_key, report.report_csv(built), "text/csv; charset=utf-8")
    records.finished(
        table,
        run.campaign_id,
        run.run,
        counts=built.counts,
        report=storage.ObjectVersion(run.bucket, run.report_key, version),
    )
    record = records.get(table, run.campaign_id) or {}
    eventbus.publish(settings.event_bus_name, eventbus.CAMPAIGN_COMPLETED, records.completed_detail(record))
    counts = built.counts.to_dict()
    metrics.add_metric(name="CampaignRowsSent", unit=MetricUnit.Count, value=built.counts.sent)
    logger.info("Campaign finished", extra={"campaignId": run.campaign_id, "run": run.run, **counts})
    return {
        "campaignId": run.campaign_id,
        "run": run.run,
        **counts,
        "report": {"bucket": run.bucket, "key": run.report_key},
    }


def record_run_failure(run: CampaignRun, failure: object) -> dict[str, str]:
    """The run's failure on the campaign record: the error, and a function's own message read out of its cause."""
    error, cause = describe_failure(failure)
    records.run_failed(get_settings().require("workflow_table"), run.campaign_id, run.run, error=error, cause=cause)
    logger.error("Campaign run failed", extra={"campaignId": run.campaign_id, "run": run.run, "error": error})
    return {"error": error, "cause": cause}


def describe_failure(failure: object) -> tuple[str, str]:
    """``(error, cause)`` of a caught error: a Lambda function's cause is JSON (errorType, errorMessage)."""
    caught = failure if isinstance(failure, Mapping) else {}
    error = str(caught.get("Error") or "WorkflowError")
    cause = str(caught.get("Cause") or "The run failed without a cause; see the execution's event history.")
    if cause.startswith("{"):
        try:
            parsed = json.loads(cause)
        except json.JSONDecodeError:
            return error, cause
        if isinstance(parsed, Mapping) and isinstance(parsed.get("errorMessage"), str):
            return error, parsed["errorMessage"]
    return error, cause


def map_results(results: object) -> Iterator[dict[str, Any]]:
    """Each item's output, as the Distributed Map's ResultWriter wrote them (its manifest.json names the files)."""
    details = results.get("ResultWriterDetails") if isinstance(results, Mapping) else None
    if not isinstance(details, Mapping):
        return  # nothing was sent in this run: no Map ran
    written = json.loads(storage.read_object(str(details["Bucket"]), str(details["Key"])))
    for status in RESULT_FILES:
        for file in written.get("ResultFiles", {}).get(status, []):
            for entry in json.loads(storage.read_object(str(written["DestinationBucket"]), str(file["Key"]))):
                yield _item_result(status, entry)


def _item_result(status: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    if status == "SUCCEEDED":
        output: dict[str, Any] = json.loads(entry["Output"])
        return output
    # An item that failed or never ran (the Map's own failure): its row from its input.
    item = json.loads(entry.get("Input") or "{}")
    return {
        "row": item.get("row"),
        "status": "failed",
        "error": entry.get("Error") or status,
        "cause": entry.get("Cause") or f"The row's item ended {status.lower()} in the Distributed Map.",
    }


def _checked_manifest(run: CampaignRun, max_rows: int) -> manifest.Manifest:
    """The manifest as PrepareCampaign checked it: read again (pure), with the verdicts it wrote."""
    data = storage.read_object(run.bucket, run.key, run.version_id)
    read = manifest.read_manifest(data, run.fmt, default_bucket=run.bucket, max_rows=max_rows)
    verdicts = json.loads(storage.read_object(run.bucket, run.checked_key))
    rows = tuple(
        replace(row, error=verdicts[str(row.number)][0], cause=verdicts[str(row.number)][1])
        if str(row.number) in verdicts
        else row
        for row in read.rows
    )
    return replace(read, rows=rows)
