"""The ``combine`` agent and its markdown report (``agents/synthforge/analysis/report.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
from synthforge_fixtures import aws_api, azure_shop, connection, container, resource

from agents.base import AgentConfig
from agents.registry import default_registry
from agents.synthforge.analysis.combine import CombineAgent, combine
from agents.synthforge.analysis.cost_estimation import estimate
from agents.synthforge.analysis.network_flow import analyse
from agents.synthforge.analysis.report import md, mermaid_label
from agents.synthforge.analysis.security import recommend
from agents.synthforge.models import (
    ArchitectureAnalysis,
    BranchFailure,
    CombineInput,
    NonArchitectural,
    ReviewedArchitecture,
)
from orchestration.runtime.execution import execute
from orchestration.runtime.schemas import artifact_schema


def _full(arch: ReviewedArchitecture) -> CombineInput:
    return CombineInput(
        upstream=arch,
        network_flow=analyse(arch).result(),
        security=recommend(arch),
        cost_estimation=estimate(arch),
    )


def _mermaid_block(report: str) -> list[str]:
    match = re.search(r"```mermaid\n(.*?)\n```", report, re.S)
    assert match, "no mermaid block"
    return match.group(1).splitlines()


_LABEL = r'"(?:[A-Za-z0-9 _.,:/()\-]|#\d+;)*"'
_NODE = r"(?:n\d+|internet)"
_MERMAID_LINE = re.compile(
    "^(?:"
    + "|".join(
        [
            r"flowchart LR",
            rf"\s+n\d+\[{_LABEL}\]",
            rf"\s+subgraph g\d+\[{_LABEL}\]",
            r"\s+end",
            r'\s+internet\(\("Internet"\)\)',
            rf"\s+{_NODE} (?:-->|-\.->|<-->|<-\.->)\|{_LABEL}\| {_NODE}",
        ]
    )
    + ")$"
)


def test_full_combine_has_every_section() -> None:
    analysis = combine(_full(azure_shop()))
    assert analysis.failures == [] and analysis.errors == []
    report = analysis.report_markdown
    for heading in (
        "# Architecture analysis: shop.drawio",
        "## Summary",
        "## Architecture",
        "## Network flows",
        "## Security recommendations",
        "## Cost estimate",
        "## Items needing clarification",
    ):
        assert heading in report
    assert "## Failed branches" not in report
    total = estimate(azure_shop()).total_monthly
    assert f"**{total:,.2f}**" in report
    assert "Cosmos DB Built-in Data Contributor" in report
    assert "Batch thing" in report  # the unclassified icon


def test_mermaid_draws_vnets_subnets_resources_and_flows() -> None:
    lines = _mermaid_block(combine(_full(azure_shop())).report_markdown)
    assert lines[0] == "flowchart LR"
    text = "\n".join(lines)
    assert 'subgraph g2["vnet: vnet-shop"]' in text
    assert 'subgraph g5["subnet: snet-data"]' in text
    assert '-->|"TDS:1433"|' in text
    assert 'internet -.->|"HTTPS:443"|' in text  # public: dashed
    assert sum(1 for line in lines if re.match(r"\s+n\d+\[", line)) == 9
    assert all(_MERMAID_LINE.match(line) for line in lines), lines


def test_combine_with_a_failed_branch_records_it_and_lowers_confidence() -> None:
    full = _full(azure_shop())
    whole = combine(full)
    partial = full.model_copy(
        update={
            "cost_estimation": None,
            "failures": [BranchFailure(branch="cost_estimation", error="TimeoutError: 30 s")],
        }
    )
    analysis = combine(partial)
    assert analysis.cost is None
    assert [f.branch for f in analysis.failures] == ["cost_estimation"]
    assert any("cost_estimation" in e and "TimeoutError" in e for e in analysis.errors)
    assert analysis.confidence < whole.confidence
    report = analysis.report_markdown
    assert "## Failed branches" in report
    assert "**cost\\_estimation**: TimeoutError: 30 s" in report
    assert "Not available: the cost\\_estimation branch failed" in report
    assert "## Network flows" in report and "TDS" in report


def test_missing_branch_without_a_failure_is_still_recorded() -> None:
    full = _full(aws_api())
    analysis = combine(full.model_copy(update={"security": None}))
    assert [(f.branch, f.error) for f in analysis.failures] == [
        ("security", "no result was passed to combine")
    ]
    assert "## Failed branches" in analysis.report_markdown


def test_all_branches_failed_still_gives_a_valid_analysis() -> None:
    analysis = combine(CombineInput(upstream=azure_shop()))
    assert len(analysis.failures) == 3 and analysis.confidence == 0.0
    ArchitectureAnalysis.model_validate(analysis.model_dump(mode="json"))
    lines = _mermaid_block(analysis.report_markdown)
    assert all(_MERMAID_LINE.match(line) for line in lines), lines


HOSTILE = [
    pytest.param('evil"] --> x["pwned', id="quote-and-bracket"),
    pytest.param("end", id="mermaid-keyword"),
    pytest.param("a\nb\r\nsubgraph x", id="newlines"),
    pytest.param("```\n# Owned", id="code-fence"),
    pytest.param("<script>alert(1)</script>", id="html"),
    pytest.param("a | b | c", id="table-pipes"),
    pytest.param("x;click n1 call alert()%%", id="mermaid-directives"),
    pytest.param("[link](javascript:alert(1))", id="markdown-link"),
    pytest.param("#quot; &amp; #35;", id="entity-lookalikes"),
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_labels_cannot_break_the_report(hostile: str) -> None:
    arch = azure_shop()
    arch.resources[1].name = hostile  # shop-web
    arch.containers[1].label = hostile  # the VNet
    arch.connections.append(connection("h", "web", "kv", hostile))
    arch.needs_clarification[0].label = hostile
    report = combine(_full(arch)).report_markdown

    assert report.count("```") == 2
    lines = _mermaid_block(report)
    assert all(_MERMAID_LINE.match(line) for line in lines), lines
    assert "<script>" not in report
    assert not re.search(r"(?<!\\)\]\(javascript:", report)
    for line in report.splitlines():
        if line.startswith("|"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 7, line  # 6 columns in flows
            break
    flow_rows = [ln for ln in report.splitlines() if ln.startswith("| ") and "HTTPS" in ln]
    assert all(len(re.findall(r"(?<!\\)\|", ln)) == 7 for ln in flow_rows)
    assert not any(ln.lstrip().startswith("# Owned") for ln in report.splitlines())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param('a"b', "a#34;b", id="quote"),
        pytest.param("x[1]", "x#91;1#93;", id="brackets"),
        pytest.param("a\nb", "a b", id="newline"),
        pytest.param("Function App (sites)", "Function App (sites)", id="plain"),
    ],
)
def test_mermaid_label_escaping(text: str, expected: str) -> None:
    assert mermaid_label(text) == expected


def test_markdown_escaping() -> None:
    assert md("a|b <i>*x*</i>") == "a\\|b &lt;i&gt;\\*x\\*&lt;/i&gt;"


def test_long_labels_are_cut() -> None:
    assert len(mermaid_label("x" * 500)) <= 80


def test_subnet_and_internet_from_a_user_icon_in_aws_report() -> None:
    arch = aws_api()
    arch.containers.append(container("az", "availability_zone", "eu-west-1a"))
    arch.resources.append(
        resource("q", "jobs", "AWS::SQS::Queue", "integration", [], provider="aws")
    )
    arch.non_architectural.append(
        NonArchitectural(icon_id="m", icon_key="mxgraph.aws4.mobile_client", label="", reason="")
    )
    arch.connections = [c for c in arch.connections if c.id != "a1"]  # drop users -> api
    arch.connections.append(connection("m1", "m", "api"))
    lines = _mermaid_block(combine(_full(arch)).report_markdown)
    text = "\n".join(lines)
    assert 'subgraph g1["vnet: vpc-main"]' in text
    assert 'n2["orders-fn (Lambda Function)"]' in text
    assert 'internet -.->|"HTTPS:443"| n1' in text  # the mobile client is the internet
    assert all(_MERMAID_LINE.match(line) for line in lines), lines


async def test_agent_output_validates_against_its_artifact_schema() -> None:
    partial = _full(azure_shop()).model_copy(update={"network_flow": None})
    async with CombineAgent() as agent:
        run = await execute(agent, partial.model_dump(mode="json"))
    assert run.ok, run.error
    doc = run.envelope.model_dump(mode="json")
    jsonschema.Draft202012Validator(artifact_schema(ArchitectureAnalysis)).validate(doc)
    assert doc["data"]["failures"][0]["branch"] == "network_flow"


@pytest.mark.corpus
async def test_corpus_function_app_with_cosmos_change_feed(corpus_diagrams: Path) -> None:
    """The whole analysis on a real diagram: Azure Functions triggered by the Cosmos DB
    change feed (Azure-Samples/functions-quickstart-python-azd-cosmosdb, MIT; corpus
    SOURCES.md entry 1), through the vision, filter and accept-all review stages."""
    registry = default_registry()
    path = corpus_diagrams / (
        "Azure-Samples__functions-quickstart-python-azd-cosmosdb__diagrams_architecture.drawio"
    )
    vision = registry.get("vision")
    detected = await registry.create("vision").run(vision.load_input(path))
    classified = await registry.create("filter").run(detected)
    review = registry.create("interactive", AgentConfig(name="interactive", settings={"yes": True}))
    arch = await review.run(classified)
    analysis = await CombineAgent().run(_full(arch))

    by_type = {(r.resource_type, r.kind): r.id for r in arch.resources}
    func = by_type[("Microsoft.Web/sites", "functionapp")]
    cosmos = next(r.id for r in arch.resources if r.resource_type.endswith("databaseAccounts"))
    assert analysis.network is not None and analysis.security is not None
    (flow,) = [f for f in analysis.network.flows if {f.source, f.target} == {func, cosmos}]
    assert (flow.protocol, flow.port) == ("HTTPS", 443)
    func_sec = next(s for s in analysis.security.resources if s.resource_id == func)
    assert func_sec.managed_identity
    assert any(
        a.scope == cosmos and a.role_definition_id.startswith("00000000-0000-0000-0000-00000000000")
        for a in func_sec.role_assignments
    )
    assert analysis.cost is not None
    assert analysis.cost.total_monthly == pytest.approx(
        sum(i.monthly_cost for i in analysis.cost.items)
    )
    lines = _mermaid_block(analysis.report_markdown)
    assert all(_MERMAID_LINE.match(line) for line in lines), lines
