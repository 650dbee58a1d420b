"""How a request ended, told three ways: its status record, tags on its staged objects, an EventBridge event.

Staged objects are tagged, never deleted: a failed request's files stay for a person to fix and send again
(the bucket's lifecycle rule expires them later). S3 tags:

- ``buyer-messaging:outcome`` = ``sent`` | ``failed`` | ``unknown`` (the send left without an answer: the
  message may have reached the buyer)
- ``buyer-messaging:request-id`` = the request id (the execution's name)
- ``buyer-messaging:error`` = the error's name (failed and unknown only)
- ``buyer-messaging:selling-partner-id`` = the request's seller (when it has one)

An attachment shared by several requests carries the outcome of the latest one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from buyer_messaging import errors, eventbus, seller_scope, status, storage
from buyer_messaging.campaigns import records
from buyer_messaging.errors import BuyerMessagingError, SendInProgress, SendOutcomeUnknown, error_name
from buyer_messaging.fields import FieldReader, unicode_text_problem
from buyer_messaging.models import CampaignRef, Failure
from buyer_messaging.observability import logger

TAG_OUTCOME = "buyer-messaging:outcome"
TAG_REQUEST = "buyer-messaging:request-id"
TAG_ERROR = "buyer-messaging:error"
TAG_SELLER = "buyer-messaging:selling-partner-id"
_SUMMARY_FIELDS = ("amazonOrderId", "marketplaceId", "messageType", "sellingPartnerId")


@dataclass(frozen=True, slots=True)
class Destinations:
    """Where outcomes go: the workflow table, the staging bucket (only its objects are tagged), the bus."""

    table: str
    staging_bucket: str
    event_bus: str
    retention: status.Retention


@dataclass(frozen=True, slots=True)
class Recorded:
    request_id: str
    status: str
    objects_tagged: int
    event_id: str | None
    time_to_sent_ms: int | None = None  # a sent request: its record's sentAt less receivedAt (not in the output)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requestId": self.request_id,
            "status": self.status,
            "objectsTagged": self.objects_tagged,
            "eventId": self.event_id,
        }


def record_sent(where: Destinations, execution_arn: str) -> Recorded:
    """Tag and announce a sent message (its record was marked sent the moment Amazon answered)."""
    record = status.get(where.table, status.request_id_of(execution_arn))
    if record is None or record.get("status") != status.Status.SENT:
        # Only the send step marks a record sent; anything else here is a bug worth a loud log line.
        logger.error("Outcome 'sent' without a sent record", extra={"status": (record or {}).get("status")})
        record = record or {"requestId": status.request_id_of(execution_arn), "executionArn": execution_arn}
    tags = {TAG_OUTCOME: "sent", TAG_REQUEST: record["requestId"], **_seller_tag(record)}
    tagged = _tag_all(where, record, None, tags, (TAG_ERROR,))
    event_id = eventbus.publish(where.event_bus, eventbus.MESSAGE_SENT, event_detail(record), [execution_arn])
    return Recorded(record["requestId"], "sent", tagged, event_id, _time_to_sent_ms(record))


def _time_to_sent_ms(record: Mapping[str, Any]) -> int | None:
    received, sent = record.get("receivedAt"), record.get("sentAt")
    if not isinstance(received, str) or not isinstance(sent, str):
        return None
    elapsed = datetime.fromisoformat(sent) - datetime.fromisoformat(received)
    return round(elapsed.total_seconds() * 1000)


def record_failed(where: Destinations, execution_arn: str, failure: Failure, execution_input: object) -> Recorded:
    """Mark the record failed, or unknown for a send that left without an answer (unless the message was sent
    after all), tag the staged objects, announce it (MessageFailed, or MessageOutcomeUnknown)."""
    request_id = status.request_id_of(execution_arn)
    if _may_have_reached_the_buyer(failure, status.get(where.table, request_id)):
        # The send left without an answer: "may have reached the buyer", never a plain failure inviting a resend.
        status.outcome_unknown(where.table, execution_arn, failure.error, failure.cause)
    else:
        status.failed(
            where.table, execution_arn, where.retention, failure.error, failure.cause, _summary(execution_input)
        )
    record = status.get(where.table, request_id) or {}
    if record.get("status") == status.Status.SENT:
        # The buyer got the message; a failure after that (a step that timed out after sending) must not say
        # otherwise. The execution still fails, so someone looks at it.
        logger.error("Execution failed after the message was sent", extra={"error": failure.error})
        return Recorded(request_id, "sent", 0, None)
    ended = status.Status.UNKNOWN if record.get("status") == status.Status.UNKNOWN else status.Status.FAILED
    tags = {
        TAG_OUTCOME: ended.value,
        TAG_REQUEST: request_id,
        TAG_ERROR: _tag_value(failure.error),
        **_seller_tag(record),
    }
    tagged = _tag_all(where, record, execution_input, tags, ())
    detail_type = eventbus.MESSAGE_OUTCOME_UNKNOWN if ended is status.Status.UNKNOWN else eventbus.MESSAGE_FAILED
    event_id = eventbus.publish(where.event_bus, detail_type, event_detail(record), [execution_arn])
    return Recorded(request_id, ended.value, tagged, event_id)


def count_campaign_row(
    where: Destinations, recorded: Recorded, failure: Failure | None, execution_input: object
) -> bool | None:
    """Count a campaign row's outcome on its campaign (records.row_finished): the request's final status, with the
    failure's error and cause unless it was sent after all. None for a request that is no campaign's row; False
    when the outcome was counted already (a retried step) or a later run's counts instead."""
    ref = campaign_of(execution_input)
    if ref is None:
        return None
    kept = failure if failure is not None and recorded.status != status.Status.SENT else None
    return records.row_finished(
        where.table,
        ref,
        outcome=recorded.status,
        error=kept.error if kept else None,
        cause=kept.cause if kept else None,
        request_id=recorded.request_id,
        retention=where.retention,
    )


def campaign_of(execution_input: object) -> CampaignRef | None:
    """The campaign row the execution's input names (``campaign``), None when it names none; a reference that is
    not one is :class:`errors.InvalidRequest`."""
    if not isinstance(execution_input, Mapping) or execution_input.get("campaign") is None:
        return None
    reader = FieldReader(execution_input["campaign"], "campaign")
    ref = CampaignRef.read(reader)
    reader.raise_if_problems("campaign reference")
    return ref


# Errors this package raises after deciding what happened: Amazon answered, or nothing was sent.
_DECIDED = frozenset(
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, BuyerMessagingError) and value is not BuyerMessagingError
) - {SendOutcomeUnknown.__name__, SendInProgress.__name__}


def _may_have_reached_the_buyer(failure: Failure, record: Mapping[str, Any] | None) -> bool:
    """SendOutcomeUnknown; or, once a send's request was about to leave, an end that says nothing of Amazon's
    answer: a state or Lambda timeout (WorkflowError, Sandbox.Timedout), a crash, another attempt still sending."""
    if failure.error == SendOutcomeUnknown.__name__:
        return True
    return bool((record or {}).get("sendStartedAt")) and failure.error not in _DECIDED


def event_detail(record: Mapping[str, Any]) -> dict[str, Any]:
    """What integrations get: the record without its history, attachments without their bucket."""
    detail = {name: value for name, value in record.items() if name not in {"history", "attachments"}}
    detail["attachments"] = [
        {name: value for name, value in attachment.items() if name != "bucket"}
        for attachment in record.get("attachments") or []
        if isinstance(attachment, Mapping)
    ]
    return detail


def _summary(execution_input: object) -> dict[str, str]:
    """The input's order, marketplace and type as they came, if text: a lone surrogate (JSON's "\\ud800") is
    no UTF-8, which DynamoDB refuses, and the failure would never be recorded."""
    if not isinstance(execution_input, Mapping):
        return {}
    return {
        name: value
        for name in _SUMMARY_FIELDS
        if isinstance(value := execution_input.get(name), str) and unicode_text_problem(value) is None
    }


def _staged_objects(
    where: Destinations, record: Mapping[str, Any], execution_input: object
) -> Iterator[tuple[str, str | None]]:
    """(key, version id) of every object of this request in the staging bucket, each once.

    The source object (an outbox file, a request document) by its version; attachments as validation
    recorded them, else as the raw input names them (a request that failed validation)."""
    seen: set[str] = set()
    source = record.get("source")
    if isinstance(source, Mapping) and source.get("bucket") == where.staging_bucket:
        seen.add(source["key"])
        yield source["key"], source.get("versionId")
    attachments = record.get("attachments")
    if not attachments and isinstance(execution_input, Mapping):
        attachments = execution_input.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        if not isinstance(attachment, Mapping) or not isinstance(attachment.get("key"), str):
            continue
        bucket = attachment.get("bucket") or where.staging_bucket
        if bucket == where.staging_bucket and attachment["key"] not in seen:
            seen.add(attachment["key"])
            yield attachment["key"], None


def _tag_all(
    where: Destinations,
    record: Mapping[str, Any],
    execution_input: object,
    tags: dict[str, str],
    remove: tuple[str, ...],
) -> int:
    """Tag what can be tagged. A missing object or one that cannot take more tags is logged, not fatal:
    the record and the event still tell the outcome. S3 being unavailable is raised (and retried)."""
    tagged = 0
    for key, version_id in _staged_objects(where, record, execution_input):
        try:
            storage.tag_object(where.staging_bucket, key, version_id, tags, remove)
        except BuyerMessagingError as error:
            if error.transient:
                raise
            logger.warning(
                "Staged object not tagged", extra={"key": key, "error": error_name(error), "cause": str(error)}
            )
            continue
        tagged += 1
    return tagged


def _seller_tag(record: Mapping[str, Any]) -> dict[str, str]:
    seller = seller_scope.owner(record)
    return {TAG_SELLER: seller} if seller else {}


def _tag_value(value: str) -> str:
    """S3 tag values allow letters, digits, spaces and + - = . _ : / @, up to 256 characters."""
    return "".join(char if char.isalnum() or char in " +-=._:/@" else "_" for char in value)[:256]
