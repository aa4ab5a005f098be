"""Reading an agent's input: strict JSON files, a bare document or an artifact's ``data``.

This is the part of the artifact format the agent contract needs (``Agent.load_input``);
writing artifacts and the envelope model are the run-time's
(:mod:`orchestration.runtime.artifact`, which re-exports these names).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agents.errors import InputError, SchemaViolation

SCHEMA_PREFIX = "forgeflow/"

ModelT = TypeVar("ModelT", bound=BaseModel)


class ArtifactStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_strict(text: str) -> Any:
    """``json.loads`` for what users hand in: JSON only, and never a crash.

    ``NaN`` and ``Infinity`` (which Python's parser accepts but JSON has not) and documents
    nested too deeply to parse raise ``ValueError`` like any other bad JSON, so a caller
    that reports bad JSON as one line covers them too.
    """
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply to parse") from None


def read_json(path: Path, *, what: str = "JSON file") -> Any:
    """Parse a JSON file; errors name the file and what is wrong.

    The file must be a regular file (links resolved) within the artifact size limit
    (``FORGEFLOW_MAX_ARTIFACT_BYTES``, 32 MB by default), and its arrays and objects may
    nest at most :data:`agents.guards.MAX_NESTING` deep.
    """
    from agents.guards import (
        ARTIFACT_LIMIT_ENV,
        LimitExceeded,
        check_depth,
        max_artifact_bytes,
        read_regular_text,
    )

    path = Path(path)
    try:
        text = read_regular_text(path, max_artifact_bytes(), what=what)
    except LimitExceeded as exc:
        raise LimitExceeded(f"{exc}; raise it with {ARTIFACT_LIMIT_ENV}=BYTES") from None
    try:
        doc = loads_strict(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from None
    check_depth(doc, where=str(path))
    return doc


def is_envelope(doc: Any) -> bool:
    return isinstance(doc, dict) and "schema_id" in doc and "data" in doc and "agent" in doc


def load_model(path: Path, model: type[ModelT]) -> ModelT:
    """Read ``model`` from an artifact's data, or from a bare JSON document of it."""
    doc = read_json(path)
    root, got = "$", ""
    if is_envelope(doc):
        if doc.get("status") != ArtifactStatus.SUCCEEDED:
            raise InputError(
                f"{path}: artifact of agent {doc.get('agent')!r} has status "
                f"{doc.get('status')!r}: {doc.get('error') or 'no data'}"
            )
        kind = str(doc.get("schema_id")).removeprefix(SCHEMA_PREFIX)
        if kind != model.__name__:
            got = f", got a {kind} artifact of {doc.get('agent')!r}"
        doc, root = doc.get("data"), "$.data"
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise SchemaViolation(
            f"{path}: {format_validation_error(exc, root=root)} (expected {model.__name__}{got})"
        ) from None


def format_validation_error(exc: ValidationError, *, root: str = "$") -> str:
    """One line naming the JSON path and the rule broken by the first error."""
    errors = exc.errors()
    first = errors[0]
    path = json_path(first.get("loc", ()), root=root)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}: {first.get('msg', 'invalid')}{more}"


def json_path(loc: tuple[Any, ...] | list[Any], *, root: str = "$") -> str:
    """Render a pydantic/jsonschema location as a JSONPath such as ``$.icons[3].label``."""
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
