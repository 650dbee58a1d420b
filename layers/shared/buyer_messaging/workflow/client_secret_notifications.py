"""Amazon's client secret notifications from the SQS queue registered in the Developer Console
(:mod:`buyer_messaging.rotation`): a new secret is stored, an expiry warning asks for a rotation."""

from __future__ import annotations

from buyer_messaging import rotation
from buyer_messaging.config import get_settings


def client_secret_notification(body: str) -> str:
    """One message of the queue, and what was done (``stored``, ``rotation requested``, ...)."""
    return rotation.handle_notification(get_settings(), body)
