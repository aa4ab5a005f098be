"""Declarative pipelines: a YAML file of sequential stages, parallel groups and loops.

Example (``pipelines/synthforge-iac.yaml``, without its comments and loop settings)::

    name: synthforge-iac
    stages:
      - agent: vision
      - agent: filter
      - agent: interactive
      - parallel:
          name: analysis
          branches: [network_flow, security, cost_estimation]
          combiner: combine
      - loop:
          name: iac
          generator: module_development
          validator: code_quality
          fixer: code_quality_fixer
          max_iterations: 3

A file is checked whole before anything runs: every agent must exist, every stage
must be able to take the previous stage's output type, a combiner must be able to take
its group's outputs, every agent's settings (the file's, with ``--set`` overrides) must
be ones the agent declares, with allowed values. Each stage of a run goes through
:func:`orchestration.runtime.execution.execute`, so the run is timed, recorded, cached and
resumable through the state store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.base import Agent, AgentConfig, AgentResult, ToolEntry, ToolPolicy, json_path
from agents.errors import ForgeflowError, InputError, PipelineError, UnknownAgentError
from agents.registry import AgentRegistry, default_registry
from orchestration import tracing

if TYPE_CHECKING:
    from orchestration.patterns.feedback_loop import Issue
    from orchestration.patterns.sequential import AgentSession


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentModelSpec(_Strict):
    """How a model-backed agent is set up: its model, instructions and tools."""

    model: str | None = Field(default=None, description="Model of a model-backed agent")
    instructions: str = Field(default="", description="System instructions for its model")
    tools: list[ToolEntry] = Field(
        default_factory=list,
        description="Tools its model may call: tool names, 'agent:NAME', MCP sources",
    )
    tool_policy: ToolPolicy = Field(
        default_factory=ToolPolicy, description="Bounds of its tool use"
    )

    def agent_config(self, name: str, settings: dict[str, Any]) -> AgentConfig:
        """The config of agent ``name`` with ``settings`` (the file's and --set merged)."""
        return AgentConfig(
            name=name,
            settings=settings,
            model=self.model,
            instructions=self.instructions,
            tools=list(self.tools),
            tool_policy=self.tool_policy,
        )


class AgentStageSpec(AgentModelSpec):
    """One agent as one stage."""

    agent: str = Field(description="Registered agent name")
    name: str | None = Field(default=None, description="Stage name (default: the agent name)")
    settings: dict[str, Any] = Field(default_factory=dict, description="Agent settings")

    def config(self, settings: dict[str, Any]) -> AgentConfig:
        """The agent's config for a run, with ``settings`` (the file's and --set merged)."""
        return self.agent_config(self.agent, settings)


_GROUP_AGENTS = "Model, instructions and tools per agent name (model-backed agents)"


class ParallelGroup(_Strict):
    name: str = Field(default="parallel", description="Group name; stages are NAME/BRANCH")
    branches: list[str] = Field(min_length=1, description="Agents run on the same input")
    combiner: str = Field(description="Agent that merges the branches' outputs")
    max_concurrency: int | None = Field(default=None, ge=1)
    settings: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Settings per branch agent name"
    )
    agents: dict[str, AgentModelSpec] = Field(default_factory=dict, description=_GROUP_AGENTS)


class ParallelStageSpec(_Strict):
    """Branches run concurrently on one input, then a combiner merges them."""

    parallel: ParallelGroup


#: What fails a run among a loop's findings: nothing, error-severity ones, or any.
FailOn = Literal["none", "high", "any"]


def failing(findings: list[Issue], fail_on: FailOn) -> list[Issue]:
    """The findings that fail a run under ``fail_on``."""
    if fail_on == "none":
        return []
    if fail_on == "high":
        return [f for f in findings if f.severity == "error"]
    return list(findings)


class LoopSpec(_Strict):
    name: str = Field(default="loop")
    generator: str
    validator: str
    fixer: str | None = None
    max_iterations: int = Field(default=3, ge=1, le=20)
    fail_on: FailOn = Field(
        default="any",
        description="Which findings left at the end of the loop fail the run: none, high "
        "(error severity) or any",
    )
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)
    agents: dict[str, AgentModelSpec] = Field(default_factory=dict, description=_GROUP_AGENTS)


class LoopStageSpec(_Strict):
    """A feedback loop: generator → validator → fixer, at most N iterations."""

    loop: LoopSpec


StageSpec = Annotated[
    AgentStageSpec | ParallelStageSpec | LoopStageSpec, Field(union_mode="left_to_right")
]

_KINDS = {"agent": "an agent stage", "parallel": "a parallel group", "loop": "a feedback loop"}


class PipelineSpec(_Strict):
    """A pipeline file."""

    name: str
    description: str = ""
    stages: list[StageSpec] = Field(min_length=1)


@dataclass
class PlannedStage:
    """A stage after checking: its name, kind, agents and boundary types."""

    name: str
    kind: Literal["agent", "parallel", "loop"]
    spec: AgentStageSpec | ParallelStageSpec | LoopStageSpec
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    agents: dict[str, type[Agent[Any, Any]]] = field(default_factory=dict)


def load_spec(path: Path) -> PipelineSpec:
    """Read and validate a pipeline file; errors name the file and the stage.

    The file must be a regular file of at most 1 MB; its YAML may not nest deeper than
    64 levels nor expand through aliases beyond ten times its own size.
    """
    import yaml

    from orchestration.runtime.guards import MAX_PIPELINE_BYTES, read_regular_text, safe_yaml_load

    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise InputError(f"{path}: no such pipeline file")
    text = read_regular_text(path, MAX_PIPELINE_BYTES, what="pipeline file")
    try:
        raw = safe_yaml_load(text, where=str(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}: not valid YAML{where}") from None
    if not isinstance(raw, dict):
        raise PipelineError(f"{path}: a pipeline file is a mapping with 'name' and 'stages'")
    for i, stage in enumerate(raw.get("stages") or []):
        if isinstance(stage, dict):
            kinds = [k for k in _KINDS if k in stage]
            if len(kinds) != 1:
                got = ", ".join(repr(k) for k in stage) or "nothing"
                raise PipelineError(
                    f"{path}: $.stages[{i}]: unknown stage kind ({got}); "
                    "expected one of 'agent', 'parallel', 'loop'"
                )
    try:
        return PipelineSpec.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        err = next((e for e in errors if _of_written_kind(e.get("loc", ()), raw)), errors[0])
        loc = [p for p in err.get("loc", ()) if not _is_union_tag(p)]
        raise PipelineError(f"{path}: {json_path(loc)}: {err.get('msg')}") from None


_UNION_TAGS = {"agent": "AgentStageSpec", "parallel": "ParallelStageSpec", "loop": "LoopStageSpec"}


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part in _UNION_TAGS.values()


def _of_written_kind(loc: Any, raw: dict[str, Any]) -> bool:
    """False for an error of a stage kind other than the one the stage was written as
    (the union tries every kind; only the written one's errors help the user)."""
    if len(loc) < 3 or loc[0] != "stages" or not _is_union_tag(loc[2]):
        return True
    stages = raw.get("stages")
    stage = stages[loc[1]] if isinstance(stages, list) and isinstance(loc[1], int) else None
    kinds = [k for k in _KINDS if isinstance(stage, dict) and k in stage]
    return not kinds or _UNION_TAGS[kinds[0]] == loc[2]


def _mismatch(out: type[BaseModel], into: type[BaseModel]) -> str | None:
    from orchestration.patterns.typecheck import incompatibility

    return incompatibility(out, into)


def plan_stages(
    spec: PipelineSpec,
    registry: AgentRegistry | None = None,
    *,
    source: str = "pipeline",
    settings: dict[str, dict[str, Any]] | None = None,
) -> list[PlannedStage]:
    """Check a spec against the registry, the agents' types and settings; nothing runs.

    ``settings`` are the run's overrides by agent name (``--set AGENT.KEY=VALUE``), checked
    merged over each stage's own settings as :func:`run_planned` will merge them.
    """
    registry = registry or default_registry()
    planned = _plan(spec, registry, source)
    for i, stage in enumerate(planned):
        where = f"{source}: stage {i + 1} {stage.name!r}"
        _check_stage_settings(stage, settings or {}, where)
        _check_stage_tools(stage, where)
    return planned


def _model_specs(spec: AgentStageSpec | ParallelStageSpec | LoopStageSpec) -> dict[str, Any]:
    """The model set-up (model, instructions, tools) a stage's entry gives, by agent name."""
    if isinstance(spec, AgentStageSpec):
        return {spec.agent: spec}
    group = spec.parallel if isinstance(spec, ParallelStageSpec) else spec.loop
    return dict(group.agents)


def _check_stage_tools(stage: PlannedStage, where: str) -> None:
    """A group's ``agents`` name its agents; every agent's tools are known and allowed."""
    specs = _model_specs(stage.spec)
    for name, model_spec in specs.items():
        if name not in stage.agents:
            raise PipelineError(
                f"{where}: agents: {name!r} is not an agent of this stage; "
                f"its agents: {', '.join(stage.agents)}"
            )
        if model_spec.tools:
            from agents.tools.toolset import check_tools

            try:
                check_tools(model_spec.agent_config(name, {}))
            except ForgeflowError as exc:
                raise PipelineError(f"{where}: {exc.one_line()}") from None


def _stage_settings(spec: AgentStageSpec | ParallelStageSpec | LoopStageSpec) -> dict[str, Any]:
    """The settings a stage's file entry gives, by agent name."""
    if isinstance(spec, AgentStageSpec):
        return {spec.agent: spec.settings}
    group = spec.parallel if isinstance(spec, ParallelStageSpec) else spec.loop
    return dict(group.settings)


def _check_stage_settings(
    stage: PlannedStage, overrides: dict[str, dict[str, Any]], where: str
) -> None:
    """Every agent of ``stage`` accepts its settings; a group's settings name its agents."""
    own = _stage_settings(stage.spec)
    for name in own:
        if name not in stage.agents:
            raise PipelineError(
                f"{where}: settings for {name!r}, which is not an agent of this stage; "
                f"its agents: {', '.join(stage.agents)}"
            )
    for name, cls in stage.agents.items():
        merged = {**own.get(name, {}), **overrides.get(name, {})}
        try:
            cls.check_settings(merged, agent=name)
        except ForgeflowError as exc:
            raise PipelineError(f"{where}: {exc.one_line()}") from None


def _plan(spec: PipelineSpec, registry: AgentRegistry, source: str) -> list[PlannedStage]:
    planned: list[PlannedStage] = []
    previous: PlannedStage | None = None
    for i, stage in enumerate(spec.stages):
        where = f"{source}: stage {i + 1}"

        def get(name: str, where: str = where) -> type[Agent[Any, Any]]:
            try:
                return registry.get(name)
            except UnknownAgentError as exc:
                raise PipelineError(f"{where}: {exc.one_line()}") from None

        if isinstance(stage, AgentStageSpec):
            cls = get(stage.agent)
            name = stage.name or stage.agent
            current = PlannedStage(
                name, "agent", stage, cls.input_model, cls.output_model, {stage.agent: cls}
            )
        elif isinstance(stage, ParallelStageSpec):
            group = stage.parallel
            branches = {b: get(b) for b in group.branches}
            combiner = get(group.combiner)
            upstream = (
                previous.output_model if previous else next(iter(branches.values())).input_model
            )
            for b, cls in branches.items():
                why = _mismatch(upstream, cls.input_model)
                if why:
                    raise PipelineError(
                        f"{where} {group.name!r}: branch {b!r} cannot take "
                        f"{upstream.__name__}: {why}"
                    )
            from orchestration.patterns.parallel import ParallelOrchestrator

            why = ParallelOrchestrator.check_combiner(
                {b: cls.output_model for b, cls in branches.items()},
                upstream,
                combiner.input_model,
            )
            if why:
                raise PipelineError(
                    f"{where} {group.name!r}: combiner {group.combiner!r} cannot take the "
                    f"group's outputs: {why}"
                )
            current = PlannedStage(
                group.name,
                "parallel",
                stage,
                upstream,
                combiner.output_model,
                {**branches, group.combiner: combiner},
            )
        else:
            loop = stage.loop
            agents = {loop.generator: get(loop.generator)}
            agents[loop.validator] = get(loop.validator)
            if loop.fixer:
                agents[loop.fixer] = get(loop.fixer)
            gen = agents[loop.generator]
            from orchestration.patterns.feedback_loop import FeedbackLoop

            try:
                FeedbackLoop.check_types(
                    gen,
                    agents[loop.validator],
                    agents[loop.fixer] if loop.fixer else None,
                    name=loop.name,
                )
            except PipelineError as exc:
                raise PipelineError(f"{where}: {exc.one_line()}") from None
            current = PlannedStage(
                loop.name, "loop", stage, gen.input_model, gen.output_model, agents
            )
        if previous is not None:
            why = _mismatch(previous.output_model, current.input_model)
            if why:
                raise PipelineError(
                    f"{where} {current.name!r}: input {current.input_model.__name__} cannot "
                    f"take output {previous.output_model.__name__} of stage {i} "
                    f"{previous.name!r}: {why}"
                )
        planned.append(current)
        previous = current
    names = [p.name for p in planned]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PipelineError(f"{source}: stage names must be unique; repeated: {', '.join(dupes)}")
    return planned


def _make(
    cls: type[Agent[Any, Any]],
    name: str,
    settings: dict[str, Any],
    overrides: dict[str, Any],
    model_spec: AgentModelSpec | None = None,
) -> Agent[Any, Any]:
    merged = {**settings, **overrides}
    if model_spec is None:
        return cls(AgentConfig(name=name, settings=merged))
    return cls(model_spec.agent_config(name, merged))


@dataclass
class PipelineRun:
    """What a pipeline run produced."""

    ok: bool
    output: AgentResult | None
    runs: list[Any]
    failed_stage: str | None = None
    error: str | None = None
    #: Issues a loop left (its output was not valid), each with its reason, and the
    #: ones among them that fail the run under the loop's ``fail_on``.
    findings: list[Issue] = field(default_factory=list)
    failing: list[Issue] = field(default_factory=list)
    findings_stage: str | None = None
    #: Issues a loop's output suppresses on purpose, each with its stated reason, as
    #: (stage, issue).
    accepted: list[tuple[str, Issue]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``succeeded``, ``findings`` (finished, but a loop left issues) or ``failed``."""
        if not self.ok:
            return "failed"
        return "findings" if self.findings else "succeeded"


async def run_planned(
    planned: list[PlannedStage],
    data: BaseModel,
    ctx: Any,
    *,
    settings: dict[str, dict[str, Any]] | None = None,
    fail_on: FailOn | None = None,
) -> PipelineRun:
    """Run checked stages in order, stopping at the first stage that fails.

    A loop that ends with issues left does not stop the run: they are its ``findings``,
    and those that ``fail_on`` (default: each loop's own ``fail_on``) counts are
    ``failing``.

    Agents are entered (set up) on first use and left when the run ends; an agent whose
    set-up fails is a failed stage like any other. The whole run is inside
    :func:`orchestration.runtime.heap.fewer_collections`.
    """
    from orchestration.patterns.sequential import AgentSession
    from orchestration.runtime.heap import fewer_collections

    # every stage's output stays alive until the run ends: with the collector's default
    # thresholds, its full collections walk them all again and again as the run grows
    async with AgentSession() as session:
        with fewer_collections(run=True):
            return await _run_stages(planned, data, ctx, settings or {}, session, fail_on)


async def _run_stages(
    planned: list[PlannedStage],
    current: BaseModel,
    ctx: Any,
    settings: dict[str, dict[str, Any]],
    session: AgentSession,
    fail_on: FailOn | None = None,
) -> PipelineRun:
    runs: list[Any] = []
    findings: list[Issue] = []
    failing_now: list[Issue] = []
    findings_stage: str | None = None
    accepted: list[tuple[str, Issue]] = []
    for stage in planned:
        with tracing.span(
            f"stage {stage.name}",
            {"forgeflow.stage": stage.name, "forgeflow.stage.kind": stage.kind},
        ) as span:
            spec = stage.spec
            if isinstance(spec, AgentStageSpec):
                cls = stage.agents[spec.agent]
                merged = {**spec.settings, **settings.get(spec.agent, {})}
                agent = cls(spec.config(merged))
                run = await session.run(agent, current, ctx, stage=stage.name)
                runs.append(run)
                if not run.ok or run.output is None:
                    span.fail("stage_failed")
                    return PipelineRun(False, None, runs, stage.name, run.error)
                current = run.output
            elif isinstance(spec, ParallelStageSpec):
                from orchestration.patterns.parallel import ParallelOrchestrator

                group = spec.parallel
                branch_agents = {
                    b: _make(
                        stage.agents[b],
                        b,
                        group.settings.get(b, {}),
                        settings.get(b, {}),
                        group.agents.get(b),
                    )
                    for b in group.branches
                }
                orchestrator = ParallelOrchestrator(
                    branch_agents, max_concurrency=group.max_concurrency
                )
                result = await orchestrator.run(current, ctx, group=group.name)
                runs.extend(result.runs.values())
                combiner_cls = stage.agents[group.combiner]
                combiner = _make(
                    combiner_cls,
                    group.combiner,
                    group.settings.get(group.combiner, {}),
                    settings.get(group.combiner, {}),
                    group.agents.get(group.combiner),
                )
                run = await session.run(
                    combiner,
                    result.combine_input(current),
                    ctx,
                    stage=f"{group.name}/{group.combiner}",
                )
                runs.append(run)
                if not run.ok or run.output is None:
                    span.fail("stage_failed")
                    return PipelineRun(False, None, runs, run.stage, run.error)
                current = run.output
            else:
                from orchestration.patterns.feedback_loop import FeedbackLoop

                loop = spec.loop

                def mk(
                    agent_name: str, loop: LoopSpec = loop, stage: PlannedStage = stage
                ) -> Agent[Any, Any]:
                    return _make(
                        stage.agents[agent_name],
                        agent_name,
                        loop.settings.get(agent_name, {}),
                        settings.get(agent_name, {}),
                        loop.agents.get(agent_name),
                    )

                feedback = FeedbackLoop(
                    mk(loop.generator),
                    mk(loop.validator),
                    mk(loop.fixer) if loop.fixer else None,
                    max_iterations=loop.max_iterations,
                    name=loop.name,
                )
                loop_result = await feedback.run(current, ctx)
                runs.extend(loop_result.runs)
                if loop_result.output is None or loop_result.error:
                    error = loop_result.error or "the loop produced no output"
                    span.fail("stage_failed")
                    return PipelineRun(False, None, runs, stage.name, error)
                current = loop_result.output
                accepted += [(stage.name, issue) for issue in loop_result.accepted]
                if not loop_result.valid:
                    findings += loop_result.remaining_issues
                    failing_now += failing(loop_result.remaining_issues, fail_on or loop.fail_on)
                    findings_stage = findings_stage or stage.name
    assert isinstance(current, AgentResult)
    return PipelineRun(
        True,
        current,
        runs,
        findings=findings,
        failing=failing_now,
        findings_stage=findings_stage,
        accepted=accepted,
    )
