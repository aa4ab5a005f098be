"""Scale-out: a server and two worker processes on a real PostgreSQL, one worker SIGKILLed.

Runs are submitted over HTTP on the corpus diagrams (``FORGEFLOW_SERVER_TEST_RUNS``,
default 200: about a minute on two cores); one worker is killed with SIGKILL while a run
of its is in progress. Every run
must end ``succeeded``, exactly once, with the same output as ``orchestration run`` of
the same diagram; the killed worker's run is taken up by the other worker and resumes from
its last finished stage.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from server_harness import REPO, WEBAPP, LiveServer, server_env

pytest.importorskip("fastapi")
pytest.importorskip("procrastinate")

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

RUNS = int(os.environ.get("FORGEFLOW_SERVER_TEST_RUNS", "200"))
#: Seconds without a heartbeat before a worker is taken for dead: short, to keep the test
#: short, but long enough that a busy machine does not make a live worker look dead.
STALLED_AFTER = "5"


def cli_outputs(tmp_path: Path, diagrams: list[Path]) -> dict[str, Any]:
    """Each diagram's output through ``orchestration run`` (in-process CLI, one process)."""
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from orchestration.pipeline.runner import run_pipeline_file\n"
        "out = {}\n"
        "for i, name in enumerate(sys.argv[2:]):\n"
        "    report = run_pipeline_file(Path(sys.argv[1]), Path(name), state=f'cli-state',\n"
        "        run_id=f'cli-{i}', out_dir=Path(f'cli-out/{i}'),\n"
        "        settings={'interactive': {'yes': 'true'}})\n"
        "    assert report.ok, report.error\n"
        "    out[Path(name).name] = json.loads(report.output.read_text())['data']\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "pipelines" / "synthforge.yaml")]
        + [str(d) for d in diagrams],
        cwd=tmp_path,
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout))


def test_two_workers_one_killed_every_run_finishes_once_as_the_cli_would(
    tmp_path: Path, postgres_server: Any, corpus_diagrams: Path
) -> None:
    postgres_server.create_database("forgeflow_workers")
    state = postgres_server.url("forgeflow_workers")
    diagrams = sorted(corpus_diagrams.glob("*.drawio")) + [WEBAPP]
    expected = cli_outputs(tmp_path, diagrams)
    server = LiveServer(tmp_path, "--state", state, "--workers", "0", token=None).wait_ready()
    for n in range(2):  # each worker in a folder of its own, as on machines of their own
        (tmp_path / f"worker-{n}").mkdir()
    workers = [
        LiveServer(
            tmp_path / f"worker-{n}",
            "--state",
            state,
            "--stalled-after",
            STALLED_AFTER,
            command="worker",
            token=None,
        )
        for n in range(2)
    ]
    try:
        ids = []
        for i in range(RUNS):
            ids.append(server.start_run(diagrams[i % len(diagrams)], "interactive.yes=true")["id"])
        # kill a worker while a run of its is in progress, once a quarter is done
        victim, caught = None, None
        deadline = time.monotonic() + 120
        pids = {w.proc.pid: w for w in workers}
        while victim is None and time.monotonic() < deadline:
            for run_id in ids[RUNS // 4 :]:
                _, run = server.request("GET", f"/v1/runs/{run_id}")
                pid = int((run.get("worker") or ":0").rsplit(":", 1)[1])
                if run["status"] == "running" and run["stages"] and pid in pids:
                    victim = pids[pid]
                    victim.stop(signal.SIGKILL)
                    caught = server.request("GET", f"/v1/runs/{run_id}")[1]
                    break
        assert victim is not None, "no run was seen in progress"
        assert victim.proc.returncode == -signal.SIGKILL
        survivor = next(w for w in workers if w is not victim)
        runs = [server.wait_run(i, timeout=300) for i in ids]
        streams = [server.request("GET", f"/v1/runs/{i}/events")[1] for i in ids]
        outputs = [
            server.request("GET", f"/v1/runs/{r['id']}/artifacts/{r['output_stage']}")[1]["data"]
            for r in runs
        ]
    finally:
        for w in workers:
            w.stop()
        server.stop()
    assert [r["status"] for r in runs] == ["succeeded"] * RUNS
    assert [t.count("event: run_succeeded") for t in streams] == [1] * RUNS
    assert [t.count("event: run_failed") for t in streams] == [0] * RUNS
    for run, output in zip(runs, outputs, strict=True):
        assert output == expected[run["input_name"]], run["id"]
    assert len({r["id"] for r in runs}) == RUNS
    # the run the killed worker had in hand
    assert caught is not None
    taken_up = next(r for r in runs if r["id"] == caught["id"])
    print(f"killed worker's run {caught['id']}: {caught['status']} at the kill")
    if caught["status"] == "running":  # killed mid-run (almost always: runs take ms)
        detail = (taken_up["attempts"], taken_up["worker"], victim.proc.pid, survivor.proc.pid)
        assert taken_up["attempts"] >= 2, detail  # taken up again after the kill
        assert taken_up["worker"].endswith(f":{survivor.proc.pid}")
        done_before = {s["stage"] for s in caught["stages"] if s["status"] == "succeeded"}
        resumed = {s["stage"] for s in taken_up["stages"] if s["resumed"]}
        assert done_before and done_before <= resumed
