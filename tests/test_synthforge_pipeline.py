"""The SynthForge pipeline file end to end on the real draw.io corpus.

Diagrams: ../shared/corpus/diagrams/ — real public files; origins, licences and counts in
../shared/corpus/diagrams/SOURCES.md.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cli_helpers import run_cli

from agents import AgentRegistry
from agents.synthforge.analysis.security import SecurityAgent
from agents.synthforge.models import ArchitectureAnalysis, ReviewedArchitecture, SecurityResult
from orchestration.pipeline.file import load_spec, plan_stages, run_planned
from orchestration.runtime.execution import RunContext
from orchestration.runtime.schemas import validate_file

REPO = Path(__file__).resolve().parent.parent
PIPELINE = REPO / "pipelines" / "synthforge.yaml"


def diagrams(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".drawio", ".xml"))


def test_every_corpus_diagram_runs_through_the_pipeline_and_validates(
    corpus_diagrams: Path, tmp_path: Path
) -> None:
    """Each diagram: the CLI run succeeds and every artifact validates with jsonschema."""
    files = diagrams(corpus_diagrams)
    assert len(files) == 32  # ../shared/corpus/diagrams/SOURCES.md: sections 1–32
    for i, diagram in enumerate(files):
        out = tmp_path / f"run{i}"
        proc = run_cli(
            "-m",
            "orchestration",
            "run",
            PIPELINE,
            "--input",
            diagram,
            "--set",
            "interactive.yes=true",
            "--out",
            out,
            "--state",
            tmp_path / "state",
            cwd=tmp_path,
        )
        assert proc.returncode == 0, (diagram.name, proc.stderr)
        artifacts = sorted(out.glob("*.json"))
        assert len(artifacts) == 8  # 7 stages + output.json
        for artifact in artifacts:
            validate_file(artifact)
        analysis = json.loads((out / "output.json").read_text())
        assert analysis["schema_id"] == "forgeflow/ArchitectureAnalysis"
        report = (out / "report.md").read_text()
        assert report.startswith("# Architecture analysis") and "```mermaid" in report


class BrokenSecurity(SecurityAgent):
    """The real security agent, failing as a crashing dependency would."""

    async def process(self, data: ReviewedArchitecture) -> SecurityResult:
        raise ConnectionError("rules service unreachable")


def test_a_failing_middle_agent_still_gives_the_combined_artifact(
    corpus_diagrams: Path,
) -> None:
    """network_flow ∥ security ∥ cost_estimation through ParallelOrchestrator: one fails."""
    registry = AgentRegistry(entry_point_agents=False)
    registry.register(BrokenSecurity, "security")
    planned = plan_stages(load_spec(PIPELINE), registry)
    diagram = corpus_diagrams / (
        "Azure-Samples__functions-quickstart-python-azd-cosmosdb__diagrams_architecture.drawio"
    )
    first = planned[0].agents["vision"]
    result = asyncio.run(
        run_planned(
            planned,
            first.load_input(diagram),
            RunContext(run_id="broken"),
            settings={"interactive": {"yes": True}},
        )
    )
    assert result.ok
    analysis = result.output
    assert isinstance(analysis, ArchitectureAnalysis)
    assert analysis.security is None
    assert analysis.network is not None and analysis.cost is not None
    assert [(f.branch, f.error) for f in analysis.failures] == [
        ("security", "ConnectionError: rules service unreachable")
    ]
    assert "security" in analysis.report_markdown and "rules service unreachable" in (
        analysis.report_markdown
    )
    failed = [r for r in result.runs if not r.ok]
    assert [r.stage for r in failed] == ["analysis/security"]


@pytest.mark.parametrize("name", ["webapp.drawio"])
def test_the_project_example_is_an_azure_web_app(name: str, tmp_path: Path) -> None:
    proc = run_cli(
        "-m",
        "orchestration",
        "run",
        PIPELINE,
        "--input",
        REPO / "examples" / "diagrams" / name,
        "--set",
        "interactive.yes=true",
        "--out",
        tmp_path / "out",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out" / "output.json").read_text())["data"]
    types = {r["resource_type"] for r in data["architecture"]["resources"]}
    assert {
        "Microsoft.Web/sites",
        "Microsoft.DocumentDB/databaseAccounts",
        "Microsoft.KeyVault/vaults",
    } <= types
    assert data["cost"]["total_monthly"] > 0
    assert data["failures"] == []
