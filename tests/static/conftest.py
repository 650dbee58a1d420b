"""What the static checks share: template.yaml as plain JSON values, and as SAM translates it."""

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


class _ManagedPolicies:
    """Offline stand-in for samtranslator's IAM-backed managed policy loader."""

    def load(self) -> dict[str, str]:
        return {
            "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        }


@pytest.fixture(scope="module")
def transformed(template: dict[str, Any]) -> dict[str, Any]:
    """The resources that the real SAM transform (offline) makes of template.yaml: the roles as deployed.
    Skips when aws-sam-translator is not installed."""
    transform = pytest.importorskip("samtranslator.translator.transform").transform
    packaged = json.loads(json.dumps(template))
    for resource in packaged["Resources"].values():  # what `sam package` does to local paths
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = "s3://bucket/" + resource["Properties"][key].strip("/")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        output = transform(packaged, {}, _ManagedPolicies())
    resources: dict[str, Any] = json.loads(json.dumps(output["Resources"]))
    return resources
