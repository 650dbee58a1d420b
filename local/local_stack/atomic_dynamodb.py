"""Makes moto's DynamoDB apply each request atomically, as DynamoDB does.

DynamoDB applies every write to an item as one step: a condition is checked and the update applied with no
other write in between, and concurrent requests never see an item half-updated. moto keeps its tables in
plain dicts and evaluates a request in several steps with no lock, so requests that run at the same time
(the state machine's Map runs one attachment's steps per thread, all updating the same status record) can
fail with ``RuntimeError: dictionary changed size during iteration`` or lose an update — failures and
successes DynamoDB would never produce, in either direction. Serialising moto's DynamoDB requests gives back
DynamoDB's per-request atomicity; it is not lenient: conditions are still checked against the latest item.

moto also makes every TransactWriteItems request copy each table it names, every item of it, to roll back on
failure: the cost of one transaction grows with the table, and a campaign's outcome step (one transaction per row)
slowed as the workflow table filled (a campaign of 1,000 rows spent a quarter of the stack's time copying it, and
every other DynamoDB request waited meanwhile). DynamoDB's cost does not grow so. Here a transaction keeps a copy
of only the items it names and puts them back when it is cancelled: the same answers and the same items after it.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
from collections.abc import Callable
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

from local_stack.fairness import FairLock

# Reentrant, and fair among sellers: a step of one seller's waits behind at most one request of each other seller
# waiting, not behind a burst's whole queue (on AWS DynamoDB serves every request at once).
_ONE_REQUEST_AT_A_TIME = FairLock()
_installed: list[Callable[..., Any]] = []
_installed_transact: list[Callable[..., Any]] = []
CHECKED_MOTO = "5.2.5"
# The source of moto's DynamoDBBackend.transact_write_items whose answers transact_write_items below gives.
TRANSACT_WRITE_ITEMS_SHA256 = "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4"
MAX_TRANSACT_ITEMS = 100
MOTO_TRANSACT_WRITE_ITEMS = DynamoDBBackend.transact_write_items  # moto's own, as imported (tests compare)


def source_digest(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    attributes = op["Item"]
    key = {table.hash_key_attr: attributes[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attributes[table.range_key_attr]
    return key


class _ItemsBefore:
    """The items a transaction names, as they were before it: what a cancelled transaction puts back."""

    def __init__(self, backend: DynamoDBBackend) -> None:
        self._backend = backend
        self._kept: list[tuple[Table, Any, Any, Item | None]] = []

    def keep(self, table_name: str, key: dict[str, Any]) -> None:
        table = self._backend.get_table(table_name)
        hash_value, range_value = self._backend.get_keys_value(table, key)
        self._kept.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))

    def put_back(self) -> None:
        # Last kept first: an item named twice (a request moto refuses) ends as it was before the first.
        for table, hash_value, range_value, item in reversed(self._kept):
            if item is not None:
                if range_value is not None:
                    table.items[hash_value][range_value] = item
                else:
                    table.items[hash_value] = item
            elif range_value is not None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items.pop(hash_value, None)


class _ConditionFailed(ConditionalCheckFailed):
    """A condition of the transaction that does not hold, with the item when the caller asked for it."""

    def __init__(self, old_item: dict[str, Any] | None) -> None:
        super().__init__(item=old_item)
        self.old_item = old_item


def _check_condition(backend: DynamoDBBackend, table_name: str, key: dict[str, Any], op: dict[str, Any]) -> None:
    current = backend.get_item(table_name, key)  # always: a key of the wrong type is refused here
    expression = op.get("ConditionExpression")
    if expression is None:
        return
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    if not get_filter_expression(expression, names, values).expr(current):
        wants_old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
        raise _ConditionFailed(current.to_json()["Attributes"] if wants_old and current else None)


def _write(backend: DynamoDBBackend, op_type: str, table_name: str, key: dict[str, Any], op: dict[str, Any]) -> None:
    expressions: dict[str, Any] = {
        "condition_expression": op.get("ConditionExpression"),
        "expression_attribute_names": op.get("ExpressionAttributeNames"),
        "expression_attribute_values": op.get("ExpressionAttributeValues"),
    }
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], **expressions)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, **expressions)
    elif op_type == "Update":
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **expressions)


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems, each step and answer the same, but what it keeps to roll back is the items it
    names instead of a copy of every table it names."""
    if len(transact_items) > MAX_TRANSACT_ITEMS:
        raise TooManyTransactionsException()
    before = _ItemsBefore(self)
    named: set[tuple[str, str]] = set()
    errors: list[tuple[str, str, dict[str, Any] | None] | tuple[None, None, None]] = []
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(entry.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            key = _key_of(self, op_type, op)
            unique = (str(table_name), str(dict(sorted(key.items()))))
            if unique in named:
                raise MultipleTransactionsException()
            named.add(unique)
            _check_condition(self, table_name, key, op)
            if op_type != "ConditionCheck":
                before.keep(table_name, key)
                _write(self, op_type, table_name, key, op)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            before.put_back()
            raise
        except ConditionalCheckFailed as error:
            errors.append(("ConditionalCheckFailed", str(error.message), getattr(error, "old_item", None)))
        except Exception as error:  # moto answers any other failure as the item's cancellation reason
            errors.append((type(error).__name__, str(error), None))
    if any(code is not None for code, _, _ in errors):
        before.put_back()
        raise TransactionCanceledException(errors)


def install() -> Callable[[], None]:
    """Serialise moto's DynamoDB requests; returns the function that restores moto (a no-op if already done)."""
    if _installed:
        return lambda: None
    # moto's private dispatch: every DynamoDB request is answered in call_action (checked against moto 5.2.5 by
    # tests/unit/test_library_internals.py).
    original = DynamoHandler.call_action

    def call_action(handler: DynamoHandler) -> Any:
        with _ONE_REQUEST_AT_A_TIME:
            return original(handler)

    if source_digest(MOTO_TRANSACT_WRITE_ITEMS) != TRANSACT_WRITE_ITEMS_SHA256:
        raise RuntimeError(
            "moto's DynamoDBBackend.transact_write_items is not the one local_stack.atomic_dynamodb was written "
            f"against (moto {CHECKED_MOTO}): read the new code and follow it."
        )
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _installed.append(original)
    _installed_transact.append(DynamoDBBackend.transact_write_items)
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    def restore() -> None:
        if _installed:
            DynamoHandler.call_action = _installed.pop()  # type: ignore[method-assign]
            DynamoDBBackend.transact_write_items = _installed_transact.pop()  # type: ignore[method-assign]

    return restore
