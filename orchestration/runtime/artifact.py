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
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.documents import (
    SCHEMA_PREFIX,
    ArtifactStatus,
    format_validation_error,
    is_envelope,
    load_model,
    loads_strict,
    read_json,
)
from agents.errors import InputError, SchemaViolation

__all__ = [
    "SCHEMA_PREFIX",
    "ArtifactStatus",
    "is_envelope",
    "load_model",
    "loads_strict",
    "read_json",
]

#: Version of the envelope layout. Bump on an incompatible change.
ENVELOPE_VERSION = "1.0"

ModelT = TypeVar("ModelT", bound=BaseModel)


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
    traceparent: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,  # artifacts without tracing stay as they were
        pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        description="W3C traceparent of the span of the agent run that wrote this artifact "
        "(present when tracing was on): a later job continues the same trace from it",
    )
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
    traceparent: str | None = None,
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
        traceparent=traceparent,
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
    Anything in the way that is not a regular file (a folder, a device, a FIFO, a
    symbolic link), or any failure to write, is an :class:`InputError` naming ``path``;
    the temporary file never stays behind.
    """
    from orchestration.runtime.guards import check_output_target

    path = Path(path)
    check_output_target(path)  # a folder, device, FIFO or symbolic link is never replaced
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


def traceparent_of(path: Path) -> str | None:
    """The valid ``traceparent`` an artifact file records, if it is one and has one."""
    from orchestration.tracing import parse_traceparent

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return parse_traceparent(doc.get("traceparent")) if is_envelope(doc) else None


def correlation_of(path: Path) -> str | None:
    """The correlation id of an artifact file, if it is one."""
    from agents.errors import ForgeflowError

    try:
        doc = read_json(Path(path))
    except ForgeflowError:
        return None
    value = doc.get("correlation_id") if is_envelope(doc) else None
    return value if isinstance(value, str) else None
