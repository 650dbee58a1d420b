"""`make seller` (local/ops/seller.py) against the onboarding routes served as `make serve` serves them (LocalApi, the
onboarding function in process, moto, the emulator's LWA): add from a file or stdin, list, invite, remove; the
token never in argv, never printed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from buyer_messaging.config import Settings
from local_stack.api_server import LocalApi, onboarding_routes
from ops import seller as make_seller
from spapi_emulator import Emulator
from tests import support
from tests.integration.onboarding_flow import FIRST_SELLER, NEW_SELLER, onboarding_settings, running_emulator


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    yield from running_emulator()


@pytest.fixture
def settings(aws: dict[str, Any], emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return onboarding_settings(aws, emulator, monkeypatch)


@pytest.fixture
def api(settings: Settings, lambda_context: Any) -> Iterator[str]:
    handler = support.function_module("onboard_seller").lambda_handler
    with LocalApi(handler, context=lambda: lambda_context, routes=onboarding_routes()) as served:
        yield served.url


def run(api: str, *argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = make_seller.main([*argv, "--api", api], out=out, stdin=io.StringIO(stdin))
    return code, out.getvalue()


def test_add_list_invite_remove(api: str, emulator: Emulator, tmp_path: Path) -> None:
    token = emulator.seed.credentials.refresh_token
    token_file = tmp_path / "token.txt"
    token_file.write_text(token + "\n", encoding="utf-8")

    added = run(api, "add", FIRST_SELLER, "--refresh-token-file", str(token_file))
    again = run(api, "add", FIRST_SELLER, "--refresh-token-file", "-", stdin=token)
    listed = run(api, "list")
    invited = run(api, "invite", "--seller", NEW_SELLER, "--days", "3")
    removed = run(api, "remove", FIRST_SELLER)
    gone = run(api, "remove", FIRST_SELLER)

    assert added[0] == 0 and added[1].startswith(f"Seller {FIRST_SELLER} added; authorized until ")
    assert again[0] == 0 and again[1].startswith(f"Seller {FIRST_SELLER} authorized again; authorized until ")
    lines = listed[1].splitlines()
    assert listed[0] == 0
    assert lines[0] == "seller           status      authorized  expires     days left"
    assert lines[1].split()[0:2] == [FIRST_SELLER, "authorized"] and lines[1].split()[-1] in ("364", "365")
    assert invited[0] == 0
    assert invited[1].splitlines()[1].startswith("https://console.example/oauth/authorize?invitation=")
    assert removed == (0, f"Seller {FIRST_SELLER} removed.\n")
    assert gone == (2, f"Refused (404 UnknownSeller): {FIRST_SELLER} is not registered.\n")
    for _, printed in (added, again, listed, invited, removed):
        assert token not in printed


def test_a_token_lwa_refuses_is_not_stored(api: str) -> None:
    code, printed = run(api, "add", NEW_SELLER, "--refresh-token-file", "-", stdin="Atzr|typed-wrong")

    assert code == 2
    assert printed.startswith("Refused (502 LwaInvalidGrant): Login with Amazon refused this refresh token")
    assert run(api, "list")[1].splitlines() == ["seller  status  authorized  expires  days left"]


def test_the_token_is_never_an_argument() -> None:
    with pytest.raises(SystemExit):
        make_seller.parse(["add", FIRST_SELLER, "--refresh-token", "Atzr|x"])
