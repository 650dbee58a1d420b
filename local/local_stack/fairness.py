"""Fairness among sellers where the local stack makes work wait in one process.

On AWS each Lambda invocation has a container of its own and DynamoDB serves every request at once: one seller's
burst never makes another seller's step wait. The local stack runs every handler in one interpreter and makes
some work take turns (the handler slots, :mod:`local_stack.lambdas`; moto's DynamoDB requests,
:mod:`local_stack.atomic_dynamodb`). First come, first served would put a seller's one step behind another
seller's whole burst; here a turn goes to the sellers waiting in round robin instead.

The seller a thread acts for is the one its handler's event names (:func:`tenant_of`), set while the handler runs
(:func:`acting_for`); work outside a handler acts for "" (a tenant like any other).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote_plus


class FairSlots:
    """At most ``size`` holders at once; a freed slot goes to the waiting tenants in turn (round robin), each
    tenant's waiters first come, first served.

    ``idle_tenant_starts``: a tenant that holds no slot takes one at once, even when all are taken (at most
    ``size`` + the number of tenants holders then): one tenant's queue never delays another's first step, as on
    AWS, where each invocation has a container of its own. Only a tenant's further holders share the ``size``."""

    def __init__(self, size: int, *, idle_tenant_starts: bool = False) -> None:
        self._size = size
        self._idle_tenant_starts = idle_tenant_starts
        self._in_use = 0
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()
        self._waiting: dict[str, deque[threading.Event]] = {}
        self._turns: deque[str] = deque()  # tenants with waiters, in the order their turn comes

    def try_acquire(self, tenant: str = "") -> bool:
        with self._lock:
            if self._may_take(tenant):
                self._take(tenant)
                return True
            return False

    def acquire(self, tenant: str = "") -> None:
        with self._lock:
            if self._may_take(tenant):
                self._take(tenant)
                return
            granted = threading.Event()
            if tenant not in self._waiting:
                self._waiting[tenant] = deque()
                self._turns.append(tenant)
            self._waiting[tenant].append(granted)
        granted.wait()

    def release(self, tenant: str = "") -> None:
        with self._lock:
            self._in_use -= 1
            self._held[tenant] -= 1
            if not self._held[tenant]:
                del self._held[tenant]
            granted = []
            if self._idle_tenant_starts and tenant in self._waiting and tenant not in self._held:
                granted.append(self._grant(tenant))  # its own waiter: the tenant holds none again
            while self._turns and self._in_use < self._size:
                granted.append(self._grant(self._turns[0]))
        for event in granted:
            event.set()

    def _may_take(self, tenant: str) -> bool:
        if self._idle_tenant_starts and tenant not in self._held and tenant not in self._waiting:
            return True
        return self._in_use < self._size and not self._turns

    def _take(self, tenant: str) -> None:
        self._in_use += 1
        self._held[tenant] = self._held.get(tenant, 0) + 1

    def _grant(self, tenant: str) -> threading.Event:
        """The slot to ``tenant``'s first waiter; the tenant's next waiter comes after every other tenant's."""
        self._turns.remove(tenant)
        waiters = self._waiting[tenant]
        granted = waiters.popleft()
        if waiters:
            self._turns.append(tenant)
        else:
            del self._waiting[tenant]
        self._take(tenant)
        return granted


SELLER_FIELD = "sellingPartnerId"
_SELLER_KEY = re.compile(r"^sellers/([A-Z0-9]{8,20})/")


def tenant_of(event: Any, depth: int = 5) -> str:
    """The seller an invocation works for: a ``sellingPartnerId`` in its event (a state's input, a Map item), or
    the seller segment of the S3 keys it is about; "" when it names none."""
    if isinstance(event, dict):
        value = event.get(SELLER_FIELD)
        if isinstance(value, str) and value:
            return value
        key = event.get("key")
        # An S3 event's key is URL-encoded (moto encodes its slashes too); only the seller segment is read here.
        if isinstance(key, str) and (found := _SELLER_KEY.match(unquote_plus(key))):
            return found.group(1)
        children: Any = event.values()
    elif isinstance(event, list):
        children = event
    else:
        return ""
    if depth > 0:
        for child in children:
            tenant = tenant_of(child, depth - 1)
            if tenant:
                return tenant
    return ""


class FairLock:
    """A reentrant lock (a request moto answers by calling DynamoDB again on the same thread must not deadlock)
    that, when held, goes to the waiting tenants in turn: :class:`FairSlots` of one, each waiter the tenant its
    thread acts for."""

    def __init__(self) -> None:
        self._slot = FairSlots(1)
        self._owner: int | None = None  # written only by the thread that holds the lock
        self._owner_tenant = ""
        self._depth = 0

    def __enter__(self) -> FairLock:
        me = threading.get_ident()
        if self._owner == me:
            self._depth += 1
            return self
        tenant = current_tenant()
        self._slot.acquire(tenant)
        self._owner, self._owner_tenant, self._depth = me, tenant, 1
        return self

    def __exit__(self, *_: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._slot.release(self._owner_tenant)


_acting = threading.local()


def current_tenant() -> str:
    """The seller this thread's handler acts for; "" outside a handler or for a request that names none."""
    return str(getattr(_acting, "tenant", ""))


@contextmanager
def acting_for(tenant: str) -> Iterator[None]:
    saved = current_tenant()
    _acting.tenant = tenant
    try:
        yield
    finally:
        _acting.tenant = saved
