"""Each in-process invocation behaves as in a Lambda container of its own: Powertools state per thread.

On AWS a container runs one invocation at a time, so the handlers' module-level Powertools objects
(``buyer_messaging.observability``) are never shared by two invocations. The local stack runs every handler on
threads of one process (moto's task threads, the API server's), and shared they went wrong under load:

- **Metrics** keeps its metric set in dicts shared by every instance. One invocation's ``log_metrics`` flush
  serialized the set while another added to it (``RuntimeError: dictionary changed size during iteration``),
  found it emptied by another's flush between its check and its serialization (``SchemaValidationError: Must
  contain at least one metric.``), or published another invocation's metrics as its own.
- **Logger** keeps the keys every line carries (function name, request id, cold start) in its formatter's
  ``log_format``: a line showed the request id of whichever invocation had started last.

Installed while the local stack's Lambdas run in-process, undone by ``uninstall``; nothing changes in AWS.
Metrics get a provider per thread through Powertools' public ``provider`` parameter's shape (a provider object
the ``Metrics`` instance delegates to). The Logger's ``log_format`` is a Powertools internal: checked against
aws-lambda-powertools 3.37.0 (tests/unit/test_library_internals.py), and :func:`install` fails loudly if the
attribute is gone.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

CHECKED_POWERTOOLS_VERSION = "3.37.0"


class PerThreadProvider:
    """Stands in for a Metrics object's provider: every thread gets a provider of its own, built like the shared
    one, as every container gets its own module state."""

    def __init__(self, shared: AmazonCloudWatchEMFProvider) -> None:
        self.shared = shared
        self._local = threading.local()

    def current(self) -> AmazonCloudWatchEMFProvider:
        provider: AmazonCloudWatchEMFProvider | None = getattr(self._local, "provider", None)
        if provider is None:
            provider = AmazonCloudWatchEMFProvider(
                namespace=self.shared.namespace,
                service=self.shared.service,
                default_dimensions=dict(self.shared.default_dimensions),
                function_name=self.shared.function_name,
            )
            self._local.provider = provider
        return provider

    def log_metrics(self, lambda_handler: Callable[..., Any] | None = None, **options: Any) -> Any:
        """Decorates when a handler module is imported; flushes, at each call, the calling thread's metrics."""
        if lambda_handler is None:
            return functools.partial(self.log_metrics, **options)
        handler = lambda_handler

        @functools.wraps(handler)
        def decorated(*args: Any, **kwargs: Any) -> Any:
            return self.current().log_metrics(handler, **options)(*args, **kwargs)

        return decorated

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current(), name)


def _per_thread_log_format(formatter: Any) -> Callable[[], None]:
    """The formatter's ``log_format`` per thread, each thread starting from the keys it had at install."""
    if not isinstance(vars(formatter).get("log_format"), dict):
        raise RuntimeError(
            "aws_lambda_powertools' Logger formatter has no log_format dict any more (checked against "
            f"{CHECKED_POWERTOOLS_VERSION}): local_stack.containers must follow it."
        )
    original_class = type(formatter)
    base = dict(vars(formatter)["log_format"])
    local = threading.local()

    def get(_: Any) -> dict[str, Any]:
        value: dict[str, Any] | None = getattr(local, "value", None)
        if value is None:
            value = local.value = dict(base)
        return value

    def set_(_: Any, value: dict[str, Any]) -> None:
        local.value = value

    # A data descriptor on the class wins over the instance's own attribute.
    formatter.__class__ = type(original_class.__name__, (original_class,), {"log_format": property(get, set_)})

    def restore() -> None:
        formatter.__class__ = original_class

    return restore


class Containers:
    """Installs per-thread Powertools state for the given Metrics and Logger objects; ``uninstall`` undoes it."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def install(self, metrics: Metrics, logger: Logger) -> None:
        if self._undo:
            return
        shared = metrics.provider
        if not isinstance(shared, AmazonCloudWatchEMFProvider):
            raise RuntimeError(f"Metrics' provider is a {type(shared).__name__}, not the EMF provider checked against")
        metrics.provider = PerThreadProvider(shared)  # type: ignore[assignment]

        def restore_provider() -> None:
            metrics.provider = shared

        self._undo.append(restore_provider)
        self._undo.append(_per_thread_log_format(logger.registered_formatter))

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()
