"""The daily schedule of the LWA client secret: its days left as a metric for the deadline alarm, and a rotation
(rotateApplicationClientSecret) once it is CLIENT_SECRET_ROTATION_DAYS old (:mod:`buyer_messaging.rotation`)."""

from __future__ import annotations

from typing import Any

from buyer_messaging import rotation
from buyer_messaging.config import get_settings


def rotate_client_secret() -> dict[str, Any]:
    """The secret's days left, and a rotation asked for once it is due."""
    settings = get_settings()
    return rotation.scheduled_check(settings, settings.client_secret_rotation_days)
