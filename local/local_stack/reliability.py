"""Bad-input matrix: every way a seller can get a message request wrong, run through the real workflow.

Each :class:`BadInputCase` enters the way a seller's input would — a file dropped under ``outbox/``, a
request document under ``requests/``, a StartExecution from the console, a raw event handed to the S3
trigger, or an HTTP request to the API (the deployed ApiFunction's handler behind the local API server) —
on a fresh local stack (template.yaml on moto, the real handlers in-process, a fresh SP-API
emulator). The runner records how it ended: the error name and its cause, how many messages the buyer
received, and how many staged objects are gone. Bad input must end in a named error with a readable
cause, send nothing and lose nothing; the positive controls (non-ASCII file names) must be delivered
byte for byte.

``python -m local_stack reliability`` prints the matrix as a Markdown table and exits non-zero when a
case did not end as expected; ``tests/reliability`` runs the same cases through :func:`run_case`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import multiprocessing
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from local_stack import samples

Entry = Literal["outbox", "request", "console", "event", "api"]
DELIVERED = "delivered"  # the expected outcome of a positive control
NOT_STARTED = "(nothing started)"  # the trigger was never invoked or returned without starting anything
NO_EXECUTION = "—"  # no execution, so no status record is due
NO_RECORD = "(no record)"  # an execution that left no status record: a request that vanished

ORDER = "123-1234567-1234567"  # the seed's sandbox order: every message type, any number of times
ONCE_PER_ORDER = "114-3941689-8772232"  # warranty and legalDisclosure once
DE_ORDER = "305-1234567-7654321"  # DE marketplace; unexpectedProblem text at most 1000 characters
ONLY_UNEXPECTED_PROBLEM = "702-0000000-0000000"
UNKNOWN_ORDER = "111-2222222-3333333"  # well-formed, not in the seed
US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"  # same SP-API region (na) as US, but not where the US orders were placed
DE = "A1PA6795UKMFR9"
JP = "A1VC38T7YXB528"

PDF = samples.invoice_pdf(ORDER)
PNG = samples.proof_png()

# Retry waits run 200 times faster, quotas refill 50 times faster (as in tests/integration).
RETRY_SPEEDUP = 200.0
QUOTA_SPEEDUP = 50.0
CAUSE_WIDTH = 150


@dataclass(frozen=True)
class Repeated:
    """``size`` bytes of ``fill``, made only when the case runs (big files cost no memory at import)."""

    size: int
    fill: bytes = b"\0"

    def data(self) -> bytes:
        return (self.fill * (self.size // len(self.fill) + 1))[: self.size]


Content = bytes | Repeated


def _bytes(content: Content) -> bytes:
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


@dataclass
class CaseResult:
    """How a case ended, and whether that is what it had to be (``problems`` empty)."""

    case_id: str
    entry: str
    expected: str
    actual: str
    cause: str
    messages_sent: int
    staged_lost: int
    uploads: int = 0
    # The request's status record: "<status>" or "<status> <error>", NO_RECORD, or NO_EXECUTION.
    record: str = ""
    seconds: float = 0.0
    answered: int | None = None  # the HTTP status of the API's answer (entry "api")
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------------------------------------- the cases


def _doc(message_type: str, *, order: str = ORDER, marketplace: str = US, **fields: Any) -> dict[str, Any]:
    return {"amazonOrderId": order, "marketplaceId": marketplace, "messageType": message_type, **fields}


def _file(key: str, file_name: str | None = None) -> dict[str, str]:
    return {"key": key, "fileName": file_name} if file_name is not None else {"key": key}


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


def _api_message(key: str, file_name: str = "Invoice.pdf", **attachment: str) -> dict[str, Any]:
    """A message body of POST /orders/{ORDER}/messages with one attachment."""
    return {
        "marketplaceId": US,
        "messageType": "invoice",
        "attachments": [{"key": key, "fileName": file_name, **attachment}],
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
        document=_doc("invoice", attachments=[_file(INVOICE_KEY, file_name)]),
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
        document=[_doc("unexpectedProblem", text="Your parcel is delayed.")],
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
        document=_doc("invoice", attachments=_file(INVOICE_KEY, "Invoice.pdf")),
    ),
    BadInputCase(
        "attachment-without-key",
        "attachment entry without a key",
        "console",
        "InvalidRequest",
        "attachments[0].key is required",
        document=_doc("invoice", attachments=[{"fileName": "Invoice.pdf"}]),
    ),
    BadInputCase(
        "unknown-field",
        "misspelt field 'atachments'",
        "request",
        "InvalidRequest",
        "atachments",
        staged=INVOICE,
        document=_doc("invoice", atachments=[_file(INVOICE_KEY, "Invoice.pdf")]),
    ),
    BadInputCase(
        "bad-order-id",
        "order id not in the 3-7-7 format",
        "console",
        "InvalidRequest",
        "not an Amazon order id",
        document=_doc("unexpectedProblem", order="123-4567", text="Your parcel is delayed."),
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
        document=_doc("sendPostcard", text="Hello"),
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
        document=_doc("invoice", order=ONLY_UNEXPECTED_PROBLEM, attachments=[_file(INVOICE_KEY)]),
    ),
    BadInputCase(
        "once-per-order-used",
        "second legal disclosure for an order that allows it once",
        "console",
        "MessageTypeNotAvailable",
        "legalDisclosure",
        staged=INVOICE,
        before=(_doc("legalDisclosure", order=ONCE_PER_ORDER, attachments=[_file(INVOICE_KEY, "Disclosure.pdf")]),),
        document=_doc("legalDisclosure", order=ONCE_PER_ORDER, attachments=[_file(INVOICE_KEY, "Disclosure 2.pdf")]),
    ),
    # --- text ------------------------------------------------------------------------------------------------
    BadInputCase(
        "text-too-long",
        "2001 characters for unexpectedProblem (at most 2000)",
        "console",
        "InvalidMessageText",
        "at most 2000",
        document=_doc("unexpectedProblem", text="x" * 2001),
    ),
    BadInputCase(
        "de-order-in-na-deployment",
        "DE order (EU marketplace) sent through the na deployment",
        "console",
        "InvalidRequest",
        "SpApiRegion=eu",
        document=_doc("unexpectedProblem", order=DE_ORDER, marketplace=DE, text="x" * 1001),
    ),
    BadInputCase(
        "de-text-over-override",
        "1001 characters for the DE order whose schema allows 1000 (eu deployment)",
        "console",
        "InvalidMessageText",
        "at most 1000",
        document=_doc("unexpectedProblem", order=DE_ORDER, marketplace=DE, text="x" * 1001),
        spapi_region="eu",
    ),
    BadInputCase(
        "text-missing",
        "unexpectedProblem without text",
        "console",
        "InvalidMessageText",
        "needs text",
        document=_doc("unexpectedProblem"),
    ),
    BadInputCase(
        "text-blank",
        "text of spaces and a newline for a type that requires text",
        "console",
        "InvalidMessageText",
        "needs text",
        document=_doc("confirmOrderDetails", text="  \n "),
    ),
    BadInputCase(
        "text-blank-optional",
        "blank text on a type where text is optional",
        "request",
        "InvalidMessageText",
        "blank",
        staged={"attachments/proof.png": PNG},
        document=_doc("confirmCustomizationDetails", text="   ", attachments=[_file("attachments/proof.png")]),
    ),
    BadInputCase(
        "text-on-file-only-type",
        "text on an invoice (a type without text)",
        "request",
        "InvalidMessageText",
        "takes no text",
        staged=INVOICE,
        document=_doc("invoice", text="Here is your invoice.", attachments=[_file(INVOICE_KEY)]),
    ),
    BadInputCase(
        "text-html",
        "HTML in the text",
        "console",
        "InvalidMessageText",
        "HTML",
        document=_doc("unexpectedProblem", text='Sorry! <a href="https://example.com">track it</a>'),
    ),
    BadInputCase(
        "text-email",
        "an email address in the text",
        "console",
        "InvalidMessageText",
        "email",
        document=_doc("confirmDeliveryDetails", text="Write to seller@example.com for a new date."),
    ),
    # --- attachments -----------------------------------------------------------------------------------------
    BadInputCase(
        "six-attachments",
        "6 files for an invoice (at most 5)",
        "request",
        "InvalidAttachments",
        "at most 5",
        staged={f"attachments/invoice-{index}.pdf": PDF for index in range(6)},
        document=_doc("invoice", attachments=[_file(f"attachments/invoice-{index}.pdf") for index in range(6)]),
    ),
    BadInputCase(
        "attachment-on-text-only-type",
        "a file on unexpectedProblem (text only)",
        "request",
        "InvalidAttachments",
        "takes no attachments",
        staged=INVOICE,
        document=_doc("unexpectedProblem", text="Your parcel is delayed.", attachments=[_file(INVOICE_KEY)]),
    ),
    BadInputCase(
        "invoice-without-file",
        "invoice without an attachment",
        "console",
        "InvalidAttachments",
        "at least 1",
        document=_doc("invoice"),
    ),
    BadInputCase(
        "warranty-without-file",
        "warranty with coverage dates but no file",
        "console",
        "InvalidAttachments",
        "at least 1",
        document=_doc("warranty", **WARRANTY_DATES),
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
        document=_doc("invoice", attachments=[_file("attachments/empty.pdf", "Invoice.pdf")]),
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
        document=_doc("invoice", attachments=[_file("attachments/big-1.pdf"), _file("attachments/big-2.pdf")]),
    ),
    BadInputCase(
        "total-exactly-10mb",
        "two files of exactly 10,000,000 bytes together (the limit is 'under')",
        "console",
        "InvalidAttachments",
        "must be under 10,000,000",
        staged={"attachments/half-1.pdf": Repeated(5_000_000), "attachments/half-2.pdf": Repeated(5_000_000)},
        document=_doc("warranty", attachments=[_file("attachments/half-1.pdf"), _file("attachments/half-2.pdf")]),
    ),
    BadInputCase(
        "missing-object",
        "attachment key that was never staged",
        "request",
        "AttachmentNotFound",
        "attachments/nope.pdf does not exist",
        document=_doc("invoice", attachments=[_file("attachments/nope.pdf", "Invoice.pdf")]),
    ),
    BadInputCase(
        "missing-bucket",
        "attachment in a bucket that does not exist",
        "console",
        "AttachmentNotFound",
        "does not exist",
        document=_doc("invoice", attachments=[{"bucket": "no-such-bucket-4711", "key": INVOICE_KEY}]),
    ),
    # --- marketplace and order -------------------------------------------------------------------------------
    BadInputCase(
        "marketplace-malformed",
        "marketplace given as 'US'",
        "console",
        "InvalidRequest",
        "not an Amazon marketplace id",
        document=_doc("unexpectedProblem", marketplace="US", text="Your parcel is delayed."),
    ),
    BadInputCase(
        "marketplace-other-region",
        "US order with the JP marketplace (region fe)",
        "console",
        "InvalidRequest",
        "region",
        document=_doc("unexpectedProblem", marketplace=JP, text="Your parcel is delayed."),
    ),
    BadInputCase(
        "marketplace-not-the-orders",
        "US order with the CA marketplace (same region, not the order's)",
        "console",
        "SpApiInvalidInput",
        "marketplace",
        document=_doc("unexpectedProblem", marketplace=CA, text="Your parcel is delayed."),
    ),
    BadInputCase(
        "unknown-order",
        "well-formed order id Amazon does not know",
        "console",
        "SpApiNotFound",
        UNKNOWN_ORDER,
        document=_doc("unexpectedProblem", order=UNKNOWN_ORDER, text="Your parcel is delayed."),
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
        document=_doc("invoice", attachments=[_file(INVOICE_KEY)], **WARRANTY_DATES),
    ),
    BadInputCase(
        "coverage-not-a-date",
        "coverageEndDate 'in two years'",
        "request",
        "InvalidRequest",
        "not an RFC 3339 date-time",
        staged=INVOICE,
        document=_doc(
            "warranty",
            attachments=[_file(INVOICE_KEY, "Warranty.pdf")],
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
        document=_doc(
            "warranty",
            attachments=[_file(INVOICE_KEY, "Warranty.pdf")],
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
        document=_doc(
            "warranty",
            attachments=[_file(INVOICE_KEY, "Warranty.pdf")],
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
        document=_doc("unexpectedProblem", text="Your parcel is delayed."),
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
        raw=json.dumps(_doc("unexpectedProblem", text="Your parcel is delayed \udc00")).encode(),
    ),
    BadInputCase(
        "lone-surrogate-message-type",
        "console input whose messageType is a lone surrogate",
        "console",
        "InvalidRequest",
        "messageType is not valid Unicode text",
        document=_doc("\ud800", text="Your parcel is delayed."),
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
                _doc("unexpectedProblem", order=ONCE_PER_ORDER, text="Your parcel is delayed.")
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
        document=_doc("invoice", attachments=[_file("attachments/seikyusho.pdf", "請求書.pdf")]),
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


# ---------------------------------------------------------------------------------------------- the runner


@dataclass
class _Run:
    """One case's fresh stack."""

    local: Any  # local_stack.stack.LocalStack
    emulator: Any  # spapi_emulator.Emulator
    bucket: str
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:  # a boto3 client costs tens of milliseconds to make
            self._clients[service] = self.local.client(service)
        return self._clients[service]

    def put(self, key: str, body: bytes) -> None:
        self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=body)

    def current_keys(self) -> set[str]:
        keys: set[str] = set()
        for page in self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            keys.update(item["Key"] for item in page.get("Contents", []))
        return keys

    def start(self, document: object, name: str, timeout_seconds: float) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        started = sfn.start_execution(
            stateMachineArn=self.local.deployment.state_machine_arn, name=name, input=json.dumps(document)
        )
        described: dict[str, Any] = self.local.wait_for(started["executionArn"], timeout_seconds=timeout_seconds)
        return described

    def record(self, execution_name: str | None) -> str:
        """The request's status record in short: "sent", "failed <error>", NO_RECORD or NO_EXECUTION."""
        from buyer_messaging import status

        if execution_name is None:
            return NO_EXECUTION
        found = status.get(self.local.deployment.tables["WorkflowTable"], execution_name)
        if found is None:
            return NO_RECORD
        return " ".join(str(part) for part in (found.get("status"), found.get("error")) if part)

    def trigger_invocations(self) -> list[Any]:
        name = self.local.deployment.functions["StartWorkflowFunction"]
        return [i for i in self.local.lambdas.invocations if i.function_name == name]


@contextmanager
def _fresh_stack(spapi_region: str, credentials: Mapping[str, str] | None = None) -> Iterator[_Run]:
    """A new emulator, a new moto and template.yaml deployed into it; everything undone on exit.
    ``credentials``: what the credentials secret holds instead of the seed's (e.g. a wrong refresh token)."""
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "BuyerMessaging")
    from local_stack.stack import LocalStack, SpApiTarget, in_process_aws
    from spapi_emulator import Emulator, load_default_seed

    seed = load_default_seed()
    with ExitStack() as resources:
        emulator = resources.enter_context(Emulator(seed, speedup=QUOTA_SPEEDUP))
        resources.enter_context(in_process_aws())
        secret = dict(credentials) if credentials is not None else seed.credentials.as_secret()
        target = SpApiTarget(emulator.base_url, emulator.token_url, emulator.upload_host, secret, spapi_region)
        local = LocalStack(target, retry_speedup=RETRY_SPEEDUP)
        resources.callback(local.close)
        deployment = local.deploy()
        yield _Run(local, emulator, deployment.bucket)


def run_case(case: BadInputCase, *, timeout_seconds: float = 60.0) -> CaseResult:
    """Run one case on a fresh local stack and judge its outcome."""
    began = time.monotonic()
    with _quiet_moto(), _fresh_stack(case.spapi_region) as run:
        staged_keys = set(case.staged)
        for key, content in case.staged.items():
            run.put(key, _bytes(content))
        if run.local.executions():  # what a staged outbox/ or requests/ object started is not the input's doing
            run.local.wait_for_executions(1, timeout_seconds=timeout_seconds)
        setup_problems = _send_before(run, case, timeout_seconds)
        delivered_before = len(run.emulator.deliveries())
        uploads_before = len(run.emulator.destinations())

        answered = None
        if case.entry == "api":
            actual, cause, execution_name, answered = _enter_api(run, case, timeout_seconds)
        else:
            actual, cause, execution_name = _enter(run, case, staged_keys, timeout_seconds)

        deliveries = run.emulator.deliveries()[delivered_before:]
        present = run.current_keys()
        result = CaseResult(
            case_id=case.id,
            entry=case.entry,
            expected=case.expected,
            actual=actual,
            cause=one_line(cause),
            messages_sent=len(deliveries),
            staged_lost=len(staged_keys - present),
            uploads=len(run.emulator.destinations()) - uploads_before,
            record=run.record(execution_name),
            answered=answered,
        )
        result.problems = setup_problems + judge(case, result)
        if case.positive:
            result.problems += _check_delivery(run, case, deliveries)
    result.seconds = time.monotonic() - began
    return result


def _send_before(run: _Run, case: BadInputCase, timeout_seconds: float) -> list[str]:
    problems = []
    for index, document in enumerate(case.before):
        described = run.start(document, f"before-{index}-{case.id}"[:80], timeout_seconds)
        if described["status"] != "SUCCEEDED":
            problems.append(f"setup message {index} did not go out: {described.get('error')}: {described.get('cause')}")
    return problems


def _enter(run: _Run, case: BadInputCase, staged_keys: set[str], timeout_seconds: float) -> tuple[str, str, str | None]:
    """Let the input in the case's way; the outcome (error name or DELIVERED), its cause and the execution's
    name (None when none started)."""
    if case.entry == "console":
        described = run.start(case.document, f"case-{case.id}"[:80], timeout_seconds)
        return (*_outcome(described), described["name"])
    if case.entry == "event":
        event = case.document if case.document is not None else _s3_event(run.bucket, case.key)
        run.client("lambda").invoke(
            FunctionName=run.local.deployment.functions["StartWorkflowFunction"], Payload=json.dumps(event)
        )
    elif case.entry == "outbox":
        staged_keys.add(case.key)
        run.put(case.key, _bytes(case.content))
    else:
        raw = case.raw if case.raw is not None else json.dumps(case.document, ensure_ascii=False).encode()
        staged_keys.add(case.request_key)
        run.put(case.request_key, _bytes(raw))
    # moto delivers the S3 notification synchronously: the trigger has run when put_object returns.
    invocations = run.trigger_invocations()
    failed = [i for i in invocations if i.error_type]
    if failed:
        return str(failed[0].error_type), str(failed[0].result.get("errorMessage", "")), None
    started = [
        item["executionArn"]
        for invocation in invocations
        for item in (invocation.result or {}).get("executions", [])
        if item.get("executionArn")
    ]
    if not started:
        return NOT_STARTED, "the trigger started no execution", None
    described = run.local.wait_for(started[0], timeout_seconds=timeout_seconds)
    return (*_outcome(described), described["name"])


def _enter_api(run: _Run, case: BadInputCase, timeout_seconds: float) -> tuple[str, str, str | None, int | None]:
    """POST the case's body to the API like a client: the outcome (the answer's error name, or how the execution
    it started ended), its cause ("<status> <message>"), the execution's name and the answer's HTTP status."""
    import http.client

    from local_stack.api_server import LocalApi
    from local_stack.lambdas import LambdaContext

    function = run.local.lambdas.function(run.local.deployment.functions["ApiFunction"])
    started_before = {item["executionArn"] for item in run.local.executions()}
    # json.dumps escapes what is not ASCII: a lone surrogate travels as "\ud800", as a client would send it.
    body = _bytes(case.raw) if case.raw is not None else json.dumps(case.document).encode("ascii")
    headers = {"Content-Type": case.content_type} if case.content_type is not None else {}
    context = LambdaContext(function.name, function.memory_mb, function.timeout_seconds)
    with LocalApi(function.load(), context=lambda: context) as api:
        connection = http.client.HTTPConnection(api.url.removeprefix("http://"), timeout=timeout_seconds)
        try:
            connection.request("POST", case.path, body=body, headers=headers)
            answer = connection.getresponse()
            status, payload = answer.status, answer.read()
        except (OSError, http.client.HTTPException) as error:
            return "(connection dropped)", f"no answer: {type(error).__name__}", None, None
        finally:
            connection.close()
        raised = [f"{type(error).__name__}: {error}" for error in api.errors]
    try:
        answer_body = json.loads(payload)
    except ValueError:
        answer_body = {}
    error_name = answer_body.get("error") if isinstance(answer_body, dict) else None
    actual = str(error_name) if error_name else f"(HTTP {status})"
    cause = f"{status} {answer_body.get('message', '') if isinstance(answer_body, dict) else ''}".strip()
    if raised:
        actual, cause = "(handler raised)", f"{status} " + "; ".join(raised)
    started = [item for item in run.local.executions() if item["executionArn"] not in started_before]
    if not started:
        return actual, cause, None, status
    described = run.local.wait_for(started[0]["executionArn"], timeout_seconds=timeout_seconds)
    outcome, execution_cause = _outcome(described)
    return outcome, f"{status}, then: {execution_cause}", described["name"], status


def _outcome(described: Mapping[str, Any]) -> tuple[str, str]:
    if described["status"] == "SUCCEEDED":
        return DELIVERED, "the message was sent"
    return str(described.get("error") or described["status"]), str(described.get("cause") or "")


def _s3_event(bucket: str, key: str) -> dict[str, Any]:
    from urllib.parse import quote_plus

    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/"), "size": 0, "eTag": "0" * 32},
                },
            }
        ]
    }


# What a cause written for a person never contains: a traceback, a Python exception's repr, an object dump.
_NOT_FOR_A_PERSON = re.compile(r"Traceback|File \"|\b\w+(?:Error|Exception)\(|Exception=|object at 0x")


def judge(case: BadInputCase, result: CaseResult) -> list[str]:
    """What is wrong with a result (empty: the case ended as it must)."""
    problems = []
    if result.actual != case.expected:
        problems.append(f"ended as {result.actual}, expected {case.expected}")
    if case.entry == "api" and result.answered != case.status:
        problems.append(f"the API answered {result.answered or 'nothing'}, expected {case.status}")
    if not case.positive:
        if not result.cause.strip():
            problems.append("the cause is empty")
        if _NOT_FOR_A_PERSON.search(result.cause):
            problems.append("the cause is not written for a person (traceback, exception repr or object dump)")
        if case.cause_contains and case.cause_contains.lower() not in result.cause.lower():
            problems.append(f"the cause does not mention {case.cause_contains!r}")
        if result.messages_sent:
            problems.append(f"{result.messages_sent} message(s) sent to the buyer")
        if result.uploads:
            problems.append(f"{result.uploads} file(s) uploaded to Amazon before the input was refused")
    if result.staged_lost:
        problems.append(f"{result.staged_lost} staged object(s) lost")
    problems += _judge_record(result.record, result.actual, case.positive)
    return problems


def _judge_record(record: str, actual: str, delivered: bool) -> list[str]:
    """Every execution leaves a status record that says how it ended, under the error it ended with."""
    if record == NO_EXECUTION:
        return []  # nothing started: the S3 event itself is kept (failed-starts queue) and named
    if delivered:
        expected = "sent"
    elif actual == "SendOutcomeUnknown":
        expected = f"unknown {actual}"  # "may have reached the buyer", never a plain failure
    else:
        expected = f"failed {'WorkflowError' if actual.startswith('States.') else actual}"
    return [] if record == expected else [f"status record says {record!r}, expected {expected!r}"]


def _check_delivery(run: _Run, case: BadInputCase, deliveries: Sequence[Mapping[str, Any]]) -> list[str]:
    """A positive control: exactly one message, each file under its name with the staged bytes' MD5."""
    if len(deliveries) != 1:
        return [f"{len(deliveries)} messages delivered, expected exactly 1"]
    s3 = run.client("s3")
    expected = {}
    for file_name, key in case.delivered.items():
        data = s3.get_object(Bucket=run.bucket, Key=key)["Body"].read()
        expected[file_name] = hashlib.md5(data).hexdigest()  # noqa: S324  (a checksum, not security)
    received = {attachment["fileName"]: attachment["md5"] for attachment in deliveries[0].get("attachments", [])}
    if received != expected:
        return [f"the buyer received {received}, expected {expected}"]
    return []


def one_line(text: str) -> str:
    return " ".join(text.split())


def run_bad_input_matrix(
    cases: Sequence[BadInputCase] = CASES,
    *,
    timeout_seconds: float = 60.0,
    jobs: int = 1,
    progress: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Every case on a fresh stack of its own, in case order; ``jobs`` > 1 runs them in that many processes
    (moto is process-wide, so one process runs one case at a time). ``progress(result)`` after each case."""
    if jobs <= 1 or len(cases) <= 1:
        results = []
        for case in cases:
            result = run_case(case, timeout_seconds=timeout_seconds)
            if progress is not None:
                progress(result)
            results.append(result)
        return results
    context = multiprocessing.get_context("spawn")  # no fork of a process with moto's patches and threads
    by_id: dict[str, CaseResult] = {}
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_setup) as pool:
        futures = [pool.submit(_run_case_by_id, case.id, timeout_seconds) for case in cases]
        for future in as_completed(futures):
            result = future.result()
            by_id[result.case_id] = result
            if progress is not None:
                progress(result)
    return [by_id[case.id] for case in cases]


_WORKER_QUIET: ExitStack | None = None


def _worker_setup() -> None:
    global _WORKER_QUIET  # noqa: PLW0603  (quiet for the worker process's whole life)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    _WORKER_QUIET = ExitStack()
    _WORKER_QUIET.enter_context(_quiet())


def _run_case_by_id(case_id: str, timeout_seconds: float) -> CaseResult:
    return run_case(case_by_id(case_id), timeout_seconds=timeout_seconds)


# ---------------------------------------------------------------------------------------------- reporting

_STAGING_BUCKET_NAME = re.compile(r"buyer-messaging-[0-9]{12}-[a-z0-9-]+?-[0-9a-f]{8}")


def _cell(text: str, width: int | None = None) -> str:
    text = _STAGING_BUCKET_NAME.sub("<bucket>", one_line(text))
    if width is not None and len(text) > width:
        text = text[: width - 1].rstrip() + "…"
    return text.replace("|", "\\|")


def render_table(rows: Sequence[CaseResult], cases: Sequence[BadInputCase] = CASES) -> str:
    """The results as a Markdown table: one row per case, what it was, how it ended, what it cost."""
    described = {case.id: case.description for case in cases}
    known = {case.id for case in cases if case.known_issue}
    lines = [
        "| case | input | entry | expected | actual | cause | record | sent | uploaded | lost | ok |",
        "| --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        lines.append(
            f"| `{row.case_id}` | {_cell(described.get(row.case_id, ''))} | {row.entry} | {row.expected} "
            f"| {row.actual} | {_cell(row.cause, CAUSE_WIDTH)} | {row.record} "
            f"| {row.messages_sent} | {row.uploads} | {row.staged_lost} "
            f"| {_verdict(row, row.case_id in known)} |"
        )
    return "\n".join(lines)


def _verdict(row: CaseResult, known_issue: bool) -> str:
    if row.passed:
        return "✓"
    return ("✗ known issue: " if known_issue else "✗ ") + _cell("; ".join(row.problems))


def summary(rows: Sequence[CaseResult], cases: Sequence[BadInputCase] = CASES) -> str:
    positive = {case.id for case in cases if case.positive}
    passed = sum(1 for row in rows if row.passed)
    sent_by_bad = sum(row.messages_sent for row in rows if row.case_id not in positive)
    lost = sum(row.staged_lost for row in rows)
    controls = [row for row in rows if row.case_id in positive]
    line = (
        f"{passed}/{len(rows)} cases ended as expected; {sent_by_bad} messages sent by bad input; "
        f"{lost} staged objects lost"
    )
    if controls:
        delivered = sum(1 for row in controls if row.passed)
        line += f" ({len(rows) - len(controls)} bad inputs, {delivered}/{len(controls)} positive controls delivered)"
    known = {case.id for case in cases if case.known_issue}
    open_issues = sum(1 for row in rows if not row.passed and row.case_id in known)
    if open_issues:
        line += f"; {open_issues} known issue{'s' if open_issues > 1 else ''} not fixed yet"
    return line


# ---------------------------------------------------------------------------------------------- fault matrix
#
# Each fault kind runs a good invoice request (one staged PDF) on a fresh stack while something goes wrong:
# SP-API throttling or outages, a timeout, LWA down or refusing the refresh token, the upload endpoint
# rejecting the bytes, a destination expiring, the staged object vanishing mid-flight, a duplicate S3 event,
# a crash after the send. Transient faults must end "delivered once"; permanent ones in their named error
# with nothing sent. No kind may lose a staged object it did not remove itself.

DELIVERED_ONCE = "delivered once"
FAULT_KEY = "attachments/invoice.pdf"
OTHER_KEY = "attachments/other.pdf"  # staged next to the invoice: no fault may take it with it
FAULT_OUTBOX_KEY = f"outbox/{US}/{ORDER}/invoice/Invoice.pdf"
FAULT_REQUEST = _doc("invoice", attachments=[_file(FAULT_KEY, "Invoice.pdf")])


@dataclass(frozen=True)
class FaultCase:
    """One fault kind and the outcome it must have.

    - ``faults``: ``(operation, inject_fault keyword arguments)`` put into the emulator before the start.
    - ``arrange``: called with the run before the start, e.g. to wrap the in-process Lambda invocations.
    - ``environment``: variables set for this case only (the functions read them; caches reset around).
    - ``refresh_token``: what the credentials secret holds instead of the seed's refresh token.
    - ``entry``: ``console`` starts the request directly; ``outbox-twice`` drops the invoice under outbox/
      and hands the trigger the same S3 event again.
    - ``removes``: staged keys the fault itself deletes (not counted as lost).
    - ``destinations`` / ``send_calls``: how many upload destinations / sendInvoice calls there must be
      (None: not checked).
    """

    id: str
    injected: str
    expected: str
    faults: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    arrange: Callable[[_Run], None] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    refresh_token: str | None = None
    entry: Literal["console", "outbox-twice"] = "console"
    removes: tuple[str, ...] = ()
    destinations: int | None = None
    send_calls: int | None = None
    executions: int = 1

    @property
    def transient(self) -> bool:
        return self.expected == DELIVERED_ONCE


@dataclass
class FaultResult:
    """How a fault kind ended, and whether that is what it had to be (``problems`` empty)."""

    case_id: str
    injected: str
    expected: str
    actual: str
    cause: str
    retries: int
    messages_sent: int
    destinations: int
    staged_lost: int
    send_calls: int = 0
    executions: int = 0
    record: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def _wrap_invoke(
    run: _Run, before: Callable[[str], None] | None = None, after: Callable[..., Any] | None = None
) -> None:
    """Wrap the in-process Lambda invocations of this run's stack (the stack is thrown away after the case)."""
    invoke = run.local.lambdas.invoke

    def wrapped(function: Any, event: Any) -> tuple[str, bool, str]:
        if before is not None:
            before(function.name)
        result: tuple[str, bool, str] = invoke(function, event)
        if after is not None:
            return after(function.name, result)  # type: ignore[no-any-return]
        return result

    run.local.lambdas.invoke = wrapped


def _expire_before_first_upload(run: _Run) -> None:
    def before(name: str) -> None:
        if name.endswith("UploadAttachmentFunction") and not run.emulator.calls("upload"):
            run.emulator.advance_clock(901)  # the first presigned URL is past its X-Amz-Expires (900 s) now

    _wrap_invoke(run, before=before)


def _before_first_hash(run: _Run, change: Callable[[Any], None]) -> None:
    done: list[bool] = []

    def before(name: str) -> None:
        if name.endswith("HashAttachmentFunction") and not done:
            done.append(True)
            change(run.client("s3"))

    _wrap_invoke(run, before=before)


def _delete_staged_version(run: _Run) -> None:
    """After ValidateRequest: the staged invoice's version is deleted (for good, no delete marker)."""

    def delete(s3: Any) -> None:
        version = s3.head_object(Bucket=run.bucket, Key=FAULT_KEY)["VersionId"]
        s3.delete_object(Bucket=run.bucket, Key=FAULT_KEY, VersionId=version)

    _before_first_hash(run, delete)


def _replace_staged_object(run: _Run) -> None:
    """After ValidateRequest: the staged invoice is overwritten with other bytes (a new version)."""
    _before_first_hash(run, lambda s3: s3.put_object(Bucket=run.bucket, Key=FAULT_KEY, Body=PDF + b"\n% v2\n"))


def _crash_after_send(run: _Run) -> None:
    crashes: list[str] = []

    def after(name: str, result: tuple[str, bool, str]) -> tuple[str, bool, str]:
        if name.endswith("SendMessageFunction") and not crashes:
            crashes.append(name)
            failure = {"errorType": "Lambda.ServiceException", "errorMessage": "the sandbox died after the send"}
            return json.dumps(failure), True, ""
        return result

    _wrap_invoke(run, after=after)


FAULT_CASES: tuple[FaultCase, ...] = (
    FaultCase(
        "throttled-actions",
        "getMessagingActionsForOrder 429 x4",
        DELIVERED_ONCE,
        faults=(("getMessagingActionsForOrder", {"status": 429, "count": 4}),),
        destinations=1,
    ),
    FaultCase(
        "throttled-send",
        "sendInvoice 429 x4",
        DELIVERED_ONCE,
        faults=(("sendInvoice", {"status": 429, "count": 4}),),
        destinations=1,
    ),
    FaultCase(
        "destination-5xx",
        "createUploadDestinationForResource 500, then 503",
        DELIVERED_ONCE,
        faults=(
            ("createUploadDestinationForResource", {"status": 500}),
            ("createUploadDestinationForResource", {"status": 503}),
        ),
        destinations=1,
    ),
    FaultCase("upload-503", "upload PUT 503", DELIVERED_ONCE, faults=(("upload", {"status": 503}),)),
    FaultCase(
        "upload-request-timeout",
        "upload PUT 400 RequestTimeout (S3: the body stalled)",
        DELIVERED_ONCE,
        faults=(("upload", {"status": 400, "error_code": "RequestTimeout"}),),
    ),
    FaultCase(
        # No answer to the send: Amazon may have the message, so it is not sent again (SendOutcomeUnknown).
        "send-timeout",
        "sendInvoice answers after 3 s; SPAPI_READ_TIMEOUT=1",
        "SendOutcomeUnknown",
        faults=(("sendInvoice", {"delay_seconds": 3.0}),),
        environment={"SPAPI_READ_TIMEOUT": "1"},
    ),
    FaultCase("lwa-down", "lwaToken 503 x2", DELIVERED_ONCE, faults=(("lwaToken", {"status": 503, "count": 2}),)),
    FaultCase(
        "lwa-invalid-grant",
        "credentials secret with a wrong refresh token",
        "LwaInvalidGrant",
        refresh_token="Atzr|not-the-refresh-token-amazon-issued",  # noqa: S106  (deliberately wrong, not a secret)
        destinations=0,
        send_calls=0,
    ),
    FaultCase(
        "upload-bad-digest",
        "upload PUT 400 BadDigest",
        "UploadRejected",
        faults=(("upload", {"status": 400, "error_code": "BadDigest"}),),
        send_calls=0,
    ),
    FaultCase(
        "destination-expired",
        "emulated clock +901 s before the first upload",
        DELIVERED_ONCE,
        arrange=_expire_before_first_upload,
        destinations=2,
    ),
    FaultCase(
        "object-deleted",
        "staged invoice's version deleted after ValidateRequest",
        "AttachmentNotFound",
        arrange=_delete_staged_version,
        removes=(FAULT_KEY,),
        destinations=0,
        send_calls=0,
    ),
    FaultCase(
        "object-replaced",
        "staged invoice overwritten after ValidateRequest",
        "AttachmentChanged",
        arrange=_replace_staged_object,
        destinations=0,
        send_calls=0,
    ),
    FaultCase(
        "duplicate-s3-event",
        "outbox S3 event handed to the trigger twice",
        DELIVERED_ONCE,
        entry="outbox-twice",
        destinations=1,
    ),
    FaultCase(
        "crash-after-send",
        "SendMessage Lambda fails after sendInvoice returned",
        DELIVERED_ONCE,
        arrange=_crash_after_send,
        send_calls=1,
    ),
)


def fault_case_by_id(case_id: str) -> FaultCase:
    for case in FAULT_CASES:
        if case.id == case_id:
            return case
    raise KeyError(case_id)


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in os.environ for the block (the functions' cached settings are reset on both sides)."""
    if not values:
        yield
        return
    from local_stack.stack import reset_function_caches

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    reset_function_caches()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_function_caches()


def run_fault_case(case: FaultCase, *, timeout_seconds: float = 60.0) -> FaultResult:
    """Run one fault kind on a fresh local stack and judge its outcome."""
    from spapi_emulator import load_default_seed

    began = time.monotonic()
    credentials = None
    if case.refresh_token is not None:
        credentials = {**load_default_seed().credentials.as_secret(), "refreshToken": case.refresh_token}
    with _quiet_moto(), _environment(case.environment), _fresh_stack("na", credentials) as run:
        staged = {FAULT_KEY: PDF, OTHER_KEY: PDF + b"\n% another invoice\n"}
        for key, content in staged.items():
            run.put(key, content)
        for operation, arguments in case.faults:
            run.emulator.inject_fault(operation, **arguments)
        if case.arrange is not None:
            case.arrange(run)

        executions = _enter_fault(run, case, timeout_seconds)
        record = run.record(executions[0]["name"]) if executions else NO_EXECUTION

        actual, cause = _outcome(executions[0]) if executions else (NOT_STARTED, "no execution started")
        if actual == DELIVERED:
            actual = DELIVERED_ONCE if len(run.emulator.deliveries()) == 1 else DELIVERED
        kept = set(staged) | ({FAULT_OUTBOX_KEY} if case.entry == "outbox-twice" else set())
        result = FaultResult(
            case_id=case.id,
            injected=case.injected,
            expected=case.expected,
            actual=actual,
            cause=one_line(cause),
            retries=sum(_retries(run, execution) for execution in executions),
            messages_sent=len(run.emulator.deliveries()),
            destinations=len(run.emulator.destinations()),
            staged_lost=len(kept - set(case.removes) - run.current_keys()),
            send_calls=len(run.emulator.calls("sendInvoice")),
            executions=len(executions),
            record=record,
        )
        result.problems = judge_fault(case, result)
    result.seconds = time.monotonic() - began
    return result


def _enter_fault(run: _Run, case: FaultCase, timeout_seconds: float) -> list[dict[str, Any]]:
    """Start the good request the case's way; every execution it led to, finished, oldest first."""
    if case.entry == "console":
        return [run.start(FAULT_REQUEST, f"fault-{case.id}"[:80], timeout_seconds)]
    run.put(FAULT_OUTBOX_KEY, PDF)  # moto runs the trigger synchronously
    first_event = run.trigger_invocations()[0].event
    run.client("lambda").invoke(
        FunctionName=run.local.deployment.functions["StartWorkflowFunction"], Payload=json.dumps(first_event)
    )
    sfn = run.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=run.local.deployment.state_machine_arn)["executions"]
    arns = [item["executionArn"] for item in sorted(listed, key=lambda item: item["startDate"])]
    return [run.local.wait_for(arn, timeout_seconds=timeout_seconds) for arn in arns]


def _retries(run: _Run, execution: Mapping[str, Any]) -> int:
    """Failed attempts over the execution's state runs (each one retried, or the last one that ended it)."""
    from local_stack import timeline

    events = run.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"], maxResults=1000)[
        "events"
    ]
    return sum(len(state.failures) for state in timeline.build(execution, events).states)


def judge_fault(case: FaultCase, result: FaultResult) -> list[str]:
    """What is wrong with a fault result (empty: it ended as it must)."""
    problems = []
    if result.actual != case.expected:
        problems.append(f"ended as {result.actual}, expected {case.expected}")
    expected_sent = 1 if case.transient else 0
    if result.messages_sent != expected_sent:
        problems.append(f"{result.messages_sent} message(s) delivered, expected {expected_sent}")
    if result.executions != case.executions:
        problems.append(f"{result.executions} executions, expected {case.executions}")
    if case.transient and case.faults and result.retries == 0:
        problems.append("no retry seen: the fault was not hit")
    if case.destinations is not None and result.destinations != case.destinations:
        problems.append(f"{result.destinations} upload destination(s) created, expected {case.destinations}")
    if case.send_calls is not None and result.send_calls != case.send_calls:
        problems.append(f"sendInvoice called {result.send_calls} time(s), expected {case.send_calls}")
    if not case.transient and not result.cause.strip():
        problems.append("the cause is empty")
    if _NOT_FOR_A_PERSON.search(result.cause):
        problems.append("the cause is not written for a person (traceback, exception repr or object dump)")
    if result.staged_lost:
        problems.append(f"{result.staged_lost} staged object(s) lost")
    problems += _judge_record(result.record, result.actual, case.transient)
    return problems


def run_fault_matrix(
    cases: Sequence[FaultCase] = FAULT_CASES,
    *,
    timeout_seconds: float = 60.0,
    jobs: int = 1,
    progress: Callable[[FaultResult], None] | None = None,
) -> list[FaultResult]:
    """Every fault kind on a fresh stack of its own, in case order (``jobs`` as for the bad-input matrix)."""
    if jobs <= 1 or len(cases) <= 1:
        results = []
        for case in cases:
            result = run_fault_case(case, timeout_seconds=timeout_seconds)
            if progress is not None:
                progress(result)
            results.append(result)
        return results
    context = multiprocessing.get_context("spawn")
    by_id: dict[str, FaultResult] = {}
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_setup) as pool:
        futures = [pool.submit(_run_fault_by_id, case.id, timeout_seconds) for case in cases]
        for future in as_completed(futures):
            result = future.result()
            by_id[result.case_id] = result
            if progress is not None:
                progress(result)
    return [by_id[case.id] for case in cases]


def _run_fault_by_id(case_id: str, timeout_seconds: float) -> FaultResult:
    return run_fault_case(fault_case_by_id(case_id), timeout_seconds=timeout_seconds)


def render_fault_table(rows: Sequence[FaultResult]) -> str:
    """The fault results as a Markdown table: what was injected, how it ended, what it cost."""
    lines = [
        "| kind | injected | expected | actual | cause | record | retries | delivered | destinations | lost | ok |",
        "| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        verdict = "✓" if row.passed else "✗ " + _cell("; ".join(row.problems))
        lines.append(
            f"| `{row.case_id}` | {_cell(row.injected)} | {row.expected} | {row.actual} "
            f"| {_cell(row.cause, CAUSE_WIDTH)} | {row.record} | {row.retries} | {row.messages_sent} "
            f"| {row.destinations} "
            f"| {row.staged_lost} | {verdict} |"
        )
    return "\n".join(lines)


def fault_summary(rows: Sequence[FaultResult], cases: Sequence[FaultCase] = FAULT_CASES) -> str:
    transient = {case.id for case in cases if case.transient}
    passed = sum(1 for row in rows if row.passed)
    once = sum(1 for row in rows if row.case_id in transient and row.messages_sent == 1)
    sent_by_permanent = sum(row.messages_sent for row in rows if row.case_id not in transient)
    lost = sum(row.staged_lost for row in rows)
    retries = sum(row.retries for row in rows)
    return (
        f"{passed}/{len(rows)} fault kinds ended as expected; "
        f"{once}/{sum(1 for row in rows if row.case_id in transient)} transient faults delivered once; "
        f"{sent_by_permanent} messages sent despite a permanent fault; {retries} retries; "
        f"{lost} staged objects lost"
    )


@contextmanager
def _quiet_moto() -> Iterator[None]:
    """moto logs every failed execution with a dump of its state objects: costly to format, and noise here
    (the outcome is read from the execution itself)."""
    moto_logger = logging.getLogger("moto")
    saved_level = moto_logger.level
    moto_logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        moto_logger.setLevel(saved_level)


@contextmanager
def _quiet() -> Iterator[None]:
    """The functions' JSON logs and metrics would bury the table."""
    from buyer_messaging.observability import logger

    handler = logger.registered_handler
    saved_metrics = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    with open(os.devnull, "w", encoding="utf-8") as devnull, warnings.catch_warnings():
        saved_stream = handler.setStream(devnull) if isinstance(handler, logging.StreamHandler) else None
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        try:
            yield
        finally:
            if saved_metrics is None:
                os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
            else:
                os.environ["POWERTOOLS_METRICS_DISABLED"] = saved_metrics
            if saved_stream is not None and isinstance(handler, logging.StreamHandler):
                handler.setStream(saved_stream)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack reliability",
        description="Run the bad-input matrix, a fresh local stack per case, and print it as a Markdown table. "
        "Exits 1 when a case did not end as it must.",
    )
    parser.add_argument("--case", action="append", default=[], metavar="ID", help="run only this case (repeatable)")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="ID", help="run only this fault kind (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="list the cases and fault kinds and exit")
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 4), help="cases run in parallel processes")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one case's execution")
    args = parser.parse_args(argv)
    if args.list:
        for case in CASES:
            print(f"{case.id:30} {case.entry:8} {case.expected:24} {case.description}")
        for fault in FAULT_CASES:
            print(f"{fault.id:30} {'fault':8} {fault.expected:24} {fault.injected}")
        return 0
    unknown = [case_id for case_id in args.case if case_id not in {case.id for case in CASES}]
    unknown += [fault_id for fault_id in args.fault if fault_id not in {fault.id for fault in FAULT_CASES}]
    if unknown:
        parser.error(f"no such case: {', '.join(unknown)} (see --list)")
    # No selection: both matrices. --case only: those cases; --fault only: those fault kinds.
    everything = not args.case and not args.fault
    cases = [case_by_id(case_id) for case_id in args.case] if args.case else list(CASES) if everything else []
    faults = (
        [fault_case_by_id(fault_id) for fault_id in args.fault]
        if args.fault
        else list(FAULT_CASES)
        if everything
        else []
    )
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    ok = True
    if cases:
        ok = _print_bad_input_matrix(cases, args.jobs, args.timeout) and ok
    if faults:
        if cases:
            print()
        ok = _print_fault_matrix(faults, args.jobs, args.timeout) and ok
    return 0 if ok else 1


def _print_bad_input_matrix(cases: Sequence[BadInputCase], jobs: int, timeout: float) -> bool:

    def progress(result: CaseResult) -> None:
        verdict = "ok" if result.passed else "NOT AS EXPECTED"
        print(f"  {result.case_id:30} {result.actual:24} {result.seconds:5.1f} s  {verdict}", file=sys.stderr)

    print(f"Bad-input matrix: {len(cases)} cases, a fresh local stack each, {jobs} at a time", file=sys.stderr)
    with _quiet():
        rows = run_bad_input_matrix(cases, timeout_seconds=timeout, jobs=jobs, progress=progress)
    print(render_table(rows, cases))
    print()
    print(summary(rows, cases))
    return all(row.passed for row in rows)


def _print_fault_matrix(faults: Sequence[FaultCase], jobs: int, timeout: float) -> bool:
    def progress(result: FaultResult) -> None:
        verdict = "ok" if result.passed else "NOT AS EXPECTED"
        print(f"  {result.case_id:30} {result.actual:24} {result.seconds:5.1f} s  {verdict}", file=sys.stderr)

    print(f"Fault matrix: {len(faults)} kinds, a fresh local stack each, {jobs} at a time", file=sys.stderr)
    with _quiet():
        rows = run_fault_matrix(faults, timeout_seconds=timeout, jobs=jobs, progress=progress)
    print(render_fault_table(rows))
    print()
    print(fault_summary(rows, faults))
    return all(row.passed for row in rows)


if __name__ == "__main__":
    sys.exit(main())
