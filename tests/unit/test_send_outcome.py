"""A send whose request left without an answer is SendOutcomeUnknown, never a retried SpApiUnavailable.

Real sockets on 127.0.0.1, not a mocked transport: whether a request "left" is decided by what the network
did (refused, reset after the request was read, no answer within the read timeout), so the test makes the
network do it.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Literal, cast

import pytest

from buyer_messaging import catalog, messaging
from buyer_messaging.auth import AccessTokenProvider
from buyer_messaging.errors import SendOutcomeUnknown, SpApiUnavailable, TransientError
from buyer_messaging.spapi import SpApiClient
from tests import support

Mode = Literal["silent", "reset"]
READ_TIMEOUT = 0.3


class _FixedToken:
    def access_token(self) -> str:
        return "Atza|token"

    def invalidate(self, token: str | None = None) -> None:
        return None


class _Server:
    """Accepts connections, reads each request whole, then stays silent or resets the connection."""

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.requests.append(_read_request(connection))
            if self.mode == "reset":
                # SO_LINGER 0: close() sends a RST, as a load balancer that drops the connection does.
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                connection.close()
            else:
                self._open.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for connection in self._open:
            connection.close()
        self._listener.close()


def _read_request(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1)) if b"ontent-" in head else 0  # type: ignore[union-attr]
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.fixture(params=["silent", "reset"])
def server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    served = _Server(cast(Mode, request.param))
    yield served
    served.close()


def _client(url: str) -> SpApiClient:
    return SpApiClient(url, cast(AccessTokenProvider, _FixedToken()), timeout=(1.0, READ_TIMEOUT))


def _send(client: SpApiClient) -> str | None:
    invoice = catalog.message_type("invoice")
    body = {"attachments": [{"uploadDestinationId": "d-1", "fileName": "Invoice.pdf"}]}
    return messaging.send_message(client, invoice, support.ORDER_ID, support.MARKETPLACE_ID, body)


def test_a_send_that_left_without_an_answer_is_an_unknown_outcome_and_not_retried(server: _Server) -> None:
    with pytest.raises(SendOutcomeUnknown) as raised:
        _send(_client(server.url))

    assert not isinstance(raised.value, TransientError)
    happened = "read timeout" if server.mode == "silent" else "ConnectionError"
    assert str(raised.value) == (
        f"sendInvoice: the request was sent but no answer came ({happened}), so Amazon may have delivered the"
        " message to the buyer. It was not sent again: the Messaging API takes no idempotency key and a second"
        " send could message the buyer twice. Look at the order's messages in Seller Central before sending it"
        " again."
    )
    # The request reached the server, whole, exactly once.
    assert len(server.requests) == 1
    assert server.requests[0].startswith(f"POST /messaging/v1/orders/{support.ORDER_ID}/messages/invoice?".encode())
    assert server.requests[0].endswith(b'"fileName": "Invoice.pdf"}]}')


def test_a_read_that_left_without_an_answer_stays_transient(server: _Server) -> None:
    """getMessagingActionsForOrder changes nothing at Amazon's: asking again is safe."""
    with pytest.raises(SpApiUnavailable):
        messaging.get_messaging_actions(_client(server.url), support.ORDER_ID, support.MARKETPLACE_ID)
    assert len(server.requests) == 1


def test_a_send_whose_connection_was_refused_never_left_and_stays_transient() -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    with pytest.raises(SpApiUnavailable, match=re.escape("could not be reached (ConnectionError)")) as raised:
        _send(_client(f"http://127.0.0.1:{port}"))
    assert isinstance(raised.value, TransientError)


def test_a_send_to_a_name_that_does_not_resolve_never_left_and_stays_transient() -> None:
    with pytest.raises(SpApiUnavailable, match=re.escape("could not be reached (ConnectionError)")):
        _send(_client("http://sellingpartnerapi.invalid"))
