"""Small hand-made analyses for the IaC tests: Azure resources and the flows between them."""

from __future__ import annotations

from agents.synthforge.models import (
    ArchitectureAnalysis,
    Flow,
    NetworkFlowResult,
    Resource,
    Review,
    ReviewedArchitecture,
)


def analysis(
    source: str, resources: list[tuple[str, str, str]], flows: list[Flow]
) -> ArchitectureAnalysis:
    """An accepted analysis of (id, ARM type, name) Azure resources and ``flows``."""
    arch = ReviewedArchitecture(
        source=source,
        resources=[
            Resource(id=i, name=n, provider="azure", resource_type=t, mapping_source="test")
            for i, t, n in resources
        ],
        review=Review(reviewer="test", method="accept_all"),
    )
    return ArchitectureAnalysis(
        architecture=arch, network=NetworkFlowResult(flows=flows), report_markdown="# r\n"
    )
