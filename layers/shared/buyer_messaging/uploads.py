"""Uploads API: create an upload destination, then stream the file to its presigned URL."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from buyer_messaging import catalog
from buyer_messaging.catalog import MessageType
from buyer_messaging.errors import (
    AttachmentChanged,
    SpApiInvalidInput,
    UploadDestinationExpired,
    UploadEndpointUnavailable,
    UploadRejected,
    UploadUrlNotAllowed,
)
from buyer_messaging.models import UploadDestination
from buyer_messaging.sessions import new_session
from buyer_messaging.spapi import SpApiClient
from buyer_messaging.storage import Readable
from buyer_messaging.streams import ReadAhead
from buyer_messaging.urls import is_secure_url

if TYPE_CHECKING:
    import requests

# The fixed buffer of the copy from S3 to the presigned URL: reads from S3 and writes to the socket of this
# size; a few of them in flight, whatever the file's size.
STREAM_CHUNK_BYTES = 1024 * 1024

# S3 error codes that say "send it again" whatever the status they come with: RequestTimeout is a 400 that S3
# answers when the body stalls (no byte for about 20 s: aws/aws-sdk-php#885, aws/aws-sdk-java#1542,
# boto/boto#959), SlowDown is its throttling, InternalError its own failure. Every AWS SDK retries them.
S3_RETRYABLE_CODES = frozenset({"RequestTimeout", "SlowDown", "InternalError"})

# Amazon's presigned URLs point at S3: bucket.s3.amazonaws.com, bucket.s3.us-east-1.amazonaws.com,
# tortuga-prod-na.s3-external-1.amazonaws.com, s3.dualstack.eu-west-1.amazonaws.com, ...
_S3_HOST = re.compile(
    r"^(?:[a-z0-9.-]+\.)?s3"
    r"(?:-external-1|[.-][a-z]{2}(?:-gov)?-[a-z]+-\d|\.dualstack\.[a-z]{2}(?:-gov)?-[a-z]+-\d)?"
    r"\.amazonaws\.com(?:\.cn)?$"
)


def create_upload_destination(
    client: SpApiClient,
    message_type: MessageType,
    amazon_order_id: str,
    marketplace_id: str,
    content_md5: str,
    content_type: str | None,
) -> UploadDestination:
    """``createUploadDestinationForResource`` for one attachment of a message of ``message_type``."""
    operation = catalog.operation("createUploadDestinationForResource")
    # The resource is a path: its slashes stay literal ("%2F" would name another resource).
    resource = quote(message_type.upload_resource(amazon_order_id), safe="/")
    params = {"marketplaceIds": marketplace_id, "contentMD5": content_md5}
    if content_type:
        params["contentType"] = content_type
    response = client.call(
        operation.name,
        operation.method,
        operation.path_template.format(resource=resource),
        params=params,
    )
    payload = response.body.get("payload")
    if not isinstance(payload, dict) or not payload.get("uploadDestinationId") or not payload.get("url"):
        raise SpApiInvalidInput(
            f"{operation.name} answered without an uploadDestinationId and url.", status=response.status
        )
    headers = payload.get("headers") or {}
    if not isinstance(headers, dict):
        raise SpApiInvalidInput(f"{operation.name} answered with headers that are not an object.")
    return UploadDestination(
        upload_destination_id=str(payload["uploadDestinationId"]),
        url=str(payload["url"]),
        headers={str(name): str(value) for name, value in headers.items()},
    )


def check_upload_url(url: str, allowed_hosts: Sequence[str]) -> None:
    """Refuse a URL that is not https on an allowed host (plain http only for loopback hosts)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise UploadUrlNotAllowed("The upload destination's URL has no host; nothing was uploaded.")
    if not is_secure_url(url):
        if parts.scheme == "http":
            raise UploadUrlNotAllowed(
                f"The upload destination's URL uses plain http on {host}; only https is accepted (plain http only "
                "for loopback hosts). Nothing was uploaded."
            )
        raise UploadUrlNotAllowed(f"The upload destination's URL scheme {parts.scheme!r} is not https.")
    if not host_allowed(host, allowed_hosts):
        allowed = ", ".join(allowed_hosts) if allowed_hosts else "Amazon S3 hosts"
        raise UploadUrlNotAllowed(
            f"The upload destination's host {host} is not allowed (allowed: {allowed}; set "
            "UPLOAD_URL_ALLOWED_HOSTS to change). Nothing was uploaded."
        )


def host_allowed(host: str, patterns: Sequence[str]) -> bool:
    if not patterns:
        return bool(_S3_HOST.match(host))
    for pattern in (p.strip().lower() for p in patterns):
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


class _SizedStream:
    """Hands requests a stream with a known length: a Content-Length and no chunked encoding,
    which S3 answers with 501. Counts the bytes so a file that changed size cannot go out silently.

    A file of more than one chunk is read ahead on a thread of its own (:class:`~buyer_messaging.streams.ReadAhead`),
    so S3 keeps sending while the previous chunk goes out to the upload endpoint; memory stays at a few
    chunks whatever the file's size. A file of one chunk is read on the sending thread.
    """

    def __init__(self, body: Readable, size: int) -> None:
        self._size = size
        self._reader = ReadAhead(body, STREAM_CHUNK_BYTES, limit=size)
        self._chunks: Iterator[bytes] | None = None
        self._pending = memoryview(b"")
        self.sent = 0

    def __len__(self) -> int:
        return self._size

    def read(self, amount: int = -1) -> bytes:
        remaining = self._size - self.sent
        if remaining <= 0:
            return b""
        want = remaining if amount is None or amount < 0 else min(amount, remaining)
        parts: list[bytes | memoryview] = []
        got = 0
        # Fill the request: a source may hand out fewer bytes than asked (a raw socket, a network stream).
        while got < want:
            if not self._pending:
                chunk = self._next_chunk()
                if not chunk:
                    # Stop the upload now: the endpoint would wait for the missing bytes until the read timeout.
                    raise AttachmentChanged(
                        f"The staged file ended after {self.sent + got:,} of {self._size:,} bytes; "
                        "the upload was stopped."
                    )
                if len(chunk) <= want - got:
                    parts.append(chunk)  # the usual case: a whole chunk, handed on without a copy
                    got += len(chunk)
                    continue
                self._pending = memoryview(chunk)
            piece = self._pending[: want - got]
            self._pending = self._pending[len(piece) :]
            parts.append(piece)
            got += len(piece)
        self.sent += got
        if len(parts) == 1 and isinstance(parts[0], bytes):
            return parts[0]
        return b"".join(parts)

    def _next_chunk(self) -> bytes:
        if self._chunks is None:
            self._chunks = iter(self._reader)
        return next(self._chunks, b"")

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(STREAM_CHUNK_BYTES):
            yield chunk

    def close(self) -> None:
        self._reader.close()


@lru_cache(maxsize=1)
def _upload_session() -> requests.Session:
    from requests.adapters import HTTPAdapter

    class LargeBlockAdapter(HTTPAdapter):
        """Sends a request body in blocks of STREAM_CHUNK_BYTES instead of urllib3's 16 KiB: a 10 MB file is
        ten reads and ten sendall calls rather than six hundred of each."""

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["blocksize"] = STREAM_CHUNK_BYTES
            super().init_poolmanager(*args, **kwargs)

    # One session per container: the connection to the upload host is kept alive between invocations
    # (and between the attachments of a message when a container handles several).
    session = new_session()
    # Only the signed headers Amazon returned (plus Content-Length) go to the presigned URL.
    session.headers.clear()
    adapter = LargeBlockAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def put_file(
    destination: UploadDestination,
    body: Readable,
    size: int,
    allowed_hosts: Sequence[str],
    *,
    timeout: tuple[float, float] = (5.0, 60.0),
    session: requests.Session | None = None,
) -> None:
    """PUT ``size`` bytes from ``body`` to the presigned URL with exactly the returned headers."""
    import requests

    check_upload_url(destination.url, allowed_hosts)
    stream = _SizedStream(body, size)
    headers = dict(destination.headers)
    for name in list(headers):
        if name.lower() == "content-length":
            del headers[name]
    headers["Content-Length"] = str(size)
    try:
        response = (session or _upload_session()).put(destination.url, data=stream, headers=headers, timeout=timeout)
    except requests.RequestException as error:
        raise UploadEndpointUnavailable(
            f"The upload endpoint could not be reached or the upload broke off ({type(error).__name__})."
        ) from None
    finally:
        stream.close()
    if 200 <= response.status_code < 300:
        if stream.sent != size:
            raise AttachmentChanged(f"The staged file ended after {stream.sent:,} of {size:,} bytes.")
        return
    # A refusal may come before the whole body was sent (S3 answers a bad signature or an expired URL
    # without reading a large body): its reason counts, not the bytes that were left unsent.
    code, message = _s3_error(response)
    described = f"{code}: {message}" if message else code
    if code in S3_RETRYABLE_CODES:
        raise UploadEndpointUnavailable(
            f"The upload endpoint answered {response.status_code} {code}, a transient S3 error ({described})."
        )
    if response.status_code >= 500 and response.status_code != 501:
        raise UploadEndpointUnavailable(f"The upload endpoint answered {response.status_code} ({described}).")
    if code == "AccessDenied" and "expired" in message.lower():
        raise UploadDestinationExpired(
            f"The upload destination expired before the file was sent ({described}).",
            status=response.status_code,
            code=code,
        )
    raise UploadRejected(
        f"The upload endpoint refused the file with HTTP {response.status_code} ({described}).",
        status=response.status_code,
        code=code,
    )


def _s3_error(response: requests.Response) -> tuple[str, str]:
    """S3's XML error (Code, Message); the status line when the body is not S3's XML."""
    from xml.etree import ElementTree

    text = response.text[:4096]
    try:
        root = ElementTree.fromstring(text)  # noqa: S314  (a short error body from S3, not untrusted XML at scale)
    except ElementTree.ParseError:
        return f"HTTP {response.status_code}", text.strip()[:200]
    found: dict[str, Any] = {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in root}
    return str(found.get("Code") or f"HTTP {response.status_code}"), str(found.get("Message") or "")
