"""The columns of a CSV campaign manifest: the one table the README's column table (tests/unit/test_docs.py),
the template rows in ``events/campaigns/`` and the manifest reader (buyer_messaging.campaigns.manifest) follow.

A column is a field of the request document (DESIGN, "Request document"); the attachments, a list there, are
numbered columns here: ``attachment1`` … ``attachment5`` (a staged key) and ``attachment1Name`` … (the name the
buyer sees).
"""

from __future__ import annotations

from dataclasses import dataclass

from buyer_messaging import catalog


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a CSV manifest, as the README's table shows it."""

    name: str
    required: bool
    meaning: str
    example: str


_ATTACHMENT_EXAMPLES = (
    "attachments/invoice-0001.pdf",
    "attachments/withdrawal-form.pdf",
    "attachments/privacy-notice.pdf",
    "attachments/battery-recycling.pdf",
    "attachments/safety-sheet.pdf",
)
_NAME_EXAMPLES = (
    "Invoice 0001.pdf",
    "Withdrawal form.pdf",
    "Privacy notice.pdf",
    "Battery recycling.pdf",
    "Safety data sheet.pdf",
)

COLUMNS: tuple[Column, ...] = (
    Column("amazonOrderId", True, "the order whose buyer gets the message", "123-1234567-1234567"),
    Column(
        "marketplaceId",
        True,
        "the order's marketplace; one the deployment's SP-API region serves",
        "ATVPDKIKX0DER",
    ),
    Column(
        "messageType",
        True,
        "a message type: its path segment or operation name ([Message types](#message-types))",
        "invoice",
    ),
    Column(
        "text",
        False,
        "the message text, within the type's limits; in double quotes it may span lines",
        "Your order ships two days later than promised.",
    ),
    Column(
        "coverageStartDate",
        False,
        "warranty only: when the coverage starts, an RFC 3339 date-time with its time zone",
        "2026-11-01T00:00:00Z",
    ),
    Column("coverageEndDate", False, "warranty only: when the coverage ends", "2028-10-31T23:59:59Z"),
    Column(
        "sellingPartnerId",
        False,
        "the campaign's seller, or empty: a row may name no other seller ([the seller](#campaigns-the-seller))",
        "A2EXAMPLESELLER",
    ),
    *(
        column
        for number, (key, name) in enumerate(zip(_ATTACHMENT_EXAMPLES, _NAME_EXAMPLES, strict=True), start=1)
        for column in (
            Column(
                f"attachment{number}",
                False,
                "the key of a file staged in the staging bucket"
                + ("; the files fill attachment1, 2, … in turn, without gaps" if number == 1 else ""),
                key,
            ),
            Column(
                f"attachment{number}Name",
                False,
                f"the file name the buyer sees for attachment{number} (default: the key's last part)",
                name,
            ),
        )
    ),
)
COLUMN_NAMES = tuple(column.name for column in COLUMNS)
REQUIRED_COLUMNS = tuple(column.name for column in COLUMNS if column.required)
PLAIN_COLUMNS = (
    "amazonOrderId",
    "marketplaceId",
    "messageType",
    "text",
    "coverageStartDate",
    "coverageEndDate",
    "sellingPartnerId",
)
ATTACHMENT_SLOTS = range(1, catalog.ATTACHMENTS_MAX_COUNT + 1)


def markdown_table() -> str:
    """:data:`COLUMNS` as the Markdown table the README shows (a test keeps the README in step)."""
    rows = ["| column | use | meaning | example |", "| --- | --- | --- | --- |"]
    rows += [
        f"| `{c.name}` | {'required' if c.required else 'optional'} | {c.meaning} | `{c.example}` |" for c in COLUMNS
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
