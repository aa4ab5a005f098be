"""The shared corpus's Azure diagrams through the SynthForge analysis and the IaC loop.

What the IaC loop tests and the IaC loop benchmark both do: pick the diagrams whose
``SOURCES.md`` entry lists Azure icon styles, analyse each with a SynthForge pipeline file
(review accepted), and build the feedback loop module_development → code_quality →
code_quality_fixer.
"""

from __future__ import annotations

import re
from pathlib import Path

from agents.base import AgentConfig
from agents.synthforge.iac.code_quality import CodeQualityAgent
from agents.synthforge.iac.fixer import CodeQualityFixerAgent
from agents.synthforge.iac.module_development import ModuleDevelopmentAgent
from agents.synthforge.models import ArchitectureAnalysis
from orchestration.patterns.feedback_loop import FeedbackLoop

#: Icon style families that mark a corpus diagram as an Azure one.
AZURE_STYLES = re.compile(r"\b(azure2|mscae|mxgraph\.azure|mxgraph\.mscae)\b")


def azure_diagrams(corpus: Path) -> list[Path]:
    """The diagrams of ``corpus`` whose SOURCES.md entry lists Azure icon styles."""
    text = (corpus / "SOURCES.md").read_text(encoding="utf-8")
    out = []
    for section in re.split(r"^## \d+\. ", text, flags=re.MULTILINE)[1:]:
        name = section.splitlines()[0].strip()
        styles = section.split("styles:", 1)[1].splitlines()[0] if "styles:" in section else ""
        if AZURE_STYLES.search(styles):
            out.append(corpus / name)
    return out


async def analyse(diagram: Path, pipeline: Path) -> ArchitectureAnalysis:
    """The analysis of ``diagram`` by the pipeline file ``pipeline``, review accepted.

    Raises ``RuntimeError`` naming the diagram, the failed stage and its error when the
    pipeline does not end in an ``ArchitectureAnalysis``.
    """
    from agents.synthforge.analysis.vision import VisionAgent
    from orchestration.pipeline.file import load_spec, plan_stages, run_planned
    from orchestration.runtime.execution import RunContext

    planned = plan_stages(load_spec(pipeline))
    run = await run_planned(
        planned,
        VisionAgent.load_input(diagram),
        RunContext(),
        settings={"interactive": {"yes": True}},
    )
    if not run.ok or not isinstance(run.output, ArchitectureAnalysis):
        raise RuntimeError(f"{diagram.name}: analysis failed at {run.failed_stage}: {run.error}")
    return run.output


def iac_loop(max_iterations: int = 3) -> FeedbackLoop:
    """module_development (Terraform and Bicep) → code_quality → code_quality_fixer."""
    return FeedbackLoop(
        ModuleDevelopmentAgent(AgentConfig(name="module_development", settings={"iac": "both"})),
        CodeQualityAgent(AgentConfig(name="code_quality")),
        CodeQualityFixerAgent(AgentConfig(name="code_quality_fixer")),
        max_iterations=max_iterations,
        name="iac",
    )
