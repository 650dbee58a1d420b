"""Emulated time: real time run faster by a speedup factor, and movable forward on request.

Everything Amazon measures in seconds (token-bucket refills, access-token lifetimes, the 900 s of a
presigned URL) is measured on an :class:`EmulatedClock`, so a demo or a test can make an hour pass in
seconds (``speedup``) or at once (:meth:`EmulatedClock.advance`). Real delays the emulator is asked to
inject (``delay_seconds`` of a fault) stay real: they exist to exceed a client's real read timeout.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def check_speedup(speedup: float, name: str = "speedup") -> float:
    """``speedup`` as a float, or a ValueError when it is not a positive finite number."""
    value = float(speedup)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, not {speedup!r}.")
    return value


class EmulatedClock:
    """Seconds since the clock started, ``speedup`` times faster than real time, plus any advance."""

    def __init__(self, speedup: float = 1.0, *, real: Callable[[], float] = time.monotonic) -> None:
        self.speedup = check_speedup(speedup)
        self._real = real
        self._started = real()
        self._started_wall = datetime.now(UTC)
        self._advanced = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Emulated seconds since the clock started."""
        with self._lock:
            return (self._real() - self._started) * self.speedup + self._advanced

    def wall(self) -> datetime:
        """The emulated date and time (UTC): the real start time plus the emulated seconds since."""
        return self._started_wall + timedelta(seconds=self.now())

    def wall_at(self, emulated_seconds: float) -> datetime:
        """The emulated date and time (UTC) at ``emulated_seconds`` on this clock (past or future)."""
        return self._started_wall + timedelta(seconds=emulated_seconds)

    def advance(self, seconds: float) -> None:
        """Move emulated time forward (tokens and presigned URLs expire, buckets refill)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"The clock only moves forward; {seconds!r} is not a number of seconds >= 0.")
        with self._lock:
            self._advanced += seconds


def iso_timestamp(moment: datetime) -> str:
    """``2026-01-31T12:00:00.123Z``: ISO 8601 in UTC with milliseconds, as AWS writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
