"""Two sellers on one local stack (the real template, ASL and handlers): each message goes out with its own
seller's token (the emulator finds an order only for the seller who sold it), a request must name its seller,
and a file staged for one seller is never sent to another seller's buyer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local_stack.reliability import runner
from tests.integration.conftest import Stack

SELLER_A = "A2EXAMPLESELLER"  # the seed's first seller: order 123-1234567-1234567
SELLER_B = "A3OTHERSELLER"  # the seed's second seller: orders 113-2000001-0000001 and 113-2000002-0000002
ORDER_A = "123-1234567-1234567"
ORDER_B = "113-2000001-0000001"
MARKETPLACE = "ATVPDKIKX0DER"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def stack() -> Iterator[Stack]:
    with runner.quiet_moto(), runner.fresh_stack("na", sellers=(SELLER_A, SELLER_B)) as run:
        yield Stack(run.local, run.emulator, run.bucket, run.local.tap_events())


def _document(order: str, text: str, **more: Any) -> bytes:
    document = {"amazonOrderId": order, "marketplaceId": MARKETPLACE, "messageType": "unexpectedProblem", "text": text}
    return json.dumps({**document, **more}).encode()


def test_each_sellers_message_goes_out_with_its_own_token(stack: Stack) -> None:
    stack.put(f"sellers/{SELLER_A}/requests/late.json", _document(ORDER_A, "Seller A: your parcel is late."))
    stack.put(f"sellers/{SELLER_B}/requests/late.json", _document(ORDER_B, "Seller B: your parcel is late."))
    stack.put(f"sellers/{SELLER_B}/outbox/{MARKETPLACE}/{ORDER_B}/invoice/Invoice-B.pdf", PDF)

    executions = stack.finished(3)

    assert sorted(e["status"] for e in executions) == ["SUCCEEDED"] * 3
    delivered = {(d["amazonOrderId"], d["messageType"]): d for d in stack.emulator.deliveries()}
    assert set(delivered) == {(ORDER_A, "unexpectedProblem"), (ORDER_B, "unexpectedProblem"), (ORDER_B, "invoice")}
    assert delivered[(ORDER_A, "unexpectedProblem")]["text"] == "Seller A: your parcel is late."
    assert [a["fileName"] for a in delivered[(ORDER_B, "invoice")]["attachments"]] == ["Invoice-B.pdf"]
    # Each seller's refresh token was exchanged at LWA: the emulator's token names the seller it acts for.
    for execution in executions:
        record = stack.record(execution)
        expected = SELLER_A if record["amazonOrderId"] == ORDER_A else SELLER_B
        assert record["sellingPartnerId"] == expected
        assert json.loads(execution["input"])["sellingPartnerId"] == expected
    outbox = f"sellers/{SELLER_B}/outbox/{MARKETPLACE}/{ORDER_B}/invoice/Invoice-B.pdf"
    assert stack.tags(outbox)["buyer-messaging:selling-partner-id"] == SELLER_B
    sent = [e for e in stack.events.drain() if e.get("detail-type") == "MessageSent"]
    assert sorted(e["detail"]["sellingPartnerId"] for e in sent) == [SELLER_A, SELLER_B, SELLER_B]


def test_a_request_naming_no_seller_is_refused_when_there_are_two(stack: Stack) -> None:
    stack.put("requests/late.json", _document(ORDER_A, "Which seller?"))
    answer, errored = stack.trigger("requests/late.json")

    assert errored
    assert answer["errorType"] == "SellerRequired"
    assert answer["errorMessage"].startswith("This deployment serves 2 sellers: say which one the request is for")
    assert stack.emulator.deliveries() == []
    assert "requests/late.json" in stack.staged_keys()  # nothing deleted


def test_a_file_staged_for_another_seller_is_refused_and_kept(stack: Stack) -> None:
    staged_for_b = f"sellers/{SELLER_B}/attachments/invoice-b.pdf"
    stack.put(staged_for_b, PDF)
    request = f"sellers/{SELLER_A}/requests/steal.json"
    stack.put(
        request,
        json.dumps(
            {
                "amazonOrderId": ORDER_A,
                "marketplaceId": MARKETPLACE,
                "messageType": "invoice",
                "attachments": [{"key": staged_for_b, "fileName": "Invoice.pdf"}],
            }
        ).encode(),
    )
    answer, errored = stack.trigger(request)

    assert errored
    assert answer["errorType"] == "AttachmentOfAnotherSeller"
    assert stack.emulator.deliveries() == []
    assert stack.emulator.destinations() == []  # nothing uploaded
    assert {staged_for_b, request} <= stack.staged_keys()


def _post(api: str, order: str, body: dict[str, Any], key: str | None = None) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return requests.post(
        f"{api}/orders/{order}/messages", json={"marketplaceId": MARKETPLACE, **body}, headers=headers, timeout=30
    )


def test_the_api_sends_for_the_seller_the_body_names(api: str, stack: Stack) -> None:
    body = {"messageType": "unexpectedProblem", "text": "Seller B writes through the API."}
    unnamed = _post(api, ORDER_B, body)
    assert unnamed.status_code == 400
    assert unnamed.json()["error"] == "SellerRequired"
    assert [problem["field"] for problem in unnamed.json()["errors"]] == ["sellingPartnerId"]

    accepted = _post(api, ORDER_B, {**body, "sellingPartnerId": SELLER_B})
    assert accepted.status_code == 202, accepted.text
    (execution,) = stack.finished(1)
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert [d["text"] for d in stack.emulator.deliveries(ORDER_B)] == [body["text"]]
    history = requests.get(f"{api}/orders/{ORDER_B}/messages", params={"sellingPartnerId": SELLER_A}, timeout=30)
    assert history.json()["messages"] == []  # seller A's requests for that order: none
    history = requests.get(f"{api}/orders/{ORDER_B}/messages", params={"sellingPartnerId": SELLER_B}, timeout=30)
    assert [m["requestId"] for m in history.json()["messages"]] == [accepted.json()["requestId"]]


def test_a_repeat_from_before_the_seller_was_registered_is_still_a_repeat() -> None:
    """A one-seller deployment starts a request naming no seller, then registers its seller: the same request
    again is the first one (repeat), not another message, nor a reused key (409)."""
    from local_stack.api_server import LocalApi
    from local_stack.lambdas import LambdaContext
    from spapi_emulator import load_default_seed

    with runner.quiet_moto(), runner.fresh_stack("na") as run:
        assert run.local.deployment is not None
        function = run.local.lambdas.function(run.local.deployment.functions["ApiFunction"])
        server = LocalApi(
            function.load(), context=lambda: LambdaContext(function.name, function.memory_mb, function.timeout_seconds)
        )
        with server:
            body = {"messageType": "unexpectedProblem", "text": "Sent once."}
            first = _post(server.url, ORDER_A, body, key="once-1")
            assert first.status_code == 202, first.text
            run.local.wait_for_executions(1, timeout_seconds=60)
            runner.register_seed_sellers(load_default_seed(), (SELLER_A,))

            again = _post(server.url, ORDER_A, body, key="once-1")

            assert again.status_code == 202, again.text
            assert again.json() == {**first.json(), "repeat": True}
            assert len(run.emulator.deliveries(ORDER_A)) == 1


def test_an_execution_started_by_hand_is_checked_as_every_entry_checks(stack: Stack) -> None:
    """The Step Functions console starts the machine with any input: its first state resolves the seller when the
    input names none, and refuses a file staged for another seller."""
    stack.put(f"sellers/{SELLER_B}/attachments/invoice-b.pdf", PDF)
    unnamed = stack.start(
        {
            "amazonOrderId": ORDER_A,
            "marketplaceId": MARKETPLACE,
            "messageType": "unexpectedProblem",
            "text": "Which seller?",
        }
    )
    other_sellers_file = stack.start(
        {
            "amazonOrderId": ORDER_A,
            "marketplaceId": MARKETPLACE,
            "messageType": "invoice",
            "sellingPartnerId": SELLER_A,
            "attachments": [{"key": f"sellers/{SELLER_B}/attachments/invoice-b.pdf"}],
        }
    )

    assert (unnamed["status"], unnamed["error"]) == ("FAILED", "SellerRequired")
    assert (other_sellers_file["status"], other_sellers_file["error"]) == ("FAILED", "AttachmentOfAnotherSeller")
    assert stack.emulator.deliveries() == []
    assert stack.emulator.destinations() == []
