"""The markdown report of a combined SynthForge analysis, with a mermaid diagram.

Every piece of text that comes from a diagram (labels, names, notes) is escaped before it
is written: in mermaid labels every character outside a small safe set becomes a mermaid
entity code (``#34;``), and node and subgraph ids are generated, never taken from the
diagram; in markdown, the characters that would open markup, tables, links or HTML are
escaped. A hostile label therefore cannot end the code block, break the graph or the
table, or inject HTML. GitHub mentions and issue references (``@user``, ``#123``) are made
inert (:mod:`orchestration.runtime.markdown`), every text is cut to :data:`MAX_TEXT`
characters and the whole report to :data:`MAX_REPORT_CHARS`, so a diagram with huge
labels cannot make a huge report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agents.synthforge.analysis.network_flow import INTERNET, Topology
from agents.synthforge.models import (
    BranchFailure,
    CostEstimate,
    NetworkFlowResult,
    ResourceSecurity,
    ReviewedArchitecture,
    SecurityResult,
)

_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 _.,:/()\-]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|~#!])")
_URL = re.compile(r"https://[A-Za-z0-9.\-]+(/[A-Za-z0-9._~/%\-]*)?(#[A-Za-z0-9._\-]*)?")
_MAX_LABEL = 80
#: Longest piece of diagram text shown in the report, in characters.
MAX_TEXT = 2_000
#: Longest report, in characters; a longer one is cut at a line and says so.
MAX_REPORT_CHARS = 1_000_000


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def mermaid_label(text: str, *, limit: int = _MAX_LABEL) -> str:
    """``text`` safe inside a quoted mermaid label: one line, entity-coded, bounded."""
    flat = _one_line(text)
    if len(flat) > limit:
        flat = flat[: limit - 3] + "..."
    return "".join(ch if _MERMAID_SAFE.fullmatch(ch) else f"#{ord(ch)};" for ch in flat)


def md(text: object) -> str:
    """``text`` as inert inline markdown: one line, markup and HTML characters escaped."""
    flat = _one_line(str(text))
    if len(flat) > MAX_TEXT:
        flat = flat[: MAX_TEXT - 1] + "…"
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", flat)


def link(url: str) -> str:
    """An https URL as a markdown autolink; anything else as escaped text."""
    if _URL.fullmatch(url):
        return f"<{url}>"
    return md(url)


def _money(value: float) -> str:
    return f"{value:,.2f}"


class _Names:
    def __init__(self, arch: ReviewedArchitecture) -> None:
        self.by_id = {r.id: r for r in arch.resources}
        self.shapes = {s.id: s.label for s in arch.shapes if s.label}

    def __call__(self, resource_id: str) -> str:
        if resource_id == INTERNET:
            return "Internet"
        r = self.by_id.get(resource_id)
        return r.name if r is not None else self.shapes.get(resource_id, resource_id)


def _short_type(resource_type: str) -> str:
    """``sites`` for Microsoft.Web/sites, ``EC2 Instance`` for AWS::EC2::Instance."""
    if "::" in resource_type:
        return " ".join(resource_type.split("::")[1:])
    return resource_type.rsplit("/", 1)[-1]


def mermaid(arch: ReviewedArchitecture, network: NetworkFlowResult | None) -> str:
    """A ``flowchart LR`` of the architecture: VNet/subnet subgraphs, resources, flows."""
    topology = Topology(arch)
    node = {r.id: f"n{i}" for i, r in enumerate(arch.resources, start=1)}
    node[INTERNET] = "internet"
    group = {
        c.id: f"g{i}"
        for i, c in enumerate(arch.containers, start=1)
        if c.kind in ("vnet", "subnet")
    }
    # place each resource in its innermost VNet/subnet container
    home: dict[str, str | None] = {}
    for r in arch.resources:
        chain = [c for c in topology.enclosing(r) if c.id in group]
        subnet = topology.subnet(r)
        home[r.id] = subnet if subnet in group else (chain[0].id if chain else None)
    parent = {
        cid: next(
            (a.id for a in topology.ancestors(cid)[1:] if a.id in group),
            None,
        )
        for cid in group
    }

    lines = ["flowchart LR"]
    # what each container holds, gathered once (not a scan of everything per container)
    held: dict[str | None, list[str]] = {}
    for r in arch.resources:
        held.setdefault(home[r.id], []).append(r.id)
    inner: dict[str | None, list[str]] = {}
    for cid in group:
        inner.setdefault(parent[cid], []).append(cid)
    by_id = {r.id: r for r in arch.resources}

    def emit(container: str | None, depth: int) -> None:
        pad = "    " * depth
        for rid in held.get(container, []):
            r = by_id[rid]
            label = mermaid_label(f"{r.name} ({_short_type(r.resource_type)})")
            lines.append(f'{pad}{node[r.id]}["{label}"]')
        for cid in inner.get(container, []):
            c = topology.containers[cid]
            lines.append(f'{pad}subgraph {group[cid]}["{mermaid_label(c.kind + ": " + c.label)}"]')
            emit(cid, depth + 1)
            lines.append(f"{pad}end")

    emit(None, 1)
    flows = network.flows if network is not None else []
    if any(INTERNET in (f.source, f.target) for f in flows):
        lines.append('    internet(("Internet"))')
    for f in flows:
        if f.source not in node or f.target not in node:
            continue
        label = mermaid_label(f"{f.protocol}:{f.port}" if f.port is not None else f.protocol)
        arrow = "-->" if f.private else "-.->"
        if f.direction == "both":
            arrow = "<-->" if f.private else "<-.->"
        lines.append(f'    {node[f.source]} {arrow}|"{label}"| {node[f.target]}')
    return "\n".join(lines)


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def _flows_section(network: NetworkFlowResult, name: _Names) -> list[str]:
    if not network.flows:
        return ["No flows were found."]
    rows = [
        [
            md(name(f.source)),
            md(name(f.target)),
            md(f.protocol),
            str(f.port) if f.port is not None else "—",
            "yes" if f.private else "**no**",
            md(f.reason),
        ]
        for f in network.flows
    ]
    out = _table(["Source", "Target", "Protocol", "Port", "Private", "Why"], rows)
    if network.zones:
        out += ["", "Security zones:", ""]
        out += [
            f"- **{md(z.name)}**: " + ", ".join(md(name(r)) for r in z.resources)
            for z in network.zones
        ]
    return out


def _relationships_section(network: NetworkFlowResult, name: _Names) -> list[str]:
    """Arrows that are not network traffic: RBAC, DNS, telemetry, deployment, peering…"""
    rows = [
        [md(name(r.source)), md(name(r.target)), md(r.kind), md(r.label), md(r.reason)]
        for r in network.relationships
        if r.kind != "network"
    ]
    if not rows:
        return ["No other relationships were drawn."]
    return _table(["Source", "Target", "Kind", "Label", "Why"], rows)


def _security_lines(sec: ResourceSecurity, name: _Names) -> list[str]:
    out: list[str] = []
    if sec.managed_identity:
        out.append("- Managed identity: enable it and use it instead of keys")
    for a in sec.role_assignments:
        out.append(
            f"- Role **{md(a.role_name)}** ({md(a.role_definition_id)}) on {md(name(a.scope))}"
            f": {md(a.reason)}"
        )
    if sec.private_endpoint is not None:
        pe = sec.private_endpoint
        out.append(
            f"- Private endpoint: group id {md(pe.group_id)}, "
            f"private DNS zone {md(pe.private_dns_zone)}"
        )
    if sec.vnet_integration:
        out.append("- VNet integration: on")
    if sec.min_tls_version:
        out.append(f"- Minimum TLS version: {md(sec.min_tls_version)}")
    if sec.public_network_access:
        out.append(f"- Public network access: {sec.public_network_access}")
    if sec.diagnostics:
        out.append("- Diagnostic settings: on")
    out += [f"- {md(n)}" for n in sec.notes]
    if sec.links:
        out.append("- Docs: " + ", ".join(link(u) for u in sec.links))
    return out


def _security_section(security: SecurityResult, arch: ReviewedArchitecture) -> list[str]:
    name = _Names(arch)
    out: list[str] = []
    for sec in security.resources:
        lines = _security_lines(sec, name)
        if not lines:
            continue
        out += [f"### {md(name(sec.resource_id))} ({md(sec.resource_type)})", "", *lines, ""]
    while out and out[-1] == "":
        out.pop()
    return out or ["No recommendations."]


def _cost_section(cost: CostEstimate, name: _Names) -> list[str]:
    rows = [
        [md(name(i.resource_id)), md(i.resource_type), md(i.sku), _money(i.monthly_cost)]
        for i in cost.items
    ]
    rows.append(["**Total**", "", "", f"**{_money(cost.total_monthly)}**"])
    out = [
        f"Region {md(cost.region)}, price table of {md(cost.price_table_date)}, "
        f"in {md(cost.currency)} a month.",
        "",
        *_table(["Resource", "Type", "SKU", f"Monthly ({md(cost.currency)})"], rows),
        "",
        "Assumptions:",
        "",
        *[f"- {md(a)}" for a in cost.assumptions],
    ]
    per_item = [i for i in cost.items if i.assumptions]
    if per_item:
        out += ["", "Per resource:", ""]
        out += [
            f"- {md(name(i.resource_id))}: " + "; ".join(md(a) for a in i.assumptions)
            for i in per_item
        ]
    return out


def _clarification_section(arch: ReviewedArchitecture, warnings: list[str]) -> list[str]:
    out = []
    for u in arch.needs_clarification:
        cands = ", ".join(md(c) for c in u.candidates) or "no candidates"
        out.append(f"- Icon {md(u.label or u.icon_id)} ({md(u.icon_key)}): {cands}")
    out += [f"- {md(w)}" for w in warnings]
    return out or ["Nothing needs clarification."]


def _unavailable(branch: str) -> list[str]:
    return [f"_Not available: the {md(branch)} branch failed (see Failed branches)._"]


def render_report(
    arch: ReviewedArchitecture,
    network: NetworkFlowResult | None,
    security: SecurityResult | None,
    cost: CostEstimate | None,
    failures: list[BranchFailure],
    warnings: list[str],
) -> str:
    """The whole markdown report."""
    name = _Names(arch)
    out = [f"# Architecture analysis: {md(arch.source)}", ""]
    out += [
        f"Source diagram: {md(arch.source)}; reviewed by {md(arch.review.reviewer)} "
        f"({md(arch.review.method)}).",
        "",
        "## Summary",
        "",
        f"- Resources: {len(arch.resources)}",
    ]
    if network is not None:
        private = sum(1 for f in network.flows if f.private)
        out.append(
            f"- Flows: {len(network.flows)} ({private} private, "
            f"{len(network.flows) - private} public)"
        )
        out.append(f"- Virtual networks: {len(network.vnets)}")
        others = [r for r in network.relationships if r.kind != "network"]
        by_kind: dict[str, int] = {}
        for r in others:
            by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(by_kind.items()))
        out.append(f"- Other relationships: {len(others)}" + (f" ({kinds})" if kinds else ""))
    if security is not None:
        roles = sum(len(s.role_assignments) for s in security.resources)
        pes = sum(1 for s in security.resources if s.private_endpoint is not None)
        out.append(f"- Security: {roles} role assignments, {pes} private endpoints")
    if cost is not None:
        out.append(
            f"- Estimated cost: {_money(cost.total_monthly)} {md(cost.currency)} a month "
            f"({md(cost.region)}, prices of {md(cost.price_table_date)})"
        )
    out.append(f"- Items needing clarification: {len(arch.needs_clarification)}")
    if failures:
        out.append(f"- Failed branches: {', '.join(md(f.branch) for f in failures)}")
    out += ["", "## Architecture", "", "```mermaid", mermaid(arch, network), "```", ""]
    out += ["Solid arrows stay on private networking; dashed arrows do not.", ""]
    out += ["## Network flows", ""]
    out += _flows_section(network, name) if network is not None else _unavailable("network_flow")
    out += ["", "## Other relationships", ""]
    out += (
        _relationships_section(network, name)
        if network is not None
        else _unavailable("network_flow")
    )
    out += ["", "## Security recommendations", ""]
    out += _security_section(security, arch) if security is not None else _unavailable("security")
    out += ["", "## Cost estimate", ""]
    out += _cost_section(cost, name) if cost is not None else _unavailable("cost_estimation")
    out += ["", "## Items needing clarification", ""]
    out += _clarification_section(arch, warnings)
    if failures:
        out += ["", "## Failed branches", ""]
        out += [f"- **{md(f.branch)}**: {md(f.error)}" for f in failures]
    return bound_report("\n".join(out).rstrip() + "\n")


def bound_report(text: str, limit: int = MAX_REPORT_CHARS) -> str:
    """``text`` with mentions made inert, cut at a line to at most ``limit`` characters
    (a code block open at the cut is closed), with a visible last line saying so."""
    from orchestration.runtime.markdown import neutralise

    # neutralising works line by line and only adds characters: the lines up to the
    # first line end past ``limit`` already neutralise to more than ``limit``, and are
    # all the cut below reads (the rest, 90% of a 20k-icon report, is not scanned)
    end = text.find("\n", limit)
    text = neutralise(text[: end + 1] if end != -1 else text)
    if len(text) <= limit:
        return text
    note = "\n_… report cut at {:,} characters; the artifact holds everything._\n"
    keep: list[str] = []
    size = len(note) + 8
    fenced = False
    for line in text.splitlines(keepends=True):
        if size + len(line) > limit:
            break
        keep.append(line)
        size += len(line)
        if line.startswith("```"):
            fenced = not fenced
    if fenced:
        keep.append("```\n")
    return "".join(keep) + note.format(limit)
