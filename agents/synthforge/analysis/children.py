"""Which drawn resource a child resource belongs to (a database to its SQL server).

Azure names a child resource type after its parents' (``Microsoft.Sql/servers/databases``
lives on a ``Microsoft.Sql/servers``), and ARM writes a child's name as
``parent/child``. A diagram that draws both says which parent a child is on in one of
three ways, tried in this order among the drawn resources of the nearest parent type
the diagram draws at all:

1. the child's label is ``PARENT/CHILD`` and a parent of the right type is labelled
   ``PARENT`` (how ARM templates and the portal name child resources);
2. the child's icon sits inside the parent's box (the parent is one of its containers);
3. the diagram draws exactly one resource of the parent type, so there is no other it
   could be on.

Anything else (several candidates, none named or enclosing) is left unresolved: the
caller treats the child as standing alone and says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from agents.synthforge.models import Resource


def ancestor_types(resource_type: str) -> list[str]:
    """The types a child type lives under, nearest first: ``Microsoft.Storage/
    storageAccounts/blobServices`` then ``Microsoft.Storage/storageAccounts`` for a blob
    container; none for a top-level type."""
    namespace, _, path = resource_type.partition("/")
    parts = path.split("/")
    return [f"{namespace}/{'/'.join(parts[:n])}" for n in range(len(parts) - 1, 0, -1)]


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def drawn_parent(child: Resource, resources: Iterable[Resource]) -> Resource | None:
    """The resource of ``resources`` that ``child`` is drawn on, or None (see the module)."""
    return _nearest(child, _by_type(resources))


def _by_type(resources: Iterable[Resource]) -> dict[str, list[Resource]]:
    by_type: dict[str, list[Resource]] = {}
    for resource in resources:
        by_type.setdefault(resource.resource_type.casefold(), []).append(resource)
    return by_type


def _nearest(child: Resource, by_type: dict[str, list[Resource]]) -> Resource | None:
    """The parent among the drawn resources of the nearest ancestor type drawn at all."""
    for ancestor in ancestor_types(child.resource_type):
        candidates = [r for r in by_type.get(ancestor.casefold(), []) if r.id != child.id]
        if candidates:
            return _choose(child, candidates)
    return None


def _choose(child: Resource, candidates: list[Resource]) -> Resource | None:
    if "/" in child.name:
        prefix = _key(child.name.rsplit("/", 1)[0])
        named = [r for r in candidates if _key(r.name) == prefix]
        if len(named) == 1:
            return named[0]
    enclosing = [r for r in candidates if r.id in child.containers]
    if len(enclosing) == 1:
        return enclosing[0]
    return candidates[0] if len(candidates) == 1 else None


def drawn_children(resources: list[Resource]) -> dict[str, list[Resource]]:
    """The children drawn on each parent of ``resources``, by the parent's id (resources
    are grouped by type once, so a large diagram costs time linear in its size plus its
    parent candidates)."""
    by_type = _by_type(resources)
    out: dict[str, list[Resource]] = {}
    for resource in resources:
        parent = _nearest(resource, by_type)
        if parent is not None:
            out.setdefault(parent.id, []).append(resource)
    return out
