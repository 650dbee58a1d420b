"""The sellers' grants (issue 18): the registry and each seller's own secret, read by the functions that act for a
seller, and written by none of them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.static.test_permission_table import effective_grants, role_of

pytestmark = pytest.mark.static

SELLER_SECRETS = "secretsmanager:secret:${AWS::StackName}/sellers/*"
# The functions that call the SP-API for the request's seller: its registry item and its own secret.
ACT_FOR_A_SELLER = (
    "ListActionsFunction",
    "CreateDestinationFunction",
    "UploadAttachmentFunction",
    "SendMessageFunction",
    "ApiFunction",
)
RESOLVE_ONLY = ("StartWorkflowFunction",)  # which seller a staged request is for: the registry, no secret


def test_the_seller_secrets_policy_reads_the_stacks_prefix_only(template: dict[str, Any]) -> None:
    statements = template["Resources"]["SellerSecretsReadPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statements == [
        {
            "Sid": "ReadSellerSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
                "${AWS::StackName}/sellers/*"
            },
        },
        {
            "Sid": "DecryptSellerSecretsThroughSecretsManager",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": {"Fn::GetAtt": ["SellerSecretsKey", "Arn"]},
            "Condition": {
                "StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}
            },
        },
    ]


def test_the_seller_secrets_key_is_used_through_secrets_manager_only(template: dict[str, Any]) -> None:
    key = template["Resources"]["SellerSecretsKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    (use,) = [s for s in key["KeyPolicy"]["Statement"] if s["Sid"] == "UseThroughSecretsManagerOnly"]
    assert use["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"
    }


@pytest.mark.parametrize("function", ACT_FOR_A_SELLER + RESOLVE_ONLY)
def test_a_function_reads_the_registry_and_secrets_it_needs_and_writes_neither(
    transformed: dict[str, Any], function: str
) -> None:
    grants = effective_grants(transformed, role_of(transformed, function))
    on_sellers = {grant for grant in grants if grant[2] == "seller#*"}
    # A function that acts for a seller marks it when LWA refuses its token (SellerAuthorizationLostPolicy): an
    # UpdateItem, never a PutItem or DeleteItem that could register or remove a seller.
    marks = {("dynamodb:UpdateItem", "WorkflowTable", "seller#*")} if function in ACT_FOR_A_SELLER else set()
    assert on_sellers == {("dynamodb:GetItem", "WorkflowTable", "seller#*"), *marks}
    on_secrets = {grant for grant in grants if grant[1] == SELLER_SECRETS or grant[1] == "SellerSecretsKey"}
    expected = {
        ("secretsmanager:GetSecretValue", SELLER_SECRETS, None),
        ("kms:Decrypt", "SellerSecretsKey", "kms:ViaService=secretsmanager"),
    }
    assert on_secrets == (expected if function in ACT_FOR_A_SELLER else set())
    # Writing a seller's secret is onboarding's alone: none of these may, on the prefix or anywhere.
    writes = {
        (action, resource)
        for action, resource, _ in grants
        if action.startswith(("secretsmanager:", "kms:"))
        and action not in ("secretsmanager:GetSecretValue", "kms:Decrypt")
        and resource in (SELLER_SECRETS, "SellerSecretsKey", "*")
    }
    assert writes == set()


def test_only_onboarding_touches_the_console_user_pool_and_only_to_create_a_group(transformed: dict[str, Any]) -> None:
    functions = [logical for logical, r in transformed.items() if r["Type"] == "AWS::Lambda::Function"]
    on_cognito = {
        function: {
            grant for grant in effective_grants(transformed, role_of(transformed, function)) if "cognito" in grant[0]
        }
        for function in functions
    }
    assert on_cognito.pop("OnboardSellerFunction") == {("cognito-idp:CreateGroup", "ConsoleUserPool", None)}
    assert {function: grants for function, grants in on_cognito.items() if grants} == {}
