"""Seller Central's consent step of the website authorization workflow (``/apps/authorize/consent``), in HTML.

The local stand-in for Seller Central's sign-in and consent page: instead of a password the page lists the seed's
sellers to sign in as, and a "Confirm" button. What Amazon documents, and the emulator does:

- ``GET /apps/authorize/consent?application_id=…&state=…[&version=beta][&redirect_uri=…]`` (SP-API docs "Website
  Authorization Workflow"). ``application_id`` must be the application's (``amzn1.sp.solution.…``; its LWA client
  id is not it: amzn/selling-partner-api-models#2744); a draft application is authorized only with
  ``version=beta``. Both refusals are Seller Central's "Error Code: MD1000" page (SP-API docs "Authorization
  Errors"; amzn/selling-partner-api-docs#55, #191; "unable to find the application",
  amzn/selling-partner-api-models#2204).
- ``redirect_uri``, when given, must be one of the application's registered redirect URIs, exactly; else the page
  says "Error Code: MD5101" (SP-API docs "Authorization Errors"). Without it Amazon uses the first registered one.
- On "Confirm" the browser is sent (302) to the redirect URI with ``state`` (verbatim), ``selling_partner_id`` and
  ``spapi_oauth_code`` (:mod:`spapi_emulator.authorizations`: five minutes, once).

- Seller Central's error page says "Something went wrong", a sentence, "App ID: …" and "Error Code: …"
  (amzn/selling-partner-api-docs#262, #3349); "MD9999" is its answer to what it cannot otherwise name (here: a
  consent form that names none of the listed sellers, the stand-in's own failure). The pages' HTTP status is not
  documented; the emulator answers 400, which a person does not see.
"""

from __future__ import annotations

import html
import threading
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from spapi_emulator.authorizations import Authorizations
from spapi_emulator.httpio import BodyTooLarge, IncompleteBody, MalformedBody, Request, Response
from spapi_emulator.seed import Seed, redirect_uri_problem

CONSENT_PATH = "/apps/authorize/consent"
CONSENT_OPERATION = "authorizeConsent"
MAX_FORM_BYTES = 16 * 1024
_HTML = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]


class ConsentRefused(Exception):
    """A Seller Central error page: its code (``MD1000``) and a sentence."""

    def __init__(self, code: str, sentence: str) -> None:
        super().__init__(f"{code}: {sentence}")
        self.code = code
        self.sentence = sentence


class Consent:
    """The consent step, and the redirect URIs registered for the application (seed's, then the developer's)."""

    def __init__(self, seed: Seed, authorizations: Authorizations) -> None:
        self._seed = seed
        self._authorizations = authorizations
        self._lock = threading.Lock()
        self._redirect_uris: list[str] = list(seed.application.redirect_uris)

    def reset(self) -> None:
        with self._lock:
            self._redirect_uris = list(self._seed.application.redirect_uris)

    def register_redirect_uri(self, uri: str) -> list[str]:
        """Add an OAuth redirect URI to the application, as a developer does in Developer Central; ValueError
        for one it would not take. Answers every registered URI."""
        problem = redirect_uri_problem(uri)
        if problem:
            raise ValueError(problem)
        with self._lock:
            if uri not in self._redirect_uris:
                self._redirect_uris.append(uri)
            return list(self._redirect_uris)

    def redirect_uris(self) -> list[str]:
        with self._lock:
            return list(self._redirect_uris)

    def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return Response(405, b"", [("Allow", "GET, POST")])
        try:
            if request.method == "GET":
                params = _single(request.query())
                redirect_uri = self._check(params)
                return Response(200, self._page(params, redirect_uri).encode(), list(_HTML))
            params = _single(_form(request))
            redirect_uri = self._check(params)
            return self._confirm(params, redirect_uri, request)
        except ConsentRefused as refusal:
            request.notes.append(f"Seller Central error page {refusal.code}: {refusal.sentence}")
            page = _error_page(refusal, self._seed.application.application_id)
            return Response(400, page.encode(), list(_HTML))

    def _check(self, params: dict[str, str]) -> str:
        application = self._seed.application
        if params.get("application_id") != application.application_id:
            raise ConsentRefused("MD1000", "Unable to find the application.")
        if not application.published and params.get("version") != "beta":
            raise ConsentRefused(
                "MD1000", "The application is in Draft state: its authorization URI needs version=beta."
            )
        registered = self.redirect_uris()
        wanted = params.get("redirect_uri")
        if wanted is None:
            if not registered:
                raise ConsentRefused("MD5101", "The application has no OAuth redirect URI registered.")
            return registered[0]
        if wanted not in registered:
            raise ConsentRefused("MD5101", "The redirect URI is not one of the application's redirect URIs.")
        return wanted

    def _confirm(self, params: dict[str, str], redirect_uri: str, request: Request) -> Response:
        seller = params.get("selling_partner_id", "")
        if seller not in self._seed.selling_partner_ids:
            raise ConsentRefused("MD9999", "Sign in as one of the sellers listed to authorize the application.")
        code = self._authorizations.issue_code(seller, redirect_uri)
        answer = {"selling_partner_id": seller, "spapi_oauth_code": code}
        if "state" in params:
            answer = {"state": params["state"], **answer}
        parts = urlsplit(redirect_uri)
        query = "&".join(part for part in (parts.query, urlencode(answer)) if part)
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
        request.notes.append(f"{seller} authorized the application; redirected to {redirect_uri}.")
        return Response(302, b"", [("Location", location), ("Cache-Control", "no-store")])

    def _page(self, params: dict[str, str], redirect_uri: str) -> str:
        name = html.escape(self._seed.application.name)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}">'
            for key, value in params.items()
            if key in ("application_id", "state", "version", "redirect_uri")
        )
        choices = "".join(
            f'<li><label><input type="radio" name="selling_partner_id" value="{seller}"'
            f"{' checked' if index == 0 else ''}> {seller}</label></li>"
            for index, seller in enumerate(self._seed.selling_partner_ids)
        )
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Authorize {name} - Seller Central (local emulator)</title></head><body><main>"
            f"<h1>Authorize {name}?</h1>"
            f"<p>{name} asks to call the Selling Partner API for the selling account you sign in with. "
            f"After you confirm, you return to {html.escape(redirect_uri)}.</p>"
            f'<form method="post" action="{CONSENT_PATH}">{hidden}'
            f"<fieldset><legend>Sign in as</legend><ul>{choices}</ul></fieldset>"
            '<button type="submit">Confirm</button></form></main></body></html>'
        )


def _error_page(refusal: ConsentRefused, application_id: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Something went wrong - Seller Central (local emulator)</title></head><body><main>"
        "<h1>Something went wrong</h1>"
        f"<p>{html.escape(refusal.sentence)}</p>"
        f"<p>App ID: {html.escape(application_id)}</p>"
        f"<p>Error Code: {refusal.code}</p></main></body></html>"
    )


def _single(values: dict[str, list[str]]) -> dict[str, str]:
    return {name: found[0] for name, found in values.items() if found}


def _form(request: Request) -> dict[str, list[str]]:
    try:
        raw = request.body.read_all(MAX_FORM_BYTES)
        return parse_qs(raw.decode("utf-8"), keep_blank_values=True)
    except (BodyTooLarge, IncompleteBody, MalformedBody, UnicodeDecodeError):
        raise ConsentRefused("MD9999", "The consent form could not be read.") from None
