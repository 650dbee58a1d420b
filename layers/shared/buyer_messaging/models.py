"""Typed models of every payload that crosses a function boundary, parsed with field-level errors.

Each model has ``from_dict`` (raising :class:`~buyer_messaging.errors.InvalidRequest` that names every bad
field) and ``to_dict`` (the camelCase JSON the state machine carries, see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from buyer_messaging.errors import InvalidRequest
from buyer_messaging.fields import (
    AMAZON_ORDER_ID_PATTERN,
    CAMPAIGN_ID_PATTERN,
    CAMPAIGN_REF_FIELDS,
    MAX_ATTACHMENTS_IN_REQUEST,
    REQUEST_DOCUMENT_FIELDS,
    FieldReader,
    json_type,
)

# The pacer's lanes (buyer_messaging.pacer): a campaign's rows take their turns behind the messages people send.
INTERACTIVE_LANE = "interactive"
CAMPAIGN_LANE = "campaign"
LANES = (INTERACTIVE_LANE, CAMPAIGN_LANE)


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """An attachment as a request names it: where it is staged and the name the buyer sees."""

    bucket: str
    key: str
    file_name: str

    @classmethod
    def read(cls, reader: FieldReader, default_bucket: str) -> AttachmentRef:
        bucket = reader.string("bucket", required=False) or default_bucket
        key = reader.required_string("key")
        file_name = reader.string("fileName", required=False)
        if not bucket:
            reader.problem("bucket", "is required (no staging bucket is configured to default to)")
        if isinstance(reader.data.get("key"), str) and not key:
            reader.problem("key", "must not be empty")
        if file_name is None:
            # The buyer sees the object's own name when the request names none.
            file_name = key.rsplit("/", 1)[-1]
        return cls(bucket=bucket, key=key, file_name=file_name)

    def to_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "fileName": self.file_name}


@dataclass(frozen=True, slots=True)
class CampaignRef:
    """The campaign row a request was started for (the campaign state machine sets it on each row's input):
    ``row`` is the manifest's data row number (from 1), ``run`` the campaign's run that started it (from 1)."""

    id: str
    row: int
    run: int

    @classmethod
    def read(cls, reader: FieldReader) -> CampaignRef:
        campaign_id = reader.required_string("id")
        row = reader.integer("row")
        run = reader.integer("run")
        if isinstance(reader.data.get("id"), str) and not CAMPAIGN_ID_PATTERN.fullmatch(campaign_id):
            reader.problem("id", "must be a campaign id (1 to 64 of A-Z, a-z, 0-9, _ and -)")
        for name, value in (("row", row), ("run", run)):
            if isinstance(reader.data.get(name), int) and value < 1:
                reader.problem(name, "must be 1 or more")
        reader.refuse_unknown(CAMPAIGN_REF_FIELDS, "a campaign reference")
        return cls(id=campaign_id, row=row, run=run)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "row": self.row, "run": self.run}


@dataclass(frozen=True, slots=True)
class MessageRequest:
    """The request document (= the state machine's input): one message to the buyer of one order."""

    amazon_order_id: str
    marketplace_id: str
    message_type: str
    text: str | None = None
    attachments: tuple[AttachmentRef, ...] = ()
    coverage_start_date: str | None = None
    coverage_end_date: str | None = None
    campaign: CampaignRef | None = None  # set on the rows of a campaign only
    # The seller the message is for: None in the document when not named; an execution's input names the seller
    # its entry resolved (sellers.resolve), None only in a deployment that was never told its seller's id.
    selling_partner_id: str | None = None

    @property
    def lane(self) -> str:
        """The pacer's lane of the request's SP-API calls: a campaign's row waits behind what people send."""
        return CAMPAIGN_LANE if self.campaign is not None else INTERACTIVE_LANE

    @classmethod
    def from_dict(cls, data: object, *, default_bucket: str = "") -> MessageRequest:
        reader = FieldReader(data, "")
        order_id = reader.required_string("amazonOrderId").strip()
        marketplace_id = reader.required_string("marketplaceId").strip()
        message_type = reader.required_string("messageType").strip()
        text = reader.string("text", required=False)
        seller = reader.selling_partner_id()
        start = reader.string("coverageStartDate", required=False)
        end = reader.string("coverageEndDate", required=False)
        attachments = tuple(
            AttachmentRef.read(item, default_bucket)
            for item in reader.object_list("attachments", max_items=MAX_ATTACHMENTS_IN_REQUEST)
        )
        campaign = None
        raw_campaign = reader.data.get("campaign")
        if isinstance(raw_campaign, Mapping):
            campaign = CampaignRef.read(reader.mapping("campaign"))
        elif raw_campaign is not None:
            reader.problem("campaign", f"must be a JSON object, not {json_type(raw_campaign)}")
        if order_id and not AMAZON_ORDER_ID_PATTERN.fullmatch(order_id):
            reader.problem("amazonOrderId", f"{order_id!r} is not an Amazon order id (like 123-1234567-1234567)")
        for name, value in (
            ("amazonOrderId", order_id),
            ("marketplaceId", marketplace_id),
            ("messageType", message_type),
        ):
            if isinstance(reader.data.get(name), str) and not value:
                reader.problem(name, "must not be empty")
        reader.refuse_unknown(REQUEST_DOCUMENT_FIELDS, "a request document")
        reader.raise_if_problems("request document")
        return cls(
            amazon_order_id=order_id,
            marketplace_id=marketplace_id,
            message_type=message_type,
            text=text,
            attachments=attachments,
            coverage_start_date=start,
            coverage_end_date=end,
            campaign=campaign,
            selling_partner_id=seller,
        )

    def for_seller(self, seller: str | None) -> MessageRequest:
        """The request for ``seller`` (what the entry resolved it to)."""
        return replace(self, selling_partner_id=seller)

    def to_dict(self) -> dict[str, Any]:
        return _drop_none(
            {
                "sellingPartnerId": self.selling_partner_id,
                "amazonOrderId": self.amazon_order_id,
                "marketplaceId": self.marketplace_id,
                "messageType": self.message_type,
                "text": self.text,
                "coverageStartDate": self.coverage_start_date,
                "coverageEndDate": self.coverage_end_date,
                "attachments": [attachment.to_dict() for attachment in self.attachments],
                "campaign": self.campaign.to_dict() if self.campaign is not None else None,
            }
        )


def _retry_count(reader: FieldReader) -> int:
    """``$$.State.RetryCount`` as the state machine passes it (0 when absent)."""
    value = reader.data.get("retryCount", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _pacing(value: object) -> Mapping[str, Any] | None:
    """A reserved turn the state carries (read by buyer_messaging.turns), or a hold (authorization_hold), or None."""
    return value if isinstance(value, Mapping) else None


def _lane(reader: FieldReader, *, required: bool) -> str:
    """The pacer's lane the state names (``lane``); an attachment's Map item may predate it: interactive."""
    lane = reader.string("lane", required=required)
    if lane is None:
        return INTERACTIVE_LANE
    if lane not in LANES:
        reader.problem("lane", f"must be one of {', '.join(LANES)}")
    return lane


def _execution_id(reader: FieldReader) -> str:
    execution_id = reader.required_string("executionId").strip()
    if isinstance(reader.data.get("executionId"), str) and not execution_id:
        reader.problem("executionId", "must not be empty (it names the request)")
    return execution_id


@dataclass(frozen=True, slots=True)
class ValidationTask:
    """The first step's input: ``{"executionId": ..., "request": {...request document...}}``; when the step
    comes back from waiting for its turn in Amazon's quota, ``state`` is ``{"pacing": {...}}`` (the request is
    the execution's input either way) and ``retryCount`` the state's retry count."""

    execution_id: str
    request: MessageRequest
    pacing: Mapping[str, Any] | None = None
    retry_count: int = 0
    # The step's own answer while the seller needs authorization (buyer_messaging.authorization_hold).
    held: Mapping[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: object, *, default_bucket: str = "") -> ValidationTask:
        reader = FieldReader(data, "")
        execution_id = _execution_id(reader)
        reader.raise_if_problems("validation step input")
        state = reader.data.get("state")
        # Only the step's own answer is a turn: a dict with "pacing" alone (never a request document).
        pacing = _pacing(state.get("pacing")) if isinstance(state, Mapping) and set(state) == {"pacing"} else None
        held = _pacing(state.get("held")) if isinstance(state, Mapping) and set(state) == {"held"} else None
        return cls(
            execution_id,
            MessageRequest.from_dict(reader.data.get("request"), default_bucket=default_bucket),
            pacing,
            _retry_count(reader),
            held,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"executionId": self.execution_id, "request": self.request.to_dict()}


@dataclass(frozen=True, slots=True)
class StagedAttachment:
    """An attachment whose staged object was found: its size and ETag pin the exact bytes to send."""

    bucket: str
    key: str
    file_name: str
    size: int
    etag: str
    content_type: str

    @classmethod
    def read(cls, reader: FieldReader) -> StagedAttachment:
        return cls(
            bucket=reader.required_string("bucket"),
            key=reader.required_string("key"),
            file_name=reader.required_string("fileName"),
            size=reader.integer("size"),
            etag=reader.required_string("etag"),
            content_type=reader.required_string("contentType"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "fileName": self.file_name,
            "size": self.size,
            "etag": self.etag,
            "contentType": self.content_type,
        }


@dataclass(frozen=True, slots=True)
class ValidatedRequest:
    """A request checked against the order's schema: the state the workflow carries after validation."""

    amazon_order_id: str
    marketplace_id: str
    message_type: str  # the canonical path segment
    operation: str
    title: str
    text: str | None
    attachments: tuple[StagedAttachment, ...]
    coverage_start_date: str | None = None
    coverage_end_date: str | None = None
    lane: str = INTERACTIVE_LANE  # the pacer's lane of its calls (MessageRequest.lane); always in the state
    selling_partner_id: str | None = None  # always in the state (null: no seller named), the Map passes it on

    @classmethod
    def read(cls, reader: FieldReader) -> ValidatedRequest:
        return cls(
            amazon_order_id=reader.required_string("amazonOrderId"),
            marketplace_id=reader.required_string("marketplaceId"),
            message_type=reader.required_string("messageType"),
            operation=reader.required_string("operation"),
            title=reader.string("title", required=False) or "",
            text=reader.string("text", required=False),
            attachments=tuple(
                StagedAttachment.read(item)
                for item in reader.object_list("attachments", max_items=MAX_ATTACHMENTS_IN_REQUEST)
            ),
            coverage_start_date=reader.string("coverageStartDate", required=False),
            coverage_end_date=reader.string("coverageEndDate", required=False),
            lane=_lane(reader, required=True),
            selling_partner_id=reader.selling_partner_id(),
        )

    @classmethod
    def from_dict(cls, data: object) -> ValidatedRequest:
        reader = FieldReader(data, "")
        request = cls.read(reader)
        reader.raise_if_problems("validated request")
        return request

    def to_dict(self) -> dict[str, Any]:
        return {
            "amazonOrderId": self.amazon_order_id,
            "marketplaceId": self.marketplace_id,
            "messageType": self.message_type,
            "operation": self.operation,
            "title": self.title,
            "text": self.text,
            "coverageStartDate": self.coverage_start_date,
            "coverageEndDate": self.coverage_end_date,
            "attachments": [attachment.to_dict() for attachment in self.attachments],
            "lane": self.lane,
            "sellingPartnerId": self.selling_partner_id,
        }


@dataclass(frozen=True, slots=True)
class UploadDestination:
    """Where one file goes: the presigned URL is a credential, so this never becomes state or a log line."""

    upload_destination_id: str
    url: str = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class AttachmentTask:
    """One item of the Map over attachments; ``content_md5`` and ``destination_id`` fill in step by step.

    Only the destination's id travels in the state: its presigned URL stays in the workflow table.
    ``execution_id`` and ``index`` (the attachment's position) say where its status is recorded.
    """

    execution_id: str
    index: int
    amazon_order_id: str
    marketplace_id: str
    message_type: str
    attachment: StagedAttachment
    content_md5: str | None = None
    destination_id: str | None = None
    # A turn reserved in Amazon's quota while the destination waits to be created (``destination.pacing``).
    pacing: Mapping[str, Any] | None = None
    lane: str = INTERACTIVE_LANE  # the pacer's lane of the message (the Map's ItemSelector passes it)
    selling_partner_id: str | None = None  # the message's seller (the Map's ItemSelector passes it)
    # Held while the seller needs authorization (``destination.held``; buyer_messaging.authorization_hold).
    held: Mapping[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: object) -> AttachmentTask:
        reader = FieldReader(data, "")
        attachment = StagedAttachment.read(reader.mapping("attachment"))
        content_md5 = None
        if reader.data.get("hash") is not None:
            content_md5 = reader.mapping("hash").required_string("contentMd5")
        destination_id = None
        pacing = held = None
        if reader.data.get("destination") is not None:
            destination = reader.mapping("destination")
            pacing = _pacing(destination.data.get("pacing"))
            held = _pacing(destination.data.get("held"))
            if (pacing is None and held is None) or destination.data.get("uploadDestinationId") is not None:
                destination_id = destination.required_string("uploadDestinationId")
            for secret in ("url", "headers"):
                if secret in destination.data:
                    destination.problem(secret, "must not travel in the state (the presigned URL is a credential)")
        index = reader.integer("index")
        if index < 0:
            reader.problem("index", "must not be negative")
        task = cls(
            execution_id=_execution_id(reader),
            index=index,
            amazon_order_id=reader.required_string("amazonOrderId"),
            marketplace_id=reader.required_string("marketplaceId"),
            message_type=reader.required_string("messageType"),
            attachment=attachment,
            content_md5=content_md5,
            destination_id=destination_id,
            pacing=pacing if destination_id is None else None,
            lane=_lane(reader, required=False),
            selling_partner_id=reader.selling_partner_id(),
            held=held if destination_id is None else None,
        )
        reader.raise_if_problems("attachment step input")
        return task

    def to_dict(self) -> dict[str, Any]:
        """The Map item as the state machine builds it: ``hash`` and ``destination`` once they exist."""
        data: dict[str, Any] = {
            "executionId": self.execution_id,
            "index": self.index,
            "amazonOrderId": self.amazon_order_id,
            "marketplaceId": self.marketplace_id,
            "messageType": self.message_type,
            "attachment": self.attachment.to_dict(),
            "lane": self.lane,
            "sellingPartnerId": self.selling_partner_id,
        }
        if self.content_md5 is not None:
            data["hash"] = {"contentMd5": self.content_md5}
        if self.destination_id is not None:
            data["destination"] = {"uploadDestinationId": self.destination_id}
        return data

    def require_content_md5(self) -> str:
        if not self.content_md5:
            raise InvalidRequest("The attachment step input has no hash.contentMd5; hash the attachment first.")
        return self.content_md5

    def require_destination_id(self) -> str:
        if not self.destination_id:
            raise InvalidRequest("The attachment step input has no destination; create it first.")
        return self.destination_id


@dataclass(frozen=True, slots=True)
class UploadedAttachment:
    """An attachment Amazon holds, ready to be referenced by a message."""

    upload_destination_id: str
    file_name: str
    size: int
    content_md5: str
    key: str

    @classmethod
    def read(cls, reader: FieldReader) -> UploadedAttachment:
        return cls(
            upload_destination_id=reader.required_string("uploadDestinationId"),
            file_name=reader.required_string("fileName"),
            size=reader.integer("size"),
            content_md5=reader.required_string("contentMd5"),
            key=reader.required_string("key"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "uploadDestinationId": self.upload_destination_id,
            "fileName": self.file_name,
            "size": self.size,
            "contentMd5": self.content_md5,
            "key": self.key,
        }


@dataclass(frozen=True, slots=True)
class SendRequest:
    """The send step's input: the execution that sends (the idempotency key), the validated request and
    the attachments uploaded for it: ``{"executionId": ..., "request": {...validated..., "uploaded": [...]}}``."""

    execution_id: str
    request: ValidatedRequest
    uploaded: tuple[UploadedAttachment, ...]
    # A turn reserved in Amazon's quota (``request.pacing``, the step's own answer while it waits).
    pacing: Mapping[str, Any] | None = None
    retry_count: int = 0
    # Held while the seller needs authorization (``request.held``, the step's own answer; authorization_hold).
    held: Mapping[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: object) -> SendRequest:
        reader = FieldReader(data, "")
        execution_id = _execution_id(reader)
        state = reader.mapping("request")
        request = ValidatedRequest.read(state)
        uploaded = tuple(
            UploadedAttachment.read(item)
            for item in state.object_list("uploaded", max_items=MAX_ATTACHMENTS_IN_REQUEST)
        )
        reader.raise_if_problems("send step input")
        return cls(
            execution_id=execution_id,
            request=request,
            uploaded=uploaded,
            pacing=_pacing(state.data.get("pacing")),
            retry_count=_retry_count(reader),
            held=_pacing(state.data.get("held")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "executionId": self.execution_id,
            "request": {**self.request.to_dict(), "uploaded": [item.to_dict() for item in self.uploaded]},
        }


@dataclass(frozen=True, slots=True)
class SentMessage:
    amazon_order_id: str
    marketplace_id: str
    message_type: str
    operation: str
    attachments: tuple[UploadedAttachment, ...]
    sent_at: str
    amazon_request_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "sent",
            "amazonRequestId": self.amazon_request_id,
            "amazonOrderId": self.amazon_order_id,
            "marketplaceId": self.marketplace_id,
            "messageType": self.message_type,
            "operation": self.operation,
            "attachments": [
                {
                    "fileName": attachment.file_name,
                    "uploadDestinationId": attachment.upload_destination_id,
                    "size": attachment.size,
                    "contentMd5": attachment.content_md5,
                }
                for attachment in self.attachments
            ],
            "sentAt": self.sent_at,
        }


OUTCOMES = ("sent", "failed")


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a request failed: the error's name and a cause written for a person."""

    error: str
    cause: str

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.error, "cause": self.cause}


@dataclass(frozen=True, slots=True)
class OutcomeTask:
    """The last step of either path: ``{"executionId", "outcome": "sent" | "failed", "failure"?: {...},
    "input"?: <the execution's input, whatever it was>}``."""

    execution_id: str
    outcome: str
    failure: Failure | None = None
    execution_input: object = None

    @classmethod
    def from_dict(cls, data: object) -> OutcomeTask:
        reader = FieldReader(data, "")
        execution_id = _execution_id(reader)
        outcome = reader.required_string("outcome")
        if outcome and outcome not in OUTCOMES:
            reader.problem("outcome", f"must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        failure = None
        if outcome == "failed":
            described = reader.mapping("failure")
            failure = Failure(described.required_string("error"), described.string("cause", required=False) or "")
        elif "failure" in reader.data:
            reader.problem("failure", "is only for the failed outcome")
        reader.raise_if_problems("outcome step input")
        return cls(execution_id, outcome, failure, reader.data.get("input"))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"executionId": self.execution_id, "outcome": self.outcome}
        if self.failure is not None:
            data["failure"] = self.failure.to_dict()
        if self.execution_input is not None:
            data["input"] = self.execution_input
        return data
