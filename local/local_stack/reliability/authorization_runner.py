"""Plays the authorization matrix (local_stack.reliability.authorization_cases). Each case runs on a fresh local
stack (the real template, ASL and handlers; the emulator as Seller Central and LWA); the onboarding is called in this
process, as its function would be, where a case needs the function's clock moved (an expired state) or its
answer's error by name.

Like the other runners, buyer_messaging is imported inside the functions (local_stack.reliability.runner)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from local_stack.api_server import free_port
from local_stack.reliability import runner
from local_stack.reliability.authorization_cases import BURST, SENT_ONCE, AuthorizationCase

SELLER_A = "A2EXAMPLESELLER"  # the seed's first seller
SELLER_B = "A3OTHERSELLER"  # the seed's second seller, orders 113-2000001-0000001 and 113-2000002-0000002
NEW_SELLER = "A3ONBOARDSELLER"  # the seed's seller that has not authorized yet
ORDER_B = "113-2000001-0000001"
MARKETPLACE = "ATVPDKIKX0DER"


@dataclass(frozen=True)
class AuthorizationResult:
    case_id: str
    description: str
    expected: str
    actual: str
    detail: str
    seconds: float

    @property
    def passed(self) -> bool:
        return self.actual == self.expected


def run_authorization_case(case: AuthorizationCase, *, timeout_seconds: float = 60.0) -> AuthorizationResult:
    began = time.monotonic()
    try:
        actual, detail = SCENARIOS[case.id](timeout_seconds)
    except Exception as error:  # a case that breaks is a row that says how
        actual, detail = type(error).__name__, str(error).splitlines()[0] if str(error) else ""
    return AuthorizationResult(
        case.id, case.description, case.expected, actual, detail, round(time.monotonic() - began, 1)
    )


# --- the workflow: held, then out -----------------------------------------------------------------------


def _revoke(emulator: Any, seller: str) -> None:
    answer = requests.post(
        f"{emulator.base_url}/_emulator/authorizations/revoke", json={"sellingPartnerId": seller}, timeout=10
    )
    answer.raise_for_status()


def _start(run: runner.Run, name: str, text: str) -> str:
    assert run.local.deployment is not None
    document = {
        "amazonOrderId": ORDER_B,
        "marketplaceId": MARKETPLACE,
        "messageType": "unexpectedProblem",
        "text": text,
        "sellingPartnerId": SELLER_B,
    }
    started = run.local.client("stepfunctions").start_execution(
        stateMachineArn=run.local.deployment.state_machine_arn, name=name, input=json.dumps(document)
    )
    return str(started["executionArn"])


def _held(run: runner.Run, arn: str) -> bool:
    from buyer_messaging import status

    assert run.local.deployment is not None
    record = status.get(run.local.deployment.tables["WorkflowTable"], status.request_id_of(arn)) or {}
    return "held" in record or record.get("status") in ("sent", "failed", "unknown")


def _revoked_mid_burst(timeout: float) -> tuple[str, str]:
    from local_stack.onboarding_demo import callback_of, onboard, onboarding_api

    port = free_port()
    with (
        runner.fresh_stack("na", sellers=(SELLER_A, SELLER_B), oauth_callback=callback_of(port)) as run,
        onboarding_api(run.local, port) as api,
    ):
        tap = run.local.tap_events()
        arns = [_start(run, f"burst-{n}", f"Burst message {n}") for n in range(BURST // 2)]
        _revoke(run.emulator, SELLER_B)
        arns += [_start(run, f"burst-{n}", f"Burst message {n}") for n in range(BURST // 2, BURST)]
        deadline = time.monotonic() + timeout
        while not all(_held(run, arn) for arn in arns):
            if time.monotonic() > deadline:
                return "not held", "a message neither held nor ended in time"
            time.sleep(0.2)
        held = sum(
            1
            for arn in arns
            if run.local.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING"
        )
        if not onboard(api, SELLER_B, io.StringIO()):
            return "not re-authorized", "the OAuth flow did not onboard the seller again"
        ended = [run.local.wait_for(arn, timeout_seconds=timeout)["status"] for arn in arns]
        texts = [delivery["text"] for delivery in run.emulator.deliveries(ORDER_B)]
        lost = [e for e in tap.drain() if e.get("detail-type") == "SellerAuthorizationLost"]
        detail = (
            f"{held} held; {ended.count('SUCCEEDED')}/{BURST} succeeded; {len(texts)} delivered, "
            f"{len(set(texts))} distinct; {len(lost)} SellerAuthorizationLost"
        )
        once = sorted(texts) == sorted(f"Burst message {n}" for n in range(BURST))
        return (SENT_ONCE if once and ended == ["SUCCEEDED"] * BURST and len(lost) == 1 else "not as expected"), detail


def _hold_deadline(timeout: float) -> tuple[str, str]:
    with runner.fresh_stack("na", sellers=(SELLER_B,), parameters={"AuthorizationHoldHours": "0.05"}) as run:
        _revoke(run.emulator, SELLER_B)
        ended = run.local.wait_for(_start(run, "held-too-long", "Held too long"), timeout_seconds=timeout)
        delivered = len(run.emulator.deliveries())
        return str(ended.get("error") or ended["status"]), f"{ended['status']}; {delivered} delivered"


# --- the OAuth flow ---------------------------------------------------------------------------------------

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _consent(consent_url: str, seller: str) -> dict[str, str]:
    """The seller at the emulator's Seller Central confirms: the redirect's query (state, code, seller)."""
    from local_stack.onboarding_demo import ConsentForm

    with requests.Session() as browser:
        page = browser.get(consent_url, timeout=10)
        form = ConsentForm()
        form.feed(page.text)
        answer = browser.post(
            page.url.split("?", 1)[0], data={**form.fields, "selling_partner_id": seller}, allow_redirects=False
        )
    return {name: values[0] for name, values in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


def _oauth(scenario: Callable[[Any, Any, Callable[..., Any]], str]) -> Callable[[float], tuple[str, str]]:
    """A stack with the onboarding's callback registered; ``scenario(settings, emulator, attempt)`` plays the
    flow, ``attempt(...)`` is onboarding.finish, and the error it ends with (by name) is the case's outcome."""

    def run_case(timeout: float) -> tuple[str, str]:
        from buyer_messaging import onboarding
        from buyer_messaging.config import get_settings
        from buyer_messaging.errors import BuyerMessagingError
        from local_stack.onboarding_demo import callback_of

        with runner.fresh_stack("na", oauth_callback=callback_of(free_port())) as run:
            settings = get_settings()
            try:
                return scenario(settings, run.emulator, onboarding.finish), ""
            except BuyerMessagingError as refused:
                return type(refused).__name__, str(refused)

    return run_case


def _started(settings: Any, seller_id: str | None = None, now: datetime = NOW) -> tuple[Any, dict[str, str]]:
    from buyer_messaging import onboarding

    invitation = onboarding.invite(settings, days=7, seller_id=seller_id, now=now)
    token = parse_qs(urlsplit(invitation["invitationUrl"]).query)["invitation"][0]
    started = onboarding.start(settings, token, now=now)
    return started, _consent(started.consent_url, seller_id or NEW_SELLER)


def _finish(finish: Callable[..., Any], settings: Any, started: Any, redirect: dict[str, str], **changes: Any) -> str:
    arguments = {
        "state": redirect["state"],
        "cookie": started.cookie_value,
        "seller_id": redirect["selling_partner_id"],
        "code": redirect["spapi_oauth_code"],
        "now": NOW,
        **changes,
    }
    recorded = finish(settings, **arguments)
    return "renewed" if not recorded.first_time else "authorized"


def _expired_code(settings: Any, emulator: Any, finish: Callable[..., Any]) -> str:
    started, redirect = _started(settings)
    emulator.advance_clock(301)  # the code lives five minutes (SP-API docs)
    return _finish(finish, settings, started, redirect)


def _reused_code(settings: Any, emulator: Any, finish: Callable[..., Any]) -> str:
    started, redirect = _started(settings)
    _finish(finish, settings, started, redirect)
    again, second = _started(settings)
    return _finish(finish, settings, again, {**second, "spapi_oauth_code": redirect["spapi_oauth_code"]})


def _forged_state(settings: Any, emulator: Any, finish: Callable[..., Any]) -> str:
    started, redirect = _started(settings)
    return _finish(finish, settings, started, redirect, state="forged-" + redirect["state"])


def _reused_state(settings: Any, emulator: Any, finish: Callable[..., Any]) -> str:
    started, redirect = _started(settings)
    _finish(finish, settings, started, redirect)
    return _finish(finish, settings, started, redirect)


def _expired_state(settings: Any, emulator: Any, finish: Callable[..., Any]) -> str:
    started, redirect = _started(settings)
    return _finish(finish, settings, started, redirect, now=NOW + timedelta(minutes=10))


def _no_cookie(settings: Any, emulator: Any, finish: Callable[..., Any]) -> str:
    started, redirect = _started(settings)
    return _finish(finish, settings, started, redirect, cookie=None)


def _unknown_invitation(settings: Any, emulator: Any, finish: Callable[..., Any]) -> str:
    from buyer_messaging import onboarding

    onboarding.start(settings, "never-issued", now=NOW)
    return "started"


def _renewal(settings: Any, emulator: Any, finish: Callable[..., Any]) -> str:
    started, redirect = _started(settings)
    _finish(finish, settings, started, redirect)
    later = NOW + timedelta(days=340)  # 25 days left: Amazon asks for a renewal every 365 days
    again, second = _started(settings, NEW_SELLER, now=later)
    return _finish(finish, settings, again, second, now=later)


def _expiring_warning(timeout: float) -> tuple[str, str]:
    from buyer_messaging import authorization_age, sellers
    from buyer_messaging.config import get_settings

    with runner.fresh_stack("na", sellers=(SELLER_B,)) as run:
        tap = run.local.tap_events()
        seller = sellers.get(get_settings(), SELLER_B)
        assert seller is not None
        authorization_age.check(get_settings(), seller.authorization_expires_at - timedelta(days=30))
        authorization_age.check(get_settings(), seller.authorization_expires_at - timedelta(days=29))  # once
        warned = [e["detail"] for e in tap.drain() if e.get("detail-type") == "SellerAuthorizationExpiring"]
        detail = "; ".join(f"{w['sellingPartnerId']} {w['daysLeft']} days left" for w in warned)
        return (f"warned at {warned[0]['daysLeft']} days" if len(warned) == 1 else f"{len(warned)} warnings"), detail


# Each case of the table, played: (timeout) -> (actual, detail).
SCENARIOS: dict[str, Callable[[float], tuple[str, str]]] = {
    "revoked-mid-burst": _revoked_mid_burst,
    "hold-deadline": _hold_deadline,
    "oauth-expired-code": _oauth(_expired_code),
    "oauth-reused-code": _oauth(_reused_code),
    "oauth-forged-state": _oauth(_forged_state),
    "oauth-reused-state": _oauth(_reused_state),
    "oauth-expired-state": _oauth(_expired_state),
    "oauth-no-cookie": _oauth(_no_cookie),
    "oauth-unknown-invitation": _oauth(_unknown_invitation),
    "oauth-renewal": _oauth(_renewal),
    "expiring-warning": _expiring_warning,
}
