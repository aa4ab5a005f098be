"""Modules of the network kinds added for the corpus's hubs and zones.

A small architecture in the shape of the corpus cases: a spoke VNet, an Azure Route
Server (ARM type ``Microsoft.Network/virtualHubs`` of kind ``RouteServer``, as the
Virtual Router icon is typed), a Virtual WAN hub (the same ARM type without that kind)
and a private DNS zone. The Route Server gets its own RouteServerSubnet and public IP in
the network, the WAN hub a virtual WAN of its own and an address prefix apart from the
networks', the zone a module of its own; all of it fits the azurerm and Bicep references
and ``terraform fmt``, and the ``slow`` test finds no failed checkov check in them. A
module's SKU help (the hub's prefix) is written as an escaped Bicep string.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import require_corpus
from iac_helpers import analysis, files_of, fmt_diff
from iac_reference import check_files

from agents.synthforge.iac import bicep, kinds
from agents.synthforge.iac.code_quality import checkov_executable, run_checkov
from agents.synthforge.iac.models import GeneratedModules
from agents.synthforge.iac.module_development import generate
from agents.synthforge.models import ArchitectureAnalysis, VNet

_HUB = "Microsoft.Network/virtualHubs"


def _analysis(hub_label: str = "WAN Hub", vnet_space: str = "") -> ArchitectureAnalysis:
    made = analysis(
        "contoso__network__hub.drawio",
        [
            ("vnet", "Microsoft.Network/virtualNetworks", "Spoke VNet"),
            ("rs", _HUB, "Route Server"),
            ("hub", _HUB, hub_label),
            ("zone", "Microsoft.Network/privateDnsZones", "Internal Zone"),
        ],
        [],
    )
    made.architecture.resources[1].kind = "RouteServer"
    if vnet_space:
        assert made.network is not None
        made.network.vnets = [
            VNet(id="vnet", name=f"Spoke VNet {vnet_space}", address_space=[vnet_space])
        ]
    return made


@pytest.fixture(scope="module")
def out() -> GeneratedModules:
    return generate(_analysis(), {"iac": "both"})


def test_a_virtual_hub_of_kind_route_server_gets_its_subnet_and_public_ip(
    out: GeneratedModules,
) -> None:
    files = files_of(out)
    assert not out.skipped
    main = files["terraform/modules/route_server/main.tf"]
    assert re.search(r'name += "RouteServerSubnet"', main)
    assert re.search(r"subnet_id += azurerm_subnet.own.id", main)
    assert re.search(r"public_ip_address_id += azurerm_public_ip.this.id", main)
    assert re.search(r'sku += "Standard"', main)
    root = files["terraform/main.tf"]
    call = root[root.index('module "route_server_route_server"') :]
    call = call[: call.index("\n}\n")]
    # a /27 of the network's space, apart from the gateway's (2040) and Bastion's subnets
    assert "cidrsubnet(var.virtual_network_spoke_vnet_sku, 11, 2038)" in call
    bicep = files["bicep/modules/route_server.bicep"]
    assert f"resource main '{_HUB}@" in bicep and "sku: 'Standard'" in bicep
    assert "name: 'RouteServerSubnet'" in bicep
    # its IP configuration is written (next test), so no warning asks for it
    assert not any("virtualHubs/ipConfigurations" in w for w in out.warnings)


def test_the_bicep_route_server_has_its_ip_configuration_in_its_subnet_with_its_public_ip(
    out: GeneratedModules,
) -> None:
    bicep = files_of(out)["bicep/modules/route_server.bicep"]
    head = f"resource ipConfig '{_HUB}/ipConfigurations@"
    assert bicep.index("resource main ") < bicep.index(head)  # after its hub
    child = bicep[bicep.index(head) :]
    child = child[: child.index("\n}\n")]
    assert "\n  parent: main\n" in child
    assert "subnet: {\n      id: subnet.id\n    }" in child
    assert "publicIPAddress: {\n      id: publicIp.id\n    }" in child
    # a child: no location or tags; no read-only property (the reference check says so)
    assert "location" not in child and "tags" not in child
    subnet = bicep[bicep.index("resource subnet ") :]
    assert "name: 'RouteServerSubnet'" in subnet[: subnet.index("\n}\n")]
    # Terraform says the same as arguments of azurerm_route_server: nothing more there
    assert "ipConfigurations" not in files_of(out)["terraform/modules/route_server/main.tf"]


def test_a_wan_hub_gets_a_virtual_wan_and_a_prefix_apart_from_the_networks(
    out: GeneratedModules,
) -> None:
    files = files_of(out)
    main = files["terraform/modules/virtual_hub/main.tf"]
    assert re.search(r"virtual_wan_id += azurerm_virtual_wan.this.id", main)
    assert re.search(r"address_prefix += var.sku", main)
    wan = main[: main.index("\n}\n")]
    assert wan.startswith('resource "azurerm_virtual_wan" "this"')
    assert re.search(r'type += "Standard"', wan)
    variables = files["terraform/variables.tf"]
    block = variables[variables.index('variable "virtual_hub_wan_hub_sku"') :]
    # the spoke network takes 10.0.0.0/16 by default: the hub the next free /23
    assert '"10.1.0.0/23"' in block[: block.index("\n}\n")]
    assert any("'WAN Hub'" in w and "10.1.0.0/23" in w for w in out.warnings)
    assert "virtualWan: {\n      id: wan.id\n    }" in files["bicep/modules/virtual_hub.bicep"]


def test_a_hub_takes_the_prefix_of_its_label_and_a_default_avoids_a_named_space() -> None:
    labelled = files_of(generate(_analysis(hub_label="Hub 10.100.0.0/23"), {"iac": "terraform"}))
    assert '"10.100.0.0/23"' in labelled["variables.tf"]
    wide = generate(_analysis(vnet_space="10.0.0.0/8"), {"iac": "terraform"})
    assert '"172.16.0.0/23"' in files_of(wide)["variables.tf"]
    small = generate(_analysis(hub_label="Hub 10.100.0.0/26"), {"iac": "terraform"})
    assert any("'Hub 10.100.0.0/26'" in w and "10.1.0.0/23" in w for w in small.warnings)


def test_a_private_dns_zone_gets_a_module_of_its_own(out: GeneratedModules) -> None:
    files = files_of(out)
    assert (
        'resource "azurerm_private_dns_zone" "this"'
        in files["terraform/modules/private_dns_zone/main.tf"]
    )
    assert "location: 'global'" in files["bicep/modules/private_dns_zone.bicep"]


def test_the_modules_fit_the_references_and_terraform_fmt(
    out: GeneratedModules, tmp_path: Path, terraform_bin: str
) -> None:
    problems = check_files(
        require_corpus("azure-schemas"), [(f.path, f.content) for f in out.files]
    )
    assert not problems, "\n".join(problems)
    diff = fmt_diff(terraform_bin, files_of(out), tmp_path)
    assert diff == "", diff


@pytest.mark.slow
def test_checkov_finds_no_failed_check_in_them(out: GeneratedModules, tmp_path: Path) -> None:
    for path, text in files_of(out).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    _, found = run_checkov(tmp_path, ["terraform", "bicep"], checkov_executable({}))
    ours = [
        f
        for f in found
        if any(k in f["file_path"] for k in ("route_server", "virtual_hub", "private_dns_zone"))
    ]
    failed = [
        (f["check_id"], f["file_path"]) for f in ours if f["check_result"]["result"] == "FAILED"
    ]
    assert not failed, json.dumps(failed)
    # RouteServerSubnet takes no NSG: the check is skipped, with its reason
    skipped = [f for f in ours if f["check_result"]["result"] == "SKIPPED"]
    assert [f["check_id"] for f in skipped] == ["CKV2_AZURE_31"]


def test_a_sku_help_with_a_quote_stays_a_bicep_string(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = replace(kinds.SPECS["virtual_hub"], sku_help="the hub's prefix")
    monkeypatch.setitem(kinds.SPECS, "virtual_hub", spec)
    text = bicep.module_file("virtual_hub")
    assert "@description('the hub\\'s prefix')\nparam sku string" in text
