"""The ``RecordSent`` and ``RecordFailure`` states, the last of either path: the request's status record, tags on
its staged objects and an EventBridge event; for a campaign's row, the row counted on its campaign."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from buyer_messaging import outcome, status
from buyer_messaging.config import get_settings
from buyer_messaging.emf import emit
from buyer_messaging.errors import BuyerMessagingError, error_name, is_bad_input
from buyer_messaging.metric_catalog import BAD_INPUT, BY_NAME, OTHER, UNLISTED_ERROR
from buyer_messaging.models import OutcomeTask
from buyer_messaging.observability import logger, metrics


def record_outcome(task: OutcomeTask) -> dict[str, Any]:
    """The status record, the staged objects' tags and the EventBridge event of a finished request."""
    settings = get_settings()
    where = outcome.Destinations(
        table=settings.require("workflow_table"),
        staging_bucket=settings.staging_bucket,
        event_bus=settings.event_bus_name,
        retention=status.Retention(settings.status_retention_days),
    )
    if task.failure is None:
        recorded = outcome.record_sent(where, task.execution_id)
    else:
        recorded = outcome.record_failed(where, task.execution_id, task.failure, task.execution_input)
    metrics.add_metric(name="OutcomesRecorded", unit=MetricUnit.Count, value=1)
    if recorded.time_to_sent_ms is not None:
        emit("TimeToSent", recorded.time_to_sent_ms)
    if task.failure is not None and recorded.status != status.Status.SENT:
        _count_failure(task.failure.error)
    try:
        if outcome.count_campaign_row(where, recorded, task.failure, task.execution_input):
            # Counted once per row and run (a retried step finds it counted): what CampaignStalledAlarm watches.
            emit("CampaignRowsFinished", 1)
    except BuyerMessagingError as error:
        # The message was sent or failed either way: failing here would only hide that. The campaign's report
        # reconciles the row from the run's results at the end.
        logger.error("Campaign row not counted", extra={"error": error_name(error), "cause": str(error)})
        metrics.add_metric(name="CampaignRowNotCounted", unit=MetricUnit.Count, value=1)
    logger.info("Outcome recorded", extra=recorded.to_dict())
    return recorded.to_dict()


def _count_failure(error: str) -> None:
    """By reason (what the alarms watch: the seller's input or not) and by error name (the dashboard): the names
    are errors.py's, a fixed set of about fifty; a Step Functions or Lambda error (States.Timeout, ...) counts
    as Unlisted, so no name outside the catalog becomes a metric."""
    emit("MessagesFailed", 1, Reason=BAD_INPUT if is_bad_input(error) else OTHER)
    known = error in BY_NAME["MessagesFailedByError"].dimensions["Error"]
    emit("MessagesFailedByError", 1, Error=error if known else UNLISTED_ERROR)
