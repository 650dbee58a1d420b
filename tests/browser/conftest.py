"""The seller console in a real browser: Playwright for Python driving Debian's Chromium, headless, against the
local stack with the API function served on 127.0.0.1 (moto server, the SP-API emulator, the real state machine).

Playwright's own browser download does not work here, so the tests launch the system ``chromium`` by path;
``make test`` installs it first (``local/ensure_debian_packages.sh``) or stops saying how. A missing browser
fails the tests instead of skipping them: a skipped browser test would let a broken console pass CI.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.browser.pages import PageWatch, Screens, Tab

CHROMIUM_FALLBACK = "/usr/bin/chromium"
INSTALL_HINT = (
    "Chromium is not installed. The browser tests drive Debian's chromium package, which `make test` installs "
    "(local/ensure_debian_packages.sh; by hand, as root: apt-get install -y --no-install-recommends chromium "
    "fonts-dejavu-core). Playwright's own browser download does not work here; never run `playwright install`."
)
# What the page shows and has loaded, for the failure log.
PAGE_STATE = """() => ({
  readyState: document.readyState,
  visibleSections: [...document.querySelectorAll("section")].filter((s) => !s.hidden).map((s) => s.id),
  pageStatus: document.getElementById("page-status")?.textContent,
  marketplaces: document.getElementById("marketplace")?.options.length,
  resources: performance.getEntriesByType("resource").map((r) => `${r.name} ${r.responseStatus}`),
})"""
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # an iPhone 12-15 sized screen in CSS pixels


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in this folder is a browser test: `pytest -m "not browser"` leaves it out on purpose."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test, so fixtures can tell at teardown whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def no_sp_api_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit tests' fake SP-API endpoint would turn the served stack away from the emulator."""
    for name in ("SPAPI_ENDPOINT", "LWA_TOKEN_URL", "UPLOAD_URL_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def console_server() -> Iterator[Any]:
    """The local stack with the API function served on 127.0.0.1: ``.url``, ``.emulator``, ``.s3``, ``.bucket``.
    One per test: each test starts from a fresh emulator (deliveries, quotas) and an empty bucket (closing the
    served stack resets moto)."""
    from local_stack.serve import serve_console

    with serve_console() as server:
        yield server


@pytest.fixture
def console_url(console_server: Any) -> str:
    url: str = console_server.url
    return url if url.endswith("/") else url + "/"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or (CHROMIUM_FALLBACK if os.access(CHROMIUM_FALLBACK, os.X_OK) else None)
    if path is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - requirements-dev.txt pins it
        pytest.fail("playwright is not installed: `make venv` installs requirements-dev.txt", pytrace=False)
    with sync_playwright() as playwright:
        # Headless, no extra arguments: Playwright already passes --no-sandbox (its chromium_sandbox=False
        # default), which running as root in CI needs, and Debian's wrapper adds --disable-dev-shm-usage
        # when /dev/shm is small.
        launched = playwright.chromium.launch(executable_path=chromium_path, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def screens(request: pytest.FixtureRequest) -> Screens:
    return Screens(request.node.name)


@contextmanager
def _tab(
    browser: Any, viewport: dict[str, int], request: pytest.FixtureRequest, *, mobile: bool = False
) -> Iterator[Tab]:
    context = browser.new_context(
        viewport=viewport,
        locale="en-US",  # the counter's digit grouping ("2,001") in assertions
        timezone_id="UTC",
        is_mobile=mobile,
        has_touch=mobile,
        device_scale_factor=2 if mobile else 1,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    watch = PageWatch(page)
    try:
        yield Tab(page, watch)
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            # How the page looked when the test failed, and what it asked the network, beside the step screenshots.
            screens = Screens(request.node.name)
            screens(page, "FAILED", check=False)
            state = page.evaluate(PAGE_STATE)
            screens.text("FAILED-log", "\n".join([*watch.log, f"page state: {state}"]) + "\n")
    finally:
        context.close()
    assert watch.errors == [], watch.errors


@pytest.fixture
def desktop(browser: Any, request: pytest.FixtureRequest) -> Iterator[Tab]:
    with _tab(browser, DESKTOP, request) as tab:
        yield tab


@pytest.fixture
def phone(browser: Any, request: pytest.FixtureRequest) -> Iterator[Tab]:
    with _tab(browser, PHONE, request, mobile=True) as tab:
        yield tab
