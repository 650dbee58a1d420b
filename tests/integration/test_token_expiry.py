"""Access tokens Amazon declares dead before their expires_in, through the real state machine and handlers.

Amazon's tokens can die well before the hour LWA announces (amzn/selling-partner-api-models#2335), and a
seller can revoke them. The emulator ends every token issued so far on demand and answers as Amazon does:
403 Unauthorized, "Access to requested resource is denied.", the reason in ``details``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from local_stack import timeline
from local_stack.stack import LocalStack, SpApiTarget, in_process_aws
from spapi_emulator import Emulator, load_default_seed
from tests.integration.conftest import QUOTA_SPEEDUP, RETRY_SPEEDUP, Stack

ORDER = "123-1234567-1234567"
MARKETPLACE = "ATVPDKIKX0DER"
TEXT = "Your parcel is delayed by two days."
DOCUMENT = {"amazonOrderId": ORDER, "marketplaceId": MARKETPLACE, "messageType": "unexpectedProblem", "text": TEXT}


def _statuses(emulator: Emulator, *operations: str) -> list[tuple[str, int]]:
    return [(call["operation"], call["status"]) for call in emulator.calls() if call["operation"] in operations]


@pytest.mark.parametrize("death", ["expire", "revoke"])
def test_a_token_that_dies_before_the_send_is_refreshed_and_the_message_delivered_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, death: str
) -> None:
    """The container's token (cached by the validation step) dies while the send step is about to run:
    the send is refused 403, the function gets a new token and sends again, within the same attempt."""
    end_tokens: Callable[[], int] = {"expire": stack.emulator.expire_tokens, "revoke": stack.emulator.revoke_tokens}[
        death
    ]
    invoke = stack.local.lambdas.invoke
    ended: list[int] = []

    def tokens_die_before_the_send(function: Any, event: Any) -> tuple[str, bool, str]:
        if function.name.endswith("SendMessageFunction") and not ended:
            ended.append(end_tokens())
        return invoke(function, event)

    monkeypatch.setattr(stack.local.lambdas, "invoke", tokens_die_before_the_send)
    execution = stack.start(DOCUMENT)

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert ended == [1], "the token the container cached was not ended: the test proves nothing"
    (delivery,) = stack.emulator.deliveries(ORDER)
    assert delivery["text"] == TEXT
    assert _statuses(stack.emulator, "lwaToken", "createUnexpectedProblem") == [
        ("lwaToken", 200),
        ("createUnexpectedProblem", 403),
        ("lwaToken", 200),
        ("createUnexpectedProblem", 201),
    ]
    runs = {run.name: run for run in timeline.build(execution, stack.history(execution)).states}
    assert runs["SendMessage"].failures == []  # refreshed inside the step, not by a state machine retry


def test_a_token_amazon_keeps_declaring_expired_is_retried_then_fails_as_token_expired() -> None:
    """Every token dies as it is issued: the function's one refresh is refused too, which is transient
    (SpApiTokenExpired), so the state machine retries the step with backoff before the message fails."""
    seed = load_default_seed()
    with (
        Emulator(seed, speedup=QUOTA_SPEEDUP, token_lifetime_seconds=0) as emulator,
        in_process_aws(),
    ):
        target = SpApiTarget(emulator.base_url, emulator.token_url, emulator.upload_host, seed.credentials.as_secret())
        local = LocalStack(target, retry_speedup=RETRY_SPEEDUP)
        deployment = local.deploy()
        try:
            sfn = local.client("stepfunctions")
            started = sfn.start_execution(
                stateMachineArn=deployment.state_machine_arn, name="tokens-die-at-once", input=json.dumps(DOCUMENT)
            )
            execution = local.wait_for(started["executionArn"], timeout_seconds=60)
            history = sfn.get_execution_history(executionArn=started["executionArn"], maxResults=1000)["events"]
        finally:
            local.close()

        assert execution["status"] == "FAILED"
        assert execution["error"] == "SpApiTokenExpired"
        last = emulator.calls("getMessagingActionsForOrder")[-1]
        assert execution["cause"] == (
            "getMessagingActionsForOrder failed with HTTP 403: Unauthorized: Access to requested resource is "
            "denied. (The access token you provided has expired.) A token fresh from Login with Amazon was "
            f"refused as expired too. [x-amzn-RequestId {last['requestId']}]"
        )
        runs = {run.name: run for run in timeline.build(execution, history).states}
        # The first attempt and the transient retrier's 4 retries, each with one refresh inside.
        assert runs["ValidateRequest"].failures == ["SpApiTokenExpired"] * 5
        assert _statuses(emulator, "getMessagingActionsForOrder") == [("getMessagingActionsForOrder", 403)] * 10
        assert len(emulator.calls("lwaToken")) == 10
        assert emulator.deliveries() == []
