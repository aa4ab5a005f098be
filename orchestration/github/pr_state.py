"""State kept in a pull request's body, in hidden markers, next to the author's own text.

A body that carries state looks like this (everything after the author's text is hidden
when GitHub renders the body)::

    The author's text, kept byte for byte.

    <!-- forgeflow:state key=report enc=b64z -->
    <!-- eNqrVkrLz1eyUkpKLFKqBQAd9gRQ -->
    <!-- /forgeflow:state key=report -->

One block per key. The value is canonical JSON, zlib-compressed, in unpadded base64url, whose
alphabet (``A-Z a-z 0-9 _ -``) cannot form ``-->`` or ``<!--``: no value can end its
comment early or start a new one. Keys are limited to ``[A-Za-z0-9_.-]``.

Only the blocks at the very end of the body are state, and only when every one of them
decodes; marker-like text anywhere else (or a lookalike that does not decode) is the
author's text and is left exactly as it is.

GitHub refuses a body over 65,536 characters. When a value does not fit even compressed, the
caller may give an :class:`ArtifactSpill`: the value is written to that file (for the
workflow to upload as an artifact) and the block keeps a small pointer
``{"$ref": "artifact:NAME", "sha256": ..., "bytes": ...}`` plus one visible line linking to
it. :func:`read_state` returns the pointer; :func:`load_spilled` reads the file back.

:class:`PullRequestState` reads and writes the body through the GitHub API
(:mod:`orchestration.github.api`), and :func:`upsert_sticky_comment` keeps one comment up to
date; both are async and retry through :mod:`orchestration.resilience.retry`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import random
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.errors import ForgeflowError, InputError

if TYPE_CHECKING:
    from orchestration.github.api import GitHubClient

log = logging.getLogger(__name__)

MAX_BODY_CHARS = 65_536
"""GitHub's limit for a pull-request body or a comment (longer ones get a 422)."""

MAX_DECODED_BYTES = 16 * 1024 * 1024
"""A block that inflates beyond this is not treated as state (a compression bomb)."""

KEY_PATTERN = r"[A-Za-z0-9_.-]{1,100}"
_KEY_RE = re.compile(KEY_PATTERN)
_ARTIFACT_NAME_RE = re.compile(r"[^\":<>|*?\r\n\\/]{1,200}")
_URL_RE = re.compile(r"https?://[A-Za-z0-9._~:/?#@!$&*+,;=%-]+")

_SEPARATORS = ("\r\n\r\n", "\n\n")
_SEPARATOR = "\n\n"
_LINK_PREFIX = "Forgeflow state "

_BLOCK_RE = re.compile(
    r"<!-- forgeflow:state key=(?P<key>" + KEY_PATTERN + r") enc=b64z -->\r?\n"
    r"<!-- (?P<data>[A-Za-z0-9_-]+) -->\r?\n"
    r"(?:(?P<link>" + re.escape(_LINK_PREFIX) + r"[^\r\n<>]*)\r?\n)?"
    r"<!-- /forgeflow:state key=(?P=key) -->"
)
_STICKY_RE_TEMPLATE = r"\A<!-- forgeflow:sticky key={key} -->\r?\n"

_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


class PrStateError(ForgeflowError):
    """Pull-request state cannot be written or read as asked."""


class PrBodyTooLargeError(PrStateError):
    """The body would pass GitHub's 65,536-character limit."""


class LostUpdateError(PrStateError):
    """A concurrent writer kept overwriting our key; the update was not confirmed."""


@dataclass(frozen=True)
class ArtifactSpill:
    """Where a value too big for the body goes instead.

    ``path`` is the file to write (the workflow uploads it), ``name`` the artifact's name as
    uploaded, ``url`` an optional link for people (for example the run's page).
    """

    path: Path
    name: str
    url: str | None = None

    def __post_init__(self) -> None:
        if not _ARTIFACT_NAME_RE.fullmatch(self.name):
            raise PrStateError(
                f"artifact name {self.name!r} is not allowed: 1-200 characters, "
                'none of " : < > | * ? \\ / or line breaks'
            )
        if "`" in self.name:
            raise PrStateError(f"artifact name {self.name!r} must not contain a backtick")
        if self.url is not None and not _URL_RE.fullmatch(self.url):
            raise PrStateError(
                f"artifact link {self.url!r} must be an http(s) URL without spaces, "
                "quotes, brackets or parentheses"
            )


# --------------------------------------------------------------------------- encoding


def check_key(key: str) -> str:
    """``key`` itself if it is a valid state key, else :class:`PrStateError`."""
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise PrStateError(
            f"state key {key!r} is not allowed: use 1-100 characters of A-Z a-z 0-9 _ . -"
        )
    return key


def canonical_bytes(value: Any) -> bytes:
    """Canonical JSON of ``value`` (sorted keys, no spaces, UTF-8); :class:`PrStateError`
    when it is not JSON (NaN, a set, an object)."""
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise PrStateError(f"state value is not JSON: {exc}") from None


def encode_value(value: Any) -> str:
    """base64url (unpadded) of zlib-compressed canonical JSON."""
    packed = zlib.compress(canonical_bytes(value), 9)
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_value(data: str) -> Any:
    """Inverse of :func:`encode_value`; raises ``ValueError`` for anything else."""
    try:
        packed = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_DECODED_BYTES)
        if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
            raise ValueError("not one complete zlib stream within the size limit")
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (binascii.Error, zlib.error, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from None


# --------------------------------------------------------------------------- the body


@dataclass(frozen=True)
class _Parsed:
    user: str
    state: dict[str, Any]


def _link_line(key: str, pointer: dict[str, Any]) -> str:
    name = str(pointer["$ref"]).removeprefix("artifact:")
    line = f"{_LINK_PREFIX}`{key}` is stored in the artifact `{name}`"
    url = pointer.get("url")
    if isinstance(url, str):
        line += f" ([download]({url}))"
    return line + "."


def is_artifact_pointer(value: Any) -> bool:
    """True for the pointer that stands in the body for a value moved to an artifact."""
    if not isinstance(value, dict) or set(value) - {"$ref", "sha256", "bytes", "url"}:
        return False
    ref, sha, url = value.get("$ref"), value.get("sha256"), value.get("url")
    return (
        isinstance(ref, str)
        and ref.startswith("artifact:")
        and _ARTIFACT_NAME_RE.fullmatch(ref.removeprefix("artifact:")) is not None
        and "`" not in ref
        and isinstance(sha, str)
        and re.fullmatch(r"[0-9a-f]{64}", sha) is not None
        and isinstance(value.get("bytes"), int)
        and (url is None or (isinstance(url, str) and _URL_RE.fullmatch(url) is not None))
    )


def _decode_block(match: re.Match[str]) -> Any:
    value = decode_value(match["data"])
    # A link line belongs to a pointer, and must be exactly the one we would write.
    expected = _link_line(match["key"], value) if is_artifact_pointer(value) else None
    if match["link"] != expected:
        raise ValueError("link line does not match its pointer")
    return value


def _parse(body: str | None) -> _Parsed:
    """Split ``body`` into the author's text and the trailing state blocks."""
    text = body or ""
    end = len(text.rstrip(" \t\r\n"))
    matches = list(_BLOCK_RE.finditer(text, 0, end))
    blocks: list[tuple[str, Any]] = []
    start = end
    for match in reversed(matches):
        allowed = ("",) if not blocks else ("\n", "\r\n")
        if text[match.end() : start] not in allowed:
            break
        try:
            value = _decode_block(match)
        except ValueError:
            break
        if any(key == match["key"] for key, _ in blocks):
            break  # a key twice is not something we wrote
        blocks.append((match["key"], value))
        start = match.start()
    if not blocks:
        return _Parsed(text, {})
    if start != 0 and text[start - 1] not in "\r\n":
        return _Parsed(text, {})  # state starts mid-line: not ours
    user = text[:start]
    for sep in _SEPARATORS:
        if user.endswith(sep):
            user = user[: -len(sep)]
            break
    return _Parsed(user, dict(reversed(blocks)))


def _render(user: str, state: dict[str, Any]) -> str:
    if not state:
        return user
    blocks = []
    for key, value in state.items():
        lines = [
            f"<!-- forgeflow:state key={key} enc=b64z -->",
            f"<!-- {encode_value(value)} -->",
        ]
        if is_artifact_pointer(value):
            lines.append(_link_line(key, value))
        lines.append(f"<!-- /forgeflow:state key={key} -->")
        blocks.append("\n".join(lines))
    region = "\n".join(blocks)
    return f"{user}{_SEPARATOR}{region}" if user else region


def read_state(body: str | None) -> dict[str, Any]:
    """Every key's value held in ``body`` (a pointer dict for a value moved to an artifact)."""
    return _parse(body).state


def user_text(body: str | None) -> str:
    """The author's own text: ``body`` without the state blocks (``""`` for ``None``)."""
    return _parse(body).user


def write_state(
    body: str | None,
    key: str,
    value: Any,
    *,
    spill: ArtifactSpill | None = None,
    limit: int = MAX_BODY_CHARS,
) -> str:
    """``body`` with ``key`` set to ``value``; the author's text is kept byte for byte.

    When the result would pass ``limit`` characters, the value is written to
    ``spill.path`` and replaced by a pointer; without ``spill`` (or when even the pointer
    does not fit) :class:`PrBodyTooLargeError` is raised.
    """
    check_key(key)
    parsed = _parse(body)
    state = dict(parsed.state)
    state[key] = value
    canonical = canonical_bytes(value)
    new_body = _render(parsed.user, state)
    if len(new_body) <= limit:
        return new_body
    if spill is None:
        raise PrBodyTooLargeError(
            f"pull-request body would be {len(new_body):,} characters with state key {key!r} "
            f"(GitHub allows {limit:,}); give an artifact file to move the value out"
        )
    pointer: dict[str, Any] = {
        "$ref": f"artifact:{spill.name}",
        "sha256": hashlib.sha256(canonical).hexdigest(),
        "bytes": len(canonical),
    }
    if spill.url is not None:
        pointer["url"] = spill.url
    state[key] = pointer
    new_body = _render(parsed.user, state)
    if len(new_body) > limit:
        raise PrBodyTooLargeError(
            f"pull-request body would be {len(new_body):,} characters even with state key "
            f"{key!r} moved to an artifact (GitHub allows {limit:,}); shorten the description"
        )
    from orchestration.runtime.artifact import write_text_atomic

    write_text_atomic(spill.path, canonical.decode("utf-8"))
    return new_body


def remove_state(body: str | None, key: str) -> str:
    """``body`` without ``key``'s block (unchanged text when the key is absent)."""
    check_key(key)
    parsed = _parse(body)
    if key not in parsed.state:
        return body or ""
    state = {k: v for k, v in parsed.state.items() if k != key}
    return _render(parsed.user, state)


def load_spilled(pointer: dict[str, Any], path: Path) -> Any:
    """The value a pointer stands for, read from the downloaded artifact file ``path``.

    The file's canonical JSON must match the pointer's sha256.
    """
    if not is_artifact_pointer(pointer):
        raise PrStateError(f"{pointer!r} is not an artifact pointer")
    from orchestration.runtime.guards import max_artifact_bytes, read_regular_bytes

    raw = read_regular_bytes(Path(path), max_artifact_bytes(), what="state artifact")
    if hashlib.sha256(raw).hexdigest() != pointer["sha256"]:
        raise InputError(f"{path}: sha256 does not match the pointer in the pull request")
    return json.loads(raw.decode("utf-8"))


# --------------------------------------------------------------------------- the API


class PullRequestState:
    """The state held in one pull request's body, read and written through the API.

    ``repo`` is ``owner/name``. :meth:`update` is read → merge → PATCH → wait a jittered
    ``settle`` (0.5-1.5 times it) → re-read and check that our key holds our value. Each
    write merges into the body as last read, so keys others wrote before that read survive.
    GitHub has no conditional update for a body, so two writers can still race: the one
    whose PATCH lands first is overwritten by the other's older merge. The check catches
    it and that writer writes again (up to ``max_attempts``, then
    :class:`LostUpdateError`). The race it cannot see is a writer whose PATCH lands more
    than the settle wait after another writer's, having read before it; ``settle`` is
    therefore longer than one GET-to-PATCH round trip.
    """

    def __init__(
        self,
        repo: str,
        number: int,
        client: GitHubClient,
        *,
        max_attempts: int = 6,
        settle: float = 2.0,
        rand: Callable[[], float] = random.random,
        expect_head_sha: str | None = None,
    ) -> None:
        from orchestration.github.api import check_repo_name

        if expect_head_sha is not None and not re.fullmatch(r"[0-9a-f]{40}", expect_head_sha):
            raise PrStateError(f"head commit {expect_head_sha!r} is not a full commit id")

        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise PrStateError(f"pull-request number {number!r} must be a positive integer")
        self.repo = check_repo_name(repo)
        self.number = number
        self.client = client
        self.max_attempts = max_attempts
        self.settle = settle
        self._rand = rand
        #: When set, every read checks that the pull request's head is still this commit,
        #: so a writer acting on another run's artifacts never writes to the wrong pull
        #: request (or about a commit that is no longer its head).
        self.expect_head_sha = expect_head_sha

    def _pull(self) -> Any:
        return self.client.repo(self.repo).get_pull(self.number)

    async def body(self) -> str | None:
        """The current body (``None`` when the pull request has none)."""

        def fetch() -> str | None:
            pull = self._pull()
            body: str | None = pull.body
            if self.expect_head_sha is not None and pull.head.sha != self.expect_head_sha:
                raise PrStateError(
                    f"pull request {self.repo}#{self.number} has head {pull.head.sha}, not "
                    f"{self.expect_head_sha}: it is not the analysed commit; nothing written"
                )
            return body

        return await self.client.call(f"GET pull request {self.repo}#{self.number}", fetch)

    async def _set_body(self, body: str) -> None:
        def patch() -> None:
            self._pull().edit(body=body)

        await self.client.call(f"PATCH pull request {self.repo}#{self.number}", patch)

    async def read(self) -> dict[str, Any]:
        """Every key's value."""
        return read_state(await self.body())

    async def get(self, key: str, default: Any = None) -> Any:
        """One key's value (or ``default``)."""
        return (await self.read()).get(check_key(key), default)

    async def _wait(self, scale: float) -> None:
        if scale > 0:
            await self.client.sleep(scale * (0.5 + self._rand()))

    async def _converge(self, key: str, change: Callable[[str | None], str]) -> Any:
        expected: Any = _MISSING
        for attempt in range(1, self.max_attempts + 1):
            body = await self.body()
            new_body = change(body)
            expected = read_state(new_body).get(key, _MISSING)
            if new_body == (body or ""):
                return None if expected is _MISSING else expected
            await self._set_body(new_body)
            await self._wait(self.settle)
            seen = read_state(await self.body()).get(key, _MISSING)
            if seen == expected:
                return None if expected is _MISSING else expected
            log.info(
                "pull request %s#%d: key %r was overwritten by a concurrent writer "
                "(attempt %d of %d); writing again",
                self.repo,
                self.number,
                key,
                attempt,
                self.max_attempts,
            )
            await self._wait(self.settle * attempt)
        raise LostUpdateError(
            f"pull request {self.repo}#{self.number}: state key {key!r} was overwritten by "
            f"concurrent writers {self.max_attempts} times; try again"
        )

    async def update(self, key: str, value: Any, *, spill: ArtifactSpill | None = None) -> Any:
        """Set ``key`` to ``value``; returns what the body now holds (``value`` or a pointer)."""
        check_key(key)
        canonical_bytes(value)
        return await self._converge(key, lambda body: write_state(body, key, value, spill=spill))

    async def remove(self, key: str) -> None:
        """Delete ``key``'s block (nothing happens when it is absent)."""
        check_key(key)
        await self._converge(key, lambda body: remove_state(body, key))


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


# --------------------------------------------------------------------------- sticky comment


def sticky_marker(marker_key: str) -> str:
    """The hidden first line that identifies a sticky comment."""
    return f"<!-- forgeflow:sticky key={check_key(marker_key)} -->"


def sticky_body(marker_key: str, markdown: str, *, limit: int = MAX_BODY_CHARS) -> str:
    """The comment body: the marker line, then ``markdown``.

    Mentions and issue references in ``markdown`` are made inert (see
    :mod:`orchestration.runtime.markdown`). A report longer than GitHub allows is cut, and
    says so in a visible last line.
    """
    from orchestration.runtime.markdown import neutralise

    markdown = neutralise(markdown)
    head = sticky_marker(marker_key) + "\n"
    body = head + markdown
    if len(body) <= limit:
        return body
    note = "\n\n_… report truncated to fit GitHub's comment limit; see the job summary._"
    keep = limit - len(head) - len(note)
    return head + markdown[:keep] + note


@dataclass(frozen=True)
class StickyResult:
    """What :func:`upsert_sticky_comment` did."""

    comment_id: int
    created: bool
    url: str | None


#: The login of a workflow job's ``GITHUB_TOKEN`` on GitHub: the comments it writes are
#: by this bot user.
GITHUB_ACTIONS_BOT = "github-actions[bot]"
_LOGIN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")


def check_login(login: str) -> str:
    """``login`` if it is a GitHub login (a user's, or an app's ``NAME[bot]``)."""
    if not isinstance(login, str) or not _LOGIN_RE.fullmatch(login):
        raise PrStateError(
            f"comment author {login!r} is not a GitHub login (letters, digits, -; "
            f"an app's ends in [bot], e.g. {GITHUB_ACTIONS_BOT})"
        )
    return login


async def upsert_sticky_comment(
    repo: str,
    number: int,
    marker_key: str,
    markdown: str,
    *,
    client: GitHubClient,
    author: str = GITHUB_ACTIONS_BOT,
) -> StickyResult:
    """Update the comment on ``repo#number`` that starts with the hidden marker for
    ``marker_key`` and was written by ``author``, or create it when there is none: one
    comment, never a second one.

    ``author`` is the login of the token in use (``github-actions[bot]`` for a job's
    ``GITHUB_TOKEN``). Only comments whose first line is exactly the marker count, and
    only those by ``author``: anyone can post the public marker, and such a comment is
    left alone rather than taken over. When several exist, the oldest is updated.
    """
    from orchestration.github.api import check_repo_name

    check_repo_name(repo)
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise PrStateError(f"pull-request number {number!r} must be a positive integer")
    login = check_login(author).lower()
    body = sticky_body(marker_key, markdown)
    pattern = re.compile(_STICKY_RE_TEMPLATE.format(key=re.escape(marker_key)))

    def find() -> Any:
        issue = client.repo(repo).get_issue(number)
        for comment in issue.get_comments():
            user = getattr(comment.user, "login", None) if comment.user is not None else None
            if pattern.match(comment.body or "") and str(user or "").lower() == login:
                return comment
        return None

    where = f"{repo}#{number}"
    existing = await client.call(f"GET comments of {where}", find)
    if existing is not None:
        if existing.body != body:

            def edit() -> None:
                existing.edit(body)

            await client.call(f"PATCH comment {existing.id} on {where}", edit)
        return StickyResult(existing.id, False, existing.html_url)

    def create() -> Any:
        return client.repo(repo).get_issue(number).create_comment(body)

    comment = await client.call(f"POST comment on {where}", create)
    return StickyResult(comment.id, True, comment.html_url)
