"""The pages a seller sees at the end of the website authorization workflow (``GET /oauth/callback``): the seller
authorized, or why not and what to do. They name the seller and the dates, never a token or a code."""

from __future__ import annotations

import html

from buyer_messaging import http_api
from buyer_messaging.errors import BuyerMessagingError, error_name
from buyer_messaging.sellers import Seller

_HEAD = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>{title} - Buyer Messaging</title></head><body><main>"
)
_TAIL = "</main></body></html>"
# The pages load nothing and run nothing.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def authorized(seller: Seller, *, renewal: bool) -> str:
    seller_id = html.escape(seller.selling_partner_id)
    until = seller.authorization_expires_at.strftime("%d %B %Y")
    what = "renewed its authorization" if renewal else "authorized Buyer Messaging"
    return (
        _HEAD.format(title="Seller authorized")
        + f"<h1>Seller {seller_id} {what}</h1>"
        + f"<p>Buyer Messaging may now send messages to the buyers of seller {seller_id}.</p>"
        + f"<p>The authorization lasts until {until}. Amazon asks for a new one every 365 days; you will be "
        "invited to renew it before then.</p>" + "<p>You can close this page.</p>" + _TAIL
    )


def refused(error: BuyerMessagingError) -> tuple[int, str]:
    """The status and page of a refusal: 400 for what the browser brought, 502 for what Amazon refused, 503 for
    what may pass (the statuses of http_api.error_response)."""
    status, _ = http_api.error_response(error)
    page = (
        _HEAD.format(title="Authorization not finished")
        + "<h1>The seller's authorization did not finish</h1>"
        + f"<p>{html.escape(str(error))}</p>"
        + f"<p>Error: {html.escape(error_name(error))}</p>"
        + _TAIL
    )
    return status, page
