"""Run one agent once: validate, time, record, cache, and wrap the result in an envelope.

Every pattern runs agents through :func:`execute`, so timing, monitoring and the result
cache behave the same everywhere.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agents.base import Agent, AgentResult, coerce_model
from agents.errors import ForgeflowError
from agents.model_client import (
    ModelCall,
    ModelClient,
    ToolCallRecord,
    collect_model_calls,
    collect_tool_calls,
)
from orchestration import tracing
from orchestration.runtime.artifact import ArtifactStatus, Envelope, digest, make_envelope, new_id

try:
    import resource as _resource
except ImportError:  # not on Windows: peak memory is then unknown
    _resource = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from orchestration.runtime.cache import ResultCache
    from orchestration.runtime.monitoring import RunMonitor
    from orchestration.state.base import StateStore


@dataclass
class RunContext:
    """What every agent run in one pipeline run shares."""

    run_id: str = field(default_factory=new_id)
    correlation_id: str = ""
    monitor: RunMonitor | None = None
    cache: ResultCache | None = None
    store: StateStore | None = None
    #: Given to every agent run that has no model client of its own (None: no model).
    model_client: ModelClient | None = None
    #: Record each run's CPU time and peak memory (two ``getrusage`` calls a run; the
    #: CLIs turn it on, and so does tracing, which puts them on the spans).
    record_resources: bool = False

    def __post_init__(self) -> None:
        if not self.correlation_id:
            self.correlation_id = self.run_id


@dataclass(frozen=True)
class CurrentRun:
    """The agent run in progress in this task: its context and stage (agents offered as
    tools run in the same context, below the caller's stage)."""

    ctx: RunContext
    stage: str


_CURRENT: ContextVar[CurrentRun | None] = ContextVar("forgeflow_current_run", default=None)


def current_run() -> CurrentRun | None:
    """The agent run :func:`execute` is running in this task, or None outside one."""
    return _CURRENT.get()


class AgentRun:
    """The outcome of one agent run: its typed output or its error, and its envelope.

    The envelope (the artifact written to disk or to a state store) is built on first
    access, so in-process pipelines that never persist a stage do not pay for hashing
    the input and dumping the output. ``status``, ``duration_ms`` and ``run_id`` are
    known without it.
    """

    __slots__ = (
        "_build",
        "_envelope",
        "agent",
        "cached",
        "cpu_ms",
        "duration_ms",
        "error",
        "exception",
        "output",
        "peak_rss_kb",
        "resumed",
        "rss_growth_kb",
        "run_id",
        "stage",
        "status",
        "tool_calls",
        "trace_id",
        "usage",
    )

    def __init__(
        self,
        agent: str,
        stage: str,
        envelope: Envelope | None = None,
        output: AgentResult | None = None,
        error: str | None = None,
        cached: bool = False,
        resumed: bool = False,
        exception: BaseException | None = None,
        *,
        build: Callable[[], Envelope] | None = None,
        status: ArtifactStatus | None = None,
        duration_ms: float = 0.0,
        run_id: str = "",
        usage: list[ModelCall] | None = None,
        tool_calls: list[ToolCallRecord] | None = None,
        cpu_ms: float | None = None,
        peak_rss_kb: int | None = None,
        rss_growth_kb: int | None = None,
        trace_id: str | None = None,
    ) -> None:
        if envelope is None and (build is None or status is None):
            raise TypeError("AgentRun needs an envelope, or a builder with a status")
        self.agent = agent
        self.stage = stage
        self.output = output
        self.error = error
        self.cached = cached
        self.resumed = resumed
        self.exception = exception
        #: The model calls the agent made during this run (tokens and estimated cost).
        self.usage: list[ModelCall] = list(usage or [])
        #: The tool calls the agent's model made during this run, each with its outcome.
        self.tool_calls: list[ToolCallRecord] = list(tool_calls or [])
        #: CPU time of the process while the agent ran (None: it did not run here).
        self.cpu_ms = cpu_ms
        #: The process's peak resident memory when the run ended, and how much this run
        #: raised it (None: unknown, or the agent did not run here).
        self.peak_rss_kb = peak_rss_kb
        self.rss_growth_kb = rss_growth_kb
        #: The trace this run's span belongs to (None: tracing off).
        self.trace_id = trace_id
        self._envelope = envelope
        self._build = build
        if envelope is not None:
            self.status = envelope.status
            self.duration_ms = envelope.duration_ms
            self.run_id = envelope.run_id
        else:
            assert status is not None
            self.status = status
            self.duration_ms = duration_ms
            self.run_id = run_id

    @property
    def envelope(self) -> Envelope:
        """The artifact of this run (built once, on first access)."""
        if self._envelope is None:
            assert self._build is not None
            self._envelope = self._build()
            self._build = None
        return self._envelope

    @property
    def ok(self) -> bool:
        return self.status is ArtifactStatus.SUCCEEDED

    def __repr__(self) -> str:
        return f"AgentRun(agent={self.agent!r}, stage={self.stage!r}, status={self.status!s})"


def describe_error(exc: BaseException) -> str:
    """One line describing an exception: a user error's message, else ``Type: message``."""
    if isinstance(exc, ForgeflowError):
        return exc.one_line()
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def execute(
    agent: Agent[Any, Any],
    data: BaseModel | dict[str, Any],
    ctx: RunContext | None = None,
    *,
    stage: str | None = None,
) -> Coroutine[Any, Any, AgentRun]:
    """Run ``agent`` on ``data`` (``await execute(...)``). Never raises for a failing
    agent: the error is returned.

    The input is validated against the agent's input model; an invalid input is a failed
    run like any other, so one bad branch cannot take a parallel group down.

    With ``ctx.store`` set, the run is resumable: if the store already holds a succeeded
    artifact for (run id, ``stage``) with the same input digest and agent version, that
    artifact is returned (``resumed=True``) and the agent is not run; otherwise the new
    artifact is stored.

    With tracing on the run is an ``invoke_agent AGENT`` span. This is a plain function
    returning the run's coroutine, so that with tracing off a run costs no extra
    coroutine for it.
    """
    ctx = ctx or RunContext()
    stage = stage or agent.name
    if agent.model_client is None and ctx.model_client is not None:
        agent.model_client = ctx.model_client
    if not tracing.enabled():
        return _execute(agent, data, ctx, stage, tracing.INERT_SPAN)
    return _traced_execute(agent, data, ctx, stage)


async def _traced_execute(
    agent: Agent[Any, Any], data: BaseModel | dict[str, Any], ctx: RunContext, stage: str
) -> AgentRun:
    with tracing.span(
        f"invoke_agent {agent.name}",
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent.name,
            "forgeflow.agent": agent.name,
            "forgeflow.agent_version": agent.version,
            "forgeflow.stage": stage,
            "forgeflow.run_id": ctx.run_id,
            "forgeflow.correlation_id": ctx.correlation_id,
        },
    ) as span:
        run = await _execute(agent, data, ctx, stage, span)
        if span.recording:
            _describe_run(span, run)
        return run


def _describe_run(span: tracing.Span, run: AgentRun) -> None:
    """The run's outcome as attributes of its span (never its error text or data)."""
    span.set_attributes(
        {
            "forgeflow.status": str(run.status),
            "forgeflow.cached": run.cached,
            "forgeflow.resumed": run.resumed,
            "forgeflow.duration_ms": round(run.duration_ms, 3),
            "forgeflow.cpu_ms": None if run.cpu_ms is None else round(run.cpu_ms, 3),
            "forgeflow.peak_rss_kb": run.peak_rss_kb,
            "forgeflow.rss_growth_kb": run.rss_growth_kb,
        }
    )
    if run.resumed:  # the stored artifact's digest (a new run sets its own in _execute)
        span.set("forgeflow.input_digest", run.envelope.input_digest)
    if run.usage:
        costs = [c.usage.cost_usd for c in run.usage]
        span.set_attributes(
            {
                "forgeflow.model_calls": len(run.usage),
                "gen_ai.usage.input_tokens": sum(c.usage.input_tokens for c in run.usage),
                "gen_ai.usage.output_tokens": sum(c.usage.output_tokens for c in run.usage),
                "forgeflow.cost_usd": None
                if any(c is None for c in costs)
                else sum(c for c in costs if c is not None),
            }
        )
    if not run.ok:
        exc = run.exception
        span.fail(type(exc).__name__ if exc is not None else str(run.status))


def resource_usage() -> tuple[float, int] | None:
    """The process's CPU time so far (user + system, ms) and its peak resident set size
    (KiB), from one ``getrusage`` call; None where the platform has no ``resource``."""
    if _resource is None:
        return None
    usage = _resource.getrusage(_resource.RUSAGE_SELF)
    peak = int(usage.ru_maxrss)
    peak = peak // 1024 if sys.platform == "darwin" else peak  # macOS counts bytes
    return (usage.ru_utime + usage.ru_stime) * 1000, peak


def store_stage(ctx: RunContext, stage: str, envelope: Envelope) -> None:
    """``ctx.store.put_stage`` as a span of its own (a state-store write)."""
    assert ctx.store is not None
    with tracing.span(
        "state put_stage",
        {
            "forgeflow.run_id": ctx.run_id,
            "forgeflow.stage": stage,
            "forgeflow.state.store": type(ctx.store).__name__,
        },
        kind="client",
    ):
        ctx.store.put_stage(ctx.run_id, stage, envelope)


async def _execute(
    agent: Agent[Any, Any],
    data: BaseModel | dict[str, Any],
    ctx: RunContext,
    stage: str,
    span: tracing.Span,
) -> AgentRun:
    started_wall = time.time()
    t0 = time.perf_counter()
    recording = span.recording
    before = resource_usage() if ctx.record_resources or recording else None
    output: AgentResult | None = None
    error: str | None = None
    cached = False
    caught: BaseException | None = None
    model_calls: list[ModelCall] = []
    tool_calls: list[ToolCallRecord] = []
    input_value: Any = data  # the validated input once known (digest() dumps models)
    input_digest: str | None = None
    try:
        typed = (
            data
            if isinstance(data, agent.input_model)
            else coerce_model(agent.input_model, data, what=f"input of agent {agent.name!r}")
        )
        input_value = typed
        if ctx.store is not None:
            input_digest = _input_digest(agent, typed)
            resumed = _resume(agent, ctx, stage, input_digest)
            if resumed is not None:
                if ctx.monitor is not None:
                    ctx.monitor.record(resumed)
                return resumed
        key = None
        if ctx.cache is not None:
            input_digest = input_digest or _input_digest(agent, typed)
            key = ctx.cache.key(agent.name, agent.version, input_digest)
            hit = ctx.cache.get(key, agent.output_model)
            if hit is not None:
                output, cached = hit, True
        if output is None:
            client = agent.model_client
            if client is None:  # no model, no calls to count
                output = await agent.run(typed)
            else:
                if recording:
                    from orchestration.tracing.genai import traced_model_client

                    agent.model_client = traced_model_client(client)
                token = _CURRENT.set(CurrentRun(ctx, stage))
                try:
                    with collect_model_calls() as model_calls, collect_tool_calls() as tool_calls:
                        output = await agent.run(typed)
                finally:
                    _CURRENT.reset(token)
                    agent.model_client = client
            if ctx.cache is not None and key is not None:
                ctx.cache.put(key, output)
    except Exception as exc:  # an agent's failure is data, not a crash
        error = describe_error(exc)
        caught = exc
        output = None
    elapsed = time.perf_counter() - t0
    after = resource_usage() if before is not None else None
    status = ArtifactStatus.SUCCEEDED if error is None else ArtifactStatus.FAILED
    run_id, correlation_id = ctx.run_id, ctx.correlation_id
    traceparent = span.traceparent if recording else None
    if recording:  # the digest only (the envelope stays unbuilt until it is needed)
        if input_digest is None and isinstance(input_value, BaseModel):
            input_digest = _input_digest(agent, input_value)
        span.set("forgeflow.input_digest", input_digest)

    def build() -> Envelope:
        started = datetime.fromtimestamp(started_wall, UTC)
        digest_now = input_digest
        if digest_now is None and isinstance(input_value, BaseModel):
            digest_now = _input_digest(agent, input_value)
        env = make_envelope(
            agent=agent.name,
            agent_version=agent.version,
            output_model=agent.output_model,
            input_value=input_value,
            output=output,
            started_at=started,
            finished_at=started + timedelta(seconds=elapsed),
            run_id=run_id,
            correlation_id=correlation_id,
            status=status,
            error=error,
            input_digest=digest_now,
            traceparent=traceparent,
        )
        env.duration_ms = elapsed * 1000
        return env

    run = AgentRun(
        agent=agent.name,
        stage=stage,
        output=output,
        error=error,
        cached=cached,
        exception=caught,
        build=build,
        status=status,
        duration_ms=elapsed * 1000,
        run_id=run_id,
        usage=model_calls,
        tool_calls=tool_calls,
    )
    if before is not None and after is not None:
        run.cpu_ms = max(0.0, after[0] - before[0])
        run.peak_rss_kb = after[1]
        run.rss_growth_kb = max(0, after[1] - before[1])
    if traceparent:
        run.trace_id = tracing.trace_id_of(traceparent)
    if ctx.store is not None:
        store_stage(ctx, stage, run.envelope)
    if ctx.monitor is not None:
        ctx.monitor.record(run)
    return run


def _input_digest(agent: Agent[Any, Any], typed: BaseModel) -> str:
    """The digest that decides resuming and caching: the input, plus the agent's validated
    settings when any differs from its default (the same input reviewed with other
    decisions is other work), plus
    the model and the instructions (prompt) when the agent may call a model (another
    model or prompt gives another answer)."""
    settings = _settings_part(agent)
    model_part = _model_part(agent)
    if not settings and not model_part:
        return digest(typed)
    doc: dict[str, Any] = {"input": typed.model_dump(mode="json"), "settings": settings}
    if model_part:
        doc["model"] = model_part
    return digest(doc)


def _settings_part(agent: Agent[Any, Any]) -> dict[str, Any]:
    """The agent's validated settings that differ from their defaults, as JSON.

    Equivalent settings are the same work: ``yes=true`` and ``yes=True`` validate to the
    same value, and a setting given at its default is the same as none. An agent given no
    settings costs nothing here.
    """
    if not agent.config.settings:
        return {}
    typed = getattr(agent, "settings", None)
    if not isinstance(typed, BaseModel):
        return dict(agent.config.settings)
    dumped: dict[str, Any] = typed.model_dump(mode="json", exclude_defaults=True)
    return dumped


def _model_part(agent: Agent[Any, Any]) -> dict[str, Any] | None:
    """The model and prompt that shape this agent's answer, or None when it has no model."""
    config = agent.config
    client = agent.model_client
    if client is None and not config.model and not config.instructions:
        return None
    model = config.model or (getattr(client, "model", None) if client is not None else None)
    part: dict[str, Any] = {"name": model, "instructions": config.instructions}
    if config.tools:  # other tools (or bounds) can give another answer
        part["tools"] = [
            t if isinstance(t, str) else t.model_dump(mode="json") for t in config.tools
        ]
        part["tool_policy"] = config.tool_policy.model_dump(mode="json")
    return part


def _resume(
    agent: Agent[Any, Any], ctx: RunContext, stage: str, input_digest: str
) -> AgentRun | None:
    assert ctx.store is not None
    env = ctx.store.get_stage(ctx.run_id, stage)
    if (
        env is None
        or env.status is not ArtifactStatus.SUCCEEDED
        or env.agent_version != agent.version
        or env.input_digest != input_digest
        or env.data is None
    ):
        return None
    try:
        output = agent.output_model.model_validate(env.data)
    except Exception:  # a stored artifact from an older model: run again
        return None
    return AgentRun(agent=agent.name, stage=stage, envelope=env, output=output, resumed=True)
