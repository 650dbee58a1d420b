"""The README and docs say what the code does: generated tables and name lists stay in step."""

from __future__ import annotations

import re

from buyer_messaging import catalog, errors, metric_catalog
from buyer_messaging.campaigns import columns
from tests import support

README = (support.ROOT / "README.md").read_text(encoding="utf-8")
ARCHITECTURE = (support.ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _error_classes() -> list[type[errors.BuyerMessagingError]]:
    abstract = (errors.BuyerMessagingError, errors.TransientError, errors.SpApiError)
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.BuyerMessagingError) and value not in abstract
    ]


def test_readme_catalog_table_is_the_catalog() -> None:
    block = re.search(r"<!-- catalog:start[^>]*-->\n(.*?)\n<!-- catalog:end -->", README, re.S)
    assert block, "README lost its catalog markers"
    assert block.group(1) == catalog.markdown_table()


def test_readme_campaign_columns_are_the_manifests_columns() -> None:
    block = re.search(r"<!-- campaign-columns:start[^>]*-->\n(.*?)\n<!-- campaign-columns:end -->", README, re.S)
    assert block, "README lost its campaign-columns markers"
    assert block.group(1) == columns.markdown_table()
    assert [row.split("`")[1] for row in block.group(1).splitlines()[2:]] == list(columns.COLUMN_NAMES)


def test_readme_lists_every_error_with_its_retry_behaviour() -> None:
    rows = dict(re.findall(r"^\| `(\w+)` \| (yes|no) \|", README, re.M))
    expected = {cls.__name__: "yes" if cls.transient else "no" for cls in _error_classes()}
    assert rows == expected


def test_architecture_names_every_error_on_the_right_side() -> None:
    transient_part, permanent_part = ARCHITECTURE.split("Permanent — caught into the failure path", 1)
    for cls in _error_classes():
        part = transient_part if cls.transient else permanent_part
        assert f"`{cls.__name__}`" in part, cls.__name__


def test_readme_documents_every_environment_variable_the_settings_read() -> None:
    config_source = (support.ROOT / "layers/shared/buyer_messaging/config.py").read_text(encoding="utf-8")
    variables = set(re.findall(r'"([A-Z][A-Z0-9_]{3,})"', config_source)) - {"DEFAULT"}
    assert variables, "no variables found in config.py"
    for variable in variables:
        assert f"`{variable}`" in README, variable


def test_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert first_block
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["make run", "make test"]


def _layout() -> str:
    block = re.search(r"^## Project layout\n\n```\n(.*?)\n```", README, re.S | re.M)
    assert block, "README lost its Project layout block"
    return block.group(1)


def test_readme_layout_names_every_module_of_the_package_and_nothing_gone() -> None:
    """The layout section matches the tree: a module added without its line, or a line left for a module that
    moved (steps.py, api_models.py did), fails."""
    layout = _layout()
    package = support.ROOT / "layers" / "shared" / "buyer_messaging"
    modules = {path.name for path in package.glob("*.py") if path.name != "__init__.py"}
    folders = {path.name + "/" for path in package.iterdir() if (path / "__init__.py").exists()}
    package_lines = [line for line in layout.splitlines() if re.match(r"  \w", line)]
    named = {name for line in package_lines for name in re.findall(r"(?:^  | {2,})(\w+\.py|\w+/)(?= )", line)}
    assert modules | folders <= named, f"modules without their line: {sorted((modules | folders) - named)}"
    assert named <= modules | folders, f"lines for modules that are gone: {sorted(named - (modules | folders))}"


def test_readme_layout_counts_the_handlers() -> None:
    handlers = sorted(path.parent.name for path in (support.ROOT / "functions").glob("*/app.py"))
    words = {8: "eight", 9: "nine", 10: "ten", 11: "eleven", 12: "twelve", 13: "thirteen"}
    assert f"functions/<name>/app.py             {words[len(handlers)]} thin handlers" in _layout(), handlers


def test_readme_says_each_section_once() -> None:
    """Every heading once (outside code blocks): a section written twice drifts apart."""
    prose = re.sub(r"```.*?```", "", README, flags=re.DOTALL)
    headings = [line for line in prose.splitlines() if line.startswith("#")]
    assert [heading for heading in headings if headings.count(heading) > 1] == []


def test_readme_metric_table_is_the_metric_catalog() -> None:
    block = re.search(r"<!-- metrics:start[^>]*-->\n(.*?)\n<!-- metrics:end -->", README, re.S)
    assert block, "README lost its metrics markers"
    assert block.group(1) == metric_catalog.markdown_table()


def test_readme_names_every_bad_input_error() -> None:
    sentence = re.search(
        r"so the seller\s+fixes the request and sends it anew \((.*?): `bad_input` in `errors.py`\)", README, re.S
    )
    assert sentence, "README lost its bad input sentence"
    named = re.findall(r"`(\w+)`", sentence.group(1))
    assert named == [cls.__name__ for cls in sorted(_error_classes(), key=lambda c: c.__name__) if cls.bad_input]
