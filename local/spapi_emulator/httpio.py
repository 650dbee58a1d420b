"""The request and response objects the emulator's handlers work with, independent of the HTTP server.

:class:`Body` reads a request body only when a handler asks for it: the upload endpoint must refuse a
chunked or unsigned PUT *before* reading it (S3 does), and must stream a large one in constant memory.
It remembers whether the body was read to the end, so the server keeps a connection only when the next
request on it starts where this one ended.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Protocol
from urllib.parse import parse_qs

READ_CHUNK_BYTES = 1024 * 1024
_MAX_CHUNK_LINE = 1024


class BodyTooLarge(Exception):
    """The body is larger than the handler accepts (nothing more was read)."""


class IncompleteBody(Exception):
    """The client announced more bytes than it sent (the connection ended early)."""


class MalformedBody(Exception):
    """A chunked body that does not follow the chunked transfer coding."""


class Stream(Protocol):
    """The connection's buffered reader."""

    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...


class Body:
    """A request body, read on demand: whole (small JSON or form bodies) or in chunks (uploads)."""

    def __init__(
        self,
        stream: Stream,
        *,
        length: int | None,
        chunked: bool,
        unframed: bool = False,
        before_read: Callable[[], None] = lambda: None,
    ) -> None:
        """``unframed``: a body of unknown extent (unsupported Transfer-Encoding, malformed Content-Length);
        it is never read, and the connection cannot be kept."""
        self._stream = stream
        self.length = length
        self.chunked = chunked
        self.unframed = unframed
        self._before_read = before_read
        self._read = 0
        self._finished = length in (None, 0) and not chunked and not unframed

    @property
    def finished(self) -> bool:
        """True when nothing of the body is left on the connection."""
        return self._finished

    def read_all(self, limit: int) -> bytes:
        """The whole body, at most ``limit`` bytes; :class:`BodyTooLarge` (nothing read) when larger."""
        if self._finished:
            return b""
        if self.unframed:
            raise MalformedBody("the body's extent is unknown")
        if self.chunked:
            return self._read_chunked(limit)
        assert self.length is not None
        if self.length > limit:
            raise BodyTooLarge(f"{self.length} bytes; at most {limit} accepted")
        return b"".join(self.chunks())

    def chunks(self, size: int = READ_CHUNK_BYTES) -> Iterator[bytes]:
        """The rest of a Content-Length body in chunks of at most ``size`` bytes."""
        if self.chunked or self.unframed:
            raise MalformedBody("chunks() reads Content-Length bodies only")
        if self._finished:
            return
        assert self.length is not None
        self._before_read()
        while self._read < self.length:
            data = self._stream.read(min(size, self.length - self._read))
            if not data:
                raise IncompleteBody(f"the connection ended after {self._read} of {self.length} bytes")
            self._read += len(data)
            yield data
        self._finished = True

    def discard(self, max_bytes: int) -> bool:
        """Read and drop the rest of a Content-Length body of at most ``max_bytes``; False when it is larger
        (or chunked), leaving it unread so the connection must be closed."""
        if self._finished:
            return True
        if self.chunked or self.unframed or self.length is None or self.length - self._read > max_bytes:
            return False
        try:
            for _ in self.chunks():
                pass
        except (IncompleteBody, OSError):
            return False
        return True

    def _read_chunked(self, limit: int) -> bytes:
        self._before_read()
        parts: list[bytes] = []
        total = 0
        while True:
            line = self._stream.readline(_MAX_CHUNK_LINE)
            if not line:
                raise IncompleteBody("the connection ended inside a chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise MalformedBody("a chunk size line is not hexadecimal") from None
            if size < 0:
                raise MalformedBody("a chunk size is negative")
            if size == 0:
                while self._stream.readline(_MAX_CHUNK_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields are ignored
                self._finished = True
                return b"".join(parts)
            total += size
            if total > limit:
                raise BodyTooLarge(f"more than {limit} bytes")
            data = self._stream.read(size)
            if len(data) != size:
                raise IncompleteBody("the connection ended inside a chunk")
            self._read += size
            parts.append(data)
            if self._stream.readline(_MAX_CHUNK_LINE) not in (b"\r\n", b"\n"):
                raise MalformedBody("a chunk is not followed by CRLF")


@dataclass
class Request:
    """One HTTP request as it arrived: the raw path (percent-encoding kept), headers and a lazy body."""

    method: str
    path: str
    query_string: str
    headers: Message
    body: Body
    request_id: str
    operation: str | None = None  # set by the router: the name this call is logged under
    framing_error: str | None = None  # why the body cannot be delimited (a malformed Content-Length)
    # What Amazon accepts but a careful client would not send (or why Amazon refused it); in the call log.
    notes: list[str] = field(default_factory=list)

    def query(self) -> dict[str, list[str]]:
        """Query parameters with every value given (``a=1&a=2`` -> ``{"a": ["1", "2"]}``), blanks kept."""
        return parse_qs(self.query_string, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)

    def header_values(self, name: str) -> list[str]:
        return [str(value) for value in self.headers.get_all(name) or []]


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False  # close the connection after this response


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(
    status: int,
    value: Any,
    *,
    content_type: str = "application/json",
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    return Response(status, json_bytes(value), [("Content-Type", content_type), *(headers or [])])
