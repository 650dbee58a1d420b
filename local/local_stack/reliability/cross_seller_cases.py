"""The cross-seller attempts (data): a console user of seller A tries every route of the console API against seller
B's orders, requests, campaigns and staged files, and each attempt is answered byte for byte as the same attempt
against a thing that does not exist (the thing's own id aside). local_stack.reliability.cross_seller runs them.

In each attempt ``{thing}`` stands for B's (``mine``) and for one that does not exist (``absent``): names of the
things the runner makes (:data:`THINGS`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SELLER_A = "A2EXAMPLESELLER"  # the seed's first seller: order 123-1234567-1234567
SELLER_B = "A3OTHERSELLER"  # the seed's second seller: order 113-2000001-0000001
ORDER_A = "123-1234567-1234567"
ORDER_B = "113-2000001-0000001"
MARKETPLACE = "ATVPDKIKX0DER"
MANIFEST_B = f"amazonOrderId,marketplaceId,messageType,text\r\n{ORDER_B},{MARKETPLACE},unexpectedProblem,Late.\r\n"
USER_A = "ana@example.com"  # in group seller-A2EXAMPLESELLER only

# What the runner makes or knows, by name: B's things and things that exist nowhere.
THINGS = (
    "seller B",
    "no seller",
    "B's order",
    "no order",
    "B's request",
    "no request",
    "B's campaign",
    "no campaign",
    "B's staged file",
    "an unsegmented staged file",
    "no staged file of A",
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt: ``method`` and ``path`` (and ``body``, JSON) with ``{thing}`` in them, made once with ``mine``
    and once with ``absent``; both must answer ``status`` with ``error`` (the body's; None for a 200 with no error),
    and the same bytes once each thing's id is blanked."""

    id: str
    route: str
    mine: str
    absent: str
    method: str
    path: str
    status: int
    error: str | None
    body: dict[str, Any] | None = None


ATTEMPTS: tuple[Attempt, ...] = (
    Attempt(
        "types-other-seller",
        "GET /orders/{id}/message-types",
        "seller B",
        "no seller",
        "GET",
        f"/orders/{ORDER_B}/message-types?marketplaceId={MARKETPLACE}&sellingPartnerId={{thing}}",
        403,
        "SellerNotPermitted",
    ),
    Attempt(
        "types-other-order",
        "GET /orders/{id}/message-types",
        "B's order",
        "no order",
        "GET",
        f"/orders/{{thing}}/message-types?marketplaceId={MARKETPLACE}",
        404,
        "SpApiNotFound",
    ),
    Attempt(
        "stage-other-seller",
        "POST /attachments",
        "seller B",
        "no seller",
        "POST",
        "/attachments",
        403,
        "SellerNotPermitted",
        {"fileName": "Invoice.pdf", "contentType": "application/pdf", "size": 100, "sellingPartnerId": "{thing}"},
    ),
    Attempt(
        "send-other-seller",
        "POST /orders/{id}/messages",
        "seller B",
        "no seller",
        "POST",
        f"/orders/{ORDER_B}/messages",
        403,
        "SellerNotPermitted",
        {"marketplaceId": MARKETPLACE, "messageType": "unexpectedProblem", "text": "Hi", "sellingPartnerId": "{thing}"},
    ),
    Attempt(
        "send-other-order",
        "POST /orders/{id}/messages",
        "B's order",
        "no order",
        "POST",
        "/orders/{thing}/messages",
        404,
        "SpApiNotFound",
        {"marketplaceId": MARKETPLACE, "messageType": "unexpectedProblem", "text": "Hi"},
    ),
    Attempt(
        "send-other-sellers-file",
        "POST /orders/{id}/messages",
        "B's staged file",
        "no staged file of A",
        "POST",
        f"/orders/{ORDER_A}/messages",
        400,
        "AttachmentNotFound",
        {"marketplaceId": MARKETPLACE, "messageType": "invoice", "attachments": [{"key": "{thing}"}]},
    ),
    Attempt(
        "send-unsegmented-file",
        "POST /orders/{id}/messages",
        "an unsegmented staged file",
        "no staged file of A",
        "POST",
        f"/orders/{ORDER_A}/messages",
        400,
        "AttachmentNotFound",
        {"marketplaceId": MARKETPLACE, "messageType": "invoice", "attachments": [{"key": "{thing}"}]},
    ),
    Attempt(
        "status-other-request",
        "GET /messages/{id}",
        "B's request",
        "no request",
        "GET",
        "/messages/{thing}",
        404,
        "RequestNotFound",
    ),
    Attempt(
        "history-other-seller",
        "GET /orders/{id}/messages",
        "seller B",
        "no seller",
        "GET",
        f"/orders/{ORDER_B}/messages?sellingPartnerId={{thing}}",
        403,
        "SellerNotPermitted",
    ),
    Attempt(
        "history-other-order",
        "GET /orders/{id}/messages",
        "B's order",
        "no order",
        "GET",
        "/orders/{thing}/messages",
        200,
        None,
    ),
    Attempt(
        "campaign-other",
        "GET /campaigns/{id}",
        "B's campaign",
        "no campaign",
        "GET",
        "/campaigns/{thing}",
        404,
        "CampaignNotFound",
    ),
    Attempt(
        "campaign-report-other",
        "GET /campaigns/{id}/report",
        "B's campaign",
        "no campaign",
        "GET",
        "/campaigns/{thing}/report",
        404,
        "CampaignNotFound",
    ),
    Attempt(
        "campaign-failed-rows-other",
        "GET /campaigns/{id}/failed-rows",
        "B's campaign",
        "no campaign",
        "GET",
        "/campaigns/{thing}/failed-rows",
        404,
        "CampaignNotFound",
    ),
    *(
        Attempt(
            f"campaign-{verb}-other-seller",
            f"POST /campaigns{' (dryRun)' if dry_run else ''}",
            "seller B",
            "no seller",
            "POST",
            "/campaigns",
            403,
            "SellerNotPermitted",
            {"name": "late", "format": "csv", "sellingPartnerId": "{thing}", "dryRun": dry_run, "manifest": MANIFEST_B},
        )
        for verb, dry_run in (("post", False), ("preview", True))
    ),
    Attempt(
        "campaign-run-other",
        "POST /campaigns/{id}/runs",
        "B's campaign",
        "no campaign",
        "POST",
        "/campaigns/{thing}/runs",
        404,
        "CampaignNotFound",
    ),
    Attempt(
        "resend-other-request",
        "POST /resends",
        "B's request",
        "no request",
        "POST",
        "/resends",
        200,
        None,
        {"requests": ["{thing}"], "dryRun": True},
    ),
    Attempt(
        "resend-other-campaign",
        "POST /resends",
        "B's campaign",
        "no campaign",
        "POST",
        "/resends",
        404,
        "CampaignNotFound",
        {"campaign": "{thing}", "dryRun": True},
    ),
)
