"""The request document's fields and the reader that collects every bad field of a JSON object before raising once.

The payload models (buyer_messaging.models), the HTTP API's bodies (http_api, campaigns.api) and the campaign
manifests read their input with these. Kept apart from the models so that what only reads a body (the API
function) starts without building the models' classes (about 5 ms of a cold start, bench/).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from buyer_messaging.errors import InvalidRequest

# Amazon order ids are 3-7-7 groups ("123-1234567-1234567"); the first group may hold letters.
AMAZON_ORDER_ID_PATTERN = re.compile(r"^[0-9A-Z]{3}-[0-9]{7}-[0-9]{7}$")
# Selling partner ids ("A2EUQ1WTGCTBG2"): upper-case letters and digits; the SP-API emulator's seed holds the same.
SELLING_PARTNER_ID_PATTERN = re.compile(r"^[A-Z0-9]{8,20}$")
MAX_ATTACHMENTS_IN_REQUEST = 50  # far above any message type's limit; bounds the work on garbage input
# The fields of a request document and of its attachments (DESIGN: "Request document"), in the documented order:
# the HTTP API's message body is this document less what its path and its staging say (http_api).
REQUEST_DOCUMENT_FIELDS = (
    "amazonOrderId",
    "marketplaceId",
    "messageType",
    "text",
    "attachments",
    "coverageStartDate",
    "coverageEndDate",
    "campaign",
    "sellingPartnerId",
)
ATTACHMENT_REF_FIELDS = ("bucket", "key", "fileName")
CAMPAIGN_REF_FIELDS = ("id", "row", "run")
# Campaign ids are execution names (naming.deterministic_name); a row's child execution adds "-{row}-{run}".
CAMPAIGN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class FieldReader:
    """Reads fields of one JSON object and collects every problem before raising once."""

    def __init__(self, data: object, where: str, problems: list[tuple[str, str]] | None = None) -> None:
        self.where = where
        self.problems: list[tuple[str, str]] = [] if problems is None else problems
        if isinstance(data, Mapping):
            self.data: Mapping[str, Any] = data
        else:
            self.data = {}
            self.problems.append((where or "(document)", f"must be a JSON object, not {json_type(data)}"))

    def _path(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def problem(self, name: str, message: str) -> None:
        self.problems.append((self._path(name), message))

    def string(self, name: str, *, required: bool = True, default: str | None = None) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.problem(name, "is required")
            return default
        if not isinstance(value, str):
            self.problem(name, f"must be a string, not {json_type(value)}")
            return default
        text_problem = unicode_text_problem(value)
        if text_problem is not None:
            self.problem(name, text_problem)  # raised with the others; the value is still read for their checks
        return value

    def selling_partner_id(self, name: str = "sellingPartnerId") -> str | None:
        """An optional selling partner id (the seller a request is for); a problem when it is not one."""
        value = self.string(name, required=False)
        if value is not None and not SELLING_PARTNER_ID_PATTERN.fullmatch(value):
            self.problem(name, "must be a selling partner id (upper-case letters and digits, 8 to 20)")
            return None
        return value

    def required_string(self, name: str) -> str:
        return self.string(name) or ""

    def integer(self, name: str) -> int:
        value = self.data.get(name)
        if value is None:
            self.problem(name, "is required")
            return 0
        # JSON has one number type: 12.0 is the integer 12 (JSON Schema's "integer" says so too).
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(name, "must be an integer")
            return 0
        return value

    def object_list(self, name: str, *, max_items: int) -> list[FieldReader]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(name, f"must be a list, not {json_type(value)}")
            return []
        if len(value) > max_items:
            self.problem(name, f"has {len(value)} items; at most {max_items} are accepted")
            return []
        return [FieldReader(item, f"{self._path(name)}[{index}]", self.problems) for index, item in enumerate(value)]

    def refuse_unknown(self, known: Collection[str], what: str) -> None:
        """A problem for every field that is not in ``known``: a typo must not be dropped silently."""
        for unknown in sorted(set(self.data) - set(known)):
            self.problem(unknown, f"is not a field of {what} (a typo?)")

    def mapping(self, name: str) -> FieldReader:
        return FieldReader(self.data.get(name), self._path(name), self.problems)

    def raise_if_problems(self, what: str) -> None:
        if self.problems:
            details = "; ".join(f"{path} {message}" for path, message in self.problems)
            raise InvalidRequest(f"The {what} is invalid: {details}.", problems=tuple(self.problems))


def lone_surrogate_at(text: str) -> int | None:
    """Where ``text`` has a lone surrogate (JSON's "\\ud800": no character, so no UTF-8), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return error.start
    return None


def unicode_text_problem(text: str) -> str | None:
    """Why ``text`` is not Unicode text, or None. A lone surrogate can be neither stored, sent to Amazon nor
    written back in an answer; the problem names it without repeating the text."""
    at = lone_surrogate_at(text)
    if at is None:
        return None
    return f"is not valid Unicode text (a lone surrogate U+{ord(text[at]):04X} at character {at})"


def json_type(value: object) -> str:
    """How JSON would name ``value``'s type, for a person: "null", "a string", "an object", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
