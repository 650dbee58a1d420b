"""Checks a request against the order's schema before anything is uploaded or sent.

The schema Amazon embeds for the order wins where it states a rule (``rawMessageBody`` lengths,
``attachments`` item counts, ``required``); the catalog supplies what schemas state only in prose
(file types, total size). A type Amazon offers with a schema that cannot be read is refused
(:class:`ActionSchemaUnreadable`), never checked against the catalog alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from buyer_messaging import catalog, marketplaces
from buyer_messaging.catalog import AttachmentRule, MessageType, TextRule
from buyer_messaging.errors import (
    ActionSchemaUnreadable,
    InvalidAttachments,
    InvalidMessageText,
    InvalidRequest,
    MessageTypeNotAvailable,
)
from buyer_messaging.messaging import AvailableAction, find_action
from buyer_messaging.models import AttachmentRef, MessageRequest, StagedAttachment, ValidatedRequest


@dataclass(frozen=True, slots=True)
class StagedObject:
    """What S3 says about a staged attachment."""

    size: int
    etag: str


def check_marketplace(marketplace_id: str, spapi_region: str) -> None:
    """Refuse ids that are no marketplace id, and marketplaces another SP-API region serves."""
    if not marketplaces.MARKETPLACE_ID_PATTERN.fullmatch(marketplace_id):
        raise InvalidRequest(
            f"marketplaceId {marketplace_id!r} is not an Amazon marketplace id (like ATVPDKIKX0DER).",
            problems=(("marketplaceId", "is not an Amazon marketplace id"),),
        )
    region = marketplaces.region_of(marketplace_id)
    configured = marketplaces.base_region(spapi_region)
    if region is not None and region != configured:
        country = marketplaces.MARKETPLACES[marketplace_id][0]
        raise InvalidRequest(
            f"marketplaceId {marketplace_id} ({country}) is served by the SP-API region {region!r}, but this "
            f"deployment calls region {spapi_region!r}; deploy with SpApiRegion={region} for this marketplace.",
            problems=(("marketplaceId", f"belongs to region {region}, not {configured}"),),
        )


def text_rule(message_type: MessageType, schema: Mapping[str, Any]) -> TextRule | None:
    """The text rule in force for this order: the schema's ``rawMessageBody`` or the catalog's."""
    if message_type.text is None:
        return None
    properties = _mapping(schema.get("properties"))
    if not properties:
        return message_type.text
    raw = properties.get("rawMessageBody")
    if not isinstance(raw, Mapping):
        return None  # the order's schema offers no custom text for this type
    required = "rawMessageBody" in _strings(schema.get("required"))
    return TextRule(
        min_length=_int(raw.get("minLength"), message_type.text.min_length),
        max_length=min(_int(raw.get("maxLength"), message_type.text.max_length), message_type.text.max_length),
        required=required,
    )


def attachment_rule(message_type: MessageType, schema: Mapping[str, Any]) -> AttachmentRule | None:
    """The attachment rule in force: the schema's ``attachments`` item counts or the catalog's."""
    if message_type.attachments is None:
        return None
    properties = _mapping(schema.get("properties"))
    if not properties:
        return message_type.attachments
    items = properties.get("attachments")
    if not isinstance(items, Mapping):
        return None
    required = "attachments" in _strings(schema.get("required"))
    minimum = _int(items.get("minItems"), message_type.attachments.min_count)
    return AttachmentRule(
        min_count=max(minimum, 1 if required else 0),
        max_count=min(_int(items.get("maxItems"), message_type.attachments.max_count), catalog.ATTACHMENTS_MAX_COUNT),
    )


def resolve_action(
    message_type: MessageType, actions: Sequence[AvailableAction], amazon_order_id: str
) -> AvailableAction:
    action = find_action(actions, message_type)
    if action is None:
        allowed = ", ".join(a.message_type.path for a in actions if a.message_type) or "none"
        raise MessageTypeNotAvailable(
            f"Amazon does not allow the message type {message_type.path!r} for order {amazon_order_id} now "
            f"(types allowed now: {allowed}). Some types depend on the order's state; some can be sent only once."
        )
    check_schema_readable(action, amazon_order_id)
    if action.disabled:
        reason = action.disabled_reason or "no reason given"
        raise MessageTypeNotAvailable(
            f"The message type {message_type.path!r} is disabled for order {amazon_order_id}: {reason}."
        )
    return action


def check_schema_readable(action: AvailableAction, amazon_order_id: str) -> None:
    """Refuse an action whose schema could not be read: the catalog's limits are not the order's (Amazon may
    tighten them, or disable the type), so guessing could upload files Amazon then refuses, or send a type
    Amazon disabled. Permanent: a shape Amazon changed does not come back within a retry's backoff."""
    if action.schema_problem is None:
        return
    label = action.message_type.path if action.message_type else action.name
    raise ActionSchemaUnreadable(
        f"Amazon lists the message type {label!r} for order {amazon_order_id}, but {action.schema_problem}: its "
        "limits for this order are unknown, so nothing was uploaded or sent. If sending again later fails the same "
        "way, Amazon's getMessagingActionsForOrder answer has a shape this workflow does not read: report it."
    )


@dataclass(frozen=True, slots=True)
class OfflineChecked:
    """What :func:`check_offline` found: the attachments with their staged facts, the coverage dates in RFC 3339."""

    attachments: tuple[StagedAttachment, ...]
    coverage: Mapping[str, str]


def check_offline(
    request: MessageRequest,
    staged: Sequence[StagedObject],
    message_type: MessageType,
    schema: Mapping[str, Any] | None = None,
) -> OfflineChecked:
    """The request's checks that need no call to Amazon: warranty dates, the text and the attachments (count, file
    names, types, empty files, total size) against the rules of ``schema`` (the order's, from Amazon) where it
    states them, else the catalog's. ``staged`` holds what S3 says about each attachment, in order.

    One function for both paths: :func:`validate` (the ValidateRequest state, with the order's schema) and a
    campaign's check of its manifest before anything is sent (buyer_messaging.campaigns.manifest, the catalog's
    rules), so a rule is never written twice."""
    rules: Mapping[str, Any] = schema or {}
    coverage = _check_coverage_dates(request, message_type)
    _check_text(request.text, message_type, text_rule(message_type, rules))
    attachments = _check_attachments(request.attachments, staged, message_type, attachment_rule(message_type, rules))
    if request.text is None and not attachments:
        if message_type.text is None:
            raise InvalidAttachments(
                f"A {message_type.path} message needs at least one attachment.",
                problems=(("attachments", "at least 1 required"),),
            )
        raise InvalidMessageText(f"A {message_type.path} message needs text, attachments or both; it has neither.")
    return OfflineChecked(attachments=attachments, coverage=coverage)


def validate(
    request: MessageRequest,
    action: AvailableAction,
    staged: Sequence[StagedObject],
) -> ValidatedRequest:
    """The validated request, or the first kind of problem found, naming every instance of it."""
    message_type = action.message_type
    if message_type is None:  # resolve_action only returns actions of known types
        raise MessageTypeNotAvailable(f"{action.name!r} is not a message type this workflow sends.")
    check_schema_readable(action, request.amazon_order_id)
    checked = check_offline(request, staged, message_type, action.schema)
    return ValidatedRequest(
        amazon_order_id=request.amazon_order_id,
        marketplace_id=request.marketplace_id,
        message_type=message_type.path,
        operation=message_type.operation,
        title=action.title or message_type.title,
        text=request.text,
        attachments=checked.attachments,
        coverage_start_date=checked.coverage.get("coverageStartDate"),
        coverage_end_date=checked.coverage.get("coverageEndDate"),
        lane=request.lane,
        selling_partner_id=request.selling_partner_id,
    )


def _check_text(text: str | None, message_type: MessageType, rule: TextRule | None) -> None:
    if rule is None:
        if text is not None:
            raise InvalidMessageText(
                f"The message type {message_type.path!r} takes no text for this order; remove 'text' or choose a "
                "type that takes text (e.g. unexpectedProblem, confirmOrderDetails).",
                problems=(("text", "is not allowed for this message type"),),
            )
        return
    if text is None or not text.strip():
        if rule.required:
            raise InvalidMessageText(
                f"The message type {message_type.path!r} needs text (1 to {rule.max_length} characters).",
                problems=(("text", "is required"),),
            )
        if text is not None:
            raise InvalidMessageText(
                "The text is blank; leave it out or write something.", problems=(("text", "is blank"),)
            )
        return
    length = len(text)
    if length > rule.max_length:
        raise InvalidMessageText(
            f"The text has {length} characters; {message_type.path!r} allows at most {rule.max_length}.",
            problems=(("text", f"has {length} characters, at most {rule.max_length} allowed"),),
        )
    forbidden = catalog.text_content_problems(text)
    if forbidden:
        raise InvalidMessageText(
            f"The text {' and '.join(forbidden)} (Amazon's rule for buyer messages); write links related to the "
            "order only, as plain text.",
            problems=tuple(("text", problem) for problem in forbidden),
        )
    if length < rule.min_length:
        raise InvalidMessageText(
            f"The text has {length} characters; {message_type.path!r} needs at least {rule.min_length}.",
            problems=(("text", f"needs at least {rule.min_length} characters"),),
        )


def _check_attachments(
    refs: Sequence[AttachmentRef],
    staged: Sequence[StagedObject],
    message_type: MessageType,
    rule: AttachmentRule | None,
) -> tuple[StagedAttachment, ...]:
    if rule is None:
        if refs:
            raise InvalidAttachments(
                f"The message type {message_type.path!r} takes no attachments; remove them or choose a type that "
                "does (invoice, warranty, legalDisclosure, confirmCustomizationDetails, digitalAccessKey).",
                problems=(("attachments", "are not allowed for this message type"),),
            )
        return ()
    if len(refs) > rule.max_count:
        raise InvalidAttachments(
            f"{len(refs)} attachments given; {message_type.path!r} allows at most {rule.max_count}.",
            problems=(("attachments", f"at most {rule.max_count} allowed"),),
        )
    if len(refs) < rule.min_count:
        raise InvalidAttachments(
            f"{message_type.path!r} needs at least {rule.min_count} attachment(s); {len(refs)} given.",
            problems=(("attachments", f"at least {rule.min_count} required"),),
        )
    if len(staged) != len(refs):
        raise ValueError("one staged object per attachment is required")
    problems: list[tuple[str, str]] = []
    result = []
    for index, (ref, obj) in enumerate(zip(refs, staged, strict=True)):
        where = f"attachments[{index}]"
        file_problem = file_name_problem(ref.file_name)
        if file_problem:
            problems.append((f"{where}.fileName", file_problem))
        if obj.size == 0:
            problems.append((where, f"s3://{ref.bucket}/{ref.key} is empty (0 bytes)"))
        result.append(
            StagedAttachment(
                bucket=ref.bucket,
                key=ref.key,
                file_name=ref.file_name,
                size=obj.size,
                etag=obj.etag,
                content_type=catalog.content_type_for(ref.file_name) or "application/octet-stream",
            )
        )
    total = sum(obj.size for obj in staged)
    if total >= catalog.ATTACHMENTS_TOTAL_BYTES_LIMIT:
        problems.append(
            (
                "attachments",
                f"total {total:,} bytes; must be under {catalog.ATTACHMENTS_TOTAL_BYTES_LIMIT:,} bytes",
            )
        )
    if problems:
        details = "; ".join(f"{path}: {message}" for path, message in problems)
        raise InvalidAttachments(
            f"The attachments break the rules of {message_type.path!r}: {details}.", problems=tuple(problems)
        )
    return tuple(result)


def file_name_problem(file_name: str) -> str | None:
    """Why the buyer-facing file name is not acceptable, or None."""
    if not file_name.strip():
        return "is empty"
    if len(file_name) > catalog.FILE_NAME_MAX_LENGTH:
        return f"is longer than {catalog.FILE_NAME_MAX_LENGTH} characters"
    if any(unicodedata.category(char) == "Cs" for char in file_name):
        # A lone surrogate (JSON's "\\ud800") is no character: no UTF-8 file name, no answer that shows it.
        return f"{file_name!r} is not valid Unicode text (it has a lone surrogate)"
    if any(separator in file_name for separator in ("/", "\\")):
        return f"{file_name!r} must be a plain file name, without '/' or '\\'"
    if any(_is_hidden_control(char) for char in file_name):
        return f"{file_name!r} contains control or direction-changing characters"
    if file_name.startswith(".") or file_name != file_name.strip():
        return f"{file_name!r} must not start with '.' or with or end in spaces"
    if catalog.content_type_for(file_name) is None:
        allowed = ", ".join(catalog.ATTACHMENT_CONTENT_TYPES)
        return f"{file_name!r} is not an allowed file type (allowed: {allowed})"
    return None


# Zero-width (non-)joiners shape Persian and Indic words; every other format character (direction
# overrides that disguise "exe.pdf", invisible separators) has no place in a file name a buyer sees.
_ALLOWED_FORMAT_CHARACTERS = {"\u200c", "\u200d"}


def _is_hidden_control(char: str) -> bool:
    category = unicodedata.category(char)
    return category == "Cc" or (category == "Cf" and char not in _ALLOWED_FORMAT_CHARACTERS)


def _check_coverage_dates(request: MessageRequest, message_type: MessageType) -> dict[str, str]:
    """The coverage dates given, each normalised to RFC 3339 in UTC; InvalidRequest naming every bad one."""
    dates = {"coverageStartDate": request.coverage_start_date, "coverageEndDate": request.coverage_end_date}
    given = {name: value for name, value in dates.items() if value is not None}
    if not given:
        return {}
    if not message_type.takes_coverage_dates:
        raise InvalidRequest(
            f"Coverage dates are for warranty messages only, not {message_type.path!r}.",
            problems=tuple((name, "is only for warranty messages") for name in given),
        )
    parsed: dict[str, datetime] = {}
    problems = []
    for name, value in given.items():
        moment = read_date_time(value)
        if isinstance(moment, str):
            problems.append((name, moment))
        else:
            parsed[name] = moment
    if not problems and len(parsed) == 2 and parsed["coverageEndDate"] < parsed["coverageStartDate"]:
        problems.append(("coverageEndDate", "is before coverageStartDate"))
    if problems:
        details = "; ".join(f"{name} {message}" for name, message in problems)
        raise InvalidRequest(f"The warranty coverage dates are invalid: {details}.", problems=tuple(problems))
    return {name: format_date_time(moment) for name, moment in parsed.items()}


# RFC 3339's date-time (section 5.6), the model's ``format: date-time``: a full date, "T", a full time with
# seconds, and an offset. datetime.fromisoformat reads much more of ISO 8601 (20260131T000000Z,
# 2026-W05-6T00:00Z, a space for the T, no seconds), which Amazon's model does not promise to take: those are
# normalised to RFC 3339 in UTC before the send, never sent as typed.
_RFC3339_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WITHOUT_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")


def read_date_time(value: str) -> datetime | str:
    """A date-time with its offset as an aware datetime, or what is wrong with ``value``.

    RFC 3339 is read by its grammar; another ISO 8601 form of one moment is read too (the caller sends
    either as RFC 3339 in UTC). A value without an offset, or that names no real moment, is refused.

    A date alone is refused, not taken as midnight UTC: which moment a seller means by a day depends on a
    time zone only the seller knows (the console sends the start of the chosen day, UTC, explicitly).
    """
    example = "like 2026-01-31T00:00:00Z"
    found = _RFC3339_DATE_TIME.match(value)
    if found is None:
        if _DATE_ONLY.match(value):
            return (
                f"{value!r} is a date alone; give a date-time with a time zone ({value}T00:00:00Z is the start of "
                "that day in UTC)"
            )
        if _WITHOUT_OFFSET.match(value):
            return f"{value!r} needs a time zone ({example})"
        try:
            readable = datetime.fromisoformat(value)
            if readable.tzinfo is not None:
                readable.astimezone(UTC)
        except (ValueError, OverflowError):
            return f"{value!r} is not an RFC 3339 date-time ({example})"
        if readable.tzinfo is None:
            return f"{value!r} needs a time zone ({example})"
        # Another ISO 8601 form of one moment (20260131T000000Z, a week date, a space for the T, no seconds,
        # +0100): it names one moment unambiguously, so it is read, and sent as RFC 3339 like every other.
        return readable
    year, month, day, hour, minute, second, fraction, zulu, sign, offset_hours, offset_minutes = found.groups()
    if second == "60":  # RFC 3339 has leap seconds; Python's datetime (and so its UTC form) does not
        return f"{value!r} names a leap second, which cannot be converted to UTC here; write :59 instead of :60"
    try:
        offset = timedelta(0)
        if not zulu:
            if int(offset_hours) > 23 or int(offset_minutes) > 59:
                raise ValueError("offset out of range")
            offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes)) * (-1 if sign == "-" else 1)
        microsecond = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond, timezone(offset)
        )
        moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return f"{value!r} is not a real date and time ({example})"
    return moment


def format_date_time(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339 (``2026-01-31T00:00:00Z``), with a fraction of a second only if it has one."""
    utc = moment.astimezone(UTC)
    fraction = f".{utc.microsecond:06d}".rstrip("0") if utc.microsecond else ""
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: object) -> set[str]:
    return {item for item in value if isinstance(item, str)} if isinstance(value, list) else set()


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
