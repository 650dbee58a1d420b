"""The console's user pool as deployed (issue 14, item 2), read from the SAM-translated template.

Before: MFA was OPTIONAL (a user could skip it), and the client allowed USER_PASSWORD_AUTH, in which the password
itself travels to Cognito. Now MFA is required unless the operator relaxes it (ConsoleMfa), TOTP is the factor,
and the client allows SRP (the password never leaves the browser) and refresh only.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.static


def test_mfa_is_required_by_default_and_a_parameter_relaxes_it(
    template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    parameter = template["Parameters"]["ConsoleMfa"]
    assert parameter["Type"] == "String"
    assert parameter["Default"] == "ON"
    assert parameter["AllowedValues"] == ["ON", "OPTIONAL"]  # never OFF: the console is public
    assert "authenticator app" in parameter["Description"]

    pool = transformed["ConsoleUserPool"]["Properties"]
    assert pool["MfaConfiguration"] == {"Ref": "ConsoleMfa"}
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]  # TOTP only: no SMS to pay for or to intercept
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}


def test_the_console_client_signs_in_with_srp_only(transformed: dict[str, Any]) -> None:
    client = transformed["ConsoleUserPoolClient"]["Properties"]
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["GenerateSecret"] is False  # a page cannot keep a secret
    assert client["PreventUserExistenceErrors"] == "ENABLED"


def test_the_parameter_is_in_the_console_group(template: dict[str, Any]) -> None:
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert {"Label": {"default": "Console sign-in"}, "Parameters": ["ConsoleMfa"]} in groups
