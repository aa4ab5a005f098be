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
    Every edge. Each end resolves to an icon, a container or a shape: the cell itself if it
    is an icon or a container; the single icon inside an icon group; else the nearest icon
    among its ancestors; else the cell itself if it is a plain shape (a rectangle, an
    embedded image, another library's stencil: a vertex that is no text, no edge label
    and no ``mxgraph.flowchart`` symbol) on a page that draws an architecture (it has
    icons or boundary boxes; a flowchart of plain shapes does not), listed in ``shapes``
    with its label, container and badge; else, for a text, the one icon it captions (just
    under or over it, or level with it on its right, within 20 px); else ``None``
    (unattached, or attached to a free text). An end attached to another edge (or its
    label) leads where that edge leads (its target; its source when it is drawn
    backward); an end at a waypoint (draw.io's ``waypoint`` shape, or an unlabelled dot
    of at most 10×10 that two segments of one arrow meet at) leads where the other
    segment leads; each step is followed once.
    A box (a plain shape or a group container) with exactly one VNet, subnet,
    resource-group or subscription icon on its top edge or at one of its corners is
    *badged* by it: it stands for that icon's resource.
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
    Shape,
)

Direction = Literal["forward", "backward", "both", "none"]

#: Image-path prefixes of icon libraries, and their provider.
IMAGE_LIBRARIES: dict[str, Provider] = {
    "img/lib/azure2/": "azure",
    "img/lib/mscae/": "azure",
    "https://icons.diagrams.net/assets/azure/": "azure",
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
    "mxgraph.ibm_cloud.": "generic",
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

#: aws4 group icons (``grIcon``) that draw a service rather than a boundary: the box
#: stands for that service (an Auto Scaling group, a Step Functions workflow), its
#: contents for what the service runs.
AWS4_SERVICE_GROUPS: frozenset[str] = frozenset(
    {
        "group_auto_scaling_group",
        "group_aws_step_functions_workflow",
        "group_elastic_beanstalk",
        "group_spot_fleet",
        "group_ec2_instance_contents",
    }
)

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

_DOT = 10.0  # an unlabelled vertex this small that arrows meet at is a bend point
_CAPTION_GAP = 20.0  # how far from its icon a caption text may sit
_BADGE_GAP = 20.0  # how far from a box's edges its badge icon may sit
_BADGE_MAX = 200.0  # a larger icon is no badge
#: Boundaries a badge names (an NSG icon in a subnet box's corner is the subnet's NSG,
#: not the box).
_BADGE_KINDS: frozenset[ContainerKind | None] = frozenset(
    {"vnet", "subnet", "resource_group", "subscription"}
)
_FLOWCHART = "mxgraph.flowchart."  # process steps, not parts of an architecture
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


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _at_corner(box: Rect, icon: Rect) -> bool:
    """Whether ``icon`` sits at a corner of ``box``: near one vertical and one horizontal
    edge of it (either side, within :data:`_BADGE_GAP`) and touching the box (so grown)."""

    def near(a0: float, a1: float, b0: float, b1: float) -> bool:
        return min(abs(a0 - b0), abs(a1 - b1), abs(a1 - b0), abs(a0 - b1)) <= _BADGE_GAP

    grown = (box[0] - _BADGE_GAP, box[1] - _BADGE_GAP, box[2] + _BADGE_GAP, box[3] + _BADGE_GAP)
    return (
        _overlap(grown, icon)
        and near(icon[0], icon[2], box[0], box[2])
        and near(icon[1], icon[3], box[1], box[3])
    )


def _squares(rect: Rect, limit: int | None = None) -> list[tuple[int, int]]:
    """The grid squares ``rect`` covers (none past ``limit``: a huge box badges nothing)."""
    gx0, gy0 = int(rect[0] // _GRID), int(rect[1] // _GRID)
    gx1, gy1 = int(rect[2] // _GRID), int(rect[3] // _GRID)
    if limit is not None and (gx1 - gx0 + 1) * (gy1 - gy0 + 1) > limit:
        return []
    return [(gx, gy) for gx in range(gx0, gx1 + 1) for gy in range(gy0, gy1 + 1)]


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
        self._followed: dict[tuple[str, str | None], str | None] = {}  # see resolve()
        self._edges_at: dict[str, list[Cell]] = {}  # the edges attached to each cell
        for c in page.cells:
            if c.edge:
                for end in {c.source, c.target} - {None}:
                    self._edges_at.setdefault(end or "", []).append(c)
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
        self.shapes: dict[str, Shape] = {}  # filled by connections()
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
        #: Whether the page draws an architecture: a cloud icon or a boundary box (a VNet,
        #: a subnet…) on it. Plain shapes are parts only there (not in a flowchart).
        self.drawing = bool(self.icons) or any(c.kind != "group" for c in self.containers.values())
        for container in self.containers.values():
            if container.kind == "group" and container.badge is None:
                container.badge = self._badge(self.cells[container.id])

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
            badge: str | None = None
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
                badge = self._badge(cell) if kind is None else None
                if badge is not None:  # a box with a VNet icon in its corner is the VNet
                    kind = icon_key_kind(self.matches[badge].icon_key)
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
                badge=badge,
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

    def resolve(self, cell_id: str | None, via: str | None = None) -> str | None:
        """The icon, container or shape the end of edge ``via`` attached to ``cell_id``
        stands for, after containment (see the module rules)."""
        cell = self.cells.get(cell_id or "")
        walked: list[tuple[str, str | None]] = []  # each step is resolved once, then shared
        on_walk: set[tuple[str, str | None]] = set()
        found: str | None = None
        while cell is not None and (cell.edge or self._on_edge(cell) or self._is_waypoint(cell)):
            step = (cell.id, via)
            if step in self._followed:
                found, cell = self._followed[step], None
                break
            if step in on_walk:
                cell = None  # arrows drawn onto each other in a cycle
                break
            walked.append(step)
            on_walk.add(step)
            if self._is_waypoint(cell):
                # an arrow drawn in segments through a waypoint ends where the next does
                others = [e for e in self._edges_at.get(cell.id, []) if e.id != via]
                if len(others) != 1:
                    cell = None
                    break
                line = others[0]
                end = line.target if line.source == cell.id else line.source
            else:
                # an arrow drawn to another arrow (or its label) joins its line: it leads
                # where that arrow leads
                line = cell if cell.edge else self.cells[cell.parent or ""]
                end = line.source if edge_direction(line) == "backward" else line.target
            via, cell = line.id, self.cells.get(end or "")
        if cell is not None:
            found = self._resolve_cell(cell)
        for step in walked:
            self._followed[step] = found
        return found

    def _resolve_cell(self, cell: Cell) -> str | None:
        """What a cell that is no edge, edge label or waypoint stands for as an edge end."""
        if cell.id in self.icons or cell.id in self.containers:
            return cell.id
        if cell.id not in self.containers:
            inside = [c.id for c in self._descendants(cell) if c.id in self.icons]
            if len(inside) == 1:
                return inside[0]
        for ancestor in self._ancestors(cell):
            if ancestor.id in self.icons:
                return ancestor.id
        if self.drawing and self.is_shape(cell):
            return cell.id
        if is_text(cell) and cell.vertex:
            return self._captioned(cell)
        return None

    def _captioned(self, text: Cell) -> str | None:
        """The one icon a free text is the caption of: just under or over it (overlapping
        it across, within :data:`_CAPTION_GAP`) or level with it just to its right."""
        if not hasattr(self, "_icon_squares"):
            self._icon_squares: dict[tuple[int, int], list[str]] = {}
            for icon_id in self.icons:
                for square in _squares(self.rects[icon_id], limit=_GRID_MAX_CELLS):
                    self._icon_squares.setdefault(square, []).append(icon_id)
        t = self.rects[text.id]
        near = (t[0] - _CAPTION_GAP, t[1] - _CAPTION_GAP, t[2] + _CAPTION_GAP, t[3] + _CAPTION_GAP)
        found: set[str] = set()
        for square in _squares(near, limit=_GRID_MAX_CELLS):
            for icon_id in self._icon_squares.get(square, []):
                b = self.rects[icon_id]
                across = min(b[2], t[2]) - max(b[0], t[0]) > 0
                level = min(b[3], t[3]) - max(b[1], t[1]) > 0
                gap_y = max(t[1] - b[3], b[1] - t[3])
                if (across and gap_y <= _CAPTION_GAP) or (
                    level and 0 <= t[0] - b[2] <= _CAPTION_GAP
                ):
                    found.add(icon_id)
        return found.pop() if len(found) == 1 else None

    def _badge(self, box: Cell) -> str | None:
        """The one boundary icon (a VNet, subnet, resource group… icon) that badges a box:
        smaller than the box, on its top edge (across it, in its top band or just above
        it) or at one of its corners (inside, across or just outside, within
        :data:`_BADGE_GAP` of both edges), as a VNet icon in the corner of a box standing
        for the network. ``None`` when there is not exactly one (an icon
        beside a resource drawn as an image is no badge of it; a box with subnet icons in
        several corners is no subnet)."""
        if not hasattr(self, "_badge_grid"):
            self._badge_grid: dict[tuple[int, int], list[str]] = {}
            self._badge_reach = _BADGE_GAP
            for icon_id, match in self.matches.items():
                cell = self.cells[icon_id]
                if icon_key_kind(match.icon_key) not in _BADGE_KINDS or self._vertex_children(cell):
                    continue
                rect = self.rects[icon_id]
                size = min(_BADGE_MAX, max(rect[2] - rect[0], rect[3] - rect[1]))
                self._badge_reach = max(self._badge_reach, _BADGE_GAP + size)
                for square in _squares(rect):
                    self._badge_grid.setdefault(square, []).append(icon_id)
        if not self._badge_grid:
            return None
        outer = self.rects[box.id]
        x0, y0, x1, y1 = outer
        reach, area = self._badge_reach, _area(outer)
        band = (x0, y0 - _BADGE_GAP, x1, min(y1, y0 + max(_BADGE_GAP, (y1 - y0) * 0.25)))
        found: set[str] = set()
        for square in _squares(band, limit=_GRID_MAX_CELLS):  # the top band
            for icon_id in self._badge_grid.get(square, []):
                inner = self.rects[icon_id]
                if icon_id != box.id and _area(inner) < area and _overlap(band, inner):
                    found.add(icon_id)
        for cx, cy in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):  # the corners
            near = (cx - reach, cy - reach, cx + reach, cy + reach)
            for square in _squares(near):
                for icon_id in self._badge_grid.get(square, []):
                    inner = self.rects[icon_id]
                    if icon_id != box.id and _area(inner) < area and _at_corner(outer, inner):
                        found.add(icon_id)
        return found.pop() if len(found) == 1 else None

    def _is_waypoint(self, cell: Cell) -> bool:
        """A bend point two arrow segments meet at: draw.io's ``waypoint`` shape, or an
        unlabelled dot (at most :data:`_DOT` wide and high) that only arrows touch."""
        if not cell.vertex or cell.id in self.icons or cell.id in self.containers:
            return False
        if cell.props.get("shape") == "waypoint" or "waypoint" in cell.names:
            return True
        return cell.width <= _DOT and cell.height <= _DOT and not cell.label and not is_text(cell)

    def is_shape(self, cell: Cell) -> bool:
        """A plain shape an arrow may end on: a vertex that is neither an icon, a container,
        a text, an edge label nor a flowchart symbol (a rectangle, an embedded image,
        another library's stencil). On a page that draws an architecture it stands for a
        part the diagram does not draw with a cloud icon."""
        return (
            cell.vertex
            and cell.id not in self.icons
            and cell.id not in self.containers
            and not self._on_edge(cell)
            and not is_text(cell)
            and not cell.props.get("shape", "").startswith(_FLOWCHART)
        )

    def connections(self) -> list[Connection]:
        """Every edge of the page, its ends resolved to icons, containers or shapes; the
        shapes ends resolved to are collected in :attr:`shapes`."""
        out = []
        for cell in self.page.cells:
            if not cell.edge:
                continue
            labels = [cell.label] + [
                child.label for child in self.children.get(cell.id, []) if child.vertex
            ]
            source = self.resolve(cell.source, cell.id)
            target = self.resolve(cell.target, cell.id)
            for end in (source, target):
                if end is not None and end not in self.shapes and self.is_shape(self.cells[end]):
                    shape = self.cells[end]
                    self.shapes[end] = Shape(
                        id=end,
                        page=self.page.id,
                        label=shape.label,
                        parent=self._smallest_holder(shape, larger_only=False),
                        badge=self._badge(shape),
                    )
            out.append(
                Connection(
                    id=cell.id,
                    page=self.page.id,
                    source=source,
                    target=target,
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
        result.shapes.extend(scan.shapes.values())
        skipped |= scan.skipped_stencils
    if not result.icons:
        result.warnings.append(
            f"{source}: no icons from a cloud icon library (azure2, mscae, mxgraph.azure, "
            "aws4, aws3, kubernetes, office, gcp2) found; shapes drawn as plain boxes are "
            "not recognised"
        )
    shapes = {s.id for s in result.shapes}
    loose = [
        c
        for c in result.connections
        if c.source is None or c.target is None or {c.source, c.target} & shapes
    ]
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
