"""What every case starts from: the emulator seed's orders and marketplaces, the sample files, and the request
documents made of them. Both tables use them, and so does ``tests/integration/test_workflow.py``."""

from __future__ import annotations

from typing import Any

from local_stack import samples

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


def doc(message_type: str, *, order: str = ORDER, marketplace: str = US, **fields: Any) -> dict[str, Any]:
    """A request document (the state machine's input)."""
    return {"amazonOrderId": order, "marketplaceId": marketplace, "messageType": message_type, **fields}


def attachment(key: str, file_name: str | None = None) -> dict[str, str]:
    """An entry of a request document's ``attachments``."""
    return {"key": key, "fileName": file_name} if file_name is not None else {"key": key}
