"""Function tools: a Python function with typed parameters, offered to a model by name.

The parameters become a pydantic model whose JSON Schema is what the model sees; the
model's arguments are validated against it before the function runs, and the result is
dumped as JSON through the return annotation::

    @function_tool
    def add(a: int, b: int = 0) -> int:
        "Add two integers."
        return a + b

A synchronous function runs in a worker thread, so the calls of one round run in
parallel without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from agents.base import format_validation_error

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


class ToolArgumentsError(ValueError):
    """The model's arguments do not fit the tool: the message goes back to the model."""


def check_tool_name(name: str) -> str:
    """``name`` if the chat-completions protocol allows it (``^[A-Za-z0-9_-]{1,64}$``)."""
    if not name or len(name) > 64 or not set(name) <= _NAME_CHARS:
        raise ValueError(f"tool name {name!r}: use 1 to 64 letters, digits, '_' or '-'")
    return name


class Tool(ABC):
    """Something a model may call: a name, a description, a JSON Schema of parameters.

    ``writes`` marks a tool that changes something outside the run (a file, a record):
    it is offered only when the agent's ``tool_policy.allow_writes`` is true.
    """

    name: str
    description: str = ""
    writes: bool = False

    @abstractmethod
    def parameters(self) -> dict[str, Any]:
        """The JSON Schema (an object) of the tool's arguments."""

    @abstractmethod
    async def invoke(self, arguments: dict[str, Any]) -> Any:
        """Run the tool on the model's parsed arguments; return JSON-ready data.

        Raise :class:`ToolArgumentsError` for arguments that do not fit; any other
        exception is a failure of the tool. Both go back to the model as data.
        """

    async def aclose(self) -> None:  # noqa: B027 (most tools hold nothing)
        """Release what the tool holds."""

    def definition(self) -> dict[str, Any]:
        """The chat-completions ``tools`` entry of this tool."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters(),
            },
        }


class FunctionTool(Tool):
    """A :class:`Tool` made of a Python function (sync or async) with typed parameters."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        writes: bool = False,
    ) -> None:
        self.fn = fn
        self.name = check_tool_name(name or fn.__name__)
        doc = inspect.getdoc(fn) or ""
        self.description = description if description is not None else doc
        self.writes = writes
        hints = get_type_hints(fn)
        fields: dict[str, Any] = {}
        for param in inspect.signature(fn).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"tool {self.name!r}: *args and **kwargs cannot be described")
            if param.name not in hints:
                raise TypeError(f"tool {self.name!r}: parameter {param.name!r} needs a type")
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (hints[param.name], default)
        self.arguments_model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            f"{self.name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
        )
        self._result = TypeAdapter(hints.get("return", Any))
        self._async = inspect.iscoroutinefunction(fn)

    def parameters(self) -> dict[str, Any]:
        schema = self.arguments_model.model_json_schema()
        schema.pop("title", None)
        return schema

    async def invoke(self, arguments: dict[str, Any]) -> Any:
        try:
            typed = self.arguments_model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentsError(format_validation_error(exc)) from None
        kwargs = {key: getattr(typed, key) for key in self.arguments_model.model_fields}
        if self._async:
            result = await self.fn(**kwargs)
        else:
            result = await asyncio.to_thread(self.fn, **kwargs)
        return self._result.dump_python(result, mode="json")


def function_tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    writes: bool = False,
) -> Any:
    """Make a :class:`FunctionTool` of ``fn``; usable bare (``@function_tool``) or with
    arguments (``@function_tool(name="lookup")``)."""

    def make(f: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(f, name=name, description=description, writes=writes)

    return make(fn) if fn is not None else make


def dump_result(value: Any) -> str:
    """A tool's result as the text of the ``tool`` reply: text as it is, the rest JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
