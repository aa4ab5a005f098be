"""Retry: backoff with jitter, Retry-After honoured exactly, giving up, header parsing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from orchestration.resilience.retry import (
    RetryableError,
    RetryPolicy,
    parse_retry_after,
    retry_async,
    retry_delay_from_headers,
    with_retry,
)

NOW = 1_700_000_000.0  # a fixed "now", in epoch seconds


class Recorder:
    """An injectable sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def failing(errors: Sequence[BaseException], result: str = "done") -> Callable[[], Awaitable[str]]:
    """An async callable that raises each of ``errors`` in turn, then returns ``result``."""
    pending = list(errors)
    calls: list[int] = []

    async def fn() -> str:
        calls.append(1)
        if pending:
            raise pending.pop(0)
        return result

    fn.calls = calls  # type: ignore[attr-defined]
    return fn


async def test_retry_after_is_waited_for_exactly() -> None:
    sleep = Recorder()
    fn = failing([RetryableError("429", retry_after=7.0), RetryableError("429", retry_after=2.5)])
    result = await retry_async(fn, RetryPolicy(), sleep=sleep, rand=lambda: 0.123)
    assert result == "done"
    assert sleep.waits == [7.0, 2.5]


async def test_retry_after_is_capped_at_max_delay() -> None:
    sleep = Recorder()
    fn = failing([RetryableError("slow down", retry_after=3600)])
    await retry_async(fn, RetryPolicy(max_delay=60), sleep=sleep)
    assert sleep.waits == [60]


async def test_backoff_grows_exponentially_and_is_capped() -> None:
    sleep = Recorder()
    fn = failing([RetryableError("503")] * 6)
    policy = RetryPolicy(max_attempts=7, base_delay=0.5, max_delay=10, jitter=False)
    await retry_async(fn, policy, sleep=sleep)
    assert sleep.waits == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]


async def test_full_jitter_draws_between_zero_and_the_backoff() -> None:
    sleep = Recorder()
    draws = iter([0.0, 0.5, 1.0])
    fn = failing([RetryableError("503")] * 3)
    policy = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=60)
    await retry_async(fn, policy, sleep=sleep, rand=lambda: next(draws))
    assert sleep.waits == [0.0, 1.0, 4.0]


async def test_non_retryable_error_is_raised_at_once() -> None:
    sleep = Recorder()
    fn = failing([ValueError("bad request")])
    with pytest.raises(ValueError, match="bad request"):
        await retry_async(fn, RetryPolicy(), sleep=sleep)
    assert fn.calls == [1]  # type: ignore[attr-defined]
    assert sleep.waits == []


async def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    sleep = Recorder()
    errors = [RetryableError(f"failure {n}") for n in range(1, 6)]
    fn = failing(errors)
    with pytest.raises(RetryableError, match="failure 3"):
        await retry_async(fn, RetryPolicy(max_attempts=3), sleep=sleep)
    assert len(fn.calls) == 3  # type: ignore[attr-defined]
    assert len(sleep.waits) == 2


async def test_custom_is_retryable_decides_what_is_retried() -> None:
    sleep = Recorder()
    fn = failing([ConnectionError("reset"), ConnectionError("reset")])
    result = await retry_async(
        fn,
        RetryPolicy(jitter=False, base_delay=1),
        is_retryable=lambda exc: isinstance(exc, ConnectionError),
        sleep=sleep,
    )
    assert result == "done"
    assert sleep.waits == [1, 2]


async def test_decorator_retries_and_passes_arguments() -> None:
    sleep = Recorder()
    seen: list[tuple[str, int]] = []

    @with_retry(RetryPolicy(max_attempts=3, jitter=False, base_delay=0.25), sleep=sleep)
    async def fetch(path: str, *, page: int) -> str:
        seen.append((path, page))
        if len(seen) < 3:
            raise RetryableError("502")
        return f"{path}?page={page}"

    assert await fetch("/pulls", page=2) == "/pulls?page=2"
    assert seen == [("/pulls", 2)] * 3
    assert sleep.waits == [0.25, 0.5]
    assert fetch.__name__ == "fetch"


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        pytest.param({"max_attempts": 0}, "max_attempts", id="no-attempts"),
        pytest.param({"base_delay": -1}, "negative", id="negative-base"),
        pytest.param({"max_delay": -1}, "negative", id="negative-max"),
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, float], what: str) -> None:
    with pytest.raises(ValueError, match=what):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


HTTP_DATE = format_datetime(datetime.fromtimestamp(NOW + 90, UTC), usegmt=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("120", 120.0, id="delta-seconds"),
        pytest.param(" 0 ", 0.0, id="zero-with-spaces"),
        pytest.param("1.5", 1.5, id="fractional"),
        pytest.param(HTTP_DATE, 90.0, id="http-date"),
        pytest.param("Tue, 14 Nov 2000 22:13:20 GMT", 0.0, id="date-in-the-past"),
        pytest.param("-5", None, id="negative"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("", None, id="empty"),
        pytest.param("nan", None, id="nan"),
    ],
)
def test_parse_retry_after(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"Retry-After": "30"}, 30.0, id="retry-after"),
        pytest.param(
            {"retry-after": "5", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(NOW + 99)},
            5.0,
            id="retry-after-wins-over-reset",
        ),
        pytest.param(
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 42)},
            42.0,
            id="reset-when-exhausted",
        ),
        pytest.param(
            {"x-ratelimit-remaining": "12", "x-ratelimit-reset": str(NOW + 42)},
            None,
            id="reset-ignored-while-requests-remain",
        ),
        pytest.param(
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(NOW - 10)},
            0.0,
            id="reset-already-passed",
        ),
        pytest.param({"x-ratelimit-remaining": "0"}, None, id="exhausted-without-reset"),
        pytest.param({"content-type": "application/json"}, None, id="no-hint"),
    ],
)
def test_retry_delay_from_headers(headers: dict[str, str], expected: float | None) -> None:
    assert retry_delay_from_headers(headers, now=NOW) == expected


async def test_header_delay_feeds_the_retry_wait() -> None:
    """A client turns a 403 secondary-rate-limit answer into the exact wait GitHub asks for."""
    sleep = Recorder()
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 17)}
    fn = failing([RetryableError("403", retry_after=retry_delay_from_headers(headers, NOW))])
    await retry_async(fn, RetryPolicy(), sleep=sleep)
    assert sleep.waits == [17.0]
