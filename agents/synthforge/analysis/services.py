"""The service catalogue: service names by ARM type, for icon names and for labels.

Data shipped in the package (``agents/synthforge/data/services.json``), loaded once:

* ``icon_names`` — the names draw.io files its Azure icons under (``img/lib/mscae/…``,
  ``img/lib/azure2/…``, ``mxgraph.azure.*``), by the ARM type they stand for. Names are
  compared by their *service words* (:func:`service_words`): case, separators, camel
  case, the words Azure/Microsoft/Classic and plural endings do not matter, so one entry
  covers ``App_Services``, ``AppServices`` and ``app service``;
* ``non_architectural`` — glyphs that are not resources (portal UI, billing, developer
  tools, directory features, retired services, machines outside Azure), by reason;
* ``non_architectural_labels`` — whole labels that say an icon is no resource
  ("Client Applications" on an API Management icon: the callers);
* ``labels`` — the full names and common abbreviations (AKS, WAF, APIM…) a label may
  carry, so the label can pick or correct a type (:meth:`ServiceCatalogue.from_label`).

Label matching scans the label's words once, looking phrases up in a dictionary, so it
costs time linear in the label, not in the size of the catalogue.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_DATA_FILE = "data/services.json"
_STOP = frozenset({"azure", "microsoft", "ms", "classic", "the", "for", "of", "and", "on"})
_MAX_PHRASE = 6
#: Confidence of a typing decision by the kind of label evidence that supports it.
NAME_CONFIDENCE = 0.9
ABBREVIATION_CONFIDENCE = 0.8


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def service_words(name: str) -> str:
    """The comparable form of a service or icon name.

    ``img/lib/mscae/Azure_Cache_for_Redis.svg`` -> ``cache redis``;
    ``AppServiceEnvironment`` -> ``app service environment``.
    """
    name = name.rsplit("/", 1)[-1]
    name = re.sub(r"\.svg$", "", name, flags=re.IGNORECASE)
    if name.startswith("mxgraph."):
        name = name.rsplit(".", 1)[-1]
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", name)
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    kept = [_singular(w) for w in words if w not in _STOP and not w.isdigit()]
    return " ".join(kept)


def label_words(label: str) -> list[str]:
    """The words of a label, lower case and singular (``"AKS Clusters"`` -> aks, cluster)."""
    return [_singular(w) for w in re.findall(r"[a-z0-9]+", label.lower())]


@dataclass(frozen=True)
class ServiceType:
    """A type the catalogue names, with where the name came from."""

    resource_type: str
    kind: str | None
    source: str


@dataclass(frozen=True)
class LabelMatch:
    """A service named by a label: the type, the words that named it, how sure."""

    resource_type: str
    kind: str | None
    phrase: str
    confidence: float


def _split(typed: str) -> tuple[str, str | None]:
    rtype, _, kind = typed.partition("|")
    return rtype, kind or None


class ServiceCatalogue:
    """The loaded catalogue. Build it with :func:`load_services` (cached) or from a dict."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self._icon: dict[str, ServiceType] = {}
        for typed, names in doc.get("icon_names", {}).items():
            rtype, kind = _split(typed)
            for name in names:
                self._icon.setdefault(
                    service_words(name),
                    ServiceType(rtype, kind, f"service catalogue: icon name '{name}' -> {rtype}"),
                )
        self._reasons: dict[str, str] = {}
        for reason, names in doc.get("non_architectural", {}).items():
            for name in names:
                self._reasons.setdefault(service_words(name), reason)
        #: Types whose icons people reuse for other services: a label naming another
        #: service overrides them.
        self.generic_types: frozenset[str] = frozenset(doc.get("generic_types", []))
        #: Azure resources that stand for (or link to) the on-premises side: a label
        #: saying on-premises does not set them aside.
        self.on_premises_counterparts: frozenset[str] = frozenset(
            doc.get("on_premises_counterparts", [])
        )
        self._label_reasons: dict[str, str] = {
            " ".join(label_words(phrase)): reason
            for reason, phrases in doc.get("non_architectural_labels", {}).items()
            for phrase in phrases
        }
        #: Type -> the kind of box its icon badges (a VNet icon, a VNet box).
        self.badge_kinds: dict[str, str] = dict(doc.get("badge_kinds", {}))
        #: Machine type -> the types a badge drawn on the machine stands for as software
        #: running on it (a SQL logo on a VM): such a badge is a drawing of the machine.
        self.host_types: dict[str, frozenset[str]] = {
            host: frozenset(badges) for host, badges in doc.get("host_types", {}).items()
        }
        self._phrases: dict[tuple[str, ...], LabelMatch] = {}
        self._abbrev: dict[str, LabelMatch] = {}
        for entry in doc.get("labels", []):
            rtype, kind = entry["type"], entry.get("kind")
            for name in entry.get("names", []):
                words = tuple(label_words(name))
                if words:
                    self._phrases.setdefault(
                        words, LabelMatch(rtype, kind, " ".join(words), NAME_CONFIDENCE)
                    )
            for abbr in entry.get("abbreviations", []):
                self._abbrev.setdefault(
                    abbr.lower(), LabelMatch(rtype, kind, abbr, ABBREVIATION_CONFIDENCE)
                )

    def icon_type(self, icon_key: str) -> ServiceType | None:
        """The type an icon file or shape name stands for, by its service words."""
        return self._icon.get(service_words(icon_key))

    def label_reason(self, label: str) -> str | None:
        """Why an icon with this whole label stands for no resource ("Client
        Applications": the callers), if the catalogue says so."""
        return self._label_reasons.get(" ".join(label_words(label)))

    def icon_reason(self, icon_key: str) -> str | None:
        """Why an icon name is not a resource, if the catalogue says so."""
        return self._reasons.get(service_words(icon_key))

    def from_label(self, label: str, provider: str | None = None) -> list[LabelMatch]:
        """Services ``label`` names, longest phrase first, each phrase at most once.

        Full names match as whole-word phrases (``"Azure Kubernetes Service"``),
        abbreviations as whole words (``"AKS"``); ``"AKS cluster"`` is one match.
        With ``provider`` (``azure`` or ``aws``), only that provider's services are named:
        "Secret Manager" names AWS Secrets Manager on an AWS icon and nothing on an Azure one.
        """
        words = label_words(label)
        found: list[LabelMatch] = []
        i = 0
        while i < len(words):
            hit: LabelMatch | None = None
            width = 0
            for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
                hit = self._phrases.get(tuple(words[i : i + n]))
                if hit is not None and not _of(hit, provider):
                    hit = None
                if hit is not None:
                    width = n
                    break
            abbr = self._abbrev.get(words[i]) if hit is None else None
            if abbr is not None and _of(abbr, provider):
                hit, width = abbr, 1
            if hit is not None:
                if all(h.resource_type != hit.resource_type for h in found):
                    found.append(hit)
                i += width
            else:
                i += 1
        found.sort(key=lambda m: -len(m.phrase.split()))
        return found


def _of(hit: LabelMatch, provider: str | None) -> bool:
    """Whether ``hit`` is a service of ``provider`` (any provider when it is not given)."""
    return provider not in ("azure", "aws") or provider_of_type(hit.resource_type) == provider


def provider_of_type(resource_type: str) -> str:
    """``azure`` for an ARM type, ``aws`` for a CloudFormation type, else ``unknown``."""
    if resource_type.startswith("AWS::"):
        return "aws"
    if "/" in resource_type and "." in resource_type.split("/", 1)[0]:
        return "azure"
    return "unknown"


@cache
def load_services() -> ServiceCatalogue:
    """The catalogue shipped with the package (loaded once per process)."""
    text = resources.files("agents.synthforge").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return ServiceCatalogue(json.loads(text))
