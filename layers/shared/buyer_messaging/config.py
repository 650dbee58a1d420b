"""Settings read once from the environment into a typed, immutable object."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from buyer_messaging.errors import ConfigurationError
from buyer_messaging.urls import is_secure_url

DEFAULT_LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105  (a URL, not a secret)
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
DEFAULT_READ_TIMEOUT_SECONDS = 30.0
# The presigned PUT waits at least this long for S3's answer once the body is sent (a large file's last bytes).
UPLOAD_MIN_READ_TIMEOUT_SECONDS = 60.0
# One SP-API operation at its longest (buyer_messaging.spapi.SpApiClient.call): a token from Login with Amazon,
# the call, then, when Amazon refuses the token, a fresh token and the call once more. Each exchange may take
# the connect timeout and then the read timeout. The functions' Lambda timeouts, and the states' TimeoutSeconds
# above them, are set from this (tests/static/test_timeouts.py), so that a state times out only when Amazon
# itself does not answer, and a send that gets no answer ends in the client's own read timeout, where it is
# known to be a send whose outcome is unknown (SendOutcomeUnknown), not in a Lambda or state timeout.
HTTP_EXCHANGES_PER_SPAPI_CALL = 4

# Production and sandbox endpoints by SP-API region (Amazon's "SP-API endpoints" documentation).
REGION_ENDPOINTS: Mapping[str, str] = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
    "sandbox-na": "https://sandbox.sellingpartnerapi-na.amazon.com",
    "sandbox-eu": "https://sandbox.sellingpartnerapi-eu.amazon.com",
    "sandbox-fe": "https://sandbox.sellingpartnerapi-fe.amazon.com",
}


@dataclass(frozen=True, slots=True)
class Settings:
    spapi_region: str
    spapi_endpoint: str
    lwa_token_url: str
    credentials_secret_id: str
    # Empty: only Amazon S3 hosts (see buyer_messaging.uploads); else host patterns, "*." wildcards.
    upload_url_allowed_hosts: tuple[str, ...]
    staging_bucket: str
    state_machine_arn: str  # the send-message state machine
    workflow_table: str
    # EventBridge bus for MessageSent / MessageFailed; the account's default bus unless set.
    event_bus_name: str
    status_retention_days: int
    connect_timeout_seconds: float
    read_timeout_seconds: float
    # The selling partner whose usage plans the pacer follows (see buyer_messaging.turns.seller_key).
    selling_partner_id: str = ""
    # How long a message may wait for Amazon's quota, from when it was received, before QuotaWaitExpired.
    quota_wait_deadline_hours: float = 24.0
    # How long a message may be held while its seller needs authorization, from when it was received, before it
    # fails SellerNeedsAuthorization (buyer_messaging.authorization_hold).
    authorization_hold_hours: float = 72.0
    # The pacer's clock runs this many times faster than real time: set by the local stack only, to the
    # factor its Wait states and Retry intervals run faster (never set on AWS).
    pacer_clock_speedup: float = 1.0
    # The campaign state machine, which a manifest staged under campaigns/ starts (buyer_messaging.trigger).
    campaign_state_machine_arn: str = ""
    # The LWA client secret is rotated once it is this many days old (buyer_messaging.rotation); Amazon's
    # deadline is 180 days, and the old secret works seven days after a rotation.
    client_secret_rotation_days: int = 90
    # The most data rows a campaign's manifest may have (buyer_messaging.campaigns.manifest).
    campaign_max_rows: int = 10_000
    # Each onboarded seller's refresh token lives in the secret named this prefix + its selling partner id
    # (buyer_messaging.sellers); the template gives the stack's own prefix, which its IAM statements name.
    seller_secret_prefix: str = ""
    # The KMS key that encrypts the sellers' secrets (empty: Secrets Manager's own key for the account).
    seller_secret_kms_key: str = ""
    # Onboarding (buyer_messaging.onboarding): the SP-API application's id (amzn1.sp.solution.…), the Seller
    # Central whose consent page sellers are sent to, the redirect URI registered in Developer Central (the
    # callback route), and whether the application is still a draft (its consent URI then needs version=beta).
    spapi_application_id: str = ""
    seller_central_url: str = ""
    oauth_redirect_uri: str = ""
    oauth_draft_application: bool = False

    def spapi_call_seconds(self) -> float:
        """The longest one SP-API operation can take before its client gives up (tokens included)."""
        return HTTP_EXCHANGES_PER_SPAPI_CALL * (self.connect_timeout_seconds + self.read_timeout_seconds)

    @property
    def upload_timeout(self) -> tuple[float, float]:
        """(connect, read) timeouts of the presigned PUT."""
        return self.connect_timeout_seconds, max(self.read_timeout_seconds, UPLOAD_MIN_READ_TIMEOUT_SECONDS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        region = env.get("SPAPI_REGION", "na").strip().lower() or "na"
        if region not in REGION_ENDPOINTS:
            raise ConfigurationError(
                f"SPAPI_REGION={region!r} is not an SP-API region; use one of {', '.join(REGION_ENDPOINTS)}."
            )
        endpoint = env.get("SPAPI_ENDPOINT", "").strip().rstrip("/") or REGION_ENDPOINTS[region]
        _require_secure_url("SPAPI_ENDPOINT", endpoint)
        token_url = env.get("LWA_TOKEN_URL", "").strip() or DEFAULT_LWA_TOKEN_URL
        _require_secure_url("LWA_TOKEN_URL", token_url)
        hosts = tuple(
            host.strip().lower() for host in env.get("UPLOAD_URL_ALLOWED_HOSTS", "").split(",") if host.strip()
        )
        return cls(
            spapi_region=region,
            spapi_endpoint=endpoint,
            lwa_token_url=token_url,
            credentials_secret_id=env.get("SPAPI_CREDENTIALS_SECRET", "").strip(),
            upload_url_allowed_hosts=hosts,
            staging_bucket=env.get("STAGING_BUCKET", "").strip(),
            state_machine_arn=env.get("STATE_MACHINE_ARN", "").strip(),
            workflow_table=env.get("WORKFLOW_TABLE", "").strip(),
            event_bus_name=env.get("EVENT_BUS_NAME", "").strip() or "default",
            status_retention_days=_positive_int(env, "STATUS_RETENTION_DAYS", 90),
            connect_timeout_seconds=_positive_float(env, "SPAPI_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT_SECONDS),
            read_timeout_seconds=_positive_float(env, "SPAPI_READ_TIMEOUT", DEFAULT_READ_TIMEOUT_SECONDS),
            selling_partner_id=env.get("SELLING_PARTNER_ID", "").strip(),
            quota_wait_deadline_hours=_positive_float(env, "QUOTA_WAIT_DEADLINE_HOURS", 24.0, unit="hours"),
            authorization_hold_hours=_positive_float(env, "AUTHORIZATION_HOLD_HOURS", 72.0, unit="hours"),
            pacer_clock_speedup=_positive_float(env, "PACER_CLOCK_SPEEDUP", 1.0, unit="times real time"),
            campaign_state_machine_arn=env.get("CAMPAIGN_STATE_MACHINE_ARN", "").strip(),
            client_secret_rotation_days=_rotation_days(env),
            campaign_max_rows=_campaign_max_rows(env),
            seller_secret_prefix=env.get("SELLER_SECRET_PREFIX", "").strip(),
            seller_secret_kms_key=env.get("SELLER_SECRET_KMS_KEY", "").strip(),
            spapi_application_id=env.get("SPAPI_APPLICATION_ID", "").strip(),
            seller_central_url=_seller_central_url(env, region),
            oauth_redirect_uri=env.get("OAUTH_REDIRECT_URI", "").strip(),
            oauth_draft_application=_flag(env, "OAUTH_DRAFT_APPLICATION"),
        )

    def require(self, name: str) -> str:
        """The value of a setting a function cannot work without, or a clear error naming its variable."""
        value: str = getattr(self, name)
        if not value:
            variable = _VARIABLE_OF[name]
            raise ConfigurationError(f"{variable} is not set; the function cannot work without it.")
        return value


_VARIABLE_OF = {
    "credentials_secret_id": "SPAPI_CREDENTIALS_SECRET",
    "staging_bucket": "STAGING_BUCKET",
    "state_machine_arn": "STATE_MACHINE_ARN",
    "campaign_state_machine_arn": "CAMPAIGN_STATE_MACHINE_ARN",
    "workflow_table": "WORKFLOW_TABLE",
    "seller_secret_prefix": "SELLER_SECRET_PREFIX",
    "spapi_application_id": "SPAPI_APPLICATION_ID",
    "oauth_redirect_uri": "OAUTH_REDIRECT_URI",
}

# The Seller Central a region's sellers sign in to (SP-API docs "Seller Central URLs"): the consent page's host
# unless SELLER_CENTRAL_URL names the seller's own marketplace's (sellercentral.amazon.co.uk, …).
SELLER_CENTRAL_URLS: Mapping[str, str] = {
    "na": "https://sellercentral.amazon.com",
    "eu": "https://sellercentral-europe.amazon.com",
    "fe": "https://sellercentral.amazon.co.jp",
}


def _seller_central_url(env: Mapping[str, str], region: str) -> str:
    url = env.get("SELLER_CENTRAL_URL", "").strip().rstrip("/") or SELLER_CENTRAL_URLS[region.removeprefix("sandbox-")]
    _require_secure_url("SELLER_CENTRAL_URL", url)
    return url


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value not in ("", "true", "false"):
        raise ConfigurationError(f"{name}={value!r} must be true or false.")
    return value == "true"


# What each URL setting would carry: a plain-http URL to another host would send it in clear.
_CARRIES = {
    "SPAPI_ENDPOINT": "the SP-API access tokens",
    "LWA_TOKEN_URL": "the LWA client secret and refresh token",
    "SELLER_CENTRAL_URL": "the sellers to their sign-in",
}


def _require_secure_url(variable: str, value: str) -> None:
    """The rule of buyer_messaging.urls (the template's AllowedPattern is the same): https, else a loopback host."""
    if not is_secure_url(value):
        raise ConfigurationError(
            f"{variable}={value!r} is not an https URL (plain http only to localhost, 127.0.0.1 or ::1): "
            f"{_CARRIES[variable]} would travel to it."
        )


def _positive_float(env: Mapping[str, str], variable: str, default: float, *, unit: str = "seconds") -> float:
    raw = env.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{variable}={raw!r} is not a number of {unit}.") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{variable} must be a positive number of {unit}, not {raw}.")
    return value


def _positive_int(env: Mapping[str, str], variable: str, default: int) -> int:
    raw = env.get(variable, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigurationError(f"{variable} must be a positive whole number, not {raw!r}.")
    return int(raw)


# A rotation's new secret must be stored before the old one's seven days run out, and both before Amazon's
# 180-day deadline: rotating later than day 173 leaves no room.
MAX_ROTATION_DAYS = 180 - 7


def _rotation_days(env: Mapping[str, str]) -> int:
    return _bounded_int(
        env,
        "CLIENT_SECRET_ROTATION_DAYS",
        90,
        MAX_ROTATION_DAYS,
        "Amazon's 180-day deadline less the old secret's seven days",
    )


# One Lambda reads and checks a whole manifest (buyer_messaging.campaigns.manifest) before anything is sent, and at
# Amazon's default pace (about 1 message/s) 100,000 rows already take more than a day.
MAX_CAMPAIGN_ROWS = 100_000


def _campaign_max_rows(env: Mapping[str, str]) -> int:
    return _bounded_int(env, "CAMPAIGN_MAX_ROWS", 10_000, MAX_CAMPAIGN_ROWS, "one Lambda reads the whole manifest")


def _bounded_int(env: Mapping[str, str], variable: str, default: int, maximum: int, why: str) -> int:
    value = _positive_int(env, variable, default)
    if value > maximum:
        raise ConfigurationError(f"{variable} must be at most {maximum:,} ({why}), not {value:,}.")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, parsed on first use (environment variables do not change)."""
    return Settings.from_env()
