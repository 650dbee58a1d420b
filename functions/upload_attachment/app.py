"""The UploadAttachment state (the Map's third step): the staged bytes streamed to the presigned URL with exactly
the signed headers."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from buyer_messaging.models import AttachmentTask
from buyer_messaging.observability import log_failures, logger, metrics, tracer
from buyer_messaging.workflow.upload_attachment import upload_attachment


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@log_failures
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return upload_attachment(AttachmentTask.from_dict(event))
