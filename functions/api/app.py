"""The HTTP API and the seller console (docs/api.md): each route calls one function of buyer_messaging.http_api."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from buyer_messaging import http_api, request_body, resend
from buyer_messaging.campaigns import api as campaigns_api
from buyer_messaging.config import get_settings
from buyer_messaging.errors import BuyerMessagingError
from buyer_messaging.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from buyer_messaging.access import Caller

# No Powertools validation: http_api reads the bodies with the package's own field readers, and the OpenAPI
# document is a file generated at development time (python -m api_contract). Validation would load pydantic and
# Powertools' OpenAPI models at every cold start, about half again the imports of the other functions (bench/).
app = APIGatewayHttpResolver()
CONSOLE = Path(__file__).parent / "console"
OPENAPI = Path(__file__).parent / "openapi.json"
CONSOLE_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def console_connect_sources() -> str:
    """Where the console's page may connect besides its own origin: the user pool's endpoint (sign-in) and the
    staging bucket's own hosts (the presigned POST: regional, and the global name boto3 gives in us-east-1), no
    other AWS host. Without a user pool (the local stack) its S3 is moto on 127.0.0.1."""
    user_pool_id = os.environ.get("CONSOLE_USER_POOL_ID")
    if not user_pool_id:
        return "http://127.0.0.1:*"
    pool_region = user_pool_id.split("_", 1)[0]  # a user pool id is "{region}_{id}"
    region = os.environ.get("AWS_REGION") or pool_region  # Lambda's region, the stack's: the bucket's
    bucket = get_settings().require("staging_bucket")
    return (
        f"https://cognito-idp.{pool_region}.amazonaws.com https://{bucket}.s3.{region}.amazonaws.com "
        f"https://{bucket}.s3.amazonaws.com"
    )


# The console talks to its own origin, signs in with the user pool and uploads straight to S3; nothing else may
# run or load.
def _console_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": f"default-src 'self'; connect-src 'self' {console_connect_sources()}; "
        "img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    text = json.dumps(body, ensure_ascii=False)
    if not request_body.is_unicode_text(text):
        # A lone surrogate that got into a record (a request document's "\ud800") would make the answer unsendable
        # (Lambda encodes it as UTF-8): written as JSON's escape instead, the answer is UTF-8 whatever it holds.
        text = json.dumps(body)
    return Response(status, content_types.APPLICATION_JSON, text, headers=headers)


@app.exception_handler(BuyerMessagingError)
def _named_error(error: BuyerMessagingError) -> Response[Any]:
    status, body = http_api.error_response(error)
    log = logger.warning if status < 500 else logger.error
    log("Request refused", extra={"status": status, "error": body["error"], "cause": body["message"]})
    headers = {"Retry-After": str(http_api.RETRY_AFTER_SECONDS)} if status == http_api.TRANSIENT_STATUS else None
    return _json(status, body, headers)


def _caller() -> Caller:
    """Who is asking (access.py): the IAM API's operator, a console user and their sellers, or the local caller.
    Imported here: the seller registry's adapters load with the first route that needs them, not at a cold start
    that serves a console file (tests/unit/test_cold_start_imports.py)."""
    from buyer_messaging import access

    context = app.current_event.raw_event.get("requestContext") or {}
    return access.from_authorizer(context.get("authorizer"), get_settings())


def _body() -> str | None:
    """The request's body as text, whatever encoding API Gateway chose for it (the body reader's checks)."""
    event = app.current_event
    return request_body.request_text(
        event.body, base64_encoded=event.is_base64_encoded, content_type=event.headers.get("content-type")
    )


@app.get("/orders/<amazonOrderId>/message-types")
def get_message_types(amazonOrderId: str) -> Response[Any]:  # noqa: N803  (the path's own name)
    caller = _caller()
    marketplace_id = http_api.read_marketplace_id(app.current_event.get_query_string_value("marketplaceId"))
    seller = http_api.read_seller(app.current_event.get_query_string_value("sellingPartnerId"))
    return _json(200, http_api.message_types(amazonOrderId, marketplace_id, caller.seller(get_settings(), seller)))


@app.post("/attachments")
def post_attachment() -> Response[Any]:
    caller = _caller()
    staging = http_api.read_stage_attachment(_body())
    seller = caller.seller(get_settings(), staging.selling_partner_id)
    return _json(201, http_api.stage_attachment(staging.file_name, staging.content_type, staging.size, seller))


@app.post("/orders/<amazonOrderId>/messages")
def post_message(amazonOrderId: str) -> Response[Any]:  # noqa: N803
    caller = _caller()
    body = http_api.read_send_message(_body())
    idempotency_key = http_api.read_idempotency_key(
        app.current_event.headers.get(http_api.IDEMPOTENCY_KEY_HEADER.lower())
    )
    accepted = http_api.submit(amazonOrderId, body, caller=caller, idempotency_key=idempotency_key).to_dict()
    return _json(202, accepted, {"Location": accepted["statusUrl"]})


@app.get("/messages/<requestId>")
def get_message(requestId: str) -> Response[Any]:  # noqa: N803
    return _json(200, http_api.request_status(requestId, _caller()))


@app.get("/orders/<amazonOrderId>/messages")
def get_order_messages(amazonOrderId: str) -> Response[Any]:  # noqa: N803
    caller = _caller()
    seller = http_api.read_seller(app.current_event.get_query_string_value("sellingPartnerId"))
    return _json(200, http_api.order_history(amazonOrderId, seller, caller))


@app.get("/sellers")
def get_sellers() -> Response[Any]:
    from buyer_messaging import access

    return _json(200, access.sellers_view(_caller(), get_settings(), datetime.now(UTC)))


@app.post("/campaigns")
def post_campaign() -> Response[Any]:
    caller = _caller()
    post = campaigns_api.read_campaign_post(_body())
    if post.dry_run:
        return _json(200, campaigns_api.preview(post, caller))
    accepted = campaigns_api.submit(post, caller)
    return _json(202, accepted, {"Location": accepted["statusUrl"]})


@app.get("/campaigns")
def get_campaigns() -> Response[Any]:
    return _json(200, campaigns_api.recent(_caller()))


@app.get("/campaigns/<campaignId>")
def get_campaign(campaignId: str) -> Response[Any]:  # noqa: N803
    return _json(200, campaigns_api.campaign(campaignId, _caller()))


@app.get("/campaigns/<campaignId>/report")
def get_campaign_report(campaignId: str) -> Response[Any]:  # noqa: N803
    return _csv(*campaigns_api.report(campaignId, _caller()))


@app.get("/campaigns/<campaignId>/failed-rows")
def get_campaign_failed_rows(campaignId: str) -> Response[Any]:  # noqa: N803
    return _csv(*campaigns_api.failed_rows(campaignId, _caller()))


@app.post("/campaigns/<campaignId>/runs")
def post_campaign_run(campaignId: str) -> Response[Any]:  # noqa: N803
    started = campaigns_api.start_again(campaignId, _caller())
    return _json(202, started, {"Location": started["statusUrl"]})


@app.post("/resends")
def post_resend() -> Response[Any]:
    caller = _caller()
    post = resend.read_post(_body())
    return _json(200 if post.dry_run else 202, resend.run(post.selection, dry_run=post.dry_run, caller=caller))


def _csv(file_name: str, data: bytes) -> Response[Any]:
    # The file's name is the campaign's (A-Z, a-z, 0-9, '.', '_', '-'): nothing to quote in the header.
    headers = {"Content-Disposition": f'attachment; filename="{file_name}"', "Cache-Control": "no-store"}
    return Response(200, "text/csv; charset=utf-8", data.decode("utf-8"), headers=headers)


@app.get("/openapi.json")
def get_openapi() -> Response[Any]:
    # The file names no region: this deployment's marketplaces are added here (a millisecond; a rare route).
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return _json(200, http_api.regional_openapi(document, get_settings().spapi_region))


@app.get("/")
def get_console() -> Response[Any]:
    return _static("index.html")


@app.get("/console/<name>")
def get_console_file(name: str) -> Response[Any]:
    if name == "config.json":
        # The catalog and the marketplaces cost about 5 ms of a cold start (-X importtime): only for this file.
        from buyer_messaging import console

        return _json(200, console.config(os.environ), {"Cache-Control": "no-cache"})
    return _static(name)


def _static(name: str) -> Response[Any]:
    path = CONSOLE / name
    # One segment, a known type, a file of the console folder: nothing else of the package is served.
    if path.parent != CONSOLE or path.suffix not in CONSOLE_TYPES or not path.is_file():
        return _json(404, {"error": "NotFound", "message": f"No console file {name!r}.", "errors": []})
    return Response(200, CONSOLE_TYPES[path.suffix], path.read_text(encoding="utf-8"), headers=_console_headers())


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
