"""Typing icons the way real diagrams draw them, on small diagrams made here.

One test per typing rule of :mod:`agents.synthforge.analysis.typing_evidence` and the
badge merging of :mod:`agents.synthforge.analysis.filter`: another cloud's stencil in a
mostly Azure diagram, a label about another service than its icon's, labels matched
against the icon's provider only, a glyph captioned with a full name, a VNet icon in a
subnet, a VM beside a Kubernetes logo, icons labelled on-premises, a scheduler labelled as
a timer, logos on a machine, legacy Azure images served from icons.diagrams.net.
"""

from __future__ import annotations

from pathlib import Path

from synthforge_fixtures import reviewed
from test_vision import AZ, mxfile, vertex, write

from agents.synthforge.analysis.cost_estimation import estimate
from agents.synthforge.analysis.filter import classify, names_one_resource
from agents.synthforge.analysis.icon_map import load_icon_map
from agents.synthforge.analysis.services import load_services
from agents.synthforge.analysis.vision import detect_file
from agents.synthforge.models import ClassifiedArchitecture

MSCAE = "image;html=1;image=img/lib/mscae/{};"
SHAPE = "shape={};html=1;"
BOX = "rounded=0;container=1;html=1;"


def _classify(tmp_path: Path, cells: str) -> ClassifiedArchitecture:
    return classify(detect_file(write(tmp_path, mxfile(("P", cells)))))


def _typed(arch: ClassifiedArchitecture) -> dict[str, tuple[str, str]]:
    return {r.id: (r.resource_type, r.evidence) for r in arch.resources}


def _vms(n: int, y: float = 0) -> str:
    """``n`` Azure VMs in a row, to make a diagram mostly Azure."""
    return "".join(
        vertex(f"vm{i}", AZ.format("compute/Virtual_Machine.svg"), 400 * i, y, 60, 60)
        for i in range(n)
    )


def test_another_clouds_stencil_is_its_twin_in_a_mostly_azure_diagram(tmp_path: Path) -> None:
    """An AWS disk and VPC peering and an IBM resource-group stencil drawn among Azure
    icons stand for the Azure disk, VNet peering and resource group, and say so."""
    cells = (
        _vms(8)
        + vertex("disk", SHAPE.format("mxgraph.aws3.disk"), 0, 300, 30, 25)
        + vertex("peer", SHAPE.format("mxgraph.aws3.vpc_peering"), 400, 300, 60, 60)
        + vertex("rg", SHAPE.format("mxgraph.ibm_cloud.group--resource"), 800, 300, 24, 24)
    )
    arch = _classify(tmp_path, cells)
    assert {k: t for k, (t, _) in _typed(arch).items() if not k.startswith("vm")} == {
        "disk": "Microsoft.Compute/disks",
        "peer": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
        "rg": "Microsoft.Resources/resourceGroups",
    }
    disk = next(r for r in arch.resources if r.id == "disk")
    assert "twin" in disk.mapping_source and disk.provider == "azure"


def test_in_an_aws_or_mixed_diagram_an_aws_stencil_keeps_its_type(tmp_path: Path) -> None:
    aws = vertex("disk", SHAPE.format("mxgraph.aws3.disk"), 0, 0, 30, 25) + vertex(
        "ec2", SHAPE.format("mxgraph.aws3.ec2"), 200, 0, 60, 60
    )
    assert _typed(_classify(tmp_path, aws))["disk"][0] == "AWS::EC2::Volume"
    mixed = _vms(1) + vertex("disk", SHAPE.format("mxgraph.aws3.disk"), 0, 300, 30, 25)
    assert _typed(_classify(tmp_path, mixed))["disk"][0] == "AWS::EC2::Volume"
    icon_map = load_icon_map()
    assert icon_map.lookup_in("mxgraph.ibm_cloud.group--resource", None) is None
    twin = icon_map.lookup_in("mxgraph.ibm_cloud.group--resource", "aws")
    assert twin is not None and twin.resource_type == "AWS::ResourceGroups::Group"


def test_a_label_about_another_service_overrides_a_specific_icon(tmp_path: Path) -> None:
    """'Lease Container' on a PostgreSQL icon is the Cosmos DB lease container; a caption
    (perhaps a box's title) above a VNet icon does not override it."""
    cells = vertex(
        "lease",
        AZ.format("databases/Azure_Database_PostgreSQL_Server.svg"),
        0,
        0,
        60,
        80,
        value="Lease Container",
    ) + (
        vertex("title", "text;html=1;", 300, 0, 120, 20, value="Resource Group")
        + vertex("vnet", AZ.format("networking/Virtual_Networks.svg"), 300, 25, 67, 40)
    )
    arch = _classify(tmp_path, cells)
    lease = next(r for r in arch.resources if r.id == "lease")
    assert (lease.resource_type, lease.evidence) == (
        "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers",
        "label",
    )
    assert lease.confidence < 0.9 and "review it" in lease.mapping_source
    assert _typed(arch)["vnet"] == ("Microsoft.Network/virtualNetworks", "icon")


def test_a_label_names_only_services_of_its_icons_provider(tmp_path: Path) -> None:
    """'Secret Manager' on an AWS Parameter Store icon is AWS Secrets Manager; on an Azure
    Key Vault it names nothing, and the Key Vault stays."""
    aws = vertex(
        "sm",
        SHAPE.format("mxgraph.aws3.parameter_store"),
        0,
        0,
        75,
        100,
        value="&lt;b&gt;Secret Manager&lt;/b&gt;&lt;br&gt;GoDaddy Secrets",
    ) + vertex(
        "role",
        SHAPE.format("mxgraph.aws4.role"),
        300,
        0,
        78,
        44,
        value="&lt;b&gt;IAM Role&lt;/b&gt;&lt;br&gt;API Gateway&lt;br&gt;CloudWatch Logging",
    )
    types = _typed(_classify(tmp_path, aws))
    assert types["sm"] == ("AWS::SecretsManager::Secret", "label")
    assert types["role"] == ("AWS::IAM::Role", "both")
    azure = vertex("kv", AZ.format("security/Key_Vaults.svg"), 0, 0, 60, 60, value="Secret Manager")
    assert _typed(_classify(tmp_path, azure))["kv"] == ("Microsoft.KeyVault/vaults", "icon")
    services = load_services()
    assert [m.resource_type for m in services.from_label("Secrets Manager", "azure")] == []
    assert [m.resource_type for m in services.from_label("Secrets Manager", "aws")] == [
        "AWS::SecretsManager::Secret"
    ]


def test_a_glyph_captioned_with_a_full_name_is_that_service(tmp_path: Path) -> None:
    """An App Registrations glyph labelled as a service principal is one; a laptop
    labelled 'Web Dashboards' stays a device (one common word does not retype a device)."""
    cells = vertex(
        "sp",
        AZ.format("identity/App_Registrations.svg"),
        0,
        0,
        50,
        50,
        value="Service Principal for Tenant 1",
    ) + vertex(
        "laptop", SHAPE.format("mxgraph.azure.laptop"), 300, 0, 50, 30, value="Web Dashboards"
    )
    arch = _classify(tmp_path, cells)
    assert _typed(arch)["sp"] == ("Microsoft.Graph/servicePrincipals", "label")
    assert [n.icon_id for n in arch.non_architectural] == ["laptop"]


def test_a_vnet_icon_inside_a_subnet_box_is_the_subnet(tmp_path: Path) -> None:
    cells = (
        vertex("vnetbox", BOX, 0, 0, 800, 400, value="Virtual Network")
        + vertex("badge", AZ.format("networking/Virtual_Networks.svg"), 10, 10, 67, 40)
        + vertex("snet", BOX, 20, 80, 700, 300, value="GatewaySubnet", parent="vnetbox")
        + vertex("sbadge", SHAPE.format("mxgraph.azure.virtual_network"), 600, 90, 50, 28)
    )
    arch = _classify(tmp_path, cells)
    types = _typed(arch)
    assert types["badge"][0] == "Microsoft.Network/virtualNetworks"
    assert types["sbadge"] == ("Microsoft.Network/virtualNetworks/subnets", "container")
    sbadge = next(r for r in arch.resources if r.id == "sbadge")
    assert "inside subnet 'GatewaySubnet'" in sbadge.mapping_source


def test_a_vm_beside_a_kubernetes_logo_is_a_cluster_node(tmp_path: Path) -> None:
    cells = (
        vertex("aks", AZ.format("compute/Kubernetes_Services.svg"), 600, 0, 57, 50)
        + vertex("node", BOX, 25, 100, 135, 107)
        + vertex("logo", SHAPE.format("mxgraph.kubernetes.icon"), 0, 127, 50, 48)
        + vertex("vm", MSCAE.format("Virtual_Machine.svg"), 70, 130, 50, 46)
        + vertex("jump", MSCAE.format("Virtual_Machine.svg"), 400, 130, 50, 46)
    )
    arch = _classify(tmp_path, cells)
    types = _typed(arch)
    assert types["vm"][0] == "Microsoft.ContainerService/managedClusters/agentPools"
    assert types["jump"][0] == "Microsoft.Compute/virtualMachines"
    assert "logo" in {n.icon_id for n in arch.non_architectural}


def test_an_icon_labelled_on_premises_is_not_an_azure_resource(tmp_path: Path) -> None:
    """A PostgreSQL icon labelled 'ON-PREM PG13' is the on-premises database; a local
    network gateway labelled on-premises is the Azure resource standing for that side."""
    cells = vertex(
        "pg",
        AZ.format("databases/Azure_Database_PostgreSQL_Server.svg"),
        0,
        0,
        50,
        68,
        value="ON-PREM PG13",
    ) + vertex(
        "lng",
        AZ.format("networking/Local_Network_Gateways.svg"),
        300,
        0,
        60,
        60,
        value="On-premises gateway",
    )
    arch = _classify(tmp_path, cells)
    [pg] = arch.non_architectural
    assert pg.icon_id == "pg" and "on premises" in pg.reason
    assert _typed(arch)["lng"][0] == "Microsoft.Network/localNetworkGateways"


def test_a_scheduler_labelled_as_a_timer_is_a_trigger_not_a_resource(tmp_path: Path) -> None:
    cells = vertex(
        "timer", SHAPE.format("mxgraph.azure.scheduler"), 0, 0, 50, 50, value="1 hour timer"
    ) + vertex("sched", SHAPE.format("mxgraph.azure.scheduler"), 300, 0, 50, 50)
    arch = _classify(tmp_path, cells)
    [timer] = arch.non_architectural
    assert timer.icon_id == "timer" and "timer trigger" in timer.reason
    assert _typed(arch)["sched"][0] == "Microsoft.Logic/workflows"


def test_logos_on_a_vm_are_drawings_of_it_and_a_nic_on_it_is_not(tmp_path: Path) -> None:
    """A Windows logo and a SQL badge drawn over a VM say what runs on it: one resource
    with three drawings, costed once. A NIC drawn over another VM is a resource."""
    cells = (
        vertex("vm", MSCAE.format("Virtual_Machine.svg"), 0, 0, 54, 50)
        + vertex("win", SHAPE.format("mxgraph.mscae.other.windows"), 38, 31, 28, 29)
        + vertex("sql", MSCAE.format("SQL_Database_generic.svg"), 38, -10, 28, 37)
        + vertex("vm2", MSCAE.format("Virtual_Machine.svg"), 300, 0, 54, 50)
        + vertex("nic", MSCAE.format("NetworkInterfaceCard.svg"), 340, 30, 25, 25)
    )
    arch = _classify(tmp_path, cells)
    vm = next(r for r in arch.resources if r.id == "vm")
    assert sorted(vm.drawings) == ["sql", "win"]
    assert sorted(r.id for r in arch.resources) == ["nic", "vm", "vm2"]
    assert arch.non_architectural == []
    assert any("badge on a machine" in w for w in arch.warnings)
    cost = estimate(reviewed(arch))
    assert sum(1 for i in cost.items if i.resource_id == "vm") == 1


def test_azure_images_from_icons_diagrams_net_are_typed(tmp_path: Path) -> None:
    style = (
        "shape=image;html=1;image=https://icons.diagrams.net/assets/azure/1/"
        "Network_Security_Group.svg;"
    )
    cells = vertex("nsg", style, 0, 0, 29, 39, value="app-nsg")
    types = _typed(_classify(tmp_path, cells))
    assert types["nsg"][0] == "Microsoft.Network/networkSecurityGroups"


def test_a_gateway_stencil_is_the_vnet_gateway_unless_on_premises(tmp_path: Path) -> None:
    """The mscae enterprise gateway and web-server stencils drawn on the Azure side are the
    VNet's gateway and a VM; inside an on-premises box they are the customer's."""
    cells = (
        vertex("gw", SHAPE.format("mxgraph.mscae.enterprise.gateway"), 0, 0, 50, 50)
        + vertex("web", SHAPE.format("mxgraph.mscae.enterprise.web"), 0, 100, 50, 50)
        + vertex("onprem", BOX, 300, 0, 200, 200, value="On-premises network")
        + vertex(
            "device",
            SHAPE.format("mxgraph.mscae.enterprise.gateway"),
            50,
            50,
            50,
            50,
            parent="onprem",
        )
    )
    arch = _classify(tmp_path, cells)
    assert _typed(arch) == {
        "gw": ("Microsoft.Network/virtualNetworkGateways", "icon"),
        "web": ("Microsoft.Compute/virtualMachines", "icon"),
    }
    assert [n.icon_id for n in arch.non_architectural] == ["device"]


def test_a_resource_name_repeated_in_a_detail_view_is_one_resource(tmp_path: Path) -> None:
    """The same named Event Hub inside its resource group and again in a detail view below
    is one resource; the same named function in two region boxes is two; a label that only
    names the kind of resource ("user-assigned identity") names no one resource."""
    hub = AZ.format("iot/Event_Hubs.svg")
    func = MSCAE.format("Functions.svg")
    cells = (
        vertex("rg", BOX, 0, 0, 400, 200, value="Resource Group sandbox")
        + vertex("eh", hub, 50, 50, 67, 60, value="Event Hub eh-orders-prod", parent="rg")
        + vertex("eh2", hub, 50, 600, 67, 60, value="Event Hub eh-orders-prod")
        + vertex("weu", BOX, 600, 0, 200, 200, value="West Europe")
        + vertex("neu", BOX, 600, 300, 200, 200, value="North Europe")
        + vertex("f1", func, 50, 50, 50, 46, value="forwarding-function", parent="weu")
        + vertex("f2", func, 50, 50, 50, 46, value="forwarding-function", parent="neu")
    )
    arch = _classify(tmp_path, cells)
    eh = next(r for r in arch.resources if r.id == "eh")
    assert eh.drawings == ["eh2"]
    assert sorted(r.id for r in arch.resources) == ["eh", "f1", "f2"]
    assert names_one_resource("save-hashflags queue")
    assert not names_one_resource("user-assigned identity")
    assert not names_one_resource("Monitoring Event Hub")


def test_a_legend_row_and_a_backdrop_are_not_resources(tmp_path: Path) -> None:
    """Icons joined by '+' texts in a row ("VHD + VM Feature") are a legend; an icon drawn
    behind other icons, enclosing them, is a backdrop; the icons in front stay resources."""
    text = "text;html=1;"
    cells = (
        vertex("vhd", SHAPE.format("mxgraph.azure.vhd"), 0, 0, 40, 50, value="VHD")
        + vertex("plus", text, 40, 8, 40, 35, value="+")
        + vertex("feat", SHAPE.format("mxgraph.azure.virtual_machine_feature"), 80, 2, 50, 45)
        + vertex("bg", SHAPE.format("mxgraph.azure.cloud_service"), 300, 0, 600, 400)
        + vertex("web", SHAPE.format("mxgraph.azure.azure_website"), 400, 100, 50, 50)
        + vertex("db", SHAPE.format("mxgraph.azure.sql_database"), 600, 100, 38, 50)
    )
    arch = _classify(tmp_path, cells)
    reasons = {n.icon_id: n.reason for n in arch.non_architectural}
    assert set(reasons) == {"vhd", "feat", "bg"}
    assert "legend row" in reasons["vhd"] and "backdrop" in reasons["bg"]
    assert sorted(r.id for r in arch.resources) == ["db", "web"]


def test_a_label_naming_the_callers_sets_the_icon_aside(tmp_path: Path) -> None:
    cells = vertex(
        "clients",
        AZ.format("app_services/API_Management_Services.svg"),
        0,
        0,
        65,
        60,
        value="Client Applications",
    ) + vertex("apim", AZ.format("app_services/API_Management_Services.svg"), 300, 0, 65, 60)
    arch = _classify(tmp_path, cells)
    assert [n.icon_id for n in arch.non_architectural] == ["clients"]
    assert _typed(arch) == {"apim": ("Microsoft.ApiManagement/service", "icon")}


def test_an_icon_badging_a_box_takes_its_label_and_merges_across_pages(
    tmp_path: Path,
) -> None:
    """A small VNet icon at the corner of a labelled VNet box is that VNet: named after the
    box, and one resource with its copy on the next page; of two boxes near one icon, the
    one whose corner it sits on is the one it badges."""
    vnet_icon = AZ.format("networking/Virtual_Networks.svg")
    rg_icon = AZ.format("general/Resource_Groups.svg")

    def page(p: str) -> str:
        return (
            vertex(f"{p}box", BOX, 200, 40, 300, 200, value="hub-vnet 10.0.0.0/24")
            + vertex(f"{p}v", vnet_icon, 480, 25, 20, 12)
            + vertex(f"{p}rg1", BOX, 700, 100, 220, 110, value="rg-tenant-1")
            + vertex(f"{p}rg2", BOX, 954, 198, 220, 110, value="rg-tenant-2")
            + vertex(f"{p}r1", rg_icon, 677, 77, 46, 44)
            + vertex(f"{p}r2", rg_icon, 931, 175, 46, 44)
        )

    pages = [(p, page(p)) for p in ("a", "b")]
    arch = classify(detect_file(write(tmp_path, mxfile(*pages))))
    by_id = {r.id: r for r in arch.resources}
    assert by_id["av"].name == "hub-vnet 10.0.0.0/24" and by_id["av"].drawings == ["bv"]
    assert (by_id["ar1"].name, by_id["ar2"].name) == ("rg-tenant-1", "rg-tenant-2")
    assert sorted(by_id) == ["ar1", "ar2", "av"]
