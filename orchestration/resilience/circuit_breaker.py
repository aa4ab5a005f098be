"""A circuit breaker whose state can outlive the process, so it holds across CI jobs.

States:

- **closed** — calls go through; consecutive failures are counted, a success resets the
  count. At ``failure_threshold`` consecutive failures the circuit opens.
- **open** — calls fail fast with :class:`CircuitOpenError` without calling anything,
  until ``reset_timeout`` seconds have passed since it opened.
- **half_open** — one single probe call is let through; every other caller fails fast
  while it runs. The probe's success closes the circuit, its failure opens it again.

The state lives in a :class:`BreakerStore`. :class:`MemoryBreakerStore` keeps it in the
process; :class:`StateStoreBreakerStore` keeps it in a Forgeflow state store under
``breaker:NAME``, so that jobs of one workflow run (or consecutive runs sharing a store)
see the same circuit. Timestamps in the state are wall-clock epoch seconds for that
reason; the clock is injectable for tests.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, ParamSpec, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.errors import ForgeflowError

if TYPE_CHECKING:
    from orchestration.state.base import StateStore

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")


class BreakerStatus(StrEnum):
    """The three states of a circuit."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerState(BaseModel):
    """What a :class:`BreakerStore` keeps for one circuit (JSON-serialisable)."""

    model_config = ConfigDict(extra="ignore")

    status: BreakerStatus = BreakerStatus.CLOSED
    failures: int = Field(default=0, ge=0, description="Consecutive failures")
    opened_at: float | None = Field(default=None, description="Epoch seconds it last opened")
    probe_started_at: float | None = Field(
        default=None, description="Epoch seconds the half-open probe began"
    )


class CircuitOpenError(ForgeflowError):
    """A call was refused because the circuit is open (or its probe is under way)."""

    def __init__(self, name: str, failures: int, retry_in: float) -> None:
        self.name = name
        self.failures = failures
        self.retry_in = max(0.0, retry_in)
        super().__init__(
            f"circuit {name!r} is open after {failures} failures; retrying in {self.retry_in:.1f} s"
        )


class BreakerStore(Protocol):
    """Where circuit states live, by circuit name."""

    def load(self, name: str) -> BreakerState | None:
        """The saved state of circuit ``name``, or None if there is none."""
        ...

    def save(self, name: str, state: BreakerState) -> None:
        """Save the state of circuit ``name``."""
        ...


class MemoryBreakerStore:
    """Circuit states in a dict: shared by the breakers of one process that use it."""

    def __init__(self) -> None:
        self._states: dict[str, BreakerState] = {}

    def load(self, name: str) -> BreakerState | None:
        state = self._states.get(name)
        return state.model_copy() if state is not None else None

    def save(self, name: str, state: BreakerState) -> None:
        self._states[name] = state.model_copy()


class StateStoreBreakerStore:
    """Circuit states as values of a :class:`~orchestration.state.base.StateStore`.

    Circuit ``NAME`` is kept under the key ``breaker:NAME``. A value that is not a valid
    state (written by something else, or by an incompatible version) reads as no state,
    that is, a closed circuit.
    """

    def __init__(self, store: StateStore) -> None:
        self.store = store

    @staticmethod
    def key(name: str) -> str:
        """The state-store key of circuit ``name``."""
        return f"breaker:{name}"

    def load(self, name: str) -> BreakerState | None:
        raw = self.store.get_value(self.key(name))
        if raw is None:
            return None
        try:
            return BreakerState.model_validate(raw)
        except ValidationError:
            log.warning("ignoring unreadable circuit state under %r", self.key(name))
            return None

    def save(self, name: str, state: BreakerState) -> None:
        self.store.put_value(self.key(name), state.model_dump(mode="json"))


class CircuitBreaker:
    """Fail fast while a dependency keeps failing; probe it again after a pause.

    Use :meth:`call`, the instance as an async context manager, or as a decorator::

        breaker = CircuitBreaker("github-api", failure_threshold=5, reset_timeout=30)

        await breaker.call(client.get_pull, 42)

        async with breaker:
            await client.update_pull(42, body)

        @breaker
        async def dispatch(event: str) -> None: ...

    Every failing call counts (any ``Exception``); pass ``is_failure`` to count only some,
    for instance server errors but not a 404. Cancellation never counts.
    """

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        store: BreakerStore | None = None,
        clock: Callable[[], float] = time.time,
        *,
        is_failure: Callable[[BaseException], bool] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, not {failure_threshold}")
        if reset_timeout < 0:
            raise ValueError(f"reset_timeout must not be negative, not {reset_timeout}")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.store: BreakerStore = store if store is not None else MemoryBreakerStore()
        self.clock = clock
        self.is_failure = is_failure or (lambda exc: True)
        self._locks: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._probe_task: asyncio.Task[object] | None = None

    # -- state ---------------------------------------------------------------------------

    def _lock(self) -> asyncio.Lock:
        """The lock for the running event loop (a breaker may outlive one loop)."""
        loop = asyncio.get_running_loop()
        if self._locks is None or self._locks[0] is not loop:
            self._locks = (loop, asyncio.Lock())
        return self._locks[1]

    def _load(self) -> BreakerState:
        return self.store.load(self.name) or BreakerState()

    def snapshot(self) -> BreakerState:
        """The circuit's current state as stored (a copy)."""
        return self._load()

    @property
    def status(self) -> BreakerStatus:
        """``closed``, ``open`` or ``half_open``, as stored.

        An open circuit whose ``reset_timeout`` has passed still reads ``open`` until a
        call comes to probe it.
        """
        return self._load().status

    def reset(self) -> None:
        """Close the circuit and forget its failures."""
        self.store.save(self.name, BreakerState())

    # -- admission and outcome -----------------------------------------------------------

    async def _admit(self) -> None:
        """Let a call through or raise :class:`CircuitOpenError`; remember a probe's task."""
        async with self._lock():
            state = self._load()
            now = self.clock()
            if state.status is BreakerStatus.CLOSED:
                return
            if state.status is BreakerStatus.OPEN:
                opened = state.opened_at if state.opened_at is not None else now
                waited = now - opened
                if waited < self.reset_timeout:
                    raise CircuitOpenError(self.name, state.failures, self.reset_timeout - waited)
            else:  # half open: a probe is under way, here or in another process
                started = state.probe_started_at
                # A probe that never reported back (its job was killed) expires.
                if started is not None and now - started < self.reset_timeout:
                    raise CircuitOpenError(
                        self.name, state.failures, self.reset_timeout - (now - started)
                    )
            state.status = BreakerStatus.HALF_OPEN
            state.probe_started_at = now
            self.store.save(self.name, state)
            self._probe_task = asyncio.current_task()
            log.info("circuit %r half open: probing", self.name)

    async def _record(self, probe: bool, exc: BaseException | None) -> None:
        """Record how an admitted call ended. Only the probe decides a half-open circuit."""
        async with self._lock():
            if probe:
                self._probe_task = None
            state = self._load()
            if exc is not None and not isinstance(exc, Exception):
                # Cancelled or interrupted: not the dependency's fault. A probe hands its
                # turn back so that the next caller probes at once.
                if probe and state.status is BreakerStatus.HALF_OPEN:
                    state.probe_started_at = None
                    self.store.save(self.name, state)
                return
            if exc is None or not self.is_failure(exc):  # the dependency answered
                if probe or (state.status is BreakerStatus.CLOSED and state.failures):
                    if probe:
                        log.info("circuit %r closed", self.name)
                    self.store.save(self.name, BreakerState())
                return
            state.failures += 1
            if probe or (
                state.status is BreakerStatus.CLOSED and state.failures >= self.failure_threshold
            ):
                log.warning("circuit %r open after %d failures", self.name, state.failures)
                state.status = BreakerStatus.OPEN
                state.opened_at = self.clock()
                state.probe_started_at = None
            self.store.save(self.name, state)

    # -- the three ways to use it --------------------------------------------------------

    async def call(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Await ``fn(*args, **kwargs)`` through the breaker."""
        async with self:
            return await fn(*args, **kwargs)

    async def __aenter__(self) -> CircuitBreaker:
        await self._admit()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task = asyncio.current_task()
        probe = self._probe_task is not None and self._probe_task is task
        await self._record(probe, exc)

    def __call__(self, fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        """Decorate an async function so every call goes through the breaker."""

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self.call(fn, *args, **kwargs)

        return wrapper

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, status={self.status.value!r})"
