"""Execution names that make a repeated start a no-op.

Step Functions refuses a second execution of a name (for 90 days after the first one closed), so a name derived
from what identifies a request turns every repeat into "already started" instead of a second message:

- S3 starts: the bucket, key and version of the staged object (:func:`buyer_messaging.trigger.execution_name`);
- API starts: the caller's ``Idempotency-Key``, or else the request's content, scoped to the caller;
- campaigns: the manifest's bucket, key and version (:func:`campaign_id`), and each run and row under it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from buyer_messaging import catalog
from buyer_messaging.errors import UnknownMessageType
from buyer_messaging.models import MessageRequest

EXECUTION_NAME_MAX_LENGTH = 80
CAMPAIGN_ID_MAX_LENGTH = 64  # fields.CAMPAIGN_ID_PATTERN: room for "-{row}-{run}" within the 80 of a row's child
_CAMPAIGN_DIGEST_LENGTH = 20  # 80 bits: one seller's manifests never share an id by chance
_DIGEST_LENGTH = 32  # 128 bits of SHA-256: no two requests share a name by chance
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]+")


def deterministic_name(identity: Sequence[str], hint: str = "") -> str:
    """``{hint}-{digest of identity}``, at most 80 characters of ``[A-Za-z0-9_-]`` (the hint shortened)."""
    digest = hashlib.sha256("\0".join(identity).encode("utf-8")).hexdigest()[:_DIGEST_LENGTH]
    readable = _UNSAFE_NAME_CHARACTERS.sub("-", hint).strip("-")
    room = EXECUTION_NAME_MAX_LENGTH - len(digest) - 1
    return f"{readable[:room]}-{digest}" if readable else digest


def campaign_id(bucket: str, key: str, version_id: str, name: str, seller: str | None = None) -> str:
    """``{name shortened}-{20 hex of sha256(bucket, key, version[, seller])}``: one manifest object version, one
    campaign. The seller the campaign names is part of its identity (and so of its run's and rows' execution names);
    a campaign that names none keeps the id it had before sellers were named."""
    identity = (bucket, key, version_id) + (("seller", seller) if seller else ())
    digest = hashlib.sha256("\0".join(identity).encode("utf-8")).hexdigest()[:_CAMPAIGN_DIGEST_LENGTH]
    readable = _UNSAFE_NAME_CHARACTERS.sub("-", name).strip("-")
    room = CAMPAIGN_ID_MAX_LENGTH - len(digest) - 1
    readable = readable[:room].rstrip("-")
    return f"{readable}-{digest}" if readable else digest


def campaign_run_name(campaign: str, run: int) -> str:
    """The campaign state machine's execution of run ``run``: a repeated start of one run is a no-op."""
    return f"{campaign}-{run}"


def request_execution_name(request: MessageRequest, *, caller: str, idempotency_key: str | None = None) -> str:
    """The name of an API start. With an ``Idempotency-Key`` the key alone identifies the request (a repeat
    with another body is then the caller's mistake to report, see the API); without one, its content does:
    the same message for the same order is sent once. ``caller`` keeps two callers' keys apart. The seller the
    request names is part of either identity (in its content already); a request that names none keeps the name it
    had before sellers were named, so an upgrade sends no repeat again."""
    if idempotency_key:
        identity: tuple[str, ...] = ("api-key", caller, idempotency_key)
        if request.selling_partner_id:
            identity += ("seller", request.selling_partner_id)
    else:
        identity = ("api-content", caller, canonical_content(request))
    return deterministic_name(identity, f"{request.amazon_order_id}-{_canonical_type(request.message_type)}")


def canonical_content(request: MessageRequest) -> str:
    """The request as one string that is the same however it was spelled (type alias, key order)."""
    document = request.to_dict()
    document["messageType"] = _canonical_type(request.message_type)
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _canonical_type(message_type: str) -> str:
    try:
        return catalog.message_type(message_type).path
    except UnknownMessageType:
        return message_type
