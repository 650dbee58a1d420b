"""Onboarding sellers (buyer_messaging.onboarding): the public OAuth routes of the console API and the operator's
routes of the IAM API; and the daily check of the sellers' authorizations (buyer_messaging.authorization_age). The
only function that writes the sellers' secrets and the seller#, invitation# and oauthstate# items (least
privilege: template.yaml, tests/static)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext

from buyer_messaging import authorization_age, http_api, onboarding, onboarding_pages, request_body, sellers
from buyer_messaging.config import get_settings
from buyer_messaging.errors import BuyerMessagingError, InvalidRequest
from buyer_messaging.observability import logger, metrics, tracer

app = APIGatewayHttpResolver()


def _state_cookie(value: str, max_age: int) -> Cookie:
    # Lax: the browser sends it on Amazon's redirect back (a top-level GET), never on another site's request. Secure
    # wherever the callback is https (always on AWS); the local stack's plain-http loopback callback gets it too.
    secure = get_settings().oauth_redirect_uri.startswith("https://")
    return Cookie(
        onboarding.STATE_COOKIE,
        value,
        path="/oauth",
        secure=secure,
        http_only=True,
        max_age=max_age,
        same_site=SameSite.LAX_MODE,
    )


def _json(status: int, body: Any) -> Response[Any]:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body), headers={"Cache-Control": "no-store"})


def _page(status: int, page: str) -> Response[Any]:
    cookies = [_state_cookie("", 0)]  # the state's cookie is spent either way
    return Response(status, "text/html; charset=utf-8", page, headers=onboarding_pages.HEADERS, cookies=cookies)


@app.exception_handler(BuyerMessagingError)
def _named_error(error: BuyerMessagingError) -> Response[Any]:
    status, body = http_api.error_response(error)
    logger.warning("Onboarding refused", extra={"status": status, "error": body["error"], "cause": body["message"]})
    if app.current_event.path.startswith("/oauth/"):  # a seller's browser: a page, not JSON
        return _page(*onboarding_pages.refused(error))
    return _json(status, body)


def _body() -> dict[str, Any]:
    event = app.current_event
    text = request_body.request_text(
        event.body, base64_encoded=event.is_base64_encoded, content_type=event.headers.get("content-type")
    )
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        raise InvalidRequest("The body is not JSON.") from None
    if not isinstance(value, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return value


def _cookie() -> str | None:
    for cookie in app.current_event.cookies or []:
        name, _, value = cookie.partition("=")
        if name.strip() == onboarding.STATE_COOKIE:
            return value.strip()
    return None


@app.get("/oauth/authorize")
def get_authorize() -> Response[Any]:
    started = onboarding.start(
        get_settings(), app.current_event.get_query_string_value("invitation"), now=datetime.now(UTC)
    )
    cookie = _state_cookie(started.cookie_value, onboarding.STATE_SECONDS)
    headers = {"Location": started.consent_url, "Cache-Control": "no-store"}
    return Response(302, None, None, headers=headers, cookies=[cookie])


@app.get("/oauth/callback")
def get_callback() -> Response[Any]:
    query = app.current_event.get_query_string_value
    recorded = onboarding.finish(
        get_settings(),
        state=query("state"),
        cookie=_cookie(),
        seller_id=query("selling_partner_id"),
        code=query("spapi_oauth_code"),
        now=datetime.now(UTC),
    )
    return _page(200, onboarding_pages.authorized(recorded.seller, renewal=not recorded.first_time))


@app.post("/sellers/invitations")
def post_invitation() -> Response[Any]:
    body = _body()
    invitation = onboarding.invite(
        get_settings(), days=body.get("days"), seller_id=body.get("sellingPartnerId"), now=datetime.now(UTC)
    )
    return _json(201, invitation)


@app.get("/sellers")
def get_sellers() -> Response[Any]:
    return _json(200, {"sellers": [seller.to_dict() for seller in sellers.all_sellers(get_settings())]})


@app.post("/sellers")
def post_seller() -> Response[Any]:
    body = _body()
    recorded = onboarding.add_self_authorized(
        get_settings(), body.get("sellingPartnerId"), body.get("refreshToken"), now=datetime.now(UTC)
    )
    return _json(201 if recorded.first_time else 200, recorded.seller.to_dict())


@app.delete("/sellers/<sellingPartnerId>")
def delete_seller(sellingPartnerId: str) -> Response[Any]:  # noqa: N803  (the path's own name)
    if not onboarding.remove(get_settings(), sellingPartnerId):
        return _json(404, {"error": "UnknownSeller", "message": f"{sellingPartnerId} is not registered.", "errors": []})
    return Response(204, None, None)


@logger.inject_lambda_context(log_event=False)  # never the event: its body may hold a refresh token
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("source") == "aws.events":  # the daily schedule: sellers' authorizations near their end
        return authorization_age.check(get_settings(), datetime.now(UTC))
    return app.resolve(event, context)
