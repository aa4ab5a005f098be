"""An MCP server as a tool source: a real server made with the ``mcp`` SDK
(tests/mcp_notes_server.py, stdio), started by the agent's set-up, its allow-listed tools
called by the model through the loop (the local OpenAI-compatible stand-in), and its
process gone when the agent is torn down; the same server over streamable HTTP."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from openai_stub import OpenAIStub, ToolCalls, client_for

pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install 'forgeflow[mcp]')")

from agents.base import AgentConfig, MCPToolSource  # noqa: E402
from agents.errors import ToolError  # noqa: E402
from agents.models.assistant import AssistantAgent  # noqa: E402
from agents.models.openai_client import OpenAIModelClient  # noqa: E402
from orchestration.runtime.execution import RunContext, execute  # noqa: E402
from orchestration.runtime.monitoring import RunMonitor  # noqa: E402

SERVER = Path(__file__).with_name("mcp_notes_server.py")
ANSWER = {"answer": "TLS 1.2 minimum", "sources": ["notes"]}


def notes(*allow: str, command: list[str] | None = None) -> MCPToolSource:
    return MCPToolSource(
        mcp="notes", command=command or [sys.executable, str(SERVER)], allow=list(allow)
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
async def client(openai_stub: OpenAIStub) -> AsyncIterator[OpenAIModelClient]:
    made = client_for(openai_stub, "gpt-4o-mini")
    yield made
    await made.aclose()


async def test_an_agent_calls_an_allow_listed_mcp_tool(
    openai_stub: OpenAIStub, client: OpenAIModelClient
) -> None:
    openai_stub.push(
        ToolCalls.of(
            ("lookup", {"key": "tls"}),
            ("server_pid", {}),
            ("delete_all_notes", {}),  # on the server, not on the allow-list
            ("lookup", {"key": 7}),  # breaks the tool's schema
            ("lookup", {"key": "nothing"}),  # the tool itself fails
        ),
        ANSWER,
    )
    monitor = RunMonitor()
    config = AgentConfig(name="assistant", tools=[notes("lookup", "server_pid")])
    async with AssistantAgent(config, model_client=client) as agent:
        run = await execute(agent, {"task": "What TLS version?"}, RunContext(monitor=monitor))

    assert run.ok, run.error
    offered = [t["function"]["name"] for t in openai_stub.requests[0].body["tools"]]
    assert offered == ["lookup", "server_pid"]
    lookup = openai_stub.requests[0].body["tools"][0]["function"]["parameters"]
    assert lookup["required"] == ["key"]  # the server's own schema
    body = openai_stub.requests[1].body
    replies = [m["content"] for m in body["messages"] if m["role"] == "tool"]
    assert json.loads(replies[0]) == {"result": "TLS 1.2 minimum on every endpoint"}
    pid = json.loads(replies[1])["result"]
    assert pid != os.getpid()
    outcomes = [(r.tool, r.outcome) for r in run.tool_calls]
    assert sorted(outcomes) == sorted(
        [
            ("lookup", "ok"),
            ("server_pid", "ok"),
            ("delete_all_notes", "refused"),
            ("lookup", "invalid_arguments"),
            ("lookup", "failed"),
        ]
    )
    failed = next(r for r in run.tool_calls if r.outcome == "failed")
    assert "no note 'nothing'" in (failed.error or "")
    assert not alive(pid)  # the server ended with the agent
    assert "| assistant | server_pid | ok |" in monitor.summary_markdown()


async def test_an_allow_listed_tool_the_server_lacks_is_one_line() -> None:
    agent = AssistantAgent(AgentConfig(name="assistant", tools=[notes("lookup", "web_search")]))
    with pytest.raises(ToolError) as caught:
        async with agent:
            pass
    assert caught.value.one_line() == (
        "agent 'assistant': MCP server 'notes' has no tool 'web_search'; it offers: "
        "delete_all_notes, environment, lookup, server_pid"
    )


async def test_a_server_that_does_not_start_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-server"
    agent = AssistantAgent(
        AgentConfig(name="assistant", tools=[notes("lookup", command=[str(missing)])])
    )
    with pytest.raises(ToolError, match="MCP server 'notes': cannot start or reach it"):
        async with agent:
            pass


async def test_mcp_tools_in_a_parallel_group_set_up_and_torn_down_in_other_tasks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A parallel group sets agents up inside its branch tasks and tears them down after
    the group: the server's session must survive that and still end with the agent."""
    from agents.builtin import EchoAgent
    from agents.model_client import ScriptedModelClient, ScriptedToolCalls
    from orchestration.patterns.parallel import ParallelOrchestrator

    model = ScriptedModelClient([ScriptedToolCalls.of(("server_pid", {})), ANSWER])
    config = AgentConfig(name="assistant", tools=[notes("server_pid")])
    group = ParallelOrchestrator(
        {"assistant": AssistantAgent(config, model_client=model), "echo": EchoAgent()}
    )
    with caplog.at_level(logging.WARNING):
        result = await group.run({"task": "pid?", "text": "pid?"}, RunContext())

    run = result.runs["assistant"]
    assert run.ok, run.error
    pid = int(json.loads(model.calls[-1][-1].content or "{}")["result"])
    assert not alive(pid)
    assert [r.getMessage() for r in caplog.records] == []  # a clean tear-down


async def test_a_stdio_server_gets_no_secret_of_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's process has the SDK's minimal environment plus the source's ``env``:
    the model key (or any other variable of the agent's process) does not reach it."""
    from agents.model_client import ScriptedModelClient, ScriptedToolCalls

    monkeypatch.setenv("FORGEFLOW_MODEL_API_KEY", "sk-secret-of-the-agent")
    source = notes("environment")
    source.env = {"NOTES_MODE": "review"}
    model = ScriptedModelClient(
        [
            ScriptedToolCalls.of(
                ("environment", {"name": "FORGEFLOW_MODEL_API_KEY"}),
                ("environment", {"name": "NOTES_MODE"}),
            ),
            ANSWER,
        ]
    )
    config = AgentConfig(name="assistant", tools=[source])
    async with AssistantAgent(config, model_client=model) as agent:
        run = await execute(agent, {"task": "env?"}, RunContext())
    assert run.ok, run.error
    key, mode = (json.loads(str(m.content))["result"] for m in model.calls[-1][-2:])
    assert (key, mode) == ("", "review")


@pytest.fixture
def http_notes_server() -> Iterator[str]:
    """The notes server over streamable HTTP on a free loopback port; its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the MCP HTTP server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_a_streamable_http_server_as_a_tool_source(http_notes_server: str) -> None:
    from agents.model_client import ScriptedModelClient, ScriptedToolCalls

    model = ScriptedModelClient([ScriptedToolCalls.of(("lookup", {"key": "identity"})), ANSWER])
    source = MCPToolSource(mcp="notes", url=http_notes_server, allow=["lookup"])
    config = AgentConfig(name="assistant", tools=[source])
    async with AssistantAgent(config, model_client=model) as agent:
        run = await execute(agent, {"task": "identity?"}, RunContext())
    assert run.ok, run.error
    assert json.loads(str(model.calls[-1][-1].content)) == {"result": "managed identities only"}
    assert [t["function"]["name"] for t in model.tools_offered[0] or []] == ["lookup"]


async def test_a_server_that_never_answers_is_given_up_after_its_timeout(tmp_path: Path) -> None:
    """A program that starts but never speaks MCP: set-up ends with one line naming the
    timeout, and the program is stopped (it wrote its pid; it is gone afterwards)."""
    pid_file = tmp_path / "pid"
    silent = (
        "import os, pathlib, time; "
        f"pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); time.sleep(60)"
    )
    source = MCPToolSource(
        mcp="silent", command=[sys.executable, "-c", silent], allow=["x"], timeout=1.0
    )
    agent = AssistantAgent(AgentConfig(name="assistant", tools=[source]))
    with pytest.raises(ToolError) as caught:
        async with agent:
            pass
    assert caught.value.one_line() == (
        "agent 'assistant': MCP server 'silent': no answer within 1 s"
    )
    assert not alive(int(pid_file.read_text()))
