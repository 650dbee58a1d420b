"""The presigned upload URL (``PUT /upload/{uploadDestinationId}?X-Amz-...``), answering like S3.

Checks, in this order (S3 refuses what it can from the headers, before reading a byte of the body):

1. method PUT -> else 405 ``MethodNotAllowed`` (``Allow: PUT``);
2. no ``Transfer-Encoding`` -> else 501 ``NotImplemented`` (S3 does not take chunked uploads; the body
   is not read);
3. ``Content-Length`` present -> else 411 ``MissingContentLength``; at most 5 GiB -> else 400
   ``EntityTooLarge``;
4. query authentication present -> else 403 ``AccessDenied``; its signature matches this destination
   -> else 403 ``SignatureDoesNotMatch``;
5. not expired (900 emulated seconds after creation) -> else 403 ``AccessDenied`` "Request has expired";
6. the signed headers (``Host``, ``Content-MD5``, ``x-amz-server-side-encryption``) are present, once,
   and equal to what the destination was created with -> else 403 ``SignatureDoesNotMatch``;
   no other ``x-amz-*`` header -> else 403 ``AccessDenied`` (headers present that were not signed);
7. ``Content-MD5`` is the base64 of exactly 16 bytes -> else 400 ``InvalidDigest`` (a hex digest fails here);
8. the body, read in 1 MiB chunks and hashed as it arrives (never held), has ``Content-Length`` bytes
   -> else 400 ``IncompleteBody`` (or ``RequestTimeout`` when the client stalls) and its MD5 is the
   ``Content-MD5`` -> else 400 ``BadDigest``.

Success: 200 with ``ETag: "<hex md5>"``. Only the size and the digests are kept, never the bytes.
A destination may be uploaded again until a message uses it (S3 overwrites an object).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime, timedelta

from spapi_emulator.clock import EmulatedClock, iso_timestamp
from spapi_emulator.errors import S3Error
from spapi_emulator.httpio import IncompleteBody, Request, Response
from spapi_emulator.signing import (
    EXPIRES_SECONDS,
    SERVER_SIDE_ENCRYPTION,
    SIGNED_HEADERS,
    UPLOAD_PATH_PREFIX,
    UrlSigner,
    has_authentication,
)
from spapi_emulator.state import State, StoredUpload

MAX_OBJECT_BYTES = 5 * 1024**3  # S3's limit for a single PUT


class UploadEndpoint:
    def __init__(self, state: State, clock: EmulatedClock, signer: UrlSigner) -> None:
        self._state = state
        self._clock = clock
        self._signer = signer

    def handle(self, request: Request, host: str) -> Response:
        """Store one upload; raises :class:`S3Error` for every refusal. ``host`` is the signed Host value."""
        if request.method != "PUT":
            raise S3Error(
                "MethodNotAllowed",
                extra={"Method": request.method, "ResourceType": "OBJECT"},
                headers=[("Allow", "PUT")],
            )
        if request.header("Transfer-Encoding") is not None:
            raise S3Error("NotImplemented", extra={"Header": "Transfer-Encoding"})
        length = request.body.length
        if length is None:
            raise S3Error("MissingContentLength")
        if length > MAX_OBJECT_BYTES:
            raise S3Error(
                "EntityTooLarge", extra={"ProposedSize": str(length), "MaxSizeAllowed": str(MAX_OBJECT_BYTES)}
            )
        destination_id = request.path[len(UPLOAD_PATH_PREFIX) :]
        query = request.query()
        if not has_authentication(query):
            raise S3Error("AccessDenied", "Query-string authentication (X-Amz-* parameters) is required.")
        with self._state.lock:
            destination = self._state.destinations.get(destination_id)
        if destination is None or not self._signer.verify(destination_id, query):
            raise S3Error("SignatureDoesNotMatch")
        if self._clock.now() > destination.expires_at:
            raise _expired(query["X-Amz-Date"][0], self._clock.wall())
        self._check_signed_headers(request, host, destination.content_md5)
        expected_digest = _digest(destination.content_md5)
        md5 = hashlib.md5()  # noqa: S324  (Content-MD5 is MD5 by definition)
        try:
            for chunk in request.body.chunks():
                md5.update(chunk)
        except TimeoutError:
            raise S3Error("RequestTimeout", headers=[("Connection", "close")]) from None
        except IncompleteBody:
            raise S3Error("IncompleteBody", headers=[("Connection", "close")]) from None
        if md5.digest() != expected_digest:
            raise S3Error(
                "BadDigest",
                extra={
                    "ExpectedDigest": destination.content_md5,
                    "CalculatedDigest": base64.b64encode(md5.digest()).decode(),
                },
            )
        upload = StoredUpload(
            size=length,
            md5_hex=md5.hexdigest(),
            content_md5=base64.b64encode(md5.digest()).decode(),
            content_type=request.header("Content-Type"),
            uploaded_at=iso_timestamp(self._clock.wall()),
        )
        with self._state.lock:
            destination.upload = upload
        return Response(
            200,
            b"",
            [("ETag", f'"{upload.md5_hex}"'), ("x-amz-server-side-encryption", SERVER_SIDE_ENCRYPTION)],
        )

    @staticmethod
    def _check_signed_headers(request: Request, host: str, content_md5: str) -> None:
        expected = {"host": host, "content-md5": content_md5, "x-amz-server-side-encryption": SERVER_SIDE_ENCRYPTION}
        for name in SIGNED_HEADERS:
            values = request.header_values(name)
            given = values[0].strip() if len(values) == 1 else None
            if name == "host":
                matches = given is not None and given.lower() == expected[name].lower()
            else:
                matches = given == expected[name]
            if not matches:
                raise S3Error(
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided. "
                    f"The signed header {name} is missing or differs from the one the URL was created with.",
                )
        unsigned = sorted(
            {key.lower() for key in request.headers if key.lower().startswith("x-amz-")} - set(SIGNED_HEADERS)
        )
        if unsigned:
            raise S3Error(
                "AccessDenied",
                "There were headers present in the request which were not signed",
                extra={"HeadersNotSigned": ", ".join(unsigned)},
            )


def _digest(content_md5: str) -> bytes:
    """The 16 bytes a Content-MD5 header stands for; 400 ``InvalidDigest`` for anything else (hex too)."""
    try:
        digest = base64.b64decode(content_md5, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise S3Error("InvalidDigest", extra={"Content-MD5": content_md5})
    return digest


def _expired(amz_date: str, server_time: datetime) -> S3Error:
    try:
        signed = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=server_time.tzinfo)
        expires = iso_timestamp(signed + timedelta(seconds=EXPIRES_SECONDS))
    except ValueError:
        expires = ""
    return S3Error(
        "AccessDenied",
        "Request has expired",
        extra={"X-Amz-Expires": str(EXPIRES_SECONDS), "Expires": expires, "ServerTime": iso_timestamp(server_time)},
    )
