"""The status record of every request: received → validated → uploading → sent / failed / unknown.

``unknown``: the send's request left but no answer came (SendOutcomeUnknown): the message may have reached
the buyer. Final, like ``sent`` and ``failed``: only a person who looked at the order's messages sends again.

One item per request in the workflow table (``request#{requestId}``; the request id is the execution's
name). Each step moves the record forward with a conditional write, so a retried step, a redelivered event
or a late step of a failed execution can never move it back, and ``sent`` is final: no failure recorded
after it can hide that the buyer got the message. ``history`` keeps each transition with its time.

What the record holds is safe to show: order, type, file names, sizes, MD5s, upload destination ids, the
error name and a readable cause. Never the message text, a presigned URL or a credential.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from buyer_messaging.config import Settings
from buyer_messaging.errors import BuyerMessagingError, error_name
from buyer_messaging.observability import logger
from buyer_messaging.storage import ObjectVersion
from buyer_messaging.table import (
    ConditionNotMet,
    batch_get,
    call,
    from_attribute,
    from_item,
    newest_in_index,
    set_clauses,
    to_attribute,
    to_item,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from buyer_messaging.models import MessageRequest

KEY_PREFIX = "request#"
# Sparse index of request records by order, newest first (only request records carry amazonOrderId).
ORDER_INDEX = "ByOrder"
ORDER_INDEX_PARTITION = "amazonOrderId"
ORDER_INDEX_SORT = "receivedAt"
# Sparse index of failed requests by the UTC day they failed, oldest first: only a failed record carries failedOn, so
# a re-send after an outage (buyer_messaging.resend) selects a time range with one Query per day, never a Scan. A day
# is one partition: failures are written at most at the seller's message rate (about 1/s, DESIGN "Quotas"), far
# below a partition's write limit, and a range reads only its own days.
FAILED_INDEX = "FailedByDay"
FAILED_INDEX_PARTITION = "failedOn"
FAILED_INDEX_SORT = "failedAt"


class Status(StrEnum):
    RECEIVED = "received"
    VALIDATED = "validated"
    UPLOADING = "uploading"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"


# The statuses a request ends in.
FINAL = (Status.SENT, Status.FAILED, Status.UNKNOWN)


# Which status each transition may start from; anything else means a later step already moved on.
_MAY_FOLLOW: Mapping[Status, tuple[Status, ...]] = {
    Status.VALIDATED: (Status.RECEIVED,),
    Status.UPLOADING: (Status.VALIDATED,),
    Status.SENT: (Status.VALIDATED, Status.UPLOADING),
    Status.FAILED: (Status.RECEIVED, Status.VALIDATED, Status.UPLOADING),
    # Only a send can leave without an answer, and a send follows validation (and the uploads).
    Status.UNKNOWN: (Status.VALIDATED, Status.UPLOADING),
}


@dataclass(frozen=True, slots=True)
class Retention:
    """How long request records are kept (DynamoDB TTL removes them after that)."""

    days: int

    def expiration(self, now: float) -> int:
        return int(now) + self.days * 86_400


def request_id_of(execution_arn: str) -> str:
    """The request id: the execution's name, the last part of its ARN."""
    return execution_arn.rsplit(":", 1)[-1]


def now_iso(now: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def request_summary(request: MessageRequest) -> dict[str, str]:
    """What a record shows of the request it was made for (``summary`` of :func:`received`): its seller too, when
    it has one (buyer_messaging.seller_scope.owner reads it)."""
    summary = {
        "amazonOrderId": request.amazon_order_id,
        "marketplaceId": request.marketplace_id,
        "messageType": request.message_type,
    }
    if request.selling_partner_id:
        summary["sellingPartnerId"] = request.selling_partner_id
    return summary


def _key(request_id: str) -> dict[str, Any]:
    return {"id": {"S": KEY_PREFIX + request_id}}


def received(
    table: str,
    execution_arn: str,
    retention: Retention,
    *,
    summary: Mapping[str, str] | None = None,
    origin: str | None = None,
    source: ObjectVersion | None = None,
    resend_of: str | None = None,
    now: float | None = None,
) -> bool:
    """Create the record if this request has none yet. ``summary`` holds amazonOrderId, marketplaceId and
    messageType when the input has them. A record that already exists only gains ``origin``, ``source`` and
    ``resendOf`` (the failed request this one re-sends). Returns whether the record was created here."""
    moment = time.time() if now is None else now
    at = now_iso(moment)
    fields: dict[str, Any] = {
        "requestId": request_id_of(execution_arn),
        "executionArn": execution_arn,
        "status": Status.RECEIVED.value,
        "receivedAt": at,
        "updatedAt": at,
        "history": [{"status": Status.RECEIVED.value, "at": at}],
        "expiration": retention.expiration(moment),
        **{name: value for name, value in (summary or {}).items() if isinstance(value, str) and value},
    }
    given = (("origin", origin), ("source", source), (RESEND_OF, resend_of))
    extra = {name: value for name, value in given if value is not None}
    fields.update(
        {name: value.to_dict() if isinstance(value, ObjectVersion) else value for name, value in extra.items()}
    )
    names, values, assignments = set_clauses(fields)
    request_id = request_id_of(execution_arn)
    if _update(table, request_id, names, values, assignments, "attribute_not_exists(id)"):
        return True
    if extra:
        _update(table, request_id, *set_clauses({name: fields[name] for name in extra}), "attribute_exists(id)")
    return False


def record_received(
    settings: Settings,
    execution_arn: str,
    request: MessageRequest,
    *,
    origin: str,
    source: ObjectVersion | None = None,
    only_logged: tuple[type[BuyerMessagingError], ...],
) -> None:
    """The record of a request whose execution was just started (by the API or the S3 trigger), marked with its
    ``origin`` (and the staged ``source``). The execution runs either way and its first state creates the record
    too, without them: the errors in ``only_logged`` are logged, not raised."""
    try:
        received(
            settings.require("workflow_table"),
            execution_arn,
            Retention(settings.status_retention_days),
            summary=request_summary(request),
            origin=origin,
            source=source,
        )
    except only_logged as error:
        logger.warning("Request record not written", extra={"error": error_name(error), "cause": str(error)})


def validated(
    table: str, execution_arn: str, summary: Mapping[str, str], attachments: Sequence[Mapping[str, Any]]
) -> bool:
    """The request passed validation: its type in canonical form and one entry per attachment."""
    return advance(
        table,
        execution_arn,
        Status.VALIDATED,
        {**summary, "attachments": [dict(attachment) for attachment in attachments]},
    )


def uploading(table: str, execution_arn: str) -> bool:
    """The first attachment's upload began (its destination is being created)."""
    return advance(table, execution_arn, Status.UPLOADING, {})


def attachment_uploaded(table: str, execution_arn: str, index: int, facts: Mapping[str, Any]) -> bool:
    """Amazon holds attachment ``index``: its MD5, uploadDestinationId and when. Only while uploading."""
    if index < 0:
        raise ValueError("attachment index must not be negative")
    at = now_iso()
    names: dict[str, str] = {"#status": "status", "#attachments": "attachments"}
    values = to_item({":uploading": Status.UPLOADING.value, ":at": at, ":index": index})
    assignments = ["updatedAt = :at"]
    for position, (name, value) in enumerate({**facts, "uploadedAt": at}.items()):
        names[f"#a{position}"] = name
        values[f":a{position}"] = to_attribute(value)
        assignments.append(f"#attachments[{index}].#a{position} = :a{position}")
    condition = "#status = :uploading AND size(#attachments) > :index"
    return _update(table, request_id_of(execution_arn), names, values, assignments, condition)


# History entries that are not statuses: the record keeps its status while they last.
WAITING_FOR_QUOTA = "waitingForQuota"


def waiting_for_quota(table: str, execution_arn: str, operation: str, since: str) -> bool:
    """The request waits for its turn in Amazon's quota for ``operation`` since ``since``: a timeline entry and
    ``waitingForQuota`` ({operation, since}) until its next transition. Only while the request is under way."""
    names = {"#status": "status", "#history": "history", "#waiting": WAITING_FOR_QUOTA}
    under_way = (Status.RECEIVED, Status.VALIDATED, Status.UPLOADING)
    values = to_item(
        {
            ":entry": [{"status": WAITING_FOR_QUOTA, "at": since}],
            ":waiting": {"operation": operation, "since": since},
            ":at": now_iso(),
            **{f":s{position}": current.value for position, current in enumerate(under_way)},
        }
    )
    condition = "#status IN (" + ", ".join(f":s{position}" for position in range(len(under_way))) + ")"
    assignments = ["#history = list_append(#history, :entry)", "#waiting = :waiting", "updatedAt = :at"]
    return _update(table, request_id_of(execution_arn), names, values, assignments, condition)


# The request waits for its seller to authorize the application again (buyer_messaging.authorization_hold).
HELD = "held"


def held(table: str, execution_arn: str, reason: str, since: str) -> bool:
    """The request is held since ``since`` because of ``reason`` (an error name: SellerNeedsAuthorization): a
    timeline entry and ``held`` ({reason, since}) until its next transition. Only while the request is under way,
    and once per hold."""
    names = {"#status": "status", "#history": "history", "#held": HELD}
    under_way = (Status.RECEIVED, Status.VALIDATED, Status.UPLOADING)
    values = to_item(
        {
            ":entry": [{"status": HELD, "at": since, "reason": reason}],
            ":held": {"reason": reason, "since": since},
            ":at": now_iso(),
            **{f":s{position}": current.value for position, current in enumerate(under_way)},
        }
    )
    condition = (
        "#status IN ("
        + ", ".join(f":s{position}" for position in range(len(under_way)))
        + ") AND attribute_not_exists(#held)"
    )
    assignments = ["#history = list_append(#history, :entry)", "#held = :held", "updatedAt = :at"]
    return _update(table, request_id_of(execution_arn), names, values, assignments, condition)


def received_at(table: str, execution_arn: str) -> float | None:
    """When the request was received (Unix seconds), or None without a record."""
    record = get(table, request_id_of(execution_arn))
    received = record.get("receivedAt") if record else None
    if not isinstance(received, str):
        return None
    try:
        return datetime.fromisoformat(received.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def sent(table: str, execution_arn: str, facts: Mapping[str, Any]) -> bool:
    """Amazon accepted the message. Final."""
    return advance(table, execution_arn, Status.SENT, facts)


def failed(
    table: str,
    execution_arn: str,
    retention: Retention,
    error: str,
    cause: str,
    summary: Mapping[str, str] | None = None,
) -> bool:
    """The request failed with ``error`` (a name) and ``cause`` (for a person). A request that failed before
    any record existed (its input was not even a request) gets one now. Never overrides ``sent``."""
    if get(table, request_id_of(execution_arn)) is None:
        received(table, execution_arn, retention, summary=summary)
    at = now_iso()
    facts = {"error": error, "cause": cause, FAILED_INDEX_PARTITION: failed_on(at)}
    return advance(table, execution_arn, Status.FAILED, facts, at=at)


def failed_on(at: str) -> str:
    """The UTC day (``YYYY-MM-DD``) of an ISO time this module wrote: the failed index's partition."""
    return at[:10]


def send_started(table: str, execution_arn: str) -> bool:
    """A send's request is about to leave (``sendStartedAt``): until Amazon's answer clears it
    (:func:`send_answered`), an end without that answer (a state or Lambda timeout, a crash) may have reached the
    buyer. False when the record is not validated or uploading, or an earlier attempt's send got no answer."""
    names = {"#status": "status", "#started": "sendStartedAt"}
    values = to_item({":at": now_iso(), ":validated": Status.VALIDATED.value, ":uploading": Status.UPLOADING.value})
    condition = "#status IN (:validated, :uploading) AND attribute_not_exists(#started)"
    return _update(table, request_id_of(execution_arn), names, values, ["#started = :at"], condition)


def send_answered(table: str, execution_arn: str) -> None:
    """Amazon answered the send with an error, or the call never left: nothing was sent, a later attempt may send."""
    try:
        call(
            table,
            lambda client: client.update_item(
                TableName=table,
                Key=_key(request_id_of(execution_arn)),
                UpdateExpression="REMOVE sendStartedAt",
                ConditionExpression="attribute_exists(id)",
            ),
        )
    except ConditionNotMet:
        return


def outcome_unknown(table: str, execution_arn: str, error: str, cause: str) -> bool:
    """The send left without an answer: the message may have reached the buyer. Never overrides ``sent``."""
    return advance(table, execution_arn, Status.UNKNOWN, {"error": error, "cause": cause})


def advance(table: str, execution_arn: str, status: Status, facts: Mapping[str, Any], *, at: str | None = None) -> bool:
    """Move the record to ``status`` (with ``facts``) at ``at`` (now) if it is in a status that may lead there.
    False when it is not: a later step already moved on, or this transition already happened."""
    at = at or now_iso()
    # History first, status last: DynamoDB applies the update atomically, but the local stack's moto applies it
    # clause by clause, and a reader in between must never see the new status without its history entry.
    fields = {**facts, f"{status.value}At": at, "updatedAt": at, "status": status.value}
    names, values, assignments = set_clauses(fields)
    names["#status"] = "status"
    names["#history"] = "history"
    values[":transition"] = to_attribute([{"status": status.value, "at": at}])
    assignments.insert(0, "#history = list_append(#history, :transition)")
    allowed = _MAY_FOLLOW[status]
    values.update(to_item({f":from{position}": previous.value for position, previous in enumerate(allowed)}))
    condition = "#status IN (" + ", ".join(f":from{position}" for position in range(len(allowed))) + ")"
    names["#waiting"] = WAITING_FOR_QUOTA  # a transition ends any wait for quota, and any hold
    names["#held"] = HELD
    return _update(
        table, request_id_of(execution_arn), names, values, assignments, condition, remove=["#waiting", "#held"]
    )


RESEND_OF = "resendOf"
RESENT_AS = "resentAs"


def failed_between(table: str, day: str, since: str, until: str, errors: Sequence[str] = ()) -> list[str]:
    """The ids of the requests that failed on UTC ``day`` from ``since`` up to (not including) ``until`` (ISO times),
    oldest first, with one of ``errors`` when any are named (index FailedByDay; the index is eventually consistent:
    a failure of the last second may be missing)."""
    names = {"#day": FAILED_INDEX_PARTITION, "#at": FAILED_INDEX_SORT}
    values = to_item({":day": day, ":since": since, ":until": until})
    arguments: dict[str, Any] = {
        "TableName": table,
        "IndexName": FAILED_INDEX,
        "KeyConditionExpression": "#day = :day AND #at BETWEEN :since AND :until",
    }
    if errors:
        names["#error"] = "error"
        values.update(to_item({f":e{position}": name for position, name in enumerate(errors)}))
        arguments["FilterExpression"] = "#error IN (" + ", ".join(f":e{n}" for n in range(len(errors))) + ")"
    found: list[str] = []
    start: dict[str, Any] | None = None
    while True:
        page = dict(arguments, ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        if start:
            page["ExclusiveStartKey"] = start
        response = call(table, _query(page))
        for item in response.get("Items", []):
            # BETWEEN includes its upper end; the range is half-open so that consecutive ranges never overlap.
            if from_attribute(item[FAILED_INDEX_SORT]) < until:
                found.append(str(item["id"]["S"])[len(KEY_PREFIX) :])
        start = response.get("LastEvaluatedKey")
        if not start:
            return found


def _query(arguments: dict[str, Any]) -> Callable[[DynamoDBClient], Any]:
    return lambda client: client.query(**arguments)


def mark_resent(table: str, request_id: str, new_request_id: str) -> bool:
    """Note on a failed record that ``new_request_id`` re-sends it (``resentAs``). True when it now says so (written
    here, or by an earlier run that started the same execution); False when it names another re-send or is not
    failed."""
    names = {"#status": "status", "#resent": RESENT_AS}
    values = to_item({":failed": Status.FAILED.value, ":new": new_request_id, ":at": now_iso()})
    condition = "#status = :failed AND (attribute_not_exists(#resent) OR #resent = :new)"
    return _update(
        table, request_id, names, values, ["#resent = :new", "resentAt = if_not_exists(resentAt, :at)"], condition
    )


def get(table: str, request_id: str) -> dict[str, Any] | None:
    """The record as plain JSON (camelCase fields, without the table's own ``id`` and ``expiration``)."""
    response = call(table, lambda client: client.get_item(TableName=table, Key=_key(request_id), ConsistentRead=True))
    item = response.get("Item")
    return _plain(item) if item else None


def records_of(table: str, request_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The records of ``request_ids`` that exist, by request id (BatchGetItem, 100 keys a call)."""
    items = batch_get(table, [_key(request_id) for request_id in dict.fromkeys(request_ids)])
    return {str(item["id"]["S"])[len(KEY_PREFIX) :]: _plain(item) for item in items}


def for_order(table: str, amazon_order_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The order's requests, newest first."""
    return [_plain(item) for item in newest_in_index(table, ORDER_INDEX, ORDER_INDEX_PARTITION, amazon_order_id, limit)]


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return from_item({name: value for name, value in item.items() if name not in {"id", "expiration"}})


def _update(
    table: str,
    request_id: str,
    names: dict[str, str],
    values: dict[str, Any],
    assignments: list[str],
    condition: str,
    remove: Sequence[str] = (),
) -> bool:
    """One conditional UpdateItem of the record; False when the condition did not hold."""
    expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(remove) if remove else "")
    try:
        call(
            table,
            lambda client: client.update_item(
                TableName=table,
                Key=_key(request_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            ),
        )
    except ConditionNotMet:
        return False
    return True
