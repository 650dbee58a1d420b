"""statemachine/*.asl.json are the renderings of their YAML sources, where every Lambda Task's Retry is said once
(per file: YAML anchors do not cross files)."""

from __future__ import annotations

import re

import asl_source
import pytest

pytestmark = pytest.mark.static

# Per machine: its Lambda Tasks (each with the anchored Retry) and the Tasks that retry something else.
LAMBDA_TASKS = {"send_message": 7, "campaign": 3}
OTHER_RETRIES = {"send_message": 0, "campaign": 1}  # campaign: SendRow retries Step Functions' refusals


def test_every_machine_has_its_source() -> None:
    assert sorted(path.name for path in asl_source.STATEMACHINE.glob("*.asl.*")) == sorted(
        name for machine in asl_source.MACHINES for name in (f"{machine}.asl.json", f"{machine}.asl.yaml")
    )


@pytest.mark.parametrize("machine", asl_source.MACHINES)
def test_the_definition_is_the_rendering_of_its_source(machine: str) -> None:
    source = asl_source.source(machine).read_text(encoding="utf-8")
    assert asl_source.definition(machine).read_text(encoding="utf-8") == asl_source.render(source), (
        f"statemachine/{machine}.asl.json is not its YAML source's rendering: edit {machine}.asl.yaml, then `make asl`"
    )


@pytest.mark.parametrize("machine", asl_source.MACHINES)
def test_every_lambda_task_takes_its_retry_from_one_place(machine: str) -> None:
    """One Retry is written out (the anchor); every other Lambda Task's is an alias of it."""
    retries = [
        value.strip()
        for value in re.findall(
            r"^\s*Retry:(.*)$", asl_source.source(machine).read_text(encoding="utf-8"), re.MULTILINE
        )
    ]
    assert retries[0] == "&retry"
    assert retries.count("*retry") == LAMBDA_TASKS[machine] - 1
    assert retries.count("") == OTHER_RETRIES[machine]
    definition = asl_source.definition(machine).read_text(encoding="utf-8")
    assert definition.count('"Resource": "arn:aws:states:::lambda:invoke"') == LAMBDA_TASKS[machine]
    assert definition.count('"Type": "Task"') == LAMBDA_TASKS[machine] + OTHER_RETRIES[machine]
