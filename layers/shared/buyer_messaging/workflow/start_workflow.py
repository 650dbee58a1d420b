"""The S3 trigger (no state: it starts the state machines): an object staged under ``outbox/`` or ``requests/``
starts one execution of the send-message state machine per object version, a manifest under ``campaigns/`` one of
the campaign state machine (its run 1); each under ``sellers/{id}/`` too, for that seller."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from buyer_messaging import executions, seller_scope, sellers, status, storage, trigger
from buyer_messaging.campaigns.keys import is_report
from buyer_messaging.config import Settings, get_settings
from buyer_messaging.errors import BuyerMessagingError, ConfigurationError, WorkflowTableUnavailable, error_name
from buyer_messaging.models import MessageRequest
from buyer_messaging.observability import logger, metrics


def start_workflows(event: dict[str, Any]) -> dict[str, Any]:
    """One execution per staged object version. Bad objects are reported, never deleted; the first
    error is raised after every record was tried so the event lands in the failed-starts queue."""
    settings = get_settings()
    state_machine_arn = settings.require("state_machine_arn")
    results: list[dict[str, Any]] = []
    first_error: BuyerMessagingError | None = None
    for staged in trigger.parse_s3_event(event):
        where = f"s3://{staged.bucket}/{staged.key}"
        if not trigger.starts_something(staged):
            logger.info("Staged object under sellers/ that starts nothing", extra={"object": where})
            results.append({"object": where, "started": False, "ignored": "starts nothing (e.g. an attachment)"})
            continue
        if trigger.is_campaign_object(staged):
            try:
                results.append(_start_campaign(settings, staged))
            except BuyerMessagingError as error:
                results.append(_rejected(where, error))
                first_error = first_error or error
            continue
        try:
            request = seller_scope.for_request(
                settings,
                trigger.request_for_object(staged, storage.read_json_object),
                key_seller=trigger.key_seller(staged),
            )
            hint = request.amazon_order_id + "-" + request.message_type
            started = executions.start_execution(
                state_machine_arn, trigger.execution_name(staged, hint), request.to_dict()
            )
        except BuyerMessagingError as error:
            results.append(_rejected(where, error))
            first_error = first_error or error
            continue
        logger.info(
            "Execution started" if not started.already_existed else "Execution already started for this version",
            extra={"object": where, "execution": started.name, **trigger.describe(request)},
        )
        _record_received_from_s3(settings, started.execution_arn, request, staged)
        results.append({"object": where, "started": not started.already_existed, "executionArn": started.execution_arn})
    if first_error is not None:
        raise first_error
    metrics.add_metric(
        name="ExecutionsStarted", unit=MetricUnit.Count, value=sum(1 for r in results if r.get("started"))
    )
    return {"executions": results}


def _start_campaign(settings: Settings, staged: trigger.StagedObjectEvent) -> dict[str, Any]:
    """Run 1 of the manifest version's campaign, under its deterministic name: a repeated event is a no-op."""
    where = f"s3://{staged.bucket}/{staged.key}"
    if is_report(staged.key):
        logger.info("Campaign report staged: nothing to start", extra={"object": where})
        return {"object": where, "started": False, "ignored": "a campaign's report"}
    # The campaign's seller, as a message's: the key's segment, else the deployment's only one (SellerRequired
    # with several: refused here, before any row is read or sent).
    run = trigger.campaign_for_object(staged, sellers.resolve(settings, trigger.key_seller(staged)))
    if run is None:
        logger.info("Campaign report staged: nothing to start", extra={"object": where})
        return {"object": where, "started": False, "ignored": "a campaign's report"}
    started = executions.start_execution(
        settings.require("campaign_state_machine_arn"), run.execution_name, run.to_dict()
    )
    logger.info(
        "Campaign started" if not started.already_existed else "Campaign already started for this version",
        extra={
            "object": where,
            "execution": started.name,
            "campaignId": run.campaign_id,
            **({"sellingPartnerId": run.seller} if run.seller else {}),
        },
    )
    return {
        "object": where,
        "started": not started.already_existed,
        "executionArn": started.execution_arn,
        "campaignId": run.campaign_id,
    }


def _rejected(where: str, error: BuyerMessagingError) -> dict[str, Any]:
    logger.error("Object not started", extra={"object": where, "error": error_name(error), "cause": str(error)})
    metrics.add_metric(name="StartsRejected", unit=MetricUnit.Count, value=1)
    return {"object": where, "started": False, "error": error_name(error), "cause": str(error)}


def _record_received_from_s3(
    settings: Settings, execution_arn: str, request: MessageRequest, staged: trigger.StagedObjectEvent
) -> None:
    """The request's record with the object that started it; a table that cannot be reached or is not configured
    is only logged (the first step creates the record anyway, without the source)."""
    status.record_received(
        settings,
        execution_arn,
        request,
        origin="s3",
        source=storage.ObjectVersion(staged.bucket, staged.key, staged.version_id),
        only_logged=(WorkflowTableUnavailable, ConfigurationError),
    )
