"""What the HTTP API does for campaigns (docs/api.md, "Campaigns"): the campaign routes of functions/api call these.

Like buyer_messaging.http_api, nothing here knows HTTP: errors are the package's named errors (the API function
maps them to status codes), bodies are read with the package's own field readers, and each function imports the
adapters it uses when it runs (the campaign routes share the API function with the console's pages and status reads,
which load no S3 or Step Functions code: bench/, cold start).

A campaign posted here is the same campaign an upload to ``campaigns/{name}.{format}`` (or, for a body that names
its ``sellingPartnerId``, ``sellers/{sellingPartnerId}/campaigns/{name}.{format}``) starts: the API writes that
object, and starts run 1 of its version under the same execution name the S3 trigger uses, so whichever comes
first starts it and the other is a no-op. The campaign's seller is resolved as a message's (sellers.resolve): a
body that names none, in a deployment of several sellers, is SellerRequired before anything is staged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from buyer_messaging.campaigns.keys import FORMATS, manifest_key, manifest_name
from buyer_messaging.config import get_settings
from buyer_messaging.errors import (
    AttachmentNotFound,
    BuyerMessagingError,
    CampaignExists,
    CampaignNotFound,
    CampaignRunning,
    ConfigurationError,
    InvalidRequest,
    ManifestTooLarge,
    ReportNotFound,
)
from buyer_messaging.fields import CAMPAIGN_ID_PATTERN, FieldReader
from buyer_messaging.observability import logger
from buyer_messaging.request_body import read_json_body
from buyer_messaging.seller_scope import owner

if TYPE_CHECKING:
    from buyer_messaging.access import Caller
    from buyer_messaging.campaigns.manifest import Manifest

# A manifest posted to the API travels in the body of one Lambda invocation: API Gateway's HTTP API takes bodies up
# to 10 MB, but Lambda's synchronous payload is 6 MB, JSON-escaped text and the event around it included. Larger
# manifests go to S3 directly (aws s3 cp manifest.csv s3://{bucket}/campaigns/), which has no such limit.
MANIFEST_MAX_BYTES = 5_000_000
CAMPAIGN_FIELDS = ("name", "format", "manifest", "sellingPartnerId", "dryRun", "replace")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class CampaignPost:
    name: str
    fmt: str
    manifest: bytes
    dry_run: bool
    replace: bool
    seller: str | None = None  # the seller the body names (not yet resolved: see campaign_seller)

    @property
    def key(self) -> str:
        return manifest_key(self.name, self.fmt, self.seller)


def read_campaign_post(raw: str | None) -> CampaignPost:
    """The body of POST /campaigns, its shape checked (the manifest itself is read by ``preview``)."""
    reader = FieldReader(read_json_body(raw), "")
    name = reader.required_string("name")
    fmt = reader.required_string("format")
    text = reader.required_string("manifest")
    seller = reader.selling_partner_id()
    flags = {flag: reader.data.get(flag, False) for flag in ("dryRun", "replace")}
    for flag, value in flags.items():
        if not isinstance(value, bool):
            reader.problem(flag, "must be true or false")
    if fmt and fmt not in FORMATS:
        reader.problem("format", f"must be one of: {', '.join(FORMATS)}")
    elif name and fmt:
        try:
            manifest_name(manifest_key(name, fmt))
        except BuyerMessagingError:
            reader.problem("name", "must be 1 to 100 of A-Z, a-z, 0-9, '.', '_' and '-', and not end in '.report'")
    reader.refuse_unknown(CAMPAIGN_FIELDS, "a campaign")
    reader.raise_if_problems("campaign")
    data = text.encode("utf-8")
    if len(data) > MANIFEST_MAX_BYTES:
        folder = manifest_key(name, fmt, seller).rpartition("/")[0] + "/"
        raise ManifestTooLarge(
            f"The manifest has {len(data):,} bytes; the API takes manifests up to {MANIFEST_MAX_BYTES:,} bytes (the "
            f"body of one Lambda invocation). Upload a larger one to the staging bucket under {folder} "
            f"instead (aws s3 cp {name}.{fmt} s3://BUCKET/{folder}).",
            problems=(("manifest", f"has more than {MANIFEST_MAX_BYTES:,} bytes"),),
        )
    return CampaignPost(name, fmt, data, dry_run=bool(flags["dryRun"]), replace=bool(flags["replace"]), seller=seller)


def campaign_seller(post: CampaignPost, caller: Caller | None = None) -> tuple[CampaignPost, str | None]:
    """The campaign's seller: the one the body names, else the deployment's only one (SellerRequired with several,
    UnknownSeller for a seller it does not serve), as for a message; a console user's must be one of theirs
    (access.Caller.seller), and their campaign is staged under its seller's segment even when the body names none."""
    if caller is not None:
        seller = caller.seller(get_settings(), post.seller)
        return (post if caller.is_operator or seller is None else replace(post, seller=seller)), seller
    from buyer_messaging import sellers

    return post, sellers.resolve(get_settings(), post.seller)


def checked_manifest(post: CampaignPost, seller: str | None) -> Manifest:
    """The manifest read and every row checked, as the campaign's PrepareCampaign step will: nothing is sent. (The
    manifest module, and the catalog it reads, load here: the API function's cold start imports no more than its
    message routes need, tests/unit/test_cold_start_imports.py.)"""
    from buyer_messaging import storage
    from buyer_messaging.campaigns import manifest

    settings = get_settings()
    read = manifest.read_manifest(
        post.manifest,
        post.fmt,
        default_bucket=settings.require("staging_bucket"),
        max_rows=settings.campaign_max_rows,
    )
    return manifest.check_rows(
        read, object_facts=storage.staged_object, spapi_region=settings.spapi_region, seller=seller
    )


def preview(post: CampaignPost, caller: Caller | None = None) -> dict[str, Any]:
    """POST /campaigns with dryRun: every row's verdict, nothing stored, nothing sent."""
    post, seller = campaign_seller(post, caller)
    return {"name": post.name, "format": post.fmt, **_seller(seller), **checked_manifest(post, seller).to_preview()}


def _seller(seller: str | None) -> dict[str, str]:
    return {"sellingPartnerId": seller} if seller else {}


def submit(post: CampaignPost, caller: Caller | None = None) -> dict[str, Any]:
    """POST /campaigns: the manifest checked as a dry run would (a file that cannot be read is refused and nothing
    is stored), staged under ``[sellers/{id}/]campaigns/``, and run 1 of its version started under the name the S3
    trigger uses, for the campaign's seller."""
    post, seller = campaign_seller(post, caller)
    checked = checked_manifest(post, seller).to_preview()
    version_id, repeat = stage(post)

    from buyer_messaging import executions
    from buyer_messaging.campaigns.run import CampaignRun

    settings = get_settings()
    run = CampaignRun.first(
        settings.require("staging_bucket"), post.key, version_id, post.name, post.fmt, seller=seller
    )
    started = executions.start_execution(
        settings.require("campaign_state_machine_arn"), run.execution_name, run.to_dict()
    )
    logger.info(
        "Campaign accepted",
        extra={
            "campaignId": run.campaign_id,
            "repeat": repeat,
            "alreadyStarted": started.already_existed,
            **_seller(seller),
        },
    )
    return {
        "campaignId": run.campaign_id,
        **_seller(seller),
        "name": post.name,
        "format": post.fmt,
        "run": run.run,
        "rows": checked["rows"],
        "ready": checked["ready"],
        "invalid": checked["invalid"],
        "invalidBy": checked["invalidBy"],
        "repeat": repeat,
        "statusUrl": status_url(run.campaign_id),
    }


def status_url(campaign_id: str) -> str:
    return f"/campaigns/{campaign_id}"


def stage(post: CampaignPost) -> tuple[str, bool]:
    """``[sellers/{id}/]campaigns/{name}.{format}`` written (the version that starts the campaign) and whether it
    was already there: never over another manifest of the name unless ``replace``; the same content again is a
    repeat, not a second campaign (a retried POST must not message every buyer twice)."""
    from buyer_messaging import storage

    bucket = get_settings().require("staging_bucket")
    if not post.replace:
        for fmt in FORMATS:
            other = manifest_key(post.name, fmt, post.seller)
            if fmt != post.fmt and _exists(bucket, other):
                raise _exists_error(post, other)
        written, version_id = storage.put_if_absent(bucket, post.key, post.manifest, CONTENT_TYPES[post.fmt])
        if written:
            return _version(version_id, post), False
        try:
            info = storage.head_object(bucket, post.key)
        except AttachmentNotFound:  # deleted since: the conditional write is tried once more
            written, version_id = storage.put_if_absent(bucket, post.key, post.manifest, CONTENT_TYPES[post.fmt])
            if written:
                return _version(version_id, post), False
            raise _exists_error(post, post.key) from None
        if info.size == len(post.manifest) and _content(bucket, post.key, info.etag) == post.manifest:
            return _version(info.version_id, post), True
        raise _exists_error(post, post.key)
    version_id = storage.put_object(bucket, post.key, post.manifest, CONTENT_TYPES[post.fmt])
    return _version(version_id, post), False


def _exists(bucket: str, key: str) -> bool:
    from buyer_messaging import storage

    try:
        storage.head_object(bucket, key)
    except AttachmentNotFound:
        return False
    return True


def _content(bucket: str, key: str, etag: str) -> bytes:
    from buyer_messaging import storage

    body, _ = storage.open_object(bucket, key, etag)
    try:
        return body.read()
    finally:
        body.close()


def _version(version_id: str | None, post: CampaignPost) -> str:
    if not version_id:
        # The staging bucket is versioned (template.yaml): one version, one campaign. Without versions a manifest
        # rewritten under its name could not be told from the first one.

        raise ConfigurationError(f"The staging bucket gave {post.key} no version id: turn on its versioning.")
    return version_id


def _exists_error(post: CampaignPost, key: str) -> CampaignExists:
    return CampaignExists(
        f"A manifest named {post.name!r} is already staged ({key}) with other content: a new version would start a "
        "new campaign that messages its buyers again. Choose another name, or send replace: true if a second "
        "campaign is meant.",
        problems=(("name", f"names a manifest already staged ({key})"),),
    )


# --- one campaign: its record, its report, its rows to fix, another run -------------------------------------------

RECENT_LIMIT = 50
# The report's statuses of rows that were not sent and may be sent again once fixed; "unknown" rows may have reached
# the buyer (the send left without Amazon's answer) and are never offered again blindly.
NOT_SENT = ("failed", "invalid")
# How many spent run numbers a start skips at most (each a start refused while a run went on).
SPENT_RUN_NUMBERS = 3


def recent(caller: Caller | None = None) -> dict[str, Any]:
    """GET /campaigns: the latest campaigns, newest run first (the table's sparse index of campaign records); with
    ``caller``, only its sellers' (the record's top-level ``sellingPartnerId``)."""
    from buyer_messaging.campaigns import records

    found = records.recent(get_settings().require("workflow_table"), RECENT_LIMIT)
    return {"campaigns": [_shown(record) for record in found if caller is None or caller.may_see(record)]}


def campaign(campaign_id: str, caller: Caller | None = None) -> dict[str, Any]:
    """GET /campaigns/{campaignId}: the record with its counts (never a row's text)."""
    return _shown(_record(campaign_id, caller))


def report(campaign_id: str, caller: Caller | None = None) -> tuple[str, bytes]:
    """GET /campaigns/{campaignId}/report: the file name and bytes of the report of the campaign's latest finished
    run (a run in progress answers with the one before it, if any)."""
    from buyer_messaging import storage

    record = _record(campaign_id, caller)
    written = record.get("report")
    if not isinstance(written, dict):
        raise _no_report(record)
    data = storage.read_object(str(written["bucket"]), str(written["key"]), written.get("versionId"))
    return f"{record['name']}.report.csv", data


def failed_rows(campaign_id: str, caller: Caller | None = None) -> tuple[str, bytes]:
    """GET /campaigns/{campaignId}/failed-rows: a manifest of the rows the report says were not sent (failed, or
    refused by the check), as the seller wrote them, to fix and upload again (as a new campaign)."""
    import csv
    import io

    from buyer_messaging import storage
    from buyer_messaging.campaigns import manifest

    _, data = report(campaign_id, caller)
    record = _record(campaign_id, caller)
    lines = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    numbers = {int(line["row"]) for line in lines if line.get("status") in NOT_SENT}
    source = record["manifest"]
    written = storage.read_object(str(source["bucket"]), str(source["key"]), source.get("versionId"))
    # The file was read whole when its campaign started: no row limit now (a lowered one must not hide rows to fix).
    read = manifest.read_manifest(
        written, str(record["format"]), default_bucket=str(source["bucket"]), max_rows=len(written) + 1
    )
    rows = [row for row in read.rows if row.number in numbers]
    return f"{record['name']}.failed-rows.csv", manifest.rows_as_csv(rows).encode("utf-8")


def start_again(campaign_id: str, caller: Caller | None = None) -> dict[str, Any]:
    """POST /campaigns/{campaignId}/runs: the next run, which sends only the rows that were not sent. A run still
    going is CampaignRunning; a repeated POST for the same next run starts nothing more (one execution name)."""
    from buyer_messaging.campaigns.records import ENDED

    record = _record(campaign_id, caller)
    if record["status"] not in ENDED:
        raise CampaignRunning(
            f"Campaign {campaign_id} is still in run {record['run']} ({record['status']}): start it again once that "
            "run has finished.",
            problems=(("campaignId", f"is still in run {record['run']}"),),
        )
    from buyer_messaging import executions
    from buyer_messaging.campaigns.run import CampaignRun

    source = record["manifest"]
    machine = get_settings().require("campaign_state_machine_arn")
    run = CampaignRun(
        campaign_id,
        str(source["bucket"]),
        str(source["key"]),
        str(source["versionId"]),
        str(record["name"]),
        str(record["format"]),
        int(record["run"]) + 1,
        owner(record),
    )
    started = executions.start_execution(machine, run.execution_name, run.to_dict())
    for _ in range(SPENT_RUN_NUMBERS):
        # The run's execution name is taken by an execution that ended without beginning the run (a start refused
        # with CampaignRunning while the run before went on): that number is spent, the next one is free.
        if not started.already_existed or executions.status(started.execution_arn) in ("RUNNING", "SUCCEEDED"):
            break
        if int(_record(campaign_id)["run"]) >= run.run:
            break  # the run did begin: this POST repeats the one that started it
        run = replace(run, run=run.run + 1)
        started = executions.start_execution(machine, run.execution_name, run.to_dict())
    logger.info("Campaign started again", extra={"campaignId": campaign_id, "run": run.run})
    return {
        "campaignId": campaign_id,
        "run": run.run,
        "repeat": started.already_existed,
        "statusUrl": status_url(campaign_id),
    }


def _record(campaign_id: str, caller: Caller | None = None) -> dict[str, Any]:
    """The campaign's record; another seller's (``caller`` given) answers as an id that names no campaign."""
    from buyer_messaging.campaigns import records

    if not CAMPAIGN_ID_PATTERN.fullmatch(campaign_id):
        raise InvalidRequest(
            f"{campaign_id!r} is not a campaign id (1 to 64 of A-Z, a-z, 0-9, _ and -).",
            problems=(("campaignId", "is not a campaign id (1 to 64 of A-Z, a-z, 0-9, _ and -)"),),
        )
    record = records.get(get_settings().require("workflow_table"), campaign_id)
    if record is None or (caller is not None and not caller.may_see(record)):
        raise CampaignNotFound(
            f"No campaign has the id {campaign_id!r}: it was never started, or its record expired.",
            problems=(("campaignId", "names no campaign"),),
        )
    return record


def _no_report(record: dict[str, Any]) -> BuyerMessagingError:

    if record.get("status") in ("checking", "running"):
        return CampaignRunning(
            f"Campaign {record['campaignId']} has no report yet: run {record['run']} writes it when it finishes.",
            problems=(("campaignId", f"is still in run {record['run']}"),),
        )
    return ReportNotFound(
        f"Campaign {record['campaignId']} has no report: its run {record['run']} failed before writing one "
        f"({record.get('error')}: {record.get('cause')}). Start it again.",
        problems=(("campaignId", "has no report"),),
    )


def _shown(record: dict[str, Any]) -> dict[str, Any]:
    """The record as the API shows it: where the files are is the seller's business, not the page's; the links to
    what can be done with it."""
    from buyer_messaging.campaigns.records import ENDED

    shown = {name: value for name, value in record.items() if name not in ("manifest", "report")}
    campaign_id = str(record["campaignId"])
    shown["manifestKey"] = record["manifest"]["key"]
    shown["done"] = record.get("status") in ENDED
    shown["statusUrl"] = status_url(campaign_id)
    shown["reportUrl"] = f"{status_url(campaign_id)}/report" if isinstance(record.get("report"), dict) else None
    shown["failedRowsUrl"] = f"{status_url(campaign_id)}/failed-rows" if shown["reportUrl"] else None
    return shown
