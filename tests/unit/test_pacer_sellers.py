"""Each seller its own pace, end to end through the turns a step takes (:func:`buyer_messaging.turns.take_turn`) and
the feedback of Amazon's answers (:class:`buyer_messaging.turns.Pace`): Amazon's usage plans are per selling partner
and application, so seller A's burst, its queue of reserved turns (both lanes), its 429s and the rate Amazon
announced for it never delay seller B's call, nor change B's pace (moto DynamoDB, the real clock)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from buyer_messaging import pacer, status, turns
from buyer_messaging.models import CAMPAIGN_LANE
from local_stack import atomic_dynamodb
from tests import support

SELLER_A, SELLER_B = "A2EXAMPLESELLER", "A3OTHERSELLER"
OPERATION = "getMessagingActionsForOrder"
RATE, BURST = 1.0, 5  # the catalog's plan of the operation


@pytest.fixture
def table(aws: dict[str, Any]) -> Iterator[str]:
    restore = atomic_dynamodb.install()
    yield support.TABLE
    restore()


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pacer's clock stopped at now; the pacer seconds each booked call would sleep before it leaves."""
    now, sleeps = time.time(), []
    monkeypatch.setattr(pacer.PacerClock, "now", lambda self: now)
    monkeypatch.setattr(pacer.PacerClock, "sleep", lambda self, seconds: sleeps.append(seconds))
    return sleeps


def _record(table: str, name: str) -> str:
    arn = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:{name}"
    status.received(table, arn, status.Retention(90))
    return arn


def _pace(seller: str) -> pacer.PaceState:
    return pacer.read(support.TABLE, pacer.PaceKey(seller, OPERATION), RATE, BURST)


def test_a_sellers_burst_queue_429s_and_rate_leave_another_sellers_turn_and_pace_untouched(
    table: str, slept: list[float]
) -> None:
    # Seller A: a burst of 40 messages, each taking its turn as ValidateRequest does, then 20 campaign rows.
    later: list[turns.Pacing] = []
    for index in range(40):
        taker = turns.Taker(_record(table, f"a-{index:03d}"), seller=SELLER_A)
        try:
            turns.take_turn(OPERATION, taker)
        except turns.TurnLater as turn:
            later.append(turn.pacing)
    for index in range(20):
        taker = turns.Taker(_record(table, f"a-row-{index:03d}"), lane=CAMPAIGN_LANE, seller=SELLER_A)
        with pytest.raises(turns.TurnLater):
            turns.take_turn(OPERATION, taker)
    # The burst less the spare token at once, one more within the moment, the rest reserved in A's queue.
    assert slept == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert [p.wait_seconds for p in later] == list(range(2, 37))
    # Amazon throttled one of A's calls and announced a lower rate for A: A's pace slows down.
    feed = turns.Pace()
    with turns.taking(turns.Taker(seller=SELLER_A)):
        feed.answered(OPERATION, "0.5")
        feed.throttled(OPERATION)
    a = _pace(SELLER_A)
    assert (a.rate, a.factor) == (0.5, 0.5)
    assert a.campaign_tat > a.tat > pacer.PacerClock().now() + 30

    # Seller B: its message's call leaves at once (no Wait state, no sleep), and so does the API's lookup.
    del slept[:]
    turns.take_turn(OPERATION, turns.Taker(_record(table, "b-001"), seller=SELLER_B))
    turns.take_turn(OPERATION, turns.Taker(seller=SELLER_B))
    assert slept == [0.0, 0.0]
    b = _pace(SELLER_B)
    assert (b.rate, b.factor, b.generation, b.campaign_tat, b.pushed, b.remaps) == (RATE, 1.0, 0, 0.0, 0.0, ())
    assert b.version == 2  # B's two turns, nothing else written to B's pace
    record = status.get(table, "b-001")
    assert record is not None and "waitingForQuota" not in record
    # And A's pace is as B's calls found it: B took nothing of A's.
    assert _pace(SELLER_A) == a


def test_a_sellers_backlog_never_makes_another_seller_miss_its_deadline(
    table: str, slept: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUOTA_WAIT_DEADLINE_HOURS", "0.005")  # 18 s
    from local_stack.stack import reset_function_caches

    reset_function_caches()
    key_a = pacer.PaceKey(SELLER_A, OPERATION)
    for _ in range(60):  # A's queue: a minute of turns
        pacer.reserve(table, key_a, RATE, BURST, pacer.PacerClock().now)
    with pytest.raises(turns.QuotaWaitExpired):  # A's next message would wait past its deadline
        turns.take_turn(OPERATION, turns.Taker(_record(table, "a-late"), seller=SELLER_A))

    del slept[:]
    turns.take_turn(OPERATION, turns.Taker(_record(table, "b-on-time"), seller=SELLER_B))

    assert slept == [0.0]  # B's call at once
    assert _pace(SELLER_B).version == 1
