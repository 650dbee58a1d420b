"""`make serve`'s stack onboards a seller through the OAuth flow end to end, as a browser goes: the operator's
invitation, the authorize route (its cookie kept by the browser), the emulator's consent page (Confirm), and the
callback's page; the seller is then listed. The local callback is plain http on 127.0.0.1, so its cookie is not
Secure there (on AWS it always is)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
import requests

from local_stack.serve import ConsoleServer, serve_console
from tests.integration.onboarding_flow import NEW_SELLER, ConsentForm


@pytest.fixture
def console() -> Iterator[ConsoleServer]:
    with serve_console() as served:
        yield served


def test_a_seller_onboards_on_the_local_stack(console: ConsoleServer) -> None:
    api = console.url.rstrip("/")
    invitation = requests.post(api + "/sellers/invitations", json={"days": 7}, timeout=30)
    assert invitation.status_code == 201
    with requests.Session() as browser:
        consent = browser.get(invitation.json()["invitationUrl"], timeout=30)
        assert consent.url.startswith(console.emulator.consent_url + "?application_id=amzn1.sp.solution.local-emulator")
        form = ConsentForm()
        form.feed(consent.text)
        page = browser.post(
            console.emulator.consent_url, data={**form.fields, "selling_partner_id": NEW_SELLER}, timeout=30
        )

    assert page.status_code == 200
    assert page.url.startswith(api + "/oauth/callback?state=")
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))).strip()
    assert text.startswith(f"Seller authorized - Buyer Messaging Seller {NEW_SELLER} authorized Buyer Messaging")
    assert "Atzr|" not in page.text and "null" not in text and "undefined" not in text
    sellers = requests.get(api + "/sellers", timeout=30).json()["sellers"]
    assert [(seller["sellingPartnerId"], seller["kind"]) for seller in sellers] == [(NEW_SELLER, "oauth")]
