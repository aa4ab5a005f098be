"""The matrix for a fan-out job: one leg per agent, checked before any job starts.

The workflow passes a JSON list of agent names; :func:`build_matrix` turns it into
``{"agent": [...]}`` for ``strategy.matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}``.
The list must be non-empty, name known agents only, each once, and have at most 256 legs
(GitHub's limit of jobs a matrix may make).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agents.errors import ForgeflowError
from orchestration.runtime.artifact import loads_strict

MAX_LEGS = 256


class MatrixError(ForgeflowError):
    """The list of agents cannot make a matrix."""


def parse_agents(text: str, source: str = "--agents") -> list[Any]:
    """The JSON list in ``text``; ``source`` names it in errors."""
    try:
        data = loads_strict(text)
    except ValueError as exc:
        raise MatrixError(f'{source}: not JSON ({exc}); expected a list like ["a", "b"]') from None
    if not isinstance(data, list):
        raise MatrixError(
            f"{source}: expected a JSON list of agent names, not {type(data).__name__}"
        )
    return data


def read_agents_file(path: Path) -> list[Any]:
    """The JSON list of agent names in ``path``."""
    from orchestration.runtime.guards import max_artifact_bytes, read_regular_text

    text = read_regular_text(Path(path), max_artifact_bytes(), what="JSON list of agents")
    return parse_agents(text, str(path))


def build_matrix(agents: list[Any], known: Iterable[str]) -> dict[str, list[str]]:
    """``{"agent": agents}`` once every name is a known agent, unique, 1-256 of them."""
    if not agents:
        raise MatrixError("the agent list is empty; a matrix needs at least one leg")
    if len(agents) > MAX_LEGS:
        raise MatrixError(f"{len(agents)} agents make {len(agents)} legs; GitHub allows {MAX_LEGS}")
    known_names = set(known)
    seen: set[str] = set()
    for name in agents:
        if not isinstance(name, str):
            raise MatrixError(f"agent names must be strings, not {json.dumps(name)}")
        if name not in known_names:
            listing = ", ".join(sorted(known_names)) or "none"
            raise MatrixError(f"unknown agent {name!r} in the matrix; known agents: {listing}")
        if name in seen:
            raise MatrixError(f"agent {name!r} is listed twice; each leg must be unique")
        seen.add(name)
    return {"agent": list(agents)}


def matrix_json(matrix: dict[str, list[str]]) -> str:
    """One line of compact JSON (as a step output must be)."""
    return json.dumps(matrix, separators=(",", ":"))
