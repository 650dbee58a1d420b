"""The copy to the presigned URL on the wire: fixed-size reads, Content-Length, one kept-alive connection."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from buyer_messaging import uploads
from buyer_messaging.errors import AttachmentChanged, UploadDestinationExpired, UploadRejected
from buyer_messaging.models import UploadDestination

MiB = 1024 * 1024


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like S3
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        md5 = hashlib.md5()
        received = 0
        while received < length:
            chunk = self.rfile.read(min(MiB, length - received))
            if not chunk:
                break
            md5.update(chunk)
            received += len(chunk)
        with self.server.lock:
            self.server.uploads.append(
                {"length": self.headers.get("Content-Length"), "received": received, "md5": md5.digest()}
            )
            self.server.chunked |= self.headers.get("Transfer-Encoding") is not None
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.connections = 0
        self.uploads: list[dict[str, Any]] = []
        self.chunked = False

    def destination(self, data: bytes, name: str = "d") -> UploadDestination:
        return UploadDestination(
            upload_destination_id=name,
            url=f"http://127.0.0.1:{self.server_address[1]}/upload/{name}?X-Amz-Signature=abc",
            headers={"Content-MD5": _md5(data), "x-amz-server-side-encryption": "aws:kms"},
        )


@pytest.fixture
def server() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _S3Body:
    """A staged object's body: records each read's size and how many bytes it had handed out at most
    before the upload endpoint had received them."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.asked: list[int] = []
        self.closed = False

    def read(self, amount: int = -1) -> bytes:
        self.asked.append(amount)
        return self._data.read(amount)

    def close(self) -> None:
        self.closed = True


def _data(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def test_a_large_file_goes_out_with_its_length_in_fixed_size_reads(server: _Server) -> None:
    data = _data(5 * MiB + 123)
    body = _S3Body(data)

    uploads.put_file(server.destination(data), body, len(data), ("127.0.0.1",), timeout=(2.0, 30.0))

    (upload,) = server.uploads
    assert upload == {"length": str(len(data)), "received": len(data), "md5": hashlib.md5(data).digest()}
    assert not server.chunked
    # Every read from S3 is one fixed buffer (the last one only what is left), not urllib3's 16 KiB blocks.
    assert body.asked == [uploads.STREAM_CHUNK_BYTES] * 5 + [123]


def test_attachments_of_one_container_share_one_connection(server: _Server) -> None:
    files = [_data(size) for size in (10, MiB + 1, 3 * MiB)]

    for index, data in enumerate(files):
        uploads.put_file(server.destination(data, f"d{index}"), _S3Body(data), len(data), ("127.0.0.1",))

    assert [upload["md5"] for upload in server.uploads] == [hashlib.md5(data).digest() for data in files]
    assert server.connections == 1


class _RefusingSession:
    """An upload endpoint that answers after the first block, before the rest of the body was sent,
    as S3 may for a bad signature or an expired URL."""

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message

    def put(self, url: str, *, data: Any, headers: dict[str, str], timeout: Any) -> requests.Response:
        data.read(uploads.STREAM_CHUNK_BYTES)
        response = requests.Response()
        response.status_code = 403
        response._content = f"<Error><Code>{self.code}</Code><Message>{self.message}</Message></Error>".encode()
        return response


@pytest.mark.parametrize(
    ("code", "message", "error"),
    [
        ("SignatureDoesNotMatch", "The request signature we calculated does not match", UploadRejected),
        # Named for what it is even though the body was not all sent: the upload step re-creates the destination.
        ("AccessDenied", "Request has expired", UploadDestinationExpired),
    ],
)
def test_a_refusal_before_the_body_was_sent_is_named_and_stops_the_reading(
    code: str, message: str, error: type[Exception]
) -> None:
    data = _data(8 * MiB)
    body = _S3Body(data)
    destination = UploadDestination("d", "https://bucket.s3.amazonaws.com/d?X-Amz-Signature=abc", {})

    with pytest.raises(error, match=code) as raised:
        uploads.put_file(destination, body, len(data), (), session=_RefusingSession(code, message))

    assert type(raised.value) is error
    # The read-ahead stopped: the block sent, the ones queued and the one in hand; not the 8 MiB.
    assert len(body.asked) < 8


def test_a_file_that_shrank_is_stopped_with_attachment_changed(server: _Server) -> None:
    data = _data(3 * MiB)

    with pytest.raises(AttachmentChanged, match=f"{2 * MiB:,} of {3 * MiB:,} bytes"):
        uploads.put_file(
            server.destination(data), _S3Body(data[: 2 * MiB]), len(data), ("127.0.0.1",), timeout=(2.0, 10.0)
        )


@pytest.mark.parametrize("amount", [7, 16 * 1024, uploads.STREAM_CHUNK_BYTES, 3 * MiB, -1])
def test_the_sized_stream_hands_out_every_byte_whatever_the_read_size(amount: int) -> None:
    data = _data(MiB + 5)  # across a chunk boundary
    stream = uploads._SizedStream(io.BytesIO(data), len(data))
    out = []
    try:
        while piece := stream.read(amount):
            assert amount < 0 or len(piece) <= amount
            out.append(piece)
    finally:
        stream.close()
    assert b"".join(out) == data
    assert stream.sent == len(data)
