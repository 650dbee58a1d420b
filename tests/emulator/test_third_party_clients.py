"""The two SP-API clients sellers use, each through the whole send flow against the emulator.

Each client is configured as its user configures it for Amazon itself, with only the two URLs pointed at
the emulator (so nothing here can reach Amazon: a guard refuses every connection that is not to loopback):

``amzn-sp-api`` 1.13.0 (Amazon's own SDK, package ``spapi``)
    ``SPAPIClient(SPAPIConfig(client_id, client_secret, refresh_token, region="NA"),
    oauth_endpoint=<LWA token URL>, endpoint=<SP-API endpoint>)``, and
    ``client.api_client.configuration.safe_chars_for_path_param = "/"``: the SDK percent-encodes every
    path parameter, ``resource``'s slashes included, and Amazon answers ``%2F`` with 403 Unauthorized
    (amzn/selling-partner-api-models#254). The file is PUT with ``requests`` with exactly the returned
    headers, as Amazon's messaging tutorial instructs.

``python-amazon-sp-api`` 2.1.35 (package ``sp_api``)
    ``Messaging(Marketplaces.US, credentials={lwa_app_id, lwa_client_secret, refresh_token})`` with the
    LWA URL of an ``auth_token_client_class`` (the library builds it from the class's ``scheme``, ``host``
    and ``path``) and ``client.endpoint`` set to the SP-API endpoint. Its ``Upload.upload_document``
    percent-encodes ``contentMD5`` before httpx encodes it again: Amazon echoes the double-encoded value and
    S3 refuses the PUT with 400 ``InvalidDigest`` (saleweaver/python-amazon-sp-api#450 shows S3's answer to a
    Content-MD5 that is not base64), so the test asserts that refusal and then does what a user does: calls
    the same operation through the client with the digest encoded once. Its sends carry ``marketplaceIds``
    and ``MarketplaceIds`` in the JSON body; Amazon's models do not forbid extra properties, so they are
    accepted and noted in the call log.
"""

from __future__ import annotations

import base64
import hashlib
import io
import ipaddress
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from spapi_emulator import Emulator
from tests.emulator.conftest import PDF, SANDBOX_ORDER, SHIPPED_ORDER, US, content_md5

# Both SDKs call logging.basicConfig(level=INFO) when imported; keep the root logger as the suite set it.
_root_logger = logging.getLogger()
_root_level, _root_handlers = _root_logger.level, list(_root_logger.handlers)
from sp_api.api import Messaging, Upload  # noqa: E402
from sp_api.auth import AccessTokenClient  # noqa: E402
from sp_api.auth import access_token_client as sp_api_token_cache  # noqa: E402
from sp_api.base import ApiResponse, Marketplaces  # noqa: E402
from sp_api.base.exceptions import SellingApiForbiddenException  # noqa: E402
from spapi import ApiException, MessagingApi, SPAPIClient, SPAPIConfig, UploadsApi  # noqa: E402
from spapi.models.messaging_v1 import Attachment, CreateLegalDisclosureRequest, InvoiceRequest  # noqa: E402

_root_logger.setLevel(_root_level)
_root_logger.handlers[:] = _root_handlers

DENIED = {"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}
INVOICE_RESOURCE = f"messaging/v1/orders/{SANDBOX_ORDER}/messages/invoice"
LEGAL_RESOURCE = f"messaging/v1/orders/{SHIPPED_ORDER}/messages/legalDisclosure"
OFFICIAL_USER_AGENT = "amazon-selling-partner-api-sdk/1.13.0/python"
SP_API_USER_AGENT = "python-sp-api-2.1.35"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to an address that is not loopback fails the test (neither SDK may reach Amazon)."""
    connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not ipaddress.ip_address(host).is_loopback:
            raise AssertionError(f"a test tried to connect to {address!r}")
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def _calls(emulator: Emulator) -> list[tuple[str, int]]:
    return [(call["operation"], call["status"]) for call in emulator.calls()]


def _notes(emulator: Emulator, operation: str) -> list[str]:
    return [note for call in emulator.calls(operation) for note in call["notes"]]


def _s3_error(response: requests.Response, element: str) -> str:
    return response.text.split(f"<{element}>", 1)[1].split(f"</{element}>", 1)[0]


# --- Amazon's SDK: amzn-sp-api ------------------------------------------------------------------------------


@pytest.fixture
def official(emulator: Emulator) -> SPAPIClient:
    credentials = emulator.seed.credentials
    config = SPAPIConfig(
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        refresh_token=credentials.refresh_token,
        region="NA",
    )
    client = SPAPIClient(config, oauth_endpoint=emulator.token_url, endpoint=emulator.base_url)
    client.api_client.configuration.safe_chars_for_path_param = "/"
    return client


def test_amazons_sdk_sends_an_invoice_end_to_end(official: SPAPIClient, emulator: Emulator) -> None:
    messaging = MessagingApi(official.api_client)
    uploads = UploadsApi(official.api_client)

    actions = messaging.get_messaging_actions_for_order(SANDBOX_ORDER, [US])
    destination = uploads.create_upload_destination_for_resource(
        [US], content_md5(PDF), INVOICE_RESOURCE, content_type="application/pdf"
    ).payload
    put = requests.put(destination.url, data=PDF, headers=destination.headers, timeout=10)
    attachment = Attachment(upload_destination_id=destination.upload_destination_id, file_name="Invoice-123.pdf")
    messaging.send_invoice(SANDBOX_ORDER, [US], InvoiceRequest(attachments=[attachment]))
    attributes = messaging.get_attributes(SANDBOX_ORDER, [US])

    assert "sendInvoice" in [link.name for link in actions.links.actions]
    assert put.status_code == 200
    assert attributes.buyer.locale == "en-US"
    [delivery] = emulator.deliveries()
    assert (delivery["operation"], delivery["amazonOrderId"], delivery["text"]) == ("sendInvoice", SANDBOX_ORDER, None)
    assert [(a["fileName"], a["size"], a["md5"]) for a in delivery["attachments"]] == [
        ("Invoice-123.pdf", len(PDF), hashlib.md5(PDF).hexdigest())
    ]
    assert _calls(emulator) == [
        ("lwaToken", 200),
        ("getMessagingActionsForOrder", 200),
        ("createUploadDestinationForResource", 201),
        ("upload", 200),
        ("sendInvoice", 201),
        ("GetAttributes", 200),
    ]
    assert _notes(emulator, "sendInvoice") == [
        f"User-Agent {OFFICIAL_USER_AGENT!r} is not of Amazon's recommended form "
        "AppName/Version (Language=Name/Version); Amazon accepts it."
    ]


def test_amazons_sdk_sends_a_legal_disclosure(official: SPAPIClient, emulator: Emulator) -> None:
    messaging = MessagingApi(official.api_client)
    uploads = UploadsApi(official.api_client)
    data = b"Legal disclosure\n" * 64

    destination = uploads.create_upload_destination_for_resource(
        [US], content_md5(data), LEGAL_RESOURCE, content_type="text/plain"
    ).payload
    assert requests.put(destination.url, data=data, headers=destination.headers, timeout=10).status_code == 200
    attachment = Attachment(upload_destination_id=destination.upload_destination_id, file_name="Disclosure.txt")
    messaging.create_legal_disclosure(SHIPPED_ORDER, [US], CreateLegalDisclosureRequest(attachments=[attachment]))

    [delivery] = emulator.deliveries()
    assert (delivery["operation"], delivery["messageType"]) == ("createLegalDisclosure", "legalDisclosure")
    assert [(a["fileName"], a["md5"]) for a in delivery["attachments"]] == [
        ("Disclosure.txt", hashlib.md5(data).hexdigest())
    ]


def test_amazons_sdk_with_its_default_path_encoding_is_refused_as_amazon_refuses_it(
    official: SPAPIClient, emulator: Emulator
) -> None:
    official.api_client.configuration.safe_chars_for_path_param = ""  # the SDK's default
    uploads = UploadsApi(official.api_client)

    with pytest.raises(ApiException) as raised:
        uploads.create_upload_destination_for_resource([US], content_md5(PDF), INVOICE_RESOURCE)

    assert raised.value.status == 403
    assert json.loads(raised.value.body) == {"errors": [DENIED]}
    [call] = emulator.calls("createUploadDestinationForResource")
    assert call["path"] == "/uploads/2020-11-01/uploadDestinations/" + INVOICE_RESOURCE.replace("/", "%2F")
    assert "literal" in " ".join(call["notes"])
    assert emulator.destinations() == []


# --- python-amazon-sp-api ---------------------------------------------------------------------------------


# The library's internals reached below (the token client's class attributes, its module token cache,
# Client.endpoint and Client._request) as of python-amazon-sp-api 2.1.35: pinned by
# tests/unit/test_library_internals.py, which fails loudly when one of them moves.
@pytest.fixture
def sp_api_clients(emulator: Emulator) -> Iterator[tuple[Messaging, Upload]]:
    credentials = emulator.seed.credentials
    base = urlsplit(emulator.base_url)
    token_client = type(
        "EmulatorAccessTokenClient", (AccessTokenClient,), {"scheme": f"{base.scheme}://", "host": base.netloc}
    )
    settings: dict[str, Any] = {
        "credentials": {
            "lwa_app_id": credentials.client_id,
            "lwa_client_secret": credentials.client_secret,
            "refresh_token": credentials.refresh_token,
        },
        "auth_token_client_class": token_client,
    }
    # The library caches access tokens per refresh token for the whole process; each test's emulator is new.
    sp_api_token_cache.cache.clear()
    messaging, upload = Messaging(Marketplaces.US, **settings), Upload(Marketplaces.US, **settings)
    for client in (messaging, upload):
        client.endpoint = emulator.base_url
    yield messaging, upload
    for client in (messaging, upload):
        client.close()
    sp_api_token_cache.cache.clear()


def _destination_encoded_once(upload: Upload, resource: str, data: bytes, content_type: str) -> dict[str, Any]:
    """``upload_document`` without its extra percent-encoding of ``contentMD5``, through the same client."""
    digest = base64.b64encode(hashlib.md5(data).digest()).decode()
    response: ApiResponse = upload._request(
        f"/uploads/2020-11-01/uploadDestinations/{resource}",
        params={"contentMD5": digest, "contentType": content_type, "marketplaceIds": US, "method": "POST"},
    )
    return dict(response.payload)


def test_python_amazon_sp_api_sends_an_invoice_end_to_end(
    sp_api_clients: tuple[Messaging, Upload], emulator: Emulator
) -> None:
    messaging, upload = sp_api_clients

    actions = messaging.get_messaging_actions_for_order(SANDBOX_ORDER)
    buggy = upload.upload_document(INVOICE_RESOURCE, io.BytesIO(PDF), content_type="application/pdf").payload
    refused = requests.put(buggy["url"], data=PDF, headers=buggy["headers"], timeout=10)
    destination = _destination_encoded_once(upload, INVOICE_RESOURCE, PDF, "application/pdf")
    put = requests.put(destination["url"], data=PDF, headers=destination["headers"], timeout=10)
    attachment = {"uploadDestinationId": destination["uploadDestinationId"], "fileName": "Invoice-123.pdf"}
    messaging.send_invoice(SANDBOX_ORDER, body={"attachments": [attachment]})
    attributes = messaging.get_attributes(SANDBOX_ORDER)

    assert "sendInvoice" in [link["name"] for link in actions.payload["_links"]["actions"]]
    assert buggy["headers"]["Content-MD5"] == content_md5(PDF).replace("+", "%2B").replace("=", "%3D")
    assert (refused.status_code, _s3_error(refused, "Code")) == (400, "InvalidDigest")
    assert _s3_error(refused, "Message") == "The Content-MD5 you specified was invalid."
    assert _s3_error(refused, "Content-MD5") == buggy["headers"]["Content-MD5"]
    assert put.status_code == 200
    assert attributes.payload == {"buyer": {"locale": "en-US"}}
    [delivery] = emulator.deliveries()
    assert (delivery["operation"], delivery["text"]) == ("sendInvoice", None)
    assert [(a["fileName"], a["size"], a["md5"]) for a in delivery["attachments"]] == [
        ("Invoice-123.pdf", len(PDF), hashlib.md5(PDF).hexdigest())
    ]
    assert _calls(emulator) == [
        ("lwaToken", 200),
        ("getMessagingActionsForOrder", 200),
        ("createUploadDestinationForResource", 201),
        ("upload", 400),
        ("createUploadDestinationForResource", 201),
        ("upload", 200),
        ("sendInvoice", 201),
        ("GetAttributes", 200),
    ]
    user_agent_note = (
        f"User-Agent {SP_API_USER_AGENT!r} is not of Amazon's recommended form "
        "AppName/Version (Language=Name/Version); Amazon accepts it."
    )
    assert _notes(emulator, "sendInvoice") == [
        user_agent_note,
        "Body field MarketplaceIds is not in the model of sendInvoice (InvoiceRequest); ignored.",
        "Body field marketplaceIds is not in the model of sendInvoice (InvoiceRequest); ignored.",
    ]
    assert _notes(emulator, "getMessagingActionsForOrder") == [
        user_agent_note,
        "Query parameters not in the model: MarketplaceId, MarketplaceIds, marketplace_ids; ignored.",
    ]


def test_python_amazon_sp_api_sends_a_legal_disclosure(
    sp_api_clients: tuple[Messaging, Upload], emulator: Emulator
) -> None:
    messaging, upload = sp_api_clients
    data = b"Legal disclosure\n" * 64

    destination = _destination_encoded_once(upload, LEGAL_RESOURCE, data, "text/plain")
    assert requests.put(destination["url"], data=data, headers=destination["headers"], timeout=10).status_code == 200
    attachment = {"uploadDestinationId": destination["uploadDestinationId"], "fileName": "Disclosure.txt"}
    messaging.create_legal_disclosure(SHIPPED_ORDER, body={"attachments": [attachment]})

    [delivery] = emulator.deliveries()
    assert (delivery["operation"], delivery["messageType"]) == ("createLegalDisclosure", "legalDisclosure")
    assert [(a["fileName"], a["md5"]) for a in delivery["attachments"]] == [
        ("Disclosure.txt", hashlib.md5(data).hexdigest())
    ]


def test_python_amazon_sp_api_resource_with_encoded_slashes_is_refused_as_amazon_refuses_it(
    sp_api_clients: tuple[Messaging, Upload], emulator: Emulator
) -> None:
    # python-amazon-sp-api before 2.x built the path with fill_query_params, which quotes "/" too
    # (saleweaver/python-amazon-sp-api#1191: Amazon answered 403 Unauthorized).
    _, upload = sp_api_clients

    with pytest.raises(SellingApiForbiddenException) as raised:
        upload.upload_document(INVOICE_RESOURCE.replace("/", "%2F"), io.BytesIO(PDF))

    assert raised.value.error == [DENIED]
    assert emulator.destinations() == []
