"""A tiny MCP server for the tests (stdio; streamable HTTP on 127.0.0.1 with ``--http
PORT``): notes to look up, its process id and environment, and a tool that must never be
offered (it is on no allow-list)."""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

NOTES = {"tls": "TLS 1.2 minimum on every endpoint", "identity": "managed identities only"}

server = MCPServer("notes")


@server.tool()
def lookup(key: str) -> str:
    """The note kept under a key."""
    if key not in NOTES:
        raise ToolError(f"no note {key!r}; notes: {', '.join(sorted(NOTES))}")
    return NOTES[key]


@server.tool()
def server_pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def environment(name: str) -> str:
    """The value of an environment variable of the server's process ('' when unset)."""
    return os.environ.get(name, "")


@server.tool()
def delete_all_notes() -> str:
    """Delete every note (never allow-listed in the tests)."""
    NOTES.clear()
    return "deleted"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":  # streamable HTTP on loopback
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
