"""Monitoring: every agent run timed and recorded (summary and logs come on top)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestration.execution import AgentRun


@dataclass
class RunRecord:
    """One agent run as the monitor keeps it."""

    stage: str
    agent: str
    status: str
    duration_ms: float
    cached: bool = False
    resumed: bool = False
    error: str | None = None
    after: list[str] = field(default_factory=list)


class RunMonitor:
    """Collects a :class:`RunRecord` per agent run."""

    def __init__(self) -> None:
        self.records: list[RunRecord] = []

    def record(self, run: AgentRun, *, after: list[str] | None = None) -> RunRecord:
        rec = RunRecord(
            stage=run.stage,
            agent=run.agent,
            status=str(run.envelope.status),
            duration_ms=run.envelope.duration_ms,
            cached=run.cached,
            resumed=run.resumed,
            error=run.error,
            after=list(after or []),
        )
        self.records.append(rec)
        return rec
