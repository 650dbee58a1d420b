"""The emulator's request router: which part answers a request, injected faults, request ids, the call log.

- ``/auth/o2/token``          Login with Amazon (:mod:`spapi_emulator.lwa`), logged as ``lwaToken``
- ``/applications/2023-11-30/clientSecret``  the Application Management API (:mod:`spapi_emulator.applications`),
  logged as ``rotateApplicationClientSecret``
- ``/apps/authorize/consent`` Seller Central's consent step, in HTML (:mod:`spapi_emulator.consent`), logged as
  ``authorizeConsent``
- ``/upload/{id}``            the presigned upload URL (:mod:`spapi_emulator.s3_endpoint`), logged as ``upload``
- ``/_emulator/...``          inspection and control (:mod:`spapi_emulator.control`), not logged
- anything else               the SP-API (:mod:`spapi_emulator.gateway`), logged under the operation's name
"""

from __future__ import annotations

import logging
import threading
from enum import Enum

from buyer_messaging.rotation import ROTATION_OPERATION, ROTATION_PATH
from spapi_emulator import messaging, uploads
from spapi_emulator.applications import Applications
from spapi_emulator.authorizations import Authorizations
from spapi_emulator.clock import EmulatedClock, iso_timestamp
from spapi_emulator.consent import CONSENT_OPERATION, CONSENT_PATH, Consent
from spapi_emulator.control import CONTROL_PREFIX, Control
from spapi_emulator.errors import (
    ApiError,
    LwaError,
    S3Error,
    invalid_input,
    lwa_error_response,
    s3_error_response,
    s3_request_ids,
    spapi_error_response,
)
from spapi_emulator.faults import LWA_OPERATION, UPLOAD_OPERATION, Fault, FaultBook
from spapi_emulator.gateway import ROUTES, Gateway, Route, allowed_methods, match
from spapi_emulator.httpio import Request, Response
from spapi_emulator.lwa import TOKEN_PATH, token
from spapi_emulator.quotas import Quotas
from spapi_emulator.s3_endpoint import UploadEndpoint
from spapi_emulator.signing import UPLOAD_PATH_PREFIX, UrlSigner
from spapi_emulator.state import State

logger = logging.getLogger("spapi_emulator")
UNROUTED_OPERATION = "unknown"


class Dialect(Enum):
    SPAPI = "spapi"
    S3 = "s3"
    LWA = "lwa"


class Application:
    """Answers one request at a time (from many threads); holds no HTTP server state."""

    def __init__(
        self,
        state: State,
        clock: EmulatedClock,
        quotas: Quotas,
        faults: FaultBook,
        control: Control,
        stopping: threading.Event,
        applications: Applications,
        authorizations: Authorizations,
        consent: Consent,
    ) -> None:
        self._state = state
        self._applications = applications
        self._authorizations = authorizations
        self._consent = consent
        self._clock = clock
        self._faults = faults
        self._stopping = stopping
        self.control = control
        signer = UrlSigner()
        self._gateway = Gateway(
            state,
            clock,
            quotas,
            signer,
            handlers={
                "getMessagingActionsForOrder": messaging.get_messaging_actions_for_order,
                "GetAttributes": messaging.get_attributes,
                "createUploadDestinationForResource": uploads.create_upload_destination_for_resource,
                **{route.operation.name: messaging.send_message for route in _message_routes()},
            },
        )
        self._uploads = UploadEndpoint(state, clock, signer)
        self.base_url = ""
        self.host = ""  # the Host header value of the base URL, signed into upload URLs

    def handle(self, request: Request) -> Response:
        self._applications.warn_if_due()  # Amazon's warning comes by itself, whatever the developer calls
        if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
            return self._with_request_id(self.control.handle(request), request)
        if request.path == CONSENT_PATH:  # a page for a person: no faults, no SP-API dialect
            request.operation = CONSENT_OPERATION
            response = self._with_request_id(self._consent.handle(request), request)
            self._record(request, response.status)
            return response
        operation: str
        if request.path == ROTATION_PATH:
            operation, dialect, routed = ROTATION_OPERATION, Dialect.SPAPI, None
        elif request.path == TOKEN_PATH:
            operation, dialect, routed = LWA_OPERATION, Dialect.LWA, None
        elif request.path.startswith(UPLOAD_PATH_PREFIX):
            request.request_id, _ = s3_request_ids()
            operation, dialect, routed = UPLOAD_OPERATION, Dialect.S3, None
        else:
            routed = match(request.method, request.path)
            operation = routed[0].operation.name if routed else UNROUTED_OPERATION
            dialect = Dialect.SPAPI
        request.operation = operation
        try:
            response = self._answer(request, operation, dialect, routed)
        except Exception:
            logger.exception("The emulator failed answering %s %s", request.method, request.path)
            response = self.internal_error(request)
        self._record(request, response.status)
        return response

    def internal_error(self, request: Request) -> Response:
        """500 in the dialect of the request's path (never a hung connection)."""
        if request.path.startswith(UPLOAD_PATH_PREFIX):
            return self._s3(S3Error("InternalError"), request)
        response = spapi_error_response(ApiError.of_status(500))
        response.close = True
        return self._with_request_id(response, request)

    def _answer(
        self, request: Request, operation: str, dialect: Dialect, routed: tuple[Route, dict[str, str]] | None
    ) -> Response:
        fault = self._faults.take(operation) if operation != UNROUTED_OPERATION else None
        if fault is not None and not fault.processed:
            return self._fault(request, dialect, fault, routed)
        response = self._unfaulted(request, dialect, routed)
        if fault is not None:  # processed: it took effect, and its answer comes late
            self._stopping.wait(fault.delay_seconds)
        return response

    def _unfaulted(self, request: Request, dialect: Dialect, routed: tuple[Route, dict[str, str]] | None) -> Response:
        if request.framing_error is not None:
            return self._framing_error(request, dialect)
        if dialect is Dialect.LWA:
            try:
                return self._with_request_id(
                    token(request, self._state, self._clock, self._applications, self._authorizations), request
                )
            except LwaError as error:
                return self._with_request_id(lwa_error_response(error), request)
        if dialect is Dialect.S3:
            try:
                return self._s3_headers(self._uploads.handle(request, self.host), request)
            except S3Error as error:
                return self._s3(error, request)
        if request.operation == ROTATION_OPERATION:
            if request.method != "POST":
                refusal = ApiError(
                    405, "MethodNotAllowed", f"{request.method} is not allowed on this resource; use POST."
                )
                return self._with_request_id(spapi_error_response(refusal), request)
            return self._with_request_id(self._applications.rotate(request, self._state), request)
        if routed is None:
            return self._with_request_id(spapi_error_response(_unrouted(request)), request)
        route, params = routed
        return self._with_request_id(self._gateway.handle(request, route, params, self.base_url), request)

    def _framing_error(self, request: Request, dialect: Dialect) -> Response:
        """400 for a body that cannot be delimited (a malformed Content-Length), in the request's dialect;
        the connection closes, since the next request's start is unknown."""
        message = f"The request cannot be read: {request.framing_error}."
        if dialect is Dialect.S3:
            response = self._s3(S3Error("InvalidArgument", message, extra={"ArgumentName": "Content-Length"}), request)
        elif dialect is Dialect.LWA:
            response = self._with_request_id(lwa_error_response(LwaError(400, "invalid_request", message)), request)
        else:
            response = self._with_request_id(spapi_error_response(invalid_input(message)), request)
        response.close = True
        return response

    def _fault(
        self, request: Request, dialect: Dialect, fault: Fault, routed: tuple[Route, dict[str, str]] | None
    ) -> Response:
        if fault.delay_seconds:
            self._stopping.wait(fault.delay_seconds)
        if dialect is Dialect.S3:
            return self._s3(S3Error.of_status(fault.status, fault.error_code), request)
        if dialect is Dialect.LWA:
            return self._with_request_id(
                lwa_error_response(LwaError.of_status(fault.status, fault.error_code)), request
            )
        response = spapi_error_response(ApiError.of_status(fault.status, fault.error_code))
        if routed is not None:
            self._gateway.with_rate_limit(response, routed[0].operation, self._gateway.seller_of(request))
        return self._with_request_id(response, request)

    def _s3(self, error: S3Error, request: Request) -> Response:
        _, host_id = s3_request_ids()
        response = s3_error_response(error, request.request_id, host_id, method=request.method)
        return self._s3_headers(response, request, host_id)

    @staticmethod
    def _s3_headers(response: Response, request: Request, host_id: str | None = None) -> Response:
        response.headers += [("x-amz-request-id", request.request_id), ("x-amz-id-2", host_id or s3_request_ids()[1])]
        return response

    @staticmethod
    def _with_request_id(response: Response, request: Request) -> Response:
        response.headers.append(("x-amzn-RequestId", request.request_id))
        return response

    def _record(self, request: Request, status: int) -> None:
        with self._state.lock:
            self._state.call_counts[(request.operation or UNROUTED_OPERATION, status)] += 1
            self._state.calls.append(
                {
                    "requestId": request.request_id,
                    "operation": request.operation,
                    "method": request.method,
                    "path": request.path,
                    "query": request.query_string,
                    "status": status,
                    "at": iso_timestamp(self._clock.wall()),
                    "notes": list(request.notes),
                }
            )


def _message_routes() -> list[Route]:
    return [route for route in ROUTES if route.message_type is not None]


def _unrouted(request: Request) -> ApiError:
    methods = allowed_methods(request.path)
    if methods:
        return ApiError(
            405, "MethodNotAllowed", f"{request.method} is not allowed on this resource; use {', '.join(methods)}."
        )
    return ApiError(
        404,
        "NotFound",
        f"No operation at {request.path}.",
        "The emulator serves the Messaging API and the Uploads API; check the path against their models.",
    )
