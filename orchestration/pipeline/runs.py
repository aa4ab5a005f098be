"""Run-level helpers for the doors (MCP server, HTTP API): start a run, resume it with
other settings (a review's decisions, say), and read where it stands.

A run started here is an ordinary pipeline run (:func:`run_pipeline_file`): the same
state store, the same artifacts folder, resumable with ``python -m orchestration run
--run-id ID``. What a door also needs — which pipeline and input the run was started
with, its settings, how it ended — is kept as one JSON value in the run's state store
under ``forgeflow/run/RUN_ID`` (:class:`RunRecord`), so any process that opens the same
store can read it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from agents.errors import ForgeflowError, InputError, StateStoreError
from orchestration.pipeline.queued_runs import RUN_KEY
from orchestration.pipeline.queued_runs import RunRecord as QueuedRunRecord

if TYPE_CHECKING:
    from agents.model_client import ModelClient
    from orchestration.runtime.monitoring import RunMonitor
    from orchestration.state.base import StateStore

#: ``findings``: every stage ran, but a feedback loop left findings (see RunReport.status).
RunState = Literal["running", "succeeded", "findings", "failed"]


def record_key(run_id: str) -> str:
    """The state-store key of a run's :class:`RunRecord`."""
    return f"forgeflow/run/{run_id}"


class Usage(BaseModel):
    """Hosted-model usage over a run (all zero when no model was called)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = Field(
        default=0.0, description="Estimated cost; null when a model's price is unknown"
    )


class RunRecord(BaseModel):
    """How a run was started and how it ended, as its state store keeps it."""

    run_id: str
    pipeline: str = Field(description="The pipeline file (absolute path)")
    input: str = Field(description="The input file of the first stage (absolute path)")
    settings: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Settings by agent (AGENT.KEY=VALUE)"
    )
    out_dir: str = Field(description="The run's artifacts folder")
    cache_dir: str | None = None
    status: RunState
    started_at: datetime
    finished_at: datetime | None = None
    failed_stage: str | None = None
    error: str | None = None
    output: str | None = Field(default=None, description="output.json, when the run succeeded")
    report: str | None = Field(default=None, description="report.md, when the run wrote one")
    summary: str | None = None
    stages: int = 0
    resumed: int = 0
    usage: Usage = Field(default_factory=Usage)


class StageStatus(BaseModel):
    """One stored stage of a run."""

    stage: str
    agent: str
    status: str
    schema_id: str
    duration_ms: float
    error: str | None = None


class RunStatus(BaseModel):
    """Where a run stands: its record (when a door started it) and its stored stages.

    A run the HTTP server handed to its workers keeps a record of its own (queued,
    running, waiting for a review, finished; its events): it is ``queued``, and the status
    is that record's.
    """

    run_id: str
    status: RunState | Literal["queued", "waiting_for_review", "unknown"] = Field(
        description="running, succeeded, findings or failed; queued or waiting_for_review "
        "for a run workers execute (the HTTP server's); unknown for a run with stages but "
        "no record (started by `python -m orchestration run`)"
    )
    record: RunRecord | None = None
    queued: QueuedRunRecord | None = Field(
        default=None, description="The record of a run workers execute (the HTTP server's)"
    )
    stages: list[StageStatus] = Field(default_factory=list)


_M = TypeVar("_M", bound=BaseModel)


def _read_stored(store: StateStore, key: str, model: type[_M], damaged: str) -> _M | None:
    """The ``model`` stored under ``key``, or None; ``damaged`` ends the error otherwise."""
    raw = store.get_value(key)
    if raw is None:
        return None
    try:
        return model.model_validate(raw)
    except ValidationError:
        raise StateStoreError(f"{store.location}: {damaged}") from None


def read_record(store: StateStore, run_id: str) -> RunRecord | None:
    """The :class:`RunRecord` of ``run_id`` in ``store``, or None."""
    damaged = f"run record of {run_id!r} is damaged; start the run again"
    return _read_stored(store, record_key(run_id), RunRecord, damaged)


def _read_queued(store: StateStore, run_id: str) -> QueuedRunRecord | None:
    """The record the HTTP server keeps of ``run_id`` in ``store``, or None."""
    damaged = f"the record of run {run_id!r} is damaged"
    return _read_stored(store, RUN_KEY + run_id, QueuedRunRecord, damaged)


def _usage(monitor: RunMonitor) -> Usage:
    calls = [c for rec in monitor.records for c in rec.model_calls]
    costs = [c.usage.cost_usd for c in calls]
    return Usage(
        calls=len(calls),
        input_tokens=sum(c.usage.input_tokens for c in calls),
        output_tokens=sum(c.usage.output_tokens for c in calls),
        cost_usd=None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
    )


def start_run(
    pipeline: Path,
    input_path: Path,
    *,
    state: str | None = None,
    run_id: str | None = None,
    out_dir: Path | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    cache_dir: Path | None = None,
    model_client: ModelClient | None = None,
    monitor: RunMonitor | None = None,
) -> RunRecord:
    """Run ``pipeline`` on ``input_path`` and keep its :class:`RunRecord` in the store.

    The pipeline file is checked before anything is recorded: a bad file, setting or
    input is a :class:`~agents.errors.ForgeflowError` and leaves no record. Then the
    record says ``running`` until the run ends, and how it ended afterwards.
    """
    from orchestration.pipeline.file import load_spec, plan_stages
    from orchestration.pipeline.runner import DEFAULT_RUNS_DIR
    from orchestration.runtime.artifact import new_id
    from orchestration.runtime.monitoring import RunMonitor
    from orchestration.state.directory import check_run_id

    pipeline, input_path = Path(pipeline).absolute(), Path(input_path).absolute()
    planned = plan_stages(load_spec(pipeline), source=str(pipeline), settings=settings)
    next(iter(planned[0].agents.values())).load_input(input_path)  # a bad input: no record
    run_id = run_id or new_id()
    check_run_id(run_id)
    out = Path(out_dir).absolute() if out_dir else (DEFAULT_RUNS_DIR / run_id).absolute()
    record = RunRecord(
        run_id=run_id,
        pipeline=str(pipeline),
        input=str(input_path),
        settings=settings or {},
        out_dir=str(out),
        cache_dir=str(Path(cache_dir).absolute()) if cache_dir else None,
        status="running",
        started_at=datetime.now(UTC),
    )
    return _run(record, state=state, model_client=model_client, monitor=monitor or RunMonitor())


def resume_run(
    run_id: str,
    *,
    state: str | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    model_client: ModelClient | None = None,
    monitor: RunMonitor | None = None,
) -> RunRecord:
    """Run ``run_id`` again with ``settings`` merged over its own (per agent, per key).

    Stages whose input and settings are unchanged are resumed from the store, not run
    again; the first stage whose settings changed (a review with new decisions) and
    everything after it run anew. An unknown run id is an :class:`InputError`.
    """
    from orchestration.runtime.monitoring import RunMonitor
    from orchestration.state.directory import check_run_id
    from orchestration.state.open import open_store

    check_run_id(run_id)
    with open_store(state) as store:
        record = read_record(store, run_id)
    if record is None:
        raise InputError(f"run {run_id!r}: no such run in the state store (start it first)")
    merged = {agent: dict(values) for agent, values in record.settings.items()}
    for agent, values in (settings or {}).items():
        merged.setdefault(agent, {}).update(values)
    again = record.model_copy(
        update={
            "settings": merged,
            "status": "running",
            "started_at": datetime.now(UTC),
            "finished_at": None,
            "failed_stage": None,
            "error": None,
        }
    )
    return _run(
        again,
        state=state,
        model_client=model_client,
        monitor=monitor or RunMonitor(),
        previous=record,
    )


def _run(
    record: RunRecord,
    *,
    state: str | None,
    model_client: ModelClient | None,
    monitor: RunMonitor,
    previous: RunRecord | None = None,
) -> RunRecord:
    """Record ``record`` as running, run it, record how it ended.

    A user error (:class:`ForgeflowError`: bad decisions, say) while resuming puts the
    ``previous`` record back: the run is as it was before the attempt.
    """
    from orchestration.pipeline.runner import run_pipeline_file
    from orchestration.state.open import open_store

    with open_store(state) as store:
        store.put_value(record_key(record.run_id), record.model_dump(mode="json"))
    try:
        report = run_pipeline_file(
            Path(record.pipeline),
            Path(record.input),
            state=state,
            run_id=record.run_id,
            out_dir=Path(record.out_dir),
            settings=record.settings,
            cache_dir=Path(record.cache_dir) if record.cache_dir else None,
            model_client=model_client,
            monitor=monitor,
        )
    except BaseException as exc:
        from orchestration.runtime.execution import describe_error

        if previous is not None and isinstance(exc, ForgeflowError):
            with open_store(state) as store:
                store.put_value(record_key(record.run_id), previous.model_dump(mode="json"))
            raise
        failed = record.model_copy(
            update={
                "status": "failed",
                "finished_at": datetime.now(UTC),
                "error": describe_error(exc) if isinstance(exc, Exception) else "interrupted",
                "usage": _usage(monitor),
            }
        )
        with open_store(state) as store:
            store.put_value(record_key(record.run_id), failed.model_dump(mode="json"))
        raise
    done = record.model_copy(
        update={
            "status": report.status,
            "finished_at": datetime.now(UTC),
            "failed_stage": report.failed_stage,
            "error": report.error,
            "output": str(report.output) if report.output else None,
            "report": str(report.report) if report.report else None,
            "summary": str(report.summary),
            "stages": report.stages,
            "resumed": report.resumed,
            "usage": _usage(monitor),
        }
    )
    with open_store(state) as store:
        store.put_value(record_key(record.run_id), done.model_dump(mode="json"))
    return done


def run_status(run_id: str, *, state: str | None = None) -> RunStatus:
    """Where ``run_id`` stands in the store; an :class:`InputError` when it has no trace."""
    from orchestration.state.directory import check_run_id
    from orchestration.state.open import open_store

    check_run_id(run_id)
    with open_store(state) as store:
        record = read_record(store, run_id)
        queued = _read_queued(store, run_id)
        stages = store.list_stages(run_id)
    if record is None and queued is None and not stages:
        raise InputError(f"run {run_id!r}: no such run in the state store")
    status: Any = "unknown"
    if record is not None:
        status = record.status
    elif queued is not None:
        status = str(queued.status)
    return RunStatus(
        run_id=run_id,
        status=status,
        record=record,
        queued=queued,
        stages=[
            StageStatus(
                stage=name,
                agent=env.agent,
                status=str(env.status),
                schema_id=env.schema_id,
                duration_ms=env.duration_ms,
                error=env.error,
            )
            for name, env in stages
        ],
    )
