"""``make load``'s arithmetic: the factor it chooses, the quota, the figures of a run (no timings are run)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench import load
from bench.load_plan import Message, message_id_of, parse_mix, plan_messages

RATES = {
    "getMessagingActionsForOrder": 1.0,
    "sendInvoice": 1.0,
    "createUnexpectedProblem": 1.0,
    "createUploadDestinationForResource": 10.0,
}


@pytest.mark.parametrize(
    ("capacity", "quota", "factor"),
    [
        (8.0, 1.0, 4.0),  # 8 messages/s, quota 1/s: F = 4 leaves the local stack 2x ahead
        (2.94, 1.0, 1.4),  # 1.47 rounded down to two significant digits
        (123.0, 1.0, 61.0),  # 61.5 -> 61
        (1.0, 1.0, 0.5),  # a local stack slower than twice the quota slows the quota down
        (30.0, 0.5, 30.0),
        (0.999, 1.0, 0.49),
    ],
)
def test_the_factor_keeps_the_local_stack_twice_as_fast_as_the_quota(
    capacity: float, quota: float, factor: float
) -> None:
    chosen = load.choose_factor(capacity, quota)

    assert chosen == factor
    assert capacity >= 2 * quota * chosen


@pytest.mark.parametrize("capacity", [0.0, -1.0, float("nan"), float("inf")])
def test_no_factor_without_a_capacity(capacity: float) -> None:
    with pytest.raises(ValueError, match="No factor"):
        load.choose_factor(capacity, 1.0)


def test_the_quota_is_the_tightest_operation_over_its_calls_per_message() -> None:
    calls = {
        "getMessagingActionsForOrder": {"200": 40},
        "sendInvoice": {"201": 36},
        "createUnexpectedProblem": {"201": 4},
        "createUploadDestinationForResource": {"201": 44, "429": 3},  # throttled calls are not a message's
        "GetAttributes": {},
        "lwaToken": {"200": 1},
    }

    per_message = load.calls_per_message(calls, 40, [*RATES, "GetAttributes"])
    quota, binding = load.message_quota(per_message, RATES)

    assert per_message == {
        "getMessagingActionsForOrder": 1.0,
        "sendInvoice": 0.9,
        "createUnexpectedProblem": 0.1,
        "createUploadDestinationForResource": 1.1,
    }
    assert (quota, binding) == (1.0, "getMessagingActionsForOrder")


def test_five_files_a_message_make_the_uploads_bind() -> None:
    quota, binding = load.message_quota(
        {"getMessagingActionsForOrder": 1.0, "createUploadDestinationForResource": 12.5}, RATES
    )

    assert (quota, binding) == (0.8, "createUploadDestinationForResource")


def _raw(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "messages": 4,
        "factor": 2.0,
        "executions": 4,
        "outcomes": {"SUCCEEDED": 3, "FAILED SpApiThrottled": 1},
        # real seconds since the drop; emulated = 2x: 1, 2, 3 (and 3.5 for the duplicate)
        "deliveries": [{"id": 1, "seconds": 0.5}, {"id": 2, "seconds": 1.0}, {"id": 3, "seconds": 1.5}],
        "calls": {
            "getMessagingActionsForOrder": {"200": 4, "429": 6},
            "sendInvoice": {"201": 3, "429": 2},
            "lwaToken": {"200": 1},
            "upload": {"200": 3},
        },
        "dropSeconds": 0.2,
        "elapsedSeconds": 10.0,
        "timedOut": False,
        "cpuSeconds": 9.0,
        "threadsPeak": 12,
        # 4 messages' actions calls: 2 at once, 2 waited; back: 3 booked, 1 sent back (2 + 1 Wait rounds)
        "pacer": {"reserve booked": 2, "reserve later": 2, "resume booked": 3, "resume later": 1},
    }
    raw.update(overrides)
    return raw


def test_the_figures_of_a_run_with_a_failure() -> None:
    summary = load.summarize(_raw(), capacity=4.0, quota=1.0, binding_operation="getMessagingActionsForOrder")

    assert summary.delivered == 3
    assert summary.delivered_twice == 0
    assert summary.calls == {"getMessagingActionsForOrder": (10, 6), "sendInvoice": (5, 2)}  # SP-API only
    assert (summary.total_calls, summary.total_throttled) == (15, 8)
    # 3 deliveries from emulated second 1 to 3: 2 intervals in 2 s = 1 message/s = the quota
    assert summary.send_rate_fraction == 1.0
    assert summary.time_multiple is None  # not all delivered
    assert summary.cpu_cores == 0.9


def test_the_time_to_deliver_all_is_a_multiple_of_n_over_the_quota() -> None:
    raw = _raw(
        outcomes={"SUCCEEDED": 4},
        deliveries=[{"id": n, "seconds": s} for n, s in [(1, 0.5), (2, 1.0), (3, 1.5), (4, 3.0)]],
    )

    summary = load.summarize(raw, capacity=4.0, quota=0.5, binding_operation="getMessagingActionsForOrder")

    # the last delivery at emulated second 6; ideal: 4 messages / 0.5 per second = 8 s
    assert summary.time_multiple == 0.75
    # 3 intervals from second 1 to 6: 0.6 messages/s over a quota of 0.5
    assert summary.send_rate_fraction == pytest.approx(1.2)


def test_a_message_delivered_twice_is_counted_and_fails_the_run() -> None:
    raw = _raw(deliveries=[{"id": 1, "seconds": 0.5}, {"id": 1, "seconds": 1.75}, {"id": 2, "seconds": 1.0}])

    summary = load.summarize(raw, capacity=4.0, quota=1.0, binding_operation="getMessagingActionsForOrder")

    assert (summary.delivered, summary.delivered_twice, summary.extra_deliveries) == (2, 1, 1)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_tables_say_each_figure() -> None:
    summary = load.summarize(_raw(), capacity=4.0, quota=1.0, binding_operation="getMessagingActionsForOrder")

    figures = {row[0]: row[1] for row in map(_cells, load.figures_table([summary]).splitlines()[2:])}
    operations = [_cells(line) for line in load.operations_table([summary]).splitlines()]

    assert figures["common factor F (quotas, Retry and Wait times)"] == "2"
    assert figures["local stack capacity, messages/s (quotas off)"] == "4.0"
    assert figures["quota, messages/s (binding operation)"] == "1 (getMessagingActionsForOrder)"
    assert figures["delivered / N"] == "3 / 4"
    assert figures["messages delivered twice"] == "0"
    assert figures["failed, by error"] == "1 SpApiThrottled"
    assert figures["SP-API calls"] == "15"
    assert figures["429 answers (share of calls)"] == "8 (53.3%)"
    assert figures["achieved send rate / quota"] == "1.00x"
    assert figures["time to deliver all / ideal (N / quota)"] == "—"
    assert figures["local stack CPU, cores busy (one process)"] == "0.90"
    assert figures["paced calls: at once / after a Wait state"] == "2 / 2"
    assert figures["Wait-state rounds (per message)"] == "3 (0.75)"
    assert figures["back from a Wait state: called / sent back again"] == "3 / 1"
    assert operations[0] == ["operation (documented rate)", "calls, N = 4", "429s (share), N = 4"]
    assert operations[2:] == [
        ["`getMessagingActionsForOrder` (1/s)", "10", "6 (60.0%)"],
        ["`sendInvoice` (1/s)", "5", "2 (40.0%)"],
    ]


def test_the_mix_is_spread_over_the_burst() -> None:
    messages = plan_messages(10, {"invoice": 80, "text": 10, "files": 10}, files=3)

    assert [m.kind for m in messages].count("invoice") == 8
    assert [m.number for m in messages] == list(range(1, 11))
    assert [m.kind for m in messages[:5]].count("invoice") == 4  # not all invoices first
    assert {m.files for m in messages if m.kind == "files"} == {3}


def test_the_counts_of_a_mix_add_up() -> None:
    messages = plan_messages(7, {"invoice": 1, "text": 1, "files": 1}, files=2)

    # 7/3 each: two apiece, the one left goes to the largest remainder (a tie: the first kind)
    assert [m.kind for m in messages].count("invoice") == 3
    assert [m.kind for m in messages].count("text") == 2
    assert [m.kind for m in messages].count("files") == 2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("invoice=1,warranty=2", "'warranty' is not a kind"),
        ("invoice=x", "must be a number"),
        ("text=0", "at least one"),
    ],
)
def test_a_wrong_mix_is_named(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_mix(text)


def test_each_kind_of_message_is_uploaded_where_the_trigger_starts_it_and_traced_back() -> None:
    pdf = b"%PDF-1.4"
    invoice, text, files = Message(7, "invoice"), Message(8, "text"), Message(9, "files", 3)

    invoice_key, invoice_body = invoice.upload(pdf)
    text_key, text_body = text.upload(pdf)
    files_key, files_body = files.upload(pdf)

    assert (invoice_key, invoice_body) == ("outbox/ATVPDKIKX0DER/123-1234567-1234567/invoice/Load-0007.pdf", pdf)
    assert text_key == "requests/load-0008.json"
    assert json.loads(text_body)["text"] == "Load message 0008: a delay."
    assert files.staged_keys() == [
        "attachments/Load-0009-1.pdf",
        "attachments/Load-0009-2.pdf",
        "attachments/Load-0009-3.pdf",
    ]
    assert [a["fileName"] for a in json.loads(files_body)["attachments"]] == [
        "Load-0009-1.pdf",
        "Load-0009-2.pdf",
        "Load-0009-3.pdf",
    ]
    assert files_key == "requests/load-0009.json"
    assert message_id_of({"attachments": [{"fileName": "Load-0007.pdf"}]}) == 7
    assert message_id_of({"text": "Load message 0008: a delay.", "attachments": []}) == 8
    assert message_id_of({"attachments": [{"fileName": "Load-0009-2.pdf"}]}) == 9
    assert message_id_of({"text": "Hello", "attachments": [{"fileName": "Invoice.pdf"}]}) is None


def test_the_readme_has_the_load_markers() -> None:
    text = load.README.read_text(encoding="utf-8")

    assert text.index(load.START) < text.index(load.END)


def test_two_sellers_run_at_amazons_own_pace_unless_a_factor_is_given() -> None:
    assert load.run_factor(None, True, 3.1) == (1.0, " (--sellers: Amazon's own pace, real time)")
    assert load.run_factor(None, False, 3.1) == (3.1, "")
    assert load.run_factor(2.0, True, 3.1) == (2.0, " (given; 3.1 would keep the local stack 2x ahead)")
    assert load.run_factor(None, True, 1.0) == (1.0, "")
