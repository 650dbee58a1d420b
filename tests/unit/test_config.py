"""Settings from the environment: defaults, overrides and clear errors for bad values."""

from __future__ import annotations

import dataclasses

import pytest

from buyer_messaging import config
from buyer_messaging.config import Settings
from buyer_messaging.errors import ConfigurationError
from tests import support


def test_defaults_of_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings(
        spapi_region="na",
        spapi_endpoint="https://sellingpartnerapi-na.amazon.com",
        lwa_token_url="https://api.amazon.com/auth/o2/token",
        credentials_secret_id="",
        upload_url_allowed_hosts=(),
        staging_bucket="",
        state_machine_arn="",
        workflow_table="",
        event_bus_name="default",
        status_retention_days=90,
        connect_timeout_seconds=5.0,
        read_timeout_seconds=30.0,
        seller_central_url="https://sellercentral.amazon.com",
    )


@pytest.mark.parametrize(
    ("region", "endpoint"),
    [
        ("na", "https://sellingpartnerapi-na.amazon.com"),
        ("eu", "https://sellingpartnerapi-eu.amazon.com"),
        ("fe", "https://sellingpartnerapi-fe.amazon.com"),
        ("sandbox-na", "https://sandbox.sellingpartnerapi-na.amazon.com"),
        ("sandbox-eu", "https://sandbox.sellingpartnerapi-eu.amazon.com"),
        ("sandbox-fe", "https://sandbox.sellingpartnerapi-fe.amazon.com"),
    ],
)
def test_each_region_has_its_endpoint(region: str, endpoint: str) -> None:
    settings = Settings.from_env({"SPAPI_REGION": region})
    assert (settings.spapi_region, settings.spapi_endpoint) == (region, endpoint)


@pytest.mark.parametrize(("raw", "region"), [(" EU ", "eu"), ("Sandbox-FE", "sandbox-fe"), ("", "na"), ("  ", "na")])
def test_region_is_trimmed_and_lower_cased(raw: str, region: str) -> None:
    assert Settings.from_env({"SPAPI_REGION": raw}).spapi_region == region


@pytest.mark.parametrize("region", ["us", "us-east-1", "sandbox", "sandbox-us", "europe"])
def test_bad_region(region: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"SPAPI_REGION": region})
    assert "SPAPI_REGION" in str(raised.value)
    assert "sandbox-eu" in str(raised.value)


@pytest.mark.parametrize(
    ("raw", "endpoint"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://sellingpartnerapi-eu.amazon.com//", "https://sellingpartnerapi-eu.amazon.com"),
        (" http://localhost:9000 ", "http://localhost:9000"),
        ("https://emulator.example/spapi/", "https://emulator.example/spapi"),
    ],
)
def test_endpoint_override_without_trailing_slash(raw: str, endpoint: str) -> None:
    settings = Settings.from_env({"SPAPI_REGION": "eu", "SPAPI_ENDPOINT": raw})
    assert settings.spapi_endpoint == endpoint
    assert settings.spapi_region == "eu"


def test_empty_endpoint_means_the_regions() -> None:
    assert Settings.from_env({"SPAPI_REGION": "fe", "SPAPI_ENDPOINT": "  "}).spapi_endpoint == (
        "https://sellingpartnerapi-fe.amazon.com"
    )


@pytest.mark.parametrize("variable", ["SPAPI_ENDPOINT", "LWA_TOKEN_URL"])
@pytest.mark.parametrize("value", ["sellingpartnerapi-na.amazon.com", "ftp://example.com", "localhost:8080", "/spapi"])
def test_url_that_is_no_http_url(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({variable: value})
    assert variable in str(raised.value)
    assert value in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "carries"),
    [
        ("SPAPI_ENDPOINT", "the SP-API access tokens"),
        ("LWA_TOKEN_URL", "the LWA client secret and refresh token"),
    ],
)
@pytest.mark.parametrize(
    "value",
    [
        "http://api.amazon.com/auth/o2/token",
        "http://sellingpartnerapi-na.amazon.com",
        "http://10.0.0.5:8080",
        "http://localhost.example.com",
        "http://127.0.0.1.example.com/token",
        "http://localhost@attacker.example",
        "https:///no-host",
    ],
)
def test_a_credential_url_must_be_https_unless_loopback(variable: str, carries: str, value: str) -> None:
    # One wrong setting would send the client secret and refresh token (or the access tokens) in clear.
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({variable: value})
    assert str(raised.value) == (
        f"{variable}={value!r} is not an https URL (plain http only to localhost, 127.0.0.1 or ::1): "
        f"{carries} would travel to it."
    )


@pytest.mark.parametrize("variable", ["SPAPI_ENDPOINT", "LWA_TOKEN_URL"])
@pytest.mark.parametrize(
    "value", ["http://127.0.0.1:9000/x", "http://localhost:8080", "http://[::1]:8080/x", "https://emulator.example/x"]
)
def test_a_credential_url_may_be_plain_http_to_a_loopback_host(variable: str, value: str) -> None:
    settings = Settings.from_env({variable: value})
    assert value.rstrip("/") in (settings.spapi_endpoint, settings.lwa_token_url)


def test_token_url_override() -> None:
    assert Settings.from_env({"LWA_TOKEN_URL": " http://127.0.0.1:9/auth/o2/token "}).lwa_token_url == (
        "http://127.0.0.1:9/auth/o2/token"
    )


@pytest.mark.parametrize(
    ("raw", "hosts"),
    [
        ("", ()),
        ("  ", ()),
        (",,", ()),
        ("127.0.0.1", ("127.0.0.1",)),
        (" Uploads.Example.COM , *.S3.Example.com ", ("uploads.example.com", "*.s3.example.com")),
        ("a.example,,b.example, ,", ("a.example", "b.example")),
        ("localhost,LOCALHOST", ("localhost", "localhost")),
    ],
)
def test_upload_url_allowed_hosts(raw: str, hosts: tuple[str, ...]) -> None:
    assert Settings.from_env({"UPLOAD_URL_ALLOWED_HOSTS": raw}).upload_url_allowed_hosts == hosts


def test_plain_values_are_trimmed() -> None:
    settings = Settings.from_env(
        {
            "SPAPI_CREDENTIALS_SECRET": f" {support.SECRET_ID} ",
            "STAGING_BUCKET": f"{support.BUCKET}\n",
            "STATE_MACHINE_ARN": " arn:aws:states:us-east-1:123456789012:stateMachine:x ",
            "WORKFLOW_TABLE": f"  {support.TABLE} ",
        }
    )
    assert settings.credentials_secret_id == support.SECRET_ID
    assert settings.staging_bucket == support.BUCKET
    assert settings.state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:x"
    assert settings.workflow_table == support.TABLE


@pytest.mark.parametrize(("raw", "seconds"), [("2", 2.0), ("0.5", 0.5), (" 12.25 ", 12.25), ("", None)])
def test_timeouts(raw: str, seconds: float | None) -> None:
    settings = Settings.from_env({"SPAPI_CONNECT_TIMEOUT": raw, "SPAPI_READ_TIMEOUT": raw})
    assert settings.connect_timeout_seconds == (seconds or 5.0)
    assert settings.read_timeout_seconds == (seconds or 30.0)


@pytest.mark.parametrize("variable", ["SPAPI_CONNECT_TIMEOUT", "SPAPI_READ_TIMEOUT"])
@pytest.mark.parametrize("raw", ["abc", "5s", "0", "-1", "nan", "inf", "-inf"])
def test_bad_timeouts(variable: str, raw: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({variable: raw})
    assert variable in str(raised.value)


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("credentials_secret_id", "SPAPI_CREDENTIALS_SECRET"),
        ("staging_bucket", "STAGING_BUCKET"),
        ("state_machine_arn", "STATE_MACHINE_ARN"),
        ("workflow_table", "WORKFLOW_TABLE"),
    ],
)
def test_require_names_the_environment_variable(name: str, variable: str) -> None:
    settings = Settings.from_env({})
    with pytest.raises(ConfigurationError) as raised:
        settings.require(name)
    assert variable in str(raised.value)
    assert type(raised.value).__name__ == "ConfigurationError"


def test_require_returns_a_set_value() -> None:
    settings = Settings.from_env({"STAGING_BUCKET": support.BUCKET})
    assert settings.require("staging_bucket") == support.BUCKET


def test_settings_are_immutable() -> None:
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.spapi_region = "eu"  # type: ignore[misc]


def test_get_settings_reads_the_process_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPAPI_REGION", "sandbox-eu")
    monkeypatch.setenv("SPAPI_ENDPOINT", "")
    first = config.get_settings()
    assert first.spapi_region == "sandbox-eu"
    assert first.spapi_endpoint == "https://sandbox.sellingpartnerapi-eu.amazon.com"
    assert first.staging_bucket == support.BUCKET
    assert first.workflow_table == support.TABLE
    monkeypatch.setenv("SPAPI_REGION", "fe")
    assert config.get_settings() is first
    config.get_settings.cache_clear()
    assert config.get_settings().spapi_region == "fe"


def test_get_settings_raises_for_a_bad_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPAPI_REGION", "mars")
    with pytest.raises(ConfigurationError, match="mars"):
        config.get_settings()


def test_status_retention_and_event_bus_from_the_environment() -> None:
    settings = Settings.from_env({"STATUS_RETENTION_DAYS": "400", "EVENT_BUS_NAME": "seller-bus"})
    assert (settings.status_retention_days, settings.event_bus_name) == (400, "seller-bus")


@pytest.mark.parametrize("value", ["0", "-3", "ninety", "1.5"])
def test_a_bad_status_retention_is_named(value: str) -> None:
    with pytest.raises(ConfigurationError, match="STATUS_RETENTION_DAYS"):
        Settings.from_env({"STATUS_RETENTION_DAYS": value})


def test_campaign_max_rows_defaults_to_ten_thousand_and_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).campaign_max_rows == 10_000
    assert Settings.from_env({"CAMPAIGN_MAX_ROWS": " 250 "}).campaign_max_rows == 250
    assert Settings.from_env({"CAMPAIGN_MAX_ROWS": "100000"}).campaign_max_rows == 100_000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "CAMPAIGN_MAX_ROWS must be a positive whole number, not '0'."),
        ("ten", "CAMPAIGN_MAX_ROWS must be a positive whole number, not 'ten'."),
        ("1.5", "CAMPAIGN_MAX_ROWS must be a positive whole number, not '1.5'."),
        (
            "100001",
            "CAMPAIGN_MAX_ROWS must be at most 100,000 (one Lambda reads the whole manifest), not 100,001.",
        ),
    ],
)
def test_a_bad_campaign_max_rows_is_named(value: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"CAMPAIGN_MAX_ROWS": value})
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("region", "seller_central"),
    [
        ("na", "https://sellercentral.amazon.com"),
        ("eu", "https://sellercentral-europe.amazon.com"),
        ("fe", "https://sellercentral.amazon.co.jp"),
        ("sandbox-eu", "https://sellercentral-europe.amazon.com"),
    ],
)
def test_each_region_has_its_seller_central(region: str, seller_central: str) -> None:
    assert Settings.from_env({"SPAPI_REGION": region}).seller_central_url == seller_central


def test_onboarding_settings() -> None:
    settings = Settings.from_env(
        {
            "SPAPI_APPLICATION_ID": "amzn1.sp.solution.0a1b",
            "SELLER_CENTRAL_URL": "https://sellercentral.amazon.co.uk/",
            "OAUTH_REDIRECT_URI": "https://console.example/oauth/callback",
            "OAUTH_DRAFT_APPLICATION": "TRUE",
        }
    )

    assert settings.spapi_application_id == "amzn1.sp.solution.0a1b"
    assert settings.seller_central_url == "https://sellercentral.amazon.co.uk"
    assert settings.oauth_redirect_uri == "https://console.example/oauth/callback"
    assert settings.oauth_draft_application is True


@pytest.mark.parametrize(
    ("environment", "complaint"),
    [
        ({"OAUTH_DRAFT_APPLICATION": "yes"}, "OAUTH_DRAFT_APPLICATION='yes' must be true or false."),
        (
            {"SELLER_CENTRAL_URL": "http://sellercentral.example"},
            "SELLER_CENTRAL_URL='http://sellercentral.example' is not an https URL",
        ),
    ],
)
def test_onboarding_settings_refused(environment: dict[str, str], complaint: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(environment)

    assert str(refused.value).startswith(complaint)
