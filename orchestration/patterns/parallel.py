"""The parallel pattern: fan one input out to several agents, then fan the results in.

Branches run concurrently under an optional bound; a failing branch (an exception, an
invalid input, a failed set-up) is recorded with its error and the others complete. The
group's results become a combiner's input through :meth:`ParallelResult.combine_input`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from agents.base import Agent, AgentResult
from agents.errors import PipelineError
from orchestration import tracing
from orchestration.patterns.sequential import AgentSession
from orchestration.patterns.typecheck import fields_incompatibility
from orchestration.runtime.execution import AgentRun, RunContext
from orchestration.runtime.heap import fewer_collections

__all__ = ["BRANCH_RESERVED", "ParallelOrchestrator", "ParallelResult"]

#: Keys of the combiner input that a branch cannot be named.
BRANCH_RESERVED = frozenset({"upstream", "failures"})


class _BranchFailure(BaseModel):
    """The shape of one entry of ``failures`` in a combiner input."""

    branch: str
    error: str


@dataclass
class ParallelResult:
    """The outcome of one parallel group.

    ``runs`` maps each branch name to its :class:`AgentRun`, in branch order.
    """

    runs: dict[str, AgentRun] = field(default_factory=dict)

    @property
    def succeeded(self) -> dict[str, AgentResult]:
        """Branch name -> output, for the branches that succeeded."""
        return {
            name: run.output for name, run in self.runs.items() if run.ok and run.output is not None
        }

    @property
    def failed(self) -> dict[str, str]:
        """Branch name -> error, for the branches that failed."""
        return {
            name: run.error or str(run.status)
            for name, run in self.runs.items()
            if not run.ok or run.output is None
        }

    @property
    def ok(self) -> bool:
        """True when every branch succeeded."""
        return not self.failed

    def combine_input(self, upstream: BaseModel | dict[str, Any]) -> dict[str, Any]:
        """The document a combiner agent takes.

        ``{"upstream": <the group's input>, "<branch>": <output or None>, ...,
        "failures": [{"branch": name, "error": text}, ...]}``, all in JSON mode. A combiner
        declares it as its input model, with one optional field per branch (see
        ``CombineInput`` in ``agents.synthforge.models``).
        """
        with fewer_collections():  # the dumps are many small objects, all kept
            doc: dict[str, Any] = {
                "upstream": upstream.model_dump(mode="json")
                if isinstance(upstream, BaseModel)
                else upstream
            }
            ok = self.succeeded
            for name in self.runs:
                output = ok.get(name)
                doc[name] = output.model_dump(mode="json") if output is not None else None
        doc["failures"] = [{"branch": name, "error": error} for name, error in self.failed.items()]
        return doc


class ParallelOrchestrator:
    """Runs every branch on the same input, concurrently, at most ``max_concurrency``
    at a time (None: no bound).

    ``branches`` is a mapping of branch name to agent, or a sequence of agents named
    after themselves. Stage names are ``f"{group}/{branch}"``.
    """

    def __init__(
        self,
        branches: Mapping[str, Agent[Any, Any]] | Sequence[Agent[Any, Any]],
        max_concurrency: int | None = None,
    ) -> None:
        if isinstance(branches, Mapping):
            named = dict(branches)
        else:
            named = {}
            for agent in branches:
                if agent.name in named:
                    raise PipelineError(
                        f"parallel group: two branches are named {agent.name!r}; "
                        "pass a mapping of branch name to agent"
                    )
                named[agent.name] = agent
        if not named:
            raise PipelineError("parallel group has no branches")
        clash = sorted(BRANCH_RESERVED & set(named))
        if clash:
            raise PipelineError(
                f"parallel group: branch name {clash[0]!r} is reserved for the combiner input"
            )
        if max_concurrency is not None and max_concurrency < 1:
            raise PipelineError(
                f"parallel group: max_concurrency must be at least 1, not {max_concurrency}"
            )
        self.branches: dict[str, Agent[Any, Any]] = named
        self.max_concurrency = max_concurrency

    async def run(
        self,
        data: BaseModel | dict[str, Any],
        ctx: RunContext | None = None,
        *,
        group: str = "parallel",
    ) -> ParallelResult:
        """Run all branches on ``data``; never raises for a failing branch."""
        ctx = ctx or RunContext()
        gate: AbstractAsyncContextManager[Any] = (
            asyncio.Semaphore(self.max_concurrency)
            if self.max_concurrency is not None
            else nullcontext()
        )

        with tracing.span(
            f"parallel {group}",
            {
                "forgeflow.group": group,
                "forgeflow.branches": len(self.branches),
                "forgeflow.max_concurrency": self.max_concurrency,
                "forgeflow.run_id": ctx.run_id,
            },
        ) as span:
            async with AgentSession() as session:

                async def branch(name: str, agent: Agent[Any, Any]) -> AgentRun:
                    async with gate:
                        return await session.run(agent, data, ctx, stage=f"{group}/{name}")

                # each branch is a task that starts in this span: its span is a child
                runs = await asyncio.gather(
                    *(branch(name, agent) for name, agent in self.branches.items())
                )
            result = ParallelResult(runs=dict(zip(self.branches, runs, strict=True)))
            span.set("forgeflow.failed_branches", len(result.failed))
        return result

    @staticmethod
    def check_combiner(
        branch_output_models: Mapping[str, type[BaseModel]],
        upstream_model: type[BaseModel],
        combiner_input_model: type[BaseModel],
    ) -> str | None:
        """None when a combiner with ``combiner_input_model`` can take the group's
        :meth:`ParallelResult.combine_input`; else a one-line reason.

        ``upstream`` must admit ``upstream_model``; a field named after a branch must
        admit that branch's output type or None (a failed branch is None); ``failures``
        must admit a list of ``{branch, error}`` records. Required fields the group does
        not provide are reported missing.
        """
        fields: dict[str, Any] = {"upstream": upstream_model}
        for name, model in branch_output_models.items():
            fields[name] = model | None
        fields["failures"] = list[_BranchFailure]
        return fields_incompatibility(fields, "the parallel group's output", combiner_input_model)
