"""``make load-campaign``'s arithmetic and manifest: the figures and targets of a campaign run from its raw facts (no
timings are run), and the manifest it uploads as the campaign's own reader reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import load_campaign
from bench.common import write_between
from bench.load_plan import campaign_attachments, manifest_csv, message_id_of, plan_messages
from buyer_messaging.campaigns import manifest
from buyer_messaging.campaigns.manifest import ObjectFacts

BINDING = "getMessagingActionsForOrder"


def _report_line(row: int, status: str, error: str = "") -> dict[str, str]:
    return {
        "row": str(row),
        "amazonOrderId": "123-1234567-1234567",
        "messageType": "invoice",
        "requestId": f"load-4-0094db7d3c841aaf0632-{row}-1",
        "status": status,
        "error": error,
        "cause": "Amazon refused it." if error else "",
    }


def _raw(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "rows": 4,
        "factor": 2.0,
        "campaign": ["SUCCEEDED"],
        "report": [
            _report_line(1, "sent"),
            _report_line(2, "sent"),
            _report_line(3, "failed", "MessageTypeNotAvailable"),
            _report_line(4, "sent"),
        ],
        # real seconds since the manifest's upload; emulated = 2x: 2, 4, 6
        "deliveries": [{"id": 1, "seconds": 1.0}, {"id": 2, "seconds": 2.0}, {"id": 4, "seconds": 3.0}],
        # posted at real second 1.5, sent at 2.25: 0.75 real seconds, 1.5 emulated
        "interactive": {"postedSeconds": 1.5, "status": 202, "sentSeconds": [2.25]},
        "sendExecutions": {"SUCCEEDED": 4, "FAILED": 1},
        "calls": {
            "getMessagingActionsForOrder": {"200": 5},
            "sendInvoice": {"201": 3, "429": 1},
            "createUploadDestinationForResource": {"201": 4},
            "lwaToken": {"200": 1},
            "upload": {"200": 4},
        },
        "stagingSeconds": 0.5,
        "finishedSeconds": 5.0,  # emulated 10 s; ideal: 4 rows / 1 per second = 4 s
        "elapsedSeconds": 5.5,
        "timedOut": False,
        "cpuSeconds": 4.4,
        "threadsPeak": 40,
        "lambdaPeakRunning": 4,
    }
    raw.update(overrides)
    return raw


def test_the_figures_of_a_campaign_with_a_failed_row() -> None:
    summary = load_campaign.summarize(_raw(), capacity=3.0, quota=1.0, binding_operation=BINDING)

    assert (summary.rows, summary.report_rows, summary.sent, summary.unknown) == (4, 4, 3, 0)
    assert summary.failed_by == {"MessageTypeNotAvailable": 1}
    assert summary.accounted
    assert (summary.delivered, summary.duplicates) == (3, 0)
    # 3 deliveries from emulated second 2 to 6: 2 intervals in 4 s = 0.5 rows/s over a quota of 1
    assert summary.send_rate_fraction == 0.5
    assert summary.time_multiple == 2.5  # 10 emulated seconds over 4
    assert summary.interactive_seconds == 1.5
    assert summary.interactive_deliveries == 1
    assert summary.calls == {
        "createUploadDestinationForResource": (4, 0),
        "getMessagingActionsForOrder": (5, 0),
        "sendInvoice": (4, 1),
    }  # SP-API operations only
    assert summary.cpu_cores == 0.8


def test_a_row_missing_from_the_report_is_not_accounted_for() -> None:
    raw = _raw(report=_raw()["report"][:3])

    summary = load_campaign.summarize(raw, capacity=3.0, quota=1.0, binding_operation=BINDING)

    assert (summary.report_rows, summary.sent + summary.failed) == (3, 3)
    assert not summary.accounted


def test_invalid_rows_count_as_failed_by_their_reason_and_unknown_rows_apart() -> None:
    report = [
        _report_line(1, "sent"),
        _report_line(2, "invalid", "InvalidMessageText"),
        _report_line(3, "unknown"),
        _report_line(4, "failed", "SpApiThrottled"),
    ]

    summary = load_campaign.summarize(_raw(report=report), capacity=3.0, quota=1.0, binding_operation=BINDING)

    assert summary.failed_by == {"InvalidMessageText": 1, "SpApiThrottled": 1}
    assert (summary.sent, summary.failed, summary.unknown) == (1, 2, 1)
    assert summary.accounted


def test_a_row_delivered_twice_is_a_duplicate() -> None:
    deliveries = [{"id": 1, "seconds": 1.0}, {"id": 2, "seconds": 2.0}, {"id": 1, "seconds": 2.5}]

    summary = load_campaign.summarize(_raw(deliveries=deliveries), capacity=3.0, quota=1.0, binding_operation=BINDING)

    assert (summary.delivered, summary.duplicates) == (2, 1)


def test_a_campaign_still_running_has_no_time_to_finish() -> None:
    raw = _raw(campaign=["RUNNING"], finishedSeconds=None, timedOut=True)

    summary = load_campaign.summarize(raw, capacity=3.0, quota=1.0, binding_operation=BINDING)

    assert summary.campaign_status == "RUNNING"
    assert summary.time_multiple is None
    assert summary.finished_seconds is None


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_tables_say_each_figure_and_each_target() -> None:
    summary = load_campaign.summarize(_raw(), capacity=3.0, quota=1.0, binding_operation=BINDING)

    figures = {row[0]: row[1] for row in map(_cells, load_campaign.figures_table([summary]).splitlines()[2:])}
    targets = [_cells(line) for line in load_campaign.targets_table([summary]).splitlines()[2:]]

    assert figures["common factor F (quotas, Retry and Wait times)"] == "2"
    assert figures["quota, rows/s (binding operation)"] == "1 (getMessagingActionsForOrder)"
    assert figures["rows / in the report"] == "4 / 4"
    assert figures["failed, by reason"] == "1 MessageTypeNotAvailable"
    assert figures["rows delivered twice"] == "0"
    assert figures["429 answers"] == "1"
    assert figures["achieved rate / quota"] == "0.50x"
    assert figures["time to finish / ideal (rows / quota)"] == "2.50x"
    assert figures["interactive message, POST to sent, s (emulated)"] == "1.5"
    assert targets == [
        ["every row accounted for: sent + failed + unknown = rows (N = 4)", "3 + 1 + 0 of 4 (report: 4 rows)", "met"],
        ["0 rows delivered twice (N = 4)", "0", "met"],
        ["achieved rate ≥ 0.9 of the quota (N = 4)", "0.50x", "NOT met"],
        ["time to finish / ideal (N = 4)", "2.50x", "for information"],
        ["interactive message POST to sent ≤ 10 s (N = 4)", "1.5 s", "met"],
    ]


def test_an_interactive_message_never_sent_does_not_meet_its_target() -> None:
    raw = _raw(interactive={"postedSeconds": 1.5, "status": 202, "sentSeconds": []})
    summary = load_campaign.summarize(raw, capacity=3.0, quota=1.0, binding_operation=BINDING)

    targets = [_cells(line) for line in load_campaign.targets_table([summary]).splitlines()[2:]]

    assert summary.interactive_seconds is None
    assert targets[-1] == ["interactive message POST to sent ≤ 10 s (N = 4)", "not sent", "NOT met"]


def test_an_interactive_message_after_11_emulated_seconds_misses_the_target() -> None:
    raw = _raw(interactive={"postedSeconds": 1.0, "status": 202, "sentSeconds": [6.5]})  # 5.5 real s at F = 2
    summary = load_campaign.summarize(raw, capacity=3.0, quota=1.0, binding_operation=BINDING)

    targets = [_cells(line) for line in load_campaign.targets_table([summary]).splitlines()[2:]]

    assert targets[-1] == ["interactive message POST to sent ≤ 10 s (N = 4)", "11.0 s", "NOT met"]


def test_the_manifest_reads_as_one_valid_row_per_message_traced_back_to_it() -> None:
    messages = plan_messages(20, {"invoice": 80, "text": 10, "files": 10}, files=3)
    staged = {key for message in messages for key, _ in campaign_attachments(message)}

    def object_facts(bucket: str, key: str) -> ObjectFacts | None:
        return ObjectFacts(size=756, etag='"2c6ee24b09816a6f14f95d1698b24ead"') if key in staged else None

    read = manifest.read_manifest(manifest_csv(messages), "csv", default_bucket="staging", max_rows=10_000)
    checked = manifest.check_rows(read, object_facts=object_facts, spapi_region="na")

    assert [(row.number, row.error) for row in checked.rows] == [(n, None) for n in range(1, 21)]
    for row, message in zip(checked.rows, messages, strict=True):
        assert row.request is not None
        delivered = {
            "text": row.request.text,
            "attachments": [{"fileName": a.file_name} for a in row.request.attachments],
        }
        assert message_id_of(delivered) == message.number
    assert {len(row.request.attachments) for row in checked.rows if row.request} == {0, 1, 3}


def test_the_readme_has_the_campaign_markers(tmp_path: Path) -> None:
    text = load_campaign.README.read_text(encoding="utf-8")
    assert text.index(load_campaign.START) < text.index(load_campaign.END)

    copy = tmp_path / "README.md"
    copy.write_text(f"before\n{load_campaign.START}\nold\n{load_campaign.END}\nafter\n", encoding="utf-8")
    write_between(copy, load_campaign.START, load_campaign.END, "new table")

    assert copy.read_text(encoding="utf-8") == f"before\n{load_campaign.START}\nnew table\n{load_campaign.END}\nafter\n"


def test_the_rate_per_emulated_minute_shows_a_slow_minute() -> None:
    # F = 1: one a second through the first minute, one every two seconds through the second, the last at 150 s
    seconds = [*range(60), *range(60, 120, 2), 150]
    deliveries = [{"id": n, "seconds": float(t)} for n, t in enumerate(seconds, 1)]
    raw = _raw(rows=len(seconds), factor=1.0, deliveries=deliveries)

    summary = load_campaign.summarize(raw, capacity=3.0, quota=1.0, binding_operation=BINDING)
    figures = {row[0]: row[1] for row in map(_cells, load_campaign.figures_table([summary]).splitlines()[2:])}

    assert summary.minute_rates == (1.0, 0.5)  # the part-minute from 120 s to 150 s is no minute
    assert figures["rate / quota per emulated minute: lowest, median"] == "0.50x, 0.75x"
