"""``python -m orchestration run``: declarative pipelines, resumability and their errors."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
from pathlib import Path

import pytest
from cli_helpers import assert_user_error, make_plugin, run_cli

STEPS_SOURCE = textwrap.dedent('''
    import os, signal
    from pathlib import Path
    from pydantic import BaseModel
    from agents import Agent
    from agents.builtin import TextInput, TextOutput

    def _count(name):
        log = os.environ.get("STEP_LOG")
        if log:
            with open(log, "a") as fh:
                fh.write(name + "\\n")

    class StepA(Agent[TextInput, TextOutput]):
        name = "step_a"
        input_model = TextInput
        output_model = TextOutput
        async def process(self, data):
            _count("step_a")
            return TextOutput(text=data.text + " a")

    class Killer(Agent[TextInput, TextOutput]):
        """Kills its own process with SIGKILL the first time (while KILL_ONCE is absent)."""
        name = "killer"
        input_model = TextInput
        output_model = TextOutput
        async def process(self, data):
            _count("killer")
            marker = Path(os.environ["KILL_ONCE"])
            if not marker.exists():
                marker.write_text("killed")
                os.kill(os.getpid(), signal.SIGKILL)
            return TextOutput(text=data.text + " k")

    class Failing(Agent[TextInput, TextOutput]):
        name = "failing"
        input_model = TextInput
        output_model = TextOutput
        async def process(self, data):
            raise RuntimeError("the disk is lava")

    class BadSetup(Agent[TextInput, TextOutput]):
        name = "bad_setup"
        input_model = TextInput
        output_model = TextOutput
        async def setup(self):
            raise OSError("model weights missing")
        async def process(self, data):
            return TextOutput(text=data.text)

    class NumberIn(BaseModel):
        n: int

    class NeedsNumber(Agent[NumberIn, TextOutput]):
        name = "needs_number"
        input_model = NumberIn
        output_model = TextOutput
        async def process(self, data):
            return TextOutput(text=str(data.n))

    class StepC(Agent[TextInput, TextOutput]):
        name = "step_c"
        input_model = TextInput
        output_model = TextOutput
        async def process(self, data):
            _count("step_c")
            return TextOutput(text=data.text + " c")
''')

STEP_AGENTS = {
    "step_a": "steps_pkg:StepA",
    "killer": "steps_pkg:Killer",
    "step_c": "steps_pkg:StepC",
    "failing": "steps_pkg:Failing",
    "needs_number": "steps_pkg:NeedsNumber",
    "bad_setup": "steps_pkg:BadSetup",
}


@pytest.fixture
def plugin_env(tmp_path: Path) -> dict[str, str]:
    site = make_plugin(tmp_path / "site", "steps_pkg", STEPS_SOURCE, STEP_AGENTS)
    return {
        "PYTHONPATH": str(site),
        "STEP_LOG": str(tmp_path / "steps.log"),
        "KILL_ONCE": str(tmp_path / "killed"),
    }


def pipeline(tmp_path: Path, body: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


CHAIN = """
    name: chain
    stages:
      - agent: step_a
      - agent: killer
      - agent: word_count
"""


def run_on_text(
    tmp_path: Path, spec: Path, *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``orchestration run SPEC`` in ``tmp_path`` on the input ``{"text": "x"}``, plus ``args``."""
    src = tmp_path / "in.json"
    src.write_text('{"text": "x"}')
    return run_cli("-m", "orchestration", "run", spec, "--input", src, *args, cwd=tmp_path, env=env)


def final_data(out: Path) -> dict[str, object]:
    return json.loads((out / "output.json").read_text())["data"]


@pytest.mark.parametrize("state", ["dir", "sqlite"])
def test_run_killed_with_sigkill_resumes_to_the_same_outputs(
    tmp_path: Path, plugin_env: dict[str, str], state: str
) -> None:
    spec = pipeline(tmp_path, CHAIN)
    src = tmp_path / "in.json"
    src.write_text('{"text": "go"}')
    url = str(tmp_path / "state") if state == "dir" else f"sqlite:///{tmp_path}/state.db"
    log = Path(plugin_env["STEP_LOG"])

    args = ("-m", "orchestration", "run", spec, "--input", src, "--state", url)
    killed = run_cli(*args, "--run-id", "r1", "--out", tmp_path / "r1", env=plugin_env)
    assert killed.returncode == -signal.SIGKILL
    assert log.read_text().split() == ["step_a", "killer"]
    assert not (tmp_path / "r1" / "output.json").exists()

    resumed = run_cli(*args, "--run-id", "r1", "--out", tmp_path / "r1", env=plugin_env)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 resumed" in resumed.stdout
    # step_a finished before the kill and was not run again
    assert log.read_text().split() == ["step_a", "killer", "killer"]

    fresh = run_cli(*args, "--run-id", "r2", "--out", tmp_path / "r2", env=plugin_env)
    assert fresh.returncode == 0, fresh.stderr
    assert final_data(tmp_path / "r1") == final_data(tmp_path / "r2")
    assert final_data(tmp_path / "r1")["text"] == "go a k"
    for stage in ("step_a.json", "killer.json", "word_count.json"):
        a = json.loads((tmp_path / "r1" / stage).read_text())
        b = json.loads((tmp_path / "r2" / stage).read_text())
        assert a["data"] == b["data"] and a["input_digest"] == b["input_digest"]


def test_rerun_with_changed_input_runs_the_stages_again(
    tmp_path: Path, plugin_env: dict[str, str]
) -> None:
    (tmp_path / "killed").write_text("no kill")
    spec = pipeline(tmp_path, CHAIN)
    src = tmp_path / "in.json"
    state = str(tmp_path / "state")
    src.write_text('{"text": "one"}')
    args = ("-m", "orchestration", "run", spec, "--input", src, "--state", state, "--run-id", "r")
    assert run_cli(*args, env=plugin_env, cwd=tmp_path).returncode == 0
    again = run_cli(*args, env=plugin_env, cwd=tmp_path)
    assert "3 resumed" in again.stdout
    src.write_text('{"text": "two words"}')
    changed = run_cli(*args, env=plugin_env, cwd=tmp_path)
    assert "0 resumed" in changed.stdout
    assert (
        json.loads((tmp_path / ".forgeflow/runs/r/output.json").read_text())["data"]["words"] == 4
    )


def test_run_prints_where_artifacts_and_summary_are(tmp_path: Path) -> None:
    spec = pipeline(
        tmp_path,
        """
        name: text
        stages:
          - agent: uppercase
          - agent: word_count
    """,
    )
    src = tmp_path / "in.json"
    src.write_text('{"text": "a b c"}')
    proc = run_cli(
        "-m", "orchestration", "run", spec, "--input", src, "--run-id", "t1", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "run t1: succeeded (2 stages, 0 resumed)" in proc.stdout
    out = tmp_path / ".forgeflow" / "runs" / "t1"
    assert f"summary:   {Path('.forgeflow/runs/t1/summary.md')}" in proc.stdout
    summary = (out / "summary.md").read_text()
    assert "uppercase" in summary and "mermaid" in summary
    assert final_data(out)["text"] == "A B C"
    check = run_cli("-m", "orchestration", "validate", *sorted(out.glob("*.json")))
    assert check.returncode == 0, check.stderr


def test_failing_stage_exits_1_and_records_the_failure(
    tmp_path: Path, plugin_env: dict[str, str]
) -> None:
    spec = pipeline(
        tmp_path,
        """
        name: broken
        stages:
          - agent: echo
          - agent: failing
          - agent: word_count
    """,
    )
    proc = run_on_text(tmp_path, spec, "--run-id", "b", env=plugin_env)
    assert proc.returncode == 1
    assert "failed at stage 'failing'" in proc.stdout
    assert "RuntimeError: the disk is lava" in proc.stderr
    out = tmp_path / ".forgeflow" / "runs" / "b"
    failed = json.loads((out / "failing.json").read_text())
    assert failed["status"] == "failed" and failed["error"] == "RuntimeError: the disk is lava"
    assert not (out / "word_count.json").exists() and not (out / "output.json").exists()


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        pytest.param(
            """
            name: p
            stages:
              - agent: echo
              - teleport: somewhere
         """,
            ["p.yaml", "$.stages[1]", "unknown stage kind ('teleport')"],
            id="unknown-stage-kind",
        ),
        pytest.param(
            """
            name: p
            stages:
              - agent: word_count
              - agent: needs_number
         """,
            ["p.yaml", "stage 2 'needs_number'", "NumberIn", "WordCount"],
            id="type-mismatch",
        ),
        pytest.param(
            """
            name: p
            stages:
              - agent: echo
              - agent: nobody
         """,
            ["p.yaml", "stage 2", "unknown agent 'nobody'"],
            id="unknown-agent",
        ),
        pytest.param("name: p\nstages: [\n", ["p.yaml", "not valid YAML"], id="bad-yaml"),
    ],
)
def test_bad_pipeline_file_is_one_line_exit_2(
    tmp_path: Path, plugin_env: dict[str, str], body: str, needles: list[str]
) -> None:
    spec = pipeline(tmp_path, body)
    proc = run_on_text(tmp_path, spec, env=plugin_env)
    assert_user_error(proc, *needles)
    assert not (tmp_path / ".forgeflow" / "runs").exists()


def test_unreachable_database_url_is_one_line_exit_2(tmp_path: Path) -> None:
    spec = pipeline(tmp_path, "name: p\nstages:\n  - agent: echo\n")
    url = "postgresql://forgeflow:s3cret@127.0.0.1:9/nowhere"
    proc = run_on_text(tmp_path, spec, "--state", url)
    line = assert_user_error(proc, "127.0.0.1:9")
    assert "s3cret" not in line
    assert not (tmp_path / ".forgeflow" / "runs").exists()


def test_agent_whose_setup_fails_is_a_failed_stage(
    tmp_path: Path, plugin_env: dict[str, str]
) -> None:
    spec = pipeline(tmp_path, "name: p\nstages:\n  - agent: echo\n  - agent: bad_setup\n")
    proc = run_on_text(tmp_path, spec, "--run-id", "s", env=plugin_env)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "set-up of agent 'bad_setup' failed: OSError: model weights missing" in proc.stderr
    failed = json.loads((tmp_path / ".forgeflow/runs/s/bad_setup.json").read_text())
    assert failed["status"] == "failed"


def test_user_error_in_a_stage_is_one_line_exit_2(tmp_path: Path) -> None:
    """interactive without a terminal, a decisions file or yes: a user error, not a crash."""
    example = Path(__file__).resolve().parent.parent / "examples" / "diagrams" / "webapp.drawio"
    proc = run_cli(
        "-m",
        "orchestration",
        "run",
        Path(__file__).resolve().parent.parent / "pipelines" / "synthforge.yaml",
        "--input",
        example,
        cwd=tmp_path,
        input_text="",
    )
    assert_user_error(proc, "interactive review needs a terminal")
    assert not (tmp_path / ".forgeflow" / "runs").exists()
