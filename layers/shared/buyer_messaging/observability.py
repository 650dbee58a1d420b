"""One Logger, Tracer and Metrics for every function (names from POWERTOOLS_* environment variables)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from buyer_messaging.errors import BuyerMessagingError, error_name

P = ParamSpec("P")
R = TypeVar("R")

SERVICE = "buyer-messaging"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="BuyerMessaging", service=SERVICE)


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
