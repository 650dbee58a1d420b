"""The local stand-in of the console's Cognito user pool (local/local_stack/cognito_standin.py): faithful to
Cognito where the console depends on it.

The oracle is pycognito (2024.5.1), the SRP client many use against real Cognito: its AWSSRP signs in here through
boto3 pointed at the stand-in on 127.0.0.1. If the stand-in's SRP (constants, paddings, HKDF, the signed message,
the timestamp) differed from Cognito's, pycognito would be refused. Then the refusals, each with Cognito's
``__type`` and message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP, ForceChangePasswordException, SoftwareTokenMFAChallengeException

from local_stack.cognito_standin import (
    SESSION_SECONDS,
    G,
    K,
    N,
    UserPool,
    hex_hash,
    hkdf16,
    pad_hex,
    password_hash,
    serve,
    timestamp_now,
    totp,
)

POOL_ID = "eu-west-1_Example1"
CLIENT_ID = "client123"
EMAIL = "seller@example.com"
PASSWORD = "Correct-Horse-9"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pool(clock: Clock) -> UserPool:
    return UserPool(POOL_ID, CLIENT_ID, mfa="ON", clock=clock)


@pytest.fixture
def cognito(pool: UserPool, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """boto3's cognito-idp client, pointed at the stand-in (InitiateAuth and the rest are unsigned calls)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with serve(pool) as url:
        yield boto3.client("cognito-idp", endpoint_url=url, config=Config(retries={"max_attempts": 1}))


def refusal(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


def claims(id_token: str) -> dict[str, Any]:
    payload = id_token.split(".")[1]
    loaded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return loaded


# ------------------------------------------------------------------------------------------------ pycognito


def test_pycognito_signs_in_a_user_with_totp_through_srp(pool: UserPool, cognito: Any, clock: Clock) -> None:
    pool.create_confirmed_user(EMAIL, PASSWORD, totp_secret=SECRET)
    srp = AWSSRP(EMAIL, PASSWORD, POOL_ID, CLIENT_ID, client=cognito)
    clock.now = time.time()  # pycognito signs with the real time; the pool must agree on it
    with pytest.raises(SoftwareTokenMFAChallengeException) as challenged:
        srp.authenticate_user()
    challenge = challenged.value.get_tokens()
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    answer = cognito.respond_to_auth_challenge(
        ClientId=CLIENT_ID,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=challenge["Session"],
        ChallengeResponses={
            "USERNAME": challenge["ChallengeParameters"]["USER_ID_FOR_SRP"],
            "SOFTWARE_TOKEN_MFA_CODE": totp(SECRET, clock.now),
        },
    )
    result = answer["AuthenticationResult"]
    assert result["ExpiresIn"] == 3600 and result["TokenType"] == "Bearer"
    id_claims = claims(result["IdToken"])
    assert id_claims["email"] == EMAIL
    assert id_claims["exp"] == int(clock.now) + 3600
    assert id_claims["aud"] == CLIENT_ID and id_claims["token_use"] == "id"
    assert id_claims["iss"] == f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL_ID}"


def test_pycognito_with_a_wrong_password_is_refused(pool: UserPool, cognito: Any) -> None:
    pool.create_confirmed_user(EMAIL, PASSWORD, totp_secret=SECRET)
    with pytest.raises(ClientError) as raised:
        AWSSRP(EMAIL, PASSWORD + "x", POOL_ID, CLIENT_ID, client=cognito).authenticate_user()
    assert refusal(raised) == ("NotAuthorizedException", "Incorrect username or password.")


def test_pycognito_sets_a_new_password_then_signs_in_with_it(pool: UserPool, cognito: Any) -> None:
    pool.mfa = "OPTIONAL"
    pool.admin_create_user(EMAIL, "Temporary-Pass-1")
    with pytest.raises(ForceChangePasswordException):
        AWSSRP(EMAIL, "Temporary-Pass-1", POOL_ID, CLIENT_ID, client=cognito).authenticate_user()
    answer = AWSSRP(EMAIL, "Temporary-Pass-1", POOL_ID, CLIENT_ID, client=cognito).set_new_password_challenge(
        "My-Own-Password-2"
    )
    assert claims(answer["AuthenticationResult"]["IdToken"])["email"] == EMAIL
    tokens = AWSSRP(EMAIL, "My-Own-Password-2", POOL_ID, CLIENT_ID, client=cognito).authenticate_user()
    assert claims(tokens["AuthenticationResult"]["IdToken"])["email"] == EMAIL
    with pytest.raises(ClientError) as raised:  # the temporary password is gone
        AWSSRP(EMAIL, "Temporary-Pass-1", POOL_ID, CLIENT_ID, client=cognito).authenticate_user()
    assert refusal(raised) == ("NotAuthorizedException", "Incorrect username or password.")


def test_an_unknown_user_is_refused_like_a_wrong_password(cognito: Any) -> None:
    with pytest.raises(ClientError) as raised:
        AWSSRP("nobody@example.com", PASSWORD, POOL_ID, CLIENT_ID, client=cognito).authenticate_user()
    assert refusal(raised) == ("NotAuthorizedException", "Incorrect username or password.")


def test_user_password_auth_is_refused_when_the_client_does_not_allow_it(pool: UserPool, cognito: Any) -> None:
    pool.create_confirmed_user(EMAIL, PASSWORD)
    with pytest.raises(ClientError) as raised:
        cognito.initiate_auth(
            ClientId=CLIENT_ID, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": EMAIL, "PASSWORD": PASSWORD}
        )
    assert refusal(raised) == ("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")


# ------------------------------------------------------------------------------------------------ by hand


def verifier_answer(
    pool: UserPool, challenge: dict[str, Any], password: str, small_a: int, at: float
) -> dict[str, str]:
    """PASSWORD_VERIFIER's answer computed here as a client does (the same math pycognito checks above)."""
    parameters = challenge["ChallengeParameters"]
    big_a, big_b = pow(G, small_a, N), int(parameters["SRP_B"], 16)
    user_id, salt = parameters["USER_ID_FOR_SRP"], parameters["SALT"]
    u = int(hex_hash(pad_hex(big_a) + pad_hex(big_b)), 16)
    x = int(hex_hash(pad_hex(salt) + password_hash(pool.pool_name, user_id, password)), 16)
    s = pow(big_b - K * pow(G, x, N), small_a + u * x, N)
    key = hkdf16(bytes.fromhex(pad_hex(s)), bytes.fromhex(pad_hex(u)))
    stamp = timestamp_now(at)
    block = parameters["SECRET_BLOCK"]
    message = pool.pool_name.encode() + user_id.encode() + base64.b64decode(block) + stamp.encode()
    return {
        "USERNAME": parameters["USERNAME"],
        "PASSWORD_CLAIM_SECRET_BLOCK": block,
        "TIMESTAMP": stamp,
        "PASSWORD_CLAIM_SIGNATURE": base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode(),
    }


def start(pool: UserPool, password: str) -> tuple[int, dict[str, Any]]:
    small_a = 12345678901234567890123456789
    status, challenge = pool.handle(
        "AWSCognitoIdentityProviderService.InitiateAuth",
        {
            "ClientId": CLIENT_ID,
            "AuthFlow": "USER_SRP_AUTH",
            "AuthParameters": {"USERNAME": EMAIL, "SRP_A": f"{pow(G, small_a, N):x}"},
        },
    )
    assert status == 200, challenge
    return pool.handle(
        "AWSCognitoIdentityProviderService.RespondToAuthChallenge",
        {
            "ClientId": CLIENT_ID,
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeResponses": verifier_answer(pool, challenge, password, small_a, pool.clock()),
        },
    )


def respond(pool: UserPool, name: str, session: str, **answers: str) -> tuple[int, dict[str, Any]]:
    return pool.handle(
        "AWSCognitoIdentityProviderService.RespondToAuthChallenge",
        {"ClientId": CLIENT_ID, "ChallengeName": name, "Session": session, "ChallengeResponses": answers},
    )


def test_the_timestamp_is_cognitos_format_with_the_day_not_padded() -> None:
    assert timestamp_now(1_136_214_245) == "Mon Jan 2 15:04:05 UTC 2006"


def test_a_wrong_totp_code_is_refused_and_the_right_one_then_accepted(pool: UserPool, clock: Clock) -> None:
    user = pool.create_confirmed_user(EMAIL, PASSWORD, totp_secret=SECRET)
    status, challenge = start(pool, PASSWORD)
    assert (status, challenge["ChallengeName"]) == (200, "SOFTWARE_TOKEN_MFA")
    right = totp(SECRET, clock.now)
    wrong = next(code for code in ("000000", "111111") if code not in {totp(SECRET, clock.now, k) for k in (-1, 0, 1)})
    assert respond(
        pool, "SOFTWARE_TOKEN_MFA", challenge["Session"], USERNAME=user.sub, SOFTWARE_TOKEN_MFA_CODE=wrong
    ) == (
        400,
        {"__type": "CodeMismatchException", "message": "Invalid code or auth state for the user."},
    )
    # A code from two steps ago is outside the ±1 step Cognito allows.
    old = totp(SECRET, clock.now, -2)
    if old not in {totp(SECRET, clock.now, k) for k in (-1, 0, 1)}:
        assert (
            respond(pool, "SOFTWARE_TOKEN_MFA", challenge["Session"], USERNAME=user.sub, SOFTWARE_TOKEN_MFA_CODE=old)[0]
            == 400
        )
    status, tokens = respond(
        pool, "SOFTWARE_TOKEN_MFA", challenge["Session"], USERNAME=user.sub, SOFTWARE_TOKEN_MFA_CODE=right
    )
    assert status == 200 and claims(tokens["AuthenticationResult"]["IdToken"])["email"] == EMAIL
    # The session is spent: the same answer again is refused.
    assert respond(
        pool, "SOFTWARE_TOKEN_MFA", challenge["Session"], USERNAME=user.sub, SOFTWARE_TOKEN_MFA_CODE=right
    ) == (
        400,
        {"__type": "NotAuthorizedException", "message": "Invalid session for the user."},
    )


def test_a_session_expires_after_three_minutes(pool: UserPool, clock: Clock) -> None:
    pool.create_confirmed_user(EMAIL, PASSWORD, totp_secret=SECRET)
    _, challenge = start(pool, PASSWORD)
    clock.now += SESSION_SECONDS + 1
    answer = respond(
        pool,
        "SOFTWARE_TOKEN_MFA",
        challenge["Session"],
        USERNAME=EMAIL,
        SOFTWARE_TOKEN_MFA_CODE=totp(SECRET, clock.now),
    )
    assert answer == (
        400,
        {"__type": "NotAuthorizedException", "message": "Invalid session for the user, session is expired."},
    )


def test_a_password_verifier_secret_block_is_used_once(pool: UserPool, clock: Clock) -> None:
    pool.mfa = "OPTIONAL"
    pool.create_confirmed_user(EMAIL, PASSWORD)
    small_a = 987654321987654321
    _, challenge = pool.handle(
        "AWSCognitoIdentityProviderService.InitiateAuth",
        {
            "ClientId": CLIENT_ID,
            "AuthFlow": "USER_SRP_AUTH",
            "AuthParameters": {"USERNAME": EMAIL, "SRP_A": f"{pow(G, small_a, N):x}"},
        },
    )
    body = {
        "ClientId": CLIENT_ID,
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeResponses": verifier_answer(pool, challenge, PASSWORD, small_a, clock.now),
    }
    status, first = pool.handle("AWSCognitoIdentityProviderService.RespondToAuthChallenge", body)
    assert status == 200 and "AuthenticationResult" in first
    assert pool.handle("AWSCognitoIdentityProviderService.RespondToAuthChallenge", body) == (
        400,
        {"__type": "NotAuthorizedException", "message": "Invalid session for the user."},
    )


def test_a_new_user_sets_a_password_within_the_policy_then_sets_up_totp(pool: UserPool, clock: Clock) -> None:
    user = pool.admin_create_user(EMAIL, "Temporary-Pass-1")
    status, challenge = start(pool, "Temporary-Pass-1")
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    parameters = challenge["ChallengeParameters"]
    assert json.loads(parameters["requiredAttributes"]) == []
    assert json.loads(parameters["userAttributes"])["email"] == EMAIL
    for weak, reason in [
        ("Short-1", "Password not long enough"),
        ("no-upper-case-1", "Password must have uppercase characters"),
        ("NO-LOWER-CASE-1", "Password must have lowercase characters"),
        ("No-Numbers-Here", "Password must have numeric characters"),
    ]:
        assert respond(pool, "NEW_PASSWORD_REQUIRED", challenge["Session"], USERNAME=user.sub, NEW_PASSWORD=weak) == (
            400,
            {"__type": "InvalidPasswordException", "message": f"Password does not conform to policy: {reason}"},
        )
    status, setup = respond(
        pool, "NEW_PASSWORD_REQUIRED", challenge["Session"], USERNAME=user.sub, NEW_PASSWORD="My-Own-Password-2"
    )
    assert (status, setup["ChallengeName"]) == (200, "MFA_SETUP")
    assert json.loads(setup["ChallengeParameters"]["MFAS_CAN_SETUP"]) == ["SOFTWARE_TOKEN_MFA"]
    # Not yet: the user has no authenticator app until VerifySoftwareToken.
    assert respond(pool, "MFA_SETUP", setup["Session"], USERNAME=user.sub)[1]["__type"] == "NotAuthorizedException"

    status, associated = pool.handle(
        "AWSCognitoIdentityProviderService.AssociateSoftwareToken", {"Session": setup["Session"]}
    )
    assert status == 200
    secret = associated["SecretCode"]
    assert len(base64.b32decode(secret)) == 20
    verify = "AWSCognitoIdentityProviderService.VerifySoftwareToken"
    wrong = "000000" if totp(secret, clock.now) != "000000" else "111111"
    assert pool.handle(verify, {"Session": associated["Session"], "UserCode": wrong}) == (
        400,
        {"__type": "EnableSoftwareTokenMFAException", "message": "Code mismatch and fail enable Software Token MFA"},
    )
    status, verified = pool.handle(verify, {"Session": associated["Session"], "UserCode": totp(secret, clock.now)})
    assert (status, verified["Status"]) == (200, "SUCCESS")
    status, tokens = respond(pool, "MFA_SETUP", verified["Session"], USERNAME=user.sub)
    assert status == 200 and claims(tokens["AuthenticationResult"]["IdToken"])["email"] == EMAIL
    # From now on the user is asked for a code at every sign-in.
    assert start(pool, "My-Own-Password-2")[1]["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


def test_mfa_optional_signs_in_a_user_without_totp_at_once(pool: UserPool) -> None:
    pool.mfa = "OPTIONAL"
    pool.create_confirmed_user(EMAIL, PASSWORD)
    status, answer = start(pool, PASSWORD)
    assert status == 200 and set(answer) == {"ChallengeParameters", "AuthenticationResult"}


def test_totp_follows_rfc_6238() -> None:
    # RFC 6238 Appendix B, SHA-1 key "12345678901234567890", T = 59 s → 94287082 (8 digits); 6 digits: 287082.
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp(secret, 59) == "287082"
    assert totp(secret, 1111111109) == "081804"


def test_a_users_groups_are_the_cognito_groups_claim_of_their_tokens_and_verify_checks_them() -> None:
    clock = [1_800_000_000.0]
    pool = UserPool(clock=lambda: clock[0])
    pool.create_confirmed_user("ana@example.com", "Correct-Horse-9")
    pool.create_confirmed_user("bo@example.com", "Correct-Horse-9")
    assert pool.create_group("seller-A2EXAMPLESELLER") is True
    assert pool.create_group("seller-A2EXAMPLESELLER") is False  # exists: onboarding again changes nothing
    pool.create_group("seller-A3OTHERSELLER")
    pool.add_user_to_group("ana@example.com", "seller-A3OTHERSELLER")
    pool.add_user_to_group("ana@example.com", "seller-A2EXAMPLESELLER")

    tokens = pool.tokens_for("ana@example.com")["AuthenticationResult"]
    for token in (tokens["IdToken"], tokens["AccessToken"]):
        claims = pool.verify(token)
        assert claims is not None
        assert claims["cognito:groups"] == ["seller-A2EXAMPLESELLER", "seller-A3OTHERSELLER"]
    # In no group: Cognito leaves the claim out.
    assert "cognito:groups" not in (
        pool.verify(pool.tokens_for("bo@example.com")["AuthenticationResult"]["IdToken"]) or {}
    )
    pool.remove_user_from_group("ana@example.com", "seller-A3OTHERSELLER")
    again = pool.verify(pool.tokens_for("ana@example.com")["AuthenticationResult"]["IdToken"])
    assert again is not None and again["cognito:groups"] == ["seller-A2EXAMPLESELLER"]

    assert pool.verify("not.a.token") is None
    assert UserPool().verify(tokens["IdToken"]) is None  # another pool's key
    clock[0] += 3600
    assert pool.verify(tokens["IdToken"]) is None  # expired
