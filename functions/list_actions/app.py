"""The ValidateRequest state: what Amazon allows for the order, and the request checked against it before any
upload."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from buyer_messaging.config import get_settings
from buyer_messaging.models import ValidationTask
from buyer_messaging.observability import log_failures, logger, metrics, tracer
from buyer_messaging.workflow.validate_request import validate_request


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@log_failures
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = ValidationTask.from_dict(event, default_bucket=get_settings().staging_bucket)
    return validate_request(task)
