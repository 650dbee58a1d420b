"""The SP-API front door: routes built from the catalog and the checks every operation shares.

A call to an SP-API operation is checked in this order; the first failure is the answer:

1. an injected fault for the operation (see :mod:`spapi_emulator.faults`; handled by the application);
2. ``x-amz-access-token``: 403 ``Unauthorized`` "Access to requested resource is denied.", the reason in
   ``details``: "Access token is missing in the request header.", "The access token you provided has
   expired.", "The access token you provided is revoked, malformed or invalid." (unknown or revoked), or "The
   LWA secret token you provided has expired." (minted with a client secret past Amazon's 180-day deadline);
3. the token bucket of the token's seller and the operation -> empty: 429 ``QuotaExceeded``, nothing else
   happens (:mod:`spapi_emulator.quotas`);
4. the operation: ``marketplaceIds`` (exactly one value), the order (well-formed id, known and sold by the
   token's seller -> else 404 ``NotFound``, sold in that marketplace -> else 400), then the operation's own
   rules.

What Amazon accepts is accepted, however unusual; the call log's ``notes`` say what was unusual:

- ``User-Agent``: Amazon asks for ``AppName/Version (Language=Name/Version)`` but refuses no other form
  (its own Python SDK sends ``amazon-selling-partner-api-sdk/1.13.0/python``, python-amazon-sp-api
  ``python-sp-api-2.1.35``) and none at all (jrl84/amazon-sp-api#92: "it works fine without a User-Agent");
- query parameters the model does not list (python-amazon-sp-api adds ``MarketplaceId``,
  ``MarketplaceIds`` and ``marketplace_ids`` to every GET) are ignored;
- ``Accept``, ``Content-Type`` of a GET and ``Host`` are not checked (the presigned upload URL's ``Host``
  is: it is signed).

Every answer carries ``x-amzn-RequestId``; ``x-amzn-RateLimit-Limit`` (the rate per second of the seller's
usage plan for the operation, which a test may have changed) is on the statuses the official model declares
it for, never on 429 (Amazon's throttled answer has none: amzn/selling-partner-api-docs#86).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from buyer_messaging import catalog, marketplaces
from buyer_messaging.catalog import MessageType, Operation
from spapi_emulator.clock import EmulatedClock
from spapi_emulator.errors import (
    EXPIRED_TOKEN_DETAILS,
    MISSING_TOKEN_DETAILS,
    QUOTA_EXCEEDED_MESSAGE,
    REVOKED_TOKEN_DETAILS,
    SECRET_EXPIRED_DETAILS,
    ApiError,
    invalid_input,
    not_found,
    spapi_error_response,
    unauthorized,
)
from spapi_emulator.httpio import Request, Response, json_response
from spapi_emulator.quotas import Quotas
from spapi_emulator.seed import AMAZON_ORDER_ID_PATTERN
from spapi_emulator.signing import UrlSigner
from spapi_emulator.state import OrderState, State

ACCESS_TOKEN_HEADER = "x-amz-access-token"  # noqa: S105  (a header name)


def live_token(request: Request, state: State, clock: EmulatedClock) -> str:
    """The request's access token if LWA issued it and it still works (every SP-API operation checks this
    first); else Amazon's 403 with the reason in ``details``: missing, expired, revoked, or minted with a client
    secret past Amazon's 180-day deadline."""
    token = request.header(ACCESS_TOKEN_HEADER)
    if not token:
        raise unauthorized(details=MISSING_TOKEN_DETAILS)
    with state.lock:
        status = state.tokens.status(token, clock.now())
    if status == "expired":
        raise unauthorized(details=EXPIRED_TOKEN_DETAILS)
    if status != "valid":
        raise unauthorized(details=REVOKED_TOKEN_DETAILS)
    if state.tokens.secret_past_deadline(token):
        raise unauthorized(details=SECRET_EXPIRED_DETAILS)
    return token


# "AppName/AppVersion (Language=LanguageName/LanguageVersion[; Platform=...])", the form Amazon recommends.
RECOMMENDED_USER_AGENT = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._+-]*/[A-Za-z0-9][A-Za-z0-9._+-]*"
    r" \(Language=[A-Za-z][A-Za-z0-9._+#-]*/[0-9][A-Za-z0-9._+-]*(?:;[^()]*)?\)(?: \S.*)?$"
)
# Statuses whose responses carry x-amzn-RateLimit-Limit in the official models. The uploads model also
# lists 429, but Amazon sends no rate-limit header with a throttled answer (DESIGN.md), so neither do we.
RATE_LIMIT_HEADER_STATUSES: Mapping[str, frozenset[int]] = {
    "messaging": frozenset({200, 201, 400, 404}),
    "uploads": frozenset({200, 201, 400, 404, 413, 415, 500, 503}),
}
# The models' "produces": the Messaging API answers HAL, the Uploads API plain JSON.
SUCCESS_CONTENT_TYPES: Mapping[str, str] = {"messaging": "application/hal+json", "uploads": "application/json"}
# The query parameters of the models' operations, per API (every Messaging operation takes marketplaceIds).
MODEL_QUERY_PARAMETERS: Mapping[str, frozenset[str]] = {
    "messaging": frozenset({"marketplaceIds"}),
    "uploads": frozenset({"marketplaceIds", "contentMD5", "contentType"}),
}


def api_of(operation: Operation) -> str:
    """``messaging`` or ``uploads``: the API (and model) an operation belongs to."""
    return operation.path_template.strip("/").split("/", 1)[0]


def rate_limit_value(rate_per_second: float) -> str:
    """The header's value: requests per second as Amazon writes them ("1.0", "10.0", "0.0167", "0.0055":
    amzn/selling-partner-api-models#1444), at most four decimals, never rounded to zero."""
    rate = float(rate_per_second)
    return str(round(rate, 4) or float(f"{rate:.2g}"))


@dataclass(frozen=True, slots=True)
class Route:
    operation: Operation
    pattern: re.Pattern[str]
    message_type: MessageType | None  # the message type a send operation sends


def _pattern(path_template: str) -> re.Pattern[str]:
    regex = re.escape(path_template)
    regex = regex.replace(re.escape("{amazonOrderId}"), "(?P<amazonOrderId>[^/]+)")
    regex = regex.replace(re.escape("{resource}"), "(?P<resource>.+)")  # greedy: the resource holds slashes
    return re.compile(f"^{regex}$")


def _message_type_of(operation: Operation) -> MessageType | None:
    return next((m for m in catalog.MESSAGE_TYPES if m.operation == operation.name), None)


ROUTES: tuple[Route, ...] = tuple(
    Route(operation, _pattern(operation.path_template), _message_type_of(operation)) for operation in catalog.OPERATIONS
)


def match(method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
    """The route of ``method`` on the raw (still percent-encoded) path, with its raw path parameters."""
    for route in ROUTES:
        found = route.pattern.match(raw_path)
        if found and route.operation.method == method:
            return route, found.groupdict()
    return None


def allowed_methods(raw_path: str) -> list[str]:
    """The methods some route serves on this path (for a 405)."""
    return sorted({route.operation.method for route in ROUTES if route.pattern.match(raw_path)})


@dataclass(slots=True)
class Call:
    """One call of an SP-API operation, with what its handler needs."""

    request: Request
    route: Route
    params: dict[str, str]
    state: State
    clock: EmulatedClock
    signer: UrlSigner
    base_url: str
    selling_partner_id: str  # whose access token made the call

    @property
    def operation(self) -> Operation:
        return self.route.operation

    def marketplace_id(self) -> str:
        """The one value of ``marketplaceIds``; 400 ``InvalidInput`` for none, several or a malformed one."""
        values = self.request.query().get("marketplaceIds")
        if not values:
            raise invalid_input("Missing required parameter: marketplaceIds.", "Give exactly one marketplace id.")
        given = [value for joined in values for value in joined.split(",")]
        if len(given) != 1:
            raise invalid_input(
                f"marketplaceIds accepts exactly one marketplace id; {len(given)} were given.",
                "Only one marketplace can be specified (maxItems 1).",
            )
        marketplace_id = given[0]
        if not marketplace_id:
            raise invalid_input("marketplaceIds is empty.", "Give exactly one marketplace id.")
        if not marketplaces.MARKETPLACE_ID_PATTERN.match(marketplace_id):
            raise invalid_input(
                f"{marketplace_id!r} is not a marketplace id.", "Marketplace ids look like ATVPDKIKX0DER."
            )
        return marketplace_id

    def order(self, amazon_order_id: str, marketplace_id: str) -> OrderState:
        """The order, known and sold in ``marketplace_id``: else 400 (malformed id, other marketplace) or 404.

        A seller sees only its own orders: another seller's order is answered like one that does not exist."""
        if not AMAZON_ORDER_ID_PATTERN.match(amazon_order_id):
            raise invalid_input(
                f"{amazon_order_id!r} is not an Amazon order id.", "Order ids look like 123-1234567-1234567."
            )
        order = self.state.order(amazon_order_id)
        if order is None or order.seed.selling_partner_id != self.selling_partner_id:
            raise not_found(f"Order {amazon_order_id} was not found.", "Check the order id and the marketplace.")
        if order.seed.marketplace_id != marketplace_id:
            raise invalid_input(
                f"Order {amazon_order_id} was not placed in marketplace {marketplace_id}.",
                "Use the marketplace the order was placed in.",
            )
        return order

    def order_from_path(self) -> tuple[OrderState, str]:
        """The order of the path's ``{amazonOrderId}`` and the request's marketplace, both checked."""
        marketplace_id = self.marketplace_id()
        return self.order(unquote(self.params["amazonOrderId"]), marketplace_id), marketplace_id

    def ok(self, status: int, body: object) -> Response:
        return json_response(status, body, content_type=SUCCESS_CONTENT_TYPES[api_of(self.operation)])


Handler = Callable[[Call], Response]


class Gateway:
    """Authorizes, throttles and dispatches SP-API calls; renders every refusal as an errors body."""

    def __init__(
        self,
        state: State,
        clock: EmulatedClock,
        quotas: Quotas,
        signer: UrlSigner,
        handlers: Mapping[str, Handler],
    ) -> None:
        self._state = state
        self._clock = clock
        self._quotas = quotas
        self._signer = signer
        self._handlers = handlers
        missing = [route.operation.name for route in ROUTES if route.operation.name not in handlers]
        if missing:
            raise ValueError(f"no handler for {missing}")

    def handle(self, request: Request, route: Route, params: dict[str, str], base_url: str) -> Response:
        seller: str | None = None
        try:
            seller = self._authorize(request)
            _note_user_agent(request)
            _note_query_parameters(request, route.operation)
            if not self._quotas.take(seller, route.operation.name):
                raise ApiError(429, "QuotaExceeded", QUOTA_EXCEEDED_MESSAGE)
            call = Call(request, route, params, self._state, self._clock, self._signer, base_url, seller)
            response = self._handlers[route.operation.name](call)
        except ApiError as error:
            response = spapi_error_response(error)
        return self.with_rate_limit(response, route.operation, seller)

    def seller_of(self, request: Request) -> str | None:
        """The seller a request's access token acts for, whatever the token's state; None without one."""
        token = request.header(ACCESS_TOKEN_HEADER)
        if not token:
            return None
        with self._state.lock:
            return self._state.tokens.seller_of(token)

    def with_rate_limit(self, response: Response, operation: Operation, seller: str | None) -> Response:
        """``response`` with ``x-amzn-RateLimit-Limit`` (the seller's current rate for the operation) when the
        model declares it for its status; none for a call no seller can be told from (no usage plan)."""
        if seller is not None and response.status in RATE_LIMIT_HEADER_STATUSES[api_of(operation)]:
            rate = self._quotas.plan(seller, operation.name).rate_per_second
            response.headers.append(("x-amzn-RateLimit-Limit", rate_limit_value(rate)))
        return response

    def _authorize(self, request: Request) -> str:
        """The seller the request's valid access token acts for; else 403."""
        token = live_token(request, self._state, self._clock)
        with self._state.lock:
            seller = self._state.tokens.seller_of(token)
        if seller is None:
            # A grantless (client_credentials) token acts for no seller: denied without a reason, as Amazon
            # answers a token of the wrong grant (PipedreamHQ/pipedream#19400, the reverse case).
            request.notes.append("A grantless access token was sent to an operation that needs a seller's.")
            raise unauthorized(details="")
        return seller


def _note_user_agent(request: Request) -> None:
    user_agent = request.header("User-Agent")
    if not user_agent:
        request.notes.append("No User-Agent header; Amazon asks for one but accepts the call.")
    elif not RECOMMENDED_USER_AGENT.match(user_agent):
        request.notes.append(
            f"User-Agent {user_agent[:100]!r} is not of Amazon's recommended form "
            "AppName/Version (Language=Name/Version); Amazon accepts it."
        )


def _note_query_parameters(request: Request, operation: Operation) -> None:
    unknown = sorted(set(request.query()) - MODEL_QUERY_PARAMETERS[api_of(operation)])
    if unknown:
        request.notes.append(f"Query parameters not in the model: {', '.join(unknown)}; ignored.")
