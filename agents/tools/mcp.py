"""MCP servers as tool sources, through the ``mcp`` SDK's client (``forgeflow[mcp]``).

An :class:`~agents.base.MCPToolSource` names a stdio server (``command``: started as a
child process) or a streamable-HTTP one (``url``), and an allow-list. At the agent's
set-up the server is started, the session initialised and its tools listed; every
allow-listed name must be among them, and only those are offered to the model. A tool
whose annotations say it is destructive counts as writing. At tear-down the session is
closed and a stdio server's process ends. A ``command`` starting with ``python`` runs
the interpreter Forgeflow itself runs in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from contextlib import AsyncExitStack
from typing import Any

from agents.base import MCPToolSource
from agents.errors import ToolError
from agents.tools.function import Tool, ToolArgumentsError, check_tool_name

log = logging.getLogger(__name__)


class MCPTool(Tool):
    """One tool of an MCP server, called over the server's session."""

    def __init__(
        self,
        source: MCPToolSource,
        session: Any,
        name: str,
        description: str,
        schema: dict[str, Any],
        *,
        writes: bool,
    ) -> None:
        self.source = source
        self.session = session
        self.name = check_tool_name(name)
        self.description = description
        self.writes = writes
        self._schema = schema or {"type": "object", "properties": {}}

    def parameters(self) -> dict[str, Any]:
        return self._schema

    async def invoke(self, arguments: dict[str, Any]) -> Any:
        import jsonschema

        validator = jsonschema.Draft202012Validator(self._schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
        if error is not None:
            where = "$" + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
            )
            raise ToolArgumentsError(f"{where}: {error.message}")
        result = await self.session.call_tool(
            self.name, arguments, read_timeout_seconds=self.source.timeout
        )
        texts = [getattr(part, "text", "") for part in result.content or []]
        if getattr(result, "is_error", False):
            raise RuntimeError(
                f"MCP server {self.source.mcp!r}: " + (" ".join(texts) or "the tool failed")
            )
        structured = getattr(result, "structured_content", None)
        if structured is not None:
            return structured
        if len(texts) == 1:
            return texts[0]
        return json.dumps(texts)


class _Connection:
    """One MCP session, owned by a task of its own.

    The SDK's transports hold task groups that must be left in the task that entered them;
    an agent may be set up in one task and torn down in another (a parallel group), so the
    connection lives in its own task until :meth:`aclose`.
    """

    def __init__(self, source: MCPToolSource) -> None:
        self.source = source
        self.session: Any = None
        self.listed: list[Any] = []
        self.error: BaseException | None = None
        self._ready = asyncio.Event()
        self._close = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"mcp:{self.source.mcp}")
        try:
            await asyncio.wait_for(self._ready.wait(), self.source.timeout)
        except TimeoutError:
            await self.aclose()
            raise
        if self.error is not None:
            await self.aclose()
            raise self.error

    async def _run(self) -> None:
        from mcp import ClientSession

        source = self.source
        try:
            async with AsyncExitStack() as stack:
                if source.command is not None:
                    from mcp import StdioServerParameters, stdio_client

                    program = source.command[0]
                    if program in ("python", "python3"):  # the interpreter Forgeflow runs in
                        program = sys.executable
                    params = StdioServerParameters(
                        command=program, args=source.command[1:], env=source.env or None
                    )
                    read, write = await stack.enter_async_context(stdio_client(params))
                else:
                    from mcp.client.streamable_http import streamable_http_client

                    assert source.url is not None
                    transport = streamable_http_client(source.url)
                    read, write = await stack.enter_async_context(transport)
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                self.listed = list((await session.list_tools()).tools)
                self.session = session
                self._ready.set()
                await self._close.wait()
        except Exception as exc:
            if not self._ready.is_set():
                self.error = exc
            else:
                log.warning("MCP server %r: the session ended with %s", source.mcp, _describe(exc))
        finally:
            self._ready.set()

    async def aclose(self) -> None:
        self._close.set()
        task, self._task = self._task, None
        if task is None:
            return
        if not self.session:  # still starting: stop it
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def open_mcp_tools(source: MCPToolSource, stack: AsyncExitStack, *, agent: str) -> list[Tool]:
    """Start or reach ``source``'s server (closed by ``stack``); its allow-listed tools."""
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise ToolError(
            f"agent {agent!r}: MCP source {source.mcp!r} needs the mcp package; "
            "pip install 'forgeflow[mcp]'"
        ) from None
    where = f"agent {agent!r}: MCP server {source.mcp!r}"
    connection = _Connection(source)
    try:
        await connection.start()
    except TimeoutError:
        raise ToolError(f"{where}: no answer within {source.timeout:g} s") from None
    except Exception as exc:
        raise ToolError(f"{where}: cannot start or reach it: {_describe(exc)}") from None
    stack.push_async_callback(connection.aclose)
    session, listed = connection.session, connection.listed
    offered = {tool.name: tool for tool in listed}
    missing = [name for name in source.allow if name not in offered]
    if missing:
        raise ToolError(
            f"{where} has no tool {', '.join(repr(m) for m in missing)}; it offers: "
            f"{', '.join(sorted(offered)) or 'none'}"
        )
    tools: list[Tool] = []
    for name in source.allow:
        spec = offered[name]
        notes = getattr(spec, "annotations", None)
        read_only = bool(getattr(notes, "read_only_hint", False))
        destructive = bool(getattr(notes, "destructive_hint", False))
        tools.append(
            MCPTool(
                source,
                session,
                name,
                spec.description or "",
                dict(getattr(spec, "input_schema", None) or {}),
                writes=destructive and not read_only,
            )
        )
    return tools


def _describe(exc: BaseException) -> str:
    """One line for ``exc``, looking inside exception groups (anyio task groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
