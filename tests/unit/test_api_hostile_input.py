"""The API function under hostile input (issue 13): its real handler, called with the events API Gateway would
hand it, answers every attack with a 4xx JSON answer that can be sent (UTF-8), and starts nothing."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
import responses

from buyer_messaging import errors, http_api, trigger, validation
from buyer_messaging.campaigns import keys
from buyer_messaging.models import MessageRequest
from local_stack.template import Template
from tests import support

# Handlers that fail before adding a metric flush an empty set; powertools warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

STAGED_FOLDER = "4f0c2b6e-1d3a-4c5b-9e7f-0a1b2c3d4e5f"  # a uuid4, as POST /attachments makes them
STAGING = {"fileName": "Invoice.pdf", "contentType": "application/pdf", "size": 1234}


def _handler() -> Any:
    return support.function_module("api").lambda_handler


def _event(
    path: str, body: str | bytes, *, content_type: str | None = "application/json", base64_encoded: bool = False
) -> dict[str, Any]:
    """A POST as API Gateway hands it over (payload 2.0): a body it does not take for text arrives base64."""
    event: dict[str, Any] = copy.deepcopy(support.load_event("api/post-message.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["headers"].pop("content-type", None)
    if content_type is not None:
        event["headers"]["content-type"] = content_type
    if base64_encoded:
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        event["body"], event["isBase64Encoded"] = base64.b64encode(data).decode("ascii"), True
    else:
        assert isinstance(body, str)
        event["body"], event["isBase64Encoded"] = body, False
    return event


def _call(event: dict[str, Any], lambda_context: Any) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of the answer, which must be sendable: UTF-8 text, whatever the request held."""
    result = _handler()(event, lambda_context)
    raw = result["body"].encode("utf-8")  # a lone surrogate here is an answer API Gateway cannot send
    return result["statusCode"], json.loads(raw)


def _message(key: str, file_name: str = "Invoice.pdf") -> str:
    return json.dumps(
        {
            "marketplaceId": support.MARKETPLACE_ID,
            "messageType": "invoice",
            "attachments": [{"key": key, "fileName": file_name}],
        }
    )


MESSAGES = f"/orders/{support.ORDER_ID}/messages"


# --- 1. only keys POST /attachments hands out ----------------------------------------------------------------


def _bucket_prefixes() -> set[str]:
    """Every prefix the staging bucket starts something under (template.yaml's S3 notifications)."""
    bucket = Template.load(support.ROOT / "template.yaml").resources["StagingBucket"]
    configurations = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    return {
        rule["Value"]
        for configuration in configurations
        for rule in configuration["Filter"]["S3Key"]["Rules"]
        if rule["Name"] == "prefix"
    }


OTHER_KEYS = {
    "outbox file (another order's invoice)": f"outbox/{support.MARKETPLACE_ID}/{support.ORDER_ID}/invoice/Invoice.pdf",
    "request document": "requests/order-42.json",
    "campaign manifest": "campaigns/recall-2026-11.csv",
    "a seller's request document": "sellers/A2EXAMPLESELLER/requests/order-42.json",
    "a seller's file that is no staged upload": "sellers/A2EXAMPLESELLER/attachments/invoice.pdf",
    "a seller segment that is no seller id": f"sellers/a2example/attachments/{STAGED_FOLDER}/Invoice.pdf",
    "file the back office staged for a request document": "attachments/invoice-123-1234567-1234567.pdf",
    "any other object": "other/notes.json",
    "traversal out of a staged folder": f"attachments/{STAGED_FOLDER}/../../requests/order-42.json",
    "'..' as the file name": f"attachments/{STAGED_FOLDER}/..",
    "empty file name": f"attachments/{STAGED_FOLDER}/",
    "empty folder": "attachments//Invoice.pdf",
    "empty segment": f"attachments/{STAGED_FOLDER}//Invoice.pdf",
    "folder in the file name": f"attachments/{STAGED_FOLDER}/2026/Invoice.pdf",
    "leading slash": f"/attachments/{STAGED_FOLDER}/Invoice.pdf",
    "other case of the prefix": f"Attachments/{STAGED_FOLDER}/Invoice.pdf",
    "folder that is no uuid": "attachments/invoices/Invoice.pdf",
    "trailing newline": f"attachments/{STAGED_FOLDER}/Invoice.pdf\n",
    "empty key": "",
}


def test_the_refused_keys_cover_every_prefix_the_bucket_uses() -> None:
    prefixes = _bucket_prefixes() | {trigger.OUTBOX_PREFIX, trigger.REQUESTS_PREFIX, keys.MANIFEST_PREFIX}
    assert prefixes == {"outbox/", "requests/", "campaigns/", "sellers/"}
    assert all(any(key.startswith(prefix) for key in OTHER_KEYS.values()) for prefix in prefixes)


@pytest.mark.parametrize("key", OTHER_KEYS.values(), ids=OTHER_KEYS.keys())
def test_a_message_names_only_keys_post_attachments_hands_out(
    key: str, aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    if key and not key.endswith("/"):
        aws["s3"].put_object(Bucket=support.BUCKET, Key=key, Body=b"%PDF-1.7 someone else's invoice")
    before = aws["s3"].list_object_versions(Bucket=support.BUCKET).get("Versions", [])

    status, body = _call(_event(MESSAGES, _message(key)), lambda_context)

    assert status == 400
    assert body["error"] == "InvalidAttachments"
    assert body["errors"] == [
        {
            "field": "attachments[0].key",
            "message": "must be a key POST /attachments gave ([sellers/{sellingPartnerId}/]attachments/{uuid}/"
            "{fileName}); no other object of the bucket can be sent",
        }
    ]
    assert [call.request.url for call in http.calls] == []  # not even Amazon's actions were asked for
    assert aws["s3"].list_object_versions(Bucket=support.BUCKET).get("Versions", []) == before


def test_every_attachment_is_named_with_its_own_field(aws: dict[str, Any], lambda_context: Any) -> None:
    staged = f"attachments/{STAGED_FOLDER}/Invoice.pdf"
    attachments = [{"key": staged}, {"key": "requests/order-42.json"}, {"key": staged, "bucket": "elsewhere"}]
    raw = json.dumps({"marketplaceId": support.MARKETPLACE_ID, "messageType": "invoice", "attachments": attachments})

    # read_send_message refuses a bucket as an unknown field; the API's own check refuses it too.
    with pytest.raises(errors.InvalidAttachments) as raised:
        http_api.check_staged_files(json.loads(raw)["attachments"])
    assert [field for field, _ in raised.value.problems] == ["attachments[1].key", "attachments[2].bucket"]
    status, body = _call(_event(MESSAGES, raw), lambda_context)
    assert (status, body["error"]) == (400, "InvalidRequest")
    assert [problem["field"] for problem in body["errors"]] == ["attachments[2].bucket"]


def test_the_keys_post_attachments_hands_out_are_the_keys_a_message_may_name(aws: dict[str, Any]) -> None:
    for name in ("Invoice 1.pdf", "請求書.pdf", "Rechnung Müller.docx", "a" * 251 + ".pdf"):
        key = http_api.stage_attachment(
            name,
            "application/pdf"
            if name.endswith(".pdf")
            else "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            10,
        )["key"]
        assert http_api.staged_key_problem(key) is None, key


# --- 2. nesting ------------------------------------------------------------------------------------------------


def _nested_object(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("path", ["/attachments", MESSAGES, "/resends"])
@pytest.mark.parametrize(
    "raw",
    ["[" * 1000 + "]" * 1000, _nested_object(1000), "[" * 100_000, "[" * 21 + "]" * 21, _nested_object(21)],
    ids=["list-1000", "object-1000", "unclosed-100000", "list-21", "object-21"],
)
def test_deeply_nested_json_is_a_400_not_a_500(path: str, raw: str, aws: dict[str, Any], lambda_context: Any) -> None:
    status, body = _call(_event(path, raw), lambda_context)

    assert status == 400
    assert body == {
        "error": "InvalidRequest",
        "message": "The body nests JSON deeper than 20 levels; the API's bodies are JSON objects 3 levels deep "
        "at most.",
        "errors": [{"field": "body", "message": "is nested deeper than 20 levels"}],
    }


def test_json_nested_20_levels_is_read_and_refused_for_what_it_is() -> None:
    with pytest.raises(errors.InvalidRequest) as raised:
        http_api.read_stage_attachment('{"fileName": ' + "[" * 19 + "]" * 19 + "}")
    assert raised.value.problems == (
        ("fileName", "must be a string, not a list"),
        ("contentType", "is required"),
        ("size", "is required"),
    )


# --- 3. bytes that are not UTF-8, content types -----------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/octet-stream", "application/json", "text/plain", "application/json; charset=latin-1", None],
)
@pytest.mark.parametrize("path", ["/attachments", MESSAGES, "/resends"])
def test_a_body_that_is_not_utf8_is_a_400_whatever_its_content_type(
    path: str, content_type: str | None, aws: dict[str, Any], lambda_context: Any
) -> None:
    raw = b'{"fileName": "Gr\xfc\xdfe.pdf", "contentType": "application/pdf", "size": 1}'

    status, body = _call(_event(path, raw, content_type=content_type, base64_encoded=True), lambda_context)

    assert status == 400
    assert body == {
        "error": "InvalidRequest",
        "message": "The body is not UTF-8 JSON (the byte at position 16 is not UTF-8); send a JSON object encoded in "
        "UTF-8 with Content-Type: application/json.",
        "errors": [{"field": "body", "message": "is not UTF-8 text"}],
    }


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "application/json; charset=utf-16",
        "application/jsonp",
        "multipart/form-data; boundary=x",
    ],
)
@pytest.mark.parametrize("base64_encoded", [False, True])
def test_a_json_route_refuses_another_content_type_with_415(
    content_type: str, base64_encoded: bool, aws: dict[str, Any], lambda_context: Any
) -> None:
    event = _event("/attachments", json.dumps(STAGING), content_type=content_type, base64_encoded=base64_encoded)

    status, body = _call(event, lambda_context)

    assert status == 415
    assert body == {
        "error": "UnsupportedContentType",
        "message": f"This route takes JSON: send Content-Type: application/json (UTF-8), not {content_type!r}.",
        "errors": [{"field": "Content-Type", "message": f"must be application/json, not {content_type!r}"}],
    }


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        'Application/JSON;charset="UTF-8"',
        "application/json; charset=utf8",
        None,
    ],
)
@pytest.mark.parametrize("base64_encoded", [False, True])
def test_json_in_utf8_is_read_with_or_without_a_content_type(
    content_type: str | None, base64_encoded: bool, aws: dict[str, Any], lambda_context: Any
) -> None:
    staging = {**STAGING, "fileName": "Rechnung Müller.pdf"}
    event = _event(
        "/attachments",
        json.dumps(staging, ensure_ascii=False),
        content_type=content_type,
        base64_encoded=base64_encoded,
    )

    status, body = _call(event, lambda_context)

    assert status == 201, body
    assert body["key"].endswith("/Rechnung Müller.pdf")


# --- 4. text that is not Unicode text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        ("/attachments", json.dumps({**STAGING, "fileName": "\ud800.pdf"}), "fileName"),
        ("/attachments", json.dumps({**STAGING, "fileName": "Invoice.pdf\udfff"}), "fileName"),
        (MESSAGES, _message(f"attachments/{STAGED_FOLDER}/Invoice.pdf", "\ud800.pdf"), "attachments[0].fileName"),
        (MESSAGES, _message(f"attachments/{STAGED_FOLDER}/\ud800.pdf"), "attachments[0].key"),
        (MESSAGES, json.dumps({"marketplaceId": "ATVPDKIKX0DER", "messageType": "x", "text": "Hi \udc00"}), "text"),
        ("/attachments", json.dumps({**STAGING, "\ud800": 1}), "\\ud800"),  # a field name: shown escaped
        ("/resends", json.dumps({"since": "2026-12-06T14:00:00Z", "errors": ["Lwa\ud800"]}), "errors[0]"),
    ],
    ids=["file-name", "low-surrogate", "message-file-name", "message-key", "text", "field-name", "resend-error"],
)
@pytest.mark.parametrize("base64_encoded", [False, True])
def test_a_lone_surrogate_is_refused_with_its_field_and_the_answer_is_utf8(
    path: str, raw: str, field: str, base64_encoded: bool, aws: dict[str, Any], lambda_context: Any
) -> None:
    # JSON escapes it ("\ud800"); as base64 bytes it is the JSON text itself (the escape is plain ASCII).
    status, body = _call(_event(path, raw, base64_encoded=base64_encoded), lambda_context)

    assert status == 400
    assert body["error"] == "InvalidRequest"
    assert [problem["field"] for problem in body["errors"]] == [field]
    assert body["errors"][0]["message"].startswith("is not valid Unicode text (a lone surrogate U+D")
    assert body["message"].startswith("The body is not valid Unicode text: ")
    assert aws["s3"].list_objects_v2(Bucket=support.BUCKET).get("KeyCount") == 0


def test_a_file_name_with_a_lone_surrogate_is_no_file_name_for_any_entry() -> None:
    # The request documents and the console read file names through the same rule as the API.
    assert (
        validation.file_name_problem("\ud800.pdf")
        == "'\\ud800.pdf' is not valid Unicode text (it has a lone surrogate)"
    )
    assert validation.file_name_problem("Invoice\udfff.pdf") is not None
    assert validation.file_name_problem("請求書.pdf") is None


def test_a_request_document_with_a_lone_surrogate_is_refused_naming_each_field() -> None:
    document = {
        "amazonOrderId": support.ORDER_ID,
        "marketplaceId": support.MARKETPLACE_ID,
        "messageType": "unexpectedProblem",
        "text": "Hi \udc00",
        "attachments": [{"key": "attachments/a.pdf", "fileName": "\ud800.pdf"}],
    }

    with pytest.raises(errors.InvalidRequest) as raised:
        MessageRequest.from_dict(document, default_bucket=support.BUCKET)

    assert raised.value.problems == (
        ("text", "is not valid Unicode text (a lone surrogate U+DC00 at character 3)"),
        ("attachments[0].fileName", "is not valid Unicode text (a lone surrogate U+D800 at character 0)"),
    )


def test_an_answer_is_utf8_even_when_amazon_sends_a_lone_surrogate(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    actions_url = f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}"
    actions = support.actions_body(["unexpectedProblem"])
    actions["_embedded"]["actions"][0]["_embedded"]["schema"]["description"] = "Tell the buyer \ud800"
    http.get(actions_url, json=actions)  # sent as JSON's escape, read back as a lone surrogate
    http.get(f"{actions_url}/attributes", json={"buyer": {"locale": "en-US"}})
    event = copy.deepcopy(support.load_event("api/get-message-types.json"))

    result = _handler()(event, lambda_context)

    assert result["statusCode"] == 200
    assert '"description": "Tell the buyer \\ud800"' in result["body"]  # JSON's escape: sendable UTF-8
    described = json.loads(result["body"].encode("utf-8"))["messageTypes"][0]
    assert described["description"] == "Tell the buyer \ud800"


# --- a trailing newline: Python's "$" matches before one, so the order id and marketplace checks take whole strings


@pytest.mark.parametrize("order_id", ["123-1234567-1234567\n", "123-1234567-1234567\r\n"])
def test_an_order_id_with_a_trailing_newline_is_not_an_order_id(order_id: str) -> None:
    with pytest.raises(errors.InvalidRequest, match="is not an Amazon order id"):
        http_api.check_order_id(order_id)


def test_a_marketplace_id_with_a_trailing_newline_is_not_a_marketplace_id() -> None:
    with pytest.raises(errors.InvalidRequest, match="is not an Amazon marketplace id"):
        validation.check_marketplace("ATVPDKIKX0DER\n", "na")
