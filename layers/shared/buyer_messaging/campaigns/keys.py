"""A campaign's keys in the staging bucket: which key is a manifest (and its name and format), which is a report.

Light on purpose: the S3 trigger routes every ``campaigns/`` key with it, and loads nothing of the manifest's
reading and checking (validation, the catalog) to do so.

- ``campaigns/{name}.csv`` / ``campaigns/{name}.jsonl``: a manifest, ``{name}`` 1 to 100 of ``[A-Za-z0-9._-]``,
  directly under ``campaigns/``;
- ``campaigns/{name}.report.csv``: the report of the latest run of that manifest's campaign, never a manifest.
"""

from __future__ import annotations

import re

from buyer_messaging.errors import UnsupportedS3Key

FORMATS = ("csv", "jsonl")
MANIFEST_PREFIX = "campaigns/"
REPORT_SUFFIX = ".report"  # campaigns/{name}.report.csv is a campaign's report, never a manifest
REPORT_FORMAT = "csv"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,100}$")  # a manifest's {name} (the API's document states it too)


def manifest_name(key: str) -> tuple[str, str]:
    """``("recall-2026-11", "csv")`` for ``campaigns/recall-2026-11.csv``; UnsupportedS3Key for another key."""
    name, dot, fmt = key.removeprefix(MANIFEST_PREFIX).rpartition(".")
    if not key.startswith(MANIFEST_PREFIX) or not dot or fmt not in FORMATS or not NAME_PATTERN.fullmatch(name):
        raise UnsupportedS3Key(
            f"{key!r} is not a campaign manifest: a manifest is campaigns/{{name}}.csv or campaigns/{{name}}.jsonl, "
            "directly under campaigns/, {name} 1 to 100 of A-Z, a-z, 0-9, '.', '_' and '-'."
        )
    if name.endswith(REPORT_SUFFIX):
        raise UnsupportedS3Key(f"{key!r} is a campaign's report (campaigns/{{name}}.report.csv), not a manifest.")
    return name, fmt


def is_report(key: str) -> bool:
    """``campaigns/{name}.report.csv``: what a campaign writes beside its manifest; its upload starts nothing."""
    return key.startswith(MANIFEST_PREFIX) and key.endswith(f"{REPORT_SUFFIX}.{REPORT_FORMAT}")


def report_key(name: str) -> str:
    return f"{MANIFEST_PREFIX}{name}{REPORT_SUFFIX}.{REPORT_FORMAT}"
