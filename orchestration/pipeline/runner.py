"""Run a pipeline file end to end: state, cache, artifacts, summary.

This is what ``python -m orchestration run`` calls. Artifacts of a run are written to
``OUT`` (default ``.forgeflow/runs/RUN_ID``) once the run ends: one file per stage, the
final ``output.json`` and ``summary.md``. The state store keeps every finished stage as it
finishes, so a rerun with the same run id resumes where a killed run stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.errors import ForgeflowError
from agents.registry import AgentRegistry, default_registry

if TYPE_CHECKING:
    from agents.model_client import ModelClient
    from orchestration.patterns.feedback_loop import Issue
    from orchestration.pipeline.file import FailOn
    from orchestration.runtime.monitoring import RunMonitor
    from orchestration.state.base import StateStore

DEFAULT_RUNS_DIR = Path(".forgeflow") / "runs"


@dataclass
class RunReport:
    """Where a finished run put things, and how it went."""

    run_id: str
    ok: bool
    out_dir: Path
    output: Path | None
    report: Path | None
    summary: Path
    state: str
    failed_stage: str | None
    error: str | None
    stages: int
    resumed: int
    #: The stage whose artifact is the pipeline's output (None when the run failed).
    output_stage: str | None = None
    #: ``succeeded``, ``findings`` (finished, but a loop left issues) or ``failed``.
    status: str = "succeeded"
    findings: list[Issue] = field(default_factory=list)
    #: The findings that fail the run under ``fail_on`` (exit code 3 from the CLI).
    failing: list[Issue] = field(default_factory=list)
    #: Issues a loop's output suppresses on purpose, each with its stated reason.
    accepted: list[Issue] = field(default_factory=list)
    #: The trace of the run (None: tracing off).
    trace_id: str | None = None


def stage_file_name(stage: str) -> str:
    """A stage name as a file name: '/' and '#' become '__' and '-'."""
    return stage.replace("/", "__").replace("#", "-") + ".json"


def parse_settings(pairs: list[str] | tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``AGENT.KEY=VALUE`` pairs as {agent: {key: value}}, values as text (each agent's
    settings model gives them their type)."""
    from orchestration.runtime.cli_support import parse_settings as parse_agent_settings

    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        agent, dot, setting = key.partition(".")
        if not sep or not dot or not agent or not setting:
            raise ForgeflowError(f"--set {pair!r}: expected AGENT.KEY=VALUE")
        grouped.setdefault(agent, []).append(f"{setting}={value}")
    return {agent: parse_agent_settings(items) for agent, items in grouped.items()}


def run_pipeline_file(
    pipeline: Path,
    input_path: Path,
    *,
    state: str | None = None,
    run_id: str | None = None,
    out_dir: Path | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    cache_dir: Path | None = None,
    registry: AgentRegistry | None = None,
    model_client: ModelClient | None = None,
    monitor: RunMonitor | None = None,
    store: StateStore | None = None,
    write_files: bool = True,
    fail_on: FailOn | None = None,
) -> RunReport:
    """Check, run and record a pipeline file on one input. See the module docstring.

    ``fail_on`` (``none``, ``high``, ``any``) overrides the loops' own: which findings a
    loop leaves make the run's ``failing`` list.

    ``model_client`` (a hosted model) reaches every agent of the run; it is closed when
    the run ends. ``monitor`` (default: a new one) records every agent run as it ends, so
    a caller can follow the run's progress. ``store`` is an open state store to use
    instead of opening ``state`` (it is left open). With ``write_files=False`` nothing is
    written outside the store (no files in ``out_dir``, no job summary, no annotations):
    for doors that read the run back from the store.
    """
    from orchestration import tracing
    from orchestration.pipeline.file import load_spec, plan_stages, run_planned
    from orchestration.runtime.artifact import new_id
    from orchestration.runtime.execution import RunContext
    from orchestration.runtime.markdown import neutralise
    from orchestration.runtime.monitoring import RunMonitor
    from orchestration.state.open import open_store

    tracing.setup_from_env()  # a tracing setting that cannot work fails before anything runs
    registry = registry or default_registry()
    spec = load_spec(pipeline)
    planned = plan_stages(spec, registry, source=str(pipeline), settings=settings)
    _check_settings_agents(settings or {}, planned, pipeline)
    first = planned[0]
    first_agent = next(iter(first.agents.values()))
    data = first_agent.load_input(input_path)
    run_id = run_id or os.environ.get("FORGEFLOW_RUN_ID") or new_id()
    _check_run_id(run_id)
    out_dir = Path(out_dir) if out_dir else DEFAULT_RUNS_DIR / run_id
    _check_out_dir(out_dir)
    cache = None
    if cache_dir is not None:
        from orchestration.runtime.cache import DirectoryCache

        cache = DirectoryCache(Path(cache_dir))
    monitor = monitor if monitor is not None else RunMonitor()
    with contextlib.nullcontext(store) if store is not None else open_store(state) as store:
        ctx = RunContext(
            run_id=run_id,
            monitor=monitor,
            cache=cache,
            store=store,
            model_client=model_client,
            record_resources=True,
        )

        async def go() -> Any:
            try:
                return await run_planned(planned, data, ctx, settings=settings, fail_on=fail_on)
            finally:
                close = getattr(model_client, "aclose", None)
                if close is not None:
                    await close()

        with tracing.span(
            f"pipeline {spec.name}",
            {
                "forgeflow.pipeline": spec.name,
                "forgeflow.run_id": run_id,
                "forgeflow.correlation_id": ctx.correlation_id,
            },
            parent=tracing.parent_from_env(),
        ) as span:
            result = asyncio.run(go())
            span.set_attributes(
                {
                    "forgeflow.status": result.status if result.ok else "failed",
                    "forgeflow.findings": len(result.findings),
                    "forgeflow.stages": len(result.runs),
                    "forgeflow.resumed": sum(1 for r in result.runs if r.resumed),
                    "forgeflow.cached": sum(1 for r in result.runs if r.cached),
                    "forgeflow.failed_stage": result.failed_stage,
                }
            )
            if not result.ok:
                span.fail("stage_failed")
        trace_id = span.trace_id
        location = store.location
    for run in result.runs:
        exc = getattr(run, "exception", None)
        if isinstance(exc, ForgeflowError):
            raise exc
    final_run = None
    if result.ok and result.runs:
        # the run that produced the pipeline's output (a loop's best attempt is not
        # necessarily its last run, which is a validation)
        final_run = next(
            (r for r in reversed(result.runs) if r.output is result.output),
            next(
                (r for r in reversed(result.runs) if type(r.output) is type(result.output)),
                result.runs[-1],
            ),
        )
    output_path = report = None
    if result.findings:
        monitor.record_findings(result.findings_stage or "loop", result.findings)
    monitor.record_accepted(result.accepted)
    summary = out_dir / "summary.md"
    if write_files:
        files: list[tuple[str, str]] = [
            (stage_file_name(run.stage), _artifact_text(run.envelope)) for run in result.runs
        ]
        if final_run is not None:
            envelope = final_run.envelope
            if final_run.output is not result.output and result.output is not None:
                # a loop's output carries its findings: a copy of the run's own output
                envelope = envelope.model_copy(
                    update={"data": result.output.model_dump(mode="json")}
                )
            files.append(("output.json", _artifact_text(envelope)))
            output_path = out_dir / "output.json"
        final = result.output if result.ok else None
        text = getattr(final, "report_markdown", None)
        if isinstance(text, str) and text:
            files.append(("report.md", text))
            report = out_dir / "report.md"
        title = f"Forgeflow run `{run_id}` of pipeline `{spec.name}`"
        markdown = neutralise(monitor.summary_markdown(title=title, trace_id=trace_id))
        files.append(("summary.md", markdown))
        write_folder(out_dir, files)  # the whole folder or nothing
        from orchestration.runtime.job_summary import write_step_summary

        write_step_summary(markdown)
        monitor.emit_annotations(file=_annotation_file(input_path))
    return RunReport(
        run_id=run_id,
        ok=result.ok,
        out_dir=out_dir,
        output=output_path,
        report=report,
        summary=summary,
        state=location,
        failed_stage=result.failed_stage,
        error=result.error,
        stages=len(result.runs),
        resumed=sum(1 for r in result.runs if getattr(r, "resumed", False)),
        output_stage=final_run.stage if final_run is not None else None,
        status=result.status,
        findings=list(result.findings),
        failing=list(result.failing),
        accepted=[issue for _, issue in result.accepted],
        trace_id=trace_id,
    )


def _annotation_file(path: Path) -> str:
    """``path`` as an annotation's ``file=``: relative to the workspace when inside it
    (GitHub then shows the annotation on that file of the commit), else as given."""
    import os

    workspace = os.environ.get("GITHUB_WORKSPACE", "")
    try:
        if workspace:
            return path.resolve().relative_to(Path(workspace).resolve()).as_posix()
    except ValueError:
        pass
    return str(path)


def _artifact_text(envelope: Any) -> str:
    return str(envelope.model_dump_json(indent=2)) + "\n"


def write_folder(out_dir: Path, files: list[tuple[str, str]]) -> None:
    """Write ``files`` (name, text) into ``out_dir`` whole or not at all.

    Every file is written into a temporary folder beside ``out_dir`` first; only when all
    of them are written (a full disk fails here, with nothing left behind) are they moved
    in: the temporary folder becomes ``out_dir`` when there is none yet, else each file is
    renamed into it (renames within one file system need no space). Other files already
    in ``out_dir`` are left as they are.
    """
    import shutil
    import tempfile

    from orchestration.runtime.artifact import write_text_atomic

    out_dir = Path(out_dir)
    parent = out_dir.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise ForgeflowError(f"--out {out_dir}: cannot create: {exc.strerror or exc}") from None
    try:
        for name, text in files:
            try:
                write_text_atomic(staging / name, text)
            except ForgeflowError as exc:
                why = exc.one_line().rsplit(": ", 1)[-1]
                raise ForgeflowError(
                    f"--out {out_dir}: cannot write {name} ({why}); nothing was written "
                    "(finished stages are in the state store: rerun with the same --run-id)"
                ) from None
        try:
            if not out_dir.exists():
                os.chmod(staging, 0o777 & ~_umask())
                os.replace(staging, out_dir)
                return
            from orchestration.runtime.guards import check_output_target

            for name, _ in files:
                check_output_target(out_dir / name)
            for name, _ in files:
                os.replace(staging / name, out_dir / name)
        except OSError as exc:
            raise ForgeflowError(
                f"--out {out_dir}: cannot move the run's files in: {exc.strerror or exc}"
            ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_settings_agents(
    settings: dict[str, dict[str, Any]], planned: list[Any], pipeline: Path
) -> None:
    """A setting for an agent no stage runs is a typo, not something to ignore."""
    known = sorted({name for stage in planned for name in stage.agents})
    for agent, values in settings.items():
        if agent not in known:
            key = next(iter(values), "KEY")
            raise ForgeflowError(
                f"--set {agent}.{key}: no stage of {pipeline} runs agent {agent!r}; "
                f"its agents: {', '.join(known)}"
            )


def _check_run_id(run_id: str) -> None:
    """Run ids name folders whatever the store: the directory store's rule holds for all."""
    from orchestration.state.directory import check_run_id

    check_run_id(run_id)


def _check_out_dir(out_dir: Path) -> None:
    """Fail before anything runs when ``out_dir`` can never be a folder we can write."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ForgeflowError(f"--out {out_dir}: exists and is not a folder")
    existing = next((p for p in out_dir.absolute().parents if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ForgeflowError(f"--out {out_dir}: {existing} is a file, not a folder")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise ForgeflowError(f"--out {out_dir}: cannot create a folder in {existing}")
