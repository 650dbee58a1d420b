"""What the static checks share: template.yaml as plain JSON values."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from tests.support import ROOT

TEMPLATE_PATH = ROOT / "template.yaml"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """template.yaml, decoded by cfn-lint (intrinsic functions as dicts); its dict/str subclasses, which carry
    line marks, made plain JSON values. A fresh copy per test module."""
    loaded: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE_PATH))))
    return loaded
