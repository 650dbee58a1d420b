"""Usage plans: a token bucket per selling partner and operation, the catalog's rate and burst unless a test
changes them, on emulated time; ``x-amzn-RateLimit-Limit`` says the caller's current rate."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from buyer_messaging import catalog
from spapi_emulator import DEFAULT_SEED_PATH, Emulator, Seed
from spapi_emulator.gateway import rate_limit_value
from tests.emulator.conftest import SANDBOX_ORDER, Api, error_codes

SELLER = "A2EXAMPLESELLER"  # the default seed's seller
OTHER_SELLER = "A3OTHERSELLER9"
OTHER_ORDER = "113-7654321-1234567"
ACTIONS = "getMessagingActionsForOrder"

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


# --- per seller ---------------------------------------------------------------------------------------------


def _two_seller_seed() -> Seed:
    document = json.loads(DEFAULT_SEED_PATH.read_text(encoding="utf-8"))
    document["otherSellers"].append({"sellingPartnerId": OTHER_SELLER, "refreshToken": "Atzr|other-seller-token"})
    other_order = copy.deepcopy(document["orders"][0])
    other_order.update(amazonOrderId=OTHER_ORDER, sellingPartnerId=OTHER_SELLER)
    document["orders"].append(other_order)
    return Seed.from_dict(document, source="two-sellers.json")


class OtherSellerApi(Api):
    """Calls with an access token minted from the other seller's refresh token."""

    def token(self) -> str:
        if self._token is None:
            form = self.token_form(refresh_token=self.emulator.seed.secret_for(OTHER_SELLER)["refreshToken"])
            response = self.session.post(self.emulator.token_url, data=form)
            assert response.status_code == 200, response.text
            self._token = str(response.json()["access_token"])
        return self._token


@pytest.fixture
def two_sellers(session: requests.Session) -> Iterator[tuple[Api, Api]]:
    """The seed's seller and another seller of the same application, buckets that (all but) never refill."""
    with Emulator(_two_seller_seed(), quota_speedup=1e-9) as emulator:
        yield Api(emulator, session), OtherSellerApi(emulator, session)


def test_one_sellers_burst_does_not_consume_anothers(two_sellers: tuple[Api, Api]) -> None:
    seller, other = two_sellers
    burst = catalog.operation(ACTIONS).burst

    first = [seller.get_actions().status_code for _ in range(burst + 1)]
    second = [other.get_actions(OTHER_ORDER).status_code for _ in range(burst + 1)]

    assert first == [200] * burst + [429]
    assert second == [200] * burst + [429]  # a full bucket of its own, and only one


def test_a_plan_changed_for_one_seller_leaves_the_others(two_sellers: tuple[Api, Api]) -> None:
    seller, other = two_sellers
    seller.emulator.set_usage_plan(ACTIONS, 0.5, 2, selling_partner_id=OTHER_SELLER)

    mine = [seller.get_actions() for _ in range(5)]
    theirs = [other.get_actions(OTHER_ORDER) for _ in range(3)]

    assert [r.status_code for r in mine] == [200] * 5
    assert {r.headers["x-amzn-RateLimit-Limit"] for r in mine} == {"1.0"}
    assert [r.status_code for r in theirs] == [200, 200, 429]
    assert [r.headers.get("x-amzn-RateLimit-Limit") for r in theirs] == ["0.5", "0.5", None]


def test_a_seller_does_not_find_another_sellers_order(two_sellers: tuple[Api, Api]) -> None:
    seller, other = two_sellers

    assert seller.get_actions(OTHER_ORDER).status_code == 404
    assert other.get_actions(SANDBOX_ORDER).status_code == 404
    assert error_codes(other.get_actions(SANDBOX_ORDER)) == ["NotFound"]
    assert other.get_actions(OTHER_ORDER).status_code == 200


def test_the_seed_names_its_seller_and_a_seed_without_one_still_works() -> None:
    document = json.loads(DEFAULT_SEED_PATH.read_text(encoding="utf-8"))
    assert document["credentials"]["sellingPartnerId"] == SELLER
    del document["credentials"]["sellingPartnerId"]
    # A seed of before sellers had ids: no other seller, no order that names one.
    del document["otherSellers"]
    document["orders"] = [order for order in document["orders"] if "sellingPartnerId" not in order]

    seed = Seed.from_dict(document)

    assert seed.selling_partner_ids[0] == SELLER  # the others are otherSellers (one yet to authorize)
    assert {order.selling_partner_id for order in seed.orders} == {SELLER}


# --- changing a plan ----------------------------------------------------------------------------------------


def test_the_header_follows_a_change_and_429_has_none(still_quota_api: Api) -> None:
    before = still_quota_api.get_actions()
    still_quota_api.emulator.set_usage_plan(ACTIONS, 0.0167, 2)

    after = [still_quota_api.get_actions() for _ in range(3)]

    assert before.headers["x-amzn-RateLimit-Limit"] == "1.0"
    # Four tokens were left; the new burst keeps two of them: two calls, then 429.
    assert [r.status_code for r in after] == [200, 200, 429]
    assert [r.headers.get("x-amzn-RateLimit-Limit") for r in after] == ["0.0167", "0.0167", None]
    assert still_quota_api.create_destination("invoice").headers["x-amzn-RateLimit-Limit"] == "10.0"


def test_a_changed_rate_refills_at_the_new_rate(real_time_api: Api) -> None:
    real_time_api.emulator.set_usage_plan(ACTIONS, 3, 3)
    for _ in range(3):
        assert real_time_api.get_actions().status_code == 200
    assert real_time_api.get_actions().status_code == 429

    real_time_api.emulator.advance_clock(1.0)  # one second at 3 requests/s: three tokens

    assert [real_time_api.get_actions().status_code for _ in range(4)] == [200, 200, 200, 429]


def test_reset_restores_the_documented_plans(still_quota_api: Api) -> None:
    emulator = still_quota_api.emulator
    documented = emulator.usage_plans()
    emulator.set_usage_plan(ACTIONS, 0.2, 1)

    emulator.reset()

    assert emulator.usage_plans() == documented
    assert still_quota_api.get_actions().headers["x-amzn-RateLimit-Limit"] == "1.0"
    assert [still_quota_api.get_actions().status_code for _ in range(5)] == [200] * 4 + [429]


def _control(api: Api, method: str, body: object = None) -> requests.Response:
    return api.session.request(method, f"{api.base_url}/_emulator/usage-plans", json=body)


def test_usage_plans_over_http(two_sellers: tuple[Api, Api]) -> None:
    seller, _ = two_sellers

    listed = _control(seller, "GET").json()["usagePlans"]
    changed = _control(
        seller, "POST", {"operation": "sendInvoice", "rate": 0.5, "burst": 2, "sellingPartnerId": OTHER_SELLER}
    )
    everyone = _control(seller, "POST", {"operation": ACTIONS, "rate": 2, "burst": 4})

    # the default seed's three sellers (A3ONBOARDSELLER has plans before it authorizes) and OTHER_SELLER
    assert len(listed) == 4 * len(catalog.OPERATIONS)
    assert {"sellingPartnerId": SELLER, "operation": ACTIONS, "rate": 1.0, "burst": 5} in listed
    assert {
        "sellingPartnerId": OTHER_SELLER,
        "operation": "createUploadDestinationForResource",
        "rate": 10.0,
        "burst": 10,
    } in listed
    assert changed.status_code == 200
    assert changed.json() == {
        "usagePlans": [{"sellingPartnerId": OTHER_SELLER, "operation": "sendInvoice", "rate": 0.5, "burst": 2}]
    }
    assert everyone.json()["usagePlans"] == [
        {"sellingPartnerId": SELLER, "operation": ACTIONS, "rate": 2.0, "burst": 4},
        {"sellingPartnerId": "A3ONBOARDSELLER", "operation": ACTIONS, "rate": 2.0, "burst": 4},  # the default seed's
        {"sellingPartnerId": "A3OTHERSELLER", "operation": ACTIONS, "rate": 2.0, "burst": 4},  # the default seed's
        {"sellingPartnerId": OTHER_SELLER, "operation": ACTIONS, "rate": 2.0, "burst": 4},
    ]
    now = {(p["sellingPartnerId"], p["operation"]): p for p in _control(seller, "GET").json()["usagePlans"]}
    assert now[(OTHER_SELLER, "sendInvoice")]["rate"] == 0.5
    assert now[(SELLER, "sendInvoice")]["rate"] == 1.0
    assert seller.get_actions().headers["x-amzn-RateLimit-Limit"] == "2.0"


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"operation": "sendMessage", "rate": 1, "burst": 5}, "operation must be one of"),
        ({"operation": ACTIONS, "rate": 0, "burst": 5}, "rate must be a number"),
        ({"operation": ACTIONS, "rate": -1, "burst": 5}, "rate must be a number"),
        ({"operation": ACTIONS, "rate": "1", "burst": 5}, "rate must be a number"),
        ({"operation": ACTIONS, "rate": True, "burst": 5}, "rate must be a number"),
        ({"operation": ACTIONS, "rate": 1e12, "burst": 5}, "rate must be a number"),
        ({"operation": ACTIONS, "rate": 1, "burst": 0}, "burst must be a whole number"),
        ({"operation": ACTIONS, "rate": 1, "burst": 2.5}, "burst must be a whole number"),
        ({"operation": ACTIONS, "rate": 1, "burst": None}, "burst must be a whole number"),
        ({"operation": ACTIONS, "rate": 1, "burst": 5, "sellingPartnerId": "A9NOSUCHSELLER"}, "sellingPartnerId"),
        ({"operation": ACTIONS, "rate": 1}, "Missing fields ['burst']"),
        ({"operation": ACTIONS, "rate": 1, "burst": 5, "tokens": 3}, "Unknown fields ['tokens']"),
        ([ACTIONS, 1, 5], "must be a JSON object"),
    ],
)
def test_a_nonsense_usage_plan_is_400_and_changes_nothing(api: Api, body: Any, complaint: str) -> None:
    before = api.emulator.usage_plans()

    response = _control(api, "POST", body)

    assert response.status_code == 400
    assert complaint in response.json()["errors"][0]["message"]
    assert api.emulator.usage_plans() == before


def test_set_usage_plan_refuses_an_unknown_operation_in_python(api: Api) -> None:
    with pytest.raises(ValueError, match="operation must be one of"):
        api.emulator.set_usage_plan("sendMessage", 1.0, 5)


@pytest.mark.parametrize(
    ("rate", "header"),
    [(1, "1.0"), (10, "10.0"), (0.5, "0.5"), (1 / 60, "0.0167"), (0.0055, "0.0055"), (4e-5, "4e-05")],
)
def test_the_header_writes_the_rate_as_amazon_does(rate: float, header: str) -> None:
    assert rate_limit_value(rate) == header
