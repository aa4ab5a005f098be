"""The hierarchical pattern: a coordinator plans which agents to run, checks the plan, runs it.

A :class:`Plan` is data (it can come from a planning job's JSON output): steps naming a
registered agent, where each step's input comes from (the plan's ``input`` or another
step), and an optional :class:`Condition` on an earlier step's output. Before anything
runs, :func:`validate_plan` rejects a plan with an unknown agent, an unknown step
reference, a duplicate step id, a cycle, a condition on a field that does not exist, or a
data flow whose types do not fit; the :class:`PlanRejected` error carries the precise
``reason`` so a planner that produced it can be asked again.

Steps run in dependency order; steps that do not depend on each other run concurrently.
A step whose condition is false, or whose input or condition step did not succeed, is
recorded as skipped and not run.
"""

from __future__ import annotations

import asyncio
import json
import re
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args, get_origin, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from agents.base import AgentConfig, AgentResult, coerce_model
from agents.errors import ForgeflowError, PipelineError, UnknownAgentError
from agents.registry import AgentRegistry, default_registry
from orchestration.patterns.sequential import AgentSession, recorded_run
from orchestration.patterns.typecheck import incompatibility, type_name
from orchestration.runtime.artifact import ArtifactStatus
from orchestration.runtime.execution import AgentRun, RunContext, describe_error

__all__ = [
    "INPUT",
    "Condition",
    "Coordinator",
    "CoordinatorResult",
    "DeterministicPlanner",
    "Plan",
    "PlanRejected",
    "PlanStep",
    "Planner",
    "StepOutcome",
    "check_plan",
    "validate_plan",
]

#: The ``input`` of a step that takes the plan's own input.
INPUT = "input"

ConditionOp = Literal["eq", "ne", "gt", "lt", "truthy", "falsy"]
_NEEDS_VALUE = ("eq", "ne", "gt", "lt")


class Condition(BaseModel):
    """Run a step only when ``op`` holds for the field at ``path`` of ``step``'s output.

    ``path`` is dotted (``report.errors``; a list index is a number: ``items.0.sku``) and
    is read from the JSON form of the output. ``eq``/``ne``/``gt``/``lt`` compare with
    ``value``; ``truthy``/``falsy`` ignore it.
    """

    model_config = ConfigDict(extra="forbid")

    step: str = Field(description="Id of the step whose output is tested")
    path: str = Field(min_length=1, description="Dotted field path in that step's output")
    op: ConditionOp = "truthy"
    value: Any = None

    def describe(self) -> str:
        """``step.path op value``, for messages."""
        tail = f" {json.dumps(self.value)}" if self.op in _NEEDS_VALUE else ""
        return f"{self.step}.{self.path} {self.op}{tail}"

    def evaluate(self, output: BaseModel) -> tuple[bool, Any]:
        """(whether the condition holds, the value found at ``path``)."""
        found = _lookup(output.model_dump(mode="json"), self.path)
        if self.op == "truthy":
            return bool(found), found
        if self.op == "falsy":
            return not found, found
        if self.op == "eq":
            return found == self.value, found
        if self.op == "ne":
            return found != self.value, found
        if found is None:
            return False, found
        if self.op == "gt":
            return found > self.value, found
        return found < self.value, found


class PlanStep(BaseModel):
    """One step: run ``agent`` on ``input`` (the plan's input or a step id's output)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="Unique within the plan; also its stage name")
    agent: str = Field(description="Registered agent name")
    input: str = Field(default=INPUT, description="'input' or the id of an earlier step")
    condition: Condition | None = None
    settings: dict[str, Any] = Field(default_factory=dict, description="The agent's settings")


class Plan(BaseModel):
    """Steps to run for a goal. ``output`` names the step whose output is the result."""

    model_config = ConfigDict(extra="forbid")

    goal: str = ""
    steps: list[PlanStep] = Field(default_factory=list)
    output: str | None = Field(
        default=None, description="Step id of the result (default: last step that ran)"
    )

    def dependencies(self, step: PlanStep) -> list[str]:
        """Step ids ``step`` waits for: its input step and its condition's step."""
        deps = [] if step.input == INPUT else [step.input]
        if step.condition is not None and step.condition.step not in deps:
            deps.append(step.condition.step)
        return deps


class PlanRejected(PipelineError):
    """A plan failed validation; nothing ran. ``reason`` says precisely why."""

    def __init__(self, reason: str, *, step: str | None = None) -> None:
        super().__init__(f"plan rejected: {reason}")
        self.reason = reason
        self.step = step


@runtime_checkable
class Planner(Protocol):
    """Turns a goal into a :class:`Plan`. It may be wrong: every plan is validated."""

    async def plan(
        self, goal: str, input_model: type[BaseModel] | None, registry: AgentRegistry
    ) -> Plan:
        """A plan for ``goal`` over ``input_model`` data using ``registry``'s agents."""
        ...


class DeterministicPlanner:
    """Builds plans from the goal text by fixed rules, without a model.

    - ``"a -> b -> c"`` (``→`` also works): a chain; the first step takes the input,
      each later step the previous step's output. Step ids are the agent names, with
      ``#2``, ``#3`` ... for repeats.
    - A step may carry a condition on an earlier step:
      ``"word_count -> uppercase if word_count.words gt 3"``; ops are ``eq ne gt lt``
      (or ``== != > <``), the value is JSON or else a plain string;
      ``if STEP.PATH`` alone means truthy, ``unless STEP.PATH`` means falsy.
    - Without an arrow, the registered agent names that occur in the goal as words, in
      the order they occur, form a chain (``"count the words with word_count"``).

    Names in an arrow chain are taken as written, so a misspelt agent reaches
    validation and is rejected there with the list of known agents.
    """

    name = "deterministic"

    _CONDITION = re.compile(
        r"^(?P<agent>\S+)\s+(?P<kw>if|unless)\s+(?P<step>[^\s.]+)\.(?P<path>\S+)"
        r"(?:\s+(?P<op>eq|ne|gt|lt|==|!=|>|<)\s+(?P<value>.+))?$"
    )
    _OPS = {"==": "eq", "!=": "ne", ">": "gt", "<": "lt"}

    async def plan(
        self, goal: str, input_model: type[BaseModel] | None, registry: AgentRegistry
    ) -> Plan:
        """A chain plan for ``goal`` (see the class docstring for the rules)."""
        text = goal.replace("→", "->").strip()
        if "->" in text:
            segments = [s.strip() for s in text.split("->")]
            if any(not s for s in segments):
                raise PlanRejected(f"goal {goal!r} has an empty step between arrows")
        else:
            known = set(registry.names())
            segments = [w for w in re.findall(r"[\w.-]+", text) if w in known]
            if not segments:
                raise PlanRejected(
                    f"goal {goal!r} names no registered agent; write it as 'agent -> agent' "
                    f"(known agents: {', '.join(registry.names()) or 'none'})"
                )
        steps: list[PlanStep] = []
        counts: dict[str, int] = {}
        previous = INPUT
        for segment in segments:
            agent, condition = self._parse(segment, goal)
            counts[agent] = counts.get(agent, 0) + 1
            step_id = agent if counts[agent] == 1 else f"{agent}#{counts[agent]}"
            steps.append(PlanStep(id=step_id, agent=agent, input=previous, condition=condition))
            previous = step_id
        return Plan(goal=goal, steps=steps)

    def _parse(self, segment: str, goal: str) -> tuple[str, Condition | None]:
        if " " not in segment:
            return segment, None
        match = self._CONDITION.match(segment)
        if match is None:
            raise PlanRejected(
                f"goal {goal!r}: cannot read step {segment!r}; expected 'AGENT' or "
                "'AGENT if STEP.FIELD [OP VALUE]'"
            )
        op = match["op"]
        if op is None:
            op = "truthy" if match["kw"] == "if" else "falsy"
        elif match["kw"] == "unless":
            raise PlanRejected(f"goal {goal!r}: 'unless' takes no comparison in {segment!r}")
        op = self._OPS.get(op, op)
        value: Any = None
        if match["value"] is not None:
            try:
                value = json.loads(match["value"])
            except json.JSONDecodeError:
                value = match["value"].strip()
        condition = Condition.model_validate(
            {"step": match["step"], "path": match["path"], "op": op, "value": value}
        )
        return match["agent"], condition


# --- validation ------------------------------------------------------------------------


def check_plan(
    plan: Plan, registry: AgentRegistry, input_model: type[BaseModel] | None
) -> tuple[str, str | None] | None:
    """None when ``plan`` can run; else ``(reason, step id or None)``.

    Checks, in order: steps present, unique and not named ``input``; every agent
    registered, and its settings ones it accepts; every reference (input, condition,
    output) a known step; no cycle; every data edge type-compatible (the plan's input is
    skipped when ``input_model`` is None); every condition's path a field of that step's
    output, with a value where the op needs one. Nothing is run.
    """
    if not plan.steps:
        return "the plan has no steps", None
    by_id: dict[str, PlanStep] = {}
    for step in plan.steps:
        if step.id == INPUT:
            return f"step id {INPUT!r} is reserved for the plan's input", step.id
        if step.id in by_id:
            return f"step id {step.id!r} is used twice", step.id
        by_id[step.id] = step
    classes: dict[str, Any] = {}
    for step in plan.steps:
        if step.agent not in registry:
            known = ", ".join(registry.names()) or "none"
            return (
                f"step {step.id!r}: unknown agent {step.agent!r}; known agents: {known}",
                step.id,
            )
        try:
            classes[step.id] = registry.get(step.agent)
        except UnknownAgentError as exc:
            return f"step {step.id!r}: {exc.one_line()}", step.id
        except Exception as exc:  # a broken entry point: its import fails
            return f"step {step.id!r}: agent {step.agent!r} cannot be loaded: {exc}", step.id
        try:
            classes[step.id].check_settings(step.settings, agent=step.agent)
        except ForgeflowError as exc:
            return f"step {step.id!r}: {exc.one_line()}", step.id
    for step in plan.steps:
        if step.input != INPUT and step.input not in by_id:
            return (
                f"step {step.id!r}: input {step.input!r} is neither {INPUT!r} nor a step id",
                step.id,
            )
        if step.condition is not None and step.condition.step not in by_id:
            return (
                f"step {step.id!r}: condition refers to unknown step {step.condition.step!r}",
                step.id,
            )
    if plan.output is not None and plan.output not in by_id:
        return f"output {plan.output!r} is not a step id", None
    cycle = _find_cycle(plan)
    if cycle is not None:
        return f"cycle: {' -> '.join(cycle)}", cycle[0]
    for step in plan.steps:
        in_model = classes[step.id].input_model
        if step.input == INPUT:
            if input_model is None:
                continue
            source, source_model = "the plan input", input_model
        else:
            source = f"step {step.input!r}"
            source_model = classes[step.input].output_model
        why = incompatibility(source_model, in_model)
        if why is not None:
            return (
                f"step {step.id!r} (agent {step.agent!r}): input {in_model.__name__} cannot "
                f"take output {source_model.__name__} of {source}: {why}",
                step.id,
            )
        if step.condition is not None:
            cond = step.condition
            why = _path_problem(classes[cond.step].output_model, cond.path)
            if why is not None:
                return f"step {step.id!r}: condition on step {cond.step!r}: {why}", step.id
            if cond.op in ("gt", "lt") and cond.value is None:
                return f"step {step.id!r}: condition op {cond.op!r} needs a value", step.id
    return None


def validate_plan(plan: Plan, registry: AgentRegistry, input_model: type[BaseModel] | None) -> None:
    """Raise :class:`PlanRejected` with the reason when ``plan`` cannot run."""
    problem = check_plan(plan, registry, input_model)
    if problem is not None:
        reason, step = problem
        raise PlanRejected(reason, step=step)


def _find_cycle(plan: Plan) -> list[str] | None:
    deps = {s.id: plan.dependencies(s) for s in plan.steps}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in deps[node]:
            if state.get(dep) == 1:
                start = path.index(dep)
                # path runs from a step to what it waits for; show data-flow order
                return list(reversed([*path[start:], dep]))
            if dep not in state:
                found = visit(dep)
                if found is not None:
                    return found
        path.pop()
        state[node] = 2
        return None

    for step in plan.steps:
        if step.id not in state:
            found = visit(step.id)
            if found is not None:
                return found
    return None


def _path_problem(model: type[BaseModel], path: str) -> str | None:
    current: Any = model
    walked = model.__name__
    for part in path.split("."):
        current = _unwrap_optional(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                return f"{walked} has no field {part!r}"
            current = current.model_fields[part].annotation
        elif get_origin(current) in (list, tuple) or current in (list, tuple):
            if not part.isdigit():
                return f"{walked} is {type_name(current)}; {part!r} is not a list index"
            args = get_args(current)
            current = args[0] if args else Any
        elif get_origin(current) is dict or current in (dict, Any):
            args = get_args(current)
            current = args[1] if len(args) == 2 else Any
        else:
            return f"{walked} is {type_name(current)}; it has no field {part!r}"
        walked = f"{walked}.{part}"
    return None


def _unwrap_optional(tp: Any) -> Any:
    args = get_args(tp)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return tp


def _lookup(doc: Any, path: str) -> Any:
    current = doc
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


# --- running ---------------------------------------------------------------------------

StepStatus = Literal["succeeded", "failed", "skipped"]


@dataclass
class StepOutcome:
    """What became of one plan step. ``reason`` says why a step failed or was skipped."""

    step: PlanStep
    status: StepStatus
    run: AgentRun | None = None
    reason: str | None = None

    @property
    def output(self) -> AgentResult | None:
        return self.run.output if self.run is not None and self.status == "succeeded" else None


@dataclass
class CoordinatorResult:
    """A plan's run: the plan, which planner made it, and each step's outcome (plan order)."""

    plan: Plan
    planner: str
    steps: dict[str, StepOutcome] = field(default_factory=dict)

    @property
    def runs(self) -> list[AgentRun]:
        """The agent runs of the steps that ran (not the skipped ones), in plan order."""
        return [o.run for o in self.steps.values() if o.run is not None and o.status != "skipped"]

    @property
    def succeeded(self) -> list[str]:
        return [k for k, o in self.steps.items() if o.status == "succeeded"]

    @property
    def failed(self) -> dict[str, str]:
        """Step id -> error, for the steps that ran and failed."""
        return {k: o.reason or "failed" for k, o in self.steps.items() if o.status == "failed"}

    @property
    def skipped(self) -> dict[str, str]:
        """Step id -> why it was not run."""
        return {k: o.reason or "skipped" for k, o in self.steps.items() if o.status == "skipped"}

    @property
    def ok(self) -> bool:
        """True when no step failed (skipped steps are fine)."""
        return not self.failed

    @property
    def output(self) -> AgentResult | None:
        """The ``plan.output`` step's output, or else the last succeeded step's output."""
        if self.plan.output is not None:
            return self.steps[self.plan.output].output
        for outcome in reversed(list(self.steps.values())):
            if outcome.status == "succeeded":
                return outcome.output
        return None


class Coordinator:
    """Plans with ``planner``, validates the plan, and runs it with agents from ``registry``.

    Stage names are ``f"{name}/{step id}"``. ``max_concurrency`` bounds how many
    independent steps run at once (None: no bound).
    """

    def __init__(
        self,
        registry: AgentRegistry | None = None,
        planner: Planner | None = None,
        *,
        name: str = "plan",
        max_concurrency: int | None = None,
    ) -> None:
        self.registry = registry if registry is not None else default_registry()
        self.planner: Planner = planner if planner is not None else DeterministicPlanner()
        self.name = name
        if max_concurrency is not None and max_concurrency < 1:
            raise PipelineError(
                f"coordinator: max_concurrency must be at least 1, not {max_concurrency}"
            )
        self.max_concurrency = max_concurrency

    @property
    def planner_name(self) -> str:
        """How results name the planner: its ``name`` attribute, else its class name."""
        return str(getattr(self.planner, "name", None) or type(self.planner).__name__)

    async def make_plan(self, goal: str, input_model: type[BaseModel] | None) -> Plan:
        """Ask the planner for a plan and validate it; :class:`PlanRejected` if invalid."""
        plan = await self.planner.plan(goal, input_model, self.registry)
        validate_plan(plan, self.registry, input_model)
        return plan

    async def run(
        self,
        goal: str,
        data: BaseModel | dict[str, Any],
        ctx: RunContext | None = None,
        plan: Plan | None = None,
        *,
        input_model: type[BaseModel] | None = None,
    ) -> CoordinatorResult:
        """Build (unless ``plan`` is given), validate and run a plan for ``goal`` on ``data``.

        ``input_model`` is the type of ``data`` for validation; by default the class of
        ``data`` when it is a model (a dict is then validated by each first step as it
        runs). Raises :class:`PlanRejected` before anything runs when the plan is invalid;
        otherwise never raises for a failing agent.
        """
        if input_model is not None:
            data = coerce_model(input_model, data, what="plan input")
        elif isinstance(data, BaseModel):
            input_model = type(data)
        if plan is None:
            plan = await self.make_plan(goal, input_model)
            planner = self.planner_name
        else:
            validate_plan(plan, self.registry, input_model)
            planner = "given"
        ctx = ctx or RunContext()
        outcomes = await self._execute(plan, data, ctx)
        return CoordinatorResult(
            plan=plan, planner=planner, steps={s.id: outcomes[s.id] for s in plan.steps}
        )

    async def _execute(
        self, plan: Plan, data: BaseModel | dict[str, Any], ctx: RunContext
    ) -> dict[str, StepOutcome]:
        outcomes: dict[str, StepOutcome] = {}
        finished = {s.id: asyncio.Event() for s in plan.steps}
        gate: AbstractAsyncContextManager[Any] = (
            asyncio.Semaphore(self.max_concurrency)
            if self.max_concurrency is not None
            else nullcontext()
        )

        async with AgentSession() as session:

            async def run_step(step: PlanStep) -> None:
                try:
                    for dep in plan.dependencies(step):
                        await finished[dep].wait()
                    outcomes[step.id] = await self._step(step, data, outcomes, ctx, session, gate)
                finally:
                    finished[step.id].set()

            await asyncio.gather(*(run_step(s) for s in plan.steps))
        return outcomes

    async def _step(
        self,
        step: PlanStep,
        data: BaseModel | dict[str, Any],
        outcomes: dict[str, StepOutcome],
        ctx: RunContext,
        session: AgentSession,
        gate: AbstractAsyncContextManager[Any],
    ) -> StepOutcome:
        try:
            agent = self.registry.create(
                step.agent, AgentConfig(name=step.agent, settings=step.settings)
            )
        except Exception as exc:
            why = f"agent {step.agent!r} cannot be created: {describe_error(exc)}"
            return StepOutcome(step=step, status="failed", reason=why)
        stage = f"{self.name}/{step.id}"
        step_input: BaseModel | dict[str, Any] | None = data
        reason: str | None = None
        if step.input != INPUT:
            source = outcomes.get(step.input)
            step_input = source.output if source is not None else None
            if step_input is None:
                reason = f"input step {step.input!r} {source.status if source else 'not run'}"
        if reason is None and step.condition is not None:
            reason = self._condition_blocks(step.condition, outcomes)
        if reason is not None or step_input is None:
            run = recorded_run(
                agent,
                step_input if step_input is not None else {},
                ctx,
                stage=stage,
                status=ArtifactStatus.SKIPPED,
                error=reason,
            )
            return StepOutcome(step=step, status="skipped", run=run, reason=reason)
        async with gate:
            run = await session.run(agent, step_input, ctx, stage=stage)
        if run.ok and run.output is not None:
            return StepOutcome(step=step, status="succeeded", run=run)
        return StepOutcome(step=step, status="failed", run=run, reason=run.error)

    @staticmethod
    def _condition_blocks(cond: Condition, outcomes: dict[str, StepOutcome]) -> str | None:
        """Why ``cond`` keeps its step from running, or None when the step may run."""
        tested = outcomes.get(cond.step)
        if tested is None or tested.output is None:
            return f"condition step {cond.step!r} {tested.status if tested else 'not run'}"
        try:
            holds, found = cond.evaluate(tested.output)
        except TypeError as exc:
            return f"condition {cond.describe()} cannot be evaluated: {exc}"
        if holds:
            return None
        return f"condition {cond.describe()} is false (found {json.dumps(found)})"
