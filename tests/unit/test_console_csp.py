"""The console's Content-Security-Policy lets the page reach its own origin, the user pool and the staging
bucket's hosts, and nothing else: each host it names is one the page really calls."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from buyer_messaging import storage
from local_stack.stack import reset_function_caches
from tests import support


def _connect_src(csp: str) -> list[str]:
    [directive] = [part.strip() for part in csp.split(";") if part.strip().startswith("connect-src")]
    return directive.split()[1:]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_deployed_the_page_may_connect_to_the_user_pool_and_the_buckets_upload_host_only(
    monkeypatch: pytest.MonkeyPatch, aws: dict[str, Any], region: str
) -> None:
    monkeypatch.setenv("CONSOLE_USER_POOL_ID", f"{region}_AbCdEf123")
    monkeypatch.setenv("AWS_REGION", region)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    reset_function_caches()
    headers = support.function_module("api")._console_headers()

    sources = _connect_src(headers["Content-Security-Policy"])

    assert sources == [
        "'self'",
        f"https://cognito-idp.{region}.amazonaws.com",
        f"https://{support.BUCKET}.s3.{region}.amazonaws.com",
        f"https://{support.BUCKET}.s3.amazonaws.com",
    ]
    assert not any("*" in source for source in sources)
    # The upload form the API hands out posts to one of them (boto3 names the bucket's host by its region).
    form = storage.presigned_post(support.BUCKET, "attachments/x/Invoice.pdf", "application/pdf", 10, 60)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(form.url))
    assert origin in sources


def test_locally_the_page_may_connect_to_motos_s3_on_loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONSOLE_USER_POOL_ID", raising=False)

    sources = _connect_src(support.function_module("api")._console_headers()["Content-Security-Policy"])

    assert sources == ["'self'", "http://127.0.0.1:*"]
