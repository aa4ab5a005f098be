"""Per-stage cost of SequentialPipeline against a bare asyncio + pydantic chain.

A chain of no-op agents (each validates a small pydantic input and returns an output) runs
through :class:`orchestration.patterns.sequential.SequentialPipeline`. The baseline, in the same
process, does the same work by hand: per stage one ``model_validate`` of the previous
output as the next input, then one ``await`` of the same agent's ``process``. The
difference is what the pipeline adds per stage (envelope, input digest, timing, agent
set-up, monitoring). Target: at most 3x the baseline per stage.

Run from the repository root::

    python benchmarks/bench_sequential.py [--stages 1000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from agents.base import Agent, AgentResult
from orchestration.patterns.sequential import SequentialPipeline, Stage
from orchestration.runtime.execution import RunContext
from orchestration.runtime.monitoring import RunMonitor

TARGET = 3.0


class Payload(BaseModel):
    """A small input: a counter and a label."""

    n: int
    label: str


class Step(AgentResult):
    """A small output that can feed the next :class:`Payload`."""

    n: int
    label: str


class NoOpAgent(Agent[Payload, Step]):
    """Adds one to the counter."""

    name = "noop"
    input_model = Payload
    output_model = Step

    async def process(self, data: Payload) -> Step:
        return Step(n=data.n + 1, label=data.label)


async def baseline(agents: list[NoOpAgent], first: Payload) -> int:
    """The same chain by hand: validate each input, await each agent's ``process``."""
    current: BaseModel = first
    n = first.n
    for agent in agents:
        typed = Payload.model_validate(current.model_dump(mode="json"))
        step = await agent.process(typed)
        current, n = step, step.n
    return n


def make_pipeline_runner(
    agents: list[NoOpAgent], *, monitored: bool
) -> Callable[[Payload], Awaitable[int]]:
    """A function running the agents as one SequentialPipeline (built once, outside timing)."""
    pipeline = SequentialPipeline(
        [Stage(f"s{i}", agent) for i, agent in enumerate(agents)], name="bench"
    )

    async def run(first: Payload) -> int:
        ctx = RunContext(monitor=RunMonitor() if monitored else None)
        result = await pipeline.run(first, ctx)
        assert result.ok and isinstance(result.output, Step), result.error
        return result.output.n

    return run


def median_seconds(fn: Callable[[], Awaitable[int]], repeat: int, expect: int) -> float:
    """Median wall time of ``repeat`` runs of ``fn`` (after one warm-up run)."""

    async def timed() -> list[float]:
        times = []
        assert await fn() == expect
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = await fn()
            times.append(time.perf_counter() - t0)
            assert result == expect
        return times

    return statistics.median(asyncio.run(timed()))


def main(argv: list[str] | None = None) -> int:
    """Run both chains and print per-stage times and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    agents = [NoOpAgent() for _ in range(args.stages)]
    first = Payload(n=0, label="bench")
    plain = make_pipeline_runner(agents, monitored=False)
    monitored = make_pipeline_runner(agents, monitored=True)

    base_s = median_seconds(lambda: baseline(agents, first), args.repeat, args.stages)
    pipe_s = median_seconds(lambda: plain(first), args.repeat, args.stages)
    mon_s = median_seconds(lambda: monitored(first), args.repeat, args.stages)

    def per_stage(seconds: float) -> float:
        return seconds / args.stages * 1e6

    ratio = pipe_s / base_s
    print(f"stages: {args.stages}, runs: {args.repeat} (median)")
    print(f"bare asyncio + pydantic chain:     {per_stage(base_s):8.1f} us/stage (baseline)")
    print(f"SequentialPipeline:                {per_stage(pipe_s):8.1f} us/stage")
    print(f"SequentialPipeline + RunMonitor:   {per_stage(mon_s):8.1f} us/stage")
    verdict = "ok" if ratio <= TARGET else "OVER TARGET"
    print(f"ratio (pipeline / baseline):       {ratio:8.2f}x (target <= {TARGET}x: {verdict})")
    print(f"ratio (monitored / baseline):      {mon_s / base_s:8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
