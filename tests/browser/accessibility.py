"""axe-core, Deque's accessibility engine, run inside the page under test against WCAG 2.1 A and AA.

axe-core is an npm package; a fresh machine has only python3. `make test` installs the PyPI package
axe-playwright-python (pinned in requirements-dev.txt), which ships axe-core's own ``axe.min.js``; only that file
is used here, with our options and our report. Its Python wrapper runs axe with its defaults, which leave out
the experimental rules (``label-content-name-mismatch``, WCAG 2.5.3, is one) and report every standard.

The script goes in through ``page.evaluate``, not a ``<script>`` tag: the console's Content-Security-Policy
(``script-src 'self'``) rightly refuses inline scripts, and the page under test keeps its real headers.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

AXE_PACKAGE = "axe_playwright_python"
AXE_SCRIPT = files(AXE_PACKAGE).joinpath("axe.min.js").read_text(encoding="utf-8")
# WCAG 2.0 and 2.1, levels A and AA: what the console promises.
WCAG_21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

# In the page: load axe once, enable the experimental rules of those levels too (axe leaves experimental rules
# out of a run by tags), run on the whole document, return the violations in a form the report can print.
RUN_AXE = """async ({ tags }) => {
  const experimental = window.axe
    .getRules(["experimental"])
    .filter((rule) => rule.tags.some((tag) => tags.includes(tag)))
    .map((rule) => rule.ruleId);
  const results = await window.axe.run(document, {
    runOnly: { type: "tag", values: tags },
    rules: Object.fromEntries(experimental.map((id) => [id, { enabled: true }])),
    resultTypes: ["violations"],
  });
  return {
    version: window.axe.version,
    experimental,
    violations: results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(" "), html: n.html, summary: n.failureSummary || "" })),
    })),
  };
}"""


class AxeViolations(AssertionError):
    """What axe found on one screen, as a readable list."""


def axe_report(step: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"axe-core found {len(violations)} WCAG 2.1 AA violation(s) on the screen {step!r}:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            lines.append(f"    {node['target']}: {node['html'][:160]}")
            lines.extend(f"      {line.strip()}" for line in node["summary"].splitlines() if line.strip())
    return "\n".join(lines)


def run_axe(page: Any) -> dict[str, Any]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)  # once per document: a reload or a new page drops it
    result: dict[str, Any] = page.evaluate(RUN_AXE, {"tags": list(WCAG_21_AA)})
    return result


def assert_accessible(page: Any, step: str) -> None:
    """Fails on any violation, whatever its impact, naming the screen, the rules and the elements."""
    result = run_axe(page)
    # The rule this suite was written for must take part: an axe without it would pass the type buttons blindly.
    assert "label-content-name-mismatch" in result["experimental"], result["experimental"]
    if result["violations"]:
        raise AxeViolations(axe_report(step, result["violations"]))
