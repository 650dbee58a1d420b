"""One pacer per selling partner and SP-API operation, shared by every execution and every Lambda.

Amazon's usage plans are token buckets per selling partner, application and operation. The pacer keeps one
GCRA (generic cell rate algorithm) per seller and operation in the workflow table, item
``pace#{sellerKey}#{operation}``:

- ``tat``: the theoretical arrival time, on the pacer's clock: when the next call would conform with no burst
  left. A call takes its turn with one conditional write (the ``version`` it read), retried on a conflict,
  so concurrent Lambdas never hand out the same turn.
- A turn is *reserved*: a caller whose turn lies ahead keeps it (the slot) and comes back at that time (it
  waits in Step Functions), so the waiting messages are served first come, first served; none starves.
- ``callTat``: a second GCRA, over the calls as they really leave. A reserved turn says when to come back;
  the call itself is *booked* only when the caller is there and can call within a moment (:func:`resume`),
  against Amazon's bucket as the calls really spent it. Callers come back late (a Wait state ends late, a
  cold start, a busy host), and late callers come back together: sent at their reserved slots they would
  leave in a bunch that Amazon's bucket, full up to its burst and no more, answers with 429s. Booked at the
  time they really call, they leave at the pace Amazon allows. Nothing is booked ahead: a call booked for
  later whose caller came back late would spend a token nobody used.
- ``backTat``: the callers the calls of others sent back (their turn came, Amazon's bucket had no room yet)
  come back one interval apart from when it will have room, not all at the same time. A retried attempt has
  waited its Retry interval instead and books its call at once (:func:`book_now`).
- ``rate`` starts at the catalog's documented rate and follows ``x-amzn-RateLimit-Limit``. When Amazon
  announces another rate, every reserved turn is moved with it: the change is kept in ``remaps`` (time,
  ratio), and a returning caller applies the changes made since its reservation to its slot.
- ``factor`` lowers the pace after a 429 (halved, at most once per interval) and recovers by itself,
  doubling every :data:`RECOVERY_SECONDS` until the full rate again. It is a function of time: a turn is
  spaced by the pace at the time it falls, so a 429 slows the next minute, not the whole queue reserved in it.

The pacer keeps one token of Amazon's burst unused: a call reaches Amazon a few milliseconds after it was
booked, and the spare token absorbs that without a 429.

Two lanes: people first
-----------------------
A message a person sends (console, HTTP API, S3 outbox, ``requests/``) takes its turns in the *interactive*
lane; a campaign's row (a request with ``campaign``) in the *campaign* lane. Served first come, first served,
a console message behind a campaign of 1,000 rows would wait 1,000 s. So there are two schedules of reserved
turns, and one bucket of calls:

- ``tat`` is the interactive schedule, ``campaignTat`` the campaign's. A campaign turn is placed behind every
  turn of both reserved before it; an interactive turn behind the interactive ones only: ahead of the rows.
- The rows it overtook move back: an interactive turn placed while campaign turns are reserved from its slot
  on adds one interval to ``pushed``, and every turn of the campaign's schedule lies ``pushed`` later than
  when it was given (its caller carries the ``pushed`` of that moment, :attr:`Reservation.pushed`, and adds
  what was pushed since when it comes back, as it replays rate changes). One counter, one write: the rows'
  queue moves back by the turns people took, whatever its length, and keeps its order.
- The cap: while rows wait, the interactive schedule is spaced by ``interval / INTERACTIVE_SHARE`` (3 turns of
  4), and a turn goes ahead of the rows only when the interactive schedule has one within the burst's
  tolerance; a message over that cap is placed in the campaign's schedule, behind the rows, like one of them.
  A cap, not a priority alone: a steady stream (an ERP posting through the API at 1 message/s) would
  otherwise push the rows back for as long as it lasts, and they would starve. With the cap, ``pushed``
  grows by at most ``INTERACTIVE_SHARE`` of a second each second (plus a burst), so a row reserved ``d``
  seconds ahead is served within about ``d / (1 - INTERACTIVE_SHARE)`` seconds: the rows keep a quarter of the
  rate at least. A person sending a few messages a minute never meets the cap: the next turn is theirs.
  Interactive turns ahead of rows take no burst tolerance (a turn taken early would spend the bucket's room of
  the row due then, which moved back by one interval only).
- Both schedules book their calls on the one ``callTat`` (and book_now, follow_rate and slow_down are the same
  for both): Amazon's bucket sees one stream of calls at its pace, so the lanes add no 429. A row sent back
  (callers back late took the bucket's room) comes back when the bucket has room, after the interactive
  callers sent back, and the rows behind it move back as far (``pushed`` again): none overtakes it.
- Within a schedule no two callers get the same turn (one conditional write per turn, as before); across the
  two, the push keeps the reserved turns together at the pace, and the calls are booked one at a time.
- A rate change moves both schedules; a remap keeps ``pushed`` at the change, so a row's slot is moved by the
  pushes before the change at the old interval and by those after it at the new one.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from buyer_messaging.errors import WorkflowTableUnavailable
from buyer_messaging.models import INTERACTIVE_LANE
from buyer_messaging.table import ConditionNotMet, call, from_item, to_item

KEY_PREFIX = "pace#"
T = TypeVar("T")
# A 429 halves the pace at most down to this share of the rate; the share doubles back every RECOVERY_SECONDS.
MIN_FACTOR = 1 / 32
RECOVERY_SECONDS = 60.0
# Tokens of Amazon's burst the pacer leaves unused (see the module's docstring).
BURST_HEADROOM = 1
CONFLICT_ATTEMPTS = 8
# After a concurrent write won, wait a random moment before reading again, up to twice as long each time (real
# seconds: "full jitter"). Without it the losers read and write again in step and lose again: six threads taking
# turns at once left one without a turn after eight attempts now and then (test_concurrent_takers_...).
CONFLICT_BACKOFF_SECONDS = 0.005
CONFLICT_BACKOFF_CAP_SECONDS = 0.1
KEPT_REMAPS = 16
# While campaign turns are reserved, the interactive lane takes at most this share of the turns (the module's
# docstring says why a cap, and what it guarantees the campaign's rows).
INTERACTIVE_SHARE = 0.75
# Items are kept while they matter: a day after the last turn they describe an idle seller.
IDLE_TTL_SECONDS = 86_400


class PacerClock:
    """Seconds on the pacer's clock: real time run ``speedup`` times faster.

    The local stack runs Wait states and Retry intervals ``speedup`` times faster and sets the same factor
    here (``PACER_CLOCK_SPEEDUP``), so the pacer measures time as the state machine spends it. On AWS: 1.
    """

    def __init__(self, speedup: float = 1.0) -> None:
        self.speedup = speedup

    def now(self) -> float:
        return time.time() * self.speedup

    def elapsed_since(self, epoch_seconds: float) -> float:
        """Pacer seconds since a real Unix time."""
        return (time.time() - epoch_seconds) * self.speedup

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speedup)


@dataclass(frozen=True, slots=True)
class PaceKey:
    seller: str
    operation: str

    @property
    def item_id(self) -> str:
        return f"{KEY_PREFIX}{self.seller}#{self.operation}"


@dataclass(frozen=True, slots=True)
class PaceState:
    rate: float  # requests per second Amazon allows
    burst: int
    tat: float = 0.0
    factor: float = 1.0
    slowed_at: float = 0.0
    generation: int = 0
    # (generation, at, ratio, pushed at the change)
    remaps: tuple[tuple[int, float, float, float], ...] = field(default=())
    call_tat: float = 0.0  # the GCRA of the calls booked (see the module's docstring)
    back_tat: float = 0.0  # when the next caller sent back comes back (a campaign caller: at the earliest)
    campaign_tat: float = 0.0  # the campaign lane's schedule of reserved turns
    pushed: float = 0.0  # how far interactive turns moved the campaign lane back, all told (pacer seconds)
    version: int = 0  # 0: no item yet

    def factor_at(self, now: float) -> float:
        if self.factor >= 1.0:
            return 1.0
        return min(1.0, self.factor * math.pow(2.0, max(now - self.slowed_at, 0.0) / RECOVERY_SECONDS))

    def interval(self, now: float) -> float:
        """Seconds between two turns at the pace allowed at ``now``."""
        return 1.0 / (self.rate * self.factor_at(now))

    def tolerance(self, now: float) -> float:
        """How far ahead of ``tat`` a turn may be taken: the burst the pacer uses, as time."""
        return (max(1, self.burst - BURST_HEADROOM) - 1) * self.interval(now)

    def call_time(self, at: float) -> float:
        """The first time from ``at`` on that a call conforms to Amazon's bucket as the booked calls left it."""
        return max(at, self.call_tat - self.tolerance(at))

    def book_call(self, at: float) -> PaceState:
        """The pace with a call booked at ``at`` (a time :meth:`call_time` gave)."""
        return replace(self, call_tat=max(self.call_tat, at) + self.interval(at))

    def send_back(self, call_at: float) -> tuple[PaceState, float]:
        """The pace with a caller sent back, and when it comes back: from ``call_at`` (when Amazon's bucket has
        room again), one interval after the caller sent back before it."""
        back = max(self.back_tat, call_at)
        return replace(self, back_tat=back + self.interval(back)), back

    def send_campaign_back(self, call_at: float, due: float) -> tuple[PaceState, float]:
        """The pace with a campaign caller due at ``due`` sent back, and when it comes back: when Amazon's bucket
        has room (after the interactive callers sent back); the campaign's rows behind it move back as far, so
        they keep their order behind it (no queue of its own: the rows' queue moves)."""
        back = max(self.back_tat, call_at)
        delay = back - due
        return replace(self, campaign_tat=self.campaign_tat + delay, pushed=self.pushed + delay), back

    def campaign_waiting(self, at: float) -> bool:
        """Whether campaign turns are reserved from ``at`` on (an interactive turn there overtakes them)."""
        return self.campaign_tat > at

    def push_campaign(self, at: float) -> PaceState:
        """The pace with every reserved campaign turn moved back one interval: an interactive turn took one."""
        step = self.interval(at)
        return replace(self, campaign_tat=self.campaign_tat + step, pushed=self.pushed + step)


@dataclass(frozen=True, slots=True)
class Reservation:
    """A turn. ``booked``: the call is booked at ``slot`` (pacer clock, a moment away at most), the caller calls
    Amazon then; else the caller comes back at ``slot`` to book it (:func:`resume`). ``taken`` is False when the
    turn would have come after what the caller accepts (its deadline) and nothing was reserved."""

    slot: float
    generation: int
    rate: float
    now: float  # when the turn was placed
    taken: bool = True
    booked: bool = False
    # A turn of the campaign's schedule: the ``pushed`` its slot counts (the caller brings it back); None: a turn
    # of the interactive schedule, which no push moves.
    pushed: float | None = None


def reserve(
    table: str,
    key: PaceKey,
    default_rate: float,
    burst: int,
    clock: Callable[[], float],
    accept: Callable[[float, float], bool] | None = None,
    book_within: float | None = None,
    lane: str = INTERACTIVE_LANE,
) -> Reservation:
    """The next turn of ``key`` in ``lane``, reserved with one conditional write (retried on a concurrent write).

    ``clock`` is read at each attempt: a turn is placed from the time it is taken, not from before a wait for
    DynamoDB. ``accept(slot, now)``: whether the caller can use a turn at that slot (its deadline); a refused
    turn is not reserved. ``book_within``: a caller that can wait that long books its call in the same write
    when the call can leave by then (``booked``). An interactive turn placed ahead of reserved campaign turns
    moves them back (the module's docstring).
    """

    def place(
        state: PaceState, reserved: PaceState, slot: float, now: float, pushed: float | None
    ) -> tuple[PaceState | None, Reservation]:
        call_at = state.call_time(slot)
        if accept is not None and not accept(call_at, now):
            return None, Reservation(call_at, state.generation, state.rate, now, taken=False, pushed=pushed)
        if book_within is not None and call_at - now <= book_within:
            return reserved.book_call(call_at), Reservation(
                call_at, state.generation, state.rate, now, booked=True, pushed=pushed
            )
        return reserved, Reservation(slot, state.generation, state.rate, now, pushed=pushed)

    def take(state: PaceState) -> tuple[PaceState | None, Reservation]:
        now = clock()
        start = max(state.tat, now)
        if lane == INTERACTIVE_LANE and not state.campaign_waiting(start):
            # No campaign row waits: one schedule, as before the lanes, with the burst's tolerance.
            slot = max(now, start - state.tolerance(start))
            return place(state, replace(state, tat=start + state.interval(start)), slot, now, None)
        if lane == INTERACTIVE_LANE and start - now <= state.tolerance(start):
            # Ahead of the rows, at the cap's spacing, the rows moved back one interval. No tolerance: a turn taken
            # early would spend the bucket's room of the row due then, moved back by one interval only.
            reserved = replace(state, tat=start + state.interval(start) / INTERACTIVE_SHARE).push_campaign(start)
            return place(state, reserved, start, now, None)
        # A campaign's row, or a message over the cap: the campaign's schedule, behind every turn reserved before.
        start = max(state.campaign_tat, state.tat, now)
        slot = max(now, start - state.tolerance(start))
        return place(state, replace(state, campaign_tat=start + state.interval(start)), slot, now, state.pushed)

    return _change(table, key, default_rate, burst, take)


def resume(
    table: str,
    key: PaceKey,
    default_rate: float,
    burst: int,
    slot: float,
    generation: int,
    clock: Callable[[], float],
    book_within: float,
    pushed: float | None = None,
) -> Reservation | None:
    """The caller is back for the turn it was given at ``slot``, the slot moved by every rate change Amazon
    announced since (``remaps``) and, for a turn of the campaign's schedule (``pushed``: the push its slot
    counts, :attr:`Reservation.pushed`), by the interactive turns placed ahead of it since; None when the rate
    changes are too many to replay (the caller takes a new turn).

    Back early (the slot moved later), it is told to come back at the moved slot; nothing is written. Else it
    books its call with one write when the call can leave within ``book_within``; when the calls of callers
    back before it left Amazon's bucket no room by then, it is sent back (one write) to come back when there
    is room: an interactive caller in its place among the others sent back, a campaign caller with the rows
    behind it moved back as far (they keep their order)."""

    def book(state: PaceState) -> tuple[PaceState | None, Reservation | None]:
        now = clock()
        moved = _replay(state, slot, generation, pushed)
        if moved is None:
            return None, None
        counts = None if pushed is None else state.pushed
        if moved - now > book_within:
            return None, Reservation(moved, state.generation, state.rate, now, pushed=counts)
        call_at = state.call_time(max(moved, now))
        if call_at - now <= book_within:
            return state.book_call(call_at), Reservation(call_at, state.generation, state.rate, now, booked=True)
        if pushed is None:
            sent_back, back = state.send_back(call_at)
            return sent_back, Reservation(back, state.generation, state.rate, now)
        sent_back, back = state.send_campaign_back(call_at, max(moved, now))
        return sent_back, Reservation(back, state.generation, state.rate, now, pushed=sent_back.pushed)

    return _change(table, key, default_rate, burst, book)


def book_now(table: str, key: PaceKey, default_rate: float, burst: int, clock: Callable[[], float]) -> Reservation:
    """A call booked at once, whatever the calls booked before it (one write): for a retried attempt, which has
    waited the Retry's interval already. The calls booked after it leave room for it."""

    def book(state: PaceState) -> tuple[PaceState, Reservation]:
        now = clock()
        return state.book_call(now), Reservation(now, state.generation, state.rate, now, booked=True)

    return _change(table, key, default_rate, burst, book)


def _replay(state: PaceState, slot: float, generation: int, pushed: float | None) -> float | None:
    """``slot`` (reserved at ``generation``) moved by the rate changes since and, for a campaign turn given when
    the lane's push was ``pushed``, by the pushes since, each at the interval of its time; None when some rate
    changes were dropped."""
    changes = [remap for remap in state.remaps if remap[0] > generation]
    if len(changes) != state.generation - generation:
        return None
    for _, at, ratio, pushed_then in sorted(changes):
        if pushed is not None:
            slot, pushed = slot + pushed_then - pushed, pushed_then
        if slot > at:
            slot = at + (slot - at) * ratio
    return slot if pushed is None else slot + state.pushed - pushed


def follow_rate(table: str, key: PaceKey, default_rate: float, burst: int, announced: float, now: float) -> bool:
    """Amazon announced ``announced`` requests/s for the operation: the pace follows, reserved turns move with
    it; a lower rate counts Amazon's bucket as empty. False when the pace already had that rate."""

    def follow(state: PaceState) -> tuple[PaceState | None, bool]:
        if math.isclose(state.rate, announced, rel_tol=1e-6):
            return None, False
        ratio = state.rate / announced  # intervals grow by this much
        generation = state.generation + 1
        tat, call_tat, back_tat, campaign_tat = (
            now + (at - now) * ratio if at > now else at
            for at in (state.tat, state.call_tat, state.back_tat, state.campaign_tat)
        )
        remaps = (*state.remaps, (generation, now, ratio, state.pushed))[-KEPT_REMAPS:]
        changed = replace(
            state,
            rate=announced,
            tat=tat,
            call_tat=call_tat,
            back_tat=back_tat,
            campaign_tat=campaign_tat,
            generation=generation,
            remaps=remaps,
        )
        if announced < state.rate:
            # The calls made before the answer that announced it were booked at the old rate, and Amazon's
            # bucket refills at the new one since it changed: how much of it is left is unknown. Counted empty,
            # the next call leaves one (new) interval from now, and the burst comes back as the bucket refills.
            changed = replace(changed, call_tat=max(call_tat, now + changed.tolerance(now) + changed.interval(now)))
        return changed, True

    return _change(table, key, default_rate, burst, follow)


def slow_down(table: str, key: PaceKey, default_rate: float, burst: int, now: float) -> bool:
    """Amazon answered 429 although the turn was taken: the pace halves (once per interval; the answers of
    calls made at the old pace do not halve it again) and recovers by itself. False when not lowered."""

    def slow(state: PaceState) -> tuple[PaceState | None, bool]:
        if state.factor < 1.0 and now - state.slowed_at < state.interval(now):
            return None, False
        slowed = replace(state, factor=max(MIN_FACTOR, state.factor_at(now) / 2), slowed_at=now)
        # Amazon's bucket is empty now: the next call leaves one (slower) interval later, when it has room again.
        return (
            replace(
                slowed,
                tat=max(state.tat, now) + slowed.interval(now),
                call_tat=max(state.call_tat, now + slowed.tolerance(now) + slowed.interval(now)),
            ),
            True,
        )

    return _change(table, key, default_rate, burst, slow)


def read(table: str, key: PaceKey, default_rate: float, burst: int) -> PaceState:
    """The pace of ``key``: the stored one, or the catalog's rate and burst before the first turn."""
    response = call(
        table,
        lambda client: client.get_item(TableName=table, Key={"id": {"S": key.item_id}}, ConsistentRead=True),
    )
    item = response.get("Item")
    if not item:
        return PaceState(rate=default_rate, burst=burst)
    fields = from_item(item)
    return PaceState(
        rate=float(fields["rate"]),
        burst=int(fields["burst"]),
        tat=float(fields["tat"]),
        factor=float(fields["factor"]),
        slowed_at=float(fields["slowedAt"]),
        generation=int(fields["generation"]),
        # Remaps written before the lanes have no push: there was none.
        remaps=tuple(
            (int(g), float(at), float(ratio), float(rest[0]) if rest else 0.0)
            for g, at, ratio, *rest in fields.get("remaps", [])
        ),
        call_tat=float(fields.get("callTat", 0.0)),
        back_tat=float(fields.get("backTat", 0.0)),
        campaign_tat=float(fields.get("campaignTat", 0.0)),
        pushed=float(fields.get("pushed", 0.0)),
        version=int(fields["version"]),
    )


def _change(
    table: str, key: PaceKey, default_rate: float, burst: int, change: Callable[[PaceState], tuple[PaceState | None, T]]
) -> T:
    """Read the pace, let ``change`` decide its new state (None: write nothing) and the answer, and write the new
    state on the version read: one conditional write, tried again on a concurrent one."""
    for attempt in range(CONFLICT_ATTEMPTS):
        state = read(table, key, default_rate, burst)
        changed, answer = change(state)
        if changed is None:
            return answer
        try:
            _write(table, key, changed, state.version)
        except ConditionNotMet:
            time.sleep(random.uniform(0, min(CONFLICT_BACKOFF_CAP_SECONDS, CONFLICT_BACKOFF_SECONDS * 2**attempt)))  # noqa: S311
            continue
        return answer
    raise _contention(key)


def _write(table: str, key: PaceKey, state: PaceState, previous_version: int) -> None:
    """One conditional PutItem: only over the version that was read (or where no item was)."""
    item = to_item(
        {
            "id": key.item_id,
            "seller": key.seller,
            "operation": key.operation,
            "rate": float(state.rate),
            "burst": state.burst,
            "tat": float(state.tat),
            "callTat": float(state.call_tat),
            "backTat": float(state.back_tat),
            "campaignTat": float(state.campaign_tat),
            "pushed": float(state.pushed),
            "factor": float(state.factor),
            "slowedAt": float(state.slowed_at),
            "generation": state.generation,
            "remaps": [list(remap) for remap in state.remaps],
            "version": previous_version + 1,
            # DynamoDB TTL counts real Unix seconds; the pacer's clock may run faster (local stack only).
            "expiration": int(time.time()) + IDLE_TTL_SECONDS,
        }
    )
    call(
        table,
        lambda client: client.put_item(
            TableName=table,
            Item=item,
            # Version 0 is "no item yet": written items start at 1.
            ConditionExpression="attribute_not_exists(id) OR version = :version",
            ExpressionAttributeValues=to_item({":version": previous_version}),
        ),
    )


def _contention(key: PaceKey) -> WorkflowTableUnavailable:
    return WorkflowTableUnavailable(
        f"The pace of {key.operation} changed under {CONFLICT_ATTEMPTS} attempts in a row to take a turn."
    )
