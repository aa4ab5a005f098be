"""Network flows, virtual networks and security zones of a reviewed architecture.

Flows come from the diagram's connections, resolved to resource ids. A connection drawn
from a user/internet icon becomes a public flow from the pseudo-resource ``internet``; a
connection drawn to a container (a VNet or subnet box) fans out to the resources inside
it; a load balancer or application gateway with no drawn backend gets flows to the
compute resources in its own virtual network (inferred from containment, and said so).

The protocol and port of a flow follow from its *target* resource type
(``data/protocols.json``), unless the connection label names one (``"HTTPS"``,
``"TCP 1433"``, ``"port 8080"``). A flow is private when both ends sit in the same
virtual network, or when its source is on a virtual network and its target will get a
private endpoint (the same rule the ``security`` agent uses, so the two agree), or when
the two virtual networks are joined by a drawn peering, VPN or ExpressRoute link.

Every arrow is typed first (:mod:`~agents.synthforge.analysis.arrows`): only arrows that
are network traffic become flows; the others (RBAC assignments, DNS registrations,
telemetry, deployments, replication, peering, structural attachments…) are listed as
``relationships`` with the reason. An arrow may end on a resource, on a container (a
VNet, subnet, group or swimlane box; a box badged by a VNet or subnet icon stands for
that resource), on a plain shape (a rectangle, an embedded image: a part the diagram
does not draw with a cloud icon, whose label names what it stands for) or on a
non-architectural icon. Traffic to an external party (a SaaS icon, a device) is a flow
to or from the internet; to a plain shape, or to a box that holds nothing typed or draws
an AWS service (an Auto Scaling group, a Step Functions workflow), a flow to that part
itself; a legend, a note or a timer glyph is no end of a flow. Virtual networks drawn as
icons count as virtual networks, like VNet boxes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from agents.base import Agent
from agents.synthforge.analysis.addresses import cidrs_in, overlaps
from agents.synthforge.analysis.arrows import EXTERNAL, load_arrow_typer
from agents.synthforge.analysis.children import ancestor_types
from agents.synthforge.analysis.heap import FewerCollections, fewer_collections
from agents.synthforge.analysis.services import load_services
from agents.synthforge.analysis.vision import AWS4_SERVICE_GROUPS, label_kind
from agents.synthforge.models import (
    Connection,
    Container,
    Flow,
    NetworkFlowResult,
    Relationship,
    Resource,
    ReviewedArchitecture,
    SecurityZone,
    Subnet,
    VNet,
)

#: Pseudo resource id of the public internet (users, browsers, clients).
INTERNET = "internet"
VNET_TYPE = "Microsoft.Network/virtualNetworks"
#: The network types that always sit on one are on when the diagram draws none.
IMPLICIT_NETWORK = "(implicit virtual network)"
PRIVATE_ENDPOINT_TYPE = "Microsoft.Network/privateEndpoints"
#: The type an AWS group box stands for when an arrow ends on it.
AWS_CONTAINER_TYPES = {"vnet": "AWS::EC2::VPC", "subnet": "AWS::EC2::Subnet"}
#: The type a container box stands for when an arrow ends on it.
CONTAINER_TYPES = {
    "vnet": VNET_TYPE,
    "subnet": "Microsoft.Network/virtualNetworks/subnets",
    "resource_group": "Microsoft.Resources/resourceGroups",
    "security_group": "Microsoft.Network/networkSecurityGroups",
    "subscription": "Microsoft.Subscription/aliases",
}

_TOKEN = re.compile(r"[a-z0-9]+")
_PORT = re.compile(r"(?:\bport\s*|\btcp\s*|\budp\s*|:)(\d{1,5})\b", re.IGNORECASE)


@cache
def load_data(name: str) -> dict[str, Any]:
    """A JSON data file shipped with the package in ``agents/synthforge/data``."""
    text = resources.files("agents.synthforge").joinpath("data").joinpath(name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _lower_set(section: str) -> frozenset[str]:
    """A list of types or words from ``protocols.json``, lower-cased, built once."""
    return frozenset(t.lower() for t in load_data("protocols.json")[section])


def tokens(text: str) -> set[str]:
    """Lower-case alphanumeric words of ``text`` (``"Blob_Storage.svg"`` → blob, storage, svg)."""
    return set(_TOKEN.findall(text.lower()))


_LOWERED: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def _lowered(table: dict[str, Any]) -> dict[str, Any]:
    """``table`` with lower-case keys, built once per table (the tables are shipped data)."""
    cached = _LOWERED.get(id(table))
    if cached is None or cached[0] is not table:
        cached = (table, {key.lower(): value for key, value in table.items()})
        _LOWERED[id(table)] = cached
    return cached[1]


def type_entry(table: dict[str, Any], resource_type: str, kind: str | None) -> Any:
    """The entry of ``table`` for a type (``TYPE|kind`` first), matched case-insensitively."""
    lowered = _lowered(table)
    if kind:
        for part in kind.lower().replace(",", " ").split():
            hit = lowered.get(f"{resource_type.lower()}|{part}")
            if hit is not None:
                return hit
    return lowered.get(resource_type.lower())


def private_endpoint_rule(resource: Resource) -> dict[str, str] | None:
    """Group id and private DNS zone of ``resource``'s private endpoint, if its type has one."""
    if resource.provider != "azure":
        return None
    rule = type_entry(
        load_data("security_rules.json")["azure"], resource.resource_type, resource.kind
    )
    if not rule:
        return None
    pe: dict[str, str] | None = rule.get("private_endpoint")
    return pe


@dataclass
class Topology:
    """Where each resource sits: its virtual network and subnet, from the containers."""

    arch: ReviewedArchitecture
    containers: dict[str, Container] = field(init=False)
    resources: dict[str, Resource] = field(init=False)

    def __post_init__(self) -> None:
        self.containers = {c.id: c for c in self.arch.containers}
        self.resources = {r.id: r for r in self.arch.resources}
        self.shapes = {s.id: s for s in self.arch.shapes}
        self._ancestor_memo: dict[str, list[Container]] = {}
        self._workloads: dict[str, list[str]] = {}
        self._badge_types: dict[str, str | None] = {}  # box id -> the type its badge gives
        self._members: dict[str, list[Resource]] = {}
        for r in self.arch.resources:
            for container in self.enclosing(r):
                self._members.setdefault(container.id, []).append(r)
        self.links: dict[str, str] = {}

    @property
    def vnet_ids(self) -> list[str]:
        """Ids of the VNet containers, in diagram order."""
        cached: list[str] | None = self.__dict__.get("_vnet_ids")
        if cached is None:
            cached = [c.id for c in self.arch.containers if c.kind == "vnet"]
            self.__dict__["_vnet_ids"] = cached
        return cached

    def ancestors(self, container_id: str) -> list[Container]:
        """The container and its parents, innermost first (worked out once per container)."""
        found = self._ancestor_memo.get(container_id)
        if found is None:
            found = self._ancestor_memo[container_id] = self._ancestors(container_id)
        return found

    def _ancestors(self, container_id: str) -> list[Container]:
        chain: list[Container] = []
        seen: set[str] = set()
        current = self.containers.get(container_id)
        while current is not None and current.id not in seen:
            chain.append(current)
            seen.add(current.id)
            current = self.containers.get(current.parent) if current.parent else None
        return chain

    def enclosing(self, resource: Resource) -> list[Container]:
        """Every container around ``resource``, from its own list and their parents."""
        out: dict[str, Container] = {}
        for cid in resource.containers:
            for container in self.ancestors(cid):
                out.setdefault(container.id, container)
        return list(out.values())

    def drawn_vnet(self, resource: Resource) -> str | None:
        """The VNet ``resource`` is drawn in (directly or through a subnet)."""
        for container in self.enclosing(resource):
            if container.kind == "vnet":
                return container.id
        subnet = self.subnet(resource)
        if subnet is None:
            return None
        # a subnet drawn without its VNet box stands for its own network; subnets drawn
        # together in one plain box (an 'on-premises' site, a branch) share that network
        parent = self.containers[subnet].parent
        box = self.containers.get(parent) if parent else None
        return box.id if box is not None and box.kind == "group" else subnet

    def subnet(self, resource: Resource) -> str | None:
        """The innermost subnet ``resource`` is drawn in."""
        for cid in reversed(resource.containers):
            for container in self.ancestors(cid):
                if container.kind == "subnet":
                    return container.id
        return None

    def integrates(self, resource: Resource) -> bool:
        """True for types that join a VNet by VNet integration (App Service, Functions)."""
        return resource.resource_type.lower() in _lower_set("vnet_integration")

    def vnet(self, resource: Resource) -> str | None:
        """The VNet ``resource`` is on: drawn in it, or by VNet integration into the only one."""
        drawn = self.drawn_vnet(resource)
        if drawn is not None:
            return drawn
        if self.integrates(resource) and len(self.vnet_ids) == 1:
            return self.vnet_ids[0]
        if not self.vnet_ids and resource.resource_type.lower() in _lower_set("vnet_native"):
            return IMPLICIT_NETWORK
        return None

    def network_of(self, part: str) -> str | None:
        """The network a flow end is on: a resource's; for a plain shape or an empty box,
        the VNet (else the subnet) it is drawn in."""
        resource = self.resources.get(part)
        if resource is not None:
            return self.vnet(resource)
        shape = self.shapes.get(part)
        holder = shape.parent if shape is not None else part
        chain = self.ancestors(holder) if holder else []
        for kind in ("vnet", "subnet"):
            for container in chain:
                if container.kind == kind:
                    return container.id
        return None

    def members(self, container_id: str) -> list[Resource]:
        """Resources drawn inside the container (at any depth)."""
        return self._members.get(container_id, [])

    def workloads(self, container_id: str) -> list[str]:
        """Ids of the resources drawn inside the container that are not in the network
        zone (what traffic to the box reaches); worked out once per container."""
        found = self._workloads.get(container_id)
        if found is None:
            inside = self.members(container_id)
            found = self._workloads[container_id] = [
                r.id for r in inside if zone_of(r) != "network"
            ]
        return list(found)  # a copy: the caller's end owns its list

    def badge_type(self, ref: str) -> str | None:
        """The type a plain box stands for by the one VNet icon drawn directly in it as its
        badge (a grey box holding a 'Virtual Network' icon and what is on it), else None;
        worked out once per box."""
        container = self.containers.get(ref)
        if container is None or container.kind != "group":
            return None
        if ref not in self._badge_types:
            badges = [
                r
                for r in self.members(ref)
                if r.containers
                and r.containers[-1] == ref
                and r.resource_type.lower() == VNET_TYPE.lower()
            ]
            self._badge_types[ref] = VNET_TYPE if len(badges) == 1 else None
        return self._badge_types[ref]

    def vnet_icons(self) -> list[Resource]:
        """Virtual networks drawn as icons outside any VNet box."""
        return [
            r
            for r in self.arch.resources
            if r.resource_type.lower() == VNET_TYPE.lower()
            and not any(c.kind == "vnet" for c in self.enclosing(r))
        ]

    def network_group(self, network: str | None) -> str | None:
        """The set of networks ``network`` is joined to by drawn peering/VPN links."""
        if network is None:
            return None
        seen = {network}
        while network in self.links and self.links[network] not in seen:
            network = self.links[network]
            seen.add(network)
        return network

    def join(self, a: str, b: str) -> None:
        """Record that networks ``a`` and ``b`` are linked (peering, VPN, ExpressRoute)."""
        ra, rb = self.network_group(a), self.network_group(b)
        if ra is not None and rb is not None and ra != rb:
            self.links[ra] = rb


def is_internet_icon(icon_key: str, label: str) -> bool:
    """True for a user, browser, client or internet icon."""
    return bool((tokens(icon_key) | tokens(label)) & _lower_set("internet_keywords"))


def is_decoration(icon_key: str, label: str, reason: str) -> bool:
    """True for a legend, logo, note or a timer glyph: nothing traffic reaches."""
    words = _lower_set("not_a_party_keywords")
    return bool((tokens(icon_key) | tokens(label) | tokens(reason)) & words)


def zone_of(resource: Resource) -> str:
    """The security zone of ``resource``: by type first, then by category."""
    zones = load_data("protocols.json")["zones"]
    by_type = type_entry(zones["by_type"], resource.resource_type, None)
    if by_type:
        return str(by_type)
    return str(zones["by_category"].get(resource.category.lower(), "other"))


def protocol_for(target: Resource | None, label: str) -> tuple[str, int | None, str]:
    """Protocol, port and reason for a flow into ``target`` (None: the internet)."""
    data = load_data("protocols.json")
    words = tokens(label)
    port_match = _PORT.search(label)
    for key, spec in data["label_protocols"].items():
        if key in words:
            port = int(port_match.group(1)) if port_match else spec["port"]
            return spec["protocol"], port, f"the connection label {label.strip()!r} names it"
    if target is None:
        return "HTTPS", 443, "outbound call to the internet; HTTPS on 443 assumed"
    spec = type_entry(data["targets"], target.resource_type, target.kind)
    if spec is None:
        spec = _parent_entry(data["targets"], target.resource_type)
    if spec is None:
        fallback = data["_meta"]["fallback"]
        spec = {**fallback, "reason": f"{target.resource_type}: {fallback['reason']}"}
    port = spec["port"]
    reason = spec["reason"]
    if port_match:
        port = int(port_match.group(1))
        reason = f"{reason}; port {port} taken from the connection label"
    return spec["protocol"], port, reason


def _parent_entry(table: dict[str, Any], resource_type: str) -> dict[str, Any] | None:
    """The protocol of the nearest parent type with one, for a child resource type
    (a Cosmos DB container is reached through its account's endpoint, a blob container
    through its storage account's), with the reason saying so."""
    for parent in ancestor_types(resource_type):
        spec = type_entry(table, parent, None)
        if spec is not None:
            return {**spec, "reason": f"reached through its parent {parent}: {spec['reason']}"}
    return None


def protocol_for_part(label: str) -> tuple[str, int | None, str]:
    """Protocol, port and reason for a flow into a part that is not a typed resource
    (a plain shape, an empty box): only the connection label can name them."""
    data = load_data("protocols.json")
    words = tokens(label)
    for key, spec in data["label_protocols"].items():
        if key in words:
            port_match = _PORT.search(label)
            port = int(port_match.group(1)) if port_match else spec["port"]
            return spec["protocol"], port, f"the connection label {label.strip()!r} names it"
    fallback = data["_meta"]["fallback"]
    return (
        fallback["protocol"],
        fallback["port"],
        f"the target is not a typed resource: {fallback['reason']}",
    )


@dataclass
class _Draft:
    source: str
    target: str
    direction: str
    label: str
    note: str = ""


@dataclass
class NetworkAnalysis:
    """Everything the network analysis found; :meth:`result` turns it into the output."""

    topology: Topology
    flows: list[Flow]
    private_endpoints: set[str]
    warnings: list[str]
    unknown_protocols: int

    relationships: list[Relationship] = field(default_factory=list)
    _inbound: dict[str, list[Flow]] | None = field(default=None, init=False, repr=False)

    def inbound(self, resource_id: str) -> list[Flow]:
        """Flows into ``resource_id`` (and ``both``-way flows out of it), from an index."""
        if self._inbound is None:
            index: dict[str, list[Flow]] = {}
            for f in self.flows:
                index.setdefault(f.target, []).append(f)
                if f.direction == "both" and f.source != f.target:
                    index.setdefault(f.source, []).append(f)
            self._inbound = index
        return self._inbound.get(resource_id, [])

    def result(self) -> NetworkFlowResult:
        """The agent's output: flows, VNets with their subnets, zones, confidence."""
        confidence = 1.0
        if self.flows:
            confidence = 0.5 + 0.5 * (1 - self.unknown_protocols / len(self.flows))
        if self.warnings:
            confidence *= 0.9
        vnets = _vnets(self.topology)
        self.warnings.extend(w for w in address_warnings(vnets) if w not in self.warnings)
        return NetworkFlowResult(
            flows=self.flows,
            vnets=vnets,
            zones=_zones(self.topology.arch.resources),
            relationships=self.relationships,
            warnings=self.warnings,
            confidence=round(confidence, 3),
        )


@dataclass
class _End:
    """One end of an arrow: what it is, its type for typing, the resources it covers and
    the ids a network flow joins there.

    ``flow_ids`` differ from ``members`` for ends that are not resources but that traffic
    still reaches: a party outside the architecture (an external service, a device) is
    the internet; a plain shape, or a box with nothing typed inside, is itself."""

    ref: str
    rtype: str | None
    members: list[str]
    note: str = ""
    flow_ids: list[str] | None = None

    def flow_members(self) -> list[str]:
        """The ids a network flow joins at this end."""
        return self.members if self.flow_ids is None else self.flow_ids


@dataclass
class _Known:
    """What the ids arrows end on stand for: resources, people and parties outside the
    architecture, and icons left untyped or removed by the reviewer (which end nothing)."""

    icon_to_resource: dict[str, str]
    internet: set[str]
    outside: set[str]
    decorations: set[str]
    untyped: set[str]


def _known_ends(arch: ReviewedArchitecture) -> _Known:
    icon_to_resource: dict[str, str] = {}
    for r in arch.resources:
        icon_to_resource[r.id] = r.id
        if r.icon_id:
            icon_to_resource.setdefault(r.icon_id, r.id)
        for drawing in r.drawings:
            icon_to_resource.setdefault(drawing, r.id)
    internet = {n.icon_id for n in arch.non_architectural if is_internet_icon(n.icon_key, n.label)}
    outside = {n.icon_id for n in arch.non_architectural} - internet
    decorations = {
        n.icon_id for n in arch.non_architectural if is_decoration(n.icon_key, n.label, n.reason)
    }
    untyped = {u.icon_id for u in arch.needs_clarification}
    untyped |= {
        d.resource_id
        for d in arch.review.decisions
        if d.action == "remove" and d.resource_id not in icon_to_resource
    }
    return _Known(icon_to_resource, internet, outside, decorations, untyped)


def _resolve_end(endpoint: str | None, topology: Topology, known: _Known) -> _End | None:
    """The end ``endpoint`` stands for, or None when it is unattached, an icon that is not
    a resource (left untyped, removed) or a decoration (a legend, a note).

    A plain shape (a rectangle, an embedded image, another library's stencil) stands for
    a part the diagram does not draw with a cloud icon, named by its cell id; a shape
    labelled as a user, a client or the internet is the internet."""
    if endpoint is None or endpoint in known.untyped:
        return None
    if endpoint in known.icon_to_resource:
        rid = known.icon_to_resource[endpoint]
        return _End(rid, topology.resources[rid].resource_type, [rid])
    if endpoint in known.internet:
        return _End(INTERNET, EXTERNAL, [INTERNET])
    if endpoint in known.outside:
        flow_ids = [] if endpoint in known.decorations else [INTERNET]
        note = "drawn to a party outside the architecture"
        if flow_ids:
            note += ": traffic with it is traffic with the internet"
        return _End(endpoint, EXTERNAL, [], note, flow_ids)
    container = topology.containers.get(endpoint)
    if container is not None and container.badge in known.icon_to_resource:
        badge = topology.resources[known.icon_to_resource[container.badge]]
        inside = topology.members(container.id)
        # traffic to the box reaches its workloads, else (a box of gateways) what it holds
        members = topology.workloads(container.id) or [r.id for r in inside]
        return _End(
            container.id,
            badge.resource_type,
            members or [badge.id],
            f"drawn to the box {badge.name!r} (badged by its icon)",
        )
    if container is not None:
        inside = topology.members(container.id)
        members = topology.workloads(container.id)
        aws = (container.icon_key or "").startswith("mxgraph.aws4.")
        # a lane or section box with nothing typed inside stands for a part of its own,
        # and so does an AWS group that draws a service (an Auto Scaling group)
        empty = container.kind == "group" and (not inside or is_service_box(container))
        rtype = (AWS_CONTAINER_TYPES if aws else CONTAINER_TYPES).get(container.kind)
        return _End(
            container.id,
            EXTERNAL if container.kind == "group" and not inside else rtype,
            members,
            f"drawn to {container.kind} {container.label!r}"
            + (", which holds no resource" if not inside else ""),
            [container.id] if empty else None,
        )
    shape = topology.shapes.get(endpoint)
    if shape is not None and shape.badge in known.icon_to_resource:
        return _resolve_end(shape.badge, topology, known)
    if shape is None or is_decoration("", shape.label, ""):
        return None
    if is_internet_icon("", shape.label):
        return _End(INTERNET, EXTERNAL, [INTERNET])
    note = f"drawn to the shape {shape.label!r}" if shape.label else "drawn to an unlabelled shape"
    return _End(shape.id, shape_type(shape.label), [], note + ", not a cloud icon", [shape.id])


def shape_type(label: str) -> str:
    """What a plain shape's label says it stands for, for typing the arrow: the service it
    names ("Standard Load Balancer" → loadBalancers), else the boundary ("VNET01" → a
    virtual network), else :data:`EXTERNAL`. The shape stays a part, not a resource."""
    named = load_services().from_label(label)
    if named:
        return named[0].resource_type
    kind = label_kind(label)
    return CONTAINER_TYPES.get(kind, EXTERNAL) if kind else EXTERNAL


def is_service_box(container: Container) -> bool:
    """True for an AWS group box that draws a service (its ``grIcon`` is an Auto Scaling
    group, a Step Functions workflow…): arrows to it are about that service."""
    icon = (container.icon_key or "").rsplit(".", 1)[-1]
    return icon in AWS4_SERVICE_GROUPS


def _relationship_ends(end: _End, topology: Topology, known: _Known) -> list[str]:
    """The ids a relationship names for an end: a box badged by a boundary icon stands for
    that icon's resource (a box with a subnet icon on its corner is the subnet); a lane or
    section box for what it holds; a VNet, subnet, resource group or subscription box
    for itself."""
    container = topology.containers.get(end.ref)
    if container is not None and container.badge in known.icon_to_resource:
        return [known.icon_to_resource[container.badge]]
    if container is not None and container.kind == "group" and end.members:
        return [end.ref] if is_service_box(container) else end.members
    return [end.ref]


def _network_of(end: _End, topology: Topology) -> str | None:
    """The network an end of a connectivity link stands for (a VNet box or icon)."""
    if end.ref in topology.containers:
        for c in topology.ancestors(end.ref):
            if c.kind == "vnet":
                return c.id
        return end.ref
    resource = topology.resources.get(end.ref)
    if resource is None:
        return None
    if resource.resource_type.lower() == VNET_TYPE.lower():
        return topology.drawn_vnet(resource) or resource.id
    return topology.drawn_vnet(resource)


def _drafts(
    arch: ReviewedArchitecture,
    topology: Topology,
    warnings: list[str],
    relationships: list[Relationship],
) -> list[_Draft]:
    known = _known_ends(arch)
    names = _end_names(arch)
    typer = load_arrow_typer()
    boxed = set(typer.resource_boxes.values())
    drafts: list[_Draft] = []
    dropped: list[str] = []
    for conn in arch.connections:
        src = _resolve_end(conn.source, topology, known)
        tgt = _resolve_end(conn.target, topology, known)
        if src is None or tgt is None or src.ref == tgt.ref:
            dropped.append(conn.id)
            continue
        src, tgt = _as_box_resource(src, topology), _as_box_resource(tgt, topology)
        boxes = {e.ref for e in (src, tgt) if e.ref in topology.containers and e.rtype in boxed}
        src_type, tgt_type = src.rtype, tgt.rtype
        structure, placement = typer.structure_types, typer.placement_types
        if (
            src.ref in topology.containers
            and src.ref not in boxes
            and tgt_type not in structure | placement
        ):
            src_type = src_type if src_type in placement else None
        if (
            tgt.ref in topology.containers
            and tgt.ref not in boxes
            and src_type not in structure | placement
        ):
            tgt_type = tgt_type if tgt_type in placement else None
        if src_type is None and tgt_type in structure:
            src_type = topology.badge_type(src.ref)
        if tgt_type is None and src_type in structure:
            tgt_type = topology.badge_type(tgt.ref)
        arrow = typer.classify(
            conn.label,
            src_type,
            tgt_type,
            names.get(conn.source or "", ""),
            names.get(conn.target or "", ""),
            conn.layer,
        )
        first, second = (tgt, src) if conn.direction == "backward" else (src, tgt)
        whole = arrow.kind in typer.whole_box_kinds  # an NSG on a box is on the box
        for a in (
            _box_ends(first, topology, known)
            if whole or first.ref in boxes
            else _relationship_ends(first, topology, known)
        ):
            for b in (
                _box_ends(second, topology, known)
                if whole or second.ref in boxes
                else _relationship_ends(second, topology, known)
            ):
                if a == b:
                    continue
                relationships.append(
                    Relationship(
                        connection=conn.id,
                        source=a,
                        target=b,
                        kind=arrow.kind,  # type: ignore[arg-type]
                        label=conn.label,
                        reason=arrow.reason
                        + (f" ({first.note or second.note})" if first.note or second.note else ""),
                    )
                )
        if arrow.kind == "connectivity":
            net_a, net_b = _network_of(src, topology), _network_of(tgt, topology)
            if net_a is not None and net_b is not None:
                topology.join(net_a, net_b)
        if arrow.kind != "network":
            continue
        sources = _traffic_members(src, names.get(conn.source or "", ""))
        targets = _traffic_members(tgt, names.get(conn.target or "", ""))
        if not sources or not targets:
            dropped.append(conn.id)
            continue
        note = "; ".join(filter(None, [src.note, tgt.note, _outside_note(src, tgt, names)]))
        drafts.extend(_expand(conn, sources, targets, note))
    if dropped:
        warnings.append(
            f"{len(dropped)} connection(s) dropped because an end is unattached or not a resource: "
            + ", ".join(dropped)
        )
    return drafts


def _as_box_resource(end: _End, topology: Topology) -> _End:
    """A box drawn for one resource (a Step Functions workflow holding the steps it
    runs) stands for that resource, not for what it holds: an arrow to it is not an arrow
    to each step. The resource is not one of the architecture's: a flow to it is a flow to
    the box, a part of its own."""
    container = topology.containers.get(end.ref)
    rtype = load_arrow_typer().resource_boxes.get(container.icon_key or "") if container else None
    if container is None or rtype is None:
        return end
    note = f"drawn to {container.label!r}, a box that is one {rtype}"
    return _End(end.ref, rtype, [], note, [end.ref])


def _box_ends(end: _End, topology: Topology, known: _Known) -> list[str]:
    """The id a relationship names for an end that is a whole box: the resource of the
    boundary icon badging it (a box with a subnet icon on its corner is the subnet), else
    the box itself."""
    container = topology.containers.get(end.ref)
    if container is not None and container.badge in known.icon_to_resource:
        return [known.icon_to_resource[container.badge]]
    return [end.ref]


def _end_names(arch: ReviewedArchitecture) -> dict[str, str]:
    """What the drawing says of each end, for the arrow rules that look at names: a
    resource's name; a non-architectural icon's label, icon and reason."""
    names: dict[str, str] = {}
    for r in arch.resources:
        for drawing in (r.id, r.icon_id, *r.drawings):
            if drawing:
                names.setdefault(drawing, r.name)
    for n in arch.non_architectural:
        names.setdefault(n.icon_id, f"{n.label} {n.icon_key} {n.reason}")
    return names


def _outside(end: _End, name: str) -> bool:
    """A non-architectural end that is a party to traffic: a SaaS, an on-premises system,
    a device (not a person, who is the internet already; not a legend, glyph or file).
    Ends that say themselves where a flow joins (``flow_ids``) are judged where resolved."""
    return (
        end.flow_ids is None
        and not end.members
        and end.rtype == EXTERNAL
        and not load_arrow_typer().is_decoration(name)
    )


def _traffic_members(end: _End, name: str) -> list[str]:
    """The flow ends an end of a traffic arrow covers: traffic with an outside system is
    traffic with the internet; a plain shape or an empty box is that part itself; a
    decoration (by either table of them) is no party."""
    if end.flow_ids is not None:
        decoration = end.flow_ids == [INTERNET] and load_arrow_typer().is_decoration(name)
        return [] if decoration else end.flow_ids
    return [INTERNET] if _outside(end, name) else end.members


def _outside_note(src: _End, tgt: _End, names: dict[str, str]) -> str:
    return "; ".join(
        f"{e.ref!r} is not a resource: traffic with it is traffic with the internet"
        for e in (src, tgt)
        if _outside(e, names.get(e.ref, ""))
    )


def _expand(conn: Connection, sources: list[str], targets: list[str], note: str) -> list[_Draft]:
    if conn.direction == "backward":
        sources, targets = targets, sources
    direction = "both" if conn.direction == "both" else "forward"
    if conn.direction == "none":
        note = "; ".join(filter(None, [note, "undirected line: drawn order taken as direction"]))
    return [
        _Draft(s, t, direction, conn.label, note)
        for s in sources
        for t in targets
        if s != t and not (s == INTERNET and t == INTERNET)
    ]


def _containment_drafts(
    topology: Topology, drafts: list[_Draft], warnings: list[str]
) -> list[_Draft]:
    """Backends of a load balancer/gateway that has none drawn: compute in its VNet."""
    fronts = _lower_set("fronts")
    has_out = {d.source for d in drafts} | {d.target for d in drafts if d.direction == "both"}
    out: list[_Draft] = []
    for front in topology.arch.resources:
        if front.resource_type.lower() not in fronts or front.id in has_out:
            continue
        network = topology.drawn_vnet(front)
        if network is None:
            continue
        backends = [
            r
            for r in topology.arch.resources
            if r.id != front.id and zone_of(r) == "application" and topology.vnet(r) == network
        ]
        for backend in backends:
            out.append(
                _Draft(
                    front.id,
                    backend.id,
                    "forward",
                    "",
                    f"inferred from containment: {front.name!r} has no drawn backend and "
                    f"{backend.name!r} is in the same virtual network",
                )
            )
        if backends:
            names = ", ".join(b.name for b in backends)
            warnings.append(f"flows from {front.name!r} to {names} inferred from containment")
    return out


def analyse(arch: ReviewedArchitecture) -> NetworkAnalysis:
    """Flows, private endpoints and privacy of a reviewed architecture (pure, offline)."""
    topology = Topology(arch)
    warnings: list[str] = []
    relationships: list[Relationship] = []
    drafts = _drafts(arch, topology, warnings, relationships)
    drafts += _containment_drafts(topology, drafts, warnings)

    unique: dict[tuple[str, str], _Draft] = {}
    for d in drafts:
        key = (d.source, d.target)
        if key in unique:
            if d.direction == "both":
                unique[key].direction = "both"
            continue
        unique[key] = d

    public_targets = {d.target for d in unique.values() if d.source == INTERNET} | {
        d.source for d in unique.values() if d.target == INTERNET and d.direction == "both"
    }
    has_network = bool(topology.vnet_ids) or any(c.kind == "subnet" for c in arch.containers)
    private_endpoints = {
        r.id
        for r in arch.resources
        if has_network and r.id not in public_targets and private_endpoint_rule(r) is not None
    }
    private_endpoints |= _drawn_private_endpoints(arch, relationships)
    fronts = _lower_set("fronts")
    exposed = {  # internet-facing load balancers and gateways
        r.id for r in arch.resources if r.id in public_targets and r.resource_type.lower() in fronts
    }

    flows: list[Flow] = []
    unknown = 0
    for d in unique.values():
        initiator, acceptor = _initiator(d, topology)
        if acceptor in topology.resources or acceptor == INTERNET:
            protocol, port, reason = protocol_for(topology.resources.get(acceptor), d.label)
        else:
            protocol, port, reason = protocol_for_part(d.label)
        if protocol == "unknown":
            unknown += 1
        if initiator != d.source:
            reason = (
                f"{topology.resources[initiator].name!r} opens the connection to "
                f"{topology.resources[acceptor].name!r}, which never initiates one: {reason}"
            )
        if d.note:
            reason = f"{reason} ({d.note})"
        flows.append(
            Flow(
                source=d.source,
                target=d.target,
                direction=d.direction,  # type: ignore[arg-type]
                protocol=protocol,
                port=port,
                private=_is_private(initiator, acceptor, topology, private_endpoints, exposed),
                label=d.label,
                reason=reason,
            )
        )
    if unknown:
        warnings.append(f"{unknown} flow(s) have no known protocol; label those connections")
    return NetworkAnalysis(topology, flows, private_endpoints, warnings, unknown, relationships)


def _drawn_private_endpoints(
    arch: ReviewedArchitecture, relationships: list[Relationship]
) -> set[str]:
    """Resources with a private endpoint drawn for them: beside them in their icon group,
    or joined to one by an arrow."""
    pe_type = PRIVATE_ENDPOINT_TYPE.lower()
    endpoints = {r.id for r in arch.resources if r.resource_type.lower() == pe_type}
    if not endpoints:
        return set()
    groups = {c.id for c in arch.containers if c.kind == "group"}
    by_group: dict[str, list[Resource]] = {}
    for r in arch.resources:
        if r.containers and r.containers[-1] in groups:
            by_group.setdefault(r.containers[-1], []).append(r)
    out: set[str] = set()
    for members in by_group.values():
        if any(m.id in endpoints for m in members):
            out |= {m.id for m in members if m.id not in endpoints}
    for rel in relationships:
        if rel.source in endpoints and rel.target not in endpoints:
            out.add(rel.target)
        elif rel.target in endpoints and rel.source not in endpoints:
            out.add(rel.source)
    known = {r.id for r in arch.resources}
    return out & known


def is_passive(resource: Resource) -> bool:
    """True for types that only accept connections (databases, brokers, vaults, storage)."""
    return resource.resource_type.lower() in _lower_set("passive")


def _initiator(d: _Draft, topology: Topology) -> tuple[str, str]:
    """Which end opens the connection: the source, unless only the target can."""
    src = topology.resources.get(d.source)
    tgt = topology.resources.get(d.target)
    if src is not None and tgt is not None and is_passive(src) and not is_passive(tgt):
        return d.target, d.source
    return d.source, d.target


def _is_private(
    initiator: str,
    acceptor: str,
    topology: Topology,
    private_endpoints: set[str],
    exposed: Collection[str] = frozenset(),
) -> bool:
    """Whether traffic from ``initiator`` to ``acceptor`` stays on private networking.

    With no network drawn, the backend leg of an internet-facing load balancer or gateway
    (one the internet sends traffic to) is public, as the drawing shows nothing private.
    Traffic between a hybrid link (an ExpressRoute circuit, a VPN connection) and a
    resource on a network is private.
    """
    if INTERNET in (initiator, acceptor):
        return False
    exposed_one = initiator in exposed and initiator in topology.resources
    if exposed_one and topology.vnet(topology.resources[initiator]) == IMPLICIT_NETWORK:
        return False
    init_net = topology.network_group(topology.network_of(initiator))
    acc_net = topology.network_group(topology.network_of(acceptor))
    links = _lower_set("private_links")
    for link, other in ((initiator, acc_net), (acceptor, init_net)):
        resource = topology.resources.get(link)
        if resource is not None and resource.resource_type.lower() in links and other is not None:
            return True  # over an ExpressRoute circuit or a VPN connection
    return init_net is not None and (init_net == acc_net or acceptor in private_endpoints)


def _vnets(topology: Topology) -> list[VNet]:
    """VNets with their subnets; ``VNet.resources`` lists every resource inside the VNet."""
    out: list[VNet] = []
    subnets_of: dict[str, list[Container]] = {}
    for s in topology.arch.containers:
        if s.kind == "subnet":
            for a in topology.ancestors(s.id):
                if a.kind == "vnet":
                    subnets_of.setdefault(a.id, []).append(s)
    for c in topology.arch.containers:
        if c.kind != "vnet":
            continue
        subnets = [
            Subnet(
                id=s.id,
                name=s.label,
                resources=[r.id for r in topology.members(s.id)],
                address_prefix=next(iter(cidrs_in(s.label)), None),
            )
            for s in subnets_of.get(c.id, [])
        ]
        out.append(
            VNet(
                id=c.id,
                name=c.label,
                subnets=subnets,
                resources=[r.id for r in topology.members(c.id)],
                address_space=cidrs_in(c.label),
            )
        )
    for r in topology.vnet_icons():
        out.append(VNet(id=r.id, name=r.name, address_space=cidrs_in(r.name)))
    return out


def address_warnings(vnets: list[VNet]) -> list[str]:
    """A warning for each pair of virtual networks whose address spaces overlap."""
    spaces = [(v.name or v.id, cidr) for v in vnets for cidr in v.address_space]
    return [
        f"address spaces overlap: {a} {a_cidr} and {b} {b_cidr} (peering and routing "
        "between them will not work)"
        for a, a_cidr, b, b_cidr in overlaps(spaces)
    ]


def _zones(resources_: Iterable[Resource]) -> list[SecurityZone]:
    order: list[str] = load_data("protocols.json")["zones"]["order"]
    grouped: dict[str, list[str]] = {}
    for r in resources_:
        grouped.setdefault(zone_of(r), []).append(r.id)
    return [SecurityZone(name=z, resources=grouped[z]) for z in order if z in grouped]


class NetworkFlowAgent(FewerCollections, Agent[ReviewedArchitecture, NetworkFlowResult]):
    """Infers flows (protocol, port, privacy), VNets and security zones; offline."""

    name = "network_flow"
    description = "Network flows, VNets and security zones of a reviewed architecture"
    input_model = ReviewedArchitecture
    output_model = NetworkFlowResult

    async def process(self, data: ReviewedArchitecture) -> NetworkFlowResult:
        with fewer_collections():
            return analyse(data).result()
