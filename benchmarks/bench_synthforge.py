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
    python benchmarks/bench_synthforge.py --scale 2000,20000 [--scale-repeat 3]

``--scale`` instead times the whole pipeline on generated diagrams of that many icons: a
chain of web apps, functions, databases, stores and vaults, ten to a subnet, ten subnets
to a VNet, every icon joined to the next by an arrow (some labelled as logs, some
dropped on a subnet box). Target: linear time — the largest run at most ``N/n × 1.2``
times the smallest (20k icons ≤ 12× 2k); the first size is the baseline of the run.
Wall and CPU time (``time.process_time``) are both shown, with the process's memory
high-water mark after each size: on a shared machine the CPU ratio is the steadier one.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

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


_TYPES = [
    "app_services/App_Services.svg",
    "compute/Function_Apps.svg",
    "databases/SQL_Database.svg",
    "storage/Storage_Accounts.svg",
    "security/Key_Vaults.svg",
]


def generated_diagram(icons: int) -> str:
    """A draw.io file of ``icons`` icons in subnets and VNets, chained by arrows."""
    cells = ['<mxCell id="0"/>', '<mxCell id="1" parent="0"/>']
    per_subnet, per_vnet = 10, 10
    for v in range(-(-icons // (per_subnet * per_vnet))):
        vy = v * 1200.0
        cells.append(
            f'<mxCell id="v{v}" value="VNet 10.{v % 250}.0.0/16 (vnet-{v})" '
            f'style="rounded=0;html=1;dashed=1;" vertex="1" parent="1">'
            f'<mxGeometry x="0" y="{vy}" width="12000" height="1100" as="geometry"/></mxCell>'
        )
        for s_ in range(per_subnet):
            sx = s_ * 1150.0 + 20
            cells.append(
                f'<mxCell id="s{v}_{s_}" value="Subnet snet-{v}-{s_}" '
                f'style="rounded=0;html=1;" vertex="1" parent="1">'
                f'<mxGeometry x="{sx}" y="{vy + 50}" width="1100" height="1000" '
                'as="geometry"/></mxCell>'
            )
    for i in range(icons):
        v, rest = divmod(i, per_subnet * per_vnet)
        s_, k = divmod(rest, per_subnet)
        x = s_ * 1150.0 + 40 + (k % 5) * 200
        y = v * 1200.0 + 100 + (k // 5) * 400
        key = _TYPES[i % len(_TYPES)]
        cells.append(
            f'<mxCell id="i{i}" value="res-{i}" style="image;aspect=fixed;html=1;'
            f'image=img/lib/azure2/{key};" vertex="1" parent="1">'
            f'<mxGeometry x="{x}" y="{y}" width="60" height="60" as="geometry"/></mxCell>'
        )
        if i:
            label = "logs" if i % 7 == 0 else ""
            target = f"s{v}_{s_}" if i % 11 == 0 else f"i{i}"
            cells.append(
                f'<mxCell id="e{i}" value="{label}" style="endArrow=classic;html=1;" edge="1" '
                f'parent="1" source="i{i - 1}" target="{target}">'
                '<mxGeometry relative="1" as="geometry"/></mxCell>'
            )
    body = "".join(cells)
    return (
        '<mxfile><diagram id="gen" name="generated"><mxGraphModel><root>'
        f"{body}</root></mxGraphModel></diagram></mxfile>"
    )


def peak_mib() -> float:
    """The process's memory high-water mark so far (it only grows, run after run)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_run(planned: Any, path: Path, settings: dict[str, Any]) -> tuple[float, float]:
    """Wall and CPU seconds of one whole pipeline run on the diagram at ``path``."""
    data = VisionAgent.load_input(path)
    outcome: list[Any] = []

    async def go() -> None:
        # the run is kept out of asyncio.run's return value: on CPython 3.11,
        # asyncio.run formats its main task's result while restoring the SIGINT
        # handler, which for a 20k-icon analysis alone costs seconds
        outcome.append(await run_planned(planned, data, RunContext(), settings=settings))

    t0, c0 = time.perf_counter(), time.process_time()
    asyncio.run(go())
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert outcome[0].ok, outcome[0].error
    return elapsed, cpu


def scale_run(sizes: list[int], workdir: Path, repeat: int = 3) -> int:
    """Time the pipeline on generated diagrams of each size; compare with the first.

    The sizes take turns, ``repeat`` times (so load on a shared machine falls on all of
    them alike), and each figure is the median of its runs.
    """
    planned = plan_stages(load_spec(REPO / "pipelines" / "synthforge.yaml"))
    settings = {"interactive": {"yes": True}}
    paths = []
    for n in sizes:
        path = workdir / f"generated-{n}.drawio"
        path.write_text(generated_diagram(n), encoding="utf-8")
        paths.append(path)
    runs: list[list[tuple[float, float]]] = [[] for _ in sizes]
    peaks = [0.0 for _ in sizes]
    for _ in range(repeat):
        for i, path in enumerate(paths):
            runs[i].append(_timed_run(planned, path, settings))
            peaks[i] = peaks[i] or peak_mib()  # the high-water mark of the first round
    times = [statistics.median(w for w, _ in r) for r in runs]
    cpus = [statistics.median(c for _, c in r) for r in runs]
    print(f"runs per size: {repeat} (median)")
    print(
        f"{'icons':>8} {'pipeline s':>11} {'x first':>8} {'cpu s':>8} {'x first':>8} "
        f"{'linear bound':>13} {'peak MiB':>9}"
    )
    for n, elapsed, cpu, peak in zip(sizes, times, cpus, peaks, strict=True):
        bound = 1.2 * n / sizes[0]
        print(
            f"{n:>8} {elapsed:>11.2f} {elapsed / times[0]:>8.1f} {cpu:>8.2f} "
            f"{cpu / cpus[0]:>8.1f} {bound:>12.1f}x {peak:>9.0f}"
        )
    for name, medians in (("wall", times), ("cpu", cpus)):
        worst = max(
            t / medians[0] / (1.2 * n / sizes[0]) for t, n in zip(medians, sizes, strict=True)
        )
        verdict = "ok" if worst <= 1.0 else "OVER TARGET (not linear)"
        print(
            f"{name}: largest run {medians[-1] / medians[0]:.1f}x the first for "
            f"{sizes[-1] / sizes[0]:.0f}x the icons: {verdict}"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared/corpus/diagrams")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--scale", default="", help="comma-separated icon counts, e.g. 2000,20000")
    parser.add_argument(
        "--scale-repeat", type=int, default=3, help="runs of each --scale size (median)"
    )
    args = parser.parse_args()
    if args.scale:
        import tempfile

        sizes = [int(n) for n in args.scale.split(",") if n.strip()]
        with tempfile.TemporaryDirectory() as tmp:
            return scale_run(sizes, Path(tmp), max(1, args.scale_repeat))
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
