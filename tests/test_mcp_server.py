"""``python -m orchestration mcp`` driven by the mcp SDK's own client, over stdio and HTTP.

Each test starts the real server in a subprocess (working folder: a temporary workspace
holding a copy of the example diagram) and talks to it as Copilot would: it declares the
workspace as its root, lists the tools, calls them, and validates every structured
result against the output schema the server declared for that tool.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_helpers import run_cli
from mcp import Client, StdioServerParameters, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "diagrams" / "webapp.drawio"
TOOLS = {
    "list_agents",
    "describe_agent",
    "run_agent",
    "analyse_diagram",
    "review",
    "generate_iac",
    "run_pipeline",
    "get_run",
}
TOKEN = "test-token-0123456789"


def server_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FORGEFLOW_MODEL", "OPENAI_", "GITHUB_"))
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return {**env, **extra}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "docs").mkdir(parents=True)
    shutil.copy(EXAMPLE, ws / "docs" / "architecture.drawio")
    return ws


def roots_callback(*folders: Path) -> Any:
    async def list_roots(context: Any) -> types.ListRootsResult:
        return types.ListRootsResult(
            roots=[types.Root(uri=f.resolve().as_uri(), name=f.name) for f in folders]  # type: ignore[arg-type]
        )

    return list_roots


@asynccontextmanager
async def stdio_client(ws: Path, *, roots: bool = True) -> AsyncIterator[Client]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "orchestration", "mcp"],
        cwd=str(ws),
        env=server_env(),
    )
    async with Client(params, list_roots_callback=roots_callback(ws) if roots else None) as c:
        yield c


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def http_server(workspace: Path) -> Iterator[str]:
    """The server on streamable HTTP (loopback, with a bearer token); yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration", "mcp", "--http", f"127.0.0.1:{port}"],
        cwd=workspace,
        env=server_env(FORGEFLOW_MCP_TOKEN=TOKEN),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    why = proc.stderr.read() if proc.stderr else "no server"
                    raise AssertionError(why) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


@asynccontextmanager
async def http_client(url: str, ws: Path, token: str = TOKEN) -> AsyncIterator[Client]:
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, list_roots_callback=roots_callback(ws)) as c:
            yield c


async def call(client: Client, schemas: dict[str, Any], tool: str, **args: Any) -> Any:
    """Call a tool that must succeed; its structured output must match its output schema."""
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    jsonschema.validate(result.structured_content, schemas[tool])
    # the text content is the same document, for clients that read only text
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]
    return result.structured_content


async def tool_error(client: Client, tool: str, **args: Any) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, result.structured_content
    text = result.content[0].text  # type: ignore[union-attr]
    assert "\n" not in text and "Traceback" not in text
    return text


async def output_schemas(client: Client) -> dict[str, Any]:
    listed = await client.list_tools()
    return {t.name: t.output_schema for t in listed.tools}


async def exercise_every_tool(client: Client, ws: Path) -> dict[str, Any]:
    """Call every tool once, as a user would in order; returns the results by tool."""
    schemas = await output_schemas(client)
    assert set(schemas) == TOOLS and all(schemas.values())
    seen: dict[str, Any] = {}
    agents = await call(client, schemas, "list_agents")
    assert {"vision", "filter", "interactive", "combine"} <= {a["name"] for a in agents["agents"]}
    seen["describe_agent"] = described = await call(
        client, schemas, "describe_agent", name="cost_estimation"
    )
    assert "region" in described["settings_schema"]["properties"]
    assert described["output_model"] == "CostEstimate"
    seen["run_agent"] = one = await call(
        client, schemas, "run_agent", agent="word_count", input={"text": "a b c"}
    )
    assert one["status"] == "succeeded" and one["data"]["words"] == 3
    seen["analyse_diagram"] = analysed = await call(
        client, schemas, "analyse_diagram", path="docs/architecture.drawio"
    )
    assert analysed["status"] == "succeeded"
    assert analysed["review"]["method"] == "accept_all"
    resources = analysed["analysis"]["architecture"]["resources"]
    assert len(resources) == 8
    # the review removes one resource: the run resumes, the analysis has one fewer
    victim = resources[0]["id"]
    seen["review"] = reviewed = await call(
        client,
        schemas,
        "review",
        run_id=analysed["run_id"],
        decisions=[{"action": "remove", "resource_id": victim, "note": "not ours"}],
        reviewer="alice",
    )
    assert reviewed["run_id"] == analysed["run_id"] and reviewed["status"] == "succeeded"
    assert reviewed["resumed"] == 2  # vision and filter are not run again
    assert reviewed["review"]["reviewer"] == "alice"
    after = reviewed["analysis"]["architecture"]["resources"]
    assert victim not in {r["id"] for r in after} and len(after) == 7
    seen["get_run"] = run = await call(client, schemas, "get_run", run_id=analysed["run_id"])
    assert run["status"] == "succeeded"
    assert run["record"]["settings"]["interactive"]["decisions"]
    assert {s["stage"] for s in run["stages"]} >= {"vision", "filter", "analysis/combine"}
    assert run["record"]["usage"]["calls"] == 0
    seen["run_pipeline"] = piped = await call(
        client,
        schemas,
        "run_pipeline",
        pipeline="synthforge",
        input_path="docs/architecture.drawio",
        settings={"interactive": {"yes": True}, "cost_estimation": {"region": "eastus"}},
    )
    assert piped["status"] == "succeeded" and piped["stages"] == 7
    assert piped["output"]["cost"]["region"] == "eastus"
    seen["generate_iac"] = iac = await call(
        client,
        schemas,
        "generate_iac",
        path="docs/architecture.drawio",
        output_dir="infra",
        iac="terraform",
    )
    if shutil.which("checkov") or os.environ.get("FORGEFLOW_CHECKOV"):
        # checks left by the loop make the status "findings", each unfixed with its reason
        assert iac["status"] in ("succeeded", "findings"), iac["error"]
        left = bool(iac["unfixed"])
        assert (iac["status"] == "findings") is left and iac["valid"] is not left
        assert all(u["reason"] for u in iac["unfixed"])
        assert iac["files"] and all((ws / "infra" / f).is_file() for f in iac["files"])
        assert iac["output_dir"] == str((ws / "infra").resolve())
    else:  # honest status: code_quality cannot run without checkov
        assert iac["status"] == "failed" and "checkov" in (iac["error"] or "")
    return seen


async def test_stdio_lists_and_calls_every_tool(workspace: Path) -> None:
    async with stdio_client(workspace) as client:
        seen = await exercise_every_tool(client, workspace)
    # the same state store and artifacts folder as the CLI, in the working folder
    run_id = seen["analyse_diagram"]["run_id"]
    assert (workspace / ".forgeflow" / "state" / "runs" / run_id).is_dir()
    assert (workspace / ".forgeflow" / "runs" / run_id / "report.md").is_file()


async def test_http_lists_and_calls_every_tool(http_server: str, workspace: Path) -> None:
    async with http_client(http_server, workspace) as client:
        await exercise_every_tool(client, workspace)
        # two calls at once over one HTTP session both complete
        schemas = await output_schemas(client)
        both = await asyncio.gather(
            *(
                call(client, schemas, "analyse_diagram", path="docs/architecture.drawio")
                for _ in range(2)
            )
        )
    assert [r["status"] for r in both] == ["succeeded", "succeeded"]
    assert both[0]["run_id"] != both[1]["run_id"] and both[0]["analysis"] == both[1]["analysis"]


async def test_http_refuses_a_request_without_the_token(http_server: str, workspace: Path) -> None:
    async with create_mcp_http_client() as http:
        response = await http.post(
            http_server,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Accept": "application/json, text/event-stream"},
        )
    assert response.status_code == 401
    # with the token but another Host (a DNS-rebinding page): refused by the SDK's check
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        response = await http.post(
            http_server,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Accept": "application/json, text/event-stream", "Host": "evil.example"},
        )
    assert response.status_code in (403, 421), response.status_code
    with pytest.raises(Exception):  # noqa: B017 - the SDK's transport error type varies
        async with http_client(http_server, workspace, token="wrong") as client:
            await client.list_tools()


def test_http_off_loopback_needs_a_token() -> None:
    proc = run_cli(
        "-m", "orchestration", "mcp", "--http", "0.0.0.0:8765", env={"FORGEFLOW_MCP_TOKEN": ""}
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --http 0.0.0.0: not a loopback address; set FORGEFLOW_MCP_TOKEN to a secret "
        "bearer token that clients must send (or listen on 127.0.0.1)"
    ]


@pytest.mark.parametrize(
    "address", [pytest.param("nowhere", id="no-port"), pytest.param("h:99999", id="bad-port")]
)
def test_http_address_must_be_host_and_port(address: str) -> None:
    proc = run_cli("-m", "orchestration", "mcp", "--http", address)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: --http {address!r}: expected HOST:PORT, e.g. 127.0.0.1:8765"
    )


async def test_bad_input_is_a_tool_error_with_the_cli_line(workspace: Path) -> None:
    (workspace / "broken.json").write_text('{"text": 5}')
    cli = run_cli("-m", "agents.run", "word_count", workspace / "broken.json", cwd=workspace)
    cli_line = cli.stderr.strip().removeprefix("error: ")
    unknown = run_cli("-m", "agents.run", "no_such_agent", "broken.json", cwd=workspace)
    setting = run_cli(
        "-m", "agents.run", "cost_estimation", "broken.json", "--set", "regoin=x", cwd=workspace
    )
    async with stdio_client(workspace) as client:
        text = await tool_error(client, "run_agent", agent="word_count", input_path="broken.json")
        assert text.endswith(f": {cli_line}"), (text, cli_line)
        text = await tool_error(client, "run_agent", agent="no_such_agent", input={})
        assert text.endswith(unknown.stderr.strip().removeprefix("error: "))
        text = await tool_error(
            client,
            "run_agent",
            agent="cost_estimation",
            input={},
            settings={"regoin": "x"},
        )
        assert text.endswith(setting.stderr.strip().removeprefix("error: "))
        failed = {"schema_id": "forgeflow/TextInput", "agent": "echo", "status": "failed"}
        text = await tool_error(
            client, "run_agent", agent="word_count", input={**failed, "data": None, "error": "x"}
        )
        assert text.endswith("input: artifact of agent 'echo' has status 'failed': x")
        text = await tool_error(client, "analyse_diagram", path="docs/missing.drawio")
        assert "missing.drawio" in text
        remove = [{"action": "remove", "resource_id": "x"}]
        text = await tool_error(
            client, "analyse_diagram", path="docs/missing.drawio", decisions=remove
        )
        assert "missing.drawio" in text
        text = await tool_error(client, "get_run", run_id="../../etc")
        assert "invalid run id" in text
        text = await tool_error(client, "review", run_id="never-started", decisions=[])
        assert "no such run" in text
        # a schema violation of the tool's own arguments is a one-line tool error too
        text = await tool_error(client, "analyse_diagram", path=5)
        assert text.endswith("arguments: $.path: Input should be a valid string"), text
        # and the server is still there
        assert (await client.call_tool("list_agents", {})).is_error is False
    assert not (workspace / ".forgeflow" / "runs").exists()  # nothing half-written


async def test_a_path_outside_the_roots_is_refused(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.drawio"
    shutil.copy(EXAMPLE, outside)
    (workspace / "link.drawio").symlink_to(outside)
    async with stdio_client(workspace) as client:
        for path in ("../outside.drawio", str(outside), "link.drawio", "/etc/passwd"):
            text = await tool_error(client, "analyse_diagram", path=path)
            assert "outside the workspace roots" in text and "refused" in text
        text = await tool_error(
            client,
            "generate_iac",
            path="docs/architecture.drawio",
            output_dir=str(tmp_path / "elsewhere"),
        )
        assert "output_dir" in text and "outside the workspace roots" in text
        text = await tool_error(client, "run_agent", agent="vision", input_path=str(outside))
        assert "outside the workspace roots" in text
    assert not (tmp_path / "elsewhere").exists()


async def test_without_declared_roots_the_working_folder_is_the_root(
    workspace: Path, tmp_path: Path
) -> None:
    shutil.copy(EXAMPLE, tmp_path / "outside.drawio")
    async with stdio_client(workspace, roots=False) as client:
        schemas = await output_schemas(client)
        done = await call(client, schemas, "analyse_diagram", path="docs/architecture.drawio")
        assert done["status"] == "succeeded"
        text = await tool_error(client, "analyse_diagram", path="../outside.drawio")
        assert "outside the workspace roots" in text


async def test_two_concurrent_calls_both_complete(workspace: Path) -> None:
    async with stdio_client(workspace) as client:
        schemas = await output_schemas(client)
        first, second = await asyncio.gather(
            call(client, schemas, "analyse_diagram", path="docs/architecture.drawio"),
            call(
                client,
                schemas,
                "run_pipeline",
                pipeline="synthforge",
                input_path="docs/architecture.drawio",
                settings={"interactive": {"yes": True}},
            ),
        )
    assert first["status"] == second["status"] == "succeeded"
    assert first["run_id"] != second["run_id"]
    assert first["analysis"] == second["output"]


async def test_long_tools_report_progress(workspace: Path) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with stdio_client(workspace) as client:
        result = await client.call_tool(
            "analyse_diagram", {"path": "docs/architecture.drawio"}, progress_callback=on_progress
        )
    assert not result.is_error
    assert [p for p, _, _ in seen] == [1, 2, 3, 4, 5, 6, 7]
    assert {t for _, t, _ in seen} == {7}
    assert seen[0][2] == "vision: succeeded" and seen[-1][2] == "analysis/combine: succeeded"


async def test_resources_and_prompts(workspace: Path) -> None:
    async with stdio_client(workspace) as client:
        schemas = await output_schemas(client)
        done = await call(client, schemas, "analyse_diagram", path="docs/architecture.drawio")
        run_id = done["run_id"]
        report = await client.read_resource(done["report"])
        text = report.contents[0].text  # type: ignore[union-attr]
        assert text == (workspace / ".forgeflow" / "runs" / run_id / "report.md").read_text()
        assert text == done["analysis"]["report_markdown"]
        summary = await client.read_resource(f"forgeflow://runs/{run_id}/summary")
        assert "mermaid" in summary.contents[0].text  # type: ignore[union-attr]
        for uri in done["artifacts"]:
            artifact = json.loads((await client.read_resource(uri)).contents[0].text)  # type: ignore[union-attr]
            assert artifact["run_id"] == run_id and artifact["status"] == "succeeded"
        templates = await client.list_resource_templates()
        assert {t.uri_template for t in templates.resource_templates} == {
            "forgeflow://runs/{run_id}/report",
            "forgeflow://runs/{run_id}/summary",
            "forgeflow://runs/{run_id}/artifacts/{stage}",
        }
        prompts = await client.list_prompts()
        assert {p.name for p in prompts.prompts} == {
            "analyse_architecture",
            "generate_infrastructure",
        }
        prompt = await client.get_prompt("analyse_architecture", {"path": "docs/a.drawio"})
        assert 'analyse_diagram with path "docs/a.drawio"' in prompt.messages[0].content.text  # type: ignore[union-attr]


async def test_a_run_started_over_mcp_is_the_clis_run(workspace: Path) -> None:
    """The CLI, given the run id, resumes every stage the MCP tool ran: same store."""
    async with stdio_client(workspace) as client:
        schemas = await output_schemas(client)
        done = await call(
            client,
            schemas,
            "analyse_diagram",
            path="docs/architecture.drawio",
            run_id="from-copilot",
        )
    proc = run_cli(
        "-m",
        "orchestration",
        "run",
        REPO / "pipelines" / "synthforge.yaml",
        "--input",
        workspace / "docs" / "architecture.drawio",
        "--set",
        "interactive.yes=true",
        "--run-id",
        done["run_id"],
        cwd=workspace,
    )
    assert proc.returncode == 0, proc.stderr
    assert "run from-copilot: succeeded (7 stages, 7 resumed)" in proc.stdout
    # and `orchestration status` reads the run's record and stages from the same store
    status = run_cli("-m", "orchestration", "status", "from-copilot", cwd=workspace)
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["status"] == "succeeded" and len(shown["stages"]) == 7
    assert shown["record"]["input"] == str((workspace / "docs" / "architecture.drawio").resolve())
    missing = run_cli("-m", "orchestration", "status", "nope", cwd=workspace)
    assert missing.returncode == 2
    assert missing.stderr == "error: run 'nope': no such run in the state store\n"


@pytest.mark.corpus
async def test_analyse_diagram_equals_the_cli_on_every_corpus_diagram(
    corpus_diagrams: Path, workspace: Path
) -> None:
    files = sorted(p for p in corpus_diagrams.iterdir() if p.suffix in (".drawio", ".xml"))
    assert len(files) >= 16
    async with Client(
        StdioServerParameters(
            command=sys.executable,
            args=["-m", "orchestration", "mcp"],
            cwd=str(workspace),
            env=server_env(),
        ),
        list_roots_callback=roots_callback(workspace, corpus_diagrams),
    ) as client:
        schemas = await output_schemas(client)
        for i, diagram in enumerate(files):
            done = await call(client, schemas, "analyse_diagram", path=str(diagram))
            out = workspace / f"cli{i}"
            proc = run_cli(
                "-m",
                "orchestration",
                "run",
                REPO / "pipelines" / "synthforge.yaml",
                "--input",
                diagram,
                "--set",
                "interactive.yes=true",
                "--state",
                workspace / "cli-state",
                "--out",
                out,
                cwd=workspace,
            )
            assert proc.returncode == 0, (diagram.name, proc.stderr)
            cli_output = json.loads((out / "output.json").read_text())
            assert done["analysis"] == cli_output["data"], diagram.name
            # and every stage's artifact holds the same data
            mcp_dir = workspace / ".forgeflow" / "runs" / done["run_id"]
            for stage_file in sorted(out.glob("*.json")):
                mine = json.loads((mcp_dir / stage_file.name).read_text())
                theirs = json.loads(stage_file.read_text())
                assert mine["data"] == theirs["data"], (diagram.name, stage_file.name)


async def test_no_network_connection_without_a_model_endpoint(workspace: Path) -> None:
    """The server, every socket watched from before its first import (the same watch as
    the main command's test), serves the SynthForge tools and makes no connection."""
    from test_no_network import WATCH, clean_env

    report = workspace.parent / "watch.json"
    env = clean_env(report)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", WATCH, "orchestration", "mcp"],
        cwd=str(workspace),
        env=env,
    )
    async with Client(params, list_roots_callback=roots_callback(workspace)) as client:
        schemas = await output_schemas(client)
        done = await call(client, schemas, "analyse_diagram", path="docs/architecture.drawio")
        assert done["status"] == "succeeded"
        await call(
            client, schemas, "run_agent", agent="vision", input_path="docs/architecture.drawio"
        )
        await call(client, schemas, "get_run", run_id=done["run_id"])
    deadline = time.monotonic() + 30
    while not report.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    watched = json.loads(report.read_text())
    assert watched["attempts"] == []
    assert watched["openai"] == [] and watched["client"] is False


def _abridged(result: dict[str, Any]) -> dict[str, Any]:
    """The fields of an analysis result the README shows (the rest is long)."""
    analysis = result["analysis"]
    return {
        "run_id": result["run_id"],
        "status": result["status"],
        "stages": result["stages"],
        "resumed": result["resumed"],
        "report": result["report"],
        "review": {
            "reviewer": result["review"]["reviewer"],
            "method": result["review"]["method"],
            "resources": len(result["review"]["resources"]),
            "needs_clarification": result["review"]["needs_clarification"],
        },
        "analysis": {
            "resources": [r["name"] for r in analysis["architecture"]["resources"]],
            "flows": len(analysis["network"]["flows"]),
            "cost": {
                "total_monthly": analysis["cost"]["total_monthly"],
                "currency": analysis["cost"]["currency"],
                "region": analysis["cost"]["region"],
            },
        },
    }


async def readme_transcript(client: Client) -> str:
    """Two tool calls as the README shows them: requests, progress, results."""
    lines: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        lines.append(f"← progress {progress:g}/{total:g}  {message}")

    async def show(tool: str, args: dict[str, Any], abridge: bool) -> dict[str, Any]:
        lines.append(f"→ tools/call {tool} {json.dumps(args)}")
        result = await client.call_tool(tool, args, progress_callback=on_progress)
        assert not result.is_error, result.content
        content = result.structured_content or {}
        shown = _abridged(content) if abridge else content
        lines.append("← result (structuredContent, abridged)" if abridge else "← result")
        lines.extend(json.dumps(shown, indent=2).splitlines())
        return content

    analysed = await show(
        "analyse_diagram", {"path": "docs/architecture.drawio", "run_id": "readme"}, True
    )
    victim = analysed["analysis"]["architecture"]["resources"][-1]
    await show(
        "review",
        {
            "run_id": "readme",
            "reviewer": "alice",
            "decisions": [{"action": "remove", "resource_id": victim["id"], "note": "not ours"}],
        },
        True,
    )
    lines.append('→ tools/call analyse_diagram {"path": "../secrets.drawio"}')
    result = await client.call_tool("analyse_diagram", {"path": "../secrets.drawio"})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    lines.append(f"← error  {text.replace(str(client_root(client)), 'WORKSPACE')}")
    return "\n".join(lines) + "\n"


_ROOTS: dict[int, Path] = {}


def client_root(client: Client) -> Path:
    return _ROOTS[id(client)]


async def test_readme_transcript_is_what_the_client_gets(workspace: Path) -> None:
    async with stdio_client(workspace) as client:
        _ROOTS[id(client)] = workspace.resolve()
        transcript = await readme_transcript(client)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    if os.environ.get("FORGEFLOW_WRITE_TRANSCRIPT"):
        Path(os.environ["FORGEFLOW_WRITE_TRANSCRIPT"]).write_text(transcript)
    assert f"```text\n{transcript}```" in readme


async def test_a_review_with_bad_decisions_leaves_the_run_as_it_was(workspace: Path) -> None:
    async with stdio_client(workspace) as client:
        schemas = await output_schemas(client)
        done = await call(client, schemas, "analyse_diagram", path="docs/architecture.drawio")
        before = await call(client, schemas, "get_run", run_id=done["run_id"])
        text = await tool_error(
            client,
            "review",
            run_id=done["run_id"],
            decisions=[{"action": "remove", "resource_id": "no-such-icon"}],
        )
        assert "no-such-icon" in text
        after = await call(client, schemas, "get_run", run_id=done["run_id"])
    assert after["record"] == before["record"]
    assert after["record"]["status"] == "succeeded"


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        pytest.param(":8765", "127.0.0.1", 8765, id="port-only-is-loopback"),
        pytest.param("localhost:1", "localhost", 1, id="name"),
        pytest.param("[::1]:8765", "::1", 8765, id="ipv6"),
    ],
)
def test_http_addresses(text: str, host: str, port: int) -> None:
    from orchestration.mcp_server.http import is_loopback, parse_address

    assert parse_address(text) == (host, port)
    assert is_loopback(host)


def test_without_the_mcp_package_the_command_says_what_to_install(tmp_path: Path) -> None:
    hide = (
        "import sys; sys.modules['mcp'] = None; sys.argv = ['orchestration', 'mcp']; "
        "from orchestration.cli import main; main()"
    )
    proc = run_cli("-c", hide, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: the MCP server needs the mcp package: pip install 'forgeflow[mcp]'"
    ]


async def test_generate_iac_never_writes_over_the_users_files(workspace: Path) -> None:
    before = (workspace / "docs" / "architecture.drawio").read_bytes()
    async with stdio_client(workspace) as client:
        text = await tool_error(
            client,
            "generate_iac",
            path="docs/architecture.drawio",
            output_dir="docs",
            iac="bicep",
        )
    assert "output_dir holds files Forgeflow did not generate (e.g. architecture.drawio)" in text
    assert sorted(p.name for p in (workspace / "docs").iterdir()) == ["architecture.drawio"]
    assert (workspace / "docs" / "architecture.drawio").read_bytes() == before
    assert not (workspace / ".forgeflow").exists()  # refused before anything ran


async def test_a_sqlite_store_is_shared_with_the_cli(workspace: Path) -> None:
    url = f"sqlite:///{workspace / 'state.db'}"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "orchestration", "mcp", "--state", url],
        cwd=str(workspace),
        env=server_env(),
    )
    async with Client(params, list_roots_callback=roots_callback(workspace)) as client:
        schemas = await output_schemas(client)
        done = await call(client, schemas, "analyse_diagram", path="docs/architecture.drawio")
        run = await call(client, schemas, "get_run", run_id=done["run_id"])
    assert run["status"] == "succeeded" and len(run["stages"]) == 7
    assert not (workspace / ".forgeflow" / "state").exists()  # nothing in the default store
    status = run_cli("-m", "orchestration", "status", done["run_id"], "--state", url)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["record"] == run["record"]
