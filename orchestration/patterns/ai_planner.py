"""A planner for :class:`~orchestration.patterns.coordinator.Coordinator` that asks a hosted model.

The model is shown the goal, the type of the plan's input and the registered agents with
their input and output types, and answers with a :class:`~orchestration.patterns.coordinator.Plan`
(its JSON Schema is the response format). Before anything runs, the plan is checked with
:func:`~orchestration.patterns.coordinator.check_plan` against the registry and the agents' types:
an unknown agent, a bad data flow, a cycle, a condition on a missing field. A plan that
fails is sent back with the precise reason and asked for again, ``max_attempts`` times in
all. After that — or when the model cannot be reached — the :class:`AIPlanner` falls back
to the :class:`~orchestration.patterns.coordinator.DeterministicPlanner` and says so: its ``name``,
which the coordinator puts in ``CoordinatorResult.planner``, then reads
``deterministic (fallback: …)``, and a warning is logged::

    planner = AIPlanner(model_client_from_env())
    result = await Coordinator(planner=planner).run("count the words, then shout", data)
    result.planner     # "ai", or "deterministic (fallback: ...)"
    planner.rejections # why each refused plan was refused
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel

from agents.model_client import ChatMessage, ModelClient
from agents.registry import AgentRegistry
from orchestration.patterns.coordinator import (
    INPUT,
    DeterministicPlanner,
    Plan,
    Planner,
    PlanRejected,
    check_plan,
)

log = logging.getLogger(__name__)

__all__ = ["PLANNER_PROMPT", "AIPlanner"]

PLANNER_PROMPT = f"""\
You plan runs of Forgeflow agents. Each agent takes one typed input and returns one typed
output. Answer with a plan as JSON matching the given schema:

- steps: in order. id: unique, short (the agent name is a good id). agent: one of the
  registered agents listed below, spelt exactly. input: "{INPUT}" for the plan's own input,
  or the id of an earlier step whose output type the agent can take as its input type.
- condition (optional): run the step only when a field of an earlier step's output holds:
  step, path (dotted field path of that output), op (eq, ne, gt, lt, truthy, falsy),
  value (for eq, ne, gt, lt).
- settings: {{}} unless the goal says otherwise.
- output: the id of the step whose output is the result, or null for the last one.

Use only the agents listed. Keep the plan as short as the goal allows. Answer with the JSON
document only."""


class AIPlanner:
    """Plans with a model; validated, re-asked with the reason, then a deterministic fallback.

    ``model`` overrides the client's default model; ``max_attempts`` counts every ask;
    ``fallback`` is the planner used when no valid plan comes (default: the
    :class:`DeterministicPlanner`). :attr:`name` and :attr:`rejections` describe the most
    recent :meth:`plan` call; use one planner per concurrent coordinator run.
    """

    def __init__(
        self,
        client: ModelClient,
        *,
        model: str | None = None,
        max_attempts: int = 3,
        fallback: Planner | None = None,
        instructions: str = "",
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self.client = client
        self.model = model
        self.max_attempts = max_attempts
        self.fallback: Planner = fallback if fallback is not None else DeterministicPlanner()
        self.instructions = instructions
        #: Why each plan the model proposed in the last call was refused, in order.
        self.rejections: list[str] = []
        #: Why the last call fell back, or None when the model's plan was used.
        self.fallback_reason: str | None = None

    @property
    def name(self) -> str:
        """``ai``; after a fallback ``<fallback> (fallback: <why>)``."""
        if self.fallback_reason is None:
            return "ai"
        return f"{_planner_name(self.fallback)} (fallback: {self.fallback_reason})"

    async def plan(
        self, goal: str, input_model: type[BaseModel] | None, registry: AgentRegistry
    ) -> Plan:
        """A valid plan for ``goal``: the model's, or else the fallback planner's."""
        from agents.models.openai_client import (
            InvalidModelReply,
            ModelCallError,
            complete_structured,
        )

        self.rejections = []
        self.fallback_reason = None

        def check(plan: Plan) -> str | None:
            problem = check_plan(plan, registry, input_model)
            if problem is None:
                return None
            self.rejections.append(problem[0])
            return f"the plan was rejected: {problem[0]}"

        try:
            plan = await complete_structured(
                self.client,
                self._messages(goal, input_model, registry),
                Plan,
                model=self.model,
                max_attempts=self.max_attempts,
                check=check,
            )
        except InvalidModelReply as exc:
            last = exc.problems[-1].removeprefix("the plan was rejected: ")
            self.fallback_reason = (
                f"the model gave no valid plan in {self.max_attempts} attempts; last: {last}"
            )
        except ModelCallError as exc:
            self.fallback_reason = f"the model could not be asked: {exc}"
        else:
            if not plan.goal:
                plan.goal = goal
            return plan
        log.warning("AI planner falls back to %s: %s", self.name, self.fallback_reason)
        try:
            return await self.fallback.plan(goal, input_model, registry)
        except PlanRejected as exc:
            raise PlanRejected(
                f"{exc.reason} (the AI planner fell back: {self.fallback_reason})", step=exc.step
            ) from None

    def _messages(
        self, goal: str, input_model: type[BaseModel] | None, registry: AgentRegistry
    ) -> list[ChatMessage]:
        system = PLANNER_PROMPT
        if self.instructions.strip():
            system += f"\n\nAlso: {self.instructions.strip()}"
        lines = ["Registered agents (name: input type -> output type; what it does):"]
        for info in registry.describe():
            what = f"; {info.description}" if info.description else ""
            lines.append(f"- {info.name}: {info.input_model} -> {info.output_model}{what}")
        lines.append("")
        lines.append(f"The plan's input: {_describe_type(input_model)}")
        lines.append(f"Goal: {goal}")
        return [
            ChatMessage(role="system", content=system),
            ChatMessage(role="user", content="\n".join(lines)),
        ]


def _describe_type(model: type[BaseModel] | None) -> str:
    if model is None:
        return "not known in advance (a JSON document)"
    fields = ", ".join(model.model_fields) or "no fields"
    return f"{model.__name__} (fields: {fields})"


def _planner_name(planner: Any) -> str:
    return str(getattr(planner, "name", None) or type(planner).__name__)
