"""Pipeline files with parallel groups (and a combiner) and feedback loops, run for real."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agents import Agent, AgentRegistry, AgentResult, PipelineError
from agents.builtin import TextInput, TextOutput, WordCount
from orchestration.patterns.feedback_loop import FixRequest, Issue, ValidationReport
from orchestration.pipeline.file import PipelineSpec, plan_stages, run_planned
from orchestration.runtime.execution import RunContext


class Failure(BaseModel):
    branch: str
    error: str


class Summary(AgentResult):
    text: str
    failed: list[str]


class SummaryIn(BaseModel):
    upstream: TextInput
    uppercase: TextOutput | None = None
    word_count: WordCount | None = None
    explode: TextOutput | None = None
    failures: list[Failure] = []


class Summarise(Agent[SummaryIn, Summary]):
    name = "summarise"
    input_model = SummaryIn
    output_model = Summary

    async def process(self, data: SummaryIn) -> Summary:
        parts = [data.upstream.text]
        if data.uppercase:
            parts.append(data.uppercase.text)
        if data.word_count:
            parts.append(str(data.word_count.words))
        return Summary(text=" | ".join(parts), failed=[f.branch for f in data.failures])


class Explode(Agent[TextInput, TextOutput]):
    name = "explode"
    input_model = TextInput
    output_model = TextOutput

    async def process(self, data: TextInput) -> TextOutput:
        raise RuntimeError("branch exploded")


class Draft(Agent[TextInput, TextOutput]):
    name = "draft"
    input_model = TextInput
    output_model = TextOutput

    async def process(self, data: TextInput) -> TextOutput:
        return TextOutput(text=data.text)


class NoLowercase(Agent[TextOutput, ValidationReport]):
    """Each lowercase letter is a fixable issue, each digit an unfixable one."""

    name = "no_lowercase"
    input_model = TextOutput
    output_model = ValidationReport

    async def process(self, data: TextOutput) -> ValidationReport:
        issues = [
            Issue(code="LOWER", message=f"lowercase {c!r}", location=str(i))
            for i, c in enumerate(data.text)
            if c.islower()
        ] + [
            Issue(code="DIGIT", message=f"digit {c!r}", location=str(i), fixable=False)
            for i, c in enumerate(data.text)
            if c.isdigit()
        ]
        return ValidationReport(valid=not issues, issues=issues)


class UpperFixer(Agent[FixRequest[TextOutput], TextOutput]):
    """Fixes only the first lowercase letter per call, so the loop needs several rounds."""

    name = "upper_fixer"
    input_model = FixRequest[TextOutput]
    output_model = TextOutput

    async def process(self, data: FixRequest[TextOutput]) -> TextOutput:
        text = data.candidate.text
        for issue in data.issues:
            if issue.code == "LOWER" and issue.location is not None:
                i = int(issue.location)
                return TextOutput(text=text[:i] + text[i].upper() + text[i + 1 :])
        return TextOutput(text=text)


@pytest.fixture
def registry() -> AgentRegistry:
    reg = AgentRegistry(entry_point_agents=False)
    for cls in (Summarise, Explode, Draft, NoLowercase, UpperFixer):
        reg.register(cls)
    return reg


def spec(body: str) -> PipelineSpec:
    import yaml

    return PipelineSpec.model_validate(yaml.safe_load(textwrap.dedent(body)))


def run(registry: AgentRegistry, body: str, text: str) -> Any:
    planned = plan_stages(spec(body), registry)
    return asyncio.run(run_planned(planned, TextInput(text=text), RunContext(run_id="t")))


def test_parallel_group_with_a_failing_branch_still_combines(registry: AgentRegistry) -> None:
    result = run(
        registry,
        """
        name: fan
        stages:
          - parallel:
              name: g
              branches: [uppercase, word_count, explode]
              combiner: summarise
    """,
        "a b",
    )
    assert result.ok
    assert result.output.text == "a b | A B | 2"
    assert result.output.failed == ["explode"]
    stages = [r.stage for r in result.runs]
    assert stages == ["g/uppercase", "g/word_count", "g/explode", "g/summarise"]
    failed = next(r for r in result.runs if r.stage == "g/explode")
    assert failed.error == "RuntimeError: branch exploded"


def test_combiner_that_cannot_take_a_branch_is_rejected_before_running(
    registry: AgentRegistry,
) -> None:
    # A branch whose output type clashes with the combiner field of its name is refused.
    class BadIn(BaseModel):
        upstream: TextInput
        word_count: Summary | None = None

    class Bad(Agent[BadIn, Summary]):
        name = "bad_combiner"
        input_model = BadIn
        output_model = Summary

        async def process(self, data: BadIn) -> Summary:  # pragma: no cover
            raise AssertionError

    registry.register(Bad)
    with pytest.raises(PipelineError, match="word_count"):
        plan_stages(
            spec("""
            name: fan
            stages:
              - parallel:
                  branches: [word_count]
                  combiner: bad_combiner
        """),
            registry,
        )


def test_loop_stage_fixes_until_valid_and_records_iterations(registry: AgentRegistry) -> None:
    result = run(
        registry,
        """
        name: loop
        stages:
          - loop:
              name: fix
              generator: draft
              validator: no_lowercase
              fixer: upper_fixer
              max_iterations: 5
          - agent: word_count
    """,
        "ab C",
    )
    assert result.ok
    assert result.output.text == "AB C"
    stages = [r.stage for r in result.runs]
    assert stages[0].startswith("fix/") and stages[-1] == "word_count"


def test_loop_stage_at_its_limit_passes_on_the_best_attempt(registry: AgentRegistry) -> None:
    result = run(
        registry,
        """
        name: loop
        stages:
          - loop:
              generator: draft
              validator: no_lowercase
              fixer: upper_fixer
              max_iterations: 2
    """,
        "abc1",
    )
    assert result.ok
    # two validations, one fix in between: only the first letter could be fixed
    assert result.output.text == "Abc1"


def test_spec_schema_is_published(repo_root: Path) -> None:
    schema = json.loads((repo_root / "schemas" / "PipelineSpec.json").read_text())
    assert set(schema["properties"]) >= {"name", "stages"}
