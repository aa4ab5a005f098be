"""Start-up time of ``python -m agents.run --help`` against importing pydantic and click.

Every job of the workflow suite starts a fresh interpreter for ``agents.run``, so its start-up
is paid once per job. The baseline is the floor any pydantic + click CLI pays: a fresh
interpreter that imports those two and nothing else. Target: at most 1.5x the baseline.

Run from the repository root::

    python benchmarks/bench_startup.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = 1.5


def wall_time(argv: list[str]) -> float:
    """Wall-clock seconds of one run of ``argv`` in a fresh interpreter."""
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Measure both commands, interleaved, and print medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs of each command")
    args = parser.parse_args(argv)

    cli = [sys.executable, "-m", "agents.run", "--help"]
    base = [sys.executable, "-c", "import pydantic, click"]
    cli_times: list[float] = []
    base_times: list[float] = []
    wall_time(base), wall_time(cli)  # warm the file-system cache
    # Interleave, so that machine noise hits both sides alike.
    for _ in range(args.repeat):
        base_times.append(wall_time(base))
        cli_times.append(wall_time(cli))
    cli_ms = statistics.median(cli_times) * 1000
    base_ms = statistics.median(base_times) * 1000
    ratio = cli_ms / base_ms
    print(f"runs each:                          {args.repeat}")
    print(f"python -c 'import pydantic, click': {base_ms:8.1f} ms (median, baseline)")
    print(f"python -m agents.run --help:        {cli_ms:8.1f} ms (median)")
    verdict = "ok" if ratio <= TARGET else "OVER TARGET"
    print(f"ratio:                              {ratio:8.2f}x (target <= {TARGET}x: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
