"""The message-type catalog: the one table of facts about Messaging API operations.

Handlers, validation, the emulator and the docs all read this table. Facts come from Amazon's official
models (``messaging.json``, ``uploads_2020-11-01.json``) and the schemas Amazon embeds in
``getMessagingActionsForOrder``; where the schema an order returns states a limit, that limit wins
(see :mod:`buyer_messaging.validation`), the table is the fallback and the documentation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from buyer_messaging.errors import UnknownMessageType

MESSAGING_RATE_PER_SECOND = 1.0
MESSAGING_BURST = 5
UPLOADS_RATE_PER_SECOND = 10.0
UPLOADS_BURST = 10

# "You can upload text files, PDFs, Word documents, and these image file types: .jpg, .gif, and .png.
#  The total size of attachments must be less than 10 MB." (the attachment schema's description)
ATTACHMENT_CONTENT_TYPES: Mapping[str, str] = {
    ".txt": "text/plain",
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".png": "image/png",
}
# "Less than 10 MB": read as decimal megabytes, the stricter reading, so we never send what Amazon refuses.
ATTACHMENTS_TOTAL_BYTES_LIMIT = 10_000_000
# The largest one file a message can carry: the total must be *under* the limit.
ATTACHMENT_MAX_BYTES = ATTACHMENTS_TOTAL_BYTES_LIMIT - 1
ATTACHMENTS_MAX_COUNT = 5
FILE_NAME_MAX_LENGTH = 255


# Every text field of the model says: "Do not include HTML or email addresses."
# Both run in time linear in the text (the emulator checks texts of any length): an address's local part starts
# where a run of its characters starts (the lookbehind), so a long run is read once, not once from every position
# in it; a tag's end is either a space and anything up to ">", or an optional "/" and spaces, never both ways.
TEXT_FORBIDDEN_PATTERNS: Mapping[str, re.Pattern[str]] = {
    "HTML": re.compile(r"<\s*/?\s*[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*|/?\s*)>"),
    "email addresses": re.compile(
        r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
    ),
}


def text_content_problems(text: str) -> list[str]:
    """What Amazon's rules forbid in message text, e.g. ``["must not contain HTML"]``."""
    return [f"must not contain {what}" for what, pattern in TEXT_FORBIDDEN_PATTERNS.items() if pattern.search(text)]


@dataclass(frozen=True, slots=True)
class TextRule:
    min_length: int
    max_length: int
    required: bool


@dataclass(frozen=True, slots=True)
class AttachmentRule:
    min_count: int
    max_count: int


@dataclass(frozen=True, slots=True)
class MessageType:
    """One message type: its path segment, operation and body fields."""

    path: str  # the last segment of the operation's path; our canonical name
    operation: str  # operationId in the official model
    title: str  # what the seller reads when choosing
    description: str
    text: TextRule | None  # None: the operation takes no text
    attachments: AttachmentRule | None  # None: the operation takes no attachments
    takes_coverage_dates: bool = False  # warranty's coverageStartDate / coverageEndDate
    request_definition: str = ""  # the body's definition name in the official model

    @property
    def aliases(self) -> frozenset[str]:
        return frozenset({self.path.lower(), self.operation.lower()})

    @property
    def body_fields(self) -> tuple[str, ...]:
        fields = []
        if self.text is not None:
            fields.append("text")
        if self.attachments is not None:
            fields.append("attachments")
        if self.takes_coverage_dates:
            fields += ["coverageStartDate", "coverageEndDate"]
        return tuple(fields)

    def send_path(self, amazon_order_id: str) -> str:
        return f"/messaging/v1/orders/{amazon_order_id}/messages/{self.path}"

    def upload_resource(self, amazon_order_id: str) -> str:
        """The Uploads API ``resource`` for this type's attachments (slashes literal)."""
        return f"messaging/v1/orders/{amazon_order_id}/messages/{self.path}"


@dataclass(frozen=True, slots=True)
class Operation:
    """Any SP-API operation the product calls: where it lives and its default usage plan."""

    name: str
    method: str
    path_template: str
    rate_per_second: float
    burst: int


def _text(max_length: int, *, required: bool) -> TextRule:
    return TextRule(min_length=1, max_length=max_length, required=required)


def _files(*, min_count: int) -> AttachmentRule:
    return AttachmentRule(min_count=min_count, max_count=ATTACHMENTS_MAX_COUNT)


MESSAGE_TYPES: tuple[MessageType, ...] = (
    MessageType(
        path="confirmCustomizationDetails",
        operation="confirmCustomizationDetails",
        title="Confirm customization details",
        description="Ask the buyer to provide or verify customization details (name spelling, images, initials).",
        text=_text(800, required=False),
        attachments=_files(min_count=0),
        request_definition="CreateConfirmCustomizationDetailsRequest",
    ),
    MessageType(
        path="confirmDeliveryDetails",
        operation="createConfirmDeliveryDetails",
        title="Confirm delivery details",
        description="Arrange a delivery or confirm contact information for making a delivery.",
        text=_text(2000, required=True),
        attachments=None,
        request_definition="CreateConfirmDeliveryDetailsRequest",
    ),
    MessageType(
        path="legalDisclosure",
        operation="createLegalDisclosure",
        title="Legal disclosure",
        description="Documents the seller is legally obligated to provide to the buyer.",
        text=None,
        attachments=_files(min_count=1),
        request_definition="CreateLegalDisclosureRequest",
    ),
    MessageType(
        path="confirmOrderDetails",
        operation="createConfirmOrderDetails",
        title="Confirm order details",
        description="Ask the buyer an order-related question before shipping the order.",
        text=_text(2000, required=True),
        attachments=None,
        request_definition="CreateConfirmOrderDetailsRequest",
    ),
    MessageType(
        path="confirmServiceDetails",
        operation="createConfirmServiceDetails",
        title="Contact Home Service customer",
        description="Arrange a service call or gather information before a service call.",
        text=_text(2000, required=True),
        attachments=None,
        request_definition="CreateConfirmServiceDetailsRequest",
    ),
    MessageType(
        path="warranty",
        operation="CreateWarranty",
        title="Send warranty information",
        description="Details about warranty information on a purchase in the order.",
        text=None,
        attachments=_files(min_count=1),
        takes_coverage_dates=True,
        request_definition="CreateWarrantyRequest",
    ),
    MessageType(
        path="digitalAccessKey",
        operation="createDigitalAccessKey",
        title="Digital access key",
        description="Share a digital access key needed to use digital content in the order.",
        text=_text(400, required=False),
        attachments=_files(min_count=0),
        request_definition="CreateDigitalAccessKeyRequest",
    ),
    MessageType(
        path="unexpectedProblem",
        operation="createUnexpectedProblem",
        title="Unexpected problem",
        description="Tell the buyer an unexpected problem affects the completion of the order.",
        text=_text(2000, required=True),
        attachments=None,
        request_definition="CreateUnexpectedProblemRequest",
    ),
    MessageType(
        path="invoice",
        operation="sendInvoice",
        title="Send invoice",
        description="Send the buyer an invoice for the order.",
        text=None,
        attachments=_files(min_count=1),
        request_definition="InvoiceRequest",
    ),
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "getMessagingActionsForOrder",
        "GET",
        "/messaging/v1/orders/{amazonOrderId}",
        MESSAGING_RATE_PER_SECOND,
        MESSAGING_BURST,
    ),
    Operation(
        "GetAttributes",
        "GET",
        "/messaging/v1/orders/{amazonOrderId}/attributes",
        MESSAGING_RATE_PER_SECOND,
        MESSAGING_BURST,
    ),
    *(
        Operation(
            message_type.operation,
            "POST",
            "/messaging/v1/orders/{amazonOrderId}/messages/" + message_type.path,
            MESSAGING_RATE_PER_SECOND,
            MESSAGING_BURST,
        )
        for message_type in MESSAGE_TYPES
    ),
    Operation(
        "createUploadDestinationForResource",
        "POST",
        "/uploads/2020-11-01/uploadDestinations/{resource}",
        UPLOADS_RATE_PER_SECOND,
        UPLOADS_BURST,
    ),
)

_BY_ALIAS: Mapping[str, MessageType] = {
    alias: message_type for message_type in MESSAGE_TYPES for alias in message_type.aliases
}
_OPERATIONS_BY_NAME: Mapping[str, Operation] = {operation.name: operation for operation in OPERATIONS}


def find_message_type(name: str) -> MessageType | None:
    """The message type a path segment or operation name (any case) stands for, or None."""
    return _BY_ALIAS.get(name.strip().lower())


def message_type(name: str) -> MessageType:
    """Like :func:`find_message_type` but a clear error for a name that is no message type."""
    found = find_message_type(name)
    if found is None:
        known = ", ".join(m.path for m in MESSAGE_TYPES)
        raise UnknownMessageType(f"{name!r} is not a message type of the Messaging API. Use one of: {known}.")
    return found


def operation(name: str) -> Operation:
    return _OPERATIONS_BY_NAME[name]


def iter_message_types() -> Iterator[MessageType]:
    return iter(MESSAGE_TYPES)


def content_type_for(file_name: str) -> str | None:
    """The content type of an allowed attachment file name, None when its extension is not allowed."""
    dot = file_name.rfind(".")
    if dot <= 0:
        return None
    return ATTACHMENT_CONTENT_TYPES.get(file_name[dot:].lower())


def markdown_table() -> str:
    """The catalog as the Markdown table the README shows (a test keeps the README in step)."""
    rows = [
        "| messageType | operation (alias) | text | attachments | other fields |",
        "| --- | --- | --- | --- | --- |",
    ]
    for message_type in MESSAGE_TYPES:
        text = "—"
        if message_type.text is not None:
            text = f"{'required' if message_type.text.required else 'optional'}, ≤ {message_type.text.max_length} chars"
        files = "—"
        if message_type.attachments is not None:
            files = f"{message_type.attachments.min_count} to {message_type.attachments.max_count} files"
        other = "coverageStartDate, coverageEndDate" if message_type.takes_coverage_dates else "—"
        rows.append(f"| `{message_type.path}` | `{message_type.operation}` | {text} | {files} | {other} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
