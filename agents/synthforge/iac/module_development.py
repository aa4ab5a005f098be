"""The ``module_development`` agent: Terraform and Bicep modules from an architecture analysis.

Input :class:`~agents.synthforge.models.ArchitectureAnalysis` (the ``combine`` output),
output :class:`~agents.synthforge.iac.models.GeneratedModules`. For every Azure resource
whose type has a module kind in ``data/iac_kinds.json`` it generates one module instance;
other resources are listed in ``skipped`` with the reason.

The code applies the security recommendations of the analysis: system-assigned managed
identities, the role assignments (with their built-in role definition ids), private
endpoints (group id and private DNS zone) in a subnet for them, minimum TLS 1.2, public
network access disabled wherever no flow from the internet needs it, and diagnostic
settings to a Log Analytics workspace (the diagram's, or one the code adds). Names, the
region and SKUs are variables with defaults; nothing secret is written (databases use
Microsoft Entra authentication, VMs an SSH public key variable).

Settings (``--set KEY=VALUE``):

* ``iac`` — ``terraform``, ``bicep`` or ``both`` (default ``both``);
* ``output_dir`` — write the files there (atomically: into a temporary folder beside it,
  renamed into place when complete); default: not written, only returned;
* ``location`` (alias ``region``, default ``westeurope``), ``name_prefix`` (default from
  the diagram name), ``resource_group_name`` (default ``rg-<prefix>``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast, get_args

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from agents.base import Agent, AgentSettings
from agents.errors import InputError
from agents.synthforge.analysis.children import drawn_parent
from agents.synthforge.iac.kinds import SPECS
from agents.synthforge.iac.models import (
    AppliedSecurity,
    GeneratedFile,
    GeneratedModules,
    IacKind,
    SkippedResource,
)
from agents.synthforge.iac.plan import Grant, Instance, Plan
from agents.synthforge.models import (
    ArchitectureAnalysis,
    Flow,
    Resource,
    ResourceSecurity,
    RoleAssignment,
    VNet,
)

DEFAULT_LOCATION = "westeurope"
INTERNET = "internet"  # the pseudo resource id network_flow gives the public internet


class ModuleDevelopmentSettings(AgentSettings):
    """Settings of the ``module_development`` agent (empty text means the default)."""

    iac: IacKind = Field(
        default="both", description="Languages to generate: terraform, bicep or both"
    )
    output_dir: str | None = Field(
        default=None,
        description="Write the files into this folder (atomically); default: only returned",
    )
    location: str | None = Field(
        default=None, description=f"Azure region of the resources (default {DEFAULT_LOCATION})"
    )
    region: str | None = Field(default=None, description="Alias of location")
    name_prefix: str | None = Field(
        default=None, description="Prefix of resource names (default: from the diagram name)"
    )
    resource_group_name: str | None = Field(
        default=None, description="Resource group name (default rg-<prefix>)"
    )

    @field_validator("iac", mode="before")
    @classmethod
    def _iac_kind(cls, value: Any) -> str:
        text = str(value).strip().lower()
        allowed = get_args(IacKind)
        if text not in allowed:
            raise PydanticCustomError(
                "iac_kind", "expected one of {allowed}", {"allowed": ", ".join(allowed)}
            )
        return text


SettingsLike = ModuleDevelopmentSettings | Mapping[str, Any] | None


def module_settings(settings: SettingsLike) -> ModuleDevelopmentSettings:
    """``settings`` as :class:`ModuleDevelopmentSettings` (a mapping is validated)."""
    if isinstance(settings, ModuleDevelopmentSettings):
        return settings
    checked = ModuleDevelopmentAgent.check_settings(dict(settings or {}))
    return cast(ModuleDevelopmentSettings, checked)


def load_kinds() -> dict[str, dict[str, Any]]:
    """ARM type → module kind entry, from ``data/iac_kinds.json``."""
    from agents.synthforge.analysis.network_flow import load_data

    kinds: dict[str, dict[str, Any]] = load_data("iac_kinds.json")["kinds"]
    return kinds


def module_kind(entry: dict[str, Any], resource: Resource) -> str:
    """The module kind of ``resource``, its type's ``entry``: the one ``by_kind`` gives a
    word of its ARM kind (comma-separated, case aside: ``RouteServer``, a virtual hub that
    is a Route Server; ``functionapp,linux``, an App Service app that is a function app),
    else the type's."""
    by_kind = {word.lower(): kind for word, kind in entry.get("by_kind", {}).items()}
    for word in (resource.kind or "").lower().split(","):
        if word.strip() in by_kind:
            return str(by_kind[word.strip()])
    return str(entry["kind"])


def _not_generated() -> dict[str, str]:
    """ARM type → why no module is generated for it, from ``data/iac_kinds.json``."""
    from agents.synthforge.analysis.network_flow import load_data

    reasons: dict[str, str] = load_data("iac_kinds.json")["not_generated"]
    return reasons


def _kind_entry(resource_type: str) -> dict[str, Any] | None:
    lowered = resource_type.lower()
    for key, entry in load_kinds().items():
        if key.lower() == lowered:
            return entry
    return None


def slug(text: str, *, sep: str = "-") -> str:
    """Lower-case words of ``text`` joined by ``sep`` ("Azure Key Vault" → azure-key-vault)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return sep.join(words)


def default_name(prefix: str, label: str, rule: str, max_len: int, unique: str) -> str:
    """A name that follows Azure's rule for the kind, with a short stable suffix."""
    suffix = hashlib.sha256(unique.encode()).hexdigest()[:5]
    if rule in ("alnum", "alpha"):
        body = re.sub(r"[^a-z0-9]", "", label.lower())
        return (prefix + body)[: max_len - len(suffix)] + suffix
    if rule == "dns":  # a placeholder domain, to be replaced (the module's note says so)
        return f"{slug(label)[:40].strip('-')}-{suffix}.example.com"
    body = slug(label)
    name = f"{prefix}-{body}" if body else prefix
    name = name[: max_len - len(suffix) - 1].strip("-")
    return f"{name}-{suffix}"


def _unique_symbol(base: str, used: set[str]) -> str:
    base = re.sub(r"^[^a-z]+", "", base) or "res"
    symbol, n = base, 2
    while symbol in used:
        symbol, n = f"{base}_{n}", n + 1
    used.add(symbol)
    return symbol


def build_plan(analysis: ArchitectureAnalysis, settings: SettingsLike) -> Plan:
    """Decide modules, names, identities, role assignments and network access."""
    typed = module_settings(settings)
    source = analysis.architecture.source
    stem = Path(source).stem.split("__")[-1] if source else "architecture"
    prefix = typed.name_prefix or slug(stem)[:12].strip("-") or "forgeflow"
    location = typed.location or typed.region or DEFAULT_LOCATION
    plan = Plan(
        source=source,
        prefix=prefix,
        location=location,
        resource_group=typed.resource_group_name or f"rg-{prefix}",
    )
    security: dict[str, ResourceSecurity] = {}
    if analysis.security is not None:
        security = {s.resource_id: s for s in analysis.security.resources}
    flows = analysis.network.flows if analysis.network is not None else []
    names = {r.id: r.name for r in analysis.architecture.resources}
    used: set[str] = set()
    by_id: dict[str, Instance] = {}
    for resource in analysis.architecture.resources:
        if resource.provider != "azure":
            plan.skipped.append(
                SkippedResource(
                    resource_id=resource.id,
                    resource_type=resource.resource_type,
                    reason=f"provider {resource.provider!r}: the modules target Azure (azurerm)",
                )
            )
            continue
        entry = _kind_entry(resource.resource_type)
        if entry is None:
            plan.skipped.append(
                SkippedResource(
                    resource_id=resource.id,
                    resource_type=resource.resource_type,
                    reason=_not_generated().get(
                        resource.resource_type, "no module template for this type; write it by hand"
                    ),
                )
            )
            continue
        sec = security.get(resource.id)
        kind = module_kind(entry, resource)
        symbol = _unique_symbol(f"{kind}_{slug(resource.name, sep='_')}"[:48], used)
        inst = Instance(
            resource=resource,
            kind=kind,
            symbol=symbol,
            name_default=default_name(
                entry["prefix"],
                f"{prefix} {resource.name}",
                entry["name"],
                entry["max"],
                f"{source}|{resource.id}",
            ),
            sku_default=entry["sku"],
            identity=bool(sec and sec.managed_identity) or SPECS[kind].always_identity,
            private_endpoint=sec.private_endpoint if sec else None,
        )
        _public_access(plan, inst, sec, [f for f in flows if f.target == resource.id], names)
        plan.instances.append(inst)
        by_id[resource.id] = inst
        if kind == "log_analytics_workspace" and plan.workspace is None:
            plan.workspace = inst
        if kind == "virtual_network" and plan.network is None:
            plan.network = inst
    _fold_children(plan, by_id)
    if plan.instances and plan.workspace is None:
        plan.workspace = _added(plan, "log_analytics_workspace", "diagnostics", used)
    if plan.network is None and any(
        i.private_endpoint or i.kind in _SUBNET_KINDS for i in plan.instances
    ):
        plan.network = _added(plan, "virtual_network", "network", used)
    _address_spaces(plan, analysis.network.vnets if analysis.network is not None else [])
    _hub_prefixes(plan)
    for inst in plan.instances:
        in_network = inst.kind in SPECS and "vnet" in SPECS[inst.kind].inputs  # own subnet
        unreachable = not inst.public_access and inst.private_endpoint is None and not in_network
        said = any(w.startswith(f"{inst.resource.name!r}: reached over") for w in plan.warnings)
        if inst.kind in _PUBLIC_ACCESS_KINDS and unreachable and not said:
            plan.warnings.append(
                f"{inst.resource.name!r}: public network access is disabled and the "
                "analysis gives it no private endpoint, so nothing can reach it; add a "
                "private endpoint (or VNet integration) or enable public access"
            )
        if inst.kind in SPECS and SPECS[inst.kind].note:  # what its module leaves to you
            plan.warnings.append(f"{inst.resource.name!r} ({inst.kind}): {SPECS[inst.kind].note}")
    for inst in list(plan.instances):
        spec = SPECS.get(inst.kind)
        if spec is not None and spec.parent_kind is not None:
            inst.parent = _parent_of(plan, inst, spec.parent_kind, used)
    for sec in security.values():
        for ra in sec.role_assignments:
            _grant(plan, by_id, ra)
    return plan


def _fold_children(plan: Plan, by_id: dict[str, Instance]) -> None:
    """A child resource drawn on an instance whose kind deploys such children by name
    (``KindSpec.children``: a database drawn on its SQL server) joins that instance's
    module instead of getting one of its own; the output's warnings say so. Public network
    access the child needs is the parent's too (one endpoint serves both)."""
    folds = {s.children.arm_type.casefold(): k for k, s in SPECS.items() if s.children}
    parents: dict[str, list[Instance]] = {}
    for inst in plan.instances:
        if inst.kind in folds.values() and not inst.added:
            parents.setdefault(inst.kind, []).append(inst)
    folded: set[int] = set()
    for child in plan.instances:
        kind = folds.get(child.resource.resource_type.casefold())
        if kind is None or child.added or kind not in parents:
            continue
        found = drawn_parent(child.resource, [p.resource for p in parents[kind]])
        parent = next((p for p in parents[kind] if p.resource is found), None)
        if parent is None:
            continue
        kids = SPECS[kind].children
        assert kids is not None
        label = child.resource.name.rsplit("/", 1)[-1]
        prefix = "" if slug(label).startswith(kids.prefix) else kids.prefix  # sqldb-orders
        name = default_name(
            prefix, label, kids.rule, kids.max, f"{plan.source}|{child.resource.id}"
        )
        parent.children.append(name)
        if child.public_access and not parent.public_access:
            parent.public_access, parent.public_reason = True, child.public_reason
        parent.public_flows += child.public_flows
        folded.add(id(child))
        del by_id[child.resource.id]
        plan.warnings.append(
            f"{child.resource.name!r} is drawn on {parent.resource.name!r}: that module "
            f"deploys it, as {name!r} (input {parent.symbol}_{kids.variable})"
        )
    if folded:
        plan.instances = [i for i in plan.instances if id(i) not in folded]


def _public_access(
    plan: Plan,
    inst: Instance,
    sec: ResourceSecurity | None,
    inbound: list[Flow],
    names: dict[str, str],
) -> None:
    """Public network access only where a flow from the internet reaches ``inst`` directly.

    Traffic from the diagram's own resources does not need it, whatever networking the
    diagram draws for it: they reach the resource over a private endpoint or VNet
    integration (a warning names them where the analysis gives the resource no private
    endpoint). A ``Disabled`` decision of the security analysis stands. The flows that
    need it are kept (``public_flows``): the suppression of the public-access checks
    cites them.
    """
    internet = [f for f in inbound if f.source == INTERNET and not f.private]
    if internet and not (sec is not None and sec.public_network_access == "Disabled"):
        inst.public_access = True
        inst.public_flows = [
            f"{INTERNET} → {inst.symbol} ({f.protocol}/{f.port or 'any'})" for f in internet
        ]
        inst.public_reason = "reached directly from the internet: " + "; ".join(inst.public_flows)
        return
    inst.public_access = False
    others = sorted({f.source for f in inbound if not f.private})
    if others and inst.private_endpoint is None:
        plan.warnings.append(
            f"{inst.resource.name!r}: reached over public networking from "
            f"{', '.join(repr(names.get(o, o)) for o in others)} in the diagram, but only "
            "traffic from the internet needs public network access, so it is disabled; "
            "give those a private path (a private endpoint for it, VNet integration for them)"
        )


_SUBNET_KINDS = {
    spec.kind for spec in SPECS.values() if {"subnet", "vnet", "pe_subnet"} & set(spec.inputs)
}


def address_space_of(resource: Resource) -> str | None:
    """The address space the analysis gives a virtual network, when it gives one."""
    for name in ("address_space", "address_prefix", "cidr"):
        value = getattr(resource, name, None)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and re.fullmatch(r"\d+\.\d+\.\d+\.\d+/\d+", value):
            return value
    return None


def _address_spaces(plan: Plan, vnets: list[VNet]) -> None:
    """Each virtual network its own address space: the analysis's, else 10.N.0.0/16.

    The analysis's is the first CIDR named on the VNet boundary that holds the network's
    icon (``network_flow``'s ``vnets``), or one on the resource itself. Without one,
    networks of one diagram get 10.0.0.0/16, 10.1.0.0/16, … so that they can be peered;
    the output's warnings say so.
    """
    networks = [i for i in plan.instances if i.kind == "virtual_network"]

    def named_space(inst: Instance) -> str | None:
        res = inst.resource
        if inst.added:  # the network added for the diagram: its one named VNet, if any
            named = [v for v in vnets if v.address_space]
            return named[0].address_space[0] if len(named) == 1 else None
        for vnet in vnets:
            held = res.id in vnet.resources or vnet.id in res.containers or vnet.id == res.id
            if vnet.address_space and (held or vnet.name == res.name):
                return vnet.address_space[0]
        return address_space_of(res)

    def given_space(inst: Instance) -> str | None:
        space = named_space(inst)
        # the modules' subnets (/24 workload and endpoints, /26 and /27 edges) need a /16
        return space if space and int(space.rsplit("/", 1)[1]) <= 16 else None

    taken = {space for i in networks if (space := given_space(i))}
    n = 0
    for inst in networks:
        given = given_space(inst)
        if given:
            inst.sku_default = given
            continue
        small = named_space(inst)
        if small:
            plan.warnings.append(
                f"{inst.resource.name!r}: the diagram names {small}, smaller than the /16 "
                "the modules lay their subnets out in; a default is used instead"
            )
        while f"10.{n}.0.0/16" in taken:
            n += 1
        inst.sku_default = f"10.{n}.0.0/16"
        taken.add(inst.sku_default)
        plan.warnings.append(
            f"{inst.resource.name!r}: the analysis gives no address space; "
            f"{inst.sku_default} is a default (variable {inst.symbol}_sku)"
        )


#: The default prefixes of Virtual WAN hubs, in order: 10.N.0.0/23, then the other
#: private ranges (RFC 1918).
_HUB_PREFIXES = [
    *(ipaddress.ip_network(f"10.{n}.0.0/23") for n in range(256)),
    *(ipaddress.ip_network(f"172.{n}.0.0/23") for n in range(16, 32)),
    ipaddress.ip_network("192.168.0.0/23"),
]


def _hub_prefixes(plan: Plan) -> None:
    """Each Virtual WAN hub its address prefix: the first CIDR of its label (a /24 or
    larger, as a virtual network icon's is read), else the first of
    :data:`_HUB_PREFIXES` that overlaps none of the plan's networks and hubs (a warning
    says so).
    """
    from agents.synthforge.analysis.addresses import cidrs_in

    taken = [
        ipaddress.ip_network(i.sku_default, strict=False)
        for i in plan.instances
        if i.kind == "virtual_network"
    ]
    for inst in (i for i in plan.instances if i.kind == "virtual_hub"):
        given = next(iter(cidrs_in(inst.resource.name)), None)
        if given and int(given.rsplit("/", 1)[1]) <= 24:
            inst.sku_default = given
        else:
            free = (str(c) for c in _HUB_PREFIXES if not any(c.overlaps(t) for t in taken))
            inst.sku_default = next(free, "")
            apart = "apart from the networks'" if inst.sku_default else "that OVERLAPS them"
            inst.sku_default = inst.sku_default or str(_HUB_PREFIXES[-1])
            plan.warnings.append(
                f"{inst.resource.name!r}: the analysis gives the hub no address prefix "
                f"(a /24 or larger); {inst.sku_default} is a default {apart} "
                f"(variable {inst.symbol}_sku)"
            )
        taken.append(ipaddress.ip_network(inst.sku_default, strict=False))


def _parent_of(plan: Plan, inst: Instance, kind: str, used: set[str]) -> Instance:
    """The instance of ``kind`` that ``inst`` belongs to: the one the diagram draws it on
    (:func:`~agents.synthforge.analysis.children.drawn_parent`: its ARM ``parent/child``
    name, the enclosing box, the only one), else the first of the plan, else one added
    for it."""
    candidates = [i for i in plan.instances if i.kind == kind]
    drawn = drawn_parent(inst.resource, [c.resource for c in candidates if not c.added])
    for candidate in candidates:
        if drawn is not None and candidate.resource.id == drawn.id:
            return candidate
    for candidate in candidates:
        if candidate.resource.id in inst.resource.containers:
            return candidate
    if candidates:
        return candidates[0]
    return _added(plan, kind, f"{inst.resource.name} {kind.replace('_', ' ')}", used)


def _added(plan: Plan, kind: str, label: str, used: set[str]) -> Instance:
    arm = next(t for t, e in load_kinds().items() if e["kind"] == kind)
    entry = load_kinds()[arm]
    resource = Resource(
        id=f"added:{kind}",
        name=label,
        provider="azure",
        resource_type=arm,
        mapping_source="module_development (added)",
    )
    inst = Instance(
        resource=resource,
        kind=kind,
        symbol=_unique_symbol(kind, used),
        name_default=default_name(
            entry["prefix"], f"{plan.prefix} {label}", entry["name"], entry["max"], plan.source
        ),
        sku_default=entry["sku"],
        added=True,
    )
    plan.instances.append(inst)
    return inst


def _grant(plan: Plan, by_id: dict[str, Instance], ra: RoleAssignment) -> None:
    principal, scope = by_id.get(ra.principal), by_id.get(ra.scope)
    if principal is None or scope is None:
        missing = ra.principal if principal is None else ra.scope
        plan.warnings.append(
            f"role {ra.role_name!r} ({ra.principal} → {ra.scope}) not generated: "
            f"no module for {missing}"
        )
        return
    principal.identity = True
    plan.grants.append(
        Grant(
            principal=principal,
            scope=scope,
            role_name=ra.role_name,
            role_definition_id=ra.role_definition_id,
            data_plane=scope.kind == "cosmosdb_account" and "cosmos db" in ra.role_name.lower(),
        )
    )


def applied_measures(plan: Plan) -> list[AppliedSecurity]:
    """What the generated code does for each instance, for the output document."""
    out = []
    for inst in plan.instances:
        spec = SPECS[inst.kind]
        measures = ["min TLS 1.2"] if spec.min_tls else []
        if inst.identity:
            measures.append("system-assigned managed identity")
        for g in plan.grants:
            if g.principal is inst:
                measures.append(
                    f"role {g.role_name!r} ({g.role_definition_id}) on {g.scope.symbol}"
                )
        if inst.private_endpoint is not None:
            pe = inst.private_endpoint
            measures.append(f"private endpoint (group {pe.group_id!r}, zone {pe.private_dns_zone})")
        if inst.kind in _PUBLIC_ACCESS_KINDS:
            measures.append(
                "public network access " + ("enabled" if inst.public_access else "disabled")
            )
        if inst.kind in _DIAGNOSTIC_KINDS and plan.workspace is not None:
            measures.append(f"diagnostic settings to {plan.workspace.symbol}")
        if spec.entra_only:
            measures.append("Microsoft Entra authentication only (no password)")
        measures += spec.measures
        out.append(
            AppliedSecurity(
                resource_id=inst.resource.id,
                resource_type=inst.resource.resource_type,
                module=inst.symbol,
                measures=measures,
                public_network_access="Enabled" if inst.public_access else "Disabled",
                public_access_reason=inst.public_reason,
            )
        )
    return out


#: Kinds whose public network access the flow analysis decides (said in the output).
_PUBLIC_ACCESS_KINDS = {
    k for k, spec in SPECS.items() if {"public", "private_endpoint"} & set(spec.inputs)
}
_DIAGNOSTIC_KINDS = {k for k, spec in SPECS.items() if "diagnostics" in spec.inputs}


def render(plan: Plan, iac: str) -> list[GeneratedFile]:
    """The files of ``plan`` in the chosen language(s)."""
    files: list[GeneratedFile] = []
    if iac in ("terraform", "both"):
        from agents.synthforge.iac import terraform
        from agents.synthforge.iac.hcl_format import format_hcl

        prefix = "terraform/" if iac == "both" else ""
        files += [
            GeneratedFile(path=prefix + path, content=format_hcl(text), language="terraform")
            for path, text in terraform.render(plan)
        ]
    if iac in ("bicep", "both"):
        from agents.synthforge.iac import bicep

        prefix = "bicep/" if iac == "both" else ""
        files += [
            GeneratedFile(path=prefix + path, content=text, language="bicep")
            for path, text in bicep.render(plan)
        ]
    return files


# --------------------------------------------------------------------------- writing


#: The manifest Forgeflow leaves in a folder of generated modules: the files it wrote.
MANIFEST = ".forgeflow-generated.json"


def _replaceable(output_dir: Path, *, force: bool = False) -> None:
    """Refuse to replace a folder that holds anything Forgeflow did not write there.

    A folder may be replaced when it is empty, or when it holds exactly the files listed
    in the manifest of an earlier generation (plus the manifest), each unchanged since it
    was written (the manifest records their sha256). Anything else — a user's own files,
    a generated file edited by hand, a repository, ``.`` — is refused, so nothing is ever
    lost; ``force`` allows replacing edited generated files (never foreign ones).
    """
    present = {p.relative_to(output_dir).as_posix() for p in output_dir.rglob("*") if p.is_file()}
    if not present:
        return
    listed: set[str] = set()
    hashes: dict[str, str] = {}
    manifest = output_dir / MANIFEST
    if manifest.is_file():
        try:
            doc = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            doc = None
        if isinstance(doc, dict):
            listed = {str(f) for f in doc.get("files", []) or []}
            raw = doc.get("sha256")
            hashes = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    foreign = sorted(present - listed - {MANIFEST})
    if not manifest.is_file() or foreign:
        example = foreign[0] if foreign else sorted(present)[0]
        raise InputError(
            f"{output_dir}: output_dir holds files Forgeflow did not generate (e.g. {example}); "
            "choose a new or empty folder, or one written by an earlier run"
        )
    if force:
        return
    for name in sorted(present - {MANIFEST}):
        recorded = hashes.get(name)
        if recorded is None or _sha256(output_dir / name) != recorded:
            raise InputError(
                f"{output_dir / name}: changed since Forgeflow generated it (or its hash is "
                "not recorded); keep your edit elsewhere, or regenerate over it with "
                "--set write_modules.force=true"
            )


def check_output_dir(output_dir: Path, *, force: bool = False) -> None:
    """Raise :class:`InputError` now if :func:`write_files` would refuse ``output_dir``
    (a file, a folder with files Forgeflow did not generate, or one with a generated file
    edited since, unless ``force``), before any work is done."""
    output_dir = Path(output_dir).absolute()
    if output_dir.exists() and not output_dir.is_dir():
        raise InputError(f"{output_dir}: output_dir exists and is not a folder")
    if output_dir.is_dir():
        _replaceable(output_dir, force=force)


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_files(output_dir: Path, files: list[GeneratedFile], *, force: bool = False) -> None:
    """Write ``files`` under ``output_dir`` all at once, or nothing.

    They go into a temporary folder beside ``output_dir`` first, with a manifest
    (``.forgeflow-generated.json``) listing them; only when every file is written does
    that folder replace ``output_dir``. An existing ``output_dir`` is replaced only when
    it is empty or holds exactly an earlier generation (see the manifest); a folder with
    other files, or with a generated file changed since (its sha256 differs from the
    manifest's), is refused unless ``force``. Raises :class:`InputError` when the folder
    cannot be written.
    """
    output_dir = Path(output_dir).absolute()
    parent = output_dir.parent
    check_output_dir(output_dir, force=force)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", dir=parent))
    except OSError as exc:
        raise InputError(f"{output_dir}: cannot write the output folder: {_why(exc)}") from None
    try:
        for f in files:
            target = staging / f.path
            if not target.resolve().is_relative_to(staging.resolve()) or f.path == MANIFEST:
                raise InputError(f"{f.path}: generated path leaves the output folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.content, encoding="utf-8")
        (staging / MANIFEST).write_text(
            json.dumps(
                {
                    "generator": "forgeflow",
                    "files": sorted(f.path for f in files),
                    "sha256": {
                        f.path: _sha256(staging / f.path) for f in sorted(files, key=_path_of)
                    },
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        old: Path | None = None
        if output_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.old.", dir=parent))
            os.rmdir(old)
            os.replace(output_dir, old)
        os.replace(staging, output_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(f"{output_dir}: cannot write the output folder: {_why(exc)}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _path_of(f: GeneratedFile) -> str:
    return f.path


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def iac_setting(settings: SettingsLike) -> IacKind:
    """The ``iac`` setting, checked."""
    return module_settings(settings).iac


def generate(analysis: ArchitectureAnalysis, settings: SettingsLike) -> GeneratedModules:
    """Plan, render and (with ``output_dir``) write the modules for ``analysis``."""
    typed = module_settings(settings)
    iac = typed.iac
    plan = build_plan(analysis, typed)
    files = render(plan, iac) if any(not i.added for i in plan.instances) else []
    from agents.synthforge.iac.fixes import secure_defaults

    files, defaults = secure_defaults(files)
    from agents.synthforge.iac.suppressions import suppress

    files = suppress(files, plan)
    warnings = list(plan.warnings)
    for inst in plan.instances:
        if inst.function_app:
            warnings.append(
                f"{inst.resource.name!r} is a function app (Linux): its runtime's storage "
                f"account is the input {inst.symbol}_runtime_storage_account_name; add its "
                "worker runtime and its triggers' connections to the app settings by hand"
            )
    if not files:
        warnings.append("no Azure resource with a module template: nothing generated")
    output_dir = typed.output_dir
    if output_dir:
        write_files(Path(output_dir), files)
    total = len([r for r in analysis.architecture.resources if r.provider == "azure"])
    covered = len([i for i in plan.instances if not i.added])
    return GeneratedModules(
        source=plan.source,
        iac=iac,
        files=files,
        output_dir=output_dir or None,
        applied=applied_measures(plan),
        skipped=plan.skipped,
        fixes=defaults,
        warnings=warnings,
        confidence=round(covered / total, 3) if total else 0.0,
    )


class ModuleDevelopmentAgent(Agent[ArchitectureAnalysis, GeneratedModules]):
    """Terraform (azurerm) and Bicep modules that apply the security recommendations."""

    name = "module_development"
    description = "Terraform/Bicep modules from the architecture analysis (secure defaults)"
    input_model = ArchitectureAnalysis
    output_model = GeneratedModules
    settings_model = ModuleDevelopmentSettings
    settings: ModuleDevelopmentSettings

    async def process(self, data: ArchitectureAnalysis) -> GeneratedModules:
        return generate(data, self.settings)
