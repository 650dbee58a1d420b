"""The staging bucket adapter: the only module that talks to S3."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from buyer_messaging.aws_clients import CLIENT_LOCK
from buyer_messaging.errors import (
    AttachmentChanged,
    AttachmentNotFound,
    InvalidRequest,
    StagingAccessDenied,
    StagingUnavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from buyer_messaging.validation import StagedObject

MAX_REQUEST_DOCUMENT_BYTES = 256 * 1024
_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "NotFound", "404", "NoSuchVersion"}
_CHANGED = {"PreconditionFailed", "412"}
_DENIED = {"AccessDenied", "403", "AllAccessDisabled", "KMS.AccessDeniedException", "InvalidObjectState"}


class Readable(Protocol):
    def read(self, amt: int = ..., /) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One version of an S3 object, as the records name it: a request's source or a campaign run's report."""

    bucket: str
    key: str
    version_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "versionId": self.version_id}


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int
    etag: str
    version_id: str | None
    content_type: str | None
    # How S3 stores the object ("AES256", "aws:kms", "aws:kms:dsse"; None when unencrypted) and the algorithm
    # of a customer-provided key (SSE-C): they decide whether the ETag is the MD5 of the bytes.
    server_side_encryption: str | None = None
    sse_customer_algorithm: str | None = None


@lru_cache(maxsize=1)
def _client() -> S3Client:
    import boto3
    from botocore.config import Config

    with CLIENT_LOCK:
        return boto3.client(
            "s3",
            config=Config(
                retries={"mode": "standard", "max_attempts": 3},
                # botocore would otherwise compute a CRC of every object it reads (when S3 stored one), about a
                # third more CPU on top of MD5 for the hash and copy steps (bench/). It adds no protection here:
                # the upload endpoint checks the Content-MD5 (S3's own MD5, or the hash step's) against every
                # byte it receives, so bytes damaged on either read fail with BadDigest, never reach a buyer.
                response_checksum_validation="when_required",
            ),
        )


def reset_client() -> None:
    """Forget the cached client (tests that switch endpoints or credentials)."""
    _client.cache_clear()


def head_object(bucket: str, key: str, etag: str | None = None) -> ObjectInfo:
    """The object's metadata; with ``etag``, only if the object still has it (else AttachmentChanged)."""
    arguments: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if etag:
        arguments["IfMatch"] = etag
    try:
        response = _client().head_object(**arguments)
    except Exception as error:
        raise _translate(error, bucket, key) from None
    return ObjectInfo(
        size=int(response["ContentLength"]),
        etag=str(response["ETag"]),
        version_id=response.get("VersionId"),
        content_type=response.get("ContentType"),
        server_side_encryption=response.get("ServerSideEncryption"),
        sse_customer_algorithm=response.get("SSECustomerAlgorithm"),
    )


def open_object(bucket: str, key: str, etag: str | None = None) -> tuple[Readable, int]:
    """A stream of the object's bytes and its length; with ``etag``, only if the object still has it."""
    arguments: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if etag:
        arguments["IfMatch"] = etag
    try:
        response = _client().get_object(**arguments)
    except Exception as error:
        raise _translate(error, bucket, key) from None
    return _Body(response["Body"], bucket, key), int(response["ContentLength"])


class _Body:
    """The object's bytes as S3 streams them. A stream that breaks off (reset, read timeout, fewer bytes than
    announced) is StagingUnavailable, retried like a failed GET, instead of an error name the state machine
    does not know (which would fail the execution)."""

    def __init__(self, raw: Any, bucket: str, key: str) -> None:
        self._raw = raw
        self._bucket = bucket
        self._key = key

    def read(self, amt: int = -1, /) -> bytes:
        try:
            data: bytes = self._raw.read(None if amt < 0 else amt)
        except Exception as error:
            raise _translate(error, self._bucket, self._key, reading=True) from None
        return data

    def close(self) -> None:
        self._raw.close()


def read_json_object(bucket: str, key: str, version_id: str | None = None) -> object:
    """A small JSON document from the bucket (a request document), with clear errors for bad ones."""
    arguments: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        arguments["VersionId"] = version_id
    try:
        response = _client().get_object(**arguments)
        if int(response["ContentLength"]) > MAX_REQUEST_DOCUMENT_BYTES:
            response["Body"].close()
            raise InvalidRequest(
                f"s3://{bucket}/{key} is {response['ContentLength']:,} bytes; a request document may have at most "
                f"{MAX_REQUEST_DOCUMENT_BYTES:,}. Stage files under attachments/ and reference them by key."
            )
        raw = response["Body"].read()
    except InvalidRequest:
        raise
    except Exception as error:
        raise _translate(error, bucket, key) from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidRequest(f"s3://{bucket}/{key} is not a JSON request document: {error}.") from None


def read_object(bucket: str, key: str, version_id: str | None = None) -> bytes:
    """The bytes of one object version (a campaign's manifest, its rows to send, the Map's results)."""
    arguments: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        arguments["VersionId"] = version_id
    try:
        response = _client().get_object(**arguments)
        return bytes(response["Body"].read())
    except Exception as error:
        raise _translate(error, bucket, key, reading=True) from None


def put_object(bucket: str, key: str, body: bytes, content_type: str) -> str | None:
    """Write an object (a campaign's rows to send, its report); the new version's id (None: versioning is off)."""
    try:
        response = _client().put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    except Exception as error:
        raise _translate(error, bucket, key) from None
    return response.get("VersionId")


def staged_object(bucket: str, key: str) -> StagedObject | None:
    """What S3 says about a staged object (its size and ETag), None when it has none: a campaign's check of each
    row's files (manifest.check_rows' object_facts), in PrepareCampaign and in the API's dry run alike."""
    from buyer_messaging.validation import StagedObject

    try:
        info = head_object(bucket, key)
    except AttachmentNotFound:
        return None
    return StagedObject(size=info.size, etag=info.etag)


def attachment_not_found(bucket: str, key: str) -> AttachmentNotFound:
    """The error for a staged attachment S3 does not have: one sentence whoever looked (a step, a campaign's check)."""
    return AttachmentNotFound(f"s3://{bucket}/{key} does not exist (was it deleted, or is the key or bucket wrong?).")


def _translate(error: Exception, bucket: str, key: str, *, reading: bool = False) -> Exception:
    from botocore.exceptions import BotoCoreError, ClientError

    where = f"s3://{bucket}/{key}"
    if reading and isinstance(error, BotoCoreError | OSError):
        return StagingUnavailable(f"S3 broke off while sending {where} ({type(error).__name__}).")
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _NOT_FOUND or status == 404:
            return attachment_not_found(bucket, key)
        if code in _CHANGED or status == 412:
            return AttachmentChanged(
                f"{where} was replaced while the message was being prepared; the new file starts its own message "
                "if it was staged under outbox/, otherwise send the request again."
            )
        if code in _DENIED or status == 403:
            return StagingAccessDenied(f"This function may not read {where} ({code}).")
        return StagingUnavailable(f"S3 failed to serve {where} ({code or status}).")
    if isinstance(error, BotoCoreError):
        return StagingUnavailable(f"S3 could not be reached for {where} ({type(error).__name__}).")
    return error


# S3 keeps at most 10 tags per object; the seller's own tags are kept, ours replaced.
MAX_TAGS_PER_OBJECT = 10


def tag_object(
    bucket: str, key: str, version_id: str | None, tags: dict[str, str], remove: tuple[str, ...] = ()
) -> None:
    """Merge ``tags`` into the object's tag set (S3 replaces whole sets), dropping the keys in ``remove``."""
    where: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        where["VersionId"] = version_id
    try:
        current = _client().get_object_tagging(**where)["TagSet"]
        merged = {tag["Key"]: tag["Value"] for tag in current if tag["Key"] not in tags and tag["Key"] not in remove}
        if len(merged) + len(tags) > MAX_TAGS_PER_OBJECT:
            raise InvalidRequest(
                f"s3://{bucket}/{key} already has {len(merged)} tags of its own; S3 allows "
                f"{MAX_TAGS_PER_OBJECT}, so the workflow's {len(tags)} do not fit."
            )
        merged.update(tags)
        tag_set = [{"Key": name, "Value": value} for name, value in merged.items()]
        _client().put_object_tagging(**where, Tagging={"TagSet": tag_set})  # type: ignore[typeddict-item]
    except InvalidRequest:
        raise
    except Exception as error:
        raise _translate(error, bucket, key) from None


@dataclass(frozen=True, slots=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


def presigned_post(bucket: str, key: str, content_type: str, size: int, expires_in: int) -> PresignedPost:
    """A browser form upload of exactly ``size`` bytes of ``content_type`` to ``key``: S3 checks the policy."""
    import boto3
    from botocore.config import Config

    # SigV4 and the bucket's own regional host: the default (SigV2, global endpoint) redirects, and a browser
    # cannot follow a redirected form POST.
    with CLIENT_LOCK:
        client = boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "auto"}))
    try:
        form = client.generate_presigned_post(
            Bucket=bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", size, size],
            ],
            ExpiresIn=expires_in,
        )
    except Exception as error:
        raise _translate(error, bucket, key) from None
    return PresignedPost(url=str(form["url"]), fields={name: str(value) for name, value in form["fields"].items()})


def put_if_absent(bucket: str, key: str, body: bytes, content_type: str) -> tuple[bool, str | None]:
    """Write ``key`` only if S3 has no object under it (a conditional write, ``If-None-Match: *``: of two writers
    at once, one wins): ``(True, new version id)``, or ``(False, None)`` when the key is taken."""
    try:
        response = _client().put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*")
    except Exception as error:
        from botocore.exceptions import ClientError

        if isinstance(error, ClientError) and (
            error.response.get("Error", {}).get("Code") in _CHANGED
            or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 412
        ):
            return False, None
        raise _translate(error, bucket, key) from None
    return True, response.get("VersionId")
