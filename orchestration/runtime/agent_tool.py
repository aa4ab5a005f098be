"""A registered agent offered to a model as a tool (``agent:NAME`` in ``AgentConfig.tools``).

The tool's parameters are the agent's input model; a call runs the agent through
:func:`orchestration.runtime.execution.execute` with the calling agent's run context, so the
result cache, resuming from the state store and monitoring hold for it as for any stage.
Its stage is ``CALLER_STAGE/tool-NAME-DIGEST`` (the digest of the input), so a resumed
run finds the same call again. This adapter is the one part of the tools that depends on
orchestration; it is imported only when an agent is given an agent as a tool.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agents.base import AgentConfig, format_validation_error
from agents.tools.function import Tool, ToolArgumentsError, check_tool_name

if TYPE_CHECKING:
    from agents.registry import AgentRegistry


class AgentTool(Tool):
    """The agent registered as ``agent`` as a tool named after it."""

    def __init__(self, agent: str, *, registry: AgentRegistry | None = None) -> None:
        from agents.registry import default_registry

        self.registry = registry or default_registry()
        self.agent_class = self.registry.get(agent)
        self.agent = agent
        self.name = check_tool_name(agent)
        self.description = self.agent_class.description or f"Run the agent {agent!r}"

    def parameters(self) -> dict[str, Any]:
        return self.agent_class.input_model.model_json_schema()

    async def invoke(self, arguments: dict[str, Any]) -> Any:
        from orchestration.runtime.execution import RunContext, current_run, execute

        try:
            typed = self.agent_class.input_model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentsError(format_validation_error(exc)) from None
        canonical = json.dumps(typed.model_dump(mode="json"), sort_keys=True)
        short = hashlib.sha256(canonical.encode()).hexdigest()[:12]
        caller = current_run()
        ctx = caller.ctx if caller is not None else RunContext()
        parent = caller.stage if caller is not None else "tools"
        child = self.agent_class(AgentConfig(name=self.agent))
        async with child:
            run = await execute(child, typed, ctx, stage=f"{parent}/tool-{self.agent}-{short}")
        if not run.ok or run.output is None:
            raise RuntimeError(f"agent {self.agent!r} failed: {run.error}")
        return run.output.model_dump(mode="json")
