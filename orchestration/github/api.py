"""A PyGithub client whose failures are retried by :mod:`orchestration.resilience.retry`.

PyGithub's own retry is switched off (``retry=None``) so that one policy governs: 5xx
answers and secondary rate limits (403/429 with ``Retry-After``, or with
``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset``) are retried, waiting what the server
asked for; any other error ends at once in a one-line :class:`GitHubApiError`.

PyGithub is synchronous: :meth:`GitHubClient.call` runs each call in a worker thread so that
several callers can share one event loop. Sleep, randomness and the clock are injectable so
that tests assert the waits without spending them.

Nothing here is imported by ``python -m orchestration --help``; PyGithub is imported when a
client is built.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from agents.errors import ForgeflowError
from orchestration import tracing
from orchestration.resilience.retry import (
    RetryableError,
    RetryPolicy,
    Sleep,
    retry_async,
    retry_delay_from_headers,
)

T = TypeVar("T")

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_POLICY = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=120.0)
SECONDARY_LIMIT_WAIT = 60.0
"""Wait after a secondary rate limit that names no time (GitHub: "at least one minute")."""

_REPO_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")


class GitHubApiError(ForgeflowError):
    """A GitHub API call failed (after retries, where retrying made sense)."""


class MissingCredentialsError(ForgeflowError):
    """The token, repository or API URL is not set, or not usable."""


def check_repo_name(repo: str) -> str:
    """``repo`` if it is ``owner/name``, else :class:`MissingCredentialsError`."""
    if not isinstance(repo, str) or not _REPO_RE.fullmatch(repo) or repo.endswith((".", "/")):
        raise MissingCredentialsError(
            f"repository {repo!r} is not of the form OWNER/NAME (set GITHUB_REPOSITORY)"
        )
    if repo.split("/", 1)[1] in (".", ".."):
        raise MissingCredentialsError(f"repository {repo!r} is not of the form OWNER/NAME")
    return repo


def check_api_url(url: str) -> str:
    """``url`` without a trailing slash, if it is an http(s) URL without credentials."""
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
        or any(ch.isspace() for ch in url)
    ):
        raise MissingCredentialsError(
            f"GitHub API URL {url!r} is not an http(s) URL (check GITHUB_API_URL)"
        )
    return url.rstrip("/")


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def retry_decision(
    status: int, headers: Mapping[str, Any] | None, message: str, now: float
) -> tuple[bool, float | None]:
    """Whether a failed answer is worth retrying, and the wait the server asked for.

    5xx: retried, waiting ``Retry-After`` if given (else backing off). 403/429: retried only
    as a rate limit, i.e. with ``Retry-After``, with ``x-ratelimit-remaining: 0`` and
    ``x-ratelimit-reset`` (``now`` is epoch seconds), or with a "secondary rate limit"
    message and no hint (then :data:`SECONDARY_LIMIT_WAIT`). Anything else: not retried.
    """
    hinted = retry_delay_from_headers({k: str(v) for k, v in (headers or {}).items()}, now)
    if status >= 500:
        return True, hinted
    if status in (403, 429):
        if hinted is not None:
            return True, hinted
        if "secondary rate limit" in message.lower():
            return True, SECONDARY_LIMIT_WAIT
    return False, None


def _describe(exc: Any) -> str:
    data = getattr(exc, "data", None)
    message = data.get("message") if isinstance(data, dict) else None
    detail = str(message or getattr(exc, "message", "") or "").strip()
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list):
        parts = [str(e.get("message") or e.get("code")) for e in errors if isinstance(e, dict)]
        if parts:
            detail = f"{detail}: {'; '.join(parts)}" if detail else "; ".join(parts)
    return " ".join(detail.split()) or "no message"


@dataclass
class GitHubClient:
    """A PyGithub ``Github`` plus the retry policy, sleep, randomness and clock to use."""

    github: Any
    policy: RetryPolicy = DEFAULT_POLICY
    sleep: Sleep = asyncio.sleep
    rand: Callable[[], float] = random.random
    clock: Callable[[], float] = time.time
    _repos: dict[str, Any] = field(default_factory=dict, repr=False)

    def repo(self, full_name: str) -> Any:
        """The PyGithub ``Repository`` for ``owner/name`` (lazy: no request is made)."""
        check_repo_name(full_name)
        if full_name not in self._repos:
            self._repos[full_name] = self.github.get_repo(full_name)
        return self._repos[full_name]

    async def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run the blocking PyGithub call ``fn`` in a thread, retrying as the policy says.

        ``what`` names the call in errors and logs ("PATCH pull request o/r#1").
        """
        with tracing.span("github.api", {"forgeflow.github.call": what}, kind="client") as current:
            return await self._call(what, fn, current)

    async def _call(self, what: str, fn: Callable[[], T], current: tracing.Span) -> T:
        from github import GithubException

        attempts = 0

        async def attempt() -> T:
            nonlocal attempts
            attempts += 1
            current.set("forgeflow.github.attempts", attempts)
            try:
                return await asyncio.to_thread(fn)
            except GithubException as exc:
                current.set("http.response.status_code", exc.status)
                retry, wait = retry_decision(exc.status, exc.headers, _describe(exc), self.clock())
                if not retry:
                    raise
                raise RetryableError(
                    f"{what}: HTTP {exc.status} {_describe(exc)}", retry_after=wait
                ) from exc
            except OSError as exc:  # requests' connection errors and timeouts
                raise RetryableError(f"{what}: cannot reach the GitHub API: {exc}") from exc

        try:
            return await retry_async(attempt, self.policy, sleep=self.sleep, rand=self.rand)
        except RetryableError as exc:
            raise GitHubApiError(
                f"{exc} (gave up after {self.policy.max_attempts} attempts)"
            ) from None
        except GithubException as exc:
            hint = {
                401: "; check GITHUB_TOKEN",
                403: "; the token lacks a permission (e.g. pull-requests: write)",
                404: "; check the repository, the number and the token's access",
            }.get(exc.status, "")
            raise GitHubApiError(f"{what}: HTTP {exc.status} {_describe(exc)}{hint}") from None


def connect(
    token: str,
    *,
    api_url: str = DEFAULT_API_URL,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Sleep = asyncio.sleep,
    rand: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.time,
    timeout: int = 30,
    seconds_between_requests: float | None = None,
    seconds_between_writes: float | None = None,
) -> GitHubClient:
    """A :class:`GitHubClient` for ``api_url`` authenticated with ``token``.

    PyGithub's own retries are off; so is its request spacing unless asked for
    (``seconds_between_*``), since our policy already waits what GitHub asks.
    """
    if not token or not token.strip():
        raise MissingCredentialsError("GitHub token is empty (set GITHUB_TOKEN)")
    from github import Auth, Github

    github = Github(
        auth=Auth.Token(token.strip()),
        base_url=check_api_url(api_url),
        timeout=timeout,
        retry=None,
        lazy=True,
        seconds_between_requests=seconds_between_requests,
        seconds_between_writes=seconds_between_writes,
    )
    return GitHubClient(github, policy=policy, sleep=sleep, rand=rand, clock=clock)


@dataclass(frozen=True)
class GitHubEnv:
    """What a workflow step knows about where it runs, read from the environment."""

    token: str
    repo: str
    api_url: str


def env_settings(env: Mapping[str, str] = os.environ) -> GitHubEnv:
    """``GITHUB_TOKEN``, ``GITHUB_REPOSITORY`` and ``GITHUB_API_URL``, checked.

    A missing token or repository is a :class:`MissingCredentialsError` (one line, exit 2).
    """
    token = env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise MissingCredentialsError(
            "GITHUB_TOKEN is not set; pass the token to this step through env:"
        )
    repo = env.get("GITHUB_REPOSITORY", "").strip()
    if not repo:
        raise MissingCredentialsError("GITHUB_REPOSITORY is not set (expected OWNER/NAME)")
    api_url = env.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL
    return GitHubEnv(token=token, repo=check_repo_name(repo), api_url=check_api_url(api_url))


def client_from_env(env: Mapping[str, str] = os.environ, **kwargs: Any) -> GitHubClient:
    """A client built from :func:`env_settings` (``kwargs`` go to :func:`connect`)."""
    settings = env_settings(env)
    return connect(settings.token, api_url=settings.api_url, **kwargs)
