"""The FinishCampaign state (the run's report, counts and CampaignCompleted) and RecordRunFailure (the run failed)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from buyer_messaging.observability import log_failures, logger, metrics, tracer
from buyer_messaging.workflow.finish_campaign import finish_campaign


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@log_failures
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return finish_campaign(event)
