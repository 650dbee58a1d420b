"""The ``PrepareCampaign`` state: a run's manifest read and checked, its rows to send written for the Map.

Nothing is sent here. Every row is checked as the single-message path would without calling Amazon
(:func:`buyer_messaging.campaigns.manifest.check_rows`); a bad row is left out with its reason, never stops the
others. A later run (n > 1) sends only the rows that were not sent: a row an earlier run sent, or may have sent
(``unknown``: the send left without an answer), is left out, so no buyer gets a row's message twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from buyer_messaging import storage
from buyer_messaging.campaigns import manifest, records
from buyer_messaging.campaigns.run import CampaignRun
from buyer_messaging.config import get_settings
from buyer_messaging.models import CampaignRef
from buyer_messaging.observability import logger, metrics

# Rows a later run sends again: never sent, or refused. "sent" and "unknown" (it may have reached the buyer) are not.
SEND_AGAIN = frozenset({"failed"})


def prepare_campaign(event: Mapping[str, Any]) -> dict[str, Any]:
    """The run begun on the campaign record, its rows checked, ``rows.json`` written; the Map's input."""
    run = CampaignRun.from_dict(event.get("campaign"))
    settings = get_settings()
    table = settings.require("workflow_table")
    source = records.CampaignSource(run.bucket, run.key, run.version_id, run.name, run.fmt)
    records.begin_run(table, run.campaign_id, source, run=run.run)
    data = storage.read_object(run.bucket, run.key, run.version_id)
    read = manifest.read_manifest(data, run.fmt, default_bucket=run.bucket, max_rows=settings.campaign_max_rows)
    checked = manifest.check_rows(read, object_facts=storage.staged_object, spapi_region=settings.spapi_region)
    ready = [row for row in checked.rows if row.ready and row.request is not None]
    if run.run > 1:
        outcomes = records.row_outcomes(table, run.campaign_id, [row.number for row in ready])
        ready = [row for row in ready if row.number not in outcomes or outcomes[row.number].outcome in SEND_AGAIN]
    items = [
        {
            "row": row.number,
            "name": run.row_execution_name(row.number),
            "request": replace(row.request, campaign=CampaignRef(run.campaign_id, row.number, run.run)).to_dict(),
        }
        for row in ready
        if row.request is not None
    ]
    invalid = {str(row.number): [row.error, row.cause] for row in checked.rows if not row.ready}
    storage.put_object(run.bucket, run.rows_key, json.dumps(items, ensure_ascii=False).encode(), "application/json")
    storage.put_object(
        run.bucket, run.checked_key, json.dumps(invalid, ensure_ascii=False).encode(), "application/json"
    )
    invalid_by = Counter(str(row.error) for row in checked.rows if not row.ready)
    records.prepared(table, run.campaign_id, run.run, rows=len(checked.rows), invalid_by=invalid_by, to_send=len(items))
    metrics.add_metric(name="CampaignRowsToSend", unit=MetricUnit.Count, value=len(items))
    logger.info(
        "Campaign prepared",
        extra={"campaignId": run.campaign_id, "run": run.run, "rows": len(checked.rows), "toSend": len(items)},
    )
    return {
        **run.to_dict(),
        "rows": len(checked.rows),
        "toSend": len(items),
        "work": {"bucket": run.bucket, "key": run.rows_key},
    }
