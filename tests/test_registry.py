"""The agent registry: built-ins, third-party agents by entry point, and errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from cli_helpers import make_plugin, run_cli

from agents import Agent, AgentRegistry, AgentResult, UnknownAgentError
from agents.builtin import TextInput

SHOUT_SOURCE = textwrap.dedent("""
        from pydantic import BaseModel
        from agents import Agent, AgentResult

        class ShoutIn(BaseModel):
            text: str

        class ShoutOut(AgentResult):
            shout: str

        class ShoutAgent(Agent[ShoutIn, ShoutOut]):
            name = "shout"
            description = "Shout the text"
            input_model = ShoutIn
            output_model = ShoutOut

            async def process(self, data):
                return ShoutOut(shout=data.text.upper() + "!")
    """)


def test_third_party_agent_is_found_by_entry_point(tmp_path: Path) -> None:
    plugin = make_plugin(
        tmp_path / "site", "shout_pkg", SHOUT_SOURCE, {"shout": "shout_pkg:ShoutAgent"}
    )
    (tmp_path / "in.json").write_text('{"text": "hey"}')
    env = {"PYTHONPATH": str(plugin)}
    listed = run_cli("-m", "agents.run", "--list", env=env)
    assert "shout\tShoutIn -> ShoutOut" in listed.stdout
    proc = run_cli(
        "-m", "agents.run", "shout", tmp_path / "in.json", "-o", tmp_path / "o.json", env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert '"shout": "HEY!"' in (tmp_path / "o.json").read_text()


def test_unknown_agent_names_the_known_ones() -> None:
    with pytest.raises(UnknownAgentError, match="unknown agent 'nope'.*echo"):
        AgentRegistry(entry_point_agents=False).get("nope")


def test_register_adds_a_class_directly() -> None:
    class Twice(AgentResult):
        text: str

    class TwiceAgent(Agent[TextInput, Twice]):
        name = "twice"
        input_model = TextInput
        output_model = Twice

        async def process(self, data: TextInput) -> Twice:
            return Twice(text=data.text * 2)

    reg = AgentRegistry(builtins=False, entry_point_agents=False)
    reg.register(TwiceAgent)
    assert reg.names() == ["twice"]
    assert reg.create("twice").name == "twice"


def test_output_model_must_carry_confidence_and_errors() -> None:
    from pydantic import BaseModel

    class Plain(BaseModel):
        x: int

    with pytest.raises(TypeError, match="must subclass agents.AgentResult"):

        class Bad(Agent[TextInput, Plain]):  # type: ignore[type-var]
            name = "bad"
            input_model = TextInput
            output_model = Plain  # type: ignore[assignment]

            async def process(self, data):  # type: ignore[no-untyped-def]
                return Plain(x=1)


async def test_agent_is_an_async_context_manager_with_setup_and_teardown() -> None:
    events: list[str] = []

    class Out(AgentResult):
        n: int

    class Counting(Agent[TextInput, Out]):
        name = "counting"
        input_model = TextInput
        output_model = Out

        async def setup(self) -> None:
            events.append("setup")

        async def teardown(self) -> None:
            events.append("teardown")

        async def process(self, data: TextInput) -> Out:
            events.append("process")
            return Out(n=len(data.text))

    async with Counting() as agent:
        out = await agent.run({"text": "abc"})
    assert out.n == 3
    assert events == ["setup", "process", "teardown"]
