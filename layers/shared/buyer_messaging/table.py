"""The workflow table adapter: the one DynamoDB client, and DynamoDB's errors turned into named ones.

The table holds upload destinations (``destination#…``), the send step's idempotency records (Powertools,
``idempotency#…``), the pacer's items (``pace#…``) and the status record of every request (``request#…``); each
function's IAM statements are held to its families by ``dynamodb:LeadingKeys`` (template.yaml).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from buyer_messaging.aws_clients import CLIENT_LOCK
from buyer_messaging.errors import ConfigurationError, WorkflowTableUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")


class ConditionNotMet(Exception):
    """A conditional write found the item in another state; what that means is the caller's to say."""


@lru_cache(maxsize=1)
def client() -> DynamoDBClient:
    import boto3

    with CLIENT_LOCK:
        return boto3.client("dynamodb")


def reset_client() -> None:
    client.cache_clear()


def call(table: str, operation: Callable[[DynamoDBClient], T]) -> T:
    """Run ``operation`` with the client; a failed condition raises :class:`ConditionNotMet`."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not table:
        raise ConfigurationError("WORKFLOW_TABLE is not set; the function cannot work without it.")
    try:
        return operation(client())
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException":
            raise ConditionNotMet(code) from None
        if code == "ResourceNotFoundException":
            raise ConfigurationError(f"WORKFLOW_TABLE={table!r} does not name a DynamoDB table.") from None
        raise WorkflowTableUnavailable(f"DynamoDB failed on the workflow table ({code}).") from None
    except BotoCoreError as error:
        raise WorkflowTableUnavailable(f"DynamoDB could not be reached ({type(error).__name__}).") from None


def to_attribute(value: Any) -> dict[str, Any]:
    """A Python value (str, int, float, bool, None, list, dict) as a DynamoDB attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {str(key): to_attribute(item) for key, item in value.items()}}
    raise TypeError(f"{type(value).__name__} has no DynamoDB attribute type here")


def from_attribute(attribute: dict[str, Any]) -> Any:
    """The Python value of a DynamoDB attribute value (numbers become int when whole)."""
    (kind, value), *_ = attribute.items()
    if kind == "NULL":
        return None
    if kind == "BOOL":
        return bool(value)
    if kind == "N":
        number = float(value)
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    if kind == "S":
        return str(value)
    if kind == "L":
        return [from_attribute(item) for item in value]
    if kind == "M":
        return {key: from_attribute(item) for key, item in value.items()}
    raise TypeError(f"DynamoDB attribute type {kind} is not used in the workflow table")
