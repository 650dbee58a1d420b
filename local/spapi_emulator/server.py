"""The emulator's HTTP server and its Python API, :class:`Emulator`.

One ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive) serves the SP-API, Login with Amazon and the upload
URLs on one port, bound to 127.0.0.1 unless told otherwise. The server never leaves a connection hanging:
a handler's exception is answered 500 (``InternalFailure``, or S3's ``InternalError`` on an upload URL);
a request whose body was not read is answered and its connection closed after a short lingering read, so
the client sees the answer instead of a reset; :meth:`Emulator.stop` closes idle keep-alive connections
and wakes delayed (fault-injected) answers.

Request lines are not printed: pass ``log_requests=True`` to log them (logger ``spapi_emulator.http``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import socketserver
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from spapi_emulator.app import Application
from spapi_emulator.applications import Applications
from spapi_emulator.authorizations import Authorizations
from spapi_emulator.clock import EmulatedClock, check_speedup
from spapi_emulator.consent import CONSENT_PATH, Consent
from spapi_emulator.control import Control
from spapi_emulator.faults import FaultBook
from spapi_emulator.httpio import Body, Request, Response
from spapi_emulator.lwa import TOKEN_PATH
from spapi_emulator.quotas import Quotas
from spapi_emulator.seed import Seed, load_seed
from spapi_emulator.state import ACCESS_TOKEN_LIFETIME_SECONDS, State

logger = logging.getLogger("spapi_emulator")
http_logger = logging.getLogger("spapi_emulator.http")

DEFAULT_HOST = "127.0.0.1"
# A client that stops sending for this long mid-request is answered (S3: RequestTimeout) and dropped. S3
# waits about 20 s (aws/aws-sdk-php#885); real seconds, not emulated ones, since they are a socket's.
SOCKET_TIMEOUT_SECONDS = 20.0
# A request body left unread is drained (and the connection kept) when it is at most this large.
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
# After answering without reading a body, read and drop what the client still sends for this long, so
# the answer is not lost to a TCP reset when the socket closes.
LINGER_SECONDS = 2.0
_CONTENT_LENGTH = re.compile(r"^[0-9]{1,19}$")
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104  (names of the wildcard address, not a bind)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], app: Application, log_requests: bool, idle_timeout_seconds: float
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self.log_requests = log_requests
        self.idle_timeout_seconds = idle_timeout_seconds
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can take seconds; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("Connection from %s ended with an error", client_address, exc_info=True)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self, wait_seconds: float = 1.0) -> None:
        """Shut down every open connection and wait a little for their threads to finish."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            with self._connections_lock:
                if not self._connections:
                    return
            time.sleep(0.01)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "spapi-emulator"
    sys_version = ""
    timeout = SOCKET_TIMEOUT_SECONDS
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout_seconds)  # this server's, not the class default
        self.server.track(self.connection)
        self._continue_expected = False

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def parse_request(self) -> bool:
        self._continue_expected = False
        return super().parse_request()

    def handle_expect_100(self) -> bool:
        # S3 answers from the headers first: "100 Continue" is sent only when a handler starts reading.
        self._continue_expected = True
        return True

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        request = self._request()
        app = self.server.app
        try:
            response = app.handle(request)
        except Exception:
            logger.exception("The emulator failed answering %s %s", request.method, request.path)
            response = app.internal_error(request)
        unread = not self._settle_body(request)
        self._send(request, response, close=response.close or unread)
        if unread:
            self._linger()

    def _request(self) -> Request:
        target = self.path
        path, _, query = target.partition("?")
        body, framing_error = self._body()
        return Request(
            method=self.command,
            path=path,
            query_string=query,
            headers=self.headers,
            body=body,
            request_id=str(uuid.uuid4()),
            framing_error=framing_error,
        )

    def _body(self) -> tuple[Body, str | None]:
        encodings = [
            coding.strip().lower()
            for value in self.headers.get_all("Transfer-Encoding") or []
            for coding in value.split(",")
            if coding.strip()
        ]
        if encodings:
            chunked = encodings[-1] == "chunked"
            return Body(
                self.rfile, length=None, chunked=chunked, unframed=not chunked, before_read=self._continue
            ), None
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if not lengths:
            return Body(self.rfile, length=None, chunked=False), None
        if len(lengths) != 1 or not _CONTENT_LENGTH.match(next(iter(lengths))):
            return Body(self.rfile, length=None, chunked=False, unframed=True), "malformed Content-Length"
        return Body(self.rfile, length=int(next(iter(lengths))), chunked=False, before_read=self._continue), None

    def _continue(self) -> None:
        if self._continue_expected:
            self._continue_expected = False
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _settle_body(self, request: Request) -> bool:
        """True when nothing of the request is left on the connection (read, or drained now)."""
        if request.body.finished:
            return True
        if self._continue_expected:
            return False  # the client waits for 100 Continue and will not send the body
        return request.body.discard(DRAIN_LIMIT_BYTES)

    def _send(self, request: Request, response: Response, *, close: bool) -> None:
        self.log_request(response.status)
        phrase = self.responses.get(response.status, ("",))[0]
        lines = [
            f"{self.protocol_version} {response.status} {phrase}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
            *(f"{name}: {value}" for name, value in response.headers),
            f"Content-Length: {len(response.body)}",
        ]
        if close:
            lines.append("Connection: close")
            self.close_connection = True
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        # Head and body in one write: two small writes meet the client's delayed ACK and wait 40 ms.
        self.wfile.write(head + (response.body if request.method != "HEAD" else b""))

    def _linger(self) -> None:
        try:
            self.connection.shutdown(socket.SHUT_WR)
        except OSError:
            return
        deadline = time.monotonic() + LINGER_SECONDS
        buffer = bytearray(64 * 1024)
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                self.connection.settimeout(remaining)
                if not self.connection.recv_into(buffer):
                    return
        except OSError:
            return

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log_requests:
            http_logger.info("%s %s", self.address_string(), format % args)


class Emulator:
    """A local SP-API (Messaging + Uploads), Login with Amazon and S3-like upload URLs on one port.

    ``seed``: the credentials and orders (default: ``local/seed/orders.json``). ``speedup``: emulated
    seconds per real second, for everything Amazon times (token and URL expiry, quota refills).
    ``quota_speedup``: a separate speedup for the token buckets only (default: ``speedup``), so a test
    suite can have instant refills and realistic expiries. ``token_lifetime_seconds``: how long an access
    token really lives (default 3600, what LWA announces in ``expires_in``; Amazon's die earlier at times).
    ``log_requests``: log each request line.
    ``idle_timeout_seconds``: how long (real seconds) a client may send nothing mid-request before it is
    answered S3's ``400 RequestTimeout`` (on an upload URL) and dropped; S3's 20 s unless a test shortens it.
    """

    def __init__(
        self,
        seed: Seed | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        speedup: float = 1.0,
        quota_speedup: float | None = None,
        token_lifetime_seconds: float = ACCESS_TOKEN_LIFETIME_SECONDS,
        log_requests: bool = False,
        idle_timeout_seconds: float = SOCKET_TIMEOUT_SECONDS,
    ) -> None:
        if not 0 < idle_timeout_seconds <= 3600:
            raise ValueError(f"idle_timeout_seconds must be above 0 and at most 3600, not {idle_timeout_seconds!r}.")
        self._idle_timeout_seconds = float(idle_timeout_seconds)
        self._seed = seed if seed is not None else load_seed()
        self._host = host
        self._port = port
        self._clock = EmulatedClock(speedup)
        self._quota_clock = EmulatedClock(check_speedup(quota_speedup if quota_speedup is not None else speedup))
        self._state = State(self._seed, token_lifetime_seconds=token_lifetime_seconds)
        self._faults = FaultBook()
        quotas = Quotas(self._quota_clock, self._seed.selling_partner_ids)
        # The application's client secrets and rotation live on the emulator's clock: a test ages them in days.
        self._applications = Applications(self._seed.credentials, self._clock)
        self._authorizations = Authorizations(self._seed, self._clock)
        self._consent = Consent(self._seed, self._authorizations)
        self._control = Control(
            self._state,
            (self._clock, self._quota_clock),
            quotas,
            self._faults,
            self._applications,
            (self._authorizations, self._consent),
        )
        self._stopping = threading.Event()
        self._app = Application(
            self._state,
            self._clock,
            quotas,
            self._faults,
            self._control,
            self._stopping,
            self._applications,
            self._authorizations,
            self._consent,
        )
        self._log_requests = log_requests
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None
        self._lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a background thread; returns the base URL (``http://127.0.0.1:54321``)."""
        with self._lock:
            if self._server is not None:
                return self.base_url
            self._stopping.clear()
            server = _Server((self._host, self._port), self._app, self._log_requests, self._idle_timeout_seconds)
            port = server.server_port
            advertised = DEFAULT_HOST if self._host in _WILDCARD_HOSTS else self._host
            host_part = f"[{advertised}]" if ":" in advertised else advertised
            self._base_url = f"http://{host_part}:{port}"
            self._app.base_url = self._base_url
            self._app.host = f"{host_part}:{port}"
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="spapi-emulator", daemon=True
            )
            self._thread.start()
            logger.debug("SP-API emulator serving on %s", self._base_url)
            return self._base_url

    def stop(self) -> None:
        """Stop serving and close every connection. The state (deliveries, calls) stays inspectable."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            if server is None:
                return
            self._stopping.set()
            server.shutdown()
            server.close_connections()
            server.server_close()
            if thread is not None:
                thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # --- where it is ----------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``SPAPI_ENDPOINT`` for the workflow."""
        if self._base_url is None:
            raise RuntimeError("The emulator has not been started; call start() first.")
        return self._base_url

    @property
    def token_url(self) -> str:
        """``LWA_TOKEN_URL`` for the workflow."""
        return self.base_url + TOKEN_PATH

    @property
    def seller_central_url(self) -> str:
        """``SELLER_CENTRAL_URL`` for the workflow: where the consent URI (``/apps/authorize/consent``) is."""
        return self.base_url

    @property
    def consent_url(self) -> str:
        return self.base_url + CONSENT_PATH

    @property
    def upload_host(self) -> str:
        """The host of the presigned upload URLs (for ``UPLOAD_URL_ALLOWED_HOSTS``)."""
        return DEFAULT_HOST if self._host in _WILDCARD_HOSTS else self._host

    @property
    def seed(self) -> Seed:
        return self._seed

    def environment(self) -> dict[str, str]:
        """The environment variables that point the workflow at this emulator."""
        return {
            "SPAPI_ENDPOINT": self.base_url,
            "LWA_TOKEN_URL": self.token_url,
            "UPLOAD_URL_ALLOWED_HOSTS": self.upload_host,
        }

    # --- inspection and control -------------------------------------------------------------------------------

    def deliveries(self, amazon_order_id: str | None = None) -> list[dict[str, Any]]:
        """Messages delivered to buyers, oldest first: ``requestId``, ``amazonOrderId``, ``marketplaceId``,
        ``messageType`` (path), ``operation``, ``text``, ``attachments`` (``fileName``,
        ``uploadDestinationId``, ``size``, ``md5`` hex, ``contentMd5`` base64, ``contentType``), ``sentAt``,
        and for warranty ``coverageStartDate`` / ``coverageEndDate``."""
        return self._control.deliveries(amazon_order_id)

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        """Calls answered, oldest first: ``requestId``, ``operation`` (catalog name, ``lwaToken``,
        ``upload`` or ``unknown``), ``method``, ``path``, ``query``, ``status``, ``at``, and ``notes``: what
        Amazon accepts but is unusual (a User-Agent not of the recommended form, body fields or query
        parameters the model does not list) and why a client's known mistake was refused."""
        return self._control.calls(operation)

    def call_counts(self) -> dict[str, dict[int, int]]:
        """How many calls of each operation (as in :meth:`calls`) were answered with each status since the last
        reset: ``{"sendInvoice": {201: 120, 429: 35}, ...}``. Unlike the call log, which keeps the latest
        10,000 calls, the counts are never truncated."""
        return self._control.call_counts()

    def orders(self) -> list[dict[str, Any]]:
        """The orders now: id, marketplace, seller, buyer locale and the message types allowed now."""
        return self._control.orders()

    def destinations(self) -> list[dict[str, Any]]:
        """Upload destinations created, oldest first: ``uploadDestinationId``, ``resource``,
        ``marketplaceId``, ``contentMd5`` (as requested), ``contentType``, ``upload`` (``size``, ``md5``,
        ``contentMd5``, ``uploadedAt``; None until a correct PUT) and ``usedBy`` (the message's request id)."""
        return self._control.destinations()

    def inject_fault(
        self,
        operation: str,
        *,
        status: int | None = None,
        count: int = 1,
        delay_seconds: float = 0.0,
        error_code: str | None = None,
        processed: bool = False,
    ) -> None:
        """Make the next ``count`` calls of ``operation`` fail with ``status`` and/or answer after
        ``delay_seconds`` real seconds (503 when only a delay is given), or, ``processed``, take effect and answer
        late. See :mod:`spapi_emulator.faults`."""
        self._control.inject_fault(
            operation,
            status=status,
            count=count,
            delay_seconds=delay_seconds,
            error_code=error_code,
            processed=processed,
        )

    def clear_faults(self) -> int:
        """Lift every injected fault still waiting, as an outage ends (the state, calls and quotas are kept);
        how many were waiting."""
        return self._control.clear_faults()

    def set_usage_plan(
        self, operation: str, rate_per_second: float, burst: int, selling_partner_id: str | None = None
    ) -> None:
        """From now on, ``operation``'s token bucket refills at ``rate_per_second`` (emulated seconds) up to
        ``burst``, for ``selling_partner_id`` or (None) every seller of the seed, as when Amazon gives a seller
        another usage plan; ``x-amzn-RateLimit-Limit`` then says the new rate. Tokens left above the new
        burst are gone. ValueError for an unknown operation or seller, a rate not above 0 or a burst below 1.
        :meth:`reset` restores the documented plans."""
        self._control.set_usage_plan(operation, rate_per_second, burst, selling_partner_id)

    def usage_plans(self) -> list[dict[str, Any]]:
        """Every seller's current plan of every operation: ``sellingPartnerId``, ``operation``, ``rate``,
        ``burst``."""
        return self._control.usage_plans()

    def reset(self) -> None:
        """Back to the seed: orders' actions restored, destinations, deliveries, calls and faults forgotten,
        the documented usage plans with full buckets, the seed's client secret again with no notification queue
        registered. Access tokens already issued stay valid."""
        self._control.reset()

    def advance_clock(self, seconds: float) -> None:
        """Move emulated time forward by ``seconds`` (tokens and upload URLs age, buckets refill)."""
        self._control.advance_clock(seconds)

    def expire_tokens(self) -> int:
        """Every access token issued so far and still valid expires now, long before its ``expires_in``, as
        Amazon's tokens sometimes do; the next call with one is answered 403 with details "The access token
        you provided has expired.". Returns how many expired."""
        return self._control.expire_tokens()

    def revoke_tokens(self) -> int:
        """Every access token issued so far and still valid is revoked; the next call with one is answered 403
        with details "The access token you provided is revoked, malformed or invalid.". Returns how many."""
        return self._control.revoke_tokens()

    # --- sellers' authorizations (spapi_emulator.authorizations, spapi_emulator.consent) ----------------------

    def register_redirect_uri(self, uri: str) -> list[str]:
        """Add an OAuth redirect URI to the application (as in Developer Central); every URI registered. ValueError
        for one Amazon would not take (not https; plain http only for a loopback host)."""
        return self._consent.register_redirect_uri(uri)

    def revoke_authorization(self, selling_partner_id: str) -> int:
        """The seller removes the application in Manage Your Apps: its refresh tokens answer ``invalid_grant`` and
        its access tokens still alive are revoked. How many authorizations ended."""
        return self._control.revoke_authorization(selling_partner_id)

    def age_authorizations(self, days: float, selling_partner_id: str | None = None) -> list[dict[str, Any]]:
        """Move sellers' authorizations (one seller, or every one) ``days`` into the past: past 365 days their refresh
        tokens answer ``invalid_grant``. Every authorization after the move (see :meth:`authorizations`)."""
        return self._control.age_authorizations(days, selling_partner_id)

    def authorizations(self) -> list[dict[str, Any]]:
        """Every authorization, oldest first: ``sellingPartnerId``, ``authorizedAt``, ``daysLeft``, ``status``
        (``live``, ``revoked``, ``lapsed``); never a token."""
        return self._authorizations.listing()

    # --- the application's client secret (spapi_emulator.applications) --------------------------------------

    def register_notification_queue(
        self, notification_type: str, queue_arn: str, *, endpoint_url: str | None = None
    ) -> None:
        """Register the SQS queue (its ARN) that gets ``APPLICATION_OAUTH_CLIENT_NEW_SECRET`` or
        ``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY``, as a developer does in the Developer Console. ``endpoint_url``:
        where the queue's SQS answers (a moto server); None: boto3's default (moto in-process)."""
        self._applications.register(notification_type, queue_arn, endpoint_url)

    def notifications(self) -> list[dict[str, Any]]:
        """Notifications sent, oldest first: ``notificationType``, ``queueArn``, ``delivered``, ``body``."""
        return self._applications.sent()

    def client_secret(self) -> str:
        """The application's current LWA client secret (it changes with every rotation)."""
        return self._applications.current_secret()

    def warn_secret_expiry(self) -> dict[str, Any]:
        """Send ``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`` now (Amazon sends it 90 days before the deadline, which
        the emulator also does by itself when its clock gets there)."""
        return self._applications.warn()
