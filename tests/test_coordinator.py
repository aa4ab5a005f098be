"""Hierarchical coordinator: planning, validation before running, conditions, concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from sample_agents import Numbers, SumAgent, Total

from agents.base import Agent
from agents.builtin import TextInput, TextOutput, WordCount
from agents.registry import AgentRegistry
from orchestration.patterns.coordinator import (
    Condition,
    Coordinator,
    DeterministicPlanner,
    Plan,
    PlanRejected,
    PlanStep,
    check_plan,
)
from orchestration.runtime.execution import RunContext
from orchestration.runtime.monitoring import RunMonitor

#: Names of the agents that ran, in order; reset for every test.
journal: list[str] = []


class ShoutAgent(Agent[TextInput, TextOutput]):
    name = "shout"
    input_model = TextInput
    output_model = TextOutput

    async def process(self, data: TextInput) -> TextOutput:
        journal.append(self.name)
        return TextOutput(text=data.text.upper())


class CountAgent(Agent[TextInput, WordCount]):
    name = "count"
    input_model = TextInput
    output_model = WordCount

    async def process(self, data: TextInput) -> WordCount:
        journal.append(self.name)
        return WordCount(text=data.text, words=len(data.text.split()), characters=len(data.text))


class JournalSum(SumAgent):
    async def process(self, data: Numbers) -> Total:
        journal.append(self.name)
        return await super().process(data)


class BrokenAgent(Agent[TextInput, TextOutput]):
    name = "broken"
    input_model = TextInput
    output_model = TextOutput

    async def process(self, data: TextInput) -> TextOutput:
        journal.append(self.name)
        raise RuntimeError("backend down")


#: Two agents that each wait until the other has started: they finish only if they
#: run at the same time.
BARRIER: dict[str, Any] = {}


class MeetAgent(Agent[TextInput, TextOutput]):
    name = "meet"
    input_model = TextInput
    output_model = TextOutput

    async def process(self, data: TextInput) -> TextOutput:
        BARRIER["arrived"] += 1
        if BARRIER["arrived"] == 2:
            BARRIER["event"].set()
        await BARRIER["event"].wait()
        return TextOutput(text=data.text)


@pytest.fixture(autouse=True)
def _clear_journal() -> Iterator[None]:
    journal.clear()
    yield
    journal.clear()


@pytest.fixture
def registry() -> AgentRegistry:
    reg = AgentRegistry(builtins=False, entry_point_agents=False)
    for cls in (ShoutAgent, CountAgent, JournalSum, BrokenAgent, MeetAgent):
        reg.register(cls)
    return reg


async def test_deterministic_chain_runs_and_reports_its_planner(registry: AgentRegistry) -> None:
    result = await Coordinator(registry).run("shout -> count", TextInput(text="a b c"))
    assert result.ok
    assert result.planner == "deterministic"
    assert [s.id for s in result.plan.steps] == ["shout", "count"]
    assert isinstance(result.output, WordCount)
    assert result.output.text == "A B C"
    assert journal == ["shout", "count"]


async def test_a_given_plan_is_reported_as_given(registry: AgentRegistry) -> None:
    plan = Plan(steps=[PlanStep(id="only", agent="count")])
    result = await Coordinator(registry).run("ignored", {"text": "x y"}, plan=plan)
    assert result.planner == "given"
    assert isinstance(result.output, WordCount) and result.output.words == 2


def _steps(*steps: dict[str, Any]) -> Plan:
    return Plan(steps=[PlanStep.model_validate(s) for s in steps])


@pytest.mark.parametrize(
    ("plan", "reason"),
    [
        pytest.param(
            _steps({"id": "a", "agent": "shout"}, {"id": "b", "agent": "summarise", "input": "a"}),
            "step 'b': unknown agent 'summarise'; known agents: broken, count, meet, shout, sum",
            id="unknown-agent",
        ),
        pytest.param(
            _steps({"id": "c", "agent": "count"}, {"id": "s", "agent": "sum", "input": "c"}),
            "step 's' (agent 'sum'): input Numbers cannot take output WordCount of step 'c': "
            "field 'values' missing from WordCount (Numbers requires list[int])",
            id="bad-data-flow",
        ),
        pytest.param(
            _steps({"id": "s", "agent": "sum"}),
            "step 's' (agent 'sum'): input Numbers cannot take output TextInput of the plan "
            "input: field 'values' missing from TextInput (Numbers requires list[int])",
            id="plan-input-does-not-fit",
        ),
        pytest.param(
            _steps(
                {"id": "a", "agent": "shout", "input": "c"},
                {"id": "b", "agent": "shout", "input": "a"},
                {"id": "c", "agent": "shout", "input": "b"},
            ),
            "cycle: a -> b -> c -> a",
            id="cycle",
        ),
        pytest.param(
            _steps({"id": "a", "agent": "shout", "input": "a"}),
            "cycle: a -> a",
            id="self-reference",
        ),
        pytest.param(
            _steps({"id": "a", "agent": "shout", "input": "nowhere"}),
            "step 'a': input 'nowhere' is neither 'input' nor a step id",
            id="unknown-step-reference",
        ),
        pytest.param(
            _steps(
                {"id": "a", "agent": "shout"},
                {"id": "a", "agent": "count"},
            ),
            "step id 'a' is used twice",
            id="duplicate-step-id",
        ),
        pytest.param(
            _steps({"id": "input", "agent": "shout"}),
            "step id 'input' is reserved for the plan's input",
            id="reserved-step-id",
        ),
        pytest.param(
            _steps(
                {"id": "c", "agent": "count"},
                {
                    "id": "s",
                    "agent": "shout",
                    "condition": {"step": "c", "path": "wrods", "op": "gt", "value": 1},
                },
            ),
            "step 's': condition on step 'c': WordCount has no field 'wrods'",
            id="condition-unknown-field",
        ),
        pytest.param(
            _steps(
                {"id": "c", "agent": "count"},
                {"id": "s", "agent": "shout", "condition": {"step": "x", "path": "words"}},
            ),
            "step 's': condition refers to unknown step 'x'",
            id="condition-unknown-step",
        ),
        pytest.param(Plan(steps=[]), "the plan has no steps", id="empty"),
    ],
)
async def test_invalid_plans_are_rejected_before_anything_runs(
    registry: AgentRegistry, plan: Plan, reason: str
) -> None:
    monitor = RunMonitor()
    with pytest.raises(PlanRejected) as info:
        await Coordinator(registry).run(
            "goal", TextInput(text="a b"), RunContext(monitor=monitor), plan=plan
        )
    assert info.value.reason == reason
    assert str(info.value) == f"plan rejected: {reason}"
    assert journal == []
    assert monitor.records == []


async def test_a_planned_unknown_agent_is_rejected_before_anything_runs(
    registry: AgentRegistry,
) -> None:
    with pytest.raises(PlanRejected, match="unknown agent 'cuont'"):
        await Coordinator(registry).run("shout -> cuont", TextInput(text="a"))
    assert journal == []


class ScriptedPlanner:
    """A stand-in for a model-backed planner: returns the plans it was given, in turn."""

    name = "scripted"

    def __init__(self, *plans: Plan) -> None:
        self.plans = list(plans)
        self.asked: list[tuple[str, type[BaseModel] | None]] = []

    async def plan(
        self, goal: str, input_model: type[BaseModel] | None, registry: AgentRegistry
    ) -> Plan:
        self.asked.append((goal, input_model))
        return self.plans.pop(0)


async def test_a_planners_invalid_plan_is_rejected_with_the_step(registry: AgentRegistry) -> None:
    planner = ScriptedPlanner(
        _steps({"id": "c", "agent": "count"}, {"id": "s", "agent": "sum", "input": "c"})
    )
    with pytest.raises(PlanRejected) as info:
        await Coordinator(registry, planner).run("add up", TextInput(text="1 2"))
    assert info.value.step == "s"
    assert planner.asked == [("add up", TextInput)]
    assert journal == []


@pytest.mark.parametrize(
    ("text", "runs", "skipped"),
    [
        pytest.param(
            "one two",
            ["count"],
            {"shout": "condition count.words gt 3 is false (found 2)"},
            id="skipped",
        ),
        pytest.param("one two three four", ["count", "shout"], {}, id="runs"),
    ],
)
async def test_conditional_steps_run_or_are_recorded_as_skipped(
    registry: AgentRegistry, text: str, runs: list[str], skipped: dict[str, str]
) -> None:
    monitor = RunMonitor()
    coordinator = Coordinator(registry)
    goal = "count -> shout if count.words gt 3"
    result = await coordinator.run(goal, TextInput(text=text), RunContext(monitor=monitor))
    assert result.ok
    assert journal == runs
    assert result.skipped == skipped
    assert [r.stage for r in result.runs] == [f"plan/{name}" for name in runs]
    statuses = {r.stage: r.status for r in monitor.records}
    assert statuses["plan/shout"] == ("skipped" if skipped else "succeeded")


async def test_a_failed_step_skips_its_dependents_and_not_the_others(
    registry: AgentRegistry,
) -> None:
    plan = _steps(
        {"id": "b", "agent": "broken"},
        {"id": "after", "agent": "count", "input": "b"},
        {"id": "aside", "agent": "shout"},
    )
    result = await Coordinator(registry).run("g", TextInput(text="x"), plan=plan)
    assert not result.ok
    assert result.failed == {"b": "RuntimeError: backend down"}
    assert result.skipped == {"after": "input step 'b' failed"}
    assert result.succeeded == ["aside"]
    assert sorted(journal) == ["broken", "shout"]


async def test_independent_steps_run_concurrently(registry: AgentRegistry) -> None:
    BARRIER.update(arrived=0, event=asyncio.Event())
    plan = _steps({"id": "left", "agent": "meet"}, {"id": "right", "agent": "meet"})
    coordinator = Coordinator(registry)
    result = await asyncio.wait_for(coordinator.run("g", TextInput(text="x"), plan=plan), 5)
    assert result.succeeded == ["left", "right"]


@pytest.mark.parametrize(
    ("goal", "steps"),
    [
        pytest.param(
            "shout → count",
            [("shout", "shout", "input", None), ("count", "count", "shout", None)],
            id="unicode-arrow",
        ),
        pytest.param(
            "count the words, then shout",
            [("count", "count", "input", None), ("shout", "shout", "count", None)],
            id="names-found-in-prose",
        ),
        pytest.param(
            "shout -> shout",
            [("shout", "shout", "input", None), ("shout#2", "shout", "shout", None)],
            id="repeats-are-numbered",
        ),
        pytest.param(
            "count -> shout unless count.warnings",
            [
                ("count", "count", "input", None),
                ("shout", "shout", "count", Condition(step="count", path="warnings", op="falsy")),
            ],
            id="unless-is-falsy",
        ),
        pytest.param(
            'count -> shout if count.text == "a b"',
            [
                ("count", "count", "input", None),
                (
                    "shout",
                    "shout",
                    "count",
                    Condition(step="count", path="text", op="eq", value="a b"),
                ),
            ],
            id="json-value",
        ),
    ],
)
async def test_deterministic_planner_rules(
    registry: AgentRegistry, goal: str, steps: list[tuple[str, str, str, Condition | None]]
) -> None:
    plan = await DeterministicPlanner().plan(goal, TextInput, registry)
    got = [(s.id, s.agent, s.input, s.condition) for s in plan.steps]
    assert got == steps
    assert check_plan(plan, registry, TextInput) is None


@pytest.mark.parametrize(
    ("goal", "reason"),
    [
        pytest.param(
            "make it nice",
            "goal 'make it nice' names no registered agent; write it as 'agent -> agent' "
            "(known agents: broken, count, meet, shout, sum)",
            id="no-agent-named",
        ),
        pytest.param(
            "shout -> -> count",
            "goal 'shout -> -> count' has an empty step between arrows",
            id="empty-step",
        ),
        pytest.param(
            "shout -> count when ready",
            "goal 'shout -> count when ready': cannot read step 'count when ready'; expected "
            "'AGENT' or 'AGENT if STEP.FIELD [OP VALUE]'",
            id="unreadable-step",
        ),
    ],
)
async def test_deterministic_planner_refuses_unreadable_goals(
    registry: AgentRegistry, goal: str, reason: str
) -> None:
    with pytest.raises(PlanRejected) as info:
        await DeterministicPlanner().plan(goal, TextInput, registry)
    assert info.value.reason == reason
