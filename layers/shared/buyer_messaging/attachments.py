"""Attachment bytes: Content-MD5 of a staged object, from S3's ETag when that is its MD5, else streamed.

S3 computes the MD5 of an object's bytes when it stores it and, for most objects, publishes it as the ETag.
AWS documents when (Amazon S3 API Reference, data type ``Object``, ``ETag``): objects created by PutObject,
PostObject or CopyObject (or the console) and stored unencrypted or with SSE-S3 have an ETag that is the MD5
digest of their data; with SSE-C or SSE-KMS (and DSSE-KMS) it is not; objects created by a multipart upload
never have one (their ETags end in ``-<number of parts>``); directory buckets (S3 Express One Zone,
``--x-s3``) do not use MD5. When every condition holds, the digest comes from one HEAD request pinned to the
validated ETag, whatever the object's size; otherwise, or when in doubt, the object is streamed and hashed.
Either way a wrong digest cannot reach a buyer: the upload endpoint checks Content-MD5 against the bytes it
receives and refuses a mismatch (BadDigest).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from buyer_messaging import storage
from buyer_messaging.errors import AttachmentChanged
from buyer_messaging.streams import ReadAhead

# Reads this large keep the per-read overhead (a Python call, a queue hand-off) far below the cost of hashing
# the bytes, while a few of them in flight stay a few MiB whatever the object's size.
READ_CHUNK_BYTES = 1024 * 1024

ETAG_SOURCE = "etag"
STREAM_SOURCE = "stream"

# A plain MD5 ETag: 32 hex digits in quotes. Multipart ETags ("...-12"), weak ETags (W/"...") and anything
# else do not match and are streamed.
_MD5_ETAG = re.compile(r'^"([0-9a-fA-F]{32})"$')
# Only these server-side encryptions keep the ETag the MD5 of the plaintext (None = stored unencrypted).
_ETAG_IS_MD5_ENCRYPTIONS = frozenset({None, "AES256"})
# General purpose bucket names. Directory buckets (--x-s3), Object Lambda (--ol-s3) and Outposts (--op-s3)
# access point aliases, and ARNs as bucket names, do not promise an MD5 ETag.
_GENERAL_PURPOSE_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_NOT_GENERAL_PURPOSE_SUFFIXES = ("--x-s3", "--ol-s3", "--op-s3")


@dataclass(frozen=True, slots=True)
class Digest:
    content_md5: str  # base64 of the 16-byte MD5 digest, what Content-MD5 and contentMD5 expect
    size: int
    source: str = STREAM_SOURCE  # ETAG_SOURCE: from S3's ETag, the object was not read


def content_md5(data: bytes) -> str:
    """Content-MD5 of bytes in memory: base64 of the binary digest, never the hex string."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def md5_from_etag(etag: str) -> str | None:
    """The Content-MD5 an ETag stands for if it has the shape of an MD5 ETag, else None.

    The shape alone does not make it the MD5 (SSE-KMS ETags have the same shape): see :func:`etag_is_md5`.
    """
    match = _MD5_ETAG.match(etag.strip())
    if match is None:
        return None
    return base64.b64encode(bytes.fromhex(match.group(1))).decode("ascii")


def is_general_purpose_bucket(bucket: str) -> bool:
    return bool(_GENERAL_PURPOSE_BUCKET.match(bucket)) and not bucket.endswith(_NOT_GENERAL_PURPOSE_SUFFIXES)


def etag_is_md5(bucket: str, info: storage.ObjectInfo) -> bool:
    """Whether S3 documents this object's ETag to be the MD5 of its bytes (see the module's docstring)."""
    return (
        is_general_purpose_bucket(bucket)
        and md5_from_etag(info.etag) is not None
        and info.server_side_encryption in _ETAG_IS_MD5_ENCRYPTIONS
        and info.sse_customer_algorithm is None
    )


def digest_of_staged(bucket: str, key: str, etag: str, expected_size: int) -> Digest:
    """The staged object's Content-MD5, refusing it if it is no longer the validated version.

    From the ETag when S3 documents it to be the MD5 (one HEAD, no byte read), else streamed.
    """
    if md5_from_etag(etag) is not None and is_general_purpose_bucket(bucket):
        # Pinned like the GET would be: a replaced object fails here with AttachmentChanged.
        info = storage.head_object(bucket, key, etag)
        _check_size(bucket, key, info.size, expected_size)
        derived = md5_from_etag(info.etag)
        if derived is not None and info.etag.strip() == etag.strip() and etag_is_md5(bucket, info):
            return Digest(content_md5=derived, size=info.size, source=ETAG_SOURCE)
    return streamed_digest(bucket, key, etag, expected_size)


def streamed_digest(bucket: str, key: str, etag: str, expected_size: int) -> Digest:
    """Stream the object once and hash it, refusing it if it is no longer the validated version."""
    body, length = storage.open_object(bucket, key, etag)
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        # Refused before a byte is read: a changed length means a changed file, however large.
        _check_size(bucket, key, length, expected_size)
        for chunk in ReadAhead(body, READ_CHUNK_BYTES, expected_bytes=expected_size):
            md5.update(chunk)
            size += len(chunk)
    finally:
        body.close()
    _check_size(bucket, key, size, expected_size)
    return Digest(content_md5=base64.b64encode(md5.digest()).decode("ascii"), size=size, source=STREAM_SOURCE)


def _check_size(bucket: str, key: str, size: int, expected_size: int) -> None:
    if size != expected_size:
        raise AttachmentChanged(f"s3://{bucket}/{key} has {size:,} bytes now, {expected_size:,} when it was validated.")
