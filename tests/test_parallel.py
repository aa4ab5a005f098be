"""Parallel fan-out/fan-in: isolation of failures, the concurrency bound, combiner input."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel
from sample_agents import SumAgent

from agents.base import Agent
from agents.builtin import (
    EchoAgent,
    TextInput,
    TextOutput,
    UppercaseAgent,
    WordCount,
    WordCountAgent,
)
from agents.errors import PipelineError
from agents.synthforge.models import (
    CombineInput,
    CostEstimate,
    NetworkFlowResult,
    Review,
    ReviewedArchitecture,
    SecurityResult,
)
from orchestration.patterns.parallel import ParallelOrchestrator
from orchestration.runtime.execution import RunContext
from orchestration.runtime.monitoring import RunMonitor


class FailingAgent(Agent[TextInput, TextOutput]):
    """Raises on every input."""

    name = "failing"
    input_model = TextInput
    output_model = TextOutput

    async def process(self, data: TextInput) -> TextOutput:
        raise ValueError("model quota exhausted")


class Gauge:
    """Counts agents in flight and remembers the most seen at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0


class InFlightAgent(EchoAgent):
    """Holds its slot for several scheduler turns so that overlapping runs are visible."""

    def __init__(self, gauge: Gauge, name: str) -> None:
        super().__init__()
        self.gauge = gauge
        self.branch = name

    async def process(self, data: TextInput) -> TextOutput:
        self.gauge.now += 1
        self.gauge.most = max(self.gauge.most, self.gauge.now)
        for _ in range(20):
            await asyncio.sleep(0)
        self.gauge.now -= 1
        return TextOutput(text=self.branch)


async def test_one_failing_branch_is_isolated_and_recorded() -> None:
    monitor = RunMonitor()
    group = ParallelOrchestrator(
        {"shout": UppercaseAgent(), "broken": FailingAgent(), "count": WordCountAgent()}
    )
    result = await group.run(TextInput(text="a b"), RunContext(monitor=monitor), group="fan")
    assert list(result.runs) == ["shout", "broken", "count"]
    assert not result.ok
    assert result.failed == {"broken": "ValueError: model quota exhausted"}
    assert set(result.succeeded) == {"shout", "count"}
    assert isinstance(result.succeeded["count"], WordCount)
    assert result.succeeded["count"].words == 2
    assert sorted(r.stage for r in monitor.records) == ["fan/broken", "fan/count", "fan/shout"]


async def test_invalid_input_for_one_branch_does_not_stop_the_others() -> None:
    result = await ParallelOrchestrator([EchoAgent(), SumAgent()]).run({"text": "hi"})
    assert result.failed == {"sum": "input of agent 'sum': $.values: Field required"}
    assert result.succeeded["echo"] == TextOutput(text="hi")


@pytest.mark.parametrize(
    ("bound", "expected_most"),
    [
        pytest.param(1, 1, id="one-at-a-time"),
        pytest.param(2, 2, id="two-at-a-time"),
        pytest.param(None, 5, id="unbounded"),
    ],
)
async def test_concurrency_bound_limits_agents_in_flight(
    bound: int | None, expected_most: int
) -> None:
    gauge = Gauge()
    branches = {f"b{i}": InFlightAgent(gauge, f"b{i}") for i in range(5)}
    result = await ParallelOrchestrator(branches, max_concurrency=bound).run({"text": "x"})
    assert result.ok
    assert gauge.most == expected_most
    texts = [out.text for out in result.succeeded.values() if isinstance(out, TextOutput)]
    assert texts == ["b0", "b1", "b2", "b3", "b4"]


@pytest.mark.parametrize(
    ("branches", "bound", "message"),
    [
        pytest.param({}, None, "parallel group has no branches", id="empty"),
        pytest.param(
            [EchoAgent(), EchoAgent()],
            None,
            "parallel group: two branches are named 'echo'; pass a mapping of branch name to agent",
            id="duplicate-names",
        ),
        pytest.param(
            {"upstream": EchoAgent()},
            None,
            "parallel group: branch name 'upstream' is reserved for the combiner input",
            id="reserved-name",
        ),
        pytest.param(
            [EchoAgent()],
            0,
            "parallel group: max_concurrency must be at least 1, not 0",
            id="zero-bound",
        ),
    ],
)
def test_malformed_groups_are_rejected(branches: Any, bound: int | None, message: str) -> None:
    with pytest.raises(PipelineError) as info:
        ParallelOrchestrator(branches, max_concurrency=bound)
    assert str(info.value) == message


async def test_combine_input_carries_outputs_none_for_failures_and_the_failures() -> None:
    group = ParallelOrchestrator({"shout": UppercaseAgent(), "broken": FailingAgent()})
    upstream = TextInput(text="hi")
    result = await group.run(upstream)
    assert result.combine_input(upstream) == {
        "upstream": {"text": "hi"},
        "shout": {"confidence": 1.0, "errors": [], "warnings": [], "text": "HI"},
        "broken": None,
        "failures": [{"branch": "broken", "error": "ValueError: model quota exhausted"}],
    }


class NetworkStub(Agent[ReviewedArchitecture, NetworkFlowResult]):
    name = "network_flow"
    input_model = ReviewedArchitecture
    output_model = NetworkFlowResult

    async def process(self, data: ReviewedArchitecture) -> NetworkFlowResult:
        return NetworkFlowResult()


class SecurityStub(Agent[ReviewedArchitecture, SecurityResult]):
    name = "security"
    input_model = ReviewedArchitecture
    output_model = SecurityResult

    async def process(self, data: ReviewedArchitecture) -> SecurityResult:
        raise RuntimeError("advisor offline")


async def test_synthforge_combine_input_validates_with_a_failed_branch() -> None:
    upstream = ReviewedArchitecture(
        source="a.drawio", review=Review(reviewer="ci", method="accept_all")
    )
    group = ParallelOrchestrator([NetworkStub(), SecurityStub()])
    result = await group.run(upstream)
    combined = CombineInput.model_validate(result.combine_input(upstream))
    assert combined.network_flow == NetworkFlowResult()
    assert combined.security is None
    assert [(f.branch, f.error) for f in combined.failures] == [
        ("security", "RuntimeError: advisor offline")
    ]


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        pytest.param(
            {
                "network_flow": NetworkFlowResult,
                "security": SecurityResult,
                "cost_estimation": CostEstimate,
            },
            None,
            id="synthforge-group-fits",
        ),
        pytest.param(
            {"network_flow": NetworkFlowResult, "cost_estimation": WordCount},
            "field 'cost_estimation': the parallel group's output has WordCount | None, "
            "CombineInput needs CostEstimate | None",
            id="branch-output-clash",
        ),
    ],
)
def test_check_combiner(outputs: dict[str, type[BaseModel]], expected: str | None) -> None:
    reason = ParallelOrchestrator.check_combiner(outputs, ReviewedArchitecture, CombineInput)
    assert reason == expected


def test_check_combiner_rejects_a_wrong_upstream() -> None:
    reason = ParallelOrchestrator.check_combiner(
        {"security": SecurityResult}, TextInput, CombineInput
    )
    assert reason == (
        "field 'upstream': the parallel group's output has TextInput, "
        "CombineInput needs ReviewedArchitecture"
    )


class NeedsBranch(BaseModel):
    upstream: TextInput
    shout: TextOutput


def test_check_combiner_requires_optional_branch_fields() -> None:
    reason = ParallelOrchestrator.check_combiner({"shout": TextOutput}, TextInput, NeedsBranch)
    assert reason == (
        "field 'shout': the parallel group's output has TextOutput | None, "
        "NeedsBranch needs TextOutput"
    )
