"""The campaign routes of the HTTP API (docs/api.md, "Campaigns"): their request and response models and their
operations, beside api_models' message routes. Every limit is read from the constant the code checks."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from api_contract import contract_rules as rules
from api_contract.contract_rules import JsonDict
from api_contract.operations import CSV, Link, Operation, Parameter
from buyer_messaging.campaigns import api as campaigns_api
from buyer_messaging.campaigns.keys import FORMATS, NAME_PATTERN, REPORT_SUFFIX
from buyer_messaging.fields import CAMPAIGN_ID_PATTERN

# manifest.manifest_name's rule: the name's characters, and no name that would make the manifest a report's key.
CAMPAIGN_NAME: JsonDict = {
    "type": "string",
    "pattern": rf"^(?!.*{REPORT_SUFFIX.replace('.', '[.]')}$){NAME_PATTERN.pattern[1:]}",
}


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        description=(
            "The manifest's name: it is staged as campaigns/{name}.{format}, or sellers/{sellingPartnerId}/campaigns/"
            "{name}.{format} when the body names its seller."
        ),
        json_schema_extra=CAMPAIGN_NAME,
    )
    format: str = Field(json_schema_extra={"enum": list(FORMATS)})
    manifest: str = Field(
        description=(
            f"The manifest file's text (README, 'Campaigns'), at most {campaigns_api.MANIFEST_MAX_BYTES:,} bytes as "
            "UTF-8; larger manifests are staged in S3 directly."
        )
    )
    sellingPartnerId: str | None = Field(
        default=None,
        description=(
            "The seller (selling partner id) the campaign is for: one of this deployment's sellers. Optional when "
            "the deployment serves one seller; required (SellerRequired) when it serves several. Every row is sent "
            "for it; a row may name sellingPartnerId only equal to it (else the row is invalid: SellerMismatch)."
        ),
        json_schema_extra=rules.SELLING_PARTNER_ID,
    )
    dryRun: bool = Field(default=False, description="Only check: every row's verdict; nothing stored or sent.")
    replace: bool = Field(
        default=False,
        description="Stage it even over another manifest of the name (a new campaign, that messages its buyers again).",
    )


class PreviewItem(BaseModel):
    row: int
    status: str = Field(json_schema_extra={"enum": ["ready", "invalid"]})
    amazonOrderId: str | None
    messageType: str | None
    error: str | None
    cause: str | None


class ManifestChecked(BaseModel):
    """What the check of a manifest found: its rows, those ready to send and those invalid, by error."""

    name: str
    format: str
    sellingPartnerId: str | None = Field(default=None, description="The campaign's seller (absent: none named).")
    rows: int
    ready: int
    invalid: int
    invalidBy: dict[str, int]


class CampaignPreview(ManifestChecked):
    items: list[PreviewItem]


class CampaignAccepted(ManifestChecked):
    campaignId: str
    run: int
    repeat: bool = Field(description="True when this manifest was already staged with this content (no new campaign).")
    statusUrl: str


class CampaignStatus(BaseModel):
    """The campaign record (README, 'Campaigns'); more fields may appear as the campaign moves on."""

    model_config = ConfigDict(extra="allow")

    campaignId: str
    sellingPartnerId: str | None = Field(default=None, description="Whose the campaign is (absent: no seller named).")
    name: str
    format: str
    manifestKey: str
    run: int
    status: str = Field(json_schema_extra={"enum": ["checking", "running", "finished", "failed"]})
    done: bool
    rows: int
    invalid: int
    waiting: int
    sent: int
    failed: int
    unknown: int
    invalidBy: dict[str, int] = Field(default_factory=dict)
    failedBy: dict[str, int] = Field(default_factory=dict)
    startedAt: str
    finishedAt: str | None = None
    statusUrl: str
    reportUrl: str | None
    failedRowsUrl: str | None


class CampaignList(BaseModel):
    campaigns: list[CampaignStatus]


class RunStarted(BaseModel):
    campaignId: str
    run: int
    repeat: bool = Field(description="True when this run had been started already (nothing new started).")
    statusUrl: str


class CsvFile(RootModel[str]):
    """A CSV file (RFC 4180, UTF-8), sent as an attachment."""


def campaign_id_parameter() -> dict[str, Any]:
    return {"type": "string", "pattern": CAMPAIGN_ID_PATTERN.pattern}


CAMPAIGN_ID = Parameter(
    "campaignId", "path", "The campaignId POST /campaigns gave (or the S3 upload's).", schema=campaign_id_parameter
)
CAMPAIGN = Link(
    "Campaign", "getCampaignsCampaignId", "The campaign's record.", (("campaignId", "$response.body#/campaignId"),)
)
ATTACHMENT = (("Content-Disposition", 'attachment; filename="{name}...csv"'),)


def _csv_download(path: str, summary: str) -> Operation:
    """A campaign's CSV file, sent as an attachment."""
    return Operation(
        "get",
        path,
        summary,
        200,
        CsvFile,
        (400, 403, 404, 409, 503),
        parameters=(CAMPAIGN_ID,),
        response_headers=ATTACHMENT,
        media_type=CSV,
    )


CAMPAIGN_OPERATIONS = (
    Operation(
        "post",
        "/campaigns",
        "Check a manifest (dryRun: every row's verdict), or stage it under campaigns/ and start its campaign.",
        202,
        CampaignAccepted,
        (400, 403, 409, 413, 415, 503),
        request=CampaignIn,
        response_headers=(("Location", "The campaign's status URL."),),
        links=(CAMPAIGN,),
        other_successes=((200, CampaignPreview, "dryRun: every row's verdict; nothing stored, nothing sent."),),
    ),
    Operation(
        "get", "/campaigns", "The latest campaigns, newest run first (at most 50).", 200, CampaignList, (403, 503)
    ),
    Operation(
        "get",
        "/campaigns/{campaignId}",
        "The campaign's record: its run, status and counts.",
        200,
        CampaignStatus,
        (400, 403, 404, 503),
        parameters=(CAMPAIGN_ID,),
    ),
    _csv_download(
        "/campaigns/{campaignId}/report",
        "The report of the latest finished run: one line per manifest row (row, order, type, request id, status, "
        "error, cause).",
    ),
    _csv_download(
        "/campaigns/{campaignId}/failed-rows",
        "A manifest of the rows the report says were not sent (failed or invalid), as written, to fix and stage again.",
    ),
    Operation(
        "post",
        "/campaigns/{campaignId}/runs",
        "Start the campaign again: the next run sends only the rows that were not sent.",
        202,
        RunStarted,
        (400, 403, 404, 409, 503),
        parameters=(CAMPAIGN_ID,),
        response_headers=(("Location", "The campaign's status URL."),),
        links=(CAMPAIGN,),
    ),
)
