"""The ``security`` agent: identities, least-privilege roles, private endpoints, TLS."""

from __future__ import annotations

import jsonschema
import pytest
from synthforge_fixtures import aws_api, azure_shop, connection, resource

from agents.synthforge.analysis.security import SecurityAgent, recommend
from agents.synthforge.models import ResourceSecurity, SecurityResult
from orchestration.runtime.execution import execute
from orchestration.runtime.schemas import artifact_schema


def _sec(result: SecurityResult, resource_id: str) -> ResourceSecurity:
    (sec,) = [s for s in result.resources if s.resource_id == resource_id]
    return sec


@pytest.fixture
def shop() -> SecurityResult:
    return recommend(azure_shop())


@pytest.mark.parametrize(
    ("principal", "scope", "role_name", "role_id"),
    [
        pytest.param(
            "func",
            "cosmos",
            "Cosmos DB Built-in Data Contributor",
            "00000000-0000-0000-0000-000000000002",
            id="function-to-cosmos",
        ),
        pytest.param(
            "web",
            "kv",
            "Key Vault Secrets User",
            "4633458b-17de-408a-b874-0445c86b69e6",
            id="app-to-key-vault",
        ),
        pytest.param(
            "func",
            "st",
            "Storage Blob Data Reader",
            "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
            id="reads-label-gives-blob-reader",
        ),
        pytest.param(
            "func",
            "sb",
            "Azure Service Bus Data Receiver",
            "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
            id="service-bus-trigger-receiver",
        ),
        pytest.param(
            "web",
            "appi",
            "Monitoring Metrics Publisher",
            "3913510d-42f4-4e42-8a64-420c390055eb",
            id="app-insights-publisher",
        ),
    ],
)
def test_roles_follow_the_flows(
    shop: SecurityResult, principal: str, scope: str, role_name: str, role_id: str
) -> None:
    sec = _sec(shop, principal)
    assert sec.managed_identity
    matches = [a for a in sec.role_assignments if a.scope == scope]
    assert [(a.role_name, a.role_definition_id) for a in matches] == [(role_name, role_id)]
    assert matches[0].principal == principal


def test_cosmos_role_is_named_as_data_plane(shop: SecurityResult) -> None:
    (cosmos,) = [a for a in _sec(shop, "func").role_assignments if a.scope == "cosmos"]
    assert "data-plane" in cosmos.reason


def test_data_services_get_no_roles_of_their_own(shop: SecurityResult) -> None:
    for rid in ("cosmos", "kv", "st", "sql", "sb"):
        sec = _sec(shop, rid)
        assert sec.role_assignments == [] and not sec.managed_identity


def test_sql_gets_a_database_user_note_not_an_rbac_role(shop: SecurityResult) -> None:
    web = _sec(shop, "web")
    assert not [a for a in web.role_assignments if a.scope == "sql"]
    assert any("FROM EXTERNAL PROVIDER" in n and "'shop-web'" in n for n in web.notes)


@pytest.mark.parametrize(
    ("rid", "group_id", "zone"),
    [
        pytest.param("cosmos", "Sql", "privatelink.documents.azure.com", id="cosmos"),
        pytest.param("st", "blob", "privatelink.blob.core.windows.net", id="storage"),
        pytest.param("kv", "vault", "privatelink.vaultcore.azure.net", id="key-vault"),
        pytest.param("sql", "sqlServer", "privatelink.database.windows.net", id="sql"),
        pytest.param("sb", "namespace", "privatelink.servicebus.windows.net", id="service-bus"),
        pytest.param("web", "sites", "privatelink.azurewebsites.net", id="web-app"),
    ],
)
def test_private_endpoints_and_public_access(
    shop: SecurityResult, rid: str, group_id: str, zone: str
) -> None:
    sec = _sec(shop, rid)
    assert sec.private_endpoint is not None
    assert (sec.private_endpoint.group_id, sec.private_endpoint.private_dns_zone) == (
        group_id,
        zone,
    )
    assert sec.public_network_access == "Disabled"


@pytest.mark.parametrize(
    ("rtype", "kind", "group_id"),
    [
        pytest.param(
            "Microsoft.DBforPostgreSQL/flexibleServers", None, "postgresqlServer", id="pg"
        ),
        pytest.param("Microsoft.ContainerRegistry/registries", None, "registry", id="acr"),
        pytest.param("Microsoft.CognitiveServices/accounts", "OpenAI", "account", id="openai"),
        pytest.param("Microsoft.Cache/redis", None, "redisCache", id="redis"),
    ],
)
def test_private_endpoint_group_ids_by_type(rtype: str, kind: str | None, group_id: str) -> None:
    arch = azure_shop()
    arch.resources.append(resource("t", "target", rtype, "data", ["rg"], kind=kind))
    sec = _sec(recommend(arch), "t")
    assert sec.private_endpoint is not None and sec.private_endpoint.group_id == group_id


@pytest.mark.parametrize(
    ("rtype", "kind", "role_name", "role_id"),
    [
        pytest.param(
            "Microsoft.CognitiveServices/accounts",
            "OpenAI",
            "Cognitive Services OpenAI User",
            "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
            id="openai",
        ),
        pytest.param(
            "Microsoft.EventHub/namespaces",
            None,
            "Azure Event Hubs Data Sender",
            "2b629674-e913-4c01-ae53-ef4638d8f975",
            id="event-hubs",
        ),
        pytest.param(
            "Microsoft.AppConfiguration/configurationStores",
            None,
            "App Configuration Data Reader",
            "516239f1-63e1-4d78-a4de-a74fb236a071",
            id="app-config",
        ),
        pytest.param(
            "Microsoft.Storage/storageAccounts",
            None,
            "Storage Blob Data Contributor",
            "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
            id="storage-default-contributor",
        ),
    ],
)
def test_more_roles_by_target_type(
    rtype: str, kind: str | None, role_name: str, role_id: str
) -> None:
    arch = azure_shop()
    arch.resources.append(resource("t", "target", rtype, "data", ["rg"], kind=kind))
    arch.connections.append(connection("x", "func", "t"))
    (role,) = [a for a in _sec(recommend(arch), "func").role_assignments if a.scope == "t"]
    assert (role.role_name, role.role_definition_id) == (role_name, role_id)


def test_registry_drawn_towards_the_app_gives_the_app_acr_pull() -> None:
    arch = azure_shop()
    arch.resources.append(
        resource("acr", "shopacr", "Microsoft.ContainerRegistry/registries", "containers", ["rg"])
    )
    arch.connections.append(connection("x", "acr", "web", "images"))
    (role,) = [a for a in _sec(recommend(arch), "web").role_assignments if a.scope == "acr"]
    assert (role.role_name, role.role_definition_id) == (
        "AcrPull",
        "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    )


def test_contributor_supersedes_reader_on_the_same_scope() -> None:
    arch = azure_shop()
    arch.connections.append(connection("x", "st", "func", "blob trigger"))
    arch.connections = [c for c in arch.connections if c.id != "c6"]
    arch.connections.append(connection("y", "func", "st", "uploads"))
    roles = [a.role_name for a in _sec(recommend(arch), "func").role_assignments if a.scope == "st"]
    assert roles == ["Storage Blob Data Contributor"]


def test_compute_settings(shop: SecurityResult) -> None:
    for rid in ("web", "func"):
        sec = _sec(shop, rid)
        assert sec.managed_identity and sec.vnet_integration and sec.diagnostics
        assert sec.min_tls_version == "1.2"
    assert _sec(shop, "st").min_tls_version == "1.2"


def test_every_azure_recommendation_links_to_learn(shop: SecurityResult) -> None:
    for sec in shop.resources:
        if sec.managed_identity or sec.private_endpoint or sec.role_assignments:
            assert sec.links, sec.resource_id
        assert all(url.startswith("https://learn.microsoft.com/") for url in sec.links)


def test_resource_reached_from_the_internet_keeps_public_access() -> None:
    arch = azure_shop()
    arch.connections.append(connection("x", "users", "func"))
    sec = _sec(recommend(arch), "func")
    assert sec.private_endpoint is None
    assert sec.public_network_access == "Enabled"


def test_non_private_inbound_flow_keeps_public_access_with_a_note() -> None:
    arch = azure_shop()
    arch.resources.append(
        resource("vm", "legacy-vm", "Microsoft.Compute/virtualMachines", "compute", ["rg"])
    )
    arch.connections.append(connection("x", "vm", "kv", "secrets"))
    sec = _sec(recommend(arch), "kv")
    assert sec.private_endpoint is not None
    assert sec.public_network_access == "Enabled"
    assert any("legacy-vm" in n for n in sec.notes)


def test_without_a_vnet_private_endpoints_become_a_note() -> None:
    arch = azure_shop()
    arch.containers = [c for c in arch.containers if c.kind == "resource_group"]
    for r in arch.resources:
        r.containers = ["rg"]
    result = recommend(arch)
    cosmos = _sec(result, "cosmos")
    assert cosmos.private_endpoint is None and cosmos.public_network_access is None
    assert any("no virtual network" in n and "'Sql'" in n for n in cosmos.notes)
    assert not _sec(result, "web").vnet_integration


def test_unknown_type_is_flagged_and_lowers_confidence() -> None:
    arch = azure_shop()
    arch.resources.append(resource("t", "thing", "Microsoft.Foo/bars", "other", ["rg"]))
    result = recommend(arch)
    assert any("Microsoft.Foo/bars" in n for n in _sec(result, "t").notes)
    assert result.confidence < 1.0


def test_aws_gets_iam_roles_and_s3_public_access_block() -> None:
    result = recommend(aws_api())
    fn = _sec(result, "fn")
    assert fn.managed_identity and fn.role_assignments == []
    assert any("IAM execution role" in n for n in fn.notes)
    assert any("dynamodb:GetItem" in n and "'orders'" in n for n in fn.notes)
    s3 = _sec(result, "s3")
    assert any("Block Public Access" in n for n in s3.notes)
    assert s3.public_network_access == "Disabled"
    assert any("cover Azure" in w for w in result.warnings)


async def test_agent_output_validates_against_its_artifact_schema() -> None:
    async with SecurityAgent() as agent:
        run = await execute(agent, azure_shop())
    assert run.ok, run.error
    doc = run.envelope.model_dump(mode="json")
    jsonschema.Draft202012Validator(artifact_schema(SecurityResult)).validate(doc)
    assert len(doc["data"]["resources"]) == len(azure_shop().resources)


def test_cosmos_drawn_towards_the_function_gives_reader_with_a_lease_note() -> None:
    arch = azure_shop()
    arch.connections = [c for c in arch.connections if c.id != "c4"]
    arch.connections.append(connection("x", "cosmos", "func", "change feed"))
    (role,) = [a for a in _sec(recommend(arch), "func").role_assignments if a.scope == "cosmos"]
    assert (role.role_name, role.role_definition_id) == (
        "Cosmos DB Built-in Data Reader",
        "00000000-0000-0000-0000-000000000001",
    )
    assert "lease container" in role.reason and "data-plane" in role.reason
