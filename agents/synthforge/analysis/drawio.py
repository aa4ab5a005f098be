"""Read draw.io files safely: decode every page and return its cells with absolute geometry.

What is read, as draw.io saves it:

- ``<mxfile>`` with one or several ``<diagram>`` pages. A page is either plain (a child
  ``<mxGraphModel>``) or compressed: its text is base64 of raw-deflate of URL-encoded XML.
- A bare ``<mxGraphModel>`` root (one unnamed page).
- Cells wrapped in ``<UserObject>``/``<object>``: the wrapper holds the id and the label,
  its ``<mxCell>`` child holds style, parent and geometry.

The input is untrusted. It is parsed with ``defusedxml`` (no DTD, no entities, no external
references), the file must be a regular file (links resolved) and is capped at
:data:`MAX_FILE_BYTES`, and each compressed page is
inflated with a bounded output (:data:`MAX_PAGE_BYTES`, :data:`MAX_TOTAL_BYTES` for all
pages together), so a deflate bomb stops at the cap instead of exhausting memory. Every
problem raises a :class:`DiagramError` (an :class:`~agents.errors.InputError`) whose message
is one line naming the file and what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import html
import math
import re
import urllib.parse
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.errors import InputError

#: Largest diagram file accepted, in bytes.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Largest decompressed size of one compressed page, in bytes.
MAX_PAGE_BYTES = 16 * 1024 * 1024
#: Largest decompressed size of all compressed pages of one file together, in bytes.
MAX_TOTAL_BYTES = 64 * 1024 * 1024

_RASTER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)
_RASTER_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF"}


class DiagramError(InputError):
    """A diagram file cannot be read: the message names the file and what is wrong."""


class RasterDiagramError(DiagramError):
    """The diagram is a raster image; reading it would need a vision model."""


@dataclass
class Cell:
    """One draw.io cell (vertex, edge, layer or root) with its absolute geometry."""

    id: str
    page: str
    value: str = ""
    style: str = ""
    parent: str | None = None
    source: str | None = None
    target: str | None = None
    vertex: bool = False
    edge: bool = False
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    height: float = 0.0
    relative: bool = False
    abs_x: float = 0.0
    abs_y: float = 0.0
    names: frozenset[str] = frozenset()
    props: dict[str, str] = field(default_factory=dict)

    @property
    def html(self) -> bool:
        """Whether the label is HTML (``html=1`` in the style)."""
        return self.props.get("html") == "1"

    @property
    def label(self) -> str:
        """The label as plain text: HTML stripped, entities unescaped, whitespace collapsed."""
        return plain_label(self.value, is_html=self.html)


@dataclass
class DiagramPage:
    """One page of a diagram and its cells, in document order."""

    id: str
    name: str
    cells: list[Cell] = field(default_factory=list)

    def by_id(self) -> dict[str, Cell]:
        """Cells of this page by id."""
        return {c.id: c for c in self.cells}


def parse_style(style: str) -> tuple[frozenset[str], dict[str, str]]:
    """Split a draw.io style into its bare names (``text``, ``group``) and its key=value pairs.

    Values may contain ``;`` only inside brackets (``points=[[0,0],[1,1]]``), which draw.io
    never writes, so a plain split is what draw.io itself does.
    """
    names: set[str] = set()
    props: dict[str, str] = {}
    for part in style.split(";"):
        part = part.strip()
        if not part:
            continue
        key, eq, value = part.partition("=")
        if eq:
            props[key.strip()] = value.strip()
        else:
            names.add(part)
    return frozenset(names), props


_BREAK_TAGS = re.compile(r"<\s*(br|/?div|/?p|/?li|/?tr|/?h[1-6])\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")
#: Invisible runs (font size 0) that draw.io pastes carry, e.g. URL-encoded clipboard XML.
_INVISIBLE = re.compile(
    r"<(span|font)\b[^>]*style\s*=\s*\"[^\"]*font-size:\s*0(px|pt)?\s*[;\"][^>]*>[^<]*</\1\s*>",
    re.IGNORECASE,
)


def plain_label(value: str, *, is_html: bool = True) -> str:
    """A label as one line of plain text.

    HTML labels (``html=1``) lose their tags (line-breaking tags become spaces) and
    invisible zero-size runs, and have their entities unescaped; every label has its
    whitespace collapsed.
    """
    text = value
    if is_html:
        text = _INVISIBLE.sub(" ", text)
        text = _BREAK_TAGS.sub(" ", text)
        text = _TAGS.sub("", text)
        text = html.unescape(text)
    return " ".join(text.split())


# --------------------------------------------------------------------------- reading


def read_diagram(path: Path) -> list[DiagramPage]:
    """Read every page of the draw.io file at ``path``, with absolute geometry.

    Raises :class:`RasterDiagramError` for PNG/JPEG/GIF input and :class:`DiagramError` for
    anything else that is not a readable draw.io diagram.
    """
    path = Path(path)
    data = _read_bytes(path)
    _refuse_raster(path, data)
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        raise DiagramError(f"{path}: empty file; expected a draw.io diagram (.drawio or .xml)")
    root = _parse_xml(path, data, where="")
    budget = [MAX_TOTAL_BYTES]
    if root.tag == "mxGraphModel":
        pages = [_page(root, page_id="page-1", name="Page-1")]
    elif root.tag == "mxfile":
        diagrams = [child for child in root if child.tag == "diagram"]
        if not diagrams:
            raise DiagramError(f"{path}: <mxfile> holds no <diagram> page")
        pages = []
        for n, diagram in enumerate(diagrams, start=1):
            page_id = diagram.get("id") or f"page-{n}"
            name = diagram.get("name") or f"Page-{n}"
            model = _page_model(path, diagram, name, budget)
            pages.append(_page(model, page_id=page_id, name=name))
    else:
        tag = str(root.tag).rsplit("}", 1)[-1]  # without its namespace
        raise DiagramError(
            f"{path}: root element <{tag}> is neither <mxfile> nor <mxGraphModel>; "
            "not a draw.io diagram"
        )
    _check_unique_ids(path, pages)
    _make_ids_unique(pages)
    for page in pages:
        _absolute_geometry(page)
    return pages


def _read_bytes(path: Path) -> bytes:
    """The file's bytes: a regular file (links resolved) within :data:`MAX_FILE_BYTES`,
    read with a bound (a link to ``/dev/zero`` or a FIFO is refused, never read)."""
    from orchestration.runtime.guards import read_regular_bytes

    try:
        return read_regular_bytes(path, MAX_FILE_BYTES, what="draw.io diagram")
    except InputError as exc:
        raise DiagramError(str(exc)) from None


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n % (1024 * 1024) else f"{n // (1024 * 1024)} MB"


def _refuse_raster(path: Path, data: bytes) -> None:
    kind = next((k for magic, k in _RASTER_MAGIC if data.startswith(magic)), None)
    kind = kind or _RASTER_SUFFIXES.get(path.suffix.lower())
    if kind is not None:
        raise RasterDiagramError(
            f"{path}: raster diagrams ({kind}) need a vision model, which is not configured; "
            "export the diagram as .drawio"
        )


_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_EXTERNAL_DECL = re.compile(rb"<!ENTITY[^>]*\b(SYSTEM|PUBLIC)\b", re.IGNORECASE)


def _parse_xml(path: Path, data: bytes, *, where: str) -> Any:
    """Parse untrusted XML with defusedxml; every failure is one :class:`DiagramError`."""
    from xml.etree.ElementTree import ParseError

    import defusedxml
    from defusedxml import ElementTree as SafeET

    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException:
        if _EXTERNAL_DECL.search(data):
            problem = "declares an external entity, which could read local files"
        elif _ENTITY_DECL.search(data):
            problem = "declares entities, which can expand without bound"
        else:
            problem = "has a DOCTYPE declaration"
        raise DiagramError(
            f"{path}: {where}refused: the XML {problem}; draw.io files have no DTD"
        ) from None
    except ParseError as exc:
        raise DiagramError(f"{path}: {where}not well-formed XML: {exc}") from None


def _page_model(path: Path, diagram: Any, name: str, budget: list[int]) -> Any:
    """The ``<mxGraphModel>`` of one ``<diagram>``, decompressing it if needed."""
    where = f"page {name!r}: "
    for child in diagram:
        if child.tag == "mxGraphModel":
            return child
    text = "".join((diagram.text or "").split())
    if not text:
        return None  # an empty page
    if text.startswith("<"):
        xml = (diagram.text or "").strip().encode("utf-8")
    else:
        xml = _inflate_page(path, text, where, budget)
    model = _parse_xml(path, xml, where=where)
    if model.tag != "mxGraphModel":
        raise DiagramError(f"{path}: {where}holds <{model.tag}>, expected <mxGraphModel>")
    return model


def _inflate_page(path: Path, text: str, where: str, budget: list[int]) -> bytes:
    """base64 → raw deflate (bounded) → URL-decoding, as draw.io compresses a page."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DiagramError(
            f"{path}: {where}compressed page is not valid base64; the file is damaged"
        ) from None
    limit = min(MAX_PAGE_BYTES, budget[0])
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise DiagramError(
            f"{path}: {where}compressed page is not valid deflate data ({exc}); the file is damaged"
        ) from None
    if len(out) > limit:
        raise DiagramError(
            f"{path}: {where}decompresses to more than {_mb(limit)}; refused "
            "(a page this large is damaged or hostile)"
        )
    if not inflater.eof:
        raise DiagramError(f"{path}: {where}compressed page data is truncated; the file is damaged")
    budget[0] -= len(out)
    try:
        decoded = out.decode("utf-8")
    except UnicodeDecodeError:
        decoded = out.decode("latin-1")
    return urllib.parse.unquote(decoded).encode("utf-8")


# --------------------------------------------------------------------------- cells


def _page(model: Any, *, page_id: str, name: str) -> DiagramPage:
    page = DiagramPage(id=page_id, name=name)
    if model is None:
        return page
    root = model.find("root")
    if root is None:
        return page
    for n, element in enumerate(root):
        cell = _cell(element, page_id, n)
        if cell is not None:
            page.cells.append(cell)
    return page


def _cell(element: Any, page_id: str, n: int) -> Cell | None:
    if element.tag == "mxCell":
        attrs, geometry_holder, value = element, element, element.get("value", "")
    elif element.tag in ("UserObject", "object"):
        inner = element.find("mxCell")
        if inner is None:
            return None
        attrs, geometry_holder, value = inner, inner, element.get("label", "")
    else:
        return None
    cell_id = element.get("id") or attrs.get("id") or f"cell-{n}"
    style = attrs.get("style", "") or ""
    names, props = parse_style(style)
    cell = Cell(
        id=cell_id,
        page=page_id,
        value=value or "",
        style=style,
        parent=attrs.get("parent"),
        source=attrs.get("source"),
        target=attrs.get("target"),
        vertex=attrs.get("vertex") == "1",
        edge=attrs.get("edge") == "1",
        names=names,
        props=props,
    )
    geometry = geometry_holder.find("mxGeometry")
    if geometry is not None:
        cell.x = _number(geometry.get("x"))
        cell.y = _number(geometry.get("y"))
        cell.width = max(0.0, _number(geometry.get("width")))
        cell.height = max(0.0, _number(geometry.get("height")))
        cell.relative = geometry.get("relative") == "1"
    return cell


def _number(text: str | None) -> float:
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) else 0.0


def _check_unique_ids(path: Path, pages: list[DiagramPage]) -> None:
    """Refuse a page that uses one cell id twice: draw.io never writes that, and keeping
    either cell would silently drop the other (and rewire its edges)."""
    for page in pages:
        seen: set[str] = set()
        for cell in page.cells:
            if cell.id in seen:
                raise DiagramError(
                    f"{path}: page {page.name!r}: cell id {cell.id!r} is used twice; "
                    "the file is damaged (give each cell its own id)"
                )
            seen.add(cell.id)


def _make_ids_unique(pages: list[DiagramPage]) -> None:
    """Give ids that an earlier page already used a new one, prefixed with their page id,
    across references. A new id never collides with any id of any page (``PAGE/ID``,
    then ``PAGE/ID~2``, ...), so no two cells are ever merged."""
    taken = {c.id for page in pages for c in page.cells}
    seen: set[str] = set()
    for page in pages:
        own = {c.id for c in page.cells}
        clashes = own & seen
        if clashes:
            rename: dict[str, str] = {}
            for old in sorted(clashes):
                new, n = f"{page.id}/{old}", 1
                while new in taken:
                    n += 1
                    new = f"{page.id}/{old}~{n}"
                taken.add(new)
                rename[old] = new
            for c in page.cells:
                c.id = rename.get(c.id, c.id)
                c.parent = rename.get(c.parent, c.parent) if c.parent else c.parent
                c.source = rename.get(c.source, c.source) if c.source else c.source
                c.target = rename.get(c.target, c.target) if c.target else c.target
        seen |= {c.id for c in page.cells}


def _absolute_geometry(page: DiagramPage) -> None:
    """Turn parent-relative geometry into page coordinates.

    A vertex's x/y are relative to its parent when the parent is a vertex (a group,
    swimlane or container); with ``relative="1"`` they are fractions of the parent's size.
    Layers and edges add no offset. A parent cycle (a damaged file) is cut where found.
    """
    cells = page.by_id()
    done: dict[str, tuple[float, float]] = {}
    for cell in page.cells:
        chain: list[Cell] = []  # the cell and its vertex ancestors not yet placed
        current: Cell | None = cell
        on_chain: set[str] = set()
        while current is not None and current.id not in done and current.id not in on_chain:
            chain.append(current)
            on_chain.add(current.id)
            parent = cells.get(current.parent or "")
            current = parent if parent is not None and parent.vertex else None
        for link in reversed(chain):
            parent = cells.get(link.parent or "")
            if parent is None or not parent.vertex or parent.id not in done:
                done[link.id] = (link.x, link.y)
                continue
            px, py = done[parent.id]
            if link.relative and link.vertex:
                done[link.id] = (px + link.x * parent.width, py + link.y * parent.height)
            else:
                done[link.id] = (px + link.x, py + link.y)
        cell.abs_x, cell.abs_y = done[cell.id]
