"""One Logger, Tracer and Metrics for every function (names from POWERTOOLS_* environment variables).

What tracing costs a cold start, and why it is set up this way (measured in ``bench/cold_start.py``):

- The Tracer patches botocore when the function starts (every function calls AWS), and requests only when
  the first HTTP session is made (:func:`trace_http`, called by :mod:`buyer_messaging.sessions`): the
  functions that never call over HTTP never import requests. Powertools' default would patch every library
  the X-Ray SDK knows and import them (sqlite3, http.client, ...), and trace each SP-API call twice, once as
  requests and once as http.client.
- When tracing is off (``POWERTOOLS_TRACE_DISABLED``, or outside Lambda, where Powertools turns it off
  itself), the Tracer is Powertools' own, disabled, with a provider that records nothing (:class:`NoTracing`,
  through the Tracer's ``provider`` parameter): its default provider is the X-Ray SDK's recorder, which it
  imports even when disabled (with wrapt and asyncio: about 300 modules and 0.2 to 0.5 s), and which outside
  Lambda builds a botocore client for sampling rules.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, ParamSpec, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

# Powertools' internal helpers, for its own rule of when to trace (aws-lambda-powertools 3.37.0; checked by
# tests/unit/test_library_internals.py).
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from buyer_messaging.errors import BuyerMessagingError, error_name

P = ParamSpec("P")
R = TypeVar("R")

SERVICE = "buyer-messaging"  # the template's POWERTOOLS_SERVICE_NAME: every metric's `service` dimension
NAMESPACE = "BuyerMessaging"  # the template's POWERTOOLS_METRICS_NAMESPACE
# Patched when the function starts: the AWS SDK, which every function uses.
TRACED_AT_START = ("botocore",)


class _NoSegment(BaseSegment):
    """A trace entity that keeps nothing."""

    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        return None


class NoTracing(BaseProvider):
    """Powertools' tracing provider for a Tracer that is off: it records nothing and imports nothing."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield _NoSegment()

    @asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Any) -> None:
        return None

    def patch_all(self) -> None:
        return None


def tracing_enabled() -> bool:
    """Powertools' own rule: off when POWERTOOLS_TRACE_DISABLED is true, outside Lambda, and under SAM or
    Chalice local (no X-Ray daemon listens there)."""
    if resolve_truthy_env_var_choice(env=os.getenv(constants.TRACER_DISABLED_ENV, "false")):
        return False
    return bool(os.getenv(constants.LAMBDA_TASK_ROOT_ENV)) and not (
        os.getenv(constants.SAM_LOCAL_ENV) or os.getenv(constants.CHALICE_LOCAL_ENV)
    )


def _tracer() -> Tracer:
    if tracing_enabled():
        return Tracer(service=SERVICE, patch_modules=TRACED_AT_START)
    return Tracer(service=SERVICE, disabled=True, provider=NoTracing())


logger = Logger(service=SERVICE)
tracer = _tracer()
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


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
