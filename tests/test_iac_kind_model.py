"""The data model of a module kind (``KindSpec``) says what the hand templates said.

Small specs made here exercise what the original kinds needed of the model: helpers
before the main resource, after it and last (after the private endpoint and the
diagnostic setting), Terraform data sources, comments above a resource, an identity
or ``dependsOn`` the body places itself, and variables one language only takes. The
web and function app modules, now data, are checked for what their templates wrote.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from iac_helpers import analysis

from agents.synthforge.iac import bicep, kinds, terraform
from agents.synthforge.iac.kinds import Helper, KindSpec, Variable
from agents.synthforge.iac.module_development import generate
from agents.synthforge.models import Flow

_DATA = kinds._CLIENT_CONFIG  # a data source: Terraform only


def _helper(name: str, place: str, comment: str = "", *, tf: bool = True) -> Helper:
    return Helper(
        terraform=f"azurerm_{name}" if tf else "",
        bicep_symbol=name,
        bicep=f"Microsoft.Test/{name}s@2026-01-01",
        tf_body={"name": f'"{name}-${{var.name}}"'},
        bicep_body={"name": f"'{name}-${{name}}'"},
        located=False,
        tf_common=(),
        comment=comment,
        place=place,
    )


_SPEC = KindSpec(
    kind="test_thing",
    terraform="azurerm_test_thing",
    bicep="Microsoft.Test/things@2026-01-01",
    tf_body={"setting": '"on"', "tags": "var.tags", "depends_on": "[azurerm_first.this]"},
    bicep_body={
        "kind": "'thing'",
        "properties": {"setting": "'on'"},
        "identity": {"type": "'SystemAssigned'"},
        "dependsOn": ["keyAccess"],
    },
    inputs=("cmk",),
    identity=True,
    helpers=(
        _DATA,
        _helper("first", "before", "Made first:\nfor the main one"),
        _helper("second", "after", tf=False),
        _helper("third", "last", "Made last"),
    ),
    bicep_comment="Said in Bicep only",
)


def test_helpers_stand_where_their_place_says_with_their_comments() -> None:
    tf = kinds.tf_main(_SPEC)
    assert tf.index('data "azurerm_client_config" "current" {}\n') < tf.index("azurerm_first")
    assert '# Made first:\n# for the main one\nresource "azurerm_first" "this" {' in tf
    assert tf.index("azurerm_first") < tf.index('resource "azurerm_test_thing" "this"')
    assert "second" not in tf  # Bicep only
    assert "third" not in tf  # last: the caller's, after the diagnostics
    assert kinds.tf_helpers(_SPEC, "last") == [
        '# Made last\nresource "azurerm_third" "this" {\n  name = "third-${var.name}"\n}\n'
    ]
    text = kinds.bicep_main(_SPEC)
    assert "client_config" not in text  # a Terraform data source
    assert "// Said in Bicep only\nresource main 'Microsoft.Test/things@2026-01-01'" in text
    assert text.index("resource first") < text.index("resource main") < text.index("second")
    assert "// Made first:\n// for the main one\nresource first" in text


def test_an_identity_or_depends_on_the_body_names_stands_where_it_puts_it() -> None:
    tree = kinds.bicep_common(_SPEC)
    assert list(tree) == ["name", "location", "tags", "kind", "properties", "identity", "dependsOn"]
    assert tree["identity"] == {"type": "'SystemAssigned'"}  # not the cmk default
    hcl = kinds.tf_common(replace(_SPEC, tf_body={**_SPEC.tf_body, "identity": {"type": "x"}}))
    assert list(hcl)[-3:] == ["tags", "depends_on", "identity"]  # tags where the body says
    assert hcl["identity"] == {"type": "x"}
    plain = kinds.bicep_common(replace(_SPEC, bicep_body={}))
    assert list(plain) == ["name", "location", "tags", "identity", "dependsOn"]


def test_a_variable_of_one_language_is_not_a_parameter_of_the_other() -> None:
    only_tf = Variable("tf_only", "string", "Terraform only", languages=("terraform",))
    spec = replace(_SPEC, kind="web_app", variables=(only_tf,))
    assert "tfOnly" not in "".join(bicep._spec_params(spec))


def test_web_and_function_app_modules_come_from_their_specs() -> None:
    web = dict(terraform.module_files("web_app"))["main.tf"]
    assert 'resource "azurerm_service_plan" "this"' in web
    assert web.index("azurerm_linux_web_app") < web.index('data "azurerm_client_config"')
    assert 'tenant_auth_endpoint = "https://login.microsoftonline.com/${data.' in web
    func = dict(terraform.module_files("function_app"))["main.tf"]
    assert "azurerm_linux_web_app" not in func
    app = func[func.index('resource "azurerm_linux_function_app"') :]
    mode = app.index("client_certificate_mode")
    assert mode < app.index("storage_account_name") < app.index("tags")
    assert "storage_uses_managed_identity = true" in func
    web_bicep = bicep.module_file("web_app")
    assert "\nparam authClientId string\n" in web_bicep  # sign-in: both languages
    assert "resource authSettings 'Microsoft.Web/sites/config@2023-12-01' = {\n" in web_bicep
    assert web_bicep.index("resource main ") < web_bicep.index("resource authSettings ")
    func_bicep = bicep.module_file("function_app")
    assert "kind: 'functionapp,linux'" in func_bicep
    assert "name: 'AzureWebJobsStorage__accountName'" in func_bicep
    assert "param runtimeStorageAccountName string" in func_bicep
    assert not hasattr(kinds, "HAND_VARIABLES")  # their variables are in their specs


def test_storage_account_module_comes_from_its_spec() -> None:
    main = dict(terraform.module_files("storage_account"))["main.tf"]
    queue = main.index(
        "# Queue logging the azurerm 4.x way (the queue_properties block is deprecated)\n"
        'resource "azurerm_storage_account_queue_properties" "this" {'
    )
    assert main.index('resource "azurerm_storage_account" "this"') < queue
    diagnostics = main.index('resource "azurerm_monitor_diagnostic_setting" "this"')
    for service in ("blob", "queue", "table"):  # last: after the account's own setting
        assert diagnostics < main.index(f'"azurerm_monitor_diagnostic_setting" "{service}"')
    account = main[main.index('resource "azurerm_storage_account" "this"') :]
    assert account.index("tags") < account.index("depends_on") < account.index("identity {")
    text = bicep.module_file("storage_account", public=False)
    assert "defaultAction: 'Deny'" in text and "DEFAULT_ACTION" not in text
    assert text.index("properties: {") < text.index("identity: {") < text.index("dependsOn")
    assert "storage_account" not in bicep.MAIN_RESOURCE or "storage_account" in kinds.SPECS
    assert kinds.SPECS["storage_account"].bicep_sku_prefix == "Standard_"


def test_the_bicep_root_module_gives_the_storage_sku_its_prefix() -> None:
    made = analysis(
        "contoso__data__architecture.drawio",
        [("st", "Microsoft.Storage/storageAccounts", "Data Lake")],
        [],
    )
    files = {f.path: f.content for f in generate(made, {"iac": "both"}).files}
    assert "param storageAccountDataLakeSku string = 'Standard_GRS'" in files["bicep/main.bicep"]
    assert 'default     = "GRS"' in files["terraform/variables.tf"]


def _vaults() -> dict[str, str]:
    made = analysis(
        "contoso__vaults__architecture.drawio",
        [
            ("open", "Microsoft.KeyVault/vaults", "Open Vault"),
            ("shut", "Microsoft.KeyVault/vaults", "Shut Vault"),
        ],
        [Flow(source="internet", target="open", protocol="HTTPS", port=443, private=False)],
    )
    return {f.path: f.content for f in generate(made, {"iac": "both"}).files}


def test_a_variable_takes_its_public_value_only_where_the_instance_is_public(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault = kinds.SPECS["key_vault"]
    both = tuple(replace(v, languages=("terraform", "bicep")) for v in vault.variables)
    monkeypatch.setitem(kinds.SPECS, "key_vault", replace(vault, variables=both))
    files = _vaults()
    main = files["terraform/main.tf"]
    open_call = main[main.index('module "key_vault_open_vault"') :].split("}\n", 1)[0]
    shut_call = main[main.index('module "key_vault_shut_vault"') :].split("}\n", 1)[0]
    assert re.search(r'network_default_action += "Allow"', open_call)
    assert "network_default_action" not in shut_call
    assert 'default     = "Deny"' in files["terraform/modules/key_vault/variables.tf"]
    module = files["bicep/modules/key_vault.bicep"]
    allowed = "@allowed([\n  'Allow'\n  'Deny'\n])\nparam networkDefaultAction string = 'Deny'"
    assert allowed in module


def test_cosmos_account_reads_its_key_with_the_user_assigned_identity_only() -> None:
    files = dict(terraform.module_files("cosmosdb_account"))
    main = files["main.tf"]
    assert main.index('resource "azurerm_user_assigned_identity" "cmk"') < main.index(
        'resource "azurerm_cosmosdb_account" "this"'
    )
    account = main[main.index('resource "azurerm_cosmosdb_account" "this"') :]
    assert 'type = "UserAssigned"' in account and "SystemAssigned" not in account
    assert "principal_id" not in files["outputs.tf"]  # no identity of its own to grant
    text = bicep.module_file("cosmosdb_account")
    assert "type: 'UserAssigned'" in text and "output principalId" not in text
    assert text.index("locations: [") < text.index("identity: {") < text.index("dependsOn")


def test_postgres_signs_in_with_entra_of_the_deploying_tenant_only() -> None:
    main = dict(terraform.module_files("postgresql_flexible_server"))["main.tf"]
    assert main.startswith('data "azurerm_client_config" "current" {}\n\n')
    assert "tenant_id = data.azurerm_client_config.current.tenant_id" in main
    assert "password_auth_enabled = false" in main
    text = bicep.module_file("postgresql_flexible_server")
    assert "passwordAuth: 'Disabled'" in text and "azurerm_client_config" not in text


def test_sql_servers_share_the_root_inputs_and_read_their_master_database() -> None:
    made = analysis(
        "contoso__sql__architecture.drawio",
        [
            ("a", "Microsoft.Sql/servers/databases", "Orders DB"),
            ("b", "Microsoft.Sql/servers/databases", "Billing DB"),
        ],
        [],
    )
    files = {f.path: f.content for f in generate(made, {"iac": "both"}).files}
    root = files["terraform/variables.tf"]
    assert root.count('variable "sql_alert_email_addresses"') == 1  # shared, declared once
    assert "alert_email_addresses" not in root.replace("sql_alert_email_addresses", "")
    assert files["terraform/main.tf"].count("= var.sql_alert_email_addresses") == 2
    module = files["terraform/modules/mssql_database/main.tf"]
    assert module.index('data "azurerm_client_config"') < module.index("locals {")
    assert module.index("locals {") < module.index('resource "azurerm_mssql_server" "this"')
    assert "  entra_admin_object_id = coalesce(\n    var.entra_admin_object_id," in module
    optional = files["terraform/modules/mssql_database/variables.tf"]
    assert re.search(r'variable "entra_admin_object_id" \{[^}]*default += null', optional)
    main = files["bicep/main.bicep"]
    assert main.count("param sqlAlertEmailAddresses array") == 1
    assert main.count("param sqlEntraAdminObjectId string") == 1
    assert main.count("entraAdminObjectId: sqlEntraAdminObjectId") == 2
    text = files["bicep/modules/mssql_database.bicep"]
    assert "// diagnostic setting of its master database\nresource masterDatabase " in text
    assert "@2021-11-01' existing = {\n  parent: server\n  name: 'master'\n}" in text
    assert "resource server 'Microsoft.Sql/servers@" in text and "main" not in text


def test_registry_geo_replicates_in_bicep_too() -> None:
    text = bicep.module_file("container_registry")
    assert "in the Terraform module" not in text
    assert "\nparam georeplicationLocation string\n" in text
    child = text[text.index("resource replication ") :]
    assert child.startswith(
        "resource replication 'Microsoft.ContainerRegistry/registries/replications@2025-11-01'"
        " = {\n  parent: main\n  name: georeplicationLocation\n"
    )
    assert not hasattr(kinds, "HAND_VARIABLES")


def test_the_principal_output_is_the_spec_s_own_else_its_identity_s_else_none() -> None:
    plain = replace(_SPEC, identity=False, principal=("", ""))
    assert kinds.principal_output(plain, "terraform") == ""
    assert kinds.principal_output(plain, "bicep") == ""
    own = replace(plain, identity=True)
    assert kinds.principal_output(own, "terraform") == (
        "azurerm_test_thing.this.identity[0].principal_id"
    )
    assert kinds.principal_output(own, "bicep") == "main.identity.principalId"
    given = replace(own, principal=("azurerm_test_thing.this.kubelet", "main.kubelet"))
    assert kinds.principal_output(given, "terraform") == "azurerm_test_thing.this.kubelet"
    assert kinds.principal_output(given, "bicep") == "main.kubelet"
