"""A small MCP server (stdio) for the reviewer example: review checklists by resource kind.

Run by ``examples/pipelines/reviewer-tools.yaml`` as a tool source; any MCP server works
the same way. Needs the ``mcp`` package (``pip install 'forgeflow[mcp]'``).
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

CHECKLISTS = {
    "compute": ["runs with a managed identity", "no secrets in app settings", "HTTPS only"],
    "data": ["private endpoint or firewall rules", "encryption at rest", "backups tested"],
    "network": ["no inbound rule from the internet to management ports", "flow logs on"],
    "monitoring": ["workspace-based", "local authentication disabled"],
}

server = MCPServer("checklist")


@server.tool()
def checklist(kind: str) -> list[str]:
    """The review checklist of a kind of resource: compute, data, network or monitoring."""
    if kind not in CHECKLISTS:
        raise ToolError(f"no checklist {kind!r}; kinds: {', '.join(sorted(CHECKLISTS))}")
    return CHECKLISTS[kind]


if __name__ == "__main__":
    server.run()
