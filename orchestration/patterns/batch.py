"""Batch processing: one async function over many items, with bounded concurrency.

Results come back in input order whatever order they finish in; one item's failure is
recorded on that item and does not stop the others. A progress bar (``rich``) is drawn on
stderr when asked for, or by default when stderr is a terminal, so logs and CI output stay
clean. :func:`run_agent_batch` runs one agent over many inputs through
:func:`orchestration.runtime.execution.execute`, so timing, monitoring, the result cache and the
state store behave as in every other pattern.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from agents.errors import PipelineError
from orchestration.runtime.execution import AgentRun, RunContext, describe_error

if TYPE_CHECKING:
    from agents.base import Agent

T = TypeVar("T")
R = TypeVar("R")

#: Called once per finished item with whether it failed.
_Advance = Callable[[bool], None]


@dataclass
class BatchItem(Generic[T, R]):
    """One item of a batch: its position, the item, and its value or its error."""

    index: int
    item: T
    value: R | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the item was processed without error."""
        return self.error is None


@dataclass
class BatchResult(Generic[T, R]):
    """Every item of a batch, in input order."""

    items: list[BatchItem[T, R]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[BatchItem[T, R]]:
        return iter(self.items)

    def __getitem__(self, index: int) -> BatchItem[T, R]:
        return self.items[index]

    @property
    def ok(self) -> bool:
        """True when no item failed."""
        return all(entry.ok for entry in self.items)

    @property
    def succeeded(self) -> list[BatchItem[T, R]]:
        """The items processed without error, in input order."""
        return [entry for entry in self.items if entry.ok]

    @property
    def failed(self) -> list[BatchItem[T, R]]:
        """The items that failed, in input order."""
        return [entry for entry in self.items if not entry.ok]

    @property
    def values(self) -> list[R | None]:
        """Each item's value in input order (None for a failed item)."""
        return [entry.value for entry in self.items]


def _wants_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


@contextmanager
def _progress_display(enabled: bool, total: int, description: str) -> Iterator[_Advance]:
    """Yield a callback to report a finished item; draws a bar on stderr when enabled."""
    if not enabled:
        yield lambda failed: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    failures = 0
    with bar:
        task = bar.add_task(description or "batch", total=total, failed=0)

        def advance(failed: bool) -> None:
            nonlocal failures
            failures += failed
            bar.update(task, advance=1, failed=failures)

        yield advance


async def _run(
    entries: list[BatchItem[T, R]],
    call: Callable[[BatchItem[T, R]], Awaitable[None]],
    *,
    max_concurrency: int,
    progress: bool | None,
    description: str,
) -> BatchResult[T, R]:
    """Run ``call`` on every entry with at most ``max_concurrency`` in flight."""
    if max_concurrency < 1:
        raise PipelineError(f"batch: max_concurrency must be at least 1, not {max_concurrency}")
    if not entries:
        return BatchResult([])
    pending = iter(entries)
    with _progress_display(_wants_progress(progress), len(entries), description) as advance:
        # A fixed pool of workers pulls the next item, so a batch of 100,000 items holds
        # ``max_concurrency`` tasks, not 100,000.
        async def worker() -> None:
            for entry in pending:
                await call(entry)
                advance(not entry.ok)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(max_concurrency, len(entries))):
                group.create_task(worker())
    return BatchResult(entries)


async def run_batch(
    items: Iterable[T],
    fn: Callable[[T], Awaitable[R]],
    *,
    max_concurrency: int = 8,
    progress: bool | None = None,
    description: str = "",
) -> BatchResult[T, R]:
    """Await ``fn(item)`` for every item, at most ``max_concurrency`` at a time.

    Returns every item in input order with its value, or with its error as one line of
    text when ``fn`` raised (an ``Exception``; cancellation still cancels the batch).
    ``progress`` draws a bar on stderr: True always, False never, None (default) when
    stderr is a terminal. ``description`` labels the bar.
    """

    async def call(entry: BatchItem[T, R]) -> None:
        try:
            entry.value = await fn(entry.item)
        except Exception as exc:  # one item's failure is data, not the batch's end
            entry.error = describe_error(exc)

    entries = [BatchItem[T, R](index, item) for index, item in enumerate(items)]
    return await _run(
        entries,
        call,
        max_concurrency=max_concurrency,
        progress=progress,
        description=description,
    )


InputT = TypeVar("InputT", bound=BaseModel | dict[str, Any])


async def run_agent_batch(
    agent: Agent[Any, Any],
    inputs: Iterable[InputT],
    ctx: RunContext | None = None,
    *,
    max_concurrency: int = 8,
    progress: bool | None = None,
    description: str = "",
    stage: str | None = None,
) -> BatchResult[InputT, AgentRun]:
    """Run ``agent`` over every input through :func:`~orchestration.runtime.execution.execute`.

    The agent is set up once before the first input and torn down after the batch. Each
    item's value is its :class:`~orchestration.runtime.execution.AgentRun` (also for a failed
    run, whose envelope says why); a failed run's error is also the item's ``error``.
    Input *i* runs as stage ``STAGE/i`` (``STAGE`` defaults to the agent's name), so
    with a state store in ``ctx`` a re-run of the batch resumes item by item.
    """
    from orchestration.patterns.sequential import AgentSession

    ctx = ctx or RunContext()
    base = stage or agent.name

    async with AgentSession() as session:

        async def call(entry: BatchItem[InputT, AgentRun]) -> None:
            try:
                run = await session.run(agent, entry.item, ctx, stage=f"{base}/{entry.index}")
            except Exception as exc:  # execute() reports failures; this is a safety net
                entry.error = describe_error(exc)
                return
            entry.value = run
            if not run.ok:
                entry.error = run.error or f"agent {agent.name!r}: {run.status}"

        entries = [BatchItem[InputT, AgentRun](index, item) for index, item in enumerate(inputs)]
        return await _run(
            entries,
            call,
            max_concurrency=max_concurrency,
            progress=progress,
            description=description or f"{agent.name}",
        )
