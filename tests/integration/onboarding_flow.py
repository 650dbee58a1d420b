"""What the onboarding tests share: the emulator with the redirect URI registered, the settings that point the
onboarding at it, and the seller's browser at the emulator's Seller Central."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from buyer_messaging import onboarding
from buyer_messaging.config import Settings
from local_stack.onboarding_demo import ConsentForm
from spapi_emulator import Emulator
from tests import support

REDIRECT_URI = "https://console.example/oauth/callback"
NEW_SELLER = "A3ONBOARDSELLER"
FIRST_SELLER = "A2EXAMPLESELLER"


def running_emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        running.register_redirect_uri(REDIRECT_URI)
        yield running


def onboarding_settings(aws: dict[str, Any], emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Settings:
    aws["secretsmanager"].put_secret_value(
        SecretId=support.SECRET_ID, SecretString=json.dumps(emulator.seed.credentials.as_secret())
    )
    environment = {
        "LWA_TOKEN_URL": emulator.token_url,
        "SELLER_CENTRAL_URL": emulator.seller_central_url,
        "SPAPI_APPLICATION_ID": emulator.seed.application.application_id,
        "OAUTH_REDIRECT_URI": REDIRECT_URI,
        "OAUTH_DRAFT_APPLICATION": "true",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


def confirm_at_seller_central(consent_url: str, seller: str) -> str:
    """The browser at Seller Central: the consent page, sign in as ``seller``, Confirm -> where it is sent."""
    with requests.Session() as browser:
        page = browser.get(consent_url)
        assert page.status_code == 200, page.text
        form = ConsentForm()
        form.feed(page.text)
        answer = browser.post(
            page.url.split("?", 1)[0], data={**form.fields, "selling_partner_id": seller}, allow_redirects=False
        )
    assert answer.status_code == 302, answer.text
    return str(answer.headers["Location"])


def consent(started: onboarding.Started, seller: str) -> dict[str, str]:
    """The redirect's query after ``seller`` confirms (its target checked: the registered redirect URI)."""
    location = urlsplit(confirm_at_seller_central(started.consent_url, seller))
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {name: values[0] for name, values in parse_qs(location.query).items()}
