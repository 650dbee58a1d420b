"""The pacer: GCRA on the workflow table (moto DynamoDB), on a clock the tests move by hand."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from buyer_messaging import pacer, status, turns
from buyer_messaging.config import get_settings
from buyer_messaging.errors import QuotaWaitExpired, SpApiThrottled
from local_stack import atomic_dynamodb
from tests import support

KEY = pacer.PaceKey("A1SELLER", "getMessagingActionsForOrder")
RATE, BURST = 1.0, 5  # the catalog's messaging plan
T0 = 1_000_000.0


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
    # The reserved turn at T0+4 lies 3 s after the change: at half the rate, 6 s after it.
    assert pacer.resume(table, KEY, RATE, BURST, slots[-1], generation) == (T0 + 7, generation + 1)
    # A turn already past the change stays; a new turn comes after the moved queue, 2 s apart.
    assert pacer.resume(table, KEY, RATE, BURST, T0, generation) == (T0, generation + 1)
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
    # Right after the 429: once the burst is spent, turns (nearly) two seconds apart.
    slots = [take(T0 + 0.5) for _ in range(4)]
    interval = 2.0 / 2 ** (0.5 / pacer.RECOVERY_SECONDS)
    assert [b - a for a, b in itertools.pairwise(slots[1:])] == pytest.approx([interval, interval])
    assert pacer.slow_down(table, KEY, RATE, BURST, T0 + 3)  # another 429 an interval later halves again
    assert pacer.read(table, KEY, RATE, BURST).interval(T0 + 3) == pytest.approx(4.0 / 2 ** (3 / 60), rel=1e-6)


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


def test_the_api_never_waits_long_for_a_turn(table: str) -> None:
    fill_queue(30)
    with pytest.raises(SpApiThrottled, match=r"taken by queued messages for the next 2[5-7] s; nothing was asked"):
        turns.take_turn("getMessagingActionsForOrder", turns.API_TAKER)


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
