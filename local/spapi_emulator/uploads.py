"""The Uploads API's ``createUploadDestinationForResource``, for Messaging API resources.

``POST /uploads/2020-11-01/uploadDestinations/{resource}`` where ``resource`` is
``messaging/v1/orders/{amazonOrderId}/messages/{messageType}`` with literal slashes (the model's
greedy path parameter). ``%2F`` names no resource Amazon serves: it answers 403 ``Unauthorized`` "Access to
requested resource is denied." (amzn/selling-partner-api-models#254, saleweaver/python-amazon-sp-api#1191;
Amazon's own Python SDK encodes every path parameter that way unless told ``safe_chars_for_path_param =
"/"``); the call log's notes say why. ``marketplaceIds`` holds exactly one value, ``contentMD5`` is
required and echoed as given, unchecked (Amazon echoes even a hex digest, saleweaver/python-amazon-sp-api#450;
S3 refuses it at the upload), ``contentType`` is optional. The operation takes no body; one sent is
ignored and noted (python-amazon-sp-api sends ``marketplaceIds`` there, Amazon's SDK ``{}``).

Answer: 201 ``{"payload": {"uploadDestinationId", "url", "headers": {"Content-MD5",
"x-amz-server-side-encryption": "aws:kms"}}}``; the URL accepts one signed PUT for 900 emulated seconds.
The emulator serves Messaging resources only: other resources (A+ content, ...) are refused.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote

from buyer_messaging import catalog
from spapi_emulator.errors import invalid_input, unauthorized
from spapi_emulator.gateway import Call
from spapi_emulator.httpio import Response
from spapi_emulator.signing import EXPIRES_SECONDS, SERVER_SIDE_ENCRYPTION
from spapi_emulator.state import Destination

_MESSAGING_RESOURCE = re.compile(r"^messaging/v1/orders/(?P<amazonOrderId>[^/]+)/messages/(?P<messageType>[^/]+)$")


def create_upload_destination_for_resource(call: Call) -> Response:
    raw_resource = call.params["resource"]
    if "%2f" in raw_resource.lower():
        call.request.notes.append(
            "The resource's slashes are percent-encoded (%2F); they must be literal "
            "(/uploads/2020-11-01/uploadDestinations/messaging/v1/orders/{amazonOrderId}/messages/{messageType}). "
            "Amazon answers 403 Unauthorized, as here."
        )
        raise unauthorized()
    body = call.request.body
    if body.chunked or body.length:
        size = "a chunked body" if body.chunked else f"a body of {body.length} bytes"
        call.request.notes.append(f"The request carries {size}; the operation takes none (ignored).")
    resource = unquote(raw_resource)
    found = _MESSAGING_RESOURCE.match(resource)
    if found is None:
        raise invalid_input(
            f"The resource {resource!r} is not a Messaging API resource.",
            "Use messaging/v1/orders/{amazonOrderId}/messages/{messageType} (the emulator serves Messaging only).",
        )
    message_type = next((m for m in catalog.MESSAGE_TYPES if m.path == found["messageType"]), None)
    if message_type is None:
        known = ", ".join(m.path for m in catalog.MESSAGE_TYPES)
        raise invalid_input(
            f"The resource names the message type {found['messageType']!r}, which is not an operation's path.",
            f"Use one of: {known}.",
        )
    marketplace_id = call.marketplace_id()
    query = call.request.query()
    content_md5 = _single(query, "contentMD5", required=True)
    content_type = _single(query, "contentType", required=False)
    order = call.order(found["amazonOrderId"], marketplace_id)
    destination_id = str(uuid.uuid4())
    created = call.clock.now()
    url = call.signer.presign(call.base_url, destination_id, call.clock.wall())
    destination = Destination(
        destination_id=destination_id,
        amazon_order_id=order.seed.amazon_order_id,
        marketplace_id=marketplace_id,
        message_type=message_type.path,
        content_md5=content_md5 or "",
        content_type=content_type,
        created_at=created,
        expires_at=created + EXPIRES_SECONDS,
        url=url,
    )
    with call.state.lock:
        call.state.destinations[destination_id] = destination
    return call.ok(
        201,
        {
            "payload": {
                "uploadDestinationId": destination_id,
                "url": url,
                "headers": {
                    "Content-MD5": destination.content_md5,
                    "x-amz-server-side-encryption": SERVER_SIDE_ENCRYPTION,
                },
            }
        },
    )


def _single(query: dict[str, list[str]], name: str, *, required: bool) -> str | None:
    values = query.get(name)
    if not values:
        if required:
            raise invalid_input(f"Missing required parameter: {name}.", _HINTS.get(name, ""))
        return None
    if len(values) > 1:
        raise invalid_input(f"{name} was given {len(values)} times; give it once.")
    if required and not values[0]:
        raise invalid_input(f"{name} is empty.", _HINTS.get(name, ""))
    return values[0] or None


_HINTS = {"contentMD5": "contentMD5 is the base64 of the 16-byte MD5 digest of the file you will upload."}
