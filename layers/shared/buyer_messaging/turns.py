"""A step's turn in Amazon's quota before each SP-API call, and what the step does while it waits.

Every SP-API call of the workflow first takes its turn from the pacer (:mod:`buyer_messaging.pacer`) of its
selling partner and operation. A call that can leave within :data:`MOMENT_SECONDS` is booked and the rest of
the moment slept in the Lambda. A later turn stays reserved and the step returns ``{"pacing": {...}}``
instead of calling Amazon: the state machine waits ``waitSeconds`` in a Wait state (no Lambda runs
meanwhile) and runs the step again, which finds its reserved turn in ``pacing`` and books its call then (or,
when the calls of others came back first, is told to come back a little later). Waiting is not failing: a
message fails for quota (:class:`QuotaWaitExpired`) only when its turn would come after the seller's deadline,
counted from when it was received.

Amazon's answers feed the pacer back (:class:`Pace`): ``x-amzn-RateLimit-Limit`` sets the pace, a 429 lowers it.

A campaign's row takes its turns in the pacer's campaign lane, everything else (the console, the HTTP API and
its own calls, the S3 outbox, ``requests/``) in the interactive lane, which goes first (:mod:`buyer_messaging.pacer`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from buyer_messaging import catalog, pacer, status
from buyer_messaging.config import Settings, get_settings
from buyer_messaging.emf import emit
from buyer_messaging.errors import BuyerMessagingError, QuotaWaitExpired, SpApiThrottled, error_name
from buyer_messaging.models import INTERACTIVE_LANE
from buyer_messaging.observability import logger

# A wait this short is slept in the Lambda (pacer seconds); a longer one is waited in Step Functions.
MOMENT_SECONDS = 1.0
# The HTTP API cannot wait in Step Functions: it sleeps for a turn at most this long, else answers 503. While a
# campaign holds the quota, a person's turn goes ahead of its rows but after the calls already booked, about 2 s
# away: refused at one moment, a person's message failed now and then in the middle of a campaign (make
# load-campaign); 3 s keeps the answer well within API Gateway's 30 s.
API_WAIT_SECONDS = 3.0


class TurnLater(Exception):  # not an error: the step returns ``pacing`` and the machine waits
    """The caller's turn is reserved for later: the step returns ``{"pacing": ...}`` and is run again."""

    def __init__(self, pacing: Pacing) -> None:
        super().__init__(f"{pacing.operation}: turn in {pacing.wait_seconds} s")
        self.pacing = pacing


@dataclass(frozen=True, slots=True)
class Pacing:
    """A reserved turn as it travels in the state: the Wait state reads ``waitSeconds``."""

    operation: str
    slot: float  # pacer clock
    generation: int
    wait_seconds: int
    since: str  # when the message began waiting for this operation's quota (ISO 8601, UTC)
    pushed: float | None = None  # a turn of the campaign's schedule: the push its slot counts (pacer.Reservation)

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "slot": self.slot,
            "generation": self.generation,
            "waitSeconds": self.wait_seconds,
            "since": self.since,
            "pushed": self.pushed,
        }

    @classmethod
    def from_state(cls, value: object) -> Pacing | None:
        """The turn a state carries, or None (then the step takes a new one)."""
        if not isinstance(value, Mapping):
            return None
        try:
            pacing = cls(
                operation=str(value["operation"]),
                slot=float(value["slot"]),
                generation=int(value["generation"]),
                wait_seconds=int(value["waitSeconds"]),
                since=str(value["since"]),
                pushed=None if value.get("pushed") is None else float(value["pushed"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        finite = math.isfinite(pacing.slot) and (pacing.pushed is None or math.isfinite(pacing.pushed))
        return pacing if finite else None


@dataclass(frozen=True, slots=True)
class Taker:
    """Who takes a turn. ``execution_id``: the request (None for the HTTP API, which cannot wait in Step
    Functions). ``retry_count``: the state's ``$$.State.RetryCount``; a retried attempt calls at once (it
    waited the Retry's interval), its call counted in the pace, and never reuses its first attempt's turn.
    ``lane``: the pacer's lane (``MessageRequest.lane``): a campaign's row waits behind what people send.
    ``seller``: the selling partner whose quota the calls take (the request's; None: :func:`seller_key`'s
    default): Amazon's usage plans are per selling partner, so one seller's burst never delays another's."""

    execution_id: str | None = None
    pacing: Pacing | None = None
    retry_count: int = 0
    lane: str = INTERACTIVE_LANE
    seller: str | None = None

    @property
    def can_wait(self) -> bool:
        return self.execution_id is not None


API_TAKER = Taker()
# Whose turn the SP-API calls made now take: set by a step around the calls (each thread has its own).
_taker: ContextVar[Taker] = ContextVar("taker", default=API_TAKER)


@contextmanager
def taking(taker: Taker) -> Iterator[None]:
    """The SP-API calls made inside take ``taker``'s turns (else the HTTP API's: never waiting long)."""
    token = _taker.set(taker)
    try:
        yield
    finally:
        _taker.reset(token)


def seller_key(settings: Settings, seller: str | None = None) -> str:
    """The selling partner whose quota is paced: ``seller`` (the request's), else ``SELLING_PARTNER_ID``, else one
    key per credentials secret (a deployment never told its one seller's id: its secret names it). The legacy
    seller resolves to ``SELLING_PARTNER_ID``: its key is the one it had before sellers were named."""
    if seller:
        return seller
    if settings.selling_partner_id:
        return settings.selling_partner_id
    secret = settings.require("credentials_secret_id")
    return "secret-" + hashlib.sha256(secret.encode()).hexdigest()[:16]


_known_rates: dict[pacer.PaceKey, float] = {}  # (seller, operation) -> the rate the pacer used last (this container)


def take_turn(operation: str, taker: Taker) -> None:
    """Return when it is ``operation``'s turn (after a sleep of at most a moment), or raise :class:`TurnLater`
    (turn reserved), :class:`QuotaWaitExpired` (past the deadline) or, for the API, :class:`SpApiThrottled`."""
    settings = get_settings()
    table = settings.require("workflow_table")
    spec = catalog.operation(operation)
    key = pacer.PaceKey(seller_key(settings, taker.seller), operation)
    clock = pacer.PacerClock(settings.pacer_clock_speedup)
    deadline = _Deadline(settings, table, taker, clock)
    previous = taker.pacing if taker.pacing is not None and taker.pacing.operation == operation else None
    turn: pacer.Reservation | None = None
    if taker.retry_count > 0 and taker.can_wait:
        # A retried attempt (after a 429 or an outage) has waited the state's Retry interval, with backoff and
        # jitter: it calls now, and its call counts in the pace. Sent to a Wait state instead, it would come back
        # as a new attempt and the Retry's count of attempts would start again at every round.
        pacer.book_now(table, key, spec.rate_per_second, spec.burst, clock.now)
        return
    if previous is not None:
        turn = pacer.resume(
            table,
            key,
            spec.rate_per_second,
            spec.burst,
            previous.slot,
            previous.generation,
            clock.now,
            MOMENT_SECONDS,
            pushed=previous.pushed,
        )
        if turn is not None and not turn.booked and not deadline.allows(turn.slot, turn.now):
            raise deadline.expired(operation, turn.slot - turn.now)
    if turn is None:
        accept = deadline.allows if taker.can_wait else _within_the_api_wait
        turn = pacer.reserve(
            table,
            key,
            spec.rate_per_second,
            spec.burst,
            clock.now,
            accept=accept,
            book_within=MOMENT_SECONDS if taker.can_wait else API_WAIT_SECONDS,
            lane=taker.lane,
        )
        if not turn.taken:
            if not taker.can_wait:
                raise SpApiThrottled(
                    f"{operation}: the seller's quota at Amazon is taken by queued messages for the next "
                    f"{turn.slot - turn.now:.0f} s; nothing was asked of Amazon."
                )
            raise deadline.expired(operation, turn.slot - turn.now)
        _known_rates[key] = turn.rate
    wait = turn.slot - clock.now()
    if turn.booked:
        clock.sleep(wait)
        return
    since = previous.since if previous is not None else status.now_iso()
    if previous is None and taker.execution_id is not None:
        status.waiting_for_quota(table, taker.execution_id, operation, since)
    emit("QuotaWaits", 1, Operation=operation)
    emit("QuotaWaitSeconds", round(wait, 3), Operation=operation)
    emit("MessageWaitSeconds", round(deadline.waited() + wait, 3), Lane=taker.lane)
    raise TurnLater(Pacing(operation, turn.slot, turn.generation, max(1, math.floor(wait)), since, turn.pushed))


def _within_the_api_wait(slot: float, now: float) -> bool:
    return slot - now <= API_WAIT_SECONDS


class _Deadline:
    """The last moment (pacer clock) a message may get its turn: QUOTA_WAIT_DEADLINE_HOURS after it was
    received. The request's record is read only when a turn is more than a moment away."""

    def __init__(self, settings: Settings, table: str, taker: Taker, clock: pacer.PacerClock) -> None:
        self._hours = settings.quota_wait_deadline_hours
        self._table = table
        self._taker = taker
        self._clock = clock
        self._received: float | None = None

    def allows(self, slot: float, now: float) -> bool:
        if slot - now <= MOMENT_SECONDS:
            return True
        return slot - now <= self._hours * 3600 - self._clock.elapsed_since(self._received_at())

    def waited(self) -> float:
        """Pacer seconds since the message was received."""
        return max(0.0, self._clock.elapsed_since(self._received_at()))

    def _received_at(self) -> float:
        if self._received is None:
            found = status.received_at(self._table, self._taker.execution_id) if self._taker.execution_id else None
            self._received = found if found is not None else datetime.now(UTC).timestamp()
        return self._received

    def expired(self, operation: str, wait: float) -> QuotaWaitExpired:
        waited = self._clock.elapsed_since(self._received_at()) / 3600
        return QuotaWaitExpired(
            f"{operation}: the seller's quota at Amazon would give this message its turn in {wait / 3600:.2f} h, "
            f"{waited + wait / 3600:.2f} h after it was received: later than the {self._hours:g} h the seller "
            "allows (QuotaWaitDeadlineHours). The message was not sent."
        )


class Pace:
    """The SP-API client's pacer: :meth:`before` takes the call's turn (right before the request leaves, after
    the access token is at hand, so the turn is not spent waiting for Login with Amazon); :meth:`answered`
    and :meth:`throttled` feed back what Amazon's answers say. Feeding back never fails the call it
    observes: the answer stands whatever happens to the pacer's record."""

    def before(self, operation: str) -> None:
        take_turn(operation, _taker.get())

    def answered(self, operation: str, rate_limit: str | None) -> None:
        announced = _rate(rate_limit)
        if announced is None:
            return
        self._update(operation, "follow_rate", announced)

    def throttled(self, operation: str) -> None:
        self._update(operation, "slow_down", None)

    def _update(self, operation: str, what: str, announced: float | None) -> None:
        try:
            settings = get_settings()
            spec = catalog.operation(operation)
            table = settings.require("workflow_table")
            key = pacer.PaceKey(seller_key(settings, _taker.get().seller), operation)
            if announced is not None and math.isclose(announced, _known_rates.get(key, -1.0), rel_tol=1e-6):
                return  # the rate the pacer follows already
            now = pacer.PacerClock(settings.pacer_clock_speedup).now()
            if announced is not None:
                pacer.follow_rate(table, key, spec.rate_per_second, spec.burst, announced, now)
                _known_rates[key] = announced
            else:
                pacer.slow_down(table, key, spec.rate_per_second, spec.burst, now)
        except (BuyerMessagingError, KeyError) as error:
            logger.warning(
                "The pacer did not take Amazon's answer into account",
                extra={"operation": operation, "update": what, "error": error_name(error), "cause": str(error)},
            )


def _rate(header: str | None) -> float | None:
    """``x-amzn-RateLimit-Limit``: requests per second, a positive number (else ignored)."""
    if not header:
        return None
    try:
        value = float(header.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None
