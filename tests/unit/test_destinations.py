"""Upload destinations kept in the workflow table: round trip through DynamoDB (moto), TTL, usability, errors."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from buyer_messaging import destinations, table
from buyer_messaging.config import get_settings
from buyer_messaging.destinations import RENEW_MARGIN_SECONDS, URL_LIFETIME_SECONDS, StoredDestination
from buyer_messaging.errors import ConfigurationError, WorkflowTableUnavailable
from buyer_messaging.models import UploadDestination
from tests import support

DESTINATION_ID = "6a2e41d6-8a0b-4b11-9bdf-2f0f5a5e8c11"
SIGNATURE = "X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f0"
DESTINATION = UploadDestination(
    upload_destination_id=DESTINATION_ID,
    url=f"https://{support.UPLOAD_HOST}/%2FNinetyDays/amzn1.tortuga.4.na.{DESTINATION_ID}?{SIGNATURE}",
    headers={"Content-MD5": "LG7iSwmBam8U+V0WmLJOrQ==", "x-amz-server-side-encryption": "aws:kms"},
)
CREATED_AT = 1_795_000_000.25


def _item(aws: dict[str, Any], destination_id: str = DESTINATION_ID) -> dict[str, Any]:
    item: dict[str, Any] = aws["dynamodb"].get_item(
        TableName=support.TABLE, Key={"id": {"S": f"destination#{destination_id}"}}, ConsistentRead=True
    )["Item"]
    return item


# --- round trip ------------------------------------------------------------------------------------------


def test_save_then_load_returns_the_destination(aws: dict[str, Any]) -> None:
    saved = destinations.save(support.TABLE, DESTINATION, created_at=CREATED_AT)
    loaded = destinations.load(support.TABLE, DESTINATION_ID)
    assert saved == StoredDestination(DESTINATION, CREATED_AT)
    assert loaded == saved
    assert loaded is not None
    assert loaded.destination.url == DESTINATION.url
    assert dict(loaded.destination.headers) == dict(DESTINATION.headers)
    assert loaded.created_at == CREATED_AT


def test_the_table_is_the_workflow_table_of_the_settings(aws: dict[str, Any]) -> None:
    assert get_settings().require("workflow_table") == support.TABLE
    destinations.save(get_settings().workflow_table, DESTINATION)
    assert _item(aws)["url"] == {"S": DESTINATION.url}


def test_created_at_defaults_to_now(aws: dict[str, Any]) -> None:
    before = time.time()
    saved = destinations.save(support.TABLE, DESTINATION)
    after = time.time()
    assert before <= saved.created_at <= after
    loaded = destinations.load(support.TABLE, DESTINATION_ID)
    assert loaded is not None
    assert loaded.created_at == saved.created_at


def test_destination_without_headers_round_trips(aws: dict[str, Any]) -> None:
    bare = UploadDestination(upload_destination_id="bare-1", url=DESTINATION.url)
    destinations.save(support.TABLE, bare, created_at=CREATED_AT)
    loaded = destinations.load(support.TABLE, "bare-1")
    assert loaded is not None
    assert loaded.destination == bare
    assert dict(loaded.destination.headers) == {}


def test_the_record_shape(aws: dict[str, Any]) -> None:
    destinations.save(support.TABLE, DESTINATION, created_at=CREATED_AT)
    item = _item(aws)
    assert set(item) == {"id", "url", "headers", "createdAt", "expiration"}
    assert item["id"] == {"S": f"destination#{DESTINATION_ID}"}
    assert json.loads(item["headers"]["S"]) == dict(DESTINATION.headers)
    assert float(item["createdAt"]["N"]) == CREATED_AT


def test_the_record_expires_by_ttl_a_little_after_the_url(aws: dict[str, Any]) -> None:
    destinations.save(support.TABLE, DESTINATION, created_at=CREATED_AT)
    expiration = _item(aws)["expiration"]["N"]
    # DynamoDB's TTL takes whole epoch seconds (a number in milliseconds would keep the record for ever).
    assert expiration.isdigit()
    seconds = int(expiration)
    assert CREATED_AT + URL_LIFETIME_SECONDS < seconds <= CREATED_AT + URL_LIFETIME_SECONDS + 3600


def test_saving_again_replaces_the_record(aws: dict[str, Any]) -> None:
    destinations.save(support.TABLE, DESTINATION, created_at=CREATED_AT)
    renewed = UploadDestination(DESTINATION_ID, url=DESTINATION.url + "&renewed", headers={"Content-MD5": "x"})
    destinations.save(support.TABLE, renewed, created_at=CREATED_AT + 60)
    assert destinations.load(support.TABLE, DESTINATION_ID) == StoredDestination(renewed, CREATED_AT + 60)


def test_loading_an_unknown_id_is_none(aws: dict[str, Any]) -> None:
    destinations.save(support.TABLE, DESTINATION, created_at=CREATED_AT)
    assert destinations.load(support.TABLE, "0c1b2a39-0000-4000-8000-000000000000") is None


def test_an_idempotency_record_in_the_same_table_is_not_a_destination(aws: dict[str, Any]) -> None:
    """The table is shared with the send step's records; only "destination#<id>" keys are destinations."""
    aws["dynamodb"].put_item(TableName=support.TABLE, Item={"id": {"S": DESTINATION_ID}, "status": {"S": "COMPLETED"}})
    assert destinations.load(support.TABLE, DESTINATION_ID) is None


# --- usable() --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "usable"),
    [
        (-5.0, True),  # a clock a little behind the creator's
        (0.0, True),
        (URL_LIFETIME_SECONDS - RENEW_MARGIN_SECONDS - 0.001, True),
        (URL_LIFETIME_SECONDS - RENEW_MARGIN_SECONDS, False),
        (URL_LIFETIME_SECONDS - 1, False),
        (URL_LIFETIME_SECONDS, False),
        (URL_LIFETIME_SECONDS * 10, False),
    ],
)
def test_usable_until_the_renew_margin_before_the_url_expires(age: float, usable: bool) -> None:
    assert StoredDestination(DESTINATION, CREATED_AT).usable(CREATED_AT + age) is usable


def test_the_lifetime_and_margin_are_amazons_fifteen_minutes_less_two() -> None:
    assert (URL_LIFETIME_SECONDS, RENEW_MARGIN_SECONDS) == (900, 120)


# --- the URL is a credential -----------------------------------------------------------------------------


def test_repr_shows_neither_url_nor_headers(aws: dict[str, Any]) -> None:
    saved = destinations.save(support.TABLE, DESTINATION, created_at=CREATED_AT)
    loaded = destinations.load(support.TABLE, DESTINATION_ID)
    for shown in (repr(DESTINATION), str(DESTINATION), repr(saved), str(saved), repr(loaded)):
        assert DESTINATION_ID in shown
        assert "X-Amz-Signature" not in shown
        assert support.UPLOAD_HOST not in shown
        assert "https://" not in shown
        assert "LG7iSwmBam8U" not in shown
        assert "aws:kms" not in shown


# --- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["save", "load"])
def test_a_missing_table_is_a_configuration_error(aws: dict[str, Any], operation: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        _call(operation, "no-such-table")
    assert "WORKFLOW_TABLE" in str(raised.value)
    assert "no-such-table" in str(raised.value)
    assert not raised.value.transient


@pytest.mark.parametrize("operation", ["save", "load"])
def test_no_table_configured_is_a_configuration_error(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    monkeypatch.setenv("WORKFLOW_TABLE", "")
    get_settings.cache_clear()
    with pytest.raises(ConfigurationError, match="WORKFLOW_TABLE"):
        get_settings().require("workflow_table")
    with pytest.raises(ConfigurationError, match="WORKFLOW_TABLE"):
        _call(operation, get_settings().workflow_table)


@pytest.mark.parametrize("operation", ["save", "load"])
@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem"),
        ClientError({"Error": {"Code": "InternalServerError", "Message": "oops"}}, "GetItem"),
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ],
    ids=["throttled", "server-error", "unreachable"],
)
def test_dynamodb_failures_are_transient(monkeypatch: pytest.MonkeyPatch, operation: str, error: Exception) -> None:
    def fail(**_: Any) -> Any:
        raise error

    client = table.client()  # the cached client the module uses; its calls fail
    monkeypatch.setattr(client, "put_item", fail)
    monkeypatch.setattr(client, "get_item", fail)
    with pytest.raises(WorkflowTableUnavailable) as raised:
        _call(operation, support.TABLE)
    assert raised.value.transient
    assert "X-Amz-Signature" not in str(raised.value)


def _call(operation: str, table: str) -> Any:
    if operation == "save":
        return destinations.save(table, DESTINATION, created_at=CREATED_AT)
    return destinations.load(table, DESTINATION_ID)
