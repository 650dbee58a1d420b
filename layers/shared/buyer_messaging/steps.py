"""The workflow's steps: each Lambda handler parses its input and calls one function here."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

# The adapters are imported by the steps that use them: each handler loads only its own step's modules.
from buyer_messaging import status
from buyer_messaging.config import Settings, get_settings
from buyer_messaging.errors import (
    BuyerMessagingError,
    ConfigurationError,
    InvalidRequest,
    SendOutcomeUnknown,
    UploadDestinationExpired,
    WorkflowTableUnavailable,
    error_name,
)
from buyer_messaging.models import (
    AttachmentTask,
    MessageRequest,
    OutcomeTask,
    SendRequest,
    SentMessage,
    UploadDestination,
    UploadedAttachment,
    ValidatedRequest,
    ValidationTask,
)
from buyer_messaging.observability import logger, metrics

if TYPE_CHECKING:
    from buyer_messaging.trigger import StagedObjectEvent


def _retention(settings: Settings) -> status.Retention:
    return status.Retention(settings.status_retention_days)


def request_summary(request: MessageRequest) -> dict[str, str]:
    return {
        "amazonOrderId": request.amazon_order_id,
        "marketplaceId": request.marketplace_id,
        "messageType": request.message_type,
    }


def check_request(request: MessageRequest) -> ValidatedRequest:
    """The request checked against what Amazon allows for the order now and against the staged files:
    the one check both the first state and the HTTP API make."""
    from buyer_messaging import catalog, messaging, storage, validation
    from buyer_messaging.spapi import default_client

    message_type = catalog.message_type(request.message_type)
    validation.check_marketplace(request.marketplace_id, get_settings().spapi_region)
    staged = [
        validation.StagedObject(size=info.size, etag=info.etag)
        for info in (storage.head_object(ref.bucket, ref.key) for ref in request.attachments)
    ]
    actions = messaging.get_messaging_actions(default_client(), request.amazon_order_id, request.marketplace_id)
    action = validation.resolve_action(message_type, actions, request.amazon_order_id)
    return validation.validate(request, action, staged)


def validate_request(task: ValidationTask) -> dict[str, Any]:
    """getMessagingActionsForOrder, then the request checked against the order's schema and staged files.
    ``{"pacing": ...}`` instead when the call's turn in Amazon's quota is later (the machine waits for it)."""
    from buyer_messaging import turns

    settings = get_settings()
    table = settings.require("workflow_table")
    request = task.request
    if task.pacing is None:  # back from waiting for its turn, the record exists
        status.received(
            table,
            task.execution_id,
            _retention(settings),
            summary=request_summary(request),
        )
    taker = turns.Taker(task.execution_id, turns.Pacing.from_state(task.pacing), task.retry_count)
    try:
        with turns.taking(taker):
            validated = check_request(request)
    except turns.TurnLater as later:
        return {"pacing": later.pacing.to_dict()}
    status.validated(
        table,
        task.execution_id,
        {"messageType": validated.message_type, "operation": validated.operation},
        [
            {
                "fileName": attachment.file_name,
                "bucket": attachment.bucket,
                "key": attachment.key,
                "size": attachment.size,
                "contentType": attachment.content_type,
            }
            for attachment in validated.attachments
        ],
    )
    metrics.add_metric(name="RequestsValidated", unit=MetricUnit.Count, value=1)
    logger.info(
        "Request validated",
        extra={
            "message_type": validated.message_type,
            "attachments": len(validated.attachments),
            "total_bytes": sum(a.size for a in validated.attachments),
        },
    )
    return validated.to_dict()


def hash_attachment(task: AttachmentTask) -> dict[str, Any]:
    from buyer_messaging import attachments

    staged = task.attachment
    digest = attachments.digest_of_staged(staged.bucket, staged.key, staged.etag, staged.size)
    metrics.add_metric(name="AttachmentBytesHashed", unit=MetricUnit.Bytes, value=digest.size)
    return {"contentMd5": digest.content_md5, "size": digest.size}


def create_destination(task: AttachmentTask) -> dict[str, Any]:
    """A new upload destination; its URL goes to the workflow table, only its id into the state. While its
    turn in Amazon's quota is later: no id, and the turn in ``pacing`` (the machine waits for it)."""
    from buyer_messaging import turns

    if task.pacing is None:
        status.uploading(get_settings().require("workflow_table"), task.execution_id)
    try:
        with turns.taking(turns.Taker(task.execution_id, turns.Pacing.from_state(task.pacing))):
            destination = _new_destination(task)
    except turns.TurnLater as later:
        return {"uploadDestinationId": None, "pacing": later.pacing.to_dict()}
    logger.info("Upload destination created", extra={"upload_destination_id": destination.upload_destination_id})
    metrics.add_metric(name="UploadDestinationsCreated", unit=MetricUnit.Count, value=1)
    return {"uploadDestinationId": destination.upload_destination_id, "pacing": None}


def _new_destination(task: AttachmentTask) -> UploadDestination:
    from buyer_messaging import catalog, destinations, uploads
    from buyer_messaging.spapi import default_client

    table = get_settings().require("workflow_table")  # before Amazon creates anything
    destination = uploads.create_upload_destination(
        default_client(),
        catalog.message_type(task.message_type),
        task.amazon_order_id,
        task.marketplace_id,
        task.require_content_md5(),
        task.attachment.content_type,
    )
    destinations.save(table, destination)
    return destination


def upload_attachment(task: AttachmentTask) -> dict[str, Any]:
    """Stream the staged bytes to the destination; an expired destination is re-created, not failed."""
    from buyer_messaging import destinations

    settings = get_settings()
    table = settings.require("workflow_table")
    stored = destinations.load(table, task.require_destination_id())
    if stored is None or not stored.usable(time.time()):
        destination = _renewed(task, "expired before the upload started")
    else:
        destination = stored.destination
    try:
        _put(task, destination)
    except UploadDestinationExpired:
        destination = _renewed(task, "expired during the upload")
        _put(task, destination)
    staged = task.attachment
    status.attachment_uploaded(
        table,
        task.execution_id,
        task.index,
        {"contentMd5": task.require_content_md5(), "uploadDestinationId": destination.upload_destination_id},
    )
    metrics.add_metric(name="AttachmentBytesUploaded", unit=MetricUnit.Bytes, value=staged.size)
    return UploadedAttachment(
        upload_destination_id=destination.upload_destination_id,
        file_name=staged.file_name,
        size=staged.size,
        content_md5=task.require_content_md5(),
        key=staged.key,
    ).to_dict()


def _renewed(task: AttachmentTask, why: str) -> UploadDestination:
    # Rare (a destination expired): taken as the HTTP API takes its turns, slept if near, else the step is
    # retried as throttled.
    destination = _new_destination(task)
    logger.info(
        "Upload destination re-created",
        extra={
            "reason": why,
            "previous": task.destination_id,
            "upload_destination_id": destination.upload_destination_id,
        },
    )
    metrics.add_metric(name="UploadDestinationsRenewed", unit=MetricUnit.Count, value=1)
    return destination


def _put(task: AttachmentTask, destination: UploadDestination) -> None:
    from buyer_messaging import storage, uploads

    settings = get_settings()
    staged = task.attachment
    # Checked before S3 is even read: no byte may leave for a host that is not allowed.
    uploads.check_upload_url(destination.url, settings.upload_url_allowed_hosts)
    # Pinned by ETag: the bytes sent are the bytes that were hashed, or the step fails.
    body, _ = storage.open_object(staged.bucket, staged.key, staged.etag)
    try:
        uploads.put_file(
            destination,
            body,
            staged.size,
            settings.upload_url_allowed_hosts,
            timeout=settings.upload_timeout,
        )
    finally:
        body.close()


def send_message(send: SendRequest, lambda_context: Any | None = None) -> dict[str, Any]:
    """The message type's operation, at most once per execution (see buyer_messaging.idempotency)."""
    from buyer_messaging import catalog, idempotency, messaging, turns
    from buyer_messaging.spapi import default_client

    request = send.request
    message_type = catalog.message_type(request.message_type)
    expected = sorted(a.key for a in request.attachments)
    uploaded_keys = sorted(u.key for u in send.uploaded)
    if expected != uploaded_keys:
        missing = ", ".join(sorted(set(expected) - set(uploaded_keys))) or "none"
        raise InvalidRequest(f"Not every attachment was uploaded (missing: {missing}); the message was not sent.")
    body = messaging.build_message_body(
        message_type,
        text=request.text,
        attachments=[(u.upload_destination_id, u.file_name) for u in send.uploaded],
        coverage_start_date=request.coverage_start_date,
        coverage_end_date=request.coverage_end_date,
    )

    table = get_settings().require("workflow_table")

    def deliver() -> dict[str, Any]:
        if not status.send_started(table, send.execution_id):
            _refuse_after_an_unknown_outcome(table, send.execution_id)
        try:
            amazon_request_id = messaging.send_message(
                default_client(), message_type, request.amazon_order_id, request.marketplace_id, body
            )
        except SendOutcomeUnknown:
            raise
        except (BuyerMessagingError, turns.TurnLater):
            # Amazon answered (429, 5xx, 4xx), the call never left, or its turn is later (the pacer let nothing
            # leave): nothing was sent, a later attempt may send.
            status.send_answered(table, send.execution_id)
            raise
        metrics.add_metric(name="MessagesSent", unit=MetricUnit.Count, value=1)
        logger.info("Message sent", extra={"message_type": message_type.path, "amazon_request_id": amazon_request_id})
        return SentMessage(
            amazon_order_id=request.amazon_order_id,
            marketplace_id=request.marketplace_id,
            message_type=message_type.path,
            operation=message_type.operation,
            attachments=send.uploaded,
            sent_at=datetime.now(UTC).isoformat(timespec="seconds"),
            amazon_request_id=amazon_request_id,
        ).to_dict()

    digest = idempotency.fingerprint(request.amazon_order_id, request.marketplace_id, message_type.path, body)
    taker = turns.Taker(send.execution_id, turns.Pacing.from_state(send.pacing), send.retry_count)
    try:
        with turns.taking(taker):
            result = idempotency.once(table, send.execution_id, digest, deliver, lambda_context)
    except turns.TurnLater as later:
        # Nothing was sent (the idempotency record of the attempt is gone with the exception). The state as
        # it came, with the turn: the machine waits for it and runs this step again.
        return {**send.to_dict()["request"], "pacing": later.pacing.to_dict()}
    # After the idempotent call, so a retry that is answered from the idempotency record marks it too.
    status.sent(table, send.execution_id, {"amazonRequestId": result.get("amazonRequestId")})
    return result


def _refuse_after_an_unknown_outcome(table: str, execution_id: str) -> None:
    """A retry or a redrive after an attempt that ended without Amazon's answer (killed mid-send: its idempotency
    record expired with it) must not send a second time."""
    record = status.get(table, status.request_id_of(execution_id)) or {}
    if record.get("status") == status.Status.UNKNOWN or record.get("sendStartedAt"):
        raise SendOutcomeUnknown(
            f"An earlier attempt sent this message at {record.get('sendStartedAt') or record.get('unknownAt')} and"
            " got no answer, so Amazon may have delivered it to the buyer. It was not sent again: look at the"
            " order's messages in Seller Central before sending it again."
        )


def record_outcome(task: OutcomeTask) -> dict[str, Any]:
    """The status record, the staged objects' tags and the EventBridge event of a finished request."""
    from buyer_messaging import outcome

    settings = get_settings()
    where = outcome.Destinations(
        table=settings.require("workflow_table"),
        staging_bucket=settings.staging_bucket,
        event_bus=settings.event_bus_name,
        retention=_retention(settings),
    )
    if task.failure is None:
        recorded = outcome.record_sent(where, task.execution_id)
    else:
        recorded = outcome.record_failed(where, task.execution_id, task.failure, task.execution_input)
    metrics.add_metric(name="OutcomesRecorded", unit=MetricUnit.Count, value=1)
    logger.info("Outcome recorded", extra=recorded.to_dict())
    return recorded.to_dict()


def start_workflows(event: dict[str, Any]) -> dict[str, Any]:
    """One execution per staged object version. Bad objects are reported, never deleted; the first
    error is raised after every record was tried so the event lands in the failed-starts queue."""
    from buyer_messaging import executions, storage, trigger

    settings = get_settings()
    state_machine_arn = settings.require("state_machine_arn")
    results: list[dict[str, Any]] = []
    first_error: BuyerMessagingError | None = None
    for staged in trigger.parse_s3_event(event):
        where = f"s3://{staged.bucket}/{staged.key}"
        try:
            request = trigger.request_for_object(staged, storage.read_json_object)
            hint = request.amazon_order_id + "-" + request.message_type
            started = executions.start_execution(
                state_machine_arn, trigger.execution_name(staged, hint), request.to_dict()
            )
        except BuyerMessagingError as error:
            logger.error("Object not started", extra={"object": where, "error": error_name(error), "cause": str(error)})
            metrics.add_metric(name="StartsRejected", unit=MetricUnit.Count, value=1)
            results.append({"object": where, "started": False, "error": error_name(error), "cause": str(error)})
            first_error = first_error or error
            continue
        logger.info(
            "Execution started" if not started.already_existed else "Execution already started for this version",
            extra={"object": where, "execution": started.name, **trigger.describe(request)},
        )
        _record_received_from_s3(settings, started.execution_arn, request, staged)
        results.append({"object": where, "started": not started.already_existed, "executionArn": started.execution_arn})
    if first_error is not None:
        raise first_error
    metrics.add_metric(
        name="ExecutionsStarted", unit=MetricUnit.Count, value=sum(1 for r in results if r.get("started"))
    )
    return {"executions": results}


def _record_received_from_s3(
    settings: Settings, execution_arn: str, request: MessageRequest, staged: StagedObjectEvent
) -> None:
    """The request's record with the object that started it. The execution has started either way, so a
    failure here is only logged: the first step creates the record anyway, without the source."""
    try:
        status.received(
            settings.require("workflow_table"),
            execution_arn,
            _retention(settings),
            summary=request_summary(request),
            origin="s3",
            source=status.SourceObject(staged.bucket, staged.key, staged.version_id),
        )
    except (WorkflowTableUnavailable, ConfigurationError) as error:
        logger.warning("Request record not written", extra={"error": error_name(error), "cause": str(error)})


def check_client_secret() -> dict[str, Any]:
    """The daily schedule: the LWA client secret's days left, and a rotation once it is due."""
    from buyer_messaging import rotation

    settings = get_settings()
    return rotation.scheduled_check(settings, settings.client_secret_rotation_days)


def client_secret_notification(body: str) -> str:
    """One of Amazon's client secret notifications from the queue: the new secret stored, or a rotation."""
    from buyer_messaging import rotation

    return rotation.handle_notification(get_settings(), body)
