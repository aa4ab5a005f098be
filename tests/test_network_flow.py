"""The ``network_flow`` agent: flows, protocols, privacy, VNets and zones.

The architectures here are built by hand, shaped like the filter/review stages' output
for two common designs: an Azure web shop (App Gateway → App Service → Function App →
Cosmos DB, Key Vault, Storage, SQL, Application Insights, Service Bus, inside a VNet with
subnets) and an AWS serverless API (API Gateway → Lambda → DynamoDB, S3, RDS in a VPC).
The builders live in ``synthforge_fixtures``, shared with the other SynthForge tests.
"""

from __future__ import annotations

import jsonschema
import pytest
from synthforge_fixtures import aws_api, azure_shop, connection, resource

from agents.synthforge.analysis.network_flow import INTERNET, NetworkFlowAgent, analyse
from agents.synthforge.models import Flow, NetworkFlowResult
from orchestration.runtime.execution import execute
from orchestration.runtime.schemas import artifact_schema


def _flow(result: NetworkFlowResult, source: str, target: str) -> Flow:
    matches = [f for f in result.flows if (f.source, f.target) == (source, target)]
    assert len(matches) == 1, f"expected one flow {source} -> {target}, got {result.flows}"
    return matches[0]


@pytest.fixture
def shop_result() -> NetworkFlowResult:
    return analyse(azure_shop()).result()


@pytest.mark.parametrize(
    ("source", "target", "protocol", "port", "private"),
    [
        pytest.param(INTERNET, "appgw", "HTTPS", 443, False, id="internet-to-gateway"),
        pytest.param("appgw", "web", "HTTPS", 443, True, id="gateway-to-app-same-vnet"),
        pytest.param("func", "cosmos", "HTTPS", 443, True, id="cosmos-private-endpoint"),
        pytest.param("web", "kv", "HTTPS", 443, True, id="key-vault"),
        pytest.param("func", "st", "HTTPS", 443, True, id="storage"),
        pytest.param("web", "sql", "TDS", 1433, True, id="sql-tds-1433"),
        pytest.param("sb", "func", "AMQPS", 5671, True, id="service-bus-trigger-amqps"),
    ],
)
def test_shop_flows_have_protocol_port_and_privacy(
    shop_result: NetworkFlowResult,
    source: str,
    target: str,
    protocol: str,
    port: int,
    private: bool,
) -> None:
    flow = _flow(shop_result, source, target)
    assert (flow.protocol, flow.port, flow.private) == (protocol, port, private)
    assert flow.reason


def test_backward_connection_is_turned_round(shop_result: NetworkFlowResult) -> None:
    """c8 is drawn App Insights ← App Service: the app sends its telemetry to App Insights.

    Telemetry is a relationship of its own kind, not a network flow (no protocol, port or
    private/public judgement), and it keeps the drawn direction turned round."""
    [rel] = [r for r in shop_result.relationships if r.connection == "c8"]
    assert (rel.source, rel.target, rel.kind) == ("web", "appi", "telemetry")
    assert not [f for f in shop_result.flows if "appi" in (f.source, f.target)]


def test_connections_to_non_resources_are_dropped_with_a_warning(
    shop_result: NetworkFlowResult,
) -> None:
    ends = {e for f in shop_result.flows for e in (f.source, f.target)}
    assert "legend" not in ends and "mystery" not in ends
    assert any("c10" in w and "c11" in w for w in shop_result.warnings)
    assert len(shop_result.flows) == 8  # nine arrows join resources; one is telemetry


def test_passive_source_names_the_side_that_connects(shop_result: NetworkFlowResult) -> None:
    reason = _flow(shop_result, "sb", "func").reason
    assert "'orders-func' opens the connection to 'orders-bus'" in reason


def test_label_protocol_and_port_override_the_type() -> None:
    arch = azure_shop()
    arch.connections = [connection("x", "web", "func", "gRPC port 8443")]
    flow = _flow(analyse(arch).result(), "web", "func")
    assert (flow.protocol, flow.port) == ("gRPC", 8443)
    assert "label" in flow.reason


@pytest.mark.parametrize(
    ("rtype", "kind", "protocol", "port"),
    [
        pytest.param(
            "Microsoft.DBforPostgreSQL/flexibleServers", None, "PostgreSQL", 5432, id="pg"
        ),
        pytest.param("Microsoft.Cache/Redis", None, "Redis (TLS)", 6380, id="redis"),
        pytest.param("Microsoft.EventHub/namespaces", None, "AMQPS", 5671, id="event-hubs"),
        pytest.param(
            "Microsoft.DocumentDB/databaseAccounts",
            "MongoDB",
            "MongoDB wire protocol (TLS)",
            10255,
            id="cosmos-mongo-kind",
        ),
        pytest.param("Microsoft.Foo/bars", None, "unknown", None, id="unknown-type"),
    ],
)
def test_protocol_follows_the_target_type(
    rtype: str, kind: str | None, protocol: str, port: int | None
) -> None:
    arch = azure_shop()
    arch.resources.append(resource("t", "target", rtype, "data", ["rg"], kind=kind))
    arch.connections = [connection("x", "func", "t")]
    result = analyse(arch).result()
    flow = _flow(result, "func", "t")
    assert (flow.protocol, flow.port) == (protocol, port)
    if protocol == "unknown":
        assert "Microsoft.Foo/bars" in flow.reason
        assert any("no known protocol" in w for w in result.warnings)
        assert result.confidence < 1.0


def test_vnets_list_subnets_and_their_resources(shop_result: NetworkFlowResult) -> None:
    (vnet,) = shop_result.vnets
    assert vnet.name == "vnet-shop"
    assert {s.name: s.resources for s in vnet.subnets} == {
        "snet-gateway": ["appgw"],
        "snet-app": ["web"],
        "snet-data": ["sql"],
    }
    assert sorted(vnet.resources) == ["appgw", "sql", "web"]


def test_zones_by_category_and_type(shop_result: NetworkFlowResult) -> None:
    zones = {z.name: z.resources for z in shop_result.zones}
    assert list(zones) == ["public edge", "application", "data", "management"]
    assert zones["public edge"] == ["appgw"]
    assert set(zones["application"]) == {"web", "func", "sb"}
    assert set(zones["data"]) == {"cosmos", "st", "sql"}
    assert set(zones["management"]) == {"kv", "appi"}


def test_without_a_vnet_nothing_is_private() -> None:
    arch = azure_shop()
    arch.containers = [c for c in arch.containers if c.kind == "resource_group"]
    for r in arch.resources:
        r.containers = ["rg"]
    result = analyse(arch).result()
    assert result.vnets == []
    assert not any(f.private for f in result.flows)


def test_connection_to_a_subnet_fans_out_to_its_resources() -> None:
    arch = azure_shop()
    arch.connections = [connection("x", "func", "snet-data")]
    (flow,) = [f for f in analyse(arch).flows if f.source == "func"]
    assert (flow.target, flow.protocol, flow.port) == ("sql", "TDS", 1433)
    assert "snet-data" in flow.reason


def test_gateway_without_drawn_backend_gets_flows_from_containment() -> None:
    arch = azure_shop()
    arch.connections = [c for c in arch.connections if c.id != "c2"]
    result = analyse(arch).result()
    flow = _flow(result, "appgw", "web")
    assert flow.private and "containment" in flow.reason
    assert any("containment" in w for w in result.warnings)


def test_aws_flows() -> None:
    result = analyse(aws_api()).result()
    assert _flow(result, INTERNET, "api").private is False
    rds = _flow(result, "fn", "rds")
    assert (rds.protocol, rds.port, rds.private) == ("PostgreSQL", 5432, True)
    assert "assumed" in rds.reason
    assert _flow(result, "fn", "ddb").private is False
    assert [v.name for v in result.vnets] == ["vpc-main"]


async def test_agent_output_validates_against_its_artifact_schema() -> None:
    async with NetworkFlowAgent() as agent:
        run = await execute(agent, azure_shop())
    assert run.ok, run.error
    doc = run.envelope.model_dump(mode="json")
    jsonschema.Draft202012Validator(artifact_schema(NetworkFlowResult)).validate(doc)
    assert doc["data"]["flows"]


def test_a_child_resource_is_reached_through_its_parents_endpoint() -> None:
    from agents.synthforge.analysis.network_flow import protocol_for

    container = resource(
        "c",
        "Lease Container",
        "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers",
        "database",
        [],
    )
    protocol, port, reason = protocol_for(container, "")
    assert (protocol, port) == ("HTTPS", 443)
    assert "reached through its parent Microsoft.DocumentDB/databaseAccounts:" in reason
    orphan = resource("o", "x", "Contoso.Unknown/things/parts", "other", [])
    assert protocol_for(orphan, "")[:2] == ("unknown", None)


def test_a_direct_child_type_is_reached_through_its_parent_too() -> None:
    from agents.synthforge.analysis.network_flow import protocol_for

    slot = resource("s", "staging", "Microsoft.Web/sites/slots", "compute", [])
    site = resource("w", "web", "Microsoft.Web/sites", "compute", [])
    protocol, port, reason = protocol_for(slot, "")
    assert (protocol, port) == protocol_for(site, "")[:2]
    assert "reached through its parent Microsoft.Web/sites:" in reason
    # a grandchild takes the nearest parent type that has a protocol
    sync = resource("g", "sync", "Microsoft.Sql/servers/databases/syncGroups", "database", [])
    reason = protocol_for(sync, "")[2]
    assert "reached through its parent Microsoft.Sql/servers/databases:" in reason
