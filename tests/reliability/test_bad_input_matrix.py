"""The bad-input matrix: each case through the real state machine on a fresh local stack.

Every case is run by the same :func:`local_stack.reliability.runner.run_case` that ``python -m local_stack
reliability`` prints, so the command and the tests cannot drift apart.
"""

from __future__ import annotations

import inspect

import pytest

from buyer_messaging import errors, trigger
from local_stack.reliability import bad_inputs, cli, report, runner, verdicts
from local_stack.reliability.bad_inputs import DELIVERED, BadInputCase
from local_stack.reliability.verdicts import CaseResult


@pytest.fixture(autouse=True)
def no_sp_api_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit tests' fake SP-API endpoint is not the emulator each case starts."""
    for name in ("SPAPI_ENDPOINT", "LWA_TOKEN_URL", "UPLOAD_URL_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)


def _params() -> list[object]:
    params: list[object] = []
    for case in bad_inputs.CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.known_issue)] if case.known_issue else []
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


def _error_names() -> set[str]:
    return {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.BuyerMessagingError)
    }


@pytest.mark.parametrize("case", _params())
def test_case_ends_as_expected(case: BadInputCase) -> None:
    result = runner.run_case(case)

    assert result.actual == case.expected, f"{case.description}: {result.cause}"
    assert result.staged_lost == 0, "a staged object is gone"
    if case.entry == "api":
        assert result.answered == case.status, f"{case.description}: {result.cause}"
    if case.positive:
        assert result.messages_sent == 1
    else:
        assert result.cause.strip(), "no cause"
        assert "Traceback" not in result.cause
        assert case.cause_contains.lower() in result.cause.lower(), result.cause
        assert result.messages_sent == 0, "bad input reached the buyer"
        assert result.uploads == 0, "a file was uploaded before the input was refused"
    assert result.problems == []  # the runner's verdict (positive controls: each file's MD5 as staged)


def test_the_matrix_has_at_least_30_bad_inputs_with_existing_error_names() -> None:
    bad = bad_inputs.BAD_CASES
    assert len(bad) >= 30
    assert len({case.id for case in bad_inputs.CASES}) == len(bad_inputs.CASES), "case ids must be unique"
    unknown = {case.expected for case in bad} - _error_names()
    assert not unknown, f"not errors of buyer_messaging.errors: {unknown}"
    assert all(case.cause_contains for case in bad), "every bad case names what its cause must mention"
    assert all(case.description for case in bad_inputs.CASES)
    assert {case.entry for case in bad_inputs.CASES} == {"outbox", "request", "console", "event", "api"}
    assert [case.id for case in bad_inputs.CASES if case.positive], "positive controls are part of the matrix"
    assert all(case.delivered for case in bad_inputs.CASES if case.positive)


def test_the_api_cases_try_every_prefix_of_the_bucket_and_every_hostile_body() -> None:
    api = [case for case in bad_inputs.BAD_CASES if case.entry == "api"]
    assert all(case.path and case.status for case in api)
    refused_keys = [case.document["attachments"][0]["key"] for case in api if case.expected == "InvalidAttachments"]
    # Each is a real object (except the traversal, which names none): refused for its key, not for being missing.
    assert {key for key in refused_keys if ".." not in key} <= {key for case in api for key in case.staged}
    for prefix in (trigger.OUTBOX_PREFIX, trigger.REQUESTS_PREFIX, "attachments/", "other/"):
        assert any(key.startswith(prefix) for key in refused_keys), prefix
    causes = {case.cause_contains for case in api}
    assert {"deeper than 20 levels", "not UTF-8 JSON", "Content-Type: application/json"} <= causes
    assert any("not valid Unicode text" in cause for cause in causes)
    assert {case.status for case in api} == {400, 415}
    assert [case.id for case in bad_inputs.CASES if case.entry == "api" and case.positive] == ["api-staged-file"]


def test_the_table_and_summary_show_every_row() -> None:
    rows = [
        CaseResult("zero-byte-file", "request", "InvalidAttachments", "InvalidAttachments", "empty | 0 bytes", 0, 0),
        CaseResult("umlaut-outbox", "outbox", DELIVERED, DELIVERED, "the message was sent", 1, 0),
        CaseResult("text-html", "console", "InvalidMessageText", "InvalidRequest", "x", 1, 2, problems=["wrong"]),
        CaseResult("known", "console", "InvalidRequest", "States.Runtime", "y", 0, 0, problems=["not yet"]),
    ]
    cases = [*bad_inputs.CASES, BadInputCase("known", "a known issue", "console", "InvalidRequest", known_issue="x")]
    table = report.render_table(rows, cases).splitlines()

    assert len(table) == 2 + len(rows)
    assert table[0].startswith("| case | input | entry | expected | actual | cause |")
    assert "empty \\| 0 bytes" in table[2]  # a cell never breaks the Markdown table
    assert table[4].endswith("✗ wrong |")
    assert table[5].endswith("✗ known issue: not yet |")
    line = report.summary(rows, cases)
    assert line.startswith("2/4 cases ended as expected; 1 messages sent by bad input; 2 staged objects lost")
    assert line.endswith("; 1 known issue not fixed yet")


def test_the_command_prints_the_table_and_fails_on_a_failed_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--case", "outbox-too-few-parts", "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "| `outbox-too-few-parts` |" in printed
    assert "1/1 cases ended as expected; 0 messages sent by bad input; 0 staged objects lost" in printed

    with pytest.raises(SystemExit):
        cli.main(["--case", "no-such-case"])


def test_an_execution_without_a_record_that_says_how_it_ended_fails_its_case() -> None:
    case = next(case for case in bad_inputs.CASES if case.expected == "InvalidAttachments")
    result = CaseResult(case.id, case.entry, case.expected, case.expected, case.cause_contains, 0, 0)
    for record, ok in [
        ("failed InvalidAttachments", True),
        (verdicts.NO_RECORD, False),
        ("received", False),
        ("failed InvalidRequest", False),
        ("sent", False),
        (verdicts.NO_EXECUTION, True),  # nothing started: nothing to record
    ]:
        result.record = record
        assert (verdicts.judge(case, result) == []) is ok, record
