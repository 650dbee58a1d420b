"""Error messages state facts: a transient error's message may become a message's final cause.

The function that raises a transient error cannot know whether its attempt is the state machine's last;
when it is, its message is the cause the seller reads. "Will retry" would then be false.
"""

from __future__ import annotations

import ast
import re

import pytest
import requests
import responses

from buyer_messaging import errors
from buyer_messaging.auth import AccessTokenProvider, LwaCredentials
from buyer_messaging.spapi import SpApiClient
from tests import support

SOURCES = sorted(
    [*(support.ROOT / "layers/shared/buyer_messaging").glob("*.py"), *support.ROOT.glob("functions/*/app.py")]
)
TRANSIENT = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.TransientError) and value is not errors.TransientError
}
PROMISE = re.compile(r"\bwill\b|\bretr(?:y|ies|ied|ying)\b|\btry again\b|\bgoing to\b|\blater\b", re.I)


def _text(node: ast.expr) -> str | None:
    """The literal text of a message expression: f-string fields become {}, other expressions None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return None if left is None and right is None else (left or "{}") + (right or "{}")
    return None


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _transient_messages() -> list[tuple[str, str, str]]:
    """(class, where, literal text) of every message given to a transient error in the shipped code: the
    first argument of ``SomeTransientError(...)``, and the text paired with a class in a mapping such as
    ``error_class, hint = SpApiThrottled, "..."``."""
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in TRANSIENT and node.args:
                text = _text(node.args[0])
                if text is not None:
                    found.append((str(_name(node.func)), f"{path.name}:{node.lineno}", text))
            if isinstance(node, ast.Tuple):
                names = [_name(element) for element in node.elts]
                texts = [_text(element) for element in node.elts]
                for name in names:
                    if name in TRANSIENT:
                        found += [(name, f"{path.name}:{node.lineno}", t) for t in texts if t is not None]
    return found


def test_no_transient_error_message_promises_a_retry() -> None:
    found = _transient_messages()

    promising = [(name, where, text) for name, where, text in found if PROMISE.search(text)]
    assert promising == []
    # Every transient error is raised somewhere with a message this test read (else it proves nothing).
    assert {name for name, _, _ in found} == TRANSIENT


def test_the_promise_pattern_catches_the_old_wording() -> None:
    for old in ("Over the operation's quota; will retry.", "Amazon's side failed; will retry.", "Try again later."):
        assert PROMISE.search(old), old
    assert not PROMISE.search("createUnexpectedProblem failed with HTTP 429: QuotaExceeded: You exceeded your quota.")


# --- The SP-API's transient answers, word for word ---------------------------------------------------------

ORDER_PATH = f"/messaging/v1/orders/{support.ORDER_ID}"
ORDER_URL = support.ENDPOINT + ORDER_PATH
REQUEST_ID = "5f0e6a1c-7b7d-4f43-9d55-1f6a0c2b9e10"


def _get_order() -> None:
    credentials = LwaCredentials.from_secret(support.CREDENTIALS)
    client = SpApiClient(support.ENDPOINT, AccessTokenProvider(support.TOKEN_URL, lambda: credentials))
    client.call("getMessagingActionsForOrder", "GET", ORDER_PATH)


@pytest.mark.parametrize(
    ("status", "code", "message", "error_class"),
    [
        (429, "QuotaExceeded", "You exceeded your quota for the requested resource.", errors.SpApiThrottled),
        (503, "ServiceUnavailable", "Service temporarily unavailable.", errors.SpApiUnavailable),
    ],
)
def test_a_transient_sp_api_answer_is_told_as_amazon_gave_it(
    http: responses.RequestsMock, status: int, code: str, message: str, error_class: type[Exception]
) -> None:
    body = {"errors": [{"code": code, "message": message, "details": ""}]}
    http.get(ORDER_URL, status=status, json=body, headers={"x-amzn-RequestId": REQUEST_ID})

    with pytest.raises(error_class) as raised:
        _get_order()

    assert str(raised.value) == (
        f"getMessagingActionsForOrder failed with HTTP {status}: {code}: {message} [x-amzn-RequestId {REQUEST_ID}]"
    )


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (requests.ReadTimeout("slow"), "getMessagingActionsForOrder: the SP-API did not answer in time."),
        (
            requests.ConnectionError("refused"),
            "getMessagingActionsForOrder: the SP-API could not be reached (ConnectionError).",
        ),
    ],
    ids=["timeout", "connection-error"],
)
def test_a_network_failure_is_told_as_what_happened(
    http: responses.RequestsMock, failure: Exception, said: str
) -> None:
    http.get(ORDER_URL, body=failure)

    with pytest.raises(errors.SpApiUnavailable) as raised:
        _get_order()

    assert str(raised.value) == said
