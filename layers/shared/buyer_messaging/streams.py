"""Reading a stream ahead of its consumer, in fixed-size chunks, with a fixed amount of memory.

Hashing a staged object (``md5.update``) and sending it to the presigned URL (``socket.sendall``) both
release the GIL, and so does receiving it from S3. Read on the consumer's thread, the two take turns: the
network idles while the consumer works and the other way round. With the reads on a thread of their own,
S3 keeps delivering while the consumer hashes or sends, and the object flows at the pace of the slower of
the two instead of the sum of both. At most ``depth`` chunks wait between the two threads, so the memory
used is a few chunks whatever the object's size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Protocol

DEFAULT_DEPTH = 2  # enough to keep both sides busy; more only holds more memory
_PUT_POLL_SECONDS = 0.1  # how often a reader blocked on a full queue looks whether the consumer gave up


class Readable(Protocol):
    def read(self, amt: int = ..., /) -> bytes: ...


class _End:
    """What the reader queues after the last chunk; carries the reader's error, if any."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class ReadAhead:
    """Chunks of ``body`` of at most ``chunk_bytes``, read by a background thread up to ``depth`` chunks ahead.

    Iterate once. The reader stops at the end of the stream or after ``limit`` bytes (it never asks for
    more), and an error it meets is raised to the consumer. ``close()`` (also called when the iteration is
    abandoned) tells the reader to stop; the caller still owns ``body`` and closes it.

    A stream expected to fit in one chunk (``expected_bytes``, else ``limit``) is read on the consumer's
    thread: with one chunk there is nothing to overlap, and starting a thread and handing the chunk over
    cost more than they save (bench/: a 1 MiB object hashed at 0.4x of md5's rate with the thread, 0.6-0.8x
    without). Larger streams, or of unknown length, are read ahead.
    """

    def __init__(
        self,
        body: Readable,
        chunk_bytes: int,
        *,
        limit: int | None = None,
        expected_bytes: int | None = None,
        depth: int = DEFAULT_DEPTH,
    ) -> None:
        if chunk_bytes <= 0 or depth <= 0:
            raise ValueError("chunk_bytes and depth must be positive")
        self._body = body
        self._chunk_bytes = chunk_bytes
        self._limit = limit
        expected = expected_bytes if expected_bytes is not None else limit
        self.reads_ahead = expected is None or expected > chunk_bytes
        self._queue: queue.Queue[bytes | _End] = queue.Queue(maxsize=depth)
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._iterated = False

    def __iter__(self) -> Iterator[bytes]:
        if self._iterated:
            raise RuntimeError("a ReadAhead can be iterated only once")
        self._iterated = True
        if not self.reads_ahead:
            return self._read_inline()
        return self._read_on_a_thread()

    def _read_inline(self) -> Iterator[bytes]:
        try:
            yield from self._chunks()
        finally:
            self.close()

    def _read_on_a_thread(self) -> Iterator[bytes]:
        if self._stopped.is_set():  # closed before the first chunk was asked for: no reader to wait for
            return
        # A daemon thread: one blocked in a network read must not keep a process (or a Lambda) from ending.
        self._thread = threading.Thread(target=self._read_all, name="read-ahead", daemon=True)
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _End):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop reading ahead. Returns at once; a read in progress ends on its own (or with the closed body)."""
        self._stopped.set()

    def _chunks(self) -> Iterator[bytes]:
        """The body's chunks, up to the limit, until the end or until ``close()``."""
        remaining = self._limit
        while not self._stopped.is_set():
            want = self._chunk_bytes if remaining is None else min(self._chunk_bytes, remaining)
            if want <= 0:
                return
            chunk = self._body.read(want)
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk

    def _read_all(self) -> None:
        try:
            for chunk in self._chunks():
                if not self._put(chunk):
                    return
        except BaseException as error:  # handed to the consumer, which raises it
            self._put(_End(error))
            return
        self._put(_End())

    def _put(self, item: bytes | _End) -> bool:
        """Queue ``item`` unless the consumer gave up first (then nobody would ever take it)."""
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=_PUT_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False
