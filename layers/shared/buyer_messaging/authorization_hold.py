"""A seller's lost authorization: marked once, announced once, and its messages held instead of failed.

**Lost** (:func:`authorization_lost`): Login with Amazon answered ``invalid_grant`` for a registered seller's
refresh token. The seller's secret is read again past every cache first: a container that still held the token
of an authorization the seller has since renewed tries the new token instead of marking anything. Only when the
refused token is the registry's current one is the seller marked ``needsAuthorization``
(:func:`buyer_messaging.sellers.mark_needs_authorization`, a conditional write on that authorization's
``authorizedAt``: the first container to see the refusal marks it, every other one finds it marked), and only the
call that marked it puts ``SellerAuthorizationLost`` on the event bus. The legacy seller (its refresh token in
the application secret, no registry item) has nothing to mark: its ``LwaInvalidGrant`` fails the message.

**Held** (:func:`hold`): a step that needs the seller's token while the seller needs authorization
(:class:`SellerNeedsAuthorization`, raised before LWA is asked) does not fail: it answers ``{"held": ...}`` and
the state machine waits ``waitSeconds`` in a Wait state, then runs the same step again. The wait doubles from
:data:`FIRST_WAIT_SECONDS` to :data:`LONGEST_WAIT_SECONDS` (Step Functions bills the transitions, not the
waiting, and a seller who authorizes again sees the messages leave within a quarter of an hour). The local stack
runs Wait states faster (PACER_CLOCK_SPEEDUP), so the deadline is measured on the pacer's clock, as the quota
waits are. A message held past AUTHORIZATION_HOLD_HOURS after it was received fails with
SellerNeedsAuthorization: nothing was sent, and a re-send sends it once the seller has authorized again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from buyer_messaging import eventbus, pacer, sellers, status
from buyer_messaging.config import Settings
from buyer_messaging.errors import LwaInvalidGrant, SellerNeedsAuthorization
from buyer_messaging.observability import logger

FIRST_WAIT_SECONDS = 60
LONGEST_WAIT_SECONDS = 900
REASON = SellerNeedsAuthorization.__name__


def authorization_lost(settings: Settings, seller_id: str, refused_authorization: str | None) -> bool:
    """LWA refused the refresh token of ``seller_id``'s authorization ``refused_authorization`` (its
    ``authorizedAt``): mark the seller, and announce it when this call marked it. True when it marked."""
    at = datetime.now(UTC)
    marked = sellers.mark_needs_authorization(
        settings,
        seller_id,
        reason=LwaInvalidGrant.__name__,
        refused_authorization=refused_authorization,
        at=at,
    )
    if marked:
        logger.warning("A seller's authorization was lost", extra={"selling_partner_id": seller_id})
        eventbus.publish(
            settings.event_bus_name,
            eventbus.SELLER_AUTHORIZATION_LOST,
            {"sellingPartnerId": seller_id, "since": sellers.iso(at), "reason": LwaInvalidGrant.__name__},
        )
    return marked


@dataclass(frozen=True, slots=True)
class Hold:
    """A held message as it travels in the state: the Wait state reads ``waitSeconds``."""

    wait_seconds: int
    since: str
    reason: str = REASON

    @classmethod
    def from_state(cls, value: object) -> Hold | None:
        if not isinstance(value, Mapping):
            return None
        wait, since = value.get("waitSeconds"), value.get("since")
        if not isinstance(wait, int) or isinstance(wait, bool) or not isinstance(since, str):
            return None
        return cls(wait, since, str(value.get("reason") or REASON))

    def to_dict(self) -> dict[str, Any]:
        return {"waitSeconds": self.wait_seconds, "since": self.since, "reason": self.reason}


def hold(settings: Settings, execution_id: str, previous: Hold | None, lost: SellerNeedsAuthorization) -> Hold:
    """The next wait of a message whose seller needs authorization (the record says ``held`` from the first),
    or ``lost`` itself, with the time held, once the message is past AUTHORIZATION_HOLD_HOURS."""
    table = settings.require("workflow_table")
    clock = pacer.PacerClock(settings.pacer_clock_speedup)
    received = status.received_at(table, execution_id)
    waited = clock.elapsed_since(received) if received is not None else 0.0
    if waited >= settings.authorization_hold_hours * 3600:
        raise SellerNeedsAuthorization(
            f"{lost} The message was held {waited / 3600:.2f} h after it was received, past the "
            f"{settings.authorization_hold_hours:g} h allowed (AuthorizationHoldHours): it was not sent. Send it "
            "again once the seller has authorized the application."
        )
    if previous is None:
        since = status.now_iso()
        status.held(table, execution_id, REASON, since)
        return Hold(FIRST_WAIT_SECONDS, since)
    return Hold(min(previous.wait_seconds * 2, LONGEST_WAIT_SECONDS), previous.since)
