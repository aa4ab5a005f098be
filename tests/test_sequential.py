"""Sequential pipelines: boundary checks at construction, stage order, stop on failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_agents import SumAgent

from agents.base import Agent
from agents.builtin import EchoAgent, TextInput, UppercaseAgent, WordCount, WordCountAgent
from agents.errors import PipelineError
from orchestration.patterns.sequential import SequentialPipeline, Stage
from orchestration.runtime.execution import RunContext
from orchestration.runtime.monitoring import RunMonitor
from orchestration.state.directory import DirectoryStore


class BoomAgent(Agent[TextInput, WordCount]):
    """Always raises."""

    name = "boom"
    input_model = TextInput
    output_model = WordCount

    async def process(self, data: TextInput) -> WordCount:
        raise RuntimeError("disk on fire")


class LifecycleEcho(EchoAgent):
    """Echo that records set-up, process and tear-down in a shared journal."""

    def __init__(self, journal: list[str], *, fail_setup: bool = False) -> None:
        super().__init__()
        self.journal = journal
        self.fail_setup = fail_setup

    async def setup(self) -> None:
        if self.fail_setup:
            raise ConnectionError("no network")
        self.journal.append("setup")

    async def teardown(self) -> None:
        self.journal.append("teardown")

    async def process(self, data: TextInput) -> object:  # type: ignore[override]
        self.journal.append("process")
        return await super().process(data)


class CountingUpper(UppercaseAgent):
    """Upper-cases and counts how often it really ran."""

    calls = 0

    async def process(self, data: TextInput) -> object:  # type: ignore[override]
        type(self).calls += 1
        return await super().process(data)


def test_type_mismatch_names_both_stages_and_types() -> None:
    with pytest.raises(PipelineError) as info:
        SequentialPipeline([Stage("words", WordCountAgent()), Stage("adder", SumAgent())])
    assert str(info.value) == (
        "stage 2 'adder': input Numbers cannot take output WordCount of stage 1 'words': "
        "field 'values' missing from WordCount (Numbers requires list[int])"
    )


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        pytest.param([], "pipeline 'pipeline' has no stages", id="empty"),
        pytest.param(
            [EchoAgent(), EchoAgent()],
            "pipeline 'pipeline': stage name 'echo' is used twice; "
            "name the stages with Stage(name, agent)",
            id="duplicate-stage-names",
        ),
    ],
)
def test_malformed_pipelines_are_rejected(stages: list[Agent], message: str) -> None:
    with pytest.raises(PipelineError) as info:
        SequentialPipeline(stages)
    assert str(info.value) == message


async def test_stages_run_in_order_and_feed_each_other() -> None:
    pipeline = SequentialPipeline([UppercaseAgent(), WordCountAgent()])
    monitor = RunMonitor()
    result = await pipeline.run(TextInput(text="two words"), RunContext(monitor=monitor))
    assert result.ok
    assert isinstance(result.output, WordCount)
    assert (result.output.text, result.output.words) == ("TWO WORDS", 2)
    assert [r.stage for r in result.runs] == ["uppercase", "word_count"]
    assert [r.stage for r in monitor.records] == ["uppercase", "word_count"]


async def test_first_failure_stops_the_pipeline() -> None:
    pipeline = SequentialPipeline([Stage("shout", UppercaseAgent()), BoomAgent(), SumAgentless()])
    result = await pipeline.run({"text": "x"})
    assert not result.ok
    assert result.output is None
    assert result.failed_stage == "boom"
    assert result.error == "RuntimeError: disk on fire"
    assert [r.stage for r in result.runs] == ["shout", "boom"]


class SumAgentless(Agent[TextInput, WordCount]):
    """A third stage that must never run after a failure."""

    name = "never"
    input_model = TextInput
    output_model = WordCount

    async def process(self, data: TextInput) -> WordCount:
        raise AssertionError("ran after a failed stage")


async def test_invalid_first_input_is_a_failed_stage_not_a_crash() -> None:
    result = await SequentialPipeline([EchoAgent()]).run({"txt": "typo"})
    assert result.failed_stage == "echo"
    assert result.error == "input of agent 'echo': $.text: Field required"


async def test_agents_are_entered_around_the_run() -> None:
    journal: list[str] = []
    result = await SequentialPipeline([LifecycleEcho(journal)]).run({"text": "x"})
    assert result.ok
    assert journal == ["setup", "process", "teardown"]


async def test_failing_setup_is_a_failed_stage() -> None:
    journal: list[str] = []
    result = await SequentialPipeline([LifecycleEcho(journal, fail_setup=True)]).run({"text": "x"})
    assert result.failed_stage == "echo"
    assert result.error == "set-up of agent 'echo' failed: ConnectionError: no network"
    assert journal == []


async def test_rerun_with_a_store_resumes_completed_stages(tmp_path: Path) -> None:
    CountingUpper.calls = 0
    pipeline = SequentialPipeline([CountingUpper(), WordCountAgent()])
    store = DirectoryStore(tmp_path / "state")
    first = await pipeline.run({"text": "a b"}, RunContext(run_id="r1", store=store))
    second = await pipeline.run({"text": "a b"}, RunContext(run_id="r1", store=store))
    assert first.ok and second.ok
    assert CountingUpper.calls == 1
    assert [r.resumed for r in second.runs] == [True, True]
    assert second.output == first.output
