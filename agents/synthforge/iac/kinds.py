"""Resource kinds described as data, and the two small emitters that render them.

A :class:`KindSpec` says what one module deploys — the azurerm resource and the ARM
type@apiVersion, the settings of each (a tree: attributes and nested blocks for HCL,
properties for Bicep), the module's inputs, extra variables and helper resources — and
:func:`hcl_resource` / :func:`bicep_resource` render it. Adding a kind is one entry in
:data:`SPECS` (plus its ARM type in ``data/iac_kinds.json``). Every kind is described
here, none is a template: :mod:`~agents.synthforge.iac.terraform` and
:mod:`~agents.synthforge.iac.bicep` add only what the kinds share (the private endpoint,
the diagnostic setting, the customer-managed key's identity) and the root module.

Besides resources and settings, an entry says what the module gives and takes around
them: further outputs (:class:`Output`, e.g. a network's subnet ids), the principal id
output where it is not the system-assigned identity's (``principal``), the Bicep
symbol of the main resource (``bicep_main_symbol``) and whether the root's SKU variable
says ``sku_help`` too (``root_sku_help``). A helper stands before the main
resource, after it (a child such as a database, or what refers to it, such as a
subnet's association with its NSG), or last (after the private endpoint and the
diagnostic setting); it may be one language's only (an empty ``terraform`` or
``bicep``; where the two languages place a resource apart, it is two such helpers), a
Terraform data source, or a Bicep ``existing`` resource, with a comment said above it.
What one language cannot deploy is said in the other's comment (``bicep_comment``).

Values are source text: ``"var.sku"`` or ``'"Standard"'`` in HCL, ``"sku"`` or
``"'Standard'"`` in Bicep. In a tree a ``dict`` is a nested block (HCL) or object
(Bicep), a ``list`` of dicts is repeated blocks (HCL) or an array (Bicep).

Inputs (what the root module passes): ``sku``; ``public`` (public network access, from
the flow analysis); ``diagnostics`` (a diagnostic setting to the workspace);
``private_endpoint``; ``workspace`` (the workspace id without diagnostics); ``subnet``
(the workload subnet of the network); ``vnet`` (the network's name and a prefix for a
subnet of the module's own, e.g. ``GatewaySubnet``); ``parent`` (the instance of
``parent_kind`` it belongs to, e.g. the storage account of a blob container); ``cmk``
(encryption with a customer-managed key, the root module's ``customer_managed_key_id``
and ``customer_managed_key_vault_id``, read by a user-assigned identity the module
creates and grants use of that key). A kind's own :class:`Variable` may be required
(the root module asks for it per instance, or once for every instance of the kind:
``shared``, e.g. the VMs' SSH key), optional (Terraform ``null``), limited to
``allowed`` values, set by the root module where the instance has public network access
(``if_public``), or, in Bicep, computed by the root from the instance's address space
(``subnet``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

Tree = dict[str, Any]


@dataclass(frozen=True)
class Variable:
    """An extra module variable: snake_case name (camelCase in Bicep), type, default.

    A default of None makes it required: the root module declares it without a default
    (``<instance>_<name>``) and passes it on, so nothing is made up for the user.
    """

    name: str
    type: str  # string, number, bool
    description: str
    default: str | int | bool | list[str] | None = None
    languages: tuple[str, ...] = ("terraform", "bicep")  # the modules that take it
    allowed: tuple[str, ...] = ()  # the only values it takes (Bicep: @allowed)
    #: What the root module passes for an instance with public network access (None:
    #: nothing, the default stands).
    if_public: str | int | bool | None = None
    optional: bool = False  # Terraform: default null (the module falls back on its own)
    #: Required and the same for every instance of the kind: the root module's variable
    #: (declared once, e.g. ``sql_alert_email_addresses``, the VMs' ``admin_ssh_public_key``)
    #: every instance passes, with its description; empty: ``<instance>_<name>``.
    shared: str = ""
    shared_description: str = ""
    #: Bicep: the root passes the prefix of subnet (newbits, netnum) of the instance's
    #: address space (its sku), computed there (the Bicep parser checkov uses knows no
    #: ``cidrSubnet``); the Terraform module computes it with ``cidrsubnet``.
    subnet: tuple[int, int] | None = None


@dataclass(frozen=True)
class Helper:
    """A resource the module deploys besides the main one (a public IP, a subnet).

    An empty ``bicep`` type: Terraform only (what Bicep says as a property of the main
    resource, such as a subnet's network security group). An empty ``terraform`` type:
    Bicep only (what the azurerm resource says as its own arguments, such as a Route
    Server's IP configuration; with ``bicep_parent="main"`` a child of the main resource,
    placed ``after`` it). Where the two languages place one resource apart (the network's
    NSG: after the network in Terraform, before it in Bicep, whose subnets name it), it
    is two helpers, one a language.
    """

    terraform: str
    bicep_symbol: str
    bicep: str
    tf_body: Tree
    bicep_body: Tree
    located: bool = True  # takes location and tags
    tf_common: tuple[str, ...] = ("location", "resource_group_name", "tags")
    tf_name: str = "this"
    bicep_parent: str | None = None  # Bicep symbol of its parent (an existing one, or main)
    named: bool = True  # takes a name (an association does not)
    comment: str = ""  # said above it (lines apart by "\n"), in both languages
    #: Where it stands: "before" the main resource, "after" it (a child, or what refers to
    #: it), or "last", after the private endpoint and the diagnostic setting.
    place: str = "before"
    block: str = "resource"  # "data": a Terraform data source
    existing: bool = False  # Bicep: an existing resource, read and not deployed
    #: Repeated once for each value of a list (HCL expression, Bicep expression): the
    #: bodies name the value ``each.value`` (HCL) and ``item`` (Bicep).
    each: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class Output:
    """A module output: snake_case name (camelCase in Bicep), value in each language."""

    name: str
    terraform: str
    bicep: str
    description: str


@dataclass(frozen=True)
class Children:
    """Child resources the diagram draws on an instance, which its module deploys itself
    (the databases drawn on a SQL server), by name.

    A child of ``arm_type`` drawn on an instance of the kind
    (:func:`~agents.synthforge.analysis.children.drawn_parent`) gets no module of its
    own: its name, made by Azure's rule for it (``prefix``, ``rule``, ``max``), joins the
    list the root module passes in ``variable`` (a root variable per instance, its
    default the drawn children's names); an empty list keeps the module's own default.
    """

    arm_type: str
    variable: str
    description: str  # of the module's variable
    root_description: str  # of the root module's variable, before "(<instance>)"
    prefix: str
    rule: str = "hyphen"
    max: int = 63


@dataclass(frozen=True)
class KindSpec:
    """One module kind, for both languages."""

    kind: str
    terraform: str
    bicep: str  # Type@apiVersion
    tf_body: Tree
    bicep_body: Tree
    inputs: tuple[str, ...] = ()
    logs: bool = False  # diagnostic logs (allLogs) besides metrics
    identity: bool = False  # a system-assigned identity, its principal id an output
    located: bool = True  # has a location (Bicep)
    #: The common azurerm arguments it takes, of location, resource_group_name and tags.
    tf_common: tuple[str, ...] = ("location", "resource_group_name", "tags")
    variables: tuple[Variable, ...] = ()
    helpers: tuple[Helper, ...] = ()
    parent_kind: str | None = None
    subnet_newbits: int = 8  # size of the own subnet ("vnet"): /16 + newbits
    subnet_netnum: int = 10  # its number inside the address space
    bicep_scope: str | None = None  # 'subscription' for a resource group
    sku_help: str = "SKU"
    note: str = ""  # said in the module's comment and the output's warnings
    #: The principal id output (Terraform, Bicep expression) where it is not the
    #: system-assigned identity's of ``identity`` (AKS: its kubelet identity, which pulls
    #: images), or where the bodies write the identity themselves.
    principal: tuple[str, str] = ("", "")
    outputs: tuple[Output, ...] = ()  # besides id, name and the principal id
    root_sku_help: bool = False  # the root's sku variable says sku_help too (else "SKU")
    bicep_comment: str = ""  # said above the main resource in Bicep (lines apart by "\n")
    bicep_sku_prefix: str = ""  # before the plan's SKU in Bicep (Standard_ + GRS)
    tf_locals: tuple[tuple[str, str], ...] = ()  # (name, value) of a locals block (HCL)
    #: The Bicep symbol of the main resource: checkov's Bicep graph resolves a symbol over
    #: every file of the folder (the last file's wins), so a module whose checks follow
    #: the edges from children to their parent (``parent: main``) names it uniquely.
    bicep_main_symbol: str = "main"
    bicep_skus: tuple[str, ...] = ()  # the only SKUs the Bicep module allows (@allowed)
    children: Children | None = None  # drawn children its module deploys by name
    #: What the output's applied-security list says of every instance of the kind: its
    #: ``measures`` besides the shared ones, minimum TLS 1.2 (``min_tls``), Microsoft
    #: Entra authentication only (``entra_only``), a managed identity whatever the
    #: security analysis says (``always_identity``).
    measures: tuple[str, ...] = ()
    min_tls: bool = False
    entra_only: bool = False
    always_identity: bool = False

    @property
    def arm_type(self) -> str:
        return self.bicep.split("@", 1)[0]


# --------------------------------------------------------------------------- emitters


def hcl_body(tree: Tree, indent: str = "  ") -> list[str]:
    """Lines of an HCL body: attributes first, then each block after a blank line."""
    lines = [f"{indent}{k} = {v}" for k, v in tree.items() if isinstance(v, str)]
    for key, value in tree.items():
        blocks = [value] if isinstance(value, dict) else value if isinstance(value, list) else []
        for block in blocks:
            if not block:  # an empty block: ``key {}``
                lines += ["", f"{indent}{key} {{}}"]
                continue
            lines += ["", f"{indent}{key} {{", *hcl_body(block, indent + "  "), f"{indent}}}"]
    if lines and lines[0] == "":
        lines = lines[1:]
    return lines


def hcl_resource(type_: str, name: str, tree: Tree, *, block: str = "resource") -> str:
    """``resource "type_" "name" { ... }`` (aligned by :func:`format_hcl` later); ``block``
    ``data`` for a data source. An empty body is ``{}``."""
    if not tree:
        return f'{block} "{type_}" "{name}" {{}}\n'
    return "\n".join([f'{block} "{type_}" "{name}" {{', *hcl_body(tree), "}"]) + "\n"


def comment_lines(prefix: str, text: str) -> str:
    """``text`` as comment lines (``#`` or ``//``), one per line of it; empty: none."""
    return "".join(f"{prefix} {line}\n" for line in text.split("\n")) if text else ""


def bicep_value(value: Any, indent: str) -> str:
    """A Bicep expression (str), object (dict) or array (list) at ``indent``."""
    inner = indent + "  "
    if isinstance(value, dict):
        body = [f"{inner}{k}: {bicep_value(v, inner)}" for k, v in value.items()]
        return "{\n" + "\n".join(body) + f"\n{indent}}}"
    if isinstance(value, list):
        body = [f"{inner}{bicep_value(v, inner)}" for v in value]
        return "[\n" + "\n".join(body) + f"\n{indent}]"
    return str(value)


def bicep_resource(
    symbol: str,
    type_at: str,
    tree: Tree,
    *,
    condition: str = "",
    parent: str | None = None,
    existing: bool = False,
    loop: str = "",
) -> str:
    """``resource symbol 'Type@version' = { ... }`` (``existing``: one read, not deployed;
    ``loop``: one for each ``item`` of that array, ``[for item in loop: { ... }]``)."""
    body: Tree = {"parent": parent, **tree} if parent else tree
    read = " existing" if existing else ""
    head = f"resource {symbol} '{type_at}'{read} = {condition + ' ' if condition else ''}"
    if loop:
        return f"{head}[for item in {loop}: {bicep_value(body, '')}]\n"
    return head + bicep_value(body, "") + "\n"


def tf_common(spec: KindSpec | Helper, *, main: bool = True) -> Tree:
    """name, location, resource group and tags of a resource, then its own settings."""
    tree: Tree = {"name": "var.name" if main else spec.tf_body.get("name", '"default"')}
    if isinstance(spec, Helper) and not spec.named:
        del tree["name"]
    for arg in ("location", "resource_group_name"):
        if arg in spec.tf_common:
            tree[arg] = f"var.{arg}"
    tree.update({k: v for k, v in spec.tf_body.items() if isinstance(v, str)})
    if "tags" in spec.tf_common:
        tree["tags"] = "var.tags"
    cmk = isinstance(spec, KindSpec) and "cmk" in spec.inputs
    own = isinstance(spec, KindSpec) and spec.identity and "identity" not in spec.tf_body
    if own and cmk:
        tree["identity"] = {  # the user-assigned one reads the customer-managed key
            "type": '"SystemAssigned, UserAssigned"',
            "identity_ids": "[azurerm_user_assigned_identity.cmk.id]",
        }
    elif own:
        tree["identity"] = {"type": '"SystemAssigned"'}
    tree.update({k: v for k, v in spec.tf_body.items() if not isinstance(v, str)})
    return tree


def bicep_common(spec: KindSpec | Helper, *, main: bool = True) -> Tree:
    tree: Tree = {"name": "name" if main else spec.bicep_body.get("name", "'default'")}
    if spec.located:
        tree["location"] = "location"
    if spec.located or "location" in spec.bicep_body:  # child resources take no tags
        tree["tags"] = "tags"
    # an identity or dependsOn the body names itself stands where the body puts it
    cmk = isinstance(spec, KindSpec) and "cmk" in spec.inputs
    own = isinstance(spec, KindSpec) and spec.identity and "identity" not in spec.bicep_body
    if own and cmk:
        tree["identity"] = {
            "type": "'SystemAssigned, UserAssigned'",
            "userAssignedIdentities": {"'${cmkIdentity.id}'": "{}"},
        }
    elif own:
        tree["identity"] = {"type": "'SystemAssigned'"}
    if cmk and "dependsOn" not in spec.bicep_body:
        tree["dependsOn"] = ["keyAccess"]  # use of the key granted first
    tree.update(spec.bicep_body)
    return tree


def tf_helpers(spec: KindSpec, place: str) -> list[str]:
    """The HCL of the module's Terraform helpers at ``place``, each after its comment."""
    return [
        comment_lines("#", h.comment)
        + hcl_resource(h.terraform, h.tf_name, _repeated(h), block=h.block)
        for h in spec.helpers
        if h.terraform and h.place == place
    ]


def _repeated(helper: Helper) -> Tree:
    """The helper's HCL tree, with ``for_each`` first where it is repeated (``each``)."""
    tree = tf_common(helper, main=False)
    return {"for_each": f"toset({helper.each[0]})", **tree} if helper.each[0] else tree


def tf_main(spec: KindSpec) -> str:
    """The module's resources in HCL: helpers, the main resource ``this``, helpers after
    it (those ``last`` are the caller's, after the private endpoint and diagnostics)."""
    parts = tf_helpers(spec, "before")
    if spec.tf_locals:
        parts.append("\n".join(["locals {", *hcl_body(dict(spec.tf_locals)), "}"]) + "\n")
    parts.append(hcl_resource(spec.terraform, "this", tf_common(spec)))
    return "\n".join(parts + tf_helpers(spec, "after"))


def bicep_helpers(spec: KindSpec, place: str) -> list[str]:
    """The Bicep of the module's Bicep helpers at ``place``, each after its comment."""
    return [
        comment_lines("//", h.comment)
        + bicep_resource(
            h.bicep_symbol,
            h.bicep,
            bicep_common(h, main=False),
            parent=h.bicep_parent,
            existing=h.existing,
            loop=h.each[1],
        )
        for h in spec.helpers
        if h.bicep and h.place == place
    ]


def bicep_main(spec: KindSpec) -> str:
    """The module's resources in Bicep: helpers (what it reads first), the main ``main``,
    helpers after it (those ``last`` are the caller's)."""
    parts = bicep_helpers(spec, "before")
    main = bicep_resource("main", spec.bicep, bicep_common(spec))
    parts.append(comment_lines("//", spec.bicep_comment) + main)
    return "\n".join(parts + bicep_helpers(spec, "after"))


def root_sku_help(kind: str, hand: dict[str, str]) -> str:
    """What the root's sku variable of an instance of ``kind`` is, before "of <name>":
    its spec's ``sku_help`` where the spec says so, else ``hand``'s entry, else "SKU"."""
    spec = SPECS.get(kind)
    if spec is not None and spec.root_sku_help:
        return spec.sku_help
    return hand.get(kind, "SKU")


def principal_output(spec: KindSpec, language: str) -> str:
    """The ``language`` expression of the principal id a module of ``spec`` outputs: its
    ``principal`` where it says one, else its system-assigned identity's (``identity``),
    else empty (no managed identity)."""
    terraform = language == "terraform"
    given = spec.principal[0 if terraform else 1]
    if given or not spec.identity:
        return given
    if terraform:
        return f"{spec.terraform}.this.identity[0].principal_id"
    return "main.identity.principalId"


def tf_default(value: str | int | bool | list[str]) -> str:
    return json.dumps(value)


def bicep_default(value: str | int | bool | list[str]) -> str:
    if isinstance(value, list):
        return "[" + "".join(f"\n  {bicep_default(v)}" for v in value) + ("\n]" if value else "]")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def bicep_type(type_: str) -> str:
    return {"string": "string", "number": "int", "bool": "bool", "list(string)": "array"}[type_]


# --------------------------------------------------------------------------- the kinds

_NET = "Microsoft.Network"
_NET_V = "2025-09-01"
_PIP = Helper(
    terraform="azurerm_public_ip",
    bicep_symbol="publicIp",
    bicep=f"{_NET}/publicIPAddresses@{_NET_V}",
    tf_body={
        "name": '"pip-${var.name}"',
        "allocation_method": '"Static"',
        "sku": '"Standard"',
        "zones": '["1", "2", "3"]',
    },
    bicep_body={
        "name": "'pip-${name}'",
        "sku": {"name": "'Standard'"},
        "zones": ["'1'", "'2'", "'3'"],
        "properties": {"publicIPAllocationMethod": "'Static'"},
    },
)


#: The rules Azure Bastion requires of a network security group on its subnet (Microsoft
#: Learn, "Working with NSG access and Azure Bastion"): (name, priority, direction,
#: protocol, source, destination, destination ports).
_BASTION_RULES = (
    ("AllowHttpsInbound", 120, "Inbound", "Tcp", "Internet", "*", ("443",)),
    ("AllowGatewayManagerInbound", 130, "Inbound", "Tcp", "GatewayManager", "*", ("443",)),
    ("AllowAzureLoadBalancerInbound", 140, "Inbound", "Tcp", "AzureLoadBalancer", "*", ("443",)),
    (
        "AllowBastionHostCommunication",
        150,
        "Inbound",
        "*",
        "VirtualNetwork",
        "VirtualNetwork",
        ("8080", "5701"),
    ),
    ("AllowSshRdpOutbound", 100, "Outbound", "*", "*", "VirtualNetwork", ("22", "3389")),
    ("AllowAzureCloudOutbound", 110, "Outbound", "Tcp", "*", "AzureCloud", ("443",)),
    (
        "AllowBastionCommunication",
        120,
        "Outbound",
        "*",
        "VirtualNetwork",
        "VirtualNetwork",
        ("8080", "5701"),
    ),
    ("AllowHttpOutbound", 130, "Outbound", "*", "*", "Internet", ("80",)),
)


@dataclass(frozen=True)
class Expr:
    """A value that is an expression, one per language (not a literal string)."""

    terraform: str
    bicep: str


def _literal(value: str | Expr, language: str) -> str:
    if isinstance(value, Expr):
        return value.terraform if language == "terraform" else value.bicep
    return f'"{value}"' if language == "terraform" else f"'{value}'"


NsgRule = tuple[str, int, str, str, str | Expr, str, tuple[str, ...]]


#: The rules API Management in a virtual network requires of its subnet's network security
#: group (Microsoft Learn, "Virtual network configuration reference: API Management"):
#: the management endpoint, Azure's load balancer, and the Azure services it depends on.
#: Callers reach the gateway on 443: from the internet in External mode (a flow from
#: the internet reaches it), else only from the virtual network (Internal mode).
_APIM_RULES: tuple[NsgRule, ...] = (
    (
        "AllowClientHttpsInbound",
        100,
        "Inbound",
        "Tcp",
        Expr(
            'var.public_network_access_enabled ? "Internet" : "VirtualNetwork"',
            "publicNetworkAccess == 'Enabled' ? 'Internet' : 'VirtualNetwork'",
        ),
        "VirtualNetwork",
        ("443",),
    ),
    (
        "AllowApiManagementInbound",
        110,
        "Inbound",
        "Tcp",
        "ApiManagement",
        "VirtualNetwork",
        ("3443",),
    ),
    (
        "AllowAzureLoadBalancerInbound",
        120,
        "Inbound",
        "Tcp",
        "AzureLoadBalancer",
        "VirtualNetwork",
        ("6390",),
    ),
    ("AllowStorageOutbound", 100, "Outbound", "Tcp", "VirtualNetwork", "Storage", ("443",)),
    ("AllowSqlOutbound", 110, "Outbound", "Tcp", "VirtualNetwork", "Sql", ("1433",)),
    ("AllowKeyVaultOutbound", 120, "Outbound", "Tcp", "VirtualNetwork", "AzureKeyVault", ("443",)),
    (
        "AllowAzureMonitorOutbound",
        130,
        "Outbound",
        "Tcp",
        "VirtualNetwork",
        "AzureMonitor",
        ("1886", "443"),
    ),
)


def _nsg(rules: tuple[NsgRule, ...]) -> Helper:
    """A network security group with ``rules`` (every one an Allow; a source may be an
    :class:`Expr`, e.g. chosen by an input)."""
    tf_rules, bicep_rules = [], []
    for name, priority, direction, protocol, source, target, ports in rules:
        tf_rules.append(
            {
                "name": f'"{name}"',
                "priority": str(priority),
                "direction": f'"{direction}"',
                "access": '"Allow"',
                "protocol": f'"{protocol}"',
                "source_port_range": '"*"',
                "destination_port_ranges": "[" + ", ".join(f'"{p}"' for p in ports) + "]",
                "source_address_prefix": _literal(source, "terraform"),
                "destination_address_prefix": f'"{target}"',
            }
        )
        bicep_rules.append(
            {
                "name": f"'{name}'",
                "properties": {
                    "priority": str(priority),
                    "direction": f"'{direction}'",
                    "access": "'Allow'",
                    "protocol": f"'{protocol}'",
                    "sourcePortRange": "'*'",
                    "destinationPortRanges": [f"'{p}'" for p in ports],
                    "sourceAddressPrefix": _literal(source, "bicep"),
                    "destinationAddressPrefix": f"'{target}'",
                },
            }
        )
    return Helper(
        terraform="azurerm_network_security_group",
        bicep_symbol="nsg",
        bicep=f"{_NET}/networkSecurityGroups@{_NET_V}",
        tf_body={"name": '"nsg-${var.name}"', "security_rule": tf_rules},
        bicep_body={"name": "'nsg-${name}'", "properties": {"securityRules": bicep_rules or "[]"}},
    )


def _nsg_link(subnet: str) -> Helper:
    """The association of the module's NSG with its subnet ``azurerm_subnet.<subnet>``
    (Terraform; in Bicep the subnet names its NSG)."""
    return Helper(
        terraform="azurerm_subnet_network_security_group_association",
        bicep_symbol="",
        bicep="",
        tf_body={
            "subnet_id": f"azurerm_subnet.{subnet}.id",
            "network_security_group_id": "azurerm_network_security_group.this.id",
        },
        bicep_body={},
        located=False,
        tf_common=(),
        named=False,
    )


def _own_subnet(name: str, *, nsg: bool = False) -> Helper:
    """The module's own subnet ``name`` of the network (with the module's NSG: ``nsg``)."""
    props: Tree = {"addressPrefix": "subnetPrefix"}
    if nsg:
        props["networkSecurityGroup"] = {"id": "nsg.id"}
    return Helper(
        terraform="azurerm_subnet",
        bicep_symbol="subnet",
        bicep=f"{_NET}/virtualNetworks/subnets@{_NET_V}",
        tf_body={
            "name": f'"{name}"',
            "virtual_network_name": "var.virtual_network_name",
            "address_prefixes": "[var.subnet_prefix]",
        },
        bicep_body={"name": f"'{name}'", "properties": props},
        located=False,
        tf_common=("resource_group_name",),
        tf_name="own",
        bicep_parent="network",
    )


#: The IP configuration of a network edge (gateway, Bastion, firewall): its own subnet
#: and a public IP.
_EDGE_IP_TF: Tree = {
    "name": '"default"',
    "subnet_id": "azurerm_subnet.own.id",
    "public_ip_address_id": "azurerm_public_ip.this.id",
}
_EDGE_IP_BICEP = [
    {
        "name": "'default'",
        "properties": {"subnet": {"id": "subnet.id"}, "publicIPAddress": {"id": "publicIp.id"}},
    }
]
#: The private IP configuration of a network interface in the workload subnet.
_NIC_IP_TF: Tree = {
    "name": '"internal"',
    "subnet_id": "var.subnet_id",
    "private_ip_address_allocation": '"Dynamic"',
}
_NIC_IP_BICEP: Tree = {
    "ipConfigurations": [
        {
            "name": "'internal'",
            "properties": {"subnet": {"id": "subnetId"}, "privateIPAllocationMethod": "'Dynamic'"},
        }
    ]
}
#: The network a module's own subnet is made in, read (Bicep).
_VNET_READ = Helper(
    "",
    "network",
    f"{_NET}/virtualNetworks@{_NET_V}",
    {},
    {"name": "virtualNetworkName"},
    located=False,
    existing=True,
)


def _private_service(
    kind: str,
    terraform: str,
    bicep: str,
    *,
    local_auth: str = "local_auth_enabled",
    tf: Tree | None = None,
    bicep_top: Tree | None = None,
    bicep_props: Tree | None = None,
    sku: bool = True,
    cmk: bool = False,
    variables: tuple[Variable, ...] = (),
    tf_public: tuple[str, str] = (
        "public_network_access_enabled",
        "var.public_network_access_enabled",
    ),
) -> KindSpec:
    """A PaaS service reached over a private endpoint: local (key) authentication off,
    public network access as the flow analysis decides, diagnostics, a managed identity
    (and, with ``cmk``, encryption with the customer-managed key)."""
    return KindSpec(
        kind=kind,
        terraform=terraform,
        bicep=bicep,
        tf_body={**(tf or {}), local_auth: "false", tf_public[0]: tf_public[1]},
        bicep_body={
            **(bicep_top or {}),
            "properties": {
                "disableLocalAuth": "true",
                "publicNetworkAccess": "publicNetworkAccess",
                **(bicep_props or {}),
            },
        },
        inputs=(("sku",) if sku else ())
        + ("public", "diagnostics", "private_endpoint")
        + (("cmk",) if cmk else ()),
        logs=True,
        identity=True,
        variables=variables,
    )


def _storage_child(
    kind: str,
    terraform: str,
    child: str,
    *,
    tf: Tree | None = None,
    bicep_props: Tree | None = None,
) -> KindSpec:
    """A container, queue or table of a storage account (the plan's, or one added)."""
    bicep_body: Tree = {"name": "'${parentName}/default/${name}'"}
    if bicep_props:
        bicep_body["properties"] = bicep_props
    return KindSpec(
        kind=kind,
        terraform=terraform,
        bicep=f"Microsoft.Storage/storageAccounts/{child}@2026-04-01",
        tf_body={"storage_account_id": "var.parent_id", **(tf or {})},
        bicep_body=bicep_body,
        inputs=("parent",),
        located=False,
        parent_kind="storage_account",
        tf_common=(),
    )


#: The subnets of a virtual network's module, (newbits, netnum) of its address space:
#: the workload's and the private endpoints'.
_WORKLOAD_SUBNET = (8, 1)
_PE_SUBNET = (8, 2)


def _network_subnet(
    tf_name: str, name: str, size: tuple[int, int], settings: Tree | None = None
) -> Helper:
    """A subnet of the network's module, ``size`` of its address space (Terraform: in
    Bicep the network's properties list its subnets)."""
    newbits, netnum = size
    return replace(
        _own_subnet(name),
        bicep="",
        tf_body={
            "name": f'"{name}"',
            "virtual_network_name": "azurerm_virtual_network.this.name",
            "address_prefixes": f"[cidrsubnet(var.sku, {newbits}, {netnum})]",
            **(settings or {}),
        },
        tf_name=tf_name,
        place="after",
    )


#: The network's NSG, on both its subnets.
_VNET_NSG = Helper(
    terraform="azurerm_network_security_group",
    bicep_symbol="nsg",
    bicep=f"{_NET}/networkSecurityGroups@2023-11-01",
    tf_body={"name": '"nsg-${var.name}"'},
    bicep_body={"name": "'nsg-${name}'"},
)


def _bicep_subnet(name: str, prefix: str, settings: Tree | None = None) -> Tree:
    """A subnet in the Bicep network's properties, with the module's NSG."""
    props: Tree = {"addressPrefix": prefix, **(settings or {})}
    return {"name": f"'{name}'", "properties": {**props, "networkSecurityGroup": {"id": "nsg.id"}}}


# --- original kinds: data and apps
#: The inputs of a PaaS service reached over a private endpoint.
_PAAS = ("sku", "public", "diagnostics", "private_endpoint")


def _tf_only(terraform: str, tf_body: Tree, **settings: Any) -> Helper:
    """A Terraform-only helper, not located, with no common arguments and no name
    unless ``settings`` give them."""
    args: dict[str, Any] = {"located": False, "tf_common": (), "named": False, **settings}
    return Helper(terraform, "", "", tf_body, {}, **args)


def _bicep_only(symbol: str, type_at: str, bicep_body: Tree, **settings: Any) -> Helper:
    """A Bicep-only helper (a child of the main resource unless ``settings`` say)."""
    args: dict[str, Any] = {"located": False, "bicep_parent": "main", **settings}
    return Helper("", symbol, type_at, {}, bicep_body, **args)


#: Microsoft Entra's tenant of the deploying principal (Terraform's azurerm_client_config).
_CLIENT_CONFIG = _tf_only("azurerm_client_config", {}, tf_name="current", block="data")
_WEB_APP = KindSpec(
    kind="web_app",
    measures=(
        "client certificates requested (mode a variable, default Required)",
        "App Service authentication with Microsoft Entra (the app registration's client "
        "id is a required input)",
    ),
    min_tls=True,
    always_identity=True,
    terraform="azurerm_linux_web_app",
    bicep="Microsoft.Web/sites@2023-12-01",
    tf_body={
        "service_plan_id": "azurerm_service_plan.this.id",
        "https_only": "true",
        "public_network_access_enabled": "var.public_network_access_enabled",
        "ftp_publish_basic_authentication_enabled": "false",
        "webdeploy_publish_basic_authentication_enabled": "false",
        "client_certificate_enabled": "true",
        "client_certificate_mode": "var.client_certificate_mode",
        "site_config": {
            "minimum_tls_version": '"1.2"',
            "ftps_state": '"Disabled"',
            "http2_enabled": "true",
        },
        "auth_settings_v2": {
            "auth_enabled": "true",
            "require_authentication": "true",
            "unauthenticated_action": "var.unauthenticated_action",
            "default_provider": '"azureactivedirectory"',
            "active_directory_v2": {
                "client_id": "var.auth_client_id",
                "tenant_auth_endpoint": '"https://login.microsoftonline.com/'
                '${data.azurerm_client_config.current.tenant_id}/v2.0"',
            },
            "login": {"token_store_enabled": "false"},
        },
    },
    bicep_body={
        "kind": "'app,linux'",
        "identity": {"type": "'SystemAssigned'"},
        "properties": {
            "serverFarmId": "plan.id",
            "httpsOnly": "true",
            "publicNetworkAccess": "publicNetworkAccess",
            "clientCertEnabled": "true",
            "clientCertMode": "clientCertificateMode",
            "siteConfig": {
                "minTlsVersion": "'1.2'",
                "ftpsState": "'Disabled'",
                "http20Enabled": "true",
                # the logging of Terraform's logs block (HTTP, detailed errors, failed requests)
                "httpLoggingEnabled": "true",
                "detailedErrorLoggingEnabled": "true",
                "requestTracingEnabled": "true",
            },
        },
    },
    inputs=_PAAS,
    logs=True,
    identity=True,
    variables=(
        Variable(
            "auth_client_id",
            "string",
            "Application (client) id of the Microsoft Entra app registration that signs "
            "callers in (App Service authentication)",
        ),
        Variable(
            "unauthenticated_action",
            "string",
            "What a caller without a valid token gets: Return401 (APIs, functions) or "
            "RedirectToLoginPage (browser apps)",
            "Return401",
        ),
        Variable(
            "client_certificate_mode",
            "string",
            "Incoming client certificates: Required, Optional or OptionalInteractiveUser",
            "Required",
        ),
    ),
    helpers=(
        Helper(  # the app's Linux App Service plan, of the module's SKU
            terraform="azurerm_service_plan",
            bicep_symbol="plan",
            bicep="Microsoft.Web/serverfarms@2023-12-01",
            tf_body={"name": '"asp-${var.name}"', "os_type": '"Linux"', "sku_name": "var.sku"},
            bicep_body={
                "name": "'asp-${name}'",
                "kind": "'linux'",
                "sku": {"name": "sku"},
                "properties": {"reserved": "true"},
            },
        ),
        replace(_CLIENT_CONFIG, place="after"),
        _bicep_only(  # Terraform's auth_settings_v2: the site's config named authsettingsV2
            "authSettings",
            "Microsoft.Web/sites/config@2023-12-01",
            {
                "name": "'authsettingsV2'",
                "properties": {
                    "platform": {"enabled": "true"},
                    "globalValidation": {
                        "requireAuthentication": "true",
                        "unauthenticatedClientAction": "unauthenticatedAction",
                        "redirectToProvider": "'azureactivedirectory'",
                    },
                    "identityProviders": {
                        "azureActiveDirectory": {
                            "enabled": "true",
                            "registration": {
                                "clientId": "authClientId",
                                "openIdIssuer": "'https://login.microsoftonline.com/"
                                "${subscription().tenantId}/v2.0'",
                            },
                        }
                    },
                    "login": {"tokenStore": {"enabled": "false"}},
                },
            },
            comment="App Service authentication: callers sign in with Microsoft Entra",
            place="after",
        ),
    ),
)


def _function_app(web: KindSpec) -> KindSpec:
    """The web app's module as a function app on its plan: the runtime's storage reached
    with the managed identity (AzureWebJobsStorage__accountName)."""
    tf: Tree = {}
    for key, value in web.tf_body.items():
        tf[key] = value
        if key == "client_certificate_mode":
            tf["storage_account_name"] = "var.runtime_storage_account_name"
            tf["storage_uses_managed_identity"] = "true"
    props = web.bicep_body["properties"]
    site = {
        **props["siteConfig"],
        "appSettings": [
            {"name": "'AzureWebJobsStorage__accountName'", "value": "runtimeStorageAccountName"},
            {"name": "'FUNCTIONS_EXTENSION_VERSION'", "value": "'~4'"},
        ],
    }
    runtime = Variable(
        "runtime_storage_account_name",
        "string",
        "Storage account the Functions runtime uses (AzureWebJobsStorage, reached with "
        "the app's managed identity, which needs Storage Blob Data Owner on it)",
    )
    return replace(
        web,
        kind="function_app",
        terraform="azurerm_linux_function_app",
        tf_body=tf,
        bicep_body={
            **web.bicep_body,
            "kind": "'functionapp,linux'",
            "properties": {**props, "siteConfig": site},
        },
        variables=(*web.variables, runtime),
        measures=(
            *web.measures,
            "the runtime's storage reached with the managed identity (no access key)",
        ),
    )


def _service_logs(service: str) -> Helper:
    """A diagnostic setting of one storage service (Terraform): its read, write and delete
    requests logged to the workspace."""
    return _tf_only(
        "azurerm_monitor_diagnostic_setting",
        {
            "name": f'"diag-${{var.name}}-{service}"',
            "target_resource_id": '"${azurerm_storage_account.this.id}/'
            + f'{service}Services/default"',
            "log_analytics_workspace_id": "var.log_analytics_workspace_id",
            "enabled_log": [
                {"category": f'"{category}"'}
                for category in ("StorageRead", "StorageWrite", "StorageDelete")
            ],
        },
        tf_name=service,
        named=True,
        place="last",
    )


#: The user-assigned identity that reads the customer-managed key, the main resource's only
#: one (Terraform, Bicep).
_CMK_IDENTITY_TF: Tree = {
    "type": '"UserAssigned"',
    "identity_ids": "[azurerm_user_assigned_identity.cmk.id]",
}
_CMK_IDENTITY_BICEP: Tree = {
    "type": "'UserAssigned'",
    "userAssignedIdentities": {"'${cmkIdentity.id}'": "{}"},
}
_STORAGE = KindSpec(
    kind="storage_account",
    min_tls=True,
    terraform="azurerm_storage_account",
    bicep="Microsoft.Storage/storageAccounts@2023-05-01",
    tf_body={
        "account_kind": '"StorageV2"',
        "account_tier": '"Standard"',
        "account_replication_type": "var.sku",
        "min_tls_version": '"TLS1_2"',
        "https_traffic_only_enabled": "true",
        "public_network_access_enabled": "var.public_network_access_enabled",
        "allow_nested_items_to_be_public": "false",
        "shared_access_key_enabled": "false",
        "default_to_oauth_authentication": "true",
        "tags": "var.tags",
        "depends_on": "[azurerm_role_assignment.cmk]",
        "identity": _CMK_IDENTITY_TF,
        "customer_managed_key": {
            "key_vault_key_id": "var.customer_managed_key_id",
            "user_assigned_identity_id": "azurerm_user_assigned_identity.cmk.id",
        },
    },
    bicep_body={
        "kind": "'StorageV2'",
        "sku": {"name": "sku"},
        "properties": {
            "minimumTlsVersion": "'TLS1_2'",
            "supportsHttpsTrafficOnly": "true",
            "publicNetworkAccess": "publicNetworkAccess",
            "allowBlobPublicAccess": "false",
            "allowSharedKeyAccess": "false",
            "defaultToOAuthAuthentication": "true",
            "encryption": {
                "keySource": "'Microsoft.Keyvault'",
                "identity": {"userAssignedIdentity": "cmkIdentity.id"},
                "keyvaultproperties": {
                    "keyname": "split(customerManagedKeyId, '/')[4]",
                    "keyvaulturi": "'https://${split(customerManagedKeyId, '/')[2]}/'",
                },
                "services": {
                    "blob": {"enabled": "true", "keyType": "'Account'"},
                    "file": {"enabled": "true", "keyType": "'Account'"},
                },
            },
            # the module writes a literal Deny where no instance is public (bicep.py)
            "networkAcls": {"bypass": "'AzureServices'", "defaultAction": "DEFAULT_ACTION"},
        },
        "identity": _CMK_IDENTITY_BICEP,
        "dependsOn": ["keyAccess"],
    },
    inputs=(*_PAAS, "cmk"),
    helpers=(
        _tf_only(
            "azurerm_storage_account_queue_properties",
            {
                "storage_account_id": "azurerm_storage_account.this.id",
                "logging": {
                    "delete": "true",
                    "read": "true",
                    "write": "true",
                    "version": '"1.0"',
                    "retention_policy_days": "10",
                },
            },
            comment="Queue logging the azurerm 4.x way (the queue_properties block is deprecated)",
            place="after",
        ),
        *(_service_logs(service) for service in ("blob", "queue", "table")),
    ),
    bicep_sku_prefix="Standard_",
    # geo-redundant only (the default is Standard_GRS)
    bicep_skus=("Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"),
)

_KEY_VAULT = KindSpec(
    kind="key_vault",
    terraform="azurerm_key_vault",
    bicep="Microsoft.KeyVault/vaults@2023-07-01",
    tf_body={
        "tenant_id": "data.azurerm_client_config.current.tenant_id",
        "sku_name": "var.sku",
        "rbac_authorization_enabled": "true",
        "purge_protection_enabled": "true",
        "soft_delete_retention_days": "90",
        "public_network_access_enabled": "var.public_network_access_enabled",
    },
    bicep_body={
        "properties": {
            "tenantId": "subscription().tenantId",
            "sku": {"family": "'A'", "name": "sku"},
            "enableRbacAuthorization": "true",
            "enablePurgeProtection": "true",
            "enableSoftDelete": "true",
            "softDeleteRetentionInDays": "90",
            "publicNetworkAccess": "publicNetworkAccess",
            "networkAcls": {"defaultAction": "networkDefaultAction", "bypass": "'AzureServices'"},
        }
    },
    inputs=_PAAS,
    logs=True,
    variables=(
        Variable(
            "network_default_action",
            "string",
            "Firewall default action: Allow only where a flow from the internet reaches the vault",
            "Deny",
            languages=("bicep",),
            allowed=("Allow", "Deny"),
            if_public="Allow",
        ),
    ),
    helpers=(_CLIENT_CONFIG,),
)

_COSMOS = KindSpec(
    kind="cosmosdb_account",
    min_tls=True,
    terraform="azurerm_cosmosdb_account",
    bicep="Microsoft.DocumentDB/databaseAccounts@2024-05-15",
    tf_body={
        "offer_type": "var.sku",
        "kind": '"GlobalDocumentDB"',
        "public_network_access_enabled": "var.public_network_access_enabled",
        "local_authentication_enabled": "false",
        "minimal_tls_version": '"Tls12"',
        "key_vault_key_id": "var.customer_managed_key_id",
        "default_identity_type": '"UserAssignedIdentity=${azurerm_user_assigned_identity.cmk.id}"',
        "tags": "var.tags",
        "depends_on": "[azurerm_role_assignment.cmk]",
        "identity": _CMK_IDENTITY_TF,
        "consistency_policy": {"consistency_level": '"Session"'},
        "geo_location": {"location": "var.location", "failover_priority": "0"},
    },
    bicep_body={
        "kind": "'GlobalDocumentDB'",
        "properties": {
            "databaseAccountOfferType": "sku",
            "publicNetworkAccess": "publicNetworkAccess",
            "enableMultipleWriteLocations": "false",
            "disableLocalAuth": "true",
            "minimalTlsVersion": "'Tls12'",
            "keyVaultKeyUri": "customerManagedKeyId",
            "defaultIdentity": "'UserAssignedIdentity=${cmkIdentity.id}'",
            "consistencyPolicy": {"defaultConsistencyLevel": "'Session'"},
            "locations": [{"locationName": "location", "failoverPriority": "0"}],
        },
        "identity": _CMK_IDENTITY_BICEP,
        "dependsOn": ["keyAccess"],
    },
    inputs=(*_PAAS, "cmk"),
    logs=True,
    sku_help="Offer type",
    root_sku_help=True,
)

_POSTGRES = KindSpec(
    kind="postgresql_flexible_server",
    entra_only=True,
    terraform="azurerm_postgresql_flexible_server",
    bicep="Microsoft.DBforPostgreSQL/flexibleServers@2025-08-01",
    tf_body={
        "version": '"16"',
        "sku_name": "var.sku",
        "storage_mb": "32768",
        "backup_retention_days": "7",
        "public_network_access_enabled": "var.public_network_access_enabled",
        "authentication": {
            "active_directory_auth_enabled": "true",
            "password_auth_enabled": "false",
            "tenant_id": "data.azurerm_client_config.current.tenant_id",
        },
    },
    bicep_body={
        "sku": {"name": "sku", "tier": "'GeneralPurpose'"},
        "properties": {
            "version": "'16'",
            "storage": {"storageSizeGB": "32"},
            "backup": {"backupRetentionDays": "7"},
            "network": {"publicNetworkAccess": "publicNetworkAccess"},
            "authConfig": {
                "activeDirectoryAuth": "'Enabled'",
                "passwordAuth": "'Disabled'",
                "tenantId": "subscription().tenantId",
            },
        },
    },
    inputs=_PAAS,
    logs=True,
    helpers=(_CLIENT_CONFIG,),
)

_SQL_AUDIT = (
    "Auditing to the Log Analytics workspace: the server's audit events go through a\n"
    "diagnostic setting of its master database"
)
_SQL_V = "2021-11-01"
_SQL_ALERTS = "Who receives the SQL threat detection alerts (e-mail addresses)"
_MSSQL = KindSpec(
    kind="mssql_database",
    min_tls=True,
    entra_only=True,
    terraform="azurerm_mssql_server",
    bicep=f"Microsoft.Sql/servers@{_SQL_V}",
    tf_body={
        "version": '"12.0"',
        "minimum_tls_version": '"1.2"',
        "public_network_access_enabled": "var.public_network_access_enabled",
        "azuread_administrator": {
            "login_username": "var.entra_admin_login",
            "object_id": "local.entra_admin_object_id",
            "azuread_authentication_only": "true",
        },
        "identity": {"type": '"SystemAssigned"'},
    },
    bicep_body={
        "identity": {"type": "'SystemAssigned'"},
        "properties": {
            "minimalTlsVersion": "'1.2'",
            "publicNetworkAccess": "publicNetworkAccess",
            "administrators": {
                "administratorType": "'ActiveDirectory'",
                "azureADOnlyAuthentication": "true",
                "login": "entraAdminLogin",
                "sid": "entraAdminObjectId",
                "tenantId": "subscription().tenantId",
                "principalType": "'Group'",
            },
        },
    },
    inputs=_PAAS,
    variables=(
        Variable("entra_admin_login", "string", "Microsoft Entra admin group name", "sql-admins"),
        Variable(
            "entra_admin_object_id",
            "string",
            "Object id of the Entra admin (default: the deploying principal)",
            languages=("terraform",),
            optional=True,
        ),
        Variable(
            "entra_admin_object_id",
            "string",
            "Object id of the Microsoft Entra admin group",
            languages=("bicep",),
            shared="sql_entra_admin_object_id",
            shared_description="Object id of the Microsoft Entra group that administers SQL",
        ),
        Variable(
            "zone_redundant",
            "bool",
            "Zone-redundant database: needs a General Purpose, Business Critical, Hyperscale "
            "or Premium SKU (not the Basic and Standard DTU tiers)",
            False,
        ),
        Variable(
            "database_names",
            "list(string)",
            "Databases on the server (empty: one, sqldb-<server name>)",
            [],
        ),
        Variable(
            "alert_email_addresses",
            "list(string)",
            _SQL_ALERTS,
            languages=("terraform",),
            shared="sql_alert_email_addresses",
            shared_description="Who receives the SQL servers' threat detection alerts "
            "(e-mail addresses)",
        ),
        Variable(
            "alert_email_addresses",
            "list(string)",
            _SQL_ALERTS,
            languages=("bicep",),
            shared="sql_alert_email_addresses",
            shared_description="Who receives the SQL servers threat detection alerts "
            "(e-mail addresses)",
        ),
    ),
    helpers=(
        _CLIENT_CONFIG,
        Helper(  # the databases, on the server: those drawn on it, else one of its own
            terraform="azurerm_mssql_database",
            bicep_symbol="database",
            bicep=f"Microsoft.Sql/servers/databases@{_SQL_V}",
            tf_body={
                "name": "each.value",
                "server_id": "azurerm_mssql_server.this.id",
                "sku_name": "var.sku",
                "zone_redundant": "var.zone_redundant",
            },
            bicep_body={
                "name": "item",
                "sku": {"name": "sku"},
                "properties": {"zoneRedundant": "zoneRedundant"},
            },
            tf_common=("tags",),
            bicep_parent="main",
            place="after",
            each=(
                "local.database_names",
                "(empty(databaseNames) ? ['sqldb-${name}'] : databaseNames)",
            ),
        ),
        _tf_only(
            "azurerm_mssql_server_extended_auditing_policy",
            {
                "server_id": "azurerm_mssql_server.this.id",
                "log_monitoring_enabled": "true",
                "retention_in_days": "90",
            },
            comment=_SQL_AUDIT,
            place="after",
        ),
        _bicep_only(
            "masterDatabase",
            f"Microsoft.Sql/servers/databases@{_SQL_V}",
            {"name": "'master'"},
            comment=_SQL_AUDIT,
            place="after",
            existing=True,
        ),
        Helper(  # the audit events to the workspace
            terraform="azurerm_monitor_diagnostic_setting",
            bicep_symbol="audit",
            bicep="Microsoft.Insights/diagnosticSettings@2021-05-01-preview",
            tf_body={
                "name": '"audit-${var.name}"',
                "target_resource_id": '"${azurerm_mssql_server.this.id}/databases/master"',
                "log_analytics_workspace_id": "var.log_analytics_workspace_id",
                "enabled_log": {"category": '"SQLSecurityAuditEvents"'},
            },
            bicep_body={
                "name": "'audit-${name}'",
                "scope": "masterDatabase",
                "properties": {
                    "workspaceId": "logAnalyticsWorkspaceId",
                    "logs": [{"category": "'SQLSecurityAuditEvents'", "enabled": "true"}],
                },
            },
            located=False,
            tf_common=(),
            tf_name="audit",
            place="after",
        ),
        _bicep_only(
            "auditing",
            f"Microsoft.Sql/servers/auditingSettings@{_SQL_V}",
            {
                "name": "'default'",
                "properties": {
                    "state": "'Enabled'",
                    "isAzureMonitorTargetEnabled": "true",
                    "retentionDays": "90",
                },
            },
            place="after",
        ),
        Helper(
            terraform="azurerm_mssql_server_security_alert_policy",
            bicep_symbol="alerts",
            bicep=f"Microsoft.Sql/servers/securityAlertPolicies@{_SQL_V}",
            tf_body={
                "server_name": "azurerm_mssql_server.this.name",
                "state": '"Enabled"',
                "email_account_admins": "true",
                "email_addresses": "var.alert_email_addresses",
                "retention_days": "90",
            },
            bicep_body={
                "name": "'Default'",
                "properties": {
                    "state": "'Enabled'",
                    "emailAccountAdmins": "true",
                    "emailAddresses": "alertEmailAddresses",
                    "retentionDays": "90",
                },
            },
            located=False,
            tf_common=("resource_group_name",),
            named=False,
            bicep_parent="main",
            comment="Threat detection of every alert type, alerts by e-mail",
            place="after",
        ),
    ),
    tf_locals=(
        (
            "entra_admin_object_id",
            "coalesce(\n    var.entra_admin_object_id, "
            "data.azurerm_client_config.current.object_id\n  )",
        ),
        (
            "database_names",
            'length(var.database_names) > 0 ? var.database_names : ["sqldb-${var.name}"]',
        ),
    ),
    bicep_main_symbol="server",
    children=Children(
        arm_type="Microsoft.Sql/servers/databases",
        variable="database_names",
        description="Databases on the server (empty: one, sqldb-<server name>)",
        root_description="Names of the databases drawn on the server",
        prefix="sqldb",
        max=128,
    ),
)

_REGISTRY = KindSpec(
    kind="container_registry",
    measures=("geo-replication to the given region (a required input), zone-redundant",),
    terraform="azurerm_container_registry",
    bicep="Microsoft.ContainerRegistry/registries@2025-11-01",
    tf_body={
        "sku": "var.sku",
        "admin_enabled": "false",
        "anonymous_pull_enabled": "false",
        "public_network_access_enabled": "var.public_network_access_enabled",
        "georeplications": {
            "location": "var.georeplication_location",
            "zone_redundancy_enabled": "true",
        },
    },
    bicep_body={
        "sku": {"name": "sku"},
        "properties": {
            "adminUserEnabled": "false",
            "anonymousPullEnabled": "false",
            "publicNetworkAccess": "publicNetworkAccess",
        },
    },
    inputs=_PAAS,
    logs=True,
    variables=(
        Variable(
            "georeplication_location",
            "string",
            "Second region the registry is replicated to (geo-replication, Premium SKU)",
        ),
    ),
    helpers=(
        _bicep_only(  # Terraform's georeplications block: a replication, named by its region
            "replication",
            "Microsoft.ContainerRegistry/registries/replications@2025-11-01",
            {
                "name": "georeplicationLocation",
                "location": "georeplicationLocation",
                "properties": {"zoneRedundancy": "'Enabled'"},
            },
            place="after",
        ),
    ),
    bicep_skus=("Standard", "Premium"),  # the tiers with vulnerability scanning
)


_DATA_AND_APPS: tuple[KindSpec, ...] = (
    _WEB_APP,
    _function_app(_WEB_APP),
    _STORAGE,
    _KEY_VAULT,
    _COSMOS,
    _POSTGRES,
    _MSSQL,
    _REGISTRY,
)


_SPECS: list[KindSpec] = [
    *_DATA_AND_APPS,
    KindSpec(
        kind="resource_group",
        terraform="azurerm_resource_group",
        bicep="Microsoft.Resources/resourceGroups@2025-04-01",
        tf_body={},
        bicep_body={},
        tf_common=("location", "tags"),
        bicep_scope="subscription",
        note="a resource group of its own; the modules deploy into the root resource group",
    ),
    KindSpec(
        kind="network_security_group",
        terraform="azurerm_network_security_group",
        bicep=f"{_NET}/networkSecurityGroups@{_NET_V}",
        tf_body={},
        bicep_body={"properties": {"securityRules": "[]"}},
        inputs=("diagnostics",),
        logs=True,
        note="no rules: add the flows' rules (deny by default)",
    ),
    KindSpec(
        kind="route_table",
        terraform="azurerm_route_table",
        bicep=f"{_NET}/routeTables@{_NET_V}",
        tf_body={"bgp_route_propagation_enabled": "false"},
        bicep_body={"properties": {"disableBgpRoutePropagation": "true"}},
        note="no routes: add the next hops the network needs",
    ),
    KindSpec(
        kind="user_assigned_identity",
        terraform="azurerm_user_assigned_identity",
        bicep="Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30",
        tf_body={},
        bicep_body={},
    ),
    KindSpec(
        kind="network_interface",
        terraform="azurerm_network_interface",
        bicep=f"{_NET}/networkInterfaces@{_NET_V}",
        tf_body={"ip_configuration": _NIC_IP_TF},
        bicep_body={"properties": _NIC_IP_BICEP},
        inputs=("subnet",),
    ),
    KindSpec(
        kind="managed_disk",
        terraform="azurerm_managed_disk",
        bicep="Microsoft.Compute/disks@2026-03-02",
        tf_body={
            "storage_account_type": "var.sku",
            "create_option": '"Empty"',
            "disk_size_gb": "var.disk_size_gb",
            "disk_encryption_set_id": "azurerm_disk_encryption_set.this.id",
            "public_network_access_enabled": "false",
            "network_access_policy": '"DenyAll"',
        },
        bicep_body={
            "sku": {"name": "sku"},
            "properties": {
                "creationData": {"createOption": "'Empty'"},
                "diskSizeGB": "diskSizeGb",
                "publicNetworkAccess": "'Disabled'",
                "networkAccessPolicy": "'DenyAll'",
                "encryption": {
                    "type": "'EncryptionAtRestWithCustomerKey'",
                    "diskEncryptionSetId": "encryptionSet.id",
                },
            },
        },
        inputs=("sku", "cmk"),
        variables=(Variable("disk_size_gb", "number", "Disk size in GiB", 128),),
        sku_help="Disk type (Premium_LRS, StandardSSD_ZRS, ...)",
    ),
    KindSpec(
        kind="public_ip",
        terraform="azurerm_public_ip",
        bicep=f"{_NET}/publicIPAddresses@{_NET_V}",
        tf_body={"allocation_method": '"Static"', "sku": '"Standard"', "zones": '["1", "2", "3"]'},
        bicep_body={
            "sku": {"name": "'Standard'"},
            "zones": ["'1'", "'2'", "'3'"],
            "properties": {"publicIPAllocationMethod": "'Static'"},
        },
        inputs=("diagnostics",),
        logs=True,
    ),
    KindSpec(
        kind="dns_zone",
        terraform="azurerm_dns_zone",
        bicep=f"{_NET}/dnsZones@2018-05-01",
        tf_body={},
        bicep_body={"location": "'global'"},
        located=False,
        variables=(),
        note="the zone name is the domain: set its name variable to your domain",
        tf_common=("resource_group_name", "tags"),
    ),
    KindSpec(
        kind="load_balancer",
        terraform="azurerm_lb",
        bicep=f"{_NET}/loadBalancers@{_NET_V}",
        tf_body={
            "sku": '"Standard"',
            "frontend_ip_configuration": {
                "name": '"internal"',
                "subnet_id": "var.subnet_id",
                "private_ip_address_allocation": '"Dynamic"',
            },
        },
        bicep_body={
            "sku": {"name": "'Standard'"},
            "properties": {
                "frontendIPConfigurations": [
                    {
                        "name": "'internal'",
                        "properties": {
                            "subnet": {"id": "subnetId"},
                            "privateIPAllocationMethod": "'Dynamic'",
                        },
                    }
                ]
            },
        },
        inputs=("subnet", "diagnostics"),
        logs=True,
        note="an internal load balancer; add its back-end pool, probes and rules",
    ),
    KindSpec(
        kind="virtual_network_gateway",
        terraform="azurerm_virtual_network_gateway",
        bicep=f"{_NET}/virtualNetworkGateways@{_NET_V}",
        tf_body={
            "type": "var.gateway_type",
            "vpn_type": '"RouteBased"',
            "sku": "var.sku",
            "active_active": "false",
            "ip_configuration": _EDGE_IP_TF,
        },
        bicep_body={
            "properties": {
                "gatewayType": "gatewayType",
                "vpnType": "'RouteBased'",
                "sku": {"name": "sku", "tier": "sku"},
                "activeActive": "false",
                "ipConfigurations": _EDGE_IP_BICEP,
            }
        },
        inputs=("sku", "vnet", "diagnostics"),
        logs=True,
        helpers=(_VNET_READ, _own_subnet("GatewaySubnet"), _PIP),
        variables=(Variable("gateway_type", "string", "Vpn or ExpressRoute", "Vpn"),),
        subnet_newbits=11,
        subnet_netnum=2040,
        sku_help="Gateway SKU (VpnGw1AZ, ErGw1AZ, ...)",
        note="in its own GatewaySubnet of the network; one VPN and one ExpressRoute "
        "gateway at most per virtual network",
    ),
    KindSpec(
        kind="local_network_gateway",
        terraform="azurerm_local_network_gateway",
        bicep=f"{_NET}/localNetworkGateways@{_NET_V}",
        tf_body={
            "gateway_address": "var.gateway_address",
            "address_space": "var.address_space",
        },
        bicep_body={
            "properties": {
                "gatewayIpAddress": "gatewayAddress",
                "localNetworkAddressSpace": {"addressPrefixes": "addressSpace"},
            }
        },
        variables=(
            Variable("gateway_address", "string", "Public IP address of the on-premises device"),
        ),
        note="the on-premises side: its public address and address space are yours to give",
    ),
    KindSpec(
        kind="express_route_circuit",
        terraform="azurerm_express_route_circuit",
        bicep=f"{_NET}/expressRouteCircuits@{_NET_V}",
        tf_body={
            "service_provider_name": "var.service_provider_name",
            "peering_location": "var.peering_location",
            "bandwidth_in_mbps": "var.bandwidth_in_mbps",
            "sku": {"tier": '"Standard"', "family": '"MeteredData"'},
        },
        bicep_body={
            "sku": {
                "name": "'Standard_MeteredData'",
                "tier": "'Standard'",
                "family": "'MeteredData'",
            },
            "properties": {
                "serviceProviderProperties": {
                    "serviceProviderName": "serviceProviderName",
                    "peeringLocation": "peeringLocation",
                    "bandwidthInMbps": "bandwidthInMbps",
                }
            },
        },
        inputs=("diagnostics",),
        logs=True,
        variables=(
            Variable("service_provider_name", "string", "Connectivity provider"),
            Variable("peering_location", "string", "Peering location of the provider"),
            Variable("bandwidth_in_mbps", "number", "Circuit bandwidth in Mbps", 50),
        ),
        note="the provider and peering location are a contract: yours to give",
    ),
    KindSpec(
        kind="bastion_host",
        terraform="azurerm_bastion_host",
        bicep=f"{_NET}/bastionHosts@{_NET_V}",
        tf_body={
            "sku": '"Standard"',
            "ip_configuration": _EDGE_IP_TF,
        },
        bicep_body={
            "sku": {"name": "'Standard'"},
            "properties": {
                "ipConfigurations": _EDGE_IP_BICEP,
            },
        },
        inputs=("vnet", "diagnostics"),
        logs=True,
        helpers=(
            _VNET_READ,
            _nsg(_BASTION_RULES),
            _own_subnet("AzureBastionSubnet", nsg=True),
            _nsg_link("own"),
            _PIP,
        ),
        subnet_newbits=10,
        subnet_netnum=1018,
        note="in its own AzureBastionSubnet of the network, with the NSG rules Azure "
        "Bastion requires",
    ),
    KindSpec(
        kind="firewall",
        terraform="azurerm_firewall",
        bicep=f"{_NET}/azureFirewalls@{_NET_V}",
        tf_body={
            "sku_name": '"AZFW_VNet"',
            "sku_tier": '"Standard"',
            "threat_intel_mode": '"Deny"',
            "firewall_policy_id": "azurerm_firewall_policy.this.id",
            "zones": '["1", "2", "3"]',
            "ip_configuration": _EDGE_IP_TF,
        },
        bicep_body={
            "zones": ["'1'", "'2'", "'3'"],
            "properties": {
                "sku": {"name": "'AZFW_VNet'", "tier": "'Standard'"},
                "threatIntelMode": "'Deny'",
                "firewallPolicy": {"id": "policy.id"},
                "ipConfigurations": _EDGE_IP_BICEP,
            },
        },
        inputs=("vnet", "diagnostics"),
        logs=True,
        helpers=(
            _VNET_READ,
            _own_subnet("AzureFirewallSubnet"),
            _PIP,
            Helper(  # threat intelligence in deny mode; its rule collections are yours
                terraform="azurerm_firewall_policy",
                bicep_symbol="policy",
                bicep=f"{_NET}/firewallPolicies@{_NET_V}",
                tf_body={
                    "name": '"afwp-${var.name}"',
                    "sku": '"Standard"',
                    "threat_intelligence_mode": '"Deny"',
                },
                bicep_body={
                    "name": "'afwp-${name}'",
                    "properties": {"sku": {"tier": "'Standard'"}, "threatIntelMode": "'Deny'"},
                },
            ),
        ),
        subnet_newbits=10,
        subnet_netnum=1016,
        note="in its own AzureFirewallSubnet of the network, with a firewall policy (threat "
        "intelligence: deny) whose rule collections are yours to add, and routes to it in "
        "the route tables",
    ),
    KindSpec(
        kind="route_server",
        terraform="azurerm_route_server",
        bicep=f"{_NET}/virtualHubs@{_NET_V}",
        tf_body={
            "sku": '"Standard"',
            "subnet_id": "azurerm_subnet.own.id",
            "public_ip_address_id": "azurerm_public_ip.this.id",
            "branch_to_branch_traffic_enabled": "false",
        },
        bicep_body={"properties": {"sku": "'Standard'", "allowBranchToBranchTraffic": "false"}},
        inputs=("vnet",),
        helpers=(
            _VNET_READ,
            _own_subnet("RouteServerSubnet"),
            _PIP,
            _bicep_only(  # the hub's IP configuration makes it a Route Server
                "ipConfig",
                f"{_NET}/virtualHubs/ipConfigurations@{_NET_V}",
                _EDGE_IP_BICEP[0],
                place="after",
            ),
        ),
        subnet_newbits=11,
        subnet_netnum=2038,
        note="in its own RouteServerSubnet of the network, with a public IP; its BGP peers "
        "(azurerm_route_server_bgp_connection) are yours to add",
    ),
    KindSpec(
        kind="virtual_hub",
        terraform="azurerm_virtual_hub",
        bicep=f"{_NET}/virtualHubs@{_NET_V}",
        tf_body={
            "sku": '"Standard"',
            "address_prefix": "var.sku",
            "virtual_wan_id": "azurerm_virtual_wan.this.id",
        },
        bicep_body={
            "properties": {
                "sku": "'Standard'",
                "addressPrefix": "sku",
                "virtualWan": {"id": "wan.id"},
            }
        },
        inputs=("sku",),
        helpers=(
            Helper(  # the hub's virtual WAN (a Standard one: hubs route between networks)
                terraform="azurerm_virtual_wan",
                bicep_symbol="wan",
                bicep=f"{_NET}/virtualWans@{_NET_V}",
                tf_body={
                    "name": '"vwan-${var.name}"',
                    "type": '"Standard"',
                    "disable_vpn_encryption": "false",
                },
                bicep_body={
                    "name": "'vwan-${name}'",
                    "properties": {"type": "'Standard'", "disableVpnEncryption": "false"},
                },
            ),
        ),
        sku_help="Address prefix of the hub (a /24 or larger, /23 recommended, apart from "
        "the address spaces of the networks): the one its label in the diagram names, else "
        "a default, the first private /23 (10.N.0.0/23 first) free of the networks",
        note="a Virtual WAN hub in a Standard virtual WAN of its own; connect the "
        "networks to it (azurerm_virtual_hub_connection) and add its gateways",
    ),
    KindSpec(
        kind="private_dns_zone",
        terraform="azurerm_private_dns_zone",
        bicep=f"{_NET}/privateDnsZones@2024-06-01",
        tf_body={},
        bicep_body={"location": "'global'"},
        located=False,
        note="the zone name is the domain: set its name variable (privatelink.<service> "
        "for a private endpoint's zone) and link it to the networks that resolve it "
        "(azurerm_private_dns_zone_virtual_network_link)",
        tf_common=("resource_group_name", "tags"),
    ),
    KindSpec(
        kind="private_endpoint",
        terraform="azurerm_private_endpoint",
        bicep=f"{_NET}/privateEndpoints@{_NET_V}",
        tf_body={
            "subnet_id": "var.subnet_id",
            "private_service_connection": {
                "name": '"psc-${var.name}"',
                "private_connection_resource_id": "var.target_resource_id",
                "subresource_names": "[var.subresource_name]",
                "is_manual_connection": "false",
            },
        },
        bicep_body={
            "properties": {
                "subnet": {"id": "subnetId"},
                "privateLinkServiceConnections": [
                    {
                        "name": "'psc-${name}'",
                        "properties": {
                            "privateLinkServiceId": "targetResourceId",
                            "groupIds": ["subresourceName"],
                        },
                    }
                ],
            }
        },
        inputs=("pe_subnet",),
        variables=(
            Variable("target_resource_id", "string", "Id of the resource it connects to"),
            Variable("subresource_name", "string", "Private link sub-resource (blob, vault, ...)"),
        ),
        note="a private endpoint the diagram draws on its own: which resource it connects "
        "to is yours to give (the resources the security analysis gives a private endpoint "
        "get theirs in their own module)",
    ),
    KindSpec(
        kind="subnet",
        terraform="azurerm_subnet",
        bicep=f"{_NET}/virtualNetworks/subnets@{_NET_V}",
        tf_body={
            "virtual_network_name": "var.virtual_network_name",
            "address_prefixes": "[var.subnet_prefix]",
        },
        bicep_body={
            "parent": "network",
            "properties": {
                "addressPrefix": "subnetPrefix",
                "networkSecurityGroup": {"id": "nsg.id"},
            },
        },
        inputs=("vnet",),
        located=False,
        tf_common=("resource_group_name",),
        helpers=(_VNET_READ, _nsg(()), _nsg_link("this")),  # Azure's default rules: add the flows'
        note="with a network security group of its own, Azure's default rules only: add "
        "the flows' rules (deny by default)",
    ),
    _storage_child(
        "storage_container",
        "azurerm_storage_container",
        "blobServices/containers",
        tf={"container_access_type": '"private"'},
        bicep_props={"publicAccess": "'None'"},
    ),
    _storage_child("storage_queue", "azurerm_storage_queue", "queueServices/queues"),
    _storage_child("storage_table", "azurerm_storage_table", "tableServices/tables"),
    _private_service(
        "eventhub_namespace",
        "azurerm_eventhub_namespace",
        "Microsoft.EventHub/namespaces@2026-01-01",
        local_auth="local_authentication_enabled",
        tf={"sku": "var.sku", "capacity": "1", "minimum_tls_version": '"1.2"'},
        bicep_top={"sku": {"name": "sku", "tier": "sku", "capacity": "1"}},
        bicep_props={"minimumTlsVersion": "'1.2'"},
    ),
    _private_service(
        "servicebus_namespace",
        "azurerm_servicebus_namespace",
        "Microsoft.ServiceBus/namespaces@2026-01-01",
        tf={
            "sku": "var.sku",
            "capacity": "1",
            "premium_messaging_partitions": "1",
            "minimum_tls_version": '"1.2"',
            "depends_on": "[azurerm_role_assignment.cmk]",
            "customer_managed_key": {
                "key_vault_key_id": "var.customer_managed_key_id",
                "identity_id": "azurerm_user_assigned_identity.cmk.id",
                "infrastructure_encryption_enabled": "true",
            },
        },
        bicep_top={"sku": {"name": "sku", "tier": "sku", "capacity": "1"}},
        bicep_props={
            "minimumTlsVersion": "'1.2'",
            "premiumMessagingPartitions": "1",
            "encryption": {
                "keySource": "'Microsoft.KeyVault'",
                "requireInfrastructureEncryption": "true",
                "keyVaultProperties": [
                    {
                        "keyName": "split(customerManagedKeyId, '/')[4]",
                        "keyVaultUri": "'https://${split(customerManagedKeyId, '/')[2]}/'",
                        "identity": {"userAssignedIdentity": "cmkIdentity.id"},
                    }
                ],
            },
        },
        cmk=True,
    ),
    _private_service(
        "eventgrid_topic",
        "azurerm_eventgrid_topic",
        "Microsoft.EventGrid/topics@2025-02-15",
        bicep_props={"minimumTlsVersionAllowed": "'1.2'"},
        sku=False,
    ),
    _private_service(
        "cognitive_account",
        "azurerm_cognitive_account",
        "Microsoft.CognitiveServices/accounts@2026-07-01",
        tf={
            "kind": "var.account_kind",
            "sku_name": "var.sku",
            "custom_subdomain_name": "var.name",
            "depends_on": "[azurerm_role_assignment.cmk]",
            "customer_managed_key": {
                "key_vault_key_id": "var.customer_managed_key_id",
                "identity_client_id": "azurerm_user_assigned_identity.cmk.client_id",
            },
        },
        bicep_top={"kind": "accountKind", "sku": {"name": "sku"}},
        bicep_props={
            "customSubDomainName": "name",
            "encryption": {
                "keySource": "'Microsoft.KeyVault'",
                "keyVaultProperties": {
                    "keyName": "split(customerManagedKeyId, '/')[4]",
                    "keyVaultUri": "'https://${split(customerManagedKeyId, '/')[2]}/'",
                    "identityClientId": "cmkIdentity.properties.clientId",
                },
            },
        },
        cmk=True,
        variables=(
            Variable(
                "account_kind",
                "string",
                "Kind (CognitiveServices, OpenAI, ...)",
                "CognitiveServices",
            ),
        ),
    ),
    _private_service(
        "search_service",
        "azurerm_search_service",
        "Microsoft.Search/searchServices@2025-05-01",
        local_auth="local_authentication_enabled",
        tf={"sku": "var.sku", "replica_count": "var.replica_count"},
        bicep_top={"sku": {"name": "sku"}},
        bicep_props={"replicaCount": "replicaCount"},
        variables=(
            Variable(
                "replica_count",
                "number",
                "Replicas (each one billed as a search unit): 3 for the SLA on index updates "
                "and queries, 2 for queries only, 1 for none",
                3,
            ),
        ),
    ),
    _private_service(
        "app_configuration",
        "azurerm_app_configuration",
        "Microsoft.AppConfiguration/configurationStores@2024-06-01",
        tf={
            "sku": "var.sku",
            "purge_protection_enabled": "true",
            "depends_on": "[azurerm_role_assignment.cmk]",
            "encryption": {
                "key_vault_key_identifier": "var.customer_managed_key_id",
                "identity_client_id": "azurerm_user_assigned_identity.cmk.client_id",
            },
        },
        bicep_top={"sku": {"name": "sku"}},
        bicep_props={
            "enablePurgeProtection": "true",
            "encryption": {
                "keyVaultProperties": {
                    "keyIdentifier": "customerManagedKeyId",
                    "identityClientId": "cmkIdentity.properties.clientId",
                }
            },
        },
        cmk=True,
        tf_public=(
            "public_network_access",
            'var.public_network_access_enabled ? "Enabled" : "Disabled"',
        ),
    ),
    KindSpec(
        kind="api_management",
        terraform="azurerm_api_management",
        bicep="Microsoft.ApiManagement/service@2024-05-01",
        tf_body={
            "publisher_name": "var.publisher_name",
            "publisher_email": "var.publisher_email",
            "sku_name": "var.sku",
            "min_api_version": '"2021-08-01"',
            "virtual_network_type": 'var.public_network_access_enabled ? "External" : "Internal"',
            "virtual_network_configuration": {"subnet_id": "azurerm_subnet.own.id"},
        },
        bicep_body={
            "sku": {"name": "split(sku, '_')[0]", "capacity": "int(split(sku, '_')[1])"},
            "properties": {
                "publisherName": "publisherName",
                "publisherEmail": "publisherEmail",
                "apiVersionConstraint": {"minApiVersion": "'2021-08-01'"},
                "virtualNetworkType": "publicNetworkAccess == 'Enabled' ? 'External' : 'Internal'",
                "virtualNetworkConfiguration": {"subnetResourceId": "subnet.id"},
            },
        },
        inputs=("sku", "public", "vnet", "diagnostics"),
        logs=True,
        identity=True,
        helpers=(
            _VNET_READ,
            _nsg(_APIM_RULES),
            _own_subnet("snet-apim", nsg=True),
            _nsg_link("own"),
        ),
        variables=(
            Variable("publisher_name", "string", "Organisation that publishes the APIs"),
            Variable("publisher_email", "string", "Address for the API publisher's mail"),
        ),
        subnet_newbits=10,
        subnet_netnum=1008,
        sku_help="SKU and capacity (Developer_1 or Premium_1, ...: the tiers that join a "
        "virtual network)",
        note="in its own subnet of the network with the NSG rules API Management requires: "
        "External mode (gateway on the internet) where a flow from the internet reaches "
        "it, else Internal (reached from the network only); Azure accepts public network "
        "access disabled only on an existing instance",
    ),
    KindSpec(
        kind="container_app_environment",
        terraform="azurerm_container_app_environment",
        bicep="Microsoft.App/managedEnvironments@2026-01-01",
        tf_body={"log_analytics_workspace_id": "var.log_analytics_workspace_id"},
        bicep_body={
            "properties": {
                "appLogsConfiguration": {
                    "destination": "'azure-monitor'",
                }
            }
        },
        inputs=("workspace", "diagnostics"),
        logs=True,
    ),
    KindSpec(
        kind="container_app",
        terraform="azurerm_container_app",
        bicep="Microsoft.App/containerApps@2026-01-01",
        tf_body={
            "container_app_environment_id": "var.parent_id",
            "revision_mode": '"Single"',
            "template": {
                "container": {
                    "name": '"app"',
                    "image": "var.image",
                    "cpu": "0.5",
                    "memory": '"1Gi"',
                }
            },
        },
        bicep_body={
            "properties": {
                "environmentId": "parentId",
                "template": {
                    "containers": [
                        {
                            "name": "'app'",
                            "image": "image",
                            "resources": {"cpu": "json('0.5')", "memory": "'1Gi'"},
                        }
                    ]
                },
            }
        },
        inputs=("parent",),
        identity=True,
        parent_kind="container_app_environment",
        variables=(Variable("image", "string", "Container image to run"),),
        tf_common=("resource_group_name", "tags"),
    ),
    KindSpec(
        kind="container_group",
        terraform="azurerm_container_group",
        bicep="Microsoft.ContainerInstance/containerGroups@2026-07-01",
        tf_body={
            "os_type": '"Linux"',
            "ip_address_type": '"Private"',
            "subnet_ids": "[var.subnet_id]",
            "container": {
                "name": '"app"',
                "image": "var.image",
                "cpu": "1",
                "memory": "1.5",
                "ports": {"port": "443", "protocol": '"TCP"'},
            },
        },
        bicep_body={
            "properties": {
                "osType": "'Linux'",
                "subnetIds": [{"id": "subnetId"}],
                "ipAddress": {
                    "type": "'Private'",
                    "ports": [{"port": "443", "protocol": "'TCP'"}],
                },
                "containers": [
                    {
                        "name": "'app'",
                        "properties": {
                            "image": "image",
                            "ports": [{"port": "443", "protocol": "'TCP'"}],
                            "resources": {"requests": {"cpu": "1", "memoryInGB": "json('1.5')"}},
                        },
                    }
                ],
            }
        },
        inputs=("subnet",),
        identity=True,
        variables=(Variable("image", "string", "Container image to run"),),
    ),
    KindSpec(
        kind="communication_service",
        terraform="azurerm_communication_service",
        bicep="Microsoft.Communication/communicationServices@2026-03-18",
        tf_body={"data_location": "var.data_location"},
        bicep_body={"location": "'global'", "properties": {"dataLocation": "dataLocation"}},
        located=False,
        variables=(Variable("data_location", "string", "Where the data is kept", "Europe"),),
        tf_common=("resource_group_name", "tags"),
    ),
    KindSpec(
        kind="frontdoor_profile",
        terraform="azurerm_cdn_frontdoor_profile",
        bicep="Microsoft.Cdn/profiles@2025-12-01",
        tf_body={"sku_name": "var.sku"},
        bicep_body={"location": "'global'", "sku": {"name": "sku"}},
        located=False,
        inputs=("sku", "diagnostics"),
        logs=True,
        note="add its endpoints, origins and a WAF policy",
        tf_common=("resource_group_name", "tags"),
    ),
    KindSpec(
        kind="mysql_flexible_server",
        terraform="azurerm_mysql_flexible_server",
        bicep="Microsoft.DBforMySQL/flexibleServers@2024-12-30",
        tf_body={
            "version": '"8.0.21"',
            "sku_name": "var.sku",
            "backup_retention_days": "7",
            "geo_redundant_backup_enabled": "true",
            "public_network_access": 'var.public_network_access_enabled ? "Enabled" : "Disabled"',
        },
        bicep_body={
            "sku": {"name": "sku", "tier": "'GeneralPurpose'"},
            "properties": {
                "version": "'8.0.21'",
                "backup": {"backupRetentionDays": "7", "geoRedundantBackup": "'Enabled'"},
                "network": {"publicNetworkAccess": "publicNetworkAccess"},
            },
        },
        inputs=_PAAS,
        logs=True,
        note="no administrator password is generated: add a Microsoft Entra administrator "
        "(azurerm_mysql_flexible_server_active_directory_administrator)",
    ),
    # --- original kinds: platform
    KindSpec(
        kind="log_analytics_workspace",
        terraform="azurerm_log_analytics_workspace",
        bicep="Microsoft.OperationalInsights/workspaces@2023-09-01",
        tf_body={"sku": "var.sku", "retention_in_days": "var.retention_in_days"},
        bicep_body={"properties": {"sku": {"name": "sku"}, "retentionInDays": "retentionInDays"}},
        inputs=("sku",),
        variables=(Variable("retention_in_days", "number", "Log retention in days", 90),),
    ),
    KindSpec(
        kind="application_insights",
        terraform="azurerm_application_insights",
        bicep="Microsoft.Insights/components@2020-02-02",
        tf_body={
            "application_type": "var.sku",
            "workspace_id": "var.log_analytics_workspace_id",
            "local_authentication_enabled": "false",
        },
        bicep_body={
            "kind": "sku",
            "properties": {
                "Application_Type": "sku",
                "WorkspaceResourceId": "logAnalyticsWorkspaceId",
                "DisableLocalAuth": "true",
            },
        },
        inputs=("sku", "workspace"),
        sku_help="Application type",
        root_sku_help=True,
    ),
    KindSpec(
        kind="redis_cache",
        min_tls=True,
        terraform="azurerm_redis_cache",
        bicep="Microsoft.Cache/redis@2024-03-01",
        tf_body={
            "capacity": "1",
            "family": 'var.sku == "Premium" ? "P" : "C"',
            "sku_name": "var.sku",
            "minimum_tls_version": '"1.2"',
            "non_ssl_port_enabled": "false",
            "public_network_access_enabled": "var.public_network_access_enabled",
            "redis_configuration": {"active_directory_authentication_enabled": "true"},
        },
        bicep_body={
            "properties": {
                "sku": {"name": "sku", "family": "sku == 'Premium' ? 'P' : 'C'", "capacity": "1"},
                "minimumTlsVersion": "'1.2'",
                "enableNonSslPort": "false",
                "publicNetworkAccess": "publicNetworkAccess",
                "redisConfiguration": {"'aad-enabled'": "'true'"},
            }
        },
        inputs=_PAAS,
        logs=True,
    ),
    KindSpec(
        kind="kubernetes_cluster",
        measures=(
            "private API server",
            "node disks encrypted with the given disk encryption set (a required input)",
            "Key Vault secrets provider with rotation",
        ),
        always_identity=True,
        terraform="azurerm_kubernetes_cluster",
        bicep="Microsoft.ContainerService/managedClusters@2024-02-01",
        tf_body={
            "dns_prefix": "var.name",
            "sku_tier": '"Standard"',
            "local_account_disabled": "true",
            "role_based_access_control_enabled": "true",
            "azure_policy_enabled": "true",
            "private_cluster_enabled": "true",
            "disk_encryption_set_id": "var.disk_encryption_set_id",
            "default_node_pool": {
                "name": '"system"',
                "vm_size": "var.sku",
                "node_count": "2",
                "vnet_subnet_id": "var.subnet_id",
                "only_critical_addons_enabled": "true",
            },
            "identity": {"type": '"SystemAssigned"'},
            "azure_active_directory_role_based_access_control": {"azure_rbac_enabled": "true"},
            "network_profile": {"network_plugin": '"azure"', "network_policy": '"azure"'},
            "oms_agent": {"log_analytics_workspace_id": "var.log_analytics_workspace_id"},
        },
        bicep_body={
            "sku": {"name": "'Base'", "tier": "'Standard'"},
            "identity": {"type": "'SystemAssigned'"},
            "properties": {
                "dnsPrefix": "name",
                "enableRBAC": "true",
                "disableLocalAccounts": "true",
                "aadProfile": {"managed": "true", "enableAzureRBAC": "true"},
                "agentPoolProfiles": [
                    {
                        "name": "'system'",
                        "mode": "'System'",
                        "count": "2",
                        "vmSize": "sku",
                        "vnetSubnetID": "subnetId",
                        "maxPods": "50",
                        "osDiskType": "'Ephemeral'",
                        "enableEncryptionAtHost": "true",
                    }
                ],
                "apiServerAccessProfile": {"enablePrivateCluster": "true"},
                "diskEncryptionSetID": "diskEncryptionSetId",
                "networkProfile": {"networkPlugin": "'azure'", "networkPolicy": "'azure'"},
                "addonProfiles": {
                    "azurepolicy": {"enabled": "true"},
                    "omsagent": {
                        "enabled": "true",
                        "config": {"logAnalyticsWorkspaceResourceID": "logAnalyticsWorkspaceId"},
                    },
                    "azureKeyvaultSecretsProvider": {
                        "enabled": "true",
                        "config": {"enableSecretRotation": "'true'"},
                    },
                },
            },
        },
        inputs=("sku", "subnet", "diagnostics"),
        logs=True,
        variables=(
            Variable(
                "disk_encryption_set_id",
                "string",
                "Id of the disk encryption set (a customer-managed key) for the nodes' disks",
            ),
        ),
        sku_help="System node pool VM size",
        # AcrPull and similar go to the kubelet identity that pulls images
        principal=(
            "azurerm_kubernetes_cluster.this.kubelet_identity[0].object_id",
            "main.properties.identityProfile.kubeletidentity.objectId",
        ),
        root_sku_help=True,
    ),
    KindSpec(
        kind="linux_virtual_machine",
        always_identity=True,
        terraform="azurerm_linux_virtual_machine",
        bicep="Microsoft.Compute/virtualMachines@2024-03-01",
        tf_body={
            "size": "var.sku",
            "admin_username": "var.admin_username",
            "disable_password_authentication": "true",
            "network_interface_ids": "[azurerm_network_interface.this.id]",
            "admin_ssh_key": {
                "username": "var.admin_username",
                "public_key": "var.admin_ssh_public_key",
            },
            "os_disk": {"caching": '"ReadWrite"', "storage_account_type": '"Premium_LRS"'},
            "source_image_reference": {
                "publisher": '"Canonical"',
                "offer": '"ubuntu-24_04-lts"',
                "sku": '"server"',
                "version": '"latest"',
            },
            "identity": {"type": '"SystemAssigned"'},
            "boot_diagnostics": {},
        },
        bicep_body={
            "identity": {"type": "'SystemAssigned'"},
            "properties": {
                "hardwareProfile": {"vmSize": "sku"},
                "osProfile": {
                    "computerName": "name",
                    "adminUsername": "adminUsername",
                    "linuxConfiguration": {
                        "disablePasswordAuthentication": "true",
                        "ssh": {
                            "publicKeys": [
                                {
                                    "path": "'/home/${adminUsername}/.ssh/authorized_keys'",
                                    "keyData": "adminSshPublicKey",
                                }
                            ]
                        },
                    },
                    "allowExtensionOperations": "false",
                },
                "storageProfile": {
                    "imageReference": {
                        "publisher": "'Canonical'",
                        "offer": "'ubuntu-24_04-lts'",
                        "sku": "'server'",
                        "version": "'latest'",
                    },
                    "osDisk": {
                        "createOption": "'FromImage'",
                        "caching": "'ReadWrite'",
                        "managedDisk": {"storageAccountType": "'Premium_LRS'"},
                    },
                },
                "networkProfile": {"networkInterfaces": [{"id": "nic.id"}]},
                "diagnosticsProfile": {"bootDiagnostics": {"enabled": "true"}},
            },
        },
        inputs=("sku", "subnet"),
        helpers=(
            Helper(  # its network interface in the workload subnet, no public IP
                terraform="azurerm_network_interface",
                bicep_symbol="nic",
                bicep=f"{_NET}/networkInterfaces@2023-11-01",
                tf_body={"name": '"nic-${var.name}"', "ip_configuration": _NIC_IP_TF},
                bicep_body={"name": "'nic-${name}'", "properties": _NIC_IP_BICEP},
            ),
        ),
        variables=(
            Variable("admin_username", "string", "Admin user name", "azureuser"),
            Variable(
                "admin_ssh_public_key",
                "string",
                "SSH public key of the admin user",
                shared="admin_ssh_public_key",
                shared_description="SSH public key for the VMs' admin user",
            ),
        ),
        sku_help="VM size",
        principal=(  # the identity is in the bodies, where azurerm's docs write it
            "azurerm_linux_virtual_machine.this.identity[0].principal_id",
            "main.identity.principalId",
        ),
        root_sku_help=True,
    ),
    KindSpec(
        kind="virtual_network",
        terraform="azurerm_virtual_network",
        bicep=f"{_NET}/virtualNetworks@2023-11-01",
        tf_body={"address_space": "[var.sku]"},
        bicep_body={
            "properties": {
                "addressSpace": {"addressPrefixes": ["sku"]},
                "subnets": [
                    _bicep_subnet("snet-workload", "workloadSubnetPrefix"),
                    _bicep_subnet(
                        "snet-private-endpoints",
                        "privateEndpointSubnetPrefix",
                        {"privateEndpointNetworkPolicies": "'Enabled'"},
                    ),
                ],
            }
        },
        inputs=("sku", "diagnostics"),
        logs=True,
        helpers=(
            # one NSG on both subnets, Azure's default rules: add the flows'. Terraform
            # writes it after the network, Bicep before it (its subnets name the NSG)
            replace(_VNET_NSG, bicep="", place="after"),
            replace(_VNET_NSG, terraform=""),
            # Terraform: the subnets as resources of their own (Bicep: in the network's
            # properties), each with the NSG
            _network_subnet("workload", "snet-workload", _WORKLOAD_SUBNET),
            _network_subnet(
                "private_endpoints",
                "snet-private-endpoints",
                _PE_SUBNET,
                {"private_endpoint_network_policies": '"Enabled"'},
            ),
            replace(_nsg_link("workload"), tf_name="workload", place="after"),
            replace(_nsg_link("private_endpoints"), tf_name="private_endpoints", place="after"),
        ),
        variables=(
            Variable(
                "workload_subnet_prefix",
                "string",
                "Prefix of the workload subnet",
                "10.0.1.0/24",
                languages=("bicep",),
                subnet=_WORKLOAD_SUBNET,
            ),
            Variable(
                "private_endpoint_subnet_prefix",
                "string",
                "Prefix of the private endpoint subnet",
                "10.0.2.0/24",
                languages=("bicep",),
                subnet=_PE_SUBNET,
            ),
        ),
        outputs=(
            Output(
                "workload_subnet_id",
                "azurerm_subnet.workload.id",
                "main.properties.subnets[0].id",
                "Workload subnet id",
            ),
            Output(
                "private_endpoint_subnet_id",
                "azurerm_subnet.private_endpoints.id",
                "main.properties.subnets[1].id",
                "Subnet id for private endpoints",
            ),
        ),
        sku_help="Address space (CIDR)",
        root_sku_help=True,
    ),
]

#: kind → spec, for every kind described as data.
SPECS: dict[str, KindSpec] = {spec.kind: spec for spec in _SPECS}


def kind_variables(kind: str, language: str) -> tuple[Variable, ...]:
    """The ``language`` module's own variables (its spec's; none for a kind with no spec).

    A secure setting that needs a value only a person can give is required."""
    found = SPECS[kind].variables if kind in SPECS else ()
    return tuple(v for v in found if language in v.languages)


def instance_inputs(kind: str, language: str) -> tuple[Variable, ...]:
    """The variables the root module declares for each instance of ``kind`` and passes
    on: the required ones, neither shared by the kind's instances nor optional."""
    return tuple(
        v
        for v in kind_variables(kind, language)
        if v.default is None and not v.shared and not v.optional
    )


def shared_inputs(kinds: Iterable[str], language: str) -> dict[str, Variable]:
    """Root variable name → the variable, of the shared inputs of ``kinds`` (once each)."""
    found: dict[str, Variable] = {}
    for kind in kinds:
        for v in kind_variables(kind, language):
            if v.shared:
                found.setdefault(v.shared, v)
    return found
