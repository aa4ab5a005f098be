"""The MCP configuration snippets in examples/mcp/: valid JSON with the keys each client
expects, tool names the server has, and a command that really starts the server."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from orchestration.mcp_server.server import build_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "mcp"
REPO = EXAMPLES.parent.parent
VSCODE = EXAMPLES / "vscode-mcp.json"
CODING_AGENT = EXAMPLES / "copilot-coding-agent.json"
COPILOT_CLI = EXAMPLES / "copilot-cli-mcp-config.json"


def load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


async def server_tools() -> set[str]:
    return {t.name for t in await build_server().list_tools()}


def test_vscode_mcp_json_has_the_keys_vscode_reads() -> None:
    doc = load(VSCODE)
    assert set(doc) <= {"servers", "inputs"}
    inputs = {entry["id"]: entry for entry in doc.get("inputs", [])}
    for entry in inputs.values():
        assert entry["type"] in ("promptString", "pickString", "command")
        assert entry["description"]
    assert doc["servers"], "no server"
    for name, server in doc["servers"].items():
        assert re.fullmatch(r"[a-z0-9-]+", name)
        assert server["type"] in ("stdio", "http", "sse"), name
        if server["type"] == "stdio":
            assert isinstance(server["command"], str)
            assert all(isinstance(a, str) for a in server["args"])
        else:
            assert server["url"].startswith("http://127.0.0.1:")
        # every ${input:ID} refers to a declared input (VS Code prompts for it)
        text = json.dumps(server)
        for ref in re.findall(r"\$\{input:([^}]+)\}", text):
            assert ref in inputs, ref
        assert "Bearer" not in text or "${input:" in text  # no token written in the file


@pytest.mark.parametrize("path", [CODING_AGENT, COPILOT_CLI], ids=["coding-agent", "copilot-cli"])
async def test_copilot_mcp_servers_have_the_keys_copilot_reads(path: Path) -> None:
    doc = load(path)
    assert set(doc) == {"mcpServers"}
    known = await server_tools()
    for server in doc["mcpServers"].values():
        assert server["type"] in ("local", "stdio", "http", "sse")
        assert server["command"] and isinstance(server["args"], list)
        tools = server["tools"]  # required by Copilot: the tools to enable
        assert tools and all(isinstance(t, str) for t in tools)
        assert tools == ["*"] or set(tools) <= known, set(tools) - known
        for value in server.get("env", {}).values():
            assert value.startswith("$COPILOT_MCP_") or not value.startswith("$")


def stdio_servers() -> list[Any]:
    found = []
    for path in (VSCODE, CODING_AGENT, COPILOT_CLI):
        doc = load(path)
        for name, server in (doc.get("servers") or doc.get("mcpServers") or {}).items():
            if server["type"] in ("stdio", "local"):
                found.append(pytest.param(server, id=f"{path.stem}-{name}"))
    return found


@pytest.mark.parametrize("server", stdio_servers())
async def test_the_configured_command_starts_the_server(server: dict[str, Any]) -> None:
    assert server["command"] == "python"  # the interpreter Forgeflow is installed in
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    params = StdioServerParameters(
        command=sys.executable, args=server["args"], cwd=str(REPO), env=env
    )
    async with Client(params) as client:
        listed = await client.list_tools()
    assert {t.name for t in listed.tools} == await server_tools()
