"""The rules the HTTP API checks, as JSON Schema for its OpenAPI document (api_contract.api_models).

Each value is derived from the constant or the function the code checks with (catalog, marketplaces, models,
http_api, validation), never restated: a limit changed there changes the document. Patterns are written for
both ECMA-262 (JSON Schema's dialect) and Python's re: no inline flags, no \\p classes; character classes are
built from the same Unicode predicates the validator applies (str.isspace, unicodedata categories).
tests/unit/test_api_contract.py holds each rule to the check it states.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from buyer_messaging import catalog, marketplaces, validation
from buyer_messaging.fields import AMAZON_ORDER_ID_PATTERN, SELLING_PARTNER_ID_PATTERN
from buyer_messaging.http_api import (
    ATTACHMENTS_PREFIX,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    SELLER_SEGMENT_MAX_LENGTH,
    SELLER_SEGMENT_PATTERN,
    STAGED_FOLDER_PATTERN,
)

# pydantic's json_schema_extra takes dict[str, JsonValue] (or a function of one); Any keeps this module free of it.
JsonDict = dict[str, Any]


def _ranges(code_points: Iterable[int]) -> Iterator[tuple[int, int]]:
    start = end = -2
    for point in code_points:
        if point != end + 1:
            if start >= 0:
                yield start, end
            start = point
        end = point
    if start >= 0:
        yield start, end


def _char(point: int) -> str:
    # BMP as \uXXXX (both dialects read it); astral characters as themselves (ECMA's \u{...} needs the u flag).
    return f"\\u{point:04X}" if point <= 0xFFFF else chr(point)


def _class(code_points: Iterable[int], *, negated: bool = False) -> str:
    parts = [_char(low) if low == high else f"{_char(low)}-{_char(high)}" for low, high in _ranges(code_points)]
    return "[" + ("^" if negated else "") + "".join(parts) + "]"


def _case_free(text: str) -> str:
    """``pdf`` -> ``[Pp][Dd][Ff]``: the catalog compares extensions in lower case."""
    return "".join(f"[{char.upper()}{char.lower()}]" if char.isalpha() else re.escape(char) for char in text)


def _extensions(extensions: Iterable[str]) -> str:
    # (?!\n): Python's $ also matches before a final newline, ECMA's does not.
    alternatives = "|".join(_case_free(extension.removeprefix(".")) for extension in sorted(extensions))
    return r"\.(?:" + alternatives + r")$(?!\n)"


@cache
def file_name_pattern(extensions: tuple[str, ...] = tuple(catalog.ATTACHMENT_CONTENT_TYPES)) -> str:
    """validation.file_name_problem as one pattern: no separator, no hidden control or direction character,
    no leading dot or space (it ends in an extension, so it cannot end in a space), and an extension the catalog
    allows (or one of ``extensions``). Lone surrogates are left to the description: a JSON string holding one is
    no Unicode text, and a class naming them (\\ud800-\\udfff) makes Schemathesis drop the whole pattern."""
    refused = sorted(
        {ord("/"), ord("\\")}
        | {point for point in range(sys.maxunicode + 1) if validation._is_hidden_control(chr(point))}
    )
    spaces = [point for point in range(sys.maxunicode + 1) if chr(point).isspace()]
    # The first character as a class of its own, not a lookahead: generators (Schemathesis's coverage phase)
    # may drop lookaheads.
    first = _class(sorted({*refused, ord("."), *spaces}), negated=True)
    return f"^{first}{_class(refused, negated=True)}*{_extensions(extensions)}"


FILE_NAME_RULE_TEXT = (
    "A plain file name, valid Unicode text: no '/' or '\\', no control or direction-changing characters, not "
    "starting with '.' or "
    "a space, ending in an allowed extension: " + ", ".join(catalog.ATTACHMENT_CONTENT_TYPES) + "."
)


def _file_name(schema: JsonDict) -> None:
    schema.update(
        {"minLength": 1, "maxLength": catalog.FILE_NAME_MAX_LENGTH, "pattern": file_name_pattern()},
    )
    schema["description"] = " ".join(filter(None, (str(schema.get("description") or ""), FILE_NAME_RULE_TEXT)))


FILE_NAME = _file_name
# The key POST /attachments gave: its folder (a uuid4), then a file name by the file name rules.
STAGED_KEY: JsonDict = {
    "pattern": f"^{SELLER_SEGMENT_PATTERN}{re.escape(ATTACHMENTS_PREFIX)}{STAGED_FOLDER_PATTERN}/"
    f"{file_name_pattern().removeprefix('^')}",
    "maxLength": SELLER_SEGMENT_MAX_LENGTH + len(ATTACHMENTS_PREFIX) + 36 + 1 + catalog.FILE_NAME_MAX_LENGTH,
}
SELLING_PARTNER_ID: JsonDict = {"pattern": SELLING_PARTNER_ID_PATTERN.pattern}
CONTENT_TYPES = sorted(set(catalog.ATTACHMENT_CONTENT_TYPES.values()))
CONTENT_TYPE: JsonDict = {"enum": CONTENT_TYPES}
SIZE: JsonDict = {"minimum": 1, "maximum": catalog.ATTACHMENT_MAX_BYTES}
MESSAGE_TYPES = sorted({name for kind in catalog.MESSAGE_TYPES for name in (kind.path, kind.operation)})
MESSAGE_TYPE: JsonDict = {"enum": MESSAGE_TYPES}
TEXT_MAX_LENGTH = max(kind.text.max_length for kind in catalog.MESSAGE_TYPES if kind.text is not None)
TEXT_MIN_LENGTH = min(kind.text.min_length for kind in catalog.MESSAGE_TYPES if kind.text is not None)
TEXT: JsonDict = {
    "minLength": TEXT_MIN_LENGTH,
    "maxLength": TEXT_MAX_LENGTH,
    "pattern": r"\S",  # not blank
    "allOf": [{"not": {"pattern": pattern.pattern}} for pattern in catalog.TEXT_FORBIDDEN_PATTERNS.values()],
    "description": "Plain text, no HTML or email addresses ("
    + ", ".join(catalog.TEXT_FORBIDDEN_PATTERNS)
    + "); the order's schema may allow less than the maximum (GET .../message-types says).",
}
DATE_TIME: JsonDict = {"format": "date-time"}
ORDER_ID: JsonDict = {"type": "string", "pattern": AMAZON_ORDER_ID_PATTERN.pattern}
IDEMPOTENCY_KEY: JsonDict = {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH}


def marketplace_id(schema: JsonDict) -> None:
    """A marketplace id's form. Which ones the deployment takes depends on its SP-API region: the API function
    adds them to every schema of this pattern when it serves the document (http_api.regional_openapi)."""
    schema.update({"pattern": marketplaces.MARKETPLACE_ID_PATTERN.pattern})


def marketplace_parameter() -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    marketplace_id(schema)
    return schema


def _null_only() -> dict[str, Any]:
    return {"type": "null"}


def _message_type_rule(kind: catalog.MessageType) -> dict[str, Any]:
    """What one type takes: validation.validate's text, attachment and coverage-date rules (catalog limits)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    then: dict[str, Any] = {"properties": properties}
    if kind.text is None:
        properties["text"] = _null_only()
    else:
        properties["text"] = {"maxLength": kind.text.max_length, "minLength": kind.text.min_length}
        if kind.text.required:
            required.append("text")
            properties["text"]["type"] = "string"
    if kind.attachments is None:
        properties["attachments"] = {"maxItems": 0}
    else:
        properties["attachments"] = {"minItems": kind.attachments.min_count, "maxItems": kind.attachments.max_count}
        if kind.attachments.min_count:
            required.append("attachments")
    if kind.text is not None and kind.attachments is not None and not kind.text.required:
        # Neither is required, but a message needs one of them.
        then["anyOf"] = [
            {"required": ["text"], "properties": {"text": {"type": "string"}}},
            {"required": ["attachments"], "properties": {"attachments": {"minItems": 1}}},
        ]
    if not kind.takes_coverage_dates:
        properties["coverageStartDate"] = properties["coverageEndDate"] = _null_only()
    if required:
        then["required"] = required
    return {
        "if": {
            "properties": {"messageType": {"enum": sorted({kind.path, kind.operation})}},
            "required": ["messageType"],
        },
        "then": then,
    }


def message_type_rules(schema: JsonDict) -> None:
    schema["allOf"] = [_message_type_rule(kind) for kind in catalog.MESSAGE_TYPES]


def content_type_rules(schema: JsonDict) -> None:
    """http_api.stage_attachment: the content type is the one of the file name's extension."""
    by_type: dict[str, list[str]] = {}
    for extension, content_type in catalog.ATTACHMENT_CONTENT_TYPES.items():
        by_type.setdefault(content_type, []).append(extension)
    schema["anyOf"] = [
        # The whole rule, with its type, in each branch: Schemathesis's coverage phase reads a branch alone.
        {
            "properties": {
                "contentType": {"type": "string", "const": content_type},
                "fileName": {"type": "string", "pattern": file_name_pattern(tuple(extensions))},
            }
        }
        for content_type, extensions in sorted(by_type.items())
    ]
