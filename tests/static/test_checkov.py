"""checkov's security scan of template.yaml: no failed check, and every suppressed one explained on its resource.

checkov pins boto3 and other packages that clash with requirements-dev.txt, so it lives in a venv of its own,
.venv-checkov, which `make test` and `make checkov` install from requirements-checkov.txt. It runs offline:
.checkov.yaml sets --skip-download (no guidelines or check-ID mappings from the Prisma Cloud API),
CKV_SKIP_PACKAGE_UPDATE_CHECK turns off its PyPI update check, and a scratch HOME with no BC_*/CKV_*/PRISMA_*
variables means no API key (from the environment or ~/.bridgecrew/credentials) and no personal ~/.checkov.yaml.

A suppression is a `Metadata: checkov: skip:` entry on the resource, with a comment that says why the check
does not apply to this stack. A reason that holds for several resources is written once in template.yaml (a YAML
anchor under the template's `Metadata: CheckovSkips`) and aliased where it applies; docs/checkov.md's table is the
template's suppressions per reason, checked here. The tests below also make sure that checkov really read the
template, so that "nothing failed" cannot come from a scan that found nothing to check.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.static

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CONFIG_PATH = ROOT / ".checkov.yaml"
DOCS_PATH = ROOT / "docs" / "checkov.md"
TEMPLATE_PATH = ROOT / "template.yaml"

# The checks that checkov runs on every AWS::Serverless::Function (and AWS::Lambda::Function).
LAMBDA_CHECKS = {"CKV_AWS_45", "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173", "CKV_AWS_363"}
# Resource types that checkov has checks for; each resource of these types must have been evaluated. (checkov
# has none for AWS::Serverless::StateMachine, AWS::Serverless::LayerVersion or AWS::S3::BucketPolicy, and does
# not look into the Policies of a SAM function or state machine.)
CHECKED_TYPES = {
    "AWS::Serverless::Function",
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::SecretsManager::Secret",
    "AWS::SQS::Queue",
    "AWS::Logs::LogGroup",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Role",
    "AWS::Lambda::Permission",
}
# The template as it is has 69 results (34 passed, 35 skipped): far fewer means checkov stopped reading it.
MIN_RESULTS = 50
MIN_COMMENT_CHARS = 20
MIN_COMMENT_WORDS = 4


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(
            f"{CHECKOV.relative_to(ROOT)} is missing: `make test` (or `make checkov`) installs checkov into "
            ".venv-checkov from requirements-checkov.txt",
            pytrace=False,
        )
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("BC_", "CKV_", "CHECKOV_", "PRISMA_"))
    }
    env["HOME"] = str(tmp_path_factory.mktemp("checkov-home"))
    env["CKV_SKIP_PACKAGE_UPDATE_CHECK"] = "true"
    result = subprocess.run(
        [str(CHECKOV), "--config-file", str(CONFIG_PATH), "--output", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # 0: nothing failed, 1: failed checks (reported by the tests below, one by one); anything else is a crash.
    assert result.returncode in (0, 1), f"checkov exited {result.returncode}:\n{result.stderr}"
    output = json.loads(result.stdout)
    reports = output if isinstance(output, list) else [output]
    cloudformation = [r for r in reports if r.get("check_type") == "cloudformation"]
    assert len(cloudformation) == 1, f"checkov produced no CloudFormation report:\n{result.stdout[:2000]}"
    return dict(cloudformation[0])


def _results(report: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return list(report["results"][kind])


def _logical_id(result: dict[str, Any]) -> str:
    # "AWS::Serverless::Function.SendMessageFunction" -> "SendMessageFunction"
    return str(result["resource"]).rsplit(".", 1)[1]


def _suppressions(template: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(logical id, check id) -> comment, from every resource's Metadata.checkov.skip."""
    found: dict[tuple[str, str], str] = {}
    for logical_id, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            key = (logical_id, str(skip.get("id")))
            assert key not in found, f"{logical_id} suppresses {key[1]} twice"
            found[key] = str(skip.get("comment", ""))
    return found


def test_no_check_fails(report: dict[str, Any]) -> None:
    failed = [
        f"{r['check_id']} {r['resource']}: {r['check_name']} (template.yaml:{r['file_line_range'][0]})"
        for r in _results(report, "failed_checks")
    ]
    assert not failed, (
        "checkov checks failed: fix the template, or suppress the check on the resource with a "
        "`Metadata: checkov: skip: [{id, comment}]` entry that says why it does not apply (and list it in "
        "docs/checkov.md):\n" + "\n".join(failed)
    )


def test_every_suppression_says_why(report: dict[str, Any]) -> None:
    skipped = _results(report, "skipped_checks")
    unexplained = []
    for result in skipped:
        comment = str(result["check_result"].get("suppress_comment") or "").strip()
        if (
            len(comment) < MIN_COMMENT_CHARS
            or len(comment.split()) < MIN_COMMENT_WORDS
            or comment == "No comment provided"  # checkov's text for a skip without a comment
        ):
            unexplained.append(f"{result['check_id']} {result['resource']}: {comment!r}")
    assert not unexplained, "suppressed checks without a reason:\n" + "\n".join(unexplained)


def test_suppressions_are_the_template_metadata_and_all_used(report: dict[str, Any], template: dict[str, Any]) -> None:
    """Every check that checkov skipped is a Metadata entry of the template, and every entry skipped a check that
    checkov ran on that resource: no suppression by comment, and no stale or misspelt one (an unknown id or a
    check that does not apply to the resource type would otherwise sit in the template unnoticed)."""
    declared = set(_suppressions(template))
    skipped = {(_logical_id(r), str(r["check_id"])) for r in _results(report, "skipped_checks")}
    assert skipped - declared == set(), "skipped without a Metadata checkov entry (e.g. a # checkov:skip comment)"
    assert declared - skipped == set(), "Metadata checkov entries that skipped nothing: stale or misspelt ids"


def test_checkov_read_the_whole_template(report: dict[str, Any], template: dict[str, Any]) -> None:
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, summary
    assert summary["resource_count"] == len(template["Resources"]), summary

    results = [*_results(report, "passed_checks"), *_results(report, "skipped_checks")]
    results += _results(report, "failed_checks")
    assert len(results) >= MIN_RESULTS, f"checkov evaluated only {len(results)} checks: {summary}"

    evaluated: dict[str, set[str]] = {}
    for result in results:
        evaluated.setdefault(_logical_id(result), set()).add(str(result["check_id"]))
    resources = template["Resources"]
    unchecked = sorted(name for name, r in resources.items() if r["Type"] in CHECKED_TYPES and name not in evaluated)
    assert not unchecked, f"checkov evaluated no check on {unchecked}"
    functions = [name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
    assert functions
    for name in functions:
        assert evaluated[name] >= LAMBDA_CHECKS, f"{name}: missing {sorted(LAMBDA_CHECKS - evaluated[name])}"


def _docs_table(report: dict[str, Any], template: dict[str, Any]) -> list[str]:
    """The suppressions as docs/checkov.md shows them: a row per check and reason, with the resources it holds
    for, in the template's order (a check's rows together); checkov's own name of each check."""
    names = {str(r["check_id"]): str(r["check_name"]) for r in _results(report, "skipped_checks")}
    rows: dict[tuple[str, str], list[str]] = {}
    for (logical_id, check_id), comment in _suppressions(template).items():
        rows.setdefault((check_id, " ".join(comment.split())), []).append(logical_id)
    checks = list(dict.fromkeys(check_id for check_id, _ in rows))  # a check's rows together
    return [
        "| check | resources | why it does not apply |",
        "| --- | --- | --- |",
        *(
            f"| `{check_id}` {names[check_id]} | {', '.join(resources)} | {reason} |"
            for (check_id, reason), resources in sorted(rows.items(), key=lambda row: checks.index(row[0][0]))
        ),
    ]


def test_docs_show_the_templates_suppressions(report: dict[str, Any], template: dict[str, Any]) -> None:
    """docs/checkov.md's table (from its header to the next blank line) is the template's suppressions."""
    lines = DOCS_PATH.read_text(encoding="utf-8").splitlines()
    start = lines.index("| check | resources | why it does not apply |")
    end = lines.index("", start)
    expected = _docs_table(report, template)
    assert lines[start:end] == expected, (
        "docs/checkov.md's table of suppressions is not template.yaml's; replace it with:\n" + "\n".join(expected)
    )


def test_each_reason_is_written_once(template: dict[str, Any]) -> None:
    """A reason that holds for several resources is an alias of one anchor in template.yaml, not a copy."""
    text = " ".join(TEMPLATE_PATH.read_text(encoding="utf-8").replace(">-", " ").split())
    reasons = {" ".join(comment.split()) for comment in _suppressions(template).values()}
    copies = {reason[:80]: text.count(reason) for reason in reasons if text.count(reason) != 1}
    assert copies == {}, "reasons written out more (or less) than once in template.yaml"
