"""Messaging API: available actions (on Amazon's own sample), message bodies checked against the official model."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from buyer_messaging import catalog, messaging
from buyer_messaging.auth import AccessTokenProvider, LwaCredentials
from buyer_messaging.catalog import MessageType
from buyer_messaging.errors import MessageTypeNotAvailable
from buyer_messaging.spapi import SpApiClient
from spapi_emulator import model_facts
from tests import support

ORDER_URL = f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}"
INVOICE = catalog.message_type("invoice")
UNEXPECTED_PROBLEM = catalog.message_type("unexpectedProblem")
WARRANTY = catalog.message_type("warranty")
ALL_TYPES = pytest.mark.parametrize("message_type", catalog.MESSAGE_TYPES, ids=lambda m: m.path)
START = "2025-01-01T00:00:00Z"
END = "2027-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    """The official Messaging API model's facts (messaging.json, kept in local/spapi_emulator/model_facts.json)."""
    return model_facts.api_model("messaging")


@pytest.fixture(scope="module")
def amazon_actions() -> dict[str, Any]:
    """Amazon's sample getMessagingActionsForOrder answer (updateFeedback, unexpectedProblem, sendInvoice)."""
    body: dict[str, Any] = model_facts.sample("fixtures/messaging-getMessagingActionsForOrder.json")
    return body


def _client() -> SpApiClient:
    credentials = LwaCredentials.from_secret(support.CREDENTIALS)
    return SpApiClient(support.ENDPOINT, AccessTokenProvider(support.TOKEN_URL, lambda: credentials))


def _api_calls(http: responses.RequestsMock) -> list[Any]:
    return [call for call in http.calls if call.request.url.startswith(support.ENDPOINT)]


def _request_definition(model: dict[str, Any], message_type: MessageType) -> dict[str, Any]:
    definition: dict[str, Any] = model["definitions"][message_type.request_definition]
    return definition


def _full_body(message_type: MessageType) -> dict[str, Any]:
    """The body built with every input given: text, two attachments and coverage dates."""
    return messaging.build_message_body(
        message_type,
        text="Hello",
        attachments=[("dest-1", "Invoice-1.pdf"), ("dest-2", "Terms.pdf")],
        coverage_start_date=START,
        coverage_end_date=END,
    )


# --- parse_actions on Amazon's sample --------------------------------------------------------------------


def test_amazon_sample_lists_the_three_actions_in_amazons_order(amazon_actions: dict[str, Any]) -> None:
    actions = messaging.parse_actions(amazon_actions)

    assert [action.name for action in actions] == ["updateFeedback", "unexpectedProblem", "sendInvoice"]


def test_amazon_sample_send_invoice_is_the_invoice_type_with_its_schema(amazon_actions: dict[str, Any]) -> None:
    action = {a.name: a for a in messaging.parse_actions(amazon_actions)}["sendInvoice"]

    assert action.message_type is INVOICE
    assert action.title == "Send Invoice Message Template"
    assert action.schema["properties"]["attachments"]["maxItems"] == 5
    assert action.schema["properties"]["attachments"]["minItems"] == 1
    assert not action.disabled
    assert action.disabled_reason is None


def test_amazon_sample_unexpected_problem_is_its_type_with_the_text_limit(amazon_actions: dict[str, Any]) -> None:
    action = {a.name: a for a in messaging.parse_actions(amazon_actions)}["unexpectedProblem"]

    assert action.message_type is UNEXPECTED_PROBLEM
    assert action.title == "Notify of a problem with shipping your order"
    assert action.schema["properties"]["rawMessageBody"]["maxLength"] == 2000
    assert action.schema["required"] == ["rawMessageBody"]


def test_amazon_sample_update_feedback_is_an_action_this_product_does_not_send(
    amazon_actions: dict[str, Any],
) -> None:
    action = {a.name: a for a in messaging.parse_actions(amazon_actions)}["updateFeedback"]

    assert action.message_type is None
    assert action.title == "Request to update negative feedback"
    assert action.schema["properties"] == {}


def test_find_action_finds_the_invoice_in_amazons_sample(amazon_actions: dict[str, Any]) -> None:
    actions = messaging.parse_actions(amazon_actions)

    found = messaging.find_action(actions, INVOICE)

    assert found is not None
    assert found.name == "sendInvoice"
    assert messaging.find_action(actions, WARRANTY) is None


# --- parse_actions: both spellings, odd shapes -----------------------------------------------------------


def test_link_named_by_operation_joins_the_schema_named_by_path() -> None:
    body = support.actions_body(["invoice"])
    body["_links"]["actions"][0]["name"] = "sendInvoice"

    (action,) = messaging.parse_actions(body)

    assert action.name == "sendInvoice"
    assert action.message_type is INVOICE
    assert action.schema["properties"]["attachments"]["maxItems"] == 5
    assert action.title == INVOICE.title


def test_link_named_by_path_joins_the_schema_named_by_operation() -> None:
    body = support.actions_body(["sendInvoice"])
    body["_links"]["actions"][0]["name"] = "invoice"

    (action,) = messaging.parse_actions(body)

    assert action.message_type is INVOICE
    assert action.schema["properties"]["attachments"]["minItems"] == 1


def test_names_match_in_any_case() -> None:
    (action,) = messaging.parse_actions(support.actions_body(["SENDINVOICE"]))

    assert action.message_type is INVOICE


def test_both_spellings_of_one_type_make_one_action() -> None:
    actions = messaging.parse_actions(support.actions_body(["sendInvoice", "invoice"]))

    assert [action.message_type for action in actions] == [INVOICE]


def test_action_without_embedded_schema_has_unknown_limits() -> None:
    body = {"_links": {"actions": [{"name": "unexpectedProblem", "href": "/x"}]}}

    (action,) = messaging.parse_actions(body)

    assert action.message_type is UNEXPECTED_PROBLEM
    assert action.schema == {}
    assert action.schema_problem == "Amazon's answer embeds no schema for it"
    assert action.title == "unexpectedProblem"


# --- parse_actions: the model's shape (payload) and the answer's shape --------------------------------------


def test_the_models_shape_reads_the_orders_limits_title_and_disabled_state() -> None:
    text = support.text_schema("unexpectedProblem", 800)
    invoice = support.schema_for(INVOICE) | {"disabled": True, "disabledReason": "Already sent for this order"}
    body = support.actions_body(
        ["unexpectedProblem", "sendInvoice"],
        schemas={"unexpectedProblem": text, "sendInvoice": invoice},
        model_shape=True,
    )

    problem, invoice_action = messaging.parse_actions(body)

    assert (problem.name, problem.message_type, problem.schema_problem) == (
        "unexpectedProblem",
        UNEXPECTED_PROBLEM,
        None,
    )
    assert problem.schema["properties"]["rawMessageBody"]["maxLength"] == 800
    assert problem.title == "unexpectedProblem title"
    assert invoice_action.message_type is INVOICE
    assert invoice_action.disabled
    assert invoice_action.disabled_reason == "Already sent for this order"


def test_both_shapes_make_the_same_actions() -> None:
    names = ["updateFeedback", "unexpectedProblem", "sendInvoice", "CreateWarranty"]

    answer = messaging.parse_actions(support.actions_body(names))
    model = messaging.parse_actions(support.actions_body(names, model_shape=True))

    assert model == answer
    assert all(action.schema_problem is None for action in answer)


def test_the_models_shape_without_links_names_actions_by_their_payload() -> None:
    body = support.actions_body(["sendInvoice"], model_shape=True)
    del body["_links"]

    (action,) = messaging.parse_actions(body)

    assert (action.name, action.message_type, action.schema_problem) == ("sendInvoice", INVOICE, None)


@pytest.mark.parametrize(
    ("embedded", "problem"),
    [
        ({}, "Amazon's answer embeds no schema for it"),
        ({"schema": None}, "its embedded schema is null, not a JSON object"),
        ({"schema": "see _links.schema"}, "its embedded schema is a string, not a JSON object"),
        ({"schema": [{"properties": {}}]}, "its embedded schema is a list, not a JSON object"),
        ({"schema": {"_links": {}, "payload": None}}, "its embedded schema is null, not a JSON object"),
        ({"schema": {"_links": {}, "payload": "x"}}, "its embedded schema is a string, not a JSON object"),
        (
            {"schema": {"_links": {}, "content": {"properties": {}}}},
            "its embedded schema has no 'properties' object (keys: _links, content)",
        ),
        (
            {"schema": {"type": "object", "properties": []}},
            "its embedded schema has no 'properties' object (keys: properties, type)",
        ),
        (
            {"schema": {"type": "object", "properties": {"rawMessageBody": 2000}}},
            "its embedded schema's 'properties' or 'required' are not JSON Schema",
        ),
        (
            {"schema": {"type": "object", "properties": {}, "required": "rawMessageBody"}},
            "its embedded schema's 'properties' or 'required' are not JSON Schema",
        ),
    ],
)
def test_a_schema_that_cannot_be_read_is_a_named_problem_not_an_empty_schema(
    embedded: dict[str, Any], problem: str
) -> None:
    body = support.actions_body(["unexpectedProblem"])
    body["_embedded"]["actions"][0]["_embedded"] = embedded

    (action,) = messaging.parse_actions(body)

    assert action.message_type is UNEXPECTED_PROBLEM
    assert action.schema == {}
    assert action.schema_problem == problem
    assert not action.disabled


def test_embedded_actions_are_used_when_links_are_missing() -> None:
    body = support.actions_body(["createUnexpectedProblem"])
    del body["_links"]

    (action,) = messaging.parse_actions(body)

    assert action.message_type is UNEXPECTED_PROBLEM


def test_only_linked_actions_are_available_even_if_more_schemas_are_embedded() -> None:
    body = support.actions_body(["sendInvoice", "unexpectedProblem"])
    body["_links"]["actions"] = body["_links"]["actions"][:1]

    assert [action.message_type for action in messaging.parse_actions(body)] == [INVOICE]


@pytest.mark.parametrize("body", [{}, {"_links": None, "_embedded": []}, {"_links": {"actions": "x"}}])
def test_malformed_answers_have_no_actions(body: dict[str, Any]) -> None:
    assert messaging.parse_actions(body) == []


def test_disabled_schema_makes_a_disabled_action_with_its_reason() -> None:
    schema = support.schema_for(INVOICE) | {"disabled": True, "disabledReason": "Already sent for this order"}
    body = support.actions_body(["sendInvoice"], schemas={"sendInvoice": schema})

    (action,) = messaging.parse_actions(body)

    assert action.disabled
    assert action.disabled_reason == "Already sent for this order"


# --- build_message_body against the official model -------------------------------------------------------


@ALL_TYPES
def test_catalog_request_definition_is_the_body_of_the_models_operation(
    model: dict[str, Any], message_type: MessageType
) -> None:
    operation = model["paths"]["/messaging/v1/orders/{amazonOrderId}/messages/" + message_type.path]["post"]
    (body_parameter,) = [p for p in operation["parameters"] if p["in"] == "body"]

    assert operation["operationId"] == message_type.operation
    assert body_parameter["schema"]["$ref"] == f"#/definitions/{message_type.request_definition}"


@ALL_TYPES
def test_body_keys_are_properties_of_the_types_request_definition(
    model: dict[str, Any], message_type: MessageType
) -> None:
    properties = set(_request_definition(model, message_type)["properties"])

    body = _full_body(message_type)

    assert set(body) <= properties
    # Given every input, the body uses every field the operation takes: nothing is lost on the way.
    assert set(body) == properties


@pytest.mark.parametrize(
    "message_type", [t for t in catalog.MESSAGE_TYPES if t.attachments is not None], ids=lambda m: m.path
)
def test_body_attachments_have_exactly_the_models_attachment_fields(
    model: dict[str, Any], message_type: MessageType
) -> None:
    attachment = model["definitions"]["Attachment"]
    items_ref = _request_definition(model, message_type)["properties"]["attachments"]["items"]["$ref"]

    body = _full_body(message_type)

    assert items_ref == "#/definitions/Attachment"
    assert body["attachments"] == [
        {"uploadDestinationId": "dest-1", "fileName": "Invoice-1.pdf"},
        {"uploadDestinationId": "dest-2", "fileName": "Terms.pdf"},
    ]
    for item in body["attachments"]:
        assert set(item) == set(attachment["required"])
        assert set(item) <= set(attachment["properties"])


@ALL_TYPES
def test_body_text_is_kept_only_for_types_whose_model_takes_text(
    model: dict[str, Any], message_type: MessageType
) -> None:
    takes_text = "text" in _request_definition(model, message_type)["properties"]

    body = messaging.build_message_body(message_type, text="Hello", attachments=[])

    assert (body.get("text") == "Hello") is takes_text
    assert ("text" in body) is takes_text


def test_warranty_body_includes_the_coverage_dates(model: dict[str, Any]) -> None:
    body = messaging.build_message_body(
        WARRANTY, text=None, attachments=[("d", "w.pdf")], coverage_start_date=START, coverage_end_date=END
    )

    assert body == {
        "attachments": [{"uploadDestinationId": "d", "fileName": "w.pdf"}],
        "coverageStartDate": START,
        "coverageEndDate": END,
    }
    warranty = _request_definition(model, WARRANTY)["properties"]
    assert warranty["coverageStartDate"]["format"] == warranty["coverageEndDate"]["format"] == "date-time"


def test_warranty_body_leaves_out_coverage_dates_not_given() -> None:
    body = messaging.build_message_body(WARRANTY, text=None, attachments=[("d", "w.pdf")], coverage_end_date=END)

    assert "coverageStartDate" not in body
    assert body["coverageEndDate"] == END


@pytest.mark.parametrize("message_type", [t for t in catalog.MESSAGE_TYPES if t is not WARRANTY], ids=lambda m: m.path)
def test_coverage_dates_are_dropped_for_other_types(message_type: MessageType) -> None:
    body = messaging.build_message_body(
        message_type, text="Hi", attachments=[("d", "a.pdf")], coverage_start_date=START, coverage_end_date=END
    )

    assert "coverageStartDate" not in body
    assert "coverageEndDate" not in body


def test_text_is_dropped_for_the_invoice_which_takes_none() -> None:
    body = messaging.build_message_body(INVOICE, text="Please find attached", attachments=[("d", "i.pdf")])

    assert body == {"attachments": [{"uploadDestinationId": "d", "fileName": "i.pdf"}]}


def test_attachments_are_dropped_for_a_text_only_type() -> None:
    body = messaging.build_message_body(UNEXPECTED_PROBLEM, text="Delayed", attachments=[("d", "i.pdf")])

    assert body == {"text": "Delayed"}


def test_no_text_and_no_attachments_make_an_empty_body() -> None:
    confirm = catalog.message_type("confirmCustomizationDetails")

    assert messaging.build_message_body(confirm, text=None, attachments=[]) == {}


# --- Calls -----------------------------------------------------------------------------------------------


def test_get_messaging_actions_calls_the_order_with_the_marketplace(
    http: responses.RequestsMock, amazon_actions: dict[str, Any]
) -> None:
    http.get(ORDER_URL, json=amazon_actions)

    actions = messaging.get_messaging_actions(_client(), support.ORDER_ID, support.MARKETPLACE_ID)

    (call,) = _api_calls(http)
    assert call.request.method == "GET"
    assert urlsplit(call.request.url).path == f"/messaging/v1/orders/{support.ORDER_ID}"
    assert parse_qs(urlsplit(call.request.url).query) == {"marketplaceIds": [support.MARKETPLACE_ID]}
    assert [action.message_type for action in actions] == [None, UNEXPECTED_PROBLEM, INVOICE]


def test_get_buyer_locale_reads_the_buyers_locale(http: responses.RequestsMock) -> None:
    http.get(f"{ORDER_URL}/attributes", json={"buyer": {"locale": "de-DE"}})

    locale = messaging.get_buyer_locale(_client(), support.ORDER_ID, support.MARKETPLACE_ID)

    assert locale == "de-DE"
    (call,) = _api_calls(http)
    assert urlsplit(call.request.url).path == f"/messaging/v1/orders/{support.ORDER_ID}/attributes"
    assert parse_qs(urlsplit(call.request.url).query) == {"marketplaceIds": [support.MARKETPLACE_ID]}


@pytest.mark.parametrize("body", [{}, {"buyer": {}}, {"buyer": {"locale": ""}}, {"buyer": "en-US"}])
def test_get_buyer_locale_is_none_when_amazon_gives_none(http: responses.RequestsMock, body: dict[str, Any]) -> None:
    http.get(f"{ORDER_URL}/attributes", json=body)

    assert messaging.get_buyer_locale(_client(), support.ORDER_ID, support.MARKETPLACE_ID) is None


@ALL_TYPES
def test_send_message_posts_the_body_to_the_types_path(http: responses.RequestsMock, message_type: MessageType) -> None:
    http.post(f"{ORDER_URL}/messages/{message_type.path}", json={}, status=201, headers={"x-amzn-RequestId": "req-1"})
    body = _full_body(message_type)

    request_id = messaging.send_message(_client(), message_type, support.ORDER_ID, support.MARKETPLACE_ID, body)

    assert request_id == "req-1"
    (call,) = _api_calls(http)
    assert call.request.method == "POST"
    assert urlsplit(call.request.url).path == f"/messaging/v1/orders/{support.ORDER_ID}/messages/{message_type.path}"
    assert parse_qs(urlsplit(call.request.url).query) == {"marketplaceIds": [support.MARKETPLACE_ID]}
    assert call.request.headers["Content-Type"] == "application/json"
    assert json.loads(call.request.body) == body


def test_send_message_of_a_type_not_available_for_the_order(http: responses.RequestsMock) -> None:
    http.post(
        f"{ORDER_URL}/messages/invoice",
        status=403,
        json={"errors": [{"code": "Unauthorized", "message": "Invalid amazonOrderId and template combination."}]},
    )

    with pytest.raises(MessageTypeNotAvailable):
        messaging.send_message(_client(), INVOICE, support.ORDER_ID, support.MARKETPLACE_ID, {"attachments": []})
