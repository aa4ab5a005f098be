"""The pull request as review console: `/forgeflow` comments against the GitHub stand-in.

The comment events are the real ``issue_comment.created`` payload of
``../shared/corpus/events/`` (octokit/webhooks payload-examples), turned into a comment on
a pull request the way GitHub sends one: ``issue.pull_request`` present, ``issue.number``
the pull request's. Who may answer comes from the collaborator-permission endpoint
(GET /repos/{owner}/{repo}/collaborators/{username}/permission, "Get repository
permissions for a user" in GitHub's REST docs), never from ``author_association``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from github_stub import GitHubStub
from review_fixtures import diagram

from agents.synthforge.review.commands import CommandError, parse_comment, parse_line
from agents.synthforge.review.console import (
    STICKY_KEY,
    Workspace,
    event_from_payload,
    handle_comment,
    open_reviews,
)
from agents.synthforge.review.iac import commit_and_push, generate, patch
from agents.synthforge.review.state import STATE_KEY, ReviewState
from orchestration.github.api import connect
from orchestration.github.pr_state import read_state
from orchestration.pipeline.runner import run_pipeline_file
from orchestration.resilience.retry import RetryPolicy

REPO = Path(__file__).resolve().parent.parent
PIPELINE = REPO / "pipelines" / "synthforge.yaml"

# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("/forgeflow", "no command"),
        ("/forgeflow frobnicate x", "unknown command 'frobnicate'"),
        ("/forgeflow set widget", "needs at least one of"),
        ("/forgeflow set widget colour=red", "unknown field 'colour'"),
        ("/forgeflow set widget type=notatype", "is not a resource type"),
        ("/forgeflow add new1", "needs type=TYPE"),
        ('/forgeflow set widget name="unclosed', "cannot read it"),
        ("/forgeflow accept all widget", "takes no ids"),
        ("/forgeflow remove a b", "exactly one resource id"),
        ("/forgeflow iac pulumi", "takes one of terraform, bicep, both"),
        ("/forgeflow set $(reboot) type=Microsoft.Web/sites", "is not a resource id"),
    ],
)
def test_a_malformed_command_names_what_is_wrong(line: str, why: str) -> None:
    with pytest.raises(CommandError, match="line 3") as info:
        parse_line(3, line)
    assert why in str(info.value)
    assert "\n" not in str(info.value)


def test_commands_are_read_line_by_line_and_code_blocks_are_examples() -> None:
    body = (
        "Thanks! Two answers:\n"
        '/forgeflow set widget type=Microsoft.ApiManagement/service name="Widget gateway"\n'
        "```\n/forgeflow remove kv\n```\n"
        "/forgeflow accept all\n"
    )
    commands, errors = parse_comment(body)
    assert errors == []
    assert [c.verb for c in commands] == ["set", "accept"]
    decision = commands[0].decisions[0]
    assert (decision.action, decision.resource_id, decision.resource_type, decision.name) == (
        "correct",
        "widget",
        "Microsoft.ApiManagement/service",
        "Widget gateway",
    )
    assert commands[1].all


# --------------------------------------------------------------------------- the stand-in


class PR:
    """A pull request on the stand-in with a diagram at its head, and helpers to comment."""

    def __init__(self, stub: Any, corpus_events: Path, tmp: Path, *, fork: bool = False) -> None:
        payload = json.loads((corpus_events / "pull_request.opened.payload.json").read_text())
        if fork:
            head = payload["pull_request"]["head"]
            head["repo"] = copy.deepcopy(head["repo"])
            head["repo"]["full_name"] = "mona/Hello-World"
            head["repo"]["fork"] = True
        self.stub = stub
        self.repo, self.number = stub.seed_pull_request(payload)
        self.head = payload["pull_request"]["head"]["sha"]
        self.comment_payload = json.loads(
            (corpus_events / "issue_comment.created.payload.json").read_text()
        )
        self.tmp = tmp
        self.path = "docs/shop.drawio"
        self.client = connect(
            "test-token",
            api_url=stub.url,
            policy=RetryPolicy(max_attempts=2, base_delay=0.01, jitter=False),
        )
        stub.set_permission(self.repo, "maintainer-mia", "maintain")
        stub.set_permission(self.repo, "writer-wes", "write")
        stub.set_permission(self.repo, "reader-rae", "read")
        self.push(diagram())

    def push(self, content: bytes) -> None:
        self.stub.set_file(self.repo, self.head, self.path, content)

    def analyse(self, name: str = "pr-run") -> Path:
        """What the pull-request workflow's analysis job leaves: the run's folder."""
        source = self.tmp / f"{name}.drawio"
        source.write_bytes(self.stub_file())
        out = self.tmp / "artifacts" / name
        report = run_pipeline_file(
            PIPELINE,
            source,
            state=str(self.tmp / "pr-state"),
            out_dir=out,
            settings={"interactive": {"yes": "true"}},
        )
        assert report.ok
        return out

    def stub_file(self) -> bytes:
        return self.stub._files[f"{self.repo.lower()}@{self.head}"][self.path]

    def open(self, folder: Path) -> ReviewState:
        return asyncio.run(
            open_reviews(
                self.client,
                self.repo,
                self.number,
                {self.path: folder},
                head_sha=self.head,
                settle=0,
            )
        )

    def comment(self, body: str, login: str = "maintainer-mia") -> Any:
        made = self.stub.add_user_comment(self.repo, self.number, body, login)
        payload = copy.deepcopy(self.comment_payload)
        payload["issue"]["number"] = self.number
        payload["issue"]["pull_request"] = {
            "url": f"https://api.github.com/repos/{self.repo}/pulls/{self.number}",
            "html_url": f"https://github.com/{self.repo}/pull/{self.number}",
            "diff_url": f"https://github.com/{self.repo}/pull/{self.number}.diff",
            "patch_url": f"https://github.com/{self.repo}/pull/{self.number}.patch",
        }
        payload["comment"].update(id=made["id"], body=body)
        payload["comment"]["user"] = {**payload["comment"]["user"], "login": login}
        payload["repository"]["full_name"] = self.repo
        event = event_from_payload(payload)
        assert event is not None
        return event

    def handle(self, event: Any) -> Any:
        workspace = Workspace(self.tmp / "review", self.tmp / "cache")
        return asyncio.run(handle_comment(event, self.client, workspace, settle=0))

    def state(self) -> ReviewState:
        body = self.stub.pull_request(self.repo, self.number)["body"]
        return ReviewState.model_validate(read_state(body)[STATE_KEY])

    def replies(self) -> list[str]:
        return [
            c["body"]
            for c in self.stub.comments(self.repo, self.number)
            if c["user"]["login"] not in ("maintainer-mia", "writer-wes", "reader-rae")
            and STICKY_KEY not in c["body"]
        ]

    def sticky(self) -> str:
        [body] = [
            c["body"] for c in self.stub.comments(self.repo, self.number) if STICKY_KEY in c["body"]
        ]
        return body


@pytest.fixture
def github_stub(spec_stub: GitHubStub) -> GitHubStub:
    return spec_stub


@pytest.fixture
def pr(github_stub: Any, corpus_events: Path, tmp_path: Path) -> PR:
    return PR(github_stub, corpus_events, tmp_path)


def _ops(stub: Any) -> list[str]:
    return [r["operation"] for r in stub.requests()]


def test_a_comment_on_a_plain_issue_is_not_a_review_command(corpus_events: Path) -> None:
    """issue_comment.created.payload.json is a comment on an issue (no issue.pull_request)."""
    payload = json.loads((corpus_events / "issue_comment.created.payload.json").read_text())
    assert event_from_payload(payload) is None


def test_the_review_is_posted_when_an_icon_needs_clarification(pr: PR) -> None:
    state = pr.open(pr.analyse())
    review = state.diagrams[pr.path]
    assert review.status == "waiting_review"
    assert review.unclear == ["widget"] and review.pending == ["widget"]
    assert review.digest == __import__("hashlib").sha256(diagram()).hexdigest()
    sticky = pr.sticky()
    assert "waiting for review" in sticky
    assert "| `widget` | Contoso\\_Widget\\_Engine.svg | Widget API | ❓ |" in sticky
    assert pr.state().diagrams[pr.path].status == "waiting_review"


def test_a_reader_is_refused_and_nothing_runs(pr: PR) -> None:
    pr.open(pr.analyse())
    before = pr.stub.pull_request(pr.repo, pr.number)["body"]
    pr.stub._requests.clear()
    outcome = pr.handle(pr.comment("/forgeflow accept all", login="reader-rae"))
    assert outcome.refused and outcome.rerun == []
    ops = _ops(pr.stub)
    assert "repos/get-collaborator-permission-level" in ops
    assert "pulls/update" not in ops and "repos/get-content" not in ops
    assert "reactions/create-for-issue-comment" not in ops
    assert pr.stub.pull_request(pr.repo, pr.number)["body"] == before
    assert any("Only people with write" in r for r in pr.replies())


def test_a_stranger_who_is_no_collaborator_is_refused(pr: PR) -> None:
    pr.open(pr.analyse())
    outcome = pr.handle(pr.comment("/forgeflow accept all", login="drive-by-dan"))
    assert outcome.refused and "none" in outcome.refused


def test_a_malformed_command_gets_a_reply_naming_what_is_wrong(pr: PR) -> None:
    pr.open(pr.analyse())
    outcome = pr.handle(pr.comment("/forgeflow set widget colour=blue"))
    assert outcome.rerun == []
    [reply] = pr.replies()
    assert "unknown field 'colour'" in reply
    assert pr.stub.reactions()[-1]["content"] == "confused"


def test_set_reruns_from_the_review_stage_and_records_who(pr: PR) -> None:
    pr.open(pr.analyse())
    outcome = pr.handle(
        pr.comment('/forgeflow set widget type=Microsoft.ApiManagement/service name="Widgets"')
    )
    assert outcome.errors == [] and outcome.rerun == [pr.path]
    run = outcome.runs[pr.path]
    # resumed at the review stage: vision and filter were not run again
    assert run["from"] == "review stage"
    assert "vision" not in run["stages"] and "filter" not in run["stages"]
    assert "interactive" in run["stages"]
    review = pr.state().diagrams[pr.path]
    [rec] = review.decisions
    assert (rec.by, rec.decision.resource_type, rec.command.split()[1]) == (
        "maintainer-mia",
        "Microsoft.ApiManagement/service",
        "set",
    )
    assert rec.comment_id == outcome.handled[0]
    assert review.pending == [] and review.status == "waiting_review"  # the rest not accepted
    assert "set Microsoft.ApiManagement/service by maintainer-mia" in pr.sticky()
    assert [r["content"] for r in pr.stub.reactions()] == ["eyes", "+1"]


def test_a_review_too_large_to_keep_reruns_from_the_diagram_and_says_so(
    pr: PR, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents.synthforge.review import console

    monkeypatch.setattr(console, "MAX_EMBEDDED", 10)  # nothing fits in the PR body
    pr.open(pr.analyse())
    assert pr.state().diagrams[pr.path].classified is None
    outcome = pr.handle(pr.comment("/forgeflow set widget type=Microsoft.Web/sites"))
    assert outcome.errors == [] and outcome.runs[pr.path]["from"] == "diagram"
    assert "vision" in outcome.runs[pr.path]["stages"]
    [note] = [r for r in pr.replies() if "too large to keep" in r]
    assert "ran again from the diagram" in note


def test_after_a_push_the_next_command_still_resumes_at_the_review_stage(pr: PR) -> None:
    pr.open(pr.analyse())
    pr.push(diagram(widget_label="Widget API v2"))  # changed, no resource removed
    first = pr.handle(pr.comment("/forgeflow set widget type=Microsoft.Web/sites"))
    assert first.errors == [] and first.runs[pr.path]["from"] == "diagram"
    assert pr.state().diagrams[pr.path].classified is not None  # kept for the new diagram
    second = pr.handle(pr.comment("/forgeflow accept app"))
    assert second.errors == [] and second.runs[pr.path]["from"] == "review stage"
    assert not [r for r in pr.replies() if "too large to keep" in r]


def test_two_commands_posted_at_once_both_apply_in_order(pr: PR) -> None:
    pr.open(pr.analyse())
    first = pr.comment("/forgeflow set widget type=Microsoft.Web/sites")
    second = pr.comment("/forgeflow set widget type=Microsoft.ApiManagement/service", "writer-wes")
    # the run of the first comment was replaced in GitHub's concurrency queue: only the
    # second comment's run happens, and it handles both, oldest first
    outcome = pr.handle(second)
    assert outcome.handled == [first.comment_id, second.comment_id]
    [rec] = pr.state().diagrams[pr.path].decisions
    assert (rec.by, rec.decision.resource_type) == ("writer-wes", "Microsoft.ApiManagement/service")
    # the first one's own run, coming late, finds nothing new to do
    late = pr.handle(first)
    assert late.handled == []


def test_a_push_invalidates_exactly_the_decisions_of_resources_it_removed(pr: PR) -> None:
    pr.open(pr.analyse())
    pr.handle(
        pr.comment(
            '/forgeflow set kv name="Shop secrets"\n/forgeflow set widget type=Microsoft.Web/sites'
        )
    )
    pr.handle(pr.comment("/forgeflow accept app"))
    assert {r.decision.resource_id for r in pr.state().diagrams[pr.path].decisions} == {
        "kv",
        "widget",
        "app",
    }
    pr.push(diagram(with_vault=False))  # the push removes the Key Vault
    state = pr.open(pr.analyse("after-push"))
    review = state.diagrams[pr.path]
    assert {r.decision.resource_id for r in review.decisions} == {"widget", "app"}
    [gone] = review.invalidated
    assert gone.decision.resource_id == "kv" and "not in the changed diagram" in gone.reason
    assert "no longer applies" in pr.sticky()


def test_iac_waits_for_the_review_then_commits_the_modules(pr: PR, tmp_path: Path) -> None:
    pr.open(pr.analyse())
    early = pr.handle(pr.comment("/forgeflow iac"))
    assert early.iac == [] and "not reviewed yet" in early.errors[0]
    pr.handle(pr.comment("/forgeflow set widget type=Microsoft.Web/sites"))
    pr.handle(pr.comment("/forgeflow accept all", "writer-wes"))
    assert pr.state().diagrams[pr.path].status == "reviewed"
    outcome = pr.handle(pr.comment("/forgeflow iac terraform", "writer-wes"))
    [request] = outcome.iac
    assert request["requested_by"] == "writer-wes" and request["fork"] is False
    generated = generate(request, tmp_path / "iac", base=tmp_path / "review")
    assert generated.infra_path == "infra/shop"
    assert any(f.endswith(".tf") for f in generated.files)
    # a bare repository stands in for the pull request's branch
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "feature", str(bare)], check=True)
    seed = tmp_path / "seed"
    subprocess.run(["git", "clone", "-q", str(bare), str(seed)], check=True)
    (seed / "README.md").write_text("shop\n")
    env = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", *env, "-C", str(seed), "add", "."], check=True)
    subprocess.run(["git", *env, "-C", str(seed), "commit", "-qm", "init"], check=True)
    subprocess.run(["git", "-C", str(seed), "push", "-q", "origin", "HEAD:feature"], check=True)
    sha = commit_and_push(
        generated,
        remote=str(bare),
        branch="feature",
        expected_head=None,
        message="SynthForge: modules for docs/shop.drawio\n\nrequested by writer-wes\n",
        workdir=tmp_path / "push",
    )
    log = subprocess.run(
        ["git", "--git-dir", str(bare), "log", "--format=%H %s", "feature"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert log[0] == f"{sha} SynthForge: modules for docs/shop.drawio"
    files = subprocess.run(
        ["git", "--git-dir", str(bare), "ls-tree", "-r", "--name-only", "feature"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "README.md" in files and any(f.startswith("infra/shop/") for f in files)


def test_a_fork_gets_a_patch_and_no_push(
    github_stub: Any, corpus_events: Path, tmp_path: Path
) -> None:
    pr = PR(github_stub, corpus_events, tmp_path, fork=True)
    pr.open(pr.analyse())
    pr.handle(pr.comment("/forgeflow set widget type=Microsoft.Web/sites\n/forgeflow accept all"))
    outcome = pr.handle(pr.comment("/forgeflow iac bicep"))
    [request] = outcome.iac
    assert request["fork"] is True
    generated = generate(request, tmp_path / "iac", base=tmp_path / "review")
    text = patch(generated)
    assert "new file mode 100644" in text and "+++ b/infra/shop/" in text
    # the patch applies to an empty checkout
    work = tmp_path / "apply"
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    (work / "p.patch").write_text(text)
    subprocess.run(["git", "-C", str(work), "apply", "p.patch"], check=True)
    assert any((work / "infra" / "shop").rglob("*.bicep"))
    from click.testing import CliRunner

    from agents.synthforge.review.__main__ import main

    iac_dir = tmp_path / "iac-cli"
    iac_dir.mkdir()
    (iac_dir / "iac.json").write_text(
        json.dumps(
            [{**request, "folder": str(generated.folder), "infra_path": "infra/shop", "number": 1}]
        )
    )
    result = CliRunner().invoke(
        main,
        [
            "push",
            "--iac-dir",
            str(iac_dir),
            "--branch",
            "feature",
            "--remote",
            str(tmp_path / "nowhere.git"),
        ],
    )
    assert result.exit_code == 2 and "cannot be pushed" in result.output


def test_the_documented_command_list_is_the_one_help_replies_with() -> None:
    """docs/workflows.md quotes `/forgeflow help`'s reply; it must stay the code's."""
    from agents.synthforge.review.commands import HELP

    doc = (REPO / "docs" / "workflows.md").read_text(encoding="utf-8")
    quoted = "\n".join(("> " + line) if line else ">" for line in HELP.splitlines())
    assert quoted in doc


def test_a_diagram_with_nothing_to_clarify_opens_no_review(pr: PR) -> None:
    pr.push(
        diagram(with_vault=True).replace(
            b"other/Contoso_Widget_Engine.svg", b"app_services/App_Services.svg"
        )
    )
    folder = pr.analyse("clear")
    pr.stub._requests.clear()
    state = pr.open(folder)
    assert state.diagrams == {}
    ops = _ops(pr.stub)
    assert "repos/get-content" not in ops and "pulls/update" not in ops
    assert "issues/create-comment" not in ops


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        ([], "not a comment job's outcome"),
        ({"iac": "both"}, "not a comment job's outcome"),
        ({"iac": [{"path": "d.drawio"}]}, "iac entry 1 lacks analysis, run_id, requested_by, fork"),
        ({"iac": ["d.drawio"]}, "iac entry 1 lacks path, analysis"),
    ],
)
def test_a_bad_outcome_is_one_line_before_any_module_is_made(
    tmp_path: Path, outcome: Any, said: str
) -> None:
    from click.testing import CliRunner

    from agents.synthforge.review.__main__ import main

    (tmp_path / "outcome.json").write_text(json.dumps(outcome))
    work = tmp_path / "work"
    result = CliRunner().invoke(
        main,
        ["iac", "--outcome", str(tmp_path / "outcome.json"), "--workdir", str(work), "--pr", "1"],
    )
    assert result.exit_code == 2 and said in result.output, result.output
    assert result.output.count("\n") == 1 and not work.exists()
