"""The ``CreateUploadDestination`` state (in the Map): an Uploads API destination for the attachment."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from buyer_messaging import authorization_hold, destinations, status, turns
from buyer_messaging.config import get_settings
from buyer_messaging.errors import SellerNeedsAuthorization
from buyer_messaging.models import AttachmentTask
from buyer_messaging.observability import logger, metrics


def create_destination(task: AttachmentTask) -> dict[str, Any]:
    """A new upload destination; its URL goes to the workflow table, only its id into the state. While its
    turn in Amazon's quota is later: no id, and the turn in ``pacing``; while the seller needs authorization: no id,
    and the hold in ``held`` (the machine waits for either)."""
    if task.pacing is None and task.held is None:
        status.uploading(get_settings().require("workflow_table"), task.execution_id)
    try:
        taker = turns.Taker(
            task.execution_id, turns.Pacing.from_state(task.pacing), lane=task.lane, seller=task.selling_partner_id
        )
        with turns.taking(taker):
            destination = destinations.create(task)
    except turns.TurnLater as later:
        return {"uploadDestinationId": None, "pacing": later.pacing.to_dict(), "held": None}
    except SellerNeedsAuthorization as lost:
        previous = authorization_hold.Hold.from_state(task.held)
        held = authorization_hold.hold(get_settings(), task.execution_id, previous, lost)
        return {"uploadDestinationId": None, "pacing": None, "held": held.to_dict()}
    logger.info("Upload destination created", extra={"upload_destination_id": destination.upload_destination_id})
    metrics.add_metric(name="UploadDestinationsCreated", unit=MetricUnit.Count, value=1)
    return {"uploadDestinationId": destination.upload_destination_id, "pacing": None, "held": None}
