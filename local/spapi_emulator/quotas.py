"""Usage plans: one token bucket per operation, with the catalog's rate and burst.

Amazon applies a bucket per operation and selling partner; the emulator serves one selling partner, so
it keeps one bucket per operation. A bucket starts full (``burst`` tokens), gains ``rate`` tokens per
emulated second up to ``burst``, and each accepted call takes one token. A call that finds the bucket
empty is answered 429 and takes nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from buyer_messaging import catalog
from spapi_emulator.clock import EmulatedClock


@dataclass(slots=True)
class TokenBucket:
    rate_per_second: float
    burst: int
    tokens: float
    updated_at: float

    def take(self, now: float) -> bool:
        """Take one token if there is one at ``now``; False (nothing taken) when the bucket is empty."""
        self.tokens = min(float(self.burst), self.tokens + max(now - self.updated_at, 0.0) * self.rate_per_second)
        self.updated_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Quotas:
    """The token buckets of every operation in the catalog, on their own emulated clock."""

    def __init__(self, clock: EmulatedClock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}
        self.refill()

    def refill(self) -> None:
        """Every bucket full again."""
        now = self.clock.now()
        with self._lock:
            self._buckets = {
                operation.name: TokenBucket(operation.rate_per_second, operation.burst, float(operation.burst), now)
                for operation in catalog.OPERATIONS
            }

    def take(self, operation: str) -> bool:
        """One token of ``operation``'s bucket; False when the call must be throttled."""
        now = self.clock.now()
        with self._lock:
            return self._buckets[operation].take(now)
