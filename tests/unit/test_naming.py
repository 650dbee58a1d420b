"""Execution names of API starts: a repeat (same key, or same content) gets the same name, anything else not."""

from __future__ import annotations

import re

import pytest

from buyer_messaging import naming
from buyer_messaging.models import MessageRequest
from tests import support

NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def _request(**changes: object) -> MessageRequest:
    document = {
        **support.load_event("statemachine/invoice.json"),
        **changes,
    }
    return MessageRequest.from_dict(document, default_bucket=support.BUCKET)


def test_the_same_key_is_the_same_name_whatever_the_body() -> None:
    first = naming.request_execution_name(_request(), caller="seller-a", idempotency_key="invoice-2026-001")
    again = naming.request_execution_name(
        _request(messageType="sendInvoice"), caller="seller-a", idempotency_key="invoice-2026-001"
    )
    assert first == again
    assert NAME.match(first)
    assert first.startswith(f"{support.ORDER_ID}-invoice-")


def test_another_key_or_another_caller_is_another_name() -> None:
    base = naming.request_execution_name(_request(), caller="seller-a", idempotency_key="k1")
    assert naming.request_execution_name(_request(), caller="seller-a", idempotency_key="k2") != base
    assert naming.request_execution_name(_request(), caller="seller-b", idempotency_key="k1") != base


def test_without_a_key_the_content_decides_however_it_is_spelled() -> None:
    plain = naming.request_execution_name(_request(), caller="c")
    alias = naming.request_execution_name(_request(messageType="SENDINVOICE"), caller="c")
    assert plain == alias  # the type's alias is the same message
    assert naming.request_execution_name(_request(), caller="c", idempotency_key="k") != plain


@pytest.mark.parametrize(
    "change",
    [
        {"amazonOrderId": "114-3941689-8772232"},
        {"attachments": [{"key": "attachments/other.pdf", "fileName": "Invoice.pdf"}]},
        {"attachments": [{"key": "attachments/invoice-123-1234567-1234567.pdf", "fileName": "Renamed.pdf"}]},
        {"text": "a note"},
    ],
)
def test_any_change_of_content_is_another_name(change: dict[str, object]) -> None:
    assert naming.request_execution_name(_request(**change), caller="c") != naming.request_execution_name(
        _request(), caller="c"
    )


def test_names_stay_within_what_step_functions_accepts() -> None:
    name = naming.deterministic_name(["x"], "ü" * 200 + " / weird:hint")
    assert NAME.match(name)
    assert naming.deterministic_name(["x"]) == naming.deterministic_name(["x"], "")
    assert len(naming.deterministic_name(["x"])) == 32
