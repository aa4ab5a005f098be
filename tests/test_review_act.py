"""The review conversation on a pull request, run for real under ``act``.

A pull request adds a diagram with an icon nobody maps; the pull-request workflow posts
the review; a writer answers with ``/forgeflow set``, then ``accept all``, then ``iac``;
the modules are committed to a local bare repository standing in for the pull request's
branch. Every step is checked from the GitHub stand-in's recorded requests, the PR body
and the repository's log. The payloads are the corpus's real ``pull_request.opened`` and
``issue_comment.created`` (octokit/webhooks payload-examples; the comment turned into one
on the pull request as GitHub sends it, with ``issue.pull_request`` present).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from act_harness import ActHarness, rev_parse, workflow_run_event
from github_stub import GitHubStub
from review_fixtures import diagram

from orchestration.github.pr_state import read_state

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("act_installed")]
DIAGRAM = "docs/shop.drawio"


@pytest.fixture
def stub(recording_stub: GitHubStub) -> GitHubStub:
    return recording_stub


def _git(*args: str, cwd: Path | None = None) -> str:
    ident = ["-c", "user.name=Codertocat", "-c", "user.email=codertocat@example.com"]
    return subprocess.run(
        ["git", *ident, *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def test_the_review_conversation_from_diagram_to_committed_modules(
    tmp_path: Path, stub: GitHubStub, corpus_events: Path
) -> None:
    opened = json.loads((corpus_events / "pull_request.opened.payload.json").read_text())
    branch = opened["pull_request"]["head"]["ref"]
    harness = ActHarness(tmp_path / "act", api_url=stub.url)
    repo = harness.new_repo("review", extra_files={DIAGRAM: diagram().decode("utf-8")})

    # the pull request's branch, as a bare repository the iac job pushes to
    origin = tmp_path / "origin.git"
    _git("init", "-q", "--bare", "-b", branch, str(origin))
    work = tmp_path / "branch"
    _git("clone", "-q", str(origin), str(work))
    (work / "docs").mkdir()
    (work / DIAGRAM).write_bytes(diagram())
    _git("add", ".", cwd=work)
    _git("commit", "-qm", "Add the shop diagram", cwd=work)
    _git("push", "-q", "origin", f"HEAD:{branch}", cwd=work)
    head = rev_parse(work, "HEAD")

    event = copy.deepcopy(opened)
    event["pull_request"]["head"]["sha"] = head
    event["pull_request"]["base"]["sha"] = rev_parse(repo, "HEAD~1")
    repo_name, number = stub.seed_pull_request(event)
    stub.set_file(repo_name, head, DIAGRAM, diagram())
    stub.set_permission(repo_name, "writer-wes", "write")
    stub.set_permission(repo_name, "reader-rae", "read")
    harness.extra_env["FORGEFLOW_GIT_REMOTE"] = str(origin)

    def body_state() -> dict[str, Any]:
        return read_state(stub.pull_request(repo_name, number)["body"])["synthforge-review"]

    def sticky() -> str:
        [text] = [
            c["body"] for c in stub.comments(repo_name, number) if "synthforge-review" in c["body"]
        ]
        return text

    steps: list[str] = []  # the conversation as a user sees it, step by step

    def seen(title: str) -> None:
        steps.append(f"#### {title}\n\nThe review's sticky comment:\n\n{sticky()}")

    # 1. the pull request adds the diagram: the analysis, then its workflow_run writer
    # (from the default branch, here the same snapshot), posts the review
    run = harness.run(repo, "pull_request", ".github/workflows/synthforge-pr.yml", event)
    assert run.returncode == 0, run.explain()
    writer = harness.run(
        repo,
        "workflow_run",
        ".github/workflows/synthforge-pr-report.yml",
        workflow_run_event(corpus_events, event, run, fork=False),
    )
    assert writer.returncode == 0, writer.explain()
    review = body_state()["diagrams"][DIAGRAM]
    assert review["status"] == "waiting_review" and review["unclear"] == ["widget"]
    assert "waiting for review" in sticky() and "| `widget` |" in sticky()
    seen("The pull request adds docs/shop.drawio")

    comment_event = json.loads((corpus_events / "issue_comment.created.payload.json").read_text())

    def comment(body: str, login: str) -> Any:
        made = stub.add_user_comment(repo_name, number, body, login)
        payload = copy.deepcopy(comment_event)
        payload["issue"]["number"] = number
        payload["issue"]["pull_request"] = {
            "url": f"https://api.github.com/repos/{repo_name}/pulls/{number}",
            "html_url": f"https://github.com/{repo_name}/pull/{number}",
            "diff_url": f"https://github.com/{repo_name}/pull/{number}.diff",
            "patch_url": f"https://github.com/{repo_name}/pull/{number}.patch",
        }
        payload["comment"].update(id=made["id"], body=body)
        payload["comment"]["user"] = {**payload["comment"]["user"], "login": login}
        return harness.run(
            repo, "issue_comment", ".github/workflows/synthforge-review.yml", payload, timeout=420
        )

    # a reader is refused: nothing runs, nothing is recorded
    before = stub.pull_request(repo_name, number)["body"]
    run = comment("/forgeflow accept all", "reader-rae")
    assert run.returncode == 0, run.explain()
    assert stub.pull_request(repo_name, number)["body"] == before

    # 2. a writer corrects the unknown icon: decision recorded, analysis resumed
    run = comment("/forgeflow set widget type=Microsoft.ApiManagement/service", "writer-wes")
    assert run.returncode == 0, run.explain()
    assert f"{DIAGRAM}: analysed from the review stage; stages run: " in run.log
    stages_line = next(x for x in run.log.splitlines() if "analysed from the review stage" in x)
    assert "vision" not in stages_line and "filter" not in stages_line
    review = body_state()["diagrams"][DIAGRAM]
    [rec] = review["decisions"]
    assert (
        rec["by"] == "writer-wes"
        and rec["decision"]["resource_type"] == "Microsoft.ApiManagement/service"
    )
    assert "set Microsoft.ApiManagement/service by writer-wes" in sticky()
    seen("writer-wes: /forgeflow set widget type=Microsoft.ApiManagement/service")

    # 3. accept the rest, 4. ask for the modules
    run = comment("/forgeflow accept all", "writer-wes")
    assert run.returncode == 0, run.explain()
    assert body_state()["diagrams"][DIAGRAM]["status"] == "reviewed"
    seen("writer-wes: /forgeflow accept all")
    run = comment("/forgeflow iac terraform", "writer-wes")
    assert run.returncode == 0, run.explain()

    log = _git("--git-dir", str(origin), "log", "--format=%an|%s|%b", branch)
    newest = log.split("\n")[0]
    assert newest.startswith(f"forgeflow[bot]|SynthForge: modules for {DIAGRAM}|")
    assert "requested by writer-wes" in log
    files = _git("--git-dir", str(origin), "ls-tree", "-r", "--name-only", branch).split()
    assert DIAGRAM in files and any(
        f.startswith("infra/shop/") and f.endswith(".tf") for f in files
    )

    ops = [r["operation"] for r in stub.requests()]
    assert ops.count("repos/get-collaborator-permission-level") >= 4
    assert "repos/get-content" in ops
    reactions = [r["content"] for r in stub.reactions()]
    assert reactions.count("eyes") == 3 and reactions.count("+1") == 3
    replies = [
        c["body"] for c in stub.comments(repo_name, number) if "SynthForge modules" in c["body"]
    ]
    assert replies and "checkov" in replies[0]
    # the conversation as a user sees it (docs/workflows.md quotes one such run)
    comments = [
        f"**{c['user']['login']}**:\n\n{c['body']}\n" for c in stub.comments(repo_name, number)
    ]
    out = os.environ.get("FORGEFLOW_REVIEW_TRANSCRIPT")
    if out:
        Path(out).write_text(
            "\n---\n\n".join(steps + ["#### Every comment, in order", *comments]), encoding="utf-8"
        )
