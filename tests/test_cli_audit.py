"""Hostile input to every command-line entry point, as a demanding user would give it.

Each case is a problem found by using the commands: bad input must end in one line on
stderr naming the thing and what is wrong, exit code 2, no traceback and nothing
half-written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import assert_user_error, run_cli

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
