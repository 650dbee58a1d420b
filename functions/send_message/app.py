"""The SendMessage state: the message type's operation; Amazon emails the buyer on 201."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from buyer_messaging.models import SendRequest
from buyer_messaging.observability import log_failures, logger, metrics, tracer
from buyer_messaging.workflow.send_message import send_message


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@log_failures
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return send_message(SendRequest.from_dict(event), context)
