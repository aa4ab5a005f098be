"""Events per second through EventBus with one handler, against awaiting the handler directly.

N events (built before timing) are published one after another to a bus with one
subscribed async handler. The baseline, in the same run, awaits the same handler on the
same events in a bare loop. The ratio is what the bus costs per event (handler lookup,
history, depth tracking, the outcome record, ``asyncio.gather``).

Run from the repository root::

    python benchmarks/bench_event_bus.py [--events 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from orchestration.patterns.event_bus import Event, EventBus


class Ping(Event):
    """A small event with one field."""

    n: int


class Counter:
    """The one handler: counts the events it sees."""

    def __init__(self) -> None:
        self.seen = 0

    async def __call__(self, event: Ping) -> None:
        self.seen += 1


def median_rate(make_run: Callable[[], Callable[[], Awaitable[int]]], n: int, repeat: int) -> float:
    """Median events per second over ``repeat`` runs (after one warm-up run)."""

    async def timed() -> list[float]:
        rates = []
        for i in range(repeat + 1):
            run = make_run()
            t0 = time.perf_counter()
            handled = await run()
            elapsed = time.perf_counter() - t0
            assert handled == n, handled
            if i:  # the first run warms up
                rates.append(n / elapsed)
        return rates

    return statistics.median(asyncio.run(timed()))


def main(argv: list[str] | None = None) -> int:
    """Measure both loops and print events per second and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    events = [Ping(correlation_id="bench", n=i) for i in range(args.events)]

    def direct() -> Callable[[], Awaitable[int]]:
        handler = Counter()

        async def run() -> int:
            for event in events:
                await handler(event)
            return handler.seen

        return run

    def through_bus(history_limit: int | None) -> Callable[[], Callable[[], Awaitable[int]]]:
        def make() -> Callable[[], Awaitable[int]]:
            handler = Counter()
            bus = EventBus(history_limit=history_limit)
            bus.subscribe(Ping, handler)

            async def run() -> int:
                for event in events:
                    await bus.publish(event)
                return handler.seen

            return run

        return make

    base = median_rate(direct, args.events, args.repeat)
    bus = median_rate(through_bus(None), args.events, args.repeat)
    bounded = median_rate(through_bus(1000), args.events, args.repeat)
    print(f"events: {args.events}, runs: {args.repeat} (median)")
    print(f"bare loop awaiting the handler: {base:12,.0f} events/s (baseline)")
    print(f"EventBus.publish:               {bus:12,.0f} events/s  ({base / bus:.1f}x slower)")
    print(
        f"EventBus(history_limit=1000):   {bounded:12,.0f} events/s  ({base / bounded:.1f}x slower)"
    )
    print(f"per event: bus {1e6 / bus:.1f} us, bare {1e6 / base:.2f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
