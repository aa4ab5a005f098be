"""The seam between agents and a language model.

Agents that need a model depend on the :class:`ModelClient` protocol only. Tests and
offline runs use :class:`ScriptedModelClient`, which answers deterministically from a
script; the hosted-model client implements the same protocol.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class ToolCall(BaseModel):
    """One call of a tool that a model asks for: its id, the tool's name, the arguments
    as the JSON text the model wrote (parsed and validated only by the tool's side)."""

    id: str
    name: str
    arguments: str = "{}"

    def to_openai(self) -> dict[str, Any]:
        """The call as chat-completions writes it in an assistant message."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


class ChatMessage(BaseModel):
    """One message of a chat-completions conversation.

    An assistant message may carry ``tool_calls`` (and no content); each is answered by a
    ``tool`` message naming the call in ``tool_call_id``.
    """

    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def to_openai(self) -> dict[str, Any]:
        """The message as the chat-completions protocol writes it (unset parts left out)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


class ModelUsage(BaseModel):
    """Tokens spent by one model call."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = Field(
        default=None, description="Estimated cost in US dollars; None when the price is unknown"
    )


class ModelReply(BaseModel):
    """What a model answered, with the tokens it spent."""

    content: str
    model: str
    usage: ModelUsage = Field(default_factory=ModelUsage)
    #: The tools the model asks to be called before it answers (empty: it answered).
    tool_calls: list[ToolCall] = Field(default_factory=list)


class ModelCall(BaseModel):
    """One model call as the run record keeps it: which model, and what it spent."""

    model: str
    usage: ModelUsage = Field(default_factory=ModelUsage)


_CALLS: ContextVar[list[ModelCall] | None] = ContextVar("forgeflow_model_calls", default=None)


def note_model_call(reply: ModelReply) -> None:
    """Record ``reply``'s model and usage with the agent run in progress (if one collects).

    Model clients call this once per answered call; :func:`collect_model_calls` gathers
    the calls of one agent run (``execute()`` uses it), per asyncio task.
    """
    calls = _CALLS.get()
    if calls is not None:
        calls.append(ModelCall(model=reply.model, usage=reply.usage.model_copy()))


@contextmanager
def collect_model_calls() -> Iterator[list[ModelCall]]:
    """Collect the model calls made inside the ``with`` block (in this task) into a list."""
    calls: list[ModelCall] = []
    token = _CALLS.set(calls)
    try:
        yield calls
    finally:
        _CALLS.reset(token)


ToolOutcome = Literal["ok", "failed", "invalid_arguments", "refused"]


class ToolCallRecord(BaseModel):
    """One tool call as the run record keeps it.

    ``outcome``: ``ok``; ``failed`` (the tool raised: its error went back to the model);
    ``invalid_arguments`` (the arguments were not JSON or broke the tool's schema: the
    validation error went back to the model); ``refused`` (no such tool is offered to
    this agent). The arguments are kept as a digest only: they may hold anything.
    """

    tool: str
    call_id: str = ""
    arguments_digest: str
    duration_ms: float = 0.0
    outcome: ToolOutcome
    error: str | None = None
    output_chars: int = 0
    truncated: bool = False


_TOOL_CALLS: ContextVar[list[ToolCallRecord] | None] = ContextVar(
    "forgeflow_tool_calls", default=None
)


def note_tool_call(record: ToolCallRecord) -> None:
    """Record one tool call with the agent run in progress (if one collects)."""
    calls = _TOOL_CALLS.get()
    if calls is not None:
        calls.append(record)


@contextmanager
def collect_tool_calls() -> Iterator[list[ToolCallRecord]]:
    """Collect the tool calls made inside the ``with`` block (in this task) into a list."""
    calls: list[ToolCallRecord] = []
    token = _TOOL_CALLS.set(calls)
    try:
        yield calls
    finally:
        _TOOL_CALLS.reset(token)


@runtime_checkable
class ToolBox(Protocol):
    """The tools one agent run may call, as a model client's tool loop sees them.

    ``definitions`` are the chat-completions ``tools`` entries (``type: function`` with a
    name, a description and the JSON Schema of the parameters). ``call`` runs one call and
    returns the text of the ``tool`` reply; it never raises for a failing tool or bad
    arguments (those go back to the model as data) and records every call.
    """

    def definitions(self) -> list[dict[str, Any]]: ...

    async def call(self, call: ToolCall) -> str: ...


@runtime_checkable
class ModelClient(Protocol):
    """Anything that can complete a chat, optionally constrained to a JSON schema.

    ``tools`` (chat-completions ``tools`` entries) offers tools: the reply may then carry
    ``tool_calls`` instead of an answer. Clients are only given ``tools`` when an agent
    has some, so a client without tool support still serves agents without tools.
    """

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None = None,
        response_schema: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> ModelReply: ...


@dataclass(frozen=True)
class ScriptedToolCalls:
    """A scripted reply that asks for tools: ``(name, arguments)`` pairs, called in one
    round (several: in parallel). Arguments are a dict (sent as JSON) or raw text (to
    script a model that writes broken JSON)."""

    calls: tuple[tuple[str, dict[str, Any] | str], ...]

    @classmethod
    def of(cls, *calls: tuple[str, dict[str, Any] | str]) -> ScriptedToolCalls:
        return cls(tuple(calls))


ScriptItem = str | dict[str, Any] | BaseModel | ScriptedToolCalls
Script = Sequence[ScriptItem] | Callable[[Sequence[ChatMessage]], str | ScriptedToolCalls]


class ScriptedModelClient:
    """A deterministic model: replies come from a list (in order) or a function.

    A :class:`ScriptedToolCalls` item asks for tools (only when tools are offered, as a
    real model would). Every call is recorded in :attr:`calls`, and the tools offered with
    it in :attr:`tools_offered`, so tests can assert what was asked. Token usage is
    counted as whitespace-separated words, which keeps it stable.
    """

    def __init__(self, script: Script, *, model: str = "scripted") -> None:
        self._script = script
        self._next = 0
        self._call_ids = 0
        self.model = model
        self.calls: list[list[ChatMessage]] = []
        self.tools_offered: list[list[dict[str, Any]] | None] = []

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None = None,
        response_schema: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> ModelReply:
        self.calls.append(list(messages))
        self.tools_offered.append(tools)
        item: ScriptItem
        if callable(self._script):
            item = self._script(messages)
        else:
            if self._next >= len(self._script):
                raise RuntimeError(
                    f"scripted model has no reply left (asked {self._next + 1} times)"
                )
            item = self._script[self._next]
            self._next += 1
        calls: list[ToolCall] = []
        if isinstance(item, ScriptedToolCalls):
            if not tools:
                raise RuntimeError("scripted model asks for tools, but none were offered")
            for name, args in item.calls:
                self._call_ids += 1
                text_args = args if isinstance(args, str) else json.dumps(args)
                calls.append(ToolCall(id=f"call_{self._call_ids}", name=name, arguments=text_args))
            text = ""
        elif isinstance(item, BaseModel):
            text = item.model_dump_json()
        elif isinstance(item, dict):
            text = json.dumps(item)
        else:
            text = item
        words_in = sum(len(str(m.content or "").split()) for m in messages)
        words_out = len(text.split()) + sum(len(c.arguments.split()) + 1 for c in calls)
        reply = ModelReply(
            content=text,
            model=model or self.model,
            usage=ModelUsage(input_tokens=words_in, output_tokens=words_out),
            tool_calls=calls,
        )
        note_model_call(reply)
        return reply
