"""The HTTP API's logic without HTTP: error mapping, the order's limits, staging forms (moto, fake SP-API)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import responses

from buyer_messaging import errors, http_api
from tests import support

ACTIONS_URL = f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}"


def _error_classes() -> list[type[errors.BuyerMessagingError]]:
    abstract = (errors.BuyerMessagingError, errors.TransientError, errors.SpApiError)
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.BuyerMessagingError) and value not in abstract
    ]


@pytest.mark.parametrize("kind", _error_classes(), ids=lambda kind: kind.__name__)
def test_every_named_error_has_a_status_and_a_body(kind: type[errors.BuyerMessagingError]) -> None:
    error = kind("Something a person can read.")
    status, body = http_api.error_response(error)
    assert body["error"] == kind.__name__
    assert body["message"] == "Something a person can read."
    if error.transient:
        assert status == 503
    else:
        assert status in {400, 403, 404, 409, 413, 415, 500, 502}
    assert all(set(problem) == {"field", "message"} for problem in body["errors"])


@pytest.mark.parametrize(
    ("error", "status", "fields"),
    [
        (errors.InvalidMessageText("too long"), 400, ["text"]),
        (errors.MessageTypeNotAvailable("not now"), 400, ["messageType"]),
        (errors.InvalidRequest("bad", problems=(("a", "x"), ("b", "y"))), 400, ["a", "b"]),
        (errors.InvalidRequest("bad"), 400, []),
        (errors.SpApiNotFound("no order"), 404, ["amazonOrderId"]),
        (errors.IdempotencyKeyReused("reused"), 409, ["Idempotency-Key"]),
        (errors.UnsupportedContentType("not JSON"), 415, ["Content-Type"]),
        (errors.ManifestInvalid("empty"), 400, ["manifest"]),
        (errors.DuplicateRow("row 2 repeats row 1"), 400, ["manifest"]),
        (errors.CampaignExists("taken"), 409, ["name"]),
        (errors.ManifestTooLarge("too many rows"), 413, ["manifest"]),
        (errors.LwaInvalidGrant("re-authorize"), 502, []),
        (errors.SellerNotPermitted("not yours"), 403, ["sellingPartnerId"]),
        (errors.ConfigurationError("unset"), 500, []),
        (errors.SpApiThrottled("slow down"), 503, []),
    ],
)
def test_errors_map_to_what_the_caller_can_do(
    error: errors.BuyerMessagingError, status: int, fields: list[str]
) -> None:
    code, body = http_api.error_response(error)
    assert code == status
    assert [problem["field"] for problem in body["errors"]] == fields


def test_the_orders_schema_limits_win_and_unavailable_types_say_why(
    aws: dict[str, Any], http: responses.RequestsMock
) -> None:
    actions = support.actions_body(["unexpectedProblem", "sendInvoice"])
    for action in actions["_embedded"]["actions"]:
        if action["name"] == "unexpectedProblem":
            action["_embedded"]["schema"]["properties"]["rawMessageBody"]["maxLength"] = 1000
        else:
            action["_embedded"]["schema"].update(disabled=True, disabledReason="The order has not shipped yet.")
    http.get(ACTIONS_URL, json=actions)
    http.get(f"{ACTIONS_URL}/attributes", json={"buyer": {"locale": "fr-CA"}})

    body = http_api.message_types(support.ORDER_ID, support.MARKETPLACE_ID)

    assert body["buyerLocale"] == "fr-CA"
    first, second, *rest = body["messageTypes"]
    assert (first["messageType"], first["available"], first["text"]["maxLength"]) == ("unexpectedProblem", True, 1000)
    assert (second["messageType"], second["available"]) == ("invoice", False)
    assert second["disabledReason"] == "The order has not shipped yet."
    assert all(not item["available"] and item["disabledReason"] == http_api.NOT_OFFERED for item in rest)


def test_message_types_read_the_models_shape_and_show_an_unreadable_schema_as_not_available(
    aws: dict[str, Any], http: responses.RequestsMock
) -> None:
    text = support.text_schema("unexpectedProblem", 1000)
    actions = support.actions_body(
        ["unexpectedProblem", "sendInvoice"], schemas={"unexpectedProblem": text}, model_shape=True
    )
    actions["_embedded"]["actions"][1]["_embedded"]["schema"]["payload"] = None
    http.get(ACTIONS_URL, json=actions)
    http.get(f"{ACTIONS_URL}/attributes", json={"buyer": {"locale": "fr-CA"}})

    body = http_api.message_types(support.ORDER_ID, support.MARKETPLACE_ID)

    problem, invoice = body["messageTypes"][:2]
    assert (problem["messageType"], problem["available"], problem["text"]["maxLength"]) == (
        "unexpectedProblem",
        True,
        1000,
    )
    assert problem["title"] == "unexpectedProblem title"
    assert (invoice["messageType"], invoice["available"]) == ("invoice", False)
    assert invoice["disabledReason"] == (
        "Amazon offers this message type, but its schema for this order cannot be read "
        "(its embedded schema is null, not a JSON object)."
    )


def test_a_staging_form_lets_s3_check_the_size_and_type(aws: dict[str, Any]) -> None:
    form = http_api.stage_attachment("Invoice 1.pdf", "application/pdf", 1234)
    assert form["key"].startswith("attachments/") and form["key"].endswith("/Invoice 1.pdf")
    fields = form["fields"]
    assert (fields["key"], fields["Content-Type"]) == (form["key"], "application/pdf")
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"  # SigV4: the bucket's region, no redirect
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1234, 1234] in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]
    assert {"key": form["key"]} in policy["conditions"]
    # Two files of the same name never share a key.
    assert http_api.stage_attachment("Invoice 1.pdf", "application/pdf", 1234)["key"] != form["key"]


@pytest.mark.parametrize("order_id", ["123", "123-1234567-123456", "", "abc-defghij-klmnopq"])
def test_order_ids_are_checked_before_any_call(order_id: str) -> None:
    with pytest.raises(errors.InvalidRequest) as raised:
        http_api.check_order_id(order_id)
    assert raised.value.problems[0][0] == "amazonOrderId"


def _fields(raised: pytest.ExceptionInfo[errors.InvalidRequest]) -> set[str]:
    return {name for name, _ in raised.value.problems}


def test_the_sample_message_body_reads_as_it_is() -> None:
    event = support.load_event("api/post-message.json")

    assert http_api.read_send_message(event["body"]) == json.loads(event["body"])


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        (None, {"body"}),
        ("  ", {"body"}),
        ("{not json", {"body"}),
        ("[1, 2]", {"body"}),
        ('{"messageType": "invoice"}', {"marketplaceId"}),
        ('{"marketplaceId": 7, "messageType": "invoice"}', {"marketplaceId"}),
        ('{"marketplaceId": "M", "messageType": "invoice", "colour": "red"}', {"colour"}),
        ('{"marketplaceId": "M", "messageType": "invoice", "amazonOrderId": "1"}', {"amazonOrderId"}),
        ('{"marketplaceId": "M", "messageType": "invoice", "attachments": {}}', {"attachments"}),
        ('{"marketplaceId": "M", "messageType": "invoice", "attachments": [{"key": 7}]}', {"attachments[0].key"}),
        ('{"marketplaceId": "M", "messageType": "invoice", "attachments": [{}]}', {"attachments[0].key"}),
        (
            '{"marketplaceId": "M", "messageType": "invoice", "attachments": [{"key": "k", "bucket": "b"}]}',
            {"attachments[0].bucket"},
        ),
        ('{"marketplaceId": "M", "messageType": "x", "text": 5, "coverageEndDate": []}', {"text", "coverageEndDate"}),
    ],
)
def test_a_message_body_of_the_wrong_shape_names_every_bad_field(raw: str | None, fields: set[str]) -> None:
    with pytest.raises(errors.InvalidRequest) as raised:
        http_api.read_send_message(raw)

    assert _fields(raised) == fields


def test_a_staging_body_reads_into_its_three_fields() -> None:
    staging = http_api.read_stage_attachment(support.load_event("api/post-attachment.json")["body"])

    assert staging == http_api.StagingRequest("Invoice-123-1234567-1234567.pdf", "application/pdf", 1234)


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        ('{"fileName": "a.pdf", "contentType": "application/pdf"}', {"size"}),
        ('{"fileName": "a.pdf", "contentType": "application/pdf", "size": "10"}', {"size"}),
        ('{"fileName": "a.pdf", "contentType": "application/pdf", "size": true}', {"size"}),
        ('{"contentType": "application/pdf", "size": 1}', {"fileName"}),
        ('{"fileName": "a.pdf", "contentType": "application/pdf", "size": 1, "acl": "public-read"}', {"acl"}),
        ("null", {"body"}),
    ],
)
def test_a_staging_body_of_the_wrong_shape_names_every_bad_field(raw: str, fields: set[str]) -> None:
    with pytest.raises(errors.InvalidRequest) as raised:
        http_api.read_stage_attachment(raw)

    assert _fields(raised) == fields


@pytest.mark.parametrize("value", ["", "k" * 65])
def test_an_idempotency_key_has_1_to_64_characters(value: str) -> None:
    with pytest.raises(errors.InvalidRequest) as raised:
        http_api.read_idempotency_key(value)

    assert _fields(raised) == {"Idempotency-Key"}
    assert http_api.read_idempotency_key("k" * 64) == "k" * 64
    assert http_api.read_idempotency_key(None) is None


@pytest.mark.parametrize("value", [None, ""])
def test_the_marketplace_is_required(value: str | None) -> None:
    with pytest.raises(errors.InvalidRequest) as raised:
        http_api.read_marketplace_id(value)

    assert _fields(raised) == {"marketplaceId"}
