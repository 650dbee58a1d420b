"""One Logger, Tracer and Metrics for every function (names from POWERTOOLS_* environment variables).

What tracing costs a cold start, and why it is set up this way (measured in ``bench/cold_start.py``):

- The Tracer patches botocore when the function starts (every function calls AWS), and requests only when
  the first HTTP session is made (:func:`trace_http`, called by :mod:`buyer_messaging.sessions`): the
  functions that never call over HTTP never import requests. Powertools' default would patch every library
  the X-Ray SDK knows and import them (sqlite3, http.client, ...), and trace each SP-API call twice, once as
  requests and once as http.client.
- When tracing is off (``POWERTOOLS_TRACE_DISABLED``, or outside Lambda, where Powertools turns it off
  itself), the X-Ray SDK is not imported at all: Powertools' Tracer imports it (and wrapt, and asyncio)
  even when disabled, and outside Lambda the SDK's recorder builds a botocore client for sampling rules.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

from buyer_messaging.errors import BuyerMessagingError, error_name

P = ParamSpec("P")
R = TypeVar("R")

SERVICE = "buyer-messaging"
# Patched when the function starts: the AWS SDK, which every function uses.
TRACED_AT_START = ("botocore",)


class TracerLike(Protocol):
    """The part of Powertools' Tracer the functions use."""

    def capture_lambda_handler(
        self,
        lambda_handler: Callable[..., Any] | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Callable[..., Any]: ...

    def patch(self, modules: Sequence[str] | None = None) -> None: ...


class _Untraced:
    """Stands in for Powertools' Tracer when tracing is off, without importing the X-Ray SDK."""

    def capture_lambda_handler(
        self,
        lambda_handler: Callable[..., Any] | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Callable[..., Any]:
        if lambda_handler is None:
            return lambda handler: handler
        return lambda_handler

    def patch(self, modules: Sequence[str] | None = None) -> None:
        return None


def tracing_enabled() -> bool:
    """Powertools' own rule: off when POWERTOOLS_TRACE_DISABLED is true, outside Lambda, and under SAM or
    Chalice local (no X-Ray daemon listens there)."""
    if resolve_truthy_env_var_choice(env=os.getenv(constants.TRACER_DISABLED_ENV, "false")):
        return False
    return bool(os.getenv(constants.LAMBDA_TASK_ROOT_ENV)) and not (
        os.getenv(constants.SAM_LOCAL_ENV) or os.getenv(constants.CHALICE_LOCAL_ENV)
    )


def _tracer() -> TracerLike:
    if not tracing_enabled():
        return _Untraced()
    from aws_lambda_powertools import Tracer

    traced: TracerLike = Tracer(service=SERVICE, patch_modules=TRACED_AT_START)
    return traced


logger = Logger(service=SERVICE)
tracer = _tracer()
metrics = Metrics(namespace="BuyerMessaging", service=SERVICE)


@functools.cache
def trace_http() -> None:
    """Trace requests' calls (the SP-API, Login with Amazon, the presigned PUT) from now on; once."""
    tracer.patch(modules=("requests",))


def log_failures(handler: Callable[P, R]) -> Callable[P, R]:
    """Log why a handler failed, by error name, then let the error reach Step Functions unchanged.

    Expected errors are logged without a stack trace: their message says what happened. A bug logs
    its trace. Either way the exception propagates so the state machine's Retry/Catch see its name.
    """

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(*args, **kwargs)
        except BuyerMessagingError as error:
            log = logger.warning if error.transient else logger.error
            log("Step failed", extra={"error": error_name(error), "cause": str(error)})
            metrics.add_metric(name="StepFailures", unit=MetricUnit.Count, value=1)
            raise
        except Exception:
            logger.exception("Step failed unexpectedly")
            raise

    return wrapper
