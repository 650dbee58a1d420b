"""``make load ARGS=--sellers``: the two sellers' plan, each seller's figures, the verdict (no timings are run)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

import pytest

from bench import load, load_run, load_sellers
from bench.load_plan import ORDER, ORDER_B, SELLER_A, SELLER_B, Message, plan_sellers
from bench.load_sellers import BASELINE, WITH_BURST, SellerRun

MIX = {"invoice": 80, "text": 10, "files": 10}


def test_a_bursts_at_once_while_b_trickles_for_the_bursts_duration() -> None:
    burst, trickle = plan_sellers(300, 10.0, 1.0, MIX, 3)

    assert [m.number for m in burst] == list(range(1, 301))
    assert {(m.seller, m.order, m.at) for m in burst} == {(SELLER_A, ORDER, 0.0)}
    # 300 messages at 1 message/s take 300 emulated s: one of B's every 10 s from the start, 30 in all
    assert [m.number for m in trickle] == list(range(301, 331))
    assert [m.at for m in trickle] == [10.0 * n for n in range(30)]
    assert {(m.seller, m.order) for m in trickle} == {(SELLER_B, ORDER_B)}
    assert [m.kind for m in trickle].count("invoice") == 24  # the mix's proportions
    # the run's child rebuilds each message from its fields
    assert [Message(**asdict(m)) for m in trickle] == trickle


def test_a_trickle_rounds_up_and_a_short_burst_still_has_one() -> None:
    assert len(plan_sellers(95, 10.0, 1.0, MIX, 3)[1]) == 10
    assert len(plan_sellers(3, 10.0, 1.0, MIX, 3)[1]) == 1
    assert len(plan_sellers(300, 10.0, 0.5, MIX, 3)[1]) == 60  # at half the quota the burst lasts twice as long


def test_each_sellers_messages_are_uploaded_under_its_own_segment() -> None:
    pdf = b"%PDF-1.4"
    invoice = Message(1, "invoice", seller=SELLER_A)
    text = Message(301, "text", seller=SELLER_B, order=ORDER_B, at=10.0)
    files = Message(302, "files", 2, seller=SELLER_B, order=ORDER_B, at=20.0)

    assert invoice.upload(pdf) == (f"sellers/{SELLER_A}/outbox/ATVPDKIKX0DER/{ORDER}/invoice/Load-0001.pdf", pdf)
    text_key, text_body = text.upload(pdf)
    assert text_key == f"sellers/{SELLER_B}/requests/load-0301.json"
    assert json.loads(text_body) == {
        "amazonOrderId": ORDER_B,
        "marketplaceId": "ATVPDKIKX0DER",
        "messageType": "unexpectedProblem",
        "text": "Load message 0301: a delay.",
    }
    files_key, files_body = files.upload(pdf)
    assert files_key == f"sellers/{SELLER_B}/requests/load-0302.json"
    assert files.staged_keys() == [
        f"sellers/{SELLER_B}/attachments/Load-0302-1.pdf",
        f"sellers/{SELLER_B}/attachments/Load-0302-2.pdf",
    ]
    assert [a["key"] for a in json.loads(files_body)["attachments"]] == files.staged_keys()


PLAN = [
    Message(1, "invoice", seller=SELLER_A),
    Message(2, "invoice", seller=SELLER_A),
    Message(3, "invoice", seller=SELLER_B, order=ORDER_B),
    Message(4, "invoice", seller=SELLER_B, order=ORDER_B, at=10.0),
]


def _raw(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "factor": 2.0,
        # real seconds since the start; emulated = 2x
        "droppedAt": {"1": 0.1, "2": 0.1, "3": 0.2, "4": 5.0},
        "deliveries": [
            {"id": 3, "seconds": 0.7},
            {"id": 1, "seconds": 1.1},
            {"id": 4, "seconds": 5.5},
            {"id": 4, "seconds": 6.0},  # B's message 4 a second time
            {"id": None, "seconds": 6.5},  # no message of the plan
        ],
        "outcomesBySeller": {
            SELLER_A: {"SUCCEEDED": 1, "FAILED QuotaWaitExpired": 1},
            SELLER_B: {"SUCCEEDED": 2},
        },
        "throttledByOrder": {ORDER: 3, ORDER_B: 1, "": 2},
        "pacerBySeller": {
            SELLER_A: {"reserve booked": 4, "reserve later": 2, "resume booked": 2},
            SELLER_B: {"reserve booked": 6},
        },
    }
    raw.update(overrides)
    return raw


def test_each_sellers_figures_and_latency_from_receipt_to_the_first_delivery() -> None:
    a, b = load_sellers.seller_runs(_raw(), WITH_BURST, PLAN)

    assert a == SellerRun(
        WITH_BURST, SELLER_A, 2, 1, 0, {"QuotaWaitExpired": 1}, 0, 3, latencies=(2.0,), at_once=4, waited=2
    )  # (1.1 - 0.1) x 2
    assert (b.messages, b.delivered, b.twice, b.failed, b.running, b.throttled) == (2, 2, 1, {}, 0, 1)
    assert b.latencies == pytest.approx(
        (1.0, 1.0)
    )  # (0.7 - 0.2) x 2 and (5.5 - 5.0) x 2: the second delivery does not count
    assert not a.accounted and not b.accounted


def test_the_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 21)]

    assert load_sellers.percentile(values, 0.5) == 10.0
    assert load_sellers.percentile(values, 0.95) == 19.0
    assert load_sellers.percentile(values, 1.0) == 20.0
    assert load_sellers.percentile([4.0], 0.95) == 4.0
    assert load_sellers.percentile([], 0.5) is None


def _run(run: str, seller: str, latencies: tuple[float, ...], **overrides: Any) -> SellerRun:
    fields: dict[str, Any] = {
        "run": run,
        "seller": seller,
        "messages": len(latencies),
        "delivered": len(latencies),
        "twice": 0,
        "failed": {},
        "running": 0,
        "throttled": 0,
        "latencies": latencies,
    }
    return SellerRun(**(fields | overrides))


def _runs(with_burst_b: tuple[float, ...] = (1.0, 2.0, 3.5), **b_overrides: Any) -> list[SellerRun]:
    return [
        _run(BASELINE, SELLER_B, (1.0, 2.0, 3.0)),
        _run(WITH_BURST, SELLER_A, (5.0, 100.0, 290.0), throttled=0),
        _run(WITH_BURST, SELLER_B, with_burst_b, **b_overrides),
    ]


def test_b_is_unchanged_within_a_second_of_its_p95_alone_with_every_message_accounted_for() -> None:
    verdict = load_sellers.verdict(_runs(), SELLER_B)

    assert (verdict.unchanged, verdict.baseline_p95, verdict.with_burst_p95) == (True, 3.0, 3.5)
    assert verdict.text() == (
        "**B's latency unchanged** (B's p95 3.5 with A's burst, 3.0 alone). Rule: B's latency is unchanged when B's "
        "p95 with A's burst is at most B's p95 alone + 1 emulated s, no call of B's was answered 429, and every "
        "message of both runs was delivered exactly once (none failed, none twice, none still running)."
    )


def test_b_later_by_more_than_a_second_a_429_of_bs_or_a_message_not_accounted_for_is_a_change() -> None:
    assert not load_sellers.verdict(_runs((1.0, 2.0, 4.5)), SELLER_B).unchanged
    assert not load_sellers.verdict(_runs(throttled=1), SELLER_B).unchanged
    assert not load_sellers.verdict(_runs(twice=1), SELLER_B).unchanged
    runs = _runs()
    runs[1] = _run(WITH_BURST, SELLER_A, (5.0, 100.0), messages=3, failed={"QuotaWaitExpired": 1})
    verdict = load_sellers.verdict(runs, SELLER_B)
    assert not verdict.unchanged
    assert verdict.text().startswith("**NOT: B's latency unchanged** (B's p95 3.5 with A's burst, 3.0 alone).")


def test_the_table_says_each_sellers_figures() -> None:
    lines = load_sellers.sellers_table(load_sellers.seller_runs(_raw(), WITH_BURST, PLAN)).splitlines()
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]

    assert cells[0] == [
        "run",
        "seller",
        "messages",
        "delivered",
        "failed",
        "twice",
        "still running",
        "429s",
        "paced calls: at once / after a Wait state",
        "latency p50, s",
        "p95, s",
        "max, s",
    ]
    assert cells[2] == [
        WITH_BURST,
        SELLER_A,
        "2",
        "1",
        "1 QuotaWaitExpired",
        "0",
        "0",
        "3",
        "4 / 2",
        "2.0",
        "2.0",
        "2.0",
    ]
    assert cells[3] == [WITH_BURST, SELLER_B, "2", "2", "0", "1", "0", "1", "6 / 0", "1.0", "1.0", "1.0"]


def test_the_readme_has_the_sellers_markers() -> None:
    text = load.README.read_text(encoding="utf-8")

    assert text.index(load_sellers.START) < text.index(load_sellers.END)


class _SlowS3:
    """An S3 whose uploads of seller A take 0.1 s each (the S3 trigger runs inside put_object)."""

    def put_object(self, Bucket: str, Key: str, Body: bytes) -> None:  # noqa: N803 (boto3's names)
        if Key.startswith(f"sellers/{SELLER_A}/"):
            time.sleep(0.1)


def test_bs_trickle_is_uploaded_on_time_while_as_burst_is_still_uploading() -> None:
    burst = [Message(n, "invoice", seller=SELLER_A) for n in range(1, 41)]  # 40 x 0.1 s, 8 at a time: 0.5 s
    trickle = [Message(41, "invoice", seller=SELLER_B, order=ORDER_B, at=0.1)]

    dropped = load_run.drop(_SlowS3(), "staging", burst + trickle, b"%PDF-1.4", time.monotonic(), 1.0)

    assert sorted(dropped) == list(range(1, 42))
    assert max(dropped[n] for n in range(1, 41)) >= 0.5
    assert 0.1 <= dropped[41] < 0.35  # at its time, not after A's drop
