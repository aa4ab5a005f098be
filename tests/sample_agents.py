"""Small test agents shared by the orchestration pattern tests."""

from __future__ import annotations

from pydantic import BaseModel

from agents.base import Agent, AgentResult


class Numbers(BaseModel):
    """A list of integers: an input no built-in text agent produces."""

    values: list[int]


class Total(AgentResult):
    """The sum of ``Numbers.values``."""

    total: int


class SumAgent(Agent[Numbers, Total]):
    """Adds numbers; a text input is invalid for it."""

    name = "sum"
    input_model = Numbers
    output_model = Total

    async def process(self, data: Numbers) -> Total:
        """The total of ``data.values``."""
        return Total(total=sum(data.values))
