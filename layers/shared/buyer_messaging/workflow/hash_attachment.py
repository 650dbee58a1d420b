"""The ``HashAttachment`` state (in the Map, once per attachment): the staged file's Content-MD5."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from buyer_messaging import attachments
from buyer_messaging.models import AttachmentTask
from buyer_messaging.observability import metrics


def hash_attachment(task: AttachmentTask) -> dict[str, Any]:
    """The staged bytes' Content-MD5 (from the ETag where S3 vouches for it, else streamed), pinned by ETag."""
    staged = task.attachment
    digest = attachments.digest_of_staged(staged.bucket, staged.key, staged.etag, staged.size)
    metrics.add_metric(name="AttachmentBytesHashed", unit=MetricUnit.Bytes, value=digest.size)
    return {"contentMd5": digest.content_md5, "size": digest.size}
