"""One metric of :mod:`buyer_messaging.metric_catalog` with its own dimensions, written now as one CloudWatch
embedded metric format line (Powertools' ``single_metric``).

Powertools' ``metrics`` (:mod:`buyer_messaging.observability`) gives every metric of an invocation the same
dimensions and writes them when the handler returns; a metric per message type, reason or operation needs
dimensions of its own.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from buyer_messaging.metric_catalog import BY_NAME
from buyer_messaging.observability import NAMESPACE, SERVICE, logger


def emit(name: str, value: float, **dimensions: str) -> None:
    """``name`` with ``value`` and ``dimensions`` (besides ``service``), exactly the catalog's. A dimension or value
    outside the catalog is a bug: it is logged and the metric left out, never a failed step (which would hide the
    message's outcome)."""
    metric = BY_NAME[name]
    if set(dimensions) != set(metric.dimensions) or any(v not in metric.dimensions[k] for k, v in dimensions.items()):
        logger.error("Metric left out: dimensions outside the catalog", extra={"metric": name, **dimensions})
        return
    if is_metrics_disabled():  # single_metric itself would write anyway
        return
    with single_metric(
        name=name,
        unit=MetricUnit(metric.unit),
        value=value,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE, **dimensions},
    ):
        pass
