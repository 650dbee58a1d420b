"""The workflow table adapter: the one DynamoDB client, and DynamoDB's errors turned into named ones.

The table holds upload destinations (``destination#…``), the send step's idempotency records (Powertools,
``idempotency#…``), the pacer's items (``pace#…``), the status record of every request (``request#…``) and the
campaigns' records (``campaign#…``); each function's IAM statements are held to its families by
``dynamodb:LeadingKeys`` (template.yaml).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from buyer_messaging.aws_clients import CLIENT_LOCK
from buyer_messaging.errors import ConfigurationError, WorkflowTableUnavailable

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")


class ConditionNotMet(Exception):
    """A conditional write found the item in another state (a transaction: one of its items, or another transaction
    writing one of them); what that means is the caller's to say."""


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
        if code == "TransactionCanceledException" and _cancelled_by_items(error.response):
            raise ConditionNotMet(code) from None
        if code == "ResourceNotFoundException":
            raise ConfigurationError(f"WORKFLOW_TABLE={table!r} does not name a DynamoDB table.") from None
        raise WorkflowTableUnavailable(f"DynamoDB failed on the workflow table ({code}).") from None
    except BotoCoreError as error:
        raise WorkflowTableUnavailable(f"DynamoDB could not be reached ({type(error).__name__}).") from None


# DynamoDB's BatchGetItem takes at most 100 keys a call; keys it leaves unprocessed (throttling, size) are asked again.
BATCH_GET_LIMIT = 100
BATCH_GET_ATTEMPTS = 8


def batch_get(table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of ``keys`` that exist (consistent reads, in any order), 100 keys a call."""
    items: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        pending = keys[start : start + BATCH_GET_LIMIT]
        for _ in range(BATCH_GET_ATTEMPTS):
            if not pending:
                break
            response = cast("dict[str, Any]", call(table, _batch_get_call(table, pending)))
            items.extend(response.get("Responses", {}).get(table, []))
            pending = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        if pending:
            raise WorkflowTableUnavailable(f"DynamoDB left {len(pending)} items unread (throttled or too large).")
    return items


def newest_in_index(table: str, index: str, partition: str, value: Any, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` items of a sparse index's ``partition = value``, the highest sort key first."""
    response = call(
        table,
        lambda client: client.query(
            TableName=table,
            IndexName=index,
            KeyConditionExpression="#partition = :value",
            ExpressionAttributeNames={"#partition": partition},
            ExpressionAttributeValues={":value": to_attribute(value)},
            ScanIndexForward=False,
            Limit=limit,
        ),
    )
    return list(response.get("Items", []))


def _batch_get_call(table: str, keys: list[dict[str, Any]]) -> Callable[[DynamoDBClient], Any]:
    return lambda client: client.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})


# Why DynamoDB cancels a transaction, item by item: the items were not in the state its conditions assumed, or
# another transaction was writing one of them. Either way the caller reads again and decides anew.
_ITEM_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def _cancelled_by_items(response: Mapping[str, Any]) -> bool:
    reasons = {reason.get("Code", "None") for reason in response.get("CancellationReasons") or []}
    return bool(reasons & _ITEM_REASONS) and reasons <= _ITEM_REASONS | {"None"}


def set_clauses(fields: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    """``#f0 = :f0`` for every field, with its name and value placeholders: attribute names like ``status`` are
    reserved words in DynamoDB."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    clauses = []
    for position, (name, value) in enumerate(fields.items()):
        names[f"#f{position}"] = name
        values[f":f{position}"] = to_attribute(value)
        clauses.append(f"#f{position} = :f{position}")
    return names, values, clauses


def to_attribute(value: Any) -> dict[str, Any]:
    """A Python value (str, int, float, bool, None, list, tuple, dict) as a DynamoDB attribute value."""
    serializer, _ = _converters()
    return cast("dict[str, Any]", serializer.serialize(_exact(value)))


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    """The Python value of a DynamoDB attribute value (numbers become int when whole)."""
    _, deserializer = _converters()
    return _plain(deserializer.deserialize(cast(Any, attribute)))


def to_item(fields: Mapping[str, Any]) -> dict[str, Any]:
    """An item (or expression values) from its fields' Python values."""
    return {name: to_attribute(value) for name, value in fields.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item's fields as Python values."""
    return {name: from_attribute(value) for name, value in item.items()}


@lru_cache(maxsize=1)
def _converters() -> tuple[TypeSerializer, TypeDeserializer]:
    # boto3 comes with the table's first call, as the client does: imported with this module, it would add about
    # 17 ms (boto3 on top of botocore) to every function's import, before any call needs it (bench/cold_start.py).
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def _exact(value: Any) -> Any:
    """What the serializer takes: a float as the decimal its repr spells (it refuses floats, which could lose
    digits on the way), a tuple as a list, a key as text."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list | tuple):
        return [_exact(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _exact(item) for key, item in value.items()}
    return value


def _plain(value: Any) -> Any:
    """The deserializer's Decimals as the workflow keeps numbers: an int when written whole, else a float."""
    if isinstance(value, Decimal):
        written = str(value)
        whole = value == value.to_integral_value() and "." not in written and "E" not in written
        return int(value) if whole else float(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
