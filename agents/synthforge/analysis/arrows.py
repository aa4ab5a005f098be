"""What an arrow means: network traffic, or a relationship of another kind.

The rules are data (``agents/synthforge/data/relationships.json``):

1. the label — a kind whose phrases appear in it as whole words (``"Pull Image"`` →
   deployment, ``"Logs & Metrics"`` → telemetry, ``"Storage Blob Data Reader"`` → rbac),
   the longest phrase winning — unless the ends cannot bear that kind (``label_requires``:
   a "trigger" between an Event Hub and a Function is traffic, only a schedule triggers;
   "sync" between a function and a queue is traffic, replication is between stores);
2. the ends — ordered rules on their types and, where a rule says so, on their names (a
   NIC, NSG or route table at one end → association, gateways and networks at both ends →
   connectivity, a registry → deployment, a monitoring workspace → telemetry, a managed
   identity beside compute → identity, a timer or clock that is no resource → trigger, a
   script or IaC tool → deployment, a queue and its dead-letter queue → association, two
   databases of one engine → replication…);
3. otherwise network traffic.

A label that says "identity" between an identity and a resource that is not compute is
read as the identity's access to it (rbac), as architects draw it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

#: The end of an arrow that is the internet or a non-architectural icon.
EXTERNAL = "@external"
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class ArrowKind:
    """The kind of one arrow and why."""

    kind: str
    reason: str


class ArrowTyper:
    """The loaded rules; build with :func:`load_arrow_typer` (cached) or from a dict."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self._phrases: dict[tuple[str, ...], str] = {}
        for kind, phrases in doc.get("label_phrases", {}).items():
            for phrase in phrases:
                self._phrases.setdefault(tuple(_words(phrase)), kind)
        self._longest = max((len(p) for p in self._phrases), default=1)
        self._rules: list[dict[str, Any]] = [dict(r) for r in doc.get("end_rules", [])]
        #: Per end type, the rules that may match an arrow with an end of that type (in
        #: rule order), and the rules for any type: an arrow tries only those.
        self._by_type: dict[str | None, list[int]] = {}
        self._any_type: list[int] = []
        for i, rule in enumerate(self._rules):
            for key in ("either", "other", "both", "same"):
                if key in rule:
                    rule[key] = frozenset(rule[key])
            if "named" in rule:
                rule["_named"] = {tuple(_words(p)) for p in rule["named"]}
            keyed = rule.get("either", rule.get("both", rule.get("same")))
            if keyed is None:
                self._any_type.append(i)
            for t in keyed or ():
                self._by_type.setdefault(t, []).append(i)
        self._requires: list[dict[str, Any]] = list(doc.get("label_requires", []))
        #: Types of network structure: a box (VNet, subnet) is typed as such only next
        #: to one of these; an arrow from a box to anything else is about what it holds.
        self.structure_types = {
            t
            for rule in self._rules
            if rule["kind"] in ("association", "connectivity", "dns", "routing")
            and "named" not in rule
            for key in ("either", "other", "both")
            for t in rule.get(key, [])
            if t != EXTERNAL
        }
        #: Kinds for which an arrow drawn to a box is about the box itself (an NSG or a
        #: route table on a subnet box, a group placed into a subnet), not what it holds.
        self.whole_box_kinds = frozenset(doc.get("whole_box_kinds", []))
        #: Box (group) icons that stand for one resource of their own, not for what they
        #: hold: icon key -> the resource's type.
        self.resource_boxes: dict[str, str] = dict(doc.get("resource_boxes", {}))
        self._decorations = {tuple(_words(p)) for p in doc.get("decorations", [])}
        #: Types an identity arrow must have at one end (a managed identity).
        self.identity_types = {
            t for rule in self._rules if rule["kind"] == "identity" for t in rule.get("either", [])
        }
        #: Boxes an arrow places a resource into (AWS subnets): typed whatever the other end.
        self.placement_types = {
            t for rule in self._rules if rule["kind"] == "placement" for t in rule.get("either", [])
        }

    def _from_label(self, label: str) -> tuple[str, str] | None:
        words = _words(label)
        best: tuple[int, str, str] | None = None
        for i in range(len(words)):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                phrase = tuple(words[i : i + n])
                kind = self._phrases.get(phrase)
                if kind is not None:
                    if best is None or n > best[0]:
                        best = (n, kind, " ".join(phrase))
                    break
        return (best[1], best[2]) if best else None

    @staticmethod
    def _has(types: frozenset[str] | list[str], end: str | None) -> bool:
        return end is not None and end in types

    @staticmethod
    def _named(phrases: set[tuple[str, ...]], name: str) -> str | None:
        """The first of ``phrases`` that ``name`` contains as whole words."""
        words = _words(name)
        for i in range(len(words)):
            for phrase in phrases:
                if tuple(words[i : i + len(phrase)]) == phrase:
                    return " ".join(phrase)
        return None

    def _from_ends(
        self, a: str | None, b: str | None, a_name: str = "", b_name: str = ""
    ) -> tuple[str, str] | None:
        candidates = {*self._by_type.get(a, ()), *self._by_type.get(b, ()), *self._any_type}
        for i in sorted(candidates):
            rule = self._rules[i]
            kind = rule["kind"]
            if "same" in rule:
                if a == b and self._has(rule["same"], a):
                    return kind, f"both ends are {a}"
                continue
            if "both" in rule:
                if self._has(rule["both"], a) and self._has(rule["both"], b):
                    return kind, f"both ends are {kind} types ({a}, {b})"
                continue
            either = rule.get("either")
            other = rule.get("other")
            for here, there, name in ((a, b, a_name), (b, a, b_name)):
                if either is not None and not self._has(either, here):
                    continue
                if other is not None and not self._has(other, there):
                    continue
                if "_named" not in rule:
                    return kind, f"one end is a {here}"
                phrase = self._named(rule["_named"], name)
                if phrase is not None:
                    what = "not a resource" if here == EXTERNAL else here
                    return kind, f"one end ({what}) is named {phrase!r}"
        return None

    def is_decoration(self, name: str) -> bool:
        """Whether a non-architectural icon so named is no party to traffic (a legend, a
        glyph, a logo, a file), unlike a SaaS, an on-premises system or a device."""
        return self._named(self._decorations, name) is not None

    def _bearable(self, kind: str, phrase: str, a: str | None, b: str | None) -> bool:
        """Whether ends of types ``a``/``b`` can bear the ``kind`` a label names."""
        for need in self._requires:
            if need["kind"] != kind or phrase not in need.get("phrases", [phrase]):
                continue
            both, either = need.get("both"), need.get("either")
            if both is not None and not (self._has(both, a) and self._has(both, b)):
                return False
            if either is not None and not (self._has(either, a) or self._has(either, b)):
                return False
        return True

    def classify(
        self,
        label: str,
        source: str | None,
        target: str | None,
        source_name: str = "",
        target_name: str = "",
        layer: str = "",
    ) -> ArrowKind:
        """The kind of an arrow with ``label`` between ends of types ``source``/``target``.

        An end's type is an ARM or CloudFormation type, :data:`EXTERNAL`, or ``None`` when
        it is not known (a plain group box). An end's name is what the drawing says of it
        (a resource's name; a non-architectural icon's label, icon and reason), for the
        rules that look at names. The name of the layer the arrow is drawn on counts as
        its label when the label names no kind (a layer 'Flow-ER-Only' of traffic paths).
        """
        by_label, says = self._from_label(label), "the label says"
        if by_label is None and layer:
            by_label, says = self._from_label(layer), f"the layer {layer!r} says"
        by_ends = self._from_ends(source, target, source_name, target_name)
        if by_label is not None and not self._bearable(*by_label, source, target):
            by_label = None
        if by_label is not None:
            kind, phrase = by_label
            if kind == "identity" and by_ends is not None and by_ends[0] == "rbac":
                return ArrowKind("rbac", f"{says} {phrase!r} and {by_ends[1]}")
            if kind == "identity" and not ({source, target} & self.identity_types):
                # "secrets (managed identity)" from an app to a vault: traffic that
                # authenticates with an identity, not the identity's assignment
                by_label = None
            else:
                return ArrowKind(kind, f"{says} {phrase!r}")
        if by_ends is not None:
            return ArrowKind(by_ends[0], by_ends[1])
        return ArrowKind("network", "traffic between the two ends (no other kind is named)")


@cache
def load_arrow_typer() -> ArrowTyper:
    """The rules shipped with the package (loaded once per process)."""
    data = resources.files("agents.synthforge").joinpath("data/relationships.json")
    return ArrowTyper(json.loads(data.read_text("utf-8")))
