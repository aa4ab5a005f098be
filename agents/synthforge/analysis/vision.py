"""The SynthForge ``vision`` agent: icons, containers, texts and connections of a diagram.

It reads draw.io files (see :mod:`agents.synthforge.analysis.drawio`). Raster images (PNG, JPEG)
are read by a hosted vision model when one is configured (the agent has a model client;
see :mod:`agents.synthforge.analysis.raster_vision`); without one they are refused with a clear
error.

Rules
-----
Icons
    A vertex whose style points to a vendor icon library: ``image=img/lib/azure2/…``,
    ``image=img/lib/mscae/…`` or ``shape=mxgraph.<lib>.…`` for ``azure``, ``mscae``,
    ``aws4``, ``aws3`` (and ``aws3d``), ``kubernetes``, ``office``, ``gcp2``. The icon key is
    the image path or the shape name; for aws4 resource/product icons
    (``shape=mxgraph.aws4.resourceIcon;resIcon=mxgraph.aws4.lambda``) it is the ``resIcon``
    (``prIcon``). aws4 group shapes (``mxgraph.aws4.group``, ``groupCenter``) are
    containers, not icons. Generic stencils (``mxgraph.ios7``, ``mxgraph.cisco_safe``,
    ``mxgraph.arrows`` …) are not icons. Every icon is an exact library match: confidence 1.0.
Containers
    Boundaries (VNet, subnet, resource group, region, availability zone, subscription,
    security group), found from

    1. aws4 group shapes, kind from the label, else from ``grIcon``/``grpIcon``
       (``group_vpc`` → vnet, …; draw.io draws subnets with the security-group icon);
    2. an icon whose key names a boundary (azure2/mscae ``Virtual_Networks``, ``Subnet``,
       ``Resource_Groups``, ``Network_Security_Groups``, ``Subscriptions``) that is used as
       a container: it has child vertices or ``container=1``;
    3. a ``swimlane`` or ``container=1`` cell (kind from its label, else ``group``);
    4. any other shape (not text, not an icon) whose label names a boundary — "VNet",
       "Virtual Network", "VPC", "Subnet", "NSG", "Security Group", "Resource Group", "rg-…",
       "Region", "Availability Zone", "AZ", "Subscription" — and that encloses at least one
       other shape. An unlabelled box takes such a label from a text placed inside its top
       edge (a common way of labelling boxes);
    5. any other shape an arrow is attached to, or labelled on-premises, that encloses at
       least one other shape (a section or lane box), and any draw.io group of two or more
       icons: a ``group``, unless its label names a boundary.
Containment
    An icon's ``parent`` is the smallest container that is its ancestor cell or whose box
    holds the icon's box on the same page (geometry counts even when the cell is not a
    child). A container's parent is the smallest strictly larger container holding it.
Free texts
    Text-only vertices (``text`` style, or no fill, no stroke and no shape) with a label, not
    edge labels.
Connections
    Every edge. Each end resolves to an icon or a container: the cell itself if it is an
    icon or a container; the single icon inside an icon group; else the nearest icon among
    its ancestors; else ``None``.
    The label joins the edge's own value and its edge-label children. Direction follows
    ``startArrow``/``endArrow`` (draw.io's default is an end arrow only).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from agents.base import Agent
from agents.synthforge.analysis.drawio import MAX_FILE_BYTES, Cell, DiagramPage, read_diagram
from agents.synthforge.analysis.heap import FewerCollections, fewer_collections
from agents.synthforge.models import (
    BBox,
    Connection,
    Container,
    ContainerKind,
    DetectionResult,
    DiagramInput,
    FreeText,
    Icon,
    Page,
    Provider,
)

Direction = Literal["forward", "backward", "both", "none"]

#: Image-path prefixes of icon libraries, and their provider.
IMAGE_LIBRARIES: dict[str, Provider] = {
    "img/lib/azure2/": "azure",
    "img/lib/mscae/": "azure",
}

#: Shape-name prefixes of icon libraries, and their provider. ``mxgraph.aws3`` also
#: matches the ``mxgraph.aws3d`` isometric library.
SHAPE_LIBRARIES: dict[str, Provider] = {
    "mxgraph.azure.": "azure",
    "mxgraph.mscae.": "azure",
    "mxgraph.aws4.": "aws",
    "mxgraph.aws3": "aws",
    "mxgraph.kubernetes.": "kubernetes",
    "mxgraph.office.": "office",
    "mxgraph.gcp2.": "gcp",
}

_AWS4_GROUPS = ("mxgraph.aws4.group", "mxgraph.aws4.groupCenter")
_AWS4_ICON_HOLDERS = {"mxgraph.aws4.resourceIcon": "resIcon", "mxgraph.aws4.productIcon": "prIcon"}

#: aws4 group icons (``grIcon``) and the container kind they draw.
AWS4_GROUP_KINDS: dict[str, ContainerKind] = {
    "group_vpc": "vnet",
    "group_vpc2": "vnet",
    "group_subnet": "subnet",
    "group_private_subnet": "subnet",
    "group_public_subnet": "subnet",
    "group_security_group": "security_group",
    "group_region": "region",
    "group_availability_zone": "availability_zone",
    "group_account": "subscription",
    "group_aws_cloud": "group",
    "group_aws_cloud_alt": "group",
}

#: Icon-key fragments (file or shape names, lower case) that name a boundary.
BOUNDARY_ICON_KEYS: tuple[tuple[str, ContainerKind], ...] = (
    ("subnet", "subnet"),
    ("network_security_group", "security_group"),
    ("virtual_network", "vnet"),
    ("resource_group", "resource_group"),
    ("resourcegroup", "resource_group"),
    ("subscription", "subscription"),
)

#: Label patterns that name a boundary, most specific first.
BOUNDARY_LABELS: tuple[tuple[re.Pattern[str], ContainerKind], ...] = (
    (re.compile(r"subnet|\bsnet-", re.I), "subnet"),
    (re.compile(r"\bnsg\b|network security group|security group", re.I), "security_group"),
    (re.compile(r"\bv-?net\b|vnet|virtual network|\bvpc\b", re.I), "vnet"),
    (re.compile(r"availability zone|\baz\s*-?\s*\d*\b", re.I), "availability_zone"),
    (re.compile(r"resource group|\brg-", re.I), "resource_group"),
    (re.compile(r"\bregion\b", re.I), "region"),
    (re.compile(r"subscription", re.I), "subscription"),
)


@dataclass(frozen=True)
class IconMatch:
    """What an icon-library style resolves to."""

    icon_key: str
    provider: Provider
    library: str


def match_icon(cell: Cell) -> IconMatch | None:
    """The icon library entry ``cell``'s style points to, or ``None``.

    aws4 group shapes are containers and return ``None``; see :func:`aws4_group_kind`.
    """
    image = cell.props.get("image", "")
    for prefix, provider in IMAGE_LIBRARIES.items():
        if image.startswith(prefix):
            return IconMatch(image, provider, prefix.rstrip("/").rsplit("/", 1)[-1])
    shape = cell.props.get("shape", "")
    candidates = [shape] if shape else []
    candidates += sorted(n for n in cell.names if n.startswith("mxgraph."))
    for name in candidates:
        if name in _AWS4_GROUPS:
            return None
        for prefix, provider in SHAPE_LIBRARIES.items():
            if name.startswith(prefix):
                key = name
                holder = _AWS4_ICON_HOLDERS.get(name)
                if holder and cell.props.get(holder):
                    key = cell.props[holder]
                return IconMatch(key, provider, name.split(".")[1])
    return None


def aws4_group_kind(cell: Cell) -> ContainerKind | None:
    """The container kind of an aws4 group shape, or ``None`` if ``cell`` is not one."""
    shape = cell.props.get("shape", "")
    if shape not in _AWS4_GROUPS and not (cell.names & set(_AWS4_GROUPS)):
        return None
    icon = cell.props.get("grIcon") or cell.props.get("grpIcon") or ""
    # The label wins: draw.io draws public/private subnets with the security-group icon.
    return label_kind(cell.label) or AWS4_GROUP_KINDS.get(icon.rsplit(".", 1)[-1]) or "group"


def label_kind(label: str) -> ContainerKind | None:
    """The boundary a label names ("Hub VNet" → vnet), or ``None``."""
    for pattern, kind in BOUNDARY_LABELS:
        if pattern.search(label):
            return kind
    return None


def icon_key_kind(icon_key: str) -> ContainerKind | None:
    """The boundary an icon key names (``…/Virtual_Networks.svg`` → vnet), or ``None``."""
    key = icon_key.lower().replace("-", "_").replace(" ", "_")
    for fragment, kind in BOUNDARY_ICON_KEYS:
        if fragment in key:
            return kind
    return None


def is_text(cell: Cell) -> bool:
    """A text-only vertex: ``text`` style, or neither fill, stroke nor shape."""
    if "text" in cell.names:
        return True
    if cell.props.get("shape") or "image" in cell.names or cell.props.get("image"):
        return False
    return (
        cell.props.get("fillColor", "") == "none"
        and cell.props.get("strokeColor", "") == "none"
        and not (cell.names - {"html", "whiteSpace"})
    )


# --------------------------------------------------------------------------- detection


def _bbox(cell: Cell) -> BBox:
    return BBox(x=cell.abs_x, y=cell.abs_y, width=cell.width, height=cell.height)


Rect = tuple[float, float, float, float]  # x1, y1, x2, y2 on the page

_ON_PREMISES = re.compile(r"\bon[\s-]?prem(ise|ises)?\b", re.IGNORECASE)
_SLACK = 1.0  # draw.io snaps to a grid; a box touching its container's edge is inside
_GRID = 250.0  # the containment index's cell size
_GRID_MAX_CELLS = 4096  # a container covering more cells is checked for every box


def _rect(cell: Cell) -> Rect:
    return (cell.abs_x, cell.abs_y, cell.abs_x + cell.width, cell.abs_y + cell.height)


def _holds(outer: Rect, inner: Rect) -> bool:
    return (
        outer[0] - _SLACK <= inner[0]
        and outer[1] - _SLACK <= inner[1]
        and inner[2] <= outer[2] + _SLACK
        and inner[3] <= outer[3] + _SLACK
    )


def _area(rect: Rect) -> float:
    return (rect[2] - rect[0]) * (rect[3] - rect[1])


class _CornerIndex:
    """Cells by the grid square their top-left corner falls in: the cells a box may hold
    are found in the squares the box covers, not by scanning the page."""

    def __init__(self, cells: list[Cell], rects: dict[str, Rect]) -> None:
        self.rects = rects
        self.grid: dict[tuple[int, int], list[Cell]] = {}
        for c in cells:
            r = rects[c.id]
            self.grid.setdefault((int(r[0] // _GRID), int(r[1] // _GRID)), []).append(c)
        self.cells = cells

    def within(self, rect: Rect) -> Iterable[Cell]:
        """Cells whose top-left corner may lie in ``rect`` (callers check containment)."""
        gx0, gy0 = int((rect[0] - _SLACK) // _GRID), int((rect[1] - _SLACK) // _GRID)
        gx1, gy1 = int((rect[2] + _SLACK) // _GRID), int((rect[3] + _SLACK) // _GRID)
        if (gx1 - gx0 + 1) * (gy1 - gy0 + 1) > max(_GRID_MAX_CELLS, len(self.grid)):
            yield from self.cells
            return
        for gx in range(gx0, gx1 + 1):
            for gy in range(gy0, gy1 + 1):
                yield from self.grid.get((gx, gy), [])


class _PageScan:
    """Classify the cells of one page and build its part of the result."""

    def __init__(self, page: DiagramPage) -> None:
        self.page = page
        self.cells = page.by_id()
        self.children: dict[str, list[Cell]] = {}
        for cell in page.cells:
            if cell.parent:
                self.children.setdefault(cell.parent, []).append(cell)
        self.edges = {c.id for c in page.cells if c.edge}
        self.rects = {c.id: _rect(c) for c in page.cells}
        self.matches: dict[str, IconMatch] = {}
        self.skipped_stencils: set[str] = set()
        for cell in page.cells:
            if cell.vertex and not self._on_edge(cell):
                found = match_icon(cell)
                if found is not None:
                    self.matches[cell.id] = found
                else:
                    shape = cell.props.get("shape", "")
                    if shape.startswith("mxgraph.") and aws4_group_kind(cell) is None:
                        self.skipped_stencils.add(".".join(shape.split(".")[:2]))
        self.containers: dict[str, Container] = {}
        self._find_containers()
        self.icons: dict[str, Icon] = {}
        for cell_id, found in self.matches.items():
            if cell_id in self.containers:
                continue
            cell = self.cells[cell_id]
            self.icons[cell_id] = Icon(
                id=cell.id,
                page=page.id,
                icon_key=found.icon_key,
                provider=found.provider,
                label=cell.label,
                bbox=_bbox(cell),
                confidence=1.0,
            )
        self._nest()

    # -- structure

    def _on_edge(self, cell: Cell) -> bool:
        return bool(cell.parent) and cell.parent in self.edges

    def _ancestors(self, cell: Cell) -> Iterable[Cell]:
        seen = {cell.id}
        current = self.cells.get(cell.parent or "")
        while current is not None and current.id not in seen:
            yield current
            seen.add(current.id)
            current = self.cells.get(current.parent or "")

    def _descendants(self, cell: Cell) -> list[Cell]:
        out: list[Cell] = []
        stack = list(self.children.get(cell.id, []))
        seen = {cell.id}
        while stack:
            child = stack.pop()
            if child.id in seen:
                continue
            seen.add(child.id)
            out.append(child)
            stack.extend(self.children.get(child.id, []))
        return out

    def _vertex_children(self, cell: Cell) -> list[Cell]:
        return [c for c in self.children.get(cell.id, []) if c.vertex]

    # -- containers

    def _find_containers(self) -> None:
        shapes = [
            c for c in self.page.cells if c.vertex and not self._on_edge(c) and not is_text(c)
        ]
        texts = [c for c in self.page.cells if c.vertex and not self._on_edge(c) and is_text(c)]
        shape_index = _CornerIndex(shapes, self.rects)
        text_index = _CornerIndex(texts, self.rects)
        ends = {e for c in self.page.cells if c.edge for e in (c.source, c.target) if e}
        for cell in shapes:
            found = self.matches.get(cell.id)
            kind: ContainerKind | None = None
            label = cell.label
            key: str | None = None
            if found is not None:
                boundary = icon_key_kind(found.icon_key)
                used_as_container = bool(self._vertex_children(cell)) or (
                    cell.props.get("container") == "1"
                )
                if boundary is None or not used_as_container:
                    continue
                kind, key = boundary, found.icon_key
            elif (group_kind := aws4_group_kind(cell)) is not None:
                kind = group_kind
                key = cell.props.get("grIcon") or cell.props.get("grpIcon") or None
            elif "swimlane" in cell.names or cell.props.get("container") == "1":
                kind = label_kind(label) or "group"
            else:
                if not label:
                    label = self._inner_title(cell, text_index)
                kind = label_kind(label) if label else None
                lane = cell.id in ends or bool(label and _ON_PREMISES.search(label))
                if kind is None and lane and not self._icon_group(cell):
                    kind = "group"
                if kind is None and "group" in cell.names and self._icons_in(cell) >= 2:
                    kind = "group"  # a draw.io group of icons (a store and its endpoint)
                if kind is None or not self._encloses_a_shape(cell, shape_index):
                    continue
            self.containers[cell.id] = Container(
                id=cell.id,
                page=self.page.id,
                kind=kind,
                label=label,
                bbox=_bbox(cell),
                icon_key=key,
            )

    def _icons_in(self, cell: Cell) -> int:
        return sum(1 for d in self._descendants(cell) if d.id in self.matches)

    def _icon_group(self, cell: Cell) -> bool:
        """Whether ``cell`` groups exactly one icon with its caption (an icon group)."""
        return self._icons_in(cell) == 1

    def _inner_title(self, box: Cell, texts: _CornerIndex) -> str:
        """The label of a text placed inside the top edge of an unlabelled box."""
        outer = self.rects[box.id]
        band = max(40.0, (outer[3] - outer[1]) * 0.2)
        top = (outer[0], outer[1], outer[2], min(outer[3], outer[1] + band))
        for text in texts.within(top):
            inner = self.rects[text.id]
            if _holds(outer, inner) and inner[1] - outer[1] <= band and text.label:
                return text.label
        return ""

    def _encloses_a_shape(self, box: Cell, shapes: _CornerIndex) -> bool:
        """Whether ``box`` has a child shape or holds a smaller shape in its box.

        Only the shapes whose corner lies in the squares the box covers are compared.
        """
        if any(not is_text(c) for c in self._vertex_children(box)):
            return True
        outer = self.rects[box.id]
        area = _area(outer)
        for other in shapes.within(outer):
            inner = self.rects[other.id]
            if other.id != box.id and _area(inner) < area and _holds(outer, inner):
                return True
        return False

    # -- nesting

    def _smallest_holder(self, cell: Cell, *, larger_only: bool) -> str | None:
        """The smallest container that is an ancestor of ``cell`` or holds its box.

        Candidates come from a grid index: a container that holds the box holds its
        top-left corner, so only the containers registered in that corner's grid cell
        (and the few too large to register) are compared.
        """
        box = self.rects[cell.id]
        ancestors = [a.id for a in self._ancestors(cell) if a.id in self.containers]
        corner = (int(box[0] // _GRID), int(box[1] // _GRID))
        best: tuple[float, str] | None = None
        candidates = [*ancestors, *self._grid.get(corner, []), *self._large]
        for container_id in candidates:
            if container_id == cell.id:
                continue
            outer = self.rects[container_id]
            area = _area(outer)
            if larger_only and area <= _area(box):
                continue
            holds = container_id in ancestors or _holds(outer, box)
            if holds and (best is None or area < best[0]):
                best = (area, container_id)
        return best[1] if best else None

    def _nest(self) -> None:
        self._grid: dict[tuple[int, int], list[str]] = {}
        self._large: list[str] = []
        for cid in self.containers:
            x0, y0, x1, y1 = self.rects[cid]
            gx0, gy0 = int((x0 - _SLACK) // _GRID), int((y0 - _SLACK) // _GRID)
            gx1, gy1 = int((x1 + _SLACK) // _GRID), int((y1 + _SLACK) // _GRID)
            if (gx1 - gx0 + 1) * (gy1 - gy0 + 1) > _GRID_MAX_CELLS:
                self._large.append(cid)
                continue
            for gx in range(gx0, gx1 + 1):
                for gy in range(gy0, gy1 + 1):
                    self._grid.setdefault((gx, gy), []).append(cid)
        for icon in self.icons.values():
            icon.parent = self._smallest_holder(self.cells[icon.id], larger_only=False)
        for container in self.containers.values():
            container.parent = self._smallest_holder(self.cells[container.id], larger_only=True)

    # -- texts and connections

    def texts(self) -> list[FreeText]:
        """Free texts of the page: text-only vertices with a label, not edge labels."""
        out = []
        for cell in self.page.cells:
            if (
                cell.vertex
                and not self._on_edge(cell)
                and cell.id not in self.matches
                and cell.id not in self.containers
                and is_text(cell)
                and cell.label
            ):
                text = FreeText(id=cell.id, page=self.page.id, text=cell.label, bbox=_bbox(cell))
                out.append(text)
        return out

    def resolve(self, cell_id: str | None) -> str | None:
        """The icon an edge end stands for, after containment (see the module rules)."""
        cell = self.cells.get(cell_id or "")
        if cell is None:
            return None
        if cell.id in self.icons or cell.id in self.containers:
            return cell.id
        if cell.id not in self.containers:
            inside = [c.id for c in self._descendants(cell) if c.id in self.icons]
            if len(inside) == 1:
                return inside[0]
        for ancestor in self._ancestors(cell):
            if ancestor.id in self.icons:
                return ancestor.id
        return None

    def connections(self) -> list[Connection]:
        """Every edge of the page, its ends resolved to icons."""
        out = []
        for cell in self.page.cells:
            if not cell.edge:
                continue
            labels = [cell.label] + [
                child.label for child in self.children.get(cell.id, []) if child.vertex
            ]
            out.append(
                Connection(
                    id=cell.id,
                    page=self.page.id,
                    source=self.resolve(cell.source),
                    target=self.resolve(cell.target),
                    label="; ".join(t for t in labels if t),
                    direction=edge_direction(cell),
                    layer=self._layer(cell),
                )
            )
        return out

    def _layer(self, cell: Cell) -> str:
        """The name of the layer ``cell`` is drawn on (a child of the page's root cell)."""
        seen = {cell.id}
        while cell.parent in self.cells and cell.parent not in seen:
            parent = self.cells[cell.parent]
            if parent.parent is None or parent.parent not in self.cells:
                return cell.label if not (cell.vertex or cell.edge) else ""
            seen.add(parent.id)
            cell = parent
        return ""


def edge_direction(cell: Cell) -> Direction:
    """``forward``, ``backward``, ``both`` or ``none`` from the edge's arrow styles."""
    end = cell.props.get("endArrow", "classic") not in ("none", "")
    start = cell.props.get("startArrow", "none") not in ("none", "")
    if start and end:
        return "both"
    if end:
        return "forward"
    if start:
        return "backward"
    return "none"


def detect(pages: list[DiagramPage], source: str) -> DetectionResult:
    """Everything found in the decoded ``pages`` of the diagram named ``source``."""
    result = DetectionResult(source=source)
    skipped: set[str] = set()
    for page in pages:
        scan = _PageScan(page)
        result.pages.append(Page(id=page.id, name=page.name, icon_count=len(scan.icons)))
        result.icons.extend(scan.icons.values())
        result.containers.extend(scan.containers.values())
        result.texts.extend(scan.texts())
        result.connections.extend(scan.connections())
        skipped |= scan.skipped_stencils
    if not result.icons:
        result.warnings.append(
            f"{source}: no icons from a cloud icon library (azure2, mscae, mxgraph.azure, "
            "aws4, aws3, kubernetes, office, gcp2) found; shapes drawn as plain boxes are "
            "not recognised"
        )
    loose = [c for c in result.connections if c.source is None or c.target is None]
    if loose:
        result.warnings.append(
            f"{len(loose)} of {len(result.connections)} edges do not join two icons or "
            "containers (unattached, or attached to plain shapes)"
        )
    if skipped:
        result.warnings.append(
            "shapes from stencil libraries that are not cloud icons were skipped: "
            + ", ".join(sorted(skipped))
        )
    return result


def detect_file(path: Path) -> DetectionResult:
    """Read the draw.io file at ``path`` and detect what it holds."""
    return detect(read_diagram(path), Path(path).name)


class VisionAgent(FewerCollections, Agent[DiagramInput, DetectionResult]):
    """Find icons, containers, free texts and connections in a draw.io diagram."""

    name: ClassVar[str] = "vision"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = (
        "Find icons, containers, texts and connections in a draw.io diagram"
    )
    input_model = DiagramInput
    output_model = DetectionResult

    @classmethod
    def load_input(cls, path: Path) -> DiagramInput:
        """The diagram at ``path`` as this agent's input: a regular file (links resolved)
        within :data:`MAX_FILE_BYTES`.

        The input carries the file's digest, so the result cache and resumed runs notice
        an edited diagram at the same path.
        """
        path = Path(path)
        from orchestration.runtime.guards import read_regular_bytes

        # a regular file (links resolved) within the limit, read with a bound: a link to
        # /dev/zero or a FIFO is refused here, never hashed without end
        data = read_regular_bytes(path, MAX_FILE_BYTES, what="draw.io diagram")
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        return DiagramInput(path=str(path), digest=digest)

    async def process(self, data: DiagramInput) -> DetectionResult:
        """Parse the diagram; unreadable input raises an :class:`InputError` subclass.

        A PNG/JPEG goes to the model when the agent has a model client.
        """
        path = Path(data.path)
        if self.model_client is not None:
            from agents.synthforge.analysis.raster_vision import detect_raster, raster_kind

            if raster_kind(path) is not None:
                return await detect_raster(
                    path,
                    self.model_client,
                    model=self.config.model,
                    instructions=self.config.instructions,
                )
        with fewer_collections():
            return detect_file(path)
