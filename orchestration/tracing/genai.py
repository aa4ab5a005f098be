"""Model calls as spans, following OpenTelemetry's GenAI semantic conventions.

:func:`traced_model_client` wraps a :class:`~agents.model_client.ModelClient` so that each
``complete()`` is one ``chat MODEL`` span (kind client) with ``gen_ai.operation.name``,
``gen_ai.provider.name``, ``gen_ai.request.model``, ``gen_ai.response.model``,
``gen_ai.usage.input_tokens`` and ``gen_ai.usage.output_tokens``, plus
``forgeflow.cost_usd`` (the estimate, when the price is known) and how many tools were
offered and asked for (counts only). Messages, prompts and
replies are never recorded: they hold the diagram's text and whatever a user typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from orchestration.tracing.api import span

if TYPE_CHECKING:
    from agents.model_client import ChatMessage, ModelClient, ModelReply


def provider_name(client: Any) -> str:
    """``gen_ai.provider.name`` for a client: ``openai`` for the OpenAI-compatible one."""
    name = type(client).__name__
    if name == "OpenAIModelClient":
        kind = str(getattr(getattr(client, "endpoint", None), "kind", ""))
        return "azure.ai.openai" if "azure" in kind.lower() else "openai"
    return name.removesuffix("ModelClient").lower() or name.lower()


class TracedModelClient:
    """A model client whose calls are spans; everything else is the wrapped client's."""

    def __init__(self, inner: ModelClient) -> None:
        self._inner = inner
        self._provider = provider_name(inner)

    @property
    def inner(self) -> ModelClient:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None = None,
        response_schema: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> ModelReply:
        asked = model or getattr(self._inner, "model", None) or ""
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": self._provider,
            "gen_ai.request.model": asked or None,
            "gen_ai.output.type": "json" if response_schema is not None else "text",
        }
        if tools:
            attributes["forgeflow.tools_offered"] = len(tools)
        with span(f"chat {asked}".strip(), attributes, kind="client") as current:
            if tools:
                reply = await self._inner.complete(
                    messages, model=model, response_schema=response_schema, tools=tools
                )
            else:  # a client from before tools takes no such argument
                reply = await self._inner.complete(
                    messages, model=model, response_schema=response_schema
                )
            current.set_attributes(
                {
                    "forgeflow.tool_calls_asked": len(reply.tool_calls),
                    "gen_ai.response.model": reply.model,
                    "gen_ai.usage.input_tokens": reply.usage.input_tokens,
                    "gen_ai.usage.output_tokens": reply.usage.output_tokens,
                    "forgeflow.cost_usd": reply.usage.cost_usd,
                }
            )
            return reply


def traced_model_client(client: ModelClient) -> ModelClient:
    """``client`` with its calls traced (a client already wrapped is returned as is)."""
    if isinstance(client, TracedModelClient):
        return client
    return TracedModelClient(client)  # type: ignore[return-value]
