"""The fault matrix: each fault kind against a good invoice request on a fresh local stack.

Every kind is run by the same :func:`local_stack.reliability.runner.run_fault_case` that ``python -m local_stack
reliability`` prints, so the command and the tests cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.reliability import faults, report, runner
from local_stack.reliability.faults import DELIVERED_ONCE, FaultCase
from local_stack.reliability.verdicts import FaultResult


@pytest.fixture(autouse=True)
def no_sp_api_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit tests' fake SP-API endpoint is not the emulator each case starts."""
    for name in ("SPAPI_ENDPOINT", "LWA_TOKEN_URL", "UPLOAD_URL_ALLOWED_HOSTS", "SPAPI_READ_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


def _run(case_id: str) -> tuple[FaultCase, FaultResult]:
    case = faults.fault_case_by_id(case_id)
    result = runner.run_fault_case(case)
    assert result.actual == case.expected, f"{case.injected}: {result.cause}"
    assert result.messages_sent == (1 if case.transient else 0)
    assert result.staged_lost == 0, "a staged object is gone"
    assert result.problems == []  # the runner's verdict: destinations, send calls, executions, retries
    return case, result


def test_throttled_actions_are_retried_and_delivered_once() -> None:
    _, result = _run("throttled-actions")
    assert result.retries == 4


def test_a_throttled_send_is_retried_and_delivered_once() -> None:
    _, result = _run("throttled-send")
    assert result.retries == 4
    assert result.send_calls == 5  # four 429s and the one that went through


def test_destination_server_errors_are_retried_and_delivered_once() -> None:
    _, result = _run("destination-5xx")
    assert result.retries == 2
    assert result.destinations == 1


def test_an_upload_503_is_retried_and_delivered_once() -> None:
    _, result = _run("upload-503")
    assert result.retries == 1


def test_an_upload_s3_times_out_with_a_400_is_retried_and_delivered_once() -> None:
    _, result = _run("upload-request-timeout")
    assert result.retries == 1
    assert result.destinations == 1


def test_a_send_without_an_answer_is_recorded_unknown_and_not_sent_again() -> None:
    """The request left and no answer came: Amazon may have the message, so no retry may send it again."""
    _, result = _run("send-timeout")
    assert result.retries == 1  # the one attempt that ended it: SendMessage was not tried again
    assert result.record == "unknown SendOutcomeUnknown"


def test_an_lwa_outage_is_retried_and_delivered_once() -> None:
    _, result = _run("lwa-down")
    assert result.retries == 2


def test_a_refused_refresh_token_ends_in_lwa_invalid_grant_and_sends_nothing() -> None:
    _, result = _run("lwa-invalid-grant")
    assert result.actual == "LwaInvalidGrant"
    assert result.send_calls == 0
    assert result.destinations == 0


def test_a_bad_digest_upload_ends_in_upload_rejected_and_sends_nothing() -> None:
    _, result = _run("upload-bad-digest")
    assert "BadDigest" in result.cause
    assert result.send_calls == 0


def test_an_expired_destination_is_recreated_and_delivered_once() -> None:
    _, result = _run("destination-expired")
    assert result.destinations == 2


def test_a_deleted_staged_object_ends_in_attachment_not_found_and_loses_nothing_else() -> None:
    _, result = _run("object-deleted")
    assert result.actual == "AttachmentNotFound"
    assert result.send_calls == 0


def test_a_replaced_staged_object_ends_in_attachment_changed() -> None:
    _, result = _run("object-replaced")
    assert result.actual == "AttachmentChanged"
    assert result.send_calls == 0


def test_a_duplicate_s3_event_starts_one_execution_and_delivers_once() -> None:
    _, result = _run("duplicate-s3-event")
    assert result.executions == 1


def test_a_crash_after_the_send_is_retried_without_a_second_send() -> None:
    _, result = _run("crash-after-send")
    assert result.send_calls == 1
    assert result.retries == 1


def test_the_fault_matrix_has_at_least_10_kinds_each_tested_here() -> None:
    ids = [case.id for case in faults.FAULT_CASES]
    assert len(ids) >= 10
    assert len(set(ids)) == len(ids), "fault kind ids must be unique"
    assert any(case.transient for case in faults.FAULT_CASES)
    assert any(not case.transient for case in faults.FAULT_CASES)
    source = Path(__file__).read_text(encoding="utf-8").splitlines()
    tested = {line.split('"')[1] for line in source if '_run("' in line}
    assert set(ids) <= tested, f"fault kinds without a test: {set(ids) - tested}"


def test_the_fault_table_and_summary_show_every_row() -> None:
    rows = [
        FaultResult("throttled-send", "sendInvoice 429 x4", DELIVERED_ONCE, DELIVERED_ONCE, "sent", 4, 1, 1, 0),
        FaultResult("upload-bad-digest", "400", "UploadRejected", "UploadRejected", "a | b", 1, 1, 1, 0),
    ]
    rows[1].problems = ["x"]
    table = report.render_fault_table(rows).splitlines()
    assert len(table) == 2 + len(rows)
    assert "a \\| b" in table[3]
    assert table[3].endswith("✗ x |")
    line = report.fault_summary(rows)
    assert line.startswith("1/2 fault kinds ended as expected; 1/1 transient faults delivered once; 1 messages sent")
