"""Modules of the platform kinds (workspace, Application Insights, Redis, AKS, Linux VM,
virtual network), described as data in ``kinds.py`` like every other kind.

A small architecture in the shape of the corpus cases: a web tier on a Linux VM and an
AKS cluster in a virtual network, a Redis cache, Application Insights and a Log
Analytics workspace. Each module comes from its ``KindSpec`` entry, in both languages;
what the entries say beyond resources and settings is checked here: the root's SKU
description (``root_sku_help``), the module's own variables.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import require_corpus
from iac_helpers import analysis, block_at, files_of, fmt_diff
from iac_reference import check_files

from agents.synthforge.iac import kinds
from agents.synthforge.iac.module_development import generate
from agents.synthforge.models import ArchitectureAnalysis, VNet

_PLATFORM = (
    "log_analytics_workspace",
    "application_insights",
    "redis_cache",
    "kubernetes_cluster",
    "linux_virtual_machine",
    "virtual_network",
)


def _analysis() -> ArchitectureAnalysis:
    made = analysis(
        "contoso__platform__architecture.drawio",
        [
            ("vnet", "Microsoft.Network/virtualNetworks", "Spoke VNet"),
            ("logs", "Microsoft.OperationalInsights/workspaces", "Logs"),
            ("appi", "Microsoft.Insights/components", "App Insights"),
            ("redis", "Microsoft.Cache/redis", "Session Cache"),
            ("aks", "Microsoft.ContainerService/managedClusters", "Web Cluster"),
            ("web", "Microsoft.Compute/virtualMachines", "Web VM"),
            ("jump", "Microsoft.Compute/virtualMachines", "Jump Host"),
        ],
        [],
    )
    assert made.network is not None
    made.network.vnets = [VNet(id="vnet", name="Spoke VNet", address_space=["10.20.0.0/16"])]
    return made


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return files_of(generate(_analysis(), {"iac": "both"}))


def _modules(files: dict[str, str], kind: str) -> tuple[str, str]:
    """The Terraform ``main.tf`` and the Bicep module of ``kind``."""
    return files[f"terraform/modules/{kind}/main.tf"], files[f"bicep/modules/{kind}.bicep"]


def test_the_platform_kinds_are_data() -> None:
    for kind in _PLATFORM:
        assert kind in kinds.SPECS, kind


def test_the_workspace_keeps_its_logs_ninety_days(files: dict[str, str]) -> None:
    main, bicep = _modules(files, "log_analytics_workspace")
    assert re.search(r"retention_in_days += var.retention_in_days", main)
    variables = files["terraform/modules/log_analytics_workspace/variables.tf"]
    assert re.search(r"default += 90", block_at(variables, 'variable "retention_in_days"'))
    assert "param retentionInDays int = 90" in bicep
    assert "    sku: {\n      name: sku\n    }\n    retentionInDays: retentionInDays\n" in bicep


def test_application_insights_reads_the_workspace_without_local_auth(
    files: dict[str, str],
) -> None:
    main, bicep = _modules(files, "application_insights")
    assert re.search(r"workspace_id += var.log_analytics_workspace_id", main)
    assert re.search(r"local_authentication_enabled += false", main)
    root = files["terraform/main.tf"]
    assert "log_analytics_workspace_id = module.log_analytics_workspace_logs.id" in root
    assert "  kind: sku\n" in bicep and "DisableLocalAuth: true" in bicep
    assert (
        "logAnalyticsWorkspaceId: logAnalyticsWorkspaceLogs.outputs.id" in files["bicep/main.bicep"]
    )


def test_redis_signs_in_with_entra_over_tls_only_and_is_private(files: dict[str, str]) -> None:
    main, bicep = _modules(files, "redis_cache")
    assert re.search(r"non_ssl_port_enabled += false", main)
    assert "active_directory_authentication_enabled = true" in main
    assert 'resource "azurerm_private_endpoint" "this"' in main
    assert 'resource "azurerm_monitor_diagnostic_setting" "this"' in main
    call = block_at(files["terraform/main.tf"], 'module "redis_cache_session_cache"')
    assert re.search(r"public_network_access_enabled += false", call)
    assert "    redisConfiguration: {\n      'aad-enabled': 'true'\n    }\n" in bicep
    assert "family: sku == 'Premium' ? 'P' : 'C'" in bicep
    assert "categoryGroup: 'allLogs'" in bicep


def test_the_cluster_is_private_and_its_principal_is_the_kubelet_identity(
    files: dict[str, str],
) -> None:
    main, bicep = _modules(files, "kubernetes_cluster")
    assert re.search(r"private_cluster_enabled += true", main)
    # the system identity's block stands after the node pool, as azurerm's docs write it
    assert main.index("default_node_pool {") < main.index("identity {") < main.index("oms_agent")
    outputs = files["terraform/modules/kubernetes_cluster/outputs.tf"]
    assert "azurerm_kubernetes_cluster.this.kubelet_identity[0].object_id" in outputs
    assert (
        "output principalId string = main.properties.identityProfile.kubeletidentity.objectId"
        in bicep
    )
    assert "enableSecretRotation: 'true'" in bicep
    # the disk encryption set is an input only a person can give: required at the root
    call = block_at(files["terraform/main.tf"], 'module "kubernetes_cluster_web_cluster"')
    assert re.search(
        r"disk_encryption_set_id += var.kubernetes_cluster_web_cluster_disk_encryption_set_id",
        call,
    )
    assert re.search(r"subnet_id += module.virtual_network_spoke_vnet.workload_subnet_id", call)
    assert (
        "param kubernetesClusterWebClusterDiskEncryptionSetId string" in files["bicep/main.bicep"]
    )
    assert '"System node pool VM size of Web Cluster"' in files["terraform/variables.tf"]


def test_the_vms_share_one_admin_key_and_sit_behind_a_nic_of_their_own(
    files: dict[str, str],
) -> None:
    main, bicep = _modules(files, "linux_virtual_machine")
    nic = block_at(main, 'resource "azurerm_network_interface" "this"')
    assert re.search(r"subnet_id += var.subnet_id", nic) and "public_ip" not in nic
    vm = block_at(main, 'resource "azurerm_linux_virtual_machine" "this"')
    assert re.search(r"network_interface_ids += \[azurerm_network_interface.this.id\]", vm)
    assert re.search(r"disable_password_authentication += true", vm)
    assert "\n  boot_diagnostics {}\n" in vm  # an empty block stays one line
    # shared: the root declares the key once and passes it to every VM
    variables = files["terraform/variables.tf"]
    assert variables.count('variable "admin_ssh_public_key"') == 1
    assert "SSH public key for the VMs' admin user" in variables
    assert "_admin_ssh_public_key" not in variables
    root = files["terraform/main.tf"]
    for symbol in ("linux_virtual_machine_web_vm", "linux_virtual_machine_jump_host"):
        call = block_at(root, f'module "{symbol}"')
        assert re.search(r"admin_ssh_public_key += var.admin_ssh_public_key\n", call)
    module_vars = files["terraform/modules/linux_virtual_machine/variables.tf"]
    assert re.search(r'default += "azureuser"', block_at(module_vars, 'variable "admin_username"'))
    bicep_root = files["bicep/main.bicep"]
    # Bicep root descriptions keep plain characters only, as its labels do
    shared = (
        "@description('SSH public key for the VMs admin user')\nparam adminSshPublicKey string\n"
    )
    assert bicep_root.count(shared) == 1
    assert bicep_root.count("    adminSshPublicKey: adminSshPublicKey\n") == 2
    assert "resource nic 'Microsoft.Network/networkInterfaces@" in bicep
    assert "keyData: adminSshPublicKey" in bicep
    assert "output principalId string = main.identity.principalId" in bicep


def test_the_network_has_its_two_subnets_behind_one_nsg(files: dict[str, str]) -> None:
    main, bicep = _modules(files, "virtual_network")
    heads = re.findall(r'^resource "(\w+)" "(\w+)"', main, re.M)
    # the network first, then what refers to it (Helper.place "after"), then its diagnostics
    assert heads == [
        ("azurerm_virtual_network", "this"),
        ("azurerm_network_security_group", "this"),
        ("azurerm_subnet", "workload"),
        ("azurerm_subnet", "private_endpoints"),
        ("azurerm_subnet_network_security_group_association", "workload"),
        ("azurerm_subnet_network_security_group_association", "private_endpoints"),
        ("azurerm_monitor_diagnostic_setting", "this"),
    ]
    workload = block_at(main, 'resource "azurerm_subnet" "workload"')
    assert re.search(r"address_prefixes += \[cidrsubnet\(var.sku, 8, 1\)\]", workload)
    assert re.search(r"virtual_network_name += azurerm_virtual_network.this.name", workload)
    endpoints = block_at(main, 'resource "azurerm_subnet" "private_endpoints"')
    assert re.search(r"cidrsubnet\(var.sku, 8, 2\)", endpoints)
    assert re.search(r'private_endpoint_network_policies += "Enabled"', endpoints)
    outputs = files["terraform/modules/virtual_network/outputs.tf"]
    assert re.search(r"value += azurerm_subnet.private_endpoints.id", outputs)
    # Bicep: the subnets in the network's properties, their prefixes computed by the
    # root from the network's address space (Variable.subnet), Terraform-only variables
    # not declared
    assert bicep.index("resource nsg ") < bicep.index("resource main ")
    assert "param workloadSubnetPrefix string = '10.0.1.0/24'" in bicep
    assert "output privateEndpointSubnetId string = main.properties.subnets[1].id" in bicep
    module = block_at(files["bicep/main.bicep"], "module virtualNetworkSpokeVnet ")
    assert "    workloadSubnetPrefix: '10.20.1.0/24'\n" in module
    assert "    privateEndpointSubnetPrefix: '10.20.2.0/24'\n" in module
    assert "subnet_prefix" not in files["terraform/modules/virtual_network/variables.tf"]
    root = files["terraform/variables.tf"]
    assert '"Address space (CIDR) of Spoke VNet"' in root


def test_the_root_describes_a_sku_as_the_module_does(files: dict[str, str]) -> None:
    # root_sku_help: "Application type of <name>", not "SKU of <name>"
    variables = files["terraform/variables.tf"]
    block = block_at(variables, 'variable "application_insights_app_insights_sku"')
    assert '"Application type of App Insights"' in block
    assert "@description('Application type of App Insights')" in files["bicep/main.bicep"]
    assert '"SKU of Logs"' in block_at(variables, 'variable "log_analytics_workspace_logs_sku"')


def test_the_modules_fit_the_references_and_terraform_fmt(
    files: dict[str, str], tmp_path: Path, terraform_bin: str
) -> None:
    problems = check_files(require_corpus("azure-schemas"), list(files.items()))
    assert not problems, "\n".join(problems)
    diff = fmt_diff(terraform_bin, files, tmp_path)
    assert diff == "", diff
