"""Forgeflow agents: typed pydantic inputs and outputs, found by name in a registry."""

from agents.base import Agent, AgentConfig, AgentResult
from agents.errors import (
    ForgeflowError,
    InputError,
    PipelineError,
    SchemaViolation,
    StateStoreError,
    UnknownAgentError,
)
from agents.model_client import ChatMessage, ModelClient, ModelReply, ScriptedModelClient
from agents.registry import ENTRY_POINT_GROUP, AgentRegistry, default_registry

__all__ = [
    "ENTRY_POINT_GROUP",
    "Agent",
    "AgentConfig",
    "AgentRegistry",
    "AgentResult",
    "ChatMessage",
    "ForgeflowError",
    "InputError",
    "ModelClient",
    "ModelReply",
    "PipelineError",
    "SchemaViolation",
    "ScriptedModelClient",
    "StateStoreError",
    "UnknownAgentError",
    "default_registry",
]
