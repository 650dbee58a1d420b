"""The HTTP API through real HTTP on 127.0.0.1, the deployed ApiFunction's handler, the real state machine and
the SP-API emulator: every route of docs/api.md, its errors included."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
import requests
from pydantic import BaseModel

from api_contract import api_models
from buyer_messaging import console, http_api
from local_stack import samples
from local_stack.template import Template
from tests import support
from tests.integration.conftest import Stack

ORDER = "123-1234567-1234567"
ONLY_UNEXPECTED_PROBLEM = "702-0000000-0000000"
ONCE_PER_ORDER = "114-3941689-8772232"
MARKETPLACE = "ATVPDKIKX0DER"
PDF = samples.invoice_pdf(ORDER)
STAGED_FOLDER = "4f0c2b6e-1d3a-4c5b-9e7f-0a1b2c3d4e5f"  # a uuid4, the folder POST /attachments gives a file


def _documented(model: type[BaseModel], answer: requests.Response) -> dict[str, Any]:
    """The answer's body, checked against its documented model (GET /openapi.json): every field it must
    have, of its type, and no field the document does not name (unless the model says more may come)."""
    body: dict[str, Any] = answer.json()
    model.model_validate(body)
    if model.model_config.get("extra") != "allow":
        assert set(body) <= set(model.model_fields), (
            f"{model.__name__} does not document {set(body) - set(model.model_fields)}"
        )
    return body


def _stage(api: str, name: str, data: bytes, content_type: str = "application/pdf") -> str:
    """POST /attachments, then the browser's multipart POST to S3; the staged key."""
    staged = requests.post(
        f"{api}/attachments", json={"fileName": name, "contentType": content_type, "size": len(data)}
    )
    assert staged.status_code == 201, staged.text
    form = _documented(api_models.StagedUpload, staged)
    assert form["key"].startswith("attachments/") and form["key"].endswith("/" + name)
    assert (form["maxBytes"], form["expiresIn"]) == (len(data), 900)
    upload = requests.post(form["url"], data=form["fields"], files={"file": (name, data, content_type)}, timeout=30)
    assert upload.status_code in (200, 201, 204), upload.text
    return str(form["key"])


def _send(api: str, body: dict[str, Any], order: str = ORDER, key: str | None = None) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return requests.post(f"{api}/orders/{order}/messages", json={"marketplaceId": MARKETPLACE, **body}, headers=headers)


def _until_done(api: str, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        answer = requests.get(f"{api}/messages/{request_id}")
        assert answer.status_code == 200, answer.text
        record = _documented(api_models.RequestStatus, answer)
        if record["done"]:
            return record
        assert time.monotonic() < deadline, record
        time.sleep(0.1)


def _field_errors(answer: requests.Response) -> dict[str, str]:
    body = _documented(api_models.ErrorOut, answer)
    assert set(body) == {"error", "message", "errors"}
    assert body["message"]
    return {problem["field"]: problem["message"] for problem in body["errors"]}


def test_message_types_list_what_the_order_allows_with_its_limits_and_the_buyers_locale(api: str) -> None:
    answer = requests.get(f"{api}/orders/{ORDER}/message-types", params={"marketplaceId": MARKETPLACE})
    assert answer.status_code == 200, answer.text
    body = _documented(api_models.MessageTypesOut, answer)
    assert (body["amazonOrderId"], body["marketplaceId"], body["buyerLocale"]) == (ORDER, MARKETPLACE, "en-US")
    by_type = {item["messageType"]: item for item in body["messageTypes"]}
    assert len(by_type) == 9  # every type of the catalog
    assert all(item["available"] and item["disabledReason"] is None for item in by_type.values())
    invoice = by_type["invoice"]
    assert invoice["operation"] == "sendInvoice"
    assert invoice["title"] and invoice["description"]
    assert invoice["text"] is None
    assert (invoice["attachments"]["minCount"], invoice["attachments"]["maxCount"]) == (1, 5)
    assert invoice["attachments"]["maxTotalBytes"] == 10_000_000
    assert ".pdf" in invoice["attachments"]["extensions"]
    assert by_type["unexpectedProblem"]["text"] == {"required": True, "minLength": 1, "maxLength": 2000}
    assert by_type["warranty"]["coverageDates"] is True


def test_types_the_order_does_not_allow_come_last_with_the_reason(api: str) -> None:
    answer = requests.get(
        f"{api}/orders/{ONLY_UNEXPECTED_PROBLEM}/message-types", params={"marketplaceId": MARKETPLACE}
    )
    assert answer.status_code == 200, answer.text
    types = answer.json()["messageTypes"]
    assert [(t["messageType"], t["available"]) for t in types[:2]] == [
        ("unexpectedProblem", True),
        (types[1]["messageType"], False),
    ]
    assert all(t["disabledReason"] for t in types[1:])


@pytest.mark.parametrize(
    ("path", "params", "fields"),
    [
        (f"/orders/{ORDER}/message-types", {}, {"marketplaceId"}),
        (f"/orders/{ORDER}/message-types", {"marketplaceId": "nope"}, {"marketplaceId"}),
        (f"/orders/{ORDER}/message-types", {"marketplaceId": "A1VC38T7YXB528"}, {"marketplaceId"}),  # JP: fe
        ("/orders/123/message-types", {"marketplaceId": MARKETPLACE}, {"amazonOrderId"}),
    ],
)
def test_message_types_of_bad_input_are_400_with_the_field(
    api: str, path: str, params: dict[str, str], fields: set[str]
) -> None:
    answer = requests.get(api + path, params=params)
    assert answer.status_code == 400, answer.text
    assert set(_field_errors(answer)) == fields


def test_an_invoice_with_a_staged_pdf_is_sent_and_its_status_and_history_tell_it(api: str, stack: Stack) -> None:
    key = _stage(api, "Invoice 1.pdf", PDF)
    answer = _send(api, {"messageType": "sendInvoice", "attachments": [{"key": key, "fileName": "Invoice.pdf"}]})
    assert answer.status_code == 202, answer.text
    accepted = _documented(api_models.Accepted, answer)
    assert accepted["repeat"] is False
    assert answer.headers["Location"] == accepted["statusUrl"] == f"/messages/{accepted['requestId']}"

    record = _until_done(api, accepted["requestId"])
    assert record["status"] == "sent"
    assert record["origin"] == "api"
    assert [entry["status"] for entry in record["history"]] == ["received", "validated", "uploading", "sent"]
    assert record["attachments"][0]["fileName"] == "Invoice.pdf"
    assert "bucket" not in record["attachments"][0]
    (delivery,) = stack.emulator.deliveries(ORDER)
    assert [(a["fileName"], a["md5"]) for a in delivery["attachments"]] == [
        ("Invoice.pdf", hashlib.md5(PDF).hexdigest())
    ]

    history = requests.get(f"{api}/orders/{ORDER}/messages")
    assert history.status_code == 200
    assert [item["requestId"] for item in _documented(api_models.OrderHistory, history)["messages"]] == [
        accepted["requestId"]
    ]


def test_a_repeat_is_answered_with_the_first_request_and_sends_nothing_more(api: str, stack: Stack) -> None:
    body = {"messageType": "unexpectedProblem", "text": "Your parcel is delayed by two days."}
    first = _send(api, body, key="delay-notice-1")
    assert first.status_code == 202, first.text
    _until_done(api, first.json()["requestId"])

    again = _send(api, body, key="delay-notice-1")
    assert again.status_code == 202
    assert again.json() == {**first.json(), "repeat": True}
    # Without a key, the same content is the same request too.
    unkeyed = _send(api, body)
    assert unkeyed.status_code == 202
    _until_done(api, unkeyed.json()["requestId"])
    assert _send(api, body).json() == {**unkeyed.json(), "repeat": True}
    assert len(stack.emulator.deliveries(ORDER)) == 2  # the keyed one and the unkeyed one

    reused = _send(api, {**body, "text": "Another message."}, key="delay-notice-1")
    assert reused.status_code == 409
    assert reused.json()["error"] == "IdempotencyKeyReused"
    assert len(stack.emulator.deliveries(ORDER)) == 2


def test_a_repeat_of_a_once_per_order_message_is_still_a_no_op(api: str, stack: Stack) -> None:
    key = _stage(api, "Warranty.pdf", PDF)
    body = {
        "messageType": "warranty",
        "attachments": [{"key": key}],
        "coverageStartDate": "2026-11-27T00:00:00Z",
        "coverageEndDate": "2028-11-27T00:00:00Z",
    }
    first = _send(api, body, order=ONCE_PER_ORDER, key="warranty-1")
    assert first.status_code == 202, first.text
    assert _until_done(api, first.json()["requestId"])["status"] == "sent"
    # The type is used up for the order now; the repeat must not turn into an error.
    again = _send(api, body, order=ONCE_PER_ORDER, key="warranty-1")
    assert (again.status_code, again.json()["repeat"]) == (202, True)
    other = _send(api, body, order=ONCE_PER_ORDER, key="warranty-2")
    assert other.status_code == 400
    assert other.json()["error"] == "MessageTypeNotAvailable"
    assert set(_field_errors(other)) == {"messageType"}
    assert len(stack.emulator.deliveries(ONCE_PER_ORDER)) == 1


@pytest.mark.parametrize(
    ("body", "error", "fields"),
    [
        ({"messageType": "unexpectedProblem", "text": "x" * 2001}, "InvalidMessageText", {"text"}),
        ({"messageType": "unexpectedProblem"}, "InvalidMessageText", {"text"}),
        ({"messageType": "sendPostcard", "text": "hi"}, "UnknownMessageType", {"messageType"}),
        ({"messageType": "invoice", "attachments": [{"key": 7}]}, "InvalidRequest", {"attachments[0].key"}),
        ({"messageType": "invoice", "colour": "red"}, "InvalidRequest", {"colour"}),
        (
            {"messageType": "invoice", "attachments": [{"key": f"attachments/{STAGED_FOLDER}/missing.pdf"}]},
            "AttachmentNotFound",
            {"attachments"},
        ),
        (
            {"messageType": "invoice", "attachments": [{"key": "attachments/missing.pdf"}]},
            "InvalidAttachments",
            {"attachments[0].key"},
        ),
        (
            {"messageType": "invoice", "attachments": [{"key": "attachments/x.pdf", "bucket": "elsewhere"}]},
            "InvalidRequest",
            {"attachments[0].bucket"},
        ),
        ({"marketplaceId": "A1PA6795UKMFR9x", "messageType": "invoice"}, "InvalidRequest", {"marketplaceId"}),
    ],
)
def test_invalid_messages_are_400_with_field_errors_and_send_nothing(
    api: str, stack: Stack, body: dict[str, Any], error: str, fields: set[str]
) -> None:
    answer = _send(api, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == error
    assert set(_field_errors(answer)) == fields
    assert stack.emulator.deliveries() == []
    assert stack.local.executions() == []


@pytest.mark.parametrize(
    "key", ["other/notes.json", "attachments/invoice-123-1234567-1234567.pdf", "requests/notes.txt", "outbox/notes.txt"]
)
def test_no_object_but_a_staged_file_reaches_a_buyer_through_the_api(api: str, stack: Stack, key: str) -> None:
    stack.put(key, b'{"buyer": "someone else", "address": "..."}')  # none of them starts a message

    answer = _send(api, {"messageType": "invoice", "attachments": [{"key": key, "fileName": "notes.txt"}]})

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "InvalidAttachments"
    assert set(_field_errors(answer)) == {"attachments[0].key"}
    assert stack.emulator.deliveries() == []
    assert stack.local.executions() == []
    assert key in stack.staged_keys()


def test_a_body_that_is_not_json_is_a_400(api: str) -> None:
    answer = requests.post(
        f"{api}/orders/{ORDER}/messages", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert set(_field_errors(answer)) == {"body"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"fileName": "virus.exe", "contentType": "application/octet-stream", "size": 10}, {"fileName"}),
        ({"fileName": "Invoice.pdf", "contentType": "image/png", "size": 10}, {"contentType"}),
        ({"fileName": "Invoice.pdf", "contentType": "application/pdf", "size": 0}, {"size"}),
        ({"fileName": "Invoice.pdf", "contentType": "application/pdf", "size": 10_000_001}, {"size"}),
        # A message's files must total under 10,000,000 bytes: a file of exactly that could never be sent.
        ({"fileName": "Invoice.pdf", "contentType": "application/pdf", "size": 10_000_000}, {"size"}),
        ({"fileName": "../etc/passwd.pdf", "contentType": "application/pdf", "size": 10}, {"fileName"}),
        ({"fileName": "Invoice.pdf", "contentType": "application/pdf"}, {"size"}),
    ],
)
def test_staging_refuses_what_no_message_may_carry(api: str, body: dict[str, Any], fields: set[str]) -> None:
    answer = requests.post(f"{api}/attachments", json=body)
    assert answer.status_code == 400, answer.text
    assert set(_field_errors(answer)) == fields


def test_an_unknown_request_is_404(api: str) -> None:
    answer = requests.get(f"{api}/messages/no-such-request")
    assert answer.status_code == 404
    assert answer.json()["error"] == "RequestNotFound"


def test_a_failed_request_explains_itself_in_its_status(api: str, stack: Stack) -> None:
    key = _stage(api, "Invoice.pdf", PDF)
    stack.emulator.inject_fault("sendInvoice", status=400, count=1, error_code="InvalidInput")
    answer = _send(api, {"messageType": "invoice", "attachments": [{"key": key}]})
    assert answer.status_code == 202, answer.text
    record = _until_done(api, answer.json()["requestId"])
    assert (record["status"], record["error"]) == ("failed", "SpApiInvalidInput")
    assert record["cause"]


def test_amazon_being_busy_is_a_503_with_retry_after(api: str, stack: Stack) -> None:
    stack.emulator.inject_fault("getMessagingActionsForOrder", status=503, count=10)
    answer = requests.get(f"{api}/orders/{ORDER}/message-types", params={"marketplaceId": MARKETPLACE})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"].isdigit()
    assert answer.json()["error"] == "SpApiUnavailable"


def test_the_openapi_document_describes_every_route(api: str) -> None:
    answer = requests.get(f"{api}/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document == http_api.regional_openapi(api_models.openapi_document(), "na")
    # Every route of the API function in the template (the machine API's, and the console API's GET /sellers) but
    # the document itself and the console's static files.
    template = Template.load(support.ROOT / "template.yaml")
    routes = {
        event["Properties"]["Path"] for event in template.resources["ApiFunction"]["Properties"]["Events"].values()
    }
    assert set(document["paths"]) == routes - {"/openapi.json", "/", "/console/{name}"}
    assert {"/orders/{amazonOrderId}/messages", "/campaigns/{campaignId}/runs"} <= set(document["paths"])
    send = document["paths"]["/orders/{amazonOrderId}/messages"]
    assert {"get", "post"} <= set(send)
    assert {"202", "400", "409", "503"} <= set(send["post"]["responses"])
    assert "SendMessageIn" in document["components"]["schemas"]


@pytest.mark.parametrize(
    ("path", "body", "headers", "fields"),
    [
        (f"/orders/{ORDER}/messages", None, {}, {"body"}),
        (f"/orders/{ORDER}/messages", [1], {}, {"body"}),
        (
            f"/orders/{ORDER}/messages",
            {"marketplaceId": MARKETPLACE, "messageType": "invoice"},
            {"Idempotency-Key": "k" * 65},
            {"Idempotency-Key"},
        ),
        ("/attachments", {"fileName": "a.pdf", "contentType": "application/pdf", "size": "1"}, {}, {"size"}),
        ("/attachments", {"fileName": "a.pdf", "contentType": "application/pdf", "size": 1, "acl": "x"}, {}, {"acl"}),
    ],
)
def test_bodies_and_headers_of_the_wrong_shape_are_400_with_the_field(
    api: str, stack: Stack, path: str, body: Any, headers: dict[str, str], fields: set[str]
) -> None:
    answer = requests.post(api + path, json=body, headers=headers)

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "InvalidRequest"
    assert set(_field_errors(answer)) == fields
    assert stack.local.executions() == []


def test_the_console_config_says_no_sign_in_locally(api: str) -> None:
    answer = requests.get(f"{api}/console/config.json")
    assert answer.status_code == 200
    assert answer.json()["auth"] is None
    assert answer.json() == console.config({})  # and the facts the console shows and checks
    assert requests.get(f"{api}/console/..%2Ftemplate.yaml").status_code == 404
    assert requests.get(f"{api}/console/app.py").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("FOO", "/attachments"),  # a method no HTTP server knows
        ("DELETE", "/attachments"),  # a method the route does not have
        ("PUT", "/orders/123-1234567-1234567/messages"),
        ("HEAD", "/openapi.json"),  # API Gateway's HTTP API does not answer HEAD for a GET route
        ("GET", "/nope"),
        ("GET", "/orders//messages"),  # an empty path parameter matches no route
    ],
)
def test_what_no_route_has_gets_api_gateways_json_404_without_invoking_the_function(
    api: str, method: str, path: str
) -> None:
    answer = requests.request(method, api + path, timeout=10)

    assert answer.status_code == 404
    if method != "HEAD":
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json() == {"message": "Not Found"}
