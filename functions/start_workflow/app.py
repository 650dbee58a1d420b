"""S3 ObjectCreated under outbox/ or requests/ -> one Step Functions execution per object version."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from buyer_messaging.observability import log_failures, logger, metrics, tracer
from buyer_messaging.workflow.start_workflow import start_workflows


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@log_failures
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return start_workflows(event)
