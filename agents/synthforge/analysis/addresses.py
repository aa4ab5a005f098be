"""Address spaces and regions written in a diagram's labels.

* :func:`cidrs_in` — the IPv4 CIDR blocks a label names (``"VNet 10.20.0.0/16"``); text
  that only looks like one (``10.1000.32/27``) is ignored;
* :func:`overlaps` — pairs of address spaces that overlap, found by one sort and sweep;
* :func:`diagram_region` — the Azure region a diagram names (``"rg-x (australiaeast)"``,
  ``"location: North Europe"``), from the shipped region list, and every region named.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

_CIDR = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3}/\d{1,2})(?![\d.])")


def cidrs_in(text: str) -> list[str]:
    """The valid IPv4 CIDR blocks in ``text``, in order, normalised (host bits cleared)."""
    out: list[str] = []
    for found in _CIDR.findall(text):
        try:
            net = ipaddress.ip_network(found, strict=False)
        except ValueError:
            continue
        if str(net) not in out:
            out.append(str(net))
    return out


def overlaps(spaces: Iterable[tuple[str, str]]) -> list[tuple[str, str, str, str]]:
    """``(owner, cidr, other owner, other cidr)`` for address spaces that overlap.

    ``spaces`` are ``(owner, cidr)`` pairs; a block inside another counts. One sort by
    start address and a sweep keep this O(n log n) plus the overlaps found.
    """
    ranges = []
    for owner, cidr in spaces:
        net = ipaddress.ip_network(cidr, strict=False)
        ranges.append((int(net.network_address), int(net.broadcast_address), owner, cidr))
    ranges.sort()
    out: list[tuple[str, str, str, str]] = []
    open_: list[tuple[int, int, str, str]] = []
    for start, end, owner, cidr in ranges:
        open_ = [r for r in open_ if r[1] >= start]
        for _, _, o_owner, o_cidr in open_:
            if o_owner != owner:
                out.append((o_owner, o_cidr, owner, cidr))
        open_.append((start, end, owner, cidr))
    return out


@cache
def _regions() -> tuple[dict[str, str], re.Pattern[str]]:
    text = resources.files("agents.synthforge").joinpath("data/azure_regions.json")
    regions: dict[str, str] = json.loads(text.read_text("utf-8"))["regions"]
    by_form: dict[str, str] = {}
    for name, display in regions.items():
        by_form[name.lower()] = name
        by_form[display.lower()] = name
    forms = sorted(by_form, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(re.escape(f) for f in forms) + r")\b", re.I)
    return by_form, pattern


def regions_in(text: str) -> list[str]:
    """Programmatic names of the Azure regions ``text`` names (display or short form)."""
    by_form, pattern = _regions()
    out: list[str] = []
    for found in pattern.findall(text):
        name = by_form[found.lower()]
        if name not in out:
            out.append(name)
    return out


def diagram_region(labels: Iterable[str]) -> tuple[str | None, list[str]]:
    """The region most labels name (first named on a tie), and every region named."""
    counts: dict[str, int] = {}
    for label in labels:
        for name in regions_in(label):
            counts[name] = counts.get(name, 0) + 1
    if not counts:
        return None, []
    named = list(counts)
    best = max(named, key=lambda n: (counts[n], -named.index(n)))
    return best, named
