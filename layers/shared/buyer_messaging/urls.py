"""Which URLs may carry a credential or a file: https, or plain http to this machine only.

The one rule for every URL the functions send something secret to: the SP-API endpoint and the LWA token URL
(the access token, the client secret and the refresh token) and the presigned upload URL (the buyer's file).
Plain http is allowed only to a loopback host (``localhost``, ``127.0.0.0/8``, ``::1``), where nothing crosses
a network: the local emulator and tests.

``SECURE_URL_PATTERN`` is the same rule as a regular expression (or empty), for the template's ``AllowedPattern``
of the URL parameters (CloudFormation checks it before anything is deployed); tests/unit/test_urls.py keeps the two
in step and tests/static/test_template.py checks that the template uses this pattern.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

# Scheme case-insensitive, as urlsplit reads it; a host is required; plain http only to a loopback host, and
# then only a port or a path may follow the host (so "http://localhost.example" or "http://localhost@host"
# do not pass). Empty passes too: an empty parameter means the default URL (https).
SECURE_URL_PATTERN = (
    r"(?i)^(https://[^/?#@:\s][^\s]*"
    r"|http://(localhost|127(\.[0-9]{1,3}){3}|\[::1\])(:[0-9]{1,5})?([/?#][^\s]*)?)?$"
)


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP address (``127.0.0.0/8``, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_secure_url(url: str) -> bool:
    """A URL with a host that a credential may be sent to: https, or plain http to a loopback host."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # an unclosed IPv6 bracket, for one
        return False
    if not host:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host))
