"""The JSON body of a message operation, checked like Amazon's model and the order's schema.

Per the official model and the catalog: the type's fields (``text``, ``attachments``,
``coverageStartDate``/``coverageEndDate`` for warranty); ``text`` 1..maxLength characters (JSON Schema
counts code points); ``attachments`` a list of ``{uploadDestinationId, fileName}`` (both required), at most
maxItems, at least minItems (1 for types that require files); coverage dates RFC 3339 date-times.
Neither the models' request definitions nor the schemas Amazon embeds forbid other properties (no
``additionalProperties: false``), so a field the model does not list (``marketplaceIds``, which
python-amazon-sp-api adds to every POST body; ``text`` for a type without text; ``id`` in an attachment) is
ignored, not refused, and noted in the call log.

Where Amazon's rules are stated only in prose the emulator enforces them too, so that it is never more
lenient than Amazon: the text may hold no HTML and no email address ("Do not include HTML or email
addresses", :func:`buyer_messaging.catalog.text_content_problems`), a message must say something (text
or a file), file names need an allowed extension.
Every problem found is reported, one error each.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from buyer_messaging import catalog
from spapi_emulator.errors import ApiError, invalid_input
from spapi_emulator.httpio import BodyTooLarge, IncompleteBody, MalformedBody, Request
from spapi_emulator.schemas import Rules

MAX_BODY_BYTES = 64 * 1024
_ATTACHMENT_FIELDS = frozenset({"uploadDestinationId", "fileName"})
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
)


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    upload_destination_id: str
    file_name: str


@dataclass(frozen=True, slots=True)
class MessageBody:
    text: str | None
    attachments: tuple[AttachmentRef, ...]
    coverage_start_date: str | None
    coverage_end_date: str | None


class _NotJson(Exception):
    pass


def read_json(request: Request) -> object:
    """The request's JSON document: 415 when it is not JSON, 413 when too large, 400 when malformed."""
    content_type = (request.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"Content-Type {content_type or '(none)'} is not supported; send application/json.",
        )
    try:
        raw = request.body.read_all(MAX_BODY_BYTES)
    except BodyTooLarge:
        raise ApiError(413, "RequestEntityTooLarge", "The request size exceeded the maximum accepted size.") from None
    except (IncompleteBody, MalformedBody):
        raise invalid_input("The request body is incomplete.") from None
    if not raw.strip():
        raise invalid_input("The request body is missing.", "Send the message as a JSON object.")
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, _NotJson) as error:
        raise invalid_input("The request body is not valid JSON.", str(error)) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise _NotJson(f"duplicate fields {repeated}")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not JSON")


def parse(rules: Rules, data: object, notes: list[str]) -> MessageBody:
    """The message body checked against ``rules``; 400 ``InvalidInput`` listing every problem. Fields the
    model does not list are ignored and added to ``notes``."""
    message_type = rules.message_type
    problems: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        raise invalid_input("The request body must be a JSON object.")
    fields = set(message_type.body_fields)
    for unknown in sorted(set(data) - fields):
        notes.append(
            f"Body field {unknown} is not in the model of {message_type.operation} "
            f"({message_type.request_definition}); ignored."
        )
    data = {name: value for name, value in data.items() if name in fields}
    text = _text(rules, data.get("text"), "text" in data, problems)
    attachments = _attachments(rules, data.get("attachments"), "attachments" in data, problems, notes)
    dates = {name: _date(data.get(name), name, problems) for name in ("coverageStartDate", "coverageEndDate")}
    if not problems and text is None and not attachments:
        problems.append(("body", "a message needs text or at least one attachment"))
    if problems:
        raise ApiError.many(400, [("InvalidInput", f"{name} {message}.", "") for name, message in problems])
    return MessageBody(text, attachments, dates["coverageStartDate"], dates["coverageEndDate"])


def _text(rules: Rules, value: object, given: bool, problems: list[tuple[str, str]]) -> str | None:
    rule = rules.text
    if rule is None:
        return None  # the type takes no text (a given one was noted and dropped)
    if not given:
        if rule.required:
            problems.append(("text", f"is required ({rule.min_length} to {rule.max_length} characters)"))
        return None
    if not isinstance(value, str):
        problems.append(("text", "must be a string"))
        return None
    length = len(value)
    if length < rule.min_length:
        problems.append(("text", f"must have at least {rule.min_length} character(s)"))
    elif length > rule.max_length:
        problems.append(("text", f"has {length} characters; at most {rule.max_length} are allowed"))
    problems.extend(("text", problem) for problem in catalog.text_content_problems(value))
    return value


def _attachments(
    rules: Rules, value: object, given: bool, problems: list[tuple[str, str]], notes: list[str]
) -> tuple[AttachmentRef, ...]:
    rule = rules.attachments
    if rule is None:
        return ()  # the type takes no files (given ones were noted and dropped)
    if not given:
        if rule.min_count > 0:
            problems.append(("attachments", f"is required (at least {rule.min_count} file(s))"))
        return ()
    if not isinstance(value, list):
        problems.append(("attachments", "must be a list"))
        return ()
    if len(value) > rule.max_count:
        problems.append(("attachments", f"has {len(value)} items; at most {rule.max_count} are allowed"))
    if len(value) < rule.min_count:
        problems.append(("attachments", f"has {len(value)} items; at least {rule.min_count} are required"))
    refs = [
        ref
        for index, item in enumerate(value)
        if (ref := _attachment(item, f"attachments[{index}]", problems, notes)) is not None
    ]
    seen: set[str] = set()
    for ref in refs:
        if ref.upload_destination_id in seen:
            problems.append(("attachments", f"lists uploadDestinationId {ref.upload_destination_id} twice"))
        seen.add(ref.upload_destination_id)
    return tuple(refs)


def _attachment(item: object, where: str, problems: list[tuple[str, str]], notes: list[str]) -> AttachmentRef | None:
    """One ``Attachment`` of the model: ``uploadDestinationId`` and ``fileName``, both non-empty."""
    if not isinstance(item, dict):
        problems.append((where, "must be an object with uploadDestinationId and fileName"))
        return None
    for unknown in sorted(set(item) - _ATTACHMENT_FIELDS):
        notes.append(f"Body field {where}.{unknown} is not in the model's Attachment; ignored.")
    destination_id, file_name = item.get("uploadDestinationId"), item.get("fileName")
    for name, field_value in (("uploadDestinationId", destination_id), ("fileName", file_name)):
        if not isinstance(field_value, str) or not field_value:
            problems.append((f"{where}.{name}", "is required and must be a non-empty string"))
    if not isinstance(file_name, str) or not file_name or not isinstance(destination_id, str) or not destination_id:
        return None
    _check_file_name(file_name, where, problems)
    return AttachmentRef(destination_id, file_name)


def _check_file_name(file_name: str, where: str, problems: list[tuple[str, str]]) -> None:
    if len(file_name) > catalog.FILE_NAME_MAX_LENGTH:
        problems.append((f"{where}.fileName", f"is longer than {catalog.FILE_NAME_MAX_LENGTH} characters"))
    if catalog.content_type_for(file_name) is None:
        allowed = ", ".join(catalog.ATTACHMENT_CONTENT_TYPES)
        problems.append((f"{where}.fileName", f"{file_name!r} is not an allowed file type ({allowed})"))


def _date(value: object, name: str, problems: list[tuple[str, str]]) -> str | None:
    if value is None:
        return None  # absent (or given to a type without dates: noted and dropped)
    if not isinstance(value, str) or not is_date_time(value):
        problems.append((name, f"{value!r} is not an RFC 3339 date-time like 2026-01-31T00:00:00Z"))
        return None
    return value


def is_date_time(value: str) -> bool:
    """True for an RFC 3339 ``date-time`` (JSON Schema's ``format: date-time``) that names a real moment.

    RFC 3339's grammar, the model's ``format: date-time``, no more and no less: ``T``/``Z`` in either case,
    seconds required, any fraction, an offset ``Z`` or ``±hh:mm`` (``-00:00`` too), a leap second's ``:60``.
    ISO 8601's other forms (``20260131T000000Z``, week dates, a space for ``T``, ``+0100``) are refused: the
    model does not promise them and no public report shows Amazon taking them.
    """
    found = _RFC3339.match(value)
    if not found:
        return False
    date, time, fraction, offset = found.groups()
    offset = "+00:00" if offset in ("Z", "z") else offset
    if time.endswith(":60"):  # RFC 3339's time-second takes 60 (a leap second); Python's datetime cannot
        time = time[:-2] + "59"
    try:
        datetime.fromisoformat(f"{date}T{time}{(fraction or '')[:7]}{offset}")
    except ValueError:
        return False
    return True
