"""What the browser tests keep of a page: screenshots (each screen checked by axe-core), uncaught errors, the requests
it made."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.browser.accessibility import assert_accessible

ARTIFACTS = Path(__file__).parent / "artifacts"


class Screens:
    """The screens one test goes through: a numbered full-page screenshot of each, kept as CI artifacts in
    tests/browser/artifacts/, and axe-core's WCAG 2.1 AA check of each (tests/browser/accessibility.py): a test
    that shows a screen checks it, whatever else it is about."""

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"[^A-Za-z0-9_-]+", "-", test_name).strip("-")
        self.count = 0
        self.saved: list[Path] = []
        ARTIFACTS.mkdir(exist_ok=True)

    def text(self, step: str, content: str) -> Path:
        path = ARTIFACTS / f"{self.prefix}-{step}.txt"
        path.write_text(content, encoding="utf-8")
        return path

    def __call__(self, page: Any, step: str, *, check: bool = True) -> Path:
        """``check=False`` only for the picture of a test that already failed."""
        self.count += 1
        path = ARTIFACTS / f"{self.prefix}-{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)  # first: the picture shows what axe complains about
        self.saved.append(path)
        if check:
            assert_accessible(page, step)
        return path


class PageWatch:
    """What went wrong in the page: uncaught errors and Content-Security-Policy refusals."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.log: list[str] = []  # every request and how it ended, console messages: written out on failure
        page.on("pageerror", self._page_error)
        page.on("console", self._console)
        page.on("request", self._request)
        page.on("requestfinished", lambda request: self._ended(request, "finished"))
        page.on("requestfailed", lambda request: self._ended(request, f"failed: {request.failure}"))

    def _page_error(self, error: Any) -> None:
        self.errors.append(f"uncaught: {error}")
        self.log.append(f"{time.monotonic():.3f} uncaught: {error}")

    def _request(self, request: Any) -> None:
        self.requests.append((request.method, request.url))
        self.log.append(f"{time.monotonic():.3f} -> {request.method} {request.url}")

    def _ended(self, request: Any, how: str) -> None:
        response = request.response() if how == "finished" else None
        status = f" {response.status}" if response is not None else ""
        self.log.append(f"{time.monotonic():.3f} <- {request.method} {request.url}{status} {how}")

    def _console(self, message: Any) -> None:
        self.log.append(f"{time.monotonic():.3f} console.{message.type}: {message.text}")
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(f"CSP: {message.text}")

    def posts_to(self, pattern: str) -> list[str]:
        return [url for method, url in self.requests if method == "POST" and re.search(pattern, url)]


@dataclass
class Tab:
    page: Any
    watch: PageWatch
