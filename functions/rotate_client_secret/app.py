"""The daily check of the LWA client secret (EventBridge schedule): its days left as a metric for the deadline
alarm, and a rotation (rotateApplicationClientSecret) once it is CLIENT_SECRET_ROTATION_DAYS old."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from buyer_messaging.observability import log_failures, logger, metrics, tracer
from buyer_messaging.workflow.rotate_client_secret import rotate_client_secret


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@log_failures
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return rotate_client_secret()
