"""Fan-in of the SynthForge analysis: network, security and cost into one document.

A failed branch arrives as ``None`` (with a :class:`BranchFailure` saying why, or not):
the analysis is still produced, the failure is recorded, its report section says the
branch is missing, and the confidence drops by a third for each missing branch.
"""

from __future__ import annotations

from agents.base import Agent
from agents.synthforge.analysis.heap import FewerCollections, fewer_collections
from agents.synthforge.analysis.report import render_report
from agents.synthforge.models import ArchitectureAnalysis, BranchFailure, CombineInput

#: The parallel branches combine expects, by the CombineInput field that carries each.
BRANCHES = ("network_flow", "security", "cost_estimation")


def combine(data: CombineInput) -> ArchitectureAnalysis:
    """The combined analysis and its markdown report (pure, offline)."""
    failures = list(data.failures)
    failed = {f.branch for f in failures}
    results = {b: getattr(data, b) for b in BRANCHES}
    for branch, result in results.items():
        if result is None and branch not in failed:
            failures.append(BranchFailure(branch=branch, error="no result was passed to combine"))
    present = [r for r in results.values() if r is not None]
    confidence = min([data.upstream.confidence, *(r.confidence for r in present)])
    confidence *= len(present) / len(BRANCHES)
    warnings = [f"{b}: {w}" for b, r in results.items() if r is not None for w in r.warnings]
    errors = [f"{b}: {e}" for b, r in results.items() if r is not None for e in r.errors]
    errors += [f"branch {f.branch} failed: {f.error}" for f in failures]
    report = render_report(
        data.upstream,
        data.network_flow,
        data.security,
        data.cost_estimation,
        failures,
        warnings,
    )
    return ArchitectureAnalysis(
        architecture=data.upstream,
        network=data.network_flow,
        security=data.security,
        cost=data.cost_estimation,
        failures=failures,
        report_markdown=report,
        confidence=round(confidence, 3),
        warnings=warnings,
        errors=errors,
    )


class CombineAgent(FewerCollections, Agent[CombineInput, ArchitectureAnalysis]):
    """Combines the parallel analysis branches into one analysis with a markdown report."""

    name = "combine"
    description = "Combine network, security and cost into one analysis and report"
    input_model = CombineInput
    output_model = ArchitectureAnalysis

    async def process(self, data: CombineInput) -> ArchitectureAnalysis:
        with fewer_collections():
            return combine(data)
