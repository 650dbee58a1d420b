"""Usage plans: a token bucket per operation with the catalog's rate and burst, on emulated time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from buyer_messaging import catalog
from spapi_emulator import Emulator
from tests.emulator.conftest import Api, error_codes

QUOTA_EXCEEDED = {
    "code": "QuotaExceeded",
    "message": "You exceeded your quota for the requested resource.",
    "details": "",
}


@pytest.fixture
def real_time_api(session: requests.Session) -> Iterator[Api]:
    """An emulator whose buckets refill at Amazon's real rate (1/s for messaging)."""
    with Emulator() as emulator:
        yield Api(emulator, session)


@pytest.fixture
def still_quota_api(session: requests.Session) -> Iterator[Api]:
    """Buckets that (all but) never refill: a burst test counts tokens, however slow the machine is."""
    with Emulator(quota_speedup=1e-9) as emulator:
        yield Api(emulator, session)


def test_messaging_burst_then_429_quota_exceeded(still_quota_api: Api) -> None:
    burst = catalog.operation("getMessagingActionsForOrder").burst

    statuses = [still_quota_api.get_actions().status_code for _ in range(burst)]
    throttled = still_quota_api.get_actions()

    assert statuses == [200] * burst
    assert throttled.status_code == 429
    assert throttled.json() == {"errors": [QUOTA_EXCEEDED]}
    assert "x-amzn-RateLimit-Limit" not in throttled.headers
    assert throttled.headers["x-amzn-RequestId"]


def test_a_bucket_refills_at_the_operations_rate(real_time_api: Api) -> None:
    for _ in range(catalog.operation("getMessagingActionsForOrder").burst):
        real_time_api.get_actions()
    assert real_time_api.get_actions().status_code == 429

    real_time_api.emulator.advance_clock(1.0)  # one second at 1 request/s: one token

    assert real_time_api.get_actions().status_code == 200
    assert real_time_api.get_actions().status_code == 429


def test_each_operation_has_its_own_bucket(real_time_api: Api) -> None:
    for _ in range(catalog.operation("getMessagingActionsForOrder").burst + 1):
        real_time_api.get_actions()

    assert real_time_api.get_attributes().status_code == 200


def test_uploads_burst_is_ten(still_quota_api: Api) -> None:
    burst = catalog.operation("createUploadDestinationForResource").burst

    statuses = [still_quota_api.create_destination("invoice").status_code for _ in range(burst + 1)]

    assert burst == 10
    assert statuses == [201] * burst + [429]


def test_speedup_scales_the_refill(session: requests.Session) -> None:
    # speedup 10: messaging refills 10 tokens per real second, burst still 5.
    with Emulator(speedup=10) as emulator:
        api = Api(emulator, session)
        statuses = [api.get_actions().status_code for _ in range(6)]
        time.sleep(0.25)  # 2.5 emulated seconds: at least 2 tokens
        after = [api.get_actions().status_code for _ in range(2)]

    assert statuses == [200] * 5 + [429]
    assert after == [200, 200]


def test_a_throttled_message_is_not_sent(real_time_api: Api) -> None:
    body = {"text": "Your parcel is delayed by two days."}
    operation = catalog.message_type("unexpectedProblem").operation
    for _ in range(catalog.operation(operation).burst):
        assert real_time_api.send("unexpectedProblem", body).status_code == 201

    throttled = real_time_api.send("unexpectedProblem", body)

    assert throttled.status_code == 429
    assert error_codes(throttled) == ["QuotaExceeded"]
    assert len(real_time_api.emulator.deliveries()) == catalog.operation(operation).burst


def test_a_throttled_upload_destination_is_not_created(real_time_api: Api) -> None:
    for _ in range(catalog.operation("createUploadDestinationForResource").burst):
        real_time_api.create_destination("invoice")

    throttled = real_time_api.create_destination("invoice")

    assert throttled.status_code == 429
    assert len(real_time_api.emulator.destinations()) == 10


def test_reset_refills_the_buckets(real_time_api: Api) -> None:
    for _ in range(6):
        real_time_api.get_actions()

    real_time_api.emulator.reset()

    assert real_time_api.get_actions().status_code == 200
