"""The HTTP API's documented contract: its request and response models (pydantic) and its operations, from
which ``openapi_document`` makes the OpenAPI document. ``python -m api_contract`` writes it to
functions/api/openapi.json, the file ``GET /openapi.json`` serves: pydantic is a development dependency, not
in the Lambda layer, and a test holds the file to a fresh generation.

The tests hold the models and the API together: the request models' fields are the fields http_api reads,
every route of the API function is an operation here, and real answers validate against the response models.
Field names are the JSON names (camelCase), as in docs/api.md.

Every limit the document states (patterns, enums, lengths, sizes, counts) is read from the constant the code
checks (api_contract.contract_rules): a client generated from the document sends nothing the API refuses
for its form; what the document cannot know (whether the order allows a type now, whether a staged file is
there) is the state the API answers about. The marketplaces of the deployment's region are added when the
document is served (http_api.regional_openapi).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from api_contract import contract_rules as rules
from api_contract.campaign_models import CAMPAIGN_OPERATIONS
from api_contract.operations import JSON, REF_TEMPLATE, Link, Operation, Parameter
from api_contract.resend_models import RESEND_OPERATIONS
from buyer_messaging import catalog
from buyer_messaging.http_api import STAGED_KEY_FORM


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachmentIn(_Strict):
    key: str = Field(
        description=f"The key POST /attachments returned ({STAGED_KEY_FORM}); no other object can be sent.",
        json_schema_extra=rules.STAGED_KEY,
    )
    fileName: str | None = Field(
        default=None,
        description="The name the buyer sees; default: the key's last part.",
        json_schema_extra=rules.FILE_NAME,
    )


# Why a field and a query parameter, not a path segment: one document shape for S3, the API, the console and
# campaigns (sellingPartnerId is a field of the request document, as marketplaceId is), no second set of routes,
# and optional in a deployment of one seller. Routes by id need none: the record says whose it is.
SELLER_TEXT = (
    "The seller (selling partner id) the request is for: one of this deployment's sellers. Optional when the "
    "deployment serves one seller; required (SellerRequired) when it serves several. On the console API, one of "
    "the signed-in user's sellers (else SellerNotPermitted), optional when they act for one."
)
COVERAGE_DATE = "warranty only: a date-time with an offset (2026-01-31T00:00:00Z), sent to Amazon as RFC 3339 in UTC"


class SendMessageIn(_Strict):
    """Which fields a message takes depends on its type (see each type in allOf)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=rules.message_type_rules)

    marketplaceId: str = Field(
        description="The order's marketplace; this deployment's SP-API region serves these.",
        json_schema_extra=rules.marketplace_id,
    )
    messageType: str = Field(
        description="Path segment or operation name, e.g. invoice or sendInvoice.",
        json_schema_extra=rules.MESSAGE_TYPE,
    )
    text: str | None = Field(default=None, json_schema_extra=rules.TEXT)
    attachments: list[AttachmentIn] = Field(
        default_factory=list, json_schema_extra={"maxItems": catalog.ATTACHMENTS_MAX_COUNT}
    )
    coverageStartDate: str | None = Field(default=None, description=COVERAGE_DATE, json_schema_extra=rules.DATE_TIME)
    coverageEndDate: str | None = Field(default=None, description=COVERAGE_DATE, json_schema_extra=rules.DATE_TIME)
    sellingPartnerId: str | None = Field(
        default=None, description=SELLER_TEXT, json_schema_extra=rules.SELLING_PARTNER_ID
    )


class StageAttachmentIn(_Strict):
    """The content type is the file name's extension's (see anyOf)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=rules.content_type_rules)

    fileName: str = Field(examples=["Invoice 1.pdf"], json_schema_extra=rules.FILE_NAME)
    contentType: str = Field(examples=["application/pdf"], json_schema_extra=rules.CONTENT_TYPE)
    size: int = Field(
        examples=[123456],
        description="Bytes; S3 refuses the upload unless the file has exactly this size.",
        json_schema_extra=rules.SIZE,
    )
    sellingPartnerId: str | None = Field(
        default=None,
        description=SELLER_TEXT + " The key is then under sellers/{sellingPartnerId}/: only that seller's messages "
        "may send it.",
        json_schema_extra=rules.SELLING_PARTNER_ID,
    )


class Accepted(BaseModel):
    requestId: str
    statusUrl: str
    repeat: bool = Field(description="True when this was a repeat of an earlier request (nothing new started).")


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str = Field(description="The error's name, e.g. InvalidMessageText.")
    message: str
    errors: list[FieldProblem] = Field(default_factory=list)


class StagedUpload(BaseModel):
    key: str
    url: str
    fields: dict[str, str]
    maxBytes: int
    expiresIn: int


class TextLimits(BaseModel):
    required: bool
    minLength: int
    maxLength: int


class AttachmentLimits(BaseModel):
    minCount: int
    maxCount: int
    extensions: list[str]
    contentTypes: list[str]
    maxTotalBytes: int


class MessageTypeOut(BaseModel):
    messageType: str
    operation: str
    title: str
    description: str
    available: bool
    disabledReason: str | None
    text: TextLimits | None
    attachments: AttachmentLimits | None
    coverageDates: bool


class MessageTypesOut(BaseModel):
    amazonOrderId: str
    marketplaceId: str
    buyerLocale: str | None
    messageTypes: list[MessageTypeOut]


class Transition(BaseModel):
    status: str
    at: str


class RequestStatus(BaseModel):
    """The request's status record (see the README); more fields may appear as the request moves on."""

    model_config = ConfigDict(extra="allow")

    requestId: str
    status: str
    done: bool
    sellingPartnerId: str | None = Field(default=None, description="Whose the request is (absent: no seller named).")
    history: list[Transition] = Field(default_factory=list)
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None
    cause: str | None = None


class OrderHistory(BaseModel):
    amazonOrderId: str
    sellingPartnerId: str | None = Field(default=None, description="The seller asked for (the query parameter).")
    messages: list[RequestStatus]


class SellerOut(BaseModel):
    sellingPartnerId: str
    status: str = Field(description="authorized, or needsAuthorization (its messages wait until it authorizes again).")
    kind: str = Field(description="oauth (the website authorization workflow) or self (self-authorized).")
    authorizedAt: str | None = Field(default=None, description="When the seller last authorized the app (UTC).")
    authorizationExpiresAt: str | None = Field(
        default=None, description="When the authorization ends (UTC); none for the legacy seller (SellingPartnerId)."
    )
    daysLeft: int | None = Field(default=None, description="Whole days until then (0 on its last day).")
    needsAuthorizationSince: str | None = None
    needsAuthorizationReason: str | None = None


class SellersOut(BaseModel):
    sellers: list[SellerOut] = Field(description="The caller's sellers (a console user's groups; the operator: all).")


# --- the operations -------------------------------------------------------------------------------------------

ORDER_ID = Parameter(
    "amazonOrderId", "path", "The Amazon order id, like 123-1234567-1234567.", schema=lambda: dict(rules.ORDER_ID)
)
SEND_MESSAGE = "postOrdersAmazonOrderIdMessages"
SELLER = Parameter(
    "sellingPartnerId",
    "query",
    SELLER_TEXT,
    required=False,
    schema=lambda: {"type": "string", **rules.SELLING_PARTNER_ID},
)
ORDER_MESSAGES = Link(
    "OrderMessages",
    "getOrdersAmazonOrderIdMessages",
    "The order's requests.",
    (("amazonOrderId", "$request.path.amazonOrderId"),),
)
ERROR_DESCRIPTIONS = {
    400: "Invalid input: the error's name and the field-level problems.",
    403: (
        "SellerNotPermitted: a console user named a seller not theirs (the same answer whether it exists), or acts "
        "for no seller. Another seller's request or campaign is answered as one that does not exist (404)."
    ),
    404: "No such order (Amazon's answer), no such request or campaign, or the campaign has no report.",
    409: (
        "A conflict: the Idempotency-Key was already used for another message, another manifest of the name is "
        "staged (CampaignExists), or the campaign's run is still going (CampaignRunning)."
    ),
    413: "The manifest has more rows than CAMPAIGN_MAX_ROWS, or more bytes than the API takes: stage it in S3.",
    415: "The body was sent as another Content-Type than application/json (UTF-8).",
    502: "Amazon refused the app's credentials or authorization: the seller has to act.",
    503: "A transient failure; try again after Retry-After seconds.",
}
OPERATIONS = (
    Operation(
        "get",
        "/orders/{amazonOrderId}/message-types",
        "The message types Amazon allows for the order now, with their limits, and the others with the reason.",
        200,
        MessageTypesOut,
        (400, 403, 404, 502, 503),
        parameters=(
            ORDER_ID,
            Parameter(
                "marketplaceId",
                "query",
                "The order's marketplace, e.g. ATVPDKIKX0DER; this deployment's SP-API region serves these.",
                schema=rules.marketplace_parameter,
            ),
            SELLER,
        ),
        links=(
            Link(
                "SendMessage",
                SEND_MESSAGE,
                "Send the order a message of the first type listed (available types come first).",
                (("amazonOrderId", "$response.body#/amazonOrderId"),),
                {
                    "marketplaceId": "$response.body#/marketplaceId",
                    "messageType": "$response.body#/messageTypes/0/messageType",
                },
            ),
            ORDER_MESSAGES,
        ),
    ),
    Operation(
        "post",
        "/attachments",
        "Stage one file: a presigned S3 POST under attachments/ that S3 holds to the size and content type.",
        201,
        StagedUpload,
        (400, 403, 415, 503),
        request=StageAttachmentIn,
        links=(
            Link(
                "SendStagedFile",
                SEND_MESSAGE,
                "Send the staged file (once uploaded) with a message.",
                request_body={"attachments": [{"key": "$response.body#/key", "fileName": "$request.body#/fileName"}]},
            ),
        ),
    ),
    Operation(
        "post",
        "/orders/{amazonOrderId}/messages",
        "Check the message against the order and start the workflow; a repeat answers with the first request.",
        202,
        Accepted,
        (400, 403, 404, 409, 415, 502, 503),
        parameters=(
            ORDER_ID,
            Parameter(
                "Idempotency-Key",
                "header",
                "Makes a repeat a no-op that answers with the first request; default: the message's content.",
                required=False,
                schema=lambda: dict(rules.IDEMPOTENCY_KEY),
            ),
        ),
        request=SendMessageIn,
        response_headers=(("Location", "The request's status URL."),),
        links=(
            Link(
                "RequestStatus",
                "getMessagesRequestId",
                "The request's status record.",
                (("requestId", "$response.body#/requestId"),),
            ),
            ORDER_MESSAGES,
        ),
    ),
    Operation(
        "get",
        "/messages/{requestId}",
        "The request's status record and its timeline.",
        200,
        RequestStatus,
        (403, 404, 503),
        parameters=(Parameter("requestId", "path", "The requestId that POST /orders/{amazonOrderId}/messages gave."),),
    ),
    Operation(
        "get",
        "/orders/{amazonOrderId}/messages",
        "The order's requests, newest first (at most 50).",
        200,
        OrderHistory,
        (400, 403, 503),
        parameters=(ORDER_ID, SELLER),
    ),
    Operation(
        "get",
        "/sellers",
        "The sellers the caller acts for, with their status and when their authorization ends.",
        200,
        SellersOut,
        (403, 503),
    ),
    *CAMPAIGN_OPERATIONS,
    *RESEND_OPERATIONS,
)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API's operations."""
    inputs: set[type[BaseModel]] = {operation.request for operation in OPERATIONS if operation.request}
    models: set[type[BaseModel]] = inputs | {operation.response for operation in OPERATIONS}
    models |= {model for operation in OPERATIONS for _, model, _ in operation.other_successes}
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (model, "validation" if model in inputs else "serialization") for model in models | {ErrorOut}
    ]
    refs, definitions = models_json_schema(sorted(pairs, key=lambda pair: pair[0].__name__), ref_template=REF_TEMPLATE)
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        described: dict[str, Any] = {
            "summary": operation.summary,
            "operationId": _operation_id(operation),
            "responses": {
                str(operation.status): {
                    "description": operation.summary,
                    "content": {operation.media_type: {"schema": refs[(operation.response, "serialization")]}},
                    **(
                        {
                            "headers": {
                                name: {"description": text, "schema": {"type": "string"}}
                                for name, text in operation.response_headers
                            }
                        }
                        if operation.response_headers
                        else {}
                    ),
                    **({"links": {link.name: link.to_dict() for link in operation.links}} if operation.links else {}),
                },
                **{
                    str(code): {
                        "description": description,
                        "content": {JSON: {"schema": refs[(model, "serialization")]}},
                    }
                    for code, model, description in operation.other_successes
                },
                **{str(code): _error_response(code, refs[(ErrorOut, "serialization")]) for code in operation.errors},
            },
        }
        if operation.parameters:
            described["parameters"] = [
                {
                    "name": parameter.name,
                    "in": parameter.location,
                    "required": parameter.required,
                    "description": parameter.description,
                    "schema": parameter.schema(),
                }
                for parameter in operation.parameters
            ]
        if operation.request is not None:
            described["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(operation.request, "validation")]}},
            }
        paths.setdefault(operation.path, {})[operation.method] = described
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Buyer Messaging Workflow API",
            "version": "1.0.0",
            "description": "Send messages and files to the buyers of Amazon orders (see docs/api.md).",
        },
        "paths": paths,
        "components": {"schemas": definitions.get("$defs", {})},
    }


def _operation_id(operation: Operation) -> str:
    words = [part.strip("{}") for part in operation.path.split("/") if part]
    return operation.method + "".join(word[:1].upper() + word[1:] for word in words).replace("-", "")


def _error_response(code: int, schema: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERROR_DESCRIPTIONS[code],
        "content": {"application/json": {"schema": schema}},
    }
    if code == 503:
        response["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
    return response
