"""Result cache: keys, hits through execute(), version bumps, corrupt entries, clearing."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from agents.base import Agent
from agents.builtin import TextInput, TextOutput
from orchestration.runtime.artifact import ArtifactStatus, digest
from orchestration.runtime.cache import (
    CacheError,
    DirectoryCache,
    MemoryCache,
    ResultCache,
    cache_key,
)
from orchestration.runtime.execution import RunContext, execute


class CountingAgent(Agent[TextInput, TextOutput]):
    """Reverses text and counts how often it really ran."""

    name = "reverse"
    version = "1"
    input_model = TextInput
    output_model = TextOutput
    calls: ClassVar[list[str]] = []

    async def process(self, data: TextInput) -> TextOutput:
        type(self).calls.append(data.text)
        return TextOutput(text=data.text[::-1], confidence=0.75)


class CountingAgentV2(CountingAgent):
    """The same agent after a change in behaviour."""

    version = "2"


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CountingAgent.calls = []


def entry_path(root: Path, agent: type[Agent[TextInput, TextOutput]], text: str) -> Path:
    key = cache_key(agent.name, agent.version, digest(TextInput(text=text)))
    return root / key[:2] / f"{key}.json"


@pytest.mark.parametrize(
    ("other",),
    [
        pytest.param(("reverse", "1", "sha256:bbb"), id="other-input"),
        pytest.param(("reverse", "2", "sha256:aaa"), id="other-version"),
        pytest.param(("echo", "1", "sha256:aaa"), id="other-agent"),
        pytest.param(("reverse1", "", "sha256:aaa"), id="no-ambiguous-joining"),
    ],
)
def test_key_changes_with_each_part(other: tuple[str, str, str]) -> None:
    base = cache_key("reverse", "1", "sha256:aaa")
    assert len(base) == 64 and int(base, 16) >= 0
    assert base == cache_key("reverse", "1", "sha256:aaa")
    assert cache_key(*other) != base


async def test_second_run_is_a_hit_and_the_agent_is_not_called(tmp_path: Path) -> None:
    cache = DirectoryCache(tmp_path / "cache")
    ctx = RunContext(cache=cache)
    first = await execute(CountingAgent(), {"text": "abc"}, ctx)
    second = await execute(CountingAgent(), {"text": "abc"}, ctx)

    assert CountingAgent.calls == ["abc"]
    assert (first.cached, second.cached) == (False, True)
    assert second.envelope.status is ArtifactStatus.SUCCEEDED
    assert second.output == TextOutput(text="cba", confidence=0.75)
    assert (cache.hits, cache.misses) == (1, 1)
    assert entry_path(tmp_path / "cache", CountingAgent, "abc").is_file()


async def test_cache_folder_carries_over_to_a_later_run(tmp_path: Path) -> None:
    """What actions/cache does: a fresh process finds the folder a previous run filled."""
    await execute(CountingAgent(), {"text": "abc"}, RunContext(cache=DirectoryCache(tmp_path)))
    later = DirectoryCache(tmp_path)
    run = await execute(CountingAgent(), {"text": "abc"}, RunContext(cache=later))
    assert run.cached
    assert CountingAgent.calls == ["abc"]
    assert later.hits == 1


@pytest.mark.parametrize(
    ("agent", "text"),
    [
        pytest.param(CountingAgentV2, "abc", id="new-agent-version"),
        pytest.param(CountingAgent, "abd", id="new-input"),
    ],
)
async def test_a_changed_key_misses(tmp_path: Path, agent: type[CountingAgent], text: str) -> None:
    cache = DirectoryCache(tmp_path)
    await execute(CountingAgent(), {"text": "abc"}, RunContext(cache=cache))
    run = await execute(agent(), {"text": text}, RunContext(cache=cache))
    assert not run.cached
    assert CountingAgent.calls == ["abc", text]
    assert (cache.hits, cache.misses) == (0, 2)


async def test_a_failed_run_is_not_cached(tmp_path: Path) -> None:
    class Flaky(CountingAgent):
        name = "flaky"
        failures: ClassVar[int] = 1

        async def process(self, data: TextInput) -> TextOutput:
            if type(self).failures:
                type(self).failures -= 1
                raise RuntimeError("upstream timeout")
            return await super().process(data)

    cache = DirectoryCache(tmp_path)
    failed = await execute(Flaky(), {"text": "x"}, RunContext(cache=cache))
    retried = await execute(Flaky(), {"text": "x"}, RunContext(cache=cache))
    assert failed.error == "RuntimeError: upstream timeout"
    assert retried.ok and not retried.cached
    assert len(cache) == 1


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"text": "cb', id="truncated-json"),
        pytest.param(b"", id="empty-file"),
        pytest.param(b"\xff\xfe\x00garbage", id="not-utf8"),
        pytest.param(b'{"confidence": 0.5}', id="wrong-shape"),
        pytest.param(b'{"text": "cba", "confidence": 7}', id="breaks-a-rule"),
    ],
)
async def test_corrupt_entry_is_a_miss_and_is_replaced(tmp_path: Path, content: bytes) -> None:
    cache = DirectoryCache(tmp_path)
    path = entry_path(tmp_path, CountingAgent, "abc")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)

    key = cache.key("reverse", "1", digest(TextInput(text="abc")))
    assert cache.get(key, TextOutput) is None
    assert not path.exists()
    assert cache.misses == 1

    run = await execute(CountingAgent(), {"text": "abc"}, RunContext(cache=cache))
    assert run.ok and not run.cached
    assert TextOutput.model_validate_json(path.read_text()) == TextOutput(
        text="cba", confidence=0.75
    )


def test_entry_that_is_a_folder_is_a_miss(tmp_path: Path) -> None:
    cache = DirectoryCache(tmp_path)
    key = cache_key("reverse", "1", "sha256:x")
    cache.path_for(key).mkdir(parents=True)
    assert cache.get(key, TextOutput) is None
    assert cache.misses == 1


async def test_unwritable_cache_does_not_fail_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder's parent should be\n")
    cache = DirectoryCache(blocker / "cache")
    run = await execute(CountingAgent(), {"text": "abc"}, RunContext(cache=cache))
    assert run.ok
    assert run.output == TextOutput(text="cba", confidence=0.75)
    assert cache.write_errors == 1


def test_cache_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    root.write_text("")
    with pytest.raises(CacheError, match=r"cache folder is a file"):
        DirectoryCache(root)


def test_entries_are_written_atomically_with_no_leftovers(tmp_path: Path) -> None:
    cache = DirectoryCache(tmp_path)
    key = cache_key("reverse", "1", "sha256:x")
    cache.put(key, TextOutput(text="one"))
    cache.put(key, TextOutput(text="two"))
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{key}.json"]
    assert cache.get(key, TextOutput) == TextOutput(text="two")


def test_clear_removes_entries_and_nothing_else(tmp_path: Path) -> None:
    cache = DirectoryCache(tmp_path)
    keys = [cache_key("reverse", "1", f"sha256:{n}") for n in range(5)]
    for key in keys:
        cache.put(key, TextOutput(text=key))
    stray_temp = cache.path_for(keys[0]).parent / f".{keys[0]}.json.abc123.tmp"
    stray_temp.write_text("{")
    notes = tmp_path / "README.txt"
    notes.write_text("kept\n")
    foreign = tmp_path / keys[1][:2] / "mine.txt"
    foreign.write_text("kept\n")

    assert len(cache) == 5
    assert cache.clear() == 5
    assert len(cache) == 0
    assert all(cache.get(key, TextOutput) is None for key in keys)
    assert not stray_temp.exists()
    assert notes.read_text() == "kept\n"
    assert foreign.read_text() == "kept\n"


def test_clear_on_a_missing_folder_is_zero(tmp_path: Path) -> None:
    assert DirectoryCache(tmp_path / "never-written").clear() == 0


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("../../etc/passwd", id="path-traversal"),
        pytest.param("ABCDEF" + "0" * 58, id="uppercase"),
        pytest.param("0" * 63, id="too-short"),
    ],
)
def test_keys_that_are_not_digests_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a cache key"):
        DirectoryCache(tmp_path).get(key, TextOutput)


async def test_memory_cache_hits_and_is_not_changed_through_results() -> None:
    cache = MemoryCache()
    ctx = RunContext(cache=cache)
    first = await execute(CountingAgent(), {"text": "abc"}, ctx)
    assert isinstance(first.output, TextOutput)
    first.output.text = "tampered"
    second = await execute(CountingAgent(), {"text": "abc"}, ctx)
    assert second.cached
    assert second.output == TextOutput(text="cba", confidence=0.75)
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)
    assert cache.clear() == 1
    assert not (await execute(CountingAgent(), {"text": "abc"}, ctx)).cached


@pytest.mark.parametrize(
    "make",
    [pytest.param(MemoryCache, id="memory"), pytest.param(DirectoryCache, id="directory")],
)
def test_both_caches_satisfy_the_protocol(tmp_path: Path, make: type) -> None:
    cache = make() if make is MemoryCache else make(tmp_path)
    assert isinstance(cache, ResultCache)
