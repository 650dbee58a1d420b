"""``make load-campaign`` (``python -m bench.load_campaign``): a campaign of N rows on the local stack, against
Amazon's usage plans, and one message a person sends from the console in its middle.

1. **Calibration**: a short campaign (``--calibration`` rows, same mix) with the quotas off measures what the local
   stack can process (rows per real second, from the manifest's upload to the campaign's end) and the calls of each
   SP-API operation a row makes.
2. The *quota* (rows per emulated second the documented plans allow) and the common factor ``F`` (quotas, Retry and
   Wait times all ``F`` times faster) are chosen as ``make load`` chooses them (:mod:`bench.load`).
3. The campaign: the manifest ``campaigns/load-N.csv`` uploaded (the S3 trigger starts it), and when half the rows
   are delivered one ``POST /orders/{id}/messages`` through the local HTTP API (the interactive lane). Then the
   figures and the targets of issue 16, each met or NOT met in that run.

Exit status: 1 when a row was delivered more than once, 3 when the campaign was still running at the timeout, else 0
(a target not met is a figure, not an error: see bench/README.md).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, machine, run_quiet_child, table, write_between
from bench.load import (
    CALIBRATION_FACTOR,
    MARGIN,
    CallTotals,
    add_shared_options,
    calls_per_message,
    choose_factor,
    documented_rates,
    message_quota,
    parse_counts,
    rate_fraction,
    results_title,
    say,
    sp_api_calls,
    sp_api_operations,
)
from bench.load_plan import CAMPAIGN_KIND_TEXT, Message, counts_by_kind, plan_messages

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- campaign:start -->", "<!-- campaign:end -->"
RATE_TARGET = 0.9  # the achieved rate as a fraction of the quota (issue 16)
INTERACTIVE_TARGET_SECONDS = 10.0  # POST to sent of a console message in the middle of a campaign (issue 16)


@dataclass(frozen=True)
class CampaignSummary(CallTotals):
    rows: int
    factor: float
    capacity: float  # rows per real second with the quotas off
    quota: float  # rows per emulated second the usage plans allow
    binding_operation: str
    campaign_status: str  # the campaign execution's status (RUNNING at the timeout)
    report_rows: int  # lines of the report CSV
    sent: int  # report lines "sent"
    failed_by: dict[str, int]  # report lines "failed" (and "invalid"), by error
    unknown: int  # report lines "unknown"
    delivered: int  # rows the emulator delivered at least once
    duplicates: int  # rows the emulator delivered more than once
    send_rate_fraction: float | None  # deliveries per emulated second (first to last) over the quota
    minute_rates: tuple[float, ...]  # deliveries in each whole emulated minute from the first, over the quota
    time_multiple: float | None  # emulated seconds from the upload to the campaign's end over rows / quota
    interactive_seconds: float | None  # emulated seconds from the POST to the interactive message's delivery
    interactive_deliveries: int
    calls: dict[str, tuple[int, int]]  # SP-API operation -> (calls, of which 429)
    staging_seconds: float
    finished_seconds: float | None  # real seconds from the upload to the campaign's end
    cpu_cores: float
    threads_peak: int

    @property
    def failed(self) -> int:
        return sum(self.failed_by.values())

    @property
    def accounted(self) -> bool:
        """Every row in the report, each sent, failed with a reason or unknown."""
        return self.report_rows == self.rows == self.sent + self.failed + self.unknown


def summarize(raw: Mapping[str, Any], capacity: float, quota: float, binding_operation: str) -> CampaignSummary:
    """The figures of one campaign run from what :mod:`bench.load_campaign_run` wrote. Times are emulated seconds
    (real seconds times F) wherever they are compared with the quota or with a target in Amazon's seconds."""
    rows = int(raw["rows"])
    factor = float(raw["factor"])
    report = list(raw["report"])
    statuses = Counter(line["status"] for line in report)
    failed_by = Counter(line["error"] or "(no error)" for line in report if line["status"] in ("failed", "invalid"))
    per_row = Counter(delivery["id"] for delivery in raw["deliveries"])
    times = sorted(float(d["seconds"]) * factor for d in raw["deliveries"])
    interactive = raw["interactive"]
    sent_times = sorted(float(s) for s in interactive["sentSeconds"])
    send_rate_fraction = rate_fraction(times, quota)
    minutes = int((times[-1] - times[0]) // 60) if times else 0
    per_minute = Counter(int((t - times[0]) // 60) for t in times)
    finished = raw["finishedSeconds"]
    time_multiple = None if finished is None else float(finished) * factor / (rows / quota)
    interactive_seconds = None
    if interactive["postedSeconds"] is not None and sent_times:
        interactive_seconds = (sent_times[0] - float(interactive["postedSeconds"])) * factor
    elapsed = float(raw["elapsedSeconds"])
    campaign = list(raw["campaign"])
    return CampaignSummary(
        rows=rows,
        factor=factor,
        capacity=capacity,
        quota=quota,
        binding_operation=binding_operation,
        campaign_status=campaign[0] if len(campaign) == 1 else ", ".join(campaign) or "not started",
        report_rows=len(report),
        sent=statuses.get("sent", 0),
        failed_by=dict(sorted(failed_by.items())),
        unknown=statuses.get("unknown", 0),
        delivered=sum(1 for row in per_row if row is not None),
        duplicates=sum(1 for row, count in per_row.items() if row is not None and count > 1),
        send_rate_fraction=send_rate_fraction,
        minute_rates=tuple(per_minute[minute] / 60 / quota for minute in range(minutes)),
        time_multiple=time_multiple,
        interactive_seconds=interactive_seconds,
        interactive_deliveries=len(sent_times),
        calls=sp_api_calls(raw["calls"]),
        staging_seconds=float(raw["stagingSeconds"]),
        finished_seconds=None if finished is None else float(finished),
        cpu_cores=float(raw["cpuSeconds"]) / elapsed if elapsed > 0 else 0.0,
        threads_peak=int(raw["threadsPeak"]),
    )


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _minutes(summary: CampaignSummary) -> str:
    rates = sorted(summary.minute_rates)
    return f"{rates[0]:.2f}x, {statistics.median(rates):.2f}x" if rates else "—"


def _failed(summary: CampaignSummary) -> str:
    return ", ".join(f"{n} {error}" for error, n in summary.failed_by.items()) or "0"


def figures_table(summaries: Sequence[CampaignSummary]) -> str:
    rows: list[list[object]] = [
        ["common factor F (quotas, Retry and Wait times)", *(f"{s.factor:g}" for s in summaries)],
        ["local stack capacity, rows/s (quotas off)", *(s.capacity for s in summaries)],
        ["quota, rows/s (binding operation)", *(f"{s.quota:g} ({s.binding_operation})" for s in summaries)],
        ["campaign execution", *(s.campaign_status for s in summaries)],
        ["rows / in the report", *(f"{s.rows} / {s.report_rows}" for s in summaries)],
        ["sent", *(s.sent for s in summaries)],
        ["failed, by reason", *(_failed(s) for s in summaries)],
        ["unknown", *(s.unknown for s in summaries)],
        ["rows delivered (emulator)", *(s.delivered for s in summaries)],
        ["rows delivered twice", *(s.duplicates for s in summaries)],
        ["SP-API calls", *(s.total_calls for s in summaries)],
        ["429 answers", *(s.total_throttled for s in summaries)],
        ["achieved rate / quota", *(_ratio(s.send_rate_fraction) for s in summaries)],
        ["rate / quota per emulated minute: lowest, median", *(_minutes(s) for s in summaries)],
        ["time to finish / ideal (rows / quota)", *(_ratio(s.time_multiple) for s in summaries)],
        ["interactive message, POST to sent, s (emulated)", *(_seconds(s.interactive_seconds) for s in summaries)],
        ["interactive message deliveries", *(s.interactive_deliveries for s in summaries)],
        ["staging the rows' files, real s", *(s.staging_seconds for s in summaries)],
        ["upload to the campaign's end, real s", *(_seconds(s.finished_seconds) for s in summaries)],
        ["local stack CPU, cores busy (one process)", *(f"{s.cpu_cores:.2f}" for s in summaries)],
        ["threads at peak", *(s.threads_peak for s in summaries)],
    ]
    return table(["figure", *(f"N = {s.rows}" for s in summaries)], rows)


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def targets_table(summaries: Sequence[CampaignSummary]) -> str:
    """Issue 16's targets, each met or NOT met in this run."""
    rows: list[list[object]] = []
    for s in summaries:
        n = f"N = {s.rows}"
        interactive = s.interactive_seconds
        rows += [
            [
                f"every row accounted for: sent + failed + unknown = rows ({n})",
                f"{s.sent} + {s.failed} + {s.unknown} of {s.rows} (report: {s.report_rows} rows)",
                _met(s.accounted),
            ],
            [f"0 rows delivered twice ({n})", s.duplicates, _met(s.duplicates == 0)],
            [
                f"achieved rate ≥ {RATE_TARGET:g} of the quota ({n})",
                _ratio(s.send_rate_fraction),
                _met(s.send_rate_fraction is not None and s.send_rate_fraction >= RATE_TARGET),
            ],
            [f"time to finish / ideal ({n})", _ratio(s.time_multiple), "for information"],
            [
                f"interactive message POST to sent ≤ {INTERACTIVE_TARGET_SECONDS:g} s ({n})",
                "not sent" if interactive is None else f"{interactive:.1f} s",
                _met(interactive is not None and interactive <= INTERACTIVE_TARGET_SECONDS),
            ],
        ]
    return table(["target (issue 16)", "result", "this run"], rows)


def run_campaign(
    messages: Sequence[Message],
    factor: float,
    *,
    quotas_off: bool,
    interactive: bool,
    timeout_seconds: float,
    lambda_slots: int | None = None,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """One campaign in a fresh process (``bench.load_campaign_run``); its raw result. The functions' output is
    dropped. ``lambda_slots``: the local stack's handlers at once (default its own, 4); ``concurrency``: the
    campaign's rows in flight (default the template's ``CampaignConcurrency``)."""
    arguments = {
        "lambda_slots": lambda_slots,
        "concurrency": concurrency,
        "messages": [{"number": m.number, "kind": m.kind, "files": m.files} for m in messages],
        "factor": factor,
        "quotas_off": quotas_off,
        "interactive": interactive,
        "timeout_seconds": timeout_seconds,
    }
    # deploying and staging come on top of the campaign's time
    return run_quiet_child("bench.load_campaign_run", arguments, timeout=timeout_seconds + 600)


def calibrate(messages: Sequence[Message], lambda_slots: int | None = None) -> tuple[float, dict[str, float]]:
    """Rows per real second with the quotas off, and each operation's calls per row."""
    raw = run_campaign(
        messages, CALIBRATION_FACTOR, quotas_off=True, interactive=False, timeout_seconds=600, lambda_slots=lambda_slots
    )
    if raw["timedOut"] or raw["finishedSeconds"] is None or len(raw["deliveries"]) < len(messages):
        raise RuntimeError(f"The calibration campaign did not deliver every row: {raw['campaign']}")
    return len(messages) / float(raw["finishedSeconds"]), calls_per_message(
        raw["calls"], len(messages), sp_api_operations()
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make load-campaign", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--count", "-n", type=parse_counts, default=[1000], help="rows, or several: 200,1000 (default 1000)"
    )
    add_shared_options(parser, "row", CAMPAIGN_KIND_TEXT)
    parser.add_argument(
        "--timeout", type=float, help="real seconds to wait for a campaign (default 120 + 3 x rows / quota at F)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        help="the Distributed Map's MaxConcurrency (default the template's CampaignConcurrency)",
    )
    parser.add_argument(
        "--lambda-slots", type=int, help="handlers the local stack runs at once (default its own: 4; for diagnosis)"
    )
    args = parser.parse_args(argv)
    weights = args.mix
    host = "Machine: " + "; ".join(f"{key} {value}" for key, value in machine().items()) + "."
    say(host)
    say(f"\nCalibration: a campaign of {args.calibration} rows, quotas off ...")
    capacity, per_row = calibrate(plan_messages(args.calibration, weights, args.files), args.lambda_slots)
    quota, binding = message_quota(per_row, documented_rates())
    chosen = choose_factor(capacity, quota)
    factor = args.speedup or chosen
    say(
        f"Local stack capacity: {capacity:.2f} rows/s; quota: {quota:g} rows/s ({binding}); common factor F = "
        f"{factor:g}"
        + ("" if factor == chosen else f" (given; {chosen:g} would keep the local stack {MARGIN:g}x ahead)")
    )
    summaries: list[CampaignSummary] = []
    for count in args.count:
        messages = plan_messages(count, weights, args.files)
        timeout = args.timeout or 120 + 3 * count / (quota * factor)
        say(
            f"\nCampaign of {count} rows ({', '.join(f'{n} {k}' for k, n in counts_by_kind(messages).items())}) "
            f"at F = {factor:g}, at most {timeout:.0f} s ..."
        )
        started = time.monotonic()
        raw = run_campaign(
            messages,
            factor,
            quotas_off=False,
            interactive=True,
            timeout_seconds=timeout,
            lambda_slots=args.lambda_slots,
            concurrency=args.concurrency,
        )
        summaries.append(summarize(raw, capacity, quota, binding))
        say(f"... {time.monotonic() - started:.0f} s real, the stack's start and the staging included.")
    figures, targets = figures_table(summaries), targets_table(summaries)
    say("\n" + figures + "\n\n" + targets)
    if args.update_readme:
        write_between(README, START, END, "\n\n".join([results_title(args), host, figures, targets]))
        say(f"Results written to {README.relative_to(ROOT)}.")
    if any(s.duplicates for s in summaries):
        say("A row was delivered more than once.")
        return 1
    return 3 if any(s.finished_seconds is None for s in summaries) else 0


if __name__ == "__main__":
    raise SystemExit(main())
