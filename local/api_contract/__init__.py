"""The HTTP API's OpenAPI document, generated at development time (pydantic is no dependency of the layer).

``python -m api_contract`` (``make openapi``) writes functions/api/openapi.json, which the API function serves;
``--check`` only says whether the file is the fresh generation (tests/unit/test_api_contract.py asserts it).
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_FILE = ROOT / "functions" / "api" / "openapi.json"


def render() -> str:
    """The document as the file holds it: stable key order and indentation, so a change shows as a diff."""
    from api_contract.api_models import openapi_document

    return json.dumps(openapi_document(), indent=1, sort_keys=True) + "\n"
