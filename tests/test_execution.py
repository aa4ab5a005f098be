"""``execute``: the one path every agent run takes (envelope, resume, cache, settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agents import AgentConfig
from agents.base import AgentSettings
from agents.builtin import EchoAgent, TextInput
from orchestration.runtime.artifact import ArtifactStatus, digest
from orchestration.runtime.cache import MemoryCache
from orchestration.runtime.execution import RunContext, execute
from orchestration.state.directory import DirectoryStore


class CountingSettings(AgentSettings):
    decisions: str | None = Field(default=None, description="A setting that changes the work")


class CountingEcho(EchoAgent):
    settings_model = CountingSettings
    calls = 0

    async def process(self, data: TextInput):  # type: ignore[no-untyped-def]
        type(self).calls += 1
        return await super().process(data)


async def test_envelope_describes_the_run() -> None:
    run = await execute(EchoAgent(), {"text": "hi"}, RunContext(run_id="r", correlation_id="c"))
    env = run.envelope
    assert run.ok and env.status is ArtifactStatus.SUCCEEDED
    assert (env.run_id, env.correlation_id, env.agent) == ("r", "c", "echo")
    assert env.input_digest == digest(TextInput(text="hi"))
    assert env.finished_at >= env.started_at
    assert env.data == {"confidence": 1.0, "errors": [], "warnings": [], "text": "hi"}


async def test_invalid_input_is_a_failed_run_not_a_crash() -> None:
    run = await execute(EchoAgent(), {"txt": "hi"}, RunContext())
    assert not run.ok
    assert "$.text" in (run.error or "")
    assert run.envelope.status is ArtifactStatus.FAILED and run.envelope.data is None


async def test_other_settings_are_other_work_for_resume_and_cache(tmp_path: Path) -> None:
    CountingEcho.calls = 0
    store = DirectoryStore(tmp_path)
    ctx = RunContext(run_id="r", store=store, cache=MemoryCache())
    data = TextInput(text="same")
    plain = CountingEcho()
    tuned = CountingEcho(AgentConfig(name="echo", settings={"decisions": "a.json"}))
    retuned = CountingEcho(AgentConfig(name="echo", settings={"decisions": "b.json"}))
    await execute(plain, data, ctx, stage="s")
    assert (await execute(plain, data, ctx, stage="s")).resumed
    assert not (await execute(tuned, data, ctx, stage="s")).resumed
    assert not (await execute(retuned, data, ctx, stage="s")).resumed
    assert (await execute(retuned, data, ctx, stage="s")).resumed
    assert CountingEcho.calls == 3
