"""Typing an icon from all its evidence: the icon, its label (or caption), its container.

The icon's type is first read in the diagram's cloud (:func:`dominant_cloud`): in a
diagram whose icons are mostly Azure, another cloud's stencil (an AWS disk, an IBM
resource group) stands for its Azure twin (``twins`` in ``data/icon_map.json``). Then,
in order:

1. **the label says it is no resource** — a scheduler labelled as a timer is the timer
   trigger of what it triggers (``label_set_aside`` in the icon map), any icon labelled
   "Client Applications" is the callers (``non_architectural_labels`` in the service
   catalogue): non-architectural;
2. **container** — an icon inside a box labelled on-premises (not "on-premises (Azure)"),
   or labelled on-premises itself (its own label: a caption may be a box's title), stands
   for something outside Azure, whatever its library: non-architectural (Azure resources
   that stand for the on-premises side, a local network gateway say, are kept:
   ``on_premises_counterparts``);
3. **RBAC markers** — a person or user icon whose label speaks of roles, RBAC or access
   is a role assignment, not a person;
4. **icon and label agree** — evidence ``both``, high confidence;
5. **the label names another service** — it wins when the icon is one people use
   generically (``generic_types`` in ``data/services.json``: a VM, an Automation shape,
   a Kubernetes icon… captioned with a platform service), when the icon is unmapped, or
   when the icon is a non-architectural glyph captioned with a service's full name (one
   word will not do for a person or a device: "Web Dashboards" on a laptop), or when the
   icon's own label is about a service it names in full, in two words or more ("Lease
   Container" on a PostgreSQL icon, but not "Cosmos DB secrets" on a Key Vault: the
   label's last word must be the name's; a caption may be a container's title, so it
   does not count here); otherwise the icon stays and the disagreement is recorded with
   a lower confidence. Only services of the icon's provider count ("Secret Manager" names
   AWS Secrets Manager on an AWS icon);
6. **the icon alone** — evidence ``icon``.

Before all that, an icon drawn behind other icons (enclosing two or more, each a quarter
its size or less) is a backdrop, and an icon with a ``+``/``=``/``&`` text beside it is a
term of a legend row ("Computer + VHD"): both non-architectural.

Last, the type may change with where the icon is drawn (``context_refinements``): a VNet
icon inside a subnet box is that subnet; a VM beside a Kubernetes logo is a cluster node.

A label is the icon's own value or, when that is empty, its caption: the free text
right under or over the icon (found through a grid index, not by scanning every text).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, TypeVar

from agents.synthforge.analysis.icon_map import IconMap, IconType, normalize_key, provider_of_type
from agents.synthforge.analysis.services import (
    NAME_CONFIDENCE,
    LabelMatch,
    ServiceCatalogue,
    label_words,
)
from agents.synthforge.models import BBox, Container, FreeText, Icon

Evidence = Literal["icon", "label", "container", "both"]

_ON_PREM = re.compile(
    r"\bon[\s-]?prem(ise|ises)?\b|\bcorporate network\b|\bdatacent(er|re)\b", re.I
)
_AZURE = re.compile(r"\bazure\b", re.I)
_ENDPOINT = re.compile(r"\b(person|people|users?|devices?)\b", re.I)
_ROLE = re.compile(r"\b(roles?|rbac|role assignments?|permissions?|access)\b", re.I)
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
_CELL = 200.0
_OPERATORS = frozenset({"+", "=", "&"})
#: An icon drawn behind at least this many icons, each at most a quarter its size, is a
#: backdrop.
_BACKDROP_OF = 2
#: Share of the provider-typed icons one cloud must have for the diagram to be of it.
_MOSTLY = 0.75

_T = TypeVar("_T")


def _around(grid: dict[tuple[str, int, int], list[_T]], page: str, b: BBox) -> Iterator[_T]:
    """The entries of ``grid`` in the cell of ``b``'s corner and the eight cells around it."""
    gx, gy = int(b.x // _CELL), int(b.y // _CELL)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            yield from grid.get((page, gx + dx, gy + dy), [])


def _level_gap(b: BBox, ob: BBox) -> float | None:
    """The horizontal gap between two boxes level with each other (overlapping in
    height), negative when they overlap across too; ``None`` when they are not level."""
    level = min(b.y + b.height, ob.y + ob.height) - max(b.y, ob.y)
    return max(ob.x - (b.x + b.width), b.x - (ob.x + ob.width)) if level > 0 else None


@dataclass(frozen=True)
class Typed:
    """The outcome for one icon: a type (with evidence), or a reason it is not one."""

    resource_type: str | None
    kind: str | None
    evidence: Evidence
    confidence: float
    source: str
    reason: str | None = None  # set when the icon is not architectural


class Captions:
    """Free texts by page and grid cell, to find an icon's caption without a full scan."""

    def __init__(self, texts: list[FreeText]) -> None:
        self._grid: dict[tuple[str, int, int], list[FreeText]] = {}
        for t in texts:
            key = (t.page, int(t.bbox.x // _CELL), int(t.bbox.y // _CELL))
            self._grid.setdefault(key, []).append(t)

    def caption(self, icon: Icon) -> str:
        """The text just under (or over) ``icon`` that overlaps it horizontally, or level
        with it just to its right, if any."""
        b = icon.bbox
        best: tuple[float, str] | None = None
        for t in _around(self._grid, icon.page, b):
            tb = t.bbox
            overlap = min(b.x + b.width, tb.x + tb.width) - max(b.x, tb.x)
            if overlap <= 0:
                # beside the icon, on its right: a caption too when it is level
                level = min(b.y + b.height, tb.y + tb.height) - max(b.y, tb.y)
                right = tb.x - (b.x + b.width)
                if level > 0 and 0 <= right <= 20.0 and (best is None or right < best[0]):
                    best = (right, t.text)
                continue
            below = tb.y - (b.y + b.height)
            above = b.y - (tb.y + tb.height)
            gap = below if below >= -b.height / 2 else above
            close = -b.height / 2 <= gap <= max(30.0, b.height * 0.6)
            if close and (best is None or gap < best[0]):
                best = (gap, t.text)
        return best[1] if best else ""

    def operator_beside(self, icon: Icon) -> str | None:
        """The operator (``+``, ``=``, ``&``) of a text level with ``icon`` and at most
        20 px from its side, if any: the icon is a term of a legend row "A + B = C"."""
        for t in _around(self._grid, icon.page, icon.bbox):
            if t.text.strip() not in _OPERATORS:
                continue
            gap = _level_gap(icon.bbox, t.bbox)
            if gap is not None and 0 <= gap <= 20.0:
                return t.text.strip()
        return None


class Neighbours:
    """The icons that can change a neighbour's type (those a ``beside`` context rule
    names), by page and grid cell, to find the ones beside an icon without a full scan."""

    def __init__(self, icons: list[Icon], icon_map: IconMap) -> None:
        patterns = [r.beside for r in icon_map.context_refinements if r.beside is not None]
        self._grid: dict[tuple[str, int, int], list[tuple[str, Icon]]] = {}
        corners: dict[tuple[str, int, int], list[Icon]] = {}
        for i in icons:
            corner = (i.page, int(i.bbox.x // _CELL), int(i.bbox.y // _CELL))
            corners.setdefault(corner, []).append(i)
            norm = normalize_key(i.icon_key)
            if any(p.search(norm) for p in patterns):
                self._grid.setdefault(corner, []).append((norm, i))
        self.backdrops = frozenset(i.id for i in icons if _encloses(i, corners) >= _BACKDROP_OF)

    def beside(self, icon: Icon, pattern: re.Pattern[str]) -> str | None:
        """The key of an icon matching ``pattern`` level with ``icon`` and at most half an
        icon's width from it (or overlapping it), if any."""
        reach = max(20.0, icon.bbox.width / 2)
        for norm, other in _around(self._grid, icon.page, icon.bbox):
            if other.id == icon.id or not pattern.search(norm):
                continue
            gap = _level_gap(icon.bbox, other.bbox)
            if gap is not None and gap <= reach:
                return norm
        return None


def _encloses(icon: Icon, corners: dict[tuple[str, int, int], list[Icon]]) -> int:
    """How many icons a quarter of ``icon``'s size or less lie wholly inside its box
    (icons found by the grid cell of their corner; a huge icon looks at 16 x 16 cells)."""
    b = icon.bbox
    area = b.width * b.height
    x0, y0 = int(b.x // _CELL), int(b.y // _CELL)
    x1 = min(int((b.x + b.width) // _CELL), x0 + 15)
    y1 = min(int((b.y + b.height) // _CELL), y0 + 15)
    count = 0
    for gx in range(x0, x1 + 1):
        for gy in range(y0, y1 + 1):
            for other in corners.get((icon.page, gx, gy), []):
                ob = other.bbox
                inside = (
                    ob.x >= b.x
                    and ob.y >= b.y
                    and ob.x + ob.width <= b.x + b.width
                    and ob.y + ob.height <= b.y + b.height
                )
                if other.id != icon.id and inside and 4 * ob.width * ob.height <= area:
                    count += 1
                    if count >= _BACKDROP_OF:
                        return count
    return count


def dominant_cloud(icons: list[Icon], icon_map: IconMap) -> str | None:
    """``azure`` or ``aws`` when at least three quarters of the icons typed by their key
    are of that cloud, else ``None`` (a mixed or untyped diagram)."""
    counts = {"azure": 0, "aws": 0}
    for icon in icons:
        found = icon_map.lookup(icon.icon_key)
        if found is not None and (provider := provider_of_type(found.resource_type)) in counts:
            counts[provider] += 1
    total = counts["azure"] + counts["aws"]
    for cloud, n in counts.items():
        if total and n >= _MOSTLY * total:
            return cloud
    return None


def on_premises(chain: list[str], containers: dict[str, Container]) -> Container | None:
    """The innermost enclosing container labelled on-premises (and not Azure), if any."""
    for cid in reversed(chain):
        c = containers.get(cid)
        if c is not None and _ON_PREM.search(c.label) and not _AZURE.search(c.label):
            return c
    return None


def decide(
    icon: Icon,
    label: str,
    chain: list[str],
    containers: dict[str, Container],
    icon_map: IconMap,
    services: ServiceCatalogue,
    *,
    cloud: str | None = None,
    neighbours: Neighbours | None = None,
    captions: Captions | None = None,
) -> Typed | None:
    """The typing decision for ``icon`` (``None``: nothing decides; ask the reviewer).

    ``cloud`` is the diagram's (:func:`dominant_cloud`); ``neighbours`` finds the icons
    beside this one for the ``beside`` context rules, and knows the backdrops (icons
    drawn behind others); ``captions`` finds the operators of a legend row beside it.
    """
    if neighbours is not None and icon.id in neighbours.backdrops:
        return Typed(
            None,
            None,
            "icon",
            0.8,
            "drawn behind other icons",
            reason="a backdrop drawn behind other icons, not a resource",
        )
    if captions is not None and (op := captions.operator_beside(icon)) is not None:
        return Typed(
            None,
            None,
            "icon",
            0.8,
            f"beside a {op!r} text",
            reason=f"a term of a legend row (icons joined by {op!r}), not a drawn resource",
        )
    scene = _Scene(containers, icon_map, services, cloud)
    typed = _decide(icon, label, chain, scene)
    if typed is None or typed.resource_type is None:
        return typed
    return _in_context(typed, icon, chain, containers, icon_map, neighbours)


@dataclass(frozen=True)
class _Scene:
    """What the diagram tells about every icon: its boxes, the tables, its cloud."""

    containers: dict[str, Container]
    icon_map: IconMap
    services: ServiceCatalogue
    cloud: str | None


def _decide(icon: Icon, label: str, chain: list[str], scene: _Scene) -> Typed | None:
    containers, icon_map, services, cloud = (
        scene.containers,
        scene.icon_map,
        scene.services,
        scene.cloud,
    )
    mapped = icon_map.lookup_in(icon.icon_key, cloud)
    glyph = None if mapped is not None else icon_map.non_architectural(icon.icon_key)
    if (why_not := icon_map.set_aside_by_label(icon.icon_key, label)) is not None:
        return Typed(None, None, "both", 0.85, f"icon map; labelled {label!r}", reason=why_not)
    if (why_not := services.label_reason(label)) is not None:
        return Typed(None, None, "label", 0.75, f"labelled {label!r}", reason=why_not)
    outside = on_premises(chain, containers)
    if outside is not None and (mapped is not None or glyph is None):
        return Typed(
            None,
            None,
            "container",
            0.8,
            f"inside {outside.kind} {outside.label!r}",
            reason=f"drawn inside the on-premises box {outside.label!r}: not an Azure resource",
        )
    if (
        mapped is not None
        and _ON_PREM.search(icon.label)
        and not _AZURE.search(icon.label)
        and mapped.resource_type not in services.on_premises_counterparts
    ):
        return Typed(
            None,
            None,
            "label",
            0.75,
            f"labelled {label!r}",
            reason=f"labelled {label!r}: a system on premises, not an Azure resource",
        )
    if glyph is not None and _ROLE.search(label) and _person_like(glyph):
        return Typed(
            ROLE_ASSIGNMENT,
            None,
            "both",
            0.85,
            f"a person/user marker labelled {label!r}: an RBAC role assignment",
        )
    provider = provider_of_type(mapped.resource_type) if mapped is not None else cloud
    hits = services.from_label(label, provider) if label else []
    hit = hits[0] if hits else None
    if mapped is not None:
        exact = icon_map.is_exact(icon.icon_key)
        if hit is None:
            return Typed(
                mapped.resource_type, mapped.kind, "icon", 1.0 if exact else 0.9, mapped.source
            )
        if hit.resource_type == mapped.resource_type:
            return Typed(
                mapped.resource_type,
                hit.kind or mapped.kind,
                "both",
                0.97,
                f"{mapped.source}; the label names it too ({hit.phrase!r})",
            )
        if any(h.resource_type == mapped.resource_type for h in hits):
            return Typed(
                mapped.resource_type,
                mapped.kind,
                "both",
                0.9,
                f"{mapped.source}; the label names it too",
            )
        if mapped.resource_type in services.generic_types or _refines(mapped, hit):
            return _by_label(
                hit,
                f"the label names {hit.phrase!r}; the icon "
                f"({mapped.resource_type}) is often used for other services",
            )
        if icon.label and _full_name(hit) and _about(hit, icon.label):
            return _by_label(
                hit,
                f"the label names {hit.phrase!r} in full; the icon ({mapped.resource_type}) "
                "stands for another service: the label wins, review it",
                weight=0.8,
            )
        return Typed(
            mapped.resource_type,
            mapped.kind,
            "icon",
            0.6,
            f"{mapped.source}; the label names {hit.phrase!r} ({hit.resource_type}), "
            "which the icon overrides: review it",
        )
    if hit is not None and (glyph is None or _names_over_glyph(hit, glyph)):
        why = "the icon is not in the map" if glyph is None else f"the icon alone is {glyph!r}"
        return _by_label(hit, f"the label names {hit.phrase!r}; {why}")
    if glyph is not None:
        return Typed(None, None, "icon", 0.9, "icon map", reason=glyph)
    return None


def _in_context(
    typed: Typed,
    icon: Icon,
    chain: list[str],
    containers: dict[str, Container],
    icon_map: IconMap,
    neighbours: Neighbours | None,
) -> Typed:
    """``typed`` after the context rules: the innermost container's kind, the icons beside."""
    inner = containers.get(chain[-1]) if chain else None
    for rule in icon_map.context_refinements:
        if rule.resource_type != typed.resource_type:
            continue
        if rule.inside is not None and inner is not None and inner.kind == rule.inside:
            where = f"inside {inner.kind} {inner.label!r}"
        elif rule.beside is not None and neighbours is not None:
            marker = neighbours.beside(icon, rule.beside)
            if marker is None:
                continue
            where = f"beside {marker}"
        else:
            continue
        return Typed(
            rule.new_type,
            None,
            "container" if typed.evidence == "icon" else "both",
            round(min(typed.confidence, 0.85), 3),
            f"{typed.source}; {where}: {rule.why}",
        )
    return typed


def _names_over_glyph(hit: LabelMatch, glyph: str) -> bool:
    """Whether the label's service beats a non-architectural glyph: a full name does, but
    a person or a device captioned with one common word ("Web Dashboards" on a laptop)
    stays a person or a device."""
    if _ENDPOINT.search(glyph):
        return _full_name(hit)
    return hit.confidence >= NAME_CONFIDENCE


def _about(hit: LabelMatch, label: str) -> bool:
    """Whether ``label`` is about the service it names: its last word (the head of an
    English noun phrase) is one of the name's words. "Lease Container" and "Secret
    Manager / GoDaddy Secrets" are; "Cosmos DB secrets" (secrets kept for Cosmos DB) is
    not."""
    words = label_words(label)
    return bool(words) and words[-1] in hit.phrase.split()


def _full_name(hit: LabelMatch) -> bool:
    """Whether the label gives a service's full name of two words or more (a single word
    such as "dashboard" or "function" is too common to override an icon)."""
    return hit.confidence >= NAME_CONFIDENCE and len(hit.phrase.split()) >= 2


def _by_label(hit: LabelMatch, why: str, weight: float = 0.9) -> Typed:
    return Typed(hit.resource_type, hit.kind, "label", round(hit.confidence * weight, 3), why)


def _refines(mapped: IconType, hit: LabelMatch) -> bool:
    """Whether the label's type is a part or variant of the icon's (same provider path)."""
    return hit.resource_type.startswith(
        mapped.resource_type + "/"
    ) or mapped.resource_type.startswith(hit.resource_type + "/")


def _person_like(reason: str) -> bool:
    return bool(re.search(r"\b(person|people|user|users)\b", reason, re.I))
