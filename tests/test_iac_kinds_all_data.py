"""Every module kind is data: the emitters keep no template, and the model's shared
concepts (inputs the root declares once, helpers placed per language) serve every kind.

Small diagrams and specs made here, in the shape of the corpus's: a VM, a SQL database
and a storage account in one drawing (the SSH key, the SQL alert addresses and the
customer-managed key are each declared once), and helpers the two languages place
apart (a network's NSG) or only Bicep has (a Route Server's IP configuration).
"""

from __future__ import annotations

from dataclasses import replace

from iac_helpers import analysis

from agents.synthforge.iac import bicep, kinds, terraform
from agents.synthforge.iac.kinds import Helper, KindSpec
from agents.synthforge.iac.module_development import generate


def test_every_kind_the_emitters_know_is_a_spec_and_no_template_is_left() -> None:
    assert set(terraform.MAIN_RESOURCE) == set(kinds.SPECS) == set(bicep.MAIN_RESOURCE)
    for module in (terraform, bicep):
        assert not hasattr(module, "_resource_bodies") and not hasattr(module, "_bodies")
    assert not hasattr(kinds, "derive") and not hasattr(kinds, "HAND_VARIABLES")
    for kind in kinds.SPECS:  # each renders in both languages from its spec alone
        assert dict(terraform.module_files(kind))["main.tf"]
        assert bicep.module_file(kind)


def _files(name: str, resources: list[tuple[str, str, str]]) -> dict[str, str]:
    """The generated files (both languages) of a drawing of ``resources``, no flows."""
    made = analysis(f"contoso__{name}__architecture.drawio", resources, [])
    return {f.path: f.content for f in generate(made, {"iac": "both"}).files}


def test_shared_inputs_of_every_kind_are_declared_once_before_the_key_variables() -> None:
    files = _files(
        "mixed",
        [
            ("a", "Microsoft.Compute/virtualMachines", "Jump box"),
            ("b", "Microsoft.Sql/servers/databases", "Orders DB"),
            ("c", "Microsoft.Storage/storageAccounts", "Exports"),
            ("d", "Microsoft.Compute/virtualMachines", "Runner"),
        ],
    )
    root = files["terraform/variables.tf"]
    names = ["admin_ssh_public_key", "sql_alert_email_addresses", "customer_managed_key_id"]
    at = [root.index(f'variable "{name}"') for name in names]
    assert at == sorted(at)
    assert all(root.count(f'variable "{name}"') == 1 for name in names)
    assert "SSH public key for the VMs' admin user" in root
    main = files["terraform/main.tf"]
    assert main.count("= var.admin_ssh_public_key\n") == 2  # one root variable, to each VM
    assert "alert_email_addresses = var.sql_alert_email_addresses" in main.replace("  ", "")
    params = files["bicep/main.bicep"]
    order = [
        "param adminSshPublicKey string",
        "param sqlEntraAdminObjectId string",
        "param sqlAlertEmailAddresses array",
        "param customerManagedKeyId string",
    ]
    at = [params.index(p) for p in order]
    assert at == sorted(at) and all(params.count(p) == 1 for p in order)
    assert "@description('SSH public key for the VMs admin user')" in params  # plain text


def _spec(*helpers: Helper) -> KindSpec:
    return KindSpec(
        kind="test_net",
        terraform="azurerm_test_net",
        bicep="Microsoft.Test/nets@2026-01-01",
        tf_body={"setting": '"on"'},
        bicep_body={"properties": {"setting": "'on'"}},
        helpers=helpers,
    )


def test_a_resource_the_languages_place_apart_is_two_one_language_helpers() -> None:
    guard = Helper(
        terraform="azurerm_test_guard",
        bicep_symbol="guard",
        bicep="Microsoft.Test/guards@2026-01-01",
        tf_body={"name": '"guard-${var.name}"'},
        bicep_body={"name": "'guard-${name}'"},
    )
    spec = _spec(replace(guard, bicep="", place="after"), replace(guard, terraform=""))
    hcl = kinds.tf_main(spec)
    assert hcl.index('"azurerm_test_net" "this"') < hcl.index('"azurerm_test_guard" "this"')
    assert hcl.count("azurerm_test_guard") == 1
    text = kinds.bicep_main(spec)
    assert text.index("resource guard ") < text.index("resource main ")
    assert text.count("Microsoft.Test/guards") == 1


def test_a_bicep_only_child_stands_after_the_main_resource_and_not_in_terraform() -> None:
    child = kinds._bicep_only(
        "ipConfig", "Microsoft.Test/nets/ipConfigurations@2026-01-01", {"name": "'cfg'"}
    )
    spec = _spec(replace(child, place="after"))
    text = kinds.bicep_main(spec)
    assert text.index("resource main ") < text.index("resource ipConfig ")
    assert "resource ipConfig 'Microsoft.Test/nets/ipConfigurations@2026-01-01' = {\n" in text
    assert "  parent: main\n  name: 'cfg'\n" in text
    assert "ipConfig" not in kinds.tf_main(spec) and "ipConfigurations" not in kinds.tf_main(spec)


def test_sku_descriptions_come_from_the_spec_unless_the_languages_name_the_sku_apart() -> None:
    files = _files(
        "data",
        [
            ("a", "Microsoft.DocumentDB/databaseAccounts", "Catalog"),
            ("b", "Microsoft.Storage/storageAccounts", "Exports"),
        ],
    )
    assert '"Offer type of Catalog"' in files["terraform/variables.tf"]
    assert "@description('Offer type of Catalog')" in files["bicep/main.bicep"]
    module = files["terraform/modules/cosmosdb_account/variables.tf"]
    assert 'variable "sku" {\n  description = "Offer type"' in module
    assert (
        "@description('Offer type')\nparam sku string"
        in files["bicep/modules/cosmosdb_account.bicep"]
    )
    tf_storage = files["terraform/modules/storage_account/variables.tf"]
    assert 'description = "Replication type (LRS, ZRS, GRS, GZRS, ...)"' in tf_storage
    assert "@description('SKU, e.g. Standard_GRS')" in files["bicep/modules/storage_account.bicep"]
