"""The MCP server: tools, resources and prompts over Forgeflow's agents and pipelines.

Every tool runs the same code as the command line — :func:`orchestration.pipeline.runs.start_run`
and :func:`~orchestration.pipeline.runs.resume_run` for pipelines (on the same state store
and artifacts folder as ``python -m orchestration run``), the registry and
:func:`orchestration.runtime.execution.execute` for one agent — in a worker thread, so
two calls run at once and the server keeps answering. A user error (a bad file, an
unknown agent, a setting the agent does not take) is a tool error carrying the CLI's
one-line message. Every file a tool reads or writes must lie inside the client's
declared roots (``file://`` URIs), or inside the server's working folder when the client
declares none.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote, unquote

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, ListRoots, MCPServer, Resolve
from mcp.server.mcpserver.exceptions import ResourceError, ToolError, UnexpectedToolError
from mcp.types import ListRootsResult
from pydantic import Field, ValidationError

from agents.errors import ForgeflowError, InputError
from agents.synthforge.models import Decision, DecisionsFile, ReviewedArchitecture
from orchestration.mcp_server.models import (
    AgentDescription,
    AgentList,
    AgentRunResult,
    AgentSummary,
    AnalysisResult,
    IacResult,
    PipelineResult,
    ReviewItems,
    RunInfo,
    SettingValue,
)
from orchestration.mcp_server.workspace import Workspace, roots_of
from orchestration.pipeline.runs import RunRecord
from orchestration.pipeline.shipped_pipelines import shipped_names, shipped_pipeline
from orchestration.runtime.monitoring import RunMonitor

URI_PREFIX = "forgeflow://runs/"

T = TypeVar("T")


@dataclass
class ServerConfig:
    """Where the server keeps runs: the CLI's defaults unless told otherwise."""

    state: str | None = None
    cache_dir: Path | None = None
    #: The folder relative paths start from when the client declares no roots.
    workdir: Path = field(default_factory=Path.cwd)


# --------------------------------------------------------------------------- helpers


def _client_roots(ctx: Context) -> ListRoots | None:
    """Ask the client for its roots when it declares the capability (resolver)."""
    caps = ctx.client_capabilities
    if caps is not None and caps.roots is not None:
        return ListRoots()
    return None


Roots = Annotated[ListRootsResult | None, Resolve(_client_roots)]


class _ProgressMonitor(RunMonitor):
    """A run monitor that reports each finished agent run as MCP progress and keeps it."""

    def __init__(self, report: Callable[[int, str], None] | None = None) -> None:
        super().__init__()
        self.runs: list[Any] = []
        self._report = report

    def record(self, run: Any, *, after: list[str] | None = None) -> Any:
        rec = super().record(run, after=after)
        self.runs.append(run)
        if self._report is not None:
            how = " (resumed)" if run.resumed else " (cached)" if run.cached else ""
            self._report(len(self.runs), f"{run.stage}: {run.status}{how}")
        return rec


def _progress(ctx: Context, total: int | None) -> Callable[[int, str], None]:
    """A callback for a worker thread that sends progress notifications to the client."""

    def report(done: int, message: str) -> None:
        # progress is best effort: a client gone away does not stop the run
        with contextlib.suppress(Exception):
            anyio.from_thread.run(ctx.report_progress, done, total, message)

    return report


def _user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A tool whose user errors (:class:`ForgeflowError`) are tool errors with the CLI's
    one-line message; anything else is left to the SDK, which reports it without detail."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except ForgeflowError as exc:
            raise ToolError(exc.one_line()) from None

    return wrapper


async def _in_thread(fn: Callable[[], T]) -> T:
    """Run blocking Forgeflow code in a worker thread; a user error is a tool error."""
    try:
        return await anyio.to_thread.run_sync(fn)
    except ForgeflowError as exc:
        raise ToolError(exc.one_line()) from None


def _expected_runs(pipeline: Path) -> int | None:
    """How many agent runs ``pipeline`` makes, when that is known before it runs (no loop)."""
    from orchestration.pipeline.file import load_spec

    total = 0
    for stage in load_spec(pipeline).stages:
        spec = stage.model_dump()
        if "agent" in spec:
            total += 1
        elif "parallel" in spec:
            total += len(spec["parallel"]["branches"]) + 1
        else:
            return None
    return total


def _artifact_uri(run_id: str, stage: str) -> str:
    from orchestration.pipeline.runner import stage_file_name

    return f"{URI_PREFIX}{run_id}/artifacts/{quote(stage_file_name(stage)[:-5], safe='')}"


def _outcome(record: RunRecord, monitor: _ProgressMonitor) -> dict[str, Any]:
    """The fields every run tool returns."""
    return {
        "run_id": record.run_id,
        "status": record.status if record.status in ("succeeded", "findings") else "failed",
        "failed_stage": record.failed_stage,
        "error": record.error,
        "stages": record.stages,
        "resumed": record.resumed,
        "usage": record.usage,
        "report": f"{URI_PREFIX}{record.run_id}/report" if record.report else None,
        "artifacts": [_artifact_uri(record.run_id, run.stage) for run in monitor.runs],
    }


def _output_data(record: RunRecord) -> dict[str, Any] | None:
    if not record.output:
        return None
    from orchestration.runtime.artifact import read_artifact

    data = read_artifact(Path(record.output)).data
    return data


def _model_client() -> Any:
    from agents.models.factory import model_client_from_env

    return model_client_from_env()


def _pipeline_path(name_or_path: str, ws: Workspace) -> Path:
    """A shipped pipeline by name (``synthforge``), else a file inside the roots."""
    if name_or_path in shipped_names():
        return shipped_pipeline(name_or_path)
    return ws.resolve(name_or_path, "pipeline")


def _decisions_settings(
    run_dir: Path, decisions: list[Decision], reviewer: str, accept_rest: bool
) -> dict[str, dict[str, Any]]:
    """Write the decisions into the run's folder (``decisions/``); the interactive agent's
    settings.

    The file is named by its content, so a review with other decisions is other work
    (the stage's settings differ) while the same decisions again resume.
    """
    from orchestration.runtime.artifact import canonical_json, digest, write_text_atomic

    doc = DecisionsFile(reviewer=reviewer, decisions=decisions, accept_rest=accept_rest)
    text = canonical_json(doc.model_dump(mode="json"))
    folder = (Path(run_dir) / "decisions").absolute()
    path = folder / f"{digest(doc.model_dump(mode='json'))[-16:]}.json"
    write_text_atomic(path, text + "\n")
    return {"interactive": {"decisions": str(path)}}


def _record_file(record: RunRecord, path: str | None, what: str) -> str:
    """The text of one of a run's files (its report, its summary), or a ResourceError."""
    if not path:
        raise ResourceError(f"run {record.run_id!r} has no {what} (status {record.status})")
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ResourceError(f"run {record.run_id!r}: {what} {path}: {exc.strerror}") from None


def _review_items(monitor: _ProgressMonitor) -> ReviewItems | None:
    for run in reversed(monitor.runs):
        if isinstance(run.output, ReviewedArchitecture):
            arch = run.output
            return ReviewItems.of(arch.review, arch.resources, arch.needs_clarification)
    return None


# --------------------------------------------------------------------------- the server


class _ForgeflowMCP(MCPServer):
    """MCPServer whose argument errors are one line naming the JSON path, as the CLI's are."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            from agents.base import format_validation_error

            line = format_validation_error(cause)
            raise ToolError(f"Error executing tool {name}: arguments: {line}") from cause


def build_server(config: ServerConfig | None = None) -> MCPServer:
    """The Forgeflow MCP server (tools, resources, prompts), not yet running."""
    cfg = config or ServerConfig()
    from importlib.metadata import PackageNotFoundError, version

    try:
        own_version = version("forgeflow")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        own_version = "0"
    app: MCPServer = _ForgeflowMCP(
        "forgeflow",
        version=own_version,
        instructions=(
            "Forgeflow runs typed, deterministic agents and pipelines. analyse_diagram turns a "
            "draw.io architecture diagram into typed resources, network flows, security "
            "recommendations and a cost estimate; review applies decisions to a run; "
            "generate_iac writes Terraform/Bicep checked by checkov. Paths are inside the "
            "workspace roots."
        ),
        log_level="WARNING",
    )

    def workspace(roots: ListRootsResult | None) -> Workspace:
        return Workspace(roots_of(roots, cfg.workdir))

    def runs_state() -> str | None:
        if cfg.state is not None:
            return cfg.state
        from orchestration.state.base import DEFAULT_STATE_DIR

        return str(cfg.workdir / DEFAULT_STATE_DIR)

    def out_dir(run_id: str) -> Path:
        from orchestration.pipeline.runner import DEFAULT_RUNS_DIR

        return cfg.workdir / DEFAULT_RUNS_DIR / run_id

    def new_run_id(run_id: str | None) -> str:
        from orchestration.runtime.artifact import new_id
        from orchestration.state.directory import check_run_id

        run_id = run_id or new_id()
        check_run_id(run_id)
        return run_id

    def review_settings(
        rid: str, decisions: list[Decision] | None, reviewer: str, pipeline: Path, source: Path
    ) -> dict[str, dict[str, Any]]:
        """The interactive stage's settings: the decisions given, else accept-all.

        The input is read first, so a bad one leaves no decisions file behind.
        """
        from orchestration.pipeline.file import load_spec, plan_stages

        first = plan_stages(load_spec(pipeline))[0]
        next(iter(first.agents.values())).load_input(source)
        if decisions is None:
            return {"interactive": {"yes": "true"}}
        return _decisions_settings(out_dir(rid), decisions, reviewer, True)

    async def start(
        ctx: Context,
        pipeline: Path,
        source: Path,
        rid: str,
        settings: dict[str, dict[str, Any]],
    ) -> tuple[RunRecord, _ProgressMonitor]:
        """Start a run of ``pipeline`` in a worker thread, reporting progress to ``ctx``."""
        from orchestration.pipeline.runs import start_run

        monitor = _ProgressMonitor(_progress(ctx, _expected_runs(pipeline)))
        record = await _in_thread(
            lambda: start_run(
                pipeline,
                source,
                state=runs_state(),
                run_id=rid,
                out_dir=out_dir(rid),
                settings=settings,
                cache_dir=cfg.cache_dir,
                model_client=_model_client(),
                monitor=monitor,
            )
        )
        return record, monitor

    # ------------------------------------------------------------------ agents

    @app.tool(title="List agents")
    @_user_errors
    async def list_agents() -> AgentList:
        """List every Forgeflow agent with its input and output types."""
        from agents.registry import default_registry

        infos = default_registry().describe()
        return AgentList(
            agents=[
                AgentSummary(
                    name=i.name,
                    description=i.description,
                    input_model=i.input_model,
                    output_model=i.output_model,
                )
                for i in infos
            ]
        )

    @app.tool(title="Describe an agent")
    @_user_errors
    async def describe_agent(
        name: Annotated[str, Field(description="Agent name, as list_agents shows it")],
    ) -> AgentDescription:
        """An agent's input, output and settings JSON Schemas."""
        from agents.registry import default_registry

        try:
            registry = default_registry()
            cls = registry.get(name)
        except ForgeflowError as exc:
            raise ToolError(exc.one_line()) from None
        info = next(i for i in registry.describe() if i.name == name)
        settings = cls.settings_model.model_json_schema() if cls.settings_model else None
        return AgentDescription(
            name=name,
            description=info.description,
            version=cls.version,
            input_model=cls.input_model.__name__,
            output_model=cls.output_model.__name__,
            input_schema=cls.input_model.model_json_schema(),
            output_schema=cls.output_model.model_json_schema(),
            settings_schema=settings,
        )

    @app.tool(title="Run one agent")
    @_user_errors
    async def run_agent(
        agent: Annotated[str, Field(description="Agent name")],
        roots: Roots,
        input: Annotated[
            dict[str, Any] | None,
            Field(description="The input as JSON (the agent's input model, or an artifact)"),
        ] = None,
        input_path: Annotated[
            str | None,
            Field(description="Or a file in the workspace: an artifact, JSON, or a diagram"),
        ] = None,
        settings: Annotated[
            dict[str, SettingValue] | None,
            Field(description="Agent settings (describe_agent gives their schema)"),
        ] = None,
    ) -> AgentRunResult:
        """Run one agent on a JSON input or a workspace file; its typed output is stored."""
        if (input is None) == (input_path is None):
            raise ToolError("give exactly one of 'input' (JSON) or 'input_path' (a file)")
        ws = workspace(roots)
        path = ws.resolve(input_path, "input_path") if input_path is not None else None
        run_id = new_run_id(None)

        def go() -> AgentRunResult:
            from agents.base import AgentConfig, format_validation_error
            from agents.errors import SchemaViolation
            from agents.registry import default_registry
            from orchestration.runtime.artifact import is_envelope
            from orchestration.runtime.execution import RunContext, execute
            from orchestration.state.open import open_store

            cls = default_registry().get(agent)
            values = dict(settings or {})
            cls.check_settings(values, agent=agent)
            if path is not None:
                data: Any = cls.load_input(path)
            else:
                doc = input
                if input is not None and is_envelope(input):
                    if input.get("status") != "succeeded":
                        raise InputError(
                            f"input: artifact of agent {input.get('agent')!r} has status "
                            f"{input.get('status')!r}: {input.get('error') or 'no data'}"
                        )
                    doc = input.get("data")
                try:
                    data = cls.input_model.model_validate(doc)
                except ValidationError as exc:
                    raise SchemaViolation(
                        f"input: {format_validation_error(exc)} "
                        f"(expected {cls.input_model.__name__})"
                    ) from None
            client = _model_client()
            with open_store(runs_state()) as store:
                ctx = RunContext(run_id=run_id, monitor=RunMonitor(), store=store)

                async def one() -> Any:
                    try:
                        config = AgentConfig(name=agent, settings=values)
                        async with cls(config, model_client=client) as instance:
                            return await execute(instance, data, ctx, stage=agent)
                    finally:
                        close = getattr(client, "aclose", None)
                        if close is not None:
                            await close()

                result = asyncio.run(one())
            if isinstance(result.exception, ForgeflowError):
                raise result.exception
            env = result.envelope
            return AgentRunResult(
                run_id=run_id,
                agent=agent,
                status=str(env.status),  # type: ignore[arg-type]
                schema_id=env.schema_id,
                data=env.data,
                error=env.error,
                artifact=_artifact_uri(run_id, agent),
            )

        return await _in_thread(go)

    # ------------------------------------------------------------------ SynthForge

    def _analysis_result(record: RunRecord, monitor: _ProgressMonitor) -> AnalysisResult:
        from agents.synthforge.models import ArchitectureAnalysis

        data = _output_data(record)
        analysis = ArchitectureAnalysis.model_validate(data) if data else None
        if analysis is None:
            found = [r.output for r in monitor.runs if isinstance(r.output, ArchitectureAnalysis)]
            analysis = found[-1] if found else None
        return AnalysisResult(
            **_outcome(record, monitor), review=_review_items(monitor), analysis=analysis
        )

    @app.tool(title="Analyse a diagram")
    @_user_errors
    async def analyse_diagram(
        path: Annotated[str, Field(description="A draw.io diagram (or PNG/JPEG with a model)")],
        ctx: Context,
        roots: Roots,
        decisions: Annotated[
            list[Decision] | None,
            Field(description="Review decisions; none: accept every resource as classified"),
        ] = None,
        reviewer: Annotated[str, Field(description="Who decided (with decisions)")] = "copilot",
        region: Annotated[
            str | None, Field(description="Azure region for the cost estimate")
        ] = None,
        run_id: Annotated[str | None, Field(description="Run id (default: new)")] = None,
    ) -> AnalysisResult:
        """SynthForge on one diagram: typed resources, review items, flows, security, cost
        and the markdown report (pipelines/synthforge.yaml, as the CLI runs it)."""

        ws = workspace(roots)
        diagram = ws.resolve(path, "path")
        pipeline = shipped_pipeline("synthforge")
        rid = new_run_id(run_id)

        settings = review_settings(rid, decisions, reviewer, pipeline, diagram)
        if region:
            settings["cost_estimation"] = {"region": region}
        record, monitor = await start(ctx, pipeline, diagram, rid, settings)
        return _analysis_result(record, monitor)

    @app.tool(title="Review a run")
    @_user_errors
    async def review(
        run_id: Annotated[str, Field(description="A run of analyse_diagram or generate_iac")],
        decisions: Annotated[
            list[Decision], Field(description="confirm / correct / remove / add decisions")
        ],
        ctx: Context,
        reviewer: Annotated[str, Field(description="Who decided")] = "copilot",
        accept_rest: Annotated[
            bool, Field(description="Confirm every resource no decision mentions")
        ] = True,
    ) -> AnalysisResult:
        """Apply review decisions to a run and resume it: the stages before the review are
        not run again; the review and everything after it are."""
        from orchestration.pipeline.file import load_spec, plan_stages
        from orchestration.pipeline.runs import read_record, resume_run
        from orchestration.state.directory import check_run_id
        from orchestration.state.open import open_store

        check_run_id(run_id)
        with open_store(runs_state()) as store:
            found = read_record(store, run_id)
        if found is None:
            raise InputError(f"run {run_id!r}: no such run in the state store")
        pipeline = Path(found.pipeline)
        if not any("interactive" in st.agents for st in plan_stages(load_spec(pipeline))):
            raise InputError(f"run {run_id!r}: its pipeline {pipeline} has no review stage")
        settings = _decisions_settings(Path(found.out_dir), decisions, reviewer, accept_rest)
        settings["interactive"]["yes"] = "false"  # the decisions, not accept-all
        monitor = _ProgressMonitor(_progress(ctx, _expected_runs(pipeline)))
        record = await _in_thread(
            lambda: resume_run(
                run_id,
                state=runs_state(),
                settings=settings,
                model_client=_model_client(),
                monitor=monitor,
            )
        )
        return _analysis_result(record, monitor)

    @app.tool(title="Generate infrastructure as code")
    @_user_errors
    async def generate_iac(
        path: Annotated[str, Field(description="A draw.io diagram in the workspace")],
        output_dir: Annotated[
            str,
            Field(
                description="Folder for the modules; replaced only if it holds an earlier "
                "generation, never a folder of other files"
            ),
        ],
        ctx: Context,
        roots: Roots,
        iac: Annotated[Literal["terraform", "bicep", "both"], Field()] = "both",
        decisions: Annotated[
            list[Decision] | None,
            Field(description="Review decisions; none: accept every resource as classified"),
        ] = None,
        reviewer: str = "copilot",
        run_id: Annotated[str | None, Field(description="Run id (default: new)")] = None,
    ) -> IacResult:
        """SynthForge with the IaC loop (pipelines/synthforge-iac.yaml): Terraform and/or
        Bicep modules generated, checked by checkov, fixed, and written to output_dir."""

        ws = workspace(roots)
        diagram = ws.resolve(path, "path")
        target = ws.resolve(output_dir, "output_dir")
        from agents.synthforge.iac.module_development import check_output_dir

        check_output_dir(target)  # refused now, not after the loop has run
        pipeline = shipped_pipeline("synthforge-iac")
        rid = new_run_id(run_id)

        settings = review_settings(rid, decisions, reviewer, pipeline, diagram)
        settings["module_development"] = {"iac": iac}
        settings["write_modules"] = {"output_dir": str(target)}
        record, monitor = await start(ctx, pipeline, diagram, rid, settings)
        from agents.synthforge.iac.models import GeneratedModules, UnfixedIssue
        from orchestration.patterns.feedback_loop import ValidationReport

        data = _output_data(record)
        modules = GeneratedModules.model_validate(data) if data else None
        reports = [r.output for r in monitor.runs if isinstance(r.output, ValidationReport)]
        return IacResult(
            **_outcome(record, monitor),
            output_dir=modules.output_dir if modules else None,
            iac=str(modules.iac) if modules else None,
            files=[f.path for f in modules.files] if modules else [],
            valid=bool(reports) and reports[-1].valid,
            fixes=len(modules.fixes) if modules else 0,
            # what the last validation still found, each with why it is left
            unfixed=[
                UnfixedIssue(issue=issue, reason=issue.reason or "not known")
                for issue in (modules.findings if modules else [])
            ],
            skipped=modules.skipped if modules else [],
        )

    # ------------------------------------------------------------------ pipelines and runs

    @app.tool(title="Run a pipeline")
    @_user_errors
    async def run_pipeline(
        pipeline: Annotated[
            str,
            Field(
                description="A shipped pipeline by name (synthforge, synthforge-iac) or a "
                "pipeline file in the workspace"
            ),
        ],
        input_path: Annotated[str, Field(description="Input of the first stage (a file)")],
        ctx: Context,
        roots: Roots,
        settings: Annotated[
            dict[str, dict[str, SettingValue]] | None,
            Field(description="Settings by agent: {AGENT: {KEY: VALUE}} (--set AGENT.KEY=VALUE)"),
        ] = None,
        run_id: Annotated[
            str | None, Field(description="Run id; an earlier run's id resumes it")
        ] = None,
    ) -> PipelineResult:
        """Run a pipeline file end to end on one input, as `python -m orchestration run` does."""

        ws = workspace(roots)
        file = _pipeline_path(pipeline, ws)
        source = ws.resolve(input_path, "input_path")
        rid = new_run_id(run_id)

        values = {agent: dict(v) for agent, v in (settings or {}).items()}
        record, monitor = await start(ctx, file, source, rid, values)
        return PipelineResult(
            **_outcome(record, monitor), pipeline=str(file), output=_output_data(record)
        )

    @app.tool(title="Get a run")
    @_user_errors
    async def get_run(
        run_id: Annotated[str, Field(description="The run id a tool or the CLI gave")],
    ) -> RunInfo:
        """A run's status, stages and model usage, from the state store."""
        from orchestration.pipeline.runs import run_status

        status = await _in_thread(lambda: run_status(run_id, state=runs_state()))
        report = status.record.report if status.record else None
        return RunInfo(
            **status.model_dump(),
            report=f"{URI_PREFIX}{run_id}/report" if report else None,
            artifacts=[_artifact_uri(run_id, s.stage) for s in status.stages],
        )

    # ------------------------------------------------------------------ resources

    def _read_record(run_id: str) -> RunRecord:
        from orchestration.pipeline.runs import read_record
        from orchestration.state.directory import check_run_id
        from orchestration.state.open import open_store

        try:
            check_run_id(run_id)
            with open_store(runs_state()) as store:
                record = read_record(store, run_id)
        except ForgeflowError as exc:
            raise ResourceError(exc.one_line()) from None
        if record is None:
            raise ResourceError(f"run {run_id!r}: no such run in the state store")
        return record

    @app.resource(
        "forgeflow://runs/{run_id}/report",
        name="run-report",
        title="A run's markdown report",
        mime_type="text/markdown",
    )
    def run_report(run_id: str) -> str:
        """The markdown report of a run (SynthForge's architecture analysis)."""
        record = _read_record(run_id)
        return _record_file(record, record.report, "report")

    @app.resource(
        "forgeflow://runs/{run_id}/summary",
        name="run-summary",
        title="A run's summary (timings, a mermaid graph)",
        mime_type="text/markdown",
    )
    def run_summary(run_id: str) -> str:
        """The run summary: a table of stage timings and a mermaid graph of the run."""
        record = _read_record(run_id)
        return _record_file(record, record.summary, "summary")

    @app.resource(
        "forgeflow://runs/{run_id}/artifacts/{stage}",
        name="run-artifact",
        title="One stage's artifact of a run",
        mime_type="application/json",
    )
    def run_artifact(run_id: str, stage: str) -> str:
        """One stored stage artifact (envelope and typed data) of a run, as JSON."""
        from orchestration.pipeline.runner import stage_file_name
        from orchestration.state.directory import check_run_id
        from orchestration.state.open import open_store

        wanted = unquote(stage)
        try:
            check_run_id(run_id)
            with open_store(runs_state()) as store:
                stages = store.list_stages(run_id)
        except ForgeflowError as exc:
            raise ResourceError(exc.one_line()) from None
        for name, env in stages:
            if stage_file_name(name)[:-5] == wanted or name == wanted:
                return env.model_dump_json(indent=2)
        known = ", ".join(stage_file_name(n)[:-5] for n, _ in stages) or "none"
        raise ResourceError(f"run {run_id!r} has no stage {wanted!r}; its stages: {known}")

    # ------------------------------------------------------------------ prompts

    @app.prompt(title="Analyse an architecture diagram")
    def analyse_architecture(path: str) -> str:
        """Analyse a draw.io architecture diagram with Forgeflow and summarise it."""
        return (
            "Call the Forgeflow tool analyse_diagram with path "
            f"{json.dumps(path)}. Then summarise the result for me: the resources and their "
            "types, the network flows that are not private, the security recommendations, "
            "and the monthly cost estimate with its assumptions. List every item in "
            "review.needs_clarification and ask me how to decide it; apply my answers with "
            "the review tool."
        )

    @app.prompt(title="Generate infrastructure as code from a diagram")
    def generate_infrastructure(path: str, output_dir: str = "iac", iac: str = "both") -> str:
        """Generate Terraform and/or Bicep from a diagram and report what checkov left."""
        return (
            "Call the Forgeflow tool generate_iac with path "
            f"{json.dumps(path)}, output_dir {json.dumps(output_dir)} and iac "
            f"{json.dumps(iac)}. Tell me which files it wrote, whether the last checkov "
            "validation passed, which fixes it applied and which findings remain unfixed, "
            "with their reasons."
        )

    return app


__all__ = ["ServerConfig", "build_server"]
