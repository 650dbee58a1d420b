"""The ``PrepareCampaign`` state: a run's manifest read and checked, its rows to send written for the Map.

Nothing is sent here. The campaign is one seller's (:func:`campaign_seller`): every row to send carries it as its
request's ``sellingPartnerId``, so its send execution paces and authenticates as that seller. Every row is checked
as the single-message path would without calling Amazon
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

from buyer_messaging import sellers, status, storage
from buyer_messaging.campaigns import manifest, records
from buyer_messaging.campaigns.keys import manifest_seller
from buyer_messaging.campaigns.manifest import ManifestRow
from buyer_messaging.campaigns.run import CampaignRun
from buyer_messaging.config import Settings, get_settings
from buyer_messaging.errors import SellerMismatch
from buyer_messaging.models import CampaignRef
from buyer_messaging.observability import logger, metrics
from buyer_messaging.seller_scope import SELLER_FIELD

# Rows a later run sends again: never sent, or refused. "sent" and "unknown" (it may have reached the buyer) are not.
SEND_AGAIN = frozenset({"failed"})


def prepare_campaign(event: Mapping[str, Any]) -> dict[str, Any]:
    """The run begun on the campaign record, its rows checked, ``rows.json`` written; the Map's input."""
    run = CampaignRun.from_dict(event.get("campaign"))
    settings = get_settings()
    table = settings.require("workflow_table")
    seller = campaign_seller(settings, run)
    source = records.CampaignSource(run.bucket, run.key, run.version_id, run.name, run.fmt)
    records.begin_run(table, run.campaign_id, source, run=run.run, seller=seller)
    data = storage.read_object(run.bucket, run.key, run.version_id)
    read = manifest.read_manifest(data, run.fmt, default_bucket=run.bucket, max_rows=settings.campaign_max_rows)
    checked = manifest.check_rows(
        read, object_facts=storage.staged_object, spapi_region=settings.spapi_region, seller=seller
    )
    ready = [row for row in checked.rows if row.ready and row.request is not None]
    if run.run > 1:
        outcomes = records.row_outcomes(table, run.campaign_id, [row.number for row in ready])
        ready = [row for row in ready if row.number not in outcomes or outcomes[row.number].outcome in SEND_AGAIN]
        ready = not_sent_by_an_earlier_run(table, run, ready)
    items = [
        {
            "row": row.number,
            "name": run.row_execution_name(row.number),
            "request": replace(
                row.request,
                campaign=CampaignRef(run.campaign_id, row.number, run.run),
                selling_partner_id=seller,
            ).to_dict(),
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
        **replace(run, seller=seller).to_dict(),
        "rows": len(checked.rows),
        "toSend": len(items),
        "work": {"bucket": run.bucket, "key": run.rows_key},
    }


def campaign_seller(settings: Settings, run: CampaignRun) -> str | None:
    """The campaign's seller, resolved again as ValidateRequest resolves a message's (a run started by hand from
    the console names what it likes): the run's ``sellingPartnerId`` or its manifest key's segment, which must
    agree (SellerMismatch), one of the deployment's sellers (UnknownSeller); none named with several sellers is
    SellerRequired. Raised before the record is written or a row read: the run fails, nothing is sent."""
    key_seller = manifest_seller(run.key)
    if run.seller is not None and key_seller is not None and run.seller != key_seller:
        message = f"the run names {run.seller}, its manifest sellers/{key_seller}/…: one campaign is for one seller"
        raise SellerMismatch(f"The campaign run is refused: {message}.", problems=((SELLER_FIELD, message),))
    return sellers.resolve(settings, run.seller or key_seller)


def not_sent_by_an_earlier_run(table: str, run: CampaignRun, rows: list[ManifestRow]) -> list[ManifestRow]:
    """The rows that no earlier run's send execution sent, may have sent, or may still send, by the request
    records those executions wrote themselves. A row's counted outcome can be missing while its message went out:
    the outcome step could not count it (CampaignRowNotCounted), or the run ended while the row's execution went
    on. Only a row whose every earlier execution failed, or never began, is sent again; an earlier execution that
    ended sent or unknown is counted on the campaign now (the report then shows the row as sent before)."""
    names = {row.number: [run.row_execution_name(row.number, earlier) for earlier in range(1, run.run)] for row in rows}
    found = status.records_of(table, [name for earlier in names.values() for name in earlier])
    kept = []
    for row in rows:
        earlier = {number: found[name] for number, name in enumerate(names[row.number], start=1) if name in found}
        states = {record["status"] for record in earlier.values()}
        if states <= {status.Status.FAILED.value}:
            kept.append(row)
            continue
        logger.warning(
            "Campaign row left out: an earlier run's execution sent it, may have, or is still going",
            extra={"campaignId": run.campaign_id, "run": run.run, "row": row.number, "statuses": sorted(states)},
        )
        for number, record in earlier.items():
            if record["status"] in (status.Status.SENT.value, status.Status.UNKNOWN.value):
                records.row_finished(
                    table,
                    CampaignRef(run.campaign_id, row.number, number),
                    outcome=record["status"],
                    error=record.get("error"),
                    cause=record.get("cause"),
                    request_id=names[row.number][number - 1],
                )
    return kept
