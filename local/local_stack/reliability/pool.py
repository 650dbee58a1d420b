"""Every case of a table, each on a fresh stack of its own, in one process or several."""

from __future__ import annotations

import logging
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack, contextmanager
from typing import Protocol, TypeVar

from local_stack.reliability.authorization_cases import (
    AUTHORIZATION_CASES,
    AuthorizationCase,
    authorization_case_by_id,
)
from local_stack.reliability.authorization_runner import AuthorizationResult, run_authorization_case
from local_stack.reliability.bad_inputs import CASES, BadInputCase, case_by_id
from local_stack.reliability.campaign_inputs import CAMPAIGN_CASES, CampaignCase, campaign_case_by_id
from local_stack.reliability.campaign_runner import run_campaign_case
from local_stack.reliability.faults import FAULT_CASES, FaultCase, fault_case_by_id
from local_stack.reliability.outage_runner import OutageResult, run_outage_case
from local_stack.reliability.outages import OUTAGE_CASES, OutageCase, outage_case_by_id
from local_stack.reliability.runner import run_case, run_fault_case
from local_stack.reliability.verdicts import CampaignResult, CaseResult, FaultResult


def run_bad_input_matrix(
    cases: Sequence[BadInputCase] = CASES,
    *,
    timeout_seconds: float = 60.0,
    jobs: int = 1,
    progress: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Every case on a fresh stack of its own, in case order; ``jobs`` > 1 runs them in that many processes
    (moto is process-wide, so one process runs one case at a time). ``progress(result)`` after each case."""
    return _run_all(run_case, _run_case_by_id, cases, timeout_seconds, jobs, progress)


def run_fault_matrix(
    cases: Sequence[FaultCase] = FAULT_CASES,
    *,
    timeout_seconds: float = 60.0,
    jobs: int = 1,
    progress: Callable[[FaultResult], None] | None = None,
) -> list[FaultResult]:
    """Every fault kind on a fresh stack of its own, in case order (``jobs`` as for the bad-input matrix)."""
    return _run_all(run_fault_case, _run_fault_by_id, cases, timeout_seconds, jobs, progress)


def run_campaign_matrix(
    cases: Sequence[CampaignCase] = CAMPAIGN_CASES,
    *,
    timeout_seconds: float = 120.0,
    jobs: int = 1,
    progress: Callable[[CampaignResult], None] | None = None,
) -> list[CampaignResult]:
    """Every campaign case on a fresh stack of its own, in case order (``jobs`` as for the bad-input matrix)."""
    return _run_all(run_campaign_case, _run_campaign_by_id, cases, timeout_seconds, jobs, progress)


def run_outage_matrix(
    cases: Sequence[OutageCase] = OUTAGE_CASES,
    *,
    timeout_seconds: float = 60.0,
    jobs: int = 1,
    progress: Callable[[OutageResult], None] | None = None,
) -> list[OutageResult]:
    """Every outage on a fresh stack of its own, in case order (``jobs`` as for the bad-input matrix)."""
    return _run_all(run_outage_case, _run_outage_by_id, cases, timeout_seconds, jobs, progress)


def run_authorization_matrix(
    cases: Sequence[AuthorizationCase] = AUTHORIZATION_CASES,
    *,
    timeout_seconds: float = 60.0,
    jobs: int = 1,
    progress: Callable[[AuthorizationResult], None] | None = None,
) -> list[AuthorizationResult]:
    """Every authorization case on a fresh stack of its own, in case order (``jobs`` as for the bad-input matrix)."""
    return _run_all(run_authorization_case, _run_authorization_by_id, cases, timeout_seconds, jobs, progress)


class _Case(Protocol):
    @property
    def id(self) -> str: ...


class _Result(Protocol):
    @property
    def case_id(self) -> str: ...


CaseT = TypeVar("CaseT", bound=_Case)
ResultT = TypeVar("ResultT", bound=_Result)


def _run_all(
    run_one: Callable[..., ResultT],
    run_by_id: Callable[[str, float], ResultT],
    cases: Sequence[CaseT],
    timeout_seconds: float,
    jobs: int,
    progress: Callable[[ResultT], None] | None,
) -> list[ResultT]:
    if jobs <= 1 or len(cases) <= 1:
        results = []
        for case in cases:
            result = run_one(case, timeout_seconds=timeout_seconds)
            if progress is not None:
                progress(result)
            results.append(result)
        return results
    context = multiprocessing.get_context("spawn")  # no fork of a process with moto's patches and threads
    by_id: dict[str, ResultT] = {}
    # A case travels to its worker as its id: the cases' hooks (functions, lambdas) need not be picklable.
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_setup) as pool:
        futures = [pool.submit(run_by_id, case.id, timeout_seconds) for case in cases]
        for future in as_completed(futures):
            result = future.result()
            by_id[result.case_id] = result
            if progress is not None:
                progress(result)
    return [by_id[case.id] for case in cases]


def _run_case_by_id(case_id: str, timeout_seconds: float) -> CaseResult:
    return run_case(case_by_id(case_id), timeout_seconds=timeout_seconds)


def _run_fault_by_id(case_id: str, timeout_seconds: float) -> FaultResult:
    return run_fault_case(fault_case_by_id(case_id), timeout_seconds=timeout_seconds)


def _run_campaign_by_id(case_id: str, timeout_seconds: float) -> CampaignResult:
    return run_campaign_case(campaign_case_by_id(case_id), timeout_seconds=timeout_seconds)


def _run_outage_by_id(case_id: str, timeout_seconds: float) -> OutageResult:
    return run_outage_case(outage_case_by_id(case_id), timeout_seconds=timeout_seconds)


def _run_authorization_by_id(case_id: str, timeout_seconds: float) -> AuthorizationResult:
    return run_authorization_case(authorization_case_by_id(case_id), timeout_seconds=timeout_seconds)


_WORKER_QUIET: ExitStack | None = None


def _worker_setup() -> None:
    global _WORKER_QUIET  # noqa: PLW0603  (quiet for the worker process's whole life)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    _WORKER_QUIET = ExitStack()
    _WORKER_QUIET.enter_context(quiet())


@contextmanager
def quiet() -> Iterator[None]:
    """The functions' JSON logs and metrics would bury the table."""
    from buyer_messaging.observability import logger

    handler = logger.registered_handler
    saved_metrics = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    with open(os.devnull, "w", encoding="utf-8") as devnull, warnings.catch_warnings():
        saved_stream = handler.setStream(devnull) if isinstance(handler, logging.StreamHandler) else None
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        try:
            yield
        finally:
            if saved_metrics is None:
                os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
            else:
                os.environ["POWERTOOLS_METRICS_DISABLED"] = saved_metrics
            if saved_stream is not None and isinstance(handler, logging.StreamHandler):
                handler.setStream(saved_stream)
