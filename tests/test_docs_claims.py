"""Figures the README and docs/workflows.md state, checked against the code and the data."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import assert_user_error, run_cli
from conftest import require_corpus
from github_stub import GitHubStub, Spec

from agents.synthforge.iac.code_quality import ParserMissingError, syntax_issue
from agents.synthforge.iac.models import GeneratedFile

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
WORKFLOWS_DOC = (REPO / "docs" / "workflows.md").read_text(encoding="utf-8")


def test_icon_map_counts_in_the_readme_are_the_shipped_ones() -> None:
    """The filter section names how many icon keys the shipped map holds, per cloud."""
    found = re.search(r"(\d+) icon keys \((\d+) Azure, (\d+) AWS\)", README)
    assert found, "the README no longer states the icon map's size"
    data = json.loads((REPO / "agents/synthforge/data/icon_map.json").read_text())
    types = [entry["resource_type"] for entry in data["resources"].values()]
    aws = sum(1 for t in types if t.startswith("AWS::"))
    assert tuple(map(int, found.groups())) == (len(types), len(types) - aws, aws)
    assert all(entry.get("source") for entry in data["resources"].values())


def test_documented_agents_are_the_registered_ones() -> None:
    """The README's list of built-in agents is what ``python -m agents.run --list`` shows."""
    proc = run_cli("-m", "agents.run", "--list")
    assert proc.returncode == 0, proc.stderr
    listed = {line.split("\t")[0] for line in proc.stdout.splitlines() if line.strip()}
    section = README.split("Built-in agents (`--list`):", 1)[1].split("\n\n", 1)[0]
    assert set(re.findall(r"`([a-z_]+)`", section)) == listed


# --------------------------------------------------------------------------- PR run cost


@pytest.fixture
def stub() -> Iterator[GitHubStub]:
    """The GitHub REST stand-in on 127.0.0.1, answering GitHub's own operation schemas
    (``github-rest/SOURCES.md``)."""
    with GitHubStub(Spec(require_corpus("github-rest") / "operations.json")) as server:
        yield server


def test_report_job_makes_the_documented_rest_calls(
    stub: GitHubStub, corpus_events: Path, tmp_path: Path
) -> None:
    """The two API steps of ``synthforge-pr.yml``'s report job, run as that job runs them,
    on the real ``pull_request/opened`` payload (``events/SOURCES.md``): 5 REST calls on
    the first run (the comment is created) and 5 on the next (it is updated).
    """
    event = corpus_events / "pull_request.opened.payload.json"
    repo, _ = stub.seed_pull_request(json.loads(event.read_text(encoding="utf-8")))
    env = {
        "GITHUB_TOKEN": "test-token",
        "GITHUB_REPOSITORY": repo,
        "GITHUB_API_URL": stub.url,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_EVENT_NAME": "pull_request",
    }
    state, report = tmp_path / "state.json", tmp_path / "report.md"
    seen: list[list[str]] = []
    for attempt in (1, 2):
        state.write_text(json.dumps({"attempt": attempt}))
        report.write_text(f"# report {attempt}\n")
        before = len(stub.requests())
        for args in (
            ("pr-state", "set", "synthforge", "--value-file", state),
            ("sticky-comment", "--key", "synthforge-report", "--body-file", report),
        ):
            proc = run_cli("-m", "orchestration", *args, env=env)
            assert proc.returncode == 0, proc.stderr
        seen.append([r["method"] for r in stub.requests()[before:]])
    assert seen == [
        ["GET", "PATCH", "GET", "GET", "POST"],
        ["GET", "PATCH", "GET", "GET", "PATCH"],
    ]
    stated = re.search(r"\*\*(\d+)\s+GitHub REST API calls\*\*", README)
    assert stated and int(stated.group(1)) == 5
    assert "| GitHub REST API calls | **5**, whatever N:" in WORKFLOWS_DOC


# --------------------------------------------------------------------------- IaC parsers


@pytest.mark.parametrize(
    ("module", "path", "package"),
    [
        pytest.param("hcl2", "terraform/main.tf", "python-hcl2", id="terraform"),
        pytest.param("pycep", "bicep/main.bicep", "pycep-parser", id="bicep"),
    ],
)
def test_missing_parser_is_named_not_reported_as_syntax_errors(
    monkeypatch: pytest.MonkeyPatch, module: str, path: str, package: str
) -> None:
    """Without the ``iac`` extra, code_quality says what to install instead of listing
    every generated file as a syntax error."""
    from agents.synthforge.iac import code_quality

    monkeypatch.setitem(sys.modules, module, None)
    code_quality._bicep_parser.cache_clear()
    language = "terraform" if path.endswith(".tf") else "bicep"
    with pytest.raises(ParserMissingError) as caught:
        syntax_issue(GeneratedFile(path=path, content="x = 1\n", language=language))
    code_quality._bicep_parser.cache_clear()
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and package in message
    assert "forgeflow[iac]" in message and "\n" not in message


def test_missing_parser_through_the_cli_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """``python -m agents.run code_quality`` without python-hcl2: exit 2, one line."""
    modules = {
        "source": "webapp.drawio",
        "iac": "terraform",
        "files": [{"path": "main.tf", "content": "locals {}\n", "language": "terraform"}],
    }
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    script = (
        "import sys, runpy; sys.modules['hcl2'] = None; "
        "sys.argv = ['agents.run', 'code_quality', 'modules.json', '-o', 'out.json']; "
        "runpy.run_module('agents.run', run_name='__main__')"
    )
    proc = run_cli("-c", script, cwd=tmp_path)
    assert_user_error(proc, "main.tf", "python-hcl2", "forgeflow[iac]")
    assert not (tmp_path / "out.json").exists()


def test_the_documented_limit_of_a_review_kept_in_the_pr_body_is_the_code_s() -> None:
    from agents.synthforge.review.console import MAX_EMBEDDED

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"over {MAX_EMBEDDED:,} characters\ncompressed" in readme
