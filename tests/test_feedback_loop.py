"""Feedback loop: generate, validate, fix; the valid result or the best attempt."""

from __future__ import annotations

from typing import Any

import pytest

from agents.base import Agent, AgentResult
from agents.builtin import TextInput, WordCount
from agents.errors import PipelineError
from orchestration.patterns.feedback_loop import FeedbackLoop, FixRequest, Issue, ValidationReport
from orchestration.runtime.execution import RunContext
from orchestration.runtime.monitoring import RunMonitor


class Draft(AgentResult):
    text: str


class DraftAgent(Agent[TextInput, Draft]):
    """Generator: the input text is the first draft."""

    name = "draft"
    input_model = TextInput
    output_model = Draft

    async def process(self, data: TextInput) -> Draft:
        if data.text == "crash":
            raise RuntimeError("generator crashed")
        return Draft(text=data.text)


RULES = {
    "TODO": Issue(code="todo", message="unfinished TODO", location="text"),
    "bad": Issue(code="bad-word", message="the word 'bad'", location="text"),
    "!!!": Issue(code="shouting", message="too many !", severity="warning"),
    "SECRET": Issue(code="secret", message="a secret in the text", fixable=False),
}


class LintAgent(Agent[Draft, ValidationReport]):
    """Validator: one issue per rule word found; valid when no error issue remains."""

    name = "lint"
    input_model = Draft
    output_model = ValidationReport

    async def process(self, data: Draft) -> ValidationReport:
        issues = [issue for word, issue in RULES.items() if word in data.text]
        return ValidationReport(valid=not any(i.severity == "error" for i in issues), issues=issues)


class FixOneAgent(Agent[FixRequest[Draft], Draft]):
    """Fixer: removes the word behind the first issue it is given, one per call."""

    name = "fix_one"
    input_model = FixRequest[Draft]
    output_model = Draft
    requests: list[list[str]] = []

    async def process(self, data: FixRequest[Draft]) -> Draft:
        type(self).requests.append([i.code for i in data.issues])
        word = next(w for w, issue in RULES.items() if issue.code == data.issues[0].code)
        return Draft(text=" ".join(data.candidate.text.replace(word, "").split()))


class WorseningFixer(Agent[FixRequest[Draft], Draft]):
    """Fixer that removes one problem and adds two."""

    name = "worsen"
    input_model = FixRequest[Draft]
    output_model = Draft

    async def process(self, data: FixRequest[Draft]) -> Draft:
        return Draft(text=data.candidate.text.replace("TODO", "") + " bad TODO")


@pytest.fixture(autouse=True)
def _clear_requests() -> None:
    FixOneAgent.requests = []


def codes(issues: list[Issue]) -> list[str]:
    return [issue.code for issue in issues]


async def test_a_valid_first_draft_ends_the_loop_at_once() -> None:
    loop = FeedbackLoop(DraftAgent(), LintAgent(), FixOneAgent())
    result = await loop.run(TextInput(text="all good"))
    assert result.ok
    assert result.output == Draft(text="all good")
    assert [r.stage for r in result.runs] == ["loop/generate", "loop/validate#1"]
    assert FixOneAgent.requests == []


async def test_fixes_until_valid_and_records_found_and_fixed_per_iteration() -> None:
    monitor = RunMonitor()
    loop = FeedbackLoop(DraftAgent(), LintAgent(), FixOneAgent(), max_iterations=3)
    result = await loop.run({"text": "TODO bad plan!!!"}, RunContext(monitor=monitor))
    assert result.valid
    assert isinstance(result.output, Draft) and result.output.text == "plan!!!"
    assert codes(result.remaining_issues) == ["shouting"]
    found = [codes(it.issues_found) for it in result.iterations]
    fixed = [codes(it.issues_fixed) for it in result.iterations]
    assert found == [["todo", "bad-word", "shouting"], ["bad-word", "shouting"], ["shouting"]]
    assert fixed == [["todo"], ["bad-word"], []]
    assert [r.stage for r in monitor.records] == [
        "loop/generate",
        "loop/validate#1",
        "loop/fix#1",
        "loop/validate#2",
        "loop/fix#2",
        "loop/validate#3",
    ]


async def test_iteration_limit_returns_best_attempt_with_remaining_issues() -> None:
    loop = FeedbackLoop(DraftAgent(), LintAgent(), FixOneAgent(), max_iterations=2, name="lint")
    result = await loop.run({"text": "TODO bad plan"})
    assert not result.valid
    assert result.output == Draft(text="bad plan")
    assert codes(result.remaining_issues) == ["bad-word"]
    assert len(result.iterations) == 2
    assert result.runs[-1].stage == "lint/validate#2"


async def test_the_best_attempt_is_the_one_with_fewest_errors() -> None:
    loop = FeedbackLoop(DraftAgent(), LintAgent(), WorseningFixer(), max_iterations=3)
    result = await loop.run({"text": "TODO"})
    assert not result.valid
    assert result.best_iteration == 1
    assert result.output == Draft(text="TODO")
    assert codes(result.remaining_issues) == ["todo"]
    assert [len(it.issues_found) for it in result.iterations] == [1, 2, 2]


async def test_without_a_fixer_the_loop_stops_after_one_validation() -> None:
    result = await FeedbackLoop(DraftAgent(), LintAgent()).run({"text": "TODO"})
    assert not result.valid
    assert codes(result.remaining_issues) == ["todo"]
    assert [r.stage for r in result.runs] == ["loop/generate", "loop/validate#1"]


async def test_only_fixable_issues_go_to_the_fixer_and_none_left_stops() -> None:
    loop = FeedbackLoop(DraftAgent(), LintAgent(), FixOneAgent(), max_iterations=5)
    result = await loop.run({"text": "SECRET TODO"})
    assert FixOneAgent.requests == [["todo"]]
    assert not result.valid
    assert codes(result.remaining_issues) == ["secret"]
    assert len(result.iterations) == 2


async def test_a_failing_generator_gives_no_output_and_says_why() -> None:
    result = await FeedbackLoop(DraftAgent(), LintAgent()).run({"text": "crash"})
    assert result.output is None
    assert not result.ok
    assert result.error == "generator 'draft' failed: RuntimeError: generator crashed"


class TextReport(AgentResult):
    text: str


class NotAReportValidator(Agent[Draft, TextReport]):
    name = "not_report"
    input_model = Draft
    output_model = TextReport

    async def process(self, data: Draft) -> TextReport:
        return TextReport(text=data.text)


class CountValidator(Agent[WordCount, ValidationReport]):
    name = "count_check"
    input_model = WordCount
    output_model = ValidationReport

    async def process(self, data: WordCount) -> ValidationReport:
        return ValidationReport(valid=True)


class NoIssuesFixer(Agent[TextInput, Draft]):
    name = "no_issues"
    input_model = TextInput
    output_model = Draft

    async def process(self, data: TextInput) -> Draft:
        return Draft(text=data.text)


class Score(AgentResult):
    score: int


class WrongOutputFixer(Agent[FixRequest[Draft], Score]):
    name = "wrong_output"
    input_model = FixRequest[Draft]
    output_model = Score

    async def process(self, data: FixRequest[Draft]) -> Score:
        return Score(score=0)


class Revision(AgentResult):
    text: str
    revision: int = 1


class RevisionFixer(Agent[FixRequest[Draft], Revision]):
    """Returns its own model, which fits Draft."""

    name = "revise"
    input_model = FixRequest[Draft]
    output_model = Revision

    async def process(self, data: FixRequest[Draft]) -> Revision:
        return Revision(text=data.candidate.text.replace("TODO", "done"))


@pytest.mark.parametrize(
    ("validator", "fixer", "message"),
    [
        pytest.param(
            NotAReportValidator(),
            None,
            "loop 'loop': validator 'not_report' returns TextReport, not a ValidationReport",
            id="validator-output",
        ),
        pytest.param(
            CountValidator(),
            None,
            "loop 'loop': validator 'count_check' input WordCount cannot take output Draft of "
            "generator 'draft': field 'words' missing from Draft (WordCount requires int)",
            id="validator-input",
        ),
        pytest.param(
            LintAgent(),
            NoIssuesFixer(),
            "loop 'loop': fixer 'no_issues' input TextInput cannot take a fix request for "
            "Draft: field 'text' missing from the fix request (TextInput requires str)",
            id="fixer-input",
        ),
        pytest.param(
            LintAgent(),
            WrongOutputFixer(),
            "loop 'loop': fixer 'wrong_output' returns Score, not the generator's Draft: "
            "field 'text' missing from Score (Draft requires str)",
            id="fixer-output",
        ),
    ],
)
def test_construction_checks_the_types(
    validator: Agent[Any, Any], fixer: Agent[Any, Any] | None, message: str
) -> None:
    with pytest.raises(PipelineError) as info:
        FeedbackLoop(DraftAgent(), validator, fixer)
    assert str(info.value) == message


def test_at_least_one_iteration() -> None:
    with pytest.raises(PipelineError, match="max_iterations must be at least 1"):
        FeedbackLoop(DraftAgent(), LintAgent(), max_iterations=0)


async def test_a_fitting_fixer_output_is_converted_to_the_generator_type() -> None:
    result = await FeedbackLoop(DraftAgent(), LintAgent(), RevisionFixer()).run({"text": "TODO"})
    assert result.valid
    assert type(result.output) is Draft
    assert result.output == Draft(text="done")
