"""The garbage-collector thresholds of the SynthForge stages and of a pipeline run are
raised, never lowered, and restored."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from agents import Agent, AgentRegistry, AgentResult
from agents.builtin import TextInput
from agents.synthforge.analysis.heap import fewer_collections
from orchestration.pipeline.file import PipelineSpec, plan_stages, run_planned
from orchestration.runtime.execution import RunContext


def test_thresholds_are_raised_inside_and_restored_after() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with fewer_collections():
            inside = gc.get_threshold()
        assert inside[0] >= 50_000 and min(inside[1:]) >= 20
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(100_000, 50, 50)
        with fewer_collections():
            assert gc.get_threshold() == (100_000, 50, 50)  # never lowered
    finally:
        gc.set_threshold(*before)


def test_thresholds_are_restored_when_the_stage_fails() -> None:
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.get_threshold() == before


def test_nested_and_interleaved_blocks_restore_once_all_have_closed() -> None:
    """Parallel stages interleave: the thresholds come back when the last block closes."""
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        first, second = fewer_collections(), fewer_collections()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)  # the first stage ends while the second runs
        assert gc.get_threshold()[0] >= 50_000
        second.__exit__(None, None, None)
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)


class _Thresholds(AgentResult):
    seen: list[int]


class _Probe(Agent[TextInput, _Thresholds]):
    """Records the collector's thresholds while it runs (a plain agent, no mixin)."""

    name = "probe"
    input_model = TextInput
    output_model = _Thresholds

    async def process(self, data: TextInput) -> _Thresholds:
        return _Thresholds(seen=list(gc.get_threshold()))


def test_a_pipeline_file_run_is_inside_one_block_and_restores_the_thresholds() -> None:
    """Every stage's output stays alive until the run ends; full collections would walk
    them again and again, so the whole run (any agent, between stages too) has them raised."""
    reg = AgentRegistry(entry_point_agents=False)
    reg.register(_Probe)
    planned = plan_stages(
        PipelineSpec.model_validate({"name": "p", "stages": [{"agent": "probe"}]}), reg
    )
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        run = asyncio.run(run_planned(planned, TextInput(text="x"), RunContext(run_id="t")))
        assert run.ok and run.output is not None
        seen = run.output.seen  # type: ignore[attr-defined]
        assert seen[0] >= 50_000 and min(seen[1:]) >= 20
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)


def test_the_fan_in_dump_for_a_combiner_has_the_thresholds_raised() -> None:
    """A parallel group's outputs are dumped for its combiner inside a block too."""
    from orchestration.patterns.parallel import ParallelResult

    before = gc.get_threshold()
    seen: list[tuple[int, ...]] = []

    class Spy(TextInput):
        def model_dump(self, **kwargs: Any) -> dict[str, Any]:
            seen.append(gc.get_threshold())
            return super().model_dump(**kwargs)

    try:
        gc.set_threshold(700, 10, 10)
        doc = ParallelResult(runs={}).combine_input(Spy(text="x"))
        assert doc["upstream"] == {"text": "x"} and seen[0][0] >= 50_000
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)


def test_what_an_inner_block_leaves_is_frozen_until_the_last_block_closes() -> None:
    """A finished stage's objects stay alive until the run ends: the collections of the
    later stages do not walk them again; the last block to close unfreezes them."""
    assert gc.get_freeze_count() == 0
    with fewer_collections():
        with fewer_collections():
            kept = [[i] for i in range(1000)]  # a finished stage's output
        frozen = gc.get_freeze_count()
        assert frozen >= len(kept)
        gc.collect(1)  # a younger collection does not walk them
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == 0
    assert kept[999] == [999]


def test_a_process_that_froze_objects_itself_is_left_alone() -> None:
    gc.freeze()
    try:
        ours = gc.get_freeze_count()
        with fewer_collections():
            with fewer_collections():
                pass
            assert gc.get_freeze_count() == ours
        assert gc.get_freeze_count() == ours  # not unfrozen by the block
    finally:
        gc.unfreeze()


def test_a_failing_stage_inside_a_run_still_unfreezes_at_the_end() -> None:
    try:
        with fewer_collections(), fewer_collections():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.get_freeze_count() == 0


def test_a_run_that_ends_while_another_goes_on_unfreezes() -> None:
    """Runs of a server's workers overlap: the end of one run unfreezes what was frozen,
    so nothing waits for a moment when no run at all is open."""
    other, run = fewer_collections(), fewer_collections(run=True)
    other.__enter__()  # another run, still going
    try:
        run.__enter__()
        with fewer_collections():  # a stage of the run that ends
            pass
        assert gc.get_freeze_count() > 0
        run.__exit__(None, None, None)
        assert gc.get_freeze_count() == 0
    finally:
        other.__exit__(None, None, None)
    assert gc.get_freeze_count() == 0


def test_blocks_opened_and_closed_by_many_threads_at_once_leave_nothing_behind() -> None:
    """A server's workers run pipelines in threads: the shared bookkeeping stays whole."""
    import sys
    import threading

    before = gc.get_threshold()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch between any two bytecodes, races show
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            for _ in range(1000):
                with fewer_collections(run=True), fewer_collections():
                    pass
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
