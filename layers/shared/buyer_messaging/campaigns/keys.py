"""A campaign's keys in the staging bucket: which key is a manifest (and its name, format and seller), which is a
report.

Light on purpose: the S3 trigger routes every ``campaigns/`` key with it, and loads nothing of the manifest's
reading and checking (validation, the catalog) to do so.

- ``campaigns/{name}.csv`` / ``campaigns/{name}.jsonl``: a manifest, ``{name}`` 1 to 100 of ``[A-Za-z0-9._-]``,
  directly under ``campaigns/``; it names no seller (the deployment's only one, or none);
- ``sellers/{sellingPartnerId}/campaigns/{name}.csv`` / ``.jsonl``: a manifest of that seller's campaign;
- ``…campaigns/{name}.report.csv``: the report of the latest run of that manifest's campaign, beside it (under the
  same seller segment), never a manifest.
"""

from __future__ import annotations

import re

from buyer_messaging.errors import UnsupportedS3Key
from buyer_messaging.seller_scope import key_prefix, split_key

FORMATS = ("csv", "jsonl")
MANIFEST_PREFIX = "campaigns/"
REPORT_SUFFIX = ".report"  # campaigns/{name}.report.csv is a campaign's report, never a manifest
REPORT_FORMAT = "csv"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,100}$")  # a manifest's {name} (the API's document states it too)


def manifest_name(key: str) -> tuple[str, str]:
    """``("recall-2026-11", "csv")`` for ``campaigns/recall-2026-11.csv`` (or the same under
    ``sellers/{id}/``); UnsupportedS3Key for another key."""
    scoped = split_key(key)
    rest = scoped.rest if scoped.seller is not None else key
    name, dot, fmt = rest.removeprefix(MANIFEST_PREFIX).rpartition(".")
    if not rest.startswith(MANIFEST_PREFIX) or not dot or fmt not in FORMATS or not NAME_PATTERN.fullmatch(name):
        raise UnsupportedS3Key(
            f"{key!r} is not a campaign manifest: a manifest is campaigns/{{name}}.csv or campaigns/{{name}}.jsonl, "
            "directly under campaigns/ (or sellers/{sellingPartnerId}/campaigns/), {name} 1 to 100 of A-Z, a-z, "
            "0-9, '.', '_' and '-'."
        )
    if name.endswith(REPORT_SUFFIX):
        raise UnsupportedS3Key(f"{key!r} is a campaign's report (campaigns/{{name}}.report.csv), not a manifest.")
    return name, fmt


def manifest_seller(key: str) -> str | None:
    """The seller a manifest's key names (``sellers/{id}/campaigns/…``), or None (``campaigns/…``)."""
    return split_key(key).seller


def is_report(key: str) -> bool:
    """``[sellers/{id}/]campaigns/{name}.report.csv``: what a campaign writes beside its manifest; its upload
    starts nothing."""
    rest = split_key(key).rest
    return rest.startswith(MANIFEST_PREFIX) and rest.endswith(f"{REPORT_SUFFIX}.{REPORT_FORMAT}")


def manifest_key(name: str, fmt: str, seller: str | None = None) -> str:
    """Where a manifest of ``seller`` (None: no seller named) is staged."""
    return f"{key_prefix(seller)}{MANIFEST_PREFIX}{name}.{fmt}"


def report_key(name: str, seller: str | None = None) -> str:
    """The report beside the manifest of that name and seller segment."""
    return f"{key_prefix(seller)}{MANIFEST_PREFIX}{name}{REPORT_SUFFIX}.{REPORT_FORMAT}"
