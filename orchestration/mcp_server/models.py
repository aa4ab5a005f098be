"""Typed inputs and outputs of the MCP tools: their JSON Schemas are the tools' schemas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.synthforge.iac.models import SkippedResource, UnfixedIssue
from agents.synthforge.models import (
    ArchitectureAnalysis,
    Decision,
    Resource,
    Review,
    Unclassified,
)
from orchestration.pipeline.runs import RunStatus, Usage

#: A setting's value as a client sends it (each agent's settings model types it).
SettingValue = str | int | float | bool


class AgentSummary(BaseModel):
    name: str
    description: str
    input_model: str
    output_model: str


class AgentList(BaseModel):
    """Every registered agent (built-ins and the forgeflow.agents entry points)."""

    agents: list[AgentSummary]


class AgentDescription(BaseModel):
    """One agent: what it takes, what it returns, which settings it accepts."""

    name: str
    description: str
    version: str
    input_model: str
    output_model: str
    input_schema: dict[str, Any] = Field(description="JSON Schema of the agent's input")
    output_schema: dict[str, Any] = Field(description="JSON Schema of the agent's output")
    settings_schema: dict[str, Any] | None = Field(
        description="JSON Schema of the agent's settings; null when it takes none"
    )


class AgentRunResult(BaseModel):
    """One agent run: its status and typed output (``data``), as its artifact holds them."""

    run_id: str
    agent: str
    status: Literal["succeeded", "failed", "skipped"]
    schema_id: str
    data: dict[str, Any] | None = Field(description="The output, valid against output_schema")
    error: str | None = None
    artifact: str = Field(description="Resource URI of the stored artifact")


class ReviewItems(BaseModel):
    """What the human review decided, and what still needs a decision."""

    reviewer: str
    method: str
    decisions: list[Decision] = Field(default_factory=list)
    resources: list[Resource] = Field(default_factory=list)
    needs_clarification: list[Unclassified] = Field(
        default_factory=list,
        description="Icons no type was found for: decide them with the review tool",
    )

    @classmethod
    def of(
        cls, review: Review, resources: list[Resource], unclear: list[Unclassified]
    ) -> ReviewItems:
        return cls(
            reviewer=review.reviewer,
            method=review.method,
            decisions=review.decisions,
            resources=resources,
            needs_clarification=unclear,
        )


class RunOutcome(BaseModel):
    """How a pipeline run ended, and where its files are."""

    run_id: str
    status: Literal["succeeded", "findings", "failed"] = Field(
        description="findings: every stage ran, but a feedback loop left findings (unfixed)"
    )
    failed_stage: str | None = None
    error: str | None = None
    stages: int = Field(description="Stage runs recorded")
    resumed: int = Field(description="Stages taken from the state store, not run again")
    usage: Usage
    report: str | None = Field(default=None, description="Resource URI of the markdown report")
    artifacts: list[str] = Field(default_factory=list, description="Resource URIs of artifacts")


class AnalysisResult(RunOutcome):
    """SynthForge on one diagram: the analysis, the review items, the report."""

    review: ReviewItems | None = None
    analysis: ArchitectureAnalysis | None = Field(
        default=None, description="The combined analysis (its report_markdown is the report)"
    )


class IacResult(RunOutcome):
    """SynthForge with the IaC loop: where the modules were written and what is left."""

    output_dir: str | None = None
    iac: str | None = None
    files: list[str] = Field(default_factory=list, description="Files written, relative")
    valid: bool = Field(description="The last checkov validation passed")
    fixes: int = 0
    unfixed: list[UnfixedIssue] = Field(default_factory=list)
    skipped: list[SkippedResource] = Field(default_factory=list)


class PipelineResult(RunOutcome):
    """A pipeline file run end to end."""

    pipeline: str
    output: dict[str, Any] | None = Field(default=None, description="The final output's data")


class RunInfo(RunStatus):
    """Where a run stands, with the resource URIs of its report and artifacts."""

    report: str | None = None
    artifacts: list[str] = Field(default_factory=list)
