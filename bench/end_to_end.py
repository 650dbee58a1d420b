"""End to end: one message with one 1 MiB attachment through the real state machine on the local stack,
split by state; the first execution of a fresh process (cold) beside the median of the following ones."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from bench.common import MiB, median, run_child, table


def measure(size: int = MiB, executions: int = 6) -> dict[str, Any]:
    result, _ = run_child("bench.workflow_run", {"size": size, "executions": executions})
    return result


def state_table(result: dict[str, Any]) -> str:
    runs = result["runs"]
    cold, warm = runs[0], runs[1:]
    names = [state["name"] for state in cold["states"]]
    rows: list[list[object]] = []
    for name in names:
        cold_ms = next(state["ms"] for state in cold["states"] if state["name"] == name)
        warm_ms = [state["ms"] for run in warm for state in run["states"] if state["name"] == name]
        label = f"  {name}" if name.startswith("[") else name
        rows.append([label, cold_ms, median(warm_ms) if warm_ms else None])
    rows.append(["execution (Step Functions' start to stop)", cold["total_ms"], median([r["total_ms"] for r in warm])])
    rows.append(["StartExecution until the end is seen", cold["client_ms"], median([r["client_ms"] for r in warm])])
    retries = sum(state["retries"] for run in runs for state in run["states"])
    title = f"state ({result['size'] // MiB} MiB attachment; {len(warm)} warm runs; {retries} retries)"
    return table([title, "cold ms (1st run)", "warm ms (median)"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.end_to_end")
    parser.add_argument("--size-mib", type=float, default=1.0)
    parser.add_argument("--executions", type=int, default=6, help="the first is cold, the rest warm")
    args = parser.parse_args(argv)
    print(state_table(measure(int(args.size_mib * MiB), args.executions)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
