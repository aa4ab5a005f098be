"""Install time of a job: uv with Forgeflow's locks and a cached environment, against the
``pip install -r requirements.txt`` every job used to run.

One run measures, each in a fresh temporary folder and from PyPI (pip's and uv's caches
empty, pip's local configuration off, as on a hosted runner):

- baseline: ``python3 -m venv`` then ``pip install -r requirements.txt`` (every optional
  dependency, no cache);
- uv cold: ``scripts/install-forgeflow.sh install`` as the action runs it on a cache miss
  (uv itself pip-installed first, then the core lock; and the core plus ``github`` for the
  writer job);
- uv warm: what the action does on a cache hit: the environment unpacked from the tar
  archive ``actions/cache`` would restore (zstd, as it uses), then the same script, which
  finds it current, and the import check the action makes.

Targets (issue "the workflow suite as adopters meet it"): warm ≤ 5 s, cold ≤ 1/4 of the
baseline. Needs the network (PyPI); takes about a minute.

    python benchmarks/bench_install.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "install-forgeflow.sh"


def clean_env(tmp: Path) -> dict[str, str]:
    """The environment of a hosted runner's job: no pip configuration, empty caches."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "VIRTUAL_ENV", "FORGEFLOW_"))
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_CACHE_DIR="1",
        UV_CACHE_DIR=str(tmp / "uv-cache"),
        RUNNER_TEMP=str(tmp),
    )
    # uv is fetched by the script itself, as on a runner: hide any uv on PATH.
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "uv").exists()
    )
    return env


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(cmd: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout.strip()


def baseline(tmp: Path) -> float:
    env = clean_env(tmp)
    venv = tmp / "pip-venv"

    def install() -> None:
        run(["python3", "-m", "venv", str(venv)], env)
        run([str(venv / "bin/python"), "-m", "pip", "install", "-q", "-r",
             str(REPO / "requirements.txt")], env)  # fmt: skip

    return timed(install)


def uv_cold(tmp: Path, extras: str) -> float:
    env = clean_env(tmp)
    venv = tmp / "forgeflow-venv"

    def install() -> None:
        state = run(["bash", str(SCRIPT), "install", str(REPO), str(venv), extras], env)
        assert state == "installed", state

    return timed(install)


def uv_warm(tmp: Path, extras: str) -> tuple[float, int]:
    """Cold install once, archive it as actions/cache would, then time restore + check."""
    env = clean_env(tmp)
    venv = tmp / "forgeflow-venv"
    run(["bash", str(SCRIPT), "install", str(REPO), str(venv), extras], env)
    # actions/cache stores a tar archive compressed with zstd (gzip where zstd is absent).
    zstd = shutil.which("zstd") is not None
    archive = tmp / ("cache.tzst" if zstd else "cache.tgz")
    if zstd:
        run(["tar", "--use-compress-program", "zstd -T0", "-cf", str(archive), "-C", str(tmp),
             venv.name], env)  # fmt: skip
    else:
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(venv, arcname=venv.name)
    shutil.rmtree(venv)

    def restore_and_check() -> None:
        if zstd:
            run(["tar", "--use-compress-program", "zstd -d", "-xf", str(archive), "-C",
                 str(tmp)], env)  # fmt: skip
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="tar")
        state = run(["bash", str(SCRIPT), "install", str(REPO), str(venv), extras], env)
        assert state == "current", state
        run([str(venv / "bin/python"), "-P", "-c", "import agents.run, orchestration.cli"], env)

    return timed(restore_and_check), archive.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="repetitions of each case")
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    size = 0

    def record(name: str, fn: Callable[[Path], float]) -> None:
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="forgeflow-bench-install-") as tmp:
                results.setdefault(name, []).append(fn(Path(tmp)))

    def warm(extras: str) -> Callable[[Path], float]:
        def case(tmp: Path) -> float:
            nonlocal size
            seconds, size = uv_warm(tmp, extras)
            return seconds

        return case

    record("baseline: pip install -r requirements.txt", baseline)
    record("uv cold, core (an analysis job)", lambda tmp: uv_cold(tmp, ""))
    record("uv cold, core + github (the writer)", lambda tmp: uv_cold(tmp, "github"))
    record("uv warm, core (cache hit)", warm(""))
    record("uv warm, core + github (cache hit)", warm("github"))

    base = statistics.median(results["baseline: pip install -r requirements.txt"])
    print(f"{'case':<45} {'median s':>9} {'vs baseline':>12}  target")
    for name, values in results.items():
        median = statistics.median(values)
        target = ""
        if name.startswith("uv cold"):
            target = "≤ 0.25× " + ("✅" if median <= base / 4 else "❌")
        elif name.startswith("uv warm"):
            target = "≤ 5 s " + ("✅" if median <= 5 else "❌")
        print(f"{name:<45} {median:>9.2f} {median / base:>11.2f}×  {target}")
    print(f"(cached environment, core + github: {size / 1e6:.1f} MB compressed; "
          f"{args.rounds} round(s) each)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
