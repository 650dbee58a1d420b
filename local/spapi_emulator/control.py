"""Inspecting and steering the emulator, from Python (:class:`Control`) and over HTTP (``/_emulator/...``).

HTTP routes (no access token needed; JSON in and out):

- ``GET  /_emulator/health`` -> ``{"status": "ok"}``
- ``GET  /_emulator/messages[?amazonOrderId=]`` -> ``{"messages": [delivery, ...]}``
- ``GET  /_emulator/calls[?operation=]`` -> ``{"calls": [call, ...]}``
- ``GET  /_emulator/orders`` -> ``{"orders": [{amazonOrderId, marketplaceId, sellingPartnerId, buyerLocale,
  allowedMessageTypes}]}``
- ``GET  /_emulator/destinations`` -> ``{"destinations": [destination, ...]}``
- ``GET  /_emulator/faults`` -> ``{"faults": [fault, ...]}`` (those not used yet)
- ``POST /_emulator/faults`` ``{"operation", "status"?, "count"?, "delaySeconds"?, "errorCode"?, "processed"?}``
  -> 201
- ``GET  /_emulator/usage-plans`` -> ``{"usagePlans": [{sellingPartnerId, operation, rate, burst}, ...]}``: every
  seller's current plan of every operation
- ``POST /_emulator/usage-plans`` ``{"operation", "rate", "burst", "sellingPartnerId"?}`` -> 200
  ``{"usagePlans": [the plans changed]}``: from now on the operation's bucket refills at ``rate`` requests per
  emulated second up to ``burst``, for that seller or (no ``sellingPartnerId``) every seller, and
  ``x-amzn-RateLimit-Limit`` says the new rate; 400 for an unknown operation or seller, a rate not above 0
  or a burst not a whole number from 1
- ``POST /_emulator/reset`` -> ``{"status": "reset"}`` (the documented usage plans again, buckets full)
- ``POST /_emulator/clock`` ``{"advanceSeconds": n}`` -> ``{"advancedSeconds": n}``
- ``POST /_emulator/tokens/expire`` -> ``{"expired": n}``: every access token issued so far and still valid
  expires now, before its ``expires_in`` (as Amazon's do); the next call with one is answered 403 expired
- ``POST /_emulator/tokens/revoke`` -> ``{"revoked": n}``: the same, answered 403 revoked
- ``POST /_emulator/notifications/destinations`` ``{"notificationType", "queueArn", "endpointUrl"?}`` -> 201: the
  SQS queue that gets ``APPLICATION_OAUTH_CLIENT_NEW_SECRET`` or ``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY``, as a
  developer registers it in the Developer Console (``endpointUrl``: where that queue's SQS answers, a moto server)
- ``GET  /_emulator/notifications`` -> ``{"notifications": [{notificationType, queueArn, delivered, body}]}``
- ``POST /_emulator/notifications/secret-expiry`` -> 201: Amazon's 90-day warning, sent now
- ``GET  /_emulator/authorizations`` -> ``{"authorizations": [{sellingPartnerId, authorizedAt, daysLeft, status}]}``
- ``POST /_emulator/authorizations/revoke`` ``{"sellingPartnerId"}`` -> ``{"revoked": n}``: the seller removes the
  application; its refresh tokens answer ``invalid_grant``, its live access tokens are revoked
- ``POST /_emulator/authorizations/age`` ``{"days", "sellingPartnerId"?}`` -> ``{"authorizations": [...]}``: the
  authorizations of that seller (or every one) were given ``days`` earlier; past 365 days they lapse
- ``GET  /_emulator/application`` -> ``{"applicationId", "name", "published", "redirectUris"}``
- ``POST /_emulator/application/redirect-uris`` ``{"uri"}`` -> 201 ``{"redirectUris": [...]}``: register an OAuth
  redirect URI, as a developer does in Developer Central
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from spapi_emulator.applications import Applications
from spapi_emulator.authorizations import Authorizations
from spapi_emulator.clock import EmulatedClock
from spapi_emulator.consent import Consent
from spapi_emulator.faults import FaultBook, make_fault
from spapi_emulator.httpio import BodyTooLarge, IncompleteBody, MalformedBody, Request, Response, json_response
from spapi_emulator.quotas import Quotas
from spapi_emulator.state import State

CONTROL_PREFIX = "/_emulator"
MAX_CONTROL_BODY_BYTES = 64 * 1024


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Control:
    """The emulator's inspection and control operations."""

    def __init__(
        self,
        state: State,
        clocks: tuple[EmulatedClock, ...],
        quotas: Quotas,
        faults: FaultBook,
        applications: Applications,
        onboarding: tuple[Authorizations, Consent],
    ) -> None:
        self._state = state
        self.applications = applications
        self.authorizations, self.consent = onboarding
        self._clocks = clocks
        self._quotas = quotas
        self._faults = faults
        self._routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/health"): lambda _: json_response(200, {"status": "ok"}),
            ("GET", "/messages"): self._get_messages,
            ("GET", "/calls"): self._get_calls,
            ("GET", "/orders"): lambda _: json_response(200, {"orders": self.orders()}),
            ("GET", "/destinations"): lambda _: json_response(200, {"destinations": self.destinations()}),
            ("GET", "/faults"): lambda _: json_response(200, {"faults": self._faults.pending()}),
            ("POST", "/faults"): self._post_fault,
            ("GET", "/usage-plans"): lambda _: json_response(200, {"usagePlans": self._quotas.plans()}),
            ("POST", "/usage-plans"): self._post_usage_plan,
            ("POST", "/reset"): self._post_reset,
            ("POST", "/clock"): self._post_clock,
            ("POST", "/tokens/expire"): lambda _: json_response(200, {"expired": self.expire_tokens()}),
            ("POST", "/tokens/revoke"): lambda _: json_response(200, {"revoked": self.revoke_tokens()}),
            ("POST", "/notifications/destinations"): self._post_destination,
            ("GET", "/notifications"): lambda _: json_response(200, {"notifications": self.applications.sent()}),
            ("POST", "/notifications/secret-expiry"): self._post_secret_expiry,
            ("GET", "/authorizations"): lambda _: json_response(200, {"authorizations": self.authorizations.listing()}),
            ("POST", "/authorizations/revoke"): self._post_revoke,
            ("POST", "/authorizations/age"): self._post_age,
            ("GET", "/application"): lambda _: json_response(200, self.application()),
            ("POST", "/application/redirect-uris"): self._post_redirect_uri,
        }

    # --- Python API ---------------------------------------------------------------------------------------

    def deliveries(self, amazon_order_id: str | None = None) -> list[dict[str, Any]]:
        """The messages delivered to buyers, oldest first, optionally of one order (copies)."""
        with self._state.lock:
            found = [d for d in self._state.deliveries if amazon_order_id in (None, d["amazonOrderId"])]
            return copy.deepcopy(found)

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        """The calls answered (SP-API operations, ``lwaToken``, ``upload``), oldest first (copies)."""
        with self._state.lock:
            return [copy.deepcopy(call) for call in self._state.calls if operation in (None, call["operation"])]

    def call_counts(self) -> dict[str, dict[int, int]]:
        """How many calls of each operation were answered with each status since the last reset."""
        with self._state.lock:
            counts: dict[str, dict[int, int]] = {}
            for (operation, status), count in sorted(self._state.call_counts.items()):
                counts.setdefault(operation, {})[status] = count
            return counts

    def orders(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [
                {
                    "amazonOrderId": order.seed.amazon_order_id,
                    "marketplaceId": order.seed.marketplace_id,
                    "sellingPartnerId": order.seed.selling_partner_id,
                    "buyerLocale": order.seed.buyer_locale,
                    "allowedMessageTypes": list(order.allowed),
                }
                for order in self._state.orders.values()
            ]

    def destinations(self) -> list[dict[str, Any]]:
        """The upload destinations created, oldest first, with what each received and who used it."""
        with self._state.lock:
            return [
                {
                    "uploadDestinationId": destination.destination_id,
                    "resource": destination.resource,
                    "marketplaceId": destination.marketplace_id,
                    "contentMd5": destination.content_md5,
                    "contentType": destination.content_type,
                    "upload": None
                    if destination.upload is None
                    else {
                        "size": destination.upload.size,
                        "md5": destination.upload.md5_hex,
                        "contentMd5": destination.upload.content_md5,
                        "uploadedAt": destination.upload.uploaded_at,
                    },
                    "usedBy": destination.used_by,
                }
                for destination in self._state.destinations.values()
            ]

    def inject_fault(
        self,
        operation: str,
        *,
        status: int | None = None,
        count: int = 1,
        delay_seconds: float = 0.0,
        error_code: str | None = None,
        processed: bool = False,
    ) -> dict[str, Any]:
        fault = make_fault(
            operation, status=status, delay_seconds=delay_seconds, error_code=error_code, processed=processed
        )
        self._faults.add(fault, count)
        return {**fault.to_dict(), "count": count}

    def clear_faults(self) -> int:
        """Lift every fault still waiting (an outage ends); how many there were."""
        waiting = len(self._faults.pending())
        self._faults.clear()
        return waiting

    def set_usage_plan(
        self, operation: object, rate_per_second: object, burst: object, selling_partner_id: object = None
    ) -> list[dict[str, Any]]:
        """Change an operation's usage plan for one seller or all; ValueError names a wrong value."""
        return self._quotas.set_plan(operation, rate_per_second, burst, selling_partner_id)

    def usage_plans(self) -> list[dict[str, Any]]:
        return self._quotas.plans()

    def reset(self) -> None:
        self._state.reset()
        self._faults.clear()
        self._quotas.reset()
        self.applications.reset()
        self.authorizations.reset()

    def revoke_authorization(self, selling_partner_id: object) -> int:
        """The seller removes the application: its grants end and its live access tokens are revoked."""
        if selling_partner_id not in self._state.seed.selling_partner_ids:
            known = ", ".join(self._state.seed.selling_partner_ids)
            raise ValueError(
                f"sellingPartnerId must be one of the seed's sellers ({known}); not {selling_partner_id!r}."
            )
        seller = str(selling_partner_id)
        ended = self.authorizations.revoke(seller)
        with self._state.lock:
            self._state.tokens.revoke_seller(seller, self._token_clock.now())
        return ended

    def age_authorizations(self, days: object, selling_partner_id: object = None) -> list[dict[str, Any]]:
        if selling_partner_id is not None and selling_partner_id not in self._state.seed.selling_partner_ids:
            raise ValueError(f"sellingPartnerId {selling_partner_id!r} is not a seller of the seed.")
        if isinstance(days, bool) or not isinstance(days, int | float):
            raise ValueError(f"days must be a number of days, not {days!r}.")
        return self.authorizations.age(float(days), None if selling_partner_id is None else str(selling_partner_id))

    def application(self) -> dict[str, Any]:
        application = self._state.seed.application
        return {
            "applicationId": application.application_id,
            "name": application.name,
            "published": application.published,
            "redirectUris": self.consent.redirect_uris(),
        }

    def advance_clock(self, seconds: float) -> None:
        for clock in self._clocks:
            clock.advance(seconds)

    def expire_tokens(self) -> int:
        """Every access token still valid expires now; how many did."""
        with self._state.lock:
            return self._state.tokens.expire_all(self._token_clock.now())

    def revoke_tokens(self) -> int:
        """Every access token still valid is revoked now; how many were."""
        with self._state.lock:
            return self._state.tokens.revoke_all(self._token_clock.now())

    @property
    def _token_clock(self) -> EmulatedClock:
        return self._clocks[0]  # the emulator's own clock (tokens, upload URLs); the others time quotas

    # --- HTTP -----------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        route = request.path[len(CONTROL_PREFIX) :]
        handler = self._routes.get((request.method, route))
        try:
            if handler is None:
                methods = sorted(method for method, path in self._routes if path == route)
                if methods:
                    raise ControlError(405, f"{route} accepts {', '.join(methods)}.")
                raise ControlError(404, f"No emulator route {request.path}.")
            return handler(request)
        except ControlError as error:
            code = {404: "NotFound", 405: "MethodNotAllowed"}.get(error.status, "InvalidInput")
            return json_response(error.status, {"errors": [{"code": code, "message": error.message, "details": ""}]})

    def _get_messages(self, request: Request) -> Response:
        order_id = _query_value(request, "amazonOrderId")
        return json_response(200, {"messages": self.deliveries(order_id)})

    def _get_calls(self, request: Request) -> Response:
        return json_response(200, {"calls": self.calls(_query_value(request, "operation"))})

    def _post_fault(self, request: Request) -> Response:
        body = _json_object(request)
        unknown = sorted(set(body) - {"operation", "status", "count", "delaySeconds", "errorCode", "processed"})
        if unknown:
            raise ControlError(400, f"Unknown fields {unknown}.")
        try:
            fault = self.inject_fault(
                str(body.get("operation", "")),
                status=body.get("status"),
                count=body.get("count", 1),
                delay_seconds=body.get("delaySeconds", 0.0),
                error_code=body.get("errorCode"),
                processed=body.get("processed", False),
            )
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        return json_response(201, {"fault": fault})

    def _post_usage_plan(self, request: Request) -> Response:
        body = _json_object(request)
        unknown = sorted(set(body) - {"operation", "rate", "burst", "sellingPartnerId"})
        if unknown:
            raise ControlError(400, f"Unknown fields {unknown}.")
        missing = [name for name in ("operation", "rate", "burst") if name not in body]
        if missing:
            raise ControlError(400, f"Missing fields {missing}.")
        try:
            changed = self.set_usage_plan(body["operation"], body["rate"], body["burst"], body.get("sellingPartnerId"))
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        return json_response(200, {"usagePlans": changed})

    def _post_destination(self, request: Request) -> Response:
        body = _json_object(request)
        unknown = sorted(set(body) - {"notificationType", "queueArn", "endpointUrl"})
        if unknown:
            raise ControlError(400, f"Unknown fields {unknown}.")
        endpoint_url = body.get("endpointUrl")
        try:
            registered = self.applications.register(
                str(body.get("notificationType", "")),
                str(body.get("queueArn", "")),
                None if endpoint_url is None else str(endpoint_url),
            )
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        return json_response(201, {"destination": registered})

    def _post_secret_expiry(self, request: Request) -> Response:
        try:
            sent = self.applications.warn()
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        return json_response(201, {"notification": sent})

    def _post_revoke(self, request: Request) -> Response:
        body = _json_object(request)
        try:
            return json_response(200, {"revoked": self.revoke_authorization(body.get("sellingPartnerId"))})
        except ValueError as error:
            raise ControlError(400, str(error)) from None

    def _post_age(self, request: Request) -> Response:
        body = _json_object(request)
        unknown = sorted(set(body) - {"days", "sellingPartnerId"})
        if unknown:
            raise ControlError(400, f"Unknown fields {unknown}.")
        try:
            aged = self.age_authorizations(body.get("days"), body.get("sellingPartnerId"))
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        return json_response(200, {"authorizations": aged})

    def _post_redirect_uri(self, request: Request) -> Response:
        uri = _json_object(request).get("uri")
        if not isinstance(uri, str):
            raise ControlError(400, "uri must be a string.")
        try:
            return json_response(201, {"redirectUris": self.consent.register_redirect_uri(uri)})
        except ValueError as error:
            raise ControlError(400, str(error)) from None

    def _post_reset(self, request: Request) -> Response:
        self.reset()
        return json_response(200, {"status": "reset"})

    def _post_clock(self, request: Request) -> Response:
        seconds = _json_object(request).get("advanceSeconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ControlError(400, "advanceSeconds must be a number of seconds.")
        try:
            self.advance_clock(float(seconds))
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        return json_response(200, {"advancedSeconds": seconds})


def _query_value(request: Request, name: str) -> str | None:
    values = request.query().get(name)
    return values[0] if values else None


def _json_object(request: Request) -> dict[str, Any]:
    try:
        raw = request.body.read_all(MAX_CONTROL_BODY_BYTES)
    except (BodyTooLarge, IncompleteBody, MalformedBody):
        raise ControlError(400, "The body is too large or incomplete.") from None
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ControlError(400, "The body is not JSON.") from None
    if not isinstance(value, dict):
        raise ControlError(400, "The body must be a JSON object.")
    return value
