"""The presigned upload URL behaves like S3: signed headers, digests, expiry, streaming, the order of checks."""

from __future__ import annotations

import base64
import hashlib
import socket
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from buyer_messaging import catalog, uploads
from buyer_messaging.models import UploadDestination
from buyer_messaging.spapi import SpApiClient
from spapi_emulator import Emulator
from tests.emulator.conftest import INSTANT_REFILL, PDF, SANDBOX_ORDER, US, Api, content_md5


def _code(response: requests.Response | bytes) -> str:
    text = response if isinstance(response, bytes) else response.content
    return text.split(b"<Code>", 1)[1].split(b"</Code>", 1)[0].decode()


def _raw(url: str, head: str, body: bytes = b"", *, half_close: bool = False, until: bytes = b"</Error>") -> bytes:
    """Send ``head`` (request line and headers, CRLF-joined, without the blank line) and ``body`` on a
    fresh connection; what the server answers until ``until`` arrives, it closes, or it pauses."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as connection:
        connection.sendall(head.encode() + b"\r\n\r\n" + body)
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        connection.settimeout(1.0)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
                if until in received:
                    break
        except TimeoutError:
            pass
        return received


def _head(method: str, payload: dict[str, Any], **headers: str) -> str:
    url = urlsplit(payload["url"])
    lines = [f"{method} {url.path}?{url.query} HTTP/1.1", f"Host: {url.netloc}"]
    lines += [f"{name}: {value}" for name, value in {**payload["headers"], **headers}.items()]
    return "\r\n".join(lines)


def test_correct_upload_is_200_with_the_md5_etag(api: Api) -> None:
    payload = api.destination("invoice", PDF)

    response = api.put(payload, PDF)

    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{hashlib.md5(PDF).hexdigest()}"'
    assert response.headers["x-amz-request-id"]
    assert response.content == b""


@pytest.mark.parametrize("method", ["GET", "DELETE", "PATCH"])
def test_methods_other_than_put_are_405(api: Api, method: str) -> None:
    payload = api.destination("invoice")

    response = api.session.request(method, payload["url"], headers=payload["headers"])

    assert response.status_code == 405
    assert response.headers["Allow"] == "PUT"
    assert _code(response) == "MethodNotAllowed"
    assert b"<RequestId>" in response.content


def test_tampered_expiry_is_403_signature_does_not_match(api: Api) -> None:
    payload = api.destination("invoice")
    payload["url"] = payload["url"].replace("X-Amz-Expires=900", "X-Amz-Expires=604800")

    response = api.put(payload, PDF)

    assert response.status_code == 403
    assert _code(response) == "SignatureDoesNotMatch"


def test_signature_of_another_destination_is_403(api: Api) -> None:
    first, second = api.destination("invoice"), api.destination("invoice")
    payload = dict(first, url=first["url"].replace(first["uploadDestinationId"], second["uploadDestinationId"]))

    response = api.put(payload, PDF)

    assert response.status_code == 403
    assert _code(response) == "SignatureDoesNotMatch"


def test_url_without_query_authentication_is_403_access_denied(api: Api) -> None:
    payload = api.destination("invoice")
    payload["url"] = payload["url"].split("?", 1)[0]

    response = api.put(payload, PDF)

    assert response.status_code == 403
    assert _code(response) == "AccessDenied"


def test_missing_content_md5_header_is_403_signature_does_not_match(api: Api) -> None:
    payload = api.destination("invoice")

    response = api.put(payload, PDF, **{"Content-MD5": None})

    assert response.status_code == 403
    assert _code(response) == "SignatureDoesNotMatch"


def test_another_host_is_403_signature_does_not_match(api: Api) -> None:
    payload = api.destination("invoice")

    response = api.put(payload, PDF, Host="uploads.example.com")

    assert response.status_code == 403
    assert _code(response) == "SignatureDoesNotMatch"


def test_unsigned_amz_header_is_403_access_denied(api: Api) -> None:
    payload = api.destination("invoice")

    response = api.put(payload, PDF, **{"x-amz-meta-order": "123"})

    assert response.status_code == 403
    assert _code(response) == "AccessDenied"
    assert b"<HeadersNotSigned>x-amz-meta-order</HeadersNotSigned>" in response.content


def test_base64_of_fifteen_bytes_is_400_invalid_digest(api: Api) -> None:
    md5 = content_md5(PDF)[:-4] + "AAA="  # valid base64, 15 bytes
    payload = api.destination("invoice", md5=md5)

    response = api.put(payload, PDF)

    assert response.status_code == 400
    assert _code(response) == "InvalidDigest"


def test_bad_digest_names_both_digests_and_stores_nothing(api: Api) -> None:
    payload = api.destination("invoice", md5=content_md5(b"other"))

    response = api.put(payload, PDF)

    assert response.status_code == 400
    assert _code(response) == "BadDigest"
    assert f"<CalculatedDigest>{content_md5(PDF)}</CalculatedDigest>".encode() in response.content
    sent = api.send(
        "invoice", {"attachments": [{"uploadDestinationId": payload["uploadDestinationId"], "fileName": "a.pdf"}]}
    )
    assert sent.status_code == 400


def test_missing_content_length_is_411(api: Api) -> None:
    payload = api.destination("invoice")

    answer = _raw(api.base_url, _head("PUT", payload))

    assert answer.startswith(b"HTTP/1.1 411 ")
    assert _code(answer) == "MissingContentLength"


def test_chunked_with_a_content_length_too_is_501(api: Api) -> None:
    payload = api.destination("invoice")

    answer = _raw(api.base_url, _head("PUT", payload, **{"Content-Length": "10", "Transfer-Encoding": "chunked"}))

    assert answer.startswith(b"HTTP/1.1 501 ")


def test_malformed_content_length_is_400(api: Api) -> None:
    payload = api.destination("invoice")

    answer = _raw(api.base_url, _head("PUT", payload, **{"Content-Length": "12abc"}))

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert _code(answer) == "InvalidArgument"


def test_body_shorter_than_content_length_is_400_incomplete_body(api: Api) -> None:
    payload = api.destination("invoice")

    answer = _raw(api.base_url, _head("PUT", payload, **{"Content-Length": str(len(PDF) + 100)}), PDF, half_close=True)

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert _code(answer) == "IncompleteBody"


def test_a_body_that_stalls_is_400_request_timeout_after_the_idle_timeout(session: requests.Session) -> None:
    with Emulator(quota_speedup=INSTANT_REFILL, idle_timeout_seconds=0.5) as emulator:
        api = Api(emulator, session)
        payload = api.destination("invoice")
        started = time.monotonic()

        answer = _raw(api.base_url, _head("PUT", payload, **{"Content-Length": str(len(PDF))}), PDF[: len(PDF) // 2])

        waited = time.monotonic() - started
        destinations = emulator.destinations()

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in head.split(b"\r\n")
    assert b"Content-Type: application/xml" in head.split(b"\r\n")
    assert _code(answer) == "RequestTimeout"
    assert (
        b"<Message>Your socket connection to the server was not read from or written to within the timeout period. "
        b"Idle connections will be closed.</Message>" in body
    )
    assert 0.5 <= waited < 1.4  # one idle period (plus slack for a busy machine), not S3's 20 s
    assert [destination["upload"] for destination in destinations] == [None]


def test_signature_is_checked_before_the_digest(api: Api) -> None:
    payload = api.destination("invoice", md5=hashlib.md5(PDF).hexdigest())  # hex: InvalidDigest if it got there

    response = api.put(payload, PDF, **{"x-amz-server-side-encryption": None})

    assert _code(response) == "SignatureDoesNotMatch"


def test_expiry_is_checked_before_the_signed_headers(api: Api) -> None:
    payload = api.destination("invoice")
    api.emulator.advance_clock(901)

    response = api.put(payload, PDF, **{"Content-MD5": None})

    assert response.status_code == 403
    assert _code(response) == "AccessDenied"
    assert b"<Message>Request has expired</Message>" in response.content


def test_url_expires_after_900_seconds_divided_by_speedup(session: requests.Session) -> None:
    with Emulator(speedup=9000, quota_speedup=INSTANT_REFILL) as emulator:  # 900 s pass in 0.1 s
        api = Api(emulator, session)
        payload = api.destination("invoice")
        time.sleep(0.15)
        response = api.put(payload, PDF)

    assert response.status_code == 403
    assert b"Request has expired" in response.content


def test_url_still_valid_just_before_expiry(api: Api) -> None:
    payload = api.destination("invoice")
    api.emulator.advance_clock(899)

    assert api.put(payload, PDF).status_code == 200


def test_expect_100_continue_is_answered_from_the_headers(api: Api) -> None:
    good, bad = api.destination("invoice"), api.destination("invoice")
    expect = {"Content-Length": str(len(PDF)), "Expect": "100-continue"}

    refused = _raw(api.base_url, _head("PUT", bad, **expect, **{"x-amz-server-side-encryption": "AES256"}))
    interim = _raw(api.base_url, _head("PUT", good, **expect), until=b"\r\n\r\n")

    assert refused.startswith(b"HTTP/1.1 403 ")  # no 100 Continue: the body is never asked for
    assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")


def test_the_connection_is_kept_after_a_refused_small_upload(api: Api) -> None:
    payload = api.destination("invoice")

    refused = api.put(payload, PDF, **{"x-amz-server-side-encryption": "AES256"})
    accepted = api.put(payload, PDF)

    assert refused.status_code == 403
    assert refused.headers.get("Connection") != "close"
    assert accepted.status_code == 200


class _Pattern:
    """``size`` bytes of a repeating pattern, handed out as asked: a large file that is never in memory."""

    BLOCK = bytes(range(256)) * 4096  # 1 MiB

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0

    def read(self, amount: int = -1) -> bytes:
        remaining = self.size - self.position
        amount = remaining if amount < 0 else min(amount, remaining)
        offset = self.position % len(self.BLOCK)
        amount = min(amount, len(self.BLOCK) - offset)
        self.position += amount
        return self.BLOCK[offset : offset + amount]

    def close(self) -> None:
        pass

    def chunks(self) -> Iterator[bytes]:
        while chunk := self.read(1024 * 1024):
            yield chunk


def test_a_64_mib_upload_is_streamed_in_constant_memory(api: Api, client: SpApiClient) -> None:
    size = 64 * 1024 * 1024
    md5 = hashlib.md5()
    for chunk in _Pattern(size).chunks():
        md5.update(chunk)
    invoice = catalog.message_type("invoice")
    destination: UploadDestination = uploads.create_upload_destination(
        client, invoice, SANDBOX_ORDER, US, base64.b64encode(md5.digest()).decode(), "application/pdf"
    )

    tracemalloc.start()
    try:
        uploads.put_file(destination, _Pattern(size), size, ("127.0.0.1",), timeout=(5.0, 60.0))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    [upload] = api.emulator.calls("upload")
    assert upload["status"] == 200
    assert peak < 8 * 1024 * 1024, f"peak {peak:,} bytes for a {size:,}-byte upload"
    # The emulator kept the size and digest of all 64 MiB: a message may name it (and is refused as too large).
    response = api.send(
        "invoice", {"attachments": [{"uploadDestinationId": destination.upload_destination_id, "fileName": "big.pdf"}]}
    )
    assert response.status_code == 400
    assert f"{size:,} bytes" in response.text
