"""The RecordSent and RecordFailure states, the last of both paths: the request's status record, tags on its
staged objects, an EventBridge event."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from buyer_messaging.models import OutcomeTask
from buyer_messaging.observability import log_failures, logger, metrics, tracer
from buyer_messaging.workflow.record_outcome import record_outcome


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@log_failures
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return record_outcome(OutcomeTask.from_dict(event))
