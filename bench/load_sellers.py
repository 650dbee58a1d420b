"""``make load ARGS=--sellers``'s arithmetic: what became of each seller's messages in a run, their latency from
receipt to sent, and whether seller A's burst changed seller B's latency (no timings are run here).

Two runs on the same deployment of two sellers (:func:`bench.load_plan.plan_sellers`): B's trickle alone (the
baseline), then A's burst with B's same trickle. Amazon's usage plans are per selling partner: B's messages should
leave as fast with A's burst queued as without it (:data:`RULE`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.common import table
from bench.load_plan import Message

START, END = "<!-- load-sellers:start -->", "<!-- load-sellers:end -->"
BASELINE, WITH_BURST = "B alone", "A's burst + B's trickle"
# How much later B's 95th percentile may be with A's burst than alone, in emulated seconds: a turn is handed out
# at one-second granularity (a Wait state waits whole seconds), so a second is the noise of one run.
SLACK_SECONDS = 1.0
RULE = (
    f"B's latency is unchanged when B's p95 with A's burst is at most B's p95 alone + {SLACK_SECONDS:g} emulated s, "
    "no call of B's was answered 429, and every message of both runs was delivered exactly once (none failed, none "
    "twice, none still running)"
)


@dataclass(frozen=True)
class SellerRun:
    """One seller's messages in one run. ``latencies``: emulated seconds from the upload (receipt) to the first
    delivery of each delivered message, sorted."""

    run: str
    seller: str
    messages: int
    delivered: int
    twice: int
    failed: dict[str, int]  # error name -> executions
    running: int  # executions still running at the timeout
    throttled: int  # the seller's SP-API calls answered 429
    latencies: tuple[float, ...]
    # The seller's paced calls: booked when the step first asked, and those given a turn for later (a Wait state):
    # what its own pace made it wait, whatever else made it late.
    at_once: int = 0
    waited: int = 0

    @property
    def accounted(self) -> bool:
        """Every message delivered exactly once, none failed, none still running."""
        return self.delivered == self.messages and not self.twice and not self.failed and not self.running

    def percentile(self, share: float) -> float | None:
        return percentile(self.latencies, share)


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted ``values`` (``share`` in (0, 1]); None without values."""
    if not values:
        return None
    return values[max(0, math.ceil(share * len(values)) - 1)]


def seller_runs(raw: Mapping[str, Any], run: str, plan: Sequence[Message]) -> list[SellerRun]:
    """Each seller's figures in one run of ``plan`` from what :mod:`bench.load_run` wrote, in the plan's order of
    sellers. A message's 429s are those of the calls about its seller's orders (each seller has its own)."""
    factor = float(raw["factor"])
    numbers = {m.number for m in plan}
    deliveries: Counter[int] = Counter()
    first: dict[int, float] = {}
    for delivery in raw["deliveries"]:
        number = delivery["id"]
        if number in numbers:
            deliveries[number] += 1
            first[number] = min(first.get(number, math.inf), float(delivery["seconds"]))
    dropped = {int(number): float(seconds) for number, seconds in raw["droppedAt"].items()}
    runs = []
    for seller in dict.fromkeys(m.seller or "" for m in plan):
        mine = [m for m in plan if (m.seller or "") == seller]
        outcomes: Mapping[str, int] = raw["outcomesBySeller"].get(seller, {})
        orders = {m.order for m in mine}
        paced: Mapping[str, int] = raw.get("pacerBySeller", {}).get(seller, {})
        runs.append(
            SellerRun(
                run=run,
                seller=seller,
                messages=len(mine),
                delivered=sum(1 for m in mine if m.number in first),
                twice=sum(1 for m in mine if deliveries[m.number] > 1),
                failed={
                    name.removeprefix("FAILED "): n for name, n in sorted(outcomes.items()) if name.startswith("FAILED")
                },
                running=int(outcomes.get("RUNNING", 0)),
                throttled=sum(int(n) for order, n in raw["throttledByOrder"].items() if order in orders),
                latencies=tuple(
                    sorted((first[m.number] - dropped[m.number]) * factor for m in mine if m.number in first)
                ),
                at_once=int(paced.get("reserve booked", 0)),
                waited=int(paced.get("reserve later", 0)),
            )
        )
    return runs


@dataclass(frozen=True)
class Verdict:
    unchanged: bool
    baseline_p95: float | None
    with_burst_p95: float | None

    def text(self) -> str:
        figures = f"B's p95 {_seconds(self.with_burst_p95)} with A's burst, {_seconds(self.baseline_p95)} alone"
        return f"**{'B' if self.unchanged else 'NOT: B'}'s latency unchanged** ({figures}). Rule: {RULE}."


def verdict(runs: Sequence[SellerRun], seller_b: str) -> Verdict:
    """Whether A's burst left B's latency unchanged (:data:`RULE`); ``runs``: both runs' sellers."""
    baseline = next(r for r in runs if r.run == BASELINE and r.seller == seller_b)
    loaded = next(r for r in runs if r.run == WITH_BURST and r.seller == seller_b)
    before, after = baseline.percentile(0.95), loaded.percentile(0.95)
    unchanged = (
        before is not None
        and after is not None
        and after <= before + SLACK_SECONDS
        and loaded.throttled == 0
        and all(r.accounted for r in runs)
    )
    return Verdict(unchanged, before, after)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def sellers_table(runs: Sequence[SellerRun]) -> str:
    """Per run and seller: messages, delivered, failed, twice, 429s, latency receipt -> sent (emulated seconds)."""
    rows: list[list[object]] = [
        [
            r.run,
            r.seller,
            r.messages,
            r.delivered,
            ", ".join(f"{n} {name}" for name, n in r.failed.items()) or "0",
            r.twice,
            r.running,
            r.throttled,
            f"{r.at_once:,} / {r.waited:,}",
            _seconds(r.percentile(0.5)),
            _seconds(r.percentile(0.95)),
            _seconds(r.latencies[-1] if r.latencies else None),
        ]
        for r in runs
    ]
    headers = ["run", "seller", "messages", "delivered", "failed", "twice", "still running", "429s"]
    headers.append("paced calls: at once / after a Wait state")
    return table([*headers, "latency p50, s", "p95, s", "max, s"], rows)
