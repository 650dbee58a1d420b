"""Usage plans: one token bucket per selling partner and operation, with a rate and burst that can change.

Amazon applies a usage plan per selling partner and application, per operation (SP-API docs, "Usage Plans
and Rate Limits"); the emulator serves one application, so it keeps one bucket per (selling partner,
operation). The selling partner is the one whose refresh token minted the call's access token. A bucket
starts full (``burst`` tokens) at the seller's first call, gains ``rate`` tokens per emulated second up to
``burst``, and each accepted call takes one token. A call that finds the bucket empty is answered 429 and
takes nothing.

Every plan starts as the catalog documents it (Messaging 1/s burst 5, Uploads 10/s burst 10). Amazon may
give a seller other values and says so in ``x-amzn-RateLimit-Limit``: :meth:`Quotas.set_plan` changes an
operation's plan at run time, for every seller or one; a reset restores the documented plans.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from buyer_messaging import catalog
from spapi_emulator.clock import EmulatedClock

MAX_RATE_PER_SECOND = 1_000_000.0  # "quotas off" for a calibration run; anything above is a mistake
MAX_BURST = 1_000_000


@dataclass(frozen=True, slots=True)
class UsagePlan:
    rate_per_second: float
    burst: int


@dataclass(slots=True)
class TokenBucket:
    rate_per_second: float
    burst: int
    tokens: float
    updated_at: float

    def refill(self, now: float) -> None:
        self.tokens = min(float(self.burst), self.tokens + max(now - self.updated_at, 0.0) * self.rate_per_second)
        self.updated_at = max(now, self.updated_at)

    def take(self, now: float) -> bool:
        """Take one token if there is one at ``now``; False (nothing taken) when the bucket is empty."""
        self.refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def change(self, plan: UsagePlan, now: float) -> None:
        """From ``now`` on, refill at the plan's rate up to its burst; tokens above the new burst are gone."""
        self.refill(now)
        self.rate_per_second = plan.rate_per_second
        self.burst = plan.burst
        self.tokens = min(self.tokens, float(plan.burst))


def documented_plan(operation: str) -> UsagePlan:
    found = catalog.operation(operation)
    return UsagePlan(float(found.rate_per_second), found.burst)


def check_plan(operation: object, rate_per_second: object, burst: object) -> tuple[str, UsagePlan]:
    """The operation's name and the plan, or a ValueError saying what is wrong."""
    names = [op.name for op in catalog.OPERATIONS]
    if not isinstance(operation, str) or operation not in names:
        raise ValueError(f"operation must be one of {', '.join(names)}; not {operation!r}.")
    if (
        isinstance(rate_per_second, bool)
        or not isinstance(rate_per_second, int | float)
        or not math.isfinite(rate_per_second)
        or not 0 < rate_per_second <= MAX_RATE_PER_SECOND
    ):
        raise ValueError(
            f"rate must be a number of requests per second above 0 and at most {MAX_RATE_PER_SECOND:g}; "
            f"not {rate_per_second!r}."
        )
    if isinstance(burst, float) and burst.is_integer():
        burst = int(burst)
    if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= MAX_BURST:
        raise ValueError(f"burst must be a whole number of requests from 1 to {MAX_BURST}; not {burst!r}.")
    return operation, UsagePlan(float(rate_per_second), burst)


class Quotas:
    """The usage plans and token buckets of every seller and operation, on their own emulated clock."""

    def __init__(self, clock: EmulatedClock, sellers: Sequence[str]) -> None:
        if not sellers:
            raise ValueError("Quotas need at least one selling partner.")
        self.clock = clock
        self.sellers = tuple(sellers)
        self._lock = threading.Lock()
        self._plans: dict[tuple[str, str], UsagePlan] = {}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self.reset()

    def reset(self) -> None:
        """The documented plans for every seller, every bucket full again."""
        with self._lock:
            self._plans = {
                (seller, operation.name): documented_plan(operation.name)
                for seller in self.sellers
                for operation in catalog.OPERATIONS
            }
            self._buckets = {}

    def take(self, seller: str, operation: str) -> bool:
        """One token of the seller's bucket of ``operation``; False when the call must be throttled."""
        now = self.clock.now()
        with self._lock:
            key = (seller, operation)
            bucket = self._buckets.get(key)
            if bucket is None:
                plan = self._plans[key]
                bucket = self._buckets[key] = TokenBucket(plan.rate_per_second, plan.burst, float(plan.burst), now)
            return bucket.take(now)

    def plan(self, seller: str, operation: str) -> UsagePlan:
        with self._lock:
            return self._plans[(seller, operation)]

    def set_plan(
        self, operation: object, rate_per_second: object, burst: object, seller: object = None
    ) -> list[dict[str, Any]]:
        """Change ``operation``'s plan for ``seller`` (None: every seller) from now on; the plans changed.

        A ValueError names what is wrong (an unknown operation or seller, a rate or burst out of range)."""
        name, plan = check_plan(operation, rate_per_second, burst)
        if seller is not None and (not isinstance(seller, str) or seller not in self.sellers):
            raise ValueError(
                f"sellingPartnerId must be one of the seed's sellers ({', '.join(self.sellers)}); not {seller!r}."
            )
        targets = self.sellers if seller is None else (seller,)
        now = self.clock.now()
        with self._lock:
            for target in targets:
                self._plans[(target, name)] = plan
                bucket = self._buckets.get((target, name))
                if bucket is not None:
                    bucket.change(plan, now)
        return [_plan_dict(target, name, plan) for target in targets]

    def plans(self) -> list[dict[str, Any]]:
        """Every seller's plan of every operation, in the seed's and the catalog's order."""
        with self._lock:
            return [_plan_dict(seller, operation, plan) for (seller, operation), plan in self._plans.items()]


def _plan_dict(seller: str, operation: str, plan: UsagePlan) -> dict[str, Any]:
    return {"sellingPartnerId": seller, "operation": operation, "rate": plan.rate_per_second, "burst": plan.burst}
