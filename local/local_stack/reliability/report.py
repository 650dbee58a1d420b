"""The matrices as Markdown tables, and the one line that sums each up."""

from __future__ import annotations

import re
from collections.abc import Sequence

from local_stack.reliability.authorization_runner import AuthorizationResult
from local_stack.reliability.bad_inputs import CASES, BadInputCase
from local_stack.reliability.campaign_inputs import API_TAKES_TEXT, CAMPAIGN_CASES, CampaignCase
from local_stack.reliability.cross_seller import CrossSellerRun
from local_stack.reliability.faults import FAULT_CASES, FaultCase
from local_stack.reliability.outage_runner import OutageResult
from local_stack.reliability.verdicts import REPORT_STATUSES, CampaignResult, CaseResult, FaultResult, one_line

CAUSE_WIDTH = 150
_STAGING_BUCKET_NAME = re.compile(r"buyer-messaging-[0-9]{12}-[a-z0-9-]+?-[0-9a-f]{8}")


def _cell(text: str, width: int | None = None) -> str:
    text = _STAGING_BUCKET_NAME.sub("<bucket>", one_line(text))
    if width is not None and len(text) > width:
        text = text[: width - 1].rstrip() + "…"
    return text.replace("|", "\\|")


def render_table(rows: Sequence[CaseResult], cases: Sequence[BadInputCase] = CASES) -> str:
    """The results as a Markdown table: one row per case, what it was, how it ended, what it cost."""
    described = {case.id: case.description for case in cases}
    known = {case.id for case in cases if case.known_issue}
    lines = [
        "| case | input | entry | expected | actual | cause | record | sent | uploaded | lost | ok |",
        "| --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        lines.append(
            f"| `{row.case_id}` | {_cell(described.get(row.case_id, ''))} | {row.entry} | {row.expected} "
            f"| {row.actual} | {_cell(row.cause, CAUSE_WIDTH)} | {row.record} "
            f"| {row.messages_sent} | {row.uploads} | {row.staged_lost} "
            f"| {_verdict(row, row.case_id in known)} |"
        )
    return "\n".join(lines)


def _verdict(row: CaseResult, known_issue: bool) -> str:
    if row.passed:
        return "✓"
    return ("✗ known issue: " if known_issue else "✗ ") + _cell("; ".join(row.problems))


def summary(rows: Sequence[CaseResult], cases: Sequence[BadInputCase] = CASES) -> str:
    positive = {case.id for case in cases if case.positive}
    passed = sum(1 for row in rows if row.passed)
    sent_by_bad = sum(row.messages_sent for row in rows if row.case_id not in positive)
    lost = sum(row.staged_lost for row in rows)
    controls = [row for row in rows if row.case_id in positive]
    line = (
        f"{passed}/{len(rows)} cases ended as expected; {sent_by_bad} messages sent by bad input; "
        f"{lost} staged objects lost"
    )
    if controls:
        delivered = sum(1 for row in controls if row.passed)
        line += f" ({len(rows) - len(controls)} bad inputs, {delivered}/{len(controls)} positive controls delivered)"
    known = {case.id for case in cases if case.known_issue}
    open_issues = sum(1 for row in rows if not row.passed and row.case_id in known)
    if open_issues:
        line += f"; {open_issues} known issue{'s' if open_issues > 1 else ''} not fixed yet"
    return line


def render_fault_table(rows: Sequence[FaultResult]) -> str:
    """The fault results as a Markdown table: what was injected, how it ended, what it cost."""
    lines = [
        "| kind | injected | expected | actual | cause | record | retries | delivered | destinations | lost | ok |",
        "| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        verdict = "✓" if row.passed else "✗ " + _cell("; ".join(row.problems))
        lines.append(
            f"| `{row.case_id}` | {_cell(row.injected)} | {row.expected} | {row.actual} "
            f"| {_cell(row.cause, CAUSE_WIDTH)} | {row.record} | {row.retries} | {row.messages_sent} "
            f"| {row.destinations} "
            f"| {row.staged_lost} | {verdict} |"
        )
    return "\n".join(lines)


def fault_summary(rows: Sequence[FaultResult], cases: Sequence[FaultCase] = FAULT_CASES) -> str:
    transient = {case.id for case in cases if case.transient}
    passed = sum(1 for row in rows if row.passed)
    once = sum(1 for row in rows if row.case_id in transient and row.messages_sent == 1)
    sent_by_permanent = sum(row.messages_sent for row in rows if row.case_id not in transient)
    lost = sum(row.staged_lost for row in rows)
    retries = sum(row.retries for row in rows)
    return (
        f"{passed}/{len(rows)} fault kinds ended as expected; "
        f"{once}/{sum(1 for row in rows if row.case_id in transient)} transient faults delivered once; "
        f"{sent_by_permanent} messages sent despite a permanent fault; {retries} retries; "
        f"{lost} staged objects lost"
    )


def render_authorization_table(rows: Sequence[AuthorizationResult]) -> str:
    """The authorization results as a Markdown table: what happened to the seller's authorization, how it ended."""
    lines = ["| case | what happens | expected | actual | detail | ok |", "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        verdict = "✓" if row.passed else "✗"
        lines.append(
            f"| `{row.case_id}` | {_cell(row.description)} | {row.expected} | {row.actual} "
            f"| {_cell(row.detail, CAUSE_WIDTH)} | {verdict} |"
        )
    return "\n".join(lines)


def authorization_summary(rows: Sequence[AuthorizationResult]) -> str:
    passed = sum(1 for row in rows if row.passed)
    return f"{passed}/{len(rows)} authorization cases ended as they must"


def render_campaign_table(rows: Sequence[CampaignResult], cases: Sequence[CampaignCase] = CAMPAIGN_CASES) -> str:
    """The campaign results as a Markdown table: the manifest, how its campaign ended (through the API: its answer's
    status, and its dry run's), its report's rows by status, what the buyer received. An upload's case whose manifest
    cannot travel as the API's text gets a line saying so."""
    described = {case.id: case.description for case in cases}
    lines = [
        "| case | manifest | entry | expected | actual | cause | record | dry run | rows | sent | failed | unknown "
        "| invalid | messages | duplicates | by bad rows | lost | ok |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |" + " ---: |" * 9 + " --- |",
    ]
    for row in rows:
        verdict = "✓" if row.passed else "✗ " + _cell("; ".join(row.problems))
        counts = " | ".join(str(row.statuses[status]) for status in REPORT_STATUSES)
        entry = f"{row.entry} {row.answered or ''}".strip() if row.entry == "api" else row.entry
        lines.append(
            f"| `{row.case_id}` | {_cell(described.get(row.case_id, ''))} | {entry} | {row.expected} "
            f"| {row.actual} | {_cell(row.cause, CAUSE_WIDTH)} | {row.record} | {_dry_run(row)} | {row.rows} "
            f"| {counts} "
            f"| {row.messages_sent} | {row.duplicates} | {row.stray_messages} | {row.staged_lost} | {verdict} |"
        )
    for row in rows:
        if row.case_id in API_TAKES_TEXT:
            lines.append(
                f"| `{row.case_id}` | {_cell(described.get(row.case_id, ''))} | api | — | not run "
                f"| {_cell(API_TAKES_TEXT[row.case_id])} | — | — |" + " — |" * 9 + " — |"
            )
    return "\n".join(lines)


def _dry_run(row: CampaignResult) -> str:
    """The dry run's answer in short: "200: n ready, n invalid", or "<status> <error>"; "—" for an upload."""
    if row.dry_run is None:
        return "—"
    if row.dry_run.status != 200:
        return f"{row.dry_run.status} {row.dry_run.error}"
    invalid = sum(1 for error in row.dry_run.rows.values() if error)
    return f"200: {len(row.dry_run.rows) - invalid:,} ready, {invalid:,} invalid"


def campaign_summary(rows: Sequence[CampaignResult], cases: Sequence[CampaignCase] = CAMPAIGN_CASES) -> str:
    positive = {case.id for case in cases if case.positive}
    refused = {case.id for case in cases if not case.finishes}
    passed = sum(1 for row in rows if row.passed)
    reported = [row for row in rows if row.case_id not in refused]
    accounted = sum(1 for row in reported if row.passed)
    controls = [row for row in rows if row.case_id in positive]
    posted = [row for row in rows if row.entry == "api"]
    return (
        f"{passed}/{len(rows)} campaign cases ended as expected ({len(rows) - len(posted)} uploaded, {len(posted)} "
        f"posted to the API, {sum(1 for row in posted if _dry_run_held(row))}/{len(posted)} dry runs agreeing and "
        "storing nothing); "
        f"{sum(row.stray_messages for row in rows)} messages sent by bad rows; "
        f"{sum(row.duplicates for row in rows)} duplicate messages; "
        f"{sum(row.staged_lost for row in rows)} staged objects lost; "
        f"{sum(row.rows for row in reported):,} rows in {accounted}/{len(reported)} reports each accounted for "
        f"(sent + failed + invalid = rows) ({sum(1 for row in rows if row.case_id in refused)} manifests refused, "
        f"{sum(1 for row in controls if row.passed)}/{len(controls)} positive controls delivered)"
    )


def _dry_run_held(row: CampaignResult) -> bool:
    return row.dry_run is not None and not any("dry run" in problem for problem in row.problems)


def render_outage_table(rows: Sequence[OutageResult]) -> str:
    """The outage results as a Markdown table: what was down, how its messages ended, what the re-sends did."""
    lines = [
        "| outage | injected | expected | actual | failed | first re-send | second re-send | delivered once "
        "| twice | executions | ok |",
        "| --- | --- | --- | --- | ---: | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        lines.append(
            f"| `{row.case_id}` | {row.injected} | {row.expected} | {row.actual.replace('|', '/')} | {row.failed} "
            f"| {row.first_run} | {row.second_run} | {row.delivered_once} | {row.delivered_twice} | {row.executions} "
            f"| {'✓' if row.passed else '✗'} |"
        )
    return "\n".join(lines)


def outage_summary(rows: Sequence[OutageResult]) -> str:
    passed = sum(1 for row in rows if row.passed)
    once = sum(row.delivered_once for row in rows)
    failed = sum(row.failed for row in rows)
    twice = sum(row.delivered_twice for row in rows)
    return (
        f"{passed}/{len(rows)} outages ended as expected; {once}/{failed} failed messages re-sent and delivered once; "
        f"{twice} delivered twice"
    )


def render_cross_seller_table(run: CrossSellerRun) -> str:
    """One row per attempt of a user of seller A against seller B's thing: both answers and whether they are one."""
    lines = [
        "| attempt | route | against | answered | as for | answered | same bytes | ok |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in run.results:
        attempt = row.attempt
        same = "answers differ" not in " ".join(row.problems)
        lines.append(
            f"| `{attempt.id}` | {attempt.route} | {attempt.mine} | {row.mine.status} {row.mine.error or ''} "
            f"| {attempt.absent} | {row.absent.status} {row.absent.error or ''} | {'yes' if same else 'no'} "
            f"| {'✓' if row.passed else '✗'} |"
        )
    return "\n".join(lines)


def cross_seller_summary(run: CrossSellerRun) -> str:
    passed = sum(1 for row in run.results if row.passed)
    reached = "something reached Amazon" if run.reached_amazon else "nothing reached Amazon (0 uploads)"
    policy = "fixes" if run.policy_key == run.staged_key else "does NOT fix"
    return (
        f"{passed}/{len(run.results)} cross-seller attempts answered as for a thing that does not exist; {reached}; "
        f"the presigned POST's policy {policy} the key {run.staged_key}"
    )
