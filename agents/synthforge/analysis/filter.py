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
named after its caption, else after the box it badges, else after the lane it alone sits
in, else after its type.

An unlabelled icon badging a box of its kind (a VNet icon at a corner of a VNet box) takes
the box's label (:func:`badge_labels`), for typing, its name and merging.

Duplicates are merged (:func:`merge_duplicates`: same type overlapping, same label and
type on another page, or a label naming one resource repeated in a detail view): one
resource, several ``drawings``;
so are badges on a machine (:func:`merge_badges`: a Windows or SQL logo drawn on a VM).

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
from agents.synthforge.analysis.services import label_words, load_services
from agents.synthforge.analysis.typing_evidence import (
    Captions,
    Neighbours,
    decide,
    dominant_cloud,
)
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
    neighbours = Neighbours(detection.icons, icon_map)
    cloud = dominant_cloud(detection.icons, icon_map)
    alone_in = _lone_icons(detection)
    badged = badge_labels(detection, icon_map, services.badge_kinds)
    labels: dict[str, str] = {}
    for icon in detection.icons:
        label = icon.label or captions.caption(icon) or badged.get(icon.id, "")
        labels[icon.id] = label
        chain = container_chain(icon.parent, containers)
        typed = decide(
            icon,
            label,
            chain,
            containers,
            icon_map,
            services,
            cloud=cloud,
            neighbours=neighbours,
            captions=captions,
        )
        if typed is not None and typed.resource_type is not None:
            rtype, kind = typed.resource_type, typed.kind
            mapped = icon_map.lookup_in(icon.icon_key, cloud)
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
    resources, merged = merge_duplicates(resources, icons_by_id, labels)
    resources, non_arch, badges = merge_badges(
        resources, non_arch, icons_by_id, services.host_types
    )
    merged += badges
    warnings = list(detection.warnings)
    if merged:
        warnings.append(
            f"{merged} drawing(s) of resources already drawn were merged into them "
            "(same type overlapping, same label and type on another page, or a badge on a "
            "machine); see drawings"
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


_IDENTIFIER = re.compile(r"[A-Za-z0-9]+(?:[-_.][A-Za-z0-9{}]+)+")


def names_one_resource(label: str) -> bool:
    """Whether ``label`` carries a resource's own name: an identifier such as
    ``eh-orders-prod`` or ``save-hashflags`` (words joined by ``-``, ``_`` or ``.``) that
    is not part of a service name ("user-assigned identity" is a kind of resource)."""
    services = load_services()
    named = {w for m in services.from_label(label) for w in m.phrase.lower().split()}
    for token in _IDENTIFIER.findall(label):
        words = {w for w in label_words(token) if not w.isdigit()}
        if words and not words <= named:
            return True
    return False


def merge_duplicates(
    resources: list[Resource], icons: dict[str, Icon], labels: dict[str, str] | None = None
) -> tuple[list[Resource], int]:
    """One resource per thing drawn: a second drawing of the same type that overlaps the
    first on its page, that has the same label and type on another page, or the same
    label naming one resource (:func:`names_one_resource`) and type on the same page and
    not in another box (a detail view), becomes one of the first's ``drawings`` instead
    of a resource of its own. Returns the resources kept and how many drawings were merged.

    ``labels`` are the labels typing used (an icon's own, else its caption); by default
    the icons' own. Same-page copies with a plain label are merged only when they
    overlap: two icons labelled "Monitoring Event Hub" side by side (one per region, say)
    are separate resources; so are two "forwarding-function" icons in two boxes.
    """
    labels = labels if labels is not None else {i: icon.label for i, icon in icons.items()}
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
        label = _label_key(labels.get(icon.id, ""))
        if label:
            first = first_by_label.get((r.resource_type, label))
            if first is not None and _same_by_label(first, r, icons, label):
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


def _same_by_label(first: Resource, r: Resource, icons: dict[str, Icon], label: str) -> bool:
    """Whether ``r``, of ``first``'s type and label, is another drawing of it: on another
    page, or on the same page when the label names one resource and the two are not in
    two different boxes."""
    if icons[first.icon_id or ""].page != icons[r.icon_id or ""].page:
        return True
    a = first.containers[-1] if first.containers else None
    b = r.containers[-1] if r.containers else None
    apart = a is not None and b is not None and a != b
    return not apart and names_one_resource(label)


#: How close to a box's corner an icon must be drawn to badge the box.
_CORNER = 40.0


def badge_labels(
    detection: DetectionResult, icon_map: IconMap, kinds: dict[str, str]
) -> dict[str, str]:
    """Icon id -> the label of the box it badges: an unlabelled icon whose type draws a
    kind of box (``badge_kinds``: a VNet icon, a VNet box) set at a corner of a labelled
    box of that kind, on it or just outside it. Boxes are found by the grid cells of their
    corners, so the cost is linear.
    """
    corners: dict[tuple[str, int, int], list[Container]] = {}
    for c in detection.containers:
        if not c.label or c.kind not in kinds.values():
            continue
        b = c.bbox
        cells = {
            (int(x // _GRID), int(y // _GRID))
            for x in (b.x, b.x + b.width)
            for y in (b.y, b.y + b.height)
        }
        for gx, gy in cells:  # a small box has several corners in one cell: listed once
            corners.setdefault((c.page, gx, gy), []).append(c)
    out: dict[str, str] = {}
    for icon in detection.icons:
        mapped = None if icon.label else icon_map.lookup(icon.icon_key)
        kind = kinds.get(mapped.resource_type) if mapped is not None else None
        if kind is None:
            continue
        box = _badged_box(icon, kind, corners)
        if box is not None:
            out[icon.id] = box.label
    return out


def _badged_box(
    icon: Icon, kind: str, corners: dict[tuple[str, int, int], list[Container]]
) -> Container | None:
    """The box of ``kind`` with a corner nearest ``icon`` (and at most :data:`_CORNER`
    from its box); of two as near, the smaller."""
    b = icon.bbox
    best: tuple[float, float, Container] | None = None
    gx, gy = int((b.x + b.width / 2) // _GRID), int((b.y + b.height / 2) // _GRID)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for c in corners.get((icon.page, gx + dx, gy + dy), []):
                if c.kind != kind:
                    continue
                cb = c.bbox
                gap = min(
                    max(b.x - x, x - b.x - b.width, 0.0) + max(b.y - y, y - b.y - b.height, 0.0)
                    for x in (cb.x, cb.x + cb.width)
                    for y in (cb.y, cb.y + cb.height)
                )
                rank = (gap, cb.width * cb.height, c)
                if gap <= _CORNER and (best is None or rank[:2] < best[:2]):
                    best = rank
    return best[2] if best is not None else None


#: A badge's box is at most this share of its machine's.
_BADGE_AREA = 0.5


def merge_badges(
    resources: list[Resource],
    non_arch: list[NonArchitectural],
    icons: dict[str, Icon],
    host_types: dict[str, frozenset[str]],
) -> tuple[list[Resource], list[NonArchitectural], int]:
    """Badges on machines: a smaller icon drawn over a machine's icon (``host_types`` in
    ``data/services.json``: a VM) that is a non-architectural logo (an OS, a product) or
    a type the machine runs as software (a SQL or web logo) says what runs on that
    machine, so it becomes one of the machine's ``drawings`` instead of an item of its
    own. A NIC, disk or private endpoint drawn over a VM stays a resource. Returns the
    resources and non-architectural items kept and how many badges were merged. Machines
    are found through a grid index, so the cost is linear.
    """
    grid: dict[tuple[str, int, int], list[Resource]] = {}
    for r in resources:
        icon = icons.get(r.icon_id or "")
        if icon is not None and r.resource_type in host_types:
            for gx, gy in _grid_cells(icon):
                grid.setdefault((icon.page, gx, gy), []).append(r)
    if not grid:
        return resources, non_arch, 0
    merged = 0

    def host_of(icon_id: str | None, badge_type: str | None) -> Resource | None:
        icon = icons.get(icon_id or "")
        if icon is None:
            return None
        area = icon.bbox.width * icon.bbox.height
        for gx, gy in _grid_cells(icon):
            for host in grid.get((icon.page, gx, gy), []):
                box = icons[host.icon_id or ""]
                if host.icon_id == icon.id or not _overlap(box, icon):
                    continue
                runs = badge_type is None or badge_type in host_types[host.resource_type]
                if runs and area <= _BADGE_AREA * box.bbox.width * box.bbox.height:
                    return host
        return None

    kept: list[Resource] = []
    for r in resources:
        host = None if r.resource_type in host_types else host_of(r.icon_id, r.resource_type)
        if host is None:
            kept.append(r)
            continue
        host.drawings.extend([r.icon_id or r.id, *r.drawings])
        merged += 1
    kept_na: list[NonArchitectural] = []
    for n in non_arch:
        host = host_of(n.icon_id, None)
        if host is None:
            kept_na.append(n)
            continue
        host.drawings.append(n.icon_id)
        merged += 1
    return kept, kept_na, merged


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
