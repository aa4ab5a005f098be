"""Tools for model-backed agents: function tools, agents as tools, MCP servers as sources.

Names are imported on first use; the ``mcp`` SDK and orchestration only when an agent is
given an MCP source or an agent as a tool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.lazy import lazy_exports

if TYPE_CHECKING:
    from agents.tools.function import FunctionTool, Tool, ToolArgumentsError, function_tool
    from agents.tools.registry import ToolRegistry, default_tool_registry
    from agents.tools.toolset import ToolContext, Toolset, check_tools, open_toolset

_EXPORTS: dict[str, str] = {
    "FunctionTool": "agents.tools.function",
    "Tool": "agents.tools.function",
    "ToolArgumentsError": "agents.tools.function",
    "function_tool": "agents.tools.function",
    "ToolRegistry": "agents.tools.registry",
    "default_tool_registry": "agents.tools.registry",
    "ToolContext": "agents.tools.toolset",
    "Toolset": "agents.tools.toolset",
    "check_tools": "agents.tools.toolset",
    "open_toolset": "agents.tools.toolset",
}

__all__ = [
    "FunctionTool",
    "Tool",
    "ToolArgumentsError",
    "ToolContext",
    "ToolRegistry",
    "Toolset",
    "check_tools",
    "default_tool_registry",
    "function_tool",
    "open_toolset",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__, globals())
