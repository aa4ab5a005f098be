"""``python -m agents.run``: one agent, one typed artifact in, one out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import assert_user_error, run_cli


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_runs_an_agent_on_bare_json_and_writes_an_artifact(tmp_path: Path) -> None:
    src = write(tmp_path / "in.json", json.dumps({"text": "three small words"}))
    out = tmp_path / "out" / "count.json"
    proc = run_cli("-m", "agents.run", "word_count", src, "-o", out, "--run-id", "r1")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["schema_id"] == "forgeflow/WordCount"
    assert doc["status"] == "succeeded"
    assert doc["run_id"] == "r1"
    assert doc["data"]["words"] == 3
    assert doc["input_digest"].startswith("sha256:")


def test_chains_artifacts_and_keeps_the_correlation_id(tmp_path: Path) -> None:
    src = write(tmp_path / "in.json", json.dumps({"text": "hello"}))
    first = tmp_path / "upper.json"
    second = tmp_path / "count.json"
    assert (
        run_cli(
            "-m", "agents.run", "uppercase", src, "-o", first, "--correlation-id", "corr-7"
        ).returncode
        == 0
    )
    proc = run_cli("-m", "agents.run", "word_count", first, "-o", second)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(second.read_text())
    assert doc["data"]["text"] == "HELLO"
    assert doc["correlation_id"] == "corr-7"


def test_list_shows_agents_with_their_types() -> None:
    proc = run_cli("-m", "agents.run", "--list")
    assert proc.returncode == 0
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("word_count"))
    assert "TextInput -> WordCount" in line


def test_schema_prints_the_output_artifact_schema() -> None:
    proc = run_cli("-m", "agents.run", "--schema", "word_count")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert schema["$id"] == "forgeflow/WordCount"
    assert "words" in schema["$defs"]["WordCount"]["properties"]


@pytest.mark.parametrize(
    ("make_input", "agent", "needles"),
    [
        pytest.param(
            lambda d: d / "absent.json",
            "word_count",
            ["absent.json", "no such file"],
            id="missing-input-file",
        ),
        pytest.param(
            lambda d: write(d / "bad.json", "{not json"),
            "word_count",
            ["bad.json", "not valid JSON", "line 1"],
            id="not-json",
        ),
        pytest.param(
            lambda d: write(d / "wrong.json", json.dumps({"text": 5})),
            "word_count",
            ["wrong.json", "$.text", "string"],
            id="breaks-schema",
        ),
        pytest.param(
            lambda d: write(
                d / "env.json",
                json.dumps(
                    {
                        "schema_id": "forgeflow/TextOutput",
                        "agent": "echo",
                        "status": "succeeded",
                        "data": {"texts": ["x"]},
                    }
                ),
            ),
            "word_count",
            ["env.json", "$.data.text", "Field required"],
            id="artifact-data-breaks-schema",
        ),
        pytest.param(
            lambda d: write(d / "ok.json", json.dumps({"text": "x"})),
            "no_such_agent",
            ["unknown agent 'no_such_agent'", "word_count"],
            id="unknown-agent",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_output(
    tmp_path: Path, make_input: object, agent: str, needles: list[str]
) -> None:
    src = make_input(tmp_path)  # type: ignore[operator]
    out = tmp_path / "out.json"
    proc = run_cli("-m", "agents.run", agent, src, "-o", out)
    assert_user_error(proc, *needles)
    assert not out.exists()
    assert not list(tmp_path.glob(".out.json.*"))


def test_output_into_unwritable_place_is_a_user_error(tmp_path: Path) -> None:
    src = write(tmp_path / "in.json", json.dumps({"text": "x"}))
    blocker = write(tmp_path / "file", "")
    proc = run_cli("-m", "agents.run", "echo", src, "-o", blocker / "out.json")
    assert_user_error(proc, "cannot write")


def test_help_is_fast_path_without_costly_imports() -> None:
    code = (
        "import sys, runpy; sys.argv=['agents.run','--help']\n"
        "try:\n runpy.run_module('agents.run', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "bad=[m for m in ('jsonschema','psycopg','github','rich','yaml') if m in sys.modules]\n"
        "print('LOADED', bad)"
    )
    proc = run_cli("-c", code)
    assert "LOADED []" in proc.stdout, proc.stdout
