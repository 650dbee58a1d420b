"""Upload destinations kept in the workflow table, so their presigned URLs never enter execution history.

A presigned URL is a bearer credential for 15 minutes: the create step stores it here and the state machine
carries only the ``uploadDestinationId``; the upload step reads it back, and makes a new one (:func:`create`) when
it expired. DynamoDB's TTL removes the record.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from buyer_messaging import catalog, uploads
from buyer_messaging.config import get_settings
from buyer_messaging.models import AttachmentTask, UploadDestination
from buyer_messaging.spapi import seller_client
from buyer_messaging.table import call, from_item, to_item

# Amazon's presigned upload URLs expire 900 s after creation.
URL_LIFETIME_SECONDS = 900
# Re-create rather than start an upload this close to the expiry: a large file takes time to send.
RENEW_MARGIN_SECONDS = 120
KEY_PREFIX = "destination#"


@dataclass(frozen=True, slots=True)
class StoredDestination:
    destination: UploadDestination
    created_at: float

    def usable(self, now: float) -> bool:
        return now < self.created_at + URL_LIFETIME_SECONDS - RENEW_MARGIN_SECONDS


def create(task: AttachmentTask) -> UploadDestination:
    """Amazon's new destination for the task's attachment, stored before its id goes anywhere."""
    table = get_settings().require("workflow_table")  # before Amazon creates anything
    destination = uploads.create_upload_destination(
        seller_client(task.selling_partner_id),
        catalog.message_type(task.message_type),
        task.amazon_order_id,
        task.marketplace_id,
        task.require_content_md5(),
        task.attachment.content_type,
    )
    save(table, destination)
    return destination


def save(table: str, destination: UploadDestination, created_at: float | None = None) -> StoredDestination:
    created = time.time() if created_at is None else created_at
    item = to_item(
        {
            "id": KEY_PREFIX + destination.upload_destination_id,
            "url": destination.url,
            "headers": json.dumps(dict(destination.headers)),
            "createdAt": created,
            # TTL (epoch seconds): the record outlives the URL a little, then DynamoDB deletes it.
            "expiration": int(created + URL_LIFETIME_SECONDS + 3600),
        }
    )
    call(table, lambda client: client.put_item(TableName=table, Item=item))
    return StoredDestination(destination, created)


def load(table: str, upload_destination_id: str) -> StoredDestination | None:
    """The stored destination, or None when it is gone (expired and removed, or never stored)."""
    key = {"id": {"S": KEY_PREFIX + upload_destination_id}}
    response = call(table, lambda client: client.get_item(TableName=table, Key=key, ConsistentRead=True))
    item = response.get("Item")
    if not item:
        return None
    fields = from_item(item)
    return StoredDestination(
        UploadDestination(
            upload_destination_id=upload_destination_id,
            url=fields["url"],
            headers=json.loads(fields["headers"]),
        ),
        float(fields["createdAt"]),
    )
