"""The Messaging API's operations: available actions, buyer attributes, and every message type's send.

A send is checked in this order after the common checks of :mod:`spapi_emulator.gateway`:
the body is JSON (415 / 413 / 400) -> the order allows the type now (else 403 ``Unauthorized``
"Invalid amazonOrderId and template combination.") -> the body follows the type's rules
(:mod:`spapi_emulator.message_body`, 400) -> every attachment's upload destination was created for this
order, marketplace and message type, received a correct upload, and was not used by another message;
the files are not empty and together smaller than the catalog's limit (400). Then the message is
delivered (201 ``{}``) and a once-per-order type leaves the order's actions.
"""

from __future__ import annotations

from typing import Any

from buyer_messaging import catalog
from buyer_messaging.catalog import MessageType
from spapi_emulator.clock import iso_timestamp
from spapi_emulator.errors import NOT_AVAILABLE_MESSAGE, ApiError
from spapi_emulator.gateway import Call
from spapi_emulator.httpio import Response
from spapi_emulator.message_body import AttachmentRef, MessageBody, parse, read_json
from spapi_emulator.schemas import action_link, embedded_action
from spapi_emulator.state import Destination, OrderState


def get_messaging_actions_for_order(call: Call) -> Response:
    order, marketplace_id = call.order_from_path()
    order_id = order.seed.amazon_order_id
    with call.state.lock:
        allowed = list(order.allowed)
    rules = [order.seed.rules[path] for path in allowed]
    return call.ok(
        200,
        {
            "_links": {
                "actions": [action_link(rule.message_type, order_id, marketplace_id) for rule in rules],
                "self": {"href": f"/messaging/v1/orders/{order_id}?marketplaceIds={marketplace_id}"},
            },
            "_embedded": {"actions": [embedded_action(rule, order_id, marketplace_id) for rule in rules]},
        },
    )


def get_attributes(call: Call) -> Response:
    order, _ = call.order_from_path()
    return call.ok(200, {"buyer": {"locale": order.seed.buyer_locale}})


def send_message(call: Call) -> Response:
    message_type = call.route.message_type
    assert message_type is not None  # the gateway routes only message operations here
    order, marketplace_id = call.order_from_path()
    data = read_json(call.request)
    with call.state.lock:
        if not order.allows(message_type.path):
            allowed = ", ".join(order.allowed) or "none"
            raise ApiError(403, "Unauthorized", NOT_AVAILABLE_MESSAGE, f"Message types allowed now: {allowed}.")
        body = parse(order.seed.rules[message_type.path], data, call.request.notes)
        destinations = _destinations(call, order, marketplace_id, message_type, body.attachments)
        _deliver(call, order, marketplace_id, message_type, body, destinations)
    return call.ok(201, {})


def _destinations(
    call: Call,
    order: OrderState,
    marketplace_id: str,
    message_type: MessageType,
    refs: tuple[AttachmentRef, ...],
) -> list[Destination]:
    """The uploaded destinations the attachments name; 400 listing every one that is not usable."""
    problems: list[str] = []
    found: list[Destination] = []
    resource = message_type.upload_resource(order.seed.amazon_order_id)
    for index, ref in enumerate(refs):
        where = f"attachments[{index}].uploadDestinationId {ref.upload_destination_id}"
        destination = call.state.destinations.get(ref.upload_destination_id)
        if destination is None:
            problems.append(f"{where} was not created by createUploadDestinationForResource.")
        elif destination.resource != resource:
            problems.append(f"{where} was created for the resource {destination.resource}, not {resource}.")
        elif destination.marketplace_id != marketplace_id:
            problems.append(f"{where} was created for marketplace {destination.marketplace_id}.")
        elif destination.used_by is not None:
            problems.append(f"{where} was already used by a sent message; upload the file again.")
        elif destination.upload is None:
            problems.append(f"{where} has not received a correct upload (PUT the file to its url first).")
        elif destination.upload.size == 0:
            problems.append(f"{where} holds an empty file (0 bytes).")
        else:
            found.append(destination)
    total = sum(destination.upload.size for destination in found if destination.upload is not None)
    if total >= catalog.ATTACHMENTS_TOTAL_BYTES_LIMIT:
        problems.append(
            f"The attachments total {total:,} bytes; they must be less than "
            f"{catalog.ATTACHMENTS_TOTAL_BYTES_LIMIT:,} bytes together."
        )
    if problems:
        raise ApiError.many(400, [("InvalidInput", problem, "") for problem in problems])
    return found


def _deliver(
    call: Call,
    order: OrderState,
    marketplace_id: str,
    message_type: MessageType,
    body: MessageBody,
    destinations: list[Destination],
) -> None:
    """Record the message as delivered to the buyer (caller holds the state lock)."""
    attachments: list[dict[str, Any]] = []
    for ref, destination in zip(body.attachments, destinations, strict=True):
        upload = destination.upload
        assert upload is not None
        destination.used_by = call.request.request_id
        attachments.append(
            {
                "fileName": ref.file_name,
                "uploadDestinationId": destination.destination_id,
                "size": upload.size,
                "md5": upload.md5_hex,
                "contentMd5": upload.content_md5,
                "contentType": upload.content_type,
            }
        )
    delivery: dict[str, Any] = {
        "requestId": call.request.request_id,
        "amazonOrderId": order.seed.amazon_order_id,
        "marketplaceId": marketplace_id,
        "messageType": message_type.path,
        "operation": message_type.operation,
        "text": body.text,
        "attachments": attachments,
        "sentAt": iso_timestamp(call.clock.wall()),
    }
    if message_type.takes_coverage_dates:
        delivery["coverageStartDate"] = body.coverage_start_date
        delivery["coverageEndDate"] = body.coverage_end_date
    call.state.deliveries.append(delivery)
    if message_type.path in order.seed.once_per_order:
        order.allowed.remove(message_type.path)
