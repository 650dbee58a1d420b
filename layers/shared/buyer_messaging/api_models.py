"""The HTTP API's request and response models: the OpenAPI document is generated from these (pydantic).

Field names are the JSON names (camelCase), as in docs/api.md. Request models check only the shape; the
rules (order id, marketplace, text and attachment limits) are the package's, shared with the state machine.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachmentIn(_Strict):
    key: str = Field(description="The key POST /attachments returned.")
    fileName: str | None = Field(default=None, description="The name the buyer sees; default: the key's last part.")


class SendMessageIn(_Strict):
    marketplaceId: str = Field(examples=["ATVPDKIKX0DER"])
    messageType: str = Field(description="Path segment or operation name, e.g. invoice or sendInvoice.")
    text: str | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)
    coverageStartDate: str | None = Field(default=None, description="warranty only, ISO 8601 with a time zone")
    coverageEndDate: str | None = Field(default=None, description="warranty only, ISO 8601 with a time zone")


class StageAttachmentIn(_Strict):
    fileName: str
    contentType: str = Field(examples=["application/pdf"])
    size: int = Field(description="Bytes; S3 refuses the upload unless the file has exactly this size.")


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
    history: list[Transition] = Field(default_factory=list)
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None
    cause: str | None = None


class OrderHistory(BaseModel):
    amazonOrderId: str
    messages: list[RequestStatus]
