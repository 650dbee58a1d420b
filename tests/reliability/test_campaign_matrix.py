"""The campaign bad-input matrix: each manifest uploaded under campaigns/ on a fresh local stack, the real campaign
state machine (its Distributed Map of send executions) run against the SP-API emulator, judged from the report CSV
and the campaign record.

Every case is run by the same :func:`local_stack.reliability.campaign_runner.run_campaign_case` that ``python -m
local_stack reliability`` prints, so the command and the tests cannot drift apart.
"""

from __future__ import annotations

import inspect
from collections import Counter
from typing import Any

import pytest

from buyer_messaging import errors
from local_stack.reliability import campaign_inputs, campaign_runner, cli, report, verdicts
from local_stack.reliability.campaign_inputs import FINISHED, CampaignCase, manifest_csv
from local_stack.reliability.verdicts import CampaignResult


@pytest.fixture(autouse=True)
def no_sp_api_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit tests' fake SP-API endpoint is not the emulator each case starts."""
    for name in ("SPAPI_ENDPOINT", "LWA_TOKEN_URL", "UPLOAD_URL_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("case", campaign_inputs.CAMPAIGN_CASES, ids=lambda case: case.id)
def test_campaign_case_ends_as_expected(case: CampaignCase) -> None:
    result = campaign_runner.run_campaign_case(case)

    assert result.actual == case.expected, f"{case.description}: {result.cause}"
    assert result.staged_lost == 0, "the manifest or an attachment is gone"
    assert result.stray_messages == 0, "a bad row (or a second copy) reached the buyer"
    if case.finishes:
        assert result.messages_sent == case.sent
        assert result.statuses["sent"] == case.sent
        assert result.rows == case.rows, "a row is missing from the report"
    else:
        assert case.cause_contains.lower() in result.cause.lower(), result.cause
        assert result.messages_sent == 0
        assert result.send_executions == 0, "a row of a refused manifest started"
    assert result.problems == []  # the runner's verdict: every line of the report, the record's counts


def test_the_matrix_has_the_issues_cases_with_existing_error_names() -> None:
    cases = campaign_inputs.CAMPAIGN_CASES
    assert len({case.id for case in cases}) == len(cases), "case ids must be unique"
    names = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.BuyerMessagingError)
    }
    expected = {case.expected for case in cases} - {FINISHED}
    row_errors = {error for case in cases for error in (*case.invalid_by, *case.failed_by)}
    assert expected | row_errors <= names
    assert {"ManifestInvalid", "ManifestTooLarge", "UnsupportedS3Key"} <= expected
    assert {"DuplicateRow", "AttachmentNotFound", "InvalidRequest", "MessageTypeNotAvailable"} <= row_errors
    assert all(case.cause_contains for case in cases if not case.finishes)
    assert [case.id for case in cases if case.positive] == ["campaign-quoted-newline", "campaign-bom"]
    mixed = campaign_inputs.campaign_case_by_id("campaign-1000-bad-rows")
    assert sum(mixed.invalid_by.values()) == 1000
    assert mixed.sent >= 10
    assert mixed.rows == len(campaign_runner.manifest_rows(mixed.manifest_bytes(), "csv"))


def test_the_oracle_numbers_rows_as_a_seller_counts_them() -> None:
    """A quoted line break stays in its row, a BOM is no part of the first column, a blank line is no row."""
    data = b"\xef\xbb\xbf" + manifest_csv([("1", "m", "t", "a\nb"), ("", "", "", ""), ("2", "m", "t", "c")])
    assert campaign_runner.manifest_rows(data, "csv") == {1: ("1", "t", "a\nb"), 2: ("2", "t", "c")}
    lines = b'{"amazonOrderId": "1", "text": "a"}\n\n{not json\n'
    assert campaign_runner.manifest_rows(lines, "jsonl") == {1: ("1", "", "a"), 2: ("", "", "")}


def _lines(*rows: tuple[int, str, str, str]) -> list[dict[str, str]]:
    return [{"row": str(row), "status": status, "error": error, "cause": cause} for row, status, error, cause in rows]


def _result(case: CampaignCase, lines: list[dict[str, str]], **changes: int) -> CampaignResult:
    return CampaignResult(
        case.id,
        case.entry,
        case.expected,
        case.expected,
        "3 rows",
        Counter(line["status"] for line in lines),
        "finished",
        messages_sent=changes.get("messages_sent", case.sent),
        duplicates=changes.get("duplicates", 0),
        stray_messages=changes.get("stray_messages", 0),
        undelivered=changes.get("undelivered", 0),
        staged_lost=changes.get("staged_lost", 0),
    )


def test_the_verdict_reads_every_line_of_the_report_and_the_record() -> None:
    case = campaign_inputs.campaign_case_by_id("campaign-duplicate-row")
    lines = _lines((1, "sent", "", ""), (2, "sent", "", ""), (3, "invalid", "DuplicateRow", "Row 3 repeats row 1: …"))
    record = {"status": "finished", "rows": 3, "sent": 2, "failed": 0, "unknown": 0, "invalid": 1}
    assert verdicts.judge_campaign(case, _result(case, lines), lines, record) == []

    wrong = {
        "a row left out of the report": (lines[:2], record, {}),
        "a bad row without its cause": ([*lines[:2], {**lines[2], "cause": " "}], record, {}),
        "the record's counts not the report's": (lines, {**record, "invalid": 0}, {}),
        "a bad row's message delivered": (lines, record, {"stray_messages": 1}),
        "a row's message delivered twice": (lines, record, {"duplicates": 1}),
        "a row reported sent, not delivered": (lines, record, {"undelivered": 1}),
        "the manifest lost": (lines, record, {"staged_lost": 1}),
        "a run that did not finish": (lines, {**record, "status": "running"}, {}),
        "a row failed for another reason": ([*lines[:2], {**lines[2], "error": "InvalidRequest"}], record, {}),
    }
    for what, (given, counted, changes) in wrong.items():
        assert verdicts.judge_campaign(case, _result(case, given, **changes), given, counted), what


def _refused(case_id: str, cause: str, **changes: Any) -> CampaignResult:
    counts = {"messages_sent": 0, "duplicates": 0, "stray_messages": 0, "undelivered": 0, "staged_lost": 0}
    return CampaignResult(
        case_id,
        "campaign",
        "ManifestInvalid",
        "ManifestInvalid",
        cause,
        Counter(),
        "failed ManifestInvalid",
        **{**counts, **changes},
    )


def test_a_refused_manifest_that_sent_or_started_anything_fails_its_case() -> None:
    case = campaign_inputs.campaign_case_by_id("campaign-empty")
    result = _refused(case.id, "The manifest is empty.")
    assert verdicts.judge_campaign(case, result, [], {}) == []
    for change in ({"messages_sent": 1}, {"send_executions": 1}, {"cause": "Traceback (most recent call last)"}):
        changed = CampaignResult(**{**vars(result), **change})
        assert verdicts.judge_campaign(case, changed, [], {}), change


def test_the_table_and_summary_show_every_row() -> None:
    good = campaign_inputs.campaign_case_by_id("campaign-bom")
    refused = campaign_inputs.campaign_case_by_id("campaign-empty")
    rows = [
        CampaignResult(
            good.id, "campaign", FINISHED, FINISHED, "3 rows | 3 sent", Counter(sent=3), "finished", 3, 0, 0, 0, 0
        ),
        _refused(refused.id, "empty", messages_sent=1, stray_messages=1, problems=["1 message(s) sent"]),
    ]
    table = report.render_campaign_table(rows).splitlines()
    assert len(table) == 2 + len(rows)
    assert table[0].startswith("| case | manifest | entry | expected | actual | cause | record | rows | sent |")
    assert "3 rows \\| 3 sent" in table[2]
    assert table[2].endswith("| 3 | 3 | 0 | 0 | 0 | 3 | 0 | 0 | 0 | ✓ |")
    assert table[3].endswith("✗ 1 message(s) sent |")
    assert report.campaign_summary(rows) == (
        "1/2 campaign cases ended as expected; 1 messages sent by bad rows; 0 duplicate messages; 0 staged objects "
        "lost; 3 rows in 1/1 "
        "reports each accounted for (sent + failed + invalid = rows) (1 manifests refused, 1/1 positive controls "
        "delivered)"
    )


def test_the_command_prints_the_campaign_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--campaign", "campaign-header-only", "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "| `campaign-header-only` |" in printed
    assert "1/1 campaign cases ended as expected; 0 messages sent by bad rows" in printed
    assert "Bad-input" not in printed and "fault kinds" not in printed

    with pytest.raises(SystemExit):
        cli.main(["--campaign", "no-such-case"])
