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
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class ChatMessage(BaseModel):
    """One message of a chat-completions conversation."""

    role: Literal["system", "user", "assistant"]
    content: str | list[dict[str, Any]]


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


@runtime_checkable
class ModelClient(Protocol):
    """Anything that can complete a chat, optionally constrained to a JSON schema."""

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None = None,
        response_schema: dict[str, Any] | None = None,
    ) -> ModelReply: ...


Script = Sequence[str | dict[str, Any] | BaseModel] | Callable[[Sequence[ChatMessage]], str]


class ScriptedModelClient:
    """A deterministic model: replies come from a list (in order) or a function.

    Every call is recorded in :attr:`calls`, so tests can assert what was asked.
    Token usage is counted as whitespace-separated words, which keeps it stable.
    """

    def __init__(self, script: Script, *, model: str = "scripted") -> None:
        self._script = script
        self._next = 0
        self.model = model
        self.calls: list[list[ChatMessage]] = []

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None = None,
        response_schema: dict[str, Any] | None = None,
    ) -> ModelReply:
        self.calls.append(list(messages))
        if callable(self._script):
            text = self._script(messages)
        else:
            if self._next >= len(self._script):
                raise RuntimeError(
                    f"scripted model has no reply left (asked {self._next + 1} times)"
                )
            item = self._script[self._next]
            self._next += 1
            if isinstance(item, BaseModel):
                text = item.model_dump_json()
            elif isinstance(item, dict):
                text = json.dumps(item)
            else:
                text = item
        words_in = sum(len(str(m.content).split()) for m in messages)
        reply = ModelReply(
            content=text,
            model=model or self.model,
            usage=ModelUsage(input_tokens=words_in, output_tokens=len(text.split())),
        )
        note_model_call(reply)
        return reply
