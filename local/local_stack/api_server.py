"""The HTTP API and the seller console on 127.0.0.1, without authentication.

Each HTTP request becomes the event API Gateway (HTTP API, payload format 2.0, ``$default`` stage) hands the
function, and the deployed ApiFunction's handler runs in this process, like every other function of the local
stack. Like API Gateway, the server invokes the function only for the routes the template gives it (the
console API's: :func:`console_routes`); any other method or path is answered ``404 {"message":"Not Found"}``
without invoking it. A body that is not UTF-8 text arrives base64-encoded (``isBase64Encoded``), whatever its
content type says: an event is JSON and cannot carry other bytes as a string.

Signed-in users (``verify``, e.g. the Cognito stand-in's :meth:`~local_stack.cognito_standin.UserPool.verify`): a
request to a console route that carries ``Authorization: Bearer <token>`` is checked as API Gateway's JWT
authorizer checks it (a token refused: ``401 {"message":"Unauthorized"}``, the function not invoked) and its claims
reach the function as API Gateway hands them (:func:`authorizer_claims`). A request without a token is the
operator's, as on the IAM API. :func:`local_stack.serve.serve_console`
starts everything a browser needs: moto in server mode (the page uploads to its S3), the SP-API emulator, the
template deployed, and this server.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local_stack.template import Template

Handler = Callable[[dict[str, Any], Any], Any]
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "application/x-www-form")
ROOT = Path(__file__).resolve().parents[2]
API_FUNCTION = "ApiFunction"
ONBOARDING_FUNCTION = "OnboardSellerFunction"
CONSOLE_API = "ConsoleApi"
MACHINE_API = "MachineApi"
NOT_FOUND = {"statusCode": 404, "headers": {"Content-Type": "application/json"}, "body": '{"message":"Not Found"}'}
UNAUTHORIZED = {
    "statusCode": 401,
    "headers": {"Content-Type": "application/json", "www-authenticate": 'Bearer error="invalid_token"'},
    "body": '{"message":"Unauthorized"}',
}
FORBIDDEN = {"statusCode": 403, "headers": {"Content-Type": "application/json"}, "body": '{"message":"Forbidden"}'}
Verify = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Route:
    """One route of an HTTP API: a method and a path whose ``{name}`` segments match any one segment."""

    method: str
    path: str
    public: bool = False  # Auth: { Authorizer: NONE }: no token is read
    iam: bool = False  # a route of the IAM API (the operator's): a console user's token is refused there

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and _path_pattern(self.path).fullmatch(path) is not None


def _path_pattern(template_path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template_path)
    return re.compile("".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts))


def console_routes(template: Template | None = None) -> tuple[Route, ...]:
    """The routes the template gives the API function on the console's HTTP API (the local server has no
    authentication, like the console API's public routes; the machine API has the same routes but ``/``)."""
    template = template or Template.load(ROOT / "template.yaml")
    events = template.resources[API_FUNCTION]["Properties"].get("Events", {})
    return tuple(
        Route(
            str(event["Properties"]["Method"]).upper(),
            str(event["Properties"]["Path"]),
            public=(event["Properties"].get("Auth") or {}).get("Authorizer") == "NONE",
        )
        for event in events.values()
        if event.get("Type") == "HttpApi" and event["Properties"].get("ApiId") == {"Ref": CONSOLE_API}
    )


def onboarding_routes(template: Template | None = None) -> tuple[Route, ...]:
    """OnboardSellerFunction's routes: the public OAuth ones of the console API and the operator's of the IAM API
    (the local server takes no sign-in, as for the API function's; `make seller` calls them)."""
    template = template or Template.load(ROOT / "template.yaml")
    events = template.resources[ONBOARDING_FUNCTION]["Properties"].get("Events", {})
    return tuple(
        Route(
            str(event["Properties"]["Method"]).upper(),
            str(event["Properties"]["Path"]),
            public=(event["Properties"].get("Auth") or {}).get("Authorizer") == "NONE",
            iam=event["Properties"].get("ApiId") == {"Ref": MACHINE_API},
        )
        for event in events.values()
        if event.get("Type") == "HttpApi"
        and event["Properties"].get("ApiId") in ({"Ref": CONSOLE_API}, {"Ref": MACHINE_API})
    )


def routed(handlers: tuple[tuple[tuple[Route, ...], Handler], ...]) -> tuple[Handler, tuple[Route, ...]]:
    """One handler for several functions, each invoked for its own routes (API Gateway's integrations), and every
    route served."""

    def dispatch(event: dict[str, Any], context: Any) -> Any:
        method, path = event["requestContext"]["http"]["method"], event["rawPath"]
        for routes, handler in handlers:
            if any(route.matches(method, path) for route in routes):
                return handler(event, context)
        return NOT_FOUND

    return dispatch, tuple(route for routes, _ in handlers for route in routes)


def to_event(method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str) -> dict[str, Any]:
    """The HTTP API payload 2.0 event of one request (headers lower-cased, repeated values comma-joined)."""
    url = urlsplit(target)
    lowered: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers.items():
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(url.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    is_text = not body or lowered.get("content-type", "").startswith(_TEXT_TYPES)
    if is_text and body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            is_text = False
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": url.path,
        "rawQueryString": url.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": url.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body:
        event["body"] = text if is_text else base64.b64encode(body).decode("ascii")
    return event


def authorizer_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """A token's claims as API Gateway's HTTP API JWT authorizer hands them to the function: every value a string,
    an array flattened to ``"[a b]"`` (aws-solutions-library-samples/guidance-for-claude-code-with-amazon-bedrock#802,
    floci-io/floci#2011, measured against real API Gateway)."""

    def text(value: Any) -> str:
        if isinstance(value, list):
            return "[" + " ".join(text(item) for item in value) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return {name: text(value) for name, value in claims.items()}


def authorize(event: dict[str, Any], route: Route, verify: Verify | None) -> dict[str, Any]:
    """The event with the token's claims for a console route with a Bearer token, or API Gateway's own answer (the
    function not invoked): 401 for a token refused, 403 for a console user's token on an IAM route. No token, or a
    public route: the event as it is (the local caller is the operator)."""
    header = event["headers"].get("authorization")
    if verify is None or route.public or not header:
        return event
    if route.iam:
        return FORBIDDEN
    claims = verify(header.removeprefix("Bearer ").strip())
    if claims is None:
        return UNAUTHORIZED
    context = {**event["requestContext"], "authorizer": {"jwt": {"claims": authorizer_claims(claims), "scopes": None}}}
    return {**event, "requestContext": context}


def from_result(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body bytes of a payload 2.0 result (a dict with statusCode, or any JSON value)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode()
    headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(value)) for value in values)
    headers.extend(("Set-Cookie", cookie) for cookie in result.get("cookies") or [])
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return int(result["statusCode"]), headers, payload


class LocalApi:
    """``with LocalApi(handler) as api: requests.get(api.url + "/openapi.json")``. ``routes``: the routes that
    invoke the handler (default: the console API's in template.yaml)."""

    def __init__(
        self,
        handler: Handler,
        *,
        port: int = 0,
        context: Callable[[], Any] = lambda: None,
        routes: tuple[Route, ...] | None = None,
        verify: Verify | None = None,
    ) -> None:
        self.errors: list[BaseException] = []  # what the handler raised (API Gateway answers those with a 500)
        outer = self
        one_at_a_time = threading.Lock()
        known = routes if routes is not None else console_routes()

        class _Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                event = to_event(self.command, self.path, dict(self.headers.items()), body, self.client_address[0])
                route = next((found for found in known if found.matches(self.command, event["rawPath"])), None)
                authorized = authorize(event, route, verify) if route is not None else NOT_FOUND
                if "statusCode" in authorized:
                    result: Any = authorized  # API Gateway's own answer: no route, or refused; no invocation
                else:
                    event = authorized
                    try:
                        # One request at a time, like one Lambda container: the resolver keeps the current request
                        # on the shared app, so two threads at once would answer each other's requests.
                        with one_at_a_time:
                            result = handler(event, context())
                    except Exception as error:
                        outer.errors.append(error)
                        result = {"statusCode": 500, "body": json.dumps({"message": "Internal Server Error"})}
                status, headers, payload = from_result(result)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def __getattr__(self, name: str) -> Any:
                # Every method reaches _serve (http.server looks up do_<METHOD>; without one it answers an
                # HTML 501): API Gateway answers the methods no route has with its JSON 404.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the function logs each request itself."""

        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Request)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-api", daemon=True)

    def start(self) -> LocalApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LocalApi:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
