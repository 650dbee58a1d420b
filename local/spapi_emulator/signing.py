"""Presigned upload URLs shaped like S3's (SigV4 query authentication) and their verification.

The signature is an HMAC-SHA256, with a key that lives as long as the emulator, over
the method, the path and every ``X-Amz-*`` query parameter: a URL changed in any way (another expiry,
another destination id) no longer verifies. The signed headers' values (``Content-MD5``,
``x-amz-server-side-encryption``, ``host``) are kept with the destination and compared by the upload
endpoint, which is what S3 achieves by putting them into the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote, urlencode

ALGORITHM = "AWS4-HMAC-SHA256"
ACCESS_KEY_ID = "AKIAEMULATOREXAMPLE7"
REGION = "us-east-1"
EXPIRES_SECONDS = 900
SIGNED_HEADERS = ("content-md5", "host", "x-amz-server-side-encryption")
SERVER_SIDE_ENCRYPTION = "aws:kms"
UPLOAD_PATH_PREFIX = "/upload/"
_AUTH_PARAMETERS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
)
SIGNATURE_PARAMETER = "X-Amz-Signature"
QUERY_PARAMETERS = (*_AUTH_PARAMETERS, SIGNATURE_PARAMETER)


def amz_date(moment: datetime) -> str:
    """``20260131T120000Z``."""
    return moment.strftime("%Y%m%dT%H%M%SZ")


class UrlSigner:
    """Signs and verifies the emulator's presigned PUT URLs."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def presign(self, base_url: str, destination_id: str, created: datetime) -> str:
        date = amz_date(created)
        parameters = {
            "X-Amz-Algorithm": ALGORITHM,
            "X-Amz-Credential": f"{ACCESS_KEY_ID}/{date[:8]}/{REGION}/s3/aws4_request",
            "X-Amz-Date": date,
            "X-Amz-Expires": str(EXPIRES_SECONDS),
            "X-Amz-SignedHeaders": ";".join(SIGNED_HEADERS),
        }
        parameters[SIGNATURE_PARAMETER] = self._signature(destination_id, parameters)
        return f"{base_url}{UPLOAD_PATH_PREFIX}{destination_id}?" + urlencode(parameters, quote_via=quote, safe="")

    def verify(self, destination_id: str, query: Mapping[str, list[str]]) -> bool:
        """True when the query holds each authentication parameter once and the signature matches."""
        if any(len(query.get(name, [])) != 1 for name in QUERY_PARAMETERS):
            return False
        parameters = {name: query[name][0] for name in _AUTH_PARAMETERS}
        return hmac.compare_digest(self._signature(destination_id, parameters), query[SIGNATURE_PARAMETER][0])

    def _signature(self, destination_id: str, parameters: Mapping[str, str]) -> str:
        canonical = "\n".join(["PUT", UPLOAD_PATH_PREFIX + destination_id, *(parameters[n] for n in _AUTH_PARAMETERS)])
        return hmac.new(self._key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def has_authentication(query: Mapping[str, list[str]]) -> bool:
    """True when the query carries SigV4 query authentication at all (S3: else an anonymous request)."""
    return all(name in query for name in QUERY_PARAMETERS)
