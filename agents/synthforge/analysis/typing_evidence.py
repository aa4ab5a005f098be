"""Typing an icon from all its evidence: the icon, its label (or caption), its container.

The rules, in order:

1. **container** — an icon inside a box labelled on-premises (not "on-premises (Azure)")
   stands for something outside Azure, whatever its library: non-architectural;
2. **RBAC markers** — a person or user icon whose label speaks of roles, RBAC or access
   is a role assignment, not a person;
3. **icon and label agree** — evidence ``both``, high confidence;
4. **the label names another service** — it wins when the icon is one people use
   generically (``generic_types`` in ``data/services.json``: a VM, an Automation shape,
   a Kubernetes icon… captioned with a platform service), when the icon is unmapped, or
   when the icon is a non-architectural glyph captioned with a service's full name;
   otherwise the icon stays and the disagreement is recorded with a lower confidence;
5. **the icon alone** — evidence ``icon``.

A label is the icon's own value or, when that is empty, its caption: the free text
right under or over the icon (found through a grid index, not by scanning every text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from agents.synthforge.analysis.icon_map import IconMap, IconType
from agents.synthforge.analysis.services import LabelMatch, ServiceCatalogue
from agents.synthforge.models import Container, FreeText, Icon

Evidence = Literal["icon", "label", "container", "both"]

_ON_PREM = re.compile(
    r"\bon[\s-]?prem(ise|ises)?\b|\bcorporate network\b|\bdatacent(er|re)\b", re.I
)
_AZURE = re.compile(r"\bazure\b", re.I)
_ROLE = re.compile(r"\b(roles?|rbac|role assignments?|permissions?|access)\b", re.I)
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
_CELL = 200.0


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
        gx, gy = int(b.x // _CELL), int(b.y // _CELL)
        best: tuple[float, str] | None = None
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for t in self._grid.get((icon.page, gx + dx, gy + dy), []):
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
) -> Typed | None:
    """The typing decision for ``icon`` (``None``: nothing decides; ask the reviewer)."""
    mapped = icon_map.lookup(icon.icon_key)
    glyph = None if mapped is not None else icon_map.non_architectural(icon.icon_key)
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
    if glyph is not None and _ROLE.search(label) and _person_like(glyph):
        return Typed(
            ROLE_ASSIGNMENT,
            None,
            "both",
            0.85,
            f"a person/user marker labelled {label!r}: an RBAC role assignment",
        )
    hits = services.from_label(label) if label else []
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
        return Typed(
            mapped.resource_type,
            mapped.kind,
            "icon",
            0.6,
            f"{mapped.source}; the label names {hit.phrase!r} ({hit.resource_type}), "
            "which the icon overrides: review it",
        )
    if hit is not None and (glyph is None or hit.confidence >= 0.9):
        why = "the icon is not in the map" if glyph is None else f"the icon alone is {glyph!r}"
        return _by_label(hit, f"the label names {hit.phrase!r}; {why}")
    if glyph is not None:
        return Typed(None, None, "icon", 0.9, "icon map", reason=glyph)
    return None


def _by_label(hit: LabelMatch, why: str) -> Typed:
    return Typed(hit.resource_type, hit.kind, "label", round(hit.confidence * 0.9, 3), why)


def _refines(mapped: IconType, hit: LabelMatch) -> bool:
    """Whether the label's type is a part or variant of the icon's (same provider path)."""
    return hit.resource_type.startswith(
        mapped.resource_type + "/"
    ) or mapped.resource_type.startswith(hit.resource_type + "/")


def _person_like(reason: str) -> bool:
    return bool(re.search(r"\b(person|people|user|users)\b", reason, re.I))
