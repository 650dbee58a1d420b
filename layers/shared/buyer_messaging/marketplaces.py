"""Amazon marketplace ids and the SP-API region that serves each (Amazon's "Marketplace IDs" page)."""

from __future__ import annotations

import re
from collections.abc import Mapping

# marketplace id -> (country code, SP-API region)
MARKETPLACES: Mapping[str, tuple[str, str]] = {
    "A2EUQ1WTGCTBG2": ("CA", "na"),
    "ATVPDKIKX0DER": ("US", "na"),
    "A1AM78C64UM0Y8": ("MX", "na"),
    "A2Q3Y263D00KWC": ("BR", "na"),
    "A28R8C7NBKEWEA": ("IE", "eu"),
    "A1RKKUPIHCS9HS": ("ES", "eu"),
    "A1F83G8C2ARO7P": ("UK", "eu"),
    "A13V1IB3VIYZZH": ("FR", "eu"),
    "AMEN7PMS3EDWL": ("BE", "eu"),
    "A1805IZSGTT6HS": ("NL", "eu"),
    "A1PA6795UKMFR9": ("DE", "eu"),
    "APJ6JRA9NG5V4": ("IT", "eu"),
    "A2NODRKZP88ZB9": ("SE", "eu"),
    "AE08WJ6YKNBMC": ("ZA", "eu"),
    "A1C3SOZRARQ6R3": ("PL", "eu"),
    "ARBP9OOSHTCHU": ("EG", "eu"),
    "A33AVAJ2PDY3EV": ("TR", "eu"),
    "A17E79C6D8DWNP": ("SA", "eu"),
    "A2VIGQ35RCS4UG": ("AE", "eu"),
    "A21TJRUUN4KGV": ("IN", "eu"),
    "A19VAU5U5O7RUS": ("SG", "fe"),
    "A39IBJ37TRP1C6": ("AU", "fe"),
    "A1VC38T7YXB528": ("JP", "fe"),
}

# Marketplace ids are upper-case letters and digits starting with "A"; new ones appear now and then,
# so an unknown id of this shape is accepted and only a known id of another region is refused.
MARKETPLACE_ID_PATTERN = re.compile(r"^A[A-Z0-9]{9,15}$")


def region_of(marketplace_id: str) -> str | None:
    known = MARKETPLACES.get(marketplace_id)
    return known[1] if known else None


def base_region(spapi_region: str) -> str:
    """``sandbox-eu`` -> ``eu``."""
    return spapi_region.removeprefix("sandbox-")
