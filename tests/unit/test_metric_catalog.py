"""Every metric the package emits is in the catalog, under its catalog name, and every catalog entry is emitted.

A static walk of the package: each ``metrics.add_metric(name=...)`` and ``emit(...)`` names its metric with a string
literal or a module constant holding one; anything else (a name built at run time) fails here, as does a
catalog entry nothing emits any more.
"""

from __future__ import annotations

import ast
from pathlib import Path

from buyer_messaging import metric_catalog, observability, rotation
from local_stack.template import Template
from tests import support

PACKAGE = support.ROOT / "layers" / "shared" / "buyer_messaging"


def _constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _metric_name_argument(call: ast.Call) -> ast.expr | None:
    function = call.func
    if isinstance(function, ast.Attribute) and function.attr == "add_metric":
        return next((k.value for k in call.keywords if k.arg == "name"), call.args[0] if call.args else None)
    if isinstance(function, ast.Name) and function.id == "emit" and call.args:
        return call.args[0]
    return None


def emitted_names(package: Path = PACKAGE) -> dict[str, list[str]]:
    """Metric name -> where it is emitted (file:line); an unresolvable name is listed under '?'."""
    found: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _constants(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            argument = _metric_name_argument(node)
            if argument is None:
                continue
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                name = argument.value
            elif isinstance(argument, ast.Name) and argument.id in constants:
                name = constants[argument.id]
            else:
                name = "?"
            found.setdefault(name, []).append(f"{path.relative_to(package)}:{node.lineno}")
    return found


def test_every_metric_the_package_emits_is_in_the_catalog() -> None:
    emitted = emitted_names()
    assert "?" not in emitted, f"metric names not written as a literal or a module constant: {emitted.get('?')}"
    unknown = {name: where for name, where in emitted.items() if name not in metric_catalog.BY_NAME}
    assert unknown == {}


def test_every_catalog_entry_is_emitted_by_its_module() -> None:
    emitted = emitted_names()
    assert sorted(set(metric_catalog.BY_NAME) - set(emitted)) == []
    for metric in metric_catalog.METRICS:
        modules = {where.split(":")[0].removesuffix(".py").replace("/", ".") for where in emitted[metric.name]}
        assert modules == {m.strip() for m in metric.module.split(",")}, metric.name


def test_the_walk_sees_a_metric_outside_the_catalog(tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text(
        'SPENT = "MoneySpent"\nmetrics.add_metric(name=SPENT, unit=MetricUnit.Count, value=1)\n'
        'emit("MessagesSent", 1, MessageType="invoice")\nemit(f"{x}Sent", 1)\n',
        encoding="utf-8",
    )
    assert emitted_names(tmp_path) == {
        "MoneySpent": ["module.py:2"],
        "MessagesSent": ["module.py:3"],
        "?": ["module.py:4"],
    }


def test_dimension_values_are_bounded_and_never_an_identifier() -> None:
    for metric in metric_catalog.METRICS:
        assert "service" not in metric.dimensions
        for name, values in metric.dimensions.items():
            assert 0 < len(values) <= 60, (metric.name, name)
            assert len(set(values)) == len(values), (metric.name, name)


def test_the_rotation_operation_is_counted_under_its_own_name() -> None:
    assert rotation.ROTATION_OPERATION in metric_catalog.OPERATIONS


def test_the_namespace_and_service_are_the_templates() -> None:
    variables = Template.load(support.ROOT / "template.yaml").function_globals()["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == observability.NAMESPACE
    assert variables["POWERTOOLS_SERVICE_NAME"] == observability.SERVICE
