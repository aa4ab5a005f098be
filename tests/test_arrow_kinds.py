"""What an arrow means, on small diagrams drawn the way real ones are.

Timers and clocks that trigger functions, scripts and IaC tools that deploy, a queue and
its dead-letter queue, two databases of one engine, a tunnel to a gateway's public IP,
an NSG drawn to the box around its VMs, calls to a SaaS drawn as a cloud shape: each is
typed from its label, its ends and what the drawing says of them, and only traffic
becomes a flow. Each diagram is a draw.io file written here and read by the vision
agent, classified by the filter, accepted as reviewed, then analysed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from synthforge_fixtures import reviewed
from test_vision import AZ, edge, mxfile, vertex, write

from agents.synthforge.analysis.arrows import EXTERNAL, ArrowTyper, load_arrow_typer
from agents.synthforge.analysis.filter import classify
from agents.synthforge.analysis.network_flow import NetworkAnalysis, analyse
from agents.synthforge.analysis.vision import detect_file

SHAPE = "shape=mxgraph.{};html=1;"
AWS = "shape=mxgraph.aws4.resourceIcon;resIcon=mxgraph.aws4.{};html=1;"


def _analyse(tmp_path: Path, cells: str) -> NetworkAnalysis:
    return analyse(reviewed(classify(detect_file(write(tmp_path, mxfile(("P", cells)))))))


def _icons(style: str, *specs: tuple[str, str, float, float, str]) -> str:
    """Icons of one library: (id, key, x, y, label) each, 50 by 50."""
    return "".join(vertex(c, style.format(k), x, y, 50, 50, value=v) for c, k, x, y, v in specs)


def _read(
    tmp_path: Path, cells: str
) -> tuple[NetworkAnalysis, dict[str, set[tuple[str, str, str]]]]:
    """The analysis of the diagram and, per arrow, its relationships (source, target, kind)."""
    result = _analyse(tmp_path, cells)
    return result, _kinds(result)


def _kinds(result: NetworkAnalysis) -> dict[str, set[tuple[str, str, str]]]:
    out: dict[str, set[tuple[str, str, str]]] = {}
    for r in result.relationships:
        out.setdefault(r.connection, set()).add((r.source, r.target, r.kind))
    return out


def test_a_clock_triggers_a_function_but_a_trigger_label_between_resources_is_traffic(
    tmp_path: Path,
) -> None:
    """A clock glyph (no resource) drawn to a function is its timer trigger; an arrow
    labelled 'crontab trigger' from an Event Hub to a function is the hub's traffic."""
    cells = (
        vertex("clock", SHAPE.format("office.concepts.clock"), 0, 0, 40, 40, value="timeTrigger")
        + vertex("fn", AZ.format("compute/Function_Apps.svg"), 200, 0, 60, 60, value="sender")
        + vertex("eh", AZ.format("analytics/Event_Hubs.svg"), 400, 0, 60, 60, value="hub")
        + edge("t", "clock", "fn")
        + edge("c", "eh", "fn", value="crontab trigger")
    )
    result, kinds = _read(tmp_path, cells)
    assert kinds["t"] == {("clock", "fn", "trigger")}
    assert kinds["c"] == {("eh", "fn", "network")}
    assert {(f.source, f.target) for f in result.flows} == {("eh", "fn")}
    [trigger] = [r for r in result.relationships if r.kind == "trigger"]
    assert "named" in trigger.reason


def test_a_function_named_after_its_timer_trigger_still_carries_traffic(tmp_path: Path) -> None:
    cells = (
        vertex("fn", AZ.format("compute/Function_Apps.svg"), 0, 0, 60, 60, value="Import Timer")
        + vertex("q", AZ.format("general/Storage_Queue.svg"), 300, 0, 60, 60, value="import")
        + edge("s", "fn", "q", value="2.2 Queue for Sync")
    )
    assert _kinds(_analyse(tmp_path, cells))["s"] == {("fn", "q", "network")}


def test_scripts_and_source_control_deploy(tmp_path: Path) -> None:
    cells = (
        _icons(
            SHAPE,
            ("sh", "azure.script_file", 0, 0, "Onboarding Scripts"),
            ("git", "azure.git_repository", 0, 200, "app repo"),
        )
        + _icons(
            AZ,
            ("rg", "general/Resource_Groups.svg", 300, 0, "rg-2"),
            ("fn", "compute/Function_Apps.svg", 300, 200, "fn"),
        )
        + edge("a", "sh", "rg")
        + edge("b", "git", "fn")
    )
    result, kinds = _read(tmp_path, cells)
    assert kinds["a"] == {("sh", "rg", "deployment")}
    assert kinds["b"] == {("git", "fn", "deployment")}
    assert not result.flows


def test_a_queue_redrives_to_its_dead_letter_queue(tmp_path: Path) -> None:
    cells = (
        vertex("q", AWS.format("sqs"), 0, 0, 60, 60, value="Object Deletion Queue")
        + vertex("dlq", AWS.format("sqs"), 300, 0, 60, 60, value="Object Deletion DLQ")
        + vertex("fn", AWS.format("lambda"), 0, 200, 60, 60, value="worker")
        + edge("r", "q", "dlq")
        + edge("w", "fn", "q")
    )
    result, kinds = _read(tmp_path, cells)
    assert kinds["r"] == {("q", "dlq", "association")}
    assert kinds["w"] == {("fn", "q", "network")}


def test_two_databases_of_one_engine_replicate_and_different_ones_talk(tmp_path: Path) -> None:
    pg = AZ.format("databases/Azure_Database_PostgreSQL_Server.svg")
    cells = (
        vertex("pg1", pg, 0, 0, 60, 60, value="primary")
        + vertex("pg2", pg, 300, 0, 60, 60, value="reporting")
        + vertex("sql", AZ.format("databases/SQL_Server.svg"), 600, 0, 60, 60, value="sql")
        + edge("rep", "pg1", "pg2")
        + edge("etl", "pg2", "sql")
    )
    kinds = _kinds(_analyse(tmp_path, cells))
    assert kinds["rep"] == {("pg1", "pg2", "replication")}
    assert {k for _, _, k in kinds["etl"]} == {"network"}


@pytest.mark.parametrize(
    ("a", "b", "name_a", "kind"),
    [
        pytest.param(
            EXTERNAL,
            "Microsoft.DBforPostgreSQL/flexibleServers",
            "PG13 "
            "img/lib/azure2/databases/Azure_Database_PostgreSQL_Server.svg "
            "an on-premises system",
            "replication",
            id="on-premises-database",
        ),
        pytest.param(
            EXTERNAL,
            "Microsoft.DBforPostgreSQL/flexibleServers",
            "Client apps mxgraph.azure.laptop an end-user device",
            "network",
            id="client",
        ),
        pytest.param(
            "Microsoft.Network/connections",
            "Microsoft.Network/publicIPAddresses",
            "IPsec tunnel",
            "connectivity",
            id="tunnel-to-public-ip",
        ),
        pytest.param(
            "Microsoft.Network/virtualNetworkGateways",
            "Microsoft.Network/publicIPAddresses",
            "vpngw",
            "association",
            id="public-ip-of-gateway",
        ),
        pytest.param(
            EXTERNAL,
            EXTERNAL,
            "Markdown mxgraph.office.concepts.document a document",
            "data",
            id="document",
        ),
    ],
)
def test_end_rules_read_the_types_and_names_of_the_ends(
    a: str, b: str, name_a: str, kind: str
) -> None:
    assert load_arrow_typer().classify("", a, b, name_a, "").kind == kind


def test_named_rules_and_label_requirements_come_from_the_table() -> None:
    typer = ArrowTyper(
        {
            "label_phrases": {"trigger": ["kick"]},
            "label_requires": [{"kind": "trigger", "either": ["T"]}],
            "end_rules": [{"kind": "deployment", "either": ["@external"], "named": ["robot"]}],
        }
    )
    assert typer.classify("kick", "T", "F").kind == "trigger"
    assert typer.classify("kick", "Q", "F").kind == "network"
    assert typer.classify("", EXTERNAL, "F", "build robot").kind == "deployment"
    assert typer.classify("", EXTERNAL, "F", "robots").kind == "network"  # whole words


def test_an_nsg_drawn_to_the_box_around_its_vms_is_on_the_box(tmp_path: Path) -> None:
    """Not on every VM inside; traffic drawn to the same box still reaches each VM."""
    vm = AZ.format("compute/Virtual_Machine.svg")
    cells = (
        vertex("box", "rounded=0;html=1;", 300, 0, 300, 200)
        + vertex("vm1", vm, 320, 50, 60, 60, value="vm1")
        + vertex("vm2", vm, 450, 50, 60, 60, value="vm2")
        + vertex("nsg", AZ.format("networking/Network_Security_Groups.svg"), 0, 0, 50, 60)
        + vertex("lb", AZ.format("networking/Load_Balancers.svg"), 0, 300, 60, 60, value="lb")
        + edge("n", "nsg", "box")
        + edge("t", "lb", "box")
    )
    result, kinds = _read(tmp_path, cells)
    assert kinds["n"] == {("nsg", "box", "association")}
    assert {(f.source, f.target) for f in result.flows} == {("lb", "vm1"), ("lb", "vm2")}


def test_calls_to_a_saas_are_traffic_with_the_internet_and_a_legend_is_no_party(
    tmp_path: Path,
) -> None:
    cells = (
        vertex("fn", AZ.format("compute/Function_Apps.svg"), 0, 0, 60, 60, value="tweeter")
        + vertex("saas", SHAPE.format("azure.cloud"), 300, 0, 80, 50, value="Twitter")
        + vertex("legend", AZ.format("general/Information.svg"), 300, 200, 40, 40, value="Key")
        + edge("out", "fn", "saas", value="Tweet hero image")
        + edge("pointer", "fn", "legend")
    )
    result = _analyse(tmp_path, cells)
    [flow] = result.flows
    assert (flow.source, flow.target, flow.private) == ("fn", "internet", False)
    assert "traffic with the internet" in flow.reason
    assert any("pointer" in w for w in result.warnings)


def test_a_load_balancer_and_its_vms_share_a_network_when_none_is_drawn(tmp_path: Path) -> None:
    cells = (
        vertex("lb", AZ.format("networking/Load_Balancers.svg"), 0, 0, 60, 60, value="lb")
        + vertex("vm", AZ.format("compute/Virtual_Machine.svg"), 300, 0, 60, 60, value="vm")
        + edge("b", "lb", "vm")
    )
    [flow] = _analyse(tmp_path, cells).flows
    assert flow.private


def test_the_backend_leg_of_an_internet_facing_load_balancer_is_public_with_no_vpc_drawn(
    tmp_path: Path,
) -> None:
    """The internet reaches the outer ELB: its leg to the web instance is public; the
    inner ELB, which the internet never reaches, keeps its leg to the app instance private."""
    cells = (
        vertex("user", SHAPE.format("aws4.user"), 0, 0, 40, 40)
        + vertex("elb", AWS.format("elastic_load_balancing"), 200, 0, 60, 60, value="outer")
        + vertex("web", SHAPE.format("aws4.optimized_instance"), 400, 0, 40, 40, value="web")
        + vertex("ilb", AWS.format("elastic_load_balancing"), 600, 0, 60, 60, value="inner")
        + vertex("app", SHAPE.format("aws4.m4_instance"), 800, 0, 40, 40, value="app")
        + edge("i", "user", "elb")
        + edge("w", "elb", "web")
        + edge("x", "web", "ilb")
        + edge("a", "ilb", "app")
    )
    private = {(f.source, f.target): f.private for f in _analyse(tmp_path, cells).flows}
    assert private == {
        ("internet", "elb"): False,
        ("elb", "web"): False,
        ("web", "ilb"): True,
        ("ilb", "app"): True,
    }


def test_subnets_drawn_together_in_one_box_without_a_vnet_box_share_a_network(
    tmp_path: Path,
) -> None:
    """A branch drawn as a plain box holding its gateway subnet and its VM subnet: traffic
    between them stays on the branch network. A subnet drawn alone is a network of its own."""
    box = "rounded=0;container=1;html=1;"
    cells = (
        vertex("branch", box, 0, 0, 600, 300, value="Branch site")
        + vertex("gws", box, 20, 40, 250, 200, value="GatewaySubnet", parent="branch")
        + vertex("apps", box, 300, 40, 250, 200, value="Subnet1", parent="branch")
        + vertex("far", box, 800, 0, 250, 200, value="Subnet2")
        + vertex(
            "gw",
            AZ.format("networking/Virtual_Network_Gateways.svg"),
            50,
            50,
            50,
            50,
            value="branch-gw",
            parent="gws",
        )
        + vertex(
            "vm",
            AZ.format("compute/Virtual_Machine.svg"),
            50,
            50,
            50,
            50,
            value="vm1",
            parent="apps",
        )
        + vertex(
            "vm2",
            AZ.format("compute/Virtual_Machine.svg"),
            50,
            50,
            50,
            50,
            value="vm2",
            parent="far",
        )
        + edge("p", "gw", "vm")
        + edge("q", "gw", "vm2")
    )
    private = {f.target: f.private for f in _analyse(tmp_path, cells).flows}
    assert private == {"vm": True, "vm2": False}


def test_arrows_on_a_layer_named_for_traffic_are_traffic_over_the_expressroute_circuit(
    tmp_path: Path,
) -> None:
    """The circuit is joined to the hub gateway twice: by the plain line (the connection)
    and by a dashed line on a layer of traffic paths, which is traffic, and private."""
    box = "rounded=0;container=1;html=1;"
    on_layer = edge("path", "ergw", "msee").replace('parent="1"', 'parent="flows"')
    cells = (
        vertex("hub", box, 0, 0, 300, 200, value="hub-vnet 10.0.0.0/16")
        + vertex(
            "ergw",
            AZ.format("networking/Virtual_Network_Gateways.svg"),
            50,
            50,
            50,
            50,
            value="hub-ergw",
            parent="hub",
        )
        + vertex(
            "msee", AZ.format("networking/ExpressRoute_Circuits.svg"), 500, 50, 50, 50, value="MSEE"
        )
        + edge("circuit", "msee", "ergw")
        + '<mxCell id="flows" value="Flow-ER-Only" parent="0"/>'
        + on_layer
    )
    result, kinds = _read(tmp_path, cells)
    assert {k for _, _, k in kinds["circuit"]} == {"connectivity"}
    [rel] = [r for r in result.relationships if r.connection == "path"]
    assert rel.kind == "network" and "layer 'Flow-ER-Only'" in rel.reason
    [flow] = result.flows
    assert (flow.source, flow.target, flow.private) == ("ergw", "msee", True)


def test_an_arrow_to_a_step_functions_workflow_box_is_to_the_workflow_not_each_step(
    tmp_path: Path,
) -> None:
    group = (
        "shape=mxgraph.aws4.group;grIcon=mxgraph.aws4.group_aws_step_functions_workflow;"
        "html=1;container=1;"
    )
    cells = (
        vertex("starter", AWS.format("lambda"), 0, 0, 60, 60, value="Job Stream Processor")
        + vertex("wf", group, 200, 0, 400, 200, value="Deletion Job Workflow")
        + vertex("plan", AWS.format("lambda"), 20, 50, 60, 60, value="Query Planner", parent="wf")
        + vertex("q", AWS.format("sqs"), 200, 50, 60, 60, value="Query Queue", parent="wf")
        + edge("start", "starter", "wf")
        + edge("inner", "plan", "q")
    )
    result, kinds = _read(tmp_path, cells)
    assert kinds["start"] == {("starter", "wf", "network")}
    # the workflow is a part of its own: the flow is to it, not to each step
    assert {(f.source, f.target) for f in result.flows} == {("plan", "q"), ("starter", "wf")}
    [rel] = [r for r in result.relationships if r.connection == "start"]
    assert "AWS::StepFunctions::StateMachine" in rel.reason


def test_a_gateway_drawn_to_a_box_badged_with_a_vnet_icon_connects_to_that_network(
    tmp_path: Path,
) -> None:
    """The grey box holds a 'Virtual Network' icon and a load balancer: the gateway's line
    to it is the gateway's connection to that network, not traffic to each thing inside;
    a load balancer's line to the same box is traffic to what it holds."""
    cells = (
        vertex("box", "rounded=0;html=1;fillColor=#f5f5f5;strokeColor=none;", 300, 0, 400, 300)
        + _icons(
            "image;html=1;image=img/lib/mscae/{};",
            ("vnet", "Virtual_Network.svg", 320, 20, "VNet"),
            ("vm", "Virtual_Machine.svg", 450, 150, "vm"),
            ("gw", "VPN_Gateway.svg", 0, 0, "VPN Gateway"),
            ("lb", "Load_Balancer_feature.svg", 0, 200, "lb"),
        )
        + edge("link", "gw", "box")
        + edge("t", "lb", "box")
    )
    result, kinds = _read(tmp_path, cells)
    # the box is badged by the VNet icon: the connection names that VNet
    assert kinds["link"] == {("gw", "vnet", "connectivity")}
    assert ("lb", "vm") in {(f.source, f.target) for f in result.flows}
    assert not [f for f in result.flows if f.source == "gw"]
