"""Fixtures for the SP-API emulator's tests: a fresh emulator per test, a raw HTTP helper, the real client."""

from __future__ import annotations

import base64
import hashlib
import platform
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import requests

from buyer_messaging import catalog
from buyer_messaging.auth import AccessTokenProvider, LwaCredentials
from buyer_messaging.spapi import SpApiClient
from spapi_emulator import Emulator

SANDBOX_ORDER = "123-1234567-1234567"  # allows every message type, any number of times
SHIPPED_ORDER = "114-3941689-8772232"  # warranty and legalDisclosure once per order
GERMAN_ORDER = "305-1234567-7654321"  # DE; unexpectedProblem text at most 1000 characters
LIMITED_ORDER = "702-0000000-0000000"  # unexpectedProblem only
US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
USER_AGENT = f"EmulatorTests/1.0 (Language=Python/{platform.python_version()})"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
# Buckets refill a million times faster than real time: no test is throttled unless it wants to be,
# while tokens and upload URLs keep their real lifetimes (tests age them with advance_clock).
INSTANT_REFILL = 1_000_000.0


def content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class Api:
    """Raw HTTP calls to the emulator, correct unless a test overrides a piece."""

    def __init__(self, emulator: Emulator, session: requests.Session) -> None:
        self.emulator = emulator
        self.session = session
        self._token: str | None = None

    @property
    def base_url(self) -> str:
        return self.emulator.base_url

    def token(self) -> str:
        if self._token is None:
            response = self.session.post(self.emulator.token_url, data=self.token_form())
            assert response.status_code == 200, response.text
            self._token = str(response.json()["access_token"])
        return self._token

    def token_form(self, **overrides: str) -> dict[str, str]:
        credentials = self.emulator.seed.credentials
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credentials.refresh_token,
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        }
        form.update(overrides)
        return form

    def headers(self, **overrides: str | None) -> dict[str, str]:
        headers: dict[str, str | None] = {"x-amz-access-token": self.token(), "User-Agent": USER_AGENT}
        headers.update(overrides)
        return {name: value for name, value in headers.items() if value is not None}

    def get_actions(
        self,
        order: str = SANDBOX_ORDER,
        marketplace: str | None = US,
        *,
        headers: Mapping[str, str | None] | None = None,
    ) -> requests.Response:
        """getMessagingActionsForOrder; ``headers`` replace the correct ones (None: leave the header out)."""
        params = {} if marketplace is None else {"marketplaceIds": marketplace}
        return self.session.get(
            f"{self.base_url}/messaging/v1/orders/{order}", params=params, headers=self.headers(**(headers or {}))
        )

    def get_attributes(self, order: str = SANDBOX_ORDER, marketplace: str = US) -> requests.Response:
        return self.session.get(
            f"{self.base_url}/messaging/v1/orders/{order}/attributes",
            params={"marketplaceIds": marketplace},
            headers=self.headers(),
        )

    def send(
        self,
        message_type: str,
        body: Mapping[str, Any],
        order: str = SANDBOX_ORDER,
        marketplace: str = US,
    ) -> requests.Response:
        path = catalog.message_type(message_type).send_path(order)
        return self.session.post(
            self.base_url + path, params={"marketplaceIds": marketplace}, json=body, headers=self.headers()
        )

    def create_destination(
        self,
        message_type: str,
        data: bytes = PDF,
        order: str = SANDBOX_ORDER,
        marketplace: str = US,
        *,
        md5: str | None = None,
        content_type: str | None = "application/pdf",
    ) -> requests.Response:
        resource = catalog.message_type(message_type).upload_resource(order)
        params = {"marketplaceIds": marketplace, "contentMD5": md5 or content_md5(data)}
        if content_type:
            params["contentType"] = content_type
        return self.session.post(
            f"{self.base_url}/uploads/2020-11-01/uploadDestinations/{resource}", params=params, headers=self.headers()
        )

    def destination(self, message_type: str, data: bytes = PDF, order: str = SANDBOX_ORDER, **kwargs: Any) -> Any:
        """The payload of a new upload destination (asserting it was created)."""
        response = self.create_destination(message_type, data, order, **kwargs)
        assert response.status_code == 201, response.text
        return response.json()["payload"]

    def put(self, payload: Mapping[str, Any], data: bytes, **header_overrides: str | None) -> requests.Response:
        headers: dict[str, str | None] = dict(payload["headers"])
        headers.update(header_overrides)
        return self.session.put(payload["url"], data=data, headers={k: v for k, v in headers.items() if v is not None})

    def uploaded(self, message_type: str, data: bytes = PDF, order: str = SANDBOX_ORDER, **kwargs: Any) -> str:
        """The id of a destination that received ``data`` correctly."""
        payload = self.destination(message_type, data, order, **kwargs)
        response = self.put(payload, data)
        assert response.status_code == 200, response.text
        return str(payload["uploadDestinationId"])


def error_codes(response: requests.Response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def error_messages(response: requests.Response) -> str:
    return " ".join(error["message"] + " " + error.get("details", "") for error in response.json()["errors"])


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(quota_speedup=INSTANT_REFILL) as running:
        yield running


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


@pytest.fixture
def api(emulator: Emulator, session: requests.Session) -> Api:
    return Api(emulator, session)


@pytest.fixture
def client(emulator: Emulator, session: requests.Session) -> SpApiClient:
    """This repo's own SP-API client, with the seed's credentials, pointed at the emulator."""
    credentials = LwaCredentials.from_secret(emulator.seed.credentials.as_secret())
    tokens = AccessTokenProvider(emulator.token_url, lambda: credentials, session=session)
    return SpApiClient(emulator.base_url, tokens, session=session)
