"""A local stand-in of the Cognito user pool the seller console signs in to: the five operations the page calls
(InitiateAuth, RespondToAuthChallenge, AssociateSoftwareToken, VerifySoftwareToken), as Cognito answers them.

It really checks what Cognito checks, so a page that computes SRP or TOTP wrongly fails here as it would on AWS:
- SRP (USER_SRP_AUTH → PASSWORD_VERIFIER): the pool keeps only each user's salt and verifier v = g^x; it answers
  B = k·v + g^b, derives S = (A·v^u)^b and the HKDF key "Caldera Derived Key", and checks the HMAC the client
  signs over poolName | USER_ID_FOR_SRP | SECRET_BLOCK | TIMESTAMP. The constants and paddings are Cognito's
  (those of amazon-cognito-identity-js's AuthenticationHelper, which pycognito follows; a unit test has pycognito
  sign in here as the oracle).
- TOTP (RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits, one step either way for clock drift).
- Sessions are single-use (each answer hands out the next one) and expire after 3 minutes, Cognito's default
  "authentication flow session duration" (aws-amplify/amplify-js#13802).

Error ``__type`` names and messages are Cognito's, as users report them: "Incorrect username or password."
(also for an unknown user: the console's client has PreventUserExistenceErrors), "Invalid session for the
user." (amplify-js#10959), "Invalid code or auth state for the user." (amplify-js#11069), "Code mismatch and fail
enable Software Token MFA" (aws-samples/aws-amplify-auth-starters#15), "<FLOW> flow not enabled for this client".

Groups, as the console's isolation uses them: a user's groups (``seller-{sellingPartnerId}``) are the
``cognito:groups`` claim of their tokens, a JSON array, left out when the user is in none (as Cognito does).
:meth:`UserPool.verify` checks a token as API Gateway's JWT authorizer does (signature, issuer, audience or
client_id, expiry), for the local API server (local_stack.api_server).

Not here: SMS MFA, devices, refresh tokens' use, custom auth, rate limits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# RFC 5054's 3072-bit group, the one Cognito uses (amazon-cognito-identity-js AuthenticationHelper.js).
N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
N = int(N_HEX, 16)
G = 2
SESSION_SECONDS = 180
TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
TARGET_PREFIX = "AWSCognitoIdentityProviderService."
# "Mon Jan 2 15:04:05 UTC 2006": the day not zero-padded, as Cognito's clients send it.
TIMESTAMP = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [1-9][0-9]? [0-9]{2}:[0-9]{2}:[0-9]{2} UTC [0-9]{4}$"
)

INCORRECT = "Incorrect username or password."
INVALID_SESSION = "Invalid session for the user."
EXPIRED_SESSION = "Invalid session for the user, session is expired."


class CognitoError(Exception):
    """An answer of Cognito's with status 400: ``{"__type": name, "message": message}``."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message


# ------------------------------------------------------------------------------------------------ the math


def pad_hex(value: int | str) -> str:
    """Hex of a positive number as Cognito hashes it: even length, and a leading 00 when the top bit is set (so
    it reads as positive, as Java's BigInteger.toByteArray writes it)."""
    text = value if isinstance(value, str) else f"{value:x}"
    if len(text) % 2:
        return "0" + text
    return "00" + text if text[0] in "89abcdefABCDEF" else text


def hex_hash(hex_text: str) -> str:
    return hashlib.sha256(bytes.fromhex(hex_text)).hexdigest()


K = int(hex_hash(pad_hex(N) + pad_hex(G)), 16)


def password_hash(pool_name: str, user_id: str, password: str) -> str:
    return hashlib.sha256(f"{pool_name}{user_id}:{password}".encode()).hexdigest()


def verifier(pool_name: str, user_id: str, password: str, salt: int) -> int:
    x = int(hex_hash(pad_hex(salt) + password_hash(pool_name, user_id, password)), 16)
    return pow(G, x, N)


def hkdf16(ikm: bytes, salt: bytes) -> bytes:
    """HKDF-SHA-256 (RFC 5869), one block, 16 bytes, info "Caldera Derived Key"."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]


def totp(secret_base32: str, at: float, step_offset: int = 0) -> str:
    """RFC 6238 with Cognito's parameters (HMAC-SHA-1, 30 s, 6 digits)."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    counter = int(at // TOTP_STEP_SECONDS) + step_offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**TOTP_DIGITS).zfill(TOTP_DIGITS)


# ------------------------------------------------------------------------------------------------ the pool


@dataclass
class User:
    sub: str
    email: str
    salt: int
    verifier: int
    status: str  # FORCE_CHANGE_PASSWORD (created by an administrator) or CONFIRMED
    totp_secret: str | None = None
    pending_totp_secret: str | None = field(default=None, repr=False)


@dataclass
class _Session:
    user: User | None  # None: a user that does not exist (refused at the verifier, never before)
    step: str  # what this session may be used for next
    created: float
    values: dict[str, int] = field(default_factory=dict)  # SRP's b, B and A for the verifier step


@dataclass
class PasswordPolicy:
    minimum_length: int = 12
    require_lowercase: bool = True
    require_uppercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = False

    def describe_failure(self, password: str) -> str:
        """Cognito's wording of the first rule the password breaks, or "" when it keeps them all."""
        checks = [
            (len(password) >= self.minimum_length, "Password not long enough"),
            (
                not self.require_lowercase or any(c.islower() for c in password),
                "Password must have lowercase characters",
            ),
            (
                not self.require_uppercase or any(c.isupper() for c in password),
                "Password must have uppercase characters",
            ),
            (not self.require_numbers or any(c.isdigit() for c in password), "Password must have numeric characters"),
            (
                not self.require_symbols or any(not c.isalnum() and not c.isspace() for c in password),
                "Password must have symbol characters",
            ),
        ]
        return next((reason for ok, reason in checks if not ok), "")


class UserPool:
    """One user pool with one app client, as template.yaml declares ConsoleUserPool and ConsoleUserPoolClient."""

    def __init__(
        self,
        pool_id: str = "eu-west-1_Example1",
        client_id: str = "client123",
        *,
        mfa: str = "ON",
        auth_flows: tuple[str, ...] = ("ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"),
        policy: PasswordPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.pool_id = pool_id
        self.pool_name = pool_id.split("_", 1)[1]
        self.region = pool_id.split("_", 1)[0]
        self.client_id = client_id
        self.mfa = mfa
        self.auth_flows = auth_flows
        self.policy = policy or PasswordPolicy()
        self.clock = clock
        self.users: dict[str, User] = {}
        self._sessions: dict[str, _Session] = {}
        self._signing_key = secrets.token_bytes(32)
        self.groups: dict[str, set[str]] = {}  # group name → the subs of its members

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    # -------------------------------------------------------------------------------------------- groups

    def create_group(self, name: str) -> bool:
        """CreateGroup; False when the group exists (Cognito's GroupExistsException, which onboarding ignores)."""
        if name in self.groups:
            return False
        self.groups[name] = set()
        return True

    def add_user_to_group(self, email: str, group: str) -> None:
        """AdminAddUserToGroup (by the user's email, the console's sign-in name)."""
        self.groups[group].add(self._by_email(email).sub)

    def remove_user_from_group(self, email: str, group: str) -> None:
        """AdminRemoveUserFromGroup."""
        self.groups[group].discard(self._by_email(email).sub)

    def groups_of(self, user: User) -> list[str]:
        return sorted(name for name, members in self.groups.items() if user.sub in members)

    def _by_email(self, email: str) -> User:
        found = self._find(email)
        if found is None:
            raise CognitoError("UserNotFoundException", "User does not exist.")
        return found

    # -------------------------------------------------------------------------------------------- users

    def _user(self, email: str, password: str, status: str) -> User:
        sub = str(uuid.uuid4())
        salt = int.from_bytes(secrets.token_bytes(16), "big")
        user = User(sub, email, salt, verifier(self.pool_name, sub, password, salt), status)
        self.users[sub] = user
        return user

    def admin_create_user(self, email: str, temporary_password: str) -> User:
        """What `aws cognito-idp admin-create-user --temporary-password …` leaves: a user who must set a password."""
        return self._user(email, temporary_password, "FORCE_CHANGE_PASSWORD")

    def create_confirmed_user(self, email: str, password: str, *, totp_secret: str | None = None) -> User:
        """A user who has set their password and, given ``totp_secret``, their authenticator app."""
        user = self._user(email, password, "CONFIRMED")
        user.totp_secret = totp_secret
        return user

    def _find(self, username: str) -> User | None:
        wanted = username.strip().lower()
        return next((u for u in self.users.values() if wanted in (u.sub, u.email.lower())), None)

    # -------------------------------------------------------------------------------------------- sessions

    def _new_session(self, user: User | None, step: str, values: dict[str, int] | None = None) -> str:
        token = secrets.token_urlsafe(96)
        self._sessions[token] = _Session(user, step, self.clock(), values or {})
        return token

    def _session(self, token: object, step: str) -> _Session:
        """The session for this step; an unknown, spent or expired one is refused as Cognito does."""
        session = self._sessions.get(token) if isinstance(token, str) else None
        if session is None or session.step != step:
            raise CognitoError("NotAuthorizedException", INVALID_SESSION)
        if self.clock() - session.created > SESSION_SECONDS:
            del self._sessions[token]  # type: ignore[arg-type]
            raise CognitoError("NotAuthorizedException", EXPIRED_SESSION)
        return session

    def _spend(self, token: str) -> None:
        self._sessions.pop(token, None)

    # -------------------------------------------------------------------------------------------- HTTP

    def handle(self, target: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """One request: X-Amz-Target and the JSON body → status and JSON answer."""
        operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "InitiateAuth": self.initiate_auth,
            "RespondToAuthChallenge": self.respond_to_auth_challenge,
            "AssociateSoftwareToken": self.associate_software_token,
            "VerifySoftwareToken": self.verify_software_token,
        }
        operation = operations.get(target.removeprefix(TARGET_PREFIX)) if target.startswith(TARGET_PREFIX) else None
        if operation is None:
            return 400, {"__type": "UnknownOperationException"}
        try:
            return 200, operation(body)
        except CognitoError as error:
            return 400, {"__type": error.type_name, "message": error.message}

    def _client(self, body: dict[str, Any]) -> None:
        if body.get("ClientId") != self.client_id:
            raise CognitoError("ResourceNotFoundException", f"User pool client {body.get('ClientId')} does not exist.")

    # -------------------------------------------------------------------------------------------- operations

    def initiate_auth(self, body: dict[str, Any]) -> dict[str, Any]:
        self._client(body)
        flow = str(body.get("AuthFlow", ""))
        if f"ALLOW_{flow}" not in self.auth_flows:
            raise CognitoError("InvalidParameterException", f"{flow} flow not enabled for this client")
        if flow != "USER_SRP_AUTH":
            raise CognitoError("InvalidParameterException", f"{flow} is not supported by this stand-in")
        parameters = body.get("AuthParameters") or {}
        username, srp_a = str(parameters.get("USERNAME", "")), str(parameters.get("SRP_A", ""))
        if not username or not re.fullmatch(r"[0-9a-fA-F]+", srp_a):
            raise CognitoError("InvalidParameterException", "Missing required parameter SRP_A")
        big_a = int(srp_a, 16)
        if big_a % N == 0:
            raise CognitoError("NotAuthorizedException", INCORRECT)
        user = self._find(username)
        # An unknown user gets a challenge like any other and is refused at the verifier: the answer must not tell
        # who has an account (PreventUserExistenceErrors).
        salt = user.salt if user else int.from_bytes(secrets.token_bytes(16), "big")
        v = user.verifier if user else pow(G, int.from_bytes(secrets.token_bytes(32), "big"), N)
        user_id = user.sub if user else str(uuid.uuid4())
        b = int.from_bytes(secrets.token_bytes(128), "big") % N
        big_b = (K * v + pow(G, b, N)) % N
        secret_block = self._new_session(user, "PASSWORD_VERIFIER", {"b": b, "B": big_b, "A": big_a})
        return {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {
                "SALT": f"{salt:x}",
                "SECRET_BLOCK": base64.b64encode(secret_block.encode()).decode(),
                "SRP_B": f"{big_b:x}",
                "USERNAME": user_id,
                "USER_ID_FOR_SRP": user_id,
            },
        }

    def respond_to_auth_challenge(self, body: dict[str, Any]) -> dict[str, Any]:
        self._client(body)
        name = str(body.get("ChallengeName", ""))
        answers = body.get("ChallengeResponses") or {}
        if name == "PASSWORD_VERIFIER":
            return self._password_verifier(answers)
        token = body.get("Session")
        session = self._session(token, name)
        user = session.user
        assert user is not None  # only the verifier step has sessions without a user
        if name == "NEW_PASSWORD_REQUIRED":
            password = str(answers.get("NEW_PASSWORD", ""))
            if not password:
                raise CognitoError("InvalidParameterException", "Missing required parameter NEW_PASSWORD")
            failure = self.policy.describe_failure(password)
            if failure:  # the session stands: the user may try another password
                raise CognitoError("InvalidPasswordException", f"Password does not conform to policy: {failure}")
            self._spend(str(token))
            user.salt = int.from_bytes(secrets.token_bytes(16), "big")
            user.verifier = verifier(self.pool_name, user.sub, password, user.salt)
            user.status = "CONFIRMED"
            return self._next_step(user)
        if name == "SOFTWARE_TOKEN_MFA":
            # A wrong code leaves the session standing, so the user may type the next code (Amplify's and this
            # console's forms rely on it); the 3 minutes still run.
            if not self.totp_matches(user.totp_secret, str(answers.get("SOFTWARE_TOKEN_MFA_CODE", ""))):
                raise CognitoError("CodeMismatchException", "Invalid code or auth state for the user.")
            self._spend(str(token))
            return self._tokens(user)
        if name == "MFA_SETUP":
            if user.totp_secret is None:
                raise CognitoError("InvalidParameterException", "Software token MFA has not been verified.")
            self._spend(str(token))
            return self._tokens(user)
        raise CognitoError("InvalidParameterException", f"Unknown challenge {name}")

    def _password_verifier(self, answers: dict[str, Any]) -> dict[str, Any]:
        try:
            token = base64.b64decode(str(answers.get("PASSWORD_CLAIM_SECRET_BLOCK", "")), validate=True).decode()
        except ValueError:
            token = ""
        session = self._session(token, "PASSWORD_VERIFIER")
        self._spend(token)  # one attempt per challenge: a wrong password starts again with InitiateAuth
        timestamp = str(answers.get("TIMESTAMP", ""))
        if not TIMESTAMP.fullmatch(timestamp):
            raise CognitoError(
                "InvalidParameterException", "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english."
            )
        user = session.user
        if user is None:
            raise CognitoError("NotAuthorizedException", INCORRECT)
        big_a, big_b, b = session.values["A"], session.values["B"], session.values["b"]
        u = int(hex_hash(pad_hex(big_a) + pad_hex(big_b)), 16)
        s = pow(big_a * pow(user.verifier, u, N), b, N)
        key = hkdf16(bytes.fromhex(pad_hex(s)), bytes.fromhex(pad_hex(u)))
        message = self.pool_name.encode() + user.sub.encode() + base64.b64decode(answers["PASSWORD_CLAIM_SECRET_BLOCK"])
        expected = hmac.new(key, message + timestamp.encode(), hashlib.sha256).digest()
        try:
            signature = base64.b64decode(str(answers.get("PASSWORD_CLAIM_SIGNATURE", "")), validate=True)
        except ValueError:
            signature = b""
        if not hmac.compare_digest(expected, signature):
            raise CognitoError("NotAuthorizedException", INCORRECT)
        return self._next_step(user)

    def _next_step(self, user: User) -> dict[str, Any]:
        if user.status == "FORCE_CHANGE_PASSWORD":
            return self._challenge(
                user,
                "NEW_PASSWORD_REQUIRED",
                {
                    "requiredAttributes": "[]",
                    "userAttributes": json.dumps({"email_verified": "true", "email": user.email}),
                },
            )
        if user.totp_secret is not None:
            return self._challenge(user, "SOFTWARE_TOKEN_MFA", {})
        if self.mfa == "ON":
            return self._challenge(user, "MFA_SETUP", {"MFAS_CAN_SETUP": '["SOFTWARE_TOKEN_MFA"]'})
        return self._tokens(user)

    def _challenge(self, user: User, name: str, parameters: dict[str, str]) -> dict[str, Any]:
        session = self._new_session(user, "ASSOCIATE" if name == "MFA_SETUP" else name)
        return {
            "ChallengeName": name,
            "Session": session,
            "ChallengeParameters": {**parameters, "USER_ID_FOR_SRP": user.sub},
        }

    def associate_software_token(self, body: dict[str, Any]) -> dict[str, Any]:
        token = body.get("Session")
        session = self._session(token, "ASSOCIATE")
        assert session.user is not None
        self._spend(str(token))
        session.user.pending_totp_secret = base64.b32encode(secrets.token_bytes(20)).decode()
        return {"SecretCode": session.user.pending_totp_secret, "Session": self._new_session(session.user, "VERIFY")}

    def verify_software_token(self, body: dict[str, Any]) -> dict[str, Any]:
        token = body.get("Session")
        session = self._session(token, "VERIFY")
        user = session.user
        assert user is not None
        if not self.totp_matches(user.pending_totp_secret, str(body.get("UserCode", ""))):
            raise CognitoError("EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA")
        self._spend(str(token))
        user.totp_secret, user.pending_totp_secret = user.pending_totp_secret, None
        return {"Status": "SUCCESS", "Session": self._new_session(user, "MFA_SETUP")}

    def totp_matches(self, secret: str | None, code: str) -> bool:
        if secret is None or not re.fullmatch(r"[0-9]{6}", code):
            return False
        now = self.clock()
        return any(hmac.compare_digest(totp(secret, now, offset), code) for offset in (-1, 0, 1))

    # -------------------------------------------------------------------------------------------- tokens

    def _jwt(self, claims: dict[str, Any]) -> str:
        def part(data: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

        signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}"
        signature = hmac.new(self._signing_key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this pool signed for its client and that has not expired, else None (API
        Gateway's JWT authorizer then answers 401)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(self._signing_key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            signature = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except ValueError:
            return None
        if not hmac.compare_digest(expected, signature) or not isinstance(claims, dict):
            return None
        audience = claims.get("aud") if claims.get("token_use") == "id" else claims.get("client_id")
        if claims.get("iss") != self.issuer or audience != self.client_id or claims.get("exp", 0) <= self.clock():
            return None
        return claims

    def tokens_for(self, email: str) -> dict[str, Any]:
        """The tokens a completed sign-in of ``email`` gets (for tests and the local stack's signed-in users)."""
        return self._tokens(self._by_email(email))

    def _tokens(self, user: User) -> dict[str, Any]:
        now = int(self.clock())
        common: dict[str, Any] = {"sub": user.sub, "iss": self.issuer, "auth_time": now, "iat": now, "exp": now + 3600}
        groups = self.groups_of(user)
        if groups:
            common["cognito:groups"] = groups
        id_token = self._jwt(
            {
                **common,
                "aud": self.client_id,
                "token_use": "id",
                "email": user.email,
                "email_verified": True,
                "cognito:username": user.sub,
            }
        )
        access_token = self._jwt({**common, "client_id": self.client_id, "token_use": "access", "username": user.sub})
        return {
            "ChallengeParameters": {},
            "AuthenticationResult": {
                "AccessToken": access_token,
                "ExpiresIn": 3600,
                "TokenType": "Bearer",
                "RefreshToken": secrets.token_urlsafe(96),
                "IdToken": id_token,
            },
        }


def timestamp_now(at: float | None = None) -> str:
    """Cognito's TIMESTAMP for a moment (for tests that sign a PASSWORD_VERIFIER by hand)."""
    moment = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    return f"{moment:%a %b} {moment.day} {moment:%H:%M:%S} UTC {moment.year}"


@contextmanager
def serve(pool: UserPool) -> Iterator[str]:
    """The pool on 127.0.0.1 as Cognito's endpoint (POST /, X-Amz-Target): yields its URL, for boto3's
    ``endpoint_url``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            if isinstance(body, dict):
                status, answer = pool.handle(self.headers.get("x-amz-target", ""), body)
            else:
                status, answer = 400, {"__type": "SerializationException"}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/x-amz-json-1.1")
            self.send_header("content-length", str(len(data)))
            if status != 200:
                self.send_header("x-amzn-errortype", str(answer["__type"]))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
