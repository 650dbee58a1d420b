"""The seed: the default orders, and a clear error for every mistake in a seed file."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from buyer_messaging import catalog
from spapi_emulator import DEFAULT_SEED_PATH, Seed, SeedError, load_default_seed, load_seed
from tests.emulator.conftest import GERMAN_ORDER, LIMITED_ORDER, SANDBOX_ORDER, SHIPPED_ORDER

README = DEFAULT_SEED_PATH.parent / "README.md"


@pytest.fixture
def document() -> dict[str, Any]:
    return dict(json.loads(DEFAULT_SEED_PATH.read_text(encoding="utf-8")))


def _problem(document: dict[str, Any]) -> str:
    with pytest.raises(SeedError) as raised:
        Seed.from_dict(document, source="test-seed.json")
    assert "test-seed.json" in str(raised.value)
    return str(raised.value)


def test_default_seed_has_the_documented_orders() -> None:
    seed = load_default_seed()

    sandbox = seed.order(SANDBOX_ORDER)
    assert sandbox is not None
    assert sandbox.marketplace_id == "ATVPDKIKX0DER"
    assert sandbox.buyer_locale == "en-US"
    assert sandbox.allowed_message_types == tuple(m.path for m in catalog.MESSAGE_TYPES)
    shipped = seed.order(SHIPPED_ORDER)
    assert shipped is not None and shipped.once_per_order
    german = seed.order(GERMAN_ORDER)
    assert german is not None and german.marketplace_id == "A1PA6795UKMFR9" and german.buyer_locale == "de-DE"
    limited = seed.order(LIMITED_ORDER)
    assert limited is not None and limited.allowed_message_types == ("unexpectedProblem",)


def test_default_credentials_are_obviously_fake() -> None:
    credentials = load_default_seed().credentials

    assert "local-emulator" in credentials.client_id
    assert "local-emulator" in credentials.client_secret
    assert "local-emulator" in credentials.refresh_token
    assert credentials.client_secret not in repr(credentials)
    assert credentials.refresh_token not in repr(credentials)


def test_readme_documents_every_field_and_order() -> None:
    text = README.read_text(encoding="utf-8")
    for field in (
        "clientId",
        "clientSecret",
        "refreshToken",
        "sellingPartnerId",
        "otherSellers",
        "amazonOrderId",
        "marketplaceId",
        "buyerLocale",
        "allowedMessageTypes",
        "oncePerOrder",
        "schemaOverrides",
        "rawMessageBody",
        "maxItems",
    ):
        assert f"`{field}" in text or f".{field}`" in text, field
    for order in load_default_seed().orders:
        assert order.amazon_order_id in text


def test_operation_names_are_accepted_as_types(document: dict[str, Any]) -> None:
    document["orders"][3]["allowedMessageTypes"] = ["sendInvoice", "CreateWarranty", "UNEXPECTEDPROBLEM"]

    seed = Seed.from_dict(document)

    assert seed.orders[3].allowed_message_types == ("invoice", "warranty", "unexpectedProblem")


def test_load_seed_reads_a_file(tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    assert load_seed(path).source == str(path)


def test_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text("{", encoding="utf-8")

    with pytest.raises(SeedError, match="not valid JSON"):
        load_seed(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot be read"):
        load_seed(tmp_path / "absent.json")


def test_unknown_message_type(document: dict[str, Any]) -> None:
    document["orders"][0]["allowedMessageTypes"].append("negativeFeedbackRemoval")

    assert "'negativeFeedbackRemoval' is not a message type" in _problem(document)


def test_once_per_order_type_must_be_allowed(document: dict[str, Any]) -> None:
    document["orders"][3]["oncePerOrder"] = ["invoice"]

    assert "oncePerOrder" in _problem(document)


def test_override_may_not_loosen_amazons_limit(document: dict[str, Any]) -> None:
    document["orders"][2]["schemaOverrides"] = {"unexpectedProblem": {"rawMessageBody": {"maxLength": 5000}}}

    assert "only tighten" in _problem(document)


def test_override_may_not_allow_more_than_five_files(document: dict[str, Any]) -> None:
    document["orders"][0]["schemaOverrides"] = {"invoice": {"attachments": {"maxItems": 6}}}

    assert "only tighten" in _problem(document)


def test_override_of_a_property_the_type_lacks(document: dict[str, Any]) -> None:
    document["orders"][0]["schemaOverrides"] = {"invoice": {"rawMessageBody": {"maxLength": 100}}}

    assert "no property 'rawMessageBody'" in _problem(document)


def test_override_with_an_unknown_keyword(document: dict[str, Any]) -> None:
    document["orders"][0]["schemaOverrides"] = {"unexpectedProblem": {"rawMessageBody": {"pattern": "^a"}}}

    assert "pattern" in _problem(document)


@pytest.mark.parametrize(
    ("field", "value"),
    [("amazonOrderId", "1234"), ("marketplaceId", "amazon.com"), ("buyerLocale", "English"), ("color", "red")],
)
def test_malformed_order_fields(document: dict[str, Any], field: str, value: str) -> None:
    document["orders"][0][field] = value

    assert field in _problem(document)


def test_duplicate_orders(document: dict[str, Any]) -> None:
    document["orders"].append(copy.deepcopy(document["orders"][0]))

    assert "listed twice" in _problem(document)


def test_missing_credentials(document: dict[str, Any]) -> None:
    del document["credentials"]["refreshToken"]

    assert "credentials.refreshToken" in _problem(document)


def test_other_sellers_and_their_orders(document: dict[str, Any]) -> None:
    document["otherSellers"].append({"sellingPartnerId": "A3OTHERSELLER9", "refreshToken": "Atzr|other"})
    document["orders"][3]["sellingPartnerId"] = "A3OTHERSELLER9"

    seed = Seed.from_dict(document)

    assert seed.selling_partner_ids == ("A2EXAMPLESELLER", "A3ONBOARDSELLER", "A3OTHERSELLER", "A3OTHERSELLER9")
    assert [order.selling_partner_id for order in seed.orders][2:] == [
        "A2EXAMPLESELLER",
        "A3OTHERSELLER9",
        "A3OTHERSELLER",
        "A3OTHERSELLER",
    ]
    assert seed.seller_of_refresh_token("Atzr|other") == "A3OTHERSELLER9"
    assert seed.seller_of_refresh_token(seed.credentials.refresh_token) == "A2EXAMPLESELLER"
    assert seed.seller_of_refresh_token("Atzr|nobody's") is None
    assert seed.secret_for("A3OTHERSELLER9") == {**seed.credentials.as_secret(), "refreshToken": "Atzr|other"}
    assert "Atzr|other" not in repr(seed.other_sellers)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"otherSellers": [{"sellingPartnerId": "a2lower", "refreshToken": "Atzr|x"}]}, "is not a selling partner id"),
        ({"otherSellers": [{"sellingPartnerId": "A2EXAMPLESELLER", "refreshToken": "Atzr|x"}]}, "listed twice"),
        (
            {"otherSellers": [{"sellingPartnerId": "A3OTHERSELLER9", "refreshToken": " "}]},
            "otherSellers[0].refreshToken",
        ),
        ({"otherSellers": [{"sellingPartnerId": "A3OTHERSELLER9", "refreshToken": "SAME"}]}, "another seller's"),
        (
            {"otherSellers": [{"sellingPartnerId": "A3OTHERSELLER9", "refreshToken": "Atzr|x", "x": 1}]},
            "otherSellers[0] has unknown fields",
        ),
        ({"otherSellers": {"A3OTHERSELLER9": "Atzr|x"}}, "otherSellers must be a list"),
    ],
)
def test_malformed_other_sellers(document: dict[str, Any], change: dict[str, Any], complaint: str) -> None:
    if change.get("otherSellers") and isinstance(change["otherSellers"], list):
        for seller in change["otherSellers"]:
            if seller.get("refreshToken") == "SAME":
                seller["refreshToken"] = document["credentials"]["refreshToken"]
    document.update(change)

    assert complaint in _problem(document)


def test_an_order_of_a_seller_the_seed_lacks(document: dict[str, Any]) -> None:
    document["orders"][0]["sellingPartnerId"] = "A9NOSUCHSELLER"

    assert "orders[0] (123-1234567-1234567).sellingPartnerId 'A9NOSUCHSELLER' is not a seller" in _problem(document)


def test_overrides_reach_the_rules(document: dict[str, Any]) -> None:
    document["orders"][0]["schemaOverrides"] = {"invoice": {"attachments": {"maxItems": 2}}}

    rules = Seed.from_dict(document).orders[0].rules["invoice"]

    assert rules.attachments is not None and rules.attachments.max_count == 2


def test_a_seller_without_a_refresh_token_has_not_authorized_yet(document: dict[str, Any]) -> None:
    document["otherSellers"] = [{"sellingPartnerId": "A3NEWSELLER01"}]
    document["orders"] = [order for order in document["orders"] if "sellingPartnerId" not in order]

    seed = Seed.from_dict(document)

    assert seed.selling_partner_ids == ("A2EXAMPLESELLER", "A3NEWSELLER01")
    with pytest.raises(KeyError, match="'A3NEWSELLER01' has not authorized the application"):
        seed.secret_for("A3NEWSELLER01")


def test_the_default_seed_has_a_draft_application_and_a_seller_to_onboard() -> None:
    seed = load_default_seed()

    assert seed.application.application_id == "amzn1.sp.solution.local-emulator"
    assert seed.application.name == "Buyer Messaging (local emulator)"
    assert seed.application.published is False
    assert seed.application.redirect_uris == ()
    assert [(s.selling_partner_id, s.refresh_token) for s in seed.other_sellers] == [
        ("A3ONBOARDSELLER", None),
        ("A3OTHERSELLER", "Atzr|local-emulator-other-seller-refresh-token-not-a-real-token"),
    ]


@pytest.mark.parametrize(
    ("application", "complaint"),
    [
        ({"applicationId": "amzn1.application-oa2-client.x"}, "is not an SP-API application id"),
        ({"redirectUris": ["http://example.com/callback"]}, "is not an https URI"),
        ({"redirectUris": ["https://example.com/callback#top"]}, "must name a host and carry no #fragment"),
        ({"redirectUris": "https://example.com/callback"}, "application.redirectUris must be a list"),
        ({"published": "yes"}, "application.published must be true or false"),
        ({"clientId": "x"}, "application has unknown fields ['clientId']"),
    ],
)
def test_malformed_application(document: dict[str, Any], application: dict[str, Any], complaint: str) -> None:
    document["application"] = application

    assert complaint in _problem(document)


def test_loopback_redirect_uris_may_be_plain_http(document: dict[str, Any]) -> None:
    document["application"] = {"redirectUris": ["http://127.0.0.1:3000/oauth/callback", "https://a.example/cb"]}

    uris = Seed.from_dict(document).application.redirect_uris

    assert uris == ("http://127.0.0.1:3000/oauth/callback", "https://a.example/cb")
