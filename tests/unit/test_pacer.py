"""The pacer: GCRA on the workflow table (moto DynamoDB), on a clock the tests move by hand."""

from __future__ import annotations

import heapq
import itertools
import math
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from buyer_messaging import pacer, status, turns
from buyer_messaging.config import get_settings
from buyer_messaging.errors import QuotaWaitExpired, SpApiThrottled
from buyer_messaging.models import CAMPAIGN_LANE
from local_stack import atomic_dynamodb
from spapi_emulator.quotas import TokenBucket
from tests import support

KEY = pacer.PaceKey("A1SELLER", "getMessagingActionsForOrder")
RATE, BURST = 1.0, 5  # the catalog's messaging plan
T0 = 1_000_000.0
# How late a step is back from its Wait state (s): mostly on time, sometimes a cold start, a busy host.
LATENESS = (0.0, 0.0, 0.0, 0.3, 1.5, 4.0, 12.0)
MESSAGES = 120


def take(now: float, key: pacer.PaceKey = KEY, rate: float = RATE, burst: int = BURST) -> float:
    reservation = pacer.reserve(support.TABLE, key, rate, burst, lambda: now)
    assert reservation.taken
    return reservation.slot


@pytest.fixture
def table(aws: dict[str, Any]) -> Iterator[str]:
    restore = atomic_dynamodb.install()  # as on the local stack: DynamoDB applies each request atomically
    yield support.TABLE
    restore()


def test_a_burst_then_one_turn_per_interval_on_a_moved_clock(table: str) -> None:
    # Burst 5, one token kept unused: 4 turns at once, then one a second.
    slots = [take(T0) for _ in range(7)]
    assert slots == [T0, T0, T0, T0, T0 + 1, T0 + 2, T0 + 3]
    # The clock moves on 10 s: the queue is served and the burst is back.
    later = T0 + 13
    assert [take(later) for _ in range(5)] == [later, later, later, later, later + 1]


def test_concurrent_takers_never_exceed_the_rate(table: str) -> None:
    slots: list[float] = []
    lock = threading.Lock()

    def taker() -> None:
        mine = [take(T0) for _ in range(4)]
        with lock:
            slots.extend(mine)

    threads = [threading.Thread(target=taker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slots.sort()
    assert len(slots) == 24
    # Every turn its own: 4 at once (the burst less one), then exactly one a second, none handed out twice.
    assert slots == [T0] * 4 + [T0 + n for n in range(1, 21)]
    item = pacer.read(table, KEY, RATE, BURST)
    assert item.version == 24  # one conditional write per turn


def test_each_operation_and_seller_has_its_own_pace(table: str) -> None:
    for _ in range(6):
        take(T0)
    other_seller = pacer.PaceKey("A2OTHER", KEY.operation)
    uploads = pacer.PaceKey("A1SELLER", "createUploadDestinationForResource")
    assert take(T0, other_seller) == T0
    # Uploads: 10/s, burst 10 (9 used at once), then 0.1 s apart.
    upload_slots = [take(T0, uploads, 10.0, 10) for _ in range(11)]
    assert upload_slots[:9] == [T0] * 9
    assert upload_slots[9:] == pytest.approx([T0 + 0.1, T0 + 0.2])


def test_the_rate_amazon_announces_sets_the_pace_and_moves_reserved_turns(table: str) -> None:
    slots = [take(T0) for _ in range(8)]  # the last one reserved at T0 + 4
    generation = pacer.read(table, KEY, RATE, BURST).generation
    assert pacer.follow_rate(table, KEY, RATE, BURST, 0.5, T0 + 1)
    assert not pacer.follow_rate(table, KEY, RATE, BURST, 0.5, T0 + 1)  # already that rate: no write
    # The reserved turn at T0+4 lies 3 s after the change: at half the rate, 6 s after it; far: nothing booked.
    moved = pacer.resume(table, KEY, RATE, BURST, slots[-1], generation, lambda: T0 + 1, 1.0)
    assert moved is not None and (moved.slot, moved.generation, moved.booked) == (T0 + 7, generation + 1, False)
    # Amazon's bucket is counted empty at the lower rate: the next call leaves one new interval (2 s) later, so
    # a turn already past the change stays, and its caller, back now, is sent back to come at that time.
    assert pacer.read(table, KEY, RATE, BURST).call_time(T0 + 1) == T0 + 3
    back = pacer.resume(table, KEY, RATE, BURST, T0, generation, lambda: T0 + 1, 1.0)
    assert back is not None and (back.slot, back.booked) == (T0 + 3, False)
    # A new turn comes after the moved queue, 2 s apart.
    assert take(T0 + 1) == pytest.approx(T0 + 9)
    assert take(T0 + 1) == pytest.approx(T0 + 11)


def test_a_429_halves_the_pace_once_per_interval_and_it_recovers(table: str) -> None:
    for _ in range(4):
        take(T0)
    assert pacer.slow_down(table, KEY, RATE, BURST, T0)
    assert not pacer.slow_down(table, KEY, RATE, BURST, T0 + 0.5)  # the other 429s of the same moment
    state = pacer.read(table, KEY, RATE, BURST)
    assert state.interval(T0) == 2.0
    assert state.interval(T0 + pacer.RECOVERY_SECONDS / 2) == pytest.approx(2**0.5)
    assert state.interval(T0 + pacer.RECOVERY_SECONDS) == 1.0  # recovered
    # Amazon's bucket is empty: the next call is booked one slower interval after the 429, not at once.
    assert state.call_time(T0) == pytest.approx(T0 + 2.0)
    # The queue reserved right after the 429 is spaced by the pace at the time each turn falls: slower in the
    # minute after the 429, the full rate once the pace has recovered (not the whole queue at the slow pace).
    slots = [take(T0 + 0.5) for _ in range(90)]
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert 1.8 < gaps[3] < 2.0
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(gaps[3:]))  # the pace recovers, turn by turn
    late = [gap for slot, gap in zip(slots, gaps, strict=False) if slot >= T0 + pacer.RECOVERY_SECONDS]
    assert late and late == pytest.approx([1.0] * len(late))
    assert pacer.slow_down(table, KEY, RATE, BURST, T0 + 3)  # another 429 an interval later halves again
    assert pacer.read(table, KEY, RATE, BURST).interval(T0 + 3) == pytest.approx(4.0 / 2 ** (3 / 60), rel=1e-6)


def test_callers_back_late_together_call_at_amazons_pace_not_in_a_bunch(table: str) -> None:
    # Ten turns reserved at once; every caller is back late, together, 20 s after the first turn.
    reserved = [pacer.reserve(table, KEY, RATE, BURST, lambda: T0) for _ in range(10)]
    assert not any(turn.booked for turn in reserved)
    back = T0 + 20
    turns_now = [
        pacer.resume(table, KEY, RATE, BURST, turn.slot, turn.generation, lambda: back, 1.0) for turn in reserved
    ]
    assert all(turn is not None for turn in turns_now)
    booked = [turn.slot for turn in turns_now if turn and turn.booked]
    sent_back = [turn.slot for turn in turns_now if turn and not turn.booked]
    # Amazon's bucket holds 5: 4 calls at once and one a moment later, as if nobody had been late ...
    assert booked == [back] * 4 + [back + 1]
    # ... and the others are sent back to come back one interval apart from when the bucket has room again.
    assert sent_back == [back + n for n in range(2, 7)]
    assert pacer.read(table, KEY, RATE, BURST).version == 10 + 10  # a write each: booked or sent back
    # The first sent back, back at its time, books its call at once.
    again = pacer.resume(table, KEY, RATE, BURST, back + 2, turns_now[5].generation, lambda: back + 2, 1.0)  # type: ignore[union-attr]
    assert again is not None and (again.slot, again.booked) == (back + 2, True)


@pytest.mark.parametrize("seed", range(6))
def test_late_and_early_returns_never_outrun_amazons_bucket(table: str, seed: int) -> None:
    """A burst of turns taken as the steps take them, each caller back from its Wait state late by a random
    LATENESS or up to a second early (whole-second waits): every call, made at the time the pacer says, is
    accepted by a token bucket like Amazon's (1/s, burst 5), and the calls keep its pace."""
    rng = random.Random(seed)
    bucket = TokenBucket(RATE, BURST, float(BURST), T0)
    clock = {"now": T0}
    returns: list[tuple[float, int, pacer.Reservation]] = []  # (back at, tie, turn): the callers in Wait states
    calls: list[float] = []

    def handle(turn: pacer.Reservation, tie: int) -> None:
        if turn.booked:  # booked within a moment: slept in the Lambda, then called
            assert turn.slot - turn.now <= 1.0
            calls.append(max(turn.slot, turn.now))
            return
        wait = max(1, math.floor(turn.slot - turn.now))  # the Wait state's whole seconds, then the step again
        heapq.heappush(returns, (turn.now + wait + rng.choice(LATENESS), tie, turn))

    for n in range(MESSAGES):
        clock["now"] = T0 + n * 0.05  # the burst arrives over 3 s
        handle(pacer.reserve(table, KEY, RATE, BURST, lambda: clock["now"], book_within=1.0), n)
    tie = 100
    while returns:
        clock["now"], _, turn = heapq.heappop(returns)
        back = pacer.resume(table, KEY, RATE, BURST, turn.slot, turn.generation, lambda: clock["now"], 1.0)
        assert back is not None
        tie += 1
        handle(back, tie)
    calls.sort()
    assert len(calls) == MESSAGES
    assert all(bucket.take(at) for at in calls), "a call the pacer made would have been answered 429"
    # Its pace: within a tenth of the time the pacer's share of the bucket allows (burst 4, then 1/s), plus the
    # lateness of the last caller back.
    assert calls[-1] - calls[0] <= (MESSAGES - (BURST - 1)) / RATE * 1.1 + max(LATENESS)


# ------------------------------------------------------------------ turns: what a step does with its turn


@pytest.fixture
def request_record(table: str) -> str:
    arn = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:paced-0001"
    status.received(table, arn, status.Retention(90))
    return arn


def fill_queue(turns_ahead: int) -> None:
    key = pacer.PaceKey(turns.seller_key(get_settings()), KEY.operation)
    for _ in range(turns_ahead):
        pacer.reserve(support.TABLE, key, RATE, BURST, pacer.PacerClock().now)


def test_a_far_turn_is_waited_in_step_functions_and_recorded(request_record: str) -> None:
    fill_queue(30)  # the next turn is about 27 s away
    with pytest.raises(turns.TurnLater) as later:
        turns.take_turn("getMessagingActionsForOrder", turns.Taker(request_record))
    pacing = later.value.pacing
    assert pacing.operation == "getMessagingActionsForOrder"
    assert 25 <= pacing.wait_seconds <= 27
    record = status.get(support.TABLE, "paced-0001")
    assert record is not None
    assert record["status"] == "received"
    assert record["waitingForQuota"] == {"operation": "getMessagingActionsForOrder", "since": pacing.since}
    assert [entry["status"] for entry in record["history"]] == ["received", "waitingForQuota"]
    # Back from the Wait state with the turn: still far (the clock did not move), waited again, not re-recorded.
    with pytest.raises(turns.TurnLater) as again:
        turns.take_turn("getMessagingActionsForOrder", turns.Taker(request_record, pacing))
    assert again.value.pacing.slot == pacing.slot  # the same reserved turn, not a new one
    assert len(status.get(support.TABLE, "paced-0001")["history"]) == 2  # type: ignore[index]


def test_a_turn_past_the_deadline_fails_the_message_and_reserves_nothing(
    request_record: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUOTA_WAIT_DEADLINE_HOURS", "0.005")  # 18 s
    from local_stack.stack import reset_function_caches

    reset_function_caches()
    fill_queue(30)
    key = pacer.PaceKey(turns.seller_key(get_settings()), KEY.operation)
    before = pacer.read(support.TABLE, key, RATE, BURST)
    with pytest.raises(QuotaWaitExpired) as expired:
        turns.take_turn("getMessagingActionsForOrder", turns.Taker(request_record))
    assert "later than the 0.005 h the seller allows (QuotaWaitDeadlineHours). The message was not sent." in str(
        expired.value
    )
    assert pacer.read(support.TABLE, key, RATE, BURST).version == before.version


def test_a_retried_attempt_calls_after_its_retry_interval_and_counts_in_the_pace(request_record: str) -> None:
    fill_queue(30)  # a first attempt would wait about 27 s
    key = pacer.PaceKey(turns.seller_key(get_settings()), KEY.operation)
    before = pacer.read(support.TABLE, key, RATE, BURST)
    # The Retry waited its interval: the attempt calls now (no Wait state, whose round would restart the
    # Retry's count), and its call is booked, so the calls after it leave room for it.
    turns.take_turn(KEY.operation, turns.Taker(request_record, retry_count=1))
    after = pacer.read(support.TABLE, key, RATE, BURST)
    assert after.version == before.version + 1
    assert after.call_tat > before.call_tat
    assert after.tat == before.tat  # the queue of turns is not touched


def test_the_api_never_waits_long_for_a_turn(table: str) -> None:
    fill_queue(30)
    with pytest.raises(SpApiThrottled, match=r"taken by queued messages for the next 2[5-7] s; nothing was asked"):
        turns.take_turn("getMessagingActionsForOrder", turns.API_TAKER)


def test_a_person_posting_during_a_campaign_waits_for_the_turn_after_the_booked_calls(table: str) -> None:
    """A campaign holds the quota: its burst spent on booked calls, 50 rows reserved behind. The API's own lookup goes
    ahead of the rows, after the booked calls (about 2 s): it sleeps for that turn instead of answering 503."""
    key = pacer.PaceKey(turns.seller_key(get_settings()), KEY.operation)
    clock = pacer.PacerClock()
    for _ in range(BURST + 1):
        pacer.reserve(support.TABLE, key, RATE, BURST, clock.now, book_within=1.0, lane=CAMPAIGN_LANE)
    for _ in range(50):
        pacer.reserve(support.TABLE, key, RATE, BURST, clock.now, lane=CAMPAIGN_LANE)
    before = pacer.read(support.TABLE, key, RATE, BURST)
    started = time.monotonic()

    turns.take_turn(KEY.operation, turns.API_TAKER)  # before the change: SpApiThrottled, "the next 2 s"

    assert time.monotonic() - started > 1.0  # it slept for its turn (a sleep is never shorter)
    after = pacer.read(support.TABLE, key, RATE, BURST)
    assert after.version == before.version + 1  # and booked it
    assert after.call_tat > before.call_tat


def test_the_feed_follows_the_header_and_429s(table: str) -> None:

    key = pacer.PaceKey(turns.seller_key(get_settings()), KEY.operation)
    turns.take_turn(KEY.operation, turns.API_TAKER)  # learns the catalog's rate: 1.0
    feed = turns.Pace()
    feed.answered(KEY.operation, "1.0")
    assert pacer.read(table, key, RATE, BURST).generation == 0  # same rate: nothing written
    feed.answered(KEY.operation, "0.2")
    assert pacer.read(table, key, RATE, BURST).rate == 0.2
    feed.answered(KEY.operation, "not a number")
    feed.throttled(KEY.operation)
    assert pacer.read(table, key, RATE, BURST).factor == 0.5


def test_the_seller_key_is_the_setting_or_stable_per_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from buyer_messaging.config import Settings

    derived = turns.seller_key(Settings.from_env())
    assert derived.startswith("secret-") and derived == turns.seller_key(Settings.from_env())
    monkeypatch.setenv("SELLING_PARTNER_ID", "A3SELLER")
    assert turns.seller_key(Settings.from_env()) == "A3SELLER"
