"""Attachment bytes: Content-MD5 of a staged object, computed while streaming it from S3."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from buyer_messaging import storage
from buyer_messaging.errors import AttachmentChanged

READ_CHUNK_BYTES = 1024 * 1024  # large reads keep the per-call overhead far below the hashing cost


@dataclass(frozen=True, slots=True)
class Digest:
    content_md5: str  # base64 of the 16-byte MD5 digest, what Content-MD5 and contentMD5 expect
    size: int


def content_md5(data: bytes) -> str:
    """Content-MD5 of bytes in memory: base64 of the binary digest, never the hex string."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def digest_of_staged(bucket: str, key: str, etag: str, expected_size: int) -> Digest:
    """Stream the object once and hash it, refusing it if it is no longer the validated version."""
    body, length = storage.open_object(bucket, key, etag)
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        while chunk := body.read(READ_CHUNK_BYTES):
            md5.update(chunk)
            size += len(chunk)
    finally:
        body.close()
    if size != expected_size or length != expected_size:
        raise AttachmentChanged(f"s3://{bucket}/{key} has {size:,} bytes now, {expected_size:,} when it was validated.")
    return Digest(content_md5=base64.b64encode(md5.digest()).decode("ascii"), size=size)
