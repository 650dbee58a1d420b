"""``python -m local_stack reliability``: the bad-input, campaign, fault, outage, authorization and cross-seller
matrices (or the cases asked for) as Markdown tables on stdout, progress on stderr; exits 1 when a case did not end
as it must."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from local_stack.reliability.authorization_cases import AUTHORIZATION_CASES
from local_stack.reliability.authorization_runner import AuthorizationResult
from local_stack.reliability.bad_inputs import CASES, case_by_id
from local_stack.reliability.campaign_inputs import CAMPAIGN_CASES, campaign_case_by_id
from local_stack.reliability.cross_seller import run_cross_seller
from local_stack.reliability.cross_seller_cases import ATTEMPTS
from local_stack.reliability.faults import FAULT_CASES, fault_case_by_id
from local_stack.reliability.outage_runner import OutageResult
from local_stack.reliability.outages import OUTAGE_CASES, outage_case_by_id
from local_stack.reliability.pool import (
    quiet,
    run_authorization_matrix,
    run_bad_input_matrix,
    run_campaign_matrix,
    run_fault_matrix,
    run_outage_matrix,
)
from local_stack.reliability.report import (
    authorization_summary,
    campaign_summary,
    cross_seller_summary,
    fault_summary,
    outage_summary,
    render_authorization_table,
    render_campaign_table,
    render_cross_seller_table,
    render_fault_table,
    render_outage_table,
    render_table,
    summary,
)
from local_stack.reliability.verdicts import CampaignResult, CaseResult, FaultResult


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack reliability",
        description="Run the bad-input matrix, a fresh local stack per case, and print it as a Markdown table. "
        "Exits 1 when a case did not end as it must.",
    )
    parser.add_argument("--case", action="append", default=[], metavar="ID", help="run only this case (repeatable)")
    parser.add_argument(
        "--campaign", action="append", default=[], metavar="ID", help="run only this campaign case (repeatable)"
    )
    parser.add_argument(
        "--fault", action="append", default=[], metavar="ID", help="run only this fault kind (repeatable)"
    )
    parser.add_argument("--outage", action="append", default=[], metavar="ID", help="run only this outage (repeatable)")
    parser.add_argument(
        "--authorization", action="append", default=[], metavar="ID", help="run only this authorization case"
    )
    parser.add_argument(
        "--cross-seller",
        action="store_true",
        help="run the cross-seller matrix (a user of seller A against B's things)",
    )
    parser.add_argument("--list", action="store_true", help="list the cases and fault kinds and exit")
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 4), help="cases run in parallel processes")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one case's execution")
    parser.add_argument(
        "--campaign-timeout", type=float, default=120.0, help="seconds to wait for one campaign case's run"
    )
    args = parser.parse_args(argv)
    if args.list:
        for case in CASES:
            print(f"{case.id:30} {case.entry:8} {case.expected:24} {case.description}")
        for campaign in CAMPAIGN_CASES:
            print(f"{campaign.id:30} {campaign.entry:8} {campaign.expected:24} {campaign.description}")
        for fault in FAULT_CASES:
            print(f"{fault.id:30} {'fault':8} {fault.expected:24} {fault.injected}")
        for outage in OUTAGE_CASES:
            print(f"{outage.id:30} {'outage':8} {outage.error:24} {outage.injected}")
        for authorization in AUTHORIZATION_CASES:
            print(f"{authorization.id:30} {'auth':8} {authorization.expected:24} {authorization.description}")
        for attempt in ATTEMPTS:
            print(f"{attempt.id:30} {'seller':8} {attempt.error or attempt.status:24} {attempt.route}: {attempt.mine}")
        return 0
    unknown = [case_id for case_id in args.case if case_id not in {case.id for case in CASES}]
    unknown += [case_id for case_id in args.campaign if case_id not in {case.id for case in CAMPAIGN_CASES}]
    unknown += [fault_id for fault_id in args.fault if fault_id not in {fault.id for fault in FAULT_CASES}]
    unknown += [outage_id for outage_id in args.outage if outage_id not in {outage.id for outage in OUTAGE_CASES}]
    unknown += [case_id for case_id in args.authorization if case_id not in {c.id for c in AUTHORIZATION_CASES}]
    if unknown:
        parser.error(f"no such case: {', '.join(unknown)} (see --list)")
    # No selection: every matrix. Otherwise only the cases, campaign cases and fault kinds named.
    everything = (
        not args.case
        and not args.campaign
        and not args.fault
        and not args.outage
        and not args.authorization
        and not args.cross_seller
    )
    cases = [case_by_id(case_id) for case_id in args.case] if args.case else list(CASES) if everything else []
    campaigns = (
        [campaign_case_by_id(case_id) for case_id in args.campaign]
        if args.campaign
        else list(CAMPAIGN_CASES)
        if everything
        else []
    )
    faults = (
        [fault_case_by_id(fault_id) for fault_id in args.fault]
        if args.fault
        else list(FAULT_CASES)
        if everything
        else []
    )
    outages = (
        [outage_case_by_id(outage_id) for outage_id in args.outage]
        if args.outage
        else list(OUTAGE_CASES)
        if everything
        else []
    )
    authorizations = (
        [case for case in AUTHORIZATION_CASES if case.id in args.authorization]
        if args.authorization
        else list(AUTHORIZATION_CASES)
        if everything
        else []
    )
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    matrices: list[_Matrix] = [
        _Matrix(
            f"Bad-input matrix: {len(cases)} cases",
            lambda jobs, progress: run_bad_input_matrix(
                cases, timeout_seconds=args.timeout, jobs=jobs, progress=progress
            ),
            lambda rows: (render_table(rows, cases), summary(rows, cases)),
        ),
        _Matrix(
            f"Campaign matrix: {len(campaigns)} manifests",
            lambda jobs, progress: run_campaign_matrix(
                campaigns, timeout_seconds=args.campaign_timeout, jobs=jobs, progress=progress
            ),
            lambda rows: (render_campaign_table(rows, campaigns), campaign_summary(rows, campaigns)),
        ),
        _Matrix(
            f"Fault matrix: {len(faults)} kinds",
            lambda jobs, progress: run_fault_matrix(faults, timeout_seconds=args.timeout, jobs=jobs, progress=progress),
            lambda rows: (render_fault_table(rows), fault_summary(rows, faults)),
        ),
        _Matrix(
            f"Outage matrix: {len(outages)} outages, then one re-send",
            lambda jobs, progress: run_outage_matrix(
                outages, timeout_seconds=args.timeout, jobs=jobs, progress=progress
            ),
            lambda rows: (render_outage_table(rows), outage_summary(rows)),
        ),
        _Matrix(
            f"Authorization matrix: {len(authorizations)} cases",
            lambda jobs, progress: run_authorization_matrix(
                authorizations, timeout_seconds=args.timeout, jobs=jobs, progress=progress
            ),
            lambda rows: (render_authorization_table(rows), authorization_summary(rows)),
        ),
        _Matrix(
            f"Cross-seller matrix: {len(ATTEMPTS)} attempts of a user of seller A against seller B's things",
            lambda jobs, progress: [run_cross_seller(timeout_seconds=args.timeout)],
            lambda rows: (render_cross_seller_table(rows[0]), cross_seller_summary(rows[0])),
        ),
    ]
    cross_seller = ATTEMPTS if everything or args.cross_seller else ()
    selections = (cases, campaigns, faults, outages, authorizations, cross_seller)
    chosen = [matrix for matrix, selected in zip(matrices, selections, strict=True) if selected]
    ok = True
    for position, matrix in enumerate(chosen):
        if position:
            print()
        ok = _print_matrix(matrix, args.jobs) and ok
    return 0 if ok else 1


Result = CaseResult | CampaignResult | FaultResult | OutageResult | AuthorizationResult


@dataclass(frozen=True)
class _Matrix:
    """One table: what it runs (``run(jobs, progress)``) and how its rows print (``show(rows)``: table, summary)."""

    title: str
    run: Callable[[int, Callable[[Any], None]], Sequence[Any]]
    show: Callable[[Any], tuple[str, str]]


def _progress(result: Result) -> None:
    verdict = "ok" if result.passed else "NOT AS EXPECTED"
    print(f"  {result.case_id:30} {result.actual:24} {result.seconds:5.1f} s  {verdict}", file=sys.stderr)


def _print_matrix(matrix: _Matrix, jobs: int) -> bool:
    print(f"{matrix.title}, a fresh local stack each, {jobs} at a time", file=sys.stderr)
    with quiet():
        rows: Sequence[Result] = matrix.run(jobs, _progress)
    table, summed_up = matrix.show(rows)
    print(table)
    print()
    print(summed_up)
    return all(row.passed for row in rows)


if __name__ == "__main__":
    sys.exit(main())
