"""Find agents by name: the built-in ones and those other packages declare.

A third-party package adds agents without forking Forgeflow by declaring them under the
``forgeflow.agents`` entry-point group, for example in its ``pyproject.toml``::

    [project.entry-points."forgeflow.agents"]
    summarise = "my_package.agents:SummariseAgent"

Agent classes are imported only when asked for, so listing names stays cheap.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from agents.base import Agent, AgentConfig
from agents.errors import UnknownAgentError
from agents.model_client import ModelClient

ENTRY_POINT_GROUP = "forgeflow.agents"

#: Built-in agents: name -> "module:Class". Imported lazily.
BUILTIN_AGENTS: dict[str, str] = {
    "echo": "agents.builtin:EchoAgent",
    "word_count": "agents.builtin:WordCountAgent",
    "uppercase": "agents.builtin:UppercaseAgent",
    "assistant": "agents.models.assistant:AssistantAgent",
    "vision": "agents.synthforge.analysis.vision:VisionAgent",
    "filter": "agents.synthforge.analysis.filter:FilterAgent",
    "interactive": "agents.synthforge.analysis.interactive:InteractiveAgent",
    "network_flow": "agents.synthforge.analysis.network_flow:NetworkFlowAgent",
    "security": "agents.synthforge.analysis.security:SecurityAgent",
    "cost_estimation": "agents.synthforge.analysis.cost_estimation:CostEstimationAgent",
    "combine": "agents.synthforge.analysis.combine:CombineAgent",
    "module_development": "agents.synthforge.iac.module_development:ModuleDevelopmentAgent",
    "code_quality": "agents.synthforge.iac.code_quality:CodeQualityAgent",
    "code_quality_fixer": "agents.synthforge.iac.fixer:CodeQualityFixerAgent",
    "write_modules": "agents.synthforge.iac.write_modules:WriteModulesAgent",
}


@dataclass(frozen=True)
class AgentInfo:
    """What ``--list`` shows about one agent."""

    name: str
    version: str
    input_model: str
    output_model: str
    description: str
    source: str


def _load(target: str) -> type[Agent[Any, Any]]:
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Agent)):
        raise TypeError(f"{target} is not an Agent subclass")
    return cls


class AgentRegistry:
    """Agents by name. ``register`` adds classes directly (handy in tests)."""

    def __init__(self, *, builtins: bool = True, entry_point_agents: bool = True) -> None:
        self._targets: dict[str, tuple[str, str]] = {}
        self._classes: dict[str, type[Agent[Any, Any]]] = {}
        if builtins:
            for name, target in BUILTIN_AGENTS.items():
                self._targets[name] = (target, "builtin")
        if entry_point_agents:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                self._targets.setdefault(ep.name, (ep.value, f"entry point ({ep.value})"))

    def register(self, cls: type[Agent[Any, Any]], name: str | None = None) -> None:
        """Register an agent class under ``name`` (default: its ``name`` attribute)."""
        key = name or cls.name
        self._classes[key] = cls
        self._targets.pop(key, None)

    def names(self) -> list[str]:
        return sorted(set(self._targets) | set(self._classes))

    def __contains__(self, name: object) -> bool:
        return name in self._targets or name in self._classes

    def get(self, name: str) -> type[Agent[Any, Any]]:
        """The agent class registered as ``name``; :class:`UnknownAgentError` if none."""
        if name in self._classes:
            return self._classes[name]
        if name not in self._targets:
            known = ", ".join(self.names()) or "none"
            raise UnknownAgentError(f"unknown agent {name!r}; known agents: {known}")
        target, _ = self._targets[name]
        cls = _load(target)
        self._classes[name] = cls
        return cls

    def create(
        self,
        name: str,
        config: AgentConfig | None = None,
        *,
        model_client: ModelClient | None = None,
    ) -> Agent[Any, Any]:
        """Instantiate the agent registered as ``name``."""
        return self.get(name)(config, model_client=model_client)

    def describe(self) -> list[AgentInfo]:
        infos = []
        for name in self.names():
            cls = self.get(name)
            source = self._targets.get(name, ("", "registered"))[1]
            infos.append(
                AgentInfo(
                    name=name,
                    version=cls.version,
                    input_model=cls.input_model.__name__,
                    output_model=cls.output_model.__name__,
                    description=cls.description,
                    source=source,
                )
            )
        return infos


@cache
def default_registry() -> AgentRegistry:
    """The process-wide registry of built-in and entry-point agents."""
    return AgentRegistry()
