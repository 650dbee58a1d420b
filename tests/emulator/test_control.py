"""Inspection and control, from Python and over HTTP (/_emulator/...), without an access token."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.emulator.conftest import LIMITED_ORDER, PDF, SANDBOX_ORDER, Api


def _control(api: Api, method: str, route: str, **kwargs: Any) -> Any:
    response = api.session.request(method, f"{api.base_url}/_emulator{route}", **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_health(api: Api) -> None:
    assert _control(api, "GET", "/health") == {"status": "ok"}


def test_messages_show_what_buyers_received(api: Api) -> None:
    destination_id = api.uploaded("invoice", PDF)
    api.send("invoice", {"attachments": [{"uploadDestinationId": destination_id, "fileName": "Invoice.pdf"}]})
    api.send("unexpectedProblem", {"text": "Delayed."}, order=LIMITED_ORDER)

    everything = _control(api, "GET", "/messages")["messages"]
    sandbox = _control(api, "GET", "/messages", params={"amazonOrderId": SANDBOX_ORDER})["messages"]

    assert everything == api.emulator.deliveries()
    assert isinstance(sandbox, list) and len(sandbox) == 1
    [attachment] = sandbox[0]["attachments"]
    assert attachment["md5"] == hashlib.md5(PDF).hexdigest()


def test_calls_filter_by_operation(api: Api) -> None:
    api.get_actions()
    api.get_attributes()

    calls = _control(api, "GET", "/calls", params={"operation": "GetAttributes"})["calls"]

    assert [call["operation"] for call in calls] == ["GetAttributes"]
    assert calls == api.emulator.calls("GetAttributes")


def test_control_calls_are_not_logged(api: Api) -> None:
    _control(api, "GET", "/health")

    assert api.emulator.calls() == []


def test_fault_over_http(api: Api) -> None:
    answer = _control(
        api, "POST", "/faults", json={"operation": "getMessagingActionsForOrder", "status": 503, "count": 2}
    )

    assert answer["fault"] == {
        "operation": "getMessagingActionsForOrder",
        "status": 503,
        "delaySeconds": 0.0,
        "errorCode": None,
        "count": 2,
    }
    assert len(_control(api, "GET", "/faults")["faults"]) == 2
    assert [api.get_actions().status_code for _ in range(3)] == [503, 503, 200]


def test_fault_over_http_with_error_code_and_delay(api: Api) -> None:
    _control(
        api,
        "POST",
        "/faults",
        json={"operation": "upload", "status": 400, "errorCode": "BadDigest", "delaySeconds": 0.01},
    )
    payload = api.destination("invoice")

    response = api.put(payload, PDF)

    assert response.status_code == 400
    assert b"<Code>BadDigest</Code>" in response.content


@pytest.mark.parametrize(
    "body",
    [{"operation": "nope", "status": 500}, {"operation": "sendInvoice"}, {"operation": "sendInvoice", "x": 1}],
)
def test_invalid_fault_over_http_is_400(api: Api, body: dict[str, object]) -> None:
    response = api.session.post(f"{api.base_url}/_emulator/faults", json=body)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


def test_reset_over_http(api: Api) -> None:
    api.send("unexpectedProblem", {"text": "Delayed."})
    api.emulator.inject_fault("sendInvoice", status=500)

    assert _control(api, "POST", "/reset") == {"status": "reset"}

    assert api.emulator.deliveries() == []
    assert _control(api, "GET", "/faults") == {"faults": []}
    assert api.get_actions().status_code == 200  # the token issued before the reset is still valid


def test_clock_over_http_ages_tokens(api: Api) -> None:
    api.token()

    _control(api, "POST", "/clock", json={"advanceSeconds": 3601})

    assert api.get_actions().status_code == 403


def test_orders_and_destinations(api: Api) -> None:
    destination_id = api.uploaded("invoice", PDF)
    created = api.destination("warranty")

    orders = {order["amazonOrderId"]: order for order in api.emulator.orders()}
    destinations = {d["uploadDestinationId"]: d for d in _control(api, "GET", "/destinations")["destinations"]}

    assert orders[LIMITED_ORDER]["allowedMessageTypes"] == ["unexpectedProblem"]
    assert destinations[destination_id]["upload"]["size"] == len(PDF)
    assert destinations[destination_id]["resource"] == f"messaging/v1/orders/{SANDBOX_ORDER}/messages/invoice"
    assert destinations[created["uploadDestinationId"]]["upload"] is None


def test_unknown_route_is_404_and_wrong_method_405(api: Api) -> None:
    assert api.session.get(f"{api.base_url}/_emulator/nothing").status_code == 404
    assert api.session.get(f"{api.base_url}/_emulator/reset").status_code == 405


def test_call_counts_by_operation_and_status(api: Api) -> None:
    api.get_actions()
    api.get_actions(order="999-9999999-9999999")
    api.get_attributes()

    counts = api.emulator.call_counts()
    api.emulator.reset()

    assert counts == {
        "GetAttributes": {200: 1},
        "getMessagingActionsForOrder": {200: 1, 404: 1},
        "lwaToken": {200: 1},
    }
    assert api.emulator.call_counts() == {}
