"""HTTP sessions (requests) for the SP-API, Login with Amazon and the presigned uploads.

requests is imported when the first session is made, not when a module that could make one is imported:
the functions that never call over HTTP (the S3 trigger, the hash step) never load it. The first session
also turns on X-Ray tracing of requests' calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests


def new_session() -> requests.Session:
    import requests

    from buyer_messaging.observability import trace_http

    trace_http()
    return requests.Session()
