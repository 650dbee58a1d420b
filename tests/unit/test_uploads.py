"""Uploads API: the upload destination request, the upload URL check, and the streamed PUT of the file."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from buyer_messaging import catalog, config, uploads
from buyer_messaging.auth import AccessTokenProvider, LwaCredentials
from buyer_messaging.errors import (
    AttachmentChanged,
    SpApiInvalidInput,
    TransientError,
    UploadDestinationExpired,
    UploadEndpointUnavailable,
    UploadRejected,
    UploadUrlNotAllowed,
)
from buyer_messaging.models import UploadDestination
from buyer_messaging.spapi import SpApiClient
from spapi_emulator import model_facts
from tests import support

INVOICE = catalog.message_type("invoice")
DESTINATION_ID = "6a2e41d6-8a0b-4b11-9bdf-2f0f5a5e8c11"
RESOURCE_PATH = f"/uploads/2020-11-01/uploadDestinations/messaging/v1/orders/{support.ORDER_ID}/messages/invoice"
UPLOAD_URL = (
    f"https://{support.UPLOAD_HOST}/NinetyDays/amzn1.tortuga.4.na.{DESTINATION_ID}"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=content-md5%3Bhost%3Bx-amz-server-side-encryption"
    "&X-Amz-Signature=abc123"
)
DATA = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
# An MD5 whose base64 holds "+", "/" and "=": each must survive the query string.
MD5_DATA = b"attachment-54"
MD5_WITH_SPECIALS = "T3JM0h8skFXtMdVMR/kb+Q=="


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _client() -> SpApiClient:
    credentials = LwaCredentials.from_secret(support.CREDENTIALS)
    return SpApiClient(support.ENDPOINT, AccessTokenProvider(support.TOKEN_URL, lambda: credentials))


def _destination(url: str = UPLOAD_URL, headers: dict[str, str] | None = None) -> UploadDestination:
    if headers is None:
        headers = {"Content-MD5": _md5(DATA), "x-amz-server-side-encryption": "aws:kms"}
    return UploadDestination(upload_destination_id=DESTINATION_ID, url=url, headers=headers)


def _create(
    http: responses.RequestsMock, *, content_md5: str = MD5_WITH_SPECIALS, content_type: str | None = "application/pdf"
) -> UploadDestination:
    return uploads.create_upload_destination(
        _client(), INVOICE, support.ORDER_ID, support.MARKETPLACE_ID, content_md5, content_type
    )


def _api_calls(http: responses.RequestsMock) -> list[Any]:
    return [call for call in http.calls if call.request.url.startswith(support.ENDPOINT)]


def _upload_calls(http: responses.RequestsMock) -> list[Any]:
    return [call for call in http.calls if call.request.method == "PUT"]


def _s3_error(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>4442587FB7D0A2F9</RequestId><HostId>host-id</HostId></Error>"
    )


class SmallChunks:
    """A stream that hands out at most ``chunk`` bytes per read, like a network body does."""

    def __init__(self, data: bytes, chunk: int = 7) -> None:
        self._data = io.BytesIO(data)
        self._chunk = chunk
        self.reads = 0
        self.closed = False

    def read(self, amount: int = -1) -> bytes:
        self.reads += 1
        want = self._chunk if amount is None or amount < 0 else min(amount, self._chunk)
        return self._data.read(want)

    def close(self) -> None:
        self.closed = True


# --- createUploadDestinationForResource ------------------------------------------------------------------


def _register_destination(http: responses.RequestsMock, payload: Any = None, **kwargs: Any) -> None:
    if payload is None:
        payload = {
            "uploadDestinationId": DESTINATION_ID,
            "url": UPLOAD_URL,
            "headers": {"Content-MD5": MD5_WITH_SPECIALS, "x-amz-server-side-encryption": "aws:kms"},
        }
    http.post(f"{support.ENDPOINT}{RESOURCE_PATH}", json={"payload": payload}, **kwargs)


def test_create_destination_posts_to_the_resource_with_literal_slashes(http: responses.RequestsMock) -> None:
    _register_destination(http)

    _create(http)

    (call,) = _api_calls(http)
    assert call.request.method == "POST"
    raw_path = urlsplit(call.request.url).path
    assert raw_path == RESOURCE_PATH
    assert "%2F" not in raw_path.upper()


def test_create_destination_sends_marketplace_md5_and_content_type(http: responses.RequestsMock) -> None:
    _register_destination(http)

    _create(http)

    (call,) = _api_calls(http)
    assert parse_qs(urlsplit(call.request.url).query, strict_parsing=True) == {
        "marketplaceIds": [support.MARKETPLACE_ID],
        "contentMD5": [MD5_WITH_SPECIALS],
        "contentType": ["application/pdf"],
    }
    assert call.request.body is None


def test_create_destination_percent_encodes_plus_slash_and_equals_of_the_md5(http: responses.RequestsMock) -> None:
    assert _md5(MD5_DATA) == MD5_WITH_SPECIALS
    _register_destination(http)

    _create(http, content_md5=_md5(MD5_DATA))

    (call,) = _api_calls(http)
    assert "contentMD5=T3JM0h8skFXtMdVMR%2Fkb%2BQ%3D%3D" in urlsplit(call.request.url).query
    # A raw "+" would reach Amazon as a space: the digest would not match the file.
    assert "+" not in urlsplit(call.request.url).query


def test_create_destination_without_content_type_leaves_it_out(http: responses.RequestsMock) -> None:
    _register_destination(http)

    _create(http, content_type=None)

    (call,) = _api_calls(http)
    assert "contentType" not in parse_qs(urlsplit(call.request.url).query)


def test_create_destination_query_parameters_are_the_models(http: responses.RequestsMock) -> None:
    paths = model_facts.api_model("uploads")["paths"]
    operation = paths["/uploads/2020-11-01/uploadDestinations/{resource}"]
    query = {p["name"] for p in operation["post"]["parameters"] if p["in"] == "query"}
    _register_destination(http)

    _create(http)

    (call,) = _api_calls(http)
    assert set(parse_qs(urlsplit(call.request.url).query)) <= query
    assert operation["post"]["operationId"] == "createUploadDestinationForResource"


def test_create_destination_returns_id_url_and_signed_headers(http: responses.RequestsMock) -> None:
    _register_destination(http)

    destination = _create(http)

    assert destination == UploadDestination(
        upload_destination_id=DESTINATION_ID,
        url=UPLOAD_URL,
        headers={"Content-MD5": MD5_WITH_SPECIALS, "x-amz-server-side-encryption": "aws:kms"},
    )


def test_create_destination_with_amazons_sample_answer_has_no_headers(http: responses.RequestsMock) -> None:
    sample = model_facts.sample("fixtures/messaging-createUploadDestination.json")
    http.post(f"{support.ENDPOINT}{RESOURCE_PATH}", json=sample)

    destination = _create(http)

    assert destination.upload_destination_id == "1b00d421-7a23-46e2-b5bb-1fb6c03a188b"
    assert destination.url == "http://localhost:3000/"
    assert destination.headers == {}


@pytest.mark.parametrize(
    "payload",
    [
        {"uploadDestinationId": DESTINATION_ID, "headers": {}},
        {"url": UPLOAD_URL},
        {"uploadDestinationId": DESTINATION_ID, "url": ""},
        "not an object",
    ],
    ids=["no-url", "no-id", "empty-url", "not-an-object"],
)
def test_create_destination_without_id_or_url_is_invalid_input(http: responses.RequestsMock, payload: Any) -> None:
    _register_destination(http, payload=payload)

    with pytest.raises(SpApiInvalidInput, match="without an uploadDestinationId and url"):
        _create(http)


def test_create_destination_without_payload_is_invalid_input(http: responses.RequestsMock) -> None:
    http.post(f"{support.ENDPOINT}{RESOURCE_PATH}", json={})

    with pytest.raises(SpApiInvalidInput):
        _create(http)


def test_create_destination_with_headers_that_are_not_an_object_is_invalid_input(
    http: responses.RequestsMock,
) -> None:
    _register_destination(http, payload={"uploadDestinationId": DESTINATION_ID, "url": UPLOAD_URL, "headers": ["x"]})

    with pytest.raises(SpApiInvalidInput, match="headers"):
        _create(http)


# --- check_upload_url ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://bucket.s3.amazonaws.com/key?X-Amz-Signature=x",
        f"https://{support.UPLOAD_HOST}/NinetyDays/amzn1.tortuga.4.na.x?X-Amz-Signature=x",
        "https://bucket.s3.eu-west-1.amazonaws.com/key",
        "https://s3.amazonaws.com/bucket/key",
        "https://s3.us-east-1.amazonaws.com/bucket/key",
        "https://bucket.s3.dualstack.eu-west-1.amazonaws.com/key",
        "https://bucket.s3.cn-north-1.amazonaws.com.cn/key",
        "https://BUCKET.S3.AMAZONAWS.COM/key",
        "https://bucket.s3.amazonaws.com:443/key",
    ],
)
def test_https_s3_hosts_are_allowed_by_default(url: str) -> None:
    uploads.check_upload_url(url, ())


@pytest.mark.parametrize(
    "url",
    [
        "https://x.execute-api.us-east-1.amazonaws.com/prod/upload",
        "https://s3-123.us-east-1.elb.amazonaws.com/upload",
        "https://b.s3.us-east-1.elb.amazonaws.com/upload",
        "https://ec2-3-91-1-1.compute-1.amazonaws.com/upload",
        "https://evil.com/upload",
        "https://s3.amazonaws.com.evil.com/upload",
        "https://evil-s3.amazonaws.com/upload",
        "https://evil.com/bucket.s3.amazonaws.com/key",
        "https://bucket.s3.amazonaws.com@evil.com/key",
        "https://127.0.0.1/upload",
    ],
)
def test_hosts_that_are_not_s3_are_refused_by_default(url: str) -> None:
    with pytest.raises(UploadUrlNotAllowed, match="not allowed"):
        uploads.check_upload_url(url, ())


def test_plain_http_to_s3_is_refused() -> None:
    with pytest.raises(UploadUrlNotAllowed, match="plain http"):
        uploads.check_upload_url("http://bucket.s3.amazonaws.com/key", ())


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:8080/upload", "127.0.0.1"),
        ("http://localhost:3000/", "localhost"),
        ("http://[::1]:8080/upload", "::1"),
        ("http://127.1.2.3/upload", "127.1.2.3"),
    ],
)
def test_plain_http_is_allowed_for_a_loopback_host_in_the_list(url: str, host: str) -> None:
    uploads.check_upload_url(url, (host,))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/upload", "http://localhost:3000/", "http://[::1]:8080/upload"])
def test_loopback_must_still_be_in_the_list(url: str) -> None:
    with pytest.raises(UploadUrlNotAllowed, match="not allowed"):
        uploads.check_upload_url(url, ("uploads.example.test",))
    with pytest.raises(UploadUrlNotAllowed, match="not allowed"):
        uploads.check_upload_url(url, ())


def test_plain_http_is_refused_for_a_listed_host_that_is_not_loopback() -> None:
    with pytest.raises(UploadUrlNotAllowed, match="plain http"):
        uploads.check_upload_url("http://uploads.example.test/x", ("uploads.example.test",))


@pytest.mark.parametrize("url", ["ftp://bucket.s3.amazonaws.com/key", "file:///etc/passwd", "https:///key", "key"])
def test_other_schemes_and_missing_hosts_are_refused(url: str) -> None:
    with pytest.raises(UploadUrlNotAllowed):
        uploads.check_upload_url(url, ())


def test_a_host_list_replaces_the_s3_default() -> None:
    uploads.check_upload_url("https://uploads.example.test/x", ("uploads.example.test",))
    with pytest.raises(UploadUrlNotAllowed):
        uploads.check_upload_url("https://bucket.s3.amazonaws.com/key", ("uploads.example.test",))


def test_upload_url_allowed_hosts_setting_replaces_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPLOAD_URL_ALLOWED_HOSTS", " uploads.example.test , *.Example.ORG ,, ")
    allowed = config.Settings.from_env().upload_url_allowed_hosts

    assert allowed == ("uploads.example.test", "*.example.org")
    uploads.check_upload_url("https://uploads.example.test/x", allowed)
    uploads.check_upload_url("https://files.example.org/x", allowed)
    with pytest.raises(UploadUrlNotAllowed):
        uploads.check_upload_url("https://bucket.s3.amazonaws.com/key", allowed)


def test_empty_upload_url_allowed_hosts_setting_keeps_the_s3_default() -> None:
    allowed = config.Settings.from_env().upload_url_allowed_hosts

    assert allowed == ()
    uploads.check_upload_url("https://bucket.s3.amazonaws.com/key", allowed)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("a.example.com", True),
        ("a.b.example.com", True),
        ("example.com", False),  # the wildcard stands for at least one label
        ("badexample.com", False),
        ("a.example.com.evil.net", False),
        ("example.org", False),
    ],
)
def test_wildcard_matches_subdomains_only(host: str, allowed: bool) -> None:
    assert uploads.host_allowed(host, ("*.example.com",)) is allowed


@pytest.mark.parametrize(
    ("host", "allowed"), [("uploads.example.com", True), ("x.uploads.example.com", False), ("example.com", False)]
)
def test_a_plain_pattern_matches_only_that_host(host: str, allowed: bool) -> None:
    assert uploads.host_allowed(host, ("uploads.example.com",)) is allowed


def test_any_pattern_of_the_list_may_match() -> None:
    patterns = ("127.0.0.1", "*.example.com")

    assert uploads.host_allowed("127.0.0.1", patterns)
    assert uploads.host_allowed("up.example.com", patterns)
    assert not uploads.host_allowed("localhost", patterns)


# --- put_file through `responses` ------------------------------------------------------------------------


def test_put_sends_the_exact_bytes(http: responses.RequestsMock) -> None:
    http.put(UPLOAD_URL)

    uploads.put_file(_destination(), io.BytesIO(DATA), len(DATA), ())

    (call,) = _upload_calls(http)
    assert call.request.url == UPLOAD_URL
    assert call.request.body == DATA


def test_put_sends_every_byte_of_a_stream_that_reads_in_small_chunks(http: responses.RequestsMock) -> None:
    http.put(UPLOAD_URL)
    body = SmallChunks(DATA, chunk=5)

    uploads.put_file(_destination(), body, len(DATA), ())

    (call,) = _upload_calls(http)
    assert call.request.body == DATA
    assert body.reads > 1


def test_put_sends_exactly_the_returned_headers_and_content_length(http: responses.RequestsMock) -> None:
    http.put(UPLOAD_URL)

    uploads.put_file(_destination(), io.BytesIO(DATA), len(DATA), ())

    (call,) = _upload_calls(http)
    assert dict(call.request.headers) == {
        "Content-MD5": _md5(DATA),
        "x-amz-server-side-encryption": "aws:kms",
        "Content-Length": str(len(DATA)),
    }
    for added in ("Transfer-Encoding", "Content-Type", "User-Agent", "Accept-Encoding", "Accept", "Connection"):
        assert added not in call.request.headers


def test_the_upload_session_has_no_default_headers() -> None:
    session = uploads._upload_session()

    assert len(session.headers) == 0
    assert uploads._upload_session() is session


def test_a_returned_content_length_header_is_replaced_by_the_real_size(http: responses.RequestsMock) -> None:
    http.put(UPLOAD_URL)
    destination = _destination(headers={"Content-MD5": _md5(DATA), "content-length": "999999"})

    uploads.put_file(destination, io.BytesIO(DATA), len(DATA), ())

    (call,) = _upload_calls(http)
    assert [name for name in call.request.headers if name.lower() == "content-length"] == ["Content-Length"]
    assert call.request.headers["Content-Length"] == str(len(DATA))


def test_put_never_sends_more_than_the_declared_size(http: responses.RequestsMock) -> None:
    http.put(UPLOAD_URL)

    uploads.put_file(_destination(), io.BytesIO(DATA + b"appended later"), len(DATA), ())

    (call,) = _upload_calls(http)
    assert call.request.body == DATA


def test_a_body_shorter_than_the_declared_size_is_attachment_changed(http: responses.RequestsMock) -> None:
    http.put(UPLOAD_URL)

    with pytest.raises(AttachmentChanged, match=f"{len(DATA) - 10:,} of {len(DATA):,} bytes") as raised:
        uploads.put_file(_destination(), io.BytesIO(DATA[:-10]), len(DATA), ())
    assert not raised.value.transient


def test_put_of_an_empty_file_declares_length_zero(http: responses.RequestsMock) -> None:
    http.put(UPLOAD_URL)

    uploads.put_file(_destination(), io.BytesIO(b""), 0, ())

    (call,) = _upload_calls(http)
    assert call.request.headers["Content-Length"] == "0"
    assert "Transfer-Encoding" not in call.request.headers
    assert not call.request.body


def test_put_uses_the_given_timeout(http: responses.RequestsMock) -> None:
    http.put(UPLOAD_URL)

    uploads.put_file(_destination(), io.BytesIO(DATA), len(DATA), (), timeout=(3.0, 90.0))

    (call,) = _upload_calls(http)
    assert call.request.req_kwargs["timeout"] == (3.0, 90.0)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.com/upload",
        "https://x.execute-api.us-east-1.amazonaws.com/prod/upload",
        "http://bucket.s3.amazonaws.com/key",
        "http://127.0.0.1:8080/upload",
    ],
)
def test_a_url_on_a_host_not_allowed_sends_nothing(http: responses.RequestsMock, url: str) -> None:
    http.put(url)
    body = SmallChunks(DATA)

    with pytest.raises(UploadUrlNotAllowed):
        uploads.put_file(_destination(url=url), body, len(DATA), ())

    assert len(http.calls) == 0
    assert body.reads == 0


def test_put_succeeds_on_any_2xx(http: responses.RequestsMock) -> None:
    http.put(UPLOAD_URL, status=204)

    uploads.put_file(_destination(), io.BytesIO(DATA), len(DATA), ())


# --- put_file: the upload endpoint's errors --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (400, "BadDigest", "The Content-MD5 you specified did not match what we received."),
        (400, "InvalidDigest", "The Content-MD5 you specified is not valid."),
        (403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature."),
        (403, "AccessDenied", "Access Denied"),
        (501, "NotImplemented", "A header you provided implies functionality that is not implemented"),
    ],
)
def test_s3_refusals_are_upload_rejected_with_the_code(
    http: responses.RequestsMock, status: int, code: str, message: str
) -> None:
    http.put(UPLOAD_URL, status=status, body=_s3_error(code, message), content_type="application/xml")

    with pytest.raises(UploadRejected) as raised:
        uploads.put_file(_destination(), io.BytesIO(DATA), len(DATA), ())

    error = raised.value
    assert type(error) is UploadRejected
    assert (error.status, error.code) == (status, code)
    assert code in str(error)
    assert message in str(error)
    assert not error.transient


def test_expired_upload_url_is_upload_destination_expired(http: responses.RequestsMock) -> None:
    http.put(UPLOAD_URL, status=403, body=_s3_error("AccessDenied", "Request has expired"))

    with pytest.raises(UploadDestinationExpired) as raised:
        uploads.put_file(_destination(), io.BytesIO(DATA), len(DATA), ())

    assert (raised.value.status, raised.value.code) == (403, "AccessDenied")
    assert "Request has expired" in str(raised.value)
    assert not raised.value.transient


def test_s3_error_in_a_namespace_is_read_too(http: responses.RequestsMock) -> None:
    body = (
        '<Error xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Code>BadDigest</Code>'
        "<Message>The Content-MD5 you specified did not match what we received.</Message></Error>"
    )
    http.put(UPLOAD_URL, status=400, body=body)

    with pytest.raises(UploadRejected) as raised:
        uploads.put_file(_destination(), io.BytesIO(DATA), len(DATA), ())
    assert raised.value.code == "BadDigest"


def test_refusal_without_s3_xml_names_the_status(http: responses.RequestsMock) -> None:
    http.put(UPLOAD_URL, status=405, body="Method Not Allowed", content_type="text/plain")

    with pytest.raises(UploadRejected) as raised:
        uploads.put_file(_destination(), io.BytesIO(DATA), len(DATA), ())

    assert raised.value.code == "HTTP 405"
    assert "Method Not Allowed" in str(raised.value)


@pytest.mark.parametrize(("status", "code"), [(500, "InternalError"), (503, "SlowDown"), (502, "BadGateway")])
def test_server_errors_are_transient(http: responses.RequestsMock, status: int, code: str) -> None:
    http.put(UPLOAD_URL, status=status, body=_s3_error(code, "Please try again."))

    with pytest.raises(UploadEndpointUnavailable, match=code) as raised:
        uploads.put_file(_destination(), io.BytesIO(DATA), len(DATA), ())
    assert isinstance(raised.value, TransientError)


REQUEST_TIMEOUT_MESSAGE = (
    "Your socket connection to the server was not read from or written to within the timeout period. "
    "Idle connections will be closed."
)


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (400, "RequestTimeout", REQUEST_TIMEOUT_MESSAGE),
        (400, "SlowDown", "Please reduce your request rate."),
        (403, "InternalError", "We encountered an internal error. Please try again."),
        (503, "SlowDown", "Please reduce your request rate."),
    ],
)
def test_s3_codes_that_ask_for_a_retry_are_transient_whatever_the_status(
    http: responses.RequestsMock, status: int, code: str, message: str
) -> None:
    http.put(UPLOAD_URL, status=status, body=_s3_error(code, message))

    with pytest.raises(UploadEndpointUnavailable) as raised:
        uploads.put_file(_destination(), io.BytesIO(DATA), len(DATA), ())

    assert str(raised.value) == (
        f"The upload endpoint answered {status} {code}, a transient S3 error ({code}: {message})."
    )
    assert raised.value.transient


@pytest.mark.parametrize(
    "failure",
    [requests.ConnectionError("reset"), requests.ConnectTimeout("slow"), requests.ReadTimeout("slow")],
    ids=["connection-error", "connect-timeout", "read-timeout"],
)
def test_network_failures_are_transient(http: responses.RequestsMock, failure: Exception) -> None:
    http.put(UPLOAD_URL, body=failure)

    with pytest.raises(UploadEndpointUnavailable, match=type(failure).__name__):
        uploads.put_file(_destination(), io.BytesIO(DATA), len(DATA), ())


# --- put_file on the wire: a real HTTP server on 127.0.0.1 ----------------------------------------------


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _RecordingServer

    def do_PUT(self) -> None:
        header_names = [name for name, _ in self.headers.items()]
        length = self.headers.get("Content-Length")
        try:
            body = self.rfile.read(int(length)) if length is not None else b""
        except OSError:
            body = b""
        self.server.requests.append(
            {"path": self.path, "header_names": header_names, "headers": dict(self.headers.items()), "body": body}
        )
        try:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # the client gave up on the request

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/NinetyDays/{DESTINATION_ID}?X-Amz-Signature=abc"


@pytest.fixture
def upload_server() -> Iterator[_RecordingServer]:
    server = _RecordingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_wire_put_has_content_length_no_chunking_and_the_exact_bytes(upload_server: _RecordingServer) -> None:
    destination = _destination(url=upload_server.url)

    uploads.put_file(destination, io.BytesIO(DATA), len(DATA), ("127.0.0.1",), timeout=(2.0, 10.0))

    (received,) = upload_server.requests
    headers = received["headers"]
    assert received["path"] == f"/NinetyDays/{DESTINATION_ID}?X-Amz-Signature=abc"
    assert headers["Content-Length"] == str(len(DATA))
    assert "Transfer-Encoding" not in headers
    assert received["body"] == DATA
    assert headers["Content-MD5"] == _md5(DATA)
    assert headers["x-amz-server-side-encryption"] == "aws:kms"


def test_wire_put_adds_no_header_of_ours_beyond_the_signed_ones(upload_server: _RecordingServer) -> None:
    uploads.put_file(_destination(url=upload_server.url), io.BytesIO(DATA), len(DATA), ("127.0.0.1",))

    (received,) = upload_server.requests
    names = {name.lower() for name in received["header_names"]}
    # Host, Accept-Encoding: identity and urllib3's User-Agent come from the HTTP stack itself, not from us.
    transport = {"host", "accept-encoding", "user-agent"}
    assert names - transport == {"content-md5", "x-amz-server-side-encryption", "content-length"}
    assert "content-type" not in names
    assert not received["headers"].get("User-Agent", "").startswith(("python-requests", "BuyerMessagingWorkflow"))
    assert received["headers"].get("Accept-Encoding", "identity") == "identity"


def test_wire_put_streams_a_small_chunk_reader_larger_than_one_block(upload_server: _RecordingServer) -> None:
    data = bytes(range(256)) * 400  # 100 KiB: several of urllib3's 16 KiB blocks
    body = SmallChunks(data, chunk=1000)

    uploads.put_file(
        _destination(url=upload_server.url, headers={"Content-MD5": _md5(data)}), body, len(data), ("127.0.0.1",)
    )

    (received,) = upload_server.requests
    assert received["headers"]["Content-Length"] == str(len(data))
    assert "Transfer-Encoding" not in received["headers"]
    assert received["body"] == data


def test_wire_put_of_a_file_from_disk(upload_server: _RecordingServer, tmp_path: Path) -> None:
    path = tmp_path / "Invoice-1.pdf"
    path.write_bytes(DATA)

    with path.open("rb") as body:
        uploads.put_file(_destination(url=upload_server.url), body, len(DATA), ("127.0.0.1",))

    (received,) = upload_server.requests
    assert received["body"] == DATA
    assert received["headers"]["Content-Length"] == str(len(DATA))


def test_wire_put_of_a_body_shorter_than_declared_stops_with_attachment_changed(
    upload_server: _RecordingServer,
) -> None:
    # Without the check the server would wait for the missing bytes until the read timeout,
    # and the error would be a transient UploadEndpointUnavailable retried in vain.
    with pytest.raises(AttachmentChanged, match=f"{len(DATA) - 100:,} of {len(DATA):,} bytes"):
        uploads.put_file(
            _destination(url=upload_server.url),
            io.BytesIO(DATA[:-100]),
            len(DATA),
            ("127.0.0.1",),
            timeout=(2.0, 5.0),
        )


def test_wire_put_to_a_loopback_host_not_in_the_list_sends_nothing(upload_server: _RecordingServer) -> None:
    with pytest.raises(UploadUrlNotAllowed):
        uploads.put_file(_destination(url=upload_server.url), io.BytesIO(DATA), len(DATA), ())

    assert upload_server.requests == []
