"""Wall time of ParallelOrchestrator against the ideal for sleeping agents.

200 agents each ``await asyncio.sleep(0.05)``. Unbounded, the ideal is one sleep (50 ms);
with ``max_concurrency=20`` it is 200 / 20 = 10 sleeps in a row (500 ms). A bare
``asyncio.gather`` of the same sleeps (with a semaphore for the bounded case) is measured in
the same run to show what the event loop itself costs. Target: at most 1.3x the ideal.

Run from the repository root::

    python benchmarks/bench_parallel.py [--agents 200] [--sleep 0.05] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager, nullcontext
from functools import partial
from typing import Any

from pydantic import BaseModel

from agents.base import Agent, AgentResult
from orchestration.patterns.parallel import ParallelOrchestrator
from orchestration.runtime.execution import RunContext

TARGET = 1.3


class Tick(BaseModel):
    """How long each agent sleeps."""

    seconds: float


class Slept(AgentResult):
    """What a sleeping agent returns."""

    seconds: float


class SleepAgent(Agent[Tick, Slept]):
    """Sleeps for the requested time: stands in for an agent waiting on a model or an API."""

    name = "sleep"
    input_model = Tick
    output_model = Slept

    async def process(self, data: Tick) -> Slept:
        await asyncio.sleep(data.seconds)
        return Slept(seconds=data.seconds)


async def bare_gather(count: int, seconds: float, bound: int | None) -> None:
    """The same sleeps with nothing but ``asyncio.gather`` (and a semaphore when bounded)."""
    gate: AbstractAsyncContextManager[Any] = (
        asyncio.Semaphore(bound) if bound is not None else nullcontext()
    )

    async def one() -> None:
        async with gate:
            await asyncio.sleep(seconds)

    await asyncio.gather(*(one() for _ in range(count)))


async def orchestrated(count: int, seconds: float, bound: int | None) -> None:
    """The sleeps as ``count`` branches of one ParallelOrchestrator."""
    orch = ParallelOrchestrator(
        {f"b{i}": SleepAgent() for i in range(count)}, max_concurrency=bound
    )
    result = await orch.run(Tick(seconds=seconds), RunContext())
    assert result.ok and len(result.runs) == count, result.failed


def median_seconds(fn: Callable[[], Coroutine[Any, Any, None]], repeat: int) -> float:
    """Median wall time of ``repeat`` runs of ``fn``, each in a fresh event loop."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        asyncio.run(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Measure unbounded and bounded runs; print times and ratios to the ideal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--sleep", type=float, default=0.05, help="seconds each agent sleeps")
    parser.add_argument("--bound", type=int, default=20, help="max_concurrency of the bounded run")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    n, s = args.agents, args.sleep
    print(f"agents: {n}, sleep: {s * 1000:.0f} ms each, runs: {args.repeat} (median)")
    worst = 0.0
    for bound in (None, args.bound):
        waves = 1 if bound is None else -(-n // bound)
        ideal = waves * s
        bare = median_seconds(partial(bare_gather, n, s, bound), args.repeat)
        orch = median_seconds(partial(orchestrated, n, s, bound), args.repeat)
        worst = max(worst, orch / ideal)
        label = "unbounded" if bound is None else f"max_concurrency={bound}"
        print(f"{label}:")
        print(f"  ideal:                 {ideal * 1000:8.1f} ms")
        print(f"  bare asyncio.gather:   {bare * 1000:8.1f} ms  ({bare / ideal:.2f}x ideal)")
        print(
            f"  ParallelOrchestrator:  {orch * 1000:8.1f} ms  ({orch / ideal:.2f}x ideal, "
            f"{orch / bare:.2f}x bare)"
        )
    verdict = "ok" if worst <= TARGET else "OVER TARGET"
    print(f"worst ratio to ideal: {worst:.2f}x (target <= {TARGET}x: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
