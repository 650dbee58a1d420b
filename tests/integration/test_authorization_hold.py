"""A seller's lost authorization on the local stack (the real template, ASL and handlers; Wait states and the
pacer's clock run RETRY_SPEEDUP times faster): seller B's messages are held, not failed, while seller A's go out;
B authorizes again through the OAuth routes against the emulator and its messages go out, each once. A message held
past AuthorizationHoldHours fails SellerNeedsAuthorization; the legacy seller's refused token still fails."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from buyer_messaging import sellers, status
from buyer_messaging.config import get_settings
from local_stack.api_server import free_port
from local_stack.onboarding_demo import callback_of, onboard, onboarding_api
from local_stack.reliability import runner
from tests.integration.conftest import Stack

SELLER_A = "A2EXAMPLESELLER"
SELLER_B = "A3OTHERSELLER"
ORDER_A = "123-1234567-1234567"
ORDER_B = "113-2000001-0000001"
MARKETPLACE = "ATVPDKIKX0DER"
EACH = 10


def _revoke(stack: Stack, seller: str) -> None:
    answer = requests.post(
        f"{stack.emulator.base_url}/_emulator/authorizations/revoke", json={"sellingPartnerId": seller}, timeout=10
    )
    assert answer.status_code == 200, answer.text


def _start(stack: Stack, seller: str | None, order: str, text: str, name: str) -> str:
    assert stack.local.deployment is not None
    document: dict[str, Any] = {
        "amazonOrderId": order,
        "marketplaceId": MARKETPLACE,
        "messageType": "unexpectedProblem",
        "text": text,
    }
    if seller is not None:
        document["sellingPartnerId"] = seller
    started = stack.sfn.start_execution(
        stateMachineArn=stack.local.deployment.state_machine_arn, name=name, input=json.dumps(document)
    )
    return str(started["executionArn"])


def _record(stack: Stack, arn: str) -> dict[str, Any]:
    assert stack.local.deployment is not None
    return status.get(stack.local.deployment.tables["WorkflowTable"], status.request_id_of(arn)) or {}


def _until(what: str, check: Any, timeout_seconds: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


ONBOARDING_PORT = free_port()


@pytest.fixture
def stack() -> Iterator[Stack]:
    """Sellers A and B, self-authorized; the onboarding routes' callback registered with the emulator."""
    with (
        runner.quiet_moto(),
        runner.fresh_stack("na", sellers=(SELLER_A, SELLER_B), oauth_callback=callback_of(ONBOARDING_PORT)) as run,
    ):
        yield Stack(run.local, run.emulator, run.bucket, run.local.tap_events())


@pytest.fixture
def two_sellers(stack: Stack) -> Iterator[tuple[Stack, str]]:
    with onboarding_api(stack.local, ONBOARDING_PORT) as onboarding:
        yield stack, onboarding


def test_a_lost_sellers_messages_hold_and_go_out_once_after_it_authorizes_again(
    two_sellers: tuple[Stack, str],
) -> None:
    stack, api = two_sellers
    _revoke(stack, SELLER_B)
    held = [_start(stack, SELLER_B, ORDER_B, f"B message {n}", f"b-{n}") for n in range(EACH)]
    sent = [_start(stack, SELLER_A, ORDER_A, f"A message {n}", f"a-{n}") for n in range(EACH)]

    for arn in sent:
        assert stack.local.wait_for(arn, timeout_seconds=60)["status"] == "SUCCEEDED"
    _until("B's messages held", lambda: all("held" in _record(stack, arn) for arn in held))
    for arn in held:
        record = _record(stack, arn)
        assert stack.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        assert record["status"] == "received"
        assert record["held"]["reason"] == "SellerNeedsAuthorization"
        assert [entry["status"] for entry in record["history"]] == ["received", "held"]
    seller = sellers.get(get_settings(), SELLER_B)
    assert seller is not None and seller.status == "needsAuthorization"
    lost = [e for e in stack.events.drain() if e["detail-type"] == "SellerAuthorizationLost"]
    assert [e["detail"] for e in lost] == [
        {
            "sellingPartnerId": SELLER_B,
            "since": sellers.iso(seller.needs_authorization_since),
            "reason": "LwaInvalidGrant",
        }
    ]
    assert {d["amazonOrderId"] for d in stack.emulator.deliveries()} == {ORDER_A}

    assert onboard(api, SELLER_B, io.StringIO())  # invitation, consent at the emulator, callback

    for arn in held:
        assert stack.local.wait_for(arn, timeout_seconds=60)["status"] == "SUCCEEDED"
        record = _record(stack, arn)
        assert record["status"] == "sent" and "held" not in record
    texts = sorted(d["text"] for d in stack.emulator.deliveries(ORDER_B))
    assert texts == sorted(f"B message {n}" for n in range(EACH))  # each once
    assert len(stack.emulator.deliveries(ORDER_A)) == EACH
    assert [e["detail-type"] for e in stack.events.drain()].count("SellerAuthorizationLost") == 1


def test_the_api_accepts_a_message_of_a_seller_that_needs_authorization_and_holds_it(api: str, stack: Stack) -> None:
    _revoke(stack, SELLER_B)
    answer = requests.post(
        f"{api}/orders/{ORDER_B}/messages",
        json={
            "marketplaceId": MARKETPLACE,
            "messageType": "unexpectedProblem",
            "text": "Sent while B is lost.",
            "sellingPartnerId": SELLER_B,
        },
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    assert stack.local.deployment is not None
    machine = stack.local.deployment.state_machine_arn
    arn = f"{machine.replace(':stateMachine:', ':execution:')}:{answer.json()['requestId']}"
    _until("the message held", lambda: "held" in _record(stack, arn))
    assert stack.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    assert [e["detail-type"] for e in stack.events.drain()] == ["SellerAuthorizationLost"]


def test_closing_the_stack_stops_a_held_message_so_it_never_acts_on_the_next_stack(stack: Stack) -> None:
    """moto runs an execution in a thread of its own: one left waiting would wake up in the next stack deployed in
    the process (the same function and table names) and act there for a request that stack never received."""
    from moto.stepfunctions.parser.utils import TMP_THREADS

    _revoke(stack, SELLER_B)
    threads_before = set(TMP_THREADS)
    arn = _start(stack, SELLER_B, ORDER_B, "Held when the stack closes", "held-at-close")
    _until("the message held", lambda: "held" in _record(stack, arn))
    running = [thread for thread in TMP_THREADS if thread not in threads_before and thread.is_alive()]
    assert running  # the execution's own thread at least

    stack.local.close()

    assert [thread.is_alive() for thread in running] == [False] * len(running)
    stopped = stack.sfn.describe_execution(executionArn=arn)
    assert stopped["status"] == "ABORTED", stopped
    assert stack.emulator.deliveries() == []


@pytest.fixture
def short_hold() -> Iterator[Stack]:
    # 0.2 h = 720 s on the pacer's clock (3.6 s real): held 60, 120, 240, 480 s, then past the deadline; long enough
    # that a busy host still holds the message once before the deadline.
    with (
        runner.quiet_moto(),
        runner.fresh_stack("na", sellers=(SELLER_B,), parameters={"AuthorizationHoldHours": "0.2"}) as run,
    ):
        yield Stack(run.local, run.emulator, run.bucket, run.local.tap_events())


def test_a_message_held_past_the_hold_deadline_fails_seller_needs_authorization(short_hold: Stack) -> None:
    _revoke(short_hold, SELLER_B)
    arn = _start(short_hold, SELLER_B, ORDER_B, "Held too long", "held-too-long")

    ended = short_hold.local.wait_for(arn, timeout_seconds=60)

    assert ended["status"] == "FAILED"
    assert ended["error"] == "SellerNeedsAuthorization"
    assert "past the 0.2 h allowed (AuthorizationHoldHours): it was not sent." in ended["cause"]
    record = _record(short_hold, arn)
    assert record["status"] == "failed" and record["error"] == "SellerNeedsAuthorization"
    waits = [
        e["stateEnteredEventDetails"]["name"] for e in short_hold.history(ended) if e["type"] == "WaitStateEntered"
    ]
    # Held 60, 120, 240, 480 s on the pacer's clock; the steps' own time counts too (200 times real time), so a slow
    # machine reaches the deadline after fewer waits.
    assert waits in [["WaitForSellerAuthorization"] * count for count in (1, 2, 3, 4)]
    assert short_hold.emulator.deliveries() == []


def test_the_legacy_sellers_refused_token_still_fails_the_message() -> None:
    with runner.quiet_moto(), runner.fresh_stack("na") as run:
        stack = Stack(run.local, run.emulator, run.bucket, run.local.tap_events())
        _revoke(stack, SELLER_A)
        ended = stack.local.wait_for(_start(stack, None, ORDER_A, "Legacy", "legacy"), timeout_seconds=60)
        assert ended["status"] == "FAILED"
        assert ended["error"] == "LwaInvalidGrant"
        assert [e["detail-type"] for e in stack.events.drain()] == ["MessageFailed"]


CAMPAIGN_ORDERS_B = ("113-2000001-0000001", "113-2000002-0000002")


def test_a_lost_sellers_campaign_rows_hold_and_the_campaign_finishes_after_it_authorizes_again(
    two_sellers: tuple[Stack, str],
) -> None:
    """A campaign's rows are send-message executions: they hold as single messages do, the campaign waits for them,
    and after the seller authorizes again every row is sent once and reported sent."""
    from tests.integration.test_campaigns import campaign_executions, finished_campaign, report_lines

    stack, api = two_sellers
    _revoke(stack, SELLER_B)
    manifest = "amazonOrderId,marketplaceId,messageType,text\r\n" + "".join(
        f"{order},{MARKETPLACE},unexpectedProblem,Held row {row}.\r\n"
        for row, order in enumerate(CAMPAIGN_ORDERS_B, start=1)
    )
    stack.put(f"sellers/{SELLER_B}/campaigns/held.csv", manifest.encode())

    _until("a campaign execution", lambda: len(campaign_executions(stack)) == 1)
    assert stack.local.deployment is not None
    machine = stack.local.deployment.state_machine_arn

    def rows_held() -> bool:
        rows = stack.sfn.list_executions(stateMachineArn=machine)["executions"]
        return len(rows) == len(CAMPAIGN_ORDERS_B) and all(
            "held" in _record(stack, row["executionArn"]) for row in rows
        )

    _until("the campaign's rows held", rows_held)
    assert [item["status"] for item in campaign_executions(stack)] == ["RUNNING"]
    assert stack.emulator.deliveries() == []

    assert onboard(api, SELLER_B, io.StringIO())

    (execution,) = finished_campaign(stack, timeout_seconds=90)
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    lines = report_lines(stack, f"sellers/{SELLER_B}/campaigns/held.report.csv")
    assert [(line["row"], line["status"], line["sellingPartnerId"]) for line in lines] == [
        ("1", "sent", SELLER_B),
        ("2", "sent", SELLER_B),
    ]
    assert sorted(d["text"] for d in stack.emulator.deliveries()) == ["Held row 1.", "Held row 2."]  # each once
