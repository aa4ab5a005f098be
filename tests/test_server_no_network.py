"""The server connects to nothing but its state store, the GitHub API URL and the model
endpoint.

``python -m orchestration serve`` runs under the socket watcher of ``test_no_network``
(every ``connect``, ``connect_ex``, ``create_connection`` and name lookup recorded from
before the first import) while it serves runs — a draw.io diagram, and a PNG that the
model endpoint reads — and a signed webhook delivery whose diagram it fetches from the
GitHub API. Then it is stopped, and every connection it made must go to the GitHub
stand-in or the model stand-in (the SQLite state store is a file); every name looked up
must be theirs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from github_stub import GitHubStub
from openai_stub import OpenAIStub
from raster_fixtures import png_bytes, webapp_reading
from server_harness import WEBAPP, LiveServer, free_port, server_env
from test_no_network import WATCH

pytest.importorskip("fastapi")

SECRET = "no-network-secret"
GH_TOKEN = "ghs_no_network"


def test_the_server_connects_only_to_github_and_the_model(
    tmp_path: Path, corpus_events: Path
) -> None:
    with (
        GitHubStub(token=GH_TOKEN) as github,
        OpenAIStub(key="k", default=webapp_reading()) as model,
    ):
        data = json.loads((corpus_events / "pull_request.opened.payload.json").read_bytes())
        repo, number = github.seed_pull_request(data)
        github.set_pull_files(repo, number, [("docs/arch.drawio", "added")])
        github.set_file(
            repo, data["pull_request"]["head"]["sha"], "docs/arch.drawio", WEBAPP.read_bytes()
        )
        report = tmp_path / "watch.json"
        port = free_port()
        env = server_env(
            WATCH_REPORT=str(report),
            FORGEFLOW_WEBHOOK_SECRET=SECRET,
            GITHUB_TOKEN=GH_TOKEN,
            GITHUB_API_URL=github.url,
            FORGEFLOW_MODEL_BASE_URL=model.base_url,
            FORGEFLOW_MODEL="gpt-4o",
            FORGEFLOW_MODEL_API_KEY="k",
        )
        stderr = open(tmp_path / "stderr.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WATCH,
                "orchestration",
                "serve",
                "--port",
                str(port),
                "--pipelines",
                str(Path(__file__).resolve().parent.parent / "pipelines"),
                "--webhook-set",
                "interactive.yes=true",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        live = LiveServer.__new__(LiveServer)  # talk to the watched process
        live.cwd, live.port, live.token, live.proc = tmp_path, port, None, proc
        live.url = f"http://127.0.0.1:{port}"
        live.log = open(tmp_path / f"server-{port}.log", "ab")  # noqa: SIM115
        try:
            live.wait_ready()
            drawio = live.start_run(WEBAPP, "interactive.yes=true")
            png = png_bytes(1200, 900, [(40, 40, 1100, 800, (230, 240, 255))])
            status, raster = live.request(
                "POST",
                "/v1/runs",
                {
                    "pipeline": "synthforge",
                    "input": {
                        "name": "webapp.png",
                        "content_base64": base64.b64encode(png).decode(),
                    },
                    "settings": ["interactive.yes=true"],
                },
            )
            assert status == 202, raster
            body = json.dumps(data).encode()
            mac = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            delivery = str(uuid.uuid4())
            status, _ = live.request(
                "POST",
                "/v1/webhooks/github",
                raw=body,
                headers={
                    "Content-Type": "application/json",
                    "X-GitHub-Event": "pull_request",
                    "X-GitHub-Delivery": delivery,
                    "X-Hub-Signature-256": f"sha256={mac}",
                },
            )
            assert status == 202
            from orchestration.server.github_runs import run_id_for

            hooked = run_id_for(delivery, "docs/arch.drawio")
            deadline = time.monotonic() + 60
            while live.request("GET", f"/v1/runs/{hooked}")[0] == 404:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            for run_id in (drawio["id"], raster["id"], hooked):
                run = live.wait_run(run_id)
                assert run["status"] == "succeeded", (run["failed_stage"], run["error"])
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
            live.log.close()
            stderr.close()
        assert model.requests, "the PNG run did not reach the model endpoint"
        allowed = {int(github.url.rsplit(":", 1)[1]), int(model.root.rsplit(":", 1)[1])}
    result = json.loads(report.read_text())
    targets = [a for a in result["attempts"] if a[0] != "getaddrinfo"]
    lookups = [a for a in result["attempts"] if a[0] == "getaddrinfo"]
    assert targets, "the watcher saw no connection at all"
    for name, args in targets:
        assert "127.0.0.1" in args and any(f", {p})" in args for p in allowed), (name, args)
    for _, args in lookups:
        assert args.startswith("('127.0.0.1', ") and any(f", {p}," in args for p in allowed), args
