"""Whose a request, an S3 key and a record is: the one place that says it (the console's isolation asks here too).

S3 keys gain a seller segment: ``sellers/{sellingPartnerId}/`` before today's conventions (``outbox/…``,
``requests/…``, ``campaigns/…``, ``attachments/…``). Both forms stay unambiguous: ``sellers/`` is a top-level
prefix of its own (never a marketplace, request, campaign or attachment folder) and its segment must be a
selling partner id; a key without it names no seller (:func:`buyer_messaging.sellers.resolve` with ``None``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from buyer_messaging.errors import AttachmentOfAnotherSeller, SellerMismatch
from buyer_messaging.fields import SELLING_PARTNER_ID_PATTERN

if TYPE_CHECKING:
    # Annotations only: the key helpers stay light, for the API function's cold start (campaigns/keys.py splits
    # manifest keys with them; tests/unit/test_cold_start_imports.py). for_request loads the registry when it runs.
    from buyer_messaging.config import Settings
    from buyer_messaging.models import MessageRequest

SELLERS_PREFIX = "sellers/"
SELLER_FIELD = "sellingPartnerId"


@dataclass(frozen=True, slots=True)
class ScopedKey:
    """A staging-bucket key split at its seller segment: ``seller`` None when the key names none (``rest`` is
    then the whole key); ``segment`` is what stands after ``sellers/`` even when it is no selling partner id."""

    seller: str | None
    rest: str
    segment: str | None = None


def split_key(key: str) -> ScopedKey:
    """``sellers/{id}/{rest}`` → (id, rest); any other key → (None, key)."""
    if not key.startswith(SELLERS_PREFIX):
        return ScopedKey(None, key)
    segment, _, rest = key[len(SELLERS_PREFIX) :].partition("/")
    seller = segment if SELLING_PARTNER_ID_PATTERN.fullmatch(segment) else None
    return ScopedKey(seller, rest, segment)


def key_prefix(seller: str | None) -> str:
    """Where a seller's objects start in the staging bucket ("" for no seller: today's keys)."""
    return f"{SELLERS_PREFIX}{seller}/" if seller else ""


def owner(record: Mapping[str, Any] | None) -> str | None:
    """The seller a record (status record, campaign record, report row, event detail, execution input) is of;
    None for a record of a deployment never told its seller, or of before sellers were named."""
    value = record.get(SELLER_FIELD) if record else None
    return value if isinstance(value, str) and value else None


def for_request(settings: Settings, request: MessageRequest, *, key_seller: str | None = None) -> MessageRequest:
    """The request as an execution's input: for the seller it names (or its S3 key's segment names, which must
    agree), resolved among the deployment's sellers (SellerRequired, UnknownSeller), every staged file its own."""
    from buyer_messaging import sellers

    named = request.selling_partner_id
    if key_seller is not None and named is not None and named != key_seller:
        message = f"the document names {named}, its key sellers/{key_seller}/…: one request is for one seller"
        raise SellerMismatch(f"The request is refused: {message}.", problems=((SELLER_FIELD, message),))
    resolved = request.for_seller(sellers.resolve(settings, named or key_seller))
    check_attachments(resolved)
    return resolved


def check_attachments(request: MessageRequest) -> None:
    """A file staged under another seller's ``sellers/{id}/`` is never sent to this seller's buyer."""
    problems = []
    for index, attachment in enumerate(request.attachments):
        scoped = split_key(attachment.key)
        if scoped.segment is not None and scoped.segment != request.selling_partner_id:
            problems.append(
                (f"attachments[{index}].key", "is a file staged for another seller: it is never sent for this one")
            )
    if problems:
        details = "; ".join(f"{path} {message}" for path, message in problems)
        raise AttachmentOfAnotherSeller(f"The request is refused: {details}.", problems=tuple(problems))
