"""Content-MD5 from the ETag and streamed, through the real state machine: the emulator's upload endpoint
checks Content-MD5 against the bytes it receives (BadDigest), so a delivery proves the digest was right."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest

from buyer_messaging import attachments
from tests.integration.conftest import Stack

ORDER = "123-1234567-1234567"
MARKETPLACE = "ATVPDKIKX0DER"
MiB = 1024 * 1024


def _pdf(size: int, seed: int) -> bytes:
    head = b"%PDF-1.7\n"
    return head + random.Random(seed).randbytes(size - len(head))


def _document(key: str) -> dict[str, Any]:
    return {
        "amazonOrderId": ORDER,
        "marketplaceId": MARKETPLACE,
        "messageType": "invoice",
        "attachments": [{"key": key, "fileName": "Manual.pdf"}],
    }


@pytest.fixture
def sources(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which path each hash took (the handlers run in this process)."""
    taken: list[str] = []
    digest_of_staged = attachments.digest_of_staged

    def recorded(*args: Any) -> attachments.Digest:
        digest = digest_of_staged(*args)
        taken.append(digest.source)
        return digest

    monkeypatch.setattr(attachments, "digest_of_staged", recorded)
    return taken


def _delivered_md5(stack: Stack) -> list[tuple[str, str, int]]:
    (delivery,) = stack.emulator.deliveries(ORDER)
    return [(a["fileName"], a["md5"], a["size"]) for a in delivery["attachments"]]


@pytest.mark.parametrize("encryption", [None, "AES256"])
def test_a_digest_taken_from_the_etag_is_accepted_by_the_upload_endpoint(
    stack: Stack, sources: list[str], encryption: str | None
) -> None:
    data = _pdf(MiB, seed=1)
    extra = {"ServerSideEncryption": encryption} if encryption else {}
    stack.s3.put_object(Bucket=stack.bucket, Key="attachments/manual.pdf", Body=data, **extra)

    execution = stack.start(_document("attachments/manual.pdf"))

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert sources == [attachments.ETAG_SOURCE]
    assert _delivered_md5(stack) == [("Manual.pdf", hashlib.md5(data).hexdigest(), len(data))]


@pytest.mark.parametrize("encryption", ["aws:kms", "aws:kms:dsse"])
def test_a_kms_encrypted_file_is_streamed_and_delivered(stack: Stack, sources: list[str], encryption: str) -> None:
    data = _pdf(MiB + 3, seed=2)
    stack.s3.put_object(Bucket=stack.bucket, Key="attachments/manual.pdf", Body=data, ServerSideEncryption=encryption)

    execution = stack.start(_document("attachments/manual.pdf"))

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert sources == [attachments.STREAM_SOURCE]
    assert _delivered_md5(stack) == [("Manual.pdf", hashlib.md5(data).hexdigest(), len(data))]


def test_a_multipart_upload_is_streamed_and_delivered(stack: Stack, sources: list[str]) -> None:
    parts = [_pdf(5 * MiB, seed=3), random.Random(4).randbytes(4321)]  # S3's smallest part, then the rest
    key = "attachments/manual.pdf"
    upload = stack.s3.create_multipart_upload(Bucket=stack.bucket, Key=key)
    done = []
    for number, part in enumerate(parts, start=1):
        answer = stack.s3.upload_part(
            Bucket=stack.bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=part
        )
        done.append({"PartNumber": number, "ETag": answer["ETag"]})
    stack.s3.complete_multipart_upload(
        Bucket=stack.bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": done}
    )

    execution = stack.start(_document(key))

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert sources == [attachments.STREAM_SOURCE]
    data = b"".join(parts)
    assert _delivered_md5(stack) == [("Manual.pdf", hashlib.md5(data).hexdigest(), len(data))]


def test_a_wrong_digest_would_be_refused_by_the_upload_endpoint(
    stack: Stack, sources: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the tests above: their deliveries prove something only if a wrong digest fails."""
    data = _pdf(MiB, seed=5)
    stack.put("attachments/manual.pdf", data)
    wrong = attachments.content_md5(data + b"!")
    monkeypatch.setattr(attachments, "md5_from_etag", lambda etag: wrong)

    execution = stack.start(_document("attachments/manual.pdf"))

    assert execution["status"] == "FAILED"
    assert execution.get("error") == "UploadRejected"
    assert "BadDigest" in execution.get("cause", "")
    assert sources == [attachments.ETAG_SOURCE]
    assert stack.emulator.deliveries(ORDER) == []
