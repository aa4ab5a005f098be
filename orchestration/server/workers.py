"""Embedded workers: runs executed in threads of the server process, never in a request.

The default for a SQLite (or folder) store. Runs a restart finds unfinished (queued or
running) are queued again when the server starts; :func:`execute_run` resumes them from
their last finished stage.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from orchestration.pipeline.executor import execute_run
from orchestration.pipeline.queued_runs import unfinished_runs
from orchestration.state.base import StateStore
from orchestration.state.open import open_store

log = logging.getLogger("forgeflow.server")


_stores = threading.local()


def _thread_store(state: str) -> StateStore:
    """One connection to the store per worker thread, kept between runs."""
    store: StateStore | None = getattr(_stores, state, None)
    if store is None:
        store = open_store(state)
        setattr(_stores, state, store)
    return store


def run_one(state: str, run_id: str, data_dir: Path) -> None:
    """Execute one run on this thread's connection to the store (what every worker calls).
    A connection that fails is dropped, and the next run opens a new one."""
    from agents.models.factory import model_client_from_env

    store = _thread_store(state)
    try:
        execute_run(store, run_id, data_dir, model_client=model_client_from_env())
    except BaseException:
        setattr(_stores, state, None)
        store.close()
        raise


class EmbeddedWorkers:
    """``workers`` threads taking run ids from a queue."""

    def __init__(self, state: str, data_dir: Path, workers: int) -> None:
        self.state = state
        self.data_dir = Path(data_dir)
        self.workers = max(1, workers)
        self._queue: asyncio.Queue[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="forgeflow-worker")

    async def start(self, store: StateStore) -> list[str]:
        """Start the workers; queue the runs a previous process left unfinished."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        resumed = await asyncio.to_thread(unfinished_runs, store)
        for run_id in resumed:
            self.submit(run_id)
        if resumed:
            log.warning("resuming %d unfinished run(s)", len(resumed))
        return resumed

    def submit(self, run_id: str) -> None:
        """Queue ``run_id`` (from the event loop or any thread); a run already queued is
        not queued twice."""
        with self._lock:
            if run_id in self._pending:
                return
            self._pending.add(run_id)
        assert self._loop is not None and self._queue is not None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._queue.put_nowait(run_id)
        else:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, run_id)

    async def submit_async(self, run_id: str) -> None:
        self.submit(run_id)

    async def _work(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            run_id = await self._queue.get()
            try:
                with self._lock:
                    self._pending.discard(run_id)
                await loop.run_in_executor(self._pool, run_one, self.state, run_id, self.data_dir)
            except Exception:
                log.exception("run %s: worker failed", run_id)
            finally:
                self._queue.task_done()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pool.shutdown(wait=True, cancel_futures=True)
