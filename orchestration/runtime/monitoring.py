"""Monitoring: every agent run timed, recorded, logged, and reported to GitHub Actions.

:func:`orchestration.runtime.execution.execute` hands each finished run to
:meth:`RunMonitor.record`, which keeps a :class:`RunRecord` and logs one line at INFO on the
``forgeflow.runs`` logger (with ``run_id``, ``stage``, ``agent``, ``status``, ``duration_ms`` as
structured fields). At the end of a run the monitor renders a markdown job summary — a table of
timings and a mermaid graph of the run — and emits one ``::error::`` annotation per failed run::

    monitor = RunMonitor()
    ctx = RunContext(monitor=monitor)
    ...  # run a pipeline with ctx
    monitor.report_to_github(title="SynthForge")
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from agents.model_client import ModelCall, ToolCallRecord
    from orchestration.runtime.execution import AgentRun

RUNS_LOGGER = "forgeflow.runs"

#: Mermaid class per status: fill, stroke and text colours.
_STATUS_STYLES = {
    "succeeded": "fill:#d4edda,stroke:#28a745,color:#155724",
    "failed": "fill:#f8d7da,stroke:#dc3545,color:#721c24",
    "skipped": "fill:#e2e3e5,stroke:#6c757d,color:#383d41",
    "cached": "fill:#d1ecf1,stroke:#17a2b8,color:#0c5460",
}
_STATUS_ICONS = {"succeeded": "✅", "failed": "❌", "skipped": "⏭️"}

# Characters kept as they are in a mermaid label; every other one becomes an entity code.
_MERMAID_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.+/")


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
    run_id: str = ""
    #: The model calls of this run, each with its model, tokens and estimated cost.
    model_calls: list[ModelCall] = field(default_factory=list)
    #: The tool calls of this run: tool, arguments digest, duration and outcome.
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    #: CPU time of the process while the agent ran, in ms (None: it did not run here,
    #: e.g. resumed). Concurrent branches share one process: each counts the others too.
    cpu_ms: float | None = None
    #: The process's peak resident memory when the run ended (its high-water mark), and
    #: how much this run raised it, in KiB (None: unknown, or it did not run here).
    peak_rss_kb: int | None = None
    rss_growth_kb: int | None = None
    #: The trace of the run's span (None: tracing off).
    trace_id: str | None = None

    @property
    def failed(self) -> bool:
        """Whether the run failed."""
        return self.status == "failed"

    @property
    def input_tokens(self) -> int:
        """Prompt tokens over all model calls of the run."""
        return sum(c.usage.input_tokens for c in self.model_calls)

    @property
    def output_tokens(self) -> int:
        """Completion tokens over all model calls of the run."""
        return sum(c.usage.output_tokens for c in self.model_calls)

    @property
    def cost_usd(self) -> float | None:
        """Estimated cost of the run's model calls; None when any call's price is unknown."""
        costs = [c.usage.cost_usd for c in self.model_calls]
        if any(c is None for c in costs):
            return None
        return sum(c for c in costs if c is not None)

    @property
    def unpriced_models(self) -> list[str]:
        """Models called in this run whose price is unknown."""
        return sorted({c.model for c in self.model_calls if c.usage.cost_usd is None})


def mermaid_label(text: str) -> str:
    """``text`` made safe inside a quoted mermaid label (``n0["…"]``).

    Letters, digits, space and ``_ . + /`` are kept; newlines become spaces; every other
    character becomes a mermaid entity code (``#34;`` for ``"``), so quotes, brackets,
    pipes, ``-->``, backticks and ``#`` cannot close the label, add an edge, or end the
    surrounding markdown code fence.
    """
    flat = " ".join(text.split())
    return "".join(ch if ch in _MERMAID_SAFE else f"#{ord(ch)};" for ch in flat)


def markdown_cell(text: str) -> str:
    """``text`` made safe inside one markdown table cell: one line, no pipes, no HTML."""
    flat = " ".join(text.split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    flat = flat.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    return flat


def markdown_heading(text: str) -> str:
    """``text`` as one line of markdown: code spans and emphasis kept, raw HTML escaped."""
    flat = " ".join(text.split())
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ms(value: float) -> str:
    return f"{value:,.1f}"


def _cost_text(rec: RunRecord) -> str:
    """``$0.0012``, or ``unknown (MODEL)`` when a model's price is not in the table."""
    cost = rec.cost_usd
    if cost is not None:
        return f"${cost:.4f}"
    return f"unknown ({', '.join(rec.unpriced_models)})"


def _tool_text(rec: RunRecord) -> str:
    """``3 tool calls (1 not ok)``."""
    calls = len(rec.tool_calls)
    bad = sum(c.outcome != "ok" for c in rec.tool_calls)
    text = f"{calls} tool call{'s' if calls != 1 else ''}"
    return f"{text} ({bad} not ok)" if bad else text


def _cpu_text(rec: RunRecord) -> str:
    return "" if rec.cpu_ms is None else _ms(rec.cpu_ms)


def _memory_text(rec: RunRecord) -> str:
    """``84.2`` (the process's peak), ``84.2 (+3.1)`` when this run raised it."""
    if rec.peak_rss_kb is None:
        return ""
    text = f"{rec.peak_rss_kb / 1024:,.1f}"
    if rec.rss_growth_kb:
        text += f" (+{rec.rss_growth_kb / 1024:,.1f})"
    return text


def _usage_text(rec: RunRecord) -> str:
    """One phrase for a log line: calls, tokens and estimated cost."""
    calls = len(rec.model_calls)
    return (
        f"{calls} model call{'s' if calls != 1 else ''}, {rec.input_tokens} tokens in, "
        f"{rec.output_tokens} out, cost {_cost_text(rec)}"
    )


class RunMonitor:
    """Collects a :class:`RunRecord` per agent run and reports them.

    ``logger`` is where one line per run goes (default: the ``forgeflow.runs`` logger).
    """

    def __init__(self, *, logger: logging.Logger | None = None) -> None:
        self.records: list[RunRecord] = []
        self.logger = logger or logging.getLogger(RUNS_LOGGER)
        #: (stage, issue) for every issue a feedback loop left; the summary lists them.
        #: An issue is a :class:`~orchestration.patterns.feedback_loop.Issue` (the
        #: patterns sit above this layer, so it is not imported here).
        self.findings: list[tuple[str, Any]] = []
        #: (stage, issue) for every issue a loop's output suppresses on purpose, with
        #: its stated reason; the summary lists them too (nothing is suppressed silently).
        self.accepted: list[tuple[str, Any]] = []

    def record_findings(self, stage: str, issues: list[Any]) -> None:
        """Keep the issues a loop stage left, for the summary's findings table."""
        self.findings += [(stage, issue) for issue in issues]

    def record_accepted(self, accepted: list[tuple[str, Any]]) -> None:
        """Keep the (stage, issue) a loop stage's output suppresses with a reason, for the
        summary."""
        self.accepted += accepted

    def record(self, run: AgentRun, *, after: list[str] | None = None) -> RunRecord:
        """Keep ``run`` as a record (``after``: the stages it depended on) and log it."""
        rec = RunRecord(
            stage=run.stage,
            agent=run.agent,
            status=str(run.status),
            duration_ms=run.duration_ms,
            cached=run.cached,
            resumed=run.resumed,
            error=run.error,
            after=list(after or []),
            run_id=run.run_id,
            model_calls=list(getattr(run, "usage", None) or []),
            tool_calls=list(getattr(run, "tool_calls", None) or []),
        )
        if run.cpu_ms is not None:  # measured (RunContext.record_resources, or tracing)
            rec.cpu_ms, rec.peak_rss_kb, rec.rss_growth_kb = (
                run.cpu_ms,
                run.peak_rss_kb,
                run.rss_growth_kb,
            )
        if run.trace_id is not None:
            rec.trace_id = run.trace_id
        self.records.append(rec)
        self._log(rec)
        return rec

    def _log(self, rec: RunRecord) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        how = " (cached)" if rec.cached else " (resumed)" if rec.resumed else ""
        message = f"{rec.stage}: agent {rec.agent} {rec.status}{how} in {rec.duration_ms:.1f} ms"
        if rec.model_calls:
            message += f"; {_usage_text(rec)}"
        if rec.tool_calls:
            message += f"; {_tool_text(rec)}"
        if rec.error:
            message += f": {rec.error}"
        extra = {
            "run_id": rec.run_id,
            "stage": rec.stage,
            "agent": rec.agent,
            "status": rec.status,
            "duration_ms": round(rec.duration_ms, 3),
            "cached": rec.cached,
            "resumed": rec.resumed,
            "error": rec.error,
            "cpu_ms": None if rec.cpu_ms is None else round(rec.cpu_ms, 3),
            "peak_rss_kb": rec.peak_rss_kb,
        }
        if rec.trace_id:
            extra["trace_id"] = rec.trace_id
        if rec.model_calls:
            extra.update(
                model_calls=len(rec.model_calls),
                input_tokens=rec.input_tokens,
                output_tokens=rec.output_tokens,
                cost_usd=rec.cost_usd,
            )
        if rec.tool_calls:
            extra.update(
                tool_calls=len(rec.tool_calls),
                tool_calls_not_ok=sum(c.outcome != "ok" for c in rec.tool_calls),
            )
        self.logger.info(message, extra=extra)

    @property
    def failures(self) -> list[RunRecord]:
        """The records of failed runs, in order."""
        return [r for r in self.records if r.failed]

    # -- markdown job summary -------------------------------------------------------------

    def summary_markdown(self, title: str = "Forgeflow run", *, trace_id: str | None = None) -> str:
        """A markdown job summary: a table of the runs, totals, and a mermaid graph.

        ``title`` is markdown (code spans welcome), kept to one line with raw HTML escaped;
        stage names, agent names and errors are escaped so they cannot break the table.
        ``trace_id`` (default: the trace of the first traced record) adds a line naming the
        run's trace, a link when ``FORGEFLOW_TRACE_URL`` is set.
        """
        lines = [f"## {markdown_heading(title)}", ""]
        if not self.records:
            lines += ["No agent ran.", ""]
            return "\n".join(lines)
        used_models = any(rec.model_calls for rec in self.records)
        model_head = " model tokens in/out | est. cost |" if used_models else ""
        model_rule = "---:|---:|" if used_models else ""
        lines += [
            "| stage | agent | status | duration ms | cached/resumed | CPU ms | peak memory MB "
            f"|{model_head} error |",
            f"|---|---|---|---:|---|---:|---:|{model_rule}---|",
        ]
        for rec in self.records:
            icon = _STATUS_ICONS.get(rec.status, "")
            status = f"{icon} {markdown_cell(rec.status)}".strip()
            reuse = "cached" if rec.cached else "resumed" if rec.resumed else ""
            model_cells = ""
            if used_models:
                tokens = f"{rec.input_tokens:,} / {rec.output_tokens:,}" if rec.model_calls else ""
                cost = _cost_text(rec) if rec.model_calls else ""
                model_cells = f" {tokens} | {markdown_cell(cost)} |"
            lines.append(
                f"| {markdown_cell(rec.stage)} | {markdown_cell(rec.agent)} | {status} "
                f"| {_ms(rec.duration_ms)} | {reuse} | {_cpu_text(rec)} | {_memory_text(rec)} "
                f"|{model_cells} "
                f"{markdown_cell(rec.error or '')} |"
            )
        lines += ["", self._totals_line()]
        if used_models:
            lines += ["", self._usage_line()]
        if any(rec.tool_calls for rec in self.records):
            lines += ["", *self._tool_lines()]
        if self.findings:
            lines += ["", *self._findings_table()]
        if self.accepted:
            lines += ["", *self._accepted_table()]
        trace_id = trace_id or next((r.trace_id for r in self.records if r.trace_id), None)
        from orchestration.tracing import trace_markdown

        trace_line = trace_markdown(trace_id)
        if trace_line:
            lines += ["", trace_line]
        lines += ["", "```mermaid", self.mermaid(), "```", ""]
        return "\n".join(lines)

    def _totals_line(self) -> str:
        counts: dict[str, int] = {}
        for rec in self.records:
            counts[rec.status] = counts.get(rec.status, 0) + 1
        parts = [f"{n} {markdown_cell(status)}" for status, n in sorted(counts.items())]
        cached = sum(r.cached for r in self.records)
        resumed = sum(r.resumed for r in self.records)
        total_ms = sum(r.duration_ms for r in self.records)
        return (
            f"**Total:** {len(self.records)} runs ({', '.join(parts)}); "
            f"{cached} cached, {resumed} resumed; {_ms(total_ms)} ms of agent time"
        )

    def _findings_table(self) -> list[str]:
        lines = [
            f"**Findings left:** {len(self.findings)} (the run's status is `findings`)",
            "",
            "| stage | check | severity | where | what | why it is left |",
            "|---|---|---|---|---|---|",
        ]
        for stage, issue in self.findings:
            cells = (stage, issue.code, issue.severity, issue.location or "", issue.message)
            row = " | ".join(markdown_cell(c) for c in cells)
            lines.append(f"| {row} | {markdown_cell(issue.reason or 'not known')} |")
        return lines

    def _accepted_table(self) -> list[str]:
        lines = [
            f"**Suppressed with a reason:** {len(self.accepted)} (not counted as findings)",
            "",
            "| stage | check | where | what | reason |",
            "|---|---|---|---|---|",
        ]
        for stage, issue in self.accepted:
            cells = (stage, issue.code, issue.location or "", issue.message, issue.reason or "")
            lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
        return lines

    def _usage_line(self) -> str:
        calls = [c for rec in self.records for c in rec.model_calls]
        tokens_in = sum(c.usage.input_tokens for c in calls)
        tokens_out = sum(c.usage.output_tokens for c in calls)
        known = [c.usage.cost_usd for c in calls if c.usage.cost_usd is not None]
        unpriced = sorted({c.model for c in calls if c.usage.cost_usd is None})
        from agents.models.config import PRICES_AS_OF

        cost = f"est. ${sum(known):.4f} (prices of {PRICES_AS_OF})" if known else "cost unknown"
        if known and unpriced:
            cost += "; more for unpriced models"
        line = (
            f"**Model usage:** {len(calls)} call{'s' if len(calls) != 1 else ''}; "
            f"{tokens_in:,} tokens in, "
            f"{tokens_out:,} out; {cost}"
        )
        if unpriced:
            line += f"; no price known for {markdown_cell(', '.join(unpriced))}"
        return line

    def _tool_lines(self) -> list[str]:
        """A table of every tool call: stage, tool, outcome, duration, arguments digest."""
        calls = [(rec, call) for rec in self.records for call in rec.tool_calls]
        bad = sum(call.outcome != "ok" for _, call in calls)
        lines = [
            f"**Tool calls:** {len(calls)} ({len(calls) - bad} ok, {bad} not ok)",
            "",
            "| stage | tool | outcome | duration ms | arguments | error |",
            "|---|---|---|---:|---|---|",
        ]
        for rec, call in calls:
            outcome = call.outcome + (", output cut" if call.truncated else "")
            lines.append(
                f"| {markdown_cell(rec.stage)} | {markdown_cell(call.tool)} "
                f"| {markdown_cell(outcome)} | {_ms(call.duration_ms)} "
                f"| `{markdown_cell(call.arguments_digest[:19])}` "
                f"| {markdown_cell(call.error or '')} |"
            )
        return lines

    def mermaid(self) -> str:
        """A mermaid ``graph LR`` of the run, nodes styled by status.

        Edges come from the records' ``after`` stages; when no record has any, the records
        are chained in the order they ran.
        """
        ids = [f"n{i}" for i in range(len(self.records))]
        last_of: dict[str, str] = {}
        for node, rec in zip(ids, self.records, strict=True):
            last_of[rec.stage] = node
        lines = ["graph LR"]
        for node, rec in zip(ids, self.records, strict=True):
            how = " cached" if rec.cached else " resumed" if rec.resumed else ""
            detail = f"{rec.agent} {rec.status}{how} {rec.duration_ms:.0f} ms"
            lines.append(f'  {node}["{mermaid_label(rec.stage)}<br/>{mermaid_label(detail)}"]')
        edges: list[tuple[str, str]] = []
        if any(rec.after for rec in self.records):
            seen: dict[str, str] = {}
            for node, rec in zip(ids, self.records, strict=True):
                for stage in rec.after:
                    source = seen.get(stage) or last_of.get(stage)
                    if source is not None and source != node:
                        edges.append((source, node))
                seen[rec.stage] = node
        else:
            edges = list(zip(ids, ids[1:], strict=False))
        lines += [f"  {a} --> {b}" for a, b in edges]
        for status, style in _STATUS_STYLES.items():
            lines.append(f"  classDef {status} {style}")
        for node, rec in zip(ids, self.records, strict=True):
            cls = "cached" if rec.cached or rec.resumed else rec.status
            if cls in _STATUS_STYLES:
                lines.append(f"  class {node} {cls}")
        return "\n".join(lines)

    # -- GitHub Actions -------------------------------------------------------------------

    def emit_annotations(
        self,
        *,
        file: str | None = None,
        env: Mapping[str, str] = os.environ,
        stream: TextIO | None = None,
    ) -> int:
        """One ``::error::`` annotation per failed run (inside GitHub Actions); the count."""
        from orchestration.runtime.job_summary import annotate_error

        emitted = 0
        for rec in self.failures:
            title = f"Forgeflow: stage {rec.stage} (agent {rec.agent}) failed"
            if annotate_error(
                rec.error or "failed", file=file, title=title, env=env, stream=stream
            ):
                emitted += 1
        return emitted

    def report_to_github(
        self, title: str = "Forgeflow run", *, env: Mapping[str, str] = os.environ
    ) -> None:
        """Append the job summary to ``$GITHUB_STEP_SUMMARY`` and annotate failures.

        Both parts are no-ops outside GitHub Actions.
        """
        from orchestration.runtime.job_summary import write_step_summary

        write_step_summary(self.summary_markdown(title=title), env=env)
        self.emit_annotations(env=env)
