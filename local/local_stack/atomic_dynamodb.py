"""Makes moto's DynamoDB apply each request atomically, as DynamoDB does.

DynamoDB applies every write to an item as one step: a condition is checked and the update applied with no
other write in between, and concurrent requests never see an item half-updated. moto keeps its tables in
plain dicts and evaluates a request in several steps with no lock, so requests that run at the same time
(the state machine's Map runs one attachment's steps per thread, all updating the same status record) can
fail with ``RuntimeError: dictionary changed size during iteration`` or lose an update — failures and
successes DynamoDB would never produce, in either direction. Serialising moto's DynamoDB requests gives back
DynamoDB's per-request atomicity; it is not lenient: conditions are still checked against the latest item.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.responses import DynamoHandler

# Reentrant: a request moto answers by calling back into DynamoDB on the same thread must not deadlock.
_ONE_REQUEST_AT_A_TIME = threading.RLock()
_installed: list[Callable[..., Any]] = []


def install() -> Callable[[], None]:
    """Serialise moto's DynamoDB requests; returns the function that restores moto (a no-op if already done)."""
    if _installed:
        return lambda: None
    # moto's private dispatch: every DynamoDB request is answered in call_action (checked against moto 5.2.5 by
    # tests/unit/test_library_internals.py).
    original = DynamoHandler.call_action

    def call_action(handler: DynamoHandler) -> Any:
        with _ONE_REQUEST_AT_A_TIME:
            return original(handler)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _installed.append(original)

    def restore() -> None:
        if _installed:
            DynamoHandler.call_action = _installed.pop()  # type: ignore[method-assign]

    return restore
