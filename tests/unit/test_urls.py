"""The one rule for URLs that carry a credential or a file, and the template pattern that states it again."""

from __future__ import annotations

import re

import pytest

from buyer_messaging import urls

# (url, allowed): https with a host anywhere; plain http only to a loopback host; nothing else.
CASES = [
    ("https://api.amazon.com/auth/o2/token", True),
    ("https://sellingpartnerapi-eu.amazon.com", True),
    ("HTTPS://sellingpartnerapi-eu.amazon.com/", True),
    ("https://emulator.example:8443/spapi", True),
    ("http://127.0.0.1:8080/auth/o2/token", True),
    ("http://127.1.2.3/x", True),
    ("http://localhost", True),
    ("HTTP://LOCALHOST:9/", True),
    ("http://[::1]:8080/x", True),
    ("http://api.amazon.com/auth/o2/token", False),
    ("http://sellingpartnerapi-na.amazon.com", False),
    ("http://10.0.0.5:8080", False),
    ("http://localhost.example.com/", False),
    ("http://127.0.0.1.example.com/", False),
    ("http://localhost@attacker.example/", False),
    ("https://", False),
    ("https:///no-host", False),
    ("https://:443/", False),
    ("ftp://sellingpartnerapi-na.amazon.com", False),
    ("sellingpartnerapi-na.amazon.com", False),
    ("localhost:8080", False),
]


@pytest.mark.parametrize(("url", "allowed"), CASES)
def test_the_rule(url: str, allowed: bool) -> None:
    assert urls.is_secure_url(url) is allowed


@pytest.mark.parametrize(("url", "allowed"), CASES)
def test_the_template_pattern_states_the_same_rule(url: str, allowed: bool) -> None:
    assert bool(re.fullmatch(urls.SECURE_URL_PATTERN, url)) is allowed


def test_the_pattern_lets_an_empty_parameter_mean_the_default() -> None:
    assert re.fullmatch(urls.SECURE_URL_PATTERN, "")
    assert not urls.is_secure_url("")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("127.255.0.9", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("localhost.example", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert urls.is_loopback(host) is loopback
