"""``make seller ARGS="grant EMAIL ID | revoke EMAIL ID"``: add a console user to a seller's group in the deployed
stack's console user pool (``seller-{id}``, buyer_messaging.access), or take them out of it. The operator's own AWS
credentials call Cognito (AdminAddUserToGroup, AdminRemoveUserFromGroup); the group is created when missing (a seller
onboarded before groups existed). The local stack has no user pool: its console has no sign-in, every caller there
is the operator, so there is nothing to grant."""

from __future__ import annotations

from typing import Any, TextIO

USER_POOL = "ConsoleUserPool"
LOCAL = (
    "The local stack's console has no sign-in (no user pool): everyone at it acts for every seller. grant and "
    "revoke act on a deployed stack's console users: add --stack NAME."
)


def user_pool_of(stack: str, region: str | None) -> tuple[Any, str]:
    """The Cognito client and the stack's console user pool id."""
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region)
    found = cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId=USER_POOL)
    pool_id = found["StackResourceDetail"]["PhysicalResourceId"]
    return boto3.client("cognito-idp", region_name=cloudformation.meta.region_name), pool_id


def change(command: str, email: str, seller: str, stack: str | None, region: str | None, out: TextIO) -> int:
    """grant or revoke; 0 when done, 2 when refused (the reason printed)."""
    from botocore.exceptions import ClientError

    from buyer_messaging.access import group_name
    from buyer_messaging.sellers import check_id

    if stack is None:
        print(LOCAL, file=out)
        return 2
    check_id(seller)
    client, pool_id = user_pool_of(stack, region)
    group = group_name(seller)
    try:
        if command == "grant":
            try:
                client.create_group(
                    GroupName=group, UserPoolId=pool_id, Description=f"Console users who act for seller {seller}."
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "GroupExistsException":
                    raise
            client.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
            print(f"{email} acts for seller {seller} from their next sign-in.", file=out)
        else:
            client.admin_remove_user_from_group(UserPoolId=pool_id, Username=email, GroupName=group)
            print(
                f"{email} no longer acts for seller {seller} once their current sign-in ends (at most 1 hour).",
                file=out,
            )
    except ClientError as error:
        details = error.response.get("Error", {})
        print(f"Refused ({details.get('Code')}): {details.get('Message')}", file=out)
        return 2
    return 0
