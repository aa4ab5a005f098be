"""A PNG written by hand and a model's perfect reading of it, for the raster-vision tests.

The PNG is a real image (zlib + struct): white, with filled boxes, like a small
architecture picture. The reading is what the draw.io path finds in
``examples/diagrams/webapp.drawio``, which a stand-in model can answer with.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

from agents.synthforge.analysis.vision import detect_file

REPO = Path(__file__).resolve().parent.parent
WEBAPP = REPO / "examples" / "diagrams" / "webapp.drawio"

Box = tuple[int, int, int, int, tuple[int, int, int]]


def png_bytes(width: int, height: int, boxes: list[Box]) -> bytes:
    """A truecolour PNG: white, with filled ``(x, y, w, h, rgb)`` boxes."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter type 0 (none) for each scanline
        for x in range(width):
            colour: tuple[int, ...] = (255, 255, 255)
            for bx, by, bw, bh, rgb in boxes:
                if bx <= x < bx + bw and by <= y < by + bh:
                    colour = rgb
            row += bytes(colour)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def webapp_reading() -> dict[str, Any]:
    """What a model that read webapp.drawio's picture perfectly would answer."""
    doc = detect_file(WEBAPP).model_dump(mode="json")
    doc["pages"] = []
    doc["warnings"] = []
    return doc
