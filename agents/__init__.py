"""Forgeflow agents: typed pydantic inputs and outputs, found by name in a registry.

Names are imported on first use so that ``python -m agents.run --help`` starts without
building any pydantic model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.lazy import lazy_exports

if TYPE_CHECKING:
    from agents.base import (
        Agent,
        AgentConfig,
        AgentResult,
        AgentSettings,
        MCPToolSource,
        ToolPolicy,
    )
    from agents.errors import (
        ForgeflowError,
        InputError,
        PipelineError,
        SchemaViolation,
        StateStoreError,
        ToolError,
        UnknownAgentError,
    )
    from agents.model_client import (
        ChatMessage,
        ModelClient,
        ModelReply,
        ScriptedModelClient,
        ScriptedToolCalls,
        ToolCall,
        ToolCallRecord,
    )
    from agents.registry import ENTRY_POINT_GROUP, AgentRegistry, default_registry

_EXPORTS: dict[str, str] = {
    "Agent": "agents.base",
    "AgentConfig": "agents.base",
    "AgentResult": "agents.base",
    "AgentSettings": "agents.base",
    "MCPToolSource": "agents.base",
    "ToolPolicy": "agents.base",
    "ForgeflowError": "agents.errors",
    "InputError": "agents.errors",
    "PipelineError": "agents.errors",
    "SchemaViolation": "agents.errors",
    "StateStoreError": "agents.errors",
    "ToolError": "agents.errors",
    "UnknownAgentError": "agents.errors",
    "ChatMessage": "agents.model_client",
    "ModelClient": "agents.model_client",
    "ModelReply": "agents.model_client",
    "ScriptedModelClient": "agents.model_client",
    "ScriptedToolCalls": "agents.model_client",
    "ToolCall": "agents.model_client",
    "ToolCallRecord": "agents.model_client",
    "OpenAIModelClient": "agents.models.openai_client",
    "model_client_from_env": "agents.models.factory",
    "ENTRY_POINT_GROUP": "agents.registry",
    "AgentRegistry": "agents.registry",
    "default_registry": "agents.registry",
}

__all__ = [
    "ENTRY_POINT_GROUP",
    "Agent",
    "AgentConfig",
    "AgentRegistry",
    "AgentResult",
    "AgentSettings",
    "ChatMessage",
    "ForgeflowError",
    "InputError",
    "MCPToolSource",
    "ModelClient",
    "ModelReply",
    "PipelineError",
    "SchemaViolation",
    "ScriptedModelClient",
    "ScriptedToolCalls",
    "OpenAIModelClient",
    "model_client_from_env",
    "StateStoreError",
    "ToolCall",
    "ToolCallRecord",
    "ToolError",
    "ToolPolicy",
    "UnknownAgentError",
    "default_registry",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__, globals())
