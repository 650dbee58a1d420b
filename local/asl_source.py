"""statemachine/send_message.asl.json, made from statemachine/send_message.asl.yaml.

The YAML says once what every Task repeats (its Retry, a YAML anchor the other Tasks alias). What reads the
definition reads the JSON: SAM uploads the DefinitionUri file as it is and CloudFormation refuses YAML aliases
(aws-cloudformation/cloudformation-coverage-roadmap#613), moto's executor and statelint read JSON. So the JSON is
committed, written by ``make asl`` (``python -m asl_source``), and tests/static/test_asl_source.py fails while it
is not this module's rendering of the YAML.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML, installed with cfn-lint (requirements-dev.txt)

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "statemachine" / "send_message.asl.yaml"
DEFINITION = ROOT / "statemachine" / "send_message.asl.json"


def render(source: str) -> str:
    """The JSON definition of a YAML one: aliases resolved, keys in their order, two-space indents."""
    definition: Any = yaml.safe_load(source)
    return json.dumps(definition, indent=2) + "\n"


def main() -> int:
    DEFINITION.write_text(render(SOURCE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"{DEFINITION.relative_to(ROOT)} written from {SOURCE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
