"""Injected faults: the next N calls of an operation fail, or answer late, on purpose.

Operations are the catalog's operation names plus ``lwaToken`` (the LWA token endpoint) and ``upload``
(the presigned upload URL). A faulted call (unless ``processed``) is answered before anything else is looked at
and has no side effect: no token issued, no destination created, no upload stored, no message sent, no quota taken.

- ``status`` (4xx/5xx): the answer, in the operation's dialect (SP-API errors, S3 XML, LWA JSON), with the
  status's usual code (429 QuotaExceeded, 500 InternalFailure, 503 ServiceUnavailable; S3 InternalError,
  SlowDown, ...) or ``error_code``.
- ``delay_seconds``: real seconds to wait before answering (a client with a shorter read timeout sees a
  timeout). With a delay and no status the answer is 503, so a delayed call still has no side effect.
- ``processed`` (with ``delay_seconds``, without a status): the call takes effect as usual (a message is
  delivered, a destination created) and its usual answer is held back for ``delay_seconds``: Amazon acted, and a
  client that stopped waiting cannot know it did, the case of a send whose outcome is unknown.
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from buyer_messaging import catalog
from buyer_messaging.rotation import ROTATION_OPERATION

LWA_OPERATION = "lwaToken"
UPLOAD_OPERATION = "upload"
FAULTABLE_OPERATIONS: tuple[str, ...] = (
    *(operation.name for operation in catalog.OPERATIONS),
    ROTATION_OPERATION,
    LWA_OPERATION,
    UPLOAD_OPERATION,
)
MAX_DELAY_SECONDS = 600.0
DELAY_ONLY_STATUS = 503
_ERROR_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,63}$")


@dataclass(frozen=True, slots=True)
class Fault:
    operation: str
    status: int
    delay_seconds: float
    error_code: str | None
    processed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "status": self.status,
            "delaySeconds": self.delay_seconds,
            "errorCode": self.error_code,
            "processed": self.processed,
        }


def make_fault(
    operation: str,
    *,
    status: int | None = None,
    delay_seconds: float = 0.0,
    error_code: str | None = None,
    processed: bool = False,
) -> Fault:
    """A checked fault; ValueError names what is wrong."""
    if operation not in FAULTABLE_OPERATIONS:
        raise ValueError(f"{operation!r} is not an operation; use one of: {', '.join(FAULTABLE_OPERATIONS)}.")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599):
        raise ValueError(f"status must be an HTTP error status (400..599), not {status!r}.")
    if isinstance(delay_seconds, bool) or not isinstance(delay_seconds, int | float):
        raise ValueError(f"delay_seconds must be a number, not {delay_seconds!r}.")
    if not math.isfinite(delay_seconds) or not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
        raise ValueError(f"delay_seconds must be between 0 and {MAX_DELAY_SECONDS:g}, not {delay_seconds!r}.")
    if status is None and delay_seconds == 0:
        raise ValueError("A fault needs a status, a delay or both.")
    if error_code is not None:
        if status is None:
            raise ValueError("error_code needs a status to go with it.")
        if not isinstance(error_code, str) or not _ERROR_CODE.match(error_code):
            raise ValueError(f"error_code must be a word like BadDigest, not {error_code!r}.")
    if not isinstance(processed, bool):
        raise ValueError(f"processed must be true or false, not {processed!r}.")
    if processed and (status is not None or delay_seconds == 0):
        raise ValueError("A processed fault is a late answer: a delay and no status.")
    return Fault(
        operation=operation,
        status=DELAY_ONLY_STATUS if status is None else status,
        delay_seconds=float(delay_seconds),
        error_code=error_code,
        processed=processed,
    )


class FaultBook:
    """Faults waiting for their operation's next calls, first injected first used."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, deque[Fault]] = {}

    def add(self, fault: Fault, count: int = 1) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a positive integer, not {count!r}.")
        with self._lock:
            self._pending.setdefault(fault.operation, deque()).extend([fault] * count)

    def take(self, operation: str) -> Fault | None:
        """The fault for this call of ``operation``, if one is waiting (it is used up)."""
        with self._lock:
            waiting = self._pending.get(operation)
            return waiting.popleft() if waiting else None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_dict() for waiting in self._pending.values() for fault in waiting]

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
