"""Which versions the layer ships and the tests run with.

requirements files say what the project asks for; the constraints files (written by `make lock`) pin every
distribution that resolved to, transitive ones included: layers/shared/constraints.txt for the layer (built
for the Lambda runtime), constraints-dev.txt for the test venv, resolved within the layer's pins.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.static

ROOT = Path(__file__).resolve().parents[2]
LAYER_REQUIREMENTS = ROOT / "layers/shared/requirements.txt"
LAYER_CONSTRAINTS = ROOT / "layers/shared/constraints.txt"
DEV_REQUIREMENTS = ROOT / "requirements-dev.txt"
DEV_CONSTRAINTS = ROOT / "constraints-dev.txt"
EXACT_PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s;#]+)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def _lines(path: Path) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]


def _pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line (extras dropped, names normalised)."""
    return {_normal(match["name"]): match["version"] for line in _lines(path) if (match := EXACT_PIN.fullmatch(line))}


@pytest.mark.parametrize("constraints", [LAYER_CONSTRAINTS, DEV_CONSTRAINTS], ids=lambda path: path.name)
def test_every_constraint_is_one_exact_version_of_one_distribution(constraints: Path) -> None:
    requirements = [line for line in _lines(constraints) if line]
    assert requirements, f"{constraints} pins nothing"
    assert [line for line in requirements if not EXACT_PIN.fullmatch(line)] == []
    names = [_normal(line.split("==", 1)[0]) for line in requirements]
    assert len(names) == len(set(names)), "a distribution pinned twice"


@pytest.mark.parametrize(
    ("requirements", "constraints"),
    [(LAYER_REQUIREMENTS, LAYER_CONSTRAINTS), (DEV_REQUIREMENTS, DEV_CONSTRAINTS)],
    ids=["layer", "dev"],
)
def test_the_constraints_hold_each_requirement_at_its_pinned_version(requirements: Path, constraints: Path) -> None:
    """A requirement changed without `make lock` would make pip refuse to install (or install another)."""
    locked = _pins(constraints)
    asked = _pins(requirements) | (_pins(LAYER_REQUIREMENTS) if requirements == DEV_REQUIREMENTS else {})
    assert asked, f"{requirements} pins nothing"
    assert {name: (pinned, locked.get(name)) for name, pinned in asked.items() if locked.get(name) != pinned} == {}


def test_the_tests_run_with_every_version_the_layer_ships() -> None:
    dev = _pins(DEV_CONSTRAINTS)
    layer = _pins(LAYER_CONSTRAINTS)
    assert {"aws-lambda-powertools", "boto3", "botocore", "requests", "urllib3"} <= set(layer)
    assert {name: (shipped, dev.get(name)) for name, shipped in layer.items() if dev.get(name) != shipped} == {}


# Where the layer runs (layers/shared/Makefile: RUNTIME, ARCHITECTURE), for the dependencies' environment markers.
LAYER_ENVIRONMENT = {
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_machine": "aarch64",
}


def test_the_layer_pins_exactly_what_its_requirements_need() -> None:
    """Every distribution the layer's requirements pull in (extras and markers for the Lambda runtime), read from
    the metadata of this venv, which holds each at the layer's version (the tests above): a pin left behind by a
    requirement that went (pydantic's, once) or a dependency missing from the lock fails here."""
    needed: set[str] = set()
    wanted = [Requirement(line) for line in _lines(LAYER_REQUIREMENTS) if line]
    while wanted:
        requirement = wanted.pop()
        name = _normal(requirement.name)
        if name in needed:
            continue
        needed.add(name)
        for line in requires(requirement.name) or []:
            dependency = Requirement(line)
            if dependency.marker is None or any(
                dependency.marker.evaluate({**LAYER_ENVIRONMENT, "extra": extra})
                for extra in (requirement.extras or {""})
            ):
                wanted.append(dependency)
    assert sorted(set(_pins(LAYER_CONSTRAINTS)) - needed) == [], "pinned, but no requirement of the layer needs it"
    assert sorted(needed - set(_pins(LAYER_CONSTRAINTS))) == [], "needed, but not pinned: run `make lock`"


def test_the_layer_ships_the_boto3_the_tests_run_with() -> None:
    # The layer carries botocore (the X-Ray SDK's requirement), which shadows the runtime's: boto3 must come
    # with it, at the version tested, or the runtime's boto3 would run on a botocore it was not released with.
    layer = _pins(LAYER_REQUIREMENTS)
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()

    assert "boto3" in layer
    assert "-r layers/shared/requirements.txt" in dev  # the tests run with the layer's pins
    assert not set(_pins(DEV_REQUIREMENTS)) & set(layer)  # and no other version of them


def test_this_venv_has_the_locked_versions() -> None:
    """`make` reinstalls .venv when a constraints file changes; a venv made otherwise is reported here."""

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:  # a distribution only another Python needs (an environment marker)
            return None

    differ = {
        name: (locked, found)
        for name, locked in _pins(DEV_CONSTRAINTS).items()
        if (found := installed(name)) is not None and found != locked
    }
    assert differ == {}, "this venv is not the locked one: `make clean venv`, or `make lock` to re-resolve"
