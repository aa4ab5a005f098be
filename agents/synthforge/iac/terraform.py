"""Render a module plan as Terraform for the ``azurerm`` provider.

Layout: a root module (``versions.tf``, ``providers.tf``, ``variables.tf``, ``main.tf``,
``outputs.tf``) and one module per resource kind under ``modules/<kind>/`` (``main.tf``,
``variables.tf``, ``outputs.tf``). A module's resources come from its kind's entry in
:mod:`~agents.synthforge.iac.kinds` (:func:`~agents.synthforge.iac.kinds.tf_main`); this
module adds what every kind shares (the customer-managed key's identity, the private
endpoint, the diagnostic setting), the variables and outputs, and the root module. Every
resource block is written with two-space indentation and one attribute per line, so
:mod:`agents.synthforge.iac.fixer` can edit it as text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from agents.synthforge.iac.kinds import (
    SPECS,
    instance_inputs,
    kind_variables,
    principal_output,
    root_sku_help,
    shared_inputs,
    tf_default,
    tf_helpers,
    tf_main,
)

if TYPE_CHECKING:
    from agents.synthforge.iac.kinds import KindSpec
    from agents.synthforge.iac.plan import Instance, Plan

AZURERM_VERSION = "~> 4.0"
TERRAFORM_VERSION = ">= 1.5.0"

#: The main resource of each kind: (terraform type, what to diagnose, logs supported).
MAIN_RESOURCE: dict[str, tuple[str, bool]] = {
    k: (spec.terraform, spec.logs) for k, spec in SPECS.items()
}

#: The principal id output of each kind with a managed identity.
_IDENTITY_OUTPUT: dict[str, str] = {
    k: out for k, spec in SPECS.items() if (out := principal_output(spec, "terraform"))
}


def q(value: str) -> str:
    """An HCL string literal."""
    return json.dumps(value)


def _var(name: str, type_: str, description: str, default: str | None = None) -> str:
    lines = [
        f'variable "{name}" {{',
        f"  description = {q(description)}",
        f"  type        = {type_}",
    ]
    if default is not None:
        lines.append(f"  default     = {default}")
    lines.append("}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- modules


def _private_endpoint(main: str) -> str:
    return f"""\
resource "azurerm_private_endpoint" "this" {{
  count               = var.private_endpoint_subnet_id == null ? 0 : 1
  name                = "pe-${{var.name}}"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  tags                = var.tags

  private_service_connection {{
    name                           = "psc-${{var.name}}"
    private_connection_resource_id = {main}.this.id
    subresource_names              = [var.private_endpoint_group_id]
    is_manual_connection           = false
  }}

  private_dns_zone_group {{
    name                 = "default"
    private_dns_zone_ids = [var.private_dns_zone_id]
  }}
}}
"""


#: The identity that reads a customer-managed key, allowed to use that one key only.
_CMK = """\
resource "azurerm_user_assigned_identity" "cmk" {
  name                = "id-cmk-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

resource "azurerm_role_assignment" "cmk" {
  scope                = "${var.customer_managed_key_vault_id}/keys/${local.cmk_key_name}"
  role_definition_name = "Key Vault Crypto Service Encryption User"
  principal_id         = azurerm_user_assigned_identity.cmk.principal_id
  principal_type       = "ServicePrincipal"
}

locals {
  # https://<vault>.vault.azure.net/keys/<name>[/<version>]
  cmk_key_name = element(split("/", var.customer_managed_key_id), 4)
}
"""

#: Resources that hold the customer-managed key for a kind's main resource.
_CMK_USER = {
    "managed_disk": """\
resource "azurerm_disk_encryption_set" "this" {
  name                      = "des-${var.name}"
  location                  = var.location
  resource_group_name       = var.resource_group_name
  key_vault_key_id          = var.customer_managed_key_id
  encryption_type           = "EncryptionAtRestWithCustomerKey"
  auto_key_rotation_enabled = true
  tags                      = var.tags
  depends_on                = [azurerm_role_assignment.cmk]

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.cmk.id]
  }
}

""",
}

#: Inputs only a person can give, shared by every module that takes them: (root
#: variable, type, description); the modules take them under the same name.
CMK_VARIABLES = (
    (
        "customer_managed_key_id",
        "string",
        "Versionless id of the Key Vault key that encrypts the data at rest "
        "(customer-managed key), https://<vault>.vault.azure.net/keys/<name>",
    ),
    (
        "customer_managed_key_vault_id",
        "string",
        "Resource id of the Key Vault holding that key (purge protection on, as Azure "
        "requires for customer-managed keys): each module's identity is granted Key Vault "
        "Crypto Service Encryption User on the key there",
    ),
)


def _diagnostics(main: str, logs: bool) -> str:
    log = '\n  enabled_log {\n    category_group = "allLogs"\n  }\n' if logs else ""
    return f"""\
resource "azurerm_monitor_diagnostic_setting" "this" {{
  name                       = "diag-${{var.name}}"
  target_resource_id         = {main}.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id
{log}
  enabled_metric {{
    category = "AllMetrics"
  }}
}}
"""


def module_files(kind: str) -> list[tuple[str, str]]:
    """``main.tf``, ``variables.tf`` and ``outputs.tf`` of the module for ``kind``."""
    spec = SPECS[kind]
    inputs = spec.inputs
    main_type, logs = MAIN_RESOURCE[kind]
    main = tf_main(spec)
    if "cmk" in inputs:
        main = _CMK + "\n" + _CMK_USER.get(kind, "") + main
    if "private_endpoint" in inputs:
        main += "\n" + _private_endpoint(main_type)
    if "diagnostics" in inputs:
        main += "\n" + _diagnostics(main_type, logs)
    main += "".join("\n" + text for text in tf_helpers(spec, "last"))
    variables = [
        _var("name", "string", "Name of the resource"),
        _var("location", "string", "Azure region"),
        _var("resource_group_name", "string", "Resource group to deploy into"),
        _var("tags", "map(string)", "Tags for every resource", "{}"),
    ]
    if "resource_group_name" not in spec.tf_common:
        del variables[2]
    if "sku" in inputs:
        help_ = _SKU_HELP.get(kind, spec.sku_help)
        variables.append(_var("sku", "string", help_))
    if "vnet" in inputs:
        variables += [
            _var("virtual_network_name", "string", "Virtual network of its subnet"),
            _var("subnet_prefix", "string", "Address prefix of its subnet"),
        ]
    if "parent" in inputs:
        variables += [
            _var("parent_id", "string", "Id of the resource it belongs to"),
            _var("parent_name", "string", "Name of the resource it belongs to"),
        ]
    for extra in kind_variables(kind, "terraform"):
        default = None if extra.default is None else tf_default(extra.default)
        if extra.optional:
            default = "null"
        variables.append(_var(extra.name, extra.type, extra.description, default))
    if "public" in inputs:
        variables.append(
            _var(
                "public_network_access_enabled",
                "bool",
                "Allow public network access; false unless a flow from the internet needs it",
                "false",
            )
        )
    if "diagnostics" in inputs or "workspace" in inputs:
        variables.append(
            _var("log_analytics_workspace_id", "string", "Log Analytics workspace for diagnostics")
        )
    if "private_endpoint" in inputs:
        variables += [
            _var("private_endpoint_subnet_id", "string", "Subnet for a private endpoint", "null"),
            _var("private_endpoint_group_id", "string", "Private link sub-resource", "null"),
            _var("private_dns_zone_id", "string", "Private DNS zone of the endpoint", "null"),
        ]
    if "subnet" in inputs or "pe_subnet" in inputs:
        variables.append(_var("subnet_id", "string", "Subnet to place the resource in"))
    if "cmk" in inputs:
        variables += [_var(*v) for v in CMK_VARIABLES]
    outputs = [
        _output("id", f"{main_type}.this.id", "Resource id"),
        _output("name", f"{main_type}.this.name", "Resource name"),
    ]
    if kind in _IDENTITY_OUTPUT:
        outputs.append(
            _output("principal_id", _IDENTITY_OUTPUT[kind], "Principal id of its managed identity")
        )
    outputs += [_output(o.name, o.terraform, o.description) for o in spec.outputs]
    return [
        ("main.tf", main),
        ("variables.tf", "\n\n".join(variables) + "\n"),
        ("outputs.tf", "\n\n".join(outputs) + "\n"),
    ]


#: What the SKU is of a kind each language names apart (a replication type here, a SKU
#: name in Bicep); the other kinds' is their spec's ``sku_help``.
_SKU_HELP = {
    "storage_account": "Replication type (LRS, ZRS, GRS, GZRS, ...)",
}


def _output(name: str, value: str, description: str) -> str:
    return f'output "{name}" {{\n  description = {q(description)}\n  value       = {value}\n}}'


# --------------------------------------------------------------------------- root


def _module_call(plan: Plan, inst: Instance) -> str:
    spec = SPECS[inst.kind]
    inputs = spec.inputs
    args: list[tuple[str, str]] = [
        ("source", q(f"./modules/{inst.kind}")),
        ("name", f"var.{inst.symbol}_name"),
        ("location", "var.location"),
        ("resource_group_name", "azurerm_resource_group.this.name"),
        ("tags", "var.tags"),
    ]
    if "resource_group_name" not in spec.tf_common:
        del args[3]
    if "sku" in inputs:
        args.append(("sku", f"var.{inst.symbol}_sku"))
    if "public" in inputs:
        args.append(("public_network_access_enabled", "true" if inst.public_access else "false"))
    ws = plan.workspace
    if ("diagnostics" in inputs or "workspace" in inputs) and ws is not None:
        args.append(("log_analytics_workspace_id", f"module.{ws.symbol}.id"))
    pe = inst.private_endpoint
    if pe is not None and "private_endpoint" in inputs and plan.network is not None:
        zone = plan.dns_zones.index(pe.private_dns_zone) + 1
        args += [
            (
                "private_endpoint_subnet_id",
                f"module.{plan.network.symbol}.private_endpoint_subnet_id",
            ),
            ("private_endpoint_group_id", q(pe.group_id)),
            ("private_dns_zone_id", f"azurerm_private_dns_zone.zone_{zone}.id"),
        ]
    if "subnet" in inputs and plan.network is not None:
        args.append(("subnet_id", f"module.{plan.network.symbol}.workload_subnet_id"))
    args += [
        (v.name, f"var.{v.shared}") for v in kind_variables(inst.kind, "terraform") if v.shared
    ]
    if "cmk" in inputs:
        args += [(name, f"var.{name}") for name, _, _ in CMK_VARIABLES]
    if inst.public_access:
        args += [
            (v.name, tf_default(v.if_public))
            for v in kind_variables(inst.kind, "terraform")
            if v.if_public is not None
        ]
    args += _spec_args(plan, inst, spec)
    required = instance_inputs(inst.kind, "terraform")
    args += [(v.name, f"var.{inst.symbol}_{v.name}") for v in required]
    width = max(len(k) for k, _ in args)
    body = "\n".join(f"  {k.ljust(width)} = {v}" for k, v in args)
    comment = f"# {inst.resource.name} ({inst.resource.resource_type})"
    if inst.added:
        comment = f"# added: {inst.resource.name} ({inst.resource.resource_type})"
    if inst.public_reason:
        comment += f"\n# public network access enabled: {inst.public_reason}"
    return f'{comment}\nmodule "{inst.symbol}" {{\n{body}\n}}\n'


def own_subnet_index(plan: Plan, inst: Instance) -> int:
    """The number of ``inst``'s own subnet in the network (kinds with the ``vnet`` input)."""
    same = [i for i in plan.instances if i.kind == inst.kind]
    return SPECS[inst.kind].subnet_netnum + same.index(inst)


def _spec_args(plan: Plan, inst: Instance, spec: KindSpec) -> list[tuple[str, str]]:
    args: list[tuple[str, str]] = []
    if "vnet" in spec.inputs and plan.network is not None:
        net = plan.network.symbol
        index = own_subnet_index(plan, inst)
        args += [
            ("virtual_network_name", f"module.{net}.name"),
            ("subnet_prefix", f"cidrsubnet(var.{net}_sku, {spec.subnet_newbits}, {index})"),
        ]
    if "pe_subnet" in spec.inputs and plan.network is not None:
        args.append(("subnet_id", f"module.{plan.network.symbol}.private_endpoint_subnet_id"))
    if "parent" in spec.inputs and inst.parent is not None:
        args += [
            ("parent_id", f"module.{inst.parent.symbol}.id"),
            ("parent_name", f"module.{inst.parent.symbol}.name"),
        ]
    if spec.children is not None and inst.children:
        args.append((spec.children.variable, f"var.{inst.symbol}_{spec.children.variable}"))
    return args


def _grants(plan: Plan) -> str:
    out = []
    for n, g in enumerate(plan.grants, start=1):
        name = f"{g.principal.symbol}_to_{g.scope.symbol}_{n}"
        if g.principal.kind not in _IDENTITY_OUTPUT:
            continue
        principal = f"module.{g.principal.symbol}.principal_id"
        if g.data_plane:
            out.append(
                f"# {g.role_name} (Cosmos DB data-plane role)\n"
                f'resource "azurerm_cosmosdb_sql_role_assignment" "{name}" {{\n'
                f"  resource_group_name = azurerm_resource_group.this.name\n"
                f"  account_name        = module.{g.scope.symbol}.name\n"
                f'  role_definition_id  = "${{module.{g.scope.symbol}.id}}/sqlRoleDefinitions/'
                f'{g.role_definition_id}"\n'
                f"  principal_id        = {principal}\n"
                f"  scope               = module.{g.scope.symbol}.id\n"
                "}\n"
            )
        else:
            out.append(
                f"# {g.role_name}\n"
                f'resource "azurerm_role_assignment" "{name}" {{\n'
                f"  scope              = module.{g.scope.symbol}.id\n"
                f'  role_definition_id = "${{data.azurerm_subscription.current.id}}/providers/'
                f'Microsoft.Authorization/roleDefinitions/{g.role_definition_id}"\n'
                f"  principal_id       = {principal}\n"
                f'  principal_type     = "ServicePrincipal"\n'
                f"  description        = {q(g.role_name)}\n"
                "}\n"
            )
    return "\n".join(out)


def render(plan: Plan) -> list[tuple[str, str]]:
    """(path, text) of every Terraform file for ``plan``."""
    files: list[tuple[str, str]] = [
        (
            "versions.tf",
            "terraform {\n"
            f"  required_version = {q(TERRAFORM_VERSION)}\n\n"
            "  required_providers {\n"
            "    azurerm = {\n"
            '      source  = "hashicorp/azurerm"\n'
            f"      version = {q(AZURERM_VERSION)}\n"
            "    }\n  }\n}\n",
        ),
        (
            "providers.tf",
            'provider "azurerm" {\n  features {}\n  storage_use_azuread = true\n}\n\n'
            'data "azurerm_subscription" "current" {}\n',
        ),
    ]
    variables = [
        _var("location", "string", "Azure region of every resource", q(plan.location)),
        _var("resource_group_name", "string", "Resource group", q(plan.resource_group)),
        _var("tags", "map(string)", "Tags for every resource", f"{{ source = {q(plan.source)} }}"),
    ]
    shared = shared_inputs((i.kind for i in plan.instances), "terraform")  # one for all
    variables += [_var(name, v.type, v.shared_description) for name, v in shared.items()]
    if any("cmk" in SPECS[i.kind].inputs for i in plan.instances):
        variables += [_var(*v) for v in CMK_VARIABLES]
    for inst in plan.instances:
        variables.append(
            _var(
                f"{inst.symbol}_name",
                "string",
                f"Name of {inst.resource.name}",
                q(inst.name_default),
            )
        )
        if "sku" in SPECS[inst.kind].inputs:
            variables.append(
                _var(
                    f"{inst.symbol}_sku",
                    "string",
                    f"{root_sku_help(inst.kind, _SKU_HELP)} of {inst.resource.name}",
                    q(inst.sku_default),
                )
            )
        drawn = SPECS[inst.kind].children if inst.kind in SPECS else None
        if drawn is not None and inst.children:  # the child resources drawn on it
            variables.append(
                _var(
                    f"{inst.symbol}_{drawn.variable}",
                    "list(string)",
                    f"{drawn.root_description} ({inst.resource.name})",
                    tf_default(inst.children),
                )
            )
        for extra in instance_inputs(inst.kind, "terraform"):  # required: the user gives it
            variables.append(
                _var(
                    f"{inst.symbol}_{extra.name}",
                    extra.type,
                    f"{extra.description} ({inst.resource.name})",
                )
            )
    main = [
        'resource "azurerm_resource_group" "this" {\n'
        "  name     = var.resource_group_name\n"
        "  location = var.location\n"
        "  tags     = var.tags\n}\n"
    ]
    if plan.network is not None:
        for n, zone in enumerate(plan.dns_zones, start=1):
            main.append(
                f'resource "azurerm_private_dns_zone" "zone_{n}" {{\n'
                f"  name                = {q(zone)}\n"
                "  resource_group_name = azurerm_resource_group.this.name\n"
                "  tags                = var.tags\n}\n\n"
                f'resource "azurerm_private_dns_zone_virtual_network_link" "zone_{n}" {{\n'
                f'  name                  = "link-{n}"\n'
                "  resource_group_name   = azurerm_resource_group.this.name\n"
                f"  private_dns_zone_name = azurerm_private_dns_zone.zone_{n}.name\n"
                f"  virtual_network_id    = module.{plan.network.symbol}.id\n"
                "  tags                  = var.tags\n}\n"
            )
    main += [_module_call(plan, inst) for inst in plan.instances]
    grants = _grants(plan)
    if grants:
        main.append(grants)
    outputs = [
        _output(f"{inst.symbol}_id", f"module.{inst.symbol}.id", f"Id of {inst.resource.name}")
        for inst in plan.instances
    ]
    files += [
        ("variables.tf", "\n\n".join(variables) + "\n"),
        ("main.tf", "\n".join(main)),
        ("outputs.tf", "\n\n".join(outputs) + "\n"),
    ]
    for kind in sorted({i.kind for i in plan.instances}):
        files += [(f"modules/{kind}/{name}", text) for name, text in module_files(kind)]
    return files
