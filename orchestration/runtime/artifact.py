"""Artifacts: every agent output on disk is one JSON document in an envelope.

The envelope carries the schema id and version, the agent, run and correlation ids, the
digest of the input, timings and status, around the typed ``data``. Files are written
atomically (a temporary file in the same folder, then a rename), so a reader never sees
half a document and a killed writer leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.base import format_validation_error
from agents.errors import InputError, SchemaViolation

#: Version of the envelope layout. Bump on an incompatible change.
ENVELOPE_VERSION = "1.0"
SCHEMA_PREFIX = "forgeflow/"

ModelT = TypeVar("ModelT", bound=BaseModel)


class ArtifactStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class Envelope(BaseModel):
    """The wrapper around every artifact's typed data."""

    model_config = ConfigDict(extra="forbid")

    schema_id: str = Field(description="forgeflow/<ModelName>: names the schema of data")
    schema_version: str = ENVELOPE_VERSION
    agent: str
    agent_version: str = "1"
    run_id: str
    correlation_id: str
    input_digest: str = Field(
        description="sha256 of the canonical JSON of the input (with the agent's settings, "
        "when it has any)"
    )
    started_at: datetime
    finished_at: datetime
    duration_ms: float = Field(ge=0)
    status: ArtifactStatus
    error: str | None = None
    data: dict[str, Any] | None = None

    def typed(self, model: type[ModelT]) -> ModelT:
        """``data`` validated as ``model``."""
        if self.data is None:
            raise SchemaViolation(f"artifact of {self.agent!r} has no data (status {self.status})")
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise SchemaViolation(format_validation_error(exc, root="$.data")) from None


def schema_id_for(model: type[BaseModel]) -> str:
    return SCHEMA_PREFIX + model.__name__


def new_id() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


# One encoder for every digest: ``json.dumps`` with non-default options builds a new
# encoder on each call, which is measurable on a long pipeline.
_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """Stable JSON: sorted keys, no spaces. Models are dumped in JSON mode first."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return _CANONICAL_ENCODER.encode(value)


def digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode()).hexdigest()


def make_envelope(
    *,
    agent: str,
    agent_version: str,
    output_model: type[BaseModel],
    input_value: Any,
    output: BaseModel | None,
    started_at: datetime,
    finished_at: datetime,
    run_id: str,
    correlation_id: str,
    status: ArtifactStatus,
    error: str | None = None,
    input_digest: str | None = None,
) -> Envelope:
    """The envelope of one run; ``input_digest`` saves re-hashing when already known.

    Every value here is produced by Forgeflow itself with the right type, so the
    envelope is constructed without re-validation (this is on every agent run's path).
    """
    return Envelope.model_construct(
        schema_id=schema_id_for(output_model),
        agent=agent,
        agent_version=agent_version,
        run_id=run_id,
        correlation_id=correlation_id,
        input_digest=input_digest or digest(input_value),
        started_at=started_at,
        finished_at=finished_at,
        duration_ms=max(0.0, (finished_at - started_at).total_seconds() * 1000),
        status=status,
        error=error,
        data=output.model_dump(mode="json") if output is not None else None,
        schema_version=ENVELOPE_VERSION,
    )


def _file_mode() -> int:
    """The mode ``open()`` would give a new file: 0666 less the process umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename.

    The file gets the mode a plain write would give it (the temporary file's is 0600).
    A folder in the way, or any failure to write, is an :class:`InputError` naming
    ``path``; the temporary file never stays behind.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fchmod(fh.fileno(), _file_mode())
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_artifact(path: Path, envelope: Envelope) -> Path:
    """Write ``envelope`` to ``path`` atomically and return the path."""
    write_text_atomic(Path(path), envelope.model_dump_json(indent=2) + "\n")
    return Path(path)


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


def read_json(path: Path) -> Any:
    """Parse a JSON file; errors name the file and what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a JSON file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text, expected a JSON file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return loads_strict(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from None


def is_envelope(doc: Any) -> bool:
    return isinstance(doc, dict) and "schema_id" in doc and "data" in doc and "agent" in doc


def read_artifact(path: Path, model: type[BaseModel] | None = None) -> Envelope:
    """Read an artifact, validating the envelope and, given ``model``, its data."""
    doc = read_json(path)
    if not is_envelope(doc):
        raise SchemaViolation(f"{path}: $: not a Forgeflow artifact (no schema_id/agent/data)")
    try:
        env = Envelope.model_validate(doc)
    except ValidationError as exc:
        raise SchemaViolation(f"{path}: {format_validation_error(exc)}") from None
    if model is not None:
        try:
            env.typed(model)
        except SchemaViolation as exc:
            raise SchemaViolation(f"{path}: {exc}") from None
    return env


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


def correlation_of(path: Path) -> str | None:
    """The correlation id of an artifact file, if it is one."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc.get("correlation_id") if is_envelope(doc) else None
