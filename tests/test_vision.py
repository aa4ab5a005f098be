"""The SynthForge ``vision`` agent on real draw.io diagrams and on small hand-made ones."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
import zlib
from pathlib import Path

import pytest
from cli_helpers import run_cli

from agents.errors import InputError
from agents.registry import default_registry
from agents.synthforge.analysis.drawio import plain_label, read_diagram
from agents.synthforge.analysis.vision import VisionAgent, detect_file
from agents.synthforge.models import DetectionResult, DiagramInput
from orchestration.runtime.artifact import read_artifact

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "diagrams" / "webapp.drawio"

# --------------------------------------------------------------------------- corpus

#: file -> (pages, icon cells, edge cells, icon-to-icon edges, per page {name: (icons, edges)}).
#: Copied from ../shared/corpus/diagrams/SOURCES.md; test_table_agrees_with_sources_md
#: checks that the two stay the same.
EXPECTED: dict[str, tuple[int, int, int, int, dict[str, tuple[int, int]]]] = {
    "Azure-Samples__functions-quickstart-python-azd-cosmosdb__diagrams_architecture.drawio": (
        1,
        6,
        6,
        6,
        {},
    ),
    "Salazander__azure-blob-abac-tfstate__diagrams_architecture.drawio": (1, 13, 20, 3, {}),
    "KallumBascombe__cloudhelp-azure-platform__diagrams_architecture.drawio": (1, 6, 5, 3, {}),
    "3mcloud__azure-keyvault-rotator__docs_architecture.drawio": (1, 5, 6, 0, {}),
    "JAT878__az-self-healing-web-tier__diagrams_architecture.drawio": (1, 3, 9, 0, {}),
    "microsoft__polonius__docs_azure-architecture.drawio": (1, 11, 4, 3, {}),
    "EL-BID__escola-no-lugar-certo__docs_azure-architecture.drawio": (1, 10, 5, 0, {}),
    "michaeljacinto__azure-cicd-pipeline__Untitled Diagram.drawio": (
        2,
        21,
        16,
        1,
        {"Page-1": (12, 10), "Page-2": (9, 6)},
    ),
    "jgraph__drawio-diagrams__templates_cloud_azure_1.xml": (1, 36, 15, 14, {}),
    "jgraph__drawio-diagrams__templates_cloud_azure_2.xml": (1, 30, 11, 0, {}),
    "nehagargaranz__azure-foundations__docs_images_network-peering.drawio": (1, 11, 10, 10, {}),
    "nehagargaranz__azure-foundations__docs_images_management-groups.drawio": (1, 11, 10, 10, {}),
    "jgraph__drawio-diagrams__examples_aws-saas-example.drawio": (1, 18, 23, 23, {}),
    "InterweaveCloud__terraform-aws-s3-cloudfront-static-website__diagrams_architecture.drawio": (
        2,
        7,
        9,
        5,
        {"Tutorial Architecture": (4, 6), "Proposed Architecture": (3, 3)},
    ),
    "AppliNH__respondio-aws-architecture__architecture.drawio": (1, 10, 13, 4, {}),
    "AFP9272000__azure-hub-spoke-network__docs_architecture.drawio": (1, 0, 6, 0, {}),
    # SOURCES.md sections 17–32 (added 2026-12-01)
    "Azure__agw-pep-custom-names__docs_assets_architecture.drawio": (1, 19, 14, 0, {}),
    "dynatrace-oss__dynatrace-azure-log-forwarder__img_architecture.drawio": (1, 12, 12, 4, {}),
    "JamieMagee__hashflags-function__images_architecture.xml": (1, 16, 18, 9, {}),
    "UnoSD__TvShowRss__diagram.xml": (1, 7, 12, 5, {}),
    "denniszielke__multi-agent-reasoning-rag__img_architecture.drawio": (1, 11, 15, 5, {}),
    "emrahsifoglu__s2s-vpn-on-premises-to-azure__images_diagram.drawio": (1, 23, 17, 7, {}),
    "bcgov__Mines-Data-Platform__infra.drawio": (1, 39, 21, 13, {}),
    "microsoft__fit-on-fhir__media_architecture.drawio": (1, 12, 16, 8, {}),
    "dmauser__azure-hub-spoke__vpner-hub-spoke_media_diagram.drawio": (3, 47, 89, 37, {}),
    "Liminghao0922__workshop-intelligent-customer-operations__diagrams_architecture.drawio": (
        1,
        19,
        27,
        3,
        {},
    ),
    "hugogirard__routingHL7MsgToBus__diagram_architecture.drawio": (1, 10, 11, 6, {}),
    "plzm__azure-unifi-network__media_architecture.drawio": (1, 17, 13, 1, {}),
    "nicc777__azure_function_terraform_poc__infrastructure.drawio": (1, 8, 8, 3, {}),
    "awslabs__amazon-s3-find-and-forget__docs_images_architecture.xml": (1, 17, 30, 19, {}),
    "FocusMark__aws-infrastructure__docs_infrastructure.drawio": (3, 14, 12, 3, {}),
    "aws-samples__bobs-used-bookstore-sample__aws-architecture.drawio": (1, 10, 9, 9, {}),
}


#: Icons detected beyond SOURCES.md's count, whose script counts only the libraries it
#: lists: draw.io's Azure images served from icons.diagrams.net/assets/azure/ and IBM Cloud
#: stencils (``mxgraph.ibm_cloud.*``), which the answer keys list as icons too.
MORE_LIBRARIES = {
    "KallumBascombe__cloudhelp-azure-platform__diagrams_architecture.drawio": 1,
    "bcgov__Mines-Data-Platform__infra.drawio": 6,
}


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "expected"),
    [pytest.param(name, row, id=name.split("__")[1]) for name, row in EXPECTED.items()],
)
def test_corpus_diagram_counts_match_sources(
    corpus_diagrams: Path,
    name: str,
    expected: tuple[int, int, int, int, dict[str, tuple[int, int]]],
) -> None:
    """Icon, page, edge and icon-to-icon edge counts per file (and per page) are those in
    ``../shared/corpus/diagrams/SOURCES.md``: icons are vertices styled from a cloud icon
    library (aws4 groups excluded), icon-to-icon edges join icons at both ends."""
    pages, icons, edges, icon_to_icon, per_page = expected
    icons += MORE_LIBRARIES.get(name, 0)
    result = detect_file(corpus_diagrams / name)
    assert len(result.pages) == pages
    assert len(result.icons) == icons
    assert sum(p.icon_count for p in result.pages) == icons
    assert len(result.connections) == edges
    icon_ids = {i.id for i in result.icons}
    assert sum(1 for c in result.connections if {c.source, c.target} <= icon_ids) == icon_to_icon
    assert all(icon.confidence == 1.0 for icon in result.icons)
    for page_name, (page_icons, page_edges) in per_page.items():
        page = next(p for p in result.pages if p.name == page_name)
        assert page.icon_count == page_icons
        assert sum(1 for c in result.connections if c.page == page.id) == page_edges
    ids = [i.id for i in result.icons]
    assert len(ids) == len(set(ids)), "icon ids are unique within the diagram"


@pytest.mark.corpus
def test_every_corpus_diagram_is_in_the_table(corpus_diagrams: Path) -> None:
    """Every diagram in ../shared/corpus/diagrams (listed in its SOURCES.md) is checked."""
    files = {p.name for p in corpus_diagrams.iterdir() if p.name != "SOURCES.md"}
    assert files == set(EXPECTED)


@pytest.mark.corpus
def test_table_agrees_with_sources_md(corpus_diagrams: Path) -> None:
    """The table above is the stats lines of ../shared/corpus/diagrams/SOURCES.md."""
    text = (corpus_diagrams / "SOURCES.md").read_text(encoding="utf-8")
    found = {}
    for section in re.split(r"\n## \d+\. ", text)[1:]:
        name = section.split("\n", 1)[0].strip()
        stats = re.search(
            r"(\d+) page\(s\).*?; (\d+) icon cells, (\d+) edge cells "
            r"\(\d+ attached at both ends, (\d+) icon-to-icon\)",
            section,
        )
        assert stats, name
        per_page = {
            m[1].strip(): (int(m[2]), int(m[3]))
            for m in re.finditer(r"(?:per page: |; )([^:;]+): (\d+) icons/(\d+) edges", section)
        }
        found[name] = (*map(int, stats.groups()), per_page)
    assert found == EXPECTED


@pytest.mark.corpus
def test_diagram_without_icons_gives_an_empty_result_with_a_warning(
    corpus_diagrams: Path,
) -> None:
    """The negative case of SOURCES.md (AFP9272000/azure-hub-spoke-network, boxes and text
    only) parses to a valid result with no icons, and says why."""
    name = "AFP9272000__azure-hub-spoke-network__docs_architecture.drawio"
    result = detect_file(corpus_diagrams / name)
    assert result.icons == []
    assert result.pages[0].icon_count == 0
    assert any("no icons" in w for w in result.warnings)
    DetectionResult.model_validate(result.model_dump(mode="json"))


@pytest.mark.corpus
def test_aws4_resource_icons_and_groups(corpus_diagrams: Path) -> None:
    """jgraph/drawio-diagrams examples/aws-saas-example.drawio (SOURCES.md #13): aws4
    resource icons are keyed by their resIcon, and aws4 groups are containers."""
    result = detect_file(
        corpus_diagrams / "jgraph__drawio-diagrams__examples_aws-saas-example.drawio"
    )
    keys = {i.label: i.icon_key for i in result.icons}
    assert keys["Amazon Route 53"] == "mxgraph.aws4.route_53"
    assert keys["CloudFront CDN"] == "mxgraph.aws4.cloudfront"
    assert all(i.provider == "aws" for i in result.icons)
    assert sorted(c.kind for c in result.containers) == [
        "availability_zone",
        "availability_zone",
        "group",
        "group",
    ]
    replication = next(c for c in result.connections if c.label == "Cross-AZ Replication")
    assert (replication.source, replication.target) == ("51", "52")


@pytest.mark.corpus
def test_nested_aws_containers(corpus_diagrams: Path) -> None:
    """AppliNH/respondio-aws-architecture (SOURCES.md #15): region > VPC > AZ > subnets;
    a subnet drawn with the security-group icon is a subnet by its label."""
    result = detect_file(
        corpus_diagrams / "AppliNH__respondio-aws-architecture__architecture.drawio"
    )
    by_label = {c.label: c for c in result.containers}
    vpc, zone = by_label["webapp-vpc"], by_label["AZ : eu-west-3a"]
    assert by_label["eu-west-3 (Paris)"].kind == "region"
    assert vpc.kind == "vnet" and vpc.parent == by_label["eu-west-3 (Paris)"].id
    assert zone.kind == "availability_zone" and zone.parent == vpc.id
    assert by_label["Public subnet 1"].kind == "subnet"
    assert by_label["Public subnet 1"].parent == zone.id
    ec2 = next(i for i in result.icons if i.label == "webapp-vm")
    assert ec2.parent == by_label["Auto Scaling group"].id


@pytest.mark.corpus
def test_compressed_multi_page_file_keeps_page_names(corpus_diagrams: Path) -> None:
    """michaeljacinto/azure-cicd-pipeline 'Untitled Diagram.drawio' (SOURCES.md #8): two
    compressed pages, a space in the file name."""
    result = detect_file(
        corpus_diagrams / "michaeljacinto__azure-cicd-pipeline__Untitled Diagram.drawio"
    )
    assert [p.name for p in result.pages] == ["Page-1", "Page-2"]
    assert {i.page for i in result.icons} == {p.id for p in result.pages}
    assert {i.provider for i in result.icons} == {"azure", "kubernetes"}


# --------------------------------------------------------------------------- hand-made


def mxfile(*pages: tuple[str, str], compressed: bool = False) -> str:
    """An ``<mxfile>`` with one ``<diagram>`` per (name, cells XML), plain or compressed."""
    out = ['<mxfile host="test">']
    for n, (name, cells) in enumerate(pages, start=1):
        layers = '<mxCell id="0"/><mxCell id="1" parent="0"/>'
        model = f"<mxGraphModel><root>{layers}{cells}</root></mxGraphModel>"
        if compressed:
            deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
            raw = deflater.compress(urllib.parse.quote(model).encode()) + deflater.flush()
            body = base64.b64encode(raw).decode()
        else:
            body = model
        out.append(f'<diagram id="p{n}" name="{name}">{body}</diagram>')
    out.append("</mxfile>")
    return "".join(out)


def vertex(
    cell_id: str,
    style: str,
    x: float,
    y: float,
    w: float,
    h: float,
    *,
    value: str = "",
    parent: str = "1",
) -> str:
    return (
        f'<mxCell id="{cell_id}" value="{value}" style="{style}" vertex="1" parent="{parent}">'
        f'<mxGeometry x="{x}" y="{y}" width="{w}" height="{h}" as="geometry"/></mxCell>'
    )


def edge(cell_id: str, source: str, target: str, style: str = "html=1;", value: str = "") -> str:
    return (
        f'<mxCell id="{cell_id}" value="{value}" style="{style}" edge="1" parent="1" '
        f'source="{source}" target="{target}"><mxGeometry relative="1" as="geometry"/></mxCell>'
    )


AZ = "image;html=1;image=img/lib/azure2/{};"

SMALL = (
    vertex("vnet", "rounded=0;container=1;html=1;", 100, 100, 400, 300, value="Hub VNet")
    + vertex(
        "snet", "rounded=0;container=1;html=1;", 20, 40, 200, 200, value="snet-app", parent="vnet"
    )
    + vertex(
        "app",
        AZ.format("app_services/App_Services.svg"),
        30,
        50,
        64,
        64,
        value="App &lt;b&gt;Service&lt;/b&gt;&amp;nbsp;1",
        parent="snet",
    )
    + vertex("kv", AZ.format("security/Key_Vaults.svg"), 400, 150, 50, 50, value="Key Vault")
    + vertex("user", "shape=mxgraph.azure.user;html=1;", 0, 0, 40, 40, value="User")
    + vertex("note", "text;html=1;", 600, 20, 100, 20, value="Production &amp;amp; staging")
    + edge("e1", "user", "app", value="HTTPS")
    + edge("e2", "app", "kv", "html=1;endArrow=classic;startArrow=classic;")
)


def write(tmp_path: Path, text: str, name: str = "d.drawio") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_small_diagram_geometry_containment_and_labels(tmp_path: Path) -> None:
    """Icons get absolute boxes (parents' offsets added), their nearest container (by
    parenthood, or by geometry when not a child), HTML-free labels and typed edges."""
    result = detect_file(write(tmp_path, mxfile(("Main", SMALL))))
    icons = {i.id: i for i in result.icons}
    assert icons["app"].bbox.model_dump() == {"x": 150, "y": 190, "width": 64, "height": 64}
    assert icons["app"].label == "App Service 1"
    assert icons["app"].parent == "snet"
    assert icons["kv"].parent == "vnet", "inside the VNet's box though not its child"
    assert icons["user"].parent is None
    assert icons["user"].provider == "azure" and icons["user"].icon_key == "mxgraph.azure.user"
    containers = {c.id: c for c in result.containers}
    assert (containers["vnet"].kind, containers["snet"].kind) == ("vnet", "subnet")
    assert containers["snet"].parent == "vnet"
    assert [t.text for t in result.texts] == ["Production & staging"]
    edges = {c.id: c for c in result.connections}
    assert (edges["e1"].source, edges["e1"].target, edges["e1"].label) == ("user", "app", "HTTPS")
    assert edges["e1"].direction == "forward"
    assert edges["e2"].direction == "both"
    assert result.pages[0].model_dump() == {"id": "p1", "name": "Main", "icon_count": 3}
    assert result.warnings == []


def test_compressed_page_reads_like_the_plain_one(tmp_path: Path) -> None:
    plain = detect_file(write(tmp_path, mxfile(("Main", SMALL)), "plain.drawio"))
    packed = detect_file(write(tmp_path, mxfile(("Main", SMALL), compressed=True), "z.drawio"))
    assert packed.model_dump(exclude={"source"}) == plain.model_dump(exclude={"source"})


def test_bare_mxgraphmodel_root(tmp_path: Path) -> None:
    text = (
        '<mxGraphModel><root><mxCell id="0"/><mxCell id="1" parent="0"/>'
        + vertex("f", AZ.format("compute/Function_Apps.svg"), 10, 10, 60, 60, value="fn")
        + "</root></mxGraphModel>"
    )
    result = detect_file(write(tmp_path, text))
    assert [(p.name, p.icon_count) for p in result.pages] == [("Page-1", 1)]
    assert result.icons[0].icon_key == "img/lib/azure2/compute/Function_Apps.svg"


def test_user_object_wrapped_cells_take_the_wrapper_label_and_id(tmp_path: Path) -> None:
    cells = (
        '<UserObject label="Orders &lt;i&gt;DB&lt;/i&gt;" tier="data" id="db">'
        '<mxCell style="image;html=1;image=img/lib/azure2/databases/Azure_Cosmos_DB.svg;" '
        'vertex="1" parent="1"><mxGeometry x="5" y="6" width="64" height="64" as="geometry"/>'
        "</mxCell></UserObject>"
        '<object label="api" id="api"><mxCell style="shape=mxgraph.aws4.resourceIcon;'
        'resIcon=mxgraph.aws4.lambda;html=1;" vertex="1" parent="1">'
        '<mxGeometry x="200" y="6" width="64" height="64" as="geometry"/></mxCell></object>'
        + edge("e", "api", "db")
    )
    result = detect_file(write(tmp_path, mxfile(("P", cells))))
    icons = {i.id: i for i in result.icons}
    assert icons["db"].label == "Orders DB"
    assert icons["db"].bbox.x == 5
    assert icons["api"].icon_key == "mxgraph.aws4.lambda"
    assert icons["api"].provider == "aws"
    assert (result.connections[0].source, result.connections[0].target) == ("api", "db")


def test_edge_ends_resolve_to_icons_through_groups_and_labels(tmp_path: Path) -> None:
    """An edge attached to an icon group resolves to the icon in it; one attached to a text
    inside an icon resolves to that icon; one attached to a container resolves to the
    container (an arrow to a resource-group box is about the group); one attached to a
    plain shape that holds nothing resolves to that shape, listed with its label (the
    network analysis sets a note aside; see test_network_flow)."""
    cells = (
        vertex("grp", "group;", 0, 0, 100, 100)
        + vertex("icon", AZ.format("storage/Storage_Accounts.svg"), 10, 10, 60, 50, parent="grp")
        + vertex("caption", "text;html=1;", 0, 70, 100, 20, value="Storage", parent="grp")
        + vertex("kv", AZ.format("security/Key_Vaults.svg"), 300, 0, 60, 60)
        + vertex("badge", "text;html=1;", 0.5, 1, 20, 20, value="1", parent="kv")
        + vertex("rg", "rounded=0;html=1;", 500, 0, 300, 300, value="Resource Group rg-x")
        + vertex("vm", AZ.format("compute/Virtual_Machine.svg"), 550, 50, 60, 60)
        + edge("to-group", "kv", "grp")
        + edge("from-badge", "badge", "icon")
        + edge("to-container", "kv", "rg")
        + vertex("note", "rounded=0;html=1;", 0, 400, 80, 40, value="a note")
        + edge("to-note", "kv", "note")
    )
    result = detect_file(write(tmp_path, mxfile(("P", cells))))
    ends = {c.id: (c.source, c.target) for c in result.connections}
    assert ends == {
        "to-group": ("kv", "icon"),
        "from-badge": ("kv", "icon"),
        "to-container": ("kv", "rg"),
        "to-note": ("kv", "note"),
    }
    assert [(s.id, s.label) for s in result.shapes] == [("note", "a note")]
    assert {c.id: c.kind for c in result.containers} == {"rg": "resource_group"}
    assert next(i for i in result.icons if i.id == "vm").parent == "rg"
    assert [t.text for t in result.texts] == ["Storage", "1"]
    assert any("1 of 4 edges" in w for w in result.warnings)


def test_edge_labels_come_from_the_value_and_label_children(tmp_path: Path) -> None:
    cells = (
        vertex("a", AZ.format("compute/Function_Apps.svg"), 0, 0, 60, 60)
        + vertex("b", AZ.format("storage/Storage_Accounts.svg"), 200, 0, 60, 60)
        + edge("e", "a", "b", value="writes")
        + '<mxCell id="lbl" value="blobs&lt;br&gt;" style="edgeLabel;html=1;" '
        'vertex="1" connectable="0" parent="e"><mxGeometry x="-0.2" relative="1" '
        'as="geometry"/></mxCell>'
    )
    result = detect_file(write(tmp_path, mxfile(("P", cells))))
    assert result.connections[0].label == "writes; blobs"
    assert result.texts == [], "edge labels are not free texts"


@pytest.mark.parametrize(
    ("style", "direction"),
    [
        pytest.param("html=1;", "forward", id="default-end-arrow"),
        pytest.param("endArrow=classic;", "forward", id="end-arrow"),
        pytest.param("endArrow=none;", "none", id="end-none"),
        pytest.param("endArrow=none;startArrow=none;", "none", id="both-none"),
        pytest.param("startArrow=block;endArrow=classic;", "both", id="both"),
        pytest.param("startArrow=classic;endArrow=none;", "backward", id="start-only"),
    ],
)
def test_edge_direction_from_arrow_styles(tmp_path: Path, style: str, direction: str) -> None:
    cells = (
        vertex("a", AZ.format("compute/Function_Apps.svg"), 0, 0, 60, 60)
        + vertex("b", AZ.format("storage/Storage_Accounts.svg"), 200, 0, 60, 60)
        + edge("e", "a", "b", style)
    )
    result = detect_file(write(tmp_path, mxfile(("P", cells))))
    assert result.connections[0].direction == direction


@pytest.mark.parametrize(
    ("value", "is_html", "text"),
    [
        pytest.param("App<br>Service", True, "App Service", id="br"),
        pytest.param("<div>Key&nbsp;Vault</div><div>kv-1</div>", True, "Key Vault kv-1", id="div"),
        pytest.param("a &amp; b &lt;c&gt;", True, "a & b <c>", id="entities"),
        pytest.param("  many \n  spaces ", False, "many spaces", id="whitespace"),
        pytest.param("x <y> z", False, "x <y> z", id="plain-text-keeps-angles"),
        pytest.param(
            '<span style="font-size: 0px;">%3CmxGraphModel%3E</span>creates',
            True,
            "creates",
            id="invisible-run",
        ),
    ],
)
def test_labels_are_plain_text(value: str, is_html: bool, text: str) -> None:
    assert plain_label(value, is_html=is_html) == text


def test_pages_with_the_same_cell_ids_get_unique_ids(tmp_path: Path) -> None:
    page = vertex("2", AZ.format("compute/Function_Apps.svg"), 0, 0, 60, 60)
    page += vertex("3", AZ.format("storage/Storage_Accounts.svg"), 100, 0, 60, 60)
    page += edge("4", "2", "3")
    result = detect_file(write(tmp_path, mxfile(("One", page), ("Two", page))))
    ids = [i.id for i in result.icons]
    assert len(set(ids)) == 4
    second = [c for c in result.connections if c.page == "p2"][0]
    assert {second.source, second.target} <= {i.id for i in result.icons if i.page == "p2"}


def test_generic_stencils_are_not_icons(tmp_path: Path) -> None:
    cells = (
        vertex("phone", "shape=mxgraph.ios7.icons.smartphone;html=1;", 0, 0, 30, 50)
        + vertex("router", "shape=mxgraph.cisco_safe.compositeIcon;html=1;", 50, 0, 30, 50)
        + vertex("k8s", "shape=mxgraph.kubernetes.icon;prIcon=pod;html=1;", 100, 0, 50, 50)
    )
    result = detect_file(write(tmp_path, mxfile(("P", cells))))
    assert [(i.id, i.provider) for i in result.icons] == [("k8s", "kubernetes")]
    assert any("mxgraph.cisco_safe, mxgraph.ios7" in w for w in result.warnings)


def test_parent_cycle_in_a_damaged_file_does_not_hang(tmp_path: Path) -> None:
    cells = vertex("a", "rounded=0;", 10, 10, 10, 10, parent="b") + vertex(
        "b", AZ.format("compute/Function_Apps.svg"), 5, 5, 60, 60, parent="a"
    )
    pages = read_diagram(write(tmp_path, mxfile(("P", cells))))
    assert {c.id for c in pages[0].cells} >= {"a", "b"}


# --------------------------------------------------------------------------- the agent


def test_vision_is_a_builtin_agent() -> None:
    cls = default_registry().get("vision")
    assert cls is VisionAgent
    assert cls.input_model is DiagramInput and cls.output_model is DetectionResult


def test_load_input_checks_the_file_and_records_its_digest(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        VisionAgent.load_input(tmp_path / "missing.drawio")
    path = write(tmp_path, mxfile(("P", SMALL)))
    first = VisionAgent.load_input(path)
    assert first.path == str(path)
    path.write_text(mxfile(("P", SMALL + vertex("x", "text;", 0, 0, 5, 5, value="new"))))
    assert VisionAgent.load_input(path).digest != first.digest


async def test_agent_run_returns_a_detection_result() -> None:
    async with VisionAgent() as agent:
        out = await agent.run(DiagramInput(path=str(EXAMPLE)))
    assert isinstance(out, DetectionResult)
    assert out.source == "webapp.drawio"


def test_example_webapp_is_a_meaningful_azure_architecture() -> None:
    """examples/diagrams/webapp.drawio, which the README's main command runs on."""
    result = detect_file(EXAMPLE)
    assert 6 <= len(result.icons) <= 10
    assert all(
        i.provider == "azure" and i.icon_key.startswith("img/lib/azure2/") for i in result.icons
    )
    kinds = {c.label.split()[0]: c.kind for c in result.containers}
    assert sorted(kinds.values()) == ["resource_group", "subnet", "subnet", "vnet"]
    subnets = {c.id for c in result.containers if c.kind == "subnet"}
    vnet = next(c.id for c in result.containers if c.kind == "vnet")
    assert all(c.parent == vnet for c in result.containers if c.id in subnets)
    by_label = {i.label.split()[0]: i for i in result.icons}
    assert by_label["App"].parent in subnets
    labelled = [c for c in result.connections if c.label and c.source and c.target]
    assert len(labelled) >= 5
    assert result.warnings == []


def test_cli_writes_a_valid_artifact_for_the_example(tmp_path: Path) -> None:
    out = tmp_path / "vision.json"
    proc = run_cli("-m", "agents.run", "vision", EXAMPLE, "-o", out)
    assert proc.returncode == 0, proc.stderr
    env = read_artifact(out, DetectionResult)
    data = env.typed(DetectionResult)
    assert env.agent == "vision"
    assert len(data.icons) == len(detect_file(EXAMPLE).icons)
    assert json.loads(out.read_text())["status"] == "succeeded"


def test_plain_shapes_are_ends_only_on_a_page_that_draws_an_architecture(
    tmp_path: Path,
) -> None:
    """An arrow to a rectangle, an embedded image or another library's stencil ends on that
    shape, with the container it sits in; texts and flowchart symbols are no ends, and a
    page of plain shapes only (a flowchart) has no shape ends at all."""
    png = "image;html=1;image=data:image/png,iVBORw0KGgo=;"
    arch = (
        vertex("vnet", "rounded=0;html=1;", 0, 0, 400, 300, value="Hub VNet")
        + vertex("nva", png, 20, 40, 50, 50)
        + vertex("vm", AZ.format("compute/Virtual_Machine.svg"), 200, 40, 60, 60)
        + vertex("api", "rounded=1;html=1;", 600, 40, 120, 60, value="Partner API")
        + vertex("cap", "text;html=1;", 600, 200, 80, 20, value="a caption")
        + vertex("step", "shape=mxgraph.flowchart.process;html=1;", 600, 300, 80, 40)
        + edge("a", "vm", "nva")
        + edge("b", "vm", "api")
        + edge("c", "vm", "cap")
        + edge("d", "vm", "step")
    )
    flowchart = (
        vertex("s1", "rounded=1;html=1;", 0, 0, 100, 60, value="Start")
        + vertex("s2", "rounded=1;html=1;", 200, 0, 100, 60, value="Deploy")
        + edge("next", "s1", "s2")
    )
    result = detect_file(write(tmp_path, mxfile(("A", arch), ("F", flowchart))))
    ends = {c.id: (c.source, c.target) for c in result.connections}
    assert ends == {
        "a": ("vm", "nva"),
        "b": ("vm", "api"),
        "c": ("vm", None),
        "d": ("vm", None),
        "next": (None, None),
    }
    assert {(s.id, s.label, s.parent) for s in result.shapes} == {
        ("nva", "", "vnet"),
        ("api", "Partner API", None),
    }
    assert any("attached to plain shapes" in w for w in result.warnings)


def test_arrows_through_waypoints_and_onto_other_arrows_lead_where_those_lead(
    tmp_path: Path,
) -> None:
    """An arrow drawn in two segments through a waypoint (draw.io's waypoint shape or a
    small unlabelled dot) joins the icons at its far ends; an arrow drawn onto another
    arrow, or onto that arrow's label, leads to that arrow's target (its source when it is
    drawn backward); a junction of three segments and a cycle of arrows resolve to none."""
    cells = (
        vertex("app", AZ.format("app_services/App_Services.svg"), 0, 0, 60, 60)
        + vertex("db", AZ.format("databases/SQL_Database.svg"), 400, 0, 60, 60)
        + vertex("kv", AZ.format("security/Key_Vaults.svg"), 400, 200, 60, 60)
        + vertex("fn", AZ.format("compute/Function_Apps.svg"), 0, 200, 60, 60)
        + vertex("wp", "shape=waypoint;html=1;", 200, 20, 6, 6)
        + edge("seg1", "app", "wp")
        + edge("seg2", "wp", "db")
        + vertex("dot", "ellipse;html=1;", 200, 220, 8, 8)
        + edge("seg3", "fn", "dot")
        + edge("seg4", "dot", "kv")
        + edge("main", "app", "kv", value="reads secrets")
        + vertex("lbl", "edgeLabel;html=1;", 0, 0, 40, 20, value="x", parent="main")
        + edge("onto-line", "fn", "main")
        + edge("onto-label", "db", "lbl")
        + edge("back", "db", "fn", style="html=1;endArrow=none;startArrow=classic;")
        + edge("onto-back", "kv", "back")
        + vertex("j", "shape=waypoint;html=1;", 200, 400, 6, 6)
        + edge("j1", "app", "j")
        + edge("j2", "j", "db")
        + edge("j3", "j", "kv")
        + edge("loop-a", "fn", "loop-b")
        + edge("loop-b", "db", "loop-a")
    )
    result = detect_file(write(tmp_path, mxfile(("P", cells))))
    ends = {c.id: (c.source, c.target) for c in result.connections}
    assert ends["seg1"] == ends["seg2"] == ("app", "db")
    assert ends["seg3"] == ends["seg4"] == ("fn", "kv")
    assert ends["onto-line"] == ("fn", "kv")
    assert ends["onto-label"] == ("db", "kv")
    assert ends["onto-back"] == ("kv", "db")
    assert ends["j1"] == ("app", None) and ends["j2"] == (None, "db")
    assert ends["loop-a"] == ("fn", None) and ends["loop-b"] == ("db", None)
    assert not result.shapes


def test_a_long_chain_of_segments_resolves_without_recursion(tmp_path: Path) -> None:
    """Thousands of segments through waypoints, and thousands of arrows each drawn onto
    the next, resolve to the icons at the chain's ends (no recursion limit, each step
    followed once)."""
    n = 3000
    cells = [
        vertex("a", AZ.format("compute/Virtual_Machine.svg"), 0, 0, 60, 60),
        vertex("b", AZ.format("compute/Virtual_Machine.svg"), 0, 200, 60, 60),
    ]
    prev = "a"
    for i in range(n):
        cells.append(vertex(f"w{i}", "shape=waypoint;", 10 * i, 100, 6, 6))
        cells.append(edge(f"s{i}", prev, f"w{i}"))
        prev = f"w{i}"
    cells.append(edge("last", prev, "b"))
    cells += [edge(f"o{i}", "a", f"o{i + 1}" if i + 1 < n else "last") for i in range(n)]
    result = detect_file(write(tmp_path, mxfile(("P", "".join(cells)))))
    assert {(c.source, c.target) for c in result.connections} == {("a", "b")}


def test_an_arrow_to_an_icons_caption_ends_on_the_icon(tmp_path: Path) -> None:
    """A caption text just under an icon, or level with it on its right, stands for the
    icon; a free text away from any icon, or between two, stands for nothing."""
    cells = (
        vertex("app", AZ.format("app_services/App_Services.svg"), 0, 0, 60, 60)
        + vertex("under", "text;html=1;", -10, 65, 80, 20, value="orders-api")
        + vertex("db", AZ.format("databases/SQL_Database.svg"), 300, 0, 60, 60)
        + vertex("right", "text;html=1;", 365, 20, 80, 20, value="orders-db")
        + vertex("kv", AZ.format("security/Key_Vaults.svg"), 0, 300, 60, 60)
        + vertex("far", "text;html=1;", 600, 600, 80, 20, value="a note")
        + vertex("k2", AZ.format("security/Key_Vaults.svg"), 0, 400, 60, 60)
        + vertex("between", "text;html=1;", 0, 365, 60, 20, value="vaults")
        + edge("a", "under", "right")
        + edge("b", "kv", "far")
        + edge("c", "app", "between")
    )
    result = detect_file(write(tmp_path, mxfile(("P", cells))))
    ends = {c.id: (c.source, c.target) for c in result.connections}
    assert ends == {"a": ("app", "db"), "b": ("kv", None), "c": ("app", None)}
