"""The bad-input table: every way a seller can get a message request wrong, and how each must end.

Each :class:`BadInputCase` enters the way a seller's input would — a file dropped under ``outbox/``, a
request document under ``requests/``, a StartExecution from the console, a raw event handed to the S3
trigger, or an HTTP request to the API (the deployed ApiFunction's handler behind the local API server).
Bad input must end in a named error with a readable cause, send nothing and lose nothing; the positive
controls (non-ASCII file names) must be delivered byte for byte. Data only: :mod:`.runner` runs a case on a
fresh local stack, :mod:`.verdicts` judges it, :mod:`.cli` prints the table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from local_stack.reliability.inputs import (
    CA,
    DE,
    DE_ORDER,
    JP,
    ONCE_PER_ORDER,
    ONLY_UNEXPECTED_PROBLEM,
    ORDER,
    PDF,
    PNG,
    UNKNOWN_ORDER,
    US,
    attachment,
    doc,
)

Entry = Literal["outbox", "request", "console", "event", "api"]
DELIVERED = "delivered"  # the expected outcome of a positive control


@dataclass(frozen=True)
class Repeated:
    """``size`` bytes of ``fill``, made only when the case runs (big files cost no memory at import)."""

    size: int
    fill: bytes = b"\0"

    def data(self) -> bytes:
        return (self.fill * (self.size // len(self.fill) + 1))[: self.size]


Content = bytes | Repeated


def content_bytes(content: Content) -> bytes:
    return content.data() if isinstance(content, Repeated) else content


@dataclass(frozen=True)
class BadInputCase:
    """One input and the outcome it must have.

    - ``entry``: ``outbox`` puts ``content`` under the outbox ``key``; ``request`` puts the request document
      (``document`` as JSON, or ``raw`` bytes) under ``key`` (default ``requests/{id}.json``); ``console``
      starts the state machine with ``document``; ``event`` invokes the S3 trigger with ``document`` as the
      raw event, or (``document`` None) with an S3 ObjectCreated record of ``key`` in the staging bucket.
    - ``api``: POSTs to ``path`` of the HTTP API (through real HTTP on 127.0.0.1) ``document`` as JSON (lone
      surrogates as ``\\ud800`` escapes) or ``raw`` bytes, under ``content_type`` (None: no Content-Type);
      the answer must have the HTTP ``status``.
    - ``staged``: objects put in the staging bucket first (mostly keys that start nothing: ``attachments/``
      ...; what an ``outbox/`` or ``requests/`` key starts has ended before the input enters).
    - ``before``: request documents sent (and delivered) through the console first, e.g. to use up a
      once-per-order type; their messages do not count as sent by the bad input.
    - ``expected``: the error name, or :data:`DELIVERED` for a positive control, whose ``delivered`` maps
      each file name the buyer must see to the staged key whose bytes it must carry.
    - ``cause_contains``: a piece of the cause a person needs to fix the input (case-insensitive).
    - ``known_issue``: why the case does not end as it must yet. It still fails (the table shows it, the
      command exits non-zero); the test marks it as a strict expected failure, so the fix is noticed.
    """

    id: str
    description: str
    entry: Entry
    expected: str
    cause_contains: str = ""
    staged: Mapping[str, Content] = field(default_factory=dict)
    document: Any = None
    raw: Content | None = None
    key: str = ""
    content: Content = PDF
    before: tuple[Mapping[str, Any], ...] = ()
    delivered: Mapping[str, str] = field(default_factory=dict)
    spapi_region: str = "na"
    known_issue: str = ""
    path: str = ""
    content_type: str | None = "application/json"
    status: int = 0

    @property
    def positive(self) -> bool:
        return self.expected == DELIVERED

    @property
    def request_key(self) -> str:
        return self.key or f"requests/{self.id}.json"


INVOICE_KEY = "attachments/invoice.pdf"
INVOICE = {INVOICE_KEY: PDF}
WARRANTY_DATES = {"coverageStartDate": "2026-11-27T00:00:00Z", "coverageEndDate": "2028-11-27T00:00:00Z"}


# The HTTP API (entry "api"): its routes, and a key of the form POST /attachments hands out.
MESSAGES = f"/orders/{ORDER}/messages"
STAGE = "/attachments"
API_STAGED_KEY = "attachments/4f0c2b6e-1d3a-4c5b-9e7f-0a1b2c3d4e5f/Invoice.pdf"
API_KEY_CAUSE = "key POST /attachments gave"
OTHER_ORDERS_OUTBOX_FILE = f"outbox/{US}/{ONCE_PER_ORDER}/invoice/Invoice-114-3941689-8772232.pdf"
OTHER_ORDERS_REQUEST = "requests/order-114.json"
STAGING_BODY = {"fileName": "Invoice.pdf", "contentType": "application/pdf", "size": 1234}


def _api_message(key: str, file_name: str = "Invoice.pdf", **fields: str) -> dict[str, Any]:
    """A message body of POST /orders/{ORDER}/messages with one attachment (``fields``: more of its fields)."""
    return {
        "marketplaceId": US,
        "messageType": "invoice",
        "attachments": [{"key": key, "fileName": file_name, **fields}],
    }


def _api_key_case(case_id: str, description: str, key: str, staged: Mapping[str, Content]) -> BadInputCase:
    return BadInputCase(
        case_id,
        description,
        "api",
        "InvalidAttachments",
        API_KEY_CAUSE,
        staged=staged,
        document=_api_message(key),
        path=MESSAGES,
        status=400,
    )


def _nested(depth: int) -> bytes:
    return ('{"a": ' * depth + "1" + "}" * depth).encode()


def _invoice_named(case_id: str, description: str, file_name: str, cause: str) -> BadInputCase:
    return BadInputCase(
        case_id,
        description,
        "request",
        "InvalidAttachments",
        cause,
        staged=INVOICE,
        document=doc("invoice", attachments=[attachment(INVOICE_KEY, file_name)]),
    )


CASES: tuple[BadInputCase, ...] = (
    # --- the request document and the event ----------------------------------------------------------------
    BadInputCase(
        "malformed-json",
        "request document that is not valid JSON",
        "request",
        "InvalidRequest",
        "not a JSON request document",
        raw=b'{"amazonOrderId": "123-1234567-1234567", "marketplaceId": ',
    ),
    BadInputCase(
        "not-utf8",
        "request document in Latin-1, not UTF-8",
        "request",
        "InvalidRequest",
        "not a JSON request document",
        raw='{"amazonOrderId": "123-1234567-1234567", "text": "Grüße"}'.encode("latin-1"),
    ),
    BadInputCase(
        "document-too-big",
        "request document over 256 KiB",
        "request",
        "InvalidRequest",
        "at most 262,144",
        raw=Repeated(300_000, b" "),
    ),
    BadInputCase(
        "document-is-list",
        "request document that is a JSON list, not an object",
        "request",
        "InvalidRequest",
        "must be a JSON object",
        document=[doc("unexpectedProblem", text="Your parcel is delayed.")],
    ),
    BadInputCase(
        "console-input-is-string",
        "console input that is a JSON string, not an object",
        "console",
        "InvalidRequest",
        "must be a JSON object",
        document="123-1234567-1234567",
    ),
    BadInputCase(
        "console-input-is-list",
        "console input that is a JSON list, not an object",
        "console",
        "InvalidRequest",
        "must be a JSON object",
        document=[{"amazonOrderId": "123-1234567-1234567"}],
    ),
    BadInputCase(
        "missing-order-id",
        "request document without amazonOrderId",
        "request",
        "InvalidRequest",
        "amazonOrderId is required",
        document={"marketplaceId": US, "messageType": "unexpectedProblem", "text": "Your parcel is delayed."},
    ),
    BadInputCase(
        "missing-marketplace-id",
        "console input without marketplaceId",
        "console",
        "InvalidRequest",
        "marketplaceId is required",
        document={"amazonOrderId": ORDER, "messageType": "unexpectedProblem", "text": "Your parcel is delayed."},
    ),
    BadInputCase(
        "missing-message-type",
        "console input without messageType",
        "console",
        "InvalidRequest",
        "messageType is required",
        document={"amazonOrderId": ORDER, "marketplaceId": US, "text": "Your parcel is delayed."},
    ),
    BadInputCase(
        "wrong-types",
        "order id as a number, text as a list",
        "request",
        "InvalidRequest",
        "must be a string",
        document={"amazonOrderId": 1231234567, "marketplaceId": US, "messageType": "unexpectedProblem", "text": ["a"]},
    ),
    BadInputCase(
        "attachments-not-a-list",
        "attachments given as one object instead of a list",
        "request",
        "InvalidRequest",
        "attachments must be a list",
        staged=INVOICE,
        document=doc("invoice", attachments=attachment(INVOICE_KEY, "Invoice.pdf")),
    ),
    BadInputCase(
        "attachment-without-key",
        "attachment entry without a key",
        "console",
        "InvalidRequest",
        "attachments[0].key is required",
        document=doc("invoice", attachments=[{"fileName": "Invoice.pdf"}]),
    ),
    BadInputCase(
        "unknown-field",
        "misspelt field 'atachments'",
        "request",
        "InvalidRequest",
        "atachments",
        staged=INVOICE,
        document=doc("invoice", atachments=[attachment(INVOICE_KEY, "Invoice.pdf")]),
    ),
    BadInputCase(
        "bad-order-id",
        "order id not in the 3-7-7 format",
        "console",
        "InvalidRequest",
        "not an Amazon order id",
        document=doc("unexpectedProblem", order="123-4567", text="Your parcel is delayed."),
    ),
    BadInputCase(
        "event-without-records",
        "trigger invoked with an event that is not an S3 notification",
        "event",
        "InvalidRequest",
        "not an S3 notification",
        document={"detail-type": "Object Created", "detail": {"object": {"key": "outbox/x"}}},
    ),
    BadInputCase(
        "event-record-without-key",
        "S3 event record without s3.object.key",
        "event",
        "InvalidRequest",
        "s3.object.key",
        document={"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {}}}]},
    ),
    # --- message types ---------------------------------------------------------------------------------------
    BadInputCase(
        "unknown-message-type",
        "message type that does not exist ('sendPostcard')",
        "console",
        "UnknownMessageType",
        "sendPostcard",
        document=doc("sendPostcard", text="Hello"),
    ),
    BadInputCase(
        "unknown-type-in-outbox",
        "outbox key with an unknown message type segment",
        "outbox",
        "UnknownMessageType",
        "not a message type",
        key=f"outbox/{US}/{ORDER}/receipt/Receipt.pdf",
    ),
    BadInputCase(
        "type-not-available",
        "invoice for an order that allows only unexpectedProblem",
        "request",
        "MessageTypeNotAvailable",
        "types allowed now: unexpectedProblem",
        staged=INVOICE,
        document=doc("invoice", order=ONLY_UNEXPECTED_PROBLEM, attachments=[attachment(INVOICE_KEY)]),
    ),
    BadInputCase(
        "once-per-order-used",
        "second legal disclosure for an order that allows it once",
        "console",
        "MessageTypeNotAvailable",
        "legalDisclosure",
        staged=INVOICE,
        before=(doc("legalDisclosure", order=ONCE_PER_ORDER, attachments=[attachment(INVOICE_KEY, "Disclosure.pdf")]),),
        document=doc(
            "legalDisclosure", order=ONCE_PER_ORDER, attachments=[attachment(INVOICE_KEY, "Disclosure 2.pdf")]
        ),
    ),
    # --- text ------------------------------------------------------------------------------------------------
    BadInputCase(
        "text-too-long",
        "2001 characters for unexpectedProblem (at most 2000)",
        "console",
        "InvalidMessageText",
        "at most 2000",
        document=doc("unexpectedProblem", text="x" * 2001),
    ),
    BadInputCase(
        "de-order-in-na-deployment",
        "DE order (EU marketplace) sent through the na deployment",
        "console",
        "InvalidRequest",
        "SpApiRegion=eu",
        document=doc("unexpectedProblem", order=DE_ORDER, marketplace=DE, text="x" * 1001),
    ),
    BadInputCase(
        "de-text-over-override",
        "1001 characters for the DE order whose schema allows 1000 (eu deployment)",
        "console",
        "InvalidMessageText",
        "at most 1000",
        document=doc("unexpectedProblem", order=DE_ORDER, marketplace=DE, text="x" * 1001),
        spapi_region="eu",
    ),
    BadInputCase(
        "text-missing",
        "unexpectedProblem without text",
        "console",
        "InvalidMessageText",
        "needs text",
        document=doc("unexpectedProblem"),
    ),
    BadInputCase(
        "text-blank",
        "text of spaces and a newline for a type that requires text",
        "console",
        "InvalidMessageText",
        "needs text",
        document=doc("confirmOrderDetails", text="  \n "),
    ),
    BadInputCase(
        "text-blank-optional",
        "blank text on a type where text is optional",
        "request",
        "InvalidMessageText",
        "blank",
        staged={"attachments/proof.png": PNG},
        document=doc("confirmCustomizationDetails", text="   ", attachments=[attachment("attachments/proof.png")]),
    ),
    BadInputCase(
        "text-on-file-only-type",
        "text on an invoice (a type without text)",
        "request",
        "InvalidMessageText",
        "takes no text",
        staged=INVOICE,
        document=doc("invoice", text="Here is your invoice.", attachments=[attachment(INVOICE_KEY)]),
    ),
    BadInputCase(
        "text-html",
        "HTML in the text",
        "console",
        "InvalidMessageText",
        "HTML",
        document=doc("unexpectedProblem", text='Sorry! <a href="https://example.com">track it</a>'),
    ),
    BadInputCase(
        "text-email",
        "an email address in the text",
        "console",
        "InvalidMessageText",
        "email",
        document=doc("confirmDeliveryDetails", text="Write to seller@example.com for a new date."),
    ),
    # --- attachments -----------------------------------------------------------------------------------------
    BadInputCase(
        "six-attachments",
        "6 files for an invoice (at most 5)",
        "request",
        "InvalidAttachments",
        "at most 5",
        staged={f"attachments/invoice-{index}.pdf": PDF for index in range(6)},
        document=doc("invoice", attachments=[attachment(f"attachments/invoice-{index}.pdf") for index in range(6)]),
    ),
    BadInputCase(
        "attachment-on-text-only-type",
        "a file on unexpectedProblem (text only)",
        "request",
        "InvalidAttachments",
        "takes no attachments",
        staged=INVOICE,
        document=doc("unexpectedProblem", text="Your parcel is delayed.", attachments=[attachment(INVOICE_KEY)]),
    ),
    BadInputCase(
        "invoice-without-file",
        "invoice without an attachment",
        "console",
        "InvalidAttachments",
        "at least 1",
        document=doc("invoice"),
    ),
    BadInputCase(
        "warranty-without-file",
        "warranty with coverage dates but no file",
        "console",
        "InvalidAttachments",
        "at least 1",
        document=doc("warranty", **WARRANTY_DATES),
    ),
    BadInputCase(
        "exe-file",
        "an .exe dropped in the outbox",
        "outbox",
        "InvalidAttachments",
        "not an allowed file type",
        key=f"outbox/{US}/{ORDER}/invoice/setup.exe",
        content=b"MZ\x90\x00" + b"\0" * 60,
    ),
    _invoice_named("no-extension", "file name without an extension", "Invoice", "not an allowed file type"),
    _invoice_named("traversal-dotdot", "file name '../../etc/passwd.pdf'", "../../etc/passwd.pdf", "plain file name"),
    _invoice_named("traversal-subfolder", "file name 'a/b.pdf'", "a/b.pdf", "plain file name"),
    BadInputCase(
        "traversal-backslash-outbox",
        "outbox file name '..\\x.pdf'",
        "outbox",
        "InvalidAttachments",
        "plain file name",
        key=f"outbox/{US}/{ORDER}/invoice/..\\x.pdf",
    ),
    _invoice_named("hidden-file-name", "file name '.pdf' (hidden, no name)", ".pdf", "must not start with '.'"),
    _invoice_named("control-character", "file name with a newline", "Invoice\n2026.pdf", "control"),
    _invoice_named(
        "direction-override",
        "file name 'Invoice<U+202E>exe.pdf' that a buyer would see as 'Invoicefdp.exe'",
        "Invoice\u202eexe.pdf",
        "direction-changing",
    ),
    _invoice_named("file-name-too-long", "file name of 300 characters", "a" * 296 + ".pdf", "longer than 255"),
    BadInputCase(
        "zero-byte-file",
        "a 0-byte PDF",
        "request",
        "InvalidAttachments",
        "empty (0 bytes)",
        staged={"attachments/empty.pdf": b""},
        document=doc("invoice", attachments=[attachment("attachments/empty.pdf", "Invoice.pdf")]),
    ),
    BadInputCase(
        "zero-byte-outbox",
        "a 0-byte file dropped in the outbox",
        "outbox",
        "InvalidAttachments",
        "empty (0 bytes)",
        key=f"outbox/{US}/{ORDER}/invoice/Invoice.pdf",
        content=b"",
    ),
    BadInputCase(
        "total-over-10mb",
        "two files of 6,000,000 + 4,000,001 bytes (total must be under 10,000,000)",
        "request",
        "InvalidAttachments",
        "must be under 10,000,000",
        staged={"attachments/big-1.pdf": Repeated(6_000_000), "attachments/big-2.pdf": Repeated(4_000_001)},
        document=doc("invoice", attachments=[attachment("attachments/big-1.pdf"), attachment("attachments/big-2.pdf")]),
    ),
    BadInputCase(
        "total-exactly-10mb",
        "two files of exactly 10,000,000 bytes together (the limit is 'under')",
        "console",
        "InvalidAttachments",
        "must be under 10,000,000",
        staged={"attachments/half-1.pdf": Repeated(5_000_000), "attachments/half-2.pdf": Repeated(5_000_000)},
        document=doc(
            "warranty", attachments=[attachment("attachments/half-1.pdf"), attachment("attachments/half-2.pdf")]
        ),
    ),
    BadInputCase(
        "missing-object",
        "attachment key that was never staged",
        "request",
        "AttachmentNotFound",
        "attachments/nope.pdf does not exist",
        document=doc("invoice", attachments=[attachment("attachments/nope.pdf", "Invoice.pdf")]),
    ),
    BadInputCase(
        "missing-bucket",
        "attachment in a bucket that does not exist",
        "console",
        "AttachmentNotFound",
        "does not exist",
        document=doc("invoice", attachments=[{"bucket": "no-such-bucket-4711", "key": INVOICE_KEY}]),
    ),
    # --- marketplace and order -------------------------------------------------------------------------------
    BadInputCase(
        "marketplace-malformed",
        "marketplace given as 'US'",
        "console",
        "InvalidRequest",
        "not an Amazon marketplace id",
        document=doc("unexpectedProblem", marketplace="US", text="Your parcel is delayed."),
    ),
    BadInputCase(
        "marketplace-other-region",
        "US order with the JP marketplace (region fe)",
        "console",
        "InvalidRequest",
        "region",
        document=doc("unexpectedProblem", marketplace=JP, text="Your parcel is delayed."),
    ),
    BadInputCase(
        "marketplace-not-the-orders",
        "US order with the CA marketplace (same region, not the order's)",
        "console",
        "SpApiInvalidInput",
        "marketplace",
        document=doc("unexpectedProblem", marketplace=CA, text="Your parcel is delayed."),
    ),
    BadInputCase(
        "unknown-order",
        "well-formed order id Amazon does not know",
        "console",
        "SpApiNotFound",
        UNKNOWN_ORDER,
        document=doc("unexpectedProblem", order=UNKNOWN_ORDER, text="Your parcel is delayed."),
    ),
    BadInputCase(
        "outbox-bad-order-id",
        "outbox key with '..' as the order id",
        "outbox",
        "InvalidRequest",
        "not an Amazon order id",
        key=f"outbox/{US}/../invoice/Invoice.pdf",
    ),
    # --- warranty coverage dates -----------------------------------------------------------------------------
    BadInputCase(
        "coverage-on-invoice",
        "coverage dates on an invoice",
        "request",
        "InvalidRequest",
        "warranty messages only",
        staged=INVOICE,
        document=doc("invoice", attachments=[attachment(INVOICE_KEY)], **WARRANTY_DATES),
    ),
    BadInputCase(
        "coverage-not-a-date",
        "coverageEndDate 'in two years'",
        "request",
        "InvalidRequest",
        "not an RFC 3339 date-time",
        staged=INVOICE,
        document=doc(
            "warranty",
            attachments=[attachment(INVOICE_KEY, "Warranty.pdf")],
            coverageStartDate="2026-11-27T00:00:00Z",
            coverageEndDate="in two years",
        ),
    ),
    BadInputCase(
        "coverage-no-time-zone",
        "coverage dates without a time zone",
        "console",
        "InvalidRequest",
        "time zone",
        staged=INVOICE,
        document=doc(
            "warranty",
            attachments=[attachment(INVOICE_KEY, "Warranty.pdf")],
            coverageStartDate="2026-11-27T00:00:00",
            coverageEndDate="2028-11-27T00:00:00",
        ),
    ),
    BadInputCase(
        "coverage-end-before-start",
        "coverage that ends before it starts",
        "console",
        "InvalidRequest",
        "before coverageStartDate",
        staged=INVOICE,
        document=doc(
            "warranty",
            attachments=[attachment(INVOICE_KEY, "Warranty.pdf")],
            coverageStartDate="2028-11-27T00:00:00Z",
            coverageEndDate="2026-11-27T00:00:00Z",
        ),
    ),
    # --- S3 keys ---------------------------------------------------------------------------------------------
    BadInputCase(
        "outbox-too-few-parts",
        "outbox key without a file name (outbox/{marketplace}/{order}/invoice)",
        "outbox",
        "UnsupportedS3Key",
        "four non-empty parts",
        key=f"outbox/{US}/{ORDER}/invoice",
    ),
    BadInputCase(
        "outbox-empty-segment",
        "outbox key with an empty order segment",
        "outbox",
        "UnsupportedS3Key",
        "four non-empty parts",
        key=f"outbox/{US}//invoice/x.pdf",
    ),
    BadInputCase(
        "outbox-too-many-parts",
        "outbox key with a folder in the file name",
        "outbox",
        "UnsupportedS3Key",
        "four non-empty parts",
        key=f"outbox/{US}/{ORDER}/invoice/2026/Invoice.pdf",
    ),
    BadInputCase(
        "requests-nested",
        "request document in a folder under requests/",
        "request",
        "UnsupportedS3Key",
        "directly under requests/",
        key="requests/2026/november.json",
        document=doc("unexpectedProblem", text="Your parcel is delayed."),
    ),
    BadInputCase(
        "requests-not-json",
        "requests/notes.txt handed to the trigger (S3's suffix filter never sends it)",
        "event",
        "UnsupportedS3Key",
        "requests/{name}.json",
        staged={"requests/notes.txt": b"call the buyer"},
        key="requests/notes.txt",
    ),
    BadInputCase(
        "lone-surrogate-text",
        "request document whose text has a lone surrogate (JSON's \\udc00)",
        "request",
        "InvalidRequest",
        "text is not valid Unicode text",
        raw=json.dumps(doc("unexpectedProblem", text="Your parcel is delayed \udc00")).encode(),
    ),
    BadInputCase(
        "lone-surrogate-message-type",
        "console input whose messageType is a lone surrogate",
        "console",
        "InvalidRequest",
        "messageType is not valid Unicode text",
        document=doc("\ud800", text="Your parcel is delayed."),
    ),
    # --- the HTTP API: only keys POST /attachments gave; bodies that are no UTF-8 JSON object ----------------
    _api_key_case(
        "api-key-outbox-file",
        "message naming another order's outbox invoice (outbox/…) as its attachment",
        OTHER_ORDERS_OUTBOX_FILE,
        {OTHER_ORDERS_OUTBOX_FILE: PDF},
    ),
    _api_key_case(
        "api-key-request-document",
        "message naming a request document (requests/…) as its attachment",
        OTHER_ORDERS_REQUEST,
        {
            OTHER_ORDERS_REQUEST: json.dumps(
                doc("unexpectedProblem", order=ONCE_PER_ORDER, text="Your parcel is delayed.")
            ).encode()
        },
    ),
    _api_key_case(
        "api-key-back-office-file",
        "message naming a file staged for request documents (attachments/invoice.pdf), not by POST /attachments",
        INVOICE_KEY,
        INVOICE,
    ),
    _api_key_case(
        "api-key-other-object",
        "message naming any other object of the bucket (other/notes.json)",
        "other/notes.json",
        {"other/notes.json": b'{"buyer": "someone else", "address": "1 Main St"}'},
    ),
    _api_key_case(
        "api-key-traversal",
        "message naming attachments/{uuid}/../../requests/order-114.json",
        API_STAGED_KEY.rsplit("/", 1)[0] + "/../../" + OTHER_ORDERS_REQUEST,
        {},
    ),
    _api_key_case(
        "api-key-empty-segment",
        "message naming attachments//Invoice.pdf (an empty folder)",
        "attachments//Invoice.pdf",
        {"attachments//Invoice.pdf": PDF},
    ),
    BadInputCase(
        "api-key-with-bucket",
        "message naming a bucket for its attachment",
        "api",
        "InvalidRequest",
        "attachments[0].bucket",
        staged={API_STAGED_KEY: PDF},
        document=_api_message(API_STAGED_KEY, bucket="another-sellers-bucket"),
        path=MESSAGES,
        status=400,
    ),
    BadInputCase(
        "api-nested-list",
        "POST /attachments body '[' * 1000 + ']' * 1000",
        "api",
        "InvalidRequest",
        "deeper than 20 levels",
        raw=b"[" * 1000 + b"]" * 1000,
        path=STAGE,
        status=400,
    ),
    BadInputCase(
        "api-nested-object",
        'message body {"a": {"a": …}} nested 1000 levels',
        "api",
        "InvalidRequest",
        "deeper than 20 levels",
        raw=_nested(1000),
        path=MESSAGES,
        status=400,
    ),
    BadInputCase(
        "api-not-utf8-staging",
        "POST /attachments body with byte 0xff, sent as application/octet-stream",
        "api",
        "InvalidRequest",
        "not UTF-8 JSON",
        raw=b'{"fileName": "\xff.pdf", "contentType": "application/pdf", "size": 1234}',
        content_type="application/octet-stream",
        path=STAGE,
        status=400,
    ),
    BadInputCase(
        "api-not-utf8-message",
        "message body in Latin-1 ('Grüße'), sent as application/octet-stream",
        "api",
        "InvalidRequest",
        "not UTF-8 JSON",
        raw=json.dumps(_api_message(API_STAGED_KEY, "Grüße.pdf"), ensure_ascii=False).encode("latin-1"),
        content_type="application/octet-stream",
        staged={API_STAGED_KEY: PDF},
        path=MESSAGES,
        status=400,
    ),
    BadInputCase(
        "api-not-utf8-json",
        "message body in Latin-1 ('Grüße'), claiming to be application/json (the local API server hands such bytes "
        "on base64-encoded, as an event must)",
        "api",
        "InvalidRequest",
        "not UTF-8 JSON",
        raw=json.dumps(_api_message(API_STAGED_KEY, "Grüße.pdf"), ensure_ascii=False).encode("latin-1"),
        content_type="application/json",
        staged={API_STAGED_KEY: PDF},
        path=MESSAGES,
        status=400,
    ),
    BadInputCase(
        "api-form-content-type",
        "message JSON sent as application/x-www-form-urlencoded (curl -d without -H)",
        "api",
        "UnsupportedContentType",
        "Content-Type: application/json",
        document=_api_message(API_STAGED_KEY),
        content_type="application/x-www-form-urlencoded",
        staged={API_STAGED_KEY: PDF},
        path=MESSAGES,
        status=415,
    ),
    BadInputCase(
        "api-surrogate-staging",
        "POST /attachments with file name '\\ud800.pdf' (a lone surrogate)",
        "api",
        "InvalidRequest",
        "fileName is not valid Unicode text",
        document={**STAGING_BODY, "fileName": "\ud800.pdf"},
        path=STAGE,
        status=400,
    ),
    BadInputCase(
        "api-surrogate-message",
        "message with attachment file name '\\ud800.pdf' (a lone surrogate)",
        "api",
        "InvalidRequest",
        "attachments[0].fileName is not valid Unicode text",
        document=_api_message(API_STAGED_KEY, "\ud800.pdf"),
        staged={API_STAGED_KEY: PDF},
        path=MESSAGES,
        status=400,
    ),
    # --- positive controls: non-ASCII file names are fine ----------------------------------------------------
    BadInputCase(
        "umlaut-outbox",
        "outbox file 'Rechnung Müller.pdf' (positive control)",
        "outbox",
        DELIVERED,
        key=f"outbox/{US}/{ORDER}/invoice/Rechnung Müller.pdf",
        delivered={"Rechnung Müller.pdf": f"outbox/{US}/{ORDER}/invoice/Rechnung Müller.pdf"},
    ),
    BadInputCase(
        "cjk-request",
        "request document with file name '請求書.pdf' (positive control)",
        "request",
        DELIVERED,
        staged={"attachments/seikyusho.pdf": PDF},
        document=doc("invoice", attachments=[attachment("attachments/seikyusho.pdf", "請求書.pdf")]),
        delivered={"請求書.pdf": "attachments/seikyusho.pdf"},
    ),
    BadInputCase(
        "api-staged-file",
        "message through the API naming a key of the form POST /attachments gives (positive control)",
        "api",
        DELIVERED,
        staged={API_STAGED_KEY: PDF},
        document=_api_message(API_STAGED_KEY, "Rechnung Müller.pdf"),
        path=MESSAGES,
        status=202,
        delivered={"Rechnung Müller.pdf": API_STAGED_KEY},
    ),
)

BAD_CASES = tuple(case for case in CASES if not case.positive)


def case_by_id(case_id: str) -> BadInputCase:
    for case in CASES:
        if case.id == case_id:
            return case
    raise KeyError(case_id)
