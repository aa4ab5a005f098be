"""The sequential pattern: stages in order, each stage's output the next stage's input.

Also holds :class:`AgentSession`, which every pattern uses to enter its agents as async
context managers (once each, on first use) and to leave them when the pattern's run ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from pydantic import BaseModel

from agents.base import Agent, AgentResult
from agents.errors import PipelineError
from orchestration import tracing
from orchestration.patterns.typecheck import incompatibility
from orchestration.runtime.artifact import ArtifactStatus, make_envelope, now
from orchestration.runtime.execution import (
    AgentRun,
    RunContext,
    describe_error,
    execute,
    store_stage,
)

__all__ = ["AgentSession", "PipelineResult", "SequentialPipeline", "Stage", "recorded_run"]

log = logging.getLogger("forgeflow.orchestration")


@dataclass(frozen=True)
class Stage:
    """A named stage of a pipeline: ``name`` is its stage name in state and monitoring."""

    name: str
    agent: Agent[Any, Any]


@dataclass
class PipelineResult:
    """What a sequential run produced.

    ``runs`` holds one :class:`AgentRun` per stage that ran, in order; ``output`` is the
    last stage's output when every stage succeeded, else None; ``failed_stage`` and
    ``error`` name the first stage that failed and why.
    """

    runs: list[AgentRun] = field(default_factory=list)
    output: AgentResult | None = None
    failed_stage: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when every stage ran and succeeded."""
        return self.failed_stage is None


def recorded_run(
    agent: Agent[Any, Any],
    data: BaseModel | dict[str, Any],
    ctx: RunContext,
    *,
    stage: str,
    status: ArtifactStatus,
    error: str | None,
    exception: BaseException | None = None,
) -> AgentRun:
    """An :class:`AgentRun` for a stage that did not go through :func:`execute`.

    Used for a stage whose agent could not be set up (``FAILED``) or that a pattern
    decided not to run (``SKIPPED``). The run is stored and monitored like any other.
    """
    at = now()
    input_value = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    env = make_envelope(
        agent=agent.name,
        agent_version=agent.version,
        output_model=agent.output_model,
        input_value=input_value,
        output=None,
        started_at=at,
        finished_at=at,
        run_id=ctx.run_id,
        correlation_id=ctx.correlation_id,
        status=status,
        error=error,
    )
    run = AgentRun(agent=agent.name, stage=stage, envelope=env, error=error, exception=exception)
    if ctx.store is not None:
        store_stage(ctx, stage, env)
    if ctx.monitor is not None:
        ctx.monitor.record(run)
    return run


class AgentSession:
    """Enters agents on first use and leaves them all when the session ends.

    ::

        async with AgentSession() as session:
            run = await session.run(agent, data, ctx, stage="vision")

    An agent whose set-up raises is not run: :meth:`run` returns a failed
    :class:`AgentRun` naming the set-up error, like any failing agent. Tear-down errors
    are logged (logger ``forgeflow.orchestration``) and do not hide results. An agent
    instance used by several stages is entered once.
    """

    def __init__(self) -> None:
        self._entered: list[Agent[Any, Any]] = []
        self._entered_ids: set[int] = set()
        self._setup_errors: dict[int, str] = {}
        self._setup_exceptions: dict[int, BaseException] = {}
        self._pending: dict[int, asyncio.Future[str | None] | None] = {}

    async def __aenter__(self) -> AgentSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def enter(self, agent: Agent[Any, Any]) -> str | None:
        """Set ``agent`` up unless already done; the set-up error as text, or None.

        Concurrent callers for the same agent wait for the one set-up in progress.
        """
        key = id(agent)
        if key in self._entered_ids:  # the common case
            return None
        if key in self._setup_errors:
            return self._setup_errors[key]
        if key in self._pending:  # another caller is setting it up: wait for it
            waiter = self._pending[key]
            if waiter is None:
                waiter = self._pending[key] = asyncio.get_running_loop().create_future()
            return await asyncio.shield(waiter)
        self._pending[key] = None
        result: str | None = None
        try:
            await agent.__aenter__()
        except Exception as exc:
            result = f"set-up of agent {agent.name!r} failed: {describe_error(exc)}"
            self._setup_errors[key] = result
            self._setup_exceptions[key] = exc
        except BaseException:  # cancelled: let a later caller try again
            waiter = self._pending.pop(key)
            if waiter is not None:
                waiter.cancel()
            raise
        else:
            self._entered.append(agent)
            self._entered_ids.add(key)
        waiter = self._pending.pop(key)
        if waiter is not None:
            waiter.set_result(result)
        return result

    async def run(
        self,
        agent: Agent[Any, Any],
        data: BaseModel | dict[str, Any],
        ctx: RunContext,
        *,
        stage: str,
    ) -> AgentRun:
        """Enter ``agent`` if needed, then :func:`execute` it. Never raises for the agent."""
        error = await self.enter(agent)
        if error is not None:
            return recorded_run(
                agent,
                data,
                ctx,
                stage=stage,
                status=ArtifactStatus.FAILED,
                error=error,
                exception=self._setup_exceptions.get(id(agent)),
            )
        return await execute(agent, data, ctx, stage=stage)

    async def aclose(self) -> None:
        """Tear down every entered agent, last entered first."""
        while self._entered:
            agent = self._entered.pop()
            self._entered_ids.discard(id(agent))
            try:
                await agent.__aexit__(None, None, None)
            except Exception:
                log.exception("tear-down of agent %r failed", agent.name)


class SequentialPipeline:
    """Stages run one after another; each stage's output is the next stage's input.

    ``stages`` are :class:`~agents.base.Agent` instances (the stage is named after the
    agent) or :class:`Stage` objects. Every boundary is type-checked at construction
    with :func:`orchestration.patterns.typecheck.incompatibility`; a mismatch raises
    :class:`~agents.errors.PipelineError` naming both stages and the field, e.g.
    ``stage 2 'filter': input FilterInput cannot take output DetectionResult of stage 1
    'vision': field 'x' missing from DetectionResult (FilterInput requires str)``.
    """

    def __init__(
        self, stages: Sequence[Agent[Any, Any] | Stage], *, name: str = "pipeline"
    ) -> None:
        self.name = name
        self.stages: list[Stage] = [s if isinstance(s, Stage) else Stage(s.name, s) for s in stages]
        if not self.stages:
            raise PipelineError(f"pipeline {name!r} has no stages")
        seen: set[str] = set()
        for stage in self.stages:
            if stage.name in seen:
                raise PipelineError(
                    f"pipeline {name!r}: stage name {stage.name!r} is used twice; "
                    "name the stages with Stage(name, agent)"
                )
            seen.add(stage.name)
        for index in range(1, len(self.stages)):
            before, after = self.stages[index - 1], self.stages[index]
            out_model = before.agent.output_model
            in_model = after.agent.input_model
            reason = incompatibility(out_model, in_model)
            if reason is not None:
                raise PipelineError(
                    f"stage {index + 1} {after.name!r}: input {in_model.__name__} cannot take "
                    f"output {out_model.__name__} of stage {index} {before.name!r}: {reason}"
                )

    @property
    def input_model(self) -> type[BaseModel]:
        """The first stage's input model: what :meth:`run` takes."""
        return self.stages[0].agent.input_model

    @property
    def output_model(self) -> type[AgentResult]:
        """The last stage's output model: what :meth:`run` produces."""
        return self.stages[-1].agent.output_model

    async def run(
        self, data: BaseModel | dict[str, Any], ctx: RunContext | None = None
    ) -> PipelineResult:
        """Run the stages in order, stopping at the first stage that fails.

        Each stage goes through :func:`orchestration.runtime.execution.execute`, so with a state
        store in ``ctx`` a re-run resumes: stages already done with the same input are
        not run again. Agents are entered as async context managers for the run.
        """
        ctx = ctx or RunContext()
        with tracing.span(
            f"pipeline {self.name}",
            {
                "forgeflow.pipeline": self.name,
                "forgeflow.run_id": ctx.run_id,
                "forgeflow.correlation_id": ctx.correlation_id,
            },
        ) as span:
            result = await self._run(data, ctx)
            span.set_attributes(
                {
                    "forgeflow.status": "succeeded" if result.ok else "failed",
                    "forgeflow.failed_stage": result.failed_stage,
                }
            )
            if not result.ok:
                span.fail("stage_failed")
        return result

    async def _run(self, data: BaseModel | dict[str, Any], ctx: RunContext) -> PipelineResult:
        result = PipelineResult()
        current: BaseModel | dict[str, Any] = data
        traced = tracing.enabled()
        async with AgentSession() as session:
            for stage in self.stages:
                if traced:
                    with tracing.span(
                        f"stage {stage.name}",
                        {"forgeflow.stage": stage.name, "forgeflow.stage.kind": "agent"},
                    ):
                        run = await session.run(stage.agent, current, ctx, stage=stage.name)
                else:
                    run = await session.run(stage.agent, current, ctx, stage=stage.name)
                result.runs.append(run)
                if not run.ok or run.output is None:
                    result.failed_stage = stage.name
                    result.error = run.error or "no output"
                    return result
                current = run.output
        result.output = result.runs[-1].output
        return result
