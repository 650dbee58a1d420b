"""What the HTTP API does (see docs/api.md): the routes of functions/api call these, one each.

Nothing here knows HTTP: errors are the package's named errors, which the API function maps to status codes.
Requests are read here with the package's own field readers (the same that read the state machine's input),
not pydantic: the API function starts without it (bench/). Each route imports the adapters it uses when it
runs, so a console page does not load the SP-API client, and a status read does not load Step Functions'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from buyer_messaging.config import get_settings
from buyer_messaging.errors import (
    AttachmentChanged,
    AttachmentNotFound,
    AttachmentOfAnotherSeller,
    AuthorizationStateInvalid,
    BuyerMessagingError,
    CampaignExists,
    CampaignNotFound,
    CampaignRunning,
    DuplicateRow,
    IdempotencyKeyReused,
    InvalidAttachments,
    InvalidMessageText,
    InvalidRequest,
    InvitationInvalid,
    ManifestInvalid,
    ManifestTooLarge,
    MessageTypeNotAvailable,
    ReportNotFound,
    RequestNotFound,
    ResendLimitExceeded,
    ResendSelectionInvalid,
    SellerMismatch,
    SellerNeedsAuthorization,
    SellerNotPermitted,
    SellerRequired,
    SpApiInvalidInput,
    SpApiNotFound,
    StagingAccessDenied,
    UnknownMessageType,
    UnknownSeller,
    UnsupportedContentType,
    WorkflowTableUnavailable,
    error_name,
)
from buyer_messaging.fields import (
    AMAZON_ORDER_ID_PATTERN,
    ATTACHMENT_REF_FIELDS,
    MAX_ATTACHMENTS_IN_REQUEST,
    REQUEST_DOCUMENT_FIELDS,
    FieldReader,
)
from buyer_messaging.observability import logger
from buyer_messaging.request_body import read_json_body

if TYPE_CHECKING:
    from buyer_messaging.access import Caller
    from buyer_messaging.models import MessageRequest

ATTACHMENTS_PREFIX = "attachments/"
# The only keys a message sent through the API may name: the ones POST /attachments hands out, a folder of
# its own (a random uuid) and the file's name. Everything else in the staging bucket (outbox/ files, request
# documents, files the back office staged for other orders) is not the caller's to send.
STAGED_FOLDER_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"  # a uuid4
# With a seller known, under its segment (buyer_messaging.seller_scope): sellers/{id}/attachments/{uuid}/{name}.
SELLER_SEGMENT_PATTERN = r"(?:sellers/[A-Z0-9]{8,20}/)?"
SELLER_SEGMENT_MAX_LENGTH = len("sellers/") + 20 + 1
_STAGED_KEY = re.compile(
    SELLER_SEGMENT_PATTERN + re.escape(ATTACHMENTS_PREFIX) + STAGED_FOLDER_PATTERN + r"/(?P<name>[^/]+)"
)
STAGED_KEY_FORM = "[sellers/{sellingPartnerId}/]" + ATTACHMENTS_PREFIX + "{uuid}/{fileName}"
STAGING_URL_SECONDS = 900
ORDER_HISTORY_LIMIT = 50
NOT_OFFERED = "Amazon does not offer this message type for this order now."
SCHEMA_UNREADABLE = "Amazon offers this message type, but its schema for this order cannot be read"


# What the caller has to change, by error; everything else is not the caller's doing.
_CALLER_ERRORS: dict[type[BuyerMessagingError], tuple[int, str | None]] = {
    InvalidRequest: (400, None),
    UnknownMessageType: (400, "messageType"),
    MessageTypeNotAvailable: (400, "messageType"),
    InvalidMessageText: (400, "text"),
    InvalidAttachments: (400, "attachments"),
    AttachmentNotFound: (400, "attachments"),
    AttachmentChanged: (400, "attachments"),
    StagingAccessDenied: (400, "attachments"),
    SpApiInvalidInput: (400, None),
    SpApiNotFound: (404, "amazonOrderId"),
    RequestNotFound: (404, "requestId"),
    ManifestInvalid: (400, "manifest"),
    DuplicateRow: (400, "manifest"),
    ResendSelectionInvalid: (400, None),
    ResendLimitExceeded: (400, "limit"),
    CampaignNotFound: (404, "campaignId"),
    ReportNotFound: (404, "campaignId"),
    SellerRequired: (400, "sellingPartnerId"),
    UnknownSeller: (400, "sellingPartnerId"),
    SellerMismatch: (400, "sellingPartnerId"),
    AttachmentOfAnotherSeller: (400, "attachments"),
    SellerNotPermitted: (403, "sellingPartnerId"),
    IdempotencyKeyReused: (409, "Idempotency-Key"),
    CampaignExists: (409, "name"),
    CampaignRunning: (409, None),
    ManifestTooLarge: (413, "manifest"),
    UnsupportedContentType: (415, "Content-Type"),
    InvitationInvalid: (400, "invitation"),
    AuthorizationStateInvalid: (400, "state"),
}
TRANSIENT_STATUS = 503
# Amazon refused the app itself (credentials, authorization): the seller has to act, not the caller.
UPSTREAM_STATUS = 502
RETRY_AFTER_SECONDS = 5


def error_response(error: BuyerMessagingError) -> tuple[int, dict[str, Any]]:
    """The status code and body (docs/api.md) of a named error."""
    if error.transient:
        code, field = TRANSIENT_STATUS, None
    else:
        code, field = next(
            (mapped for kind, mapped in _CALLER_ERRORS.items() if isinstance(error, kind)), (UPSTREAM_STATUS, None)
        )
        if error_name(error) == "ConfigurationError":
            code = 500
    problems = list(error.problems) or ([(field, str(error))] if field else [])
    return code, {
        "error": error_name(error),
        "message": str(error),
        "errors": [{"field": name, "message": message} for name, message in problems],
    }


def check_order_id(amazon_order_id: str) -> None:
    if not AMAZON_ORDER_ID_PATTERN.fullmatch(amazon_order_id):
        raise InvalidRequest(
            f"{amazon_order_id!r} is not an Amazon order id (like 123-1234567-1234567).",
            problems=(("amazonOrderId", "is not an Amazon order id (like 123-1234567-1234567)"),),
        )


# The fields of the API's bodies (the OpenAPI document states them): anything else is refused as a likely typo.
# A message is a request document whose order id is the path's, and whose files are in the staging bucket; only
# the campaign state machine marks a request as a campaign's row.
SEND_MESSAGE_FIELDS = tuple(name for name in REQUEST_DOCUMENT_FIELDS if name not in ("amazonOrderId", "campaign"))
ATTACHMENT_FIELDS = tuple(name for name in ATTACHMENT_REF_FIELDS if name != "bucket")
STAGE_ATTACHMENT_FIELDS = ("fileName", "contentType", "size", "sellingPartnerId")
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 64


def read_send_message(raw: str | None) -> dict[str, Any]:
    """The body of POST /orders/{id}/messages, its shape checked; the rules are checked by ``submit``."""
    body = read_json_body(raw)
    reader = FieldReader(body, "")
    reader.string("marketplaceId")
    reader.string("messageType")
    reader.selling_partner_id()
    for name in ("text", "coverageStartDate", "coverageEndDate"):
        reader.string(name, required=False)
    for attachment in reader.object_list("attachments", max_items=MAX_ATTACHMENTS_IN_REQUEST):
        attachment.string("key")
        attachment.string("fileName", required=False)
        # A bucket is not the caller's to choose: files come from POST /attachments, in the staging bucket.
        attachment.refuse_unknown(ATTACHMENT_FIELDS, "an attachment (stage files with POST /attachments)")
    reader.refuse_unknown(SEND_MESSAGE_FIELDS, "a message")
    reader.raise_if_problems("request")
    return dict(reader.data)


@dataclass(frozen=True, slots=True)
class StagingRequest:
    file_name: str
    content_type: str
    size: int
    selling_partner_id: str | None = None


def read_stage_attachment(raw: str | None) -> StagingRequest:
    """The body of POST /attachments, its shape checked; the rules are checked by ``stage_attachment``."""
    reader = FieldReader(read_json_body(raw), "")
    staging = StagingRequest(
        file_name=reader.required_string("fileName"),
        content_type=reader.required_string("contentType"),
        size=reader.integer("size"),
        selling_partner_id=reader.selling_partner_id(),
    )
    reader.refuse_unknown(STAGE_ATTACHMENT_FIELDS, "a staging request")
    reader.raise_if_problems("staging request")
    return staging


def read_marketplace_id(value: str | None) -> str:
    if not value:
        raise InvalidRequest(
            "The marketplaceId query parameter is required (e.g. ATVPDKIKX0DER).",
            problems=(("marketplaceId", "is required"),),
        )
    return value


def read_seller(value: str | None) -> str | None:
    """The ``sellingPartnerId`` query parameter (the seller of a GET that names an order), checked; None if absent."""
    reader = FieldReader({"sellingPartnerId": value}, "")
    seller = reader.selling_partner_id()
    reader.raise_if_problems("query")
    return seller


def read_idempotency_key(value: str | None) -> str | None:
    if value is not None and not 1 <= len(value) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        raise InvalidRequest(
            f"The {IDEMPOTENCY_KEY_HEADER} header must have 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
            problems=((IDEMPOTENCY_KEY_HEADER, f"must have 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters"),),
        )
    return value


def regional_openapi(document: dict[str, Any], spapi_region: str) -> dict[str, Any]:
    """The OpenAPI document (functions/api/openapi.json, generated without a region) for this deployment: every
    marketplace id's schema lists the marketplaces its SP-API region serves (validation refuses the others)."""
    from buyer_messaging import marketplaces

    served = marketplaces.served_by(spapi_region)

    def fitted(node: Any) -> Any:
        if isinstance(node, dict):
            found = {name: fitted(value) for name, value in node.items()}
            if found.get("pattern") == marketplaces.MARKETPLACE_ID_PATTERN.pattern:
                found["enum"] = list(served)
            return found
        if isinstance(node, list):
            return [fitted(value) for value in node]
        return node

    result: dict[str, Any] = fitted(document)
    return result


def message_types(amazon_order_id: str, marketplace_id: str, seller: str | None = None) -> dict[str, Any]:
    """Every message type with whether Amazon allows it for the order now, and its limits for this order."""
    from buyer_messaging import catalog, messaging, sellers, turns, validation
    from buyer_messaging.spapi import seller_client

    check_order_id(amazon_order_id)
    settings = get_settings()
    validation.check_marketplace(marketplace_id, settings.spapi_region)
    resolved = sellers.resolve(settings, seller)
    client = seller_client(resolved)
    with turns.taking(turns.Taker(seller=resolved)):
        actions = messaging.get_messaging_actions(client, amazon_order_id, marketplace_id)
        locale = messaging.get_buyer_locale(client, amazon_order_id, marketplace_id)
    offered = {action.message_type.path: action for action in actions if action.message_type is not None}
    described = []
    for message_type in catalog.iter_message_types():
        action = offered.get(message_type.path)
        schema = action.schema if action is not None else {}
        text = validation.text_rule(message_type, schema)
        files = validation.attachment_rule(message_type, schema)
        reason = NOT_OFFERED if action is None else (action.disabled_reason if action.disabled else None)
        if action is not None and action.schema_problem is not None:
            # Its limits for this order are unknown: offered as not available (sending it would be refused),
            # with the catalog's limits like a type Amazon does not offer now.
            reason = f"{SCHEMA_UNREADABLE} ({action.schema_problem})."
        elif action is not None and action.disabled and reason is None:
            reason = "Amazon disabled this message type for this order."
        described.append(
            {
                "messageType": message_type.path,
                "operation": message_type.operation,
                "title": (action.title if action is not None and action.title else message_type.title),
                "description": str(schema.get("description") or message_type.description),
                "available": reason is None,
                "disabledReason": reason,
                "text": None
                if text is None
                else {"required": text.required, "minLength": text.min_length, "maxLength": text.max_length},
                "attachments": None
                if files is None
                else {
                    "minCount": files.min_count,
                    "maxCount": files.max_count,
                    "extensions": sorted(catalog.ATTACHMENT_CONTENT_TYPES),
                    "contentTypes": sorted(set(catalog.ATTACHMENT_CONTENT_TYPES.values())),
                    "maxTotalBytes": catalog.ATTACHMENTS_TOTAL_BYTES_LIMIT,
                },
                "coverageDates": message_type.takes_coverage_dates,
            }
        )
    order = [action.message_type.path for action in actions if action.message_type is not None]
    described.sort(key=lambda item: (not item["available"], _position(order, str(item["messageType"]))))
    return {
        "amazonOrderId": amazon_order_id,
        "marketplaceId": marketplace_id,
        "buyerLocale": locale,
        "messageTypes": described,
    }


def _position(order: list[str], path: str) -> int:
    return order.index(path) if path in order else len(order)


def stage_attachment(file_name: str, content_type: str, size: int, seller: str | None = None) -> dict[str, Any]:
    """A presigned POST for one file under attachments/ (sellers/{id}/attachments/ when a seller is known: named,
    or the deployment's one): S3 itself refuses another size or content type."""
    import uuid

    from buyer_messaging import catalog, seller_scope, sellers, storage, validation

    problems = []
    name_problem = validation.file_name_problem(file_name)
    if name_problem:
        problems.append(("fileName", name_problem))
    expected_type = catalog.content_type_for(file_name)
    if expected_type is None:
        problems.append(("fileName", f"must end in one of {', '.join(sorted(catalog.ATTACHMENT_CONTENT_TYPES))}"))
    elif content_type != expected_type:
        problems.append(("contentType", f"must be {expected_type} for a {file_name.rsplit('.', 1)[-1]} file"))
    if size <= 0:
        problems.append(("size", "must be at least 1 byte (Amazon refuses empty files)"))
    elif size > catalog.ATTACHMENT_MAX_BYTES:
        # A larger file could be staged but never sent: a message's files must total under the limit.
        problems.append(("size", f"must be under {catalog.ATTACHMENTS_TOTAL_BYTES_LIMIT:,} bytes"))
    if problems:
        details = "; ".join(f"{field} {message}" for field, message in problems)
        raise InvalidAttachments(f"The file cannot be staged: {details}.", problems=tuple(problems))
    settings = get_settings()
    prefix = seller_scope.key_prefix(sellers.resolve(settings, seller))
    # A folder of its own per upload: two files of the same name never overwrite each other.
    key = f"{prefix}{ATTACHMENTS_PREFIX}{uuid.uuid4()}/{file_name}"
    form = storage.presigned_post(settings.require("staging_bucket"), key, content_type, size, STAGING_URL_SECONDS)
    return {"key": key, "url": form.url, "fields": form.fields, "maxBytes": size, "expiresIn": STAGING_URL_SECONDS}


def staged_key_problem(key: object) -> str | None:
    """Why ``key`` is not one POST /attachments hands out (``attachments/{uuid}/{fileName}``), or None."""
    from buyer_messaging import validation

    found = _STAGED_KEY.fullmatch(key) if isinstance(key, str) else None
    if found is None or validation.file_name_problem(found["name"]) is not None:
        return f"must be a key POST /attachments gave ({STAGED_KEY_FORM}); no other object of the bucket can be sent"
    return None


def check_staged_files(attachments: list[Any]) -> None:
    """Every attachment of an API message is a file the API staged: in the staging bucket (it names no bucket),
    under a key POST /attachments gave. Checked before anything is read, started or sent; the S3 entries
    (outbox/, requests/ documents) are the bucket owner's own and name any key."""
    problems: list[tuple[str, str]] = []
    for index, attachment in enumerate(attachments):
        if not isinstance(attachment, dict):
            continue  # read_send_message refused it already
        if "bucket" in attachment:
            problems.append((f"attachments[{index}].bucket", "is not accepted: stage the file with POST /attachments"))
        problem = staged_key_problem(attachment.get("key"))
        if problem:
            problems.append((f"attachments[{index}].key", problem))
    if problems:
        details = "; ".join(f"{path} {message}" for path, message in problems)
        raise InvalidAttachments(
            f"Attachments sent through the API are files staged with POST /attachments: {details}.",
            problems=tuple(problems),
        )


@dataclass(frozen=True, slots=True)
class Submitted:
    request_id: str
    repeat: bool

    def to_dict(self) -> dict[str, Any]:
        return {"requestId": self.request_id, "statusUrl": f"/messages/{self.request_id}", "repeat": self.repeat}


def submit(amazon_order_id: str, body: dict[str, Any], *, caller: Caller, idempotency_key: str | None) -> Submitted:
    """Validate with the state machine's own check, then start it under a name that makes a repeat a no-op."""
    from buyer_messaging import catalog, executions, naming, seller_scope, turns
    from buyer_messaging.models import MessageRequest
    from buyer_messaging.workflow.validate_request import check_request

    check_order_id(amazon_order_id)
    settings = get_settings()
    check_staged_files(body.get("attachments") or [])
    if not caller.is_operator:
        seller = caller.seller(settings, body.get("sellingPartnerId"))
        if seller is not None:
            body = {**body, "sellingPartnerId": seller}  # a console user's only seller, when the body names none
    document = {**body, "amazonOrderId": amazon_order_id}
    request = MessageRequest.from_dict(document, default_bucket=settings.require("staging_bucket"))
    if catalog.find_message_type(request.message_type) is None:
        raise UnknownMessageType(
            f"{request.message_type!r} is not a message type of the Messaging API.",
            problems=(("messageType", "is not a message type of the Messaging API"),),
        )
    # Named from the request as sent: one that names no seller keeps the name it had before sellers were named.
    if not caller.is_operator:
        _refuse_files_of_others(request)
    name = naming.request_execution_name(request, caller=caller.identity, idempotency_key=idempotency_key)
    given, request = request, seller_scope.for_request(settings, request)
    state_machine_arn = settings.require("state_machine_arn")
    # A repeat is answered with the first request, before validation: a once-per-order type that the first
    # request used up must not turn the repeat into an error.
    first = executions.execution_input(executions.execution_arn(state_machine_arn, name))
    if first is not None:
        started_as = MessageRequest.from_dict(first)
        # A request that names no seller repeats the first one whatever seller that one was resolved to, or none
        # (started before sellers were named): the seller it resolves to now is not part of its identity.
        compared = given.for_seller(started_as.selling_partner_id) if given.selling_partner_id is None else request
        if naming.canonical_content(started_as) != naming.canonical_content(compared):
            raise IdempotencyKeyReused(
                f"The Idempotency-Key {idempotency_key!r} already sent another message (request {name}); use a new "
                "key for a new message.",
                problems=(("Idempotency-Key", "was already used for another message"),),
            )
        return Submitted(name, repeat=True)
    try:
        with turns.taking(turns.Taker(seller=request.selling_partner_id)):
            check_request(request)
    except SellerNeedsAuthorization:
        # The seller's messages are held, not refused (README "Authorization lost"): the execution checks the
        # request against the order once the seller has authorized the application again.
        logger.info("Request accepted while its seller needs authorization", extra={"request_id": name})
    started = executions.start_execution(state_machine_arn, name, request.to_dict())
    _record_received(started.execution_arn, request)
    logger.info("Request accepted", extra={"request_id": name, "repeat": started.already_existed})
    return Submitted(name, repeat=started.already_existed)


def _refuse_files_of_others(request: MessageRequest) -> None:
    """A console user sends only files POST /attachments gave them: under the request's seller segment (none in a
    deployment never told its seller). Another key is answered as a file that does not exist, at the place the
    request's own check would find it missing (after the marketplace, in the files' order): the answer tells
    nothing of another seller's files."""
    from buyer_messaging import seller_scope, storage, validation

    def own(key: str) -> bool:
        return seller_scope.split_key(key).segment == request.selling_partner_id

    if all(own(ref.key) for ref in request.attachments):
        return
    validation.check_marketplace(request.marketplace_id, get_settings().spapi_region)
    for ref in request.attachments:
        if not own(ref.key):
            raise storage.attachment_not_found(ref.bucket, ref.key)
        storage.head_object(ref.bucket, ref.key)


def _record_received(execution_arn: str, request: MessageRequest) -> None:
    """The record, marked as an API request (only a table that cannot be reached is logged and let go)."""
    from buyer_messaging import status

    status.record_received(
        get_settings(), execution_arn, request, origin="api", only_logged=(WorkflowTableUnavailable,)
    )


def request_status(request_id: str, caller: Caller | None = None) -> dict[str, Any]:
    """The request's record; another seller's answers as an id that names no request."""
    from buyer_messaging import status

    record = status.get(get_settings().require("workflow_table"), request_id)
    if record is None or (caller is not None and not caller.may_see(record)):
        raise RequestNotFound(
            f"No request has the id {request_id!r}: it was never started, or its record expired.",
            problems=(("requestId", "names no request"),),
        )
    return _shown(record)


def order_history(amazon_order_id: str, seller: str | None = None, caller: Caller | None = None) -> dict[str, Any]:
    """The order's requests, newest first; with ``seller``, only that seller's (an order id is one seller's at
    Amazon, but a request naming another seller's order is recorded under the seller it named); with ``caller``,
    only the requests of the caller's sellers (a console user names only one of theirs: SellerNotPermitted)."""
    from buyer_messaging import seller_scope, status

    check_order_id(amazon_order_id)
    if caller is not None and seller is not None:
        caller.permit(seller)
    records = status.for_order(get_settings().require("workflow_table"), amazon_order_id, ORDER_HISTORY_LIMIT)
    if seller is not None:
        records = [record for record in records if seller_scope.owner(record) == seller]
    if caller is not None:
        records = [record for record in records if caller.may_see(record)]
    shown: dict[str, Any] = {"amazonOrderId": amazon_order_id}
    if seller is not None:
        shown["sellingPartnerId"] = seller
    return {**shown, "messages": [_shown(record) for record in records]}


def _shown(record: dict[str, Any]) -> dict[str, Any]:
    """The record as the API shows it: where the files are staged is the seller's business, not the page's."""
    from buyer_messaging.status import FINAL

    shown = {**record, "done": record.get("status") in FINAL}
    shown["attachments"] = [
        {name: value for name, value in attachment.items() if name != "bucket"}
        for attachment in record.get("attachments") or []
    ]
    return shown
