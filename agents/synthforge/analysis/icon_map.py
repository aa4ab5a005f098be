"""The icon map: draw.io icon keys to ARM (Azure) and CloudFormation (AWS) resource types.

The mapping is data shipped in the package (``agents/synthforge/data/icon_map.json``); this
module loads it once and answers these questions about an icon key:

* :meth:`IconMap.lookup` — the resource type (and ``kind``) it stands for, if known;
* :meth:`IconMap.non_architectural` — why it is not part of the architecture (a person, a
  device, the internet, a file glyph...), if that is what it is;
* :meth:`IconMap.candidates` — the closest known types, for a key it does not know;
* :meth:`IconMap.lookup_in` — the type in a diagram of one cloud: another cloud's stencil
  (or a stencil of a library without types, such as IBM Cloud) stands for its twin there
  (``twins``);
* :meth:`IconMap.set_aside_by_label` — an icon its label says is no resource (a scheduler
  labelled as a timer); :attr:`IconMap.context_refinements` — types that change with
  where the icon is drawn (a VNet icon in a subnet box).

Keys are matched without regard to case. An ``azure2`` or ``mscae`` image also matches by
its file name alone, because draw.io files the same icon under several category folders.
An Azure icon the map does not list by key (a legacy ``mscae`` name, an ``mxgraph.azure``
shape) resolves by its service words (:func:`~agents.synthforge.analysis.services.service_words`):
first to a mapped icon of the same service (its azure2 twin), then through the service
catalogue (``data/services.json``); :attr:`IconType.source` says which.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from agents.synthforge.analysis.services import (
    ServiceCatalogue,
    load_services,
    provider_of_type,
    service_words,
)

_DATA_FILE = "data/icon_map.json"

#: Style keys that hold the real icon of an aws4 resource/product/group holder shape.
_HOLDER_KEYS = ("resicon", "pricon", "gricon", "grpicon")


@dataclass(frozen=True)
class IconType:
    """What one icon key maps to."""

    key: str
    resource_type: str
    category: str
    source: str
    kind: str | None = None


@dataclass(frozen=True)
class ContextRefinement:
    """A type that changes with where its icon is drawn: inside a container of a kind,
    or beside an icon whose key matches a pattern."""

    resource_type: str
    inside: str | None
    beside: re.Pattern[str] | None
    new_type: str
    why: str


@dataclass(frozen=True)
class LabelRefinement:
    """A label pattern that refines the type or kind of an already mapped icon."""

    resource_type: str
    kind: str | None
    label: re.Pattern[str]
    new_type: str | None
    new_kind: str | None
    why: str


def normalize_key(icon_key: str) -> str:
    """The lookup form of an icon key: lower case, and for a style string its icon.

    ``"shape=mxgraph.aws4.resourceIcon;resIcon=mxgraph.aws4.s3"`` becomes
    ``"mxgraph.aws4.s3"``; ``"img/lib/azure2/compute/Function_Apps.svg"`` becomes
    ``"img/lib/azure2/compute/function_apps.svg"``.
    """
    return icon_of(icon_key).lower().lstrip("./")


def icon_of(icon_key: str) -> str:
    """The icon an icon key or style names, case kept (see :func:`normalize_key`)."""
    key = icon_key.strip()
    if "=" in key:
        style: dict[str, str] = {}
        for part in key.split(";"):
            name, sep, value = part.partition("=")
            if sep:
                style[name.strip().lower()] = value.strip()
        for holder in (*_HOLDER_KEYS, "image", "shape"):
            if style.get(holder):
                key = style[holder]
                break
    return key


def _image_name(key: str) -> str | None:
    """``azure2:function_apps.svg`` for an azure2 image key, likewise for mscae; else None."""
    for lib in ("azure2", "mscae"):
        prefix = f"img/lib/{lib}/"
        if key.startswith(prefix):
            return f"{lib}:{key.rsplit('/', 1)[-1]}"
    return None


_AZURE_LIBRARIES = (
    "img/lib/azure2/",
    "img/lib/mscae/",
    "mxgraph.azure.",
    "mxgraph.mscae.",
    "https://icons.diagrams.net/assets/azure/",
)


def is_azure_library(norm_key: str) -> bool:
    """Whether a normalised key names an icon of one of draw.io's Azure libraries."""
    return norm_key.startswith(_AZURE_LIBRARIES)


def key_words(key: str) -> str:
    """The words of an icon key's name: ``img/lib/azure2/compute/Function_Apps.svg`` ->
    ``function apps``; ``mxgraph.mscae.cloud.azure_storage`` -> ``azure storage``."""
    norm = normalize_key(key).removesuffix(".svg")
    name = norm.rsplit("/", 1)[-1] if "/" in norm else norm.rsplit(".", 1)[-1]
    name = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return " ".join(re.split(r"[_\-\s]+", name.lower())).strip()


class IconMap:
    """The loaded mapping. Build it with :func:`load_icon_map` (cached) or from a dict."""

    def __init__(self, doc: dict[str, Any], services: ServiceCatalogue | None = None) -> None:
        self.meta: dict[str, Any] = dict(doc.get("_meta", {}))
        self._services = services if services is not None else load_services()
        self._by_words: dict[str, IconType] = {}
        self._reason_by_words: dict[str, str] = {}
        self._types: dict[str, IconType] = {}
        self._by_image_name: dict[str, IconType] = {}
        for key, entry in doc.get("resources", {}).items():
            norm = normalize_key(key)
            item = IconType(
                key=key,
                resource_type=entry["resource_type"],
                category=entry.get("category", "other"),
                source=entry["source"],
                kind=entry.get("kind"),
            )
            self._types[norm] = item
            name = _image_name(norm)
            if name is not None:
                self._by_image_name.setdefault(name, item)
            if is_azure_library(norm):
                self._by_words.setdefault(service_words(icon_of(key)), item)
        self._reasons: dict[str, str] = {}
        self._reason_by_image_name: dict[str, str] = {}
        for key, entry in doc.get("non_architectural", {}).items():
            norm = normalize_key(key)
            self._reasons[norm] = entry["reason"]
            name = _image_name(norm)
            if name is not None:
                self._reason_by_image_name.setdefault(name, entry["reason"])
            if is_azure_library(norm):
                self._reason_by_words.setdefault(service_words(icon_of(key)), entry["reason"])
        self._patterns = [
            (re.compile(p["pattern"]), p["reason"])
            for p in doc.get("non_architectural_patterns", [])
        ]
        self._refinements = [
            LabelRefinement(
                resource_type=r["resource_type"],
                kind=r.get("kind"),
                label=re.compile(r["label"], re.IGNORECASE),
                new_type=r["set"].get("resource_type"),
                new_kind=r["set"].get("kind"),
                why=r["why"],
            )
            for r in doc.get("label_refinements", [])
        ]
        self._category_of_type: dict[str, str] = {}
        for item in self._types.values():
            self._category_of_type.setdefault(item.resource_type, item.category)
        self._twins: dict[str, dict[str, str]] = {}
        self._twin_icons: dict[str, dict[str, str]] = {}
        for twin in doc.get("twins", []):
            clouds = {c: twin[c] for c in ("azure", "aws") if twin.get(c)}
            for rtype in clouds.values():
                self._twins.setdefault(rtype, clouds)
            for key in twin.get("icons", []):
                self._twin_icons.setdefault(normalize_key(key), clouds)
        self.context_refinements = [
            ContextRefinement(
                resource_type=r["resource_type"],
                inside=r.get("inside"),
                beside=re.compile(r["beside"]) if r.get("beside") else None,
                new_type=r["set"],
                why=r["why"],
            )
            for r in doc.get("context_refinements", [])
        ]
        self._label_set_aside = [
            (re.compile(r["icon"]), re.compile(r["label"], re.IGNORECASE), r["reason"])
            for r in doc.get("label_set_aside", [])
        ]

    def __len__(self) -> int:
        return len(self._types)

    def keys(self) -> list[str]:
        """Every mapped icon key, as written in the data file."""
        return sorted(item.key for item in self._types.values())

    def lookup(self, icon_key: str) -> IconType | None:
        """The type ``icon_key`` maps to, or ``None``."""
        norm = normalize_key(icon_key)
        found = self._types.get(norm)
        if found is None and (name := _image_name(norm)) is not None:
            found = self._by_image_name.get(name)
        if found is None and is_azure_library(norm):
            words = service_words(icon_of(icon_key))
            twin = self._by_words.get(words)
            if twin is not None:
                found = IconType(
                    key=icon_key,
                    resource_type=twin.resource_type,
                    category=twin.category,
                    source=f"same service as {twin.key} ({twin.source})",
                    kind=twin.kind,
                )
            elif (named := self._services.icon_type(icon_of(icon_key))) is not None:
                found = IconType(
                    key=icon_key,
                    resource_type=named.resource_type,
                    category=self.category_of(named.resource_type),
                    source=named.source,
                    kind=named.kind,
                )
        return found

    def lookup_in(self, icon_key: str, cloud: str | None) -> IconType | None:
        """The type ``icon_key`` stands for in a diagram whose icons are mostly of ``cloud``.

        Another cloud's stencil (an AWS disk in an Azure diagram) and a stencil of a library
        with no types of its own (an IBM resource group) stand for their twin in ``cloud``
        (``twins`` in the data file), when it has one; otherwise this is :meth:`lookup`.
        """
        found = self.lookup(icon_key)
        if cloud not in ("azure", "aws"):
            return found
        if found is not None:
            provider = provider_of_type(found.resource_type)
            twin = self._twins.get(found.resource_type, {}).get(cloud)
            if provider in (cloud, "unknown") or twin is None:
                return found
            why = f"{found.source}; a {provider} stencil in a mostly {cloud} diagram"
        else:
            twin = self._twin_icons.get(normalize_key(icon_key), {}).get(cloud)
            if twin is None:
                return None
            why = f"stencil {icon_of(icon_key)!r} of a library without types, in a {cloud} diagram"
        return IconType(
            key=icon_key,
            resource_type=twin,
            category=self.category_of(twin),
            source=f"{why}: its {cloud} twin {twin} (icon map twins)",
        )

    def set_aside_by_label(self, icon_key: str, label: str) -> str | None:
        """Why an icon whose label says what it is (a scheduler labelled as a timer) is not a
        resource, if a ``label_set_aside`` rule says so."""
        if not label:
            return None
        norm = normalize_key(icon_key)
        for icon, words, reason in self._label_set_aside:
            if icon.search(norm) and words.search(label):
                return reason
        return None

    def is_exact(self, icon_key: str) -> bool:
        """Whether ``icon_key`` is in the map itself (not resolved by its service words)."""
        norm = normalize_key(icon_key)
        name = _image_name(norm)
        return norm in self._types or (name is not None and name in self._by_image_name)

    def non_architectural(self, icon_key: str) -> str | None:
        """Why ``icon_key`` is not part of the architecture, or ``None`` if it may be."""
        norm = normalize_key(icon_key)
        reason = self._reasons.get(norm)
        if reason is None and (name := _image_name(norm)) is not None:
            reason = self._reason_by_image_name.get(name)
        if reason is None and is_azure_library(norm):
            raw = icon_of(icon_key)
            reason = self._reason_by_words.get(service_words(raw)) or self._services.icon_reason(
                raw
            )
        if reason is not None:
            return reason
        for pattern, why in self._patterns:
            if pattern.search(norm):
                return why
        return None

    def refine(self, item: IconType, label: str) -> tuple[str, str | None, str | None]:
        """``(resource_type, kind, why)`` after applying label refinements to ``item``."""
        rtype, kind, why = item.resource_type, item.kind, None
        for rule in self._refinements:
            if rule.resource_type != rtype or (rule.kind is not None and rule.kind != kind):
                continue
            if rule.label.search(label):
                rtype = rule.new_type or rtype
                kind = rule.new_kind if rule.new_kind is not None else kind
                why = rule.why
        return rtype, kind, why

    def knows_type(self, resource_type: str) -> bool:
        """Whether some icon of the map stands for ``resource_type``."""
        return resource_type in self._category_of_type

    def category_of(self, resource_type: str) -> str:
        """The category the map gives ``resource_type`` (``other`` when unmapped)."""
        return self._category_of_type.get(resource_type, "other")

    def candidates(
        self, icon_key: str, label: str = "", *, provider: str | None = None, limit: int = 5
    ) -> list[str]:
        """The resource types whose icon names best match ``icon_key`` and ``label``.

        Matching is fuzzy (:mod:`difflib`) over the words of the key and of the label,
        restricted to ``provider``'s types when it is ``azure`` or ``aws``.
        """
        queries = [q for q in (key_words(icon_key), " ".join(label.lower().split())) if q]
        if not queries:
            return []
        scored: dict[str, float] = {}
        for item in self._types.values():
            if provider in ("azure", "aws") and provider_of_type(item.resource_type) != provider:
                continue
            words = key_words(item.key)
            best = max(difflib.SequenceMatcher(None, q, words).ratio() for q in queries)
            if best > scored.get(item.resource_type, 0.0):
                scored[item.resource_type] = best
        ranked = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))
        return [rtype for rtype, score in ranked if score >= 0.6][:limit]


@cache
def load_icon_map() -> IconMap:
    """The icon map shipped with the package (loaded once per process)."""
    text = resources.files("agents.synthforge").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return IconMap(json.loads(text))
