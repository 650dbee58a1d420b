"""The three error dialects the emulator speaks: SP-API, S3 and Login with Amazon.

- SP-API: ``{"errors": [{"code", "message", "details"}]}`` (the models' ``ErrorList``).
- S3 (the presigned upload URL): ``<?xml ...?><Error><Code/><Message/>...<RequestId/><HostId/></Error>``.
- LWA (OAuth 2.0): ``{"error", "error_description"}``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

from spapi_emulator.httpio import Response, json_response

# SP-API messages a client may rely on (buyer_messaging.spapi reads the token details and the last one).
ACCESS_DENIED_MESSAGE = "Access to requested resource is denied."
# Why Amazon refused the access token: always 403 Unauthorized with the message above and the reason in
# ``details``, as SP-API users quote Amazon's answers: revoked/malformed/invalid in
# amzn/selling-partner-api-models#2333 (and #230), a missing header in saleweaver/python-amazon-sp-api#58.
# The expired text is the one clients match in ``details`` (jasara/php-amzn-selling-partner-api,
# airbytehq/airbyte's source-amazon-seller-partner), with the same message.
EXPIRED_TOKEN_DETAILS = "The access token you provided has expired."  # noqa: S105  (a message)
REVOKED_TOKEN_DETAILS = "The access token you provided is revoked, malformed or invalid."  # noqa: S105
MISSING_TOKEN_DETAILS = "Access token is missing in the request header."  # noqa: S105
# A token minted with a client secret past Amazon's 180-day deadline: every call is refused with this reason
# (PipedreamHQ/pipedream#16843, amzn/selling-partner-api-models#4489 quote it).
SECRET_EXPIRED_DETAILS = "The LWA secret token you provided has expired."  # noqa: S105
QUOTA_EXCEEDED_MESSAGE = "You exceeded your quota for the requested resource."
NOT_AVAILABLE_MESSAGE = "Invalid amazonOrderId and template combination."

# The default error of a status, for injected faults and the server's own failures.
SPAPI_CODES: Mapping[int, tuple[str, str]] = {
    400: ("InvalidInput", "Invalid input."),
    403: ("Unauthorized", ACCESS_DENIED_MESSAGE),
    404: ("NotFound", "The resource specified does not exist."),
    413: ("RequestEntityTooLarge", "The request size exceeded the maximum accepted size."),
    415: ("UnsupportedMediaType", "The entity of the request is in a format not supported by the resource."),
    429: ("QuotaExceeded", QUOTA_EXCEEDED_MESSAGE),
    500: ("InternalFailure", "We encountered an internal error. Please try again."),
    503: ("ServiceUnavailable", "Service temporarily unavailable. Please try again."),
}


class ApiError(Exception):
    """An SP-API error answer: one status, one or more (code, message, details)."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.errors: list[tuple[str, str, str]] = [(code, message, details)]

    @classmethod
    def many(cls, status: int, errors: Sequence[tuple[str, str, str]]) -> ApiError:
        error = cls(status, *errors[0])
        error.errors = list(errors)
        return error

    @classmethod
    def of_status(cls, status: int, code: str | None = None, message: str | None = None) -> ApiError:
        default_code, default_message = SPAPI_CODES.get(status, SPAPI_CODES[500 if status >= 500 else 400])
        return cls(status, code or default_code, message or default_message)


def invalid_input(message: str, details: str = "") -> ApiError:
    return ApiError(400, "InvalidInput", message, details)


def not_found(message: str, details: str = "") -> ApiError:
    return ApiError(404, "NotFound", message, details)


def unauthorized(message: str = ACCESS_DENIED_MESSAGE, details: str = "") -> ApiError:
    return ApiError(403, "Unauthorized", message, details)


def spapi_error_response(error: ApiError) -> Response:
    body = {
        "errors": [{"code": code, "message": message, "details": details} for code, message, details in error.errors]
    }
    return json_response(error.status, body)


# --- S3 -------------------------------------------------------------------------------------------------

S3_MESSAGES: Mapping[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied"),
    "BadDigest": (400, "The Content-MD5 you specified did not match what we received."),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed size"),
    "IncompleteBody": (400, "You did not provide the number of bytes specified by the Content-Length HTTP header"),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidDigest": (400, "The Content-MD5 you specified was invalid."),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "NotImplemented": (501, "A header you provided implies functionality that is not implemented"),
    "RequestTimeout": (
        400,
        "Your socket connection to the server was not read from or written to within the timeout period. "
        "Idle connections will be closed.",
    ),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "SignatureDoesNotMatch": (
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    "SlowDown": (503, "Please reduce your request rate."),
}
S3_DEFAULT_CODES: Mapping[int, str] = {
    400: "InvalidArgument",
    403: "AccessDenied",
    405: "MethodNotAllowed",
    411: "MissingContentLength",
    429: "SlowDown",
    500: "InternalError",
    501: "NotImplemented",
    503: "SlowDown",
}


class S3Error(Exception):
    """An S3 error answer; ``extra`` adds S3's per-code elements (``<Header>``, ``<Method>``, ...)."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        status: int | None = None,
        extra: Mapping[str, str] | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        default_status, default_message = S3_MESSAGES.get(code, (500, "We encountered an internal error."))
        self.status = status or default_status
        self.code = code
        self.message = message or default_message
        self.extra = dict(extra or {})
        self.headers = list(headers)
        super().__init__(f"{self.status} {code}: {self.message}")

    @classmethod
    def of_status(cls, status: int, code: str | None = None) -> S3Error:
        chosen = code or S3_DEFAULT_CODES.get(status, "InternalError" if status >= 500 else "InvalidArgument")
        return cls(chosen, status=status)


def s3_request_ids() -> tuple[str, str]:
    """``x-amz-request-id`` and ``x-amz-id-2`` values shaped like S3's."""
    return secrets.token_hex(8).upper(), secrets.token_urlsafe(48)


def s3_error_response(error: S3Error, request_id: str, host_id: str, *, method: str = "PUT") -> Response:
    elements = "".join(
        f"<{name}>{escape(value)}</{name}>"
        for name, value in (("Code", error.code), ("Message", error.message), *error.extra.items())
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error>{elements}<RequestId>{request_id}</RequestId><HostId>{escape(host_id)}</HostId></Error>"
    )
    body = b"" if method == "HEAD" else xml.encode("utf-8")
    return Response(error.status, body, [("Content-Type", "application/xml"), *error.headers])


# --- Login with Amazon ----------------------------------------------------------------------------------

LWA_CODES: Mapping[int, tuple[str, str]] = {
    400: ("invalid_request", "The request is missing a required parameter or is otherwise malformed."),
    401: ("invalid_client", "Client authentication failed."),
    429: ("too_many_requests", "The request rate is too high. Try again later."),
    500: ("server_error", "The authorization server encountered an unexpected error."),
    503: ("temporarily_unavailable", "The authorization server is temporarily unavailable."),
}


class LwaError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    @classmethod
    def of_status(cls, status: int, code: str | None = None) -> LwaError:
        default_code, description = LWA_CODES.get(status, LWA_CODES[500 if status >= 500 else 400])
        return cls(status, code or default_code, description)


def lwa_error_response(error: LwaError) -> Response:
    return json_response(
        error.status,
        {"error_description": error.description, "error": error.error},
        content_type="application/json;charset=UTF-8",
        headers=[("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache")],
    )
