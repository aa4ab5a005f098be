"""Circuit breaker: opening, failing fast, a single half-open probe, state shared by a store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from agents.errors import ForgeflowError
from orchestration.resilience.circuit_breaker import (
    BreakerState,
    BreakerStatus,
    CircuitBreaker,
    CircuitOpenError,
    MemoryBreakerStore,
    StateStoreBreakerStore,
)
from orchestration.runtime.artifact import Envelope
from orchestration.state.base import StateStore
from orchestration.state.open import open_store


class Clock:
    """A wall clock that moves only when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ValuesOnlyStore(StateStore):
    """A state store keeping values as JSON text, as a real store would between jobs."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get_stage(self, run_id: str, stage: str) -> Envelope | None:
        return None

    def put_stage(self, run_id: str, stage: str, envelope: Envelope) -> None:
        raise NotImplementedError

    def list_stages(self, run_id: str) -> list[tuple[str, Envelope]]:
        return []

    def get_value(self, key: str) -> Any | None:
        text = self.values.get(key)
        return None if text is None else json.loads(text)

    def put_value(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)

    @property
    def location(self) -> str:
        return "memory"


class Dependency:
    """A flaky service: counts calls, fails while ``failing`` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.failing = False

    async def __call__(self, value: str = "ok") -> str:
        self.calls += 1
        if self.failing:
            raise ConnectionError("service unavailable")
        return value


async def fail_times(breaker: CircuitBreaker, dep: Dependency, n: int) -> None:
    dep.failing = True
    for _ in range(n):
        with pytest.raises(ConnectionError):
            await breaker.call(dep)
    dep.failing = False


async def test_opens_after_threshold_and_fails_fast_without_calling() -> None:
    clock = Clock()
    breaker = CircuitBreaker("github-api", failure_threshold=3, reset_timeout=30, clock=clock)
    dep = Dependency()
    await fail_times(breaker, dep, 2)
    assert breaker.status is BreakerStatus.CLOSED
    await fail_times(breaker, dep, 1)
    assert breaker.status is BreakerStatus.OPEN

    clock.advance(10)
    with pytest.raises(CircuitOpenError) as info:
        await breaker.call(dep)
    assert dep.calls == 3  # the refused call never reached the service
    assert str(info.value) == "circuit 'github-api' is open after 3 failures; retrying in 20.0 s"
    assert isinstance(info.value, ForgeflowError)


async def test_a_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker("svc", failure_threshold=3, clock=Clock())
    dep = Dependency()
    await fail_times(breaker, dep, 2)
    assert await breaker.call(dep, "fine") == "fine"
    await fail_times(breaker, dep, 2)
    assert breaker.status is BreakerStatus.CLOSED
    assert breaker.snapshot().failures == 2


async def test_probe_success_closes_the_circuit() -> None:
    clock = Clock()
    breaker = CircuitBreaker("svc", failure_threshold=2, reset_timeout=30, clock=clock)
    dep = Dependency()
    await fail_times(breaker, dep, 2)
    clock.advance(30)
    assert await breaker.call(dep, "back") == "back"
    assert breaker.status is BreakerStatus.CLOSED
    assert breaker.snapshot().failures == 0
    assert await breaker.call(dep) == "ok"
    assert dep.calls == 4


async def test_probe_failure_reopens_for_a_full_timeout() -> None:
    clock = Clock()
    breaker = CircuitBreaker("svc", failure_threshold=2, reset_timeout=30, clock=clock)
    dep = Dependency()
    await fail_times(breaker, dep, 2)
    clock.advance(45)
    await fail_times(breaker, dep, 1)  # the probe
    assert breaker.status is BreakerStatus.OPEN
    clock.advance(29)
    with pytest.raises(CircuitOpenError, match=r"after 3 failures; retrying in 1\.0 s"):
        await breaker.call(dep)
    assert dep.calls == 3


async def test_only_one_probe_runs_while_others_fail_fast() -> None:
    clock = Clock()
    breaker = CircuitBreaker("svc", failure_threshold=1, reset_timeout=5, clock=clock)
    dep = Dependency()
    await fail_times(breaker, dep, 1)
    clock.advance(5)

    release = asyncio.Event()
    started: list[int] = []

    async def slow_probe(n: int) -> int:
        started.append(n)
        await release.wait()
        return n

    tasks = [asyncio.create_task(breaker.call(slow_probe, n)) for n in range(6)]
    while not started:  # let every task reach the breaker
        await asyncio.sleep(0)
    for _ in range(10):
        await asyncio.sleep(0)
    assert len(started) == 1
    assert breaker.status is BreakerStatus.HALF_OPEN
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)

    refused = [r for r in results if isinstance(r, CircuitOpenError)]
    assert len(refused) == 5
    assert results[started[0]] == started[0]
    assert breaker.status is BreakerStatus.CLOSED


async def test_two_breakers_share_state_through_a_state_store() -> None:
    """Two jobs: the first sees the service fail, the second fails fast without trying."""
    clock = Clock()
    shared = ValuesOnlyStore()
    job1 = CircuitBreaker("gh", 2, 60, StateStoreBreakerStore(shared), clock)
    job2 = CircuitBreaker("gh", 2, 60, StateStoreBreakerStore(shared), clock)
    dep1, dep2 = Dependency(), Dependency()

    await fail_times(job1, dep1, 2)
    assert json.loads(shared.values["breaker:gh"])["status"] == "open"
    with pytest.raises(CircuitOpenError, match="circuit 'gh' is open after 2 failures"):
        await job2.call(dep2)
    assert dep2.calls == 0

    clock.advance(60)
    release = asyncio.Event()

    async def probing() -> str:
        await release.wait()
        return "up"

    probe = asyncio.create_task(job1.call(probing))
    while job1.status is not BreakerStatus.HALF_OPEN:
        await asyncio.sleep(0)
    with pytest.raises(CircuitOpenError):  # job1 is probing: job2 must not probe too
        await job2.call(dep2)
    assert dep2.calls == 0
    release.set()
    assert await probe == "up"
    assert await job2.call(dep2, "through") == "through"


async def test_a_probe_that_never_reports_back_expires() -> None:
    """A job killed during its probe leaves half_open behind; it must not block forever."""
    clock = Clock()
    shared = MemoryBreakerStore()
    shared.save(
        "svc",
        BreakerState(
            status=BreakerStatus.HALF_OPEN,
            failures=5,
            opened_at=clock() - 100,
            probe_started_at=clock(),
        ),
    )
    breaker = CircuitBreaker("svc", reset_timeout=30, store=shared, clock=clock)
    dep = Dependency()
    with pytest.raises(CircuitOpenError, match=r"retrying in 30\.0 s"):
        await breaker.call(dep)
    clock.advance(30)
    assert await breaker.call(dep) == "ok"
    assert breaker.status is BreakerStatus.CLOSED


async def test_cancelled_probe_hands_its_turn_back() -> None:
    clock = Clock()
    breaker = CircuitBreaker("svc", failure_threshold=1, reset_timeout=30, clock=clock)
    dep = Dependency()
    await fail_times(breaker, dep, 1)
    clock.advance(30)
    probe = asyncio.create_task(breaker.call(asyncio.sleep, 3600))
    while breaker.status is not BreakerStatus.HALF_OPEN:
        await asyncio.sleep(0)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert breaker.snapshot().failures == 1  # cancelling is not the service's fault
    assert await breaker.call(dep) == "ok"


async def test_context_manager_and_decorator_forms() -> None:
    breaker = CircuitBreaker("svc", failure_threshold=2, clock=Clock())
    calls: list[str] = []

    @breaker
    async def dispatch(event: str) -> str:
        calls.append(event)
        raise ConnectionError(event)

    for event in ("a", "b"):
        with pytest.raises(ConnectionError):
            await dispatch(event)
    with pytest.raises(CircuitOpenError):
        await dispatch("c")
    with pytest.raises(CircuitOpenError):
        async with breaker:
            calls.append("inside")
    assert calls == ["a", "b"]
    assert dispatch.__name__ == "dispatch"


async def test_is_failure_chooses_what_counts() -> None:
    breaker = CircuitBreaker(
        "svc",
        failure_threshold=1,
        clock=Clock(),
        is_failure=lambda exc: not isinstance(exc, KeyError),
    )

    async def not_found() -> None:
        raise KeyError("pull 42")

    for _ in range(3):
        with pytest.raises(KeyError):
            await breaker.call(not_found)
    assert breaker.status is BreakerStatus.CLOSED


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param({"status": "melted"}, id="unknown-status"),
        pytest.param({"failures": -1}, id="negative-count"),
        pytest.param("open", id="not-an-object"),
    ],
)
async def test_unreadable_stored_state_reads_as_closed(stored: Any) -> None:
    shared = ValuesOnlyStore()
    shared.put_value("breaker:svc", stored)
    breaker = CircuitBreaker("svc", store=StateStoreBreakerStore(shared), clock=Clock())
    assert await breaker.call(Dependency()) == "ok"
    assert breaker.status is BreakerStatus.CLOSED


def test_reset_closes_an_open_circuit() -> None:
    store = MemoryBreakerStore()
    store.save("svc", BreakerState(status=BreakerStatus.OPEN, failures=9, opened_at=0.0))
    breaker = CircuitBreaker("svc", store=store)
    breaker.reset()
    assert breaker.snapshot() == BreakerState()


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"failure_threshold": 0}, id="zero-threshold"),
        pytest.param({"reset_timeout": -1.0}, id="negative-timeout"),
    ],
)
def test_rejects_nonsense_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker("svc", **kwargs)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("{tmp}/state", id="directory-store"),
        pytest.param("sqlite:///{tmp}/state.db", id="sqlite-store"),
    ],
)
async def test_an_open_circuit_survives_into_the_next_job(tmp_path: Path, url: str) -> None:
    """Each job opens the state store afresh; the second job sees the first job's circuit."""
    clock = Clock()
    location = url.format(tmp=tmp_path.as_posix())
    with open_store(location) as store:
        job1 = CircuitBreaker("hosted-model", 2, 60, StateStoreBreakerStore(store), clock)
        await fail_times(job1, Dependency(), 2)

    dep = Dependency()
    with open_store(location) as store:
        job2 = CircuitBreaker("hosted-model", 2, 60, StateStoreBreakerStore(store), clock)
        with pytest.raises(CircuitOpenError, match="'hosted-model' is open after 2 failures"):
            await job2.call(dep)
        clock.advance(60)
        assert await job2.call(dep) == "ok"
    assert dep.calls == 1
    with open_store(location) as store:
        saved = store.get_value("breaker:hosted-model")
    assert saved is not None and saved["status"] == "closed"
