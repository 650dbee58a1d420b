"""statemachine/*.asl.json, made from their sources statemachine/*.asl.yaml (the send-message and campaign machines).

The YAML says once what every Task repeats (its Retry, a YAML anchor the other Tasks alias; anchors are per file).
What reads a definition reads the JSON: SAM uploads the DefinitionUri file as it is and CloudFormation refuses YAML
aliases (aws-cloudformation/cloudformation-coverage-roadmap#613), moto's executor and statelint read JSON. So the JSON
is committed, written by ``make asl`` (``python -m asl_source``), and tests/static/test_asl_source.py fails while it
is not this module's rendering of the YAML.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML, installed with cfn-lint (requirements-dev.txt)

ROOT = Path(__file__).resolve().parent.parent
STATEMACHINE = ROOT / "statemachine"
# The machines, by the name of their files.
MACHINES = ("send_message", "campaign")


def source(machine: str) -> Path:
    return STATEMACHINE / f"{machine}.asl.yaml"


def definition(machine: str) -> Path:
    return STATEMACHINE / f"{machine}.asl.json"


def render(text: str) -> str:
    """The JSON definition of a YAML one: aliases resolved, keys in their order, two-space indents."""
    loaded: Any = yaml.safe_load(text)
    return json.dumps(loaded, indent=2) + "\n"


def main() -> int:
    for machine in MACHINES:
        written = definition(machine)
        written.write_text(render(source(machine).read_text(encoding="utf-8")), encoding="utf-8")
        print(f"{written.relative_to(ROOT)} written from {source(machine).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
