"""Security recommendations per resource, from the data-driven rules in
``data/security_rules.json`` and the flows of the network analysis.

For Azure: a managed identity for compute; least-privilege built-in role assignments
derived from the flows (the principal is the end that opens the connection, the scope
the end it reaches); a private endpoint (group id and private DNS zone) for every PaaS
resource the network analysis gives one; VNet integration for App Service and
Functions; minimum TLS 1.2; public network access ``Disabled`` where every flow into
the resource is private; diagnostic settings; and a documentation link for each
recommendation. AWS resources get a smaller rule set (IAM roles, S3 public access,
encryption in transit); other providers get a note that no rules cover them.
"""

from __future__ import annotations

from typing import Any

from agents.base import Agent
from agents.synthforge.analysis.heap import FewerCollections, fewer_collections
from agents.synthforge.analysis.network_flow import (
    INTERNET,
    NetworkAnalysis,
    analyse,
    load_data,
    protocol_for,
    tokens,
    type_entry,
)
from agents.synthforge.models import (
    Flow,
    PrivateEndpoint,
    Resource,
    ResourceSecurity,
    ReviewedArchitecture,
    RoleAssignment,
    SecurityResult,
)


def _rules() -> dict[str, Any]:
    return load_data("security_rules.json")


def _rule_for(resource: Resource) -> dict[str, Any] | None:
    table = _rules().get(resource.provider)
    if not isinstance(table, dict):
        return None
    rule = type_entry(table, resource.resource_type, resource.kind)
    return rule if isinstance(rule, dict) else None


def _pick_role(rule: dict[str, Any], label: str) -> dict[str, Any] | None:
    """The role a flow labelled ``label`` needs: the first whose keywords match, else default."""
    roles: list[dict[str, Any]] = rule.get("roles", [])
    words = tokens(label)
    for role in roles:
        if words & set(role.get("when", [])):
            return role
    return next((r for r in roles if r.get("default")), None)


def _role_by_id(rule: dict[str, Any], role_id: str) -> dict[str, Any] | None:
    return next((r for r in rule.get("roles", []) if r["role_definition_id"] == role_id), None)


class _Builder:
    """Collects the recommendations of one architecture."""

    def __init__(self, arch: ReviewedArchitecture, network: NetworkAnalysis) -> None:
        self.arch = arch
        self.network = network
        self.resources = {r.id: r for r in arch.resources}
        self.out: dict[str, ResourceSecurity] = {}
        self.implied: dict[tuple[str, str], set[str]] = {}
        self.link: dict[str, str] = _rules()["links"]

    def entry(self, resource: Resource) -> ResourceSecurity:
        if resource.id not in self.out:
            self.out[resource.id] = ResourceSecurity(
                resource_id=resource.id, resource_type=resource.resource_type
            )
        return self.out[resource.id]

    @staticmethod
    def add_link(sec: ResourceSecurity, url: str | None) -> None:
        if url and url not in sec.links:
            sec.links.append(url)

    @staticmethod
    def add_note(sec: ResourceSecurity, note: str) -> None:
        if note not in sec.notes:
            sec.notes.append(note)

    # ------------------------------------------------------------------ per resource

    def resource(self, resource: Resource) -> None:
        sec = self.entry(resource)
        rule = _rule_for(resource)
        if rule is None:
            if resource.provider in ("azure", "aws"):
                self.add_note(
                    sec,
                    f"no security rules for {resource.resource_type}; review it by hand",
                )
            else:
                self.add_note(
                    sec,
                    f"no security rules cover provider {resource.provider!r}; "
                    "the rules cover Azure (and AWS in part)",
                )
            return
        for note in rule.get("notes", []):
            self.add_note(sec, note)
        for url in rule.get("links", []):
            self.add_link(sec, url)
        if rule.get("managed_identity"):
            sec.managed_identity = True
            self.add_link(sec, rule.get("managed_identity_link") or self.link["managed_identity"])
        if resource.provider == "azure":
            self._azure_network(resource, rule, sec)
        else:
            self._aws(rule, sec)
        if rule.get("min_tls_version"):
            sec.min_tls_version = rule["min_tls_version"]
            self.add_link(sec, rule.get("tls_link"))

    def _azure_network(
        self, resource: Resource, rule: dict[str, Any], sec: ResourceSecurity
    ) -> None:
        topology = self.network.topology
        pe = rule.get("private_endpoint")
        inbound = self.network.inbound(resource.id)
        if pe and resource.id in self.network.private_endpoints:
            sec.private_endpoint = PrivateEndpoint(
                group_id=pe["group_id"], private_dns_zone=pe["private_dns_zone"]
            )
            self.add_link(sec, self.link["private_endpoint_dns"])
            public = [f for f in inbound if not f.private]
            if public:
                sec.public_network_access = "Enabled"
                names = ", ".join(sorted({self._name(f.source) for f in public}))
                self.add_note(
                    sec,
                    f"public network access stays enabled: the flow(s) from {names} are not "
                    "private; put those on the virtual network, then disable it",
                )
            else:
                sec.public_network_access = "Disabled"
                self.add_link(sec, self.link["private_endpoint"])
        elif pe:
            if any(f.source == INTERNET for f in inbound):
                sec.public_network_access = "Enabled"
                self.add_note(
                    sec,
                    "reached from the internet: keep public access, restrict it to the "
                    "front door/gateway in front of it where there is one",
                )
            else:
                self.add_note(
                    sec,
                    "the diagram has no virtual network; consider one with a private "
                    f"endpoint (group '{pe['group_id']}', zone {pe['private_dns_zone']})",
                )
                self.add_link(sec, self.link["private_endpoint"])
        if rule.get("vnet_integration") and topology.vnet_ids:
            sec.vnet_integration = True
            vnet = topology.vnet(resource) or topology.vnet_ids[0]
            label = topology.containers[vnet].label if vnet in topology.containers else vnet
            self.add_note(sec, f"integrate with virtual network {label!r} for outbound traffic")
            self.add_link(sec, self.link["vnet_integration"])
        if rule.get("diagnostics"):
            sec.diagnostics = True
            self.add_link(sec, self.link["diagnostics"])
            workspaces = self._workspaces()
            where = f"Log Analytics workspace {workspaces[0]!r}" if workspaces else "Log Analytics"
            self.add_note(sec, f"send diagnostic logs and metrics to {where}")

    def _workspaces(self) -> list[str]:
        """Names of the Log Analytics workspaces drawn (found once, not per resource)."""
        found: list[str] | None = getattr(self, "_workspace_names", None)
        if found is None:
            found = [
                r.name
                for r in self.arch.resources
                if r.resource_type.lower() == "microsoft.operationalinsights/workspaces"
            ]
            self._workspace_names = found
        return found

    def _aws(self, rule: dict[str, Any], sec: ResourceSecurity) -> None:
        if rule.get("public_network_access"):
            sec.public_network_access = rule["public_network_access"]

    # ------------------------------------------------------------------ per flow

    def flow(self, flow: Flow) -> None:
        src = self.resources.get(flow.source)
        tgt = self.resources.get(flow.target)
        if src is None or tgt is None:
            return
        src_rule, tgt_rule = _rule_for(src), _rule_for(tgt)
        if tgt_rule is not None and src_rule is not None and src_rule.get("managed_identity"):
            self._grant(src, tgt, tgt_rule, _pick_role(tgt_rule, flow.label), flow)
            if flow.direction == "both" and tgt_rule.get("managed_identity") and src_rule:
                self._grant(tgt, src, src_rule, _pick_role(src_rule, flow.label), flow)
        elif src_rule is not None and tgt_rule is not None and tgt_rule.get("managed_identity"):
            reverse = src_rule.get("reverse_role")
            role = _role_by_id(src_rule, reverse) if reverse else None
            if role is not None or src_rule.get("identity_note") or src_rule.get("policy_actions"):
                self._grant(tgt, src, src_rule, role, flow)

    def _grant(
        self,
        principal: Resource,
        scope: Resource,
        scope_rule: dict[str, Any],
        role: dict[str, Any] | None,
        flow: Flow,
    ) -> None:
        sec = self.entry(principal)
        if principal.provider == "aws":
            actions = scope_rule.get("policy_actions")
            if actions:
                self.add_note(
                    sec,
                    f"IAM policy on its role: allow {', '.join(actions)} on {scope.name!r} "
                    f"({scope.resource_type}) only",
                )
            return
        note = scope_rule.get("identity_note")
        if note:
            self.add_note(sec, f"{scope.name}: " + note.format(principal=repr(principal.name)))
            for url in scope_rule.get("links", []):
                self.add_link(sec, url)
        if role is None:
            return
        sec.managed_identity = True
        reason = f"{principal.name!r} reaches {scope.name!r} ({flow.protocol}"
        reason += f" {flow.port})" if flow.port else ")"
        reason += "; least-privilege built-in role"
        if role.get("when") and tokens(flow.label) & set(role["when"]):
            reason += f" chosen from the connection label {flow.label.strip()!r}"
        elif flow.source == scope.id and flow.target == principal.id:
            reason += f" for {principal.name!r} pulling from {scope.name!r}"
            if scope_rule.get("reverse_reason"):
                reason += f": {scope_rule['reverse_reason']}"
        if role.get("data_plane"):
            reason += (
                "; this is a Cosmos DB data-plane role assignment "
                "(Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments), not Azure RBAC"
            )
        if scope_rule.get("role_reason"):
            reason += f"; {scope_rule['role_reason']}"
        assignment = RoleAssignment(
            principal=principal.id,
            scope=scope.id,
            role_name=role["role_name"],
            role_definition_id=role["role_definition_id"],
            reason=reason,
        )
        key = (principal.id, scope.id)
        implied = self.implied.setdefault(key, set())
        implied.update(role.get("implies", []))
        existing = [a for a in sec.role_assignments if (a.principal, a.scope) == key]
        if any(a.role_definition_id == assignment.role_definition_id for a in existing):
            return
        sec.role_assignments.append(assignment)
        sec.role_assignments = [
            a
            for a in sec.role_assignments
            if (a.principal, a.scope) != key or a.role_definition_id not in implied
        ]
        self.add_link(sec, role.get("link"))
        self.add_link(sec, self.link["built_in_roles"])

    def _name(self, resource_id: str) -> str:
        r = self.resources.get(resource_id)
        return r.name if r is not None else resource_id

    def result(self) -> SecurityResult:
        warnings: list[str] = []
        providers = {r.provider for r in self.arch.resources}
        if "aws" in providers:
            warnings.append(_rules()["_meta"]["scope"])
        others = sorted(providers - {"azure", "aws"})
        if others:
            warnings.append(f"no security rules cover provider(s) {', '.join(others)}")
        covered = sum(1 for r in self.arch.resources if _rule_for(r) is not None)
        total = len(self.arch.resources)
        confidence = 1.0 if total == 0 else 0.5 + 0.5 * covered / total
        ordered = [self.out[r.id] for r in self.arch.resources if r.id in self.out]
        return SecurityResult(resources=ordered, warnings=warnings, confidence=round(confidence, 3))


def recommend(arch: ReviewedArchitecture) -> SecurityResult:
    """Security recommendations for every resource of ``arch`` (pure, offline)."""
    builder = _Builder(arch, analyse(arch))
    for resource in arch.resources:
        builder.resource(resource)
    for flow in builder.network.flows:
        builder.flow(flow)
    for flow in _role_bearing_links(builder.network):
        builder.flow(flow)
    return builder.result()


_ROLE_BEARING = ("telemetry", "deployment")


def _role_bearing_links(network: NetworkAnalysis) -> list[Flow]:
    """Telemetry and deployment relationships, as the flows the role rules read.

    They are not listed as network traffic, but sending telemetry or pulling an image
    still needs a role (Monitoring Metrics Publisher on Application Insights, AcrPull on
    a registry).
    """
    out = []
    for rel in network.relationships:
        if rel.kind not in _ROLE_BEARING or rel.source not in network.topology.resources:
            continue
        target = network.topology.resources.get(rel.target)
        if target is None:
            continue
        protocol, port, reason = protocol_for(target, rel.label)
        out.append(
            Flow(
                source=rel.source,
                target=rel.target,
                protocol=protocol,
                port=port,
                private=False,
                label=rel.label,
                reason=f"{rel.kind}: {reason}",
            )
        )
    return out


class SecurityAgent(FewerCollections, Agent[ReviewedArchitecture, SecurityResult]):
    """Managed identities, least-privilege roles, private endpoints, TLS, diagnostics."""

    name = "security"
    description = "Security recommendations per resource (identity, roles, private endpoints)"
    input_model = ReviewedArchitecture
    output_model = SecurityResult

    async def process(self, data: ReviewedArchitecture) -> SecurityResult:
        with fewer_collections():
            return recommend(data)
