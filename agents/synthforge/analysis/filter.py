"""The ``filter`` agent: classify each detected icon as a typed resource, or not.

Every icon of a :class:`DetectionResult` ends in exactly one of three lists:

* ``resources`` — the icon key maps to an ARM type (Azure, with ``kind`` where it matters)
  or a CloudFormation type (AWS), through the shipped icon map;
* ``non_architectural`` — a person, a device, the internet, a generic cloud, a file glyph...
  with the reason;
* ``needs_clarification`` — anything else, with candidate types found by fuzzy matching of
  the key and the label against the map.

Each typing decision weighs the icon, its label (or its caption, the text under it) and
its container (:mod:`~agents.synthforge.analysis.typing_evidence`), and records which
decided (``evidence``) and how sure it is (``confidence``). An unlabelled resource is
named after its caption, else after the lane it alone sits in, else after its type.

Duplicates are merged (:func:`merge_duplicates`): one resource, several ``drawings``.

Containers and connections are carried through unchanged; each resource lists the ids of
the containers around it, outermost first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar, cast

from agents.base import Agent
from agents.synthforge.analysis.heap import FewerCollections, fewer_collections
from agents.synthforge.analysis.icon_map import IconMap, load_icon_map, provider_of_type
from agents.synthforge.analysis.services import load_services
from agents.synthforge.analysis.typing_evidence import Captions, decide
from agents.synthforge.models import (
    ClassifiedArchitecture,
    Container,
    DetectionResult,
    Icon,
    NonArchitectural,
    Provider,
    Resource,
    Unclassified,
)


def container_chain(parent: str | None, containers: dict[str, Container]) -> list[str]:
    """Ids of the containers enclosing an item whose parent is ``parent``, outermost first."""
    chain: list[str] = []
    seen: set[str] = set()
    current = parent
    while current is not None and current in containers and current not in seen:
        seen.add(current)
        chain.append(current)
        current = containers[current].parent
    chain.reverse()
    return chain


def name_from_type(resource_type: str, kind: str | None = None) -> str:
    """A readable name for an unlabelled resource, from its type.

    ``Microsoft.Storage/storageAccounts`` -> ``storage account``; ``Microsoft.Web/sites``
    with kind ``functionapp`` -> ``function app``; ``AWS::S3::Bucket`` -> ``s3 bucket``.
    """
    if kind and kind.split(",")[0].lower() in _KIND_NAMES:
        return _KIND_NAMES[kind.split(",")[0].lower()]
    if resource_type.startswith("AWS::"):
        parts = resource_type.split("::")[1:]
        return " ".join(_split_camel(p) for p in parts).lower()
    last = resource_type.rsplit("/", 1)[-1]
    words = _split_camel(last).lower()
    return _singular(words)


_KIND_NAMES = {
    "functionapp": "function app",
    "app": "web app",
    "openai": "openai account",
}


def _split_camel(text: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)


def _singular(words: str) -> str:
    if words.endswith("ies"):
        return words[:-3] + "y"
    if words.endswith(("sses", "xes")):
        return words[:-2]
    if words.endswith("s") and not words.endswith(("ss", "is", "us")):
        return words[:-1]
    return words


def classify(detection: DetectionResult, icon_map: IconMap | None = None) -> ClassifiedArchitecture:
    """Classify every icon of ``detection``; see the module docstring."""
    icon_map = icon_map or load_icon_map()
    containers = {c.id: c for c in detection.containers}
    resources: list[Resource] = []
    non_arch: list[NonArchitectural] = []
    unclear: list[Unclassified] = []
    used_names: dict[str, int] = {}

    services = load_services()
    captions = Captions(detection.texts)
    alone_in = _lone_icons(detection)
    for icon in detection.icons:
        label = icon.label or captions.caption(icon)
        chain = container_chain(icon.parent, containers)
        typed = decide(icon, label, chain, containers, icon_map, services)
        if typed is not None and typed.resource_type is not None:
            rtype, kind = typed.resource_type, typed.kind
            mapped = icon_map.lookup(icon.icon_key)
            why = None
            if mapped is not None and rtype == mapped.resource_type:
                rtype, kind, why = icon_map.refine(mapped, label)
                kind = kind if kind is not None else typed.kind
            source = typed.source if why is None else f"{typed.source}; label: {why}"
            lane = containers.get(alone_in.get(icon.id, ""))
            name = label or (lane.label if lane is not None and lane.label else "")
            resources.append(
                Resource(
                    id=icon.id,
                    icon_id=icon.id,
                    name=name or _unique(name_from_type(rtype, kind), used_names),
                    provider=_provider(icon, rtype),
                    resource_type=rtype,
                    kind=kind,
                    category=icon_map.category_of(rtype)
                    if mapped is None or rtype != mapped.resource_type
                    else mapped.category,
                    containers=chain,
                    mapping_source=source,
                    evidence=typed.evidence,
                    confidence=typed.confidence,
                )
            )
            continue
        if typed is not None and typed.reason is not None:
            non_arch.append(
                NonArchitectural(
                    icon_id=icon.id, icon_key=icon.icon_key, label=label, reason=typed.reason
                )
            )
            continue
        unclear.append(
            Unclassified(
                icon_id=icon.id,
                icon_key=icon.icon_key,
                label=label,
                candidates=icon_map.candidates(icon.icon_key, label, provider=icon.provider),
            )
        )

    icons_by_id = {i.id: i for i in detection.icons}
    resources, merged = merge_duplicates(resources, icons_by_id)
    warnings = list(detection.warnings)
    if merged:
        warnings.append(
            f"{merged} drawing(s) of resources already drawn were merged into them "
            "(same type overlapping, or same label and type on another page); see drawings"
        )
    if unclear:
        listed = ", ".join(f"{u.icon_id} ({u.icon_key})" for u in unclear)
        warnings.append(f"{len(unclear)} icon(s) need clarification: {listed}")
    total = len(detection.icons)
    confidence = detection.confidence * ((total - len(unclear)) / total if total else 1.0)
    return ClassifiedArchitecture(
        source=detection.source,
        resources=resources,
        non_architectural=non_arch,
        needs_clarification=unclear,
        containers=list(detection.containers),
        connections=list(detection.connections),
        shapes=list(detection.shapes),
        confidence=round(confidence, 4),
        errors=list(detection.errors),
        warnings=warnings,
    )


def _overlap(a: Icon, b: Icon) -> bool:
    ab, bb = a.bbox, b.bbox
    return (
        ab.x < bb.x + bb.width
        and bb.x < ab.x + ab.width
        and ab.y < bb.y + bb.height
        and bb.y < ab.y + ab.height
    )


_GRID = 200.0


def _grid_cells(icon: Icon) -> Iterator[tuple[int, int]]:
    """The grid cells an icon's box touches (icons are small: one to four cells)."""
    b = icon.bbox
    x0, y0 = int(b.x // _GRID), int(b.y // _GRID)
    x1 = min(int((b.x + b.width) // _GRID), x0 + 15)  # a huge icon: its first 16 cells
    y1 = min(int((b.y + b.height) // _GRID), y0 + 15)
    for gx in range(x0, x1 + 1):
        for gy in range(y0, y1 + 1):
            yield gx, gy


def _label_key(label: str) -> str:
    return " ".join(label.lower().split())


def merge_duplicates(
    resources: list[Resource], icons: dict[str, Icon]
) -> tuple[list[Resource], int]:
    """One resource per thing drawn: a second drawing of the same type that overlaps the
    first on its page, or that has the same label and type on another page, becomes one
    of the first's ``drawings`` instead of a resource of its own. Returns the resources
    kept and how many drawings were merged.

    Same-page copies are merged only when they overlap: two icons with the same label
    side by side (one per region, say) are separate resources.
    """
    first_by_label: dict[tuple[str, str], Resource] = {}
    grid: dict[tuple[str, str, int, int], list[Resource]] = {}
    kept: list[Resource] = []
    merged = 0
    for r in resources:
        icon = icons.get(r.icon_id or "")
        if icon is None:
            kept.append(r)
            continue
        target: Resource | None = None
        label = _label_key(icon.label)
        if label:
            first = first_by_label.get((r.resource_type, label))
            if first is not None and icons[first.icon_id or ""].page != icon.page:
                target = first
        cells = list(_grid_cells(icon))
        if target is None:
            for gx, gy in cells:
                for other in grid.get((icon.page, r.resource_type, gx, gy), []):
                    if _overlap(icons[other.icon_id or ""], icon):
                        target = other
                        break
                if target is not None:
                    break
        if target is not None:
            target.drawings.append(r.icon_id or r.id)
            merged += 1
            continue
        kept.append(r)
        if label:
            first_by_label.setdefault((r.resource_type, label), r)
        for gx, gy in cells:
            grid.setdefault((icon.page, r.resource_type, gx, gy), []).append(r)
    return kept, merged


def _lone_icons(detection: DetectionResult) -> dict[str, str]:
    """Icon id -> the id of the lane or group it is the only icon of (for naming)."""
    count: dict[str, int] = {}
    for icon in detection.icons:
        if icon.parent:
            count[icon.parent] = count.get(icon.parent, 0) + 1
    kinds = {c.id: c.kind for c in detection.containers}
    return {
        i.id: i.parent
        for i in detection.icons
        if i.parent and count[i.parent] == 1 and kinds.get(i.parent) == "group"
    }


def _provider(icon: Icon, resource_type: str) -> Provider:
    by_type = provider_of_type(resource_type)
    return cast(Provider, by_type) if by_type in ("azure", "aws") else icon.provider


def _unique(name: str, used: dict[str, int]) -> str:
    used[name] = used.get(name, 0) + 1
    return name if used[name] == 1 else f"{name} {used[name]}"


class FilterAgent(FewerCollections, Agent[DetectionResult, ClassifiedArchitecture]):
    """Classify detected icons into typed resources, non-architectural items and unknowns."""

    name: ClassVar[str] = "filter"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = (
        "Map icons to ARM/CloudFormation types; set aside people, devices and the internet"
    )
    input_model = DetectionResult
    output_model = ClassifiedArchitecture

    async def process(self, data: DetectionResult) -> ClassifiedArchitecture:
        """Classify ``data`` with the shipped icon map."""
        with fewer_collections():
            return classify(data)
