"""Every Azure icon name draw.io ships resolves, and labels name services."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agents.synthforge.analysis.icon_map import IconMap, load_icon_map
from agents.synthforge.analysis.services import ServiceCatalogue, load_services, service_words

ARM_TYPE = re.compile(r"^[A-Z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+/[A-Za-z0-9]+(/[A-Za-z0-9]+)*$")


def _all_keys(folder: Path) -> list[str]:
    names = json.loads((folder / "icons.json").read_text("utf-8"))
    keys = [f"img/lib/mscae/{n}.svg" for n in names["mscae"]]
    keys += [f"img/lib/azure2/{cat}/{n}.svg" for cat, ns in names["azure2"].items() for n in ns]
    return keys


def test_the_list_is_the_one_sources_md_describes(corpus_drawio_icons: Path) -> None:
    names = json.loads((corpus_drawio_icons / "icons.json").read_text("utf-8"))
    assert len(names["mscae"]) == 489
    assert sum(len(v) for v in names["azure2"].values()) == 648


def test_every_drawio_azure_icon_resolves(corpus_drawio_icons: Path) -> None:
    icon_map = load_icon_map()
    unresolved, bad = [], []
    for key in _all_keys(corpus_drawio_icons):
        item = icon_map.lookup(key)
        if item is not None:
            if not ARM_TYPE.match(item.resource_type) or not item.source:
                bad.append((key, item.resource_type, item.source))
            continue
        reason = icon_map.non_architectural(key)
        if not reason or len(reason) < 10:
            unresolved.append(key)
    assert not unresolved, f"{len(unresolved)} icons resolve to nothing: {unresolved[:20]}"
    assert not bad, bad[:10]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param(
            "img/lib/mscae/Kubernetes_Services.svg",
            "Microsoft.ContainerService/managedClusters",
            id="aks",
        ),
        pytest.param(
            "img/lib/mscae/Azure_Cache_for_Redis.svg", "Microsoft.Cache/redis", id="redis"
        ),
        pytest.param(
            "img/lib/mscae/Application_Gateway.svg",
            "Microsoft.Network/applicationGateways",
            id="agw",
        ),
        pytest.param(
            "img/lib/mscae/Azure_Firewall.svg", "Microsoft.Network/azureFirewalls", id="firewall"
        ),
        pytest.param(
            "img/lib/mscae/Managed_Identities.svg",
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            id="identity",
        ),
        pytest.param("img/lib/mscae/BlobBlock.svg", "Microsoft.Storage/storageAccounts", id="blob"),
        pytest.param(
            "img/lib/mscae/Content_Delivery_Network.svg", "Microsoft.Cdn/profiles", id="cdn"
        ),
        pytest.param(
            "img/lib/mscae/DNS_Private_Zones.svg",
            "Microsoft.Network/privateDnsZones",
            id="private-dns",
        ),
    ],
)
def test_everyday_legacy_names_resolve_to_their_service(key: str, expected: str) -> None:
    item = load_icon_map().lookup(key)
    assert item is not None and item.resource_type == expected
    assert item.source  # the map keeps saying where the type came from


def test_a_legacy_name_resolves_through_its_azure2_twin_and_says_so() -> None:
    doc = {
        "resources": {
            "img/lib/azure2/containers/Kubernetes_Services.svg": {
                "resource_type": "Microsoft.ContainerService/managedClusters",
                "source": "azure2 icon",
            }
        }
    }
    item = IconMap(doc, ServiceCatalogue({})).lookup("img/lib/mscae/KubernetesServices.svg")
    assert item is not None
    assert item.resource_type == "Microsoft.ContainerService/managedClusters"
    assert "Kubernetes_Services.svg" in item.source


def test_non_azure_libraries_do_not_resolve_by_words() -> None:
    doc = {"icon_names": {"Microsoft.Storage/storageAccounts": ["Bucket"]}}
    icon_map = IconMap({}, ServiceCatalogue(doc))
    assert icon_map.lookup("mxgraph.aws4.bucket") is None


@pytest.mark.parametrize(
    ("name", "words"),
    [
        pytest.param("App_Services", "app service", id="underscores-plural"),
        pytest.param("AppServiceEnvironment", "app service environment", id="camel"),
        pytest.param("Azure_Cache_for_Redis", "cache redis", id="azure-for"),
        pytest.param("img/lib/mscae/VM_Linux.svg", "vm linux", id="path"),
    ],
)
def test_service_words(name: str, words: str) -> None:
    assert service_words(name) == words


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        pytest.param(
            "AKS cluster (prod)", "Microsoft.ContainerService/managedClusters", id="abbreviation"
        ),
        pytest.param(
            "Azure Kubernetes Service", "Microsoft.ContainerService/managedClusters", id="full-name"
        ),
        pytest.param(
            "WAF policy",
            "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
            id="waf",
        ),
        pytest.param("Event Grid System Topic", "Microsoft.EventGrid/systemTopics", id="qualifier"),
        pytest.param(
            "Container Apps Environment", "Microsoft.App/managedEnvironments", id="longest-phrase"
        ),
    ],
)
def test_a_label_names_its_service(label: str, expected: str) -> None:
    matches = load_services().from_label(label)
    assert matches and matches[0].resource_type == expected
    assert 0 < matches[0].confidence <= 1


def test_a_label_without_a_service_name_names_nothing() -> None:
    assert load_services().from_label("Checkpoint progress / track changes") == []
