"""A pipeline file that gives a model-backed agent tools, run end to end from the command
line under the local OpenAI-compatible stand-in: built-in tools, an agent as a tool and an
MCP server's tool are called, and every call is in the run summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import REPO, assert_user_error, run_cli
from openai_stub import OpenAIStub, ToolCalls

from agents.errors import PipelineError

pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install 'forgeflow[mcp]')")

PIPELINE = REPO / "examples" / "pipelines" / "reviewer-tools.yaml"
TASK = REPO / "examples" / "tasks" / "review-question.json"


def model_env(stub: OpenAIStub) -> dict[str, str]:
    return {
        "FORGEFLOW_MODEL_BASE_URL": stub.base_url,
        "FORGEFLOW_MODEL_API_KEY": stub.key or "",
        "FORGEFLOW_MODEL": "gpt-4o-mini",
    }


def test_a_pipeline_gives_a_model_backed_agent_tools(
    openai_stub: OpenAIStub, tmp_path: Path
) -> None:
    openai_stub.push(
        ToolCalls.of(
            ("icon_lookup", {"icon": "img/lib/azure2/compute/Function_Apps.svg"}),
            ("price_lookup", {"resource_type": "Microsoft.Web/sites|functionapp"}),
            ("security_rules", {"resource_type": "Microsoft.DocumentDB/databaseAccounts"}),
            ("checklist", {"kind": "data"}),
        ),
        ToolCalls.of(
            ("file_search", {"query": "Cosmos", "glob": "examples/diagrams/*.drawio"}),
            ("word_count", {"text": "private endpoint or firewall rules"}),
            ("read_file", {"path": "../../etc/passwd"}),
        ),
        {"answer": "Mostly: add a private endpoint.", "sources": ["security_rules"]},
    )
    out = tmp_path / "out"
    proc = run_cli(
        "-m",
        "orchestration",
        "run",
        PIPELINE,
        "--input",
        TASK,
        "--out",
        out,
        "--state",
        tmp_path / "state",
        env=model_env(openai_stub),
    )
    assert proc.returncode == 0, proc.stderr

    output = json.loads((out / "output.json").read_text())
    assert output["data"]["answer"] == "Mostly: add a private endpoint."
    first, second, third = (r.body for r in openai_stub.requests)
    offered = [t["function"]["name"] for t in first["tools"]]
    assert offered == [
        "icon_lookup",
        "price_lookup",
        "security_rules",
        "file_search",
        "read_file",
        "word_count",
        "checklist",
    ]
    replies = [json.loads(m["content"]) for m in second["messages"] if m["role"] == "tool"]
    assert replies[0]["type"] == "Microsoft.Web/sites"
    assert replies[1]["sku"] == "Functions Consumption (Y1)"
    assert replies[2]["provider"] == "azure"
    assert replies[3]["result"][0] == "private endpoint or firewall rules"  # from the MCP server
    later = [json.loads(m["content"]) for m in third["messages"] if m["role"] == "tool"][4:]
    assert later[1]["words"] == 5
    assert "outside the workspace" in later[2]["error"]

    summary = (out / "summary.md").read_text()
    assert "**Tool calls:** 7 (6 ok, 1 not ok)" in summary
    for tool in (
        "icon_lookup",
        "price_lookup",
        "security_rules",
        "checklist",
        "file_search",
        "word_count",
    ):
        assert f"| reviewer | {tool} | ok |" in summary
    assert "| reviewer | read_file | invalid_arguments |" in summary
    assert "| reviewer/tool-word_count-" in summary  # the agent tool's own run


def test_an_unknown_tool_in_a_pipeline_is_refused_before_it_runs(
    openai_stub: OpenAIStub, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nstages:\n  - agent: assistant\n    tools: [read_file, web_search]\n")
    proc = run_cli(
        "-m",
        "orchestration",
        "run",
        bad,
        "--input",
        TASK,
        "--out",
        tmp_path / "out",
        "--state",
        tmp_path / "state",
        env=model_env(openai_stub),
    )
    assert_user_error(proc, "stage 1 'assistant'", "unknown tool 'web_search'")
    assert openai_stub.requests == [] and not (tmp_path / "out").exists()


def test_an_mcp_server_lacking_an_allowed_tool_is_one_line(
    openai_stub: OpenAIStub, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nstages:\n  - agent: assistant\n    tools:\n      - mcp: checklist\n"
        "        command: [python, examples/mcp/checklist_server.py]\n"
        "        allow: [checklist, delete_everything]\n"
    )
    proc = run_cli(
        "-m", "orchestration", "run", bad, "--input", TASK, "--out", tmp_path / "out",
        "--state", tmp_path / "state", env=model_env(openai_stub),
    )  # fmt: skip
    assert_user_error(
        proc, "MCP server 'checklist' has no tool 'delete_everything'; it offers: checklist"
    )
    assert openai_stub.requests == [] and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        pytest.param(
            "[{mcp: x, allow: [a]}]",
            "$.stages[0].tools[0].mcp: Value error, MCP source 'x': give either 'command' or 'url'",
            id="mcp-without-transport",
        ),
        pytest.param(
            "[{mcp: x, command: [srv], allow: []}]",
            "$.stages[0].tools[0].mcp.allow: List should have at least 1 item after "
            "validation, not 0",
            id="empty-allow-list",
        ),
        pytest.param(
            "[3]", "$.stages[0].tools[0].name: Input should be a valid string", id="not-a-name"
        ),
    ],
)
def test_a_bad_tool_entry_names_its_place(tmp_path: Path, tools: str, message: str) -> None:
    from orchestration.pipeline.file import load_spec

    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: bad\nstages:\n  - agent: assistant\n    tools: {tools}\n")
    with pytest.raises(PipelineError) as caught:
        load_spec(bad)
    assert caught.value.one_line() == f"{bad}: {message}"


async def test_a_parallel_group_gives_its_model_backed_branch_tools(tmp_path: Path) -> None:
    """``agents:`` of a group sets a branch's model, instructions and tools."""
    import textwrap

    from pydantic import BaseModel

    from agents.base import Agent, AgentResult
    from agents.model_client import ScriptedModelClient, ScriptedToolCalls
    from agents.models.assistant import Answer, Task
    from agents.registry import AgentRegistry
    from orchestration.pipeline.file import load_spec, plan_stages, run_planned
    from orchestration.runtime.execution import RunContext
    from orchestration.runtime.monitoring import RunMonitor

    class Merged(BaseModel):
        upstream: Task
        assistant: Answer | None = None

    class Verdict(AgentResult):
        verdict: str

    class Judge(Agent[Merged, Verdict]):
        name = "judge"
        input_model = Merged
        output_model = Verdict

        async def process(self, data: Merged) -> Verdict:
            return Verdict(verdict=data.assistant.answer if data.assistant else "none")

    registry = AgentRegistry(entry_point_agents=False)
    registry.register(Judge)
    pipeline = tmp_path / "group.yaml"
    pipeline.write_text(
        textwrap.dedent("""\
        name: group
        stages:
          - parallel:
              name: review
              branches: [assistant]
              combiner: judge
              agents:
                assistant:
                  instructions: Look the price up.
                  tools: [price_lookup]
                  tool_policy: {max_rounds: 2}
        """)
    )
    planned = plan_stages(load_spec(pipeline), registry)
    model = ScriptedModelClient(
        [
            ScriptedToolCalls.of(("price_lookup", {"resource_type": "Microsoft.Web/sites"})),
            {"answer": "13.14 USD a month"},
        ]
    )
    monitor = RunMonitor()
    ctx = RunContext(monitor=monitor, model_client=model)
    result = await run_planned(planned, Task(task="price of a web app?"), ctx)

    assert result.ok, result.error
    assert result.output is not None and result.output.verdict == "13.14 USD a month"
    assert model.calls[0][0].content == "Look the price up."
    branch = next(r for r in result.runs if r.stage == "review/assistant")
    assert [(c.tool, c.outcome) for c in branch.tool_calls] == [("price_lookup", "ok")]

    wrong = pipeline.read_text().replace("    assistant:\n", "    judges:\n")
    pipeline.write_text(wrong)
    with pytest.raises(PipelineError, match="agents: 'judges' is not an agent of this stage"):
        plan_stages(load_spec(pipeline), registry)
    pipeline.write_text(wrong.replace("judges:", "assistant:").replace("price_lookup", "web"))
    with pytest.raises(PipelineError, match="unknown tool 'web'"):
        plan_stages(load_spec(pipeline), registry)
