"""Raster diagrams (PNG, JPEG) read by a hosted vision model into a ``DetectionResult``.

The draw.io path (:mod:`agents.synthforge.analysis.vision`) reads shapes exactly; a picture has no
shapes, so a model looks at it instead. The image goes to the model as a base64 data URL
in a user message, with ``DetectionResult``'s JSON Schema as the response format. The
reply is validated with pydantic and checked for consistency (unique ids, parents that
are containers, connection ends that are icons, boxes inside the image); a reply that
fails is sent back with the reason, a bounded number of times (see
:func:`agents.models.openai_client.complete_structured`).

The result has the same shape as the draw.io path's, so the rest of the pipeline does not
care where it came from. Positions are in image pixels; the source, the single page and a
warning saying the model read it are set here, not taken from the model.
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path
from typing import Literal

from agents.errors import InputError
from agents.model_client import ChatMessage, ModelClient
from agents.synthforge.models import DetectionResult, Page

RasterKind = Literal["png", "jpeg", "gif"]

#: Largest image sent to a model, in bytes (OpenAI's limit per image is 20 MB).
MAX_IMAGE_BYTES = 20 * 1024 * 1024

#: The page id of the one page an image has.
IMAGE_PAGE = "page-1"

_MAGIC: tuple[tuple[bytes, RasterKind], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
_SUFFIXES: dict[str, RasterKind] = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif"}

RASTER_PROMPT = """\
You read cloud architecture diagrams drawn as images and report what they show as JSON
matching the given schema.

- icons: every cloud-service icon. id: a short unique id ("i1", "i2", ...). icon_key: the
  draw.io library key of the icon when you recognise it (for example
  "img/lib/azure2/compute/Function_Apps.svg", "img/lib/azure2/databases/Azure_Cosmos_DB.svg",
  "mxgraph.aws4.lambda"), else a short lower-case name of the service. provider: azure, aws,
  gcp, kubernetes, office, generic or unknown. label: the text written under or beside the
  icon. bbox: the icon's box in image pixels. parent: the id of the smallest container
  around it, or null. confidence: how sure you are of the icon key, 0 to 1.
- containers: boundaries drawn around icons (vnet, subnet, resource_group, region,
  availability_zone, subscription, security_group, or group), with ids "c1", "c2", ...,
  their label, bbox and parent container.
- texts: free-standing text that is not an icon label.
- connections: every arrow or line between icons, with ids "e1", "e2", ...; source and
  target are icon ids (null when an end touches no icon); label: the text on the line;
  direction: forward (arrow at the target), backward, both or none.
- page: "page-1" everywhere. Leave pages empty. Put doubts in warnings, not in the data.
Answer with the JSON document only."""


def raster_kind(path: Path) -> RasterKind | None:
    """``png``/``jpeg``/``gif`` when the file is a raster image (by content, else suffix)."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    found = next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)
    return found or _SUFFIXES.get(Path(path).suffix.lower())


def image_size(data: bytes, kind: RasterKind) -> tuple[int, int] | None:
    """(width, height) in pixels from a PNG's IHDR or a JPEG's SOF marker; None if unknown."""
    if kind == "png" and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if kind == "jpeg":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            i += 2 + length
    return None


def read_image(path: Path) -> tuple[bytes, RasterKind]:
    """The bytes and kind of the PNG/JPEG at ``path``; :class:`InputError` otherwise."""
    path = Path(path)
    kind = raster_kind(path)
    if kind is None:
        raise InputError(f"{path}: not a PNG or JPEG image")
    if kind == "gif":
        raise InputError(f"{path}: GIF diagrams are not read; export the diagram as PNG or JPEG")
    from orchestration.runtime.guards import read_regular_bytes

    data = read_regular_bytes(path, MAX_IMAGE_BYTES, what="image")  # a regular file, bounded
    if not data:
        raise InputError(f"{path}: empty file")
    return data, kind


def data_url(data: bytes, kind: RasterKind) -> str:
    """``data:image/KIND;base64,…`` for an image part of a chat message."""
    return f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"


def consistency_problem(result: DetectionResult, size: tuple[int, int] | None) -> str | None:
    """Why a model's reading does not hang together, or None. Names the JSON path."""
    seen: dict[str, str] = {}
    for field_name in ("icons", "containers", "texts", "connections"):
        for i, item in enumerate(getattr(result, field_name)):
            where = f"$.{field_name}[{i}].id"
            if item.id in seen:
                return f"{where}: id {item.id!r} is used twice (also at {seen[item.id]})"
            seen[item.id] = where
    containers = {c.id for c in result.containers}
    icons = {i.id for i in result.icons}
    parents: list[tuple[str, str, str | None]] = [
        *(("icons", icon.id, icon.parent) for icon in result.icons),
        *(("containers", box.id, box.parent) for box in result.containers),
    ]
    index: dict[str, int] = {}
    for field_name, item_id, parent in parents:
        i = index[field_name] = index.get(field_name, -1) + 1
        if parent is not None and parent not in containers:
            return f"$.{field_name}[{i}].parent: {parent!r} is not a container id"
        if field_name == "containers" and parent == item_id:
            return f"$.containers[{i}].parent: a container cannot hold itself"
    for i, conn in enumerate(result.connections):
        for end in ("source", "target"):
            value = getattr(conn, end)
            if value is not None and value not in icons:
                return f"$.connections[{i}].{end}: {value!r} is not an icon id"
    if size is not None:
        width, height = size
        slack = 0.05 * max(width, height)
        for field_name in ("icons", "containers", "texts"):
            for i, item in enumerate(getattr(result, field_name)):
                box = item.bbox
                if (
                    box.width < 0
                    or box.height < 0
                    or box.x < -slack
                    or box.y < -slack
                    or box.x + box.width > width + slack
                    or box.y + box.height > height + slack
                ):
                    return (
                        f"$.{field_name}[{i}].bbox: outside the {width}x{height} pixel image; "
                        "give boxes in image pixels"
                    )
    return None


async def detect_raster(
    path: Path,
    client: ModelClient,
    *,
    model: str | None = None,
    instructions: str = "",
    max_attempts: int = 3,
) -> DetectionResult:
    """Read the PNG/JPEG diagram at ``path`` with the model behind ``client``.

    ``instructions`` are added to the built-in prompt. A reply that never validates
    raises :class:`~agents.models.openai_client.InvalidModelReply` (the agent run fails and its
    artifact says why); an unreadable file raises :class:`InputError`.
    """
    from agents.models.openai_client import complete_structured

    path = Path(path)
    data, kind = read_image(path)
    size = image_size(data, kind)
    system = RASTER_PROMPT + (f"\n\nAlso: {instructions.strip()}" if instructions.strip() else "")
    where = f"{size[0]}x{size[1]} pixels" if size else "size unknown"
    messages = [
        ChatMessage(role="system", content=system),
        ChatMessage(
            role="user",
            content=[
                {"type": "text", "text": f"Diagram {path.name} ({kind.upper()}, {where})."},
                {"type": "image_url", "image_url": {"url": data_url(data, kind), "detail": "high"}},
            ],
        ),
    ]
    result = await complete_structured(
        client,
        messages,
        DetectionResult,
        model=model,
        max_attempts=max_attempts,
        check=lambda value: consistency_problem(value, size),
    )
    return _finish(result, path, model or getattr(client, "model", None))


def _finish(result: DetectionResult, path: Path, model: str | None) -> DetectionResult:
    """Set what the file, not the model, decides: source, page, and how it was read."""
    result.source = path.name
    for group in (result.icons, result.containers, result.texts, result.connections):
        for item in group:
            item.page = IMAGE_PAGE
    result.pages = [Page(id=IMAGE_PAGE, name=path.name, icon_count=len(result.icons))]
    if result.icons:
        lowest = min(icon.confidence for icon in result.icons)
        result.confidence = min(result.confidence, lowest)
    by = f"model {model}" if model else "a model"
    result.warnings.insert(
        0,
        f"{path.name}: read from a raster image by {by}; icons are recognised, not matched "
        "exactly, and positions are in image pixels",
    )
    if not result.icons:
        result.warnings.append(f"{path.name}: the model found no cloud icons in the image")
    return result
