"""Content-MD5 from S3's ETag or streamed: which path each object takes, and that both agree on real objects."""

from __future__ import annotations

import base64
import hashlib
import random
from typing import Any

import pytest

from buyer_messaging import attachments, storage
from buyer_messaging.errors import AttachmentChanged, StagingUnavailable
from tests import support

KEY = "attachments/manual.pdf"
MiB = 1024 * 1024


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _data(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def _put(aws: dict[str, Any], key: str, body: bytes, **extra: Any) -> dict[str, Any]:
    return aws["s3"].put_object(Bucket=support.BUCKET, Key=key, Body=body, **extra)


def _multipart(aws: dict[str, Any], key: str, parts: list[bytes]) -> dict[str, Any]:
    s3 = aws["s3"]
    upload = s3.create_multipart_upload(Bucket=support.BUCKET, Key=key)
    done = []
    for number, part in enumerate(parts, start=1):
        answer = s3.upload_part(
            Bucket=support.BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=part
        )
        done.append({"PartNumber": number, "ETag": answer["ETag"]})
    completed: dict[str, Any] = s3.complete_multipart_upload(
        Bucket=support.BUCKET, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": done}
    )
    return completed


class _Calls:
    """Counts the S3 reads of the code under test: HEADs and GETs through the storage adapter."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.heads = 0
        self.gets = 0
        head, get = storage.head_object, storage.open_object

        def counted_head(*args: Any, **kwargs: Any) -> storage.ObjectInfo:
            self.heads += 1
            return head(*args, **kwargs)

        def counted_get(*args: Any, **kwargs: Any) -> tuple[storage.Readable, int]:
            self.gets += 1
            return get(*args, **kwargs)

        monkeypatch.setattr(storage, "head_object", counted_head)
        monkeypatch.setattr(storage, "open_object", counted_get)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> _Calls:
    return _Calls(monkeypatch)


# --- the ETag's shape and the bucket ---------------------------------------------------------------------


def test_md5_from_an_md5_etag_is_base64_of_the_16_bytes() -> None:
    data = b"%PDF-1.7 warranty"
    etag = f'"{hashlib.md5(data).hexdigest()}"'
    assert attachments.md5_from_etag(etag) == _md5_b64(data)
    assert attachments.md5_from_etag(etag.upper()) == _md5_b64(data)
    assert base64.b64decode(attachments.md5_from_etag(etag) or "") == hashlib.md5(data).digest()


@pytest.mark.parametrize(
    "etag",
    [
        '"8b0be7847da5564ae08e97af63b60885-2"',  # multipart: MD5 of the parts' MD5s, not of the bytes
        'W/"8b0be7847da5564ae08e97af63b60885"',  # weak
        "8b0be7847da5564ae08e97af63b60885",  # unquoted: not what S3 sends
        '"8b0be7847da5564ae08e97af63b6088"',  # 31 digits
        '"8b0be7847da5564ae08e97af63b60885aa"',
        '"zb0be7847da5564ae08e97af63b60885"',
        '""',
        "",
    ],
)
def test_other_etag_shapes_give_no_md5(etag: str) -> None:
    assert attachments.md5_from_etag(etag) is None


@pytest.mark.parametrize(
    ("bucket", "general_purpose"),
    [
        (support.BUCKET, True),
        ("my.bucket-1", True),
        ("invoices--usw2-az1--x-s3", False),  # directory bucket: its ETags are not MD5s
        ("my-banner-ap-abc123--ol-s3", False),  # Object Lambda access point alias: bytes are transformed
        ("my-ap-abc123--op-s3", False),  # Outposts access point alias
        ("arn:aws:s3:us-east-1:123456789012:accesspoint/ap", False),
        ("UPPER", False),
        ("ab", False),
    ],
)
def test_general_purpose_buckets(bucket: str, general_purpose: bool) -> None:
    assert attachments.is_general_purpose_bucket(bucket) is general_purpose


_MD5_ETAG = '"5d41402abc4b2a76b9719d911017c592"'


@pytest.mark.parametrize(
    ("encryption", "customer_key", "etag", "bucket", "is_md5"),
    [
        (None, None, _MD5_ETAG, support.BUCKET, True),
        ("AES256", None, _MD5_ETAG, support.BUCKET, True),
        ("aws:kms", None, _MD5_ETAG, support.BUCKET, False),
        ("aws:kms:dsse", None, _MD5_ETAG, support.BUCKET, False),
        ("something-new", None, _MD5_ETAG, support.BUCKET, False),  # unknown: stream rather than guess
        (None, "AES256", _MD5_ETAG, support.BUCKET, False),  # SSE-C
        ("AES256", None, '"5d41402abc4b2a76b9719d911017c592-3"', support.BUCKET, False),
        ("AES256", None, _MD5_ETAG, "invoices--usw2-az1--x-s3", False),
    ],
)
def test_etag_is_md5_only_where_aws_documents_it(
    encryption: str | None, customer_key: str | None, etag: str, bucket: str, is_md5: bool
) -> None:
    info = storage.ObjectInfo(
        size=5,
        etag=etag,
        version_id=None,
        content_type=None,
        server_side_encryption=encryption,
        sse_customer_algorithm=customer_key,
    )
    assert attachments.etag_is_md5(bucket, info) is is_md5


# --- head_object tells the encryption and honours the pin ------------------------------------------------


@pytest.mark.parametrize("encryption", [None, "AES256", "aws:kms", "aws:kms:dsse"])
def test_head_object_reports_the_server_side_encryption(aws: dict[str, Any], encryption: str | None) -> None:
    extra = {"ServerSideEncryption": encryption} if encryption else {}
    _put(aws, KEY, b"hello", **extra)
    info = storage.head_object(support.BUCKET, KEY)
    assert info.server_side_encryption == encryption
    assert info.sse_customer_algorithm is None


def test_head_object_reports_the_buckets_default_encryption(aws: dict[str, Any]) -> None:
    aws["s3"].put_bucket_encryption(
        Bucket=support.BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    _put(aws, KEY, b"hello")
    assert storage.head_object(support.BUCKET, KEY).server_side_encryption == "aws:kms"


def test_head_object_pinned_to_the_current_etag(aws: dict[str, Any]) -> None:
    put = _put(aws, KEY, b"hello")
    assert storage.head_object(support.BUCKET, KEY, put["ETag"]).etag == put["ETag"]


def test_head_object_pinned_to_a_replaced_version_is_attachment_changed(aws: dict[str, Any]) -> None:
    first = _put(aws, KEY, b"hello")
    _put(aws, KEY, b"hello, changed")
    with pytest.raises(AttachmentChanged, match=KEY):
        storage.head_object(support.BUCKET, KEY, first["ETag"])


# --- which path an object takes --------------------------------------------------------------------------


@pytest.mark.parametrize("encryption", [None, "AES256"])
def test_an_md5_etag_gives_the_digest_without_reading_the_object(
    aws: dict[str, Any], calls: _Calls, encryption: str | None
) -> None:
    data = _data(3 * MiB + 17)
    put = _put(aws, KEY, data, **({"ServerSideEncryption": encryption} if encryption else {}))

    digest = attachments.digest_of_staged(support.BUCKET, KEY, put["ETag"], len(data))

    assert digest == attachments.Digest(_md5_b64(data), len(data), attachments.ETAG_SOURCE)
    assert (calls.heads, calls.gets) == (1, 0)


@pytest.mark.parametrize("encryption", ["aws:kms", "aws:kms:dsse"])
def test_a_kms_encrypted_object_is_streamed(aws: dict[str, Any], calls: _Calls, encryption: str) -> None:
    data = _data(2 * MiB + 5)
    put = _put(aws, KEY, data, ServerSideEncryption=encryption)

    digest = attachments.digest_of_staged(support.BUCKET, KEY, put["ETag"], len(data))

    assert digest == attachments.Digest(_md5_b64(data), len(data), attachments.STREAM_SOURCE)
    assert calls.gets == 1


def test_an_object_under_the_buckets_default_kms_encryption_is_streamed(aws: dict[str, Any], calls: _Calls) -> None:
    aws["s3"].put_bucket_encryption(
        Bucket=support.BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    data = _data(1000)
    put = _put(aws, KEY, data)

    assert attachments.digest_of_staged(support.BUCKET, KEY, put["ETag"], len(data)).source == attachments.STREAM_SOURCE
    assert calls.gets == 1


def test_a_multipart_object_is_streamed_without_a_head(aws: dict[str, Any], calls: _Calls) -> None:
    parts = [_data(5 * MiB, seed=1), _data(1234, seed=2)]
    completed = _multipart(aws, KEY, parts)
    assert completed["ETag"].endswith('-2"')

    digest = attachments.digest_of_staged(support.BUCKET, KEY, completed["ETag"], sum(map(len, parts)))

    assert digest == attachments.Digest(_md5_b64(b"".join(parts)), sum(map(len, parts)), attachments.STREAM_SOURCE)
    assert (calls.heads, calls.gets) == (0, 1)


def test_an_etag_that_changed_between_head_and_pin_is_never_trusted(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that ignored If-Match would answer with the new ETag: that ETag is not used, the pinned
    GET refuses the replaced object."""
    first = _put(aws, KEY, b"version 1")
    _put(aws, KEY, b"version 2")
    ignoring_the_pin = storage.head_object
    monkeypatch.setattr(storage, "head_object", lambda bucket, key, etag=None: ignoring_the_pin(bucket, key))

    with pytest.raises(AttachmentChanged):
        attachments.digest_of_staged(support.BUCKET, KEY, first["ETag"], len(b"version 2"))


# --- both paths agree on real objects --------------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [0, 1, 15, 16, 17, attachments.READ_CHUNK_BYTES - 1, attachments.READ_CHUNK_BYTES, 5 * MiB + 3],
)
def test_the_etag_and_the_stream_give_the_same_content_md5(aws: dict[str, Any], size: int) -> None:
    data = _data(size, seed=size)
    put = _put(aws, KEY, data)

    from_etag = attachments.digest_of_staged(support.BUCKET, KEY, put["ETag"], size)
    streamed = attachments.streamed_digest(support.BUCKET, KEY, put["ETag"], size)

    assert from_etag.source == attachments.ETAG_SOURCE
    assert streamed.source == attachments.STREAM_SOURCE
    assert from_etag.content_md5 == streamed.content_md5 == _md5_b64(data) == attachments.content_md5(data)
    assert from_etag.size == streamed.size == size


# --- a stream that breaks off is retried, not a failure of unknown name -----------------------------------


class _BrokenRaw:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.asked: list[int | None] = []

    def read(self, amt: int | None = None) -> bytes:
        self.asked.append(amt)
        raise self.error

    def close(self) -> None:
        pass


def _read_errors() -> list[Exception]:
    from botocore.exceptions import IncompleteReadError, ReadTimeoutError, ResponseStreamingError

    return [
        ReadTimeoutError(endpoint_url="https://s3.amazonaws.com"),
        ResponseStreamingError(error="Connection broken: IncompleteRead"),
        IncompleteReadError(actual_bytes=10, expected_bytes=20),
        ConnectionResetError("reset by peer"),
    ]


@pytest.mark.parametrize("error", _read_errors(), ids=lambda error: type(error).__name__)
def test_a_stream_that_breaks_off_is_staging_unavailable(error: Exception) -> None:
    body = storage._Body(_BrokenRaw(error), support.BUCKET, KEY)
    with pytest.raises(StagingUnavailable, match=type(error).__name__) as raised:
        body.read(10)
    assert raised.value.transient


def test_a_broken_stream_while_hashing_is_staging_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ReadTimeoutError

    raw = _BrokenRaw(ReadTimeoutError(endpoint_url="https://s3.amazonaws.com"))
    monkeypatch.setattr(storage, "open_object", lambda *_: (storage._Body(raw, support.BUCKET, KEY), 10))
    with pytest.raises(StagingUnavailable):
        attachments.streamed_digest(support.BUCKET, KEY, _MD5_ETAG, 10)


def test_reading_everything_asks_the_raw_stream_for_everything() -> None:
    raw = _BrokenRaw(ConnectionResetError())
    body = storage._Body(raw, support.BUCKET, KEY)
    for amount in (-1, 5):
        with pytest.raises(StagingUnavailable):
            body.read(amount)
    assert raw.asked == [None, 5]


def test_reads_from_s3_are_not_checksummed_a_second_time(aws: dict[str, Any]) -> None:
    """The upload endpoint's Content-MD5 check covers every byte; botocore's CRC of each read would only add
    CPU to the hash and copy steps (see storage._client)."""
    data = _data(1000)
    put = _put(aws, KEY, data, ChecksumAlgorithm="CRC32")
    body, _ = storage.open_object(support.BUCKET, KEY, put["ETag"])
    try:
        assert type(body._raw).__name__ == "StreamingBody"  # not botocore's StreamingChecksumBody
        assert body.read() == data
    finally:
        body.close()
