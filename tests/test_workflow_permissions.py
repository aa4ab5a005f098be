"""GitHub's permission rule for reusable workflows, over every caller in this repository.

GitHub's documentation, "Reusing workflows"
(https://docs.github.com/en/actions/how-tos/reuse-automations/reuse-workflows): the
``GITHUB_TOKEN`` permissions passed from the caller can only be downgraded, not elevated,
by the called workflow; a called job asking for more fails the run at start-up. ``act``
does not model ``permissions``, so :mod:`permissions_model` computes the rule from the
files, and the permissions table in ``docs/workflows.md`` is checked against it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from permissions_model import (
    SCOPES,
    check_workflow,
    load,
    normalise,
    permissions_table,
    required,
)

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
CALLERS = [
    *WORKFLOWS,
    *sorted((REPO / "examples").glob("*.yml")),
    *sorted((REPO / "tests" / "act" / "workflows").glob("*.yml")),
]
REUSABLE = [p for p in WORKFLOWS if "workflow_call" in (load(p).get("on") or {})]
DOCS = REPO / "docs" / "workflows.md"
TABLE = re.compile(
    r"<!-- permissions-table: begin.*?-->\n(.*?)\n<!-- permissions-table: end -->", re.S
)


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_there_are_callers_of_every_reusable_workflow() -> None:
    """The check below is not vacuous: each reusable workflow has a caller here."""
    used = {
        Path(str(job["uses"]).split("@")[0]).name
        for path in CALLERS
        for job in (load(path).get("jobs") or {}).values()
        if "uses" in job
    }
    assert {p.name for p in REUSABLE} <= used


@pytest.mark.parametrize("path", CALLERS, ids=rel)
def test_no_called_job_asks_for_more_than_its_caller_grants(path: Path) -> None:
    violations = check_workflow(path, REPO)
    assert not violations, "\n".join(map(str, violations))


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / ".github/workflows").mkdir(parents=True, exist_ok=True)
    path = tmp_path / ".github/workflows/caller.yml"
    path.write_text(text)
    for called in REUSABLE:
        (tmp_path / ".github/workflows" / called.name).write_text(called.read_text())
    return path


CALLER = """\
name: caller
on: push
permissions: {top}
jobs:
  call:
{job}    uses: {uses}
    with:
      agent: echo
      input: x.json
      output-artifact: out
"""


@pytest.mark.parametrize(
    ("top", "job", "uses", "message"),
    [
        pytest.param(
            "{}",
            "    permissions:\n      contents: read\n",
            "./.github/workflows/agent-job.yml",
            "job 'run' asks for actions: read but is only allowed actions: none",
            id="job-grant-too-small",
        ),
        pytest.param(
            "{}",
            "",
            "./.github/workflows/agent-job.yml",
            "asks for contents: read but is only allowed contents: none",
            id="empty-top-level-grant",
        ),
        pytest.param(
            "read-all",
            "",
            "octo/forgeflow/.github/workflows/event-chain.yml@" + "a" * 40,
            "job 'dispatch' asks for contents: write but is only allowed contents: read",
            id="remote-form-read-all",
        ),
        pytest.param(
            "\n  contents: read\n  packages: read",
            "",
            "./.github/workflows/agent-job.yml",
            "asks for actions: read but is only allowed actions: none",
            id="top-level-grant",
        ),
    ],
)
def test_the_model_finds_a_caller_that_grants_too_little(
    tmp_path: Path, top: str, job: str, uses: str, message: str
) -> None:
    """Callers a real run would refuse at start-up: the model names job and scope."""
    path = write(tmp_path, CALLER.format(top=top, job=job, uses=uses))
    found = [str(v) for v in check_workflow(path, tmp_path)]
    assert any(message in v for v in found), found


def test_the_model_accepts_a_caller_that_grants_exactly_enough(tmp_path: Path) -> None:
    job = "    permissions:\n      contents: read\n      actions: read\n"
    path = write(
        tmp_path, CALLER.format(top="{}", job=job, uses="./.github/workflows/agent-job.yml")
    )
    assert check_workflow(path, tmp_path) == []


def test_no_permissions_anywhere_means_the_restricted_default(tmp_path: Path) -> None:
    """Neither the caller's job nor its workflow says: contents and packages read only."""
    text = CALLER.format(top="{}", job="", uses="./.github/workflows/event-chain.yml")
    path = write(tmp_path, text.replace("permissions: {}\n", ""))
    found = {(v.job, v.scope) for v in check_workflow(path, tmp_path)}
    assert found == {("run", "actions"), ("dispatch", "contents")}


def test_permission_values_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown permission"):
        normalise({"contents": "admin"}, "x")
    assert normalise("write-all", "x") == dict.fromkeys(SCOPES, "write")


def test_docs_table_is_the_one_the_workflow_files_give() -> None:
    """docs/workflows.md holds the table :func:`permissions_table` makes from the files."""
    match = TABLE.search(DOCS.read_text(encoding="utf-8"))
    assert match, "docs/workflows.md has no permissions-table markers"
    expected = permissions_table(REUSABLE, REPO)
    assert match.group(1).strip() == expected, (
        "docs/workflows.md's permissions table is out of date; it should read:\n" + expected
    )


def test_table_lists_what_each_reusable_workflow_needs() -> None:
    """Spot checks against the files, so the table is not merely self-consistent."""
    agent = required(REPO / ".github/workflows/agent-job.yml", REPO)
    chain = required(REPO / ".github/workflows/event-chain.yml", REPO)
    assert (agent["contents"], agent["actions"]) == ("read", "read")
    assert (chain["contents"], chain["actions"]) == ("write", "read")
    assert required(REPO / ".github/workflows/pipeline-job.yml", REPO)["actions"] == "none"
