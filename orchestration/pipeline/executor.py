"""Execute a run record: what a worker does with a run id (see :mod:`.queued_runs`).

The run follows :func:`orchestration.pipeline.runner.run_pipeline_file` (the CLI's checks,
cache and resume) on the run's state store, and its record is kept up to date as stages
start and finish, so any door can show its progress. A run with a review stage and no
review settings stops before that stage (``waiting_for_review``); run again with
decisions, it resumes every earlier stage from the store.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.errors import ForgeflowError
from orchestration.pipeline.queued_runs import (
    FINISHED,
    INPUT_KEY,
    EventType,
    ReviewWait,
    RunRecord,
    RunStatus,
    StageInfo,
    check_file_name,
    decode_base64,
    file_settings,
    finish_run,
    mark_unfinished,
    read_run,
    write_run,
)
from orchestration.runtime.artifact import Envelope
from orchestration.runtime.monitoring import RunMonitor
from orchestration.state.base import StateStore

if TYPE_CHECKING:
    from orchestration.runtime.execution import AgentRun


def _review_agent_index(planned: list[Any]) -> int | None:
    """The first agent stage whose agent takes a ``decisions`` setting (a human review)."""
    for i, stage in enumerate(planned):
        if stage.kind != "agent":
            continue
        cls = next(iter(stage.agents.values()))
        model = cls.settings_model
        if model is not None and "decisions" in model.model_fields:
            return i
    return None


# --------------------------------------------------------------------------- executing


class _Progress:
    """Records stage events into the run record as they happen, and persists it."""

    def __init__(self, store: StateStore, record: RunRecord) -> None:
        self.store = store
        self.record = record
        self.lock = threading.Lock()

    def started(self, stage: str) -> None:
        with self.lock:
            self.record.add_event("stage_started", stage=stage)
            write_run(self.store, self.record)

    def finished(self, run: AgentRun) -> None:
        usage = list(getattr(run, "usage", None) or [])
        info = StageInfo(
            stage=run.stage,
            agent=run.agent,
            status=str(run.status),
            duration_ms=run.duration_ms,
            resumed=run.resumed,
            cached=run.cached,
            error=run.error,
            input_tokens=sum(getattr(c, "input_tokens", 0) or 0 for c in usage),
            output_tokens=sum(getattr(c, "output_tokens", 0) or 0 for c in usage),
        )
        with self.lock:
            self.record.stages = [s for s in self.record.stages if s.stage != run.stage]
            self.record.stages.append(info)
            kind: EventType = "stage_finished" if run.ok else "stage_failed"
            self.record.add_event(kind, stage=run.stage, detail=run.error)
            write_run(self.store, self.record)


class _ProgressMonitor(RunMonitor):
    def __init__(self, progress: _Progress) -> None:
        super().__init__()
        self.progress = progress

    def record(self, run: AgentRun, *, after: list[str] | None = None) -> Any:
        rec = super().record(run, after=after)
        self.progress.finished(run)
        return rec


class _ObservedStore(StateStore):
    """The run's store, telling the progress when a stage of this run is looked up (every
    stage is looked up, to resume it, just before it runs)."""

    def __init__(self, inner: StateStore, run_id: str, on_start: Callable[[str], None]) -> None:
        self.inner = inner
        self.run_id = run_id
        self.on_start = on_start

    def get_stage(self, run_id: str, stage: str) -> Envelope | None:
        if run_id == self.run_id:
            self.on_start(stage)
        return self.inner.get_stage(run_id, stage)

    def put_stage(self, run_id: str, stage: str, envelope: Envelope) -> None:
        self.inner.put_stage(run_id, stage, envelope)

    def list_stages(self, run_id: str) -> list[tuple[str, Envelope]]:
        return self.inner.list_stages(run_id)

    def get_value(self, key: str) -> Any | None:
        return self.inner.get_value(key)

    def put_value(self, key: str, value: Any) -> None:
        self.inner.put_value(key, value)

    @property
    def location(self) -> str:
        return self.inner.location


def execute_run(
    store: StateStore,
    run_id: str,
    work_dir: Path,
    *,
    model_client: Any = None,
) -> RunRecord:
    """Run (or resume) the run ``run_id`` to its end or to its review; return its record.

    ``work_dir`` holds the run's files (``RUN_ID/``: the pipeline file, the input, the
    decisions, the artifacts ``orchestration run`` writes). The input's path is part of
    the first stage's input digest, so workers that take up each other's runs use the
    same ``work_dir`` as written (a relative one, each in its own working folder): then a
    run resumes its finished stages wherever it continues. A finished run is returned as
    it is.
    """
    import yaml

    from agents.registry import default_registry
    from orchestration.pipeline.file import PipelineSpec, load_spec, plan_stages
    from orchestration.pipeline.runner import run_pipeline_file

    record = read_run(store, run_id)
    if record.status in FINISHED or record.status is RunStatus.WAITING_FOR_REVIEW:
        return record
    record.status = RunStatus.RUNNING
    record.attempts += 1
    record.worker = f"{socket.gethostname()}:{os.getpid()}"
    record.add_event("run_started", detail=f"attempt {record.attempts}")
    write_run(store, record)
    folder = Path(work_dir) / run_id
    uploaded = store.get_value(INPUT_KEY + run_id) or {}
    settings = {a: dict(v) for a, v in record.settings.items()}
    progress = _Progress(store, record)
    try:  # from here on, whatever goes wrong ends the run as failed, with the reason
        folder.mkdir(parents=True, exist_ok=True)
        name = check_file_name(str(uploaded.get("name", record.input_name)), "input")
        input_path = folder / name
        input_path.write_bytes(decode_base64(str(uploaded.get("content_base64", "")), "input"))
        pipeline = folder / "pipeline.yaml"
        pipeline.write_text(record.pipeline_yaml, encoding="utf-8")
        registry = default_registry()
        spec = load_spec(pipeline)
        planned = plan_stages(spec, registry, source=record.pipeline, settings=settings)
        review_at = _review_agent_index(planned)
        pause = False
        if review_at is not None:
            stage = planned[review_at]
            agent = next(iter(stage.agents))
            given = {**file_settings(stage.spec).get(agent, {}), **settings.get(agent, {})}
            if record.decisions is not None:
                decisions = folder / "decisions.json"
                decisions.write_text(json.dumps(record.decisions), encoding="utf-8")
                settings.setdefault(agent, {})["decisions"] = str(decisions)
                settings[agent].pop("yes", None)
            elif not given.get("decisions") and not _truthy(given.get("yes")):
                pause = True
        if pause:
            assert review_at is not None
            before = spec.stages[:review_at]
            stage = planned[review_at]
            agent = next(iter(stage.agents))
            if before:
                part = PipelineSpec(name=spec.name, description=spec.description, stages=before)
                pipeline = folder / "pipeline-before-review.yaml"
                pipeline.write_text(
                    yaml.safe_dump(part.model_dump(mode="json", exclude_defaults=True)),
                    encoding="utf-8",
                )
                kept = {n for p in planned[:review_at] for n in p.agents}
                settings = {a: v for a, v in settings.items() if a in kept}
        report = None
        if not pause or review_at:
            report = run_pipeline_file(
                pipeline,
                input_path,
                run_id=run_id,
                out_dir=folder / "out",
                settings=settings,
                registry=registry,
                model_client=model_client,
                store=_ObservedStore(store, run_id, progress.started),
                monitor=_ProgressMonitor(progress),
                write_files=False,
            )
    except ForgeflowError as exc:
        return finish_run(store, progress.record, ok=False, error=exc.one_line())
    except Exception as exc:  # a crash of the run is its failure, recorded, not lost
        from orchestration.runtime.execution import describe_error

        return finish_run(store, progress.record, ok=False, error=describe_error(exc))
    record = progress.record
    if report is not None and not report.ok:
        record.failed_stage = report.failed_stage
        return finish_run(store, record, ok=False, error=report.error or "a stage failed")
    if pause:
        from orchestration.runtime.artifact import digest

        assert review_at is not None
        stage = planned[review_at]
        env = (
            store.get_stage(run_id, report.output_stage) if report and report.output_stage else None
        )
        # the review waits on the last stage's output, or (first stage) on the upload
        waited_on = env.data if env is not None else {"input": uploaded.get("content_base64")}
        record.review = ReviewWait(
            stage=stage.name, agent=next(iter(stage.agents)), input_digest=digest(waited_on)
        )
        record.status = RunStatus.WAITING_FOR_REVIEW
        record.add_event("waiting_for_review", stage=stage.name)
        write_run(store, record)
        mark_unfinished(store, run_id, False)
        return record
    assert report is not None
    record.output_stage = report.output_stage
    return finish_run(store, record, ok=True, error=None)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "y", "on"}
