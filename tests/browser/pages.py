"""What the browser tests keep of a page: screenshots, uncaught errors, the requests it made."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).parent / "artifacts"


class Screens:
    """Numbered full-page screenshots of one test, kept as CI artifacts in tests/browser/artifacts/."""

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"[^A-Za-z0-9_-]+", "-", test_name).strip("-")
        self.count = 0
        self.saved: list[Path] = []
        ARTIFACTS.mkdir(exist_ok=True)

    def __call__(self, page: Any, step: str) -> Path:
        self.count += 1
        path = ARTIFACTS / f"{self.prefix}-{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        self.saved.append(path)
        return path


class PageWatch:
    """What went wrong in the page: uncaught errors and Content-Security-Policy refusals."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.requests: list[tuple[str, str]] = []
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", self._console)
        page.on("request", lambda request: self.requests.append((request.method, request.url)))

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(f"CSP: {message.text}")

    def posts_to(self, pattern: str) -> list[str]:
        return [url for method, url in self.requests if method == "POST" and re.search(pattern, url)]


@dataclass
class Tab:
    page: Any
    watch: PageWatch
