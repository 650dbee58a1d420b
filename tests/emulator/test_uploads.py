"""The Uploads API's createUploadDestinationForResource for Messaging resources."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from buyer_messaging import catalog
from tests.emulator.conftest import DE, GERMAN_ORDER, PDF, SANDBOX_ORDER, US, Api, content_md5

UPLOADS_PATH = "/uploads/2020-11-01/uploadDestinations/"


def test_destination_payload_has_id_signed_url_and_headers(api: Api) -> None:
    response = api.create_destination("invoice", PDF)

    assert response.status_code == 201
    payload = response.json()["payload"]
    assert set(response.json()) == {"payload"}
    uuid.UUID(payload["uploadDestinationId"])
    assert payload["headers"] == {"Content-MD5": content_md5(PDF), "x-amz-server-side-encryption": "aws:kms"}
    url = urlsplit(payload["url"])
    assert f"{url.scheme}://{url.netloc}" == api.base_url
    assert url.hostname == api.emulator.upload_host == "127.0.0.1"
    assert url.path == f"/upload/{payload['uploadDestinationId']}"
    query = parse_qs(url.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-SignedHeaders"] == ["content-md5;host;x-amz-server-side-encryption"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", query["X-Amz-Date"][0])
    assert re.fullmatch(r"[A-Z0-9]{20}/\d{8}/us-east-1/s3/aws4_request", query["X-Amz-Credential"][0])
    assert re.fullmatch(r"[0-9a-f]{64}", query["X-Amz-Signature"][0])
    assert "X-Amz-SignedHeaders=content-md5%3Bhost%3Bx-amz-server-side-encryption" in url.query


def test_content_md5_is_echoed_as_given(api: Api) -> None:
    # Amazon echoes it; a wrong form (hex) is refused by the upload, as S3 does.
    hex_md5 = "5d41402abc4b2a76b9719d911017c592"

    payload = api.destination("invoice", md5=hex_md5)

    assert payload["headers"]["Content-MD5"] == hex_md5


def test_each_destination_is_new(api: Api) -> None:
    first, second = api.destination("invoice"), api.destination("invoice")

    assert first["uploadDestinationId"] != second["uploadDestinationId"]
    assert first["url"] != second["url"]


@pytest.mark.parametrize("message_type", catalog.MESSAGE_TYPES, ids=lambda m: m.path)
def test_every_message_types_resource_is_accepted(api: Api, message_type: catalog.MessageType) -> None:
    assert api.create_destination(message_type.path).status_code == 201


def test_percent_encoded_slashes_are_403_unauthorized_as_amazon_answers(api: Api) -> None:
    # amzn/selling-partner-api-models#254, saleweaver/python-amazon-sp-api#1191: Amazon's 403, details empty.
    resource = f"messaging%2Fv1%2Forders%2F{SANDBOX_ORDER}%2Fmessages%2Finvoice"

    response = api.session.post(
        api.base_url + UPLOADS_PATH + resource,
        params={"marketplaceIds": US, "contentMD5": content_md5(PDF)},
        headers=api.headers(),
    )

    assert response.status_code == 403
    assert response.json() == {
        "errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}]
    }
    [call] = api.emulator.calls("createUploadDestinationForResource")
    assert call["notes"] == [
        "The resource's slashes are percent-encoded (%2F); they must be literal "
        "(/uploads/2020-11-01/uploadDestinations/messaging/v1/orders/{amazonOrderId}/messages/{messageType}). "
        "Amazon answers 403 Unauthorized, as here."
    ]
    assert api.emulator.destinations() == []


def test_a_body_is_ignored_and_noted(api: Api) -> None:
    resource = catalog.message_type("invoice").upload_resource(SANDBOX_ORDER)
    body = b'{"marketplaceIds": ["ATVPDKIKX0DER"]}'  # what python-amazon-sp-api sends

    response = api.session.post(
        api.base_url + UPLOADS_PATH + resource,
        params={"marketplaceIds": US, "contentMD5": content_md5(PDF)},
        data=body,
        headers=api.headers(**{"Content-Type": "application/json"}),
    )

    assert response.status_code == 201
    [call] = api.emulator.calls("createUploadDestinationForResource")
    assert call["notes"] == [f"The request carries a body of {len(body)} bytes; the operation takes none (ignored)."]


def test_operation_name_in_the_resource_is_400(api: Api) -> None:
    response = api.session.post(
        api.base_url + UPLOADS_PATH + f"messaging/v1/orders/{SANDBOX_ORDER}/messages/sendInvoice",
        params={"marketplaceIds": US, "contentMD5": content_md5(PDF)},
        headers=api.headers(),
    )

    assert response.status_code == 400


def test_other_resources_are_400(api: Api) -> None:
    response = api.session.post(
        api.base_url + UPLOADS_PATH + "aplus/2020-11-01/contentDocuments",
        params={"marketplaceIds": US, "contentMD5": content_md5(PDF)},
        headers=api.headers(),
    )

    assert response.status_code == 400


def test_missing_content_md5_is_400(api: Api) -> None:
    response = api.session.post(
        api.base_url + UPLOADS_PATH + catalog.message_type("invoice").upload_resource(SANDBOX_ORDER),
        params={"marketplaceIds": US},
        headers=api.headers(),
    )

    assert response.status_code == 400
    assert "contentMD5" in response.json()["errors"][0]["message"]
    assert response.headers["x-amzn-RateLimit-Limit"] == "10.0"


def test_missing_marketplace_ids_is_400(api: Api) -> None:
    response = api.session.post(
        api.base_url + UPLOADS_PATH + catalog.message_type("invoice").upload_resource(SANDBOX_ORDER),
        params={"contentMD5": content_md5(PDF)},
        headers=api.headers(),
    )

    assert response.status_code == 400
    assert "marketplaceIds" in response.json()["errors"][0]["message"]


def test_unknown_order_is_404(api: Api) -> None:
    assert api.create_destination("invoice", order="123-1234567-0000000").status_code == 404


def test_marketplace_must_be_the_orders(api: Api) -> None:
    assert api.create_destination("invoice", order=GERMAN_ORDER, marketplace=US).status_code == 400
    assert api.create_destination("invoice", order=GERMAN_ORDER, marketplace=DE).status_code == 201


def test_content_type_is_optional(api: Api) -> None:
    assert api.create_destination("invoice", content_type=None).status_code == 201


def test_needs_an_access_token(api: Api) -> None:
    response = api.session.post(
        api.base_url + UPLOADS_PATH + catalog.message_type("invoice").upload_resource(SANDBOX_ORDER),
        params={"marketplaceIds": US, "contentMD5": content_md5(PDF)},
        headers=api.headers(**{"x-amz-access-token": None}),
    )

    assert response.status_code == 403
    assert "x-amzn-RateLimit-Limit" not in response.headers
