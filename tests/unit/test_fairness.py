"""The local stack's handler slots and its one-at-a-time DynamoDB are shared fairly among sellers: a freed slot
(or the lock) goes to the sellers waiting in turn, so one seller's burst queued first does not make another
seller's step wait behind all of it (on AWS each invocation has a container of its own and DynamoDB serves every
request at once)."""

from __future__ import annotations

import threading
import time

from local_stack.fairness import FairLock, FairSlots, acting_for, current_tenant, tenant_of


def _waiter(slots: FairSlots, tenant: str, name: str, order: list[str], hold: threading.Event) -> threading.Thread:
    def run() -> None:
        slots.acquire(tenant)
        order.append(name)
        hold.wait()
        slots.release(tenant)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _until_waiting(slots: FairSlots, count: int) -> None:
    deadline = time.monotonic() + 5
    while sum(len(waiters) for waiters in slots._waiting.values()) < count:
        assert time.monotonic() < deadline
        time.sleep(0.001)


def test_a_freed_slot_goes_to_the_sellers_in_turn_not_to_the_first_come() -> None:
    slots = FairSlots(1)
    assert slots.try_acquire()
    order: list[str] = []
    go = threading.Event()
    go.set()  # each waiter releases as soon as it runs
    threads = []
    for index in range(3):
        threads.append(_waiter(slots, "A", f"A{index}", order, go))
        _until_waiting(slots, index + 1)
    threads.append(_waiter(slots, "B", "B0", order, go))
    _until_waiting(slots, 4)

    slots.release()
    for thread in threads:
        thread.join(5)

    # First come first served would be A0 A1 A2 B0: B's one invocation would wait behind A's whole burst.
    assert order == ["A0", "B0", "A1", "A2"]
    assert slots.try_acquire()  # every slot came back


def test_no_invocation_jumps_a_queue_while_others_wait() -> None:
    slots = FairSlots(1)
    assert slots.try_acquire()
    order: list[str] = []
    go = threading.Event()
    go.set()
    waiter = _waiter(slots, "A", "A0", order, go)
    _until_waiting(slots, 1)
    assert not slots.try_acquire()  # a slot is owed to the waiter
    slots.release()
    waiter.join(5)
    assert order == ["A0"]


def test_a_seller_holding_no_handler_slot_starts_at_once_even_when_all_are_taken() -> None:
    """On AWS each invocation has a container of its own: B's first step does not wait for any of A's to end."""
    slots = FairSlots(2, idle_tenant_starts=True)
    assert slots.try_acquire("A") and slots.try_acquire("A")
    assert not slots.try_acquire("A")  # A's third shares the two
    assert slots.try_acquire("B")  # B holds none: it starts
    assert not slots.try_acquire("B")  # B's second shares the two, behind nobody but in turn
    order: list[str] = []
    go = threading.Event()
    go.set()
    waiters = [_waiter(slots, "A", "A2", order, go)]
    _until_waiting(slots, 1)
    waiters.append(_waiter(slots, "B", "B1", order, go))
    _until_waiting(slots, 2)

    slots.release("A")  # three held of two: nobody may start yet
    assert order == []
    slots.release("A")
    for thread in waiters:
        thread.join(5)
    assert order == ["A2", "B1"]
    slots.release("B")
    assert slots.try_acquire("A") and slots.try_acquire("A") and not slots.try_acquire("A")


def test_a_sellers_waiter_starts_when_the_seller_holds_no_slot_again() -> None:
    slots = FairSlots(1, idle_tenant_starts=True)
    assert slots.try_acquire("A")
    assert slots.try_acquire("B")  # B idle: over the size
    order: list[str] = []
    go = threading.Event()
    go.set()
    waiter = _waiter(slots, "B", "B1", order, go)
    _until_waiting(slots, 1)

    slots.release("B")  # B holds none again: its waiter starts though A still holds the one slot
    waiter.join(5)
    assert order == ["B1"]


def test_the_seller_of_an_invocation_is_read_from_its_event() -> None:
    s3_event = {"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "sellers/A3OTHERSELLER/outbox/x"}}}]}
    step = {"executionId": "arn", "request": {"amazonOrderId": "1", "sellingPartnerId": "A2EXAMPLESELLER"}}
    map_item = {"index": 0, "attachment": {"key": "attachments/a.pdf"}, "sellingPartnerId": "A3OTHERSELLER"}
    assert tenant_of(s3_event) == "A3OTHERSELLER"
    assert tenant_of(step) == "A2EXAMPLESELLER"
    assert tenant_of(map_item) == "A3OTHERSELLER"
    # S3 events carry the key URL-encoded; moto encodes its slashes too.
    encoded = {"Records": [{"s3": {"object": {"key": "sellers%2FA3OTHERSELLER%2Foutbox%2FATVPDKIKX0DER%2Fx.pdf"}}}]}
    assert tenant_of(encoded) == "A3OTHERSELLER"
    assert tenant_of({"Records": [{"s3": {"object": {"key": "outbox/ATVPDKIKX0DER/1/invoice/a.pdf"}}}]}) == ""


def _locker(lock: FairLock, tenant: str, name: str, order: list[str]) -> threading.Thread:
    def run() -> None:
        with acting_for(tenant), lock:
            order.append(name)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_the_dynamodb_lock_goes_to_the_sellers_waiting_in_turn() -> None:
    lock = FairLock()
    order: list[str] = []
    threads = []
    with lock:
        for index in range(3):
            threads.append(_locker(lock, "A", f"A{index}", order))
            _until_waiting(lock._slot, index + 1)
        threads.append(_locker(lock, "B", "B0", order))
        _until_waiting(lock._slot, 4)
    for thread in threads:
        thread.join(5)
    assert order == ["A0", "B0", "A1", "A2"]


def test_the_dynamodb_lock_is_reentrant_and_held_until_the_outermost_exit() -> None:
    lock = FairLock()
    order: list[str] = []
    with lock:
        with lock:  # moto answering one request with another on the same thread
            other = _locker(lock, "B", "B0", order)
            _until_waiting(lock._slot, 1)
        assert order == []  # still held: the inner exit did not release it
    other.join(5)
    assert order == ["B0"]
    with lock:
        pass  # free again


def test_a_thread_acts_for_the_seller_of_its_handler_until_the_handler_returns() -> None:
    assert current_tenant() == ""
    with acting_for("A3OTHERSELLER"):
        assert current_tenant() == "A3OTHERSELLER"
        with acting_for("A2EXAMPLESELLER"):  # a handler that invokes another in-process
            assert current_tenant() == "A2EXAMPLESELLER"
        assert current_tenant() == "A3OTHERSELLER"
    assert current_tenant() == ""
