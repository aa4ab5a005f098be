"""The HTTP server on loopback: request latency, and 200 SynthForge runs through it.

Starts ``python -m orchestration serve`` on 127.0.0.1 (nothing else is contacted) and
measures, in one run:

- ``POST /v1/runs`` and ``GET /v1/runs/{id}``: requests per second from one client, p50
  and p95 latency (the POSTs are made while the workers run the runs they start);
- the wall time of ``--runs`` SynthForge runs (the example diagram and the corpus's,
  in turn; review accepted) from the first POST until the last run has succeeded, with 1
  and with 2 workers: embedded workers on SQLite, and with ``--postgres`` also separate
  ``orchestration worker`` processes on a throw-away PostgreSQL server;
- the baseline: the same runs through the CLI's function in-process
  (``run_pipeline_file``, one after the other, on a folder state store).

Run from the repository root (with ``pip install -e '.[server,queue]'``)::

    python benchmarks/bench_server.py [--runs 200] [--postgres]
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from server_harness import LiveServer, server_env  # noqa: E402


def diagrams(corpus: Path) -> list[Path]:
    found = sorted(corpus.glob("*.drawio")) if corpus.is_dir() else []
    return [REPO / "examples" / "diagrams" / "webapp.drawio", *found]


def body(path: Path) -> bytes:
    return json.dumps(
        {
            "pipeline": "synthforge",
            "input": {
                "name": path.name,
                "content_base64": base64.b64encode(path.read_bytes()).decode(),
            },
            "settings": ["interactive.yes=true"],
        }
    ).encode()


def timed(url: str, data: bytes | None = None) -> tuple[float, Any]:
    req = urllib.request.Request(
        url,
        data=data,
        method="POST" if data else "GET",
        headers={"Content-Type": "application/json"},
    )
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as resp:
        answer = json.loads(resp.read())
    return (time.perf_counter() - t0) * 1000, answer


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def through_server(server: LiveServer, inputs: list[Path], runs: int) -> dict[str, float]:
    bodies = [body(inputs[i % len(inputs)]) for i in range(runs)]
    post_ms, ids = [], []
    start = time.perf_counter()
    for data in bodies:
        ms, answer = timed(server.url + "/v1/runs", data)
        post_ms.append(ms)
        ids.append(answer["id"])
    posted = time.perf_counter() - start
    pending = list(ids)
    while pending:  # wait for the last run
        _, run = timed(f"{server.url}/v1/runs/{pending[0]}")
        if run["status"] in ("succeeded", "failed"):
            assert run["status"] == "succeeded", run
            pending.pop(0)
        else:
            time.sleep(0.02)
    wall = time.perf_counter() - start
    get_ms = []
    get_start = time.perf_counter()
    for run_id in ids:
        ms, _ = timed(f"{server.url}/v1/runs/{run_id}")
        get_ms.append(ms)
    got = time.perf_counter() - get_start
    return {
        "wall_s": wall,
        "post_rps": runs / posted,
        "post_p50": pct(post_ms, 50),
        "post_p95": pct(post_ms, 95),
        "get_rps": runs / got,
        "get_p50": pct(get_ms, 50),
        "get_p95": pct(get_ms, 95),
    }


def cli_baseline(inputs: list[Path], runs: int, folder: Path) -> float:
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from orchestration.pipeline.runner import run_pipeline_file\n"
        "inputs = [Path(p) for p in sys.argv[3:]]\n"
        "runs = int(sys.argv[2])\n"
        "start = time.perf_counter()\n"
        "for i in range(runs):\n"
        "    r = run_pipeline_file(Path(sys.argv[1]), inputs[i % len(inputs)], state='state',\n"
        "        run_id=f'cli-{i}', out_dir=Path(f'out/{i}'),\n"
        "        settings={'interactive': {'yes': 'true'}})\n"
        "    assert r.ok, r.error\n"
        "print(time.perf_counter() - start)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "pipelines" / "synthforge.yaml"), str(runs)]
        + [str(p) for p in inputs],
        cwd=folder,
        env=server_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(proc.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared/corpus/diagrams")
    parser.add_argument("--postgres", action="store_true", help="also workers on PostgreSQL")
    args = parser.parse_args()
    inputs = diagrams(args.corpus)
    root = Path(tempfile.mkdtemp(prefix="forgeflow-bench-"))
    results: list[tuple[str, dict[str, float]]] = []
    try:
        (root / "cli").mkdir()
        baseline = cli_baseline(inputs, args.runs, root / "cli")
        for workers in (1, 2):
            folder = root / f"sqlite-{workers}"
            folder.mkdir()
            with LiveServer(folder, "--workers", str(workers), token=None) as server:
                results.append(
                    (
                        f"embedded, SQLite, {workers} worker(s)",
                        through_server(server, inputs, args.runs),
                    )
                )
        if args.postgres:
            from pg_server import PostgresServer, find_bindir

            bindir = find_bindir()
            if bindir is None:
                print("no PostgreSQL server binaries: skipping --postgres")
            else:
                pg = PostgresServer(bindir)
                pg.start()
                try:
                    for workers in (1, 2):
                        name = f"bench_{workers}"
                        pg.create_database(name)
                        folder = root / f"pg-{workers}"
                        folder.mkdir()
                        procs = []
                        for n in range(workers):
                            (folder / f"w{n}").mkdir()
                            procs.append(
                                LiveServer(
                                    folder / f"w{n}",
                                    "--state",
                                    pg.url(name),
                                    command="worker",
                                    token=None,
                                )
                            )
                        try:
                            with LiveServer(
                                folder, "--state", pg.url(name), "--workers", "0", token=None
                            ) as server:
                                results.append(
                                    (
                                        f"PostgreSQL, {workers} worker process(es)",
                                        through_server(server, inputs, args.runs),
                                    )
                                )
                        finally:
                            for p in procs:
                                p.stop()
                finally:
                    pg.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.runs} SynthForge runs ({len(inputs)} diagrams in turn), loopback only\n")
    print(
        f"baseline: the CLI's run_pipeline_file in-process, one after another: {baseline:.2f} s "
        f"({baseline / args.runs * 1000:.1f} ms a run)\n"
    )
    print(
        "| setup | wall time | vs CLI | POST /v1/runs rps | p50 / p95 ms "
        "| GET /v1/runs/{id} rps | p50 / p95 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results:
        print(
            f"| {name} | {r['wall_s']:.2f} s | {r['wall_s'] / baseline:.2f}× "
            f"| {r['post_rps']:.0f} | "
            f"{r['post_p50']:.1f} / {r['post_p95']:.1f} | {r['get_rps']:.0f} | "
            f"{r['get_p50']:.1f} / {r['get_p95']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
