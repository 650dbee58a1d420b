"""The seller through a request: the document's field, the S3 key's segment, resolution where a request enters,
each seller's own credentials and pace, names, records and tags."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses

from buyer_messaging import http_api, naming, outcome, pacer, seller_scope, sellers, spapi, status, trigger, turns
from buyer_messaging.config import Settings, get_settings
from buyer_messaging.errors import (
    AttachmentOfAnotherSeller,
    InvalidRequest,
    SellerMismatch,
    SellerRequired,
    UnknownSeller,
    UnsupportedS3Key,
)
from buyer_messaging.models import MessageRequest
from buyer_messaging.trigger import StagedObjectEvent
from local_stack import atomic_dynamodb
from tests import support

SELLER_A = "A2EXAMPLESELLER"
SELLER_B = "A3OTHERSELLER"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DOCUMENT = {
    "amazonOrderId": support.ORDER_ID,
    "marketplaceId": support.MARKETPLACE_ID,
    "messageType": "unexpectedProblem",
    "text": "Your parcel is late.",
}


def _two_sellers(aws: dict[str, Any]) -> Settings:
    """SELLER_A and SELLER_B registered, each with its own refresh token."""
    settings = get_settings()
    sellers.record_authorization(settings, SELLER_A, "Atzr|a-token", kind="self", at=NOW)
    sellers.record_authorization(settings, SELLER_B, "Atzr|b-token", kind="oauth", at=NOW)
    return settings


def _staged(key: str) -> StagedObjectEvent:
    return StagedObjectEvent(bucket=support.BUCKET, key=key, version_id="v1", etag='"abc"', size=10)


def _read(document: object) -> Any:
    return lambda bucket, key, version_id: document


# --- the request document ---------------------------------------------------------------------------------


def test_the_request_document_names_its_seller() -> None:
    request = MessageRequest.from_dict({**DOCUMENT, "sellingPartnerId": SELLER_A})
    assert request.selling_partner_id == SELLER_A
    assert request.to_dict()["sellingPartnerId"] == SELLER_A
    # Not named: the document stays as it was (no field), so its execution keeps today's name.
    assert "sellingPartnerId" not in MessageRequest.from_dict(DOCUMENT).to_dict()


def test_a_seller_id_that_is_none_is_refused_with_its_field() -> None:
    with pytest.raises(InvalidRequest) as refused:
        MessageRequest.from_dict({**DOCUMENT, "sellingPartnerId": "a2example"})
    assert refused.value.problems == (
        ("sellingPartnerId", "must be a selling partner id (upper-case letters and digits, 8 to 20)"),
    )


# --- S3 keys: the seller segment -------------------------------------------------------------------------


def test_an_outbox_key_under_a_seller_is_that_sellers_message() -> None:
    key = f"sellers/{SELLER_A}/outbox/{support.MARKETPLACE_ID}/{support.ORDER_ID}/invoice/Invoice-1.pdf"
    staged = _staged(key)
    request = trigger.request_for_object(staged, _read(None))
    assert trigger.key_seller(staged) == SELLER_A
    assert (request.amazon_order_id, request.message_type) == (support.ORDER_ID, "invoice")
    assert [attachment.key for attachment in request.attachments] == [key]


def test_a_campaign_manifest_under_a_seller_is_a_campaign_object() -> None:
    assert trigger.is_campaign_object(_staged(f"sellers/{SELLER_A}/campaigns/july.csv"))
    assert not trigger.is_campaign_object(_staged(f"sellers/{SELLER_A}/requests/july.json"))


@pytest.mark.parametrize("segment", ["a2example", "SHORT", ""])
def test_a_seller_segment_that_is_no_seller_id_fits_no_convention(segment: str) -> None:
    with pytest.raises(UnsupportedS3Key, match="after sellers/ comes a selling partner id"):
        trigger.request_for_object(_staged(f"sellers/{segment}/requests/r.json"), _read(DOCUMENT))


def test_a_document_under_one_seller_naming_another_is_refused(aws: dict[str, Any]) -> None:
    settings = _two_sellers(aws)
    staged = _staged(f"sellers/{SELLER_A}/requests/r.json")
    request = trigger.request_for_object(staged, _read({**DOCUMENT, "sellingPartnerId": SELLER_B}))
    with pytest.raises(SellerMismatch) as refused:
        seller_scope.for_request(settings, request, key_seller=trigger.key_seller(staged))
    assert str(refused.value) == (
        f"The request is refused: the document names {SELLER_B}, its key sellers/{SELLER_A}/…: "
        "one request is for one seller."
    )
    # The same document naming the key's seller, or none, is that seller's.
    for document in ({**DOCUMENT, "sellingPartnerId": SELLER_A}, DOCUMENT):
        resolved = seller_scope.for_request(
            settings, trigger.request_for_object(staged, _read(document)), key_seller=SELLER_A
        )
        assert resolved.selling_partner_id == SELLER_A


# --- resolution where a request enters -------------------------------------------------------------------


def test_with_two_sellers_a_request_naming_none_is_refused(aws: dict[str, Any]) -> None:
    settings = _two_sellers(aws)
    with pytest.raises(SellerRequired) as refused:
        seller_scope.for_request(settings, MessageRequest.from_dict(DOCUMENT))
    assert refused.value.problems[0][0] == "sellingPartnerId"
    with pytest.raises(UnknownSeller):
        seller_scope.for_request(settings, MessageRequest.from_dict({**DOCUMENT, "sellingPartnerId": "A9NOBODY99"}))


def test_the_one_seller_of_a_deployment_is_the_requests_seller(aws: dict[str, Any]) -> None:
    settings = get_settings()
    assert seller_scope.for_request(settings, MessageRequest.from_dict(DOCUMENT)).selling_partner_id is None
    sellers.record_authorization(settings, SELLER_A, "Atzr|a-token", kind="self", at=NOW)
    assert seller_scope.for_request(settings, MessageRequest.from_dict(DOCUMENT)).selling_partner_id == SELLER_A


def test_a_file_staged_for_another_seller_is_never_sent(aws: dict[str, Any]) -> None:
    settings = _two_sellers(aws)
    document = {
        **DOCUMENT,
        "messageType": "invoice",
        "sellingPartnerId": SELLER_A,
        "attachments": [
            {"key": f"sellers/{SELLER_A}/attachments/a.pdf"},
            {"key": f"sellers/{SELLER_B}/attachments/b.pdf"},
            {"key": "attachments/unscoped.pdf"},
        ],
    }
    with pytest.raises(AttachmentOfAnotherSeller) as refused:
        seller_scope.for_request(settings, MessageRequest.from_dict(document, default_bucket=support.BUCKET))
    assert refused.value.problems == (
        ("attachments[1].key", "is a file staged for another seller: it is never sent for this one"),
    )


def test_owner_says_whose_a_record_is() -> None:
    assert seller_scope.owner({"sellingPartnerId": SELLER_A, "amazonOrderId": support.ORDER_ID}) == SELLER_A
    assert seller_scope.owner({"amazonOrderId": support.ORDER_ID}) is None
    assert seller_scope.owner(None) is None


# --- names -----------------------------------------------------------------------------------------------


def test_the_seller_is_part_of_an_api_requests_identity() -> None:
    plain = MessageRequest.from_dict(DOCUMENT)
    for_a = MessageRequest.from_dict({**DOCUMENT, "sellingPartnerId": SELLER_A})
    for_b = MessageRequest.from_dict({**DOCUMENT, "sellingPartnerId": SELLER_B})
    by_content = {naming.request_execution_name(r, caller="c") for r in (plain, for_a, for_b)}
    by_key = {naming.request_execution_name(r, caller="c", idempotency_key="k-1") for r in (plain, for_a, for_b)}
    assert len(by_content) == len(by_key) == 3
    # A request naming no seller keeps the name it had before sellers were named: an upgrade re-sends nothing.
    assert naming.request_execution_name(plain, caller="c") == (
        "123-1234567-1234567-unexpectedProblem-3704d8c0e6499257f2a720db4bbc8afc"
    )
    assert naming.request_execution_name(plain, caller="c", idempotency_key="k-1") == (
        "123-1234567-1234567-unexpectedProblem-5afef63e3bcea33aeb8a0db09a1e3316"
    )


# --- credentials and pace per seller ---------------------------------------------------------------------


def test_each_seller_is_called_with_its_own_refresh_token(aws: dict[str, Any], http: responses.RequestsMock) -> None:
    _two_sellers(aws)
    path = f"/messaging/v1/orders/{support.ORDER_ID}"
    http.get(support.ENDPOINT + path, json={"_links": {"actions": []}})
    for seller in (SELLER_A, SELLER_B):
        client = spapi.seller_client(seller)
        client.call("getMessagingActionsForOrder", "GET", path, params={"marketplaceIds": support.MARKETPLACE_ID})
        assert client.authorization is not None
        assert client.authorization.authorized_at == "2026-12-06T12:00:00Z"
    assert spapi.seller_client(SELLER_A) is spapi.seller_client(SELLER_A)
    assert spapi.seller_client(SELLER_A) is not spapi.seller_client(SELLER_B)
    refresh_tokens = [
        parse_qs(str(call.request.body))["refresh_token"][0]
        for call in http.calls
        if call.request.url == support.TOKEN_URL
    ]
    assert refresh_tokens == ["Atzr|a-token", "Atzr|b-token"]


@pytest.fixture
def table(aws: dict[str, Any]) -> Iterator[str]:
    restore = atomic_dynamodb.install()
    yield support.TABLE
    restore()


def test_a_burst_of_one_seller_leaves_another_sellers_first_turn_immediate(table: str) -> None:
    operation = "getMessagingActionsForOrder"
    arn = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:burst-"
    for index in range(3):
        status.received(table, arn + str(index), status.Retention(90))
    for _ in range(30):  # seller A's burst: its bucket spent and 25 turns queued behind it
        pacer.reserve(table, pacer.PaceKey(SELLER_A, operation), 1.0, 5, pacer.PacerClock().now)
    with pytest.raises(turns.TurnLater) as later:  # A's next message waits its turn in Step Functions
        turns.take_turn(operation, turns.Taker(arn + "0", seller=SELLER_A))
    assert later.value.pacing.wait_seconds >= 20
    started = time.monotonic()
    turns.take_turn(operation, turns.Taker(arn + "1", seller=SELLER_B))  # B's own bucket: at once
    assert time.monotonic() - started < 0.5
    assert pacer.read(table, pacer.PaceKey(SELLER_B, operation), 1.0, 5).version == 1
    # No seller named: today's key, one per credentials secret (a deployment never told its seller's id).
    assert turns.seller_key(get_settings(), None).startswith("secret-")


# --- records, tags, the API ------------------------------------------------------------------------------


def test_a_status_record_carries_its_seller(aws: dict[str, Any]) -> None:
    request = MessageRequest.from_dict({**DOCUMENT, "sellingPartnerId": SELLER_A})
    arn = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:rec-1"
    status.received(support.TABLE, arn, status.Retention(90), summary=status.request_summary(request))
    record = status.get(support.TABLE, "rec-1")
    assert seller_scope.owner(record) == SELLER_A
    assert outcome.event_detail(record or {})["sellingPartnerId"] == SELLER_A


def test_a_staged_object_is_tagged_with_its_seller(aws: dict[str, Any]) -> None:
    key = f"sellers/{SELLER_A}/attachments/a.pdf"
    aws["s3"].put_object(Bucket=support.BUCKET, Key=key, Body=b"%PDF-1.4")
    request = MessageRequest.from_dict(
        {**DOCUMENT, "sellingPartnerId": SELLER_A, "attachments": [{"key": key}]}, default_bucket=support.BUCKET
    )
    arn = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:tag-1"
    status.received(support.TABLE, arn, status.Retention(90), summary=status.request_summary(request))
    where = outcome.Destinations(support.TABLE, support.BUCKET, "default", status.Retention(90))
    outcome.record_failed(where, arn, outcome.Failure("SpApiInvalidInput", "no"), request.to_dict())
    tags = aws["s3"].get_object_tagging(Bucket=support.BUCKET, Key=key)["TagSet"]
    assert {"Key": "buyer-messaging:selling-partner-id", "Value": SELLER_A} in tags


def test_post_attachments_hands_out_a_key_under_the_seller(aws: dict[str, Any]) -> None:
    _two_sellers(aws)
    staged = http_api.stage_attachment("a.pdf", "application/pdf", 10, SELLER_B)
    assert staged["key"].startswith(f"sellers/{SELLER_B}/attachments/")
    assert http_api.staged_key_problem(staged["key"]) is None
    with pytest.raises(SellerRequired):
        http_api.stage_attachment("a.pdf", "application/pdf", 10)
    with pytest.raises(InvalidRequest, match="sellingPartnerId must be a selling partner id"):
        http_api.read_send_message(json.dumps({"marketplaceId": "X", "messageType": "y", "sellingPartnerId": "x"}))


def test_the_order_history_is_filtered_by_seller(aws: dict[str, Any]) -> None:
    for name, seller in (("h-a", SELLER_A), ("h-b", SELLER_B)):
        request = MessageRequest.from_dict({**DOCUMENT, "sellingPartnerId": seller})
        arn = f"arn:aws:states:us-east-1:123456789012:execution:{support.STATE_MACHINE_NAME}:{name}"
        status.received(support.TABLE, arn, status.Retention(90), summary=status.request_summary(request))
    history = http_api.order_history(support.ORDER_ID, SELLER_B)
    assert history["sellingPartnerId"] == SELLER_B
    assert [message["requestId"] for message in history["messages"]] == ["h-b"]
    assert {message["requestId"] for message in http_api.order_history(support.ORDER_ID)["messages"]} == {
        "h-a",
        "h-b",
    }


@pytest.mark.parametrize(
    ("key", "starts"),
    [
        (f"sellers/{SELLER_A}/outbox/{support.MARKETPLACE_ID}/{support.ORDER_ID}/invoice/a.pdf", True),
        (f"sellers/{SELLER_A}/requests/r.json", True),
        (f"sellers/{SELLER_A}/campaigns/july.csv", True),
        (f"sellers/{SELLER_A}/campaigns/july.jsonl", True),
        # Every key under sellers/ reaches the trigger (S3 filters match a prefix): these start nothing.
        (f"sellers/{SELLER_A}/attachments/0b1c/a.pdf", False),
        (f"sellers/{SELLER_A}/requests/r.txt", False),
        (f"sellers/{SELLER_A}/campaigns/notes.txt", False),
        ("requests/r.json", True),
    ],
)
def test_under_sellers_only_what_the_filters_mean_starts(key: str, starts: bool) -> None:
    assert trigger.starts_something(_staged(key)) is starts
