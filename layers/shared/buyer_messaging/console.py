"""What the seller console reads from the API (GET /console/config.json): how it signs in, and the facts it
checks and shows, each from the module that states it: the marketplaces by region, the content type of each
extension the catalog allows, the order id pattern, the longest file name, a sentence for a seller for each
error a message can end with, the words for each step of a request's timeline, a campaign's formats, limits
and run statuses, and what the re-send page offers (the errors a re-send can mend, why a request is not re-sent, the
limits of one re-send). The console (functions/api/console/) states none of them itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from buyer_messaging import catalog, errors, marketplaces, resend
from buyer_messaging.campaigns import api as campaigns_api
from buyer_messaging.campaigns.keys import FORMATS
from buyer_messaging.campaigns.records import RunStatus
from buyer_messaging.config import Settings
from buyer_messaging.fields import AMAZON_ORDER_ID_PATTERN
from buyer_messaging.status import HELD, WAITING_FOR_QUOTA, Status

# The Step Functions error a state machine ends with when one of its own errors (States.Timeout, ...) was
# caught: a Fail state cannot raise States.* names (statemachine/send_message.asl.json, DescribeWorkflowError).
WORKFLOW_ERROR = "WorkflowError"

# The errors a message can end with (and the API's 400 and 502 answers) in words for a seller; the API's own
# message, or the record's cause, adds the details. Keyed by the classes: a name no class has cannot creep in.
SELLER_TEXTS: Mapping[type[errors.BuyerMessagingError] | str, str] = {
    errors.MessageTypeNotAvailable: (
        "Amazon does not allow this message type for this order now. It may depend on the order's state, or it can "
        "be sent only once and already was."
    ),
    errors.InvalidMessageText: "The text breaks Amazon's rules for this message type.",
    errors.InvalidAttachments: (
        "A file breaks Amazon's rules for this message type (number, type, total size or name)."
    ),
    errors.AttachmentNotFound: "A file could not be found any more. Attach it again and send again.",
    errors.AttachmentChanged: "A file was replaced while the message was being prepared. Send again.",
    errors.InvalidRequest: "The request was not complete or not well formed.",
    errors.UnknownMessageType: "This is not a message type Amazon knows.",
    errors.SpApiThrottled: "Amazon was too busy even after several retries. Try again in a minute.",
    errors.SpApiUnavailable: "Amazon could not be reached even after several retries. Try again later.",
    errors.SendOutcomeUnknown: (
        "The message went to Amazon but no answer came back, so the buyer may already have it. It was not sent "
        "again: look at the order's messages in Seller Central before sending it again."
    ),
    errors.SpApiTokenExpired: (
        "Amazon kept refusing fresh sign-in tokens as expired, even after several retries. Try again later; if it "
        "goes on, an administrator should check the app's authorization."
    ),
    errors.ActionSchemaUnreadable: (
        "Amazon described this message type in a form the app cannot read, so nothing was sent. Try again later; "
        "if it goes on, an administrator should report it."
    ),
    errors.LwaUnavailable: (
        "Amazon's sign-in service could not be reached even after several retries. Try again later."
    ),
    errors.LwaInvalidGrant: (
        "Amazon no longer accepts this app's authorization. The seller must authorize the app again in Seller "
        "Central, and an administrator must store the new refresh token."
    ),
    errors.LwaRejected: (
        "Amazon refused this app's credentials. An administrator must check the app's client id and secret."
    ),
    errors.CredentialsNotConfigured: "This app's Amazon credentials are not set up yet. Ask an administrator.",
    errors.SellerRequired: "This app serves several sellers: choose the seller the message is for.",
    errors.UnknownSeller: "This app does not serve that seller. Ask an administrator to onboard it.",
    errors.SellerMismatch: "The request names two different sellers, so nothing was sent.",
    errors.AttachmentOfAnotherSeller: (
        "A file of the message was uploaded for another seller, so nothing was sent. Upload it again for this seller."
    ),
    errors.SellerNotPermitted: "You may not send messages for this seller.",
    errors.SellerNeedsAuthorization: (
        "Amazon no longer accepts this seller's authorization of the app. The message waits until the seller "
        "authorizes the app again."
    ),
    errors.SpApiUnauthorized: (
        "Amazon refused the request: this order does not allow this message now, or the app lacks the Buyer "
        "Communication role."
    ),
    errors.SpApiInvalidInput: "Amazon rejected the message's content.",
    errors.SpApiNotFound: "Amazon does not know this order in this marketplace.",
    errors.UploadRejected: "Amazon's file storage refused a file.",
    errors.UploadDestinationExpired: ("The upload link Amazon gave expired before the file arrived. Send again."),
    errors.QuotaWaitExpired: (
        "Amazon's limit on requests for this seller left this message waiting past the deadline set for it, so it "
        "was not sent. Send it again later, or ask an administrator about QuotaWaitDeadlineHours."
    ),
    errors.UploadUrlNotAllowed: (
        "Amazon gave an upload address this app does not trust, so nothing was sent. An administrator should check "
        "UPLOAD_URL_ALLOWED_HOSTS."
    ),
    errors.UploadEndpointUnavailable: (
        "Amazon's file storage could not be reached even after several retries. Send again later."
    ),
    errors.StagingAccessDenied: (
        "The workflow may not read a file. An administrator should check the bucket's permissions."
    ),
    errors.StagingUnavailable: "The file storage was unavailable even after several retries. Send again later.",
    errors.WorkflowTableUnavailable: (
        "The workflow's records were unavailable even after several retries. Send again later."
    ),
    errors.EventBusUnavailable: (
        "The workflow could not announce the outcome even after several retries. Ask an administrator."
    ),
    errors.SendInProgress: (
        "Another attempt to send this message was still running. Look at the order's messages before sending again."
    ),
    errors.ConfigurationError: "The workflow is misconfigured. Ask an administrator.",
    WORKFLOW_ERROR: "The workflow stopped unexpectedly. Ask an administrator to look at the execution.",
}


def error_texts() -> dict[str, str]:
    """SELLER_TEXTS by error name, as the API and the status records name the errors."""
    return {(key if isinstance(key, str) else key.__name__): text for key, text in SELLER_TEXTS.items()}


# A request's timeline in words for a seller: each status of its record (buyer_messaging.status), and the
# entries that are not statuses. Keyed by the statuses themselves: a status without words cannot be added unseen.
TIMELINE_TEXTS: Mapping[Status | str, str] = {
    Status.RECEIVED: "Request received",
    Status.VALIDATED: "Checked against the order's rules",
    Status.UPLOADING: "Uploading the files to Amazon",
    Status.SENT: "Sent: Amazon accepted the message and emails the buyer",
    Status.FAILED: "Not sent",
    Status.UNKNOWN: "No answer from Amazon: the message may have reached the buyer",
    # The request keeps its status while it waits (README "Pacing Amazon's quota"); the page adds the time.
    WAITING_FOR_QUOTA: "Waiting for its turn in Amazon's quota since",
    # README "Authorization lost": the message waits for the seller to authorize the app again.
    HELD: "Held until the seller authorizes the app again, since",
}


def timeline_texts() -> dict[str, str]:
    """TIMELINE_TEXTS by the names the status record's history uses."""
    return {str(key): text for key, text in TIMELINE_TEXTS.items()}


# A campaign's run in words for a seller (campaigns.records.RunStatus), keyed by the statuses themselves.
CAMPAIGN_STATUS_TEXTS: Mapping[RunStatus, str] = {
    RunStatus.CHECKING: "Checking the manifest",
    RunStatus.RUNNING: "Sending",
    RunStatus.FINISHED: "Finished",
    RunStatus.FAILED: "Stopped: the campaign itself failed",
}


def campaigns(environment: Mapping[str, str]) -> dict[str, Any]:
    """What the campaigns page states and checks: the manifest formats, the row limit (CAMPAIGN_MAX_ROWS), the
    largest manifest the API takes, and a run's statuses in words."""
    return {
        "formats": list(FORMATS),
        "maxRows": Settings.from_env(environment).campaign_max_rows,
        "maxBytes": campaigns_api.MANIFEST_MAX_BYTES,
        "statuses": {str(status): text for status, text in CAMPAIGN_STATUS_TEXTS.items()},
    }


# Why a selected request is not re-sent (resend.REASONS), in words for a seller; the answer's detail adds the
# request's own facts ("Already re-sent as ...").
RESEND_REASON_TEXTS: Mapping[str, str] = {
    "sent": "Not re-sent: Amazon accepted it, the buyer has it",
    "outcomeUnknown": "Not re-sent: it may have reached the buyer",
    "notEnded": "Not re-sent: it is still under way",
    "alreadyResent": "Not re-sent: it was re-sent before",
    "badInput": "Not re-sent: the request itself must be fixed",
    "historyExpired": "Not re-sent: too old, its content is no longer kept",
    "campaignRow": "Not re-sent: a campaign's row, sent again by its campaign",
    "attachmentGone": "Not re-sent: one of its files is gone",
    "notFound": "Not re-sent: no request has this id",
    "startFailed": "Not started: re-send again to start it",
}


def resends() -> dict[str, Any]:
    """What the re-send page offers and states: the errors a failed request can be re-sent after (the outages'
    first: Amazon or AWS out of reach), why a request is not re-sent, and the limits of one re-send."""
    names = [name for name in error_texts() if resend.resendable(name)]
    transient = [name for name in names if getattr(errors, name, errors.BuyerMessagingError).transient]
    return {
        "errors": transient + [name for name in names if name not in transient],
        "reasons": dict(RESEND_REASON_TEXTS),
        "maxRangeDays": resend.MAX_RANGE_DAYS,
        "maxLimit": resend.MAX_LIMIT,
    }


PASSWORD_RULES = ("lowercase", "uppercase", "numbers", "symbols")


def password_policy(text: str) -> dict[str, Any]:
    """The user pool's password rules from CONSOLE_PASSWORD_POLICY ("minimumLength=12,lowercase=true,…", written
    by the template from the mapping the pool enforces), for the new-password form to state."""
    fields = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
    if not fields.get("minimumLength", "").isdigit() or any(
        fields.get(rule) not in ("true", "false") for rule in PASSWORD_RULES
    ):
        raise errors.ConfigurationError(f"CONSOLE_PASSWORD_POLICY is not the template's password policy: {text!r}")
    return {"minimumLength": int(fields["minimumLength"]), **{rule: fields[rule] == "true" for rule in PASSWORD_RULES}}


def sign_in(environment: Mapping[str, str]) -> dict[str, Any] | None:
    """The Cognito user pool deployed with the console and its password rules, or None: no sign-in (the local
    stack)."""
    pool, client = environment.get("CONSOLE_USER_POOL_ID", ""), environment.get("CONSOLE_CLIENT_ID", "")
    if not pool or not client:
        return None
    return {
        "region": environment.get("AWS_REGION", ""),
        "userPoolId": pool,
        "clientId": client,
        "passwordPolicy": password_policy(environment.get("CONSOLE_PASSWORD_POLICY", "")),
    }


def config(environment: Mapping[str, str]) -> dict[str, Any]:
    """The document GET /console/config.json serves (docs/api.md, "Console")."""
    return {
        "auth": sign_in(environment),
        "regions": [
            {
                "region": region,
                "name": name,
                "marketplaces": [
                    {"marketplaceId": market.marketplace_id, "countryCode": market.country_code, "name": market.name}
                    for market in marketplaces.MARKETPLACE_LIST
                    if market.region == region
                ],
            }
            for region, name in marketplaces.REGIONS.items()
        ],
        "contentTypes": dict(catalog.ATTACHMENT_CONTENT_TYPES),
        "orderIdPattern": AMAZON_ORDER_ID_PATTERN.pattern,
        "fileNameMaxLength": catalog.FILE_NAME_MAX_LENGTH,
        "errors": error_texts(),
        "timeline": timeline_texts(),
        "campaigns": campaigns(environment),
        "resend": resends(),
    }
