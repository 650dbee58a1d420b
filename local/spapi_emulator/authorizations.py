"""Sellers' authorizations of the application: the refresh tokens LWA accepts, the authorization codes the consent
step hands out, and their lives.

What Amazon documents, and the emulator does (sources beside each fact):

- A seller who confirms the consent page gets the application an authorization code, ``spapi_oauth_code``, valid
  for five minutes (SP-API docs "Website Authorization Workflow"; Amazon's support in
  amzn/selling-partner-api-docs#268: "a short lived token valid only for 5 minutes"), exchanged once at LWA with
  ``grant_type=authorization_code``. An expired, reused or unknown code is refused 400 ``invalid_grant`` "The
  request has an invalid grant parameter : code" (amzn/selling-partner-api-docs#149, #466, #2527,
  amzn/selling-partner-api-models#4480 quote that answer). A code is bound to the redirect URI it was sent to:
  another ``redirect_uri`` at the exchange gets the same answer (RFC 6749 section 4.1.3; LWA says no more).
- The exchange mints a new refresh token for that seller, whose access tokens act for that seller as the seed's
  tokens do. The seller's older refresh tokens keep working until their own 365 days end (Amazon documents
  nothing else; the workflow stores the newest one, so either way it keeps working).
- A public application's authorization lasts 365 days (SP-API docs "Renew Authorizations"); after that, and after
  the seller revokes it in Manage Your Apps, its refresh tokens are refused ``invalid_grant`` "The request has an
  invalid grant parameter : refresh_token" (amzn/selling-partner-api-docs#268). A revocation also ends the seller's
  access tokens still alive (the emulator's choice: Amazon does not say how soon they die; at once is the case a
  client must survive).

Times are the emulator's clock (emulated seconds); :meth:`Authorizations.age` moves a seller's authorization into
the past, as the control route ``/_emulator/authorizations/age`` does.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field

from spapi_emulator.clock import EmulatedClock
from spapi_emulator.errors import LwaError
from spapi_emulator.seed import Seed

AUTHORIZATION_CODE_LIFETIME_SECONDS = 5 * 60
AUTHORIZATION_LIFETIME_SECONDS = 365 * 24 * 3600
INVALID_CODE = "The request has an invalid grant parameter : code"
INVALID_REFRESH_TOKEN = "The request has an invalid grant parameter : refresh_token"  # noqa: S105  (a message)


@dataclass(slots=True)
class Grant:
    """One authorization of the application by a seller, and the refresh token it gave."""

    selling_partner_id: str
    refresh_token: str = field(repr=False)
    authorized_at: float  # emulated seconds
    revoked: bool = False

    def live(self, now: float) -> bool:
        return not self.revoked and now < self.authorized_at + AUTHORIZATION_LIFETIME_SECONDS


@dataclass(slots=True)
class Code:
    """An ``spapi_oauth_code``: whose, sent to which redirect URI, when, and whether it was exchanged."""

    selling_partner_id: str
    redirect_uri: str
    issued_at: float
    used: bool = False


class Authorizations:
    """Every seller's grants (the seed's, then those of the consent step) and the codes not yet forgotten."""

    def __init__(self, seed: Seed, clock: EmulatedClock) -> None:
        self._seed = seed
        self._clock = clock
        self._lock = threading.Lock()
        self._grants: list[Grant] = []
        self._codes: dict[str, Code] = {}
        self.reset()

    def reset(self) -> None:
        """The seed's authorizations given again now (live, whatever was revoked or aged). Those of the consent step
        stay, as issued access tokens do: a stack that onboarded a seller keeps working across a reset."""
        now = self._clock.now()
        seeded = [seller.refresh_token for seller in self._seed.sellers if seller.refresh_token is not None]
        with self._lock:
            kept = [grant for grant in self._grants if grant.refresh_token not in seeded]
            self._grants = [
                Grant(seller.selling_partner_id, seller.refresh_token, now)
                for seller in self._seed.sellers
                if seller.refresh_token is not None
            ] + kept

    def seller_of_refresh_token(self, refresh_token: str) -> str | None:
        """The seller whose live authorization gave ``refresh_token``; None when unknown, revoked or lapsed."""
        now = self._clock.now()
        given = refresh_token.encode()
        with self._lock:
            for grant in self._grants:
                if hmac.compare_digest(grant.refresh_token.encode(), given):
                    return grant.selling_partner_id if grant.live(now) else None
        return None

    def issue_code(self, selling_partner_id: str, redirect_uri: str) -> str:
        """The code of a confirmed consent, for ``redirect_uri``."""
        code = "ANemulator" + secrets.token_urlsafe(24)
        now = self._clock.now()
        with self._lock:
            self._codes = {
                key: kept
                for key, kept in self._codes.items()
                if now < kept.issued_at + AUTHORIZATION_CODE_LIFETIME_SECONDS + 24 * 3600
            }
            self._codes[code] = Code(selling_partner_id, redirect_uri, now)
        return code

    def redeem(self, code: str, redirect_uri: str | None) -> tuple[str, str]:
        """(seller, new refresh token) for a code used once within five minutes; :class:`LwaError`
        ``invalid_grant`` otherwise. ``redirect_uri`` None: not sent (noted by the caller, not refused)."""
        now = self._clock.now()
        with self._lock:
            found = self._codes.get(code)
            if (
                found is None
                or found.used
                or now >= found.issued_at + AUTHORIZATION_CODE_LIFETIME_SECONDS
                or (redirect_uri is not None and redirect_uri != found.redirect_uri)
            ):
                raise LwaError(400, "invalid_grant", INVALID_CODE)
            found.used = True
            refresh_token = "Atzr|emulator." + secrets.token_urlsafe(48)
            self._grants.append(Grant(found.selling_partner_id, refresh_token, now))
            return found.selling_partner_id, refresh_token

    def revoke(self, selling_partner_id: str) -> int:
        """The seller removes the application in Manage Your Apps: every grant of it ends; how many were live."""
        now = self._clock.now()
        with self._lock:
            live = [g for g in self._grants if g.selling_partner_id == selling_partner_id and g.live(now)]
            for grant in live:
                grant.revoked = True
            return len(live)

    def age(self, days: float, selling_partner_id: str | None = None) -> list[dict[str, object]]:
        """Move the grants of one seller (None: every seller) ``days`` into the past, so 365 days can lapse in a
        test; ValueError for a negative or non-finite number of days. Answers the grants' new state."""
        if isinstance(days, bool) or not isinstance(days, int | float) or not 0 <= days < 10_000:
            raise ValueError(f"days must be a number of days from 0 to 10000, not {days!r}.")
        with self._lock:
            for grant in self._grants:
                if selling_partner_id in (None, grant.selling_partner_id):
                    grant.authorized_at -= days * 24 * 3600
        return self.listing()

    def listing(self) -> list[dict[str, object]]:
        """Every grant, oldest first: ``sellingPartnerId``, ``authorizedAt`` (ISO 8601), ``daysLeft``, ``status``
        (``live``, ``revoked`` or ``lapsed``); never the refresh token."""
        now = self._clock.now()
        with self._lock:
            grants = list(self._grants)
        return [
            {
                "sellingPartnerId": grant.selling_partner_id,
                "authorizedAt": self._clock.wall_at(grant.authorized_at).isoformat().replace("+00:00", "Z"),
                "daysLeft": max(0, int((grant.authorized_at + AUTHORIZATION_LIFETIME_SECONDS - now) // 86400)),
                "status": "revoked" if grant.revoked else ("live" if grant.live(now) else "lapsed"),
            }
            for grant in grants
        ]
