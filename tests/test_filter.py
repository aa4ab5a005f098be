"""The filter agent and its icon map: icons become typed resources, or are set aside."""

from __future__ import annotations

import importlib.util
import itertools
import json
from importlib import resources
from pathlib import Path

import pytest

from agents.synthforge.analysis.filter import FilterAgent, classify, container_chain, name_from_type
from agents.synthforge.analysis.icon_map import IconMap, load_icon_map, normalize_key
from agents.synthforge.models import BBox, Connection, Container, DetectionResult, Icon

BOX = BBox(x=0, y=0, width=10, height=10)


_PLACES = itertools.count()


def icon(
    icon_id: str, key: str, label: str = "", *, provider: str = "azure", parent: str | None = None
) -> Icon:
    # each icon gets its own place, so that only icons a test stacks on purpose overlap
    return Icon(
        id=icon_id,
        page="p1",
        icon_key=key,
        provider=provider,  # type: ignore[arg-type]
        label=label,
        bbox=BOX.model_copy(update={"x": BOX.x + 100 * next(_PLACES)}),
        parent=parent,
        confidence=1.0,
    )


def detection(*icons: Icon, containers: list[Container] | None = None) -> DetectionResult:
    return DetectionResult(
        source="hand.drawio", icons=list(icons), containers=containers or [], connections=[]
    )


@pytest.mark.parametrize(
    ("key", "label", "rtype", "kind"),
    [
        pytest.param(
            "img/lib/azure2/compute/Function_Apps.svg",
            "orders",
            "Microsoft.Web/sites",
            "functionapp",
            id="function-app",
        ),
        pytest.param(
            "img/lib/azure2/app_services/App_Services.svg",
            "portal",
            "Microsoft.Web/sites",
            "app",
            id="app-service",
        ),
        pytest.param(
            "img/lib/azure2/app_services/App_Services.svg",
            "Linux web",
            "Microsoft.Web/sites",
            "app,linux",
            id="app-service-linux-label",
        ),
        pytest.param(
            "img/lib/azure2/integration/Logic_Apps.svg",
            "Logic App (Standard)",
            "Microsoft.Web/sites",
            "functionapp,workflowapp",
            id="logic-app-standard",
        ),
        pytest.param(
            "img/lib/azure2/integration/Logic_Apps.svg",
            "approvals",
            "Microsoft.Logic/workflows",
            None,
            id="logic-app-consumption",
        ),
        pytest.param(
            "img/lib/azure2/databases/Azure_Cosmos_DB.svg",
            "CosmosDB (MongoDB)",
            "Microsoft.DocumentDB/databaseAccounts",
            "MongoDB",
            id="cosmos-mongo",
        ),
        pytest.param(
            "img/lib/azure2/ai_machine_learning/Azure_OpenAI.svg",
            "",
            "Microsoft.CognitiveServices/accounts",
            "OpenAI",
            id="openai",
        ),
        pytest.param(
            "img/lib/azure2/security/Key_Vaults.svg",
            "",
            "Microsoft.KeyVault/vaults",
            None,
            id="key-vault",
        ),
        pytest.param(
            "img/lib/azure2/other/Worker_Container_App.svg",
            "",
            "Microsoft.App/containerApps",
            None,
            id="container-app",
        ),
        pytest.param(
            "img/lib/azure2/databases/Azure_Database_PostgreSQL_Server.svg",
            "",
            "Microsoft.DBforPostgreSQL/flexibleServers",
            None,
            id="postgres-flexible",
        ),
        pytest.param(
            "img/lib/mscae/Key_Vaults.svg",
            "",
            "Microsoft.KeyVault/vaults",
            None,
            id="mscae-image",
        ),
        pytest.param(
            "mxgraph.azure.storage_blob",
            "",
            "Microsoft.Storage/storageAccounts/blobServices/containers",
            None,
            id="mxgraph-azure",
        ),
        pytest.param(
            "IMG/LIB/AZURE2/STORAGE/STORAGE_ACCOUNTS.SVG",
            "",
            "Microsoft.Storage/storageAccounts",
            "StorageV2",
            id="case-insensitive",
        ),
        pytest.param(
            "img/lib/azure2/web/Key_Vaults.svg",
            "",
            "Microsoft.KeyVault/vaults",
            None,
            id="azure2-other-category-folder",
        ),
    ],
)
def test_azure_icons_map_to_arm_types(key: str, label: str, rtype: str, kind: str | None) -> None:
    out = classify(detection(icon("i1", key, label)))
    assert [r.resource_type for r in out.resources] == [rtype]
    assert out.resources[0].kind == kind
    assert out.resources[0].provider == "azure"
    assert out.resources[0].mapping_source


@pytest.mark.parametrize(
    ("key", "rtype"),
    [
        pytest.param("mxgraph.aws4.lambda", "AWS::Lambda::Function", id="lambda"),
        pytest.param("mxgraph.aws4.bucket_with_objects", "AWS::S3::Bucket", id="s3"),
        pytest.param("mxgraph.aws3.rds", "AWS::RDS::DBInstance", id="aws3-rds"),
        pytest.param(
            "mxgraph.aws3d.elasticLoadBalancing",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            id="aws3d-elb",
        ),
        pytest.param(
            "shape=mxgraph.aws4.resourceIcon;resIcon=mxgraph.aws4.cloudfront",
            "AWS::CloudFront::Distribution",
            id="style-string-resicon",
        ),
    ],
)
def test_aws_icons_map_to_cloudformation_types(key: str, rtype: str) -> None:
    out = classify(detection(icon("a1", key, "x", provider="aws")))
    assert [(r.resource_type, r.provider) for r in out.resources] == [(rtype, "aws")]


@pytest.mark.parametrize(
    ("key", "provider", "reason_word"),
    [
        pytest.param("img/lib/azure2/identity/Users.svg", "azure", "people", id="azure2-users"),
        pytest.param("img/lib/mscae/Person.svg", "azure", "person", id="mscae-person"),
        pytest.param("mxgraph.azure.laptop", "azure", "device", id="laptop"),
        pytest.param("mxgraph.azure.mobile", "azure", "device", id="mobile"),
        pytest.param("mxgraph.aws4.internet_alt2", "aws", "internet", id="aws-internet"),
        pytest.param("mxgraph.ios7.icons.globe", "generic", "internet", id="globe-pattern"),
        pytest.param("mxgraph.office.clouds.azure", "office", "cloud", id="generic-cloud"),
        pytest.param("mxgraph.cisco_safe.capability.user", "generic", "person", id="user-pattern"),
        pytest.param("mxgraph.azure.script_file", "azure", "file", id="file-glyph"),
    ],
)
def test_people_devices_internet_clouds_are_non_architectural(
    key: str, provider: str, reason_word: str
) -> None:
    out = classify(detection(icon("n1", key, provider=provider)))
    assert out.resources == [] and out.needs_clarification == []
    assert len(out.non_architectural) == 1
    assert reason_word in out.non_architectural[0].reason
    assert out.non_architectural[0].icon_key == key


def test_unknown_icon_needs_clarification_with_fuzzy_candidates() -> None:
    out = classify(
        detection(icon("u1", "img/lib/azure2/networking/Firewall_Appliance.svg", "Firewall"))
    )
    assert out.resources == []
    [item] = out.needs_clarification
    assert item.icon_id == "u1"
    assert "Microsoft.Network/azureFirewalls" in item.candidates
    assert all(c.startswith("Microsoft.") for c in item.candidates)
    assert out.confidence == 0.0
    assert any("u1" in w for w in out.warnings)


def test_containers_listed_outermost_first_and_carried_through() -> None:
    rg = Container(id="rg", page="p1", kind="resource_group", label="rg-app", bbox=BOX)
    vnet = Container(id="vnet", page="p1", kind="vnet", label="vnet", bbox=BOX, parent="rg")
    snet = Container(id="snet", page="p1", kind="subnet", label="apps", bbox=BOX, parent="vnet")
    data = detection(
        icon("vm", "img/lib/azure2/compute/Virtual_Machine.svg", "web-1", parent="snet"),
        icon("kv", "img/lib/azure2/security/Key_Vaults.svg", "kv", parent="rg"),
        containers=[rg, vnet, snet],
    )
    data.connections = [Connection(id="e1", page="p1", source="vm", target="kv")]
    out = classify(data)
    by_id = {r.id: r for r in out.resources}
    assert by_id["vm"].containers == ["rg", "vnet", "snet"]
    assert by_id["kv"].containers == ["rg"]
    assert out.containers == [rg, vnet, snet]
    assert out.connections == data.connections


def test_container_chain_survives_a_parent_cycle() -> None:
    a = Container(id="a", page="p", kind="group", label="", bbox=BOX, parent="b")
    b = Container(id="b", page="p", kind="group", label="", bbox=BOX, parent="a")
    assert container_chain("a", {"a": a, "b": b}) == ["b", "a"]


def test_unlabelled_resources_get_names_from_their_type_and_keep_icon_ids() -> None:
    out = classify(
        detection(
            icon("s1", "img/lib/azure2/storage/Storage_Accounts.svg"),
            icon("s2", "img/lib/azure2/storage/Storage_Accounts.svg"),
            icon("f1", "img/lib/azure2/compute/Function_Apps.svg"),
        )
    )
    assert [(r.id, r.icon_id, r.name) for r in out.resources] == [
        ("s1", "s1", "storage account"),
        ("s2", "s2", "storage account 2"),
        ("f1", "f1", "function app"),
    ]


@pytest.mark.parametrize(
    ("rtype", "kind", "name"),
    [
        pytest.param("Microsoft.Network/virtualNetworks", None, "virtual network", id="arm"),
        pytest.param("Microsoft.Cache/redis", None, "redis", id="arm-not-plural"),
        pytest.param("AWS::S3::Bucket", None, "s3 bucket", id="cloudformation"),
        pytest.param("Microsoft.Web/sites", "functionapp,linux", "function app", id="kind"),
    ],
)
def test_name_from_type(rtype: str, kind: str | None, name: str) -> None:
    assert name_from_type(rtype, kind) == name


def test_shipped_map_is_package_data_with_meta_and_enough_azure_keys() -> None:
    raw = resources.files("agents.synthforge").joinpath("data/icon_map.json").read_text("utf-8")
    doc = json.loads(raw)
    assert doc["_meta"]["date"] and doc["_meta"]["description"]
    azure = [
        k
        for k in doc["resources"]
        if k.startswith(("img/lib/azure2/", "img/lib/mscae/", "mxgraph.azure.", "mxgraph.mscae."))
    ]
    assert len(azure) >= 150
    for key, entry in doc["resources"].items():
        assert entry["resource_type"] and entry["category"] and entry["source"], key
        if key.startswith("mxgraph.aws"):
            assert entry["resource_type"].startswith("AWS::"), key
        else:
            assert entry["resource_type"].count("/") >= 1, key
    categories = {k.split("/")[3] for k in azure if k.startswith("img/lib/azure2/")}
    assert {
        "compute",
        "containers",
        "databases",
        "storage",
        "networking",
        "security",
        "identity",
        "integration",
        "iot",
        "analytics",
        "ai_machine_learning",
        "web",
        "devops",
        "management_governance",
        "monitor",
        "app_services",
        "general",
    } <= categories


@pytest.mark.parametrize(
    ("key", "rtype"),
    [
        pytest.param(
            "img/lib/azure2/databases/Azure_Cosmos_DB.svg",
            "Microsoft.DocumentDB/databaseAccounts",
            id="cosmos",
        ),
        pytest.param(
            "img/lib/azure2/security/Key_Vaults.svg", "Microsoft.KeyVault/vaults", id="kv"
        ),
        pytest.param(
            "img/lib/azure2/storage/Storage_Accounts.svg",
            "Microsoft.Storage/storageAccounts",
            id="storage",
        ),
        pytest.param(
            "img/lib/azure2/networking/Virtual_Networks.svg",
            "Microsoft.Network/virtualNetworks",
            id="vnet",
        ),
        pytest.param(
            "img/lib/azure2/devops/Application_Insights.svg",
            "Microsoft.Insights/components",
            id="appinsights",
        ),
        pytest.param(
            "img/lib/azure2/analytics/Log_Analytics_Workspaces.svg",
            "Microsoft.OperationalInsights/workspaces",
            id="law",
        ),
        pytest.param(
            "img/lib/azure2/containers/Container_Registries.svg",
            "Microsoft.ContainerRegistry/registries",
            id="acr",
        ),
    ],
)
def test_well_known_arm_types_are_exact(key: str, rtype: str) -> None:
    found = load_icon_map().lookup(key)
    assert found is not None and found.resource_type == rtype


def test_normalize_key_takes_the_icon_out_of_a_style() -> None:
    assert normalize_key("shape=mxgraph.aws4.productIcon;prIcon=mxgraph.aws4.s3;") == (
        "mxgraph.aws4.s3"
    )
    assert normalize_key(" img/lib/azure2/compute/Function_Apps.svg ") == (
        "img/lib/azure2/compute/function_apps.svg"
    )


def test_a_custom_map_can_stand_in() -> None:
    tiny = IconMap(
        {"resources": {"x.y": {"resource_type": "Microsoft.A/b", "category": "c", "source": "t"}}}
    )
    out = classify(detection(icon("1", "x.y")), tiny)
    assert out.resources[0].resource_type == "Microsoft.A/b"


async def test_filter_agent_runs_through_the_agent_contract() -> None:
    async with FilterAgent() as agent:
        out = await agent.run(detection(icon("k", "img/lib/mscae/Functions.svg", "fn")))
    assert out.resources[0].kind == "functionapp"


AZURE_PREFIXES = ("img/lib/azure2/", "img/lib/mscae/", "mxgraph.azure.", "mxgraph.mscae.")


@pytest.mark.skipif(
    importlib.util.find_spec("agents.synthforge.analysis.vision") is None,
    reason="the vision agent (agents/synthforge/analysis/vision.py) is not in this tree",
)
async def test_every_azure_icon_in_the_corpus_is_classified(corpus_diagrams: Path) -> None:
    """Every Azure icon key the vision agent finds in the corpus maps to an ARM type or is
    explicitly non-architectural. Diagrams: ../shared/corpus/diagrams (origins in SOURCES.md:
    Azure-Samples, microsoft/polonius, jgraph/drawio-diagrams templates, and others)."""
    from agents.synthforge.analysis.vision import VisionAgent
    from agents.synthforge.models import DiagramInput

    files = sorted(p for p in corpus_diagrams.iterdir() if p.suffix in (".drawio", ".xml"))
    assert files
    seen: set[str] = set()
    async with VisionAgent() as vision, FilterAgent() as agent:
        for path in files:
            found = await vision.run(DiagramInput(path=str(path)))
            out = await agent.run(found)
            azure_unknown = [
                u.icon_key for u in out.needs_clarification if u.icon_key.startswith(AZURE_PREFIXES)
            ]
            assert azure_unknown == [], f"{path.name}: unmapped Azure icons {azure_unknown}"
            drawings = sum(len(r.drawings) for r in out.resources)
            assert len(out.resources) + drawings + len(out.non_architectural) + len(
                out.needs_clarification
            ) == len(found.icons)
            seen.update(i.icon_key for i in found.icons if i.icon_key.startswith(AZURE_PREFIXES))
    # The corpus holds well over fifty distinct Azure icon keys; all were checked above.
    assert len(seen) >= 50
