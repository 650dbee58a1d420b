"""The deployment's Cognito user pool for the browser tests: the local stand-in (local_stack.cognito_standin)
answers the page's requests to https://cognito-idp.<region>.amazonaws.com/ in-process, through Playwright's
request interception, and every request the page sent is kept for the tests to read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from local_stack.cognito_standin import UserPool

# The page's words that mean a value was missing: none may show on any screen.
STRAY_WORDS = ("null", "undefined", "NaN", "[object", "None")


@dataclass
class CognitoCall:
    target: str
    body: dict[str, Any]
    raw: str


@dataclass
class Cognito:
    pool: UserPool
    calls: list[CognitoCall] = field(default_factory=list)

    def operations(self) -> list[str]:
        return [call.target.removeprefix("AWSCognitoIdentityProviderService.") for call in self.calls]


def serve_pool(page: Any, pool: UserPool, monkeypatch: pytest.MonkeyPatch) -> Cognito:
    """config.json names the pool (as deployed), the API function's CSP allows its endpoint, and the stand-in
    answers there."""
    cognito = Cognito(pool)
    monkeypatch.setenv("CONSOLE_USER_POOL_ID", pool.pool_id)
    policy = pool.policy
    auth = {
        "region": pool.region,
        "userPoolId": pool.pool_id,
        "clientId": pool.client_id,
        # What console.sign_in serves from CONSOLE_PASSWORD_POLICY, for the rules this pool enforces.
        "passwordPolicy": {
            "minimumLength": policy.minimum_length,
            "lowercase": policy.require_lowercase,
            "uppercase": policy.require_uppercase,
            "numbers": policy.require_numbers,
            "symbols": policy.require_symbols,
        },
    }
    # The API's own config.json (the facts the console shows and checks), with the pool as deployed.
    page.route("**/console/config.json", lambda route: route.fulfill(json={**route.fetch().json(), "auth": auth}))

    def answer(route: Any) -> None:
        request = route.request
        cors = {
            "access-control-allow-origin": "*",
            "access-control-allow-headers": "content-type, x-amz-target, x-amz-user-agent",
            "access-control-allow-methods": "POST",
        }
        if request.method == "OPTIONS":
            route.fulfill(status=200, headers=cors)
            return
        raw = request.post_data or ""
        body = json.loads(raw or "{}")
        target = request.headers.get("x-amz-target", "")
        cognito.calls.append(CognitoCall(target, body, raw))
        status, data = pool.handle(target, body)
        route.fulfill(
            status=status, headers={**cors, "content-type": "application/x-amz-json-1.1"}, body=json.dumps(data)
        )

    page.route(f"https://cognito-idp.{pool.region}.amazonaws.com/", answer)
    return cognito


def assert_no_stray_words(page: Any) -> None:
    text = page.locator("body").inner_text()
    assert [word for word in STRAY_WORDS if word in text] == [], text
