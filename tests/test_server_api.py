"""``python -m orchestration serve`` as a user meets it: a real server process on loopback.

Runs started over HTTP end as CLI runs do; a run without review settings waits for review
and resumes with decisions; progress streams as server-sent events; tokens are required
and checked; bad input gets the CLI's one line in one JSON shape; runs left unfinished by a
killed server are finished after a restart.
"""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_harness import REPO, TOKEN, WEBAPP, LiveServer, server_env

from orchestration.server.config import parse_tokens, token_ok

pytest.importorskip("fastapi")

WEBAPP_INPUT = {
    "name": "webapp.drawio",
    "content_base64": base64.b64encode(WEBAPP.read_bytes()).decode(),
}
TOKENS = f"sha256:{hashlib.sha256(TOKEN.encode()).hexdigest()},other-plain-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    cwd = tmp_path_factory.mktemp("server")
    env = server_env(FORGEFLOW_API_TOKENS=TOKENS)
    with LiveServer(cwd, env=env) as live:
        yield live


def cli_output(tmp_path: Path, diagram: Path, *settings: str) -> dict[str, Any]:
    """The output artifact's data of the same run through ``orchestration run``."""
    args = [a for s in settings for a in ("--set", s)]
    out = tmp_path / "cli-out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration",
            "run",
            str(REPO / "pipelines" / "synthforge.yaml"),
            "--input",
            str(diagram),
            "--state",
            str(tmp_path / "cli-state"),
            "--out",
            str(out),
            *args,
        ],
        cwd=tmp_path,
        env=server_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads((out / "output.json").read_text())["data"])


def test_a_run_over_http_ends_as_the_cli_run_does(server: LiveServer, tmp_path: Path) -> None:
    created = server.start_run(WEBAPP, "interactive.yes=true")
    assert created["status"] == "queued"
    assert created["links"]["events"] == f"/v1/runs/{created['id']}/events"
    run = server.wait_run(created["id"])
    assert run["status"] == "succeeded", run
    assert [s["stage"] for s in run["stages"]] == [
        "vision",
        "filter",
        "interactive",
        "analysis/network_flow",
        "analysis/security",
        "analysis/cost_estimation",
        "analysis/combine",
    ]
    assert all(s["duration_ms"] >= 0 for s in run["stages"])
    status, artifact = server.request("GET", f"/v1/runs/{run['id']}/artifacts/analysis/combine")
    assert status == 200 and artifact["status"] == "succeeded"
    assert artifact["data"] == cli_output(tmp_path, WEBAPP, "interactive.yes=true")
    status, report = server.request("GET", f"/v1/runs/{run['id']}/report")
    assert status == 200 and report.startswith("# Architecture analysis: webapp.drawio")


def test_a_run_waits_for_review_then_resumes_with_the_decisions(server: LiveServer) -> None:
    run = server.wait_run(server.start_run()["id"], ("waiting_for_review", "failed"))
    assert run["status"] == "waiting_for_review", run
    assert run["review"]["stage"] == "interactive"
    assert run["review"]["input_digest"].startswith("sha256:")
    assert [s["stage"] for s in run["stages"]] == ["vision", "filter"]
    status, answer = server.request("GET", f"/v1/runs/{run['id']}/report")
    assert status == 404 and "no report" in answer["error"]["message"]
    decisions = {"reviewer": "alice", "decisions": [], "accept_rest": True}
    status, queued = server.request("POST", f"/v1/runs/{run['id']}/decisions", decisions)
    assert status == 202 and queued["status"] == "queued"
    done = server.wait_run(run["id"])
    assert done["status"] == "succeeded", done
    by_stage = {s["stage"]: s for s in done["stages"]}
    # what came before the review was not computed again
    assert by_stage["vision"]["resumed"] and by_stage["filter"]["resumed"]
    assert not by_stage["interactive"]["resumed"]
    _, review = server.request("GET", f"/v1/runs/{run['id']}/artifacts/interactive")
    assert review["data"]["review"]["reviewer"] == "alice"
    assert review["data"]["review"]["method"] == "decisions_file"
    # decisions again: the run is no longer waiting
    status, answer = server.request("POST", f"/v1/runs/{run['id']}/decisions", decisions)
    assert status == 409 and answer["error"]["code"] == "conflict"


def test_events_stream_stage_progress_until_the_run_ends(server: LiveServer) -> None:
    created = server.start_run(WEBAPP, "interactive.yes=true")
    status, text = server.request("GET", f"/v1/runs/{created['id']}/events")
    assert status == 200
    events = [
        json.loads(line.removeprefix("data: "))
        for line in text.splitlines()
        if line.startswith("data: ")
    ]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "run_queued" and kinds[-1] == "run_succeeded"
    assert kinds.count("stage_started") == kinds.count("stage_finished") == 7
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    # Last-Event-ID resumes after the event given
    _, rest = server.request(
        "GET", f"/v1/runs/{created['id']}/events", headers={"Last-Event-ID": str(len(events) - 1)}
    )
    assert [line for line in rest.splitlines() if line.startswith("event: ")] == [
        "event: run_succeeded"
    ]


def test_decisions_that_break_the_schema_are_one_line(server: LiveServer) -> None:
    run = server.wait_run(server.start_run()["id"], ("waiting_for_review",))
    status, answer = server.request("POST", f"/v1/runs/{run['id']}/decisions", {"decisions": []})
    assert status == 422
    message = "decisions: $.reviewer: Field required (expected a DecisionsFile)"
    assert answer == {"error": {"code": "bad_input", "message": message}}
    _, still = server.request("GET", f"/v1/runs/{run['id']}")
    assert still["status"] == "waiting_for_review"  # nothing was stored


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"pipeline": "nope", "input": {"name": "a.drawio", "content_base64": ""}},
            "pipeline 'nope': no such committed pipeline; committed: synthforge, synthforge-iac",
            id="unknown-pipeline",
        ),
        pytest.param(
            {
                "pipeline": "synthforge",
                "settings": ["interactive.yess=true"],
                "input": WEBAPP_INPUT,
            },
            "pipeline: stage 3 'interactive': agent 'interactive': unknown setting 'yess'; "
            "known settings: decisions, yes",
            id="unknown-setting",
        ),
        pytest.param(
            {"pipeline": "synthforge", "input": {"name": "a.drawio", "content_base64": "%%"}},
            "input.content_base64: not valid base64",
            id="bad-base64",
        ),
        pytest.param(
            {
                "pipeline_yaml": "name: x\nstages:\n  - agent: nosuch\n",
                "input": {"name": "a.json", "content_base64": ""},
            },
            "pipeline: stage 1: unknown agent 'nosuch'",
            id="uploaded-pipeline-unknown-agent",
        ),
        pytest.param(
            {
                "pipeline": "synthforge",
                "settings": ["yes"],
                "input": {"name": "a", "content_base64": ""},
            },
            "--set 'yes': expected AGENT.KEY=VALUE",
            id="setting-without-agent",
        ),
        pytest.param(
            {
                "pipeline": "synthforge-iac",
                "settings": ["code_quality.checkov=/bin/sh"],
                "input": WEBAPP_INPUT,
            },
            "settings: setting 'code_quality.checkov' is not accepted from a request; "
            "accepted: cost_estimation.region, interactive.yes, module_development.iac",
            id="program-path-setting",
        ),
        pytest.param(
            {
                "pipeline_yaml": "name: x\nstages:\n  - agent: vision\n  - agent: filter\n"
                "  - agent: interactive\n    settings: {decisions: /etc/passwd}\n",
                "input": WEBAPP_INPUT,
            },
            "pipeline stage 'interactive': setting 'interactive.decisions' is not accepted "
            "from a request",
            id="file-path-setting-in-uploaded-pipeline",
        ),
        pytest.param(
            {"input": {"name": "a", "content_base64": ""}},
            "give pipeline (a committed pipeline's name) or pipeline_yaml, one of them",
            id="no-pipeline",
        ),
        pytest.param(
            {"pipeline": "synthforge", "input": {"name": "../etc/passwd", "content_base64": ""}},
            "body $.input.name: String should match pattern "
            "'^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,127}$'",
            id="path-in-name",
        ),
    ],
)
def test_bad_runs_are_one_line_and_store_nothing(
    server: LiveServer, body: dict[str, Any], message: str
) -> None:
    status, answer = server.request("POST", "/v1/runs", body)
    assert status == 422, answer
    assert answer["error"]["code"] == "bad_input"
    assert answer["error"]["message"].startswith(message), answer


def test_the_readme_shows_what_the_server_says(server: LiveServer) -> None:
    body = {
        "pipeline": "synthforge",
        "settings": ["interactive.yess=true"],
        "input": WEBAPP_INPUT,
    }
    status, answer = server.request("POST", "/v1/runs", body)
    assert status == 422
    readme = (REPO / "README.md").read_text()
    assert f"```json\n{json.dumps(answer)}\n```" in readme
    assert "python -m orchestration serve --port 8080" in readme


def test_tokens_are_required_and_checked(server: LiveServer) -> None:
    status, answer = server.request("GET", "/v1/agents", auth=False)
    assert status == 401
    assert answer["error"]["code"] == "unauthorized"
    status, _ = server.request("GET", "/v1/agents", headers={"Authorization": "Bearer wrong"})
    assert status == 401
    status, agents = server.request(
        "GET", "/v1/agents", headers={"Authorization": "Bearer other-plain-token"}
    )
    assert status == 200 and "vision" in [a["name"] for a in agents]
    # health needs no token
    assert server.request("GET", "/healthz", auth=False)[0] == 200
    status, ready = server.request("GET", "/readyz", auth=False)
    assert status == 200 and ready["state"] == "sqlite"


def test_an_agent_with_its_schemas(server: LiveServer) -> None:
    status, agent = server.request("GET", "/v1/agents/interactive")
    assert status == 200
    assert set(agent["settings_schema"]["properties"]) == {"decisions", "yes"}
    assert agent["input_model"] == "ClassifiedArchitecture"
    assert "properties" in agent["output_schema"]
    status, answer = server.request("GET", "/v1/agents/nosuch")
    assert status == 404 and "nosuch" in answer["error"]["message"]


def test_token_hashes_and_plain_tokens() -> None:
    hashes = parse_tokens(f" a-token , sha256:{hashlib.sha256(b'b-token').hexdigest()},")
    assert token_ok("a-token", hashes) and token_ok("b-token", hashes)
    assert not token_ok("c-token", hashes) and not token_ok("", hashes)
    assert parse_tokens("") == ()


def _serve_fails(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestration", "serve", *args],
        cwd=tmp_path,
        env=server_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_beyond_loopback_without_tokens_is_refused(tmp_path: Path) -> None:
    proc = _serve_fails(tmp_path, "--host", "0.0.0.0", "--port", "1")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: --host 0.0.0.0: listening beyond loopback needs API tokens; "
        "set FORGEFLOW_API_TOKENS (tokens or sha256: hashes of them)"
    )


def test_an_unreachable_state_store_is_one_line_before_serving(tmp_path: Path) -> None:
    proc = _serve_fails(
        tmp_path, "--port", "1", "--state", "postgresql://forgeflow:hunter2@127.0.0.1:1/db"
    )
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and "127.0.0.1:1" in line
    assert "hunter2" not in line  # the password is masked


def test_a_worker_needs_a_postgresql_store(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration", "worker", "--state", "sqlite:///x.db"],
        cwd=tmp_path,
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: --state: workers share a PostgreSQL store (postgresql://...)"
    )


def test_a_malformed_token_hash_is_refused(tmp_path: Path) -> None:
    proc = _serve_fails(tmp_path, "--port", "1", FORGEFLOW_API_TOKENS="sha256:abc")
    assert proc.returncode == 2
    assert "FORGEFLOW_API_TOKENS: a 'sha256:' entry needs 64 hex digits" in proc.stderr


def test_a_body_over_the_limit_is_413(tmp_path: Path) -> None:
    with LiveServer(tmp_path, "--max-body", "1000", token=None) as live:
        big = {"pipeline": "synthforge", "input": {"name": "a", "content_base64": "A" * 2000}}
        status, answer = live.request("POST", "/v1/runs", big)
        assert status == 413
        assert answer == {
            "error": {"code": "too_large", "message": "request body over the limit of 1000 bytes"}
        }


def test_runs_a_killed_server_left_unfinished_finish_after_a_restart(tmp_path: Path) -> None:
    live = LiveServer(tmp_path, token=None).wait_ready()
    ids: list[str] = []
    while len(ids) < 80:  # submit until the first run is done, then kill it mid-way
        ids.append(live.start_run(WEBAPP, "interactive.yes=true")["id"])
        if len(ids) >= 3 and live.request("GET", f"/v1/runs/{ids[0]}")[1]["status"] == "succeeded":
            break
    live.stop(signal.SIGKILL)
    with sqlite3.connect(tmp_path / ".forgeflow" / "server.db") as db:  # as the kill left it
        before = [
            json.loads(
                db.execute(
                    "SELECT value FROM kv WHERE key = ?", (f"forgeflow.run:{i}",)
                ).fetchone()[0]
            )["status"]
            for i in ids
        ]
    restarted = LiveServer(tmp_path, token=None, port=live.port)
    with restarted:
        runs = [restarted.wait_run(i) for i in ids]
        streams = [restarted.request("GET", f"/v1/runs/{i}/events")[1] for i in ids]
    assert [r["status"] for r in runs] == ["succeeded"] * len(ids)
    # the kill came mid-way: some runs were finished by the first process, some by the second
    assert 0 < before.count("succeeded") < len(ids), before
    # a run the kill caught running was run again by the new process, resuming its stages
    for status, run in zip(before, runs, strict=True):
        if status == "running":
            assert run["attempts"] == 2, run
    # each finished exactly once
    assert [text.count("event: run_succeeded") for text in streams] == [1] * len(ids)
