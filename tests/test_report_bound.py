"""The report's bound: only the lines it keeps are neutralised, with the same result."""

from __future__ import annotations

import pytest

from agents.synthforge.analysis.report import bound_report
from orchestration.runtime.markdown import neutralise


def _whole_then_cut(text: str, limit: int) -> str:
    """The reference: all of ``text`` neutralised first (neutralising twice changes
    nothing, so the bound then only cuts)."""
    return bound_report(neutralise(text), limit)


_LINES = [
    "- flow from @alice to #12 (GH-7) and owner/repo#3\n",
    "```mermaid\n",
    "n1 --> n2 @bob #4\n",
    "```\n",
    "plain `@code #1` and https://example.com/#9 text\r\n",
    "~~~~\n",
    "inside a tilde fence @carol\n",
    "~~~~\n",
    "#" * 30 + " @dave\n",
]


@pytest.mark.parametrize("limit", [200, 333, 1_000, 2_500, 10_000, 40_000])
@pytest.mark.parametrize("lines", [30, 300, 3_000])
def test_the_bounded_report_equals_neutralising_everything_then_cutting(
    limit: int, lines: int
) -> None:
    text = "".join(_LINES[i % len(_LINES)] for i in range(lines))
    bounded = bound_report(text, limit)
    assert bounded == _whole_then_cut(text, limit)
    if len(text) > limit:
        assert len(bounded) <= limit and bounded.endswith("the artifact holds everything._\n")
        assert bounded.count("```") % 2 == 0, "a code block open at the cut is closed"


def test_a_text_without_a_line_end_after_the_limit_is_neutralised_whole() -> None:
    text = "@x " * 500  # one line, longer than the limit
    assert bound_report(text, 100) == _whole_then_cut(text, 100)
    assert bound_report("@y\n", 100) == "@\u200by\n"
