"""Merge a folder of agent result artifacts, e.g. the legs of a matrix fan-out.

``python -m orchestration.combine_results DIR [-o OUT] [--combiner AGENT --upstream FILE]``

Every ``*.json`` below DIR is read as an artifact. Succeeded legs are merged under their
agent name; failed legs, and files that are not valid artifacts, are listed as failures
with the reason, and the rest are still merged. With ``--combiner``, the combiner agent
is run on ``{"upstream": …, AGENT: data or null, …, "failures": […]}`` — the same input a
parallel group gives its combiner in-process.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agents.base import AgentResult
from agents.errors import ForgeflowError, InputError


class LegFailure(BaseModel):
    leg: str = Field(description="Agent name, or the file when it was no artifact")
    error: str


class CombinedResults(AgentResult):
    """Succeeded legs' data by agent name, and the legs that failed."""

    results: dict[str, dict[str, Any]] = Field(default_factory=dict)
    failures: list[LegFailure] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list, description="Files read, relative to DIR")


def collect(directory: Path) -> CombinedResults:
    """Read every artifact below ``directory`` into a :class:`CombinedResults`."""
    from orchestration.runtime.artifact import ArtifactStatus, read_artifact

    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: no such folder of results")
    files = sorted(p for p in directory.rglob("*.json") if p.is_file())
    if not files:
        raise InputError(f"{directory}: no result artifacts (*.json) in it")
    combined = CombinedResults()
    for path in files:
        rel = path.relative_to(directory).as_posix()
        combined.sources.append(rel)
        try:
            env = read_artifact(path)
        except ForgeflowError as exc:
            combined.failures.append(LegFailure(leg=rel, error=exc.one_line()))
            continue
        leg = env.agent
        if leg in combined.results:
            leg = f"{env.agent}:{rel}"
        if env.status is ArtifactStatus.SUCCEEDED and env.data is not None:
            combined.results[leg] = env.data
        else:
            combined.failures.append(LegFailure(leg=leg, error=env.error or str(env.status)))
    if combined.failures:
        combined.warnings.append(f"{len(combined.failures)} of {len(files)} legs failed")
        combined.confidence = round(len(combined.results) / len(files), 3)
    return combined


def combine_input(
    combined: CombinedResults, upstream: BaseModel | dict[str, Any]
) -> dict[str, Any]:
    """The combiner input: upstream, each leg's data by agent name, and the failures."""
    up = upstream.model_dump(mode="json") if isinstance(upstream, BaseModel) else upstream
    doc: dict[str, Any] = {"upstream": up, **combined.results}
    doc["failures"] = [{"branch": f.leg, "error": f.error} for f in combined.failures]
    return doc


def combine(
    directory: Path,
    output: Path,
    *,
    combiner: str | None = None,
    upstream: Path | None = None,
    run_id: str | None = None,
) -> tuple[bool, CombinedResults]:
    """Merge ``directory`` into ``output`` (an artifact). Returns (ok, merged legs)."""
    from orchestration.runtime.artifact import (
        ArtifactStatus,
        make_envelope,
        new_id,
        now,
        read_json,
        write_artifact,
    )
    from orchestration.runtime.execution import RunContext, execute

    combined = collect(directory)
    if combiner is None:
        started = now()
        env = make_envelope(
            agent="combine_results",
            agent_version="1",
            output_model=CombinedResults,
            input_value={"sources": combined.sources},
            output=combined,
            started_at=started,
            finished_at=now(),
            run_id=run_id or new_id(),
            correlation_id=run_id or new_id(),
            status=ArtifactStatus.SUCCEEDED,
        )
        write_artifact(output, env)
        return True, combined
    if upstream is None:
        raise ForgeflowError("--combiner needs --upstream FILE (the input the legs shared)")
    from agents.registry import default_registry

    cls = default_registry().get(combiner)
    up = read_json(upstream)
    if isinstance(up, dict) and "schema_id" in up and "data" in up:
        up = up["data"]
    ctx = RunContext(run_id=run_id or new_id())

    async def go() -> Any:
        async with cls() as agent:
            return await execute(agent, combine_input(combined, up), ctx)

    result = asyncio.run(go())
    if isinstance(result.exception, ForgeflowError):
        raise result.exception
    write_artifact(output, result.envelope)
    return result.ok, combined
