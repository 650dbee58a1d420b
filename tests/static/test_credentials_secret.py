"""The LWA credentials secret (issue 14, item 4): filled out of band only, never rewritten by a stack update, and
readable only by the functions that read it, whatever IAM allows elsewhere in the account.

The credentials used to come in as NoEcho parameters written into the secret with !Sub: they passed through
samconfig files and shell history, a `"` in a value broke the JSON, and every stack update wrote the parameters'
values over a secret stored by hand since.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.static.test_grants import allowed, role_of

pytestmark = pytest.mark.static

PLACEHOLDER = {"clientId": "", "clientSecret": "", "refreshToken": ""}
# The functions whose code reads the secret (auth.py, through an SP-API call); tests/static/test_permission_table.py
# checks that exactly these are granted secretsmanager:GetSecretValue and call it.
READERS = {
    "ListActionsFunction",
    "CreateDestinationFunction",
    "UploadAttachmentFunction",
    "SendMessageFunction",
    "ApiFunction",
    # The client secret's rotation: the grantless token takes the client id and secret (rotation.py).
    "RotateClientSecretFunction",
    "ClientSecretNotificationsFunction",
    # Onboarding: the application's client exchanges a seller's authorization code (onboarding.py).
    "OnboardSellerFunction",
}

# The functions that write the secret (IAM grant only): the one that stores Amazon's new client secret.
WRITERS = {"ClientSecretNotificationsFunction"}


def test_no_parameter_carries_credentials(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert not [name for name in parameters if name.startswith("Lwa") and name != "LwaTokenUrl"]
    assert not [name for name, spec in parameters.items() if spec.get("NoEcho")]
    assert "LwaCredentialsGiven" not in template.get("Conditions", {})
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert {name for group in groups for name in group["Parameters"]} == set(parameters)


def test_the_secret_is_created_with_a_constant_placeholder(template: dict[str, Any]) -> None:
    """A constant: CloudFormation updates a property only when the template's value changes, so no stack update
    ever writes the secret again; an intrinsic (a parameter, a condition) could change and overwrite it."""
    properties = template["Resources"]["CredentialsSecret"]["Properties"]
    secret_string = properties["SecretString"]
    assert isinstance(secret_string, str)
    assert json.loads(secret_string) == PLACEHOLDER
    assert "GenerateSecretString" not in properties
    assert "put-secret-value" in " ".join(properties["Description"].split())


def _policy(transformed: dict[str, Any]) -> dict[str, Any]:
    (policy,) = [r["Properties"] for r in transformed.values() if r["Type"] == "AWS::SecretsManager::ResourcePolicy"]
    return policy


def test_only_the_reading_functions_may_read_the_secret(transformed: dict[str, Any]) -> None:
    policy = _policy(transformed)
    assert policy["SecretId"] == {"Ref": "CredentialsSecret"}
    assert policy["BlockPublicPolicy"] is True
    (statement,) = policy["ResourcePolicy"]["Statement"]
    principals = statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    assert {key: value for key, value in statement.items() if key not in ("Sid", "Condition")} == {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
    }
    assert list(statement["Condition"]) == ["ArnNotEquals"]
    assert sorted(principals, key=json.dumps) == sorted(
        ({"Fn::GetAtt": [f"{function}Role", "Arn"]} for function in READERS), key=json.dumps
    )


def test_the_exempt_roles_are_exactly_the_roles_granted_the_read(transformed: dict[str, Any]) -> None:
    """Both ways: a function granted the read but left out of the policy would fail on AWS only (moto enforces no
    resource policy); a role exempted without the grant would be an exemption nobody needs."""
    exempt = {
        arn["Fn::GetAtt"][0]
        for arn in _policy(transformed)["ResourcePolicy"]["Statement"][0]["Condition"]["ArnNotEquals"][
            "aws:PrincipalArn"
        ]
    }
    granted = {
        role_of(transformed, function)
        for function, resource in transformed.items()
        if resource["Type"] == "AWS::Lambda::Function"
        and any(
            "secretsmanager:GetSecretValue" in json.dumps(s["Action"])
            for s in allowed(transformed, role_of(transformed, function))
        )
    }
    assert exempt == granted == {f"{function}Role" for function in READERS}


def test_writing_the_secret_is_left_to_iam(template: dict[str, Any], transformed: dict[str, Any]) -> None:
    """The resource policy only denies reads: administrators, and the function that stores a rotated client
    secret, write through IAM (its grant), never through an exemption here."""
    assert "PutSecretValue" not in json.dumps(_policy(transformed))
    writers = {
        function
        for function, resource in transformed.items()
        if resource["Type"] == "AWS::Lambda::Function"
        and any(
            # The sellers' own secrets (OnboardSellerFunction writes them) are not the credentials secret.
            "secretsmanager:PutSecretValue" in json.dumps(s["Action"])
            and "CredentialsSecret" in json.dumps(s["Resource"])
            for s in allowed(transformed, role_of(transformed, function))
        )
    }
    assert writers == WRITERS
    assert template["Resources"]["CredentialsSecretPolicy"]["Type"] == "AWS::SecretsManager::ResourcePolicy"
