"""One run of a campaign: the campaign state machine's input, and the names and keys that follow from it.

The S3 trigger makes run 1 of the manifest version it was told of (:func:`first_run`); the API makes run n+1. The
input is ``{campaignId, manifest: {bucket, key, versionId}, name, format, run[, sellingPartnerId]}``
(``sellingPartnerId``: the seller the campaign is for, resolved among the deployment's sellers; left out when the
deployment never named one); every name a run uses is derived here, so the trigger, the state machine's steps and
the API agree on them:

- the run's execution ``{campaignId}-{run}`` (a repeated start of a run is a no-op);
- a row's send execution ``{campaignId}-{row}-{run}`` (at most 80 characters: the id has at most 64);
- ``campaign-work/{campaignId}/{run}/rows.json`` (the rows to send, the Distributed Map's ItemReader) and
  ``checked.json`` beside it (every row's verdict, for the report), ``campaign-results/{campaignId}/{run}/``
  (ResultWriter's prefix) and ``[sellers/{id}/]campaigns/{name}.report.csv`` (the report, beside the manifest,
  under its seller segment).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from buyer_messaging import naming
from buyer_messaging.campaigns.keys import manifest_seller, report_key
from buyer_messaging.errors import InvalidRequest
from buyer_messaging.fields import CAMPAIGN_ID_PATTERN, SELLING_PARTNER_ID_PATTERN
from buyer_messaging.seller_scope import SELLER_FIELD

WORK_PREFIX = "campaign-work/"
RESULTS_PREFIX = "campaign-results/"


@dataclass(frozen=True, slots=True)
class CampaignRun:
    campaign_id: str
    bucket: str
    key: str
    version_id: str
    name: str
    fmt: str
    run: int
    seller: str | None = None  # the campaign's seller: its record's, every row's (None: the deployment named none)

    @classmethod
    def first(
        cls, bucket: str, key: str, version_id: str, name: str, fmt: str, *, seller: str | None = None
    ) -> CampaignRun:
        """Run 1 of the campaign of one manifest object version, for ``seller`` (resolved). The seller the key
        names (``sellers/{id}/campaigns/…``: an upload's, or the API's for a body that names one) is part of the
        campaign's id; a manifest under ``campaigns/`` keeps today's id whoever the deployment's one seller is."""
        campaign_id = naming.campaign_id(bucket, key, version_id, name, manifest_seller(key))
        return cls(campaign_id, bucket, key, version_id, name, fmt, 1, seller)

    @classmethod
    def from_dict(cls, data: object) -> CampaignRun:
        manifest = data.get("manifest") if isinstance(data, Mapping) else None
        if not isinstance(data, Mapping) or not isinstance(manifest, Mapping):
            raise InvalidRequest(
                "A campaign run is {campaignId, manifest: {bucket, key, versionId}, name, format, run}."
            )
        texts = {
            "campaignId": data.get("campaignId"),
            "manifest.bucket": manifest.get("bucket"),
            "manifest.key": manifest.get("key"),
            "manifest.versionId": manifest.get("versionId"),
            "name": data.get("name"),
            "format": data.get("format"),
        }
        missing = sorted(name for name, value in texts.items() if not isinstance(value, str) or not value)
        run = data.get("run")
        if not isinstance(run, int) or isinstance(run, bool) or run < 1:
            missing.append("run (1 or more)")
            run = 0
        seller = data.get(SELLER_FIELD)
        if seller is not None and (not isinstance(seller, str) or not SELLING_PARTNER_ID_PATTERN.fullmatch(seller)):
            missing.append(f"{SELLER_FIELD} (a selling partner id, or left out)")
        if missing:
            raise InvalidRequest(f"The campaign run lacks {', '.join(missing)}.")
        campaign_id = str(texts["campaignId"])
        if not CAMPAIGN_ID_PATTERN.fullmatch(campaign_id):
            raise InvalidRequest(
                f"campaignId {campaign_id!r} is not a campaign id (1 to 64 of A-Z, a-z, 0-9, _ and -)."
            )
        return cls(
            campaign_id=campaign_id,
            bucket=str(texts["manifest.bucket"]),
            key=str(texts["manifest.key"]),
            version_id=str(texts["manifest.versionId"]),
            name=str(texts["name"]),
            fmt=str(texts["format"]),
            run=int(run),
            seller=seller,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "campaignId": self.campaign_id,
            "manifest": {"bucket": self.bucket, "key": self.key, "versionId": self.version_id},
            "name": self.name,
            "format": self.fmt,
            "run": self.run,
            **({SELLER_FIELD: self.seller} if self.seller else {}),
        }

    @property
    def execution_name(self) -> str:
        return naming.campaign_run_name(self.campaign_id, self.run)

    def row_execution_name(self, row: int, run: int | None = None) -> str:
        """The send execution of ``row`` in this run (or in ``run``, an earlier one)."""
        return row_execution_name(self.campaign_id, row, self.run if run is None else run)

    @property
    def work_prefix(self) -> str:
        return f"{WORK_PREFIX}{self.campaign_id}/{self.run}/"

    @property
    def rows_key(self) -> str:
        """The rows to send: ``[{row, name, request}]``, the Distributed Map's ItemReader."""
        return self.work_prefix + "rows.json"

    @property
    def checked_key(self) -> str:
        """Every invalid row's verdict, ``{row: [error, cause]}``, for the report."""
        return self.work_prefix + "checked.json"

    @property
    def results_prefix(self) -> str:
        return f"{RESULTS_PREFIX}{self.campaign_id}/{self.run}/"

    @property
    def report_key(self) -> str:
        """``[sellers/{id}/]campaigns/{name}.report.csv``: beside the manifest (under its seller segment, if any),
        the latest run's (S3 versioning keeps the others)."""
        return report_key(self.name, manifest_seller(self.key))


def row_execution_name(campaign_id: str, row: int, run: int) -> str:
    """The send execution of a campaign's ``row`` in ``run``: its request id."""
    return f"{campaign_id}-{row}-{run}"
