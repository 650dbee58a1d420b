"""statemachine/send_message.asl.json is the rendering of its YAML source, where every Task's Retry is said once."""

from __future__ import annotations

import re

import asl_source
import pytest

pytestmark = pytest.mark.static


def test_the_definition_is_the_rendering_of_its_source() -> None:
    source = asl_source.SOURCE.read_text(encoding="utf-8")
    assert asl_source.DEFINITION.read_text(encoding="utf-8") == asl_source.render(source), (
        "statemachine/send_message.asl.json is not its YAML source's rendering: edit send_message.asl.yaml, "
        "then `make asl`"
    )


def test_every_task_takes_its_retry_from_one_place() -> None:
    """One Retry is written out (the anchor); every other Task's is an alias of it."""
    retries = re.findall(r"^\s*Retry:(.*)$", asl_source.SOURCE.read_text(encoding="utf-8"), re.MULTILINE)
    assert retries[0].strip() == "&retry"
    assert [value.strip() for value in retries[1:]] == ["*retry"] * (len(retries) - 1)
    tasks = asl_source.DEFINITION.read_text(encoding="utf-8").count('"Type": "Task"')
    assert len(retries) == tasks == 7
