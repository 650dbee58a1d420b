"""The HTTP API's request bodies: bytes as API Gateway hands them over, to UTF-8 text, to one JSON object.

Everything a body can be that is no JSON object of this API is refused here with a named error before any
route reads a field: bytes that are not UTF-8 (whatever the Content-Type says), another Content-Type than
``application/json`` (415), JSON nested deeper than any body of the API, and strings or field names that are
not Unicode text (lone surrogates, which no answer could even repeat). See docs/api.md.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import deque
from collections.abc import Iterator
from typing import Any

from buyer_messaging.errors import InvalidRequest, UnsupportedContentType
from buyer_messaging.fields import lone_surrogate_at, unicode_text_problem

JSON_CONTENT_TYPE = "application/json"
# The API's bodies nest 3 levels (a message, its attachments, one attachment); deeper JSON is no body of the API,
# and refused before anything walks it (json.loads itself gives up near Python's recursion limit).
MAX_JSON_DEPTH = 20


def request_text(body: str | None, *, base64_encoded: bool, content_type: str | None) -> str | None:
    """The body of a JSON route as text: API Gateway hands a body it does not take for text base64-encoded.

    Bytes that are not UTF-8 are refused as such whatever the Content-Type says (400); a body under another
    Content-Type than ``application/json`` (a ``charset`` parameter, if any, must be UTF-8) is refused with 415.
    No Content-Type at all is read as JSON.
    """
    text = body
    if base64_encoded and body:
        try:
            text = base64.b64decode(body, validate=True).decode("utf-8")
        except binascii.Error:
            raise InvalidRequest(
                "The body could not be read (API Gateway's base64 encoding of it is broken).",
                problems=(("body", "could not be read"),),
            ) from None
        except UnicodeDecodeError as error:
            raise InvalidRequest(
                f"The body is not UTF-8 JSON (the byte at position {error.start} is not UTF-8); send a JSON object "
                "encoded in UTF-8 with Content-Type: application/json.",
                problems=(("body", "is not UTF-8 text"),),
            ) from None
    if text and not takes_content_type(content_type):
        raise UnsupportedContentType(
            f"This route takes JSON: send Content-Type: application/json (UTF-8), not {content_type!r}.",
            problems=(("Content-Type", f"must be application/json, not {content_type!r}"),),
        )
    return text


def takes_content_type(content_type: str | None) -> bool:
    """Whether a JSON route takes a body sent as ``content_type``: application/json (a charset parameter, if
    any, UTF-8), or none at all."""
    if content_type is None or not content_type.strip():
        return True
    media_type, *parameters = content_type.split(";")
    if media_type.strip().lower() != JSON_CONTENT_TYPE:
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def read_json_body(raw: str | None) -> dict[str, Any]:
    """The body, a JSON object, or InvalidRequest on the ``body`` field (or the field whose text is broken)."""
    if raw is None or not raw.strip():
        raise InvalidRequest("The request has no body; send a JSON object.", problems=(("body", "is required"),))
    try:
        body = json.loads(raw)
    except RecursionError:
        body = _TOO_DEEP
    except ValueError as error:
        raise InvalidRequest(
            f"The body is not JSON ({error}).", problems=(("body", f"is not JSON: {error}"),)
        ) from None
    if body is _TOO_DEEP or _depth_over(body, MAX_JSON_DEPTH):
        raise InvalidRequest(
            f"The body nests JSON deeper than {MAX_JSON_DEPTH} levels; the API's bodies are JSON objects 3 levels "
            "deep at most.",
            problems=(("body", f"is nested deeper than {MAX_JSON_DEPTH} levels"),),
        )
    problems = tuple(
        (path, problem) for path, text in _strings(body) if (problem := unicode_text_problem(text)) is not None
    )
    if problems:
        # A lone surrogate (JSON's "\ud800") is no character: it cannot be stored, sent to Amazon or even written
        # back in an answer. Field names are shown escaped, so the answer itself is always UTF-8.
        details = "; ".join(f"{path} {message}" for path, message in problems)
        raise InvalidRequest(f"The body is not valid Unicode text: {details}.", problems=problems)
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.", problems=(("body", "must be a JSON object"),))
    return body


_TOO_DEEP = object()


def _depth_over(document: object, limit: int) -> bool:
    """Whether ``document`` nests lists and objects deeper than ``limit`` (walked without recursion)."""
    pending: list[tuple[object, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            pending.extend((child, depth + 1) for child in children)
    return False


def _strings(document: object) -> Iterator[tuple[str, str]]:
    """Every field name and string of ``document`` with its path (``attachments[0].fileName``)."""
    pending: deque[tuple[str, object]] = deque([("body", document)])
    while pending:
        path, value = pending.popleft()
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            for name, child in value.items():
                child_path = _escaped(name) if path == "body" else f"{path}.{_escaped(name)}"
                yield child_path, name
                pending.append((child_path, child))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", child) for index, child in enumerate(value))


def is_unicode_text(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (it has no lone surrogate)."""
    return lone_surrogate_at(text) is None


def _escaped(text: str) -> str:
    """``text`` with any lone surrogate written as ``\\udXXX``: always encodable."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
