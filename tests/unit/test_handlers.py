"""Each Lambda handler, loaded from its own app.py, called with the sample events against moto + fake SP-API."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote_plus, unquote_plus, urlsplit

import boto3
import pytest
import responses

from buyer_messaging import catalog, destinations, executions, trigger
from buyer_messaging.destinations import RENEW_MARGIN_SECONDS, URL_LIFETIME_SECONDS
from buyer_messaging.models import UploadDestination
from tests import support

FUNCTIONS = support.ROOT / "functions"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n" + b"%" * 191 + b"\n%%EOF\n"
DESTINATION_ID = "6a2e41d6-8a0b-4b11-9bdf-2f0f5a5e8c11"
UPLOAD_URL = f"https://{support.UPLOAD_HOST}/%2FNinetyDays/amzn1.tortuga.4.na.{DESTINATION_ID}?X-Amz-Signature=abc"
RENEWED_ID = "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a"
RENEWED_URL = f"https://{support.UPLOAD_HOST}/%2FNinetyDays/amzn1.tortuga.4.na.{RENEWED_ID}?X-Amz-Signature=def"
PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
ACTIONS_URL = f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}"
ALL_TYPES = [m.operation for m in catalog.MESSAGE_TYPES]
EXECUTION_ARN = support.load_event("list_actions/invoice-request.json")["executionId"]

# Handlers that fail before adding a metric flush an empty set; powertools warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _handler(function: str) -> Handler:
    handler: Handler = support.function_module(function).lambda_handler
    return handler


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _put(aws: dict[str, Any], key: str, body: bytes = PDF) -> dict[str, Any]:
    return aws["s3"].put_object(Bucket=support.BUCKET, Key=key, Body=body)


def _versions(aws: dict[str, Any]) -> list[tuple[str, str]]:
    listing = aws["s3"].list_object_versions(Bucket=support.BUCKET)
    assert not listing.get("DeleteMarkers"), "a staged object was deleted"
    return sorted((v["Key"], v["VersionId"]) for v in listing.get("Versions", []))


def _register_actions(http: responses.RequestsMock, names: list[str]) -> Any:
    return http.get(ACTIONS_URL, json=support.actions_body(names), headers={"x-amzn-RequestId": "req-actions"})


def _error(function: str, event: Any, lambda_context: Any) -> BaseException:
    with pytest.raises(Exception) as raised:
        _handler(function)(event, lambda_context)
    return raised.value


def test_every_function_has_a_handler_and_they_are_distinct() -> None:
    functions = sorted(path.name for path in FUNCTIONS.iterdir() if (path / "app.py").exists())
    assert functions == [
        "api",
        "client_secret_notifications",
        "create_destination",
        "finish_campaign",
        "hash_attachment",
        "list_actions",
        "onboard_seller",
        "prepare_campaign",
        "record_outcome",
        "rotate_client_secret",
        "send_message",
        "start_workflow",
        "upload_attachment",
    ]
    handlers = [_handler(function) for function in functions]
    assert len({handler.__module__ for handler in handlers}) == len(functions)


# --- list_actions ----------------------------------------------------------------------------------------


def test_list_actions_validates_the_sample(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = support.load_event("list_actions/invoice-request.json")
    request = event["request"]
    put = _put(aws, request["attachments"][0]["key"])
    actions = _register_actions(http, ["sendInvoice", "unexpectedProblem"])

    output = _handler("list_actions")(event, lambda_context)

    assert output == {
        "amazonOrderId": support.ORDER_ID,
        "marketplaceId": support.MARKETPLACE_ID,
        "messageType": "invoice",
        "operation": "sendInvoice",
        "title": catalog.message_type("invoice").title,
        "text": None,
        "coverageStartDate": None,
        "coverageEndDate": None,
        "attachments": [
            {
                "bucket": support.BUCKET,
                "key": request["attachments"][0]["key"],
                "fileName": request["attachments"][0]["fileName"],
                "size": len(PDF),
                "etag": put["ETag"],
                "contentType": "application/pdf",
            }
        ],
        "lane": "interactive",
        "sellingPartnerId": None,
    }
    query = parse_qs(urlsplit(actions.calls[0].request.url).query)
    assert query == {"marketplaceIds": [support.MARKETPLACE_ID]}


@pytest.mark.parametrize("sample", sorted(p.name for p in (support.EVENTS / "statemachine").glob("*.json")))
def test_list_actions_validates_every_state_machine_input(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, sample: str
) -> None:
    event = support.load_event(f"statemachine/{sample}")
    for attachment in event.get("attachments", []):
        _put(aws, attachment["key"])
    _register_actions(http, ALL_TYPES)

    output = _handler("list_actions")({"executionId": EXECUTION_ARN, "request": event}, lambda_context)

    message_type = catalog.message_type(event["messageType"])
    assert output["messageType"] == message_type.path
    assert output["operation"] == message_type.operation
    assert output["text"] == event.get("text")
    assert [a["fileName"] for a in output["attachments"]] == [a["fileName"] for a in event.get("attachments", [])]
    assert all(a["bucket"] == support.BUCKET and a["size"] == len(PDF) for a in output["attachments"])


@pytest.mark.parametrize(
    ("change", "error_name"),
    [
        (lambda e: e.update(messageType="sendPostcard"), "UnknownMessageType"),
        (lambda e: e.pop("amazonOrderId"), "InvalidRequest"),
        (lambda e: e.update(amazonOrderId="123"), "InvalidRequest"),
        (lambda e: e.update(marketplaceId="A1PA6795UKMFR9"), "InvalidRequest"),
        (lambda e: e.update(messageType="warranty"), "MessageTypeNotAvailable"),
        (lambda e: e["attachments"][0].update(key="attachments/missing.pdf"), "AttachmentNotFound"),
        (lambda e: e["attachments"][0].update(fileName="invoice.exe"), "InvalidAttachments"),
        (lambda e: e.update(text="Please pay"), "InvalidMessageText"),
    ],
)
def test_list_actions_bad_input_raises_the_named_error(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, change: Any, error_name: str
) -> None:
    event = support.load_event("list_actions/invoice-request.json")
    _put(aws, event["request"]["attachments"][0]["key"])
    _register_actions(http, ["sendInvoice", "unexpectedProblem"])
    change(event["request"])
    assert type(_error("list_actions", event, lambda_context)).__name__ == error_name


# --- hash_attachment -------------------------------------------------------------------------------------


def _attachment_event(aws: dict[str, Any], sample: str, body: bytes = PDF) -> dict[str, Any]:
    """A Map item sample whose attachment (and hash) matches an object put into moto."""
    event = support.load_event(sample)
    put = _put(aws, event["attachment"]["key"], body)
    event["attachment"].update(size=len(body), etag=put["ETag"])
    if "hash" in event:
        event["hash"]["contentMd5"] = _md5(body)
    return event


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every log record of the call: its message and its structured fields."""
    return "\n".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)


def _assert_no_credential(state: Any) -> None:
    """What a step returns becomes execution history: a presigned URL must never be in it."""
    text = json.dumps(state)
    assert "X-Amz-Signature" not in text
    assert "https://" not in text


def test_hash_attachment_returns_the_base64_md5(aws: dict[str, Any], lambda_context: Any) -> None:
    event = _attachment_event(aws, "hash_attachment/attachment.json")
    output = _handler("hash_attachment")(event, lambda_context)
    assert output == {"contentMd5": _md5(PDF), "size": len(PDF)}
    assert output["contentMd5"] != hashlib.md5(PDF).hexdigest()


def test_hash_attachment_of_a_replaced_object(aws: dict[str, Any], lambda_context: Any) -> None:
    event = _attachment_event(aws, "hash_attachment/attachment.json")
    _put(aws, event["attachment"]["key"], PDF[::-1])
    assert type(_error("hash_attachment", event, lambda_context)).__name__ == "AttachmentChanged"


@pytest.mark.parametrize(
    ("change", "error_name"),
    [
        (lambda e: e["attachment"].update(key="attachments/missing.pdf"), "AttachmentNotFound"),
        (lambda e: e["attachment"].update(size=len(PDF) + 1), "AttachmentChanged"),
        (lambda e: e.pop("attachment"), "InvalidRequest"),
        (lambda e: e["attachment"].update(size="1234"), "InvalidRequest"),
    ],
)
def test_hash_attachment_bad_input(aws: dict[str, Any], lambda_context: Any, change: Any, error_name: str) -> None:
    event = _attachment_event(aws, "hash_attachment/attachment.json")
    change(event)
    assert type(_error("hash_attachment", event, lambda_context)).__name__ == error_name


# --- create_destination ----------------------------------------------------------------------------------


def _register_destination(
    http: responses.RequestsMock,
    content_md5: str,
    message_path: str = "invoice",
    *,
    destination_id: str = DESTINATION_ID,
    url: str = UPLOAD_URL,
) -> Any:
    return http.post(
        f"{support.ENDPOINT}/uploads/2020-11-01/uploadDestinations/messaging/v1/orders/{support.ORDER_ID}"
        f"/messages/{message_path}",
        json={
            "payload": {
                "uploadDestinationId": destination_id,
                "url": url,
                "headers": {"Content-MD5": content_md5, "x-amz-server-side-encryption": "aws:kms"},
            }
        },
        headers={"x-amzn-RequestId": "req-upload", "x-amzn-RateLimit-Limit": "10.0"},
    )


def test_create_destination_keeps_the_url_in_the_table_and_returns_only_its_id(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, caplog: pytest.LogCaptureFixture
) -> None:
    event = support.load_event("create_destination/attachment-hashed.json")
    create = _register_destination(http, event["hash"]["contentMd5"])
    before = time.time()

    output = _handler("create_destination")(event, lambda_context)

    assert output == {"uploadDestinationId": DESTINATION_ID, "pacing": None, "held": None}
    _assert_no_credential(output)
    logs = _logged(caplog)
    assert "Upload destination created" in logs
    assert "X-Amz-Signature" not in logs
    stored = destinations.load(support.TABLE, DESTINATION_ID)
    assert stored is not None
    assert stored.destination.url == UPLOAD_URL
    assert dict(stored.destination.headers) == {
        "Content-MD5": event["hash"]["contentMd5"],
        "x-amz-server-side-encryption": "aws:kms",
    }
    assert before <= stored.created_at <= time.time()
    assert stored.usable(time.time())
    request = create.calls[0].request
    assert "%2F" not in urlsplit(request.url).path
    assert parse_qs(urlsplit(request.url).query) == {
        "marketplaceIds": [support.MARKETPLACE_ID],
        "contentMD5": [event["hash"]["contentMd5"]],
        "contentType": ["application/pdf"],
    }


def test_create_destination_for_an_alias_uses_the_path(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = support.load_event("create_destination/attachment-hashed.json")
    event["messageType"] = "CreateWarranty"
    create = _register_destination(http, event["hash"]["contentMd5"], "warranty")
    _handler("create_destination")(event, lambda_context)
    assert len(create.calls) == 1
    assert destinations.load(support.TABLE, DESTINATION_ID) is not None


def test_create_destination_without_a_workflow_table(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKFLOW_TABLE", "")
    event = support.load_event("create_destination/attachment-hashed.json")
    _register_destination(http, event["hash"]["contentMd5"])
    error = _error("create_destination", event, lambda_context)
    assert type(error).__name__ == "ConfigurationError"
    assert "WORKFLOW_TABLE" in str(error)
    assert "X-Amz-Signature" not in str(error)


def test_create_destination_with_a_table_that_does_not_exist(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKFLOW_TABLE", "no-such-table")
    event = support.load_event("create_destination/attachment-hashed.json")
    _register_destination(http, event["hash"]["contentMd5"])
    error = _error("create_destination", event, lambda_context)
    assert type(error).__name__ == "ConfigurationError"
    assert "no-such-table" in str(error)


@pytest.mark.parametrize(
    ("change", "error_name"),
    [
        (lambda e: e.pop("hash"), "InvalidRequest"),
        (lambda e: e.update(hash={}), "InvalidRequest"),
        (lambda e: e.update(messageType="sendPostcard"), "UnknownMessageType"),
        (lambda e: e.pop("marketplaceId"), "InvalidRequest"),
    ],
)
def test_create_destination_bad_input(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, change: Any, error_name: str
) -> None:
    event = support.load_event("create_destination/attachment-hashed.json")
    create = _register_destination(http, event["hash"]["contentMd5"])
    change(event)
    assert type(_error("create_destination", event, lambda_context)).__name__ == error_name
    assert create.call_count == 0


# --- upload_attachment -----------------------------------------------------------------------------------

UPLOAD_SAMPLE = "upload_attachment/attachment-with-destination.json"
SIGNED_HEADERS = {"Content-MD5": _md5(PDF), "x-amz-server-side-encryption": "aws:kms"}
EXPIRED = (
    "<Error><Code>AccessDenied</Code><Message>Request has expired</Message>"
    "<X-Amz-Expires>900</X-Amz-Expires><RequestId>4442587FB7D0A2F9</RequestId></Error>"
)


def _register_put(http: responses.RequestsMock, url: str) -> Any:
    return http.put(url, status=200, headers={"ETag": f'"{hashlib.md5(PDF).hexdigest()}"'})


def _plant(event: dict[str, Any], url: str = UPLOAD_URL, *, age: float = 0.0) -> None:
    """The record the create step would have stored for the event's destination id, ``age`` seconds ago."""
    destination = UploadDestination(event["destination"]["uploadDestinationId"], url, SIGNED_HEADERS)
    destinations.save(support.TABLE, destination, created_at=time.time() - age)


def _register_renewal(http: responses.RequestsMock) -> Any:
    """createUploadDestinationForResource answering with a new destination (id and URL)."""
    return _register_destination(http, _md5(PDF), destination_id=RENEWED_ID, url=RENEWED_URL)


def _puts(http: responses.RequestsMock) -> list[str]:
    return [call.request.url for call in http.calls if call.request.method == "PUT"]


def _body(request: Any) -> bytes:
    return request.body if isinstance(request.body, bytes) else b"".join(request.body)


def _uploaded(event: dict[str, Any], destination_id: str) -> dict[str, Any]:
    return {
        "uploadDestinationId": destination_id,
        "fileName": event["attachment"]["fileName"],
        "size": len(PDF),
        "contentMd5": _md5(PDF),
        "key": event["attachment"]["key"],
    }


def test_upload_attachment_puts_the_bytes_with_the_signed_headers(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = _attachment_event(aws, UPLOAD_SAMPLE)
    _plant(event)
    put = _register_put(http, UPLOAD_URL)
    renew = _register_renewal(http)

    output = _handler("upload_attachment")(event, lambda_context)

    assert output == _uploaded(event, event["destination"]["uploadDestinationId"])
    _assert_no_credential(output)
    assert renew.call_count == 0
    request = put.calls[0].request
    assert _body(request) == PDF
    assert request.headers["Content-MD5"] == _md5(PDF)
    assert request.headers["x-amz-server-side-encryption"] == "aws:kms"
    assert request.headers["Content-Length"] == str(len(PDF))
    assert "Transfer-Encoding" not in request.headers
    assert "x-amz-access-token" not in request.headers


@pytest.mark.parametrize(
    ("change", "stored_url", "error_name"),
    [
        (lambda e: None, "https://evil.example.com/upload?X-Amz-Signature=abc", "UploadUrlNotAllowed"),
        (lambda e: None, UPLOAD_URL.replace("https://", "http://"), "UploadUrlNotAllowed"),
        (lambda e: e.pop("destination"), UPLOAD_URL, "InvalidRequest"),
        (lambda e: e["destination"].pop("uploadDestinationId"), UPLOAD_URL, "InvalidRequest"),
        (lambda e: e["destination"].update(url=UPLOAD_URL), UPLOAD_URL, "InvalidRequest"),
        (lambda e: e["destination"].update(headers=SIGNED_HEADERS), UPLOAD_URL, "InvalidRequest"),
        (lambda e: e["attachment"].update(etag='"0123456789abcdef0123456789abcdef"'), UPLOAD_URL, "AttachmentChanged"),
        (lambda e: e["attachment"].update(key="attachments/missing.pdf"), UPLOAD_URL, "AttachmentNotFound"),
    ],
    ids=[
        "stored-url-on-another-host",
        "stored-url-plain-http",
        "no-destination",
        "no-destination-id",
        "url-in-the-state",
        "headers-in-the-state",
        "attachment-changed",
        "attachment-missing",
    ],
)
def test_upload_attachment_bad_input_sends_nothing(
    aws: dict[str, Any],
    http: responses.RequestsMock,
    lambda_context: Any,
    change: Any,
    stored_url: str,
    error_name: str,
) -> None:
    event = _attachment_event(aws, UPLOAD_SAMPLE)
    _plant(event, stored_url)
    put = _register_put(http, stored_url)
    renew = _register_renewal(http)
    change(event)
    error = _error("upload_attachment", event, lambda_context)
    assert type(error).__name__ == error_name
    assert "X-Amz-Signature" not in str(error)
    assert put.call_count == 0
    assert _puts(http) == []
    assert renew.call_count == 0


def test_upload_attachment_refused_by_the_endpoint(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = _attachment_event(aws, UPLOAD_SAMPLE)
    _plant(event)
    renew = _register_renewal(http)
    http.put(
        UPLOAD_URL,
        status=400,
        body="<Error><Code>BadDigest</Code><Message>The Content-MD5 you specified did not match</Message></Error>",
    )
    error = _error("upload_attachment", event, lambda_context)
    assert type(error).__name__ == "UploadRejected"
    assert "BadDigest" in str(error)
    assert renew.call_count == 0


def test_upload_attachment_access_denied_for_another_reason_is_not_renewed(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = _attachment_event(aws, UPLOAD_SAMPLE)
    _plant(event)
    renew = _register_renewal(http)
    http.put(UPLOAD_URL, status=403, body="<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
    error = _error("upload_attachment", event, lambda_context)
    assert type(error).__name__ == "UploadRejected"
    assert renew.call_count == 0
    assert _puts(http) == [UPLOAD_URL]


# The stored destination is used while it is younger than its 900 s lifetime less the 120 s margin.
USABLE_FOR = URL_LIFETIME_SECONDS - RENEW_MARGIN_SECONDS


@pytest.mark.parametrize(
    ("age", "renewed"),
    [
        (0.0, False),
        (USABLE_FOR - 5, False),
        (USABLE_FOR, True),
        (URL_LIFETIME_SECONDS - 1, True),
        (URL_LIFETIME_SECONDS + 3600, True),
    ],
    ids=["fresh", "just-in-time", "inside-the-margin", "about-to-expire", "long-expired"],
)
def test_upload_attachment_renews_a_destination_too_old_to_start(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, age: float, renewed: bool
) -> None:
    event = _attachment_event(aws, UPLOAD_SAMPLE)
    _plant(event, age=age)
    old_put = _register_put(http, UPLOAD_URL)
    new_put = _register_put(http, RENEWED_URL)
    renew = _register_renewal(http)

    output = _handler("upload_attachment")(event, lambda_context)

    expected_id = RENEWED_ID if renewed else event["destination"]["uploadDestinationId"]
    assert output == _uploaded(event, expected_id)
    _assert_no_credential(output)
    assert renew.call_count == (1 if renewed else 0)
    assert _puts(http) == [RENEWED_URL if renewed else UPLOAD_URL]
    assert (old_put.call_count, new_put.call_count) == ((0, 1) if renewed else (1, 0))


def test_upload_attachment_renewal_asks_for_the_same_file_and_stores_the_new_destination(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = _attachment_event(aws, UPLOAD_SAMPLE)
    _plant(event, age=URL_LIFETIME_SECONDS)
    put = _register_put(http, RENEWED_URL)
    renew = _register_renewal(http)

    _handler("upload_attachment")(event, lambda_context)

    request = renew.calls[0].request
    assert parse_qs(urlsplit(request.url).query) == {
        "marketplaceIds": [support.MARKETPLACE_ID],
        "contentMD5": [_md5(PDF)],
        "contentType": ["application/pdf"],
    }
    stored = destinations.load(support.TABLE, RENEWED_ID)
    assert stored is not None
    assert stored.destination.url == RENEWED_URL
    assert stored.usable(time.time())
    # The PUT to the new URL carries the new destination's signed headers and the whole file.
    assert _body(put.calls[0].request) == PDF
    assert put.calls[0].request.headers["Content-MD5"] == _md5(PDF)
    assert put.calls[0].request.headers["x-amz-server-side-encryption"] == "aws:kms"


def test_upload_attachment_renews_a_destination_that_is_gone(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    """No record for the id (removed by the TTL, or never stored): a new destination, not a failure."""
    event = _attachment_event(aws, UPLOAD_SAMPLE)
    put = _register_put(http, RENEWED_URL)
    renew = _register_renewal(http)

    output = _handler("upload_attachment")(event, lambda_context)

    assert output == _uploaded(event, RENEWED_ID)
    _assert_no_credential(output)
    assert renew.call_count == 1
    assert put.call_count == 1
    assert _puts(http) == [RENEWED_URL]


def test_upload_attachment_renews_once_when_the_put_finds_the_url_expired(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, caplog: pytest.LogCaptureFixture
) -> None:
    event = _attachment_event(aws, UPLOAD_SAMPLE)
    _plant(event)  # young enough to try, yet S3 says it expired (a clock skew, a slow first attempt)
    expired = http.put(UPLOAD_URL, status=403, body=EXPIRED)
    put = _register_put(http, RENEWED_URL)
    renew = _register_renewal(http)

    output = _handler("upload_attachment")(event, lambda_context)

    assert output == _uploaded(event, RENEWED_ID)
    _assert_no_credential(output)
    assert (expired.call_count, renew.call_count, put.call_count) == (1, 1, 1)
    assert _puts(http) == [UPLOAD_URL, RENEWED_URL]
    assert _body(put.calls[0].request) == PDF
    # The renewal is logged by ids; neither presigned URL reaches the logs.
    logs = _logged(caplog)
    assert "Upload destination re-created" in logs
    assert RENEWED_ID in logs
    assert "X-Amz-Signature" not in logs


def test_upload_attachment_expired_again_after_the_renewal_fails(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = _attachment_event(aws, UPLOAD_SAMPLE)
    _plant(event)
    http.put(UPLOAD_URL, status=403, body=EXPIRED)
    http.put(RENEWED_URL, status=403, body=EXPIRED)
    renew = _register_renewal(http)

    error = _error("upload_attachment", event, lambda_context)

    assert type(error).__name__ == "UploadDestinationExpired"
    assert not getattr(error, "transient", True)
    assert "X-Amz-Signature" not in str(error)
    assert renew.call_count == 1
    assert _puts(http) == [UPLOAD_URL, RENEWED_URL]


def test_upload_attachment_renewal_refused_by_the_sp_api_uploads_nothing(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = _attachment_event(aws, UPLOAD_SAMPLE)
    _plant(event, age=URL_LIFETIME_SECONDS)
    put = _register_put(http, UPLOAD_URL)
    http.post(
        f"{support.ENDPOINT}/uploads/2020-11-01/uploadDestinations/messaging/v1/orders/{support.ORDER_ID}"
        "/messages/invoice",
        status=503,
        json={"errors": [{"code": "InternalFailure", "message": "We encountered an internal error."}]},
    )
    error = _error("upload_attachment", event, lambda_context)
    assert type(error).__name__ == "SpApiUnavailable"
    assert put.call_count == 0
    assert _puts(http) == []


def test_upload_attachment_without_a_workflow_table(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = _attachment_event(aws, UPLOAD_SAMPLE)
    _plant(event)
    monkeypatch.setenv("WORKFLOW_TABLE", "")
    renew = _register_renewal(http)
    error = _error("upload_attachment", event, lambda_context)
    assert type(error).__name__ == "ConfigurationError"
    assert "WORKFLOW_TABLE" in str(error)
    assert renew.call_count == 0
    assert _puts(http) == []


# --- send_message ----------------------------------------------------------------------------------------


def _register_send(http: responses.RequestsMock, path: str, status: int = 201, **kwargs: Any) -> Any:
    return http.post(
        f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}/messages/{path}",
        status=status,
        headers={"x-amzn-RequestId": "req-send"},
        **({"json": {}} | kwargs),
    )


def test_send_message_sends_the_invoice(aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any) -> None:
    event = support.load_event("send_message/invoice.json")
    send = _register_send(http, "invoice")

    output = _handler("send_message")(event, lambda_context)

    uploaded = event["request"]["uploaded"][0]
    assert json.loads(send.calls[0].request.body) == {
        "attachments": [{"uploadDestinationId": uploaded["uploadDestinationId"], "fileName": uploaded["fileName"]}]
    }
    assert parse_qs(urlsplit(send.calls[0].request.url).query) == {"marketplaceIds": [support.MARKETPLACE_ID]}
    sent_at = output.pop("sentAt")
    assert sent_at.endswith("+00:00")
    assert output == {
        "status": "sent",
        "amazonRequestId": "req-send",
        "amazonOrderId": support.ORDER_ID,
        "marketplaceId": support.MARKETPLACE_ID,
        "messageType": "invoice",
        "operation": "sendInvoice",
        "attachments": [
            {
                "fileName": uploaded["fileName"],
                "uploadDestinationId": uploaded["uploadDestinationId"],
                "size": uploaded["size"],
                "contentMd5": uploaded["contentMd5"],
            }
        ],
    }


def test_send_message_sends_text_only(aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any) -> None:
    event = support.load_event("send_message/unexpectedProblem-text-only.json")
    send = _register_send(http, "unexpectedProblem")
    output = _handler("send_message")(event, lambda_context)
    assert json.loads(send.calls[0].request.body) == {"text": event["request"]["text"]}
    assert output["attachments"] == []
    assert output["operation"] == "createUnexpectedProblem"


@pytest.mark.parametrize(
    ("change", "error_name"),
    [
        (lambda e: e["request"].pop("uploaded"), "InvalidRequest"),
        (lambda e: e["request"]["uploaded"][0].update(key="attachments/other.pdf"), "InvalidRequest"),
        (lambda e: e["request"].update(messageType="sendPostcard"), "UnknownMessageType"),
        (lambda e: e["request"].pop("operation"), "InvalidRequest"),
        (lambda e: e.pop("executionId"), "InvalidRequest"),
        (lambda e: e.update(executionId=["arn"]), "InvalidRequest"),
        (lambda e: e.pop("request"), "InvalidRequest"),
        # The shape before the execution id: the state itself, unwrapped.
        (lambda e: e.update(e.pop("request")), "InvalidRequest"),
    ],
    ids=[
        "no-uploaded",
        "uploaded-for-another-key",
        "unknown-type",
        "no-operation",
        "no-execution-id",
        "execution-id-not-a-string",
        "no-request",
        "unwrapped-state",
    ],
)
def test_send_message_bad_input_sends_nothing(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any, change: Any, error_name: str
) -> None:
    event = support.load_event("send_message/invoice.json")
    send = _register_send(http, "invoice")
    change(event)
    assert type(_error("send_message", event, lambda_context)).__name__ == error_name
    assert send.call_count == 0


def test_send_message_not_allowed_by_amazon(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = support.load_event("send_message/invoice.json")
    _register_send(
        http,
        "invoice",
        status=403,
        json={"errors": [{"code": "Unauthorized", "message": "Invalid amazonOrderId and template combination."}]},
    )
    # Amazon's 403 for a type the order does not allow (now) is named for what it means.
    assert type(_error("send_message", event, lambda_context)).__name__ == "MessageTypeNotAvailable"


def test_send_message_with_a_token_amazon_refuses(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = support.load_event("send_message/invoice.json")
    _register_send(
        http,
        "invoice",
        status=403,
        json={"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied."}]},
    )
    assert type(_error("send_message", event, lambda_context)).__name__ == "SpApiUnauthorized"


# --- send_message: once per execution --------------------------------------------------------------------


class Crash(BaseException):
    """A Lambda timeout or kill: the invocation stops mid-send, no handler code runs after it."""


def _crash(request: Any) -> Any:
    raise Crash


def _idempotency_record(aws: dict[str, Any]) -> dict[str, Any]:
    items = aws["dynamodb"].scan(TableName=support.TABLE, ConsistentRead=True)["Items"]
    (record,) = [item for item in items if not item["id"]["S"].startswith("pace#")]  # the pacer's are apart
    return dict(record)


def test_send_message_retried_by_the_state_machine_sends_once(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = support.load_event("send_message/invoice.json")
    send = _register_send(http, "invoice")

    first = _handler("send_message")(copy.deepcopy(event), lambda_context)
    again = _handler("send_message")(copy.deepcopy(event), lambda_context)

    assert send.call_count == 1
    assert again == first
    assert _idempotency_record(aws)["status"] == {"S": "COMPLETED"}


def test_send_message_redriven_with_another_body_is_refused(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = support.load_event("send_message/invoice.json")
    send = _register_send(http, "invoice")
    _handler("send_message")(copy.deepcopy(event), lambda_context)
    event["request"]["uploaded"][0]["fileName"] = "Another-Invoice.pdf"

    error = _error("send_message", event, lambda_context)

    assert type(error).__name__ == "InvalidRequest"
    assert send.call_count == 1


def test_send_message_registers_the_lambda_context_for_the_in_progress_expiry(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = support.load_event("send_message/unexpectedProblem-text-only.json")
    http.add_callback(
        "POST", f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}/messages/unexpectedProblem", _crash
    )
    before_ms = time.time() * 1000

    with pytest.raises(Crash):
        _handler("send_message")(event, lambda_context)

    record = _idempotency_record(aws)
    assert record["status"] == {"S": "INPROGRESS"}
    # The in-progress lock lasts as long as the invocation could: the context's remaining time.
    remaining = lambda_context.get_remaining_time_in_millis()
    assert "in_progress_expiration" in record
    assert before_ms + remaining - 1000 <= int(record["in_progress_expiration"]["N"]) <= time.time() * 1000 + remaining


def test_send_message_while_a_crashed_attempt_may_still_run_is_in_progress(
    aws: dict[str, Any], http: responses.RequestsMock, lambda_context: Any
) -> None:
    event = support.load_event("send_message/unexpectedProblem-text-only.json")
    url = f"{support.ENDPOINT}/messaging/v1/orders/{support.ORDER_ID}/messages/unexpectedProblem"
    crash = http.add_callback("POST", url, _crash)
    with pytest.raises(Crash):
        _handler("send_message")(copy.deepcopy(event), lambda_context)
    http.remove(crash)
    send = _register_send(http, "unexpectedProblem")

    error = _error("send_message", copy.deepcopy(event), lambda_context)

    assert type(error).__name__ == "SendInProgress"
    assert getattr(error, "transient", False)
    assert send.call_count == 0

    # Once the crashed invocation's time is up, the state machine's next retry sends.
    aws["dynamodb"].update_item(
        TableName=support.TABLE,
        Key={"id": _idempotency_record(aws)["id"]},
        UpdateExpression="SET in_progress_expiration = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time() * 1000) - 1)}},
    )
    output = _handler("send_message")(copy.deepcopy(event), lambda_context)

    assert output["status"] == "sent"
    assert send.call_count == 1
    assert _idempotency_record(aws)["status"] == {"S": "COMPLETED"}


# --- start_workflow --------------------------------------------------------------------------------------


@pytest.fixture
def sfn(aws: dict[str, Any]) -> Any:
    client = boto3.client("stepfunctions", region_name="us-east-1")
    client.create_state_machine(
        name=support.STATE_MACHINE_NAME,
        definition=PASS_DEFINITION,
        roleArn="arn:aws:iam::123456789012:role/StatesExecutionRole",
    )
    return client


def _state_machine_arn() -> str:
    return f"arn:aws:states:us-east-1:123456789012:stateMachine:{support.STATE_MACHINE_NAME}"


def _executions(sfn: Any) -> dict[str, dict[str, Any]]:
    """name -> input of every execution."""
    listed = sfn.list_executions(stateMachineArn=_state_machine_arn())["executions"]
    return {e["name"]: json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in listed}


def _staged_record(aws: dict[str, Any], sample: str, body: bytes) -> dict[str, Any]:
    """The sample's record, for an object put into moto under the sample's (decoded) key."""
    (record,) = support.load_event(sample)["Records"]
    put = _put(aws, unquote_plus(record["s3"]["object"]["key"]), body)
    record["s3"]["object"].update(size=len(body), eTag=put["ETag"].strip('"'), versionId=put["VersionId"])
    return record


def _outbox_record(aws: dict[str, Any]) -> dict[str, Any]:
    return _staged_record(aws, "start_workflow/s3-outbox-invoice.json", PDF)


def _request_record(aws: dict[str, Any], document: Any = None) -> dict[str, Any]:
    document = support.load_event("statemachine/invoice.json") if document is None else document
    return _staged_record(aws, "start_workflow/s3-request-document.json", json.dumps(document).encode())


def _other_record(key: str) -> dict[str, Any]:
    (record,) = support.load_event("start_workflow/s3-outbox-invoice.json")["Records"]
    record["s3"]["object"]["key"] = quote_plus(key, safe="/")
    return record


def _expected_name(record: dict[str, Any], hint: str) -> str:
    (staged,) = trigger.parse_s3_event({"Records": [record]})
    return trigger.execution_name(staged, hint)


def test_start_workflow_outbox_sample(aws: dict[str, Any], sfn: Any, lambda_context: Any) -> None:
    record = _outbox_record(aws)
    output = _handler("start_workflow")({"Records": [record]}, lambda_context)

    name = _expected_name(record, f"{support.ORDER_ID}-invoice")
    key = "outbox/ATVPDKIKX0DER/123-1234567-1234567/invoice/Invoice 123-1234567-1234567.pdf"
    assert output == {
        "executions": [
            {
                "object": f"s3://{support.BUCKET}/{key}",
                "started": True,
                "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:{name}",
            }
        ]
    }
    assert _executions(sfn) == {
        name: {
            "amazonOrderId": support.ORDER_ID,
            "marketplaceId": support.MARKETPLACE_ID,
            "messageType": "invoice",
            "attachments": [{"bucket": support.BUCKET, "key": key, "fileName": "Invoice 123-1234567-1234567.pdf"}],
        }
    }


def test_start_workflow_request_document_sample(aws: dict[str, Any], sfn: Any, lambda_context: Any) -> None:
    document = support.load_event("statemachine/invoice.json")
    record = _request_record(aws, document)
    output = _handler("start_workflow")({"Records": [record]}, lambda_context)

    name = _expected_name(record, f"{support.ORDER_ID}-invoice")
    assert [e["started"] for e in output["executions"]] == [True]
    expected_input = copy.deepcopy(document)
    expected_input["attachments"][0]["bucket"] = support.BUCKET
    assert _executions(sfn) == {name: expected_input}


def test_start_workflow_reads_the_events_version_of_the_document(
    aws: dict[str, Any], sfn: Any, lambda_context: Any
) -> None:
    first = support.load_event("statemachine/invoice.json")
    record = _request_record(aws, first)
    # The key is overwritten before the event for the first version is handled.
    _put(aws, "requests/invoice-123-1234567-1234567.json", json.dumps({**first, "messageType": "sendInvoice"}).encode())
    _handler("start_workflow")({"Records": [record]}, lambda_context)
    (started,) = _executions(sfn).values()
    assert started["messageType"] == "invoice"


def test_start_workflow_names_are_deterministic_and_distinct(
    aws: dict[str, Any], sfn: Any, lambda_context: Any
) -> None:
    records = [_outbox_record(aws), _request_record(aws)]
    output = _handler("start_workflow")({"Records": records}, lambda_context)
    assert [e["started"] for e in output["executions"]] == [True, True]
    assert set(_executions(sfn)) == {
        _expected_name(records[0], f"{support.ORDER_ID}-invoice"),
        _expected_name(records[1], f"{support.ORDER_ID}-invoice"),
    }


def test_start_workflow_redelivered_event_starts_nothing_new(
    aws: dict[str, Any], sfn: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executions, "REPEAT_MARGIN", timedelta(0))  # redeliveries come seconds later in AWS
    event = {"Records": [_outbox_record(aws), _request_record(aws)]}
    first = _handler("start_workflow")(copy.deepcopy(event), lambda_context)
    time.sleep(0.01)
    again = _handler("start_workflow")(copy.deepcopy(event), lambda_context)

    assert len(_executions(sfn)) == 2
    assert [e["started"] for e in again["executions"]] == [False, False]
    assert [e["executionArn"] for e in again["executions"]] == [e["executionArn"] for e in first["executions"]]


def test_start_workflow_new_version_of_a_key_starts_a_new_execution(
    aws: dict[str, Any], sfn: Any, lambda_context: Any
) -> None:
    _handler("start_workflow")({"Records": [_outbox_record(aws)]}, lambda_context)
    replaced = _staged_record(aws, "start_workflow/s3-outbox-invoice.json", PDF + b"v2")
    output = _handler("start_workflow")({"Records": [replaced]}, lambda_context)
    assert [e["started"] for e in output["executions"]] == [True]
    assert len(_executions(sfn)) == 2


@pytest.mark.parametrize("bad_first", [False, True], ids=["bad-last", "bad-first"])
def test_start_workflow_unsupported_key_raises_after_the_good_records_started(
    aws: dict[str, Any], sfn: Any, lambda_context: Any, bad_first: bool
) -> None:
    _put(aws, "attachments/inv-1.pdf")
    good = [_outbox_record(aws), _request_record(aws)]
    bad = _other_record("attachments/inv-1.pdf")
    records = [bad, *good] if bad_first else [*good, bad]
    before = _versions(aws)

    error = _error("start_workflow", {"Records": records}, lambda_context)

    assert type(error).__name__ == "UnsupportedS3Key"
    assert "attachments/inv-1.pdf" in str(error)
    assert set(_executions(sfn)) == {_expected_name(r, f"{support.ORDER_ID}-invoice") for r in good}
    assert _versions(aws) == before


def test_start_workflow_reports_the_first_error(aws: dict[str, Any], sfn: Any, lambda_context: Any) -> None:
    records = [
        _other_record("outbox/a/b.pdf"),
        _request_record(aws, {"amazonOrderId": support.ORDER_ID}),
        _outbox_record(aws),
    ]
    error = _error("start_workflow", {"Records": records}, lambda_context)
    assert type(error).__name__ == "UnsupportedS3Key"
    assert len(_executions(sfn)) == 1


def test_start_workflow_malformed_request_document(aws: dict[str, Any], sfn: Any, lambda_context: Any) -> None:
    record = _request_record(aws, {"amazonOrderId": support.ORDER_ID, "messageType": "invoice"})
    before = _versions(aws)
    error = _error("start_workflow", {"Records": [record]}, lambda_context)
    assert type(error).__name__ == "InvalidRequest"
    assert "marketplaceId" in str(error)
    assert _executions(sfn) == {}
    assert _versions(aws) == before


def test_start_workflow_request_document_that_is_no_json(aws: dict[str, Any], sfn: Any, lambda_context: Any) -> None:
    (record,) = support.load_event("start_workflow/s3-request-document.json")["Records"]
    put = _put(aws, record["s3"]["object"]["key"], b"{not json")
    record["s3"]["object"]["versionId"] = put["VersionId"]
    assert type(_error("start_workflow", {"Records": [record]}, lambda_context)).__name__ == "InvalidRequest"
    assert _executions(sfn) == {}


def test_start_workflow_event_that_is_no_s3_event(aws: dict[str, Any], sfn: Any, lambda_context: Any) -> None:
    error = _error("start_workflow", {"source": "aws.events", "detail": {}}, lambda_context)
    assert type(error).__name__ == "InvalidRequest"


def test_start_workflow_s3_test_event_starts_nothing(aws: dict[str, Any], sfn: Any, lambda_context: Any) -> None:
    output = _handler("start_workflow")({"Service": "Amazon S3", "Event": "s3:TestEvent"}, lambda_context)
    assert output == {"executions": []}
    assert _executions(sfn) == {}


def test_start_workflow_without_state_machine_arn(
    aws: dict[str, Any], sfn: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE_MACHINE_ARN", "")
    error = _error("start_workflow", {"Records": [_outbox_record(aws)]}, lambda_context)
    assert type(error).__name__ == "ConfigurationError"
    assert "STATE_MACHINE_ARN" in str(error)
    assert _executions(sfn) == {}


def test_start_workflow_with_an_unknown_state_machine(aws: dict[str, Any], lambda_context: Any) -> None:
    error = _error("start_workflow", {"Records": [_outbox_record(aws)]}, lambda_context)
    assert type(error).__name__ == "ConfigurationError"
