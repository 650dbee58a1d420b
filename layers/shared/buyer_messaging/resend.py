"""Re-send after an outage (docs/resend.md): the failed requests a selection names, each re-sent exactly once.

Three parts, as ``POST /resends`` and ``make resend`` use them:

- :func:`read_post`: the selection (a time range of failure, error names, an order, request ids) and ``dryRun``,
  read with the package's field readers; a selection that names nothing, a campaign, or a range wider than
  :data:`MAX_RANGE_DAYS` is refused (:class:`ResendSelectionInvalid`).
- :func:`plan`: every selected request with its decision, ``resend`` or ``skip`` with a named reason. ``sent`` is
  never sent again, ``unknown`` neither (Amazon may have delivered it: a person looks in Seller Central first).
- :func:`run`: each ``resend`` started as a new execution of the original's input (DescribeExecution) under a name
  derived from the original request id, then ``resentAs`` written on the original record on condition. A crash
  between the two, or a second run, starts nothing twice: Step Functions refuses a second start of a name, and a
  record that says ``resentAs`` is skipped.

Bad input is skipped: the same document fails the same way. Only the errors in :data:`FIXABLE_BAD_INPUT` are
re-sent, and only when the operator names them: the document is unchanged, but what it points to may have been
mended (a staged file put back at its key, the bucket's access fixed, the order now in a state that allows the
type). Text, attachment rules, unknown types and Amazon's 400/404 come from the document itself: fix it and send anew.

A new execution, not Step Functions' redrive: redrive re-runs a failed execution under its own name, so the request
id, its record and the send step's idempotency key (the execution) would be the failed one's, and a failed record
would have to move back from ``failed``, which the status record never allows. A new execution has a record of its
own that says ``resendOf``, and the original's stays as it ended, with ``resentAs``.

Like buyer_messaging.http_api, each function imports the adapters it uses when it runs: the API function's cold
start loads no more than its message routes need (tests/unit/test_cold_start_imports.py).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from buyer_messaging import errors
from buyer_messaging.config import get_settings
from buyer_messaging.errors import (
    BuyerMessagingError,
    CampaignRunning,
    ResendLimitExceeded,
    ResendSelectionInvalid,
)
from buyer_messaging.fields import AMAZON_ORDER_ID_PATTERN, CAMPAIGN_ID_PATTERN, FieldReader
from buyer_messaging.observability import logger, metrics
from buyer_messaging.request_body import read_json_body

if TYPE_CHECKING:
    from buyer_messaging.access import Caller

RESEND_FIELDS = ("since", "until", "errors", "amazonOrderId", "campaign", "requests", "limit", "dryRun")
MAX_RANGE_DAYS = 31  # one Query per day of the index; Step Functions keeps the inputs 90 days anyway
DEFAULT_LIMIT = 50
MAX_LIMIT = 100  # starts per call: each is a DescribeExecution, a StartExecution and two writes in API Gateway's 30 s
MAX_SELECTED = 1000  # failed requests one selection may read; more: narrow it
# Step Functions keeps a closed Standard execution (its input, DescribeExecution) 90 days, then may reuse its name
# (AWS docs, "Execution guarantees"; 30 days on a quota request): a record without its input is never started.
HISTORY_DAYS = 90
# Named bad input a re-send of the same document can succeed with, once the world around it was mended.
FIXABLE_BAD_INPUT = frozenset(
    {"AttachmentNotFound", "AttachmentChanged", "StagingAccessDenied", "MessageTypeNotAvailable"}
)
# The errors a selection may name: the package's, and Step Functions' own (States.Timeout, ...).
KNOWN_ERRORS = frozenset(
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, BuyerMessagingError) and value is not BuyerMessagingError
)
AWS_ERROR_PATTERN = re.compile(r"^(States|Lambda|Sandbox)\.[A-Za-z]+$|^WorkflowError$")
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,80}$")  # an execution name of the workflow
MESSAGES_RESENT = "MessagesResent"  # metric_catalog: failed requests re-sent

Decision = Literal["resend", "skip"]
_UNKNOWN = (
    "The send left without an answer: Amazon may have delivered it. Look at the order's messages in Seller Central; "
    "send anew only if it is not there."
)
# Why a request is skipped (or, for ``startFailed``, not started): the plan's reasons, the OpenAPI document's enum.
REASONS = (
    "sent",
    "outcomeUnknown",
    "notEnded",
    "alreadyResent",
    "badInput",
    "historyExpired",
    "campaignRow",
    "attachmentGone",
    "notFound",
    "startFailed",
)


@dataclass(frozen=True, slots=True)
class Selection:
    """What to re-send: requests that failed in [since, until), with one of ``errors`` (any when empty), of
    ``order``, or the ``requests`` named; every filter given must hold."""

    since: datetime | None = None
    until: datetime | None = None
    errors: tuple[str, ...] = ()
    order: str | None = None
    requests: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT
    campaign: str | None = None  # alone: the campaign's next run re-sends its rows not sent (limit does not apply)


@dataclass(frozen=True, slots=True)
class ResendPost:
    selection: Selection
    dry_run: bool


@dataclass(frozen=True, slots=True)
class Entry:
    """One selected request and what is done with it. ``reason`` names why it is skipped (or ``failed``)."""

    request_id: str
    amazon_order_id: str | None
    message_type: str | None
    error: str | None
    decision: Decision
    reason: str | None = None
    failed_at: str | None = None
    detail: str = ""
    new_request_id: str | None = None
    document: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    row: int | None = None  # a campaign's manifest row (a campaign re-send)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requestId": self.request_id,
            "amazonOrderId": self.amazon_order_id,
            "messageType": self.message_type,
            "error": self.error,
            "failedAt": self.failed_at,
            "decision": self.decision,
            "reason": self.reason,
            "detail": self.detail,
            "newRequestId": self.new_request_id,
        }


def read_post(raw: str | None, *, now: datetime | None = None) -> ResendPost:
    """The body of POST /resends: the selection and ``dryRun``, every problem named at once."""
    reader = FieldReader(read_json_body(raw), "")
    since = _time(reader, "since")
    until = _time(reader, "until")
    names = _strings(reader, "errors", MAX_LIMIT)
    for index, name in enumerate(names):
        if name not in KNOWN_ERRORS and not AWS_ERROR_PATTERN.fullmatch(name):
            reader.problem(f"errors[{index}]", "is not an error name of the workflow (a typo?)")
    order = reader.string("amazonOrderId", required=False)
    if order is not None and not AMAZON_ORDER_ID_PATTERN.fullmatch(order):
        reader.problem("amazonOrderId", "is not an Amazon order id (like 123-1234567-1234567)")
    requests = _strings(reader, "requests", MAX_LIMIT)
    for index, request_id in enumerate(requests):
        if not REQUEST_ID_PATTERN.fullmatch(request_id):
            reader.problem(f"requests[{index}]", "is not a request id (1 to 80 of A-Z, a-z, 0-9, '_' and '-')")
    limit = DEFAULT_LIMIT if reader.data.get("limit") is None else reader.integer("limit")
    if not 1 <= limit <= MAX_LIMIT:
        reader.problem("limit", f"must be from 1 to {MAX_LIMIT}")
    dry_run = reader.data.get("dryRun", False)
    if not isinstance(dry_run, bool):
        reader.problem("dryRun", "must be true or false")
    campaign = reader.string("campaign", required=False)
    reader.refuse_unknown(RESEND_FIELDS, "a re-send")
    reader.raise_if_problems("re-send")
    if campaign is not None:
        return ResendPost(_campaign_selection(reader, campaign, limit), dry_run)
    selection = _checked(Selection(since, until, tuple(names), order, tuple(requests), limit), now)
    return ResendPost(selection, dry_run)


def _time(reader: FieldReader, name: str) -> datetime | None:
    text = reader.string(name, required=False)
    if text is None:
        return None
    try:
        # RFC 3339 allows a lower-case "t" and "z"; Python's reader takes upper case only.
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        reader.problem(name, "must be an ISO 8601 time with its zone (like 2026-12-06T14:00:00Z)")
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00:00+01:00 is before the first moment Python holds in UTC (9999-12-31T23:59:59-01:00 after
        # the last): the nearest one stands for it, and the range's limit refuses the selection by name.
        return datetime.min.replace(tzinfo=UTC) if moment.year == 1 else datetime.max.replace(tzinfo=UTC)


def _strings(reader: FieldReader, name: str, max_items: int) -> list[str]:
    if name not in reader.data:
        return []
    value = reader.data[name]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        reader.problem(name, "must be a list of strings")
        return []
    if not value:
        reader.problem(name, "must name at least one (or be left out)")
        return []
    if len(value) > max_items:
        reader.problem(name, f"has {len(value)} items; at most {max_items} are accepted")
        return []
    return list(dict.fromkeys(value))


def _campaign_selection(reader: FieldReader, campaign: str, limit: int) -> Selection:
    """A campaign, named alone: its rows are re-sent by its own next run (POST /campaigns/{id}/runs), which takes
    every row not sent, so no row is sent on two paths and the other filters cannot narrow it."""
    if not CAMPAIGN_ID_PATTERN.fullmatch(campaign):
        raise ResendSelectionInvalid(
            "campaign is not a campaign id (the campaignId POST /campaigns gave: 1 to 64 of A-Z, a-z, 0-9, '_', '-').",
            problems=(("campaign", "is not a campaign id"),),
        )
    others = [name for name in ("since", "until", "errors", "amazonOrderId", "requests") if reader.data.get(name)]
    if others:
        raise ResendSelectionInvalid(
            f"Name the campaign alone: its next run re-sends every row of it not sent, so {', '.join(others)} cannot "
            "narrow it.",
            problems=tuple((name, "cannot be given with campaign") for name in others),
        )
    return Selection(campaign=campaign, limit=limit)


def _checked(selection: Selection, now: datetime | None) -> Selection:
    """The range completed (``until`` defaults to now) and held to the index's limit; a selection must say what."""
    if selection.since is None and selection.until is not None:
        raise ResendSelectionInvalid(
            "A range needs its start: give since (and until, which defaults to now).",
            problems=(("since", "is required with until"),),
        )
    if selection.since is None and selection.order is None and not selection.requests:
        raise ResendSelectionInvalid(
            "Say what to re-send: a time range of failure (since, until), an order (amazonOrderId) or request ids "
            "(requests); error names only narrow one of them.",
            problems=(("since", "or amazonOrderId or requests is required"),),
        )
    if selection.since is None:
        return selection
    until = selection.until or (now or datetime.now(UTC))
    if until <= selection.since:
        raise ResendSelectionInvalid("until must be after since.", problems=(("until", "must be after since"),))
    if until - selection.since > timedelta(days=MAX_RANGE_DAYS):
        raise ResendSelectionInvalid(
            f"The range spans more than {MAX_RANGE_DAYS} days, the most one re-send reads: split it into ranges of "
            f"at most {MAX_RANGE_DAYS} days.",
            problems=(("until", f"must be at most {MAX_RANGE_DAYS} days after since"),),
        )
    return Selection(selection.since, until, selection.errors, selection.order, selection.requests, selection.limit)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _days(since: datetime, until: datetime) -> Iterator[str]:
    day = since.date()
    while day <= until.date():
        yield day.isoformat()
        day += timedelta(days=1)


def _candidates(table: str, selection: Selection) -> list[str]:
    """The request ids the selection's primary filter names (request ids, else the range, else the order)."""
    from buyer_messaging import status

    if selection.requests:
        return list(selection.requests)
    if selection.since is not None and selection.until is not None:
        since, until = _iso(selection.since), _iso(selection.until)
        found: list[str] = []
        for day in _days(selection.since, selection.until):
            found.extend(status.failed_between(table, day, since, until, selection.errors))
            if len(found) > MAX_SELECTED:
                break
        return found
    records = status.for_order(table, str(selection.order), limit=MAX_SELECTED)
    return [str(record["requestId"]) for record in reversed(records) if record.get("status") == status.Status.FAILED]


def plan(selection: Selection, caller: Caller | None = None) -> list[Entry]:
    """Every selected request and its decision; nothing is started. With ``caller``, another seller's request is
    left out, and one named by id is "notFound" as an id that names no request."""
    from buyer_messaging import status

    settings = get_settings()
    table = settings.require("workflow_table")
    candidates = _candidates(table, selection)
    if len(candidates) > MAX_SELECTED:
        raise ResendSelectionInvalid(
            f"More than {MAX_SELECTED} failed requests match; narrow the range or name the errors.",
            problems=(("since", f"selects more than {MAX_SELECTED} failed requests"),),
        )
    staging_bucket = settings.require("staging_bucket")
    entries = []
    for request_id in candidates:
        record = status.get(table, request_id)
        if caller is not None and not caller.may_see(record):
            record = None
        if record is not None and _selected(record, selection):
            entries.append(_decide(record, selection, staging_bucket))
        elif record is None and selection.requests:
            entries.append(Entry(request_id, None, None, None, "skip", "notFound", "No request has this id."))
    return entries


def _selected(record: Mapping[str, Any], selection: Selection) -> bool:
    """Whether the record passes every filter the selection gives (a request named by id only needs to exist)."""
    from buyer_messaging import status

    if selection.order is not None and record.get("amazonOrderId") != selection.order:
        return False
    if (
        selection.errors
        and record.get("status") == status.Status.FAILED
        and record.get("error") not in selection.errors
    ):
        return False
    failed_at = record.get("failedAt")
    if selection.since is not None and selection.until is not None and isinstance(failed_at, str):
        return _iso(selection.since) <= failed_at < _iso(selection.until)
    return True


def resendable(error: str) -> bool:
    """Whether a request that failed with this error can be re-sent: any but bad input, and of bad input only
    :data:`FIXABLE_BAD_INPUT` (when named). SendOutcomeUnknown ends a request ``unknown``, never ``failed``."""
    if error == errors.SendOutcomeUnknown.__name__:
        return False
    return not errors.is_bad_input(error) or error in FIXABLE_BAD_INPUT


def new_request_id(record: Mapping[str, Any]) -> str:
    """The re-send's execution name: the original request id decides it (each failed record is re-sent at most
    once; a re-send that fails is a record of its own, re-sent under its own id)."""
    from buyer_messaging import naming

    hint = f"{record.get('amazonOrderId') or ''}-{record.get('messageType') or ''}-resend"
    return naming.deterministic_name(("resend", "1", str(record["requestId"])), hint)


def _decide(record: Mapping[str, Any], selection: Selection, bucket: str) -> Entry:
    from buyer_messaging import executions, status

    base = Entry(
        request_id=str(record["requestId"]),
        amazon_order_id=record.get("amazonOrderId"),
        message_type=record.get("messageType"),
        error=record.get("error"),
        decision="skip",
        failed_at=record.get(status.FAILED_INDEX_SORT),
    )

    def skip(reason: str, detail: str) -> Entry:
        return _with(base, reason=reason, detail=detail)

    state = record.get("status")
    if state == status.Status.SENT:
        return skip("sent", "Amazon accepted this message: it is never sent again.")
    if state == status.Status.UNKNOWN:
        return skip("outcomeUnknown", _UNKNOWN)
    if state != status.Status.FAILED:
        return skip("notEnded", f"The request is still under way ({state}).")
    if record.get(status.RESENT_AS):
        return skip("alreadyResent", f"Already re-sent as {record[status.RESENT_AS]}.")
    error = str(record.get("error") or "")
    if errors.is_bad_input(error):
        if not resendable(error):
            return skip("badInput", f"{error}: the same request fails the same way. Fix it and send it anew.")
        if error not in selection.errors:
            return skip(
                "badInput",
                f"{error}: re-sent only when named in errors, once what it points to was mended (the file put back, "
                "the access fixed, the order ready for this type).",
            )
    document = executions.execution_input(str(record["executionArn"]))
    if not isinstance(document, Mapping):
        return skip(
            "historyExpired",
            f"Step Functions no longer has the request's input (it keeps an execution {HISTORY_DAYS} days after it "
            "ended). Send it anew.",
        )
    if document.get("campaign") is not None:
        campaign = document["campaign"].get("id") if isinstance(document["campaign"], Mapping) else None
        return skip(
            "campaignRow",
            f'A campaign\'s row: re-send the campaign ({{"campaign": "{campaign}"}}), whose next run sends it.',
        )
    gone = _gone_attachment(document, bucket)
    if gone is not None:
        return skip("attachmentGone", f"The staged file {gone} is gone (expired or deleted): stage it and send anew.")
    return _with(base, decision="resend", new_request_id=new_request_id(record), document=document)


def _with(entry: Entry, **changes: Any) -> Entry:
    values = {name: getattr(entry, name) for name in Entry.__slots__ if name not in changes}
    return Entry(**values, **changes)


def _gone_attachment(document: Mapping[str, Any], bucket: str) -> str | None:
    """The first attachment of the staging bucket S3 no longer has (other buckets are the execution's to read)."""
    from buyer_messaging import storage

    for attachment in document.get("attachments") or []:
        if not isinstance(attachment, Mapping) or not isinstance(attachment.get("key"), str):
            continue
        if (attachment.get("bucket") or bucket) == bucket and storage.staged_object(bucket, attachment["key"]) is None:
            return str(attachment["key"])
    return None


def run(selection: Selection, *, dry_run: bool, caller: Caller | None = None) -> dict[str, Any]:
    """The plan, and unless ``dry_run`` every ``resend`` started and marked; the answer of POST /resends. With
    ``caller``, only its sellers' requests and campaigns are selected."""
    if selection.campaign is not None:
        return _run_campaign(selection, dry_run=dry_run, caller=caller)
    entries = plan(selection, caller)
    to_start = [entry for entry in entries if entry.decision == "resend"]
    if not dry_run and len(to_start) > selection.limit:
        raise ResendLimitExceeded(
            f"{len(to_start)} requests would be re-sent; one call re-sends at most limit={selection.limit} (up to "
            f"{MAX_LIMIT}). Narrow the range or the errors, or raise the limit.",
            problems=(("limit", f"is below the {len(to_start)} requests to re-send"),),
        )
    if not dry_run:
        entries = [_start(entry) if entry.decision == "resend" else entry for entry in entries]
    return _answer(selection, entries, dry_run=dry_run, to_send=len(to_start))


def _answer(selection: Selection, entries: list[Entry], *, dry_run: bool, to_send: int) -> dict[str, Any]:
    """The answer of POST /resends, and the count of what was re-sent."""
    started = 0 if dry_run else sum(1 for entry in entries if entry.decision == "resend" and entry.reason is None)
    if started:
        metrics.add_metric(name=MESSAGES_RESENT, unit="Count", value=started)
    return {
        "dryRun": dry_run,
        "limit": selection.limit,
        "selected": len(entries),
        "resend": to_send,
        "started": started,
        "failedToStart": sum(1 for entry in entries if entry.reason == "startFailed"),
        "requests": [entry.to_dict() for entry in entries],
    }


def _start(entry: Entry) -> Entry:
    """Start the re-send, then say so on the original record: a crash in between is mended by the next run, which
    starts the same name (a no-op) and writes the mark."""
    from buyer_messaging import executions, status

    settings = get_settings()
    table = settings.require("workflow_table")
    name = str(entry.new_request_id)
    try:
        started = executions.start_execution(settings.require("state_machine_arn"), name, dict(entry.document or {}))
        if not status.mark_resent(table, entry.request_id, name):
            return _with(entry, decision="skip", reason="alreadyResent", detail="Another re-send marked it first.")
        status.received(
            table,
            started.execution_arn,
            status.Retention(settings.status_retention_days),
            summary=_summary(entry.document or {}),
            origin="resend",
            resend_of=entry.request_id,
        )
    except BuyerMessagingError as error:
        logger.error("Re-send not started", extra={"request_id": entry.request_id, "error": type(error).__name__})
        return _with(entry, reason="startFailed", detail=f"{type(error).__name__}: {error}")
    logger.info("Re-sent", extra={"request_id": entry.request_id, "new_request_id": name})
    earlier = " (started by an earlier run)" if started.already_existed else ""
    return _with(entry, detail=f"Re-sent as {name}{earlier}.")


def _summary(document: Mapping[str, Any]) -> dict[str, str]:
    fields = ("amazonOrderId", "marketplaceId", "messageType", "sellingPartnerId")
    return {name: value for name in fields if isinstance(value := document.get(name), str)}


NEXT_RUN = "the campaign's next run"


def campaign_plan(campaign_id: str, caller: Caller | None = None) -> list[Entry]:
    """The rows of the campaign's latest report that were not sent: a failed row is re-sent by the next run; an
    unknown outcome or an invalid row is not (the run leaves them out too)."""
    from buyer_messaging.campaigns import api as campaigns_api

    shown = campaigns_api.campaign(campaign_id, caller)
    if not shown.get("done"):
        raise CampaignRunning(
            f"Campaign {campaign_id} is still in run {shown.get('run')}: its rows not sent are known when it ends.",
            problems=(("campaign", f"is still in run {shown.get('run')}"),),
        )
    _, data = campaigns_api.report(campaign_id, caller)
    entries = []
    for line in csv.DictReader(io.StringIO(data.decode("utf-8"))):
        row, state = line.get("row", ""), line.get("status")
        base = Entry(
            request_id=line.get("requestId") or "",
            amazon_order_id=line.get("amazonOrderId") or None,
            message_type=line.get("messageType") or None,
            error=line.get("error") or None,
            decision="resend",
            detail=f"Row {row}: sent again by {NEXT_RUN}.",
            row=int(row),
        )
        if state == "failed":
            entries.append(base)
        elif state == "unknown":
            entries.append(_with(base, decision="skip", reason="outcomeUnknown", detail=f"Row {row}: {_UNKNOWN}"))
        elif state == "invalid":
            detail = (
                f"Row {row} is invalid in the manifest: fix it (GET /campaigns/{campaign_id}/failed-rows) and stage it."
            )
            entries.append(_with(base, decision="skip", reason="badInput", detail=detail))
    return entries


def _run_campaign(selection: Selection, *, dry_run: bool, caller: Caller | None = None) -> dict[str, Any]:
    """A campaign's rows not sent: the plan, and unless ``dry_run`` its next run started (once: the run's execution
    name), when a row is to be sent."""
    from buyer_messaging.campaigns import api as campaigns_api
    from buyer_messaging.campaigns.run import row_execution_name

    campaign_id = str(selection.campaign)
    entries = campaign_plan(campaign_id, caller)
    to_send = [entry for entry in entries if entry.decision == "resend"]
    if to_send and not dry_run:
        started = campaigns_api.start_again(campaign_id, caller)
        earlier = " (started by an earlier call)" if started["repeat"] else ""
        by = f"run {started['run']} of the campaign{earlier}"
        entries = [
            _with(
                entry,
                detail=entry.detail.replace(NEXT_RUN, by),
                new_request_id=row_execution_name(campaign_id, int(entry.row or 0), int(started["run"])),
            )
            if entry.decision == "resend"
            else entry
            for entry in entries
        ]
    return _answer(selection, entries, dry_run=dry_run, to_send=len(to_send))
