"""Workers on PostgreSQL: runs as jobs of procrastinate, a PostgreSQL-backed job queue.

procrastinate keeps its jobs in the same PostgreSQL database as the state store (its own
tables, created once with its schema), hands each job to one worker (``SELECT … FOR
UPDATE SKIP LOCKED``, ``LISTEN/NOTIFY`` to wake workers) and records worker heartbeats.
A run's job carries only the run id; ``queueing_lock`` keeps one queued job per run and
``lock`` keeps two jobs of one run from running at once.

A worker killed mid-run stops sending heartbeats; every worker looks for jobs of stalled
workers every few seconds and puts them back in the queue, and the worker that takes one
resumes the run from its last finished stage (the stage artifacts are in the state store).
A run that has finished is not run again, so every run finishes once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

from agents.errors import ConfigError, StateStoreError
from orchestration.state.base import StateStore

log = logging.getLogger("forgeflow.server")

QUEUE = "forgeflow-runs"
TASK = "forgeflow.run"
#: A worker whose heartbeat is older than this (seconds) is taken for dead.
STALLED_AFTER_S = 30.0
_SCHEMA_LOCK = 0x466F726766  # advisory lock serialising the queue's schema creation


def _require() -> None:
    import importlib.util

    if importlib.util.find_spec("procrastinate") is None:
        raise ConfigError(
            "workers on PostgreSQL need procrastinate: pip install 'forgeflow[queue]'"
        )


def make_app(state: str, data_dir: Path) -> Any:
    """A procrastinate app on the state store's database, with the run task."""
    _require()
    import procrastinate

    from orchestration.server.workers import run_one

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=_conninfo(state)))

    @app.task(name=TASK, queue=QUEUE)
    def run(run_id: str) -> None:
        run_one(state, run_id, data_dir)

    return app


def _conninfo(state: str) -> str:
    return "postgresql://" + state.split("://", 1)[1] if state.startswith("postgres:") else state


def ensure_schema(state: str) -> None:
    """Create procrastinate's tables in the database once (concurrent callers wait)."""
    _require()
    import psycopg
    from procrastinate.schema import SchemaManager

    from orchestration.state.sql import mask_password

    try:
        with psycopg.connect(_conninfo(state), autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
            try:
                row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
                if row is None or row[0] is None:
                    conn.execute(SchemaManager.get_schema())
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise StateStoreError(f"job queue at {mask_password(state)}: {reason}") from None


async def _recover_stalled(app: Any, every: float, stalled_after: float) -> None:
    """Put the jobs of dead workers back in the queue, every ``every`` seconds."""
    while True:
        try:
            for job in await app.job_manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=stalled_after
            ):
                log.warning(
                    "job %s (run %s): its worker died; queued again", job.id, job.task_kwargs
                )
                await app.job_manager.retry_job(job)
        except Exception:  # the database may be away for a moment: try again later
            log.exception("looking for stalled jobs failed")
        await asyncio.sleep(every)


def _worker_options(concurrency: int, stalled_after: float, name: str) -> dict[str, Any]:
    return {
        "queues": [QUEUE],
        "concurrency": concurrency,
        "name": name,
        "wait": True,
        "install_signal_handlers": False,
        "update_heartbeat_interval": max(0.2, stalled_after / 5),
        "stalled_worker_timeout": stalled_after,
        "fetch_job_polling_interval": 1.0,
        "delete_jobs": "successful",
    }


class JobQueue:
    """The dispatcher of a server on PostgreSQL: defers a job per run, and runs
    ``workers`` workers in the server process too (0: only separate worker processes)."""

    def __init__(
        self,
        state: str,
        data_dir: Path,
        workers: int = 0,
        *,
        stalled_after: float = STALLED_AFTER_S,
    ) -> None:
        self.state = state
        self.workers = workers
        self.stalled_after = stalled_after
        self.app = make_app(state, Path(data_dir))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self, store: StateStore) -> list[str]:
        await asyncio.to_thread(ensure_schema, self.state)
        self._loop = asyncio.get_running_loop()
        await self.app.open_async()
        if self.workers:
            options = _worker_options(1, self.stalled_after, "server")
            self._tasks = [
                asyncio.create_task(self.app.run_worker_async(**{**options, "name": f"server-{i}"}))
                for i in range(self.workers)
            ]
            self._tasks.append(
                asyncio.create_task(
                    _recover_stalled(self.app, self.stalled_after / 3, self.stalled_after)
                )
            )
        return []

    async def submit_async(self, run_id: str) -> None:
        """Store the run's job (once: a run already queued is not queued again)."""
        from procrastinate.exceptions import AlreadyEnqueued

        task = self.app.tasks[TASK]
        with contextlib.suppress(AlreadyEnqueued):
            await task.configure(lock=run_id, queueing_lock=run_id).defer_async(run_id=run_id)

    def submit(self, run_id: str) -> None:
        """From another thread: store the job and wait until it is stored."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self.submit_async(run_id), self._loop).result(30)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.app.close_async()


def run_workers(
    state: str, data_dir: Path, *, concurrency: int = 1, stalled_after: float = STALLED_AFTER_S
) -> None:
    """``python -m orchestration worker``: take runs from the queue until SIGTERM/SIGINT
    (a job in progress is finished first)."""
    import os

    ensure_schema(state)
    app = make_app(state, data_dir)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with app.open_async():
            options = _worker_options(concurrency, stalled_after, f"worker-{os.getpid()}")
            worker = asyncio.create_task(app.run_worker_async(**options))
            recover = asyncio.create_task(_recover_stalled(app, stalled_after / 3, stalled_after))
            await stop.wait()
            recover.cancel()
            worker.cancel()
            await asyncio.gather(worker, recover, return_exceptions=True)

    asyncio.run(main())
