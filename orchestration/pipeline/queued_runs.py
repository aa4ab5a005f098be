"""Queued runs: records in a state store that workers execute, pause for review and resume.

What the HTTP server (and any door that hands runs to workers rather than running them
itself) shares: a run is stored as ``queued``, a worker executes it
(:mod:`orchestration.pipeline.executor`), and anyone reading the store can watch it.
Everything lives in the run's state store, whatever its kind:

- ``forgeflow.run:RUN_ID`` — a :class:`RunRecord` (status, stages, events, review);
- ``forgeflow.run-input:RUN_ID`` — the uploaded input (name and base64 bytes);
- ``forgeflow.runs.unfinished`` — ids of runs not yet finished (recovery after a restart);
- the stage artifacts, under the run id, as ``orchestration run`` stores them.

:func:`orchestration.pipeline.executor.execute_run` runs a record with
:func:`orchestration.pipeline.runner.run_pipeline_file`
(the same checks, cache, resume and artifacts as the CLI). A pipeline with a review stage
(an agent whose settings take ``decisions``, SynthForge's ``interactive``) and no
``yes``/``decisions`` setting stops before that stage: the run is ``waiting_for_review``
with the stage and the digest of the input it waits on. :func:`submit_decisions` stores a
reviewer's decisions; executing the run again resumes every earlier stage from the store
(same input digest) and runs the review with them.

A record that has finished is never run again: executing it twice (a job retried after a
worker died) finishes it once.
"""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
import threading
from collections.abc import Collection
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.errors import ConflictError, ForgeflowError, InputError, NotFoundError
from orchestration.runtime.artifact import Envelope
from orchestration.state.base import StateStore

RUN_KEY = "forgeflow.run:"
INPUT_KEY = "forgeflow.run-input:"
UNFINISHED_KEY = "forgeflow.runs.unfinished"
#: Uploaded input and pipeline file names: a plain file name, nothing that walks folders.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,127}")

#: Stage names as pipelines make them (agent names, GROUP/AGENT, LOOP/AGENT#N).
_STAGE = re.compile(r"[^\x00-\x1f]{1,256}")

_index_lock = threading.Lock()


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING_FOR_REVIEW = "waiting_for_review"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


#: A run in one of these states is done; executing it again does nothing.
FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED})

EventType = Literal[
    "run_queued",
    "run_started",
    "stage_started",
    "stage_finished",
    "stage_failed",
    "waiting_for_review",
    "decisions_received",
    "run_succeeded",
    "run_failed",
]


class RunEvent(BaseModel):
    """One thing that happened to a run (what ``/events`` streams)."""

    id: int = Field(description="1, 2, ... within the run")
    type: EventType
    at: datetime
    stage: str | None = None
    detail: str | None = None


class StageInfo(BaseModel):
    """A finished stage of the run, as the monitor recorded it."""

    stage: str
    agent: str
    status: str
    duration_ms: float
    resumed: bool = False
    cached: bool = False
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None


class ReviewWait(BaseModel):
    """Where a paused run waits: the review stage and the digest of its input."""

    stage: str
    agent: str
    input_digest: str


class RunRecord(BaseModel):
    """Everything a door needs to show, resume or finish a run."""

    id: str
    pipeline: str = Field(description="The pipeline's name")
    pipeline_yaml: str = Field(description="The pipeline file the run follows")
    input_name: str
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)
    status: RunStatus = RunStatus.QUEUED
    created_at: datetime
    updated_at: datetime
    stages: list[StageInfo] = Field(default_factory=list)
    events: list[RunEvent] = Field(default_factory=list)
    review: ReviewWait | None = None
    decisions: dict[str, Any] | None = None
    error: str | None = None
    failed_stage: str | None = None
    output_stage: str | None = None
    attempts: int = 0
    worker: str | None = Field(default=None, description="HOST:PID of the last worker to run it")
    source: dict[str, Any] | None = Field(
        default=None, description="Where the run came from (e.g. a webhook delivery)"
    )

    def add_event(
        self, type_: EventType, stage: str | None = None, detail: str | None = None
    ) -> RunEvent:
        event = RunEvent(id=len(self.events) + 1, type=type_, at=_now(), stage=stage, detail=detail)
        self.events.append(event)
        self.updated_at = event.at
        return event


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- reading


def read_run(store: StateStore, run_id: str) -> RunRecord:
    """The record of ``run_id``; :class:`NotFoundError` when there is none."""
    from orchestration.state.directory import check_run_id

    try:
        check_run_id(run_id)
    except ForgeflowError:  # no run is ever stored under such an id
        raise NotFoundError(f"run {run_id!r}: no such run") from None
    raw = store.get_value(RUN_KEY + run_id)
    if raw is None:
        raise NotFoundError(f"run {run_id!r}: no such run")
    return RunRecord.model_validate(raw)


def write_run(store: StateStore, record: RunRecord) -> None:
    store.put_value(RUN_KEY + record.id, record.model_dump(mode="json"))


def read_stage(store: StateStore, run_id: str, stage: str) -> Envelope:
    """The stored artifact of ``stage`` of ``run_id``."""
    read_run(store, run_id)
    env = store.get_stage(run_id, stage) if _STAGE.fullmatch(stage) else None
    if env is None:
        raise NotFoundError(f"run {run_id!r}: no artifact for stage {stage!r}")
    return env


def read_report(store: StateStore, run_id: str) -> str:
    """The markdown report of a finished run (its output's ``report_markdown``)."""
    record = read_run(store, run_id)
    if record.output_stage is None:
        raise NotFoundError(f"run {run_id!r}: no report (status {record.status})")
    env = store.get_stage(run_id, record.output_stage)
    text = (env.data or {}).get("report_markdown") if env is not None else None
    if not isinstance(text, str) or not text:
        raise NotFoundError(f"run {run_id!r}: its output has no report")
    return text


def unfinished_runs(store: StateStore) -> list[str]:
    """Ids of runs started and not finished (queued, running), oldest first."""
    ids = store.get_value(UNFINISHED_KEY) or []
    out = []
    for run_id in ids:
        raw = store.get_value(RUN_KEY + run_id)
        if raw is not None and raw.get("status") in (RunStatus.QUEUED, RunStatus.RUNNING):
            out.append(run_id)
    return out


def mark_unfinished(store: StateStore, run_id: str, unfinished: bool) -> None:
    with _index_lock:
        ids = list(store.get_value(UNFINISHED_KEY) or [])
        if unfinished and run_id not in ids:
            ids.append(run_id)
        elif not unfinished and run_id in ids:
            ids.remove(run_id)
        else:
            return
        store.put_value(UNFINISHED_KEY, ids)


# --------------------------------------------------------------------------- starting


def check_file_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
        raise InputError(
            f"{what} {name!r}: use a plain file name of 1-128 letters, digits, spaces and "
            "'._()+-', starting with a letter or digit"
        )
    return name


def decode_base64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{what}: not valid base64") from None


def start_run(
    store: StateStore,
    *,
    pipeline_yaml: str,
    input_name: str,
    input_bytes: bytes,
    settings: dict[str, dict[str, Any]] | None = None,
    run_id: str | None = None,
    source: dict[str, Any] | None = None,
    allowed_settings: Collection[str] | None = None,
    trusted_pipeline: bool = True,
) -> RunRecord:
    """Check a run as ``orchestration run`` would (pipeline, settings, input), then store
    it as ``queued``. Nothing runs here: hand the id to a worker (:func:`execute_run`).

    ``allowed_settings`` (``AGENT.KEY`` names; None: any) are the settings a caller who
    is not the operator may give: a setting that names a file or a program on the
    server's machine (``decisions``, ``checkov``, ``output_dir``) must not come from a
    request. They are checked in ``settings`` and, unless ``trusted_pipeline`` (a
    committed file), in the pipeline file's own stage settings.

    Errors are the CLI's one-line messages, naming the uploaded file by its own name.
    """
    from orchestration.pipeline.runner import _check_run_id
    from orchestration.runtime.artifact import new_id

    check_file_name(input_name, "input name")
    settings = {a: {k: str(v) for k, v in vals.items()} for a, vals in (settings or {}).items()}
    spec_name = _check(
        pipeline_yaml,
        input_name,
        input_bytes,
        settings,
        None if allowed_settings is None else frozenset(allowed_settings),
        trusted_pipeline,
    )
    run_id = run_id or new_id()
    _check_run_id(run_id)
    if store.get_value(RUN_KEY + run_id) is not None:
        raise ConflictError(f"run {run_id!r} exists already")
    now = _now()
    record = RunRecord(
        id=run_id,
        pipeline=spec_name,
        pipeline_yaml=pipeline_yaml,
        input_name=input_name,
        settings=settings,
        created_at=now,
        updated_at=now,
        source=source,
    )
    record.add_event("run_queued")
    store.put_value(
        INPUT_KEY + run_id,
        {"name": input_name, "content_base64": base64.b64encode(input_bytes).decode("ascii")},
    )
    # in the index first: a process killed between the two writes leaves a run the next
    # start finds (the index is filtered by the records' status)
    mark_unfinished(store, run_id, True)
    write_run(store, record)
    return record


def _check(
    pipeline_yaml: str,
    input_name: str,
    input_bytes: bytes,
    settings: dict[str, dict[str, Any]],
    allowed: frozenset[str] | None,
    trusted_pipeline: bool,
) -> str:
    """Everything ``run_pipeline_file`` checks before running; returns the pipeline's name."""
    from agents.registry import default_registry
    from orchestration.pipeline.file import load_spec, plan_stages
    from orchestration.pipeline.runner import _check_settings_agents

    with tempfile.TemporaryDirectory(prefix="forgeflow-check-") as tmp:
        folder = Path(tmp)
        pipeline = folder / "pipeline.yaml"
        pipeline.write_text(pipeline_yaml, encoding="utf-8")
        data = folder / input_name
        data.write_bytes(input_bytes)
        try:
            registry = default_registry()
            spec = load_spec(pipeline)
            planned = plan_stages(spec, registry, source="pipeline", settings=settings)
            _check_settings_agents(settings, planned, Path("pipeline"))
            if allowed is not None:
                given = [(f"{a}.{k}", "settings") for a, vals in settings.items() for k in vals]
                if not trusted_pipeline:
                    given += [
                        (f"{a}.{k}", f"pipeline stage {stage.name!r}")
                        for stage in planned
                        for a, vals in file_settings(stage.spec).items()
                        for k in vals
                    ]
                for name, where in given:
                    if name not in allowed:
                        raise InputError(
                            f"{where}: setting {name!r} is not accepted from a request; "
                            f"accepted: {', '.join(sorted(allowed)) or 'none'}"
                        )
            first = next(iter(planned[0].agents.values()))
            first.load_input(data)
        except ForgeflowError as exc:
            text = exc.one_line().replace(str(folder) + "/", "")
            raise type(exc)(text) from None
        return spec.name


# --------------------------------------------------------------------------- review


def decisions_models() -> dict[str, type[BaseModel]]:
    """The registry's review agents and the document each takes (``decisions_model``)."""
    from agents.registry import default_registry

    registry = default_registry()
    found = {}
    for name in registry.names():
        model = getattr(registry.get(name), "decisions_model", None)
        if isinstance(model, type) and issubclass(model, BaseModel):
            found[name] = model
    return found


def submit_decisions(store: StateStore, run_id: str, decisions: Any) -> RunRecord:
    """Check a reviewer's decisions against the waiting review agent's ``decisions_model``,
    store them, and queue the run to resume."""
    from pydantic import ValidationError

    from agents.base import format_validation_error
    from agents.errors import SchemaViolation
    from agents.registry import default_registry

    record = read_run(store, run_id)
    if record.status is not RunStatus.WAITING_FOR_REVIEW or record.review is None:
        raise ConflictError(f"run {run_id!r} is not waiting for review (status {record.status})")
    model = getattr(default_registry().get(record.review.agent), "decisions_model", None)
    if model is not None:
        try:
            decisions = model.model_validate(decisions).model_dump(mode="json")
        except ValidationError as exc:
            raise SchemaViolation(
                f"decisions: {format_validation_error(exc)} (expected a {model.__name__})"
            ) from None
    elif not isinstance(decisions, dict):
        raise SchemaViolation("decisions: expected a JSON object")
    record.decisions = decisions
    record.status = RunStatus.QUEUED
    record.add_event("decisions_received", stage=record.review.stage if record.review else None)
    mark_unfinished(store, run_id, True)
    write_run(store, record)
    return record


def file_settings(spec: Any) -> dict[str, dict[str, Any]]:
    """A stage's settings in the pipeline file, by agent name."""
    from orchestration.pipeline.file import _stage_settings

    return {a: dict(v or {}) for a, v in _stage_settings(spec).items()}


def finish_run(store: StateStore, record: RunRecord, *, ok: bool, error: str | None) -> RunRecord:
    """Record the run's end, unless another worker recorded it already (one taken for dead
    while it was alive): a run finishes once. The check and the write are two steps, not
    one transaction, so this narrows that window rather than closing it."""
    stored = store.get_value(RUN_KEY + record.id)
    if stored is not None and stored.get("status") in FINISHED:
        return RunRecord.model_validate(stored)
    record.status = RunStatus.SUCCEEDED if ok else RunStatus.FAILED
    record.error = error
    record.add_event("run_succeeded" if ok else "run_failed", detail=error)
    write_run(store, record)
    mark_unfinished(store, record.id, False)
    return record
