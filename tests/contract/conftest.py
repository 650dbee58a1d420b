"""The HTTP API fuzzed by Schemathesis from its own GET /openapi.json, on the local stack as `make serve` runs it.

How long it runs: SCHEMATHESIS_EXAMPLES (examples per operation and per stateful run; default below, sized for
CI) and SCHEMATHESIS_SEED (the seed; the default is fixed, so a run repeats). `make fuzz` runs it longer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from buyer_messaging import catalog

# Sized for CI (2 cores): about 2 minutes. `make fuzz` raises it.
DEFAULT_EXAMPLES = 15
DEFAULT_SEED = 13


def examples() -> int:
    return int(os.environ.get("SCHEMATHESIS_EXAMPLES") or DEFAULT_EXAMPLES)


def seed() -> int:
    return int(os.environ.get("SCHEMATHESIS_SEED") or DEFAULT_SEED)


@dataclass
class Traffic:
    """What the API answered while Schemathesis ran: counted at the server, whatever the client thought."""

    requests: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    phases: dict[str, int] = field(default_factory=dict)  # requests Schemathesis sent, by phase


TRAFFIC = Traffic()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.contract)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TRAFFIC.requests:
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(TRAFFIC.statuses.items()))
        terminalreporter.write_line(
            f"Schemathesis: {TRAFFIC.requests} requests to the HTTP API in {TRAFFIC.seconds:.0f} s "
            f"({examples()} examples per operation, seed {seed()}; by phase {TRAFFIC.phases}; statuses {statuses})"
        )


@pytest.fixture(autouse=True)
def no_sp_api_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit tests' fake SP-API endpoint would turn the served stack away from the emulator."""
    for name in ("SPAPI_ENDPOINT", "LWA_TOKEN_URL", "UPLOAD_URL_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def served_api() -> Iterator[Any]:
    """`make serve`'s stack (moto server, the SP-API emulator, the template deployed, the API on 127.0.0.1),
    its API function's handler counted; fails the test if the handler raised (API Gateway's 500)."""
    from local_stack.serve import serve_console

    with serve_console() as console:
        # The contract is fuzzed here, not Amazon's quotas (tests/integration/test_pacing.py): with the documented
        # 1 request/s, the API would soon answer 503 (the seller's quota is taken), a documented transient answer
        # that Schemathesis's not_a_server_error check counts as a failure.
        for operation in catalog.OPERATIONS:
            console.emulator.set_usage_plan(operation.name, 1000.0, 1000)
        api = console.api
        _count(api)
        started = time.monotonic()
        yield console
        TRAFFIC.seconds += time.monotonic() - started
        assert api.errors == [], f"the API function raised: {api.errors!r}"


def _count(api: Any) -> None:
    """Wrap the server's request handler so every request it answers is counted with its status."""
    server_class = api._server.RequestHandlerClass
    original = server_class.send_response

    def send_response(self: Any, code: int, message: str | None = None) -> None:
        TRAFFIC.requests += 1
        TRAFFIC.statuses[code] = TRAFFIC.statuses.get(code, 0) + 1
        original(self, code, message)

    server_class.send_response = send_response
