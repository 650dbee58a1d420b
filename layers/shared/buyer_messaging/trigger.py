"""From an S3 object to what it starts: the key conventions and the execution name.

- ``outbox/{marketplaceId}/{amazonOrderId}/{messageType}/{fileName}``: one message whose single attachment
  is this object, shown to the buyer as ``fileName``.
- ``requests/{name}.json``: a request document (the state machine's input); its attachments are keys in
  the same bucket unless they name another.
- ``campaigns/{name}.csv`` / ``.jsonl``: a campaign's manifest, run 1 of its campaign (:func:`campaign_for_object`);
  ``campaigns/{name}.report.csv`` is a campaign's report and starts nothing.

Each form may stand under ``sellers/{sellingPartnerId}/`` (buyer_messaging.seller_scope): the request (or the
campaign) is then that seller's, and a request document under it that names another seller is refused
(SellerMismatch), as is a campaign row that does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from buyer_messaging.campaigns.keys import MANIFEST_PREFIX, is_report, manifest_name
from buyer_messaging.campaigns.run import CampaignRun
from buyer_messaging.errors import InvalidRequest, UnsupportedS3Key
from buyer_messaging.models import AttachmentRef, MessageRequest
from buyer_messaging.naming import deterministic_name
from buyer_messaging.seller_scope import SELLERS_PREFIX, split_key

OUTBOX_PREFIX = "outbox/"
REQUESTS_PREFIX = "requests/"


@dataclass(frozen=True, slots=True)
class StagedObjectEvent:
    """One ``ObjectCreated`` record: which object version was staged."""

    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    size: int | None

    @property
    def version(self) -> str:
        """What identifies this upload of the key: the version id, else the ETag."""
        return self.version_id or (self.etag or "").strip('"')


def parse_s3_event(event: object) -> list[StagedObjectEvent]:
    """The object records of an S3 notification event; keys arrive URL-encoded.

    The ``s3:TestEvent`` S3 sends when notifications are configured has no records: nothing to start.
    """
    # Read by hand, not with Powertools' S3Event: importing it runs Powertools' data_classes package (38 modules,
    # 58 million instructions, about 7 ms), 7% of the S3 trigger's whole import (bench/cold_start.py), to read
    # four fields. The data class checks nothing either: every refusal below would stay.
    if isinstance(event, Mapping) and event.get("Event") == "s3:TestEvent":
        return []
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise InvalidRequest("The event is not an S3 notification (no Records list).")
    objects = []
    for index, record in enumerate(records):
        s3 = record.get("s3") if isinstance(record, Mapping) else None
        bucket_map = s3.get("bucket") if isinstance(s3, Mapping) else None
        bucket = bucket_map.get("name") if isinstance(bucket_map, Mapping) else None
        obj = s3.get("object") if isinstance(s3, Mapping) else None
        if not isinstance(bucket, str) or not isinstance(obj, Mapping) or not isinstance(obj.get("key"), str):
            raise InvalidRequest(f"Records[{index}] is not an S3 object record (s3.bucket.name, s3.object.key).")
        size = obj.get("size")
        objects.append(
            StagedObjectEvent(
                bucket=bucket,
                key=unquote_plus(obj["key"]),
                version_id=obj.get("versionId") or None,
                etag=obj.get("eTag") or None,
                size=size if isinstance(size, int) else None,
            )
        )
    return objects


def request_for_object(
    staged: StagedObjectEvent, read_document: Callable[[str, str, str | None], object]
) -> MessageRequest:
    """The message request an object stands for (not yet resolved: see :func:`key_seller`);
    ``read_document(bucket, key, version_id)`` reads JSON."""
    key = key_rest(staged)
    if key.startswith(OUTBOX_PREFIX):
        return _outbox_request(staged, key)
    if key.startswith(REQUESTS_PREFIX):
        if not key.endswith(".json") or key.count("/") != 1:
            raise UnsupportedS3Key(
                f"s3://{staged.bucket}/{staged.key}: request documents are requests/{{name}}.json, directly under "
                "requests/ (or sellers/{sellingPartnerId}/requests/)."
            )
        document = read_document(staged.bucket, staged.key, staged.version_id)
        return MessageRequest.from_dict(document, default_bucket=staged.bucket)
    raise UnsupportedS3Key(
        f"s3://{staged.bucket}/{staged.key} fits no key convention: use "
        "outbox/{marketplaceId}/{amazonOrderId}/{messageType}/{fileName}, requests/{name}.json or "
        "campaigns/{name}.csv (or .jsonl), each optionally under sellers/{sellingPartnerId}/."
    )


def starts_something(staged: StagedObjectEvent) -> bool:
    """Whether the key is one the bucket's notification filters mean to start: every key under ``sellers/``
    arrives (S3 filters match a prefix, not a pattern), and after the seller segment only what the unsegmented
    filters deliver starts (outbox/…, requests/….json, campaigns/….csv or .jsonl); a seller's attachments/ and
    anything else start nothing. Keys without the segment were filtered by S3 already."""
    scoped = split_key(staged.key)
    if scoped.segment is None:
        return True
    rest = scoped.rest
    return (
        rest.startswith(OUTBOX_PREFIX)
        or (rest.startswith(REQUESTS_PREFIX) and rest.endswith(".json"))
        or (rest.startswith(MANIFEST_PREFIX) and rest.endswith((".csv", ".jsonl")))
    )


def key_seller(staged: StagedObjectEvent) -> str | None:
    """The seller the key's ``sellers/{id}/`` segment names, or None for a key without one."""
    return split_key(staged.key).seller


def key_rest(staged: StagedObjectEvent) -> str:
    """The key after its seller segment; UnsupportedS3Key when ``sellers/`` is followed by no selling partner id."""
    scoped = split_key(staged.key)
    if scoped.segment is not None and scoped.seller is None:
        raise UnsupportedS3Key(
            f"s3://{staged.bucket}/{staged.key}: after {SELLERS_PREFIX} comes a selling partner id (upper-case "
            "letters and digits, 8 to 20, e.g. A2EUQ1WTGCTBG2), then outbox/, requests/ or campaigns/."
        )
    return scoped.rest


def is_campaign_object(staged: StagedObjectEvent) -> bool:
    return split_key(staged.key).rest.startswith(MANIFEST_PREFIX)


def campaign_for_object(staged: StagedObjectEvent, seller: str | None = None) -> CampaignRun | None:
    """Run 1 of the campaign of this manifest version, for ``seller`` (the key's seller, or the deployment's
    only one, resolved by the caller); None for a campaign's report (its own upload starts nothing);
    UnsupportedS3Key for any other key under campaigns/."""
    if is_report(staged.key):
        return None
    name, fmt = manifest_name(staged.key)
    return CampaignRun.first(staged.bucket, staged.key, staged.version, name, fmt, seller=seller)


def _outbox_request(staged: StagedObjectEvent, key: str) -> MessageRequest:
    parts = key[len(OUTBOX_PREFIX) :].split("/")
    if len(parts) != 4 or not all(parts):
        raise UnsupportedS3Key(
            f"s3://{staged.bucket}/{staged.key}: outbox keys are "
            "outbox/{marketplaceId}/{amazonOrderId}/{messageType}/{fileName} (four non-empty parts after outbox/)."
        )
    marketplace_id, order_id, message_type, file_name = parts
    return MessageRequest.from_dict(
        {
            "amazonOrderId": order_id,
            "marketplaceId": marketplace_id,
            "messageType": message_type,
            "attachments": [AttachmentRef(staged.bucket, staged.key, file_name).to_dict()],
        }
    )


def execution_name(staged: StagedObjectEvent, hint: str = "") -> str:
    """A Step Functions execution name unique to this object version and the same on every delivery."""
    return deterministic_name((staged.bucket, staged.key, staged.version), hint)


def describe(request: MessageRequest) -> dict[str, Any]:
    """Log-safe summary of a request: no text (it may hold personal data)."""
    described: dict[str, Any] = {
        "amazonOrderId": request.amazon_order_id,
        "marketplaceId": request.marketplace_id,
        "messageType": request.message_type,
        "attachments": len(request.attachments),
    }
    if request.selling_partner_id:
        described["sellingPartnerId"] = request.selling_partner_id
    return described
