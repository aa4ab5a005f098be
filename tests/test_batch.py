"""Batch: input order, per-item errors, the concurrency bound, progress, agent batches."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from agents.base import Agent
from agents.builtin import TextInput, TextOutput
from agents.errors import InputError, PipelineError
from orchestration.patterns.batch import run_agent_batch, run_batch
from orchestration.runtime.cache import MemoryCache
from orchestration.runtime.execution import RunContext
from orchestration.runtime.monitoring import RunMonitor
from orchestration.state.open import open_store


async def yield_times(n: int) -> None:
    """Give the event loop ``n`` turns: a deterministic stand-in for slow work."""
    for _ in range(n):
        await asyncio.sleep(0)


async def test_results_are_in_input_order_whatever_finishes_first() -> None:
    finished: list[int] = []

    async def work(n: int) -> int:
        await yield_times(10 - n)  # later items finish first
        finished.append(n)
        return n * n

    result = await run_batch(range(10), work, max_concurrency=10, progress=False)

    assert finished != sorted(finished)
    assert [entry.index for entry in result] == list(range(10))
    assert [entry.item for entry in result] == list(range(10))
    assert result.values == [n * n for n in range(10)]
    assert result.ok


async def test_one_items_error_does_not_stop_the_rest() -> None:
    async def work(n: int) -> str:
        await yield_times(1)
        if n % 3 == 0:
            raise ValueError(f"item {n} is\nbroken")
        if n == 4:
            raise InputError("diagram-4.drawio: not a draw.io file")
        return f"done {n}"

    result = await run_batch(range(7), work, max_concurrency=2, progress=False)

    assert not result.ok
    assert [entry.index for entry in result.failed] == [0, 3, 4, 6]
    assert result[3].error == "ValueError: item 3 is broken"
    assert result[4].error == "diagram-4.drawio: not a draw.io file"
    assert result[3].value is None
    assert [entry.value for entry in result.succeeded] == ["done 1", "done 2", "done 5"]


@pytest.mark.parametrize(
    ("limit", "items", "expected_peak"),
    [
        pytest.param(3, 20, 3, id="bounded"),
        pytest.param(1, 5, 1, id="one-at-a-time"),
        pytest.param(8, 4, 4, id="fewer-items-than-the-limit"),
    ],
)
async def test_never_more_than_max_concurrency_in_flight(
    limit: int, items: int, expected_peak: int
) -> None:
    in_flight = 0
    peak = 0

    async def work(n: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await yield_times(3 + n % 4)
        in_flight -= 1
        return n

    result = await run_batch(range(items), work, max_concurrency=limit, progress=False)
    assert peak == expected_peak
    assert result.values == list(range(items))


async def test_takes_a_one_shot_iterable() -> None:
    async def double(n: int) -> int:
        return 2 * n

    result = await run_batch((n for n in range(5)), double, progress=False)
    assert result.values == [0, 2, 4, 6, 8]


async def test_empty_batch() -> None:
    async def never(n: int) -> int:
        raise AssertionError("called on an empty batch")

    nothing: list[int] = []
    result = await run_batch(nothing, never, progress=True)
    assert len(result) == 0 and result.ok


async def test_rejects_a_concurrency_below_one() -> None:
    async def work(n: int) -> int:
        return n

    with pytest.raises(PipelineError, match="max_concurrency must be at least 1, not 0"):
        await run_batch([1], work, max_concurrency=0)


async def test_cancelling_the_batch_cancels_its_items() -> None:
    started = asyncio.Event()

    async def forever(n: int) -> int:
        started.set()
        await asyncio.Event().wait()
        return n

    task = asyncio.create_task(run_batch(range(4), forever, progress=False))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


class TerminalStream(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("progress", "stderr_is_terminal", "drawn"),
    [
        pytest.param(True, False, True, id="asked-for"),
        pytest.param(False, True, False, id="refused"),
        pytest.param(None, True, True, id="auto-on-a-terminal"),
        pytest.param(None, False, False, id="auto-in-ci-logs"),
    ],
)
async def test_progress_is_drawn_on_stderr_only_when_wanted(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    progress: bool | None,
    stderr_is_terminal: bool,
    drawn: bool,
) -> None:
    stream = TerminalStream() if stderr_is_terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)

    async def work(n: int) -> int:
        if n == 2:
            raise RuntimeError("boom")
        return n

    await run_batch(range(5), work, progress=progress, description="analysing diagrams")
    text = stream.getvalue()
    assert ("analysing diagrams" in text) is drawn
    if drawn:
        assert "5/5" in text and "1 failed" in text
    else:
        assert text == ""
    assert capsys.readouterr().out == ""


class ReverseAgent(Agent[TextInput, TextOutput]):
    """Reverses text; counts set-ups, tear-downs and real runs."""

    name = "reverse"
    input_model = TextInput
    output_model = TextOutput
    events: ClassVar[list[str]] = []

    async def setup(self) -> None:
        type(self).events.append("setup")

    async def teardown(self) -> None:
        type(self).events.append("teardown")

    async def process(self, data: TextInput) -> TextOutput:
        await yield_times(len(data.text))
        if data.text == "boom":
            raise RuntimeError("cannot reverse boom")
        type(self).events.append(f"run {data.text}")
        return TextOutput(text=data.text[::-1])


@pytest.fixture(autouse=True)
def _reset_events() -> None:
    ReverseAgent.events = []


async def test_agent_batch_runs_every_input_through_execute() -> None:
    monitor = RunMonitor()
    ctx = RunContext(monitor=monitor)
    inputs: list[TextInput | dict[str, Any]] = [
        {"text": "abc"},
        {"text": "boom"},
        {"wrong": 1},
        TextInput(text="xy"),
    ]

    result = await run_agent_batch(ReverseAgent(), inputs, ctx, max_concurrency=2, progress=False)

    assert [entry.ok for entry in result] == [True, False, False, True]
    assert result[0].value is not None and result[0].value.output == TextOutput(text="cba")
    assert result[3].value is not None and result[3].value.output == TextOutput(text="yx")
    assert result[1].error == "RuntimeError: cannot reverse boom"
    assert result[2].error is not None and "$.text" in result[2].error
    assert result[1].value is not None and result[1].value.envelope.status == "failed"
    assert [rec.stage for rec in sorted(monitor.records, key=lambda r: r.stage)] == [
        "reverse/0",
        "reverse/1",
        "reverse/2",
        "reverse/3",
    ]
    events = ReverseAgent.events
    assert events[0] == "setup" and events[-1] == "teardown"
    assert events.count("setup") == events.count("teardown") == 1


async def test_agent_batch_uses_the_result_cache() -> None:
    cache = MemoryCache()
    ctx = RunContext(cache=cache)
    inputs = [{"text": "same"}, {"text": "other"}]
    await run_agent_batch(ReverseAgent(), inputs, ctx, progress=False)
    again = await run_agent_batch(ReverseAgent(), inputs, ctx, progress=False)

    assert all(entry.value is not None and entry.value.cached for entry in again)
    assert [e for e in ReverseAgent.events if e.startswith("run")] == ["run same", "run other"]


async def test_agent_batch_resumes_item_by_item_from_a_state_store(tmp_path: Path) -> None:
    with open_store(tmp_path / "state") as store:
        ctx = RunContext(store=store)
        first = await run_agent_batch(
            ReverseAgent(), [{"text": "ab"}, {"text": "boom"}], ctx, progress=False
        )
        again = await run_agent_batch(
            ReverseAgent(), [{"text": "ab"}, {"text": "cd"}], ctx, progress=False
        )

    assert [entry.ok for entry in first] == [True, False]
    assert again.ok
    assert again[0].value is not None and again[0].value.resumed
    assert again[1].value is not None and not again[1].value.resumed
    assert [e for e in ReverseAgent.events if e.startswith("run")] == ["run ab", "run cd"]
