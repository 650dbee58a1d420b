"""Amazon marketplace ids and the SP-API region that serves each (Amazon's "Marketplace IDs" page).

The one list: validation refuses another region's marketplace by it, the OpenAPI document states the region's,
and the seller console lists them all (GET /console/config.json, buyer_messaging.console), in this order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Marketplace:
    marketplace_id: str
    country_code: str
    name: str  # the country, as the console shows it
    region: str  # the SP-API region: na, eu or fe


# The SP-API regions, in the order the console groups them, with their names for a seller.
REGIONS: Mapping[str, str] = {"na": "North America", "eu": "Europe", "fe": "Far East"}

# The console's order: by region, the largest marketplaces first (its first entry is the console's default).
MARKETPLACE_LIST: tuple[Marketplace, ...] = (
    Marketplace("ATVPDKIKX0DER", "US", "United States", "na"),
    Marketplace("A2EUQ1WTGCTBG2", "CA", "Canada", "na"),
    Marketplace("A1AM78C64UM0Y8", "MX", "Mexico", "na"),
    Marketplace("A2Q3Y263D00KWC", "BR", "Brazil", "na"),
    Marketplace("A1F83G8C2ARO7P", "UK", "United Kingdom", "eu"),
    Marketplace("A1PA6795UKMFR9", "DE", "Germany", "eu"),
    Marketplace("A13V1IB3VIYZZH", "FR", "France", "eu"),
    Marketplace("APJ6JRA9NG5V4", "IT", "Italy", "eu"),
    Marketplace("A1RKKUPIHCS9HS", "ES", "Spain", "eu"),
    Marketplace("A1805IZSGTT6HS", "NL", "Netherlands", "eu"),
    Marketplace("A2NODRKZP88ZB9", "SE", "Sweden", "eu"),
    Marketplace("A1C3SOZRARQ6R3", "PL", "Poland", "eu"),
    Marketplace("A33AVAJ2PDY3EV", "TR", "Türkiye", "eu"),
    Marketplace("A21TJRUUN4KGV", "IN", "India", "eu"),
    Marketplace("A2VIGQ35RCS4UG", "AE", "United Arab Emirates", "eu"),
    Marketplace("A17E79C6D8DWNP", "SA", "Saudi Arabia", "eu"),
    Marketplace("ARBP9OOSHTCHU", "EG", "Egypt", "eu"),
    Marketplace("AMEN7PMS3EDWL", "BE", "Belgium", "eu"),
    Marketplace("A28R8C7NBKEWEA", "IE", "Ireland", "eu"),
    Marketplace("AE08WJ6YKNBMC", "ZA", "South Africa", "eu"),
    Marketplace("A1VC38T7YXB528", "JP", "Japan", "fe"),
    Marketplace("A39IBJ37TRP1C6", "AU", "Australia", "fe"),
    Marketplace("A19VAU5U5O7RUS", "SG", "Singapore", "fe"),
)

# marketplace id -> (country code, SP-API region)
MARKETPLACES: Mapping[str, tuple[str, str]] = {
    marketplace.marketplace_id: (marketplace.country_code, marketplace.region) for marketplace in MARKETPLACE_LIST
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


def served_by(spapi_region: str) -> list[str]:
    """The ids of the marketplaces an SP-API region (``eu``, ``sandbox-eu``, ...) serves, sorted: the others'
    are refused (validation.check_marketplace)."""
    region = base_region(spapi_region)
    return sorted(marketplace.marketplace_id for marketplace in MARKETPLACE_LIST if marketplace.region == region)
