"""API Management joins the diagram's network in a subnet of its own.

Its subnet's network security group carries the rules Microsoft Learn's "Virtual network
configuration reference: API Management" requires (management endpoint 3443 from the
ApiManagement service tag, Azure's load balancer on 6390, Storage, SQL, Key Vault and
Azure Monitor outbound). Its gateway is External (on the internet) where a flow from the
internet reaches it, else Internal (the network only), in both languages; the modules fit
the azurerm and Bicep references and ``terraform fmt``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import require_corpus
from iac_helpers import analysis, fmt_check
from iac_reference import check_files

from agents.synthforge.iac.module_development import generate
from agents.synthforge.models import ArchitectureAnalysis, Flow

_APIM = "Microsoft.ApiManagement/service"


def _shop(internet: bool) -> ArchitectureAnalysis:
    flows = [Flow(source="internet", target="apim", protocol="HTTPS", port=443, private=False)]
    return analysis(
        "shop__apim__architecture.drawio",
        [("apim", _APIM, "Gateway"), ("api", "Microsoft.Web/sites", "Orders API")],
        flows if internet else [],
    )


def _files(made: ArchitectureAnalysis) -> dict[str, str]:
    return {f.path: f.content for f in generate(made, {"iac": "both"}).files}


@pytest.mark.parametrize(("internet", "mode"), [(True, "true"), (False, "false")])
def test_the_gateway_is_in_its_own_subnet_external_only_when_the_internet_reaches_it(
    internet: bool, mode: str
) -> None:
    files = _files(_shop(internet))
    module = files["terraform/modules/api_management/main.tf"]
    assert re.search(
        r'virtual_network_type\s*=\s*var.public_network_access_enabled \? "External" : "Internal"',
        module,
    )
    assert re.search(
        r"virtual_network_configuration \{\s*subnet_id = azurerm_subnet.own.id", module
    )
    root = files["terraform/main.tf"]
    call = root.split('source                        = "./modules/api_management"', 1)[1]
    call = call.split("}", 1)[0]
    assert re.search(rf"public_network_access_enabled = {mode}\n", call)
    assert "virtual_network_name" in call and "subnet_prefix" in call
    bicep_module = files["bicep/modules/api_management.bicep"]
    assert "param publicNetworkAccess string = 'Disabled'" in bicep_module
    assert "virtualNetworkType: publicNetworkAccess == 'Enabled' ? 'External' : 'Internal'" in (
        bicep_module
    )
    assert "subnetResourceId: subnet.id" in bicep_module
    expected = "'Enabled'" if internet else "'Disabled'"
    bicep_root = files["bicep/main.bicep"]
    apim_call = bicep_root.split("'modules/api_management.bicep'", 1)[1].split("\n}\n", 1)[0]
    assert f"publicNetworkAccess: {expected}" in apim_call


def test_its_subnet_has_the_rules_api_management_requires() -> None:
    module = _files(_shop(False))["terraform/modules/api_management/main.tf"]
    rules = {
        m["name"]: m
        for m in re.finditer(
            r'name\s*=\s*"(?P<name>Allow\w+)"\s*priority\s*=\s*\d+\s*direction\s*=\s*"(?P<dir>\w+)"'
            r"[^}]*?destination_port_ranges\s*=\s*\[(?P<ports>[^\]]*)\]\s*"
            r"source_address_prefix\s*=\s*(?P<src>[^\n]+)\n\s*destination_address_prefix\s*=\s*"
            r'"(?P<dst>\w+)"',
            module,
        )
    }
    assert rules["AllowApiManagementInbound"]["src"] == '"ApiManagement"'
    assert '"3443"' in rules["AllowApiManagementInbound"]["ports"]
    assert '"6390"' in rules["AllowAzureLoadBalancerInbound"]["ports"]
    outbound = {m["dst"] for m in rules.values() if m["dir"] == "Outbound"}
    assert outbound == {"Storage", "Sql", "AzureKeyVault", "AzureMonitor"}
    assert "azurerm_subnet_network_security_group_association" in module


def test_an_internal_gateway_is_not_called_unreachable() -> None:
    warnings = generate(_shop(False), {"iac": "both"}).warnings
    assert not any("'Gateway'" in w and "nothing can reach it" in w for w in warnings)


@pytest.mark.parametrize("internet", [True, False])
def test_the_modules_fit_the_references_and_terraform_fmt(
    internet: bool, terraform_bin: str, tmp_path: Path
) -> None:
    out = generate(_shop(internet), {"iac": "both"})
    problems = check_files(
        require_corpus("azure-schemas"), [(f.path, f.content) for f in out.files]
    )
    assert not problems, "\n".join(problems)
    for f in out.files:
        if f.path.endswith(".tf"):
            (tmp_path / f.path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / f.path).write_text(f.content, encoding="utf-8")
    assert fmt_check(terraform_bin, tmp_path) == ""
