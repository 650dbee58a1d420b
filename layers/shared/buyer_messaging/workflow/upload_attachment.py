"""The ``UploadAttachment`` state (in the Map): the staged bytes streamed to the presigned URL with exactly the
signed headers."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from buyer_messaging import destinations, status, storage, uploads
from buyer_messaging.config import get_settings
from buyer_messaging.errors import UploadDestinationExpired
from buyer_messaging.models import AttachmentTask, UploadDestination, UploadedAttachment
from buyer_messaging.observability import logger, metrics


def upload_attachment(task: AttachmentTask) -> dict[str, Any]:
    """Stream the staged bytes to the destination; an expired destination is re-created, not failed."""
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
    destination = destinations.create(task)
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
