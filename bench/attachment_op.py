"""``python -m bench.attachment_op RESULT ARGS``: one hash or copy of a staged object, in a fresh process.

Everything a warm Lambda would already have (imports, clients, the LWA token, the upload destination) is
set up first; then the peak RSS is reset and only the operation is timed. The result: seconds, CPU
seconds, the seconds until S3's answer began (its headers and first bytes: the store's latency, not the
code's), the RSS before, the peak during, and for the hash the Content-MD5 (checked by the parent against
the real MD5).
"""

from __future__ import annotations

import base64
import hashlib
import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.common import reset_peak_rss, status_bytes, write_result

HASH_OPS = ("hash-etag", "hash-stream", "hash-naive", "md5-in-memory", "get-only")
COPY_OPS = ("copy-stream", "copy-naive", "put-from-memory")
ETAG_REPEATS = 9
# A hash of a small object takes a few milliseconds, where one busy moment of the machine shows: it is timed
# several times in its process and the median kept, like the ETag path.
SMALL_OBJECT_BYTES = 8 * 1024 * 1024
SMALL_OBJECT_REPEATS = 9


def main(result_path: str, arguments: dict[str, Any]) -> None:
    op = arguments["op"]
    operation = _hash(op, arguments) if op in HASH_OPS else _copy(op, arguments)
    answered = _time_s3_answers()
    rss_before = status_bytes("VmRSS")
    peak_reset = reset_peak_rss()
    # A HEAD, or the hash of a small object, takes milliseconds, where one busy moment of the machine shows:
    # those are timed several times in their process and the median kept. Everything else runs once.
    timings = []
    repeats = 1
    if op == "hash-etag":
        repeats = ETAG_REPEATS
    elif op in HASH_OPS and arguments["size"] <= SMALL_OBJECT_BYTES:
        repeats = SMALL_OBJECT_REPEATS
    for _ in range(repeats):
        answered.clear()
        cpu_started = _cpu_seconds()
        started = time.perf_counter()
        outcome = operation()
        first_answer = (answered[0] - started) if answered else None
        timings.append((time.perf_counter() - started, _cpu_seconds() - cpu_started, first_answer))
    seconds, cpu_seconds, first_byte_seconds = sorted(timings, key=lambda timing: timing[0])[len(timings) // 2]
    write_result(
        result_path,
        {
            "op": op,
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "first_byte_seconds": first_byte_seconds,
            "rss_before": rss_before,
            "peak_rss": status_bytes("VmHWM"),
            "peak_reset": peak_reset,
            "content_md5": outcome,
        },
    )


def _time_s3_answers() -> list[float]:
    """Note when each GET of the staged object returns: botocore returns once S3's headers are in, the body
    still to be read. Everything before is the request and the store's time to first byte (moto builds the
    whole answer before sending any of it, so locally that grows with the size; S3 streams from the start);
    everything after is reading and hashing or sending, what the code controls."""
    from buyer_messaging import storage

    answered: list[float] = []
    open_object = storage.open_object

    def timed_open_object(*args: Any, **kwargs: Any) -> Any:
        opened = open_object(*args, **kwargs)
        answered.append(time.perf_counter())
        return opened

    storage.open_object = timed_open_object
    return answered


def _cpu_seconds() -> float:
    """User + system CPU of this process, all threads (the read-ahead thread included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _hash(op: str, arguments: dict[str, Any]) -> Callable[[], str | None]:
    from buyer_messaging import attachments, storage

    bucket, key, etag, size = arguments["bucket"], arguments["key"], arguments["etag"], arguments["size"]
    storage.head_object(bucket, key)  # the client and its connection exist, as in a warm container

    if op == "hash-etag":

        def from_etag() -> str | None:
            digest = attachments.digest_of_staged(bucket, key, etag, size)
            if digest.source != attachments.ETAG_SOURCE:
                raise RuntimeError(f"expected the ETag path, got {digest.source}")
            return digest.content_md5

        return from_etag
    if op == "hash-stream":
        return lambda: attachments.streamed_digest(bucket, key, etag, size).content_md5
    if op == "hash-naive":

        def naive() -> str | None:
            # Amazon's sample: the whole object in memory, then one digest.
            body, _ = storage.open_object(bucket, key, etag)
            data = body.read()
            body.close()
            return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()

        return naive
    if op == "get-only":

        def get_only() -> str | None:
            # The other limit: how fast the local S3 hands out the object at all (bytes read and dropped).
            body, _ = storage.open_object(bucket, key, etag)
            while body.read(attachments.READ_CHUNK_BYTES):
                pass
            body.close()
            return None

        return get_only
    # md5-in-memory: the limit, hashlib over the same bytes already in memory (read before the clock starts).
    body, _ = storage.open_object(bucket, key, etag)
    data = body.read()
    body.close()
    return lambda: base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def _copy(op: str, arguments: dict[str, Any]) -> Callable[[], str | None]:
    import requests

    from buyer_messaging import catalog, storage, uploads
    from buyer_messaging.auth import AccessTokenProvider, LwaCredentials
    from buyer_messaging.spapi import SpApiClient

    bucket, key, etag, size = arguments["bucket"], arguments["key"], arguments["etag"], arguments["size"]
    emulator = arguments["emulator"]
    credentials = LwaCredentials.from_secret(emulator["credentials"])
    client = SpApiClient(emulator["url"], AccessTokenProvider(emulator["token_url"], lambda: credentials))
    content_md5 = base64.b64encode(bytes.fromhex(etag.strip('"'))).decode()
    destination = uploads.create_upload_destination(
        client, catalog.message_type("invoice"), arguments["order"], arguments["marketplace"], content_md5, None
    )
    allowed = (emulator["upload_host"],)
    storage.head_object(bucket, key)

    if op == "copy-stream":

        def streamed() -> str | None:
            # What the upload step does (workflow.upload_attachment._put): the pinned GET streamed into the PUT.
            body, _ = storage.open_object(bucket, key, etag)
            try:
                uploads.put_file(destination, body, size, allowed, timeout=(5.0, 600.0))
            finally:
                body.close()
            return None

        return streamed

    def put(data: bytes) -> None:
        response = requests.put(destination.url, data=data, headers=dict(destination.headers), timeout=600)
        if response.status_code != 200:
            raise RuntimeError(f"upload refused: {response.status_code} {response.text[:300]}")

    if op == "copy-naive":

        def naive() -> str | None:
            body, _ = storage.open_object(bucket, key, etag)
            data = body.read()
            body.close()
            put(data)
            return None

        return naive
    # put-from-memory: the limit, the bytes already in memory sent with one PUT (the endpoint's pace).
    body, _ = storage.open_object(bucket, key, etag)
    data = body.read()
    body.close()

    def from_memory() -> str | None:
        put(data)
        return None

    return from_memory


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
