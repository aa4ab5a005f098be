"""Agents that use tools, against the local OpenAI-compatible stand-in (tests/openai_stub.py),
which speaks the real tool-calling protocol (``tools``, ``tool_calls`` with ids, ``tool``
replies). What a user would notice: one tool, several in parallel, a failing tool, bad
arguments, a model looping past the round limit, the token budget, an agent offered as a
tool (cached, resumed, monitored), the safety rules, and the calls in the run summary.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openai_stub import OpenAIStub, ToolCalls, client_for

from agents.base import AgentConfig, MCPToolSource, ToolPolicy
from agents.errors import ToolError
from agents.models.assistant import AssistantAgent
from agents.models.openai_client import OpenAIModelClient
from agents.tools import ToolRegistry, function_tool
from agents.tools.toolset import check_tools, open_toolset
from orchestration.runtime.cache import DirectoryCache
from orchestration.runtime.execution import AgentRun, RunContext, execute
from orchestration.runtime.monitoring import RunMonitor
from orchestration.state.directory import DirectoryStore

ANSWER = {"answer": "done", "sources": []}
FUNCTION_APP = "img/lib/azure2/compute/Function_Apps.svg"


@pytest.fixture
async def client(openai_stub: OpenAIStub) -> AsyncIterator[OpenAIModelClient]:
    made = client_for(openai_stub, "gpt-4o-mini")
    yield made
    await made.aclose()


def tool_replies(body: dict[str, Any]) -> dict[str, str]:
    """tool_call_id -> content of the ``tool`` messages of one request."""
    return {m["tool_call_id"]: m["content"] for m in body["messages"] if m["role"] == "tool"}


def asked_calls(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool calls of the last assistant message of one request, in order."""
    asked = [m for m in body["messages"] if m["role"] == "assistant" and m.get("tool_calls")]
    return asked[-1]["tool_calls"]


async def run_assistant(
    client: OpenAIModelClient,
    tools: list[Any],
    *,
    ctx: RunContext | None = None,
    policy: ToolPolicy | None = None,
    registry: ToolRegistry | None = None,
    task: str = "find out",
) -> AgentRun:
    config = AgentConfig(name="assistant", tools=tools, tool_policy=policy or ToolPolicy())
    agent = AssistantAgent(config, model_client=client)
    if registry is not None:  # tools of a registry of the test's own
        async with open_toolset(config, tool_registry=registry) as toolset:
            agent.toolset = toolset
            return await execute(agent, {"task": task}, ctx or RunContext())
    async with agent:
        return await execute(agent, {"task": task}, ctx or RunContext())


# --------------------------------------------------------------------------- one tool


async def test_a_model_that_calls_one_tool(openai_stub: OpenAIStub, client: OpenAIModelClient):
    openai_stub.push(ToolCalls.of(("icon_lookup", {"icon": FUNCTION_APP})), ANSWER)
    monitor = RunMonitor()
    run = await run_assistant(client, ["icon_lookup"], ctx=RunContext(monitor=monitor))

    assert run.ok, run.error
    assert run.output is not None and run.output.answer == "done"
    first, second = (r.body for r in openai_stub.requests)
    offered = [t["function"]["name"] for t in first["tools"]]
    assert offered == ["icon_lookup"]
    assert first["tools"][0]["function"]["parameters"]["required"] == ["icon"]
    call = asked_calls(second)[0]
    result = json.loads(tool_replies(second)[call["id"]])
    assert result["type"] == "Microsoft.Web/sites" and result["kind"] == "functionapp"
    [record] = run.tool_calls
    assert (record.tool, record.outcome, record.call_id) == ("icon_lookup", "ok", call["id"])
    assert record.arguments_digest.startswith("sha256:")
    assert monitor.records[-1].tool_calls == run.tool_calls
    summary = monitor.summary_markdown()
    assert "**Tool calls:** 1 (1 ok, 0 not ok)" in summary
    assert "| assistant | icon_lookup | ok |" in summary


async def test_several_tools_in_parallel(openai_stub: OpenAIStub, client: OpenAIModelClient):
    in_flight = 0
    most = 0

    @function_tool
    async def slow_echo(text: str) -> str:
        """Echo a text after a pause."""
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.2)
        in_flight -= 1
        return text.upper()

    registry = ToolRegistry()
    registry.register(slow_echo)
    openai_stub.push(
        ToolCalls.of(
            ("slow_echo", {"text": "a"}), ("slow_echo", {"text": "b"}), ("slow_echo", {"text": "c"})
        ),
        ANSWER,
    )
    run = await run_assistant(client, ["slow_echo"], registry=registry)

    assert run.ok, run.error
    assert most == 3  # all three ran at once
    body = openai_stub.requests[1].body
    calls = asked_calls(body)
    replies = tool_replies(body)
    assert [replies[c["id"]] for c in calls] == ["A", "B", "C"]  # answered in the order asked
    tool_ids = [m["tool_call_id"] for m in body["messages"] if m["role"] == "tool"]
    assert tool_ids == [c["id"] for c in calls]
    assert [r.outcome for r in run.tool_calls] == ["ok"] * 3


async def test_parallel_calls_are_bounded_by_the_policy(
    openai_stub: OpenAIStub, client: OpenAIModelClient
):
    in_flight = most = 0

    @function_tool
    async def pause() -> int:
        """Pause a moment."""
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return most

    registry = ToolRegistry()
    registry.register(pause)
    openai_stub.push(ToolCalls.of(*[("pause", {})] * 5), ANSWER)
    run = await run_assistant(
        client, ["pause"], registry=registry, policy=ToolPolicy(max_parallel=2)
    )
    assert run.ok and most == 2


# --------------------------------------------------------------------------- failures


async def test_a_tool_slower_than_the_call_timeout_fails_as_data(
    openai_stub: OpenAIStub, client: OpenAIModelClient
):
    @function_tool
    async def hang() -> str:
        """Never answers in time."""
        await asyncio.sleep(30)
        return "late"

    registry = ToolRegistry()
    registry.register(hang)
    openai_stub.push(ToolCalls.of(("hang", {})), ANSWER)
    run = await run_assistant(
        client, ["hang"], registry=registry, policy=ToolPolicy(call_timeout=0.2)
    )
    assert run.ok, run.error
    [record] = run.tool_calls
    assert (record.outcome, record.error) == (
        "failed",
        "tool 'hang' failed: no answer within 0.2 s",
    )


async def test_a_failing_tool_goes_back_to_the_model(
    openai_stub: OpenAIStub, client: OpenAIModelClient
):
    @function_tool
    def explode(depth: int) -> int:
        """Always fails."""
        raise RuntimeError(f"the disk at depth {depth} is on fire")

    registry = ToolRegistry()
    registry.register(explode)
    openai_stub.push(ToolCalls.of(("explode", {"depth": 3})), ANSWER)
    monitor = RunMonitor()
    run = await run_assistant(
        client, ["explode"], registry=registry, ctx=RunContext(monitor=monitor)
    )

    assert run.ok, run.error  # the agent still answers
    reply = json.loads(next(iter(tool_replies(openai_stub.requests[1].body).values())))
    assert reply == {"error": "tool 'explode' failed: RuntimeError: the disk at depth 3 is on fire"}
    [record] = run.tool_calls
    assert record.outcome == "failed" and "on fire" in (record.error or "")
    assert "| assistant | explode | failed |" in monitor.summary_markdown()


async def test_bad_arguments_are_returned_to_the_model(
    openai_stub: OpenAIStub, client: OpenAIModelClient
):
    @function_tool
    def add(a: int, b: int = 0) -> int:
        """Add two integers."""
        return a + b

    registry = ToolRegistry()
    registry.register(add)
    openai_stub.push(
        ToolCalls.of(("add", {"a": "seven"}), ("add", "{not json"), ("add", {"a": 1, "c": 2})),
        ToolCalls.of(("add", {"a": 7, "b": 1})),
        ANSWER,
    )
    run = await run_assistant(client, ["add"], registry=registry)

    assert run.ok, run.error
    body = openai_stub.requests[1].body
    replies = [json.loads(tool_replies(body)[c["id"]]) for c in asked_calls(body)]
    assert "$.a: Input should be a valid integer" in replies[0]["error"]
    assert replies[1] == {"error": "the arguments of 'add' are not a JSON document"}
    assert "$.c: Extra inputs are not permitted" in replies[2]["error"]
    last = openai_stub.requests[2].body
    assert list(tool_replies(last).values())[-1] == "8"  # the corrected call ran
    outcomes = [r.outcome for r in run.tool_calls]
    assert sorted(outcomes[:3]) == ["invalid_arguments"] * 3 and outcomes[3] == "ok"


async def test_a_tool_not_offered_is_refused(openai_stub: OpenAIStub, client: OpenAIModelClient):
    openai_stub.push(ToolCalls.of(("write_file", {"path": "x", "content": "y"})), ANSWER)
    run = await run_assistant(client, ["read_file"])
    assert run.ok
    [record] = run.tool_calls
    assert record.outcome == "refused"
    assert "no tool named 'write_file' is offered; tools: read_file" in (record.error or "")


async def test_a_model_looping_past_the_round_limit_fails_clearly(
    openai_stub: OpenAIStub, client: OpenAIModelClient
):
    openai_stub.default = lambda body: ToolCalls.of(("icon_lookup", {"icon": "storage"}))
    monitor = RunMonitor()
    run = await run_assistant(
        client, ["icon_lookup"], policy=ToolPolicy(max_rounds=3), ctx=RunContext(monitor=monitor)
    )

    assert not run.ok
    assert run.error == (
        "ToolLoopError: agent 'assistant': the model still asked for tools (icon_lookup) "
        "after 3 round(s), the limit (tool_policy.max_rounds)"
    )
    assert len(openai_stub.requests) == 4  # three rounds, then the refused fourth ask
    assert [r.outcome for r in run.tool_calls] == ["ok"] * 3  # recorded although it failed
    assert run.envelope.status == "failed" and "max_rounds" in (run.envelope.error or "")
    summary = monitor.summary_markdown()
    assert "❌ failed" in summary and "**Tool calls:** 3" in summary


async def test_the_token_budget_ends_the_loop(openai_stub: OpenAIStub, client: OpenAIModelClient):
    openai_stub.default = lambda body: ToolCalls.of(("icon_lookup", {"icon": "storage"}))
    run = await run_assistant(client, ["icon_lookup"], policy=ToolPolicy(token_budget=300))
    assert not run.ok
    found = re.search(
        r"token budget of 300 spent \(([\d,]+) tokens in (\d+) model calls?\)", run.error or ""
    )
    assert found, run.error
    spent, calls = int(found[1].replace(",", "")), int(found[2])
    assert spent > 300 and calls == len(openai_stub.requests) < 8
    assert spent == sum(c.usage.input_tokens + c.usage.output_tokens for c in run.usage)


# --------------------------------------------------------------------------- agents as tools


async def test_an_agent_offered_as_a_tool(
    openai_stub: OpenAIStub, client: OpenAIModelClient, tmp_path: Path
):
    def script() -> None:
        openai_stub.push(ToolCalls.of(("word_count", {"text": "three short words"})), ANSWER)

    monitor = RunMonitor()
    cache = DirectoryCache(tmp_path / "cache")
    store = DirectoryStore(tmp_path / "state")
    ctx = RunContext(run_id="r1", monitor=monitor, cache=cache, store=store)
    script()
    run = await run_assistant(client, ["agent:word_count"], ctx=ctx)

    assert run.ok, run.error
    tool = openai_stub.requests[0].body["tools"][0]["function"]
    assert tool["name"] == "word_count"
    assert tool["parameters"]["properties"]["text"]["type"] == "string"  # its input model
    reply = json.loads(next(iter(tool_replies(openai_stub.requests[1].body).values())))
    assert (reply["words"], reply["characters"]) == (3, 17)
    child, parent = monitor.records
    assert child.agent == "word_count" and child.stage.startswith("assistant/tool-word_count-")
    assert parent.tool_calls[0].tool == "word_count"
    assert store.get_stage("r1", child.stage) is not None  # stored: resumable

    # the same task again: the result cache answers the whole run, the model is not asked
    again = await run_assistant(
        client, ["agent:word_count"], ctx=RunContext(run_id="r2", monitor=monitor, cache=cache)
    )
    assert again.ok and again.cached and len(openai_stub.requests) == 2

    # another task making the same call: the cache answers the call, word_count does not run
    script()
    other = await run_assistant(
        client,
        ["agent:word_count"],
        task="count again",
        ctx=RunContext(run_id="r3", monitor=monitor, cache=cache),
    )
    assert other.ok
    assert monitor.records[-2].agent == "word_count" and monitor.records[-2].cached

    # in the first run again (resumed with another task): the stored call is reused
    script()
    resumed = await run_assistant(
        client,
        ["agent:word_count"],
        task="once more",
        ctx=RunContext(run_id="r1", monitor=monitor, store=store),
    )
    assert resumed.ok and monitor.records[-2].resumed


async def test_an_agent_tool_with_a_bad_input_tells_the_model(
    openai_stub: OpenAIStub, client: OpenAIModelClient
):
    openai_stub.push(ToolCalls.of(("word_count", {"txt": "x"})), ANSWER)
    run = await run_assistant(client, ["agent:word_count"])
    assert run.ok
    [record] = run.tool_calls
    assert record.outcome == "invalid_arguments" and "$.text: Field required" in (
        record.error or ""
    )


# --------------------------------------------------------------------------- safety


def test_unknown_tools_and_writes_are_refused_before_anything_runs() -> None:
    with pytest.raises(ToolError, match="unknown tool 'web_search'; known tools: .*read_file"):
        check_tools(AgentConfig(name="a", tools=["web_search"]))
    with pytest.raises(ToolError, match="no agent 'nobody'"):
        check_tools(AgentConfig(name="a", tools=["agent:nobody"]))
    with pytest.raises(ToolError, match="'write_file' writes; .*allow_writes: true"):
        check_tools(AgentConfig(name="a", tools=["write_file"]))
    check_tools(
        AgentConfig(name="a", tools=["write_file"], tool_policy=ToolPolicy(allow_writes=True))
    )
    missing = MCPToolSource(mcp="notes", command=["no-such-mcp-server"], allow=["lookup"])
    with pytest.raises(ToolError, match="MCP server 'notes': program 'no-such-mcp-server' not"):
        check_tools(AgentConfig(name="a", tools=[missing]))


async def test_write_file_only_when_allowed_and_inside_the_workspace(
    openai_stub: OpenAIStub, client: OpenAIModelClient, tmp_path: Path
):
    with pytest.raises(ToolError, match="allow_writes"):
        async with open_toolset(AgentConfig(name="a", tools=["write_file"])):
            pass
    outside = tmp_path / "outside.txt"
    work = tmp_path / "work"
    work.mkdir()
    openai_stub.push(
        ToolCalls.of(
            ("write_file", {"path": "notes/plan.md", "content": "# plan"}),
            ("write_file", {"path": "../outside.txt", "content": "escape"}),
            ("write_file", {"path": str(outside), "content": "escape"}),
        ),
        ANSWER,
    )
    policy = ToolPolicy(allow_writes=True, workspace=str(work))
    run = await run_assistant(client, ["write_file"], policy=policy)
    assert run.ok
    assert (work / "notes" / "plan.md").read_text() == "# plan"
    assert not outside.exists()
    errors = {r.error or "" for r in run.tool_calls if r.outcome == "invalid_arguments"}
    assert len(errors) == 2
    assert any("'../outside.txt': outside the workspace" in e for e in errors)
    assert any("absolute paths are refused" in e for e in errors)


async def test_file_tools_stay_in_the_workspace(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "docs").mkdir(parents=True)
    (work / "docs" / "a.md").write_text("alpha\nBeta line\ngamma\n")
    (work / ".git").mkdir()
    (work / ".git" / "config").write_text("beta secret\n")
    (tmp_path / "secret.txt").write_text("beta outside\n")
    (work / "link.txt").symlink_to(tmp_path / "secret.txt")
    config = AgentConfig(
        name="a", tools=["read_file", "file_search"], tool_policy=ToolPolicy(workspace=str(work))
    )
    from agents.model_client import ToolCall

    async with open_toolset(config) as toolset:

        async def call(name: str, **args: Any) -> Any:
            text = await toolset.call(ToolCall(id="c", name=name, arguments=json.dumps(args)))
            return json.loads(text)

        found = await call("file_search", query="beta")
        assert found == {
            "matches": [{"path": "docs/a.md", "line": 2, "text": "Beta line"}],
            "more": False,
        }  # not .git, not the link out
        read = await call("read_file", path="docs/a.md", offset=1, max_lines=1)
        assert read["content"] == "Beta line" and read["lines"] == 3 and read["more"]
        assert "outside the workspace" in (await call("read_file", path="link.txt"))["error"]
        assert "outside the workspace" in (await call("read_file", path="../secret.txt"))["error"]
        assert "no such file" in (await call("read_file", path="docs/b.md"))["error"]


async def test_tool_output_is_cut_to_the_bound(openai_stub: OpenAIStub, client: OpenAIModelClient):
    @function_tool
    def big() -> str:
        """A lot of text."""
        return "x" * 5000

    registry = ToolRegistry()
    registry.register(big)
    openai_stub.push(ToolCalls.of(("big", {})), ANSWER)
    run = await run_assistant(
        client, ["big"], registry=registry, policy=ToolPolicy(max_output_chars=1000)
    )
    content = next(iter(tool_replies(openai_stub.requests[1].body).values()))
    assert len(content) == 1000 and content.endswith("the limit is 1,000]")
    assert run.tool_calls[0].truncated


# --------------------------------------------------------------------------- the stand-in


@pytest.mark.parametrize(
    ("messages", "needle"),
    [
        pytest.param(
            [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "user", "content": "and?"},
            ],
            "did not have response messages: c1",
            id="unanswered-call",
        ),
        pytest.param(
            [
                {"role": "user", "content": "hi"},
                {"role": "tool", "tool_call_id": "c9", "content": "1"},
            ],
            "must be a response to a preceding message with 'tool_calls'",
            id="orphan-tool-reply",
        ),
    ],
)
async def test_the_stand_in_refuses_broken_tool_conversations(
    openai_stub: OpenAIStub,
    client: OpenAIModelClient,
    messages: list[dict[str, Any]],
    needle: str,
) -> None:
    import openai

    with pytest.raises(openai.BadRequestError, match=needle):
        await client._sdk.chat.completions.create(model="gpt-4o-mini", messages=messages)


# --------------------------------------------------------------------------- scripted model


async def test_the_scripted_model_asks_for_tools_deterministically() -> None:
    """The tests' scripted client speaks the same loop: tools offered, calls with ids,
    ``tool`` replies in the conversation, a final answer corrected when it breaks the
    schema."""
    from agents.model_client import ScriptedModelClient, ScriptedToolCalls

    model = ScriptedModelClient(
        [
            ScriptedToolCalls.of(("icon_lookup", {"icon": FUNCTION_APP})),
            {"answer": 42},  # breaks the Answer schema: sent back with the reason
            ANSWER,
        ]
    )
    run = await run_assistant(model, ["icon_lookup"])  # type: ignore[arg-type]

    assert run.ok, run.error
    assert [t["function"]["name"] for t in model.tools_offered[0] or []] == ["icon_lookup"]
    second = model.calls[1]
    assert second[-2].tool_calls and second[-2].tool_calls[0].id == "call_1"
    assert second[-1].role == "tool" and second[-1].tool_call_id == "call_1"
    assert "Microsoft.Web/sites" in str(second[-1].content)
    assert "Your reply was rejected: $.answer: Input should be a valid string" in str(
        model.calls[2][-1].content
    )
    assert len(run.usage) == 3 and [r.outcome for r in run.tool_calls] == ["ok"]


async def test_a_scripted_tool_call_without_tools_offered_is_an_error() -> None:
    from agents.model_client import ChatMessage, ScriptedModelClient, ScriptedToolCalls

    model = ScriptedModelClient([ScriptedToolCalls.of(("read_file", {"path": "x"}))])
    with pytest.raises(RuntimeError, match="asks for tools, but none were offered"):
        await model.complete([ChatMessage(role="user", content="hi")])


async def test_hostile_tool_names_and_errors_stay_inert_in_the_summary(
    openai_stub: OpenAIStub, client: OpenAIModelClient
) -> None:
    openai_stub.push(ToolCalls.of(("x|<img src=q>`", {})), ANSWER)
    monitor = RunMonitor()
    run = await run_assistant(client, ["read_file"], ctx=RunContext(monitor=monitor))
    assert run.ok and run.tool_calls[0].outcome == "refused"
    summary = monitor.summary_markdown()
    row = next(line for line in summary.splitlines() if "refused" in line)
    assert "<img" not in row and "&lt;img" in row and "x\\|" in row and "\\`" in row
    assert row.count(" | ") == 5  # still six cells


async def test_tool_calls_are_in_the_run_log_line(
    openai_stub: OpenAIStub, client: OpenAIModelClient, caplog: pytest.LogCaptureFixture
) -> None:
    openai_stub.push(ToolCalls.of(("icon_lookup", {"icon": "x"}), ("nope", {})), ANSWER)
    with caplog.at_level(logging.INFO, logger="forgeflow.runs"):
        await run_assistant(client, ["icon_lookup"], ctx=RunContext(monitor=RunMonitor()))
    [line] = [r for r in caplog.records if r.name == "forgeflow.runs"]
    assert "2 tool calls (1 not ok)" in line.getMessage()
    assert (line.tool_calls, line.tool_calls_not_ok) == (2, 1)  # type: ignore[attr-defined]


async def test_an_agent_without_tools_works_with_a_client_that_knows_no_tools() -> None:
    """A client written before tools existed (no ``tools`` parameter) still serves a
    model-backed agent that is given no tools."""
    from collections.abc import Sequence

    from agents.model_client import ChatMessage, ModelReply

    class OldClient:
        model = "old"

        async def complete(
            self,
            messages: Sequence[ChatMessage],
            *,
            model: str | None = None,
            response_schema: dict[str, Any] | None = None,
        ) -> ModelReply:
            return ModelReply(content=json.dumps(ANSWER), model="old")

    run = await run_assistant(OldClient(), [])  # type: ignore[arg-type]
    assert run.ok and run.output is not None and run.output.answer == "done"


def test_a_tool_registered_under_another_name_is_a_copy() -> None:
    @function_tool
    def lookup(key: str) -> str:
        """Look a key up."""
        return key

    registry = ToolRegistry(builtins=False)
    registry.register(lookup, "find")
    registry.register(lookup)
    assert registry.names() == ["find", "lookup"]
    assert lookup.name == "lookup"  # the original keeps its name


async def test_the_token_budget_covers_every_loop_of_one_run() -> None:
    """An agent asking its model twice in one run spends one budget, not one per ask; a
    second run starts afresh."""
    from agents.model_client import ChatMessage, ScriptedModelClient
    from agents.models.assistant import Answer, Task, ToolUsingAgent

    class TwoQuestions(ToolUsingAgent):
        name = "two_questions"
        input_model = Task
        output_model = Answer

        async def process(self, data: Task) -> Answer:
            ask = [ChatMessage(role="user", content=data.task)]
            first = await self.ask(ask, Answer)
            second = await self.ask(ask, Answer)
            return Answer(answer=f"{first.answer} {second.answer}")

    words = " ".join(["word"] * 40)  # 40 tokens in, about as many out, per ask
    model = ScriptedModelClient(lambda messages: json.dumps({"answer": words}))
    config = AgentConfig(name="two_questions", tool_policy=ToolPolicy(token_budget=120))
    agent = TwoQuestions(config, model_client=model)
    run = await execute(agent, {"task": words}, RunContext())
    assert not run.ok and "token budget of 120 spent" in (run.error or "")
    assert len(model.calls) == 2  # the first ask fits, the second goes over

    roomy = TwoQuestions(
        AgentConfig(name="two_questions", tool_policy=ToolPolicy(token_budget=200)),
        model_client=model,
    )
    for _ in range(2):  # each run has the whole budget
        assert (await execute(roomy, {"task": words}, RunContext())).ok
