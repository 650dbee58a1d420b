"""ReadAhead: every byte in order, never past the limit, a bounded number of chunks ahead, errors handed on."""

from __future__ import annotations

import io
import threading
import time

import pytest

from buyer_messaging.streams import DEFAULT_DEPTH, ReadAhead


class _Source:
    """Hands out ``data`` in reads of at most ``step`` bytes and records how far ahead of the consumer it got."""

    def __init__(self, data: bytes, step: int | None = None) -> None:
        self._data = io.BytesIO(data)
        self._step = step
        self.asked: list[int] = []
        self.consumed = 0  # chunks the consumer has taken, set by the test
        self.most_ahead = 0
        self.reader_threads: set[threading.Thread] = set()

    def read(self, amount: int = -1) -> bytes:
        self.asked.append(amount)
        self.reader_threads.add(threading.current_thread())
        self.most_ahead = max(self.most_ahead, len(self.asked) - self.consumed)
        return self._data.read(min(amount, self._step) if self._step else amount)


@pytest.mark.parametrize("size", [0, 1, 9, 10, 11, 95])
def test_every_byte_in_order_in_chunks_of_at_most_the_chunk_size(size: int) -> None:
    data = bytes(i % 251 for i in range(size))

    chunks = list(ReadAhead(_Source(data), 10))

    assert b"".join(chunks) == data
    assert all(0 < len(chunk) <= 10 for chunk in chunks)


def test_short_reads_of_a_network_stream_are_handed_on_as_they_come() -> None:
    data = bytes(range(100))
    source = _Source(data, step=3)

    assert b"".join(ReadAhead(source, 10)) == data
    assert set(source.asked) == {10}


@pytest.mark.parametrize("limit", [0, 1, 10, 25, 100])
def test_never_reads_past_the_limit(limit: int) -> None:
    source = _Source(bytes(1000))

    chunks = list(ReadAhead(source, 10, limit=limit))

    assert sum(map(len, chunks)) == limit
    assert sum(source.asked) == limit  # not a byte more was even asked for


def test_a_limit_beyond_the_end_stops_at_the_end() -> None:
    assert b"".join(ReadAhead(_Source(b"abc"), 2, limit=10)) == b"abc"


def test_reads_at_most_depth_chunks_ahead_of_a_slow_consumer() -> None:
    chunk, count = 4, 40
    source = _Source(bytes(chunk * count))
    reader = ReadAhead(source, chunk)
    taken = 0
    for _ in reader:
        taken += 1
        source.consumed = taken
        # Let the reader run ahead as far as it will: until it waits on a full queue (or has finished).
        deadline = time.monotonic() + 5
        while not reader._queue.full() and len(source.asked) < count + 1 and time.monotonic() < deadline:
            time.sleep(0.001)
    assert taken == count
    # The chunks waiting in the queue, the one the reader holds and the one it is reading: never more.
    assert source.most_ahead <= DEFAULT_DEPTH + 2


@pytest.mark.parametrize("expected", [None, 5], ids=["read-ahead", "inline"])
def test_an_error_of_the_reader_reaches_the_consumer_after_the_good_chunks(expected: int | None) -> None:
    class Failing:
        def __init__(self) -> None:
            self.reads = 0

        def read(self, amount: int = -1) -> bytes:
            self.reads += 1
            if self.reads == 3:
                raise ConnectionResetError("reset by peer")
            return b"x" * amount

    received = []
    with pytest.raises(ConnectionResetError, match="reset by peer"):
        for chunk in ReadAhead(Failing(), 5, expected_bytes=expected):
            received.append(chunk)
    assert received == [b"xxxxx", b"xxxxx"]


def test_a_consumer_that_stops_early_stops_the_reader() -> None:
    endless = _EndlessSource()
    reader = ReadAhead(endless, 8)

    for _ in reader:
        break  # the consumer gives up (an upload refused, an error of its own)

    assert reader._thread is not None
    reader._thread.join(timeout=5)
    assert not reader._thread.is_alive()
    assert endless.reads <= DEFAULT_DEPTH + 2


def test_close_stops_a_reader_waiting_on_a_full_queue() -> None:
    endless = _EndlessSource()
    reader = ReadAhead(endless, 8)
    iterator = iter(reader)
    next(iterator)

    reader.close()

    assert reader._thread is not None
    reader._thread.join(timeout=5)
    assert not reader._thread.is_alive()


class _EndlessSource:
    def __init__(self) -> None:
        self.reads = 0
        self._lock = threading.Lock()

    def read(self, amount: int = -1) -> bytes:
        with self._lock:
            self.reads += 1
        return b"y" * amount


def test_a_read_ahead_is_iterated_once() -> None:
    reader = ReadAhead(_Source(b"abc"), 2)
    assert b"".join(reader) == b"abc"
    with pytest.raises(RuntimeError):
        list(reader)


@pytest.mark.parametrize(("chunk_bytes", "depth"), [(0, 2), (-1, 2), (4, 0)])
def test_chunk_size_and_depth_must_be_positive(chunk_bytes: int, depth: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        ReadAhead(_Source(b""), chunk_bytes, depth=depth)


@pytest.mark.parametrize(("expected", "limit"), [(10, None), (1, None), (0, None), (None, 10), (None, 4)])
def test_a_stream_expected_to_fit_in_one_chunk_is_read_on_the_consumers_thread(
    expected: int | None, limit: int | None
) -> None:
    source = _Source(bytes(range(10)))
    reader = ReadAhead(source, 10, expected_bytes=expected, limit=limit)

    chunks = list(reader)

    assert not reader.reads_ahead
    assert reader._thread is None
    assert source.reader_threads == {threading.current_thread()}
    assert b"".join(chunks) == bytes(range(10))[:limit]


@pytest.mark.parametrize(("expected", "limit"), [(11, None), (None, 11), (None, None), (11, 100)])
def test_a_stream_longer_than_one_chunk_or_of_unknown_length_is_read_ahead_on_a_thread(
    expected: int | None, limit: int | None
) -> None:
    data = bytes(range(30))
    source = _Source(data)
    reader = ReadAhead(source, 10, expected_bytes=expected, limit=limit)

    chunks = list(reader)

    assert reader.reads_ahead
    assert reader._thread is not None
    assert threading.current_thread() not in source.reader_threads
    assert b"".join(chunks) == data[:limit]


def test_a_stream_read_inline_that_turns_out_longer_than_expected_is_still_read_to_its_end() -> None:
    # The hash step expects the validated size; a file that grew must be hashed whole (and then refused).
    data = bytes(range(35))

    assert b"".join(ReadAhead(_Source(data), 10, expected_bytes=5)) == data


@pytest.mark.parametrize("expected", [5, 500])
def test_a_read_ahead_closed_before_it_is_read_yields_nothing_and_reads_nothing(expected: int) -> None:
    source = _Source(bytes(100))
    reader = ReadAhead(source, 10, expected_bytes=expected)

    reader.close()

    assert list(reader) == []
    assert source.asked == []
