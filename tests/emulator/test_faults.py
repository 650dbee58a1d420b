"""Injected faults: each operation fails or answers late on purpose, in its own dialect, without side effects."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

import pytest
import requests

from buyer_messaging import catalog
from spapi_emulator.faults import FAULTABLE_OPERATIONS
from tests.emulator.conftest import PDF, Api, error_codes

SEND_UNEXPECTED_PROBLEM = catalog.message_type("unexpectedProblem").operation


def _code(response: requests.Response) -> str:
    return response.content.split(b"<Code>", 1)[1].split(b"</Code>", 1)[0].decode()


@pytest.mark.parametrize(
    ("status", "code"), [(500, "InternalFailure"), (503, "ServiceUnavailable"), (429, "QuotaExceeded")]
)
def test_message_fault_answers_the_status_and_sends_nothing(api: Api, status: int, code: str) -> None:
    api.emulator.inject_fault(SEND_UNEXPECTED_PROBLEM, status=status)

    faulted = api.send("unexpectedProblem", {"text": "Delayed."})
    after = api.send("unexpectedProblem", {"text": "Delayed."})

    assert faulted.status_code == status
    assert error_codes(faulted) == [code]
    assert faulted.headers["x-amzn-RequestId"]
    assert "x-amzn-RateLimit-Limit" not in faulted.headers
    assert after.status_code == 201
    assert len(api.emulator.deliveries()) == 1


def test_count_faults_the_next_n_calls_only(api: Api) -> None:
    api.emulator.inject_fault("getMessagingActionsForOrder", status=503, count=2)

    statuses = [api.get_actions().status_code for _ in range(3)]

    assert statuses == [503, 503, 200]


def test_clearing_the_faults_ends_an_outage_and_keeps_what_happened(api: Api) -> None:
    """An outage ends (tests/integration/test_resend.py): the faults still waiting are lifted, the calls and messages
    so far stay."""
    api.send("unexpectedProblem", {"text": "Before."})
    api.emulator.inject_fault("getMessagingActionsForOrder", status=503, count=1000)
    assert api.get_actions().status_code == 503

    assert api.emulator.clear_faults() == 999

    assert api.get_actions().status_code == 200
    assert [delivery["text"] for delivery in api.emulator.deliveries()] == ["Before."]
    assert [call["status"] for call in api.emulator.calls("getMessagingActionsForOrder")][-2:] == [503, 200]


def test_faults_are_used_in_the_order_injected(api: Api) -> None:
    api.emulator.inject_fault("GetAttributes", status=429)
    api.emulator.inject_fault("GetAttributes", status=500)

    assert [api.get_attributes().status_code for _ in range(3)] == [429, 500, 200]


def test_a_fault_of_one_operation_leaves_others_alone(api: Api) -> None:
    api.emulator.inject_fault("sendInvoice", status=500)

    assert api.get_actions().status_code == 200


def test_faulted_upload_destination_is_not_created(api: Api) -> None:
    api.emulator.inject_fault("createUploadDestinationForResource", status=500)

    faulted = api.create_destination("invoice")

    assert faulted.status_code == 500
    assert error_codes(faulted) == ["InternalFailure"]
    assert faulted.headers["x-amzn-RateLimit-Limit"] == "10.0"  # the uploads model declares it on 500
    assert api.emulator.destinations() == []


@pytest.mark.parametrize(("status", "code"), [(500, "InternalError"), (503, "SlowDown")])
def test_upload_fault_answers_s3_xml_and_stores_nothing(api: Api, status: int, code: str) -> None:
    payload = api.destination("invoice")
    api.emulator.inject_fault("upload", status=status)

    faulted = api.put(payload, PDF)
    body = {"attachments": [{"uploadDestinationId": payload["uploadDestinationId"], "fileName": "a.pdf"}]}
    refused = api.send("invoice", body)

    assert faulted.status_code == status
    assert faulted.headers["Content-Type"] == "application/xml"
    assert _code(faulted) == code
    assert refused.status_code == 400  # nothing was stored
    assert api.put(payload, PDF).status_code == 200


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "BadDigest"),
        (403, "SignatureDoesNotMatch"),
        (403, "AccessDenied"),
        (400, "RequestTimeout"),
        (400, "SlowDown"),
    ],
)
def test_upload_fault_with_an_error_code(api: Api, status: int, code: str) -> None:
    payload = api.destination("invoice")
    api.emulator.inject_fault("upload", status=status, error_code=code)

    faulted = api.put(payload, PDF)

    assert faulted.status_code == status
    assert _code(faulted) == code


def test_lwa_fault_answers_oauth_json_and_issues_nothing(api: Api) -> None:
    api.emulator.inject_fault("lwaToken", status=503)

    faulted = api.session.post(api.emulator.token_url, data=api.token_form())

    assert faulted.status_code == 503
    assert faulted.json()["error"] == "temporarily_unavailable"
    assert "access_token" not in faulted.json()
    assert api.session.post(api.emulator.token_url, data=api.token_form()).status_code == 200


def test_delay_makes_a_short_read_timeout_expire(api: Api) -> None:
    api.token()
    api.emulator.inject_fault("getMessagingActionsForOrder", delay_seconds=2.0)

    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        api.session.get(
            f"{api.base_url}/messaging/v1/orders/123-1234567-1234567",
            params={"marketplaceIds": "ATVPDKIKX0DER"},
            headers=api.headers(),
            timeout=(2.0, 0.2),
        )

    assert time.monotonic() - started < 1.5


def test_delay_with_a_status_answers_it_late(api: Api) -> None:
    api.emulator.inject_fault("GetAttributes", status=500, delay_seconds=0.2)

    started = time.monotonic()
    response = api.get_attributes()

    assert response.status_code == 500
    assert time.monotonic() - started >= 0.2


def test_delay_without_status_answers_503_and_has_no_side_effect(api: Api) -> None:
    api.emulator.inject_fault(SEND_UNEXPECTED_PROBLEM, delay_seconds=0.05)

    response = api.send("unexpectedProblem", {"text": "Delayed."})

    assert response.status_code == 503
    assert api.emulator.deliveries() == []


def test_a_processed_fault_takes_effect_and_answers_late(api: Api) -> None:
    """Amazon acted and its answer was late: the buyer has the message whatever the client saw."""
    api.emulator.inject_fault(SEND_UNEXPECTED_PROBLEM, delay_seconds=0.3, processed=True)
    started = time.monotonic()

    response = api.send("unexpectedProblem", {"text": "Delayed."})

    assert (response.status_code, response.json()) == (201, {})
    assert time.monotonic() - started >= 0.3
    assert [delivery["text"] for delivery in api.emulator.deliveries()] == ["Delayed."]


def test_a_processed_fault_delivers_even_when_the_client_stopped_waiting(api: Api) -> None:
    api.token()
    api.emulator.inject_fault(SEND_UNEXPECTED_PROBLEM, delay_seconds=1.0, processed=True)
    path = catalog.message_type("unexpectedProblem").send_path("123-1234567-1234567")

    with pytest.raises(requests.ReadTimeout):
        api.session.post(
            api.base_url + path,
            params={"marketplaceIds": "ATVPDKIKX0DER"},
            json={"text": "Delayed."},
            headers=api.headers(),
            timeout=(1.0, 0.2),
        )

    assert [delivery["text"] for delivery in api.emulator.deliveries()] == ["Delayed."]


def test_stop_does_not_wait_for_a_delayed_answer(api: Api) -> None:
    api.token()
    api.emulator.inject_fault("getMessagingActionsForOrder", delay_seconds=30.0)
    worker = threading.Thread(target=lambda: _swallow(api.get_actions), daemon=True)
    worker.start()
    time.sleep(0.1)

    started = time.monotonic()
    api.emulator.stop()

    assert time.monotonic() - started < 3.0
    worker.join(timeout=3.0)
    assert not worker.is_alive()


def _swallow(call: Callable[[], object]) -> None:
    with contextlib.suppress(requests.RequestException):
        call()


def test_faultable_operations_are_the_catalogs_plus_rotation_lwa_and_upload() -> None:
    assert set(FAULTABLE_OPERATIONS) == {o.name for o in catalog.OPERATIONS} | {
        "rotateApplicationClientSecret",
        "lwaToken",
        "upload",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"operation": "sendMessage", "status": 500},
        {"operation": "sendInvoice", "status": 200},
        {"operation": "sendInvoice"},
        {"operation": "sendInvoice", "status": 500, "count": 0},
        {"operation": "sendInvoice", "delay_seconds": -1},
        {"operation": "sendInvoice", "error_code": "BadDigest"},
        {"operation": "sendInvoice", "processed": True},
        {"operation": "sendInvoice", "status": 500, "delay_seconds": 1, "processed": True},
    ],
)
def test_invalid_faults_are_refused(api: Api, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        api.emulator.inject_fault(**kwargs)  # type: ignore[arg-type]
