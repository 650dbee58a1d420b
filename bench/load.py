"""``make load`` (``python -m bench.load``): a burst of messages dropped at once on the local stack, against
Amazon's usage plans, every message accounted for.

1. **Calibration**: a short burst (``--calibration``, same mix) with the quotas off (the emulator's plans at
   a million requests/s, the Retry and Wait times 100 times faster) measures what the local stack itself
   can process: its *capacity* in messages per real second, and how many calls of each SP-API operation a
   message makes.
2. The *quota* is the message rate Amazon's documented plans allow (per emulated second): each operation's
   rate over its calls per message, the lowest of them (``getMessagingActionsForOrder``, 1/s, for every mix).
3. The common factor ``F`` is the capacity over twice the quota, rounded down: with the emulator's quotas
   and the Retry and Wait times all ``F`` times faster, the local stack can process at least twice as fast
   as the quota, so what is measured is the workflow's pacing, not the local stack's speed. (The pacer's
   clock follows the local stack's ``retry_speedup``, which is ``F``.)
4. For each N: N messages dropped at once as S3 uploads (the real trigger starts them), wait until no
   execution runs (bounded), then the table.

With ``--sellers``: the same calibration and runs for two sellers of one deployment: seller B's trickle alone,
then seller A's burst of N with B's same trickle, and whether B's latency stayed the same (bench/load_sellers.py).
These run at F = 1 unless ``--speedup`` says otherwise: Amazon's quotas at their own rate and the state machine's
waits in real time, so A's burst goes out at the pace Amazon allows it and loads the one-process local stack as
much as that pace does, not F times more (at F > 1 the local stack handles A's burst F times faster than Amazon
would let it go out, and B's latency measures the host's CPU, which no two sellers share on AWS).

Exit status: 1 when a message was delivered more than once, 3 when executions were still running at the
timeout, 4 (``--sellers``) when A's burst changed B's latency, else 0 (failures are figures, not errors: see
bench/README.md).
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import load_sellers
from bench.common import ROOT, machine, run_quiet_child, table, write_between
from bench.load_plan import (
    KIND_TEXT,
    SELLER_A,
    SELLER_B,
    Message,
    counts_by_kind,
    parse_mix,
    plan_messages,
    plan_sellers,
)

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- load:start -->", "<!-- load:end -->"
CALIBRATION_FACTOR = 100.0  # quotas off: the plans at a million/s; Retry and Wait times 100 times faster
MARGIN = 2.0  # the local stack must process at least this many times faster than the quota
SELLERS_FACTOR = 1.0  # --sellers: Amazon's quotas at their own rate, the waits in real time (see the docstring)
THROTTLED = "429"


@dataclass(frozen=True)
class Calibration:
    messages: int
    seconds: float
    capacity: float  # messages per real second with the quotas off
    calls_per_message: dict[str, float]  # SP-API operation -> answered calls per message


class CallTotals:
    """The SP-API calls of a run, ``calls``: operation -> (calls, of which 429)."""

    calls: dict[str, tuple[int, int]]

    @property
    def total_calls(self) -> int:
        return sum(calls for calls, _ in self.calls.values())

    @property
    def total_throttled(self) -> int:
        return sum(throttled for _, throttled in self.calls.values())


def sp_api_calls(raw_calls: Mapping[str, Mapping[str, int]]) -> dict[str, tuple[int, int]]:
    """The emulator's call counts (operation -> status -> n) of the SP-API operations: (calls, of which 429)."""
    operations = sp_api_operations()
    calls = {
        operation: (sum(by_status.values()), by_status.get(THROTTLED, 0))
        for operation, by_status in raw_calls.items()
        if operation in operations
    }
    return dict(sorted(calls.items()))


@dataclass(frozen=True)
class LoadSummary(CallTotals):
    messages: int
    factor: float
    capacity: float
    quota: float  # messages per emulated second the usage plans allow
    binding_operation: str
    delivered: int  # messages delivered at least once
    delivered_twice: int  # messages delivered more than once
    extra_deliveries: int  # deliveries beyond each message's first (and deliveries of no load message)
    outcomes: dict[str, int]  # execution status, FAILED with the error name
    calls: dict[str, tuple[int, int]]  # SP-API operation -> (calls, of which 429)
    send_rate_fraction: float | None  # deliveries per emulated second (first to last) over the quota
    time_multiple: float | None  # emulated seconds from the drop to the last delivery over N / quota
    drop_seconds: float
    elapsed_seconds: float
    cpu_cores: float  # the local stack process's CPU seconds per real second
    threads_peak: int
    timed_out: bool
    pacer: dict[str, int]  # what the pacer answered: "reserve booked|later", "resume booked|later|none"

    @property
    def wait_rounds(self) -> int:
        """Wait-state rounds: each turn the pacer gave for later, first or again."""
        return self.pacer.get("reserve later", 0) + self.pacer.get("resume later", 0)


def sp_api_operations() -> list[str]:
    from buyer_messaging import catalog

    return [operation.name for operation in catalog.OPERATIONS]


def documented_rates() -> dict[str, float]:
    from buyer_messaging import catalog

    return {operation.name: float(operation.rate_per_second) for operation in catalog.OPERATIONS}


def calls_per_message(
    calls: Mapping[str, Mapping[str, int]], messages: int, operations: Sequence[str]
) -> dict[str, float]:
    """Answered (not throttled) calls of each SP-API operation per message; operations never called left out."""
    answered = {
        operation: sum(n for status, n in calls.get(operation, {}).items() if status != THROTTLED)
        for operation in operations
    }
    return {operation: count / messages for operation, count in answered.items() if count}


def message_quota(per_message: Mapping[str, float], rates: Mapping[str, float]) -> tuple[float, str]:
    """Messages per second the usage plans allow, and the operation that binds: each operation's rate over
    its calls per message, the lowest of them."""
    allowed = {operation: rates[operation] / count for operation, count in per_message.items() if count > 0}
    if not allowed:
        raise ValueError("No SP-API call was answered: the calibration run delivered nothing.")
    binding = min(allowed, key=lambda operation: (allowed[operation], operation))
    return allowed[binding], binding


def choose_factor(capacity: float, quota: float, margin: float = MARGIN) -> float:
    """The common speedup: ``capacity / (margin * quota)`` rounded down to two significant digits, so that the
    local stack can still process ``margin`` times faster than the sped-up quota."""
    raw = capacity / (margin * quota)
    if not math.isfinite(raw) or raw <= 0:
        raise ValueError(f"No factor for a capacity of {capacity!r} messages/s and a quota of {quota!r}.")
    step = 10.0 ** (math.floor(math.log10(raw)) - 1)
    return round(math.floor(raw / step + 1e-9) * step, 12)


def run_factor(given: float | None, sellers: bool, chosen: float) -> tuple[float, str]:
    """The runs' common factor and why, when it is not the one chosen: ``--speedup``'s, else 1 with ``--sellers``
    (Amazon's own pace), else the one that keeps the local stack MARGIN times ahead of the quota."""
    factor = given or (SELLERS_FACTOR if sellers else chosen)
    if factor == chosen:
        return factor, ""
    if given:
        return factor, f" (given; {chosen:g} would keep the local stack {MARGIN:g}x ahead)"
    return factor, " (--sellers: Amazon's own pace, real time)"


def rate_fraction(times: Sequence[float], quota: float) -> float | None:
    """Deliveries per emulated second from the first to the last (``times``, sorted), over the quota."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0]) / quota


def summarize(raw: Mapping[str, Any], capacity: float, quota: float, binding_operation: str) -> LoadSummary:
    """The figures of one run from what :mod:`bench.load_run` wrote."""
    messages = int(raw["messages"])
    factor = float(raw["factor"])
    per_message = Counter(delivery["id"] for delivery in raw["deliveries"])
    known = {number: count for number, count in per_message.items() if number is not None}
    times = sorted(float(delivery["seconds"]) * factor for delivery in raw["deliveries"])  # emulated seconds
    delivered = len(known)
    send_rate_fraction = rate_fraction(times, quota)
    time_multiple = times[-1] / (messages / quota) if delivered == messages and times else None
    elapsed = float(raw["elapsedSeconds"])
    return LoadSummary(
        messages=messages,
        factor=factor,
        capacity=capacity,
        quota=quota,
        binding_operation=binding_operation,
        delivered=delivered,
        delivered_twice=sum(1 for count in known.values() if count > 1),
        extra_deliveries=sum(count - 1 for count in known.values()) + per_message.get(None, 0),
        outcomes=dict(sorted(raw["outcomes"].items())),
        calls=sp_api_calls(raw["calls"]),
        send_rate_fraction=send_rate_fraction,
        time_multiple=time_multiple,
        drop_seconds=float(raw["dropSeconds"]),
        elapsed_seconds=elapsed,
        cpu_cores=float(raw["cpuSeconds"]) / elapsed if elapsed > 0 else 0.0,
        threads_peak=int(raw["threadsPeak"]),
        timed_out=bool(raw["timedOut"]),
        pacer={str(name): int(count) for name, count in raw.get("pacer", {}).items()},
    )


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _per(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else "—"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def figures_table(summaries: Sequence[LoadSummary]) -> str:
    def failed(summary: LoadSummary) -> str:
        errors = {name.removeprefix("FAILED "): n for name, n in summary.outcomes.items() if name.startswith("FAILED")}
        return ", ".join(f"{n} {name}" for name, n in errors.items()) or "0"

    rows: list[list[object]] = [
        ["common factor F (quotas, Retry and Wait times)", *(f"{s.factor:g}" for s in summaries)],
        ["local stack capacity, messages/s (quotas off)", *(s.capacity for s in summaries)],
        ["quota, messages/s (binding operation)", *(f"{s.quota:g} ({s.binding_operation})" for s in summaries)],
        ["delivered / N", *(f"{s.delivered} / {s.messages}" for s in summaries)],
        ["messages delivered twice", *(s.delivered_twice for s in summaries)],
        ["failed, by error", *(failed(s) for s in summaries)],
        ["still running at the timeout", *(s.outcomes.get("RUNNING", 0) for s in summaries)],
        ["SP-API calls", *(s.total_calls for s in summaries)],
        [
            "429 answers (share of calls)",
            *(f"{s.total_throttled:,} ({_share(s.total_throttled, s.total_calls)})" for s in summaries),
        ],
        ["achieved send rate / quota", *(_ratio(s.send_rate_fraction) for s in summaries)],
        ["time to deliver all / ideal (N / quota)", *(_ratio(s.time_multiple) for s in summaries)],
        ["drop of N uploads, real s", *(s.drop_seconds for s in summaries)],
        ["run until no execution runs, real s", *(s.elapsed_seconds for s in summaries)],
        ["local stack CPU, cores busy (one process)", *(f"{s.cpu_cores:.2f}" for s in summaries)],
        ["threads at peak", *(s.threads_peak for s in summaries)],
        [
            "paced calls: at once / after a Wait state",
            *(f"{s.pacer.get('reserve booked', 0):,} / {s.pacer.get('reserve later', 0):,}" for s in summaries),
        ],
        [
            "Wait-state rounds (per message)",
            *(f"{s.wait_rounds:,} ({_per(s.wait_rounds, s.messages)})" for s in summaries),
        ],
        [
            "back from a Wait state: called / sent back again",
            *(f"{s.pacer.get('resume booked', 0):,} / {s.pacer.get('resume later', 0):,}" for s in summaries),
        ],
    ]
    return table(["figure", *(f"N = {s.messages}" for s in summaries)], rows)


def operations_table(summaries: Sequence[LoadSummary]) -> str:
    operations = sorted({operation for s in summaries for operation in s.calls})
    rates = documented_rates()
    rows: list[list[object]] = []
    for operation in operations:
        cells: list[object] = [f"`{operation}` ({rates[operation]:g}/s)"]
        for summary in summaries:
            calls, throttled = summary.calls.get(operation, (0, 0))
            cells += [calls, f"{throttled:,} ({_share(throttled, calls)})"]
        rows.append(cells)
    headers = ["operation (documented rate)"]
    for summary in summaries:
        headers += [f"calls, N = {summary.messages}", f"429s (share), N = {summary.messages}"]
    return table(headers, rows)


def run_load(
    messages: Sequence[Message],
    factor: float,
    *,
    quotas_off: bool,
    timeout_seconds: float,
    trace: Path | None = None,
    sellers: Sequence[str] = (),
) -> dict[str, Any]:
    """One burst in a fresh process (``bench.load_run``); its raw result. The functions' output is dropped.
    ``trace``: also write the emulator's call log and the pacer's decisions there (JSON); ``sellers``: the seed's
    sellers registered in the deployment."""
    arguments = {
        "messages": [asdict(m) for m in messages],
        "sellers": list(sellers),
        "factor": factor,
        "quotas_off": quotas_off,
        "timeout_seconds": timeout_seconds,
        "trace": str(trace) if trace else None,
    }
    # deploying, staging and describing come on top of the executions' time
    return run_quiet_child("bench.load_run", arguments, timeout=timeout_seconds + 600)


def calibrate(messages: Sequence[Message]) -> Calibration:
    raw = run_load(messages, CALIBRATION_FACTOR, quotas_off=True, timeout_seconds=600)
    if raw["timedOut"] or len(raw["deliveries"]) < len(messages):
        raise RuntimeError(f"The calibration run did not deliver every message: {raw['outcomes']}")
    seconds = float(raw["elapsedSeconds"])
    return Calibration(
        messages=len(messages),
        seconds=seconds,
        capacity=len(messages) / seconds,
        calls_per_message=calls_per_message(raw["calls"], len(messages), sp_api_operations()),
    )


def parse_counts(text: str) -> list[int]:
    """``-n 120,300`` -> [120, 300]."""
    counts = [int(part) for part in text.split(",")]
    if any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError("every N must be at least 1")
    return counts


def mix_weights(text: str) -> dict[str, float]:
    """``--mix``'s value as weights (argparse names what is wrong)."""
    try:
        return parse_mix(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_shared_options(parser: argparse.ArgumentParser, unit: str, kinds: Mapping[str, str]) -> None:
    """The options ``make load`` and ``make load-campaign`` share: the mix (``kinds``: what each kind of ``unit``,
    message or row, is), the files of a 'files' one, the factor, the calibration, the label and the README."""
    parser.add_argument(
        "--mix",
        type=mix_weights,
        default="invoice=80,text=10,files=10",
        help=f"weights of the kinds of {unit}: "
        + "; ".join(f"{kind}: {text}" for kind, text in kinds.items())
        + " (default %(default)s)",
    )
    parser.add_argument(
        "--files", type=int, default=3, choices=range(2, 6), help=f"PDFs of a 'files' {unit} (default 3)"
    )
    parser.add_argument(
        "--speedup", type=float, help="use this common factor instead of the one chosen (with --sellers: of 1)"
    )
    parser.add_argument(
        "--calibration", type=int, default=40, help=f"{unit}s of the calibration run, quotas off (default 40)"
    )
    parser.add_argument("--label", default="", help="a title for the results (e.g. 'before the pacer')")
    parser.add_argument("--update-readme", action="store_true", help="write the results into bench/README.md")


def results_title(args: argparse.Namespace) -> str:
    """The results' heading: the label (``--label``), the day, the mix and the files of a 'files' message."""
    mix = ", ".join(f"{kind} {weight:g}" for kind, weight in args.mix.items())
    return f"### {args.label or 'Latest run'} ({time.strftime('%Y-%m-%d')}; mix {mix}, {args.files} files)"


def say(text: str) -> None:
    print(text, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make load", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--count", "-n", type=parse_counts, default=[300], help="N, or several: 120,300 (default 300)")
    add_shared_options(parser, "message", KIND_TEXT)
    parser.add_argument(
        "--timeout",
        type=float,
        help="real seconds to wait for the executions of a run "
        "(default 120 + 3 x the ideal time N / quota at the factor)",
    )
    parser.add_argument(
        "--sellers",
        action="store_true",
        help=f"two sellers: {SELLER_A}'s burst of N (the first -n) while {SELLER_B} trickles, against {SELLER_B}'s "
        "trickle alone (bench/load_sellers.py)",
    )
    parser.add_argument(
        "--trickle-every",
        type=float,
        default=10.0,
        help="with --sellers: one message of the trickle every this many emulated seconds (default 10)",
    )
    parser.add_argument(
        "--trace",
        type=Path,
        help="a directory: write each run's call log and pacer decisions there (load-N.json)",
    )
    args = parser.parse_args(argv)
    weights = args.mix
    host = "Machine: " + "; ".join(f"{key} {value}" for key, value in machine().items()) + "."
    say(host)
    say(f"\nCalibration: {args.calibration} messages, quotas off ...")
    calibration = calibrate(plan_messages(args.calibration, weights, args.files))
    quota, binding = message_quota(calibration.calls_per_message, documented_rates())
    chosen = choose_factor(calibration.capacity, quota)
    factor, why = run_factor(args.speedup, args.sellers, chosen)
    say(
        f"Local stack capacity: {calibration.capacity:.2f} messages/s ({calibration.messages} in "
        f"{calibration.seconds:.1f} s); quota: {quota:g} messages/s ({binding}); common factor F = {factor:g}"
        + why
        + f": the local stack processes {calibration.capacity / (quota * factor):.1f}x as fast as the quota."
    )
    summaries: list[LoadSummary] = []
    seller_runs: list[load_sellers.SellerRun] = []
    if args.trace:
        args.trace.mkdir(parents=True, exist_ok=True)
    if args.sellers:
        burst, trickle = plan_sellers(args.count[0], args.trickle_every, quota, weights, args.files)
        runs = [(load_sellers.BASELINE, trickle), (load_sellers.WITH_BURST, burst + trickle)]
    else:
        runs = [(f"N = {count}", plan_messages(count, weights, args.files)) for count in args.count]
    for name, messages in runs:
        # the drop lasts as long as the trickle; then the queue of the burst, at the quota
        ideal = max(m.at for m in messages) + sum(1 for m in messages if m.at == 0) / quota
        timeout = args.timeout or 120 + 3 * ideal / factor
        say(
            f"\n{name}: {len(messages)} messages "
            f"({', '.join(f'{n} {k}' for k, n in counts_by_kind(messages).items())}) "
            f"at F = {factor:g}, at most {timeout:.0f} s ..."
        )
        raw = run_load(
            messages,
            factor,
            quotas_off=False,
            timeout_seconds=timeout,
            trace=args.trace / f"load-{len(messages)}.json" if args.trace else None,
            sellers=(SELLER_A, SELLER_B) if args.sellers else (),
        )
        summaries.append(summarize(raw, calibration.capacity, quota, binding))
        if args.sellers:
            seller_runs += load_sellers.seller_runs(raw, name, messages)
    if args.sellers:
        verdict = load_sellers.verdict(seller_runs, SELLER_B)
        section = [
            results_title(args) + f"; A's burst N = {args.count[0]}, B every {args.trickle_every:g} s",
            host,
            f"Common factor F = {factor:g}; quota {quota:g} messages/s per seller ({binding}).",
            load_sellers.sellers_table(seller_runs),
            verdict.text(),
        ]
        say("\n" + "\n\n".join(section[2:]))
        start, end = load_sellers.START, load_sellers.END
    else:
        figures, operations = figures_table(summaries), operations_table(summaries)
        section = [results_title(args), host, figures, operations]
        say("\n" + figures + "\n\n" + operations)
        start, end = START, END
    if args.update_readme:
        write_between(README, start, end, "\n\n".join(section))
        say(f"Results written to {README.relative_to(ROOT)}.")
    if any(s.delivered_twice or s.extra_deliveries for s in summaries):
        say("A message was delivered more than once.")
        return 1
    if any(s.timed_out for s in summaries):
        return 3
    return 4 if args.sellers and not verdict.unchanged else 0


if __name__ == "__main__":
    raise SystemExit(main())
