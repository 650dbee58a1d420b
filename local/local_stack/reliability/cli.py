"""``python -m local_stack reliability``: both matrices (or the cases and fault kinds asked for) as Markdown
tables on stdout, progress on stderr; exits 1 when a case did not end as it must."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from local_stack.reliability.bad_inputs import CASES, BadInputCase, case_by_id
from local_stack.reliability.faults import FAULT_CASES, FaultCase, fault_case_by_id
from local_stack.reliability.pool import quiet, run_bad_input_matrix, run_fault_matrix
from local_stack.reliability.report import fault_summary, render_fault_table, render_table, summary
from local_stack.reliability.verdicts import CaseResult, FaultResult


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack reliability",
        description="Run the bad-input matrix, a fresh local stack per case, and print it as a Markdown table. "
        "Exits 1 when a case did not end as it must.",
    )
    parser.add_argument("--case", action="append", default=[], metavar="ID", help="run only this case (repeatable)")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="ID", help="run only this fault kind (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="list the cases and fault kinds and exit")
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 4), help="cases run in parallel processes")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one case's execution")
    args = parser.parse_args(argv)
    if args.list:
        for case in CASES:
            print(f"{case.id:30} {case.entry:8} {case.expected:24} {case.description}")
        for fault in FAULT_CASES:
            print(f"{fault.id:30} {'fault':8} {fault.expected:24} {fault.injected}")
        return 0
    unknown = [case_id for case_id in args.case if case_id not in {case.id for case in CASES}]
    unknown += [fault_id for fault_id in args.fault if fault_id not in {fault.id for fault in FAULT_CASES}]
    if unknown:
        parser.error(f"no such case: {', '.join(unknown)} (see --list)")
    # No selection: both matrices. --case only: those cases; --fault only: those fault kinds.
    everything = not args.case and not args.fault
    cases = [case_by_id(case_id) for case_id in args.case] if args.case else list(CASES) if everything else []
    faults = (
        [fault_case_by_id(fault_id) for fault_id in args.fault]
        if args.fault
        else list(FAULT_CASES)
        if everything
        else []
    )
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    ok = True
    if cases:
        ok = _print_bad_input_matrix(cases, args.jobs, args.timeout) and ok
    if faults:
        if cases:
            print()
        ok = _print_fault_matrix(faults, args.jobs, args.timeout) and ok
    return 0 if ok else 1


def _progress(result: CaseResult | FaultResult) -> None:
    verdict = "ok" if result.passed else "NOT AS EXPECTED"
    print(f"  {result.case_id:30} {result.actual:24} {result.seconds:5.1f} s  {verdict}", file=sys.stderr)


def _print_bad_input_matrix(cases: Sequence[BadInputCase], jobs: int, timeout: float) -> bool:
    print(f"Bad-input matrix: {len(cases)} cases, a fresh local stack each, {jobs} at a time", file=sys.stderr)
    with quiet():
        rows = run_bad_input_matrix(cases, timeout_seconds=timeout, jobs=jobs, progress=_progress)
    print(render_table(rows, cases))
    print()
    print(summary(rows, cases))
    return all(row.passed for row in rows)


def _print_fault_matrix(faults: Sequence[FaultCase], jobs: int, timeout: float) -> bool:
    print(f"Fault matrix: {len(faults)} kinds, a fresh local stack each, {jobs} at a time", file=sys.stderr)
    with quiet():
        rows = run_fault_matrix(faults, timeout_seconds=timeout, jobs=jobs, progress=_progress)
    print(render_fault_table(rows))
    print()
    print(fault_summary(rows, faults))
    return all(row.passed for row in rows)


if __name__ == "__main__":
    sys.exit(main())
