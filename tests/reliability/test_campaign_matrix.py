"""The campaign bad-input matrix: each manifest uploaded under campaigns/ (and posted to POST /campaigns, after its dry
run) on a fresh local stack, the real campaign state machine (its Distributed Map of send executions) run against the
SP-API emulator, judged from the report CSV and the campaign record.

Every case is run by the same :func:`local_stack.reliability.campaign_runner.run_campaign_case` that ``python -m
local_stack reliability`` prints, so the command and the tests cannot drift apart.
"""

from __future__ import annotations

import inspect
from collections import Counter
from typing import Any

import pytest

from buyer_messaging import errors
from buyer_messaging.campaigns import api as campaigns_api
from local_stack.reliability import campaign_inputs, campaign_runner, cli, report, verdicts
from local_stack.reliability.campaign_inputs import FINISHED, CampaignCase, manifest_csv
from local_stack.reliability.verdicts import CampaignResult, DryRun


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
    if case.entry == "api":
        assert result.answered == case.status, result.cause
        assert result.dry_run is not None and result.dry_run.stored == (), "the dry run stored something"
        assert case.finishes or result.stored == (), "a refused POST stored something"
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
    assert [case.id for case in cases if case.positive] == [
        "campaign-quoted-newline",
        "campaign-bom",
        "campaign-quoted-newline-api",
        "campaign-bom-api",
    ]
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
    assert table[0].startswith(
        "| case | manifest | entry | expected | actual | cause | record | dry run | rows | sent |"
    )
    assert "3 rows \\| 3 sent" in table[2]
    assert table[2].endswith("| 3 | 3 | 0 | 0 | 0 | 3 | 0 | 0 | 0 | ✓ |")
    assert table[3].endswith("✗ 1 message(s) sent |")
    assert report.campaign_summary(rows) == (
        "1/2 campaign cases ended as expected (2 uploaded, 0 posted to the API, 0/0 dry runs agreeing and storing "
        "nothing); 1 messages sent by bad rows; 0 duplicate messages; 0 staged objects "
        "lost; 3 rows in 1/1 "
        "reports each accounted for (sent + failed + invalid = rows) (1 manifests refused, 1/1 positive controls "
        "delivered)"
    )


def test_the_command_prints_the_campaign_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--campaign", "campaign-header-only", "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "| `campaign-header-only` |" in printed
    assert "1/1 campaign cases ended as expected (1 uploaded, 0 posted to the API" in printed
    assert "; 0 messages sent by bad rows" in printed
    assert "Bad-input" not in printed and "fault kinds" not in printed

    with pytest.raises(SystemExit):
        cli.main(["--campaign", "no-such-case"])


# --- the HTTP API's entry ------------------------------------------------------------------------------------------


def test_the_api_cases_are_the_uploads_manifests_posted() -> None:
    uploads = {case.id: case for case in campaign_inputs.UPLOAD_CAMPAIGN_CASES}
    posted = campaign_inputs.API_CAMPAIGN_CASES
    assert all(case.entry == "campaign" for case in uploads.values())
    assert all(case.entry == "api" and case.id.endswith("-api") for case in posted)
    twins = {case.id.removesuffix("-api"): case for case in posted if case.id.removesuffix("-api") in uploads}
    # Every upload's case is posted too, unless its bytes are not UTF-8 (JSON text cannot carry them).
    not_text = set()
    for case in uploads.values():
        try:
            case.manifest_bytes().decode("utf-8")
        except UnicodeDecodeError:
            not_text.add(case.id)
    assert not_text == set(campaign_inputs.API_TAKES_TEXT) == {"campaign-latin1", "campaign-utf16"}
    assert set(twins) == set(uploads) - not_text
    for case_id, twin in twins.items():
        upload = uploads[case_id]
        assert twin.manifest is upload.manifest, "derived, not copied"
        assert (twin.fmt, twin.sent, twin.invalid_by, twin.failed_by) == (
            upload.fmt,
            upload.sent,
            upload.invalid_by,
            upload.failed_by,
        )
        assert twin.row_errors == upload.row_errors
        if upload.finishes:
            assert (twin.expected, twin.status) == (FINISHED, 202)
    whole_file = {twin.expected: twin.status for twin in twins.values() if twin.expected.startswith("Manifest")}
    assert whole_file == {"ManifestInvalid": 400, "ManifestTooLarge": 413}
    nested = campaign_inputs.campaign_case_by_id("campaign-nested-key-api")
    assert (nested.name, nested.expected, nested.status) == ("2026/december", "InvalidRequest", 400)
    own = {case.id: (case.expected, case.status) for case in posted if case.id.removesuffix("-api") not in uploads}
    assert own == {
        "campaign-manifest-not-text-api": ("InvalidRequest", 400),
        "campaign-format-xlsx-api": ("InvalidRequest", 400),
        "campaign-over-api-bytes-api": ("ManifestTooLarge", 413),
    }
    assert campaign_inputs.API_MAX_BYTES == campaigns_api.MANIFEST_MAX_BYTES
    over = campaign_inputs.campaign_case_by_id("campaign-over-api-bytes-api").manifest_bytes()
    assert len(over) > campaigns_api.MANIFEST_MAX_BYTES
    assert len(campaign_runner.manifest_rows(over, "csv")) <= campaign_inputs.ROW_LIMIT, "only the bytes are over"


def _posted(case: CampaignCase, lines: list[dict[str, str]], dry: DryRun | None, **changes: Any) -> CampaignResult:
    result = _result(case, lines)
    result.entry = "api"
    result.answered = case.status
    result.dry_run = dry
    for name, value in changes.items():
        setattr(result, name, value)
    return result


def test_the_api_verdict_judges_the_answer_the_dry_run_and_what_was_stored() -> None:
    case = campaign_inputs.campaign_case_by_id("campaign-duplicate-row-api")
    lines = _lines(
        (1, "sent", "", ""),
        (2, "failed", "MessageTypeNotAvailable", "not now"),
        (3, "invalid", "DuplicateRow", "Row 3 repeats row 1"),
    )
    case = CampaignCase(**{**vars(case), "sent": 1, "failed_by": {"MessageTypeNotAvailable": 1}})
    record = {"status": "finished", "rows": 3, "sent": 1, "failed": 1, "unknown": 0, "invalid": 1}
    # A row Amazon refuses at the send (row 2) is "ready" in the dry run: only the send can know.
    agreeing = DryRun(200, "", {1: "", 2: "", 3: "DuplicateRow"})
    assert verdicts.judge_campaign(case, _posted(case, lines, agreeing), lines, record) == []

    wrong = {
        "another status": ({"answered": 200}, "POST /campaigns answered 200, expected 202"),
        "no dry run": ({"dry_run": None}, "no dry run"),
        "a dry run that stored": (
            {"dry_run": DryRun(200, "", agreeing.rows, ("s3://bucket/campaigns/x.csv",))},
            "the dry run stored s3://bucket/campaigns/x.csv",
        ),
        "a dry run that passed a bad row": (
            {"dry_run": DryRun(200, "", {**agreeing.rows, 3: ""})},
            "the dry run disagrees with the run on 1 row(s) (dry run / run): row 3 '' / 'DuplicateRow'",
        ),
        "a dry run that named another error": (
            {"dry_run": DryRun(200, "", {**agreeing.rows, 3: "InvalidRequest"})},
            "row 3 'InvalidRequest' / 'DuplicateRow'",
        ),
        "a dry run that missed a row": (
            {"dry_run": DryRun(200, "", {1: "", 2: ""})},
            "row 3 None / 'DuplicateRow'",
        ),
        "a dry run refused": (
            {"dry_run": DryRun(400, "ManifestInvalid", {})},
            "the dry run answered 400 ManifestInvalid, expected 200 and each row's verdict",
        ),
    }
    for what, (changes, problem) in wrong.items():
        problems = verdicts.judge_campaign(case, _posted(case, lines, agreeing, **changes), lines, record)
        assert any(problem in found for found in problems), (what, problems)


def test_a_refused_post_must_store_nothing_and_its_dry_run_refuse_alike() -> None:
    case = campaign_inputs.campaign_case_by_id("campaign-empty-api")
    dry = DryRun(400, "ManifestInvalid", {})
    refused = CampaignResult(**{**vars(_refused(case.id, "400 The manifest is empty.")), "entry": "api"})
    refused.answered, refused.dry_run = 400, dry
    assert verdicts.judge_campaign(case, refused, [], {}) == []

    stored = CampaignResult(**{**vars(refused), "stored": ("s3://bucket/campaigns/campaign-empty-api.csv",)})
    assert verdicts.judge_campaign(case, stored, [], {}) == [
        "the refused POST stored s3://bucket/campaigns/campaign-empty-api.csv"
    ]
    previewed = CampaignResult(**{**vars(refused), "dry_run": DryRun(200, "", {})})
    assert verdicts.judge_campaign(case, previewed, [], {}) == [
        "the dry run answered 200 , expected 400 ManifestInvalid"
    ]


def test_the_table_shows_the_apis_answer_its_dry_run_and_what_cannot_be_posted() -> None:
    posted = campaign_inputs.campaign_case_by_id("campaign-duplicate-row-api")
    latin1 = campaign_inputs.campaign_case_by_id("campaign-latin1")
    lines = _lines((1, "sent", "", ""), (2, "sent", "", ""), (3, "invalid", "DuplicateRow", "repeats row 1"))
    rows = [
        _posted(posted, lines, DryRun(200, "", {1: "", 2: "", 3: "DuplicateRow"})),
        _refused(latin1.id, "The manifest is not UTF-8 text."),
    ]
    table = report.render_campaign_table(rows).splitlines()
    assert len(table) == 2 + len(rows) + 1
    assert "| api 202 | finished | finished | 3 rows | finished | 200: 2 ready, 1 invalid | 3 | 2 |" in table[2]
    assert "| campaign | ManifestInvalid | ManifestInvalid |" in table[3] and "| — | 0 |" in table[3]
    assert table[4].startswith("| `campaign-latin1` | a manifest in Latin-1 ('Grüße'), not UTF-8 | api | — | not run ")
    assert "cannot carry bytes that are not UTF-8" in table[4]
    assert report.campaign_summary(rows).startswith(
        "2/2 campaign cases ended as expected (1 uploaded, 1 posted to the API, 1/1 dry runs agreeing and storing "
        "nothing); "
    )
