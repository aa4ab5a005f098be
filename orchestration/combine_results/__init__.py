"""``python -m orchestration.combine_results``: merge the legs of a matrix fan-out (fan-in)."""

from __future__ import annotations

from orchestration.patterns.fan_in import (
    CombinedResults,
    LegFailure,
    collect,
    combine,
    combine_input,
)

__all__ = ["CombinedResults", "LegFailure", "collect", "combine", "combine_input"]
