"""The messages of a load run: how many of each kind, in what order, under which S3 keys, and how a delivery
is traced back to the message it came from (to count each message's deliveries)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

ORDER = "123-1234567-1234567"  # the seed's sandbox order: every message type, any number of times
US = "ATVPDKIKX0DER"
# Two sellers of the seed (``make load --sellers``): A's burst goes to the sandbox order, B's trickle to B's own
# order (the emulator finds an order only for the seller who sold it; invoices and unexpectedProblem allowed).
SELLER_A = "A2EXAMPLESELLER"
SELLER_B = "A3OTHERSELLER"
ORDER_B = "113-2000001-0000001"
KINDS = ("invoice", "text", "files")
KIND_TEXT = {
    "invoice": "an invoice dropped into outbox/ (one PDF)",
    "text": "an unexpectedProblem text, no file (a requests/ document)",
    "files": "an invoice with several PDFs (a requests/ document; files staged under attachments/)",
}
CAMPAIGN_KIND_TEXT = {
    "invoice": "an invoice row with one PDF (attachment1)",
    "text": "an unexpectedProblem row with a text, no file",
    "files": "an invoice row with several PDFs (attachment1 ...)",
}
_ID_IN_FILE_NAME = re.compile(r"^Load-(\d+)(?:-\d+)?\.pdf$")
_ID_IN_TEXT = re.compile(r"^Load message (\d+):")


@dataclass(frozen=True)
class Message:
    """One message of the burst; ``number`` names it in its file names or text."""

    number: int
    kind: str
    files: int = 1
    # The seller the message is for (its keys under ``sellers/{id}/``; None: unsegmented keys, the one seller),
    # its order, and when it is dropped: emulated seconds after the run's start.
    seller: str | None = None
    order: str = ORDER
    at: float = 0.0

    @property
    def prefix(self) -> str:
        return f"sellers/{self.seller}/" if self.seller else ""

    @property
    def label(self) -> str:
        return f"{self.number:04d}"

    def file_names(self) -> list[str]:
        if self.kind == "invoice":
            return [f"Load-{self.label}.pdf"]
        if self.kind == "files":
            return [f"Load-{self.label}-{index}.pdf" for index in range(1, self.files + 1)]
        return []

    def staged_keys(self) -> list[str]:
        """Attachments to stage before the drop (keys under attachments/ start nothing)."""
        return [f"{self.prefix}attachments/{name}" for name in self.file_names()] if self.kind == "files" else []

    def upload(self, pdf: bytes) -> tuple[str, bytes]:
        """The key and body whose upload starts this message."""
        if self.kind == "invoice":
            return f"{self.prefix}outbox/{US}/{self.order}/invoice/{self.file_names()[0]}", pdf
        document: dict[str, Any] = {"amazonOrderId": self.order, "marketplaceId": US}
        if self.kind == "text":
            document |= {"messageType": "unexpectedProblem", "text": f"Load message {self.label}: a delay."}
        else:
            document |= {
                "messageType": "invoice",
                "attachments": [
                    {"key": key, "fileName": name}
                    for key, name in zip(self.staged_keys(), self.file_names(), strict=True)
                ],
            }
        return f"{self.prefix}requests/load-{self.label}.json", json.dumps(document).encode()


def parse_mix(text: str) -> dict[str, float]:
    """``invoice=80,text=10,files=10`` -> weights; a ValueError names what is wrong."""
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in KINDS:
            raise ValueError(f"{name!r} is not a kind of message; use {', '.join(KINDS)}.")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"{part!r}: the weight of {name} must be a number.") from None
        if weight < 0:
            raise ValueError(f"{part!r}: a weight cannot be negative.")
        weights[name] = weight
    if not any(weights.values()):
        raise ValueError("The mix needs at least one kind with a weight above 0.")
    return weights


def plan_messages(count: int, weights: Mapping[str, float], files: int) -> list[Message]:
    """``count`` messages in the mix's proportions (largest remainders), the kinds spread evenly over the
    burst rather than in blocks, so that any prefix of it has about the same mix."""
    total = sum(weights.values())
    exact = {kind: count * weight / total for kind, weight in weights.items()}
    counts = {kind: int(value) for kind, value in exact.items()}
    for kind in sorted(exact, key=lambda k: (counts[k] - exact[k], KINDS.index(k)))[: count - sum(counts.values())]:
        counts[kind] += 1
    slots = sorted(
        ((index + 0.5) / amount, KINDS.index(kind), kind) for kind, amount in counts.items() for index in range(amount)
    )
    return [Message(number, kind, files if kind == "files" else 1) for number, (_, _, kind) in enumerate(slots, 1)]


def plan_sellers(
    burst: int, every: float, quota: float, weights: Mapping[str, float], files: int
) -> tuple[list[Message], list[Message]]:
    """Seller A's burst of ``burst`` messages dropped at once, and seller B's trickle: one message every ``every``
    emulated seconds for as long as the burst takes at the quota (``burst / quota``), from the start. Both in the
    mix's proportions; B's numbers follow A's, so a delivery names its message and its seller."""
    trickle = max(1, math.ceil(burst / quota / every))
    a = [replace(m, seller=SELLER_A) for m in plan_messages(burst, weights, files)]
    b = [
        replace(m, number=burst + m.number, seller=SELLER_B, order=ORDER_B, at=index * every)
        for index, m in enumerate(plan_messages(trickle, weights, files))
    ]
    return a, b


def message_id_of(delivery: Mapping[str, Any]) -> int | None:
    """The number of the load message a delivery carries (from a file name or the text), or None."""
    for attachment in delivery.get("attachments") or []:
        found = _ID_IN_FILE_NAME.match(str(attachment.get("fileName", "")))
        if found:
            return int(found.group(1))
    found = _ID_IN_TEXT.match(str(delivery.get("text") or ""))
    return int(found.group(1)) if found else None


def counts_by_kind(messages: Sequence[Message]) -> dict[str, int]:
    return {kind: sum(1 for m in messages if m.kind == kind) for kind in KINDS if any(m.kind == kind for m in messages)}


def campaign_attachments(message: Message) -> list[tuple[str, str]]:
    """A campaign row's attachments: (staged key, the name the buyer sees), each file staged under attachments/
    before the manifest is uploaded (a manifest names keys that exist)."""
    return [(f"attachments/{name}", name) for name in message.file_names()]


def manifest_csv(messages: Sequence[Message]) -> bytes:
    """A campaign manifest (CSV, the columns of buyer_messaging.campaigns.columns) with one row per message, in
    order: row n is message n. Every row differs in its text or files, so none is a DuplicateRow."""
    most = max((len(message.file_names()) for message in messages), default=0)
    header = ["amazonOrderId", "marketplaceId", "messageType", "text"]
    for index in range(1, most + 1):
        header += [f"attachment{index}", f"attachment{index}Name"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for message in messages:
        if message.kind == "text":
            cells = [ORDER, US, "unexpectedProblem", f"Load message {message.label}: a delay."]
        else:
            cells = [ORDER, US, "invoice", ""]
        for key, name in campaign_attachments(message):
            cells += [key, name]
        writer.writerow(cells + [""] * (len(header) - len(cells)))
    return out.getvalue().encode()
