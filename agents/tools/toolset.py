"""The tools of one agent: resolved from its ``AgentConfig.tools``, called and recorded.

:func:`open_toolset` turns the names and sources an agent is given into tools — built-in
and registered function tools, ``agent:NAME`` (a registered agent as a tool), the
allow-listed tools of MCP servers (started here, stopped when the block ends) — and
yields a :class:`Toolset`, which a model client's tool loop calls. A toolset never raises
for a call: an unknown tool, arguments that are not JSON or break the tool's schema, a
tool that fails — each goes back to the model as a JSON error, and every call is
recorded (tool, digest of the arguments, duration, outcome) with the agent run.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import shutil
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.base import AgentConfig, MCPToolSource, ToolPolicy
from agents.errors import ForgeflowError, ToolError
from agents.model_client import ToolCall, ToolCallRecord, ToolOutcome, note_tool_call
from agents.tools.files import Workspace
from agents.tools.function import Tool, ToolArgumentsError, dump_result

if TYPE_CHECKING:
    from agents.registry import AgentRegistry
    from agents.tools.registry import ToolRegistry

AGENT_PREFIX = "agent:"

#: Longest error text a tool reply repeats.
_ERROR_CHARS = 500


@dataclass(frozen=True)
class ToolContext:
    """What a tool factory may use: the agent's name, its tool policy, its workspace."""

    agent: str
    policy: ToolPolicy
    workspace: Workspace


def arguments_digest(arguments: str) -> str:
    """``sha256:HEX`` of the arguments (canonical JSON when they parse, else the text)."""
    try:
        canonical = json.dumps(json.loads(arguments), sort_keys=True, separators=(",", ":"))
    except (ValueError, TypeError):
        canonical = arguments
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "replace")).hexdigest()


def _short(text: str, limit: int = _ERROR_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Toolset:
    """The tools one agent run may call (a :class:`agents.model_client.ToolBox`)."""

    def __init__(self, tools: Sequence[Tool], policy: ToolPolicy, *, agent: str = "") -> None:
        self.policy = policy
        self.agent = agent
        self.tools: dict[str, Tool] = {}
        for tool in tools:
            if tool.name in self.tools:
                raise ToolError(f"agent {agent!r}: two tools are named {tool.name!r}")
            if tool.writes and not policy.allow_writes:
                raise ToolError(
                    f"agent {agent!r}: tool {tool.name!r} writes; it is offered only with "
                    "tool_policy.allow_writes: true"
                )
            self.tools[tool.name] = tool
        self._gate: asyncio.Semaphore | None = None

    def __bool__(self) -> bool:
        return bool(self.tools)

    def names(self) -> list[str]:
        return list(self.tools)

    def definitions(self) -> list[dict[str, Any]]:
        return [tool.definition() for tool in self.tools.values()]

    async def call(self, call: ToolCall) -> str:
        """Run one call; the text of the ``tool`` reply. Never raises for the tool's sake."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.policy.max_parallel)
        async with self._gate:
            t0 = time.perf_counter()
            outcome, content, error = await self._run(call)
            elapsed = (time.perf_counter() - t0) * 1000
        limit = self.policy.max_output_chars
        truncated = len(content) > limit
        if truncated:
            note = f"\n[output cut: {len(content):,} characters, the limit is {limit:,}]"
            content = content[: max(0, limit - len(note))] + note
        note_tool_call(
            ToolCallRecord(
                tool=call.name,
                call_id=call.id,
                arguments_digest=arguments_digest(call.arguments),
                duration_ms=elapsed,
                outcome=outcome,
                error=error,
                output_chars=len(content),
                truncated=truncated,
            )
        )
        return content

    async def _run(self, call: ToolCall) -> tuple[ToolOutcome, str, str | None]:
        tool = self.tools.get(call.name)
        if tool is None:
            offered = ", ".join(self.tools) or "none"
            error = f"no tool named {call.name!r} is offered; tools: {offered}"
            return "refused", _error_reply(error), error
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            error = f"the arguments of {call.name!r} are not a JSON document"
            return "invalid_arguments", _error_reply(error), error
        if not isinstance(arguments, dict):
            error = f"the arguments of {call.name!r} must be a JSON object"
            return "invalid_arguments", _error_reply(error), error
        timeout = self.policy.call_timeout
        try:
            result = await asyncio.wait_for(tool.invoke(arguments), timeout)
        except TimeoutError:
            error = f"tool {call.name!r} failed: no answer within {timeout:g} s"
            return "failed", _error_reply(error), error
        except ToolArgumentsError as exc:
            error = _short(f"invalid arguments for {call.name!r}: {exc}")
            return "invalid_arguments", _error_reply(error), error
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a tool's failure is data for the model
            if isinstance(exc, ForgeflowError):
                detail = exc.one_line()
            else:
                detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            error = _short(f"tool {call.name!r} failed: {detail}")
            return "failed", _error_reply(error), error
        return "ok", dump_result(result), None

    async def aclose(self) -> None:
        for tool in self.tools.values():
            await tool.aclose()


#: The agents-as-tools adapter: it runs agents through orchestration's ``execute``, so it
#: is loaded by name, only when an agent is given an agent as a tool — the tools (like
#: the agent contract) do not depend on orchestration.
AGENT_TOOL = "orchestration.runtime.agent_tool:AgentTool"


def _agent_tool_class() -> Callable[..., Tool]:
    module, _, attr = AGENT_TOOL.partition(":")
    cls: Callable[..., Tool] = getattr(importlib.import_module(module), attr)
    return cls


def _error_reply(message: str) -> str:
    return json.dumps({"error": message})


@asynccontextmanager
async def open_toolset(
    config: AgentConfig,
    *,
    tool_registry: ToolRegistry | None = None,
    agent_registry: AgentRegistry | None = None,
) -> AsyncIterator[Toolset]:
    """The tools ``config`` names, set up (MCP servers started) for the ``with`` block.

    Raises :class:`~agents.errors.ToolError` (one line) for an unknown tool, a writing
    tool without ``allow_writes``, or an MCP server that cannot be started or lacks an
    allow-listed tool; anything already started is stopped again.
    """
    from agents.tools.registry import default_tool_registry

    registry = tool_registry or default_tool_registry()
    policy = config.tool_policy
    ctx = ToolContext(agent=config.name, policy=policy, workspace=Workspace(policy.workspace))
    try:
        async with AsyncExitStack() as stack:
            tools: list[Tool] = []
            for entry in config.tools:
                if isinstance(entry, MCPToolSource):
                    from agents.tools.mcp import open_mcp_tools

                    tools += await open_mcp_tools(entry, stack, agent=config.name)
                elif entry.startswith(AGENT_PREFIX):
                    name = entry.removeprefix(AGENT_PREFIX)
                    tools.append(_agent_tool_class()(name, registry=agent_registry))
                else:
                    tools.append(registry.create(entry, ctx))
            toolset = Toolset(tools, policy, agent=config.name)
            stack.push_async_callback(toolset.aclose)
            yield toolset
    except BaseExceptionGroup as group:
        # an MCP transport's task group wraps what passes through it: one error is one
        raise _single(group) from None


def _single(group: BaseExceptionGroup[Any]) -> BaseException:
    """The one exception inside nested groups, or the group when it holds several."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    return leaves[0] if len(leaves) == 1 else group


def check_tools(
    config: AgentConfig,
    *,
    tool_registry: ToolRegistry | None = None,
    agent_registry: AgentRegistry | None = None,
) -> None:
    """Check ``config.tools`` without starting anything (pipelines call this for every
    stage before the first runs): names known, agents registered, no writing tool
    without ``allow_writes``, no name twice, a stdio MCP server's program found. The MCP
    servers' tools are checked when they are started."""
    from agents.registry import default_registry
    from agents.tools.registry import default_tool_registry

    registry = tool_registry or default_tool_registry()
    agents = agent_registry or default_registry()
    seen: set[str] = set()
    for entry in config.tools:
        if isinstance(entry, MCPToolSource):
            _check_command(entry, config.name)
            continue
        if entry in seen:
            raise ToolError(f"agent {config.name!r}: tool {entry!r} is named twice")
        seen.add(entry)
        if entry.startswith(AGENT_PREFIX):
            name = entry.removeprefix(AGENT_PREFIX)
            if name not in agents:
                known = ", ".join(agents.names())
                raise ToolError(
                    f"agent {config.name!r}: tool {entry!r}: no agent {name!r}; "
                    f"known agents: {known}"
                )
            if name == config.name:
                raise ToolError(f"agent {config.name!r}: cannot be a tool of itself")
            continue
        if registry.writes(entry) and not config.tool_policy.allow_writes:
            raise ToolError(
                f"agent {config.name!r}: tool {entry!r} writes; it is offered only with "
                "tool_policy.allow_writes: true"
            )


def _check_command(source: MCPToolSource, agent: str) -> None:
    """A stdio MCP server's program exists (``python`` is always there)."""
    if source.command is None or source.command[0] in ("python", "python3"):
        return
    program = source.command[0]
    if shutil.which(program) is None:
        raise ToolError(
            f"agent {agent!r}: MCP server {source.mcp!r}: program {program!r} not found "
            "(not on PATH, or not an executable file)"
        )
