"""A campaign's record and its rows' outcomes in the workflow table: every row accounted for, each once.

``campaign#{campaignId}``: the manifest (bucket, key, version), its name and format, the latest ``run`` and its
``status`` (``checking`` → ``running`` → ``finished`` | ``failed``), ``rows``, ``invalid`` (``invalidBy`` error),
``waiting`` (rows of the current run not finished yet), ``sent``, ``failed`` (``failedBy`` error) and ``unknown``
over all runs, ``startedAt``, ``finishedAt``, the report's object and, for a run that failed, ``error`` and
``cause``. Once a run finished, ``rows = sent + failed + unknown + invalid`` and ``skipped`` says how many of the
sent rows an earlier run sent.

``campaign#{campaignId}#row#{row}``: the row's outcome (``sent`` | ``failed`` | ``unknown``), error, cause, request
id and the run it came from, written by the send machine's outcome step in one transaction with the campaign's
counters. Counting rules: each row counts once; a later run's outcome replaces an earlier one's (failed → sent:
failed - 1, sent + 1, ``failedBy`` too); a repeated outcome (a retried step) and a late outcome of an earlier run
change nothing; ``sent`` is final for a row, as for a request (status.py): a later run that fails the row (a
once-per-order type Amazon now refuses) does not make it look unsent, which would invite a second message.

Records expire with the request records (``StatusRetentionDays``, the table's TTL attribute ``expiration``). They
never hold message text: what the record shows is safe for the console and the API.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from buyer_messaging.config import get_settings
from buyer_messaging.errors import CampaignNotFound, CampaignRunning, WorkflowTableUnavailable
from buyer_messaging.models import CampaignRef
from buyer_messaging.seller_scope import SELLER_FIELD
from buyer_messaging.status import Retention, now_iso
from buyer_messaging.storage import ObjectVersion
from buyer_messaging.table import (
    ConditionNotMet,
    batch_get,
    call,
    from_item,
    newest_in_index,
    set_clauses,
    to_attribute,
    to_item,
)

KEY_PREFIX = "campaign#"
ROW_OUTCOMES = ("sent", "failed", "unknown")
# Rows finishing at once all add to the campaign's counters: a transaction that met another one is tried again.
CONFLICT_ATTEMPTS = 8
# The latest campaigns without a scan: a sparse index that only campaign records enter (they alone carry its
# partition key, one value for all), newest run first. Keys only: the counters a row's outcome changes do not
# write to the index; the records are then read by key.
RECENT_INDEX = "RecentCampaigns"
RECENT_INDEX_PARTITION = "listedIn"
RECENT_INDEX_SORT = "startedAt"
RECENT_LIST = "campaigns"


class RunStatus(StrEnum):
    CHECKING = "checking"  # the manifest is being read and checked
    RUNNING = "running"  # its rows are being sent
    FINISHED = "finished"
    FAILED = "failed"  # the campaign state machine itself failed (error, cause)


ENDED = (RunStatus.FINISHED, RunStatus.FAILED)


@dataclass(frozen=True, slots=True)
class CampaignSource:
    """The manifest object version a campaign is, with its name and format (``csv`` | ``jsonl``)."""

    bucket: str
    key: str
    version_id: str
    name: str
    fmt: str

    def manifest(self) -> dict[str, str]:
        return {"bucket": self.bucket, "key": self.key, "versionId": self.version_id}


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """How a row ended, in the run that counts for it (``run``)."""

    row: int
    outcome: str
    error: str | None
    cause: str | None
    request_id: str
    run: int


@dataclass(frozen=True, slots=True)
class CampaignCounts:
    """A run's report in numbers: every row in exactly one of sent (by this run), failed, unknown, invalid and
    skipped (sent by an earlier run, not sent again), so their sum is ``rows``."""

    rows: int
    sent: int
    failed: int
    unknown: int
    invalid: int
    skipped: int
    failed_by: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "sent": self.sent,
            "failed": self.failed,
            "unknown": self.unknown,
            "invalid": self.invalid,
            "skipped": self.skipped,
            "failedBy": dict(self.failed_by),
        }


def _campaign_key(campaign_id: str) -> dict[str, Any]:
    return {"id": {"S": KEY_PREFIX + campaign_id}}


def _row_key(campaign_id: str, row: int) -> dict[str, Any]:
    return {"id": {"S": f"{KEY_PREFIX}{campaign_id}#row#{row}"}}


def _retention(retention: Retention | None) -> Retention:
    return retention or Retention(get_settings().status_retention_days)


def begin_run(
    table: str,
    campaign_id: str,
    source: CampaignSource,
    *,
    run: int,
    seller: str | None = None,
    retention: Retention | None = None,
) -> None:
    """Run 1 creates the record, with the campaign's ``seller`` as its top-level ``sellingPartnerId`` (left out:
    the deployment named none; the console's isolation filters by it) (a repeat of it changes nothing); run n > 1
    begins only once run n - 1 ended (else :class:`CampaignRunning`), and a repeat of it changes nothing either."""
    if run < 1:
        raise ValueError("runs are numbered from 1")
    moment = time.time()
    at = now_iso(moment)
    expiration = _retention(retention).expiration(moment)
    if run == 1:
        item = to_item(
            {
                "id": KEY_PREFIX + campaign_id,
                RECENT_INDEX_PARTITION: RECENT_LIST,
                "campaignId": campaign_id,
                **({SELLER_FIELD: seller} if seller else {}),
                "name": source.name,
                "manifest": source.manifest(),
                "format": source.fmt,
                "run": 1,
                "status": RunStatus.CHECKING.value,
                **dict.fromkeys(("rows", "invalid", "waiting", "sent", "failed", "unknown"), 0),
                "invalidBy": {},
                "failedBy": {},
                "startedAt": at,
                "updatedAt": at,
                "expiration": expiration,
            }
        )
        with suppress(ConditionNotMet):  # a repeat of run 1 (the same S3 event again, a retried step)
            call(
                table,
                lambda client: client.put_item(
                    TableName=table, Item=item, ConditionExpression="attribute_not_exists(id)"
                ),
            )
        return
    names = {"#run": "run", "#status": "status"}
    values = to_item(
        {
            ":run": run,
            ":checking": RunStatus.CHECKING.value,
            ":at": at,
            ":expiration": expiration,
            **{f":ended{position}": status.value for position, status in enumerate(ENDED)},
        }
    )
    try:
        call(
            table,
            lambda client: client.update_item(
                TableName=table,
                Key=_campaign_key(campaign_id),
                UpdateExpression=(
                    "SET #run = :run, #status = :checking, startedAt = :at, updatedAt = :at, expiration = :expiration "
                    "REMOVE finishedAt, #error, #cause"
                ),
                # Runs may skip a number: a start refused while a run was going (CampaignRunning) spent its
                # execution name, and the next start takes the number after it (campaigns.api.start_again).
                ConditionExpression="#run < :run AND #status IN (:ended0, :ended1)",
                ExpressionAttributeNames={**names, "#error": "error", "#cause": "cause"},
                ExpressionAttributeValues=values,
            ),
        )
    except ConditionNotMet:
        record = _require(table, campaign_id)
        if record["run"] >= run:
            return  # this run has begun already
        raise CampaignRunning(
            f"Campaign {campaign_id} is still in run {record['run']} ({record['status']}): start it again "
            "once that run has finished."
        ) from None


def prepared(table: str, campaign_id: str, run: int, *, rows: int, invalid_by: Mapping[str, int], to_send: int) -> None:
    """The manifest was read and checked: ``rows`` data rows, the invalid ones by error, ``to_send`` rows to send in
    this run. The run is running from here; a repeat (a retried step) changes nothing."""
    fields = {
        "rows": rows,
        "invalid": sum(invalid_by.values()),
        "invalidBy": dict(invalid_by),
        "waiting": to_send,
        "status": RunStatus.RUNNING.value,
        "preparedAt": now_iso(),
    }
    _update_run(table, campaign_id, run, fields, (RunStatus.CHECKING,))


def finished(table: str, campaign_id: str, run: int, *, counts: CampaignCounts, report: ObjectVersion) -> None:
    """The run ended and its report is written: its counts replace the counters kept as rows finished (the report
    reconciles the rows whose outcome step could not count them). A repeat changes nothing."""
    at = now_iso()
    fields = {
        "rows": counts.rows,
        "invalid": counts.invalid,
        "sent": counts.sent + counts.skipped,
        "skipped": counts.skipped,
        "failed": counts.failed,
        "unknown": counts.unknown,
        "failedBy": {error: count for error, count in counts.failed_by.items() if count},
        "waiting": 0,
        "report": report.to_dict(),
        "status": RunStatus.FINISHED.value,
        "finishedAt": at,
    }
    _update_run(table, campaign_id, run, fields, (RunStatus.CHECKING, RunStatus.RUNNING))


def run_failed(table: str, campaign_id: str, run: int, *, error: str, cause: str) -> None:
    """The campaign state machine itself failed in this run. A run that already ended stays as it ended."""
    fields = {"error": error, "cause": cause, "status": RunStatus.FAILED.value, "finishedAt": now_iso()}
    _update_run(table, campaign_id, run, fields, (RunStatus.CHECKING, RunStatus.RUNNING))


def _update_run(
    table: str, campaign_id: str, run: int, fields: Mapping[str, Any], from_statuses: tuple[RunStatus, ...]
) -> None:
    """Set ``fields`` on the record while ``run`` is its run and in one of ``from_statuses``; otherwise nothing
    changes (a repeated step, or a run that moved on). No record: :class:`CampaignNotFound`."""
    names, values, clauses = set_clauses({**fields, "updatedAt": now_iso()})
    names.update({"#run": "run", "#status": "status"})
    values.update(to_item({":run": run, **{f":from{i}": status.value for i, status in enumerate(from_statuses)}}))
    allowed = ", ".join(f":from{i}" for i in range(len(from_statuses)))
    try:
        call(
            table,
            lambda client: client.update_item(
                TableName=table,
                Key=_campaign_key(campaign_id),
                UpdateExpression="SET " + ", ".join(clauses),
                ConditionExpression=f"#run = :run AND #status IN ({allowed})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            ),
        )
    except ConditionNotMet:
        _require(table, campaign_id)


def row_finished(
    table: str,
    ref: CampaignRef,
    *,
    outcome: str,
    error: str | None,
    cause: str | None,
    request_id: str,
    retention: Retention | None = None,
) -> bool:
    """Count a row's outcome (``sent`` | ``failed`` | ``unknown``): the row's item and the campaign's counters in
    one transaction. False when nothing changed: a repeat, a late outcome of an earlier run. No campaign record:
    :class:`CampaignNotFound` (nothing is written for a campaign that does not exist)."""
    if outcome not in ROW_OUTCOMES:
        raise ValueError(f"a row ends {', '.join(ROW_OUTCOMES)}, not {outcome!r}")
    expiration = _retention(retention).expiration(time.time())
    for _ in range(CONFLICT_ATTEMPTS):
        campaign = _require(table, ref.id)
        row = _read(table, _row_key(ref.id, ref.row))
        seen = int(row.get("finishedRun", 0)) if row else 0
        if ref.run <= seen:
            return False  # this run's outcome is counted already, or a later run's is
        at = now_iso()
        if row and row.get("outcome") == "sent":
            # Sent is final: the row keeps its sent outcome; only the run that reported last changes.
            new_row = {**row, "finishedRun": ref.run, "updatedAt": at}
            deltas: dict[str, int] = {}
            failed_by: dict[str, int] = {}
        else:
            new_row = {
                "id": _row_key(ref.id, ref.row)["id"]["S"],
                "campaignId": ref.id,
                "row": ref.row,
                "run": ref.run,
                "outcome": outcome,
                "requestId": request_id,
                **{name: value for name, value in (("error", error), ("cause", cause)) if value},
                "finishedRun": ref.run,
                "finishedAt": at,
                "updatedAt": at,
            }
            deltas, failed_by = _count_change(row, outcome, error)
        new_row["expiration"] = expiration
        current = campaign["run"] == ref.run and campaign["status"] == RunStatus.RUNNING
        if current:
            deltas["waiting"] = deltas.get("waiting", 0) - 1
        try:
            _write_row(table, ref, new_row, seen, deltas, failed_by, current=current)
        except ConditionNotMet:
            continue
        return True
    raise WorkflowTableUnavailable(
        f"Campaign {ref.id}'s counters changed under {CONFLICT_ATTEMPTS} attempts in a row to count row {ref.row}."
    )


def _count_change(
    row: Mapping[str, Any] | None, outcome: str, error: str | None
) -> tuple[dict[str, int], dict[str, int]]:
    """The counters' and failedBy's changes when a row's counted outcome becomes ``outcome``."""
    deltas: dict[str, int] = {}
    failed_by: dict[str, int] = {}
    if row:
        deltas[row["outcome"]] = deltas.get(row["outcome"], 0) - 1
        if row["outcome"] == "failed":
            failed_by[row.get("error") or "unknown"] = -1
    deltas[outcome] = deltas.get(outcome, 0) + 1
    if outcome == "failed":
        name = error or "unknown"
        failed_by[name] = failed_by.get(name, 0) + 1
    return (
        {name: delta for name, delta in deltas.items() if delta},
        {name: delta for name, delta in failed_by.items() if delta},
    )


def _write_row(
    table: str,
    ref: CampaignRef,
    new_row: Mapping[str, Any],
    seen: int,
    deltas: Mapping[str, int],
    failed_by: Mapping[str, int],
    *,
    current: bool,
) -> None:
    """One transaction: the row's item over the state that was read, the campaign's counters by their changes,
    while the campaign is (or is not) in the run that counts waiting rows."""
    names = {"#run": "run", "#status": "status"}
    values = to_item({":run": ref.run, ":running": RunStatus.RUNNING.value, ":at": now_iso(), ":zero": 0})
    assignments = ["updatedAt = :at"]
    for position, (name, delta) in enumerate(deltas.items()):
        names[f"#c{position}"] = name
        values[f":c{position}"] = to_attribute(delta)
        assignments.append(f"#c{position} = #c{position} + :c{position}")
    if failed_by:
        names["#failedBy"] = "failedBy"
    for position, (name, delta) in enumerate(failed_by.items()):
        names[f"#e{position}"] = name
        values[f":e{position}"] = to_attribute(delta)
        assignments.append(f"#failedBy.#e{position} = if_not_exists(#failedBy.#e{position}, :zero) + :e{position}")
    in_run = "#run = :run AND #status = :running"
    put: dict[str, Any] = {"TableName": table, "Item": to_item(new_row)}
    if seen:
        put.update(ConditionExpression="finishedRun = :seen", ExpressionAttributeValues=to_item({":seen": seen}))
    else:
        put["ConditionExpression"] = "attribute_not_exists(id)"
    call(
        table,
        lambda client: client.transact_write_items(
            TransactItems=[
                {"Put": put},  # type: ignore[typeddict-item]
                {
                    "Update": {
                        "TableName": table,
                        "Key": _campaign_key(ref.id),
                        "UpdateExpression": "SET " + ", ".join(assignments),
                        "ConditionExpression": (
                            f"attribute_exists(id) AND {in_run}"
                            if current
                            else f"attribute_exists(id) AND NOT ({in_run})"
                        ),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                },
            ]
        ),
    )


def row_outcomes(table: str, campaign_id: str, rows: Iterable[int]) -> dict[int, RowOutcome]:
    """The counted outcome of each of ``rows`` that has one (BatchGetItem, 100 keys a call)."""
    found: dict[int, RowOutcome] = {}
    for item in batch_get(table, [_row_key(campaign_id, row) for row in sorted(set(rows))]):
        fields = from_item(item)
        found[fields["row"]] = RowOutcome(
            row=fields["row"],
            outcome=fields["outcome"],
            error=fields.get("error"),
            cause=fields.get("cause"),
            request_id=fields["requestId"],
            run=fields["run"],
        )
    return found


def get(table: str, campaign_id: str) -> dict[str, Any] | None:
    """The campaign record as plain JSON (what GET /campaigns/{campaignId} shows), or None."""
    item = _read(table, _campaign_key(campaign_id))
    return None if item is None else _shown(item)


def _shown(item: Mapping[str, Any]) -> dict[str, Any]:
    record = {name: value for name, value in item.items() if name not in {"id", "expiration", RECENT_INDEX_PARTITION}}
    for name in ("failedBy", "invalidBy"):
        if isinstance(record.get(name), Mapping):
            record[name] = {error: count for error, count in record[name].items() if count}
    return record


def recent(table: str, limit: int) -> list[dict[str, Any]]:
    """The latest ``limit`` campaigns, the latest run started first, as :func:`get` shows each."""
    listed = newest_in_index(table, RECENT_INDEX, RECENT_INDEX_PARTITION, RECENT_LIST, limit)
    keys = [{"id": item["id"]} for item in listed]
    found = {str(from_item(item)["id"]): _shown(from_item(item)) for item in batch_get(table, keys)} if keys else {}
    # BatchGetItem answers in any order: the index's order is kept (a record expired in between is left out).
    return [found[key["id"]["S"]] for key in keys if key["id"]["S"] in found]


def completed_detail(record: Mapping[str, Any]) -> dict[str, Any]:
    """The detail of the ``CampaignCompleted`` event, from a finished record: counts, the campaign's seller (when
    it has one) and the report's object, no order id or message text (the report has the rows)."""
    names = ("campaignId", "name", "run", "rows", "sent", "skipped", "failed", "unknown", "invalid", "failedBy")
    seller = {SELLER_FIELD: record[SELLER_FIELD]} if record.get(SELLER_FIELD) else {}
    return {**{name: record.get(name) for name in names}, **seller, "report": record.get("report")}


def _require(table: str, campaign_id: str) -> dict[str, Any]:
    record = get(table, campaign_id)
    if record is None:
        raise CampaignNotFound(f"No campaign has the id {campaign_id!r} (never started, or its record expired).")
    return record


def _read(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    response = call(table, lambda client: client.get_item(TableName=table, Key=key, ConsistentRead=True))
    item = response.get("Item")
    return from_item(item) if item else None
