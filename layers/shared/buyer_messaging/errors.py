"""Named errors. The class name is the error name Step Functions sees, retries or catches.

Transient errors (:class:`TransientError`) are retried by the state machine with backoff and jitter;
every other :class:`BuyerMessagingError` is permanent: retrying cannot help, a person has to act.
``bad_input`` marks the errors about what the seller sent (the request, its files, the order it names): the
seller fixes the request and sends it anew; every other failure is the stack's, Amazon's or an outage's, and
is what wakes an operator (MessagesFailed's ``Reason``, buyer_messaging.metric_catalog).
The message of every error is written for that person: what is wrong and what to do.
"""

from __future__ import annotations


class BuyerMessagingError(Exception):
    """Base of every error this package raises on purpose.

    ``problems`` lists (field, what is wrong) pairs when the error is about named fields of the input,
    so an API can answer with field-level errors; the message always says it all in one sentence too.
    """

    transient = False
    bad_input = False

    def __init__(self, message: str, *, problems: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class TransientError(BuyerMessagingError):
    """A failure that may pass by itself; the state machine retries it."""

    transient = True


# --- Input: the request document, the S3 key, the files -------------------------------------------------


class InvalidRequest(BuyerMessagingError):
    """The request document or event is malformed (missing field, wrong type, bad identifier)."""

    bad_input = True


class UnknownMessageType(BuyerMessagingError):
    """The message type is not one of the Messaging API's message types."""

    bad_input = True


class MessageTypeNotAvailable(BuyerMessagingError):
    """Amazon does not allow this message type for this order now (order state, already sent, ...)."""

    bad_input = True


class InvalidMessageText(BuyerMessagingError):
    """The text breaks the message type's rules (required, not allowed, too long)."""

    bad_input = True


class InvalidAttachments(BuyerMessagingError):
    """The attachments break the message type's rules (count, file type, size, empty file, file name)."""

    bad_input = True


class AttachmentNotFound(BuyerMessagingError):
    """A staged attachment does not exist (wrong key or bucket, or it was deleted)."""

    bad_input = True


class AttachmentChanged(BuyerMessagingError):
    """A staged attachment was replaced or changed while the message was being prepared."""

    bad_input = True


class UnsupportedS3Key(BuyerMessagingError):
    """An S3 object key fits neither ``outbox/...`` nor ``requests/{name}.json``."""

    bad_input = True


class IdempotencyKeyReused(BuyerMessagingError):
    """An Idempotency-Key that already started a request was sent again with another message."""

    bad_input = True


class RequestNotFound(BuyerMessagingError):
    """No request has this id (never started, or its record expired)."""


class UnsupportedContentType(BuyerMessagingError):
    """HTTP API: a JSON route was sent a body under another Content-Type than ``application/json`` (UTF-8)."""

    bad_input = True


class StagingUnavailable(TransientError):
    """S3 (the staging bucket) throttled or failed; retried."""


class ExecutionStartFailed(TransientError):
    """Step Functions throttled or failed a StartExecution; the S3 event is delivered again."""


class StagingAccessDenied(BuyerMessagingError):
    """The function may not read the staged object (bucket outside the stack, KMS key policy, ...)."""

    bad_input = True


# --- Campaigns: the manifest and its rows (buyer_messaging.campaigns.manifest) ------------------------------


class ManifestInvalid(BuyerMessagingError):
    """A campaign's manifest cannot be read as a whole (empty, no rows, not UTF-8, not comma-separated, a header
    with unknown, repeated or missing columns, not JSON lines): nothing of it is sent. Fix the file and upload it
    again."""

    bad_input = True


class ManifestTooLarge(BuyerMessagingError):
    """A campaign's manifest has more rows than ``CAMPAIGN_MAX_ROWS`` allows: nothing of it is sent. Split it into
    manifests within the limit, or raise the limit (template parameter ``CampaignMaxRows``)."""

    bad_input = True


class DuplicateRow(BuyerMessagingError):
    """A manifest row repeats an earlier row (same order, type, text and attachments): it is not sent, so the buyer
    gets the message once. Remove the row, or change it if a second message was meant."""

    bad_input = True


# --- Campaigns: the record and its runs (buyer_messaging.campaigns.records) ---------------------------------


class CampaignNotFound(BuyerMessagingError):
    """No campaign has this id (never started, or its record expired)."""


class CampaignRunning(BuyerMessagingError):
    """The campaign's latest run has not ended yet: it is started again only once that run finished or failed."""


class ReportNotFound(BuyerMessagingError):
    """HTTP API: the campaign has no report: its only run failed before writing one. Start it again."""


class CampaignExists(BuyerMessagingError):
    """HTTP API: a manifest of this name is already staged (``campaigns/{name}.*``) with other content. A new
    version would start a new campaign that messages every buyer of it again: choose another name, or send
    ``replace: true`` when a second campaign is meant."""


# --- Re-sending failed requests after an outage (buyer_messaging.resend) ----------------------------------


class ResendSelectionInvalid(BuyerMessagingError):
    """A re-send's selection says nothing to select (no range, order, request ids or campaign), names a campaign with
    another filter (its next run takes all its failed rows), or a range wider than the index's limit. Nothing was
    re-sent."""


class ResendLimitExceeded(BuyerMessagingError):
    """A re-send would start more new executions than its ``limit`` allows: nothing was re-sent. Narrow the range or
    the errors, or raise the limit up to its maximum."""


# --- Sellers: which seller a request is for, and whose it may be ------------------------------------------


class SellerRequired(BuyerMessagingError):
    """The deployment serves several sellers and the request does not say which one it is for."""

    bad_input = True


class UnknownSeller(BuyerMessagingError):
    """The request names a selling partner this deployment does not serve (never onboarded, or removed)."""

    bad_input = True


class SellerMismatch(BuyerMessagingError):
    """Two parts of one request name different sellers (the S3 key's seller segment and the document's field)."""

    bad_input = True


class AttachmentOfAnotherSeller(BuyerMessagingError):
    """A request for one seller names a file staged for another seller: never sent to this seller's buyer."""

    bad_input = True


class SellerNotPermitted(BuyerMessagingError):
    """The caller may not act for this seller (a console user acts only for the sellers of their groups)."""


class SellerNeedsAuthorization(BuyerMessagingError):
    """The seller's authorization of the application is lost (its refresh token was refused): its messages wait
    until the seller authorizes the application again."""


class SellerSecretUnavailable(TransientError):
    """Secrets Manager failed while a seller's secret was written or deleted; trying again may pass."""


class AuthorizationStateInvalid(BuyerMessagingError):
    """The OAuth redirect's ``state`` is missing, unknown, expired, used already or not this browser's."""

    bad_input = True


class AuthorizationCodeRefused(BuyerMessagingError):
    """Login with Amazon refused the authorization code (expired, used already, or for another redirect URI)."""


class InvitationInvalid(BuyerMessagingError):
    """The onboarding invitation is unknown, expired or used already."""

    bad_input = True


# --- Configuration and credentials -----------------------------------------------------------------------


class ConfigurationError(BuyerMessagingError):
    """An environment variable is missing or invalid."""


class CredentialsNotConfigured(BuyerMessagingError):
    """The LWA credentials secret is missing, empty or not the expected JSON."""


class LwaInvalidGrant(BuyerMessagingError):
    """LWA refused the refresh token: the seller must authorize the application again."""


class LwaRejected(BuyerMessagingError):
    """LWA refused the token request for another reason (client id or secret wrong, ...). ``code`` is LWA's
    ``error`` (``invalid_client`` for a client id or secret it does not take, a rotated-out secret among them)."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class LwaUnavailable(TransientError):
    """LWA could not be reached or answered with a server error; retried."""


# --- The LWA client secret's rotation (buyer_messaging.rotation) ----------------------------------------


class ClientSecretRotationNotEnrolled(BuyerMessagingError):
    """rotateApplicationClientSecret answered 400: no SQS queue is registered for the new secret's notification
    in the Developer Console, so Amazon would have nowhere to send it; nothing was rotated."""


class ClientSecretRotationRefused(BuyerMessagingError):
    """rotateApplicationClientSecret answered 403: the grantless token was refused (wrong scope, a sandbox
    application, an application without access)."""


class ClientSecretNotStored(BuyerMessagingError):
    """A rotation asked for less than seven days ago has not been stored yet: another one could end the stored
    secret (Amazon documents one old secret working seven days, not two), so none is asked for."""


class ClientSecretNotificationInvalid(BuyerMessagingError):
    """A message on the client secret queue is not an Amazon notification about the client secret."""


class ClientSecretForAnotherClient(BuyerMessagingError):
    """A client secret notification names another LWA client id than the credentials secret's: not stored."""


# --- SP-API answers --------------------------------------------------------------------------------------


class SpApiError(BuyerMessagingError):
    """An SP-API call failed. ``status`` and ``code`` come from Amazon's answer when there was one."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.request_id = request_id


class SpApiThrottled(SpApiError, TransientError):
    """429 QuotaExceeded: over the operation's rate; retried with backoff."""


class SpApiUnavailable(SpApiError, TransientError):
    """5xx, a connection that could not be made (refused, DNS, connect timeout), or no answer to a call that
    changes nothing at Amazon's (a read timeout of a GET); retried. A send without an answer is
    :class:`SendOutcomeUnknown`."""


class SpApiTokenExpired(SpApiError, TransientError):
    """403 "The access token you provided has expired." even for a token fresh from LWA; retried with backoff."""


class SendOutcomeUnknown(SpApiError):
    """A send's request left but its answer never came (a read timeout, the connection reset after the request
    was sent): Amazon may have delivered the message. Permanent: the Messaging API takes no idempotency key, so
    sending again blindly could message the buyer twice; a person checks first."""


class SpApiUnauthorized(SpApiError):
    """403: the access token is not accepted or the app lacks the Buyer Communication role."""


class SpApiInvalidInput(SpApiError):
    """400 (or 413/415): Amazon rejected the request's content."""

    bad_input = True


class SpApiNotFound(SpApiError):
    """404: Amazon does not know the order (or the resource)."""

    bad_input = True


class QuotaWaitExpired(BuyerMessagingError):
    """The message's turn in Amazon's quota would come after the deadline the seller allows
    (``QuotaWaitDeadlineHours`` from when it was received); it was not sent."""


class ActionSchemaUnreadable(BuyerMessagingError):
    """Amazon lists the message type for the order, but its embedded schema cannot be read: the order's limits
    (and whether the type is disabled) are unknown, so nothing is uploaded or sent."""


# --- The presigned upload ------------------------------------------------------------------------------


class UploadUrlNotAllowed(BuyerMessagingError):
    """The presigned URL is not https on an allowed host; no byte was sent."""


class UploadRejected(BuyerMessagingError):
    """The upload endpoint refused the file (BadDigest, SignatureDoesNotMatch, ...)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class UploadDestinationExpired(UploadRejected):
    """The presigned URL expired before the upload (they live 15 minutes)."""


class SendInProgress(TransientError):
    """Another invocation is sending this very message right now; retried, and then answered from its record."""


class WorkflowTableUnavailable(TransientError):
    """DynamoDB (the workflow table) throttled or failed; retried."""


class EventBusUnavailable(TransientError):
    """EventBridge did not take the MessageSent / MessageFailed event (throttled, failed); retried."""


class UploadEndpointUnavailable(TransientError):
    """The upload endpoint could not be reached, answered 5xx, or answered an S3 error that asks for a retry
    (``RequestTimeout`` when the body stalled, ``SlowDown``, ``InternalError``) whatever its status; retried."""


def is_bad_input(name: str) -> bool:
    """Whether the error of this name (as Step Functions saw it) is about the seller's input."""
    found = globals().get(name)
    return isinstance(found, type) and issubclass(found, BuyerMessagingError) and found.bad_input


def error_name(error: BaseException) -> str:
    """The name under which Step Functions and the logs know ``error``."""
    return type(error).__name__
