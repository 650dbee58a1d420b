"""The local stack's TransactWriteItems (local_stack.atomic_dynamodb): the answers and the items moto gives, without
copying every table a transaction names. Each scenario runs through moto's own function and through ours, on tables
built the same way, and both must end alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import Item

from local_stack import atomic_dynamodb

REGION = "us-east-1"
TABLE = "workflow"


def _put(pk: str, sk: str, **attributes: str) -> dict[str, Any]:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **{name: {"S": value} for name, value in attributes.items()}}
    return {"Put": {"TableName": TABLE, "Item": item}}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _update(pk: str, sk: str, state: str, **condition: Any) -> dict[str, Any]:
    op = {
        "TableName": TABLE,
        "Key": _key(pk, sk),
        "UpdateExpression": "SET #state = :state",
        "ExpressionAttributeNames": {"#state": "state"},
        "ExpressionAttributeValues": {":state": {"S": state}},
        **condition,
    }
    return {"Update": op}


NEW_ITEM_AND_A_FAILED_CONDITION = [
    _put("request#new", "record", state="received"),
    _update("campaign#c", "record", "counted", ConditionExpression="attribute_not_exists(pk)"),
]
UPDATE_THEN_FAILED_CHECK_WITH_OLD_ITEM = [
    _update("campaign#c", "record", "counted"),
    {
        "ConditionCheck": {
            "TableName": TABLE,
            "Key": _key("request#1", "record"),
            "ConditionExpression": "#state = :sent",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":sent": {"S": "sent"}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    },
]
DELETE_THEN_A_MISSING_TABLE = [
    {"Delete": {"TableName": TABLE, "Key": _key("request#2", "record")}},
    _update("campaign#c", "record", "counted"),
    {"Update": {**_update("x", "y", "z")["Update"], "TableName": "no-such-table"}},
]
THE_SAME_ITEM_TWICE = [
    _update("request#1", "record", "sent"),
    _put("request#new", "record", state="received"),
    _update("request#1", "record", "failed"),
]
A_KEY_OF_THE_WRONG_TYPE = [
    _put("request#new", "record", state="received"),
    {"Update": {**_update("request#1", "record", "sent")["Update"], "Key": {"pk": {"N": "1"}, "sk": {"S": "r"}}}},
]
ALL_HOLD = [
    _put("request#new", "record", state="received"),
    _update("campaign#c", "record", "counted", ConditionExpression="attribute_exists(pk)"),
    {"Delete": {"TableName": TABLE, "Key": _key("request#2", "record")}},
]
SCENARIOS = {
    "a new item and a failed condition": NEW_ITEM_AND_A_FAILED_CONDITION,
    "an update then a failed check returning the old item": UPDATE_THEN_FAILED_CHECK_WITH_OLD_ITEM,
    "a delete then a missing table": DELETE_THEN_A_MISSING_TABLE,
    "the same item twice": THE_SAME_ITEM_TWICE,
    "a key of the wrong type": A_KEY_OF_THE_WRONG_TYPE,
    "every condition holds": ALL_HOLD,
}


@contextmanager
def _tables() -> Iterator[DynamoDBBackend]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for pk, state in (("campaign#c", "open"), ("request#1", "received"), ("request#2", "sent")):
            client.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"S": "record"}, "state": {"S": state}})
        yield dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]


def _outcome(transact: Callable[..., None], items: list[dict[str, Any]]) -> tuple[str, str, list[str]]:
    """What the transaction answered and every item after it, on tables of their own."""
    with _tables() as backend:
        try:
            transact(backend, items)
            answer = ("done", "")
        except Exception as error:
            answer = (type(error).__name__, str(getattr(error, "description", error)))
        items_after = sorted(str(item.to_json()["Attributes"]) for item in backend.get_table(TABLE).all_items())
    return (*answer, items_after)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_transaction_answers_and_leaves_the_items_as_moto_does(scenario: str) -> None:
    ours = _outcome(atomic_dynamodb.transact_write_items, SCENARIOS[scenario])

    assert ours == _outcome(atomic_dynamodb.MOTO_TRANSACT_WRITE_ITEMS, SCENARIOS[scenario])


def test_the_scenarios_cover_cancellations_refusals_and_a_success() -> None:
    answers = [_outcome(atomic_dynamodb.transact_write_items, items)[0] for items in SCENARIOS.values()]

    assert sorted(answers) == [
        "InvalidAttributeTypeError",  # moto's ValidationException for a key
        "MultipleTransactionsException",  # and for the same item twice: refused, not cancelled
        "TransactionCanceledException",
        "TransactionCanceledException",
        "TransactionCanceledException",
        "done",
    ]


def test_a_cancelled_transaction_puts_back_the_items_it_wrote() -> None:
    _, _, before = _outcome(atomic_dynamodb.transact_write_items, [])
    for name, items in SCENARIOS.items():
        answer, _, after = _outcome(atomic_dynamodb.transact_write_items, items)
        if answer != "done":
            assert after == before, name


def test_a_transaction_copies_only_the_items_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    copies: list[Item] = []
    deepcopy_item = Item.__deepcopy__

    def counted(self: Item, memo: dict[int, Any]) -> Item:
        copies.append(self)
        return deepcopy_item(self, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counted)
    with _tables() as backend:
        table = backend.get_table(TABLE)
        for number in range(500):
            table.put_item({"pk": {"S": f"request#{number + 10}"}, "sk": {"S": "record"}, "state": {"S": "sent"}})

        atomic_dynamodb.transact_write_items(backend, ALL_HOLD)
        # The campaign's record and the deleted request's (the new item did not exist), and the copy moto's
        # update_item makes of the item it updates.
        assert len(copies) == 3
        copies.clear()
        atomic_dynamodb.MOTO_TRANSACT_WRITE_ITEMS(backend, ALL_HOLD[1:2])
        assert len(copies) >= 500  # moto's own: every item of the table, for every transaction
