"""The AI planner for the Coordinator, with the local OpenAI-compatible stand-in as the model.

An invalid plan (unknown agent, bad data flow) is rejected with the reason and asked for
again; a model that never produces a valid plan, or cannot be reached, leaves the
coordinator on the deterministic planner, and the result says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from openai_stub import Fault, OpenAIStub, client_for, no_external_network  # noqa: F401 (a fixture)

from agents.builtin import TextInput, TextOutput
from agents.model_client import ScriptedModelClient
from agents.models.config import ModelConfigError, ModelEndpoint, Secret
from agents.models.openai_client import OpenAIModelClient
from agents.registry import AgentRegistry
from orchestration.patterns.ai_planner import AIPlanner
from orchestration.patterns.coordinator import Coordinator, DeterministicPlanner, PlanRejected

# Only loopback (the stand-in) may be reached; anything else fails the test.
pytestmark = pytest.mark.usefixtures("no_external_network")

KEY = "sk-test-planner"
DATA = TextInput(text="make this loud please")


def plan(*steps: dict[str, Any], output: str | None = None) -> dict[str, Any]:
    return {"goal": "", "steps": list(steps), "output": output}


UNKNOWN_AGENT = plan({"id": "s", "agent": "summarise", "input": "input"})
BAD_FLOW = plan(
    {"id": "count", "agent": "word_count", "input": "input"},
    {"id": "look", "agent": "vision", "input": "count"},
)
GOOD = plan(
    {"id": "count", "agent": "word_count", "input": "input"},
    {
        "id": "shout",
        "agent": "uppercase",
        "input": "count",
        "condition": {"step": "count", "path": "words", "op": "gt", "value": 2},
    },
)


@pytest.fixture
def registry() -> AgentRegistry:
    return AgentRegistry(entry_point_agents=False)


@pytest.fixture
async def stub() -> AsyncIterator[OpenAIStub]:
    with OpenAIStub(key=KEY) as server:
        yield server


@pytest.fixture
async def client(stub: OpenAIStub) -> AsyncIterator[OpenAIModelClient]:
    made = client_for(stub, "gpt-4.1-mini")
    yield made
    await made.aclose()


def shouted(result: Any) -> str:
    out = result.output
    assert isinstance(out, TextOutput)
    return out.text


def last_user_message(request: Any) -> str:
    return request.body["messages"][-1]["content"]


async def test_invalid_plans_are_rejected_and_asked_again(
    stub: OpenAIStub, client: OpenAIModelClient, registry: AgentRegistry
) -> None:
    stub.push(UNKNOWN_AGENT, BAD_FLOW, GOOD)
    planner = AIPlanner(client)
    result = await Coordinator(registry, planner).run("count the words, then shout", DATA)
    assert result.planner == "ai"
    assert [s.id for s in result.plan.steps] == ["count", "shout"]
    assert result.plan.goal == "count the words, then shout"
    assert result.succeeded == ["count", "shout"]
    assert shouted(result) == "MAKE THIS LOUD PLEASE"
    assert len(stub.requests) == 3
    first, second, third = stub.requests
    assert first.body["response_format"]["json_schema"]["name"] == "Plan"
    prompt = last_user_message(first)
    assert "- word_count: TextInput -> WordCount" in prompt
    assert "The plan's input: TextInput (fields: text)" in prompt
    assert "unknown agent 'summarise'" in last_user_message(second)
    assert "step 'look' (agent 'vision'): input DiagramInput cannot take output WordCount" in (
        last_user_message(third)
    )
    assert len(planner.rejections) == 2


async def test_no_valid_plan_falls_back_to_the_deterministic_planner(
    stub: OpenAIStub, client: OpenAIModelClient, registry: AgentRegistry
) -> None:
    stub.default = UNKNOWN_AGENT
    goal = "word_count -> uppercase"
    planner = AIPlanner(client, max_attempts=3)
    result = await Coordinator(registry, planner).run(goal, DATA)
    assert len(stub.requests) == 3
    expected = await DeterministicPlanner().plan(goal, TextInput, registry)
    assert result.plan == expected
    assert result.planner.startswith("deterministic (fallback: the model gave no valid plan")
    assert "unknown agent 'summarise'" in result.planner
    assert result.ok and shouted(result) == "MAKE THIS LOUD PLEASE"
    assert len(planner.rejections) == 3


async def test_a_reply_that_is_not_a_plan_counts_as_an_attempt(
    stub: OpenAIStub, client: OpenAIModelClient, registry: AgentRegistry
) -> None:
    stub.push({"steps": "all of them"}, GOOD)
    result = await Coordinator(registry, AIPlanner(client)).run("count", DATA)
    assert result.planner == "ai"
    assert "$.steps" in last_user_message(stub.requests[1])


async def test_unreachable_model_falls_back_and_says_why(
    stub: OpenAIStub, client: OpenAIModelClient, registry: AgentRegistry
) -> None:
    stub.default = Fault(503, message="overloaded")
    result = await Coordinator(registry, AIPlanner(client)).run("word_count", DATA)
    assert result.planner.startswith("deterministic (fallback: the model could not be asked")
    assert "HTTP 503" in result.planner
    assert [s.agent for s in result.plan.steps] == ["word_count"]


async def test_fallback_that_cannot_plan_either_names_both(
    stub: OpenAIStub, client: OpenAIModelClient, registry: AgentRegistry
) -> None:
    stub.default = UNKNOWN_AGENT
    with pytest.raises(PlanRejected) as info:
        await Coordinator(registry, AIPlanner(client, max_attempts=1)).run("do magic", DATA)
    line = info.value.one_line()
    assert "names no registered agent" in line
    assert "the AI planner fell back: the model gave no valid plan in 1 attempts" in line


async def test_a_refused_key_is_not_hidden_by_the_fallback(registry: AgentRegistry) -> None:
    with OpenAIStub(key="sk-the-right-one") as server:
        endpoint = ModelEndpoint(server.base_url, Secret("sk-a-wrong-one"), model="m")
        client = OpenAIModelClient(endpoint)
        try:
            with pytest.raises(ModelConfigError, match="refused the API key"):
                await Coordinator(registry, AIPlanner(client)).run("word_count", DATA)
        finally:
            await client.aclose()


async def test_works_with_any_model_client(registry: AgentRegistry) -> None:
    scripted = ScriptedModelClient([BAD_FLOW, GOOD])
    planner = AIPlanner(scripted)
    result = await Coordinator(registry, planner).run("count, then shout", DATA)
    assert result.planner == "ai" and len(scripted.calls) == 2
