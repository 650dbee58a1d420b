"""The re-send route of the HTTP API (docs/resend.md, docs/api.md "Re-send after an outage"): its request and response
models and its operation, beside api_models' message routes. Every limit is read from the constant the code checks."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api_contract.contract_rules import DATE_TIME, ORDER_ID, JsonDict
from api_contract.operations import Operation
from buyer_messaging import resend
from buyer_messaging.fields import CAMPAIGN_ID_PATTERN

TIME = "An ISO 8601 time with its zone, like 2026-12-06T14:00:00Z."


# An error name: the package's (errors.py), or Step Functions' own (States.Timeout, ...).
ERROR_NAME: JsonDict = {
    "items": {
        "anyOf": [
            {"enum": sorted(resend.KNOWN_ERRORS)},
            {"type": "string", "pattern": resend.AWS_ERROR_PATTERN.pattern},
        ]
    }
}


class ResendIn(BaseModel):
    """A selection names a range (since), an order, request ids, or a campaign alone (its failed rows are sent by its
    next run, as POST /campaigns/{campaignId}/runs does)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # One of them given, and not null (null names nothing: the API reads it as absent).
            "anyOf": [
                {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                for name in ("since", "amazonOrderId", "requests", "campaign")
            ],
            "dependentRequired": {"until": ["since"]},
            # A campaign is named alone: no other filter (null is absent).
            "dependentSchemas": {
                "campaign": {
                    "anyOf": [
                        {"properties": {"campaign": {"type": "null"}}},
                        {
                            "properties": {name: {"type": "null"} for name in ("since", "until", "amazonOrderId")},
                            "not": {"anyOf": [{"required": ["errors"]}, {"required": ["requests"]}]},
                        },
                    ]
                }
            },
        },
    )

    since: str | None = Field(
        default=None, description=f"Requests that failed from this time on. {TIME}", json_schema_extra=DATE_TIME
    )
    until: str | None = Field(
        default=None,
        description=f"... up to (not including) this time; default now; after since, and at most "
        f"{resend.MAX_RANGE_DAYS} days after it. {TIME}",
        json_schema_extra=DATE_TIME,
    )
    errors: list[str] = Field(
        default_factory=list,
        min_length=1,
        max_length=resend.MAX_LIMIT,
        description="Only requests that failed with one of these error names (docs/api.md). Bad input is re-sent "
        f"only when named, and only {', '.join(sorted(resend.FIXABLE_BAD_INPUT))}.",
        json_schema_extra=ERROR_NAME,
    )
    amazonOrderId: str | None = Field(default=None, json_schema_extra=ORDER_ID)
    requests: list[str] = Field(
        default_factory=list,
        min_length=1,
        max_length=resend.MAX_LIMIT,
        description="Only these request ids.",
        json_schema_extra={"items": {"type": "string", "pattern": resend.REQUEST_ID_PATTERN.pattern}},
    )
    limit: int | None = Field(
        default=resend.DEFAULT_LIMIT,
        ge=1,
        le=resend.MAX_LIMIT,
        description="The most requests this call re-sends; a plan with more is refused (400 ResendLimitExceeded). "
        f"Null or left out: {resend.DEFAULT_LIMIT}.",
    )
    campaign: str | None = Field(
        default=None,
        description="A campaign id, alone: the rows its latest report says failed are sent again by its next run "
        "(POST /campaigns/{campaignId}/runs); limit does not apply (the campaign paces its rows).",
        json_schema_extra={"pattern": CAMPAIGN_ID_PATTERN.pattern},
    )
    dryRun: bool = Field(default=False, description="Only list the plan: what would be re-sent or skipped, and why.")


class ResendEntry(BaseModel):
    requestId: str
    amazonOrderId: str | None
    messageType: str | None
    error: str | None
    failedAt: str | None = Field(description="When the request failed (UTC, ISO 8601); null for one not found.")
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
        "Re-send the failed requests a selection names, each once (docs/resend.md); dryRun: only the plan. A campaign "
        "that does not exist or has no report yet is 404, one still running 409.",
        202,
        ResendPlan,
        (400, 403, 404, 409, 415, 503),
        request=ResendIn,
        other_successes=((200, ResendPlan, "dryRun: the plan; nothing started."),),
    ),
)
