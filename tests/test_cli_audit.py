"""Hostile input to every command-line entry point, as a demanding user would give it.

Each case is a problem found by using the commands: bad input must end in one line on
stderr naming the thing and what is wrong, exit code 2, no traceback and nothing
half-written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_helpers import REPO, assert_user_error, make_plugin, run_cli

DEEP = "[" * 100_000 + "]" * 100_000


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- JSON input


def _json_commands(src: Path, out: Path) -> list[tuple[str, ...]]:
    return [
        ("-m", "agents.run", "echo", str(src), "-o", str(out)),
        ("-m", "orchestration", "validate", str(src)),
        ("-m", "orchestration", "emit-matrix", "--agents-file", str(src)),
        (
            "-m",
            "orchestration",
            "dispatch",
            "--event-type",
            "e",
            "--correlation-id",
            "c",
            "--dry-run",
            "--payload-file",
            str(src),
        ),
    ]


@pytest.mark.parametrize(
    "which", range(4), ids=["agents.run", "validate", "emit-matrix", "dispatch"]
)
@pytest.mark.parametrize(
    ("text", "needle"),
    [
        pytest.param(DEEP, "nested too deeply", id="deeply-nested"),
        pytest.param('{"text": NaN}', "NaN is not JSON", id="nan"),
        pytest.param('{"text": "x", "n": -Infinity}', "-Infinity is not JSON", id="infinity"),
    ],
)
def test_json_that_python_accepts_but_json_does_not_is_one_line(
    tmp_path: Path, which: int, text: str, needle: str
) -> None:
    """Deep nesting crashed the parser with a RecursionError traceback; NaN/Infinity were
    accepted and written back out as invalid JSON (or null in a float field)."""
    src = write(tmp_path / "in.json", text)
    out = tmp_path / "out.json"
    proc = run_cli(*_json_commands(src, out)[which], env={"GITHUB_OUTPUT": str(tmp_path / "o")})
    assert_user_error(proc, "in.json", needle)
    assert not out.exists()


# --------------------------------------------------------------------------- output files


def test_combine_results_output_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    """``-o FOLDER`` crashed in the rename with a traceback and left a temporary file in
    the folder's parent."""
    legs = tmp_path / "legs"
    src = write(tmp_path / "in.json", json.dumps({"text": "a b"}))
    assert run_cli("-m", "agents.run", "echo", src, "-o", legs / "echo.json").returncode == 0
    target = tmp_path / "out"
    target.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = run_cli("-m", "orchestration.combine_results", legs, "-o", target)
    assert_user_error(proc, str(target), "folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert list(target.iterdir()) == []


def test_artifacts_are_readable_like_any_file_the_user_writes(tmp_path: Path) -> None:
    """Artifacts came out mode 0600 (the temporary file's), so another account or a
    container user could not read what a job wrote; they now follow the umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    src = write(tmp_path / "in.json", json.dumps({"text": "a b"}))
    out = tmp_path / "echo.json"
    assert run_cli("-m", "agents.run", "echo", src, "-o", out).returncode == 0
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


# --------------------------------------------------------------------------- pipeline runs

ECHO_PIPELINE = "name: t\nstages:\n  - agent: echo\n  - agent: word_count\n"


def _pipeline(tmp_path: Path, text: str = ECHO_PIPELINE) -> tuple[Path, Path]:
    return (
        write(tmp_path / "p.yaml", text),
        write(tmp_path / "in.json", json.dumps({"text": "a b c"})),
    )


@pytest.mark.parametrize(
    ("out", "needle"),
    [
        pytest.param("afile/sub", "afile", id="file-where-a-folder-should-be"),
        pytest.param("afile/sub/deeper", "afile", id="file-further-up"),
    ],
)
def test_run_out_folder_that_cannot_be_made_fails_before_anything_runs(
    tmp_path: Path, out: str, needle: str
) -> None:
    """``--out`` below a file ran the whole pipeline and then crashed with a
    NotADirectoryError traceback."""
    pipeline, src = _pipeline(tmp_path)
    write(tmp_path / "afile", "not a folder")
    state = tmp_path / "state"
    proc = run_cli(
        "-m", "orchestration", "run", pipeline, "--input", src, "--state", state,
        "--out", tmp_path / out,
    )  # fmt: skip
    assert_user_error(proc, needle, "--out")
    assert not state.exists()


@pytest.mark.parametrize(
    "state", [pytest.param("state", id="folder"), pytest.param("sqlite:///s.db", id="sqlite")]
)
def test_run_id_too_long_for_a_folder_name_is_one_line(tmp_path: Path, state: str) -> None:
    """A 300-character run id with a SQLite state ran the pipeline, then crashed creating
    the run's artifact folder (File name too long)."""
    pipeline, src = _pipeline(tmp_path)
    proc = run_cli(
        "-m", "orchestration", "run", pipeline, "--input", src, "--state", state,
        "--run-id", "x" * 300, cwd=tmp_path,
    )  # fmt: skip
    assert_user_error(proc, "run id", "128")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json", "p.yaml"]


LOOP_AFTER_ECHO = """name: t
stages:
  - agent: echo
  - loop:
      name: check
      generator: uppercase
      validator: word_count
"""
LOOP_WRONG_FIXER = """name: t
stages:
  - loop:
      name: iac
      generator: module_development
      validator: code_quality
      fixer: echo
"""


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        pytest.param(LOOP_AFTER_ECHO, "validator 'word_count'", id="validator-not-a-report"),
        pytest.param(LOOP_WRONG_FIXER, "fixer 'echo'", id="fixer-returns-wrong-type"),
    ],
)
def test_loop_types_are_checked_before_anything_runs(
    tmp_path: Path, text: str, needle: str
) -> None:
    """A loop whose validator or fixer had the wrong types was only rejected when the run
    reached it, after every earlier stage had run, and the error did not name the file."""
    pipeline, src = _pipeline(tmp_path, text)
    state = tmp_path / "state"
    proc = run_cli("-m", "orchestration", "run", pipeline, "--input", src, "--state", state)
    assert_user_error(proc, "p.yaml", "stage", needle)
    assert not state.exists()


@pytest.mark.parametrize(
    ("stage", "needle"),
    [
        pytest.param(
            "  - loop:\n      generator: echo\n      validator: echo\n      max_iterations: 0\n",
            "$.stages[0].loop.max_iterations: Input should be greater than or equal to 1",
            id="loop-max-iterations",
        ),
        pytest.param(
            "  - parallel:\n      branches: [echo]\n      combiner: echo\n"
            "      max_concurrency: 0\n",
            "$.stages[0].parallel.max_concurrency: Input should be greater than or equal to 1",
            id="parallel-max-concurrency",
        ),
        pytest.param(
            "  - parallel:\n      branches: [echo]\n",
            "$.stages[0].parallel.combiner: Field required",
            id="parallel-without-combiner",
        ),
        pytest.param(
            "  - agent: echo\n    settings: [a]\n",
            "$.stages[0].settings: Input should be a valid dictionary",
            id="agent-settings-not-a-mapping",
        ),
    ],
)
def test_pipeline_file_errors_point_at_the_stage_kind_written(
    tmp_path: Path, stage: str, needle: str
) -> None:
    """A mistake inside a parallel group or loop was reported as
    '$.stages[0].agent: Field required', as if an agent stage had been meant."""
    pipeline, src = _pipeline(tmp_path, "name: t\nstages:\n" + stage)
    proc = run_cli("-m", "orchestration", "run", pipeline, "--input", src, "--state", "s")
    assert_user_error(proc, "p.yaml", needle)


def test_set_for_an_agent_the_pipeline_does_not_run_is_refused(tmp_path: Path) -> None:
    """``--set wordcount.x=1`` (a typo of word_count) was silently ignored: the run went
    ahead without the setting the user asked for."""
    pipeline, src = _pipeline(tmp_path)
    state = tmp_path / "state"
    proc = run_cli(
        "-m", "orchestration", "run", pipeline, "--input", src, "--state", state,
        "--set", "wordcount.x=1",
    )  # fmt: skip
    assert_user_error(proc, "--set wordcount.x", "echo, word_count")
    assert not state.exists()


# --------------------------------------------------------------------------- Ctrl-C

SLOW_SOURCE = textwrap.dedent("""
    import asyncio, os
    from pathlib import Path
    from agents import Agent
    from agents.builtin import TextInput, TextOutput

    class SlowAgent(Agent[TextInput, TextOutput]):
        name = "slow"
        input_model = TextInput
        output_model = TextOutput

        async def process(self, data):
            flag = Path(os.environ["SLOW_FLAG"])
            if flag.exists():
                flag.with_suffix(".started").write_text("started")
                await asyncio.sleep(600)
            return TextOutput(text=data.text)
""")


def _interrupt(args: list[str | Path], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Start ``python ARGS`` with the slow agent installed, press Ctrl-C once the agent
    is busy, and return the finished process."""
    plugin = make_plugin(tmp_path / "site", "slow_pkg", SLOW_SOURCE, {"slow": "slow_pkg:SlowAgent"})
    flag = tmp_path / "slow.flag"
    flag.write_text("sleep")
    env = {**os.environ, "SLOW_FLAG": str(flag)}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(plugin)])
    proc = subprocess.Popen(
        [sys.executable, *map(str, args)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    started = flag.with_suffix(".started")
    deadline = time.monotonic() + 60
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), proc.communicate(timeout=60)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    flag.unlink()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_on_agents_run_exits_130_and_writes_nothing(tmp_path: Path) -> None:
    """Ctrl-C printed click's 'Aborted!' and exited 1, the code of a failed agent run
    (whose failed artifact a workflow then looks for in vain)."""
    src = write(tmp_path / "in.json", json.dumps({"text": "a"}))
    out = tmp_path / "slow.json"
    proc = _interrupt(["-m", "agents.run", "slow", src, "-o", out], tmp_path)
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == ["error: interrupted"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json", "site", "slow.started"]


def test_ctrl_c_on_a_pipeline_run_says_how_to_resume_and_the_rerun_resumes(
    tmp_path: Path,
) -> None:
    """Ctrl-C exited 1 with 'Aborted!' and no run id: a run started without --run-id could
    not be resumed, as its id was only printed at the end."""
    pipeline, src = _pipeline(tmp_path, "name: t\nstages:\n  - agent: echo\n  - agent: slow\n")
    state = tmp_path / "state"
    args = ["-m", "orchestration", "run", pipeline, "--input", src, "--state", state]
    proc = _interrupt(args, tmp_path)
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: interrupted; rerun with --run-id ")
    run_id = lines[0].split("--run-id ")[1].split()[0]
    assert not (tmp_path / ".forgeflow").exists()  # no half-written run folder
    plugin = tmp_path / "site"
    rerun = run_cli(
        *args, "--run-id", run_id, cwd=tmp_path,
        env={"PYTHONPATH": str(plugin), "SLOW_FLAG": str(tmp_path / "slow.flag")},
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert f"run {run_id}: succeeded (2 stages, 1 resumed)" in rerun.stdout


# --------------------------------------------------------------------------- environment


@pytest.mark.parametrize(
    "command",
    [pytest.param("agents.run", id="agents.run"), pytest.param("orchestration", id="validate")],
)
@pytest.mark.parametrize(
    ("env", "needle"),
    [
        pytest.param({"FORGEFLOW_LOG_LEVEL": "loud"}, "FORGEFLOW_LOG_LEVEL", id="bad-level"),
        pytest.param({"FORGEFLOW_LOG_FORMAT": "xml"}, "FORGEFLOW_LOG_FORMAT", id="bad-format"),
    ],
)
def test_bad_logging_environment_is_named(
    tmp_path: Path, command: str, env: dict[str, str], needle: str
) -> None:
    """agents.run reported "log level 'loud': unknown" without naming the variable to fix;
    an unknown FORGEFLOW_LOG_FORMAT was silently taken as text."""
    src = write(tmp_path / "in.json", json.dumps({"text": "a"}))
    args = (
        ("-m", "agents.run", "echo", src, "-o", tmp_path / "o.json")
        if command == "agents.run"
        else ("-m", "orchestration", "validate", src)
    )
    assert_user_error(run_cli(*args, env=env), needle)
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("FORGEFLOW_LOG_LEVEL", id="level"),
        pytest.param("FORGEFLOW_LOG_FORMAT", id="format"),
    ],
)
def test_empty_logging_variables_mean_the_default(tmp_path: Path, name: str) -> None:
    """``FORGEFLOW_LOG_LEVEL=`` (as a workflow's empty input gives) was an error; an empty
    variable means unset, as for the model variables."""
    src = write(tmp_path / "in.json", json.dumps({"text": "a"}))
    proc = run_cli("-m", "agents.run", "echo", src, "-o", tmp_path / "o.json", env={name: ""})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


# --------------------------------------------------------------------------- schemas


def test_schemas_out_keeps_json_files_it_did_not_generate(tmp_path: Path) -> None:
    """``schemas --out FOLDER`` deleted every *.json in FOLDER it would not write (a
    package.json, a settings file), not only schemas it had generated before."""
    mine = write(tmp_path / "package.json", '{"name": "mine"}')
    stale = write(tmp_path / "Gone.json", json.dumps({"$id": "forgeflow/Gone"}))
    proc = run_cli("-m", "orchestration", "schemas", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert mine.read_text() == '{"name": "mine"}'
    assert not stale.exists()
    assert (tmp_path / "Envelope.json").exists()


def test_schemas_out_below_a_file_is_one_line(tmp_path: Path) -> None:
    """``schemas --out FILE/sub`` crashed with a NotADirectoryError traceback."""
    write(tmp_path / "afile", "x")
    proc = run_cli("-m", "orchestration", "schemas", "--out", tmp_path / "afile" / "sub")
    assert_user_error(proc, "afile")


# --------------------------------------------------------------------------- wrong input


def test_an_artifact_of_the_wrong_kind_is_named_as_such(tmp_path: Path) -> None:
    """A word count artifact given to ``security`` was reported only as a missing field
    ("$.data.review: Field required"), not as the wrong kind of artifact it is."""
    src = write(tmp_path / "in.json", json.dumps({"text": "a b"}))
    count = tmp_path / "count.json"
    assert run_cli("-m", "agents.run", "word_count", src, "-o", count).returncode == 0
    proc = run_cli("-m", "agents.run", "security", count, "-o", tmp_path / "s.json")
    assert_user_error(
        proc, "count.json", "expected ReviewedArchitecture", "a WordCount artifact of 'word_count'"
    )
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize(
    "value", [pytest.param("abc", id="not-a-number"), pytest.param("-5", id="negative")]
)
def test_code_quality_bad_checkov_timeout_is_a_user_error(tmp_path: Path, value: str) -> None:
    """``--set checkov_timeout=abc`` made the agent 'fail' (exit 1, a ValueError in a
    failed artifact) instead of a one-line user error."""
    modules = write(
        tmp_path / "m.json",
        json.dumps(
            {
                "source": "d.drawio",
                "iac": "terraform",
                "files": [{"path": "main.tf", "language": "terraform", "content": ""}],
            }
        ),
    )
    out = tmp_path / "q.json"
    proc = run_cli(
        "-m", "agents.run", "code_quality", modules, "-o", out,
        "--set", f"checkov_timeout={value}", "--set", f"checkov={sys.executable}",
    )  # fmt: skip
    assert_user_error(proc, f"checkov_timeout={value}", "seconds")
    assert not out.exists()


def test_agents_run_output_with_a_trailing_slash_is_not_written_as_a_file(
    tmp_path: Path,
) -> None:
    """``-o newdir/`` wrote the artifact as a file named ``newdir``."""
    src = write(tmp_path / "in.json", json.dumps({"text": "a"}))
    proc = run_cli("-m", "agents.run", "echo", src, "-o", f"{tmp_path / 'newdir'}/")
    assert_user_error(proc, "newdir/", "file path")
    assert not (tmp_path / "newdir").exists()
