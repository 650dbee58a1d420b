"""The re-send route of the HTTP API (docs/resend.md, docs/api.md "Re-send after an outage"): its request and response
models and its operation, beside api_models' message routes. Every limit is read from the constant the code checks."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api_contract.operations import Operation
from buyer_messaging import resend
from buyer_messaging.fields import AMAZON_ORDER_ID_PATTERN

TIME = "An ISO 8601 time with its zone, like 2026-12-06T14:00:00Z."


class ResendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(default=None, description=f"Requests that failed from this time on. {TIME}")
    until: str | None = Field(
        default=None,
        description=f"... up to (not including) this time; default now; at most {resend.MAX_RANGE_DAYS} days after "
        f"since. {TIME}",
    )
    errors: list[str] = Field(
        default_factory=list,
        max_length=resend.MAX_LIMIT,
        description="Only requests that failed with one of these error names (docs/api.md). Bad input is re-sent "
        f"only when named, and only {', '.join(sorted(resend.FIXABLE_BAD_INPUT))}.",
    )
    amazonOrderId: str | None = Field(default=None, json_schema_extra={"pattern": AMAZON_ORDER_ID_PATTERN.pattern})
    campaign: str | None = Field(
        default=None, description="Refused: a campaign's rows are re-sent with POST /campaigns/{campaignId}/runs."
    )
    requests: list[str] = Field(
        default_factory=list,
        max_length=resend.MAX_LIMIT,
        description="Only these request ids.",
        json_schema_extra={"items": {"type": "string", "pattern": resend.REQUEST_ID_PATTERN.pattern}},
    )
    limit: int = Field(
        default=resend.DEFAULT_LIMIT,
        ge=1,
        le=resend.MAX_LIMIT,
        description="The most requests this call re-sends; a plan with more is refused (400 ResendLimitExceeded).",
    )
    dryRun: bool = Field(default=False, description="Only list the plan: what would be re-sent or skipped, and why.")


class ResendEntry(BaseModel):
    requestId: str
    amazonOrderId: str | None
    messageType: str | None
    error: str | None
    decision: str = Field(json_schema_extra={"enum": ["resend", "skip"]})
    reason: str | None = Field(json_schema_extra={"enum": [*resend.REASONS, None]})
    detail: str
    newRequestId: str | None


class ResendPlan(BaseModel):
    dryRun: bool
    limit: int
    selected: int
    resend: int
    started: int
    failedToStart: int
    requests: list[ResendEntry]


RESEND_OPERATIONS = (
    Operation(
        "post",
        "/resends",
        "Re-send the failed requests a selection names, each once (docs/resend.md); dryRun: only the plan.",
        202,
        ResendPlan,
        (400, 415, 503),
        request=ResendIn,
        other_successes=((200, ResendPlan, "dryRun: the plan; nothing started."),),
    ),
)
