"""The benchmark harness keeps working: tables, peak RSS, the cold-start probe (no timings are asserted)."""

from __future__ import annotations

import sys

import pytest

from bench import cold_start
from bench.attachment_op import COPY_OPS, HASH_OPS
from bench.common import MiB, reset_peak_rss, run_child, status_bytes, table
from bench.hash_and_copy import LABELS

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")


def test_a_markdown_table_right_aligns_numbers_and_marks_missing_values() -> None:
    rendered = table(
        ["object", "MB/s", "x limit", "peak"], [["1 MiB", 1234.5, "0.61x", None], ["64 MiB", 12.25, "1.00x", 3]]
    )

    assert rendered.splitlines() == [
        "| object |  MB/s | x limit | peak |",
        "| ------ | ----: | ------: | ---: |",
        "| 1 MiB  | 1,234 |   0.61x |    — |",
        "| 64 MiB |  12.2 |   1.00x |    3 |",
    ]


@linux_only
def test_the_peak_rss_can_be_reset_to_measure_one_operation() -> None:
    if not reset_peak_rss():
        pytest.skip("this kernel does not let a process reset its peak RSS")
    before = status_bytes("VmHWM")
    block = bytearray(64 * MiB)
    block[::4096] = b"x" * len(block[::4096])  # touch every page
    assert status_bytes("VmHWM") >= before + 60 * MiB
    del block


def test_the_cold_start_bench_measures_every_function() -> None:
    functions = {path.parent.name for path in (cold_start.ROOT / "functions").glob("*/app.py")}

    assert set(cold_start.HANDLERS) == functions - set(cold_start.NOT_ON_A_MESSAGES_PATH)


def test_every_operation_has_a_label() -> None:
    assert set(LABELS) == {*HASH_OPS, *COPY_OPS}


def test_the_readme_has_the_results_markers() -> None:
    from bench.__main__ import END, README, START

    text = README.read_text(encoding="utf-8")
    assert text.index(START) < text.index(END)


def test_the_layer_holds_what_pip_installs_for_the_requirements() -> None:
    distributions = cold_start.layer_distributions()

    assert {"aws-lambda-powertools", "aws-xray-sdk", "requests"} <= set(distributions)
    assert "pydantic" not in distributions  # GET /openapi.json serves a file generated at development time
    assert {"botocore", "wrapt", "urllib3"} <= set(distributions)  # what those require
    assert "pytest" not in distributions


@linux_only
def test_the_cold_start_probe_imports_a_handler_from_the_layer_as_lambda_would() -> None:
    with cold_start.code_layouts() as layouts:
        code = layouts[cold_start.AS_DEPLOYED]
        layer_pycs = list((code / "layer").rglob("*.pyc"))
        assert layer_pycs  # as sam build ships it now: bytecode for every module
        assert {path.parent.name for path in layer_pycs} == {"__pycache__"}
        assert not list((code / "functions").rglob("*.pyc"))  # a function's app.py is shipped as source
        assert not list(layouts[cold_start.SOURCE_ONLY].rglob("*.pyc"))
        result, _ = run_child(
            "bench.handler_child",
            {"handler": "hash_attachment", "code": str(code)},
            environment=cold_start.lambda_environment("hash_attachment", code),
        )
    assert result["import_seconds"] > 0
    assert "aws_xray_sdk" in result["loaded"]  # traced, as on Lambda
    assert "requests" not in result["loaded"]
    assert {"buyer_messaging", "aws_lambda_powertools", "aws_xray_sdk", "botocore"} <= set(result["from_layer"])
