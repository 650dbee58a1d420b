"""The outage matrix: each outage (Amazon down past the retry budget, then back) and one re-send after it, on a fresh
local stack, run by the same :func:`local_stack.reliability.outage_runner.run_outage_case` that ``make reliability``
runs: every failed message re-sent and delivered once, none twice, a second re-send starting nothing."""

from __future__ import annotations

import pytest

from local_stack.reliability import cli, outages, report
from local_stack.reliability.outage_runner import OutageResult, run_outage_case
from local_stack.reliability.outages import MESSAGES, RESENT_ONCE


@pytest.mark.parametrize("case_id", [case.id for case in outages.OUTAGE_CASES])
def test_each_outage_ends_with_every_failed_message_resent_once(case_id: str) -> None:
    result = run_outage_case(outages.outage_case_by_id(case_id))

    assert result.problems == []
    assert (result.actual, result.failed, result.delivered_once, result.delivered_twice, result.executions) == (
        RESENT_ONCE,
        MESSAGES,
        MESSAGES,
        0,
        2 * MESSAGES,
    )
    assert result.first_run == f"{MESSAGES} selected; re-sent {MESSAGES}; failed to start 0."
    assert result.second_run == f"{MESSAGES} selected; re-sent 0; failed to start 0."


def test_the_outage_table_covers_lwa_and_the_sp_api_down_and_a_crash() -> None:
    cases = outages.OUTAGE_CASES
    assert len({case.id for case in cases}) == len(cases)
    assert {(case.operation, case.error) for case in cases} == {
        ("lwaToken", "LwaUnavailable"),
        ("getMessagingActionsForOrder", "SpApiUnavailable"),
    }
    assert [case.id for case in cases if case.crash_before_mark] == ["lwa-down-crash-before-mark"]


def test_a_case_that_delivered_twice_is_reported_as_failed() -> None:
    row = OutageResult("x", "lwaToken 503", RESENT_ONCE, actual="1 messages delivered twice", failed=4)
    row.problems = ["1 messages delivered twice"]
    assert report.render_outage_table([row]).splitlines()[-1].endswith("| ✗ |")
    assert (
        report.outage_summary([row])
        == "0/1 outages ended as expected; 0/4 failed messages re-sent and delivered once; 0 delivered twice"
    )


def test_the_command_runs_only_the_outages_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--outage", "spapi-down-an-hour", "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "| `spapi-down-an-hour` |" in printed
    assert printed.strip().endswith(
        "1/1 outages ended as expected; 4/4 failed messages re-sent and delivered once; 0 delivered twice"
    )
    assert "fault kinds" not in printed
