"""What the emulated Amazon remembers: orders' current actions, access tokens, upload destinations,
the messages delivered to buyers and the calls it answered.

Every read-modify-write of this state happens under :attr:`State.lock`, so two concurrent messages can
never both use the same upload destination or both send a once-per-order type.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from spapi_emulator.seed import OrderSeed, Seed

ACCESS_TOKEN_LIFETIME_SECONDS = 3600
CALL_LOG_SIZE = 10_000
# Expired tokens are remembered this long (emulated seconds) so they are answered "expired", not "denied".
EXPIRED_TOKEN_MEMORY_SECONDS = 24 * 3600


@dataclass(slots=True)
class OrderState:
    """An order now: the message types it allows (once-per-order types leave after one send)."""

    seed: OrderSeed
    allowed: list[str]

    @classmethod
    def from_seed(cls, seed: OrderSeed) -> OrderState:
        return cls(seed=seed, allowed=list(seed.allowed_message_types))

    def allows(self, path: str) -> bool:
        return path in self.allowed


@dataclass(frozen=True, slots=True)
class StoredUpload:
    """What arrived at an upload destination: only its size and digests, never the bytes."""

    size: int
    md5_hex: str
    content_md5: str  # base64 of the 16-byte digest, as Content-MD5 carries it
    content_type: str | None
    uploaded_at: str


@dataclass(slots=True)
class Destination:
    """An upload destination created by ``createUploadDestinationForResource``."""

    destination_id: str
    amazon_order_id: str
    marketplace_id: str
    message_type: str  # catalog path of the resource
    content_md5: str  # the request's contentMD5, as given: the signed Content-MD5 header
    content_type: str | None
    created_at: float  # emulated seconds
    expires_at: float  # emulated seconds
    url: str
    upload: StoredUpload | None = None
    used_by: str | None = None  # request id of the message that used it

    @property
    def resource(self) -> str:
        return f"messaging/v1/orders/{self.amazon_order_id}/messages/{self.message_type}"


class AccessTokens:
    """LWA access tokens issued by the emulator and when each expires (emulated seconds).

    ``lifetime_seconds`` is how long a token really lives; LWA still announces ``expires_in`` 3600. Amazon's
    tokens can die well before it (about 20 minutes early in amzn/selling-partner-api-models#2335), and a
    seller's revocation ends them at once: :meth:`expire_all` and :meth:`revoke_all` do that on demand.
    """

    def __init__(self, lifetime_seconds: float = ACCESS_TOKEN_LIFETIME_SECONDS) -> None:
        if not 0 <= lifetime_seconds <= ACCESS_TOKEN_LIFETIME_SECONDS:
            raise ValueError(
                f"A token's lifetime must be between 0 and {ACCESS_TOKEN_LIFETIME_SECONDS} seconds "
                f"(the expires_in LWA announces), not {lifetime_seconds!r}."
            )
        self.lifetime_seconds = float(lifetime_seconds)
        self._expiry: dict[str, float] = {}
        self._seller: dict[str, str] = {}
        self._scope: dict[str, str] = {}
        self._revoked: set[str] = set()
        self._past_deadline: set[str] = set()  # minted with a client secret past Amazon's 180-day deadline

    def issue(
        self,
        now: float,
        selling_partner_id: str | None,
        scope: str | None = None,
        *,
        secret_past_deadline: bool = False,
    ) -> str:
        """A new access token for the seller whose refresh token was exchanged, or (no seller) a grantless token
        of ``scope`` from the client_credentials grant."""
        token = "Atza|emulator." + secrets.token_urlsafe(48)
        self._expiry = {t: at for t, at in self._expiry.items() if at + EXPIRED_TOKEN_MEMORY_SECONDS > now}
        self._seller = {t: seller for t, seller in self._seller.items() if t in self._expiry}
        self._scope = {t: granted for t, granted in self._scope.items() if t in self._expiry}
        self._revoked &= set(self._expiry)
        self._past_deadline &= set(self._expiry)
        if secret_past_deadline:
            self._past_deadline.add(token)
        self._expiry[token] = now + self.lifetime_seconds
        if selling_partner_id is not None:
            self._seller[token] = selling_partner_id
        if scope is not None:
            self._scope[token] = scope
        return token

    def seller_of(self, token: str) -> str | None:
        """The selling partner a token acts for (whose refresh token minted it); None for an unknown or a
        grantless token."""
        return self._seller.get(token)

    def secret_past_deadline(self, token: str) -> bool:
        """Whether the token was minted with a client secret past Amazon's 180-day deadline."""
        return token in self._past_deadline

    def scope_of(self, token: str) -> str | None:
        """The scope of a grantless token; None for a token minted from a refresh token (or unknown)."""
        return self._scope.get(token)

    def status(self, token: str, now: float) -> str:
        """``valid``, ``expired``, ``revoked`` or ``unknown`` (never issued, or forgotten long after expiry)."""
        expires_at = self._expiry.get(token)
        if expires_at is None:
            return "unknown"
        if token in self._revoked:
            return "revoked"
        return "valid" if now < expires_at else "expired"

    def expire_all(self, now: float) -> int:
        """Every token still valid expires now, before its time; returns how many did."""
        alive = [token for token, at in self._expiry.items() if now < at and token not in self._revoked]
        for token in alive:
            self._expiry[token] = now
        return len(alive)

    def revoke_seller(self, selling_partner_id: str, now: float) -> int:
        """Every token of one seller still valid is revoked now (the seller removed the application)."""
        alive = [
            token
            for token, at in self._expiry.items()
            if now < at and token not in self._revoked and self._seller.get(token) == selling_partner_id
        ]
        self._revoked.update(alive)
        return len(alive)

    def revoke_all(self, now: float) -> int:
        """Every token still valid is revoked now; returns how many were."""
        alive = [token for token, at in self._expiry.items() if now < at and token not in self._revoked]
        self._revoked.update(alive)
        return len(alive)


class State:
    """All mutable emulator state behind one lock."""

    def __init__(self, seed: Seed, *, token_lifetime_seconds: float = ACCESS_TOKEN_LIFETIME_SECONDS) -> None:
        self.seed = seed
        self.lock = threading.RLock()
        self.tokens = AccessTokens(token_lifetime_seconds)
        self.orders: dict[str, OrderState] = {}
        self.destinations: dict[str, Destination] = {}
        self.deliveries: list[dict[str, Any]] = []
        self.calls: deque[dict[str, Any]] = deque(maxlen=CALL_LOG_SIZE)
        # Every call answered since the last reset, by operation and status: unlike the log, never truncated.
        self.call_counts: Counter[tuple[str, int]] = Counter()
        self.reset()

    def reset(self) -> None:
        """Orders as the seed describes them; no destinations, deliveries or calls. Tokens stay valid."""
        with self.lock:
            self.orders = {order.amazon_order_id: OrderState.from_seed(order) for order in self.seed.orders}
            self.destinations = {}
            self.deliveries = []
            self.calls.clear()
            self.call_counts.clear()

    def order(self, amazon_order_id: str) -> OrderState | None:
        return self.orders.get(amazon_order_id)
