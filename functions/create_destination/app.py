"""The CreateUploadDestination state (the Map's second step): an Uploads API destination (presigned URL +
signed headers) for the attachment."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from buyer_messaging.models import AttachmentTask
from buyer_messaging.observability import log_failures, logger, metrics, tracer
from buyer_messaging.workflow.create_destination import create_destination


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@log_failures
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return create_destination(AttachmentTask.from_dict(event))
