"""SynthForge on small diagrams drawn the way real ones are.

One test (or table) per way real diagrams defeated the agents: legacy icon names, labels
that name the service, RBAC markers, the same resource drawn twice, arrows attached to
lanes and boxes, arrows that are not traffic, private paths through peering and VNets
drawn as icons, lane names. Each diagram is a draw.io file written here and read by the
vision agent, classified by the filter, accepted as reviewed, then analysed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from synthforge_fixtures import reviewed
from test_vision import AZ, edge, mxfile, vertex, write

from agents.synthforge.analysis.combine import combine
from agents.synthforge.analysis.cost_estimation import estimate
from agents.synthforge.analysis.filter import classify
from agents.synthforge.analysis.network_flow import analyse
from agents.synthforge.analysis.vision import detect_file
from agents.synthforge.models import CombineInput, ReviewedArchitecture

MSCAE = "image;html=1;image=img/lib/mscae/{};"


def _arch(tmp_path: Path, *pages: tuple[str, str]) -> ReviewedArchitecture:
    return reviewed(classify(detect_file(write(tmp_path, mxfile(*pages)))))


def _types(arch: ReviewedArchitecture) -> dict[str, tuple[str, str]]:
    return {r.id: (r.resource_type, r.evidence) for r in arch.resources}


def test_legacy_mscae_names_are_typed(tmp_path: Path) -> None:
    cells = (
        vertex("aks", MSCAE.format("Kubernetes_Services.svg"), 0, 0, 50, 50)
        + vertex("redis", MSCAE.format("Azure_Cache_for_Redis.svg"), 100, 0, 50, 50)
        + vertex("fw", MSCAE.format("Azure_Firewall.svg"), 200, 0, 50, 50)
        + vertex("dns", MSCAE.format("DNS_Private_Zones.svg"), 300, 0, 50, 50)
    )
    arch = _arch(tmp_path, ("P", cells))
    assert {k: t for k, (t, _) in _types(arch).items()} == {
        "aks": "Microsoft.ContainerService/managedClusters",
        "redis": "Microsoft.Cache/redis",
        "fw": "Microsoft.Network/azureFirewalls",
        "dns": "Microsoft.Network/privateDnsZones",
    }
    assert not arch.needs_clarification


def test_the_label_or_caption_names_the_service(tmp_path: Path) -> None:
    """A VM icon captioned with a platform service, a Kubernetes icon with a caption text
    under it, and an icon whose label agrees with it."""
    cells = (
        vertex("vm", AZ.format("compute/Virtual_Machine.svg"), 0, 0, 60, 60, value="AKS cluster")
        + vertex("k8s", AZ.format("containers/Kubernetes_Services.svg"), 200, 0, 60, 60)
        + vertex("cap", "text;html=1;", 190, 65, 100, 20, value="Container Apps Environment")
        + vertex("kv", AZ.format("security/Key_Vaults.svg"), 400, 0, 60, 60, value="Key Vault")
    )
    types = _types(_arch(tmp_path, ("P", cells)))
    assert types["vm"] == ("Microsoft.ContainerService/managedClusters", "label")
    assert types["k8s"] == ("Microsoft.App/managedEnvironments", "label")
    assert types["kv"] == ("Microsoft.KeyVault/vaults", "both")


def test_a_label_does_not_override_a_specific_icon(tmp_path: Path) -> None:
    cells = vertex(
        "kv", AZ.format("security/Key_Vaults.svg"), 0, 0, 60, 60, value="Cosmos DB secrets"
    )
    [r] = _arch(tmp_path, ("P", cells)).resources
    assert (r.resource_type, r.evidence) == ("Microsoft.KeyVault/vaults", "icon")
    assert r.confidence < 0.9 and "review it" in r.mapping_source


def test_rbac_markers_are_role_assignments_not_people(tmp_path: Path) -> None:
    cells = vertex(
        "roles", MSCAE.format("Person.svg"), 0, 0, 30, 40, value="environment-roles"
    ) + vertex("alice", MSCAE.format("Person.svg"), 100, 0, 30, 40, value="Alice")
    arch = _arch(tmp_path, ("P", cells))
    assert _types(arch)["roles"][0] == "Microsoft.Authorization/roleAssignments"
    assert [n.icon_id for n in arch.non_architectural] == ["alice"]


def test_the_same_resource_drawn_twice_is_one_resource_costed_once(tmp_path: Path) -> None:
    """A stacked copy on the same page (overlapping) and the same label on a detail page."""
    page1 = (
        vertex("sql", AZ.format("databases/SQL_Database.svg"), 0, 0, 60, 60, value="orders-db")
        + vertex("copy", AZ.format("databases/SQL_Database.svg"), 10, 10, 60, 60)
        + vertex("app", AZ.format("app_services/App_Services.svg"), 300, 0, 60, 60, value="web")
    )
    page2 = vertex("sql2", AZ.format("databases/SQL_Database.svg"), 0, 0, 60, 60, value="orders-db")
    arch = _arch(tmp_path, ("Overview", page1), ("Detail", page2))
    sql = next(r for r in arch.resources if r.id == "sql")
    assert sorted(sql.drawings) == ["copy", "sql2"]
    assert len(arch.resources) == 2
    cost = estimate(arch)
    assert sum(1 for i in cost.items if i.resource_id == "sql") == 1
    assert len(cost.items) == 2


def test_two_same_label_icons_side_by_side_stay_apart(tmp_path: Path) -> None:
    cells = vertex(
        "eh1", AZ.format("analytics/Event_Hubs.svg"), 0, 0, 60, 60, value="Monitoring Event Hub"
    ) + vertex(
        "eh2", AZ.format("analytics/Event_Hubs.svg"), 0, 300, 60, 60, value="Monitoring Event Hub"
    )
    assert len(_arch(tmp_path, ("P", cells)).resources) == 2


def test_arrows_attached_to_lanes_reach_the_resources_inside(tmp_path: Path) -> None:
    cells = (
        vertex("users", AZ.format("identity/Users.svg"), 0, 100, 60, 60, value="Users")
        + vertex("lane", "swimlane;html=1;", 200, 0, 300, 300, value="Backend")
        + vertex("api", AZ.format("app_services/App_Services.svg"), 250, 100, 60, 60)
        + vertex("box", "rounded=1;html=1;", 600, 0, 200, 200)
        + vertex("db", AZ.format("databases/SQL_Database.svg"), 650, 50, 60, 60)
        + edge("in", "users", "lane", value="HTTPS")
        + edge("data", "lane", "box")
    )
    flows = {(f.source, f.target) for f in analyse(_arch(tmp_path, ("P", cells))).flows}
    assert flows == {("internet", "api"), ("api", "db")}


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        pytest.param("Storage Blob Data Reader", "rbac", id="role-name"),
        pytest.param("sends logs", "telemetry", id="logs"),
        pytest.param("registers a DNS record", "dns", id="dns"),
        pytest.param("pulls an image", "deployment", id="image"),
        pytest.param("deploys", "deployment", id="deploys"),
        pytest.param("geo-replication", "replication", id="replication"),
        pytest.param("reads orders", "network", id="traffic"),
        pytest.param("reads blobs (managed identity)", "network", id="traffic-with-identity"),
    ],
)
def test_arrows_are_typed_and_only_traffic_becomes_flows(
    tmp_path: Path, label: str, kind: str
) -> None:
    cells = (
        vertex("fn", AZ.format("compute/Function_Apps.svg"), 0, 0, 60, 60, value="fn")
        + vertex("st", AZ.format("storage/Storage_Accounts.svg"), 300, 0, 60, 60, value="st")
        + edge("a", "fn", "st", value=label)
    )
    result = analyse(_arch(tmp_path, ("P", cells)))
    [rel] = result.relationships
    assert (rel.source, rel.target, rel.kind) == ("fn", "st", kind)
    assert rel.reason
    assert bool(result.flows) == (kind == "network")


def test_peering_makes_the_path_private_and_icon_vnets_are_counted(tmp_path: Path) -> None:
    cells = (
        vertex("hub", "rounded=0;container=1;html=1;", 0, 0, 300, 300, value="Hub VNet")
        + vertex("vm", AZ.format("compute/Virtual_Machine.svg"), 50, 50, 60, 60, value="jump")
        + vertex("spoke", "rounded=0;container=1;html=1;", 500, 0, 300, 300, value="Spoke VNet")
        + vertex("sql", AZ.format("compute/Virtual_Machine.svg"), 550, 50, 60, 60, value="db-vm")
        + vertex("far", AZ.format("networking/Virtual_Networks.svg"), 900, 0, 60, 40, value="dr")
        + edge("peer", "hub", "spoke", value="VNet peering")
        + edge("sqltraffic", "vm", "sql", value="TCP 1433")
    )
    arch = _arch(tmp_path, ("P", cells))
    network = analyse(arch).result()
    [flow] = network.flows
    assert (flow.source, flow.target, flow.private) == ("vm", "sql", True)
    [peer] = [r for r in network.relationships if r.kind == "connectivity"]
    assert (peer.source, peer.target) == ("hub", "spoke")
    assert {v.id for v in network.vnets} == {"hub", "spoke", "far"}
    report = combine(CombineInput(upstream=arch, network_flow=network)).report_markdown
    assert "- Virtual networks: 3" in report
    assert "- Flows: 1 (1 private, 0 public)" in report
    assert "- Other relationships: 1 (1 connectivity)" in report


def test_without_peering_the_same_path_is_public(tmp_path: Path) -> None:
    cells = (
        vertex("hub", "rounded=0;container=1;html=1;", 0, 0, 300, 300, value="Hub VNet")
        + vertex("vm", AZ.format("compute/Virtual_Machine.svg"), 50, 50, 60, 60, value="jump")
        + vertex("spoke", "rounded=0;container=1;html=1;", 500, 0, 300, 300, value="Spoke VNet")
        + vertex("sql", AZ.format("compute/Virtual_Machine.svg"), 550, 50, 60, 60, value="db-vm")
        + edge("sqltraffic", "vm", "sql", value="TCP 1433")
    )
    [flow] = analyse(_arch(tmp_path, ("P", cells))).flows
    assert flow.private is False


def test_an_icon_alone_in_a_labelled_lane_takes_the_lanes_name(tmp_path: Path) -> None:
    cells = vertex("lane", "swimlane;html=1;", 0, 0, 300, 300, value="Telemetry lake") + vertex(
        "law", AZ.format("analytics/Log_Analytics_Workspaces.svg"), 50, 50, 60, 60
    )
    [r] = _arch(tmp_path, ("P", cells)).resources
    assert r.name == "Telemetry lake"


def test_icons_inside_an_on_premises_box_are_not_azure_resources(tmp_path: Path) -> None:
    cells = (
        vertex("onprem", "rounded=0;html=1;", 0, 0, 300, 200, value="On-premises network")
        + vertex("his", AZ.format("compute/Virtual_Machine.svg"), 50, 50, 60, 60, value="HIS")
        + vertex("fn", AZ.format("compute/Function_Apps.svg"), 500, 50, 60, 60, value="fn")
    )
    arch = _arch(tmp_path, ("P", cells))
    assert [r.id for r in arch.resources] == ["fn"]
    [outside] = arch.non_architectural
    assert outside.icon_id == "his" and "on-premises" in outside.reason


def test_a_private_endpoint_drawn_beside_a_store_makes_the_path_private(tmp_path: Path) -> None:
    """No VNet box (as in resource-group views): the VM sits on a network anyway, and the
    storage account has its private endpoint drawn beside it in its icon group."""
    cells = (
        vertex("vm", AZ.format("compute/Virtual_Machine.svg"), 0, 0, 60, 60, value="runner")
        + vertex("grp", "group;", 300, 0, 120, 80)
        + vertex("st", AZ.format("storage/Storage_Accounts.svg"), 0, 10, 60, 60, parent="grp")
        + vertex("pe", AZ.format("other/Private_Endpoints.svg"), 70, 0, 40, 40, parent="grp")
        + vertex("kv", AZ.format("security/Key_Vaults.svg"), 600, 0, 60, 60, value="kv")
        + edge("a", "vm", "st")
        + edge("b", "vm", "kv")
    )
    flows = {f.target: f.private for f in analyse(_arch(tmp_path, ("P", cells))).flows}
    assert flows == {"st": True, "kv": False}


def test_two_vms_without_a_network_box_talk_over_their_network(tmp_path: Path) -> None:
    cells = (
        vertex("a", AZ.format("compute/Virtual_Machine.svg"), 0, 0, 60, 60, value="a")
        + vertex("b", AZ.format("compute/Virtual_Machine.svg"), 300, 0, 60, 60, value="b")
        + edge("ab", "a", "b", value="SSH")
    )
    [flow] = analyse(_arch(tmp_path, ("P", cells))).flows
    assert flow.private


def test_addresses_and_regions_come_from_the_labels(tmp_path: Path) -> None:
    cells = (
        vertex(
            "rg", "rounded=0;html=1;", 0, 0, 900, 400, value="Resource Group rg-web (australiaeast)"
        )
        + vertex(
            "hub", "rounded=0;container=1;html=1;", 20, 40, 300, 300, value="Hub VNet 10.20.0.0/16"
        )
        + vertex(
            "snet",
            "rounded=0;container=1;html=1;",
            10,
            40,
            200,
            200,
            value="Subnet 10.20.1.0/24",
            parent="hub",
        )
        + vertex(
            "vm",
            AZ.format("compute/Virtual_Machine.svg"),
            20,
            40,
            60,
            60,
            value="web",
            parent="snet",
        )
        + vertex(
            "spoke",
            "rounded=0;container=1;html=1;",
            500,
            40,
            300,
            300,
            value="Spoke VNet 10.20.128.0/17",
        )
        + vertex("db", AZ.format("databases/SQL_Database.svg"), 550, 100, 60, 60, value="db")
    )
    arch = _arch(tmp_path, ("P", cells))
    network = analyse(arch).result()
    spaces = {v.id: v.address_space for v in network.vnets}
    assert spaces == {"hub": ["10.20.0.0/16"], "spoke": ["10.20.128.0/17"]}
    [hub] = [v for v in network.vnets if v.id == "hub"]
    assert [s.address_prefix for s in hub.subnets] == ["10.20.1.0/24"]
    assert any("overlap" in w and "10.20.0.0/16" in w for w in network.warnings)
    cost = estimate(arch)
    assert cost.region == "australiaeast"
    assert any("the diagram names" in a for a in cost.assumptions)
    assert estimate(arch, "eastus").region == "eastus"  # a region set by hand still wins


def test_text_that_only_looks_like_an_address_is_not_one() -> None:
    from agents.synthforge.analysis.addresses import cidrs_in

    assert cidrs_in("GatewaySubnet 10.1000.32/27, Untrusted 10.100.0.0/28") == ["10.100.0.0/28"]


def test_the_reviewer_can_split_merged_drawings_again(tmp_path: Path) -> None:
    from agents.synthforge.analysis.interactive import apply_decisions
    from agents.synthforge.models import Decision

    page1 = vertex("sql", AZ.format("databases/SQL_Database.svg"), 0, 0, 60, 60, value="orders-db")
    page2 = vertex("sql2", AZ.format("databases/SQL_Database.svg"), 0, 0, 60, 60, value="orders-db")
    classified = classify(detect_file(write(tmp_path, mxfile(("A", page1), ("B", page2)))))
    assert [r.drawings for r in classified.resources] == [["sql2"]]
    split = [Decision(action="split", resource_id="sql", note="two environments")]
    out = apply_decisions(classified, split, reviewer="ana", method="decisions_file")
    assert sorted(r.id for r in out.resources) == ["sql", "sql2"]
    assert all(not r.drawings for r in out.resources)
    assert len(estimate(out).items) == 2


def test_an_arrow_into_an_aws_subnet_places_the_resource(tmp_path: Path) -> None:
    group = "points=[];shape=mxgraph.aws4.group;grIcon=mxgraph.aws4.{};html=1;"
    res = "shape=mxgraph.aws4.resourceIcon;resIcon=mxgraph.aws4.{};html=1;"
    cells = (
        vertex("vpc", group.format("group_vpc"), 0, 0, 800, 400, value="vpc")
        + vertex(
            "sn", group.format("group_security_group"), 20, 40, 200, 200, value="Private subnet"
        )
        + vertex("ec2", res.format("ec2"), 40, 80, 60, 60, value="web")
        + vertex("igw", "shape=mxgraph.aws4.internet_gateway;html=1;", 700, 40, 60, 60)
        + vertex("rds", res.format("rds"), 400, 80, 60, 60, value="db")
        + edge("place", "rds", "sn")
        + edge("route", "sn", "igw")
        + edge("sql", "ec2", "rds")
    )
    result = analyse(_arch(tmp_path, ("P", cells)))
    kinds = {r.connection: (r.source, r.target, r.kind) for r in result.relationships}
    assert kinds["place"] == ("rds", "sn", "placement")
    assert kinds["route"] == ("sn", "igw", "connectivity")
    assert [(f.source, f.target) for f in result.flows] == [("ec2", "rds")]


def test_arrows_to_plain_shapes_and_outside_parties_become_flows(tmp_path: Path) -> None:
    """An arrow to an external service icon (SharePoint) is a flow to the internet; one to
    a plain shape (an embedded image, a rectangle, another library's stencil) is a flow
    to that shape, private when the shape
    sits in the same VNet; a shape labelled as a user is the internet; an arrow to a box
    with nothing typed inside is a flow to the box; a legend or a note is no end."""
    png = "image;html=1;image=data:image/png,iVBORw0KGgo=;"
    cells = (
        vertex("vnet", "rounded=0;html=1;", 0, 0, 400, 300, value="Hub VNet")
        + vertex("nva", png, 20, 40, 50, 50, value="appliance")
        + vertex("vm", AZ.format("compute/Virtual_Machine.svg"), 200, 40, 60, 60, value="vm")
        + vertex("fn", AZ.format("compute/Function_Apps.svg"), 600, 40, 60, 60, value="fn")
        + vertex("sp", "shape=mxgraph.mscae.other.sharepoint;html=1;", 800, 40, 50, 50)
        + vertex("x", "shape=mxgraph.weblogos.twitter;html=1;", 800, 120, 50, 50, value="X")
        + vertex("who", "shape=actor;html=1;", 800, 200, 40, 60, value="User")
        + vertex("wf", "rounded=1;html=1;", 600, 400, 200, 100, value="Find Workflow")
        + vertex("step", "rounded=0;html=1;", 620, 420, 40, 20)
        + vertex("tbl", AZ.format("databases/Azure_Cosmos_DB.svg"), 900, 400, 60, 60)
        + vertex("leg", "rounded=0;html=1;", 600, 600, 80, 40, value="Legend")
        + edge("to-nva", "vm", "nva")
        + edge("to-sp", "fn", "sp")
        + edge("to-x", "fn", "x")
        + edge("from-user", "who", "fn")
        + edge("wf-db", "wf", "tbl")
        + edge("to-leg", "fn", "leg")
    )
    arch = _arch(tmp_path, ("P", cells))
    result = analyse(arch)
    flows = {(f.source, f.target): f.private for f in result.flows}
    assert flows == {
        ("vm", "nva"): True,
        ("fn", "internet"): False,
        ("fn", "x"): False,
        ("internet", "fn"): False,
        ("wf", "tbl"): False,
    }
    reasons = {(f.source, f.target): f.reason for f in result.flows}
    assert "'appliance'" in reasons[("vm", "nva")] and "not a cloud icon" in reasons[("vm", "nva")]
    assert "holds no resource" in reasons[("wf", "tbl")]
    assert not [r for r in result.relationships if r.connection == "to-leg"]
    report = combine(CombineInput(upstream=arch, network_flow=result.result())).report_markdown
    assert "| appliance |" in report  # the shape is named by its label


def test_a_box_badged_by_a_boundary_icon_stands_for_it(tmp_path: Path) -> None:
    """A box with a subnet icon just above its corner is that subnet: an NSG's arrow to
    the box is the NSG's association with the subnet, not with the VMs inside; a
    rectangle named after a VNet with a VNet icon on its corner is that VNet."""
    subnet_icon = "shape=mxgraph.azure.virtual_network;html=1;"
    cells = (
        vertex("sn-icon", subnet_icon, 0, 0, 50, 28, value="VMs Subnet")
        + vertex("box", "rounded=0;html=1;", 0, 38, 220, 250)
        + vertex("vm1", AZ.format("compute/Virtual_Machine.svg"), 20, 150, 60, 60, value="vm1")
        + vertex("vm2", AZ.format("compute/Virtual_Machine.svg"), 120, 150, 60, 60, value="vm2")
        + vertex("nsg", AZ.format("networking/Network_Security_Groups.svg"), 400, 100, 50, 50)
        + vertex("rect", "rounded=1;html=1;", 615, 410, 190, 50, value="[Virtual Network] v1")
        + vertex("vnet", AZ.format("networking/Virtual_Networks.svg"), 600, 400, 34, 20)
        + vertex("gw", AZ.format("networking/Virtual_Network_Gateways.svg"), 900, 400, 50, 50)
        + edge("nsg-box", "nsg", "box")
        + edge("gw-rect", "gw", "rect", value="peering")
    )
    arch = _arch(tmp_path, ("P", cells))
    assert {s.id: s.badge for s in arch.shapes} == {"rect": "vnet"}
    assert {c.id: c.badge for c in arch.containers} == {"box": "sn-icon"}
    rels = {r.connection: (r.source, r.target) for r in analyse(arch).relationships}
    assert rels == {"nsg-box": ("nsg", "sn-icon"), "gw-rect": ("gw", "vnet")}


def test_a_shape_label_types_the_arrow_and_an_aws_service_group_stands_for_itself(
    tmp_path: Path,
) -> None:
    """A rectangle labelled 'Network Security Group' makes its arrow to a subnet an
    association (the shape stays a part); an arrow into an Auto Scaling group box places
    the group, and one into a Step Functions workflow box reaches the workflow, not each
    step inside."""
    group = "points=[];shape=mxgraph.aws4.group;grIcon=mxgraph.aws4.{};html=1;"
    res = "shape=mxgraph.aws4.resourceIcon;resIcon=mxgraph.aws4.{};html=1;"
    azure = (
        vertex("vnet", "rounded=0;html=1;", 0, 0, 400, 300, value="VNet")
        + vertex("sn", "rounded=0;html=1;", 20, 40, 200, 200, value="app subnet")
        + vertex("vm", AZ.format("compute/Virtual_Machine.svg"), 40, 80, 60, 60)
        + vertex("nsg", "rounded=1;html=1;", 500, 40, 160, 60, value="Network Security Group")
        + edge("nsg-sn", "nsg", "sn")
    )
    aws = (
        vertex("vpc", group.format("group_vpc"), 0, 0, 900, 600, value="vpc")
        + vertex("sn1", group.format("group_security_group"), 20, 40, 300, 300, value="subnet")
        + vertex("asg", group.format("group_auto_scaling_group"), 40, 80, 200, 200)
        + vertex("ec2", res.format("ec2"), 60, 120, 60, 60, value="web")
        + vertex("wf", group.format("group_aws_step_functions_workflow"), 400, 40, 400, 300)
        + vertex("l1", res.format("lambda"), 420, 80, 60, 60, value="step one")
        + vertex("l2", res.format("lambda"), 600, 80, 60, 60, value="step two")
        + vertex("start", res.format("lambda"), 400, 450, 60, 60, value="starter")
        + edge("asg-sn", "asg", "sn1")
        + edge("start-wf", "start", "wf")
    )
    result = analyse(_arch(tmp_path, ("Azure", azure), ("AWS", aws)))
    kinds = {r.connection: (r.source, r.target, r.kind) for r in result.relationships}
    assert kinds["nsg-sn"] == ("nsg", "sn", "association")
    assert kinds["asg-sn"] == ("asg", "sn1", "placement")
    assert [(f.source, f.target) for f in result.flows] == [("start", "wf")]


def test_a_badged_box_types_arrows_by_its_badge_and_passes_traffic_inside(
    tmp_path: Path,
) -> None:
    """A VPN gateway's arrow to a box badged by a VNet icon joins the gateway to that VNet
    (connectivity, typed by the badge); traffic to the box reaches the VM inside, and to a
    badged box that holds only a gateway, that gateway."""
    vnet_icon = AZ.format("networking/Virtual_Networks.svg")
    cells = (
        vertex("v-icon", vnet_icon, 0, 0, 40, 24)
        + vertex("box", "rounded=0;html=1;", 0, 30, 300, 200)
        + vertex("vm", AZ.format("compute/Virtual_Machine.svg"), 100, 120, 60, 60, value="vm")
        + vertex("v2-icon", vnet_icon, 600, 0, 40, 24)
        + vertex("box2", "rounded=0;html=1;", 600, 30, 300, 200)
        + vertex("gw", AZ.format("networking/Virtual_Network_Gateways.svg"), 700, 120, 50, 50)
        + vertex("vpn", AZ.format("networking/Virtual_Network_Gateways.svg"), 400, 400, 50, 50)
        + vertex("fw", AZ.format("networking/Firewalls.svg"), 400, 600, 50, 50)
        + edge("vpn-box", "vpn", "box")
        + edge("fw-box", "fw", "box")
        + edge("fw-box2", "fw", "box2")
    )
    result = analyse(_arch(tmp_path, ("P", cells)))
    kinds = {r.connection: (r.source, r.target, r.kind) for r in result.relationships}
    assert kinds["vpn-box"] == ("vpn", "v-icon", "connectivity")
    assert {(f.source, f.target) for f in result.flows} == {("fw", "vm"), ("fw", "gw")}


def test_a_box_with_a_vnet_icon_in_its_corner_is_that_vnet(tmp_path: Path) -> None:
    """Unlabelled dashed boxes with a VNet icon in their bottom-right corner are the hub and
    the spoke: an appliance drawn as an embedded image in the hub reaches a VM in the
    peered spoke privately; each box is listed as a virtual network, with its badge."""
    png = "image;html=1;image=data:image/png,iVBORw0KGgo=;"
    vnet_icon = "shape=mxgraph.azure.virtual_network;html=1;"
    cells = (
        vertex("hub", "rounded=0;dashed=1;html=1;", 0, 0, 300, 300)
        + vertex("hub-icon", vnet_icon, 248, 266, 50, 28, value="hub")
        + vertex("nva", png, 40, 40, 40, 40, value="appliance")
        + vertex("spoke", "rounded=0;dashed=1;html=1;", 400, 0, 300, 300)
        + vertex("spoke-icon", vnet_icon, 648, 266, 50, 28, value="spoke")
        + vertex("vm", AZ.format("compute/Virtual_Machine.svg"), 450, 40, 60, 60, value="vm")
        + edge("peer", "hub-icon", "spoke-icon", value="peering")
        + edge("nva-vm", "nva", "vm")
    )
    arch = _arch(tmp_path, ("P", cells))
    boxes = {c.id: (c.kind, c.badge) for c in arch.containers}
    assert boxes == {"hub": ("vnet", "hub-icon"), "spoke": ("vnet", "spoke-icon")}
    result = analyse(arch).result()
    assert {(f.source, f.target): f.private for f in result.flows} == {("nva", "vm"): True}
    assert {v.id for v in result.vnets} >= {"hub", "spoke"}


def test_a_box_of_outside_parties_is_outside_the_architecture(tmp_path: Path) -> None:
    """A box holding only non-architectural icons (on-premises users) is a part outside
    the architecture: a VPN gateway's link to it is connectivity, as to an on-premises
    device, not traffic."""
    cells = (
        vertex("onprem", "rounded=0;html=1;", 0, 0, 120, 120)
        + vertex("people", AZ.format("identity/Users.svg"), 30, 30, 50, 50, value="Users")
        + vertex("vpn", AZ.format("networking/Virtual_Network_Gateways.svg"), 300, 30, 50, 50)
        + edge("link", "vpn", "onprem")
    )
    result = analyse(_arch(tmp_path, ("P", cells)))
    [rel] = [r for r in result.relationships if r.connection == "link"]
    assert (rel.source, rel.target, rel.kind) == ("vpn", "onprem", "connectivity")
    assert not result.flows
