"""The cause a failed message ends with is read by a person after the last attempt: it states what happened
and promises nothing (the function that wrote it could not know its attempt was the last)."""

from __future__ import annotations

from local_stack import timeline
from tests.integration.conftest import Stack

ORDER = "123-1234567-1234567"
DOCUMENT = {
    "amazonOrderId": ORDER,
    "marketplaceId": "ATVPDKIKX0DER",
    "messageType": "unexpectedProblem",
    "text": "Your parcel is delayed by two days.",
}


def test_a_message_that_finally_fails_on_quota_says_what_amazon_answered_and_nothing_more(stack: Stack) -> None:
    stack.emulator.inject_fault("createUnexpectedProblem", status=429, count=50)

    execution = stack.start(DOCUMENT)

    assert execution["status"] == "FAILED"
    assert execution["error"] == "SpApiThrottled"
    sends = stack.emulator.calls("createUnexpectedProblem")
    assert [call["status"] for call in sends] == [429] * (1 + 6)  # the first try and the throttling retrier's 6
    cause = (
        "createUnexpectedProblem failed with HTTP 429: QuotaExceeded: You exceeded your quota for the requested "
        f"resource. [x-amzn-RequestId {sends[-1]['requestId']}]"
    )
    assert execution["cause"] == cause
    record = stack.record(execution)
    assert (record["status"], record["error"], record["cause"]) == ("failed", "SpApiThrottled", cause)
    runs = {run.name: run for run in timeline.build(execution, stack.history(execution)).states}
    assert runs["SendMessage"].failures == ["SpApiThrottled"] * 7
    assert stack.emulator.deliveries() == []
