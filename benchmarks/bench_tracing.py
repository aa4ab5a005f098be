"""What tracing costs per stage: the same runs with tracing off and with tracing on.

Two workloads, each measured off and on in the same process:

- a chain of no-op agents through :class:`SequentialPipeline` (``bench_sequential.py``'s
  chain): per stage, a stage span, an agent-run span and their attributes — the pure
  overhead, since the agents do nothing;
- the SynthForge pipeline (``pipelines/synthforge.yaml``, review accepted) on every corpus
  diagram, in-process as ``bench_synthforge.py`` runs it (no state store, whose disk
  writes would drown the difference): seven agent runs a diagram, with their stage and
  parallel-group spans.

Both wall time and CPU time (``time.process_time``: this process, the batch processor's
thread included) are printed: on a shared machine the CPU figure is the steadier one.

"On" is the SDK as ``OTEL_TRACES_EXPORTER=otlp`` sets it up (a ``BatchSpanProcessor``),
exporting to an exporter that drops the spans, so the figures are the cost on the run's
own thread, without a collector's network time (which the batch processor spends on its
own thread). "Off" is the default: no ``OTEL_TRACES_EXPORTER``.

Run from the repository root (needs ``pip install -e '.[otel]'``)::

    python benchmarks/bench_tracing.py [--stages 1000] [--repeat 7] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sequential import NoOpAgent, Payload, Step  # noqa: E402

from orchestration import tracing  # noqa: E402
from orchestration.patterns.sequential import SequentialPipeline, Stage  # noqa: E402
from orchestration.runtime.execution import RunContext  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


class DropSpans:
    """A span exporter that keeps nothing (the SDK's work without a collector)."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def tracing_on() -> None:
    """The provider ``OTEL_TRACES_EXPORTER=otlp`` builds, with a dropping exporter."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from orchestration.tracing import api
    from orchestration.tracing._setup import Backend

    tracing.reset()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(DropSpans()))  # type: ignore[arg-type]
    api._backend = Backend(provider)


def tracing_off() -> None:
    tracing.reset()
    from orchestration.tracing import api

    api._backend = None


def median(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeat`` runs of ``fn`` (after one warm-up)."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def report(label: str, off: tuple[float, float], on: tuple[float, float], stages: int) -> None:
    print(label)
    for name, i in (("wall", 0), ("CPU", 1)):
        a, b = off[i] / stages * 1e6, on[i] / stages * 1e6
        print(f"  {name:4} tracing off: {a:8.1f} us/stage (baseline)")
        print(f"  {name:4} tracing on:  {b:8.1f} us/stage (+{b - a:.1f} us/stage, {b / a:.2f}x)")


def chain(stages: int) -> Callable[[], Any]:
    pipeline = SequentialPipeline(
        [Stage(f"s{i}", NoOpAgent()) for i in range(stages)], name="bench"
    )
    first = Payload(n=0, label="bench")

    def run() -> None:
        result = asyncio.run(pipeline.run(first, RunContext()))
        assert result.ok and isinstance(result.output, Step) and result.output.n == stages

    return run


def synthforge(files: list[Path]) -> Callable[[], Any]:
    from agents.synthforge.analysis.vision import VisionAgent
    from orchestration.pipeline.file import load_spec, plan_stages, run_planned

    planned = plan_stages(load_spec(REPO / "pipelines" / "synthforge.yaml"))
    settings = {"interactive": {"yes": True}}
    inputs = [VisionAgent.load_input(path) for path in files]

    def run() -> None:
        for data in inputs:
            result = asyncio.run(run_planned(planned, data, RunContext(), settings=settings))
            assert result.ok, result.error

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared/corpus/diagrams")
    args = parser.parse_args(argv)
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        print("needs the OpenTelemetry SDK: pip install -e '.[otel]'")
        return 2

    print(f"runs: {args.repeat} (median)")
    run_chain = chain(args.stages)
    tracing_off()
    off = median(run_chain, args.repeat)
    tracing_on()
    on = median(run_chain, args.repeat)
    tracing_off()
    report(f"no-op chain, {args.stages} stages:", off, on, args.stages)

    files = sorted(p for p in args.corpus.glob("*") if p.suffix in (".drawio", ".xml"))
    if not files:
        print(f"no diagrams in {args.corpus}: SynthForge part skipped")
        return 0
    run_sf = synthforge(files)
    tracing_off()
    sf_off = median(run_sf, args.repeat)
    tracing_on()
    sf_on = median(run_sf, args.repeat)
    tracing_off()
    label = f"SynthForge, {len(files)} corpus diagrams x 7 agent runs:"
    report(label, sf_off, sf_on, len(files) * 7)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
