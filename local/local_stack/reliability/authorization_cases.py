"""The authorization matrix of ``make reliability`` (data): a seller's authorization lost mid-burst and given again,
the hold's deadline, each way the OAuth flow must refuse (and the renewal it must take), and the warning 30 days
before an authorization lapses. local_stack.reliability.authorization_runner plays each case on a fresh local stack."""

from __future__ import annotations

from dataclasses import dataclass

BURST = 10  # messages of seller B in the mid-burst case; the authorization is lost after half of them started
SENT_ONCE = "held, then sent once"


@dataclass(frozen=True)
class AuthorizationCase:
    id: str
    description: str
    expected: str  # the error name the case ends with, or what must have happened


def authorization_case_by_id(case_id: str) -> AuthorizationCase:
    return next(case for case in AUTHORIZATION_CASES if case.id == case_id)


AUTHORIZATION_CASES = (
    AuthorizationCase(
        "revoked-mid-burst",
        f"seller B removes the app after 5 of {BURST} messages started; B authorizes again through the OAuth routes",
        SENT_ONCE,
    ),
    AuthorizationCase(
        "hold-deadline", "seller B's authorization lost; AuthorizationHoldHours 0.05", "SellerNeedsAuthorization"
    ),
    AuthorizationCase("oauth-expired-code", "the code exchanged after five minutes", "AuthorizationCodeRefused"),
    AuthorizationCase("oauth-reused-code", "a used code exchanged again", "AuthorizationCodeRefused"),
    AuthorizationCase("oauth-forged-state", "a state the app never issued", "AuthorizationStateInvalid"),
    AuthorizationCase("oauth-reused-state", "a used state again", "AuthorizationStateInvalid"),
    AuthorizationCase("oauth-expired-state", "the callback 10 minutes after the state", "AuthorizationStateInvalid"),
    AuthorizationCase("oauth-no-cookie", "the callback without the browser's cookie", "AuthorizationStateInvalid"),
    AuthorizationCase("oauth-unknown-invitation", "an invitation never issued", "InvitationInvalid"),
    AuthorizationCase("oauth-renewal", "the seller authorizes again 25 days before its authorization ends", "renewed"),
    AuthorizationCase("expiring-warning", "the daily check at 30 and 29 days left", "warned at 30 days"),
)
