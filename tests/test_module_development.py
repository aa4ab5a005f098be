"""module_development: Terraform and Bicep from an architecture analysis.

The analysis here is built by hand (a web app reaching a Key Vault over a private
endpoint, a storage account it reaches publicly, a Cosmos DB account, a VM in a VNet, an
AWS bucket and a type without a template), so each security decision can be checked.
The corpus diagrams go through the whole loop in test_iac_loop.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from cli_helpers import assert_user_error, run_cli
from iac_helpers import files_of

from agents.base import AgentConfig
from agents.errors import InputError
from agents.synthforge.iac.module_development import (
    MANIFEST,
    ModuleDevelopmentAgent,
    generate,
    load_kinds,
    module_kind,
    write_files,
)
from agents.synthforge.models import (
    ArchitectureAnalysis,
    Flow,
    NetworkFlowResult,
    PrivateEndpoint,
    Provider,
    Resource,
    ResourceSecurity,
    Review,
    ReviewedArchitecture,
    RoleAssignment,
    SecurityResult,
)

KV_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
COSMOS_READER = "00000000-0000-0000-0000-000000000001"


def _res(id_: str, type_: str, name: str, provider: Provider = "azure") -> Resource:
    return Resource(
        id=id_, name=name, provider=provider, resource_type=type_, mapping_source="test"
    )


def make_analysis() -> ArchitectureAnalysis:
    """A small architecture with every kind of security decision in it."""
    resources = [
        _res("web", "Microsoft.Web/sites", "Shop Front"),
        _res("kv", "Microsoft.KeyVault/vaults", "Secrets"),
        _res("st", "Microsoft.Storage/storageAccounts", "Uploads"),
        _res("cosmos", "Microsoft.DocumentDB/databaseAccounts", "Orders"),
        _res("vm", "Microsoft.Compute/virtualMachines", "Batch Worker"),
        _res("vnet", "Microsoft.Network/virtualNetworks", "Main VNet"),
        _res("maps", "Microsoft.Maps/accounts", "Store locator"),
        _res("s3", "AWS::S3::Bucket", "Legacy bucket", provider="aws"),
    ]
    arch = ReviewedArchitecture(
        source="shop__web__architecture.drawio",
        resources=resources,
        review=Review(reviewer="test", method="accept_all"),
    )
    flows = [
        Flow(source="internet", target="web", protocol="HTTPS", port=443, private=False),
        Flow(source="web", target="kv", protocol="HTTPS", port=443, private=True),
        Flow(source="web", target="st", protocol="HTTPS", port=443, private=False),
        Flow(source="web", target="cosmos", protocol="HTTPS", port=443, private=True),
    ]
    security = SecurityResult(
        resources=[
            ResourceSecurity(
                resource_id="web",
                resource_type="Microsoft.Web/sites",
                managed_identity=True,
                role_assignments=[
                    RoleAssignment(
                        principal="web",
                        scope="kv",
                        role_name="Key Vault Secrets User",
                        role_definition_id=KV_SECRETS_USER,
                    ),
                    RoleAssignment(
                        principal="web",
                        scope="cosmos",
                        role_name="Cosmos DB Built-in Data Reader",
                        role_definition_id=COSMOS_READER,
                    ),
                ],
                min_tls_version="1.2",
                diagnostics=True,
            ),
            ResourceSecurity(
                resource_id="kv",
                resource_type="Microsoft.KeyVault/vaults",
                private_endpoint=PrivateEndpoint(
                    group_id="vault", private_dns_zone="privatelink.vaultcore.azure.net"
                ),
                public_network_access="Disabled",
                diagnostics=True,
            ),
            ResourceSecurity(
                resource_id="st",
                resource_type="Microsoft.Storage/storageAccounts",
                public_network_access="Enabled",
                notes=["public network access stays enabled: the flow(s) from Shop Front"],
            ),
        ]
    )
    return ArchitectureAnalysis(
        architecture=arch,
        network=NetworkFlowResult(flows=flows),
        security=security,
        report_markdown="# report\n",
    )


@pytest.mark.parametrize(
    ("iac", "expected", "absent"),
    [
        pytest.param(
            "terraform",
            {"main.tf", "variables.tf", "outputs.tf", "providers.tf", "versions.tf"},
            ".bicep",
            id="terraform",
        ),
        pytest.param("bicep", {"main.bicep", "modules/key_vault.bicep"}, ".tf", id="bicep"),
        pytest.param(
            "both", {"terraform/main.tf", "bicep/main.bicep"}, None, id="both-in-two-folders"
        ),
    ],
)
def test_iac_setting_chooses_the_languages(
    iac: str, expected: set[str], absent: str | None
) -> None:
    out = generate(make_analysis(), {"iac": iac})
    paths = {f.path for f in out.files}
    assert expected <= paths
    if absent:
        assert not any(p.endswith(absent) for p in paths)
    assert out.iac == iac


def test_terraform_has_one_module_per_kind_with_three_files() -> None:
    files = files_of(generate(make_analysis(), {"iac": "terraform"}))
    kinds = {p.split("/")[1] for p in files if p.startswith("modules/")}
    assert kinds == {
        "web_app",
        "key_vault",
        "storage_account",
        "cosmosdb_account",
        "linux_virtual_machine",
        "virtual_network",
        "log_analytics_workspace",
    }
    for kind in kinds:
        for name in ("main.tf", "variables.tf", "outputs.tf"):
            assert f"modules/{kind}/{name}" in files
    assert 'source  = "hashicorp/azurerm"' in files["versions.tf"]
    assert 'version = "~> 4.0"' in files["versions.tf"]
    assert "required_version" in files["versions.tf"]


def test_generated_code_parses_with_hcl2_and_pycep() -> None:
    import hcl2
    from pycep import BicepParser

    out = generate(make_analysis(), {"iac": "both"})
    parser = BicepParser()
    for f in out.files:
        if f.path.endswith(".tf"):
            hcl2.loads(f.content)
        else:
            parser.parse(text=f.content)


def test_security_recommendations_are_applied() -> None:
    out = generate(make_analysis(), {"iac": "both"})
    files = files_of(out)
    tf_main = files["terraform/main.tf"]
    bicep_main = files["bicep/main.bicep"]
    # role assignments carry the built-in role definition ids; Cosmos DB gets a data-plane one
    assert f"roleDefinitions/{KV_SECRETS_USER}" in tf_main
    assert "azurerm_cosmosdb_sql_role_assignment" in tf_main
    assert f"sqlRoleDefinitions/{COSMOS_READER}" in tf_main
    assert KV_SECRETS_USER in bicep_main
    assert "sqlRoleAssignments" in bicep_main
    # the private endpoint of the vault, with its group id and zone
    assert '"privatelink.vaultcore.azure.net"' in tf_main
    assert 'private_endpoint_group_id     = "vault"' in tf_main
    assert "privateEndpointGroupId: 'vault'" in bicep_main
    # managed identity, TLS 1.2, diagnostics
    assert 'type = "SystemAssigned"' in files["terraform/modules/web_app/main.tf"]
    # (alignment as terraform fmt makes it, whatever the longest name of the run)
    assert re.search(r'minimum_tls_version +=  *"1.2"', files["terraform/modules/web_app/main.tf"])
    assert re.search(
        r'min_tls_version +=  *"TLS1_2"', files["terraform/modules/storage_account/main.tf"]
    )
    assert "azurerm_monitor_diagnostic_setting" in files["terraform/modules/key_vault/main.tf"]
    assert "Microsoft.Insights/diagnosticSettings" in files["bicep/modules/key_vault.bicep"]
    applied = {a.resource_id: a for a in out.applied}
    assert "system-assigned managed identity" in applied["web"].measures


def _module_block(text: str, symbol: str) -> str:
    start = text.index(f'module "{symbol}"')
    return text[start : text.index("\n}\n", start)]


def test_public_access_follows_the_flows() -> None:
    out = generate(make_analysis(), {"iac": "terraform"})
    main = files_of(out)["main.tf"]
    applied = {a.resource_id: a for a in out.applied}
    # the vault is reached privately only: disabled
    assert applied["kv"].public_network_access == "Disabled"
    assert "public_network_access_enabled = false" in _module_block(main, applied["kv"].module)
    # storage is reached from the web app over public networking: only traffic from the
    # internet needs public access, so it is disabled, and a warning names the flow
    assert applied["st"].public_network_access == "Disabled"
    assert "public_network_access_enabled = false" in _module_block(main, applied["st"].module)
    assert any(
        "'Uploads': reached over public networking from 'Shop Front'" in w for w in out.warnings
    )
    # the web app is reached from the internet: enabled, and the reason cites the flow
    assert applied["web"].public_network_access == "Enabled"
    assert "internet → web_app_shop_front (HTTPS/443)" in applied["web"].public_access_reason


def test_names_regions_and_skus_are_variables_with_defaults() -> None:
    out = generate(
        make_analysis(), {"iac": "both", "location": "northeurope", "name_prefix": "shop"}
    )
    files = files_of(out)
    variables = files["terraform/variables.tf"]
    assert 'default     = "northeurope"' in variables
    assert 'default     = "rg-shop"' in variables
    assert '_sku"' in variables and '_name"' in variables
    assert "param location string = 'northeurope'" in files["bicep/main.bicep"]
    # storage names are lower-case letters and digits, at most 24
    storage = next(a.module for a in out.applied if a.resource_id == "st")
    block = variables[variables.index(f'variable "{storage}_name"') :]
    name = block.split('default     = "')[1].split('"')[0]
    assert name.isalnum() and name.islower() and len(name) <= 24


def test_nothing_secret_is_written() -> None:
    out = generate(make_analysis(), {"iac": "both"})
    text = "\n".join(f.content for f in out.files).lower()
    secret = re.compile(
        r"\b(password|admin_password|access_key|client_secret|connection_string|sas_token"
        r"|adminpassword|primarykey)\s*[=:]"
    )
    assert secret.search(text) is None
    assert "disable_password_authentication = true" in text
    assert "adminsshpublickey" in text  # the VM takes a public key as input


def test_unsupported_resources_are_listed_with_a_reason() -> None:
    out = generate(make_analysis(), {"iac": "terraform"})
    skipped = {s.resource_id: s.reason for s in out.skipped}
    assert "provider 'aws'" in skipped["s3"]
    assert "no module template" in skipped["maps"]
    assert out.confidence == pytest.approx(6 / 7, abs=1e-3)


def test_output_dir_is_written_whole_and_replaced(tmp_path: Path) -> None:
    """A second generation replaces the first whole: files it no longer makes are gone."""
    target = tmp_path / "iac"
    first = generate(make_analysis(), {"iac": "both", "output_dir": str(target)})
    assert any(f.path.endswith(".bicep") for f in first.files)
    out = generate(make_analysis(), {"iac": "terraform", "output_dir": str(target)})
    written = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert written == {f.path for f in out.files} | {MANIFEST}
    assert [p.name for p in tmp_path.iterdir()] == ["iac"]  # no temporary folder left


@pytest.mark.parametrize(
    "prepare",
    [
        pytest.param(lambda d: (d / "notes.md").write_text("mine\n"), id="user-folder"),
        pytest.param(
            lambda d: (
                generate(make_analysis(), {"iac": "terraform", "output_dir": str(d)}),
                (d / "mine.tf").write_text("# added by hand\n"),
            ),
            id="generated-folder-with-a-hand-added-file",
        ),
    ],
)
def test_output_dir_with_files_forgeflow_did_not_write_is_refused(
    tmp_path: Path, prepare: object
) -> None:
    """Nothing of the user's is ever replaced: such a folder is refused, left as it was."""
    target = tmp_path / "iac"
    target.mkdir()
    prepare(target)  # type: ignore[operator]
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    with pytest.raises(InputError, match="holds files Forgeflow did not generate"):
        generate(make_analysis(), {"iac": "terraform", "output_dir": str(target)})
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iac"]


@pytest.mark.parametrize(
    "make_target",
    [
        pytest.param(lambda tmp: tmp / "a-file" / "iac", id="parent-is-a-file"),
        pytest.param(lambda tmp: tmp / "a-file", id="target-is-a-file"),
    ],
)
def test_unwritable_output_folder_is_one_line_and_writes_nothing(
    tmp_path: Path, make_target: object
) -> None:
    (tmp_path / "a-file").write_text("not a folder\n")
    target = make_target(tmp_path)  # type: ignore[operator]
    with pytest.raises(InputError) as info:
        write_files(target, generate(make_analysis(), {"iac": "terraform"}).files)
    assert "\n" not in str(info.value)
    assert str(target) in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


async def test_bad_iac_setting_is_a_user_error() -> None:
    with pytest.raises(InputError, match="iac=pulumi: expected one of terraform, bicep, both"):
        agent = ModuleDevelopmentAgent(
            AgentConfig(name="module_development", settings={"iac": "pulumi"})
        )
        await agent.run(make_analysis())


# --------------------------------------------------------------------------- the CLI


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("-m", "agents.run", *args, cwd=cwd)


def test_cli_writes_the_artifact_and_the_modules(tmp_path: Path) -> None:
    analysis = tmp_path / "analysis.json"
    analysis.write_text(make_analysis().model_dump_json())
    proc = _cli(
        "module_development",
        str(analysis),
        "-o",
        str(tmp_path / "modules.json"),
        "--set",
        "iac=terraform",
        "--set",
        f"output_dir={tmp_path / 'iac'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "modules.json").read_text())["data"]
    assert data["iac"] == "terraform"
    assert (tmp_path / "iac" / "main.tf").is_file()
    assert (tmp_path / "iac" / "modules" / "key_vault" / "main.tf").is_file()


def test_cli_schema_breaking_analysis_is_one_line_exit_2(tmp_path: Path) -> None:
    raw = json.loads(make_analysis().model_dump_json())
    raw["architecture"]["resources"][1]["provider"] = "azurre"
    analysis = tmp_path / "analysis.json"
    analysis.write_text(json.dumps(raw))
    proc = _cli(
        "module_development",
        str(analysis),
        "-o",
        str(tmp_path / "out.json"),
        "--set",
        f"output_dir={tmp_path / 'iac'}",
        cwd=tmp_path,
    )
    assert_user_error(proc, "$.architecture.resources[1].provider")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.json"]


def test_cli_unwritable_output_folder_is_one_line_exit_2(tmp_path: Path) -> None:
    analysis = tmp_path / "analysis.json"
    analysis.write_text(make_analysis().model_dump_json())
    (tmp_path / "blocker").write_text("a file where the folder's parent should be\n")
    proc = _cli(
        "module_development",
        str(analysis),
        "-o",
        str(tmp_path / "out.json"),
        "--set",
        f"output_dir={tmp_path / 'blocker' / 'iac'}",
        cwd=tmp_path,
    )
    assert_user_error(proc, "cannot write the output folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.json", "blocker"]


def test_function_app_is_generated_as_a_function_app_with_its_runtime_storage_an_input() -> None:
    analysis = make_analysis()
    analysis.architecture.resources[0].kind = "functionapp"
    out = generate(analysis, {"iac": "both"})
    files = files_of(out)
    assert any("'Shop Front' is a function app" in w for w in out.warnings)
    module = files["terraform/modules/function_app/main.tf"]
    assert 'resource "azurerm_linux_function_app" "this"' in module
    assert re.search(r"storage_account_name +=\s*var.runtime_storage_account_name", module)
    assert re.search(r"storage_uses_managed_identity += true", module)
    assert "function_app_shop_front_runtime_storage_account_name" in files["terraform/variables.tf"]
    bicep = files["bicep/modules/function_app.bicep"]
    assert "kind: 'functionapp,linux'" in bicep
    assert "name: 'AzureWebJobsStorage__accountName'" in bicep


@pytest.mark.parametrize(
    ("resource_type", "arm_kind", "expected"),
    [
        ("Microsoft.Web/sites", None, "web_app"),
        ("Microsoft.Web/sites", "app,linux", "web_app"),
        ("Microsoft.Web/sites", "functionapp", "function_app"),
        ("Microsoft.Web/sites", "FunctionApp, Linux", "function_app"),
        ("Microsoft.Web/sites", "linux,functionapp", "function_app"),
        ("Microsoft.Web/sites", "notfunctionapp", "web_app"),  # a word, not a substring
        ("Microsoft.Network/virtualHubs", "RouteServer", "route_server"),
        ("Microsoft.Network/virtualHubs", "routeserver", "route_server"),
        ("Microsoft.Network/virtualHubs", None, "virtual_hub"),
    ],
)
def test_module_kind_is_the_data_s_by_kind_of_a_word_of_the_arm_kind(
    resource_type: str, arm_kind: str | None, expected: str
) -> None:
    entry = load_kinds()[resource_type]
    resource = Resource(
        id="r1",
        name="thing",
        provider="azure",
        resource_type=resource_type,
        kind=arm_kind,
        mapping_source="test",
    )
    assert module_kind(entry, resource) == expected


async def test_write_modules_writes_the_generation_it_is_given(tmp_path: Path) -> None:
    from agents.synthforge.iac.write_modules import WriteModulesAgent

    modules = generate(make_analysis(), {"iac": "terraform"})
    target = tmp_path / "out" / "iac"
    agent = WriteModulesAgent(
        AgentConfig(name="write_modules", settings={"output_dir": str(target)})
    )
    async with agent:
        written = await agent.run(modules)
    assert written.output_dir == str(target)
    assert written.files == modules.files
    for f in modules.files:
        assert (target / f.path).read_text(encoding="utf-8") == f.content


def test_a_resource_nothing_can_reach_is_said_in_the_warnings() -> None:
    resources = [_res("kv", "Microsoft.KeyVault/vaults", "Vault")]
    analysis = ArchitectureAnalysis(
        architecture=ReviewedArchitecture(
            source="x.drawio", resources=resources, review=Review(reviewer="t", method="accept_all")
        ),
        security=SecurityResult(
            resources=[
                ResourceSecurity(
                    resource_id="kv",
                    resource_type="Microsoft.KeyVault/vaults",
                    public_network_access="Disabled",
                )
            ]
        ),
        report_markdown="",
    )
    out = generate(analysis, {"iac": "terraform"})
    assert any("'Vault'" in w and "nothing can reach it" in w for w in out.warnings)
    # with a private endpoint it is reachable (through the network added for it)
    analysis.security.resources[0].private_endpoint = PrivateEndpoint(  # type: ignore[union-attr]
        group_id="vault", private_dns_zone="privatelink.vaultcore.azure.net"
    )
    out = generate(analysis, {"iac": "terraform"})
    assert not any("nothing can reach it" in w for w in out.warnings)


def test_address_spaces_come_from_the_analysis_else_one_default_each() -> None:
    from agents.synthforge.models import VNet

    resources = [
        _res("hub", "Microsoft.Network/virtualNetworks", "Hub"),
        _res("spoke", "Microsoft.Network/virtualNetworks", "Spoke"),
        _res("tiny", "Microsoft.Network/virtualNetworks", "Tiny"),
    ]
    analysis = ArchitectureAnalysis(
        architecture=ReviewedArchitecture(
            source="x.drawio", resources=resources, review=Review(reviewer="t", method="accept_all")
        ),
        network=NetworkFlowResult(
            vnets=[
                VNet(
                    id="b1", name="hub boundary", resources=["hub"], address_space=["10.20.0.0/16"]
                ),
                VNet(
                    id="b2", name="tiny boundary", resources=["tiny"], address_space=["10.9.1.0/24"]
                ),
            ]
        ),
        report_markdown="",
    )
    out = generate(analysis, {"iac": "terraform"})
    tf = files_of(out)["variables.tf"]
    assert re.search(r'default += "10.20.0.0/16"', tf)  # the diagram's
    # the others: distinct defaults (a /24 cannot hold the modules' subnets), each said
    defaults = re.findall(r'default += "(10\.\d+\.0\.0/16)"', tf)
    assert len(defaults) == len(set(defaults)) == 3
    assert any("'Spoke'" in w and "no address space" in w for w in out.warnings)
    assert any("'Tiny'" in w and "10.9.1.0/24" in w for w in out.warnings)
