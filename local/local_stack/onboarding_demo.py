"""Onboarding a seller through Amazon's website authorization workflow on the local stack, as a person does it: the
operator's invitation, the seller's browser at the authorize route, the emulator's Seller Central consent page
("Confirm"), and the callback's page. `make run` prints each step; `make serve` serves the same routes.

The redirect URI names the local API's port, so it is chosen before the template is deployed
(:func:`parameters_for`): the emulator's application registers it, as a developer does in Developer Central.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any, TextIO

import requests

from local_stack.api_server import LocalApi, onboarding_routes
from local_stack.lambdas import LambdaContext
from local_stack.stack import LocalStack

ONBOARDING_FUNCTION = "OnboardSellerFunction"
TIMEOUT_SECONDS = 30


def callback_of(api_port: int) -> str:
    return f"http://127.0.0.1:{api_port}/oauth/callback"


def parameters_for(emulator: Any, callback: str) -> dict[str, str]:
    """The template's onboarding parameters against the emulator, its application's redirect URI registered."""
    application = emulator.seed.application
    emulator.register_redirect_uri(callback)
    return {
        "SpApiApplicationId": application.application_id,
        "SellerCentral": emulator.base_url,
        "OAuthRedirectUri": callback,
        "OAuthDraftApplication": "false" if application.published else "true",
    }


@contextmanager
def onboarding_api(stack: LocalStack, api_port: int) -> Iterator[str]:
    """The onboarding function's routes on 127.0.0.1:``api_port`` (no sign-in, as `make serve`); its URL."""
    assert stack.deployment is not None
    function = stack.lambdas.function(stack.deployment.functions[ONBOARDING_FUNCTION])
    handler = function.load()
    context = LambdaContext(function.name, function.memory_mb, function.timeout_seconds)
    with LocalApi(handler, port=api_port, context=lambda: context, routes=onboarding_routes()) as api:
        yield api.url


class ConsentForm(HTMLParser):
    """Seller Central's consent page: its form's action and hidden fields, as a browser sends them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.action = str(found.get("action") or "")
        if tag == "input" and found.get("type") == "hidden":
            self.fields[str(found["name"])] = str(found["value"])


def visible_text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))).strip()


def onboard(api: str, seller: str, out: TextIO) -> bool:
    """Invite, authorize, consent as ``seller``, callback; prints what the operator and the seller see."""

    def say(line: str) -> None:
        print(line, file=out)

    say(f"\nOnboarding seller {seller} (Amazon's website authorization workflow, the emulator as Seller Central):")
    invitation = requests.post(api + "/sellers/invitations", json={"days": 7}, timeout=TIMEOUT_SECONDS)
    if invitation.status_code != 201:
        say(f"  The invitation was refused: {invitation.text}")
        return False
    link = invitation.json()["invitationUrl"]
    say(f"  1. The operator's invitation (make seller ARGS=invite), valid until {invitation.json()['expiresAt']}:")
    say(f"     {link.split('?', 1)[0]}?invitation=…")
    with requests.Session() as browser:
        consent = browser.get(link, timeout=TIMEOUT_SECONDS)
        say(f"  2. The seller opens it and lands on Seller Central's consent page ({consent.status_code}):")
        say(f"     {visible_text(consent.text)}")
        form = ConsentForm()
        form.feed(consent.text)
        where = consent.url.split("/apps/", 1)[0] + form.action
        page = browser.post(where, data={**form.fields, "selling_partner_id": seller}, timeout=TIMEOUT_SECONDS)
    say(f"  3. Signed in as {seller}, Confirm; Amazon sends the browser back to the callback ({page.status_code}):")
    say(f"     {visible_text(page.text)}")
    listed = requests.get(api + "/sellers", timeout=TIMEOUT_SECONDS).json().get("sellers", [])
    mine = [entry for entry in listed if entry.get("sellingPartnerId") == seller]
    if page.status_code != 200 or not mine:
        say("  The seller was not onboarded.")
        return False
    entry = mine[0]
    say(f"  4. GET /sellers: {seller} {entry['status']} ({entry['kind']}) until {entry['authorizationExpiresAt']}")
    return True
