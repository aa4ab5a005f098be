"""Retry with exponential backoff and full jitter that honours ``Retry-After``.

Used by the clients that talk to rate-limited services: the GitHub API (5xx answers and
secondary rate limits) and hosted models (429 with ``Retry-After``). A client raises
:class:`RetryableError` for an answer worth retrying, carrying the server's requested wait
when it gave one (see :func:`retry_delay_from_headers`); :func:`retry_async` then waits
exactly that long, or backs off exponentially with jitter when the server said nothing.

Waiting and randomness are injectable (``sleep=``, ``rand=``) so that tests can assert the
waits without spending real time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, ParamSpec, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

Sleep = Callable[[float], Awaitable[Any]]
IsRetryable = Callable[[BaseException], bool]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    ``max_attempts`` counts the first call too (5 means one call and up to four retries).
    Before retry *n* (1-based) the wait is drawn uniformly from
    ``[0, min(max_delay, base_delay * 2 ** (n - 1))]`` ("full jitter"); with
    ``jitter=False`` it is that upper bound itself. A server-requested wait
    (:attr:`RetryableError.retry_after`) replaces the backoff, capped at ``max_delay``.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(
                f"RetryPolicy.max_attempts must be at least 1, not {self.max_attempts}"
            )
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy delays must not be negative")

    def backoff(self, retry_number: int, rand: Callable[[], float] = random.random) -> float:
        """The wait before retry ``retry_number`` (1 for the first retry), in seconds."""
        exponent = max(0, retry_number - 1)
        # 2 ** exponent overflows a float long after it passes any sane max_delay.
        ceiling = self.max_delay if exponent > 1000 else self.base_delay * 2.0**exponent
        ceiling = min(self.max_delay, ceiling)
        return ceiling * rand() if self.jitter else ceiling

    def delay_for(
        self,
        retry_number: int,
        error: BaseException | None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """The wait before retry ``retry_number`` after ``error``, in seconds.

        A :class:`RetryableError` with ``retry_after`` set is waited for exactly (capped at
        ``max_delay``); anything else gets :meth:`backoff`.
        """
        retry_after = error.retry_after if isinstance(error, RetryableError) else None
        if retry_after is not None:
            return min(self.max_delay, max(0.0, retry_after))
        return self.backoff(retry_number, rand)


class RetryableError(Exception):
    """A failure worth trying again, optionally with the wait the server asked for.

    ``retry_after`` is in seconds (``None`` when the server gave no hint).
    """

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header value.

    The value is either delay-seconds (``"120"``) or an HTTP date
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``), which is turned into seconds from ``now``
    (epoch seconds, default :func:`time.time`). A date in the past gives ``0.0``.
    Returns ``None`` for a missing or unreadable value.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, val in headers.items():
        if key.lower() == wanted:
            return val
    return None


def retry_delay_from_headers(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds a server asked us to wait, from its response headers, or ``None``.

    ``Retry-After`` wins. Otherwise, when ``x-ratelimit-remaining`` is ``"0"``, the wait
    lasts until ``x-ratelimit-reset`` (epoch seconds), as GitHub documents for its rate
    limits. Header names are matched without regard to case; ``now`` is epoch seconds
    (default :func:`time.time`).
    """
    current = time.time() if now is None else now
    retry_after = parse_retry_after(_header(headers, "retry-after"), current)
    if retry_after is not None:
        return retry_after
    remaining = _header(headers, "x-ratelimit-remaining")
    reset = _header(headers, "x-ratelimit-reset")
    if remaining is None or remaining.strip() != "0" or reset is None:
        return None
    try:
        reset_at = float(reset.strip())
    except ValueError:
        return None
    if not math.isfinite(reset_at):
        return None
    return max(0.0, reset_at - current)


def _default_is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableError)


async def retry_async(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy | None = None,
    *,
    is_retryable: IsRetryable = _default_is_retryable,
    sleep: Sleep = asyncio.sleep,
    rand: Callable[[], float] = random.random,
) -> T:
    """Await ``fn()`` until it succeeds, retrying failures that ``is_retryable`` accepts.

    Errors ``is_retryable`` rejects are raised at once. After ``policy.max_attempts``
    failed calls the last error is raised as it was (no wrapper). Waits between calls
    follow :meth:`RetryPolicy.delay_for` and go through ``sleep``.
    """
    from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

    policy = policy or RetryPolicy()

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        return policy.delay_for(state.attempt_number, error, rand)

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        log.info(
            "attempt %d of %d failed (%s); retrying in %.2f s",
            state.attempt_number,
            policy.max_attempts,
            error,
            delay,
        )

    retrying = AsyncRetrying(
        sleep=sleep,
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=retry_if_exception(is_retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
    # The iterator form awaits ``fn()`` itself, whatever kind of callable returns the
    # awaitable (a lambda, a partial, a bound method).
    async for attempt in retrying:
        with attempt:
            result = await fn()
    return result


def with_retry(
    policy: RetryPolicy | None = None,
    *,
    is_retryable: IsRetryable = _default_is_retryable,
    sleep: Sleep | None = None,
    rand: Callable[[], float] | None = None,
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Decorator form of :func:`retry_async` for an async function.

    Example::

        @with_retry(RetryPolicy(max_attempts=3))
        async def fetch(url: str) -> bytes: ...
    """

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return await retry_async(
                lambda: fn(*args, **kwargs),
                policy,
                is_retryable=is_retryable,
                sleep=sleep or asyncio.sleep,
                rand=rand or random.random,
            )

        return wrapper

    return decorate
