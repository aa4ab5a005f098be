"""``execute``: the one path every agent run takes (envelope, resume, cache, settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agents import AgentConfig
from agents.base import Agent, AgentSettings
from agents.builtin import EchoAgent, TextInput, TextOutput
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


class _BusyAgent(Agent[TextInput, TextOutput]):
    """Spends CPU time: a busy loop of about 30 ms."""

    name = "busy"
    input_model = TextInput
    output_model = TextOutput

    async def process(self, data: TextInput) -> TextOutput:
        import time

        end = time.process_time() + 0.03
        while time.process_time() < end:
            pass
        return TextOutput(text=data.text)


class _HungryAgent(Agent[TextInput, TextOutput]):
    """Raises the process's peak resident size by at least 160 MB for a moment.

    The peak is a high-water mark of the whole process (inherited, on Linux, from the
    process that started this one), so the block is what the process already reached
    above its current size, plus 160 MB.
    """

    name = "hungry"
    input_model = TextInput
    output_model = TextOutput

    async def process(self, data: TextInput) -> TextOutput:
        import os
        import resource

        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with open("/proc/self/statm", encoding="ascii") as fh:
            rss_kb = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        block = b"x" * ((max(peak_kb - rss_kb, 0) + 160 * 1024) * 1024)
        return TextOutput(text=data.text + str(len(block) // len(block)))


async def test_each_agent_run_records_its_cpu_time_and_peak_memory() -> None:
    from orchestration.runtime.monitoring import RunMonitor

    monitor = RunMonitor()
    ctx = RunContext(monitor=monitor, record_resources=True)
    busy = await execute(_BusyAgent(), {"text": "a"}, ctx)
    hungry = await execute(_HungryAgent(), {"text": "b"}, ctx)
    assert busy.cpu_ms is not None and busy.cpu_ms >= 25
    assert hungry.peak_rss_kb is not None and hungry.rss_growth_kb is not None
    assert hungry.rss_growth_kb >= 100 * 1024  # the 160 MB raised the process's peak
    assert hungry.peak_rss_kb >= hungry.rss_growth_kb
    first, second = monitor.records
    assert (first.cpu_ms, second.rss_growth_kb) == (busy.cpu_ms, hungry.rss_growth_kb)
    md = monitor.summary_markdown()
    row = next(line for line in md.splitlines() if line.startswith("| hungry "))
    assert f"(+{hungry.rss_growth_kb / 1024:,.1f})" in row
    # not asked for (a library run without tracing): nothing measured, nothing shown
    plain = await execute(_BusyAgent(), {"text": "c"}, RunContext())
    assert (plain.cpu_ms, plain.peak_rss_kb, plain.rss_growth_kb) == (None, None, None)
