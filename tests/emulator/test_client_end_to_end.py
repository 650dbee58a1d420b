"""This repo's own client against the emulator: a full invoice, and every mistake DESIGN.md lists.

Each mistake is made the way a real program would make it (with the real client where it can express
the mistake, with requests or http.client where it cannot) and must be refused with the documented
status and code.
"""

from __future__ import annotations

import hashlib
import http.client
import io
from urllib.parse import urlsplit

import pytest
import requests

from buyer_messaging import catalog, messaging, uploads
from buyer_messaging.auth import AccessTokenProvider, LwaCredentials
from buyer_messaging.errors import (
    MessageTypeNotAvailable,
    SpApiInvalidInput,
    SpApiUnauthorized,
    UploadDestinationExpired,
    UploadRejected,
)
from buyer_messaging.models import UploadDestination
from buyer_messaging.spapi import SpApiClient
from tests.emulator.conftest import LIMITED_ORDER, PDF, SANDBOX_ORDER, US, Api, content_md5

INVOICE = catalog.message_type("invoice")
ALLOWED_HOSTS = ("127.0.0.1",)


def _destination(client: SpApiClient, md5: str | None = None, data: bytes = PDF) -> UploadDestination:
    return uploads.create_upload_destination(
        client, INVOICE, SANDBOX_ORDER, US, md5 or content_md5(data), "application/pdf"
    )


def _put(destination: UploadDestination, data: bytes = PDF) -> None:
    uploads.put_file(destination, io.BytesIO(data), len(data), ALLOWED_HOSTS)


def _s3_code(response: requests.Response | bytes) -> str:
    text = response if isinstance(response, bytes) else response.content
    return text.split(b"<Code>", 1)[1].split(b"</Code>", 1)[0].decode()


def test_invoice_with_a_pdf_end_to_end(client: SpApiClient, api: Api) -> None:
    actions = messaging.get_messaging_actions(client, SANDBOX_ORDER, US)
    action = messaging.find_action(actions, INVOICE)
    assert action is not None and action.name == "sendInvoice"
    assert messaging.get_buyer_locale(client, SANDBOX_ORDER, US) == "en-US"

    destination = _destination(client)
    _put(destination)
    body = messaging.build_message_body(
        INVOICE, text=None, attachments=[(destination.upload_destination_id, "Invoice-123.pdf")]
    )
    request_id = messaging.send_message(client, INVOICE, SANDBOX_ORDER, US, body)

    [delivery] = api.emulator.deliveries(SANDBOX_ORDER)
    assert delivery["requestId"] == request_id
    assert delivery["messageType"] == "invoice"
    assert delivery["attachments"][0]["fileName"] == "Invoice-123.pdf"
    assert delivery["attachments"][0]["size"] == len(PDF)
    assert delivery["attachments"][0]["md5"] == hashlib.md5(PDF).hexdigest()
    # The project's own client sends nothing Amazon would find unusual (the notes list what it would).
    assert [call["notes"] for call in api.emulator.calls()] == [[]] * len(api.emulator.calls())


def test_the_client_refreshes_an_expired_token_by_itself(client: SpApiClient, api: Api) -> None:
    messaging.get_messaging_actions(client, SANDBOX_ORDER, US)
    api.emulator.advance_clock(3601)  # the client still thinks its token is good for 58 minutes

    messaging.get_messaging_actions(client, SANDBOX_ORDER, US)

    statuses = [(c["operation"], c["status"]) for c in api.emulator.calls()]
    assert statuses == [
        ("lwaToken", 200),
        ("getMessagingActionsForOrder", 200),
        ("getMessagingActionsForOrder", 403),
        ("lwaToken", 200),
        ("getMessagingActionsForOrder", 200),
    ]


# --- the mistakes of DESIGN.md ----------------------------------------------------------------------------


def test_hex_md5_is_400_invalid_digest(client: SpApiClient) -> None:
    destination = _destination(client, md5=hashlib.md5(PDF).hexdigest())

    with pytest.raises(UploadRejected) as raised:
        _put(destination)

    assert (raised.value.status, raised.value.code) == (400, "InvalidDigest")


def test_md5_of_other_bytes_is_400_bad_digest(client: SpApiClient) -> None:
    destination = _destination(client, md5=content_md5(b"another file"))

    with pytest.raises(UploadRejected) as raised:
        _put(destination)

    assert (raised.value.status, raised.value.code) == (400, "BadDigest")


def test_missing_signed_header_is_403_signature_does_not_match(client: SpApiClient) -> None:
    destination = _destination(client)
    without_encryption = UploadDestination(
        destination.upload_destination_id, destination.url, {"Content-MD5": destination.headers["Content-MD5"]}
    )

    with pytest.raises(UploadRejected) as raised:
        _put(without_encryption)

    assert (raised.value.status, raised.value.code) == (403, "SignatureDoesNotMatch")


def test_different_signed_header_is_403_signature_does_not_match(client: SpApiClient) -> None:
    destination = _destination(client)
    other = UploadDestination(
        destination.upload_destination_id,
        destination.url,
        {**destination.headers, "x-amz-server-side-encryption": "AES256"},
    )

    with pytest.raises(UploadRejected) as raised:
        _put(other)

    assert (raised.value.status, raised.value.code) == (403, "SignatureDoesNotMatch")


def test_expired_url_is_403_access_denied_request_has_expired(client: SpApiClient, api: Api) -> None:
    destination = _destination(client)
    api.emulator.advance_clock(901)

    with pytest.raises(UploadDestinationExpired) as raised:
        _put(destination)

    assert (raised.value.status, raised.value.code) == (403, "AccessDenied")
    assert "Request has expired" in str(raised.value)


def test_post_to_the_upload_url_is_405_method_not_allowed(client: SpApiClient, session: requests.Session) -> None:
    destination = _destination(client)

    response = session.post(destination.url, data=PDF, headers=destination.headers)

    assert response.status_code == 405
    assert _s3_code(response) == "MethodNotAllowed"
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')


def test_chunked_upload_without_length_is_501_not_implemented(client: SpApiClient) -> None:
    destination = _destination(client)
    url = urlsplit(destination.url)
    connection = http.client.HTTPConnection(str(url.hostname), url.port, timeout=5)
    try:
        connection.putrequest("PUT", f"{url.path}?{url.query}")
        for name, value in destination.headers.items():
            connection.putheader(name, value)
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()  # no body sent: the answer must come from the headers alone
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 501
    assert _s3_code(body) == "NotImplemented"


def test_chunked_upload_from_requests_is_501(client: SpApiClient, session: requests.Session) -> None:
    destination = _destination(client)

    response = session.put(destination.url, data=iter([PDF]), headers=destination.headers)  # a generator: chunked

    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 501
    assert _s3_code(response) == "NotImplemented"


def test_percent_encoded_resource_is_403_unauthorized(client: SpApiClient) -> None:
    resource = f"messaging%2Fv1%2Forders%2F{SANDBOX_ORDER}%2Fmessages%2Finvoice"

    with pytest.raises(SpApiUnauthorized) as raised:
        client.call(
            "createUploadDestinationForResource",
            "POST",
            f"/uploads/2020-11-01/uploadDestinations/{resource}",
            params={"marketplaceIds": US, "contentMD5": content_md5(PDF)},
        )

    assert (raised.value.status, raised.value.code) == (403, "Unauthorized")


def test_missing_marketplace_ids_is_400_invalid_input(client: SpApiClient) -> None:
    with pytest.raises(SpApiInvalidInput) as raised:
        client.call("getMessagingActionsForOrder", "GET", f"/messaging/v1/orders/{SANDBOX_ORDER}")

    assert (raised.value.status, raised.value.code) == (400, "InvalidInput")


def test_two_marketplace_ids_are_400_invalid_input(client: SpApiClient) -> None:
    with pytest.raises(SpApiInvalidInput) as raised:
        messaging.get_messaging_actions(client, SANDBOX_ORDER, f"{US},A2EUQ1WTGCTBG2")

    assert (raised.value.status, raised.value.code) == (400, "InvalidInput")


def test_unknown_access_token_is_403_unauthorized(api: Api, session: requests.Session) -> None:
    class MadeUpTokens(AccessTokenProvider):
        def access_token(self) -> str:
            return "Atza|never-issued"

    credentials = LwaCredentials.from_secret(api.emulator.seed.credentials.as_secret())
    client = SpApiClient(api.base_url, MadeUpTokens(api.emulator.token_url, lambda: credentials), session=session)

    with pytest.raises(SpApiUnauthorized) as raised:
        messaging.get_messaging_actions(client, SANDBOX_ORDER, US)

    assert (raised.value.status, raised.value.code) == (403, "Unauthorized")


def test_message_with_a_never_uploaded_destination_is_400_invalid_input(client: SpApiClient, api: Api) -> None:
    destination = _destination(client)  # created, never uploaded
    body = messaging.build_message_body(
        INVOICE, text=None, attachments=[(destination.upload_destination_id, "Invoice.pdf")]
    )

    with pytest.raises(SpApiInvalidInput) as raised:
        messaging.send_message(client, INVOICE, SANDBOX_ORDER, US, body)

    assert (raised.value.status, raised.value.code) == (400, "InvalidInput")
    assert api.emulator.deliveries() == []


def test_message_with_a_destination_whose_upload_failed_is_400_invalid_input(client: SpApiClient, api: Api) -> None:
    destination = _destination(client, md5=content_md5(b"other bytes"))
    with pytest.raises(UploadRejected):
        _put(destination)
    body = messaging.build_message_body(
        INVOICE, text=None, attachments=[(destination.upload_destination_id, "Invoice.pdf")]
    )

    with pytest.raises(SpApiInvalidInput):
        messaging.send_message(client, INVOICE, SANDBOX_ORDER, US, body)


def test_type_not_available_for_the_order_is_403_unauthorized(client: SpApiClient, api: Api) -> None:
    order_details = catalog.message_type("confirmOrderDetails")
    body = messaging.build_message_body(order_details, text="Which colour would you like?", attachments=[])

    with pytest.raises(MessageTypeNotAvailable):
        messaging.send_message(client, order_details, LIMITED_ORDER, US, body)

    [call] = api.emulator.calls(order_details.operation)
    assert call["status"] == 403
