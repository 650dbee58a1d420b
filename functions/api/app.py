"""The HTTP API and the seller console (docs/api.md): each route calls one function of buyer_messaging.http_api."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from buyer_messaging import http_api
from buyer_messaging.api_models import (
    Accepted,
    ErrorOut,
    MessageTypesOut,
    OrderHistory,
    RequestStatus,
    SendMessageIn,
    StageAttachmentIn,
    StagedUpload,
)
from buyer_messaging.errors import BuyerMessagingError
from buyer_messaging.observability import logger, metrics, tracer

app = APIGatewayHttpResolver(enable_validation=True)
CONSOLE = Path(__file__).parent / "console"
CONSOLE_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


# The console talks to its own origin and uploads straight to S3; nothing else may run or load. Without a
# user pool (the local stack) its S3 is moto on 127.0.0.1.
def _console_headers() -> dict[str, str]:
    uploads = "https://*.amazonaws.com" + ("" if os.environ.get("CONSOLE_USER_POOL_ID") else " http://127.0.0.1:*")
    return {
        "Content-Security-Policy": f"default-src 'self'; connect-src 'self' {uploads}; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


ERRORS = {
    400: {"description": "Invalid input: field-level errors", "content": {"application/json": {"model": ErrorOut}}},
    503: {"description": "Transient failure; retry after Retry-After seconds"},
}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body, ensure_ascii=False), headers=headers)


@app.exception_handler(BuyerMessagingError)
def _named_error(error: BuyerMessagingError) -> Response[Any]:
    status, body = http_api.error_response(error)
    log = logger.warning if status < 500 else logger.error
    log("Request refused", extra={"status": status, "error": body["error"], "cause": body["message"]})
    headers = {"Retry-After": str(http_api.RETRY_AFTER_SECONDS)} if status == http_api.TRANSIENT_STATUS else None
    return _json(status, body, headers)


@app.exception_handler(RequestValidationError)
def _invalid_shape(error: RequestValidationError) -> Response[Any]:
    problems = [
        {"field": _field(problem.get("loc", ())), "message": str(problem.get("msg"))} for problem in error.errors()
    ]
    details = "; ".join(f"{p['field']} {p['message']}" for p in problems)
    return _json(400, {"error": "InvalidRequest", "message": f"The request is invalid: {details}.", "errors": problems})


def _field(location: tuple[Any, ...] | list[Any]) -> str:
    """Pydantic's location ("body", "attachments", 0, "key") as the field path the docs use: attachments[0].key."""
    parts = list(location)
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    if not parts or isinstance(parts[0], int):
        return "body"  # the body is not JSON (the location is a character offset) or not an object
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _caller() -> str:
    """Who is asking (scopes idempotency keys): the IAM principal or the console user, else the local caller."""
    authorizer = app.current_event.request_context.authorizer
    if authorizer is not None:
        iam = authorizer.iam
        if iam is not None and (iam.user_arn or iam.caller_id):
            return str(iam.user_arn or iam.caller_id)
        claims = authorizer.jwt_claim or {}
        if claims.get("sub"):
            return "cognito:" + str(claims["sub"])
    return "local"


@app.get("/orders/<amazonOrderId>/message-types", responses=ERRORS)
def get_message_types(amazonOrderId: str, marketplaceId: Annotated[str, Query()]) -> MessageTypesOut:  # noqa: N803
    return MessageTypesOut.model_validate(http_api.message_types(amazonOrderId, marketplaceId))


@app.post("/attachments", responses=ERRORS)
def post_attachment(body: StageAttachmentIn) -> Response[StagedUpload]:
    staged = http_api.stage_attachment(body.fileName, body.contentType, body.size)
    return Response(201, content_types.APPLICATION_JSON, StagedUpload.model_validate(staged))


@app.post("/orders/<amazonOrderId>/messages", responses=ERRORS)
def post_message(
    amazonOrderId: str,  # noqa: N803
    body: SendMessageIn,
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key", min_length=1, max_length=64)] = None,
) -> Response[Accepted]:
    submitted = http_api.submit(
        amazonOrderId, body.model_dump(exclude_none=True), caller=_caller(), idempotency_key=idempotency_key
    )
    accepted = Accepted.model_validate(submitted.to_dict())
    return Response(202, content_types.APPLICATION_JSON, accepted, headers={"Location": accepted.statusUrl})


@app.get("/messages/<requestId>", responses=ERRORS)
def get_message(requestId: str) -> RequestStatus:  # noqa: N803
    return RequestStatus.model_validate(http_api.request_status(requestId))


@app.get("/orders/<amazonOrderId>/messages", responses=ERRORS)
def get_order_messages(amazonOrderId: str) -> OrderHistory:  # noqa: N803
    return OrderHistory.model_validate(http_api.order_history(amazonOrderId))


@app.get("/openapi.json", include_in_schema=False)
def get_openapi() -> Response[Any]:
    return _json(200, json.loads(openapi_document()))


def openapi_document() -> str:
    """The OpenAPI 3.1 document of the routes above, without Powertools' 422 (we answer 400 instead)."""
    document = json.loads(
        app.get_openapi_json_schema(
            title="Buyer Messaging Workflow API",
            version="1.0.0",
            description="Send messages and files to the buyers of Amazon orders (see docs/api.md).",
        )
    )
    for path in document.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    return json.dumps(document, ensure_ascii=False)


@app.get("/", include_in_schema=False)
def get_console() -> Response[Any]:
    return _static("index.html")


@app.get("/console/<name>", include_in_schema=False)
def get_console_file(name: str) -> Response[Any]:
    if name == "config.json":
        return _json(200, _console_config(), {"Cache-Control": "no-cache"})
    return _static(name)


def _static(name: str) -> Response[Any]:
    path = CONSOLE / name
    # One segment, a known type, a file of the console folder: nothing else of the package is served.
    if path.parent != CONSOLE or path.suffix not in CONSOLE_TYPES or not path.is_file():
        return _json(404, {"error": "NotFound", "message": f"No console file {name!r}.", "errors": []})
    return Response(200, CONSOLE_TYPES[path.suffix], path.read_text(encoding="utf-8"), headers=_console_headers())


def _console_config() -> dict[str, Any]:
    """How the page signs in: the Cognito user pool deployed with the console, or no sign-in locally."""
    pool, client = os.environ.get("CONSOLE_USER_POOL_ID", ""), os.environ.get("CONSOLE_CLIENT_ID", "")
    if not pool or not client:
        return {"auth": None}
    return {"auth": {"region": os.environ.get("AWS_REGION", ""), "userPoolId": pool, "clientId": client}}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
