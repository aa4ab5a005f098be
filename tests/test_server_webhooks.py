"""GitHub webhook deliveries to a live server: the corpus's real payloads, signed here.

The payloads are GitHub's own examples (``../shared/corpus/events``), sent as GitHub sends
them (``X-GitHub-Event``, ``X-GitHub-Delivery``, ``X-Hub-Signature-256`` over the exact
bytes). The REST API the server fetches diagrams through is the GitHub stand-in
(``tests/github_stub.py``) with the pull request's files seeded.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from github_stub import GitHubStub
from server_harness import TOKEN, WEBAPP, LiveServer, server_env

pytest.importorskip("fastapi")
pytest.importorskip("gidgethub")

from orchestration.server.github_runs import run_id_for  # noqa: E402

SECRET = "webhook-test-secret"
GH_TOKEN = "ghs_test_token_for_the_stub"
DIAGRAM = "docs/architecture.drawio"


@pytest.fixture(scope="module")
def stub() -> Iterator[GitHubStub]:
    with GitHubStub(token=GH_TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, stub: GitHubStub) -> Iterator[LiveServer]:
    cwd = tmp_path_factory.mktemp("webhooks")
    env = server_env(
        FORGEFLOW_API_TOKENS=TOKEN,
        FORGEFLOW_WEBHOOK_SECRET=SECRET,
        GITHUB_TOKEN=GH_TOKEN,
        GITHUB_API_URL=stub.url,
    )
    with LiveServer(cwd, "--webhook-set", "interactive.yes=true", env=env) as live:
        yield live


def payload(events: Path, name: str) -> bytes:
    return (events / name).read_bytes()


def deliver(
    server: LiveServer,
    event: str,
    body: bytes,
    *,
    delivery: str | None = None,
    secret: str | None = SECRET,
    signature: str | None = None,
) -> tuple[int, Any, str]:
    delivery = delivery or str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "User-Agent": "GitHub-Hookshot/test",
    }
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    elif secret is not None:
        mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={mac}"
    status, answer = server.request(
        "POST", "/v1/webhooks/github", raw=body, headers=headers, auth=False
    )
    return status, answer, delivery


def stored_rows(server: LiveServer) -> list[tuple[str, str]]:
    """Every key the server stored, and every stage (read from its SQLite file)."""
    with sqlite3.connect(server.cwd / ".forgeflow" / "server.db") as db:
        keys = [("kv", k) for (k,) in db.execute("SELECT key FROM kv")]
        stages = [("stage", r) for (r,) in db.execute("SELECT run_id FROM stages")]
    return sorted(keys + stages)


def wait_delivery(server: LiveServer, delivery: str, timeout: float = 30) -> dict[str, Any]:
    """The delivery's record once its work is done."""
    from orchestration.server.github_runs import DELIVERY_KEY

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(server.cwd / ".forgeflow" / "server.db") as db:
            row = db.execute("SELECT value FROM kv WHERE key = ?", (DELIVERY_KEY + delivery,))
            found = row.fetchone()
        if found is not None:
            record = json.loads(found[0])
            if record["status"] in ("done", "failed"):
                return dict(record)
        time.sleep(0.05)
    raise AssertionError(f"delivery {delivery} not processed in {timeout}s")


def seed_pull_request(stub: GitHubStub, events: Path, name: str, diagram: bytes) -> str:
    data = json.loads(payload(events, name))
    repo, number = stub.seed_pull_request(data)
    stub.set_pull_files(
        repo,
        number,
        [(DIAGRAM, "added"), ("README.md", "modified"), ("old/gone.drawio", "removed")],
    )
    head = data["pull_request"]["head"]["sha"]
    stub.set_file(repo, head, DIAGRAM, diagram)
    return str(head)


def test_a_signed_pull_request_starts_a_run_per_changed_diagram(
    server: LiveServer, stub: GitHubStub, corpus_events: Path
) -> None:
    head = seed_pull_request(
        stub, corpus_events, "pull_request.opened.payload.json", WEBAPP.read_bytes()
    )
    started = time.monotonic()
    status, answer, delivery = deliver(
        server, "pull_request", payload(corpus_events, "pull_request.opened.payload.json")
    )
    answered = time.monotonic() - started
    assert status == 202, answer
    assert answer == {
        "delivery": delivery,
        "event": "pull_request",
        "status": "accepted",
        "detail": None,
    }
    assert answered < 10  # GitHub's delivery timeout
    record = wait_delivery(server, delivery)
    assert record["status"] == "done", record
    assert record["runs"] == [run_id_for(delivery, DIAGRAM)]  # the removed diagram is not run
    run = server.wait_run(record["runs"][0])
    assert run["status"] == "succeeded", run
    assert run["input_name"] == "architecture.drawio"
    assert run["source"]["path"] == DIAGRAM and run["source"]["ref"] == head
    fetched = [r for r in stub.requests() if r.get("operation") == "repos/get-content"]
    assert [(r["path"], r["query"]) for r in fetched][-1] == (
        f"/repos/Codertocat/Hello-World/contents/{DIAGRAM}",
        {"ref": head},
    )
    assert fetched[-1]["headers"]["authorization"] == "<redacted>"


@pytest.mark.parametrize(
    ("signature", "secret", "message"),
    [
        pytest.param(
            None, "not-the-secret", "X-Hub-Signature-256 does not match", id="wrong-secret"
        ),
        pytest.param(None, None, "X-Hub-Signature-256 is missing", id="missing"),
        pytest.param("sha256=" + "0" * 64, None, "X-Hub-Signature-256 does not match", id="forged"),
        pytest.param("sha1=" + "0" * 40, None, "X-Hub-Signature-256 does not match", id="sha1"),
    ],
)
def test_a_bad_or_missing_signature_is_401_and_nothing_is_stored(
    server: LiveServer,
    corpus_events: Path,
    signature: str | None,
    secret: str | None,
    message: str,
) -> None:
    before = stored_rows(server)
    body = payload(corpus_events, "pull_request.opened.payload.json")
    status, answer, _ = deliver(server, "pull_request", body, secret=secret, signature=signature)
    assert status == 401
    assert answer["error"]["code"] == "unauthorized"
    assert answer["error"]["message"].startswith(message)
    time.sleep(0.3)  # nothing is done afterwards either
    assert stored_rows(server) == before


def test_a_body_changed_after_signing_is_401(server: LiveServer, corpus_events: Path) -> None:
    body = payload(corpus_events, "push.with-new-branch.payload.json")
    mac = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    tampered = body.replace(b"README.md", b"READMF.md")
    status, _, _ = deliver(server, "push", tampered, signature=f"sha256={mac}")
    assert status == 401


def test_the_same_delivery_twice_starts_one_run(
    server: LiveServer, stub: GitHubStub, corpus_events: Path
) -> None:
    seed_pull_request(
        stub, corpus_events, "pull_request.synchronize.payload.json", WEBAPP.read_bytes()
    )
    body = payload(corpus_events, "pull_request.synchronize.payload.json")
    status, first, delivery = deliver(server, "pull_request", body)
    assert status == 202 and first["status"] == "accepted"
    status, again, _ = deliver(server, "pull_request", body, delivery=delivery)
    assert status == 200 and again["status"] == "duplicate"
    record = wait_delivery(server, delivery)
    run_keys = [
        k for kind, k in stored_rows(server) if k.startswith("forgeflow.run") and delivery in k
    ]
    assert run_keys == sorted(
        [f"forgeflow.run-input:{record['runs'][0]}", f"forgeflow.run:{record['runs'][0]}"]
    )
    assert server.wait_run(record["runs"][0])["status"] == "succeeded"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("push.with-new-branch.payload.json", id="branch-push-of-a-readme"),
        pytest.param("push.payload.json", id="tag-push"),
        pytest.param("push.with-organization.payload.json", id="tag-push-organization"),
    ],
)
def test_a_push_without_diagrams_starts_no_run(
    server: LiveServer, stub: GitHubStub, corpus_events: Path, name: str
) -> None:
    calls = len(stub.requests())
    status, answer, delivery = deliver(server, "push", payload(corpus_events, name))
    assert status == 200, answer
    assert answer["status"] == "ignored"
    assert answer["detail"].startswith("no diagram added or changed")
    assert not [k for _, k in stored_rows(server) if k.startswith("forgeflow.run:gh-" + delivery)]
    assert len(stub.requests()) == calls  # and GitHub was not asked anything


def test_a_push_that_adds_a_diagram_runs_it_at_the_pushed_commit(
    server: LiveServer, stub: GitHubStub, corpus_events: Path
) -> None:
    # the real branch push, with its one commit adding a diagram besides the README
    data = json.loads(payload(corpus_events, "push.with-new-branch.payload.json"))
    data = copy.deepcopy(data)
    data["commits"][0]["added"].append("arch/webapp.drawio")
    stub.set_file(
        "Codertocat/Hello-World", data["after"], "arch/webapp.drawio", WEBAPP.read_bytes()
    )
    status, answer, delivery = deliver(server, "push", json.dumps(data).encode())
    assert status == 202, answer
    record = wait_delivery(server, delivery)
    assert record["runs"] == [run_id_for(delivery, "arch/webapp.drawio")]
    run = server.wait_run(record["runs"][0])
    assert run["status"] == "succeeded" and run["source"]["ref"] == data["after"]


def test_ping_is_answered(server: LiveServer) -> None:
    body = json.dumps({"zen": "Design for failure.", "hook_id": 1}).encode()
    status, answer, _ = deliver(server, "ping", body)
    assert status == 200 and answer["status"] == "pong"


def test_other_events_are_acknowledged_and_ignored(server: LiveServer, corpus_events: Path) -> None:
    body = payload(corpus_events, "pull_request.closed.payload.json")
    status, answer, _ = deliver(server, "pull_request", body)
    assert status == 200 and answer["status"] == "ignored"
    body = payload(corpus_events, "issue_comment.created.payload.json")
    status, answer, _ = deliver(server, "issue_comment", body)
    assert status == 200 and answer["status"] == "ignored"


def test_webhooks_are_off_without_a_secret(tmp_path: Path) -> None:
    with LiveServer(tmp_path, token=None, env=server_env()) as live:
        status, answer, _ = deliver(live, "ping", b"{}")
    assert status == 503
    assert answer["error"]["message"] == "webhooks are off: set FORGEFLOW_WEBHOOK_SECRET"
