"""The HTTP API as a client meets it: the deployed ApiFunction behind the local API server on 127.0.0.1, and one
request's answer read as a client reads it (status, JSON body, error name and message). The bad-input matrix's and
the campaign matrix's API entries both call it."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Answer:
    """One answer: ``status`` None when the connection dropped (``dropped`` says how); ``raised``: what the handler
    raised while answering (the server answers those 500, as API Gateway does)."""

    status: int | None
    body: Any = None
    dropped: str = ""
    raised: tuple[str, ...] = field(default_factory=tuple)

    @property
    def error(self) -> str:
        """The answer's error name, or "(HTTP <status>)" when it names none."""
        name = self.body.get("error") if isinstance(self.body, dict) else None
        return str(name) if name else f"(HTTP {self.status})"

    @property
    def cause(self) -> str:
        """ "<status> <message>", as a person reads a refusal."""
        message = self.body.get("message", "") if isinstance(self.body, dict) else ""
        return f"{self.status} {message}".strip()


@contextmanager
def local_api(run: Any, verify: Any = None) -> Iterator[Any]:
    """The HTTP API of ``run``'s stack (a :class:`local_stack.reliability.runner.Run`) on 127.0.0.1; ``verify``
    checks signed-in users' tokens (local_stack.api_server)."""
    from local_stack.api_server import LocalApi
    from local_stack.lambdas import LambdaContext

    function = run.local.lambdas.function(run.local.deployment.functions["ApiFunction"])
    context = LambdaContext(function.name, function.memory_mb, function.timeout_seconds)
    with LocalApi(function.load(), context=lambda: context, verify=verify) as api:
        yield api


def call(
    api: Any, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None, *, timeout: float
) -> Answer:
    """One request to ``api`` (a :class:`local_stack.api_server.LocalApi`) and its answer."""
    raised_before = len(api.errors)
    connection = http.client.HTTPConnection(api.url.removeprefix("http://"), timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        status, payload = response.status, response.read()
    except (OSError, http.client.HTTPException) as error:
        return Answer(None, dropped=f"no answer: {type(error).__name__}")
    finally:
        connection.close()
    try:
        parsed = json.loads(payload)
    except ValueError:
        parsed = None
    raised = tuple(f"{type(error).__name__}: {error}" for error in api.errors[raised_before:])
    return Answer(status, parsed, raised=raised)
