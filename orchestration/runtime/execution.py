"""Run one agent once: validate, time, record, cache, and wrap the result in an envelope.

Every pattern runs agents through :func:`execute`, so timing, monitoring and the result
cache behave the same everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
from orchestration.runtime.artifact import ArtifactStatus, Envelope, digest, make_envelope, new_id

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
        "duration_ms",
        "error",
        "exception",
        "output",
        "resumed",
        "run_id",
        "stage",
        "status",
        "tool_calls",
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


async def execute(
    agent: Agent[Any, Any],
    data: BaseModel | dict[str, Any],
    ctx: RunContext | None = None,
    *,
    stage: str | None = None,
) -> AgentRun:
    """Run ``agent`` on ``data``. Never raises for a failing agent: the error is returned.

    The input is validated against the agent's input model; an invalid input is a failed
    run like any other, so one bad branch cannot take a parallel group down.

    With ``ctx.store`` set, the run is resumable: if the store already holds a succeeded
    artifact for (run id, ``stage``) with the same input digest and agent version, that
    artifact is returned (``resumed=True``) and the agent is not run; otherwise the new
    artifact is stored.
    """
    ctx = ctx or RunContext()
    stage = stage or agent.name
    if agent.model_client is None and ctx.model_client is not None:
        agent.model_client = ctx.model_client
    started_wall = time.time()
    t0 = time.perf_counter()
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
            if agent.model_client is None:  # no model, no calls to count
                output = await agent.run(typed)
            else:
                token = _CURRENT.set(CurrentRun(ctx, stage))
                try:
                    with collect_model_calls() as model_calls, collect_tool_calls() as tool_calls:
                        output = await agent.run(typed)
                finally:
                    _CURRENT.reset(token)
            if ctx.cache is not None and key is not None:
                ctx.cache.put(key, output)
    except Exception as exc:  # an agent's failure is data, not a crash
        error = describe_error(exc)
        caught = exc
        output = None
    elapsed = time.perf_counter() - t0
    status = ArtifactStatus.SUCCEEDED if error is None else ArtifactStatus.FAILED
    run_id, correlation_id = ctx.run_id, ctx.correlation_id

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
    if ctx.store is not None:
        ctx.store.put_stage(ctx.run_id, stage, run.envelope)
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
