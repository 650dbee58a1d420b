"""Sample attachments made on the fly: a real one-page PDF invoice and a real PNG image."""

from __future__ import annotations

import struct
import zlib


def invoice_pdf(amazon_order_id: str, lines: list[tuple[str, int, float]] | None = None) -> bytes:
    """A valid single-page PDF (correct xref offsets) that any viewer opens."""
    lines = lines or [("USB-C charging cable, 2 m", 2, 9.99), ("Wall charger 30 W", 1, 24.50)]
    total = sum(quantity * price for _, quantity, price in lines)
    text = [f"Invoice for Amazon order {amazon_order_id}", ""]
    text += [f"{quantity} x {name}  {quantity * price:.2f}" for name, quantity, price in lines]
    text += ["", f"Total  {total:.2f}"]
    commands = ["BT", "/F1 14 Tf", "72 760 Td", "18 TL"]
    for line in text:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        commands.append(f"({escaped}) Tj T*")
    commands.append("ET")
    stream = "\n".join(commands).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def proof_png(width: int = 64, height: int = 32) -> bytes:
    """A valid RGB PNG: a blue gradient, like an engraving proof's thumbnail."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 4 % 256, y * 8 % 256, 200)) for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
