"""Amazon's client secret notifications from the SQS queue registered in the Developer Console: a new secret
(APPLICATION_OAUTH_CLIENT_NEW_SECRET) is stored in the credentials secret; an expiry warning
(APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY) asks for a rotation. A message that fails is reported alone
(ReportBatchItemFailures), comes back, and ends in the dead-letter queue, whose alarm calls a person."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from buyer_messaging.errors import BuyerMessagingError, error_name
from buyer_messaging.observability import logger, metrics, tracer
from buyer_messaging.workflow.client_secret_notifications import client_secret_notification

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> str:
    try:
        done = client_secret_notification(record.body)
    except BuyerMessagingError as error:
        logger.error("Notification failed", extra={"error": error_name(error), "cause": str(error)})
        raise
    logger.info("Notification handled", extra={"outcome": done, "messageId": record.message_id})
    return done


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
