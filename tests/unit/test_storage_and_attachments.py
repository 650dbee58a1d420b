"""The staging bucket adapter and the streamed Content-MD5, against moto's S3."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from buyer_messaging import attachments, storage
from buyer_messaging.errors import AttachmentChanged, AttachmentNotFound, InvalidRequest
from tests import support

KEY = "attachments/inv-1.pdf"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


def _put(aws: dict[str, Any], key: str, body: bytes, **extra: Any) -> dict[str, Any]:
    return aws["s3"].put_object(Bucket=support.BUCKET, Key=key, Body=body, **extra)


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _all_versions(aws: dict[str, Any]) -> list[tuple[str, str]]:
    listing = aws["s3"].list_object_versions(Bucket=support.BUCKET)
    assert not listing.get("DeleteMarkers")
    return sorted((v["Key"], v["VersionId"]) for v in listing.get("Versions", []))


# --- head_object / open_object ---------------------------------------------------------------------------


def test_head_object_reports_size_etag_version_and_type(aws: dict[str, Any]) -> None:
    put = _put(aws, KEY, PDF, ContentType="application/pdf")
    info = storage.head_object(support.BUCKET, KEY)
    assert info == storage.ObjectInfo(
        size=len(PDF), etag=put["ETag"], version_id=put["VersionId"], content_type="application/pdf"
    )
    assert info.etag == f'"{hashlib.md5(PDF).hexdigest()}"'


def test_head_object_of_an_empty_object(aws: dict[str, Any]) -> None:
    _put(aws, KEY, b"")
    assert storage.head_object(support.BUCKET, KEY).size == 0


def test_head_object_of_a_missing_key(aws: dict[str, Any]) -> None:
    with pytest.raises(AttachmentNotFound) as raised:
        storage.head_object(support.BUCKET, "attachments/missing.pdf")
    assert f"s3://{support.BUCKET}/attachments/missing.pdf" in str(raised.value)


def test_head_object_of_a_missing_bucket(aws: dict[str, Any]) -> None:
    with pytest.raises(AttachmentNotFound, match="no-such-bucket-here"):
        storage.head_object("no-such-bucket-here", KEY)


def test_open_object_streams_the_bytes(aws: dict[str, Any]) -> None:
    _put(aws, KEY, PDF)
    body, length = storage.open_object(support.BUCKET, KEY)
    try:
        assert length == len(PDF)
        assert body.read(10) + body.read() == PDF
    finally:
        body.close()


def test_open_object_with_the_current_etag(aws: dict[str, Any]) -> None:
    put = _put(aws, KEY, PDF)
    body, length = storage.open_object(support.BUCKET, KEY, put["ETag"])
    try:
        assert (body.read(), length) == (PDF, len(PDF))
    finally:
        body.close()


def test_open_object_of_a_replaced_object(aws: dict[str, Any]) -> None:
    first = _put(aws, KEY, PDF)
    _put(aws, KEY, PDF + b"changed")
    with pytest.raises(AttachmentChanged) as raised:
        storage.open_object(support.BUCKET, KEY, first["ETag"])
    assert KEY in str(raised.value)
    # Both versions are still there: nothing staged is deleted.
    assert len(_all_versions(aws)) == 2


def test_open_object_of_a_missing_key(aws: dict[str, Any]) -> None:
    with pytest.raises(AttachmentNotFound):
        storage.open_object(support.BUCKET, "attachments/missing.pdf", '"abc"')


def test_open_object_of_a_missing_bucket(aws: dict[str, Any]) -> None:
    with pytest.raises(AttachmentNotFound):
        storage.open_object("no-such-bucket-here", KEY)


# --- read_json_object ------------------------------------------------------------------------------------


def test_read_json_object(aws: dict[str, Any]) -> None:
    document = support.load_event("statemachine/invoice.json")
    _put(aws, "requests/r.json", json.dumps(document).encode())
    assert storage.read_json_object(support.BUCKET, "requests/r.json") == document


def test_read_json_object_in_utf8(aws: dict[str, Any]) -> None:
    document = {"text": "Grüße, 請求書"}
    _put(aws, "requests/r.json", json.dumps(document, ensure_ascii=False).encode("utf-8"))
    assert storage.read_json_object(support.BUCKET, "requests/r.json") == document


def test_read_json_object_of_a_specific_version(aws: dict[str, Any]) -> None:
    first = _put(aws, "requests/r.json", b'{"version": 1}')
    _put(aws, "requests/r.json", b'{"version": 2}')
    assert storage.read_json_object(support.BUCKET, "requests/r.json", first["VersionId"]) == {"version": 1}
    assert storage.read_json_object(support.BUCKET, "requests/r.json") == {"version": 2}


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe{}", b'{"a": 1}}'])
def test_read_json_object_that_is_no_json(aws: dict[str, Any], raw: bytes) -> None:
    _put(aws, "requests/r.json", raw)
    with pytest.raises(InvalidRequest, match=r"requests/r\.json"):
        storage.read_json_object(support.BUCKET, "requests/r.json")


def test_read_json_object_too_big(aws: dict[str, Any]) -> None:
    padding = " " * storage.MAX_REQUEST_DOCUMENT_BYTES
    _put(aws, "requests/big.json", ('{"a": 1}' + padding).encode())
    with pytest.raises(InvalidRequest) as raised:
        storage.read_json_object(support.BUCKET, "requests/big.json")
    assert f"{storage.MAX_REQUEST_DOCUMENT_BYTES:,}" in str(raised.value)


def test_read_json_object_at_the_size_limit(aws: dict[str, Any]) -> None:
    raw = b'{"a": 1}'
    raw += b" " * (storage.MAX_REQUEST_DOCUMENT_BYTES - len(raw))
    _put(aws, "requests/edge.json", raw)
    assert storage.read_json_object(support.BUCKET, "requests/edge.json") == {"a": 1}


def test_read_json_object_missing(aws: dict[str, Any]) -> None:
    with pytest.raises(AttachmentNotFound):
        storage.read_json_object(support.BUCKET, "requests/none.json")


def test_read_json_object_of_an_unknown_version(aws: dict[str, Any]) -> None:
    _put(aws, "requests/r.json", b"{}")
    with pytest.raises(AttachmentNotFound):
        storage.read_json_object(support.BUCKET, "requests/r.json", "Lp9hY6tVt4fNQ3a8o0hYqXb0b8lC1fJ2")


# --- Content-MD5 -----------------------------------------------------------------------------------------


def test_content_md5_of_nothing() -> None:
    assert attachments.content_md5(b"") == "1B2M2Y8AsgTpgAmY7PhCfg=="


def test_content_md5_is_base64_of_the_binary_digest() -> None:
    assert attachments.content_md5(PDF) == _md5_b64(PDF)
    assert base64.b64decode(attachments.content_md5(PDF)) == hashlib.md5(PDF).digest()
    assert attachments.content_md5(PDF) != hashlib.md5(PDF).hexdigest()


@pytest.mark.parametrize(
    "size",
    [0, 1, attachments.READ_CHUNK_BYTES - 1, attachments.READ_CHUNK_BYTES, attachments.READ_CHUNK_BYTES + 3],
    ids=["0B", "1B", "chunk-1", "chunk", "1MiB+3B"],
)
def test_streamed_digest_hashes_every_byte(aws: dict[str, Any], size: int) -> None:
    data = bytes((i * 7 + 3) % 256 for i in range(size))
    put = _put(aws, KEY, data)
    digest = attachments.streamed_digest(support.BUCKET, KEY, put["ETag"], size)
    assert digest == attachments.Digest(content_md5=_md5_b64(data), size=size, source=attachments.STREAM_SOURCE)
    assert digest.content_md5 == attachments.content_md5(data)
    assert digest.content_md5 != hashlib.md5(data).hexdigest()
    assert len(base64.b64decode(digest.content_md5)) == 16


@pytest.mark.parametrize("digest_of", [attachments.digest_of_staged, attachments.streamed_digest])
def test_digest_of_an_empty_object(aws: dict[str, Any], digest_of: Any) -> None:
    put = _put(aws, KEY, b"")
    assert digest_of(support.BUCKET, KEY, put["ETag"], 0).content_md5 == "1B2M2Y8AsgTpgAmY7PhCfg=="


@pytest.mark.parametrize("digest_of", [attachments.digest_of_staged, attachments.streamed_digest])
@pytest.mark.parametrize("expected_size", [len(PDF) - 1, len(PDF) + 1, 0])
def test_digest_of_staged_refuses_another_size(aws: dict[str, Any], expected_size: int, digest_of: Any) -> None:
    put = _put(aws, KEY, PDF)
    with pytest.raises(AttachmentChanged) as raised:
        digest_of(support.BUCKET, KEY, put["ETag"], expected_size)
    assert f"{len(PDF):,}" in str(raised.value)


@pytest.mark.parametrize("digest_of", [attachments.digest_of_staged, attachments.streamed_digest])
def test_digest_of_staged_refuses_a_replaced_object(aws: dict[str, Any], digest_of: Any) -> None:
    first = _put(aws, KEY, PDF)
    _put(aws, KEY, PDF[::-1])
    with pytest.raises(AttachmentChanged):
        digest_of(support.BUCKET, KEY, first["ETag"], len(PDF))


@pytest.mark.parametrize("digest_of", [attachments.digest_of_staged, attachments.streamed_digest])
def test_digest_of_staged_of_a_deleted_object(aws: dict[str, Any], digest_of: Any) -> None:
    with pytest.raises(AttachmentNotFound):
        digest_of(support.BUCKET, "attachments/gone.pdf", '"0cc175b9c0f1b6a831c399e269772661"', 3)


def test_streamed_digest_reads_in_chunks_and_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"x" * 10

    class Body:
        def __init__(self) -> None:
            self.reads: list[int] = []
            self.offset = 0
            self.closed = False

        def read(self, amount: int = -1) -> bytes:
            self.reads.append(amount)
            chunk = data[self.offset : self.offset + 4]
            self.offset += len(chunk)
            return chunk

        def close(self) -> None:
            self.closed = True

    body = Body()
    monkeypatch.setattr(storage, "open_object", lambda bucket, key, etag: (body, len(data)))
    assert attachments.streamed_digest("b", "k", '"e"', len(data)).content_md5 == _md5_b64(data)
    assert body.closed
    assert set(body.reads) == {attachments.READ_CHUNK_BYTES}
    assert len(body.reads) == 4  # 4 + 4 + 2 bytes, then the empty read that ends the stream
