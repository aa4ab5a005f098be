"""Render a module plan as Bicep: ``main.bicep`` plus ``modules/<kind>.bicep``.

Each module declares one main resource with the symbol ``main`` (two-space indentation,
one property per line), so :mod:`agents.synthforge.iac.fixer` can edit it as text. A
module's resources come from its kind's entry in :mod:`~agents.synthforge.iac.kinds`
(:func:`~agents.synthforge.iac.kinds.bicep_main`); this module adds what every kind
shares (the customer-managed key's identity, the private endpoint, the diagnostic
setting), the parameters and outputs, and ``main.bicep``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agents.synthforge.iac.kinds import (
    SPECS,
    Variable,
    bicep_default,
    bicep_helpers,
    bicep_main,
    bicep_type,
    instance_inputs,
    kind_variables,
    principal_output,
    root_sku_help,
    shared_inputs,
)

if TYPE_CHECKING:
    from agents.synthforge.iac.kinds import KindSpec
    from agents.synthforge.iac.plan import Instance, Plan

#: kind → (ARM type@apiVersion of the main resource, diagnostic logs supported)
MAIN_RESOURCE: dict[str, tuple[str, bool]] = {k: (v.bicep, v.logs) for k, v in SPECS.items()}

_PE_KINDS: set[str] = set()
_DIAG_KINDS: set[str] = set()
#: Kinds whose public network access the flow analysis decides (param publicNetworkAccess).
_PUBLIC_KINDS: set[str] = set()
_WORKSPACE_KINDS: set[str] = set()
_SUBNET_KINDS: set[str] = set()
_NO_SKU: set[str] = set()
#: Kinds encrypted with the customer-managed key (the Terraform modules' ``cmk`` input).
_CMK_KINDS: set[str] = set()
_IDENTITY_OUTPUT: dict[str, str] = {}

for _spec in SPECS.values():
    if "private_endpoint" in _spec.inputs:
        _PE_KINDS.add(_spec.kind)
    if {"private_endpoint", "public"} & set(_spec.inputs):
        _PUBLIC_KINDS.add(_spec.kind)
    if "diagnostics" in _spec.inputs:
        _DIAG_KINDS.add(_spec.kind)
    if {"diagnostics", "workspace"} & set(_spec.inputs):
        _WORKSPACE_KINDS.add(_spec.kind)
    if "subnet" in _spec.inputs:
        _SUBNET_KINDS.add(_spec.kind)
    if "sku" not in _spec.inputs:
        _NO_SKU.add(_spec.kind)
    if "cmk" in _spec.inputs:
        _CMK_KINDS.add(_spec.kind)
    if principal := principal_output(_spec, "bicep"):
        _IDENTITY_OUTPUT[_spec.kind] = principal


def s(value: str) -> str:
    """A Bicep string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


_IF_PE = "if (!empty(privateEndpointSubnetId))"
_PRIVATE_ENDPOINT = (
    f"resource privateEndpoint 'Microsoft.Network/privateEndpoints@2023-11-01' = {_IF_PE} {{\n"
    + """\
  name: 'pe-${name}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: privateEndpointSubnetId
    }
    privateLinkServiceConnections: [
      {
        name: 'psc-${name}'
        properties: {
          privateLinkServiceId: main.id
          groupIds: [
            privateEndpointGroupId
          ]
        }
      }
    ]
  }
}

"""
    + "resource privateDnsZoneGroup "
    + f"'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = {_IF_PE} {{\n"
    + """\
  parent: privateEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'default'
        properties: {
          privateDnsZoneId: privateDnsZoneId
        }
      }
    ]
  }
}
"""
)


_CMK_PARAMS = [
    "@description('Versionless id of the Key Vault key that encrypts the data at rest "
    "(customer-managed key), https://<vault>.vault.azure.net/keys/<name>')\n"
    "param customerManagedKeyId string",
    "@description('Resource id of the Key Vault holding that key (purge protection on)')\n"
    "param customerManagedKeyVaultId string",
]
_VAULT_ID = "split(customerManagedKeyVaultId, '/')"
#: The identity that reads the customer-managed key, granted use of that key only (in
#: the key vault's resource group, by ``key_access.bicep``).
_CMK = f"""\
resource cmkIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {{
  name: 'id-cmk-${{name}}'
  location: location
  tags: tags
}}

module keyAccess 'key_access.bicep' = {{
  name: 'key-access-${{name}}'
  scope: resourceGroup({_VAULT_ID}[2], {_VAULT_ID}[4])
  params: {{
    vaultName: last({_VAULT_ID})
    keyName: split(customerManagedKeyId, '/')[4]
    principalId: cmkIdentity.properties.principalId
  }}
}}
"""
#: Resources that hold the customer-managed key for a kind's main resource.
_CMK_USER = {
    "managed_disk": """\
resource encryptionSet 'Microsoft.Compute/diskEncryptionSets@2026-03-02' = {
  name: 'des-${name}'
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${cmkIdentity.id}': {}
    }
  }
  properties: {
    encryptionType: 'EncryptionAtRestWithCustomerKey'
    rotationToLatestKeyVersionEnabled: true
    activeKey: {
      keyUrl: customerManagedKeyId
    }
  }
  dependsOn: [
    keyAccess
  ]
}

""",
}
_CRYPTO_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"  # Key Vault Crypto Service Encryption User
#: ``modules/key_access.bicep``: use of one key granted to one principal.
KEY_ACCESS = f"""\
@description('Key Vault holding the key')
param vaultName string

@description('Name of the key')
param keyName string

@description('Principal granted use of the key')
param principalId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {{
  name: vaultName
}}

resource key 'Microsoft.KeyVault/vaults/keys@2026-02-01' existing = {{
  parent: vault
  name: keyName
}}

// Key Vault Crypto Service Encryption User
var roleId = '{_CRYPTO_USER}'

resource grant 'Microsoft.Authorization/roleAssignments@2022-04-01' = {{
  name: guid(key.id, principalId, roleId)
  scope: key
  properties: {{
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }}
}}
"""


def _diagnostics(logs: bool) -> str:
    log = (
        "    logs: [\n      {\n        categoryGroup: 'allLogs'\n        enabled: true\n"
        "      }\n    ]\n"
        if logs
        else ""
    )
    return (
        "resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {\n"
        "  name: 'diag-${name}'\n"
        "  scope: main\n"
        "  properties: {\n"
        "    workspaceId: logAnalyticsWorkspaceId\n"
        f"{log}"
        "    metrics: [\n      {\n        category: 'AllMetrics'\n        enabled: true\n"
        "      }\n    ]\n"
        "  }\n"
        "}\n"
    )


#: The SKUs a module allows, where only some meet its checks (``KindSpec.bicep_skus``).
ALLOWED_SKUS: dict[str, tuple[str, ...]] = {
    k: v.bicep_skus for k, v in SPECS.items() if v.bicep_skus
}

#: The network rules' default action: a literal Deny where no instance of the kind has
#: public network access (checkov sees it, as Azure does), else one that follows it.
_DEFAULT_ACTION = ("'Deny'", "publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'")


def module_file(kind: str, *, public: bool = True) -> str:
    """The text of ``modules/<kind>.bicep`` (``public``: some instance of it has public
    network access)."""
    spec = SPECS[kind]
    params = [
        "@description('Name of the resource')\nparam name string",
        "@description('Azure region')\nparam location string",
        "@description('Tags for every resource')\nparam tags object = {}",
    ]
    if kind not in _NO_SKU:
        help_ = _SKU_HELP.get(kind, spec.sku_help)
        only = _allowed(ALLOWED_SKUS.get(kind, ()))
        params.append(f"@description({s(help_)})\n{only}param sku string")
    params += _spec_params(spec)
    if kind in _PUBLIC_KINDS:
        params.append(
            "@description('Public network access; Disabled unless a flow from the internet "
            "needs it')\n"
            "@allowed([\n  'Enabled'\n  'Disabled'\n])\n"
            "param publicNetworkAccess string = 'Disabled'"
        )
    if kind in _PE_KINDS:
        params += [
            "@description('Subnet for a private endpoint (empty: none)')\n"
            "param privateEndpointSubnetId string = ''",
            "@description('Private link sub-resource')\nparam privateEndpointGroupId string = ''",
            "@description('Private DNS zone of the endpoint')\nparam privateDnsZoneId string = ''",
        ]
    if kind in _WORKSPACE_KINDS:
        params.append(
            "@description('Log Analytics workspace for diagnostics')\n"
            "param logAnalyticsWorkspaceId string"
        )
    if kind in _SUBNET_KINDS:
        params.append("@description('Subnet to place the resource in')\nparam subnetId string")
    if kind in _CMK_KINDS:
        params += _CMK_PARAMS
    text = "\n\n".join(params) + "\n\n"
    if kind in _CMK_KINDS:
        text += _CMK + "\n" + _CMK_USER.get(kind, "")
    text += bicep_main(spec).replace("DEFAULT_ACTION", _DEFAULT_ACTION[public])
    if spec.bicep_scope:
        text = f"targetScope = '{spec.bicep_scope}'\n\n" + text
    _, logs = MAIN_RESOURCE[kind]
    if kind in _PE_KINDS:
        text += "\n" + _PRIVATE_ENDPOINT
    if kind in _DIAG_KINDS:
        text += "\n" + _diagnostics(logs)
    text += "".join("\n" + part for part in bicep_helpers(spec, "last"))
    outputs = ["output id string = main.id", "output name string = main.name"]
    if kind in _IDENTITY_OUTPUT:
        outputs.append(f"output principalId string = {_IDENTITY_OUTPUT[kind]}")
    outputs += [f"output {camel(o.name)} string = {o.bicep}" for o in spec.outputs]
    text += "\n" + "\n".join(outputs) + "\n"
    return _MAIN.sub(SYMBOLS[kind], text) if kind in SYMBOLS else text


#: kind → the symbol of its main resource where it is not ``main`` (``KindSpec.
#: bicep_main_symbol``: a parent named with a symbol no other module uses).
SYMBOLS = {
    k: spec.bicep_main_symbol for k, spec in SPECS.items() if spec.bicep_main_symbol != "main"
}
_MAIN = re.compile(r"(?<![\w'$.-])main(?![\w'-])")


#: What the SKU is of a kind each language names apart (a SKU name here, a replication
#: type in Terraform); the other kinds' is their spec's ``sku_help``.
_SKU_HELP = {
    "storage_account": "SKU, e.g. Standard_GRS",
}


#: What the root's descriptions keep of a label or text: plain characters only.
_PLAIN = re.compile(r"[^A-Za-z0-9 ._()-]")
_TYPE_AT = re.compile(r"'(Microsoft\.[A-Za-z./]+)@([0-9a-z-]+)'")


def api_versions() -> dict[str, str]:
    """ARM type → the API version the module files use for it."""
    found: dict[str, str] = {}
    for kind in MAIN_RESOURCE:
        for type_, version in _TYPE_AT.findall(module_file(kind)):
            found.setdefault(type_, version)
    return found


def _spec_params(spec: KindSpec) -> list[str]:
    params = []
    if "vnet" in spec.inputs:
        params += [
            "@description('Virtual network of its subnet')\nparam virtualNetworkName string",
            "@description('Address prefix of its subnet')\nparam subnetPrefix string",
        ]
    if "pe_subnet" in spec.inputs:
        params.append("@description('Subnet to place the resource in')\nparam subnetId string")
    if "parent" in spec.inputs:
        params += [
            "@description('Id of the resource it belongs to')\nparam parentId string",
            "@description('Name of the resource it belongs to')\nparam parentName string",
        ]
    return params + _variable_params(kind_variables(spec.kind, "bicep"))


def _variable_params(variables: tuple[Variable, ...]) -> list[str]:
    """A module's own variables as Bicep parameters (no default: required)."""
    out = []
    for extra in variables:
        default = "" if extra.default is None else f" = {bicep_default(extra.default)}"
        out.append(
            f"@description({s(extra.description)})\n{_allowed(extra.allowed)}"
            f"param {camel(extra.name)} {bicep_type(extra.type)}{default}"
        )
    return out


def _allowed(values: tuple[str, ...]) -> str:
    """The ``@allowed`` decorator of a parameter that takes only ``values`` (none: any)."""
    if not values:
        return ""
    return "@allowed([" + "".join(f"\n  {s(v)}" for v in values) + "\n])\n"


def camel(symbol: str) -> str:
    """``web_app_x`` → ``webAppX`` (Bicep identifiers are camelCase by convention)."""
    head, *rest = symbol.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _sku(inst: Instance) -> str:
    return SPECS[inst.kind].bicep_sku_prefix + inst.sku_default


def _module(plan: Plan, inst: Instance) -> str:
    sym = camel(inst.symbol)
    params: list[tuple[str, str]] = [
        ("name", f"{sym}Name"),
        ("location", "location"),
        ("tags", "tags"),
    ]
    if inst.kind not in _NO_SKU:
        params.append(("sku", f"{sym}Sku"))
    if inst.kind in _PUBLIC_KINDS:
        params.append(("publicNetworkAccess", s("Enabled" if inst.public_access else "Disabled")))
    if inst.kind in _PE_KINDS:
        pe = inst.private_endpoint
        if pe is not None and plan.network is not None:
            zone = plan.dns_zones.index(pe.private_dns_zone) + 1
            net = camel(plan.network.symbol)
            params += [
                ("privateEndpointSubnetId", f"{net}.outputs.privateEndpointSubnetId"),
                ("privateEndpointGroupId", s(pe.group_id)),
                ("privateDnsZoneId", f"dnsZone{zone}.id"),
            ]
    if inst.kind in _WORKSPACE_KINDS and plan.workspace is not None:
        params.append(("logAnalyticsWorkspaceId", f"{camel(plan.workspace.symbol)}.outputs.id"))
    if inst.kind in _SUBNET_KINDS and plan.network is not None:
        params.append(("subnetId", f"{camel(plan.network.symbol)}.outputs.workloadSubnetId"))
    params += [
        (camel(v.name), camel(v.shared)) for v in kind_variables(inst.kind, "bicep") if v.shared
    ]
    if inst.kind in _CMK_KINDS:
        params += [(p, p) for p in ("customerManagedKeyId", "customerManagedKeyVaultId")]
    if inst.public_access:
        params += [
            (camel(v.name), bicep_default(v.if_public))
            for v in kind_variables(inst.kind, "bicep")
            if v.if_public is not None
        ]
    params += [  # subnets of the default address space
        (camel(v.name), s(subnet_prefix(inst.sku_default, *v.subnet)))
        for v in kind_variables(inst.kind, "bicep")
        if v.subnet is not None
    ]
    spec = SPECS[inst.kind]
    params += _spec_module_params(plan, inst, spec)
    required = instance_inputs(inst.kind, "bicep")
    params += [(camel(v.name), sym + camel("_" + v.name)) for v in required]
    body = "\n".join(f"    {k}: {v}" for k, v in params)
    comment = (
        f"// {'added: ' if inst.added else ''}{inst.resource.name} ({inst.resource.resource_type})"
    )
    if inst.public_reason:
        comment += f"\n// public network access enabled: {inst.public_reason}"
    scope = f"  scope: {spec.bicep_scope}()\n" if spec.bicep_scope else ""
    return (
        f"{comment}\nmodule {sym} 'modules/{inst.kind}.bicep' = {{\n"
        f"  name: {s(inst.symbol)}\n{scope}  params: {{\n{body}\n  }}\n}}\n"
    )


def subnet_prefix(space: str, newbits: int, netnum: int) -> str:
    """Terraform's ``cidrsubnet(space, newbits, netnum)``, computed here: the Bicep
    parser checkov uses knows no ``cidrSubnet``, so prefixes are written as text, from
    the network's default address space (change them with it)."""
    import ipaddress

    network = ipaddress.ip_network(space, strict=False)
    size = network.prefixlen + newbits
    if size > network.max_prefixlen:
        raise ValueError(f"{space} has no room for a /{size} subnet")
    base = int(network.network_address) + netnum * (1 << (network.max_prefixlen - size))
    return f"{ipaddress.ip_address(base)}/{size}"


def _spec_module_params(plan: Plan, inst: Instance, spec: KindSpec) -> list[tuple[str, str]]:
    from agents.synthforge.iac.terraform import own_subnet_index

    params: list[tuple[str, str]] = []
    if "vnet" in spec.inputs and plan.network is not None:
        net = plan.network
        index = own_subnet_index(plan, inst)
        prefix = subnet_prefix(net.sku_default, spec.subnet_newbits, index)
        params += [
            ("virtualNetworkName", f"{camel(net.symbol)}.outputs.name"),
            ("subnetPrefix", s(prefix)),
        ]
    if "pe_subnet" in spec.inputs and plan.network is not None:
        params.append(("subnetId", f"{camel(plan.network.symbol)}.outputs.privateEndpointSubnetId"))
    if "parent" in spec.inputs and inst.parent is not None:
        parent = camel(inst.parent.symbol)
        params += [("parentId", f"{parent}.outputs.id"), ("parentName", f"{parent}.outputs.name")]
    if spec.children is not None and inst.children:
        variable = camel(spec.children.variable)
        params.append((variable, f"{camel(inst.symbol)}{variable[0].upper()}{variable[1:]}"))
    return params


def _grants(plan: Plan) -> str:
    out: list[str] = []
    refs: dict[str, str] = {}
    for n, g in enumerate(plan.grants, start=1):
        if g.principal.kind not in _IDENTITY_OUTPUT:
            continue
        scope = camel(g.scope.symbol)
        ref = f"{scope}Ref"
        if ref not in refs:
            arm = MAIN_RESOURCE[g.scope.kind][0]
            refs[ref] = f"resource {ref} '{arm}' existing = {{\n  name: {scope}Name\n}}\n"
        principal = f"{camel(g.principal.symbol)}.outputs.principalId"
        if g.data_plane:
            out.append(
                f"// {g.role_name} (Cosmos DB data-plane role)\n"
                f"resource grant{n} 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@"
                "2024-05-15' = {\n"
                f"  parent: {ref}\n"
                f"  name: guid({ref}.id, {s(g.principal.symbol)}, {s(g.role_definition_id)})\n"
                f"  dependsOn: [\n    {scope}\n  ]\n"
                "  properties: {\n"
                f"    roleDefinitionId: '${{{ref}.id}}/sqlRoleDefinitions/{g.role_definition_id}'\n"
                f"    principalId: {principal}\n"
                f"    scope: {ref}.id\n"
                "  }\n}\n"
            )
        else:
            out.append(
                f"// {g.role_name}\n"
                f"resource grant{n} 'Microsoft.Authorization/roleAssignments@2022-04-01' = {{\n"
                f"  name: guid({ref}.id, {s(g.principal.symbol)}, {s(g.role_definition_id)})\n"
                f"  scope: {ref}\n"
                f"  dependsOn: [\n    {scope}\n  ]\n"
                "  properties: {\n"
                "    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/"
                f"roleDefinitions', {s(g.role_definition_id)})\n"
                f"    principalId: {principal}\n"
                "    principalType: 'ServicePrincipal'\n"
                f"    description: {s(g.role_name)}\n"
                "  }\n}\n"
            )
    return "\n".join([*refs.values(), *out])


def render(plan: Plan) -> list[tuple[str, str]]:
    """(path, text) of every Bicep file for ``plan``."""
    params = [
        "@description('Azure region of every resource')\n"
        f"param location string = {s(plan.location)}",
        "@description('Tags for every resource')\nparam tags object = {\n"
        f"  source: {s(plan.source)}\n}}",
    ]
    for name, v in shared_inputs((i.kind for i in plan.instances), "bicep").items():  # once
        params.append(
            f"@description({s(_PLAIN.sub('', v.shared_description))})\n"
            f"param {camel(name)} {bicep_type(v.type)}"
        )
    if any(i.kind in _CMK_KINDS for i in plan.instances):
        params += _CMK_PARAMS
    for inst in plan.instances:
        sym = camel(inst.symbol)
        label = _PLAIN.sub("", inst.resource.name)
        params.append(
            f"@description('Name of {label}')\nparam {sym}Name string = {s(inst.name_default)}"
        )
        if inst.kind not in _NO_SKU:
            params.append(
                f"@description({s(f'{root_sku_help(inst.kind, _SKU_HELP)} of {label}')})\n"
                f"param {sym}Sku string = {s(_sku(inst))}"
            )
        drawn = SPECS[inst.kind].children if inst.kind in SPECS else None
        if drawn is not None and inst.children:  # the child resources drawn on it
            variable = camel(drawn.variable)
            description = f"{drawn.root_description} ({label})"
            params.append(
                f"@description({s(description)})\n"
                f"param {sym}{variable[0].upper()}{variable[1:]} array = "
                f"{bicep_default(inst.children)}"
            )
        for extra in instance_inputs(inst.kind, "bicep"):  # required: the user gives it
            params.append(
                f"@description({s(f'{extra.description} ({label})')})\n"
                f"param {sym + camel('_' + extra.name)} {bicep_type(extra.type)}"
            )
    parts = ["\n\n".join(params) + "\n"]
    if plan.network is not None:
        net = camel(plan.network.symbol)
        for n, zone in enumerate(plan.dns_zones, start=1):
            parts.append(
                f"resource dnsZone{n} 'Microsoft.Network/privateDnsZones@2020-06-01' = {{\n"
                f"  name: {s(zone)}\n  location: 'global'\n  tags: tags\n}}\n\n"
                f"resource dnsZoneLink{n} 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@"
                "2020-06-01' = {\n"
                f"  parent: dnsZone{n}\n  name: 'link-{n}'\n  location: 'global'\n  tags: tags\n"
                "  properties: {\n    registrationEnabled: false\n    virtualNetwork: {\n"
                f"      id: {net}.outputs.id\n    }}\n  }}\n}}\n"
            )
    parts += [_module(plan, inst) for inst in plan.instances]
    grants = _grants(plan)
    if grants:
        parts.append(grants)
    parts.append(
        "\n".join(
            f"output {camel(i.symbol)}Id string = {camel(i.symbol)}.outputs.id"
            for i in plan.instances
        )
        + "\n"
    )
    files = [("main.bicep", "\n".join(parts))]
    for kind in sorted({i.kind for i in plan.instances}):
        public = any(i.public_access for i in plan.instances if i.kind == kind)
        files.append((f"modules/{kind}.bicep", module_file(kind, public=public)))
    if any(i.kind in _CMK_KINDS for i in plan.instances):
        files.append(("modules/key_access.bicep", KEY_ACCESS))
    return files
