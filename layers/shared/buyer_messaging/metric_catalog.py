"""Every metric the package emits, said once: name, unit, dimensions with their bounded values, the emitting
module and what it means. The code emits through :func:`buyer_messaging.emf.emit` (or Powertools'
``metrics.add_metric`` for a metric without dimensions) with a name from here; the template's alarms and
dashboard read only these (tests/static/test_alarms.py), and the README's metric table is rendered from here.

Every metric is in the namespace ``observability.NAMESPACE`` and also carries Powertools' ``service`` dimension
(``observability.SERVICE``), both said where the Metrics are set up. A dimension's values are a small
fixed set (never an order, request or campaign id: each distinct value is a metric CloudWatch bills for).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from buyer_messaging import catalog, errors
from buyer_messaging.models import LANES

# Reasons a message failed (MessagesFailed): the seller's input, or anything else (the stack, Amazon, an outage).
BAD_INPUT = "BadInput"
OTHER = "Other"
REASONS = (BAD_INPUT, OTHER)
# An error name that is none of errors.py's (a Step Functions or Lambda error such as States.Timeout).
UNLISTED_ERROR = "Unlisted"
AUTHORIZATION_ERRORS = (errors.LwaInvalidGrant.__name__, errors.SpApiUnauthorized.__name__)


def _error_names() -> tuple[str, ...]:
    abstract = (errors.BuyerMessagingError, errors.TransientError, errors.SpApiError)
    named = (
        value.__name__
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.BuyerMessagingError) and value not in abstract
    )
    return (*sorted(named), UNLISTED_ERROR)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    unit: str  # Powertools' MetricUnit value (CloudWatch's unit name)
    module: str  # the module (under buyer_messaging) that emits it
    meaning: str
    dimensions: Mapping[str, tuple[str, ...]]  # besides `service`: name -> every value it may take


def _metric(name: str, unit: str, module: str, meaning: str, **dimensions: tuple[str, ...]) -> Metric:
    return Metric(name, unit, module, meaning, dimensions)


MESSAGE_TYPES = tuple(t.path for t in catalog.iter_message_types())
# The workflow's operations, and the client secret's rotation (rotation.ROTATION_OPERATION: that module emits
# metrics itself, so it cannot be imported here; tests/unit/test_metric_catalog.py keeps the two in step).
OPERATIONS = (*(o.name for o in catalog.OPERATIONS), "rotateApplicationClientSecret")

METRICS: tuple[Metric, ...] = (
    # --- messages
    _metric(
        "MessagesSent", "Count", "workflow.send_message", "Amazon accepted a message (201).", MessageType=MESSAGE_TYPES
    ),
    _metric(
        "TimeToSent",
        "Milliseconds",
        "workflow.record_outcome",
        "From the request received to Amazon's 201, as its status record says (p50, p95).",
    ),
    _metric(
        "MessagesFailed",
        "Count",
        "workflow.record_outcome",
        "A request ended failed or with an unknown outcome: BadInput = the seller's input, Other = anything else.",
        Reason=REASONS,
    ),
    _metric(
        "MessagesFailedByError",
        "Count",
        "workflow.record_outcome",
        "The same failures by error name (errors.py's names; Unlisted = a Step Functions or Lambda error).",
        Error=_error_names(),
    ),
    _metric("OutcomesRecorded", "Count", "workflow.record_outcome", "A request's outcome was recorded."),
    # --- Amazon's quota and the SP-API
    _metric("SpApiCalls", "Count", "spapi", "An HTTP exchange with the SP-API.", Operation=OPERATIONS),
    _metric("SpApiQuotaExceeded", "Count", "spapi", "The SP-API answered 429 QuotaExceeded.", Operation=OPERATIONS),
    _metric(
        "QuotaWaits",
        "Count",
        "turns",
        "The pacer made a step wait for its turn in Amazon's quota.",
        Operation=OPERATIONS,
    ),
    _metric("QuotaWaitSeconds", "Seconds", "turns", "How long that wait is.", Operation=OPERATIONS),
    _metric(
        "MessageWaitSeconds",
        "Seconds",
        "turns",
        "When a step is made to wait: from the request received to its turn (how late the message will be).",
        Lane=LANES,
    ),
    # --- authorization
    _metric(
        "AuthorizationLost",
        "Count",
        "auth, spapi",
        "LWA refused the refresh token (LwaInvalidGrant) or the SP-API refused the app (SpApiUnauthorized).",
        Error=AUTHORIZATION_ERRORS,
    ),
    _metric("LwaRejected", "Count", "auth", "LWA refused the client id or secret (LwaRejected)."),
    # --- steps
    _metric("StepFailures", "Count", "observability", "A step raised a named error (retried or not)."),
    _metric("ExecutionsStarted", "Count", "workflow.start_workflow", "S3 objects that started an execution."),
    _metric("StartsRejected", "Count", "workflow.start_workflow", "S3 objects that could not start one."),
    _metric("RequestsValidated", "Count", "workflow.validate_request", "A request passed its order's schema."),
    _metric("AttachmentBytesHashed", "Bytes", "workflow.hash_attachment", "Bytes of an attachment hashed."),
    _metric("UploadDestinationsCreated", "Count", "workflow.create_destination", "An upload destination created."),
    _metric("AttachmentBytesUploaded", "Bytes", "workflow.upload_attachment", "Bytes uploaded to Amazon."),
    _metric("UploadDestinationsRenewed", "Count", "workflow.upload_attachment", "An expired destination re-created."),
    # --- campaigns
    _metric("CampaignRowsToSend", "Count", "workflow.prepare_campaign", "Rows of a campaign run to send."),
    _metric("CampaignRowsFinished", "Count", "workflow.record_outcome", "A campaign's row ended (sent or not)."),
    _metric(
        "CampaignRowNotCounted", "Count", "workflow.record_outcome", "A row's outcome not counted on its campaign."
    ),
    _metric("CampaignRowsSent", "Count", "workflow.finish_campaign", "Rows a finished campaign run sent."),
    # --- operations (docs/resend.md)
    _metric(
        "MessagesResent", "Count", "resend", "Failed requests re-sent after an outage (make resend, POST /resends)."
    ),
    # --- the LWA client secret (docs/runbook-client-secret.md)
    _metric("ClientSecretDaysLeft", "Count", "rotation", "Days before Amazon's 180-day deadline (daily)."),
    _metric("ClientSecretStored", "Count", "rotation", "A new client secret from Amazon was stored."),
    _metric("ClientSecretRotationsRequested", "Count", "rotation", "A rotation was asked of Amazon."),
    # --- sellers' authorizations (README, "Onboard a seller")
    _metric(
        "SellerAuthorizationDaysLeft",
        "Count",
        "authorization_age",
        "The fewest days before an authorized seller's 365 days end (daily).",
    ),
)

BY_NAME: Mapping[str, Metric] = {metric.name: metric for metric in METRICS}


def markdown_table() -> str:
    """The README's metric table."""
    lines = [
        "| metric | unit | dimensions (besides `service`) | emitted by | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for metric in METRICS:
        dims = "; ".join(
            f"`{name}`: {', '.join(values) if len(values) <= 4 else f'{len(values)} values'}"
            for name, values in metric.dimensions.items()
        )
        lines.append(f"| `{metric.name}` | {metric.unit} | {dims or '—'} | `{metric.module}` | {metric.meaning} |")
    return "\n".join(lines)
