"""The pacer's two lanes: people's messages first, a campaign's rows behind them, none starving, one bucket."""

from __future__ import annotations

import heapq
import itertools
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from buyer_messaging import pacer, status, turns
from buyer_messaging.config import get_settings
from buyer_messaging.models import CAMPAIGN_LANE, INTERACTIVE_LANE
from local_stack import atomic_dynamodb
from spapi_emulator.quotas import TokenBucket
from tests import support

KEY = pacer.PaceKey("A1SELLER", "getMessagingActionsForOrder")
RATE, BURST = 1.0, 5  # the catalog's messaging plan
T0 = 1_000_000.0


@pytest.fixture
def table(aws: dict[str, Any]) -> Iterator[str]:
    restore = atomic_dynamodb.install()  # as on the local stack: DynamoDB applies each request atomically
    yield support.TABLE
    restore()


def reserve(now: float, lane: str, book_within: float | None = None) -> pacer.Reservation:
    return pacer.reserve(support.TABLE, KEY, RATE, BURST, lambda: now, book_within=book_within, lane=lane)


def resume(turn: pacer.Reservation, now: float) -> pacer.Reservation:
    back = pacer.resume(support.TABLE, KEY, RATE, BURST, turn.slot, turn.generation, lambda: now, 1.0, turn.pushed)
    assert back is not None
    return back


def test_an_interactive_turn_goes_ahead_of_a_thousand_reserved_campaign_turns(table: str) -> None:
    campaign = [reserve(T0, CAMPAIGN_LANE, book_within=1.0) for _ in range(1000)]
    # The campaign's burst: 4 calls at once and one a moment later, booked; the rest reserved, one a second.
    assert [turn.booked for turn in campaign[:6]] == [True] * 5 + [False]
    assert (campaign[5].slot, campaign[-1].slot) == (T0 + 2, T0 + 996)

    person = reserve(T0, INTERACTIVE_LANE, book_within=1.0)

    # Its turn is now, not in 997 s: its call leaves as soon as the campaign's calls already booked have left
    # Amazon's bucket room (they hold it to T0 + 2), so it comes back in a second and books its call then.
    assert (person.slot, person.booked) == (T0, False)
    call = resume(person, T0 + 1)
    assert (call.slot, call.booked) == (T0 + 2, True)
    # Every campaign turn not booked moved back by the one interval the person took, the last one too.
    assert resume(campaign[5], T0 + 2).slot == T0 + 3
    assert resume(campaign[-1], T0 + 2).slot == T0 + 997
    # A campaign row that comes now is placed behind the whole campaign.
    assert reserve(T0, CAMPAIGN_LANE).slot == T0 + 998


def test_people_go_ahead_up_to_the_cap_and_a_message_over_it_queues_behind_the_rows(table: str) -> None:
    campaign = [reserve(T0, CAMPAIGN_LANE) for _ in range(100)]
    assert campaign[-1].slot == T0 + 96
    people = [reserve(T0, INTERACTIVE_LANE) for _ in range(4)]
    # Three go ahead of the rows, spaced at the cap (4/3 s: 3 turns of 4), each moving the rows back one second;
    # the interactive schedule's next turn is then more than the burst's tolerance away: over the cap, the
    # fourth is placed in the campaign's schedule, behind the last row (now at T0 + 99).
    assert [turn.slot for turn in people[:3]] == pytest.approx([T0, T0 + 4 / 3, T0 + 8 / 3])
    assert [turn.pushed for turn in people] == [None, None, None, 3.0]
    assert resume(campaign[-1], T0).slot == T0 + 99
    assert people[3].slot == T0 + 100


@dataclass(frozen=True, order=True)
class Call:
    at: float
    lane: str
    number: int  # in the order its caller first asked for a turn, per lane


def run(arrivals: list[tuple[float, str]], lateness: float = 0.0) -> list[Call]:
    """Callers asking for turns at the given times, each back from its Wait state ``lateness`` late (whole-second
    waits, as the state machine waits), each calling when the pacer books its call. The calls, in time order."""
    clock = {"now": T0}
    counters = dict.fromkeys((INTERACTIVE_LANE, CAMPAIGN_LANE), 0)
    events: list[tuple[float, int, str, int, pacer.Reservation | None]] = []
    tie = itertools.count()
    for at, lane in arrivals:
        heapq.heappush(events, (at, next(tie), lane, counters[lane], None))
        counters[lane] += 1
    calls: list[Call] = []
    while events:
        clock["now"], _, lane, number, turn = heapq.heappop(events)
        now = clock["now"]
        answer = reserve(now, lane, book_within=1.0) if turn is None else resume(turn, now)
        if answer.booked:
            assert answer.slot - now <= 1.0
            calls.append(Call(max(answer.slot, now), lane, number))
            continue
        wait = max(1, math.floor(answer.slot - now))
        heapq.heappush(events, (now + wait + lateness, next(tie), lane, number, answer))
    return sorted(calls)


def accepted_by_amazon(calls: list[Call]) -> bool:
    bucket = TokenBucket(RATE, BURST, float(BURST), T0)
    return all(bucket.take(call.at) for call in calls)


@pytest.mark.parametrize("lateness", [0.0, 0.4])
def test_a_steady_interactive_stream_at_the_cap_starves_no_campaign_row(table: str, lateness: float) -> None:
    """40 campaign rows at once, then a person's message every second for 300 s: more than the interactive
    lane's share. The rows are all served, in order, within the bound the cap gives, long before the stream
    ends; the people's messages get their share; Amazon's bucket is never overdrawn."""
    rows, stream = 40, 300
    arrivals = [(T0, CAMPAIGN_LANE)] * rows + [(T0 + 0.5 + n, INTERACTIVE_LANE) for n in range(stream)]

    calls = run(arrivals, lateness)

    campaign = [call for call in calls if call.lane == CAMPAIGN_LANE]
    people = [call for call in calls if call.lane == INTERACTIVE_LANE]
    assert len(campaign) == rows and len(people) == stream
    order = [call.number for call in campaign]
    if lateness == 0.0:
        assert order == list(range(rows)), "campaign rows served out of order"
    else:
        # Callers back late are sent back by Amazon's bucket and queue again among those sent back: a row may
        # come a place or two after the next ones, never further.
        assert all(abs(position - number) <= 2 for position, number in enumerate(order)), str(order)
    assert accepted_by_amazon(calls), "a call the pacer made would have been answered 429"
    # Without the cap the people's stream (1/s: the whole rate) would push the rows back for all of its 300 s.
    # With it, the rows reserved 36 s ahead are served within 36 / (1 - share) s (a tenth on top for the
    # calls of callers back late).
    bound = (rows - (BURST - 1)) / RATE / (1 - pacer.INTERACTIVE_SHARE)
    assert campaign[-1].at - T0 <= bound * 1.1 + 10 * lateness
    assert campaign[-1].at - T0 < stream * 0.6
    # While rows wait, people get their share of the turns: 3 of 4 calls.
    during = [call for call in calls if call.at <= campaign[-1].at]
    assert sum(call.lane == INTERACTIVE_LANE for call in during) / len(during) == pytest.approx(
        pacer.INTERACTIVE_SHARE, abs=0.06
    )


def test_a_person_sending_now_and_then_waits_seconds_behind_a_long_campaign(table: str) -> None:
    arrivals = [(T0, CAMPAIGN_LANE)] * 300 + [(T0 + 30 + 40 * n, INTERACTIVE_LANE) for n in range(5)]

    calls = run(arrivals, lateness=0.4)

    starts = [T0 + 30 + 40 * n for n in range(5)]
    people = [call.at for call in calls if call.lane == INTERACTIVE_LANE]
    assert len(people) == 5
    assert all(sent - asked <= 3.0 for sent, asked in zip(people, starts, strict=True)), people
    assert [call.number for call in calls if call.lane == CAMPAIGN_LANE] == list(range(300))
    assert accepted_by_amazon(calls)


def test_a_rate_change_moves_both_lanes_and_the_pushes_at_the_interval_of_their_time(table: str) -> None:
    campaign = [reserve(T0, CAMPAIGN_LANE) for _ in range(8)]
    assert [turn.slot for turn in campaign] == [T0] * 4 + [T0 + 1, T0 + 2, T0 + 3, T0 + 4]
    person = reserve(T0, INTERACTIVE_LANE)  # ahead of them: the campaign moves back one second
    assert (person.slot, pacer.read(table, KEY, RATE, BURST).pushed) == (T0, 1.0)

    assert pacer.follow_rate(table, KEY, RATE, BURST, 0.5, T0 + 1)
    another = reserve(T0 + 1, INTERACTIVE_LANE)  # after the change: moves the campaign back one new interval
    state = pacer.read(table, KEY, RATE, BURST)
    # The people's lane is at its cap while rows wait (one turn each 1/0.75 s): its next turn was T0 + 4/3,
    # a third of a second after the change, now two thirds at half the rate.
    assert (another.slot, state.pushed) == (pytest.approx(T0 + 1 + 2 / 3), 3.0)

    # The last row's turn: T0+4, pushed to T0+5 at 1/s; 4 s after the change at half the rate: 8 s, T0+9; then
    # pushed one interval of the new rate: T0+11.
    assert resume(campaign[-1], T0 + 1).slot == pytest.approx(T0 + 11)
    # The person's first turn is not a campaign turn: no push moves it, the rate change only (it lay before it).
    assert resume(person, T0 + 1).slot == T0 + 3  # the lower rate counts the bucket empty
    # A new campaign row comes after the moved campaign: one new interval after its last row.
    assert reserve(T0 + 1, CAMPAIGN_LANE).slot == pytest.approx(T0 + 13)


def test_a_429_slows_both_lanes(table: str) -> None:
    for _ in range(6):
        reserve(T0, CAMPAIGN_LANE, book_within=1.0)
    assert pacer.slow_down(table, KEY, RATE, BURST, T0)
    state = pacer.read(table, KEY, RATE, BURST)
    assert state.call_time(T0) == T0 + 2.0  # Amazon's bucket is empty: one slowed interval
    person = reserve(T0, INTERACTIVE_LANE, book_within=1.0)
    # The person goes ahead of the campaign rows (one slowed interval after the 429, as every new turn), and
    # they move back one interval of the slowed pace at that time (about 2 s) ...
    assert pacer.read(table, KEY, RATE, BURST).pushed == pytest.approx(state.interval(T0 + 2.0))
    # ... and the call still waits for Amazon's bucket as the 429 left it: nothing leaves before T0 + 2.
    assert person.slot >= T0 + 2.0 - 1e-9
    later = resume(person, T0 + 2)
    assert later.booked and later.slot >= T0 + 2.0 - 1e-9


def slot_now(turn: pacer.Reservation, state: pacer.PaceState) -> float:
    """Where a turn lies now: a turn of the campaign's schedule moved back by the pushes since it was given."""
    return turn.slot if turn.pushed is None else turn.slot + state.pushed - turn.pushed


def test_both_lanes_writing_at_once_never_share_a_turn(table: str) -> None:
    answers: list[tuple[str, pacer.Reservation]] = []
    lock = threading.Lock()

    def taker(lane: str, count: int) -> None:
        mine = [(lane, reserve(T0, lane)) for _ in range(count)]
        with lock:
            answers.extend(mine)

    threads = [threading.Thread(target=taker, args=(CAMPAIGN_LANE, 8)) for _ in range(2)]
    threads += [threading.Thread(target=taker, args=(INTERACTIVE_LANE, 4)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = pacer.read(table, KEY, RATE, BURST)
    assert len(answers) == 24 and state.version == 24  # one conditional write per turn, none lost
    slots = sorted(slot_now(turn, state) for _, turn in answers)
    # Together the lanes keep the pace: 4 turns at once (the burst the pacer uses), then at most one a second.
    for index, slot in enumerate(slots):
        assert slot >= T0 + max(0, index - (BURST - 2)) * (1 / RATE) - 1e-6, (index, slots)
    campaign = sorted(slot_now(turn, state) for lane, turn in answers if lane == CAMPAIGN_LANE)
    assert len(set(campaign[BURST - 2 :])) == len(campaign) - (BURST - 2)  # past the burst, each its own turn


# ------------------------------------------------------------------ turns: the lane a step takes its turn in


def test_a_campaign_rows_turn_carries_its_push_through_the_state(aws: dict[str, Any]) -> None:
    arn = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:row-0001"
    status.received(support.TABLE, arn, status.Retention(90))
    key = pacer.PaceKey(turns.seller_key(get_settings()), KEY.operation)
    for _ in range(30):
        pacer.reserve(support.TABLE, key, RATE, BURST, pacer.PacerClock().now, lane=CAMPAIGN_LANE)
    with pytest.raises(turns.TurnLater) as later:
        turns.take_turn(KEY.operation, turns.Taker(arn, lane=CAMPAIGN_LANE))
    row = later.value.pacing
    assert 26 <= row.wait_seconds <= 28 and row.to_dict()["pushed"] == 0.0
    # A person's message from the HTTP API (which cannot wait) is not refused behind the campaign's 31 turns.
    turns.take_turn(KEY.operation, turns.API_TAKER)
    # The row, back for its turn, finds it one interval later.
    with pytest.raises(turns.TurnLater) as again:
        turns.take_turn(KEY.operation, turns.Taker(arn, turns.Pacing.from_state(row.to_dict()), lane=CAMPAIGN_LANE))
    assert again.value.pacing.slot == pytest.approx(row.slot + 1.0)
    assert again.value.pacing.pushed == pytest.approx(1.0)
