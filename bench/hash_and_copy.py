"""Hash and copy of staged objects through the local stack: MB/s and peak RSS, beside the limits.

For each size an object of random bytes is staged in moto's S3 (a server in its own process); every
measurement is one fresh child process (``bench.attachment_op``) that hashes it or copies it to a presigned
URL of the SP-API emulator (another process, which checks the Content-MD5 of what it receives). Rows:

- hash: the ETag path, the streamed path, the naive path of Amazon's sample (read it all, then hash), and
  the limit: ``hashlib.md5`` over the same bytes already in memory;
- copy: the streamed copy of the upload step, the naive one (read it all, then PUT), and the limit: one PUT
  of the bytes already in memory (the pace of the emulator's endpoint).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.attachment_op import COPY_OPS, HASH_OPS
from bench.common import MB, MiB, Stack, child_environment, median, run_child, running_stack, table

ORDER = "123-1234567-1234567"
MARKETPLACE = "ATVPDKIKX0DER"
LABELS = {
    "hash-etag": "ETag path (HEAD, no read)",
    "hash-stream": "streamed (ours)",
    "hash-naive": "naive: read all, then hash",
    "md5-in-memory": "limit: hashlib.md5 in memory",
    "get-only": "limit: S3 GET alone, no hash",
    "copy-stream": "streamed (ours)",
    "copy-naive": "naive: read all, then PUT",
    "put-from-memory": "limit: one PUT from memory",
}
HASH_TARGET_RATIO = 0.6
RSS_GROWTH_TARGET = 32 * MiB


@dataclass
class Results:
    sizes: list[int]
    runs: dict[tuple[int, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def seconds(self, size: int, op: str) -> float:
        return median([run["seconds"] for run in self.runs[(size, op)]])

    def rate(self, size: int, op: str) -> float:
        return size / self.seconds(size, op) / MB

    def first_byte_seconds(self, size: int, op: str) -> float | None:
        """Until S3's answer began (None: the operation reads nothing from S3)."""
        times = [run["first_byte_seconds"] for run in self.runs[(size, op)]]
        return None if None in times else median(times)

    def streaming_rate(self, size: int, op: str) -> float:
        """MB/s from S3's first byte to the end: reading and hashing (or sending), the request's latency
        left out. For an operation that reads nothing from S3, its rate."""
        first_byte = self.first_byte_seconds(size, op) or 0.0
        return size / max(self.seconds(size, op) - first_byte, 1e-9) / MB

    def cpu_seconds(self, size: int, op: str) -> float:
        return median([run["cpu_seconds"] for run in self.runs[(size, op)]])

    def cpu_rate(self, size: int, op: str) -> float:
        """MB per CPU second of this process: what the code costs, whatever else the machine is doing."""
        return size / max(self.cpu_seconds(size, op), 1e-9) / MB

    def peak(self, size: int, op: str) -> int:
        return int(median([run["peak_rss"] for run in self.runs[(size, op)]]))

    def growth(self, size: int, op: str) -> int:
        return int(median([run["peak_rss"] - run["rss_before"] for run in self.runs[(size, op)]]))


def measure(stack: Stack, sizes: Sequence[int], repeats: int, log: Any = print) -> Results:
    results = Results(list(sizes))
    s3 = stack.s3()
    for size in sizes:
        key = f"attachments/bench-{size // MiB}MiB.bin"
        data = os.urandom(size)
        expected_md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        etag = s3.put_object(Bucket=stack.bucket, Key=key, Body=data)["ETag"]
        del data
        arguments = {
            "bucket": stack.bucket,
            "key": key,
            "etag": etag,
            "size": size,
            "order": ORDER,
            "marketplace": MARKETPLACE,
            "emulator": {
                "url": stack.emulator_url,
                "token_url": stack.token_url,
                "upload_host": stack.upload_host,
                "credentials": stack.credentials,
            },
        }
        environment = child_environment({"AWS_ENDPOINT_URL": stack.endpoint_url})
        if size == sizes[0]:
            # One untimed round first: the servers' own first requests (imports, caches) are not measured.
            for op in (*HASH_OPS, *COPY_OPS):
                run_child("bench.attachment_op", {**arguments, "op": op}, environment=environment)
        for repeat in range(repeats):
            for op in (*HASH_OPS, *COPY_OPS):
                run, _ = run_child("bench.attachment_op", {**arguments, "op": op}, environment=environment)
                if op in HASH_OPS and op != "get-only" and run["content_md5"] != expected_md5:
                    raise AssertionError(f"{op} of {size:,} bytes gave {run['content_md5']}, not {expected_md5}")
                results.runs[(size, op)].append(run)
            log(f"  {size // MiB} MiB: run {repeat + 1}/{repeats} done")
        s3.delete_object(Bucket=stack.bucket, Key=key)
    return results


def _size_label(size: int) -> str:
    return f"{size // MiB} MiB" if size >= MiB else f"{size:,} B"


def hash_table(results: Results) -> str:
    # After S3's first byte, the hash's rate against md5's: what the target judges.
    return _table(results, HASH_OPS, "md5-in-memory", "Content-MD5", rate_after_first_byte=True)


def copy_table(results: Results) -> str:
    return _table(results, COPY_OPS, "put-from-memory", "copy S3 → presigned URL", rate_after_first_byte=False)


def _table(results: Results, ops: Sequence[str], limit_op: str, what: str, *, rate_after_first_byte: bool) -> str:
    """A row per size and operation, each rate also as a ratio of ``limit_op``'s (the bytes already in memory,
    read before the clock started: no peak RSS of its own)."""
    rows = []
    for size in results.sizes:
        limit = results.rate(size, limit_op)
        for op in ops:
            in_memory = op == limit_op
            first_byte = results.first_byte_seconds(size, op)
            row: list[object] = [
                _size_label(size),
                LABELS[op],
                results.seconds(size, op) * 1000,
                results.rate(size, op),
                f"{results.rate(size, op) / limit:.2f}x",
                None if first_byte is None else first_byte * 1000,
            ]
            if rate_after_first_byte:
                streaming = None if first_byte is None else results.streaming_rate(size, op)
                row += [streaming, None if streaming is None else f"{streaming / limit:.2f}x"]
            row += [
                results.cpu_seconds(size, op) * 1000,
                None if in_memory else results.peak(size, op) / MiB,
                None if in_memory else results.growth(size, op) / MiB,
            ]
            rows.append(row)
    after_first_byte = ["MB/s after it", "x limit"] if rate_after_first_byte else []
    return table(
        [
            "object",
            what,
            "ms",
            "MB/s",
            "x limit",
            "S3 1st byte ms",
            *after_first_byte,
            "CPU ms",
            "peak RSS MiB",
            "RSS growth MiB",
        ],
        rows,
    )


def targets(results: Results) -> list[list[object]]:
    """Rows of (target, measured, met?)."""
    rows: list[list[object]] = []
    for size in results.sizes:
        # The rate of the hash itself is measured from S3's first byte: the time before it is the request
        # and the store's latency, the same whatever reads the answer (the GET alone, which hashes nothing,
        # pays it too). The wall time including it is shown beside it.
        limit = results.rate(size, "md5-in-memory")
        streaming_ratio = results.streaming_rate(size, "hash-stream") / limit
        ratio = results.rate(size, "hash-stream") / limit
        get_ratio = results.rate(size, "get-only") / limit
        first_byte = results.first_byte_seconds(size, "hash-stream") or 0.0
        rows.append(
            [
                f"streamed hash ≥ {HASH_TARGET_RATIO}x in-memory md5 ({_size_label(size)}), from S3's first byte",
                f"{streaming_ratio:.2f}x; with the request ({first_byte * 1000:,.0f} ms to S3's first byte) "
                f"{ratio:.2f}x, where the S3 GET alone, hashing nothing, is {get_ratio:.2f}x",
                "met" if streaming_ratio >= HASH_TARGET_RATIO else "NOT met",
            ]
        )
    etag_ms = [results.seconds(size, "hash-etag") * 1000 for size in results.sizes]
    spread = max(etag_ms) / min(etag_ms)
    rows.append(
        [
            "ETag path independent of size",
            " / ".join(f"{ms:.1f}" for ms in etag_ms) + f" ms ({spread:.2f}x spread)",
            "met" if spread <= 2 else "NOT met",
        ]
    )
    smallest, largest = min(results.sizes), max(results.sizes)
    for op in ("hash-stream", "copy-stream"):
        grew = results.peak(largest, op) - results.peak(smallest, op)
        rows.append(
            [
                f"peak RSS growth {_size_label(smallest)} → {_size_label(largest)} ≤ 32 MiB ({LABELS[op]} "
                f"{'hash' if op.startswith('hash') else 'copy'})",
                f"{grew / MiB:+.1f} MiB",
                "met" if grew <= RSS_GROWTH_TARGET else "NOT met",
            ]
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hash_and_copy")
    parser.add_argument("--sizes", default="1,64,512", help="object sizes in MiB (default 1,64,512)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the median is shown")
    args = parser.parse_args(argv)
    sizes = [int(float(size) * MiB) for size in args.sizes.split(",")]
    with running_stack() as stack:
        results = measure(stack, sizes, args.repeats)
    verdicts = table(["target", "measured", ""], targets(results))
    print(hash_table(results), "", copy_table(results), "", verdicts, sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
