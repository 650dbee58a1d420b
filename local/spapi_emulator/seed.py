"""The emulator's world: the sellers and LWA credentials it accepts and the orders it knows
(``local/seed/orders.json``).

The format is documented in ``local/seed/README.md``. A seed is checked completely when it is loaded:
a typo in a message type or an override that would loosen Amazon's rules is an error naming the
field, not a surprise at the first request.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from buyer_messaging import catalog, marketplaces
from buyer_messaging.fields import SELLING_PARTNER_ID_PATTERN
from spapi_emulator.schemas import OverrideError, Rules, rules_for

DEFAULT_SEED_PATH = Path(__file__).resolve().parent.parent / "seed" / "orders.json"

# 3-7-7 characters: "123-1234567-1234567"; digital and Amazon Pay orders start with a letter ("D01-...").
AMAZON_ORDER_ID_PATTERN = re.compile(r"^[0-9A-Z]{3}-[0-9]{7}-[0-9]{7}$")
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
# Seller (merchant) ids are upper-case letters and digits, such as A2EUQ1WTGCTBG2.
# The seller of a seed that names none: a one-seller seed written before sellers had ids works unchanged.
DEFAULT_SELLING_PARTNER_ID = "A2EXAMPLESELLER"

_TOP_LEVEL_FIELDS = frozenset({"credentials", "application", "otherSellers", "orders"})
_APPLICATION_FIELDS = frozenset({"applicationId", "name", "redirectUris", "published"})
# The application of a seed that describes none: a draft (consent needs version=beta), no redirect URI yet.
DEFAULT_APPLICATION_ID = "amzn1.sp.solution.local-emulator"
DEFAULT_APPLICATION_NAME = "Buyer Messaging (local emulator)"
APPLICATION_ID_PATTERN = re.compile(r"^amzn1\.sp\.solution\.[A-Za-z0-9-]+$")
_CREDENTIAL_FIELDS = ("clientId", "clientSecret", "refreshToken")
_SELLER_FIELDS = frozenset({"sellingPartnerId", "refreshToken"})
_ORDER_FIELDS = frozenset(
    {
        "amazonOrderId",
        "marketplaceId",
        "sellingPartnerId",
        "buyerLocale",
        "allowedMessageTypes",
        "oncePerOrder",
        "schemaOverrides",
    }
)


class SeedError(ValueError):
    """The seed file is not valid; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """The LWA application and the refresh token of the seed's (first) seller, which the token endpoint
    accepts; ``selling_partner_id`` is the seller who authorized the application with that refresh token."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    selling_partner_id: str = DEFAULT_SELLING_PARTNER_ID

    def as_secret(self) -> dict[str, str]:
        """The JSON the workflow keeps in its credentials secret."""
        return {"clientId": self.client_id, "clientSecret": self.client_secret, "refreshToken": self.refresh_token}


@dataclass(frozen=True, slots=True)
class Seller:
    """A selling partner, and the refresh token its authorization of the application gave; None for a seller who
    has not authorized it yet (onboarded through the consent step, :mod:`spapi_emulator.consent`)."""

    selling_partner_id: str
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ApplicationSeed:
    """The SP-API application as registered in Developer Central: its id (the consent URI's ``application_id``),
    its name (shown on the consent page), its OAuth redirect URIs, and whether it is published (a draft is
    authorized only with ``version=beta``)."""

    application_id: str = DEFAULT_APPLICATION_ID
    name: str = DEFAULT_APPLICATION_NAME
    redirect_uris: tuple[str, ...] = ()
    published: bool = False


@dataclass(frozen=True, slots=True)
class OrderSeed:
    """One order as the seed describes it (its state before any message is sent)."""

    amazon_order_id: str
    marketplace_id: str
    selling_partner_id: str  # the seller who sold it: only that seller's calls find it
    buyer_locale: str
    allowed_message_types: tuple[str, ...]  # catalog paths, in the seed's order
    once_per_order: frozenset[str]  # catalog paths; gone from the actions after one successful send
    rules: Mapping[str, Rules]  # catalog path -> rules in force (catalog tightened by schemaOverrides)


@dataclass(frozen=True, slots=True)
class Seed:
    credentials: Credentials
    orders: tuple[OrderSeed, ...]
    source: str = "<seed>"
    other_sellers: tuple[Seller, ...] = ()
    application: ApplicationSeed = ApplicationSeed()

    def order(self, amazon_order_id: str) -> OrderSeed | None:
        return next((order for order in self.orders if order.amazon_order_id == amazon_order_id), None)

    @property
    def sellers(self) -> tuple[Seller, ...]:
        """Every seller, the credentials' own first."""
        first = Seller(self.credentials.selling_partner_id, self.credentials.refresh_token)
        return (first, *self.other_sellers)

    @property
    def selling_partner_ids(self) -> tuple[str, ...]:
        return tuple(seller.selling_partner_id for seller in self.sellers)

    def seller_of_refresh_token(self, refresh_token: str) -> str | None:
        """The seller whose authorization gave ``refresh_token``, or None."""
        given = refresh_token.encode()
        found = [
            s.selling_partner_id
            for s in self.sellers
            if s.refresh_token is not None and hmac.compare_digest(s.refresh_token.encode(), given)
        ]
        return found[0] if found else None

    def secret_for(self, selling_partner_id: str) -> dict[str, str]:
        """The credentials secret of one seller (the application's client and that seller's refresh token)."""
        seller = next((s for s in self.sellers if s.selling_partner_id == selling_partner_id), None)
        if seller is None:
            raise KeyError(f"{selling_partner_id!r} is not a seller of {self.source}.")
        if seller.refresh_token is None:
            raise KeyError(f"{selling_partner_id!r} has not authorized the application in {self.source}.")
        return {**self.credentials.as_secret(), "refreshToken": seller.refresh_token}

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<seed>") -> Seed:
        """A seed from its JSON document; :class:`SeedError` names the first problem found."""
        top = _object(data, source, "the seed")
        _no_unknown_fields(top, _TOP_LEVEL_FIELDS, source, "the seed")
        credentials_data = _object(top.get("credentials"), source, "credentials")
        _no_unknown_fields(
            credentials_data, frozenset({*_CREDENTIAL_FIELDS, "sellingPartnerId"}), source, "credentials"
        )
        values = [_string(credentials_data.get(name), source, f"credentials.{name}") for name in _CREDENTIAL_FIELDS]
        seller_id = _seller_id(
            credentials_data.get("sellingPartnerId", DEFAULT_SELLING_PARTNER_ID), source, "credentials.sellingPartnerId"
        )
        client_id, client_secret, refresh_token = values
        credentials = Credentials(client_id, client_secret, refresh_token, seller_id)
        other_sellers = _other_sellers(top.get("otherSellers", []), credentials, source)
        known_sellers = {seller_id, *(seller.selling_partner_id for seller in other_sellers)}
        orders_data = top.get("orders")
        if not isinstance(orders_data, list) or not orders_data:
            raise SeedError(f"{source}: orders must be a non-empty list of orders.")
        orders = tuple(
            _order(item, source, f"orders[{index}]", seller_id, known_sellers) for index, item in enumerate(orders_data)
        )
        seen: set[str] = set()
        for order in orders:
            if order.amazon_order_id in seen:
                raise SeedError(f"{source}: the order {order.amazon_order_id} is listed twice.")
            seen.add(order.amazon_order_id)
        application = _application(top.get("application", {}), source)
        return cls(
            credentials=credentials,
            orders=orders,
            source=source,
            other_sellers=other_sellers,
            application=application,
        )

    @classmethod
    def from_file(cls, path: str | Path) -> Seed:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise SeedError(f"{path}: cannot be read ({error.strerror or error}).") from None
        except json.JSONDecodeError as error:
            raise SeedError(f"{path}: not valid JSON ({error}).") from None
        return cls.from_dict(data, source=str(path))


def load_seed(path: str | Path | None = None) -> Seed:
    """The seed in ``path``, or the default seed ``local/seed/orders.json``."""
    return Seed.from_file(DEFAULT_SEED_PATH if path is None else path)


def load_default_seed() -> Seed:
    """The default seed the user can edit: ``local/seed/orders.json``."""
    return load_seed(None)


def _seller_id(value: object, source: str, where: str) -> str:
    seller_id = _string(value, source, where)
    if not SELLING_PARTNER_ID_PATTERN.match(seller_id):
        raise SeedError(f"{source}: {where} {seller_id!r} is not a selling partner id like A2EUQ1WTGCTBG2.")
    return seller_id


def _other_sellers(value: object, credentials: Credentials, source: str) -> tuple[Seller, ...]:
    if not isinstance(value, list):
        raise SeedError(f"{source}: otherSellers must be a list of sellers.")
    sellers: list[Seller] = []
    seen_ids = {credentials.selling_partner_id}
    seen_tokens = {credentials.refresh_token}
    for index, data in enumerate(value):
        where = f"otherSellers[{index}]"
        item = _object(data, source, where)
        _no_unknown_fields(item, _SELLER_FIELDS, source, where)
        refresh_token = item.get("refreshToken")  # absent: not authorized yet
        seller = Seller(
            _seller_id(item.get("sellingPartnerId"), source, f"{where}.sellingPartnerId"),
            None if refresh_token is None else _string(refresh_token, source, f"{where}.refreshToken"),
        )
        if seller.selling_partner_id in seen_ids:
            raise SeedError(f"{source}: the seller {seller.selling_partner_id} is listed twice.")
        if seller.refresh_token in seen_tokens:
            raise SeedError(f"{source}: {where}.refreshToken is another seller's; each authorization has its own.")
        seen_ids.add(seller.selling_partner_id)
        if seller.refresh_token is not None:
            seen_tokens.add(seller.refresh_token)
        sellers.append(seller)
    return tuple(sellers)


def _application(value: object, source: str) -> ApplicationSeed:
    item = _object(value, source, "application")
    _no_unknown_fields(item, _APPLICATION_FIELDS, source, "application")
    application_id = _string(item.get("applicationId", DEFAULT_APPLICATION_ID), source, "application.applicationId")
    if not APPLICATION_ID_PATTERN.match(application_id):
        raise SeedError(
            f"{source}: application.applicationId {application_id!r} is not an SP-API application id like "
            "amzn1.sp.solution.0a1b2c3d-..."
        )
    uris = item.get("redirectUris", [])
    if not isinstance(uris, list):
        raise SeedError(f"{source}: application.redirectUris must be a list of URIs.")
    for index, uri in enumerate(uris):
        problem = redirect_uri_problem(_string(uri, source, f"application.redirectUris[{index}]"))
        if problem:
            raise SeedError(f"{source}: application.redirectUris[{index}]: {problem}")
    published = item.get("published", False)
    if not isinstance(published, bool):
        raise SeedError(f"{source}: application.published must be true or false.")
    return ApplicationSeed(
        application_id=application_id,
        name=_string(item.get("name", DEFAULT_APPLICATION_NAME), source, "application.name"),
        redirect_uris=tuple(uris),
        published=published,
    )


def redirect_uri_problem(uri: str) -> str | None:
    """Why Developer Central would not register ``uri`` as an OAuth redirect URI, or None. It takes https URIs
    without a fragment; plain http only for a loopback host, the local stack's (as UPLOAD_URL_ALLOWED_HOSTS)."""
    parts = urlsplit(uri)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        return f"{uri!r} is not an https URI (plain http only for 127.0.0.1 or localhost)."
    if not parts.hostname or parts.fragment:
        return f"{uri!r} must name a host and carry no #fragment."
    return None


def _order(data: object, source: str, where: str, default_seller: str, sellers: set[str]) -> OrderSeed:
    item = _object(data, source, where)
    _no_unknown_fields(item, _ORDER_FIELDS, source, where)
    order_id = _string(item.get("amazonOrderId"), source, f"{where}.amazonOrderId")
    if not AMAZON_ORDER_ID_PATTERN.match(order_id):
        raise SeedError(f"{source}: {where}.amazonOrderId {order_id!r} is not an Amazon order id (3-7-7 digits).")
    where = f"{where} ({order_id})"
    marketplace_id = _string(item.get("marketplaceId"), source, f"{where}.marketplaceId")
    if not marketplaces.MARKETPLACE_ID_PATTERN.match(marketplace_id):
        raise SeedError(f"{source}: {where}.marketplaceId {marketplace_id!r} is not a marketplace id.")
    seller_id = _seller_id(item.get("sellingPartnerId", default_seller), source, f"{where}.sellingPartnerId")
    if seller_id not in sellers:
        raise SeedError(f"{source}: {where}.sellingPartnerId {seller_id!r} is not a seller of this seed.")
    locale = _string(item.get("buyerLocale"), source, f"{where}.buyerLocale")
    if not LOCALE_PATTERN.match(locale):
        raise SeedError(f"{source}: {where}.buyerLocale {locale!r} is not a locale like en-US.")
    allowed = _type_list(item.get("allowedMessageTypes"), source, f"{where}.allowedMessageTypes")
    once = _type_list(item.get("oncePerOrder", []), source, f"{where}.oncePerOrder")
    stray = [name for name in once if name not in allowed]
    if stray:
        raise SeedError(f"{source}: {where}.oncePerOrder lists {stray}, which allowedMessageTypes does not allow.")
    overrides = _object(item.get("schemaOverrides", {}), source, f"{where}.schemaOverrides")
    by_type: dict[str, Mapping[str, Any]] = {}
    for name, override in overrides.items():
        message_type = catalog.find_message_type(name)
        if message_type is None:
            raise SeedError(f"{source}: {where}.schemaOverrides: {_unknown_type(name)}")
        if message_type.path in by_type:
            raise SeedError(f"{source}: {where}.schemaOverrides names {message_type.path} twice.")
        by_type[message_type.path] = _object(override, source, f"{where}.schemaOverrides.{name}")
    try:
        rules = {path: rules_for(catalog.message_type(path), by_type.get(path)) for path in allowed}
        for path in set(by_type) - set(allowed):
            rules_for(catalog.message_type(path), by_type[path])  # checked, though unused
    except OverrideError as error:
        raise SeedError(f"{source}: {where}.schemaOverrides: {error}") from None
    return OrderSeed(
        amazon_order_id=order_id,
        marketplace_id=marketplace_id,
        selling_partner_id=seller_id,
        buyer_locale=locale,
        allowed_message_types=tuple(allowed),
        once_per_order=frozenset(once),
        rules=rules,
    )


def _type_list(value: object, source: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SeedError(f"{source}: {where} must be a list of message types.")
    paths: list[str] = []
    for name in value:
        message_type = catalog.find_message_type(name)
        if message_type is None:
            raise SeedError(f"{source}: {where}: {_unknown_type(name)}")
        if message_type.path in paths:
            raise SeedError(f"{source}: {where} lists {message_type.path} twice.")
        paths.append(message_type.path)
    return paths


def _unknown_type(name: str) -> str:
    known = ", ".join(message_type.path for message_type in catalog.MESSAGE_TYPES)
    return f"{name!r} is not a message type (use a path or operation name: {known})."


def _object(value: object, source: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SeedError(f"{source}: {where} must be a JSON object.")
    return value


def _string(value: object, source: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SeedError(f"{source}: {where} must be a non-empty string.")
    return value


def _no_unknown_fields(data: Mapping[str, Any], known: frozenset[str], source: str, where: str) -> None:
    # "$comment" keys document the file (JSON has no comments) and are ignored.
    unknown = sorted(name for name in data if name not in known and not name.startswith("$comment"))
    if unknown:
        raise SeedError(f"{source}: {where} has unknown fields {unknown} (allowed: {', '.join(sorted(known))}).")
