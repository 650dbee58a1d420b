"""The authorization matrix, each case on a fresh local stack, run by the same
:func:`local_stack.reliability.authorization_runner.run_authorization_case` that ``make reliability`` runs: a seller's
authorization lost mid-burst (held, then every message sent once after the OAuth flow), the hold's deadline, the
OAuth flow's refusals and renewal, the expiring warning."""

from __future__ import annotations

import pytest

from local_stack.reliability import authorization_cases, report
from local_stack.reliability.authorization_runner import SCENARIOS, AuthorizationResult, run_authorization_case


@pytest.mark.parametrize("case_id", [case.id for case in authorization_cases.AUTHORIZATION_CASES])
def test_each_authorization_case_ends_as_it_must(case_id: str) -> None:
    case = authorization_cases.authorization_case_by_id(case_id)

    result = run_authorization_case(case)

    assert (result.actual, result.passed) == (case.expected, True), result.detail


def test_the_mid_burst_case_says_what_was_held_and_delivered() -> None:
    result = run_authorization_case(authorization_cases.authorization_case_by_id("revoked-mid-burst"))

    assert result.detail.endswith("10/10 succeeded; 10 delivered, 10 distinct; 1 SellerAuthorizationLost")


def test_every_case_is_played_and_a_wrong_ending_is_reported_as_failed() -> None:
    assert set(SCENARIOS) == {case.id for case in authorization_cases.AUTHORIZATION_CASES}
    wrong = AuthorizationResult("hold-deadline", "lost", "SellerNeedsAuthorization", "SUCCEEDED", "1 delivered", 1.0)
    assert not wrong.passed
    table = report.render_authorization_table([wrong])
    assert table.splitlines()[-1] == (
        "| `hold-deadline` | lost | SellerNeedsAuthorization | SUCCEEDED | 1 delivered | ✗ |"
    )
    assert report.authorization_summary([wrong]) == "0/1 authorization cases ended as they must"


def test_the_command_prints_the_authorization_table(capsys: pytest.CaptureFixture[str]) -> None:
    from local_stack.reliability import cli

    assert cli.main(["--authorization", "oauth-forged-state", "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert (
        "| `oauth-forged-state` | a state the app never issued | AuthorizationStateInvalid "
        "| AuthorizationStateInvalid |" in printed
    )
    assert "1/1 authorization cases ended as they must" in printed
    with pytest.raises(SystemExit):
        cli.main(["--authorization", "no-such-case"])
