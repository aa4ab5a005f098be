"""Tools by name: the built-in ones and those a program registers.

Built-in tools (made for each agent from its tool policy, imported on first use):

==================  ====================================================================
``read_file``       a window of lines of a text file in the workspace
``file_search``     lines of workspace files containing a text
``write_file``      write a text file in the workspace (writes: needs ``allow_writes``)
``icon_lookup``     SynthForge: the Azure/AWS resource type of a draw.io icon or a name
``price_lookup``    SynthForge: the price-table entry of a resource type
``security_rules``  SynthForge: the security rule of a resource type
==================  ====================================================================

A program adds its own with :meth:`ToolRegistry.register` (a :class:`Tool`, e.g. made
with :func:`~agents.tools.function.function_tool`, or a factory of the agent's
:class:`~agents.tools.toolset.ToolContext`).
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from agents.errors import ToolError
from agents.tools.function import Tool, check_tool_name

if TYPE_CHECKING:
    from agents.tools.toolset import ToolContext

ToolFactory = Callable[["ToolContext"], Tool]

#: name -> ("module:factory", writes)
BUILTIN_TOOLS: dict[str, tuple[str, bool]] = {
    "read_file": ("agents.tools.files:read_file_tool", False),
    "file_search": ("agents.tools.files:file_search_tool", False),
    "write_file": ("agents.tools.files:write_file_tool", True),
    "icon_lookup": ("agents.synthforge.tools:icon_lookup_tool", False),
    "price_lookup": ("agents.synthforge.tools:price_lookup_tool", False),
    "security_rules": ("agents.synthforge.tools:security_rules_tool", False),
}


class ToolRegistry:
    """Tools by name."""

    def __init__(self, *, builtins: bool = True) -> None:
        self._entries: dict[str, tuple[str | Tool | ToolFactory, bool]] = {}
        if builtins:
            self._entries.update(BUILTIN_TOOLS)

    def register(
        self, tool: Tool | ToolFactory, name: str | None = None, *, writes: bool | None = None
    ) -> None:
        """Add ``tool`` (a tool, or a factory called with each agent's context) under
        ``name`` (default: the tool's name). A factory's ``writes`` must be said."""
        if isinstance(tool, Tool):
            key = check_tool_name(name or tool.name)
            if key != tool.name or (writes is not None and writes != tool.writes):
                tool = copy.copy(tool)  # offered under another name, or marked otherwise
                tool.name = key
                tool.writes = tool.writes if writes is None else writes
            self._entries[key] = (tool, tool.writes)
            return
        if name is None:
            raise TypeError("a tool factory is registered with a name")
        self._entries[check_tool_name(name)] = (tool, bool(writes))

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def _entry(self, name: str) -> tuple[str | Tool | ToolFactory, bool]:
        if name not in self._entries:
            known = ", ".join(self.names()) or "none"
            raise ToolError(
                f"unknown tool {name!r}; known tools: {known} (an agent as a tool is 'agent:NAME')"
            )
        return self._entries[name]

    def writes(self, name: str) -> bool:
        """Whether the tool registered as ``name`` writes."""
        return self._entry(name)[1]

    def create(self, name: str, ctx: ToolContext) -> Tool:
        """The tool registered as ``name``, made for one agent."""
        target, _ = self._entry(name)
        if isinstance(target, Tool):
            return target
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            factory: ToolFactory = getattr(importlib.import_module(module), attr)
        else:
            factory = target
        tool = factory(ctx)
        tool.name = name
        return tool


@cache
def default_tool_registry() -> ToolRegistry:
    """The process-wide registry of built-in and registered tools."""
    return ToolRegistry()
