"""The whole SynthForge pipeline in-process on every corpus diagram.

vision → filter → interactive (accept all) → network_flow ∥ security ∥ cost_estimation →
combine, through the same code the CLI runs (``orchestration.pipeline.file``), with no
state store. Each diagram is run once to warm up (imports, data tables), then ``--repeat``
times; the median per diagram is printed. The baseline, measured in the same run, is
vision alone (reading and parsing the file), so the table shows what the analysis adds.
Target: the largest corpus diagram under 100 ms after start-up.

Diagrams: ../shared/corpus/diagrams/ (origins in its SOURCES.md). Run from the repository
root::

    python benchmarks/bench_synthforge.py [--corpus DIR] [--repeat 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from agents.synthforge.analysis.vision import VisionAgent
from orchestration.pipeline.file import load_spec, plan_stages, run_planned
from orchestration.runtime.execution import RunContext

REPO = Path(__file__).resolve().parent.parent
TARGET_MS = 100.0


def median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared/corpus/diagrams")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    files = sorted(p for p in args.corpus.glob("*") if p.suffix in (".drawio", ".xml"))
    if not files:
        print(f"no diagrams in {args.corpus}")
        return 2
    planned = plan_stages(load_spec(REPO / "pipelines" / "synthforge.yaml"))
    settings = {"interactive": {"yes": True}}

    def pipeline(path: Path) -> None:
        data = VisionAgent.load_input(path)
        result = asyncio.run(run_planned(planned, data, RunContext(), settings=settings))
        assert result.ok, result.error

    def vision_only(path: Path) -> None:
        async def go() -> None:
            async with VisionAgent() as agent:
                await agent.run(VisionAgent.load_input(path))

        asyncio.run(go())

    print(f"diagrams: {len(files)}, runs each: {args.repeat} (median, after one warm-up)")
    print(f"{'diagram':<72} {'KiB':>6} {'vision ms':>10} {'pipeline ms':>12}")
    rows = []
    for path in files:
        size = path.stat().st_size
        base = median_ms(lambda p=path: vision_only(p), args.repeat)
        full = median_ms(lambda p=path: pipeline(p), args.repeat)
        rows.append((size, path.name, base, full))
        print(f"{path.name[:72]:<72} {size / 1024:>6.1f} {base:>10.2f} {full:>12.2f}")
    size, name, base, full = max(rows)
    verdict = "ok" if full < TARGET_MS else "OVER TARGET"
    print(f"largest diagram: {name} ({size / 1024:.1f} KiB)")
    print(
        f"  pipeline {full:.2f} ms (target < {TARGET_MS:.0f} ms: {verdict}); "
        f"vision alone {base:.2f} ms, so the analysis adds {full - base:.2f} ms"
    )
    print(
        f"all diagrams: median pipeline {statistics.median(r[3] for r in rows):.2f} ms, "
        f"slowest {max(r[3] for r in rows):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
