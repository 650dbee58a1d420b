"""The Messaging API: actions with their schemas, buyer attributes, and sending every message type."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from buyer_messaging import catalog
from tests.emulator.conftest import (
    DE,
    GERMAN_ORDER,
    LIMITED_ORDER,
    PDF,
    SANDBOX_ORDER,
    SHIPPED_ORDER,
    US,
    Api,
    error_codes,
    error_messages,
)

NOT_AVAILABLE = {
    "code": "Unauthorized",
    "message": "Invalid amazonOrderId and template combination.",
}


def _actions(api: Api, order: str = SANDBOX_ORDER, marketplace: str = US) -> dict[str, Any]:
    response = api.get_actions(order, marketplace)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _schemas(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {action["name"]: action["_embedded"]["schema"] for action in body["_embedded"]["actions"]}


def _link_name(message_type: catalog.MessageType) -> str:
    return "sendInvoice" if message_type.path == "invoice" else message_type.path


def _valid_body(api: Api, message_type: catalog.MessageType, order: str = SANDBOX_ORDER) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if message_type.text is not None:
        body["text"] = "Hello, this is about your order."
    if message_type.attachments is not None:
        body["attachments"] = [
            {"uploadDestinationId": api.uploaded(message_type.path, order=order), "fileName": "Document.pdf"}
        ]
    if message_type.takes_coverage_dates:
        body["coverageStartDate"] = "2026-01-01T00:00:00Z"
        body["coverageEndDate"] = "2028-01-01T00:00:00Z"
    return body


# --- getMessagingActionsForOrder ------------------------------------------------------------------------


def test_sandbox_order_offers_every_message_type(api: Api) -> None:
    body = _actions(api)

    names = [link["name"] for link in body["_links"]["actions"]]
    assert names == [_link_name(m) for m in catalog.MESSAGE_TYPES]
    assert [action["name"] for action in body["_embedded"]["actions"]] == names
    assert body["_links"]["self"] == {"href": f"/messaging/v1/orders/{SANDBOX_ORDER}?marketplaceIds={US}"}


def test_action_links_carry_the_marketplace(api: Api) -> None:
    links = {link["name"]: link["href"] for link in _actions(api)["_links"]["actions"]}

    assert links["unexpectedProblem"] == (
        f"/messaging/v1/orders/{SANDBOX_ORDER}/messages/unexpectedProblem?marketplaceIds={US}"
    )
    # Amazon names the invoice action by its operation, as in its recorded sample.
    assert links["sendInvoice"] == f"/messaging/v1/orders/{SANDBOX_ORDER}/messages/sendInvoice?marketplaceIds={US}"


def test_embedded_actions_have_links_and_titles(api: Api) -> None:
    for action in _actions(api)["_embedded"]["actions"]:
        message_type = catalog.find_message_type(action["name"])
        assert message_type is not None
        assert action["title"] == message_type.title
        assert action["_links"]["self"]["name"] == action["name"]
        assert action["_links"]["schema"]["href"].endswith(f"/messages/{action['name']}/schema")


@pytest.mark.parametrize("message_type", catalog.MESSAGE_TYPES, ids=lambda m: m.path)
def test_each_schema_states_the_catalogs_rules(api: Api, message_type: catalog.MessageType) -> None:
    schema = _schemas(_actions(api))[_link_name(message_type)]

    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["type"] == "object"
    assert schema["title"] == message_type.title
    assert schema["description"] == message_type.description
    assert schema["disabled"] is False
    assert schema["disabledReason"] is None
    assert schema["_links"]["self"]["name"] == _link_name(message_type)
    properties = schema["properties"]
    if message_type.text is None:
        assert "rawMessageBody" not in properties
    else:
        text = properties["rawMessageBody"]
        assert text["type"] == "string"
        assert text["minLength"] == 1
        assert text["maxLength"] == message_type.text.max_length
        assert ("rawMessageBody" in schema["required"]) is message_type.text.required
    if message_type.attachments is None:
        assert "attachments" not in properties
    else:
        files = properties["attachments"]
        assert files["type"] == "array"
        assert files["maxItems"] == 5
        assert files["minItems"] == message_type.attachments.min_count
        assert ("attachments" in schema["required"]) is (message_type.attachments.min_count > 0)
        for extension in (".pdf", ".docx", ".jpg", ".gif", ".png", ".txt"):
            assert extension in files["description"]
        assert "less than 10 MB" in files["description"]


def test_schema_override_tightens_the_text_limit(api: Api) -> None:
    schema = _schemas(_actions(api, GERMAN_ORDER, DE))["unexpectedProblem"]

    assert schema["properties"]["rawMessageBody"]["maxLength"] == 1000


def test_limited_order_offers_only_its_types(api: Api) -> None:
    body = _actions(api, LIMITED_ORDER)

    assert [link["name"] for link in body["_links"]["actions"]] == ["unexpectedProblem"]


def test_the_real_clients_parser_reads_the_actions(api: Api) -> None:
    from buyer_messaging.messaging import parse_actions

    actions = parse_actions(_actions(api))

    assert [action.message_type for action in actions] == list(catalog.MESSAGE_TYPES)
    assert all(action.schema for action in actions)


# --- GetAttributes ---------------------------------------------------------------------------------------


def test_attributes_answer_the_buyers_locale(api: Api) -> None:
    german = api.get_attributes(GERMAN_ORDER, DE)

    assert german.status_code == 200
    assert german.json() == {"buyer": {"locale": "de-DE"}}
    assert german.headers["x-amzn-RateLimit-Limit"] == "1.0"
    assert api.get_attributes().json() == {"buyer": {"locale": "en-US"}}


# --- sending ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("message_type", catalog.MESSAGE_TYPES, ids=lambda m: m.path)
def test_every_message_type_is_delivered(api: Api, message_type: catalog.MessageType) -> None:
    body = _valid_body(api, message_type)

    response = api.send(message_type.path, body)

    assert response.status_code == 201, response.text
    assert response.json() == {}
    assert response.headers["x-amzn-RateLimit-Limit"] == "1.0"
    [delivery] = api.emulator.deliveries(SANDBOX_ORDER)
    assert delivery["messageType"] == message_type.path
    assert delivery["operation"] == message_type.operation
    assert delivery["marketplaceId"] == US
    assert delivery["text"] == body.get("text")
    assert delivery["requestId"] == response.headers["x-amzn-RequestId"]
    assert [a["fileName"] for a in delivery["attachments"]] == [a["fileName"] for a in body.get("attachments", [])]
    if message_type.takes_coverage_dates:
        assert delivery["coverageStartDate"] == "2026-01-01T00:00:00Z"


def test_delivery_records_size_and_digests_of_the_uploaded_bytes(api: Api) -> None:
    import base64
    import hashlib

    destination_id = api.uploaded("invoice", PDF)
    api.send("invoice", {"attachments": [{"uploadDestinationId": destination_id, "fileName": "Invoice 7.pdf"}]})

    [attachment] = api.emulator.deliveries()[0]["attachments"]

    assert attachment == {
        "fileName": "Invoice 7.pdf",
        "uploadDestinationId": destination_id,
        "size": len(PDF),
        "md5": hashlib.md5(PDF).hexdigest(),
        "contentMd5": base64.b64encode(hashlib.md5(PDF).digest()).decode(),
        "contentType": None,
    }


def test_deliveries_filter_by_order(api: Api) -> None:
    api.send("unexpectedProblem", {"text": "Delayed."})
    api.send("unexpectedProblem", {"text": "Delayed too."}, order=LIMITED_ORDER)

    assert [d["text"] for d in api.emulator.deliveries(LIMITED_ORDER)] == ["Delayed too."]
    assert len(api.emulator.deliveries()) == 2


def test_type_not_allowed_for_the_order_is_403(api: Api) -> None:
    response = api.send("confirmOrderDetails", {"text": "Which colour?"}, order=LIMITED_ORDER)

    assert response.status_code == 403
    [error] = response.json()["errors"]
    assert {"code": error["code"], "message": error["message"]} == NOT_AVAILABLE
    assert api.emulator.deliveries() == []


def test_once_per_order_type_leaves_the_actions_after_one_send(api: Api) -> None:
    body = _valid_body(api, catalog.message_type("warranty"), SHIPPED_ORDER)
    assert "warranty" in [link["name"] for link in _actions(api, SHIPPED_ORDER)["_links"]["actions"]]

    first = api.send("warranty", body, order=SHIPPED_ORDER)
    second = api.send("warranty", _valid_body(api, catalog.message_type("warranty"), SHIPPED_ORDER), SHIPPED_ORDER)

    assert first.status_code == 201
    assert "warranty" not in [link["name"] for link in _actions(api, SHIPPED_ORDER)["_links"]["actions"]]
    assert second.status_code == 403
    assert second.json()["errors"][0]["message"] == NOT_AVAILABLE["message"]


def test_other_types_stay_after_sending(api: Api) -> None:
    api.send("unexpectedProblem", {"text": "Delayed."}, order=SHIPPED_ORDER)

    assert "unexpectedProblem" in [link["name"] for link in _actions(api, SHIPPED_ORDER)["_links"]["actions"]]


def test_reset_restores_once_per_order_types(api: Api) -> None:
    api.send("warranty", _valid_body(api, catalog.message_type("warranty"), SHIPPED_ORDER), SHIPPED_ORDER)

    api.emulator.reset()

    assert "warranty" in [link["name"] for link in _actions(api, SHIPPED_ORDER)["_links"]["actions"]]
    assert api.emulator.deliveries() == []


# --- the body, like Amazon's model ------------------------------------------------------------------------


def _rejected(api: Api, message_type: str, body: Any, order: str = SANDBOX_ORDER, marketplace: str = US) -> str:
    delivered = len(api.emulator.deliveries())
    response = api.send(message_type, body, order, marketplace)
    assert response.status_code == 400, response.text
    assert set(error_codes(response)) == {"InvalidInput"}
    assert len(api.emulator.deliveries()) == delivered  # nothing sent
    return error_messages(response)


def _notes(api: Api, operation: str) -> list[str]:
    return [note for call in api.emulator.calls(operation) for note in call["notes"]]


def test_a_field_the_model_does_not_list_is_ignored_and_noted(api: Api) -> None:
    # The models' request definitions do not forbid other properties; python-amazon-sp-api sends these.
    body = {"text": "Delayed.", "marketplaceIds": [US], "MarketplaceIds": [US]}

    assert api.send("unexpectedProblem", body).status_code == 201
    assert [d["text"] for d in api.emulator.deliveries()] == ["Delayed."]
    assert _notes(api, "createUnexpectedProblem") == [
        f"Body field {name} is not in the model of createUnexpectedProblem (CreateUnexpectedProblemRequest); ignored."
        for name in ("MarketplaceIds", "marketplaceIds")
    ]


def test_text_for_a_type_without_text_is_ignored_and_noted(api: Api) -> None:
    destination_id = api.uploaded("invoice")
    body = {"text": "Here it is", "attachments": [{"uploadDestinationId": destination_id, "fileName": "a.pdf"}]}

    assert api.send("invoice", body).status_code == 201
    assert [d["text"] for d in api.emulator.deliveries()] == [None]
    assert _notes(api, "sendInvoice") == [
        "Body field text is not in the model of sendInvoice (InvoiceRequest); ignored."
    ]


def test_empty_text_is_400(api: Api) -> None:
    assert "at least 1" in _rejected(api, "unexpectedProblem", {"text": ""})


def test_missing_required_text_is_400(api: Api) -> None:
    assert "text is required" in _rejected(api, "confirmDeliveryDetails", {})


@pytest.mark.parametrize("message_type", [m for m in catalog.MESSAGE_TYPES if m.text], ids=lambda m: m.path)
def test_text_longer_than_the_catalogs_limit_is_400(api: Api, message_type: catalog.MessageType) -> None:
    assert message_type.text is not None
    limit = message_type.text.max_length
    assert api.send(message_type.path, {"text": "x" * limit}).status_code == 201

    assert f"at most {limit}" in _rejected(api, message_type.path, {"text": "x" * (limit + 1)})


def test_text_longer_than_the_overridden_limit_is_400(api: Api) -> None:
    assert api.send("unexpectedProblem", {"text": "x" * 1000}, GERMAN_ORDER, DE).status_code == 201

    assert "at most 1000" in _rejected(api, "unexpectedProblem", {"text": "x" * 1001}, GERMAN_ORDER, DE)


def test_text_length_counts_characters_not_bytes(api: Api) -> None:
    assert api.send("digitalAccessKey", {"text": "ü" * 400}).status_code == 201


@pytest.mark.parametrize(
    ("text", "problem"),
    [("Write to me at buyer.help@example.com", "email"), ("<b>Important</b> news", "HTML")],
)
def test_html_and_email_addresses_in_text_are_400(api: Api, text: str, problem: str) -> None:
    assert problem in _rejected(api, "unexpectedProblem", {"text": text})


def test_text_with_angle_brackets_that_are_not_html_is_fine(api: Api) -> None:
    assert api.send("unexpectedProblem", {"text": "Delivery in < 3 days, > 2 parcels."}).status_code == 201


def test_required_attachments_missing_is_400(api: Api) -> None:
    assert "attachments is required" in _rejected(api, "invoice", {})


def test_empty_attachment_list_for_a_required_type_is_400(api: Api) -> None:
    assert "at least 1" in _rejected(api, "legalDisclosure", {"attachments": []})


def test_six_attachments_are_400(api: Api) -> None:
    attachments = [
        {"uploadDestinationId": api.uploaded("invoice", PDF + bytes([n])), "fileName": f"{n}.pdf"} for n in range(6)
    ]

    assert "at most 5" in _rejected(api, "invoice", {"attachments": attachments})


def test_attachment_without_file_name_is_400(api: Api) -> None:
    body = {"attachments": [{"uploadDestinationId": api.uploaded("invoice")}]}

    assert "fileName is required" in _rejected(api, "invoice", body)


def test_attachment_with_an_extra_field_is_accepted_and_noted(api: Api) -> None:
    body = {"attachments": [{"uploadDestinationId": api.uploaded("invoice"), "fileName": "a.pdf", "id": "1"}]}

    assert api.send("invoice", body).status_code == 201
    assert _notes(api, "sendInvoice") == ["Body field attachments[0].id is not in the model's Attachment; ignored."]


@pytest.mark.parametrize("file_name", ["invoice.exe", "invoice", "invoice.pdf.zip", ".pdf"])
def test_file_name_without_an_allowed_extension_is_400(api: Api, file_name: str) -> None:
    body = {"attachments": [{"uploadDestinationId": api.uploaded("invoice"), "fileName": file_name}]}

    assert "not an allowed file type" in _rejected(api, "invoice", body)


def test_same_destination_twice_in_one_message_is_400(api: Api) -> None:
    destination_id = api.uploaded("invoice")
    attachment = {"uploadDestinationId": destination_id, "fileName": "a.pdf"}

    assert "twice" in _rejected(api, "invoice", {"attachments": [attachment, dict(attachment, fileName="b.pdf")]})


def test_message_with_neither_text_nor_files_is_400(api: Api) -> None:
    assert "text or at least one attachment" in _rejected(api, "confirmCustomizationDetails", {})


def test_warranty_dates_must_be_date_times(api: Api) -> None:
    body = _valid_body(api, catalog.message_type("warranty"))
    body["coverageStartDate"] = "2026-01-01"

    assert "coverageStartDate" in _rejected(api, "warranty", body)


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-31T00:00:00Z",
        "2026-01-31t00:00:00z",
        "2026-01-31T00:00:00.123456789+05:30",
        "2026-01-31T00:00:00-00:00",
        "2016-12-31T23:59:60Z",
    ],
)
def test_warranty_dates_in_every_rfc_3339_form_are_taken(api: Api, value: str) -> None:
    body = _valid_body(api, catalog.message_type("warranty"))
    body["coverageStartDate"] = value

    assert api.send("warranty", body).status_code == 201
    assert api.emulator.deliveries()[-1]["coverageStartDate"] == value


@pytest.mark.parametrize(
    "value",
    [
        "20260131T000000Z",
        "2026-W05-6T00:00:00Z",
        "2026-01-31 00:00:00Z",
        "2026-01-31T00:00Z",
        "2026-01-31T00:00:00+0100",
        "2026-01-31T00:00:00",
        "2026-02-29T00:00:00Z",
        "2026-01-31T00:00:00+24:00",
    ],
)
def test_warranty_dates_in_other_iso_8601_forms_are_400(api: Api, value: str) -> None:
    body = _valid_body(api, catalog.message_type("warranty"))
    body["coverageStartDate"] = value

    assert _rejected(api, "warranty", body).strip() == (
        f"coverageStartDate {value!r} is not an RFC 3339 date-time like 2026-01-31T00:00:00Z."
    )


def test_warranty_without_dates_is_fine(api: Api) -> None:
    body = _valid_body(api, catalog.message_type("warranty"))
    del body["coverageStartDate"], body["coverageEndDate"]

    assert api.send("warranty", body).status_code == 201


def test_body_that_is_not_json_is_400(api: Api) -> None:
    response = api.session.post(
        api.base_url + catalog.message_type("unexpectedProblem").send_path(SANDBOX_ORDER),
        params={"marketplaceIds": US},
        data=b'{"text": "unfinished',
        headers=api.headers(**{"Content-Type": "application/json"}),
    )

    assert response.status_code == 400
    assert error_codes(response) == ["InvalidInput"]


def test_body_that_is_not_an_object_is_400(api: Api) -> None:
    assert "JSON object" in _rejected(api, "unexpectedProblem", ["text"])


def test_duplicate_fields_are_400(api: Api) -> None:
    response = api.session.post(
        api.base_url + catalog.message_type("unexpectedProblem").send_path(SANDBOX_ORDER),
        params={"marketplaceIds": US},
        data=b'{"text": "a", "text": "b"}',
        headers=api.headers(**{"Content-Type": "application/json"}),
    )

    assert response.status_code == 400


def test_form_body_is_415(api: Api) -> None:
    response = api.session.post(
        api.base_url + catalog.message_type("unexpectedProblem").send_path(SANDBOX_ORDER),
        params={"marketplaceIds": US},
        data={"text": "Delayed."},
        headers=api.headers(),
    )

    assert response.status_code == 415
    assert "x-amzn-RateLimit-Limit" not in response.headers


def test_oversized_body_is_413(api: Api) -> None:
    response = api.session.post(
        api.base_url + catalog.message_type("unexpectedProblem").send_path(SANDBOX_ORDER),
        params={"marketplaceIds": US},
        data=json.dumps({"text": "x" * 100_000}).encode(),
        headers=api.headers(**{"Content-Type": "application/json"}),
    )

    assert response.status_code == 413
    assert api.get_actions().status_code == 200  # the connection was handled cleanly


# --- attachments must name correct uploads for this order and type ----------------------------------------


def test_destination_of_another_order_is_400(api: Api) -> None:
    destination_id = api.uploaded("invoice", order=SHIPPED_ORDER)
    body = {"attachments": [{"uploadDestinationId": destination_id, "fileName": "a.pdf"}]}

    assert f"messaging/v1/orders/{SHIPPED_ORDER}/messages/invoice" in _rejected(api, "invoice", body)


def test_destination_of_another_message_type_is_400(api: Api) -> None:
    destination_id = api.uploaded("warranty")
    body = {"attachments": [{"uploadDestinationId": destination_id, "fileName": "a.pdf"}]}

    assert "messages/warranty" in _rejected(api, "invoice", body)


def test_destination_used_by_a_sent_message_cannot_be_reused(api: Api) -> None:
    body = {"attachments": [{"uploadDestinationId": api.uploaded("invoice"), "fileName": "a.pdf"}]}
    assert api.send("invoice", body).status_code == 201

    again = api.send("invoice", body)

    assert again.status_code == 400
    assert "already used" in error_messages(again)
    assert len(api.emulator.deliveries()) == 1


def test_empty_upload_is_400(api: Api) -> None:
    body = {"attachments": [{"uploadDestinationId": api.uploaded("invoice", b""), "fileName": "a.pdf"}]}

    assert "empty" in _rejected(api, "invoice", body)


def test_total_size_must_be_below_the_limit(api: Api) -> None:
    limit = catalog.ATTACHMENTS_TOTAL_BYTES_LIMIT
    half = b"x" * (limit // 2)
    first = api.uploaded("invoice", half)
    second = api.uploaded("invoice", half)
    smaller = api.uploaded("invoice", half[:-1])
    too_big = [
        {"uploadDestinationId": first, "fileName": "1.pdf"},
        {"uploadDestinationId": second, "fileName": "2.pdf"},
    ]
    fits = [{"uploadDestinationId": first, "fileName": "1.pdf"}, {"uploadDestinationId": smaller, "fileName": "2.pdf"}]

    assert "less than" in _rejected(api, "invoice", {"attachments": too_big})
    assert api.send("invoice", {"attachments": fits}).status_code == 201


def test_every_problem_is_reported(api: Api) -> None:
    body = {
        "attachments": [
            {"uploadDestinationId": "00000000-0000-0000-0000-000000000000", "fileName": "a.pdf"},
            {"uploadDestinationId": api.destination("invoice")["uploadDestinationId"], "fileName": "b.pdf"},
        ]
    }

    response = api.send("invoice", body)

    assert response.status_code == 400
    assert len(response.json()["errors"]) == 2


def test_validation_does_not_change_the_request(api: Api) -> None:
    body = _valid_body(api, catalog.message_type("invoice"))
    sent = copy.deepcopy(body)

    api.send("invoice", body)

    assert body == sent
