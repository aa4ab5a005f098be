"""A feedback loop that ends with issues left: its own status, exit code, summary and output.

The loop here fixes lowercase letters one a round and cannot fix digits (the agents of
test_pipeline_file_patterns.py); ``ErrorDigits`` makes digits error-severity and leaves
lowercase letters warnings, so ``fail_on: high`` and ``any`` differ.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_pipeline_file_patterns import Draft, UpperFixer, spec

from agents import Agent, AgentRegistry
from agents.builtin import TextInput, TextOutput
from orchestration.patterns.feedback_loop import Issue, ValidationReport
from orchestration.pipeline.file import PipelineRun, plan_stages, run_planned
from orchestration.runtime.execution import RunContext


class ErrorDigits(Agent[TextOutput, ValidationReport]):
    """Lowercase letters are fixable warnings; digits are unfixable errors, with a reason."""

    name = "error_digits"
    input_model = TextOutput
    output_model = ValidationReport

    async def process(self, data: TextOutput) -> ValidationReport:
        issues = [
            Issue(code="LOWER", message=f"lowercase {c!r}", location=str(i), severity="warning")
            for i, c in enumerate(data.text)
            if c.islower()
        ] + [
            Issue(
                code="DIGIT",
                message=f"digit {c!r}",
                location=str(i),
                fixable=False,
                reason="digits are the user's to change",
            )
            for i, c in enumerate(data.text)
            if c.isdigit()
        ]
        return ValidationReport(valid=not issues, issues=issues)


class AcceptDigits(ErrorDigits):
    """As :class:`ErrorDigits`, but the digits are accepted on purpose, with the reason."""

    name = "accept_digits"

    async def process(self, data: TextOutput) -> ValidationReport:
        report = await super().process(data)
        digits = [i for i in report.issues if i.code == "DIGIT"]
        rest = [i for i in report.issues if i.code != "DIGIT"]
        return ValidationReport(valid=not rest, issues=rest, accepted=digits)


@pytest.fixture
def registry() -> AgentRegistry:
    reg = AgentRegistry(entry_point_agents=False)
    for cls in (Draft, ErrorDigits, UpperFixer, AcceptDigits):
        reg.register(cls)
    return reg


LOOP = """
    name: findings
    stages:
      - loop:
          name: fix
          generator: draft
          validator: error_digits
          fixer: upper_fixer
          max_iterations: {n}
          fail_on: {fail_on}
"""


def run(registry: AgentRegistry, text: str, n: int = 2, fail_on: str = "any") -> PipelineRun:
    planned = plan_stages(spec(LOOP.format(n=n, fail_on=fail_on)), registry)
    return asyncio.run(run_planned(planned, TextInput(text=text), RunContext()))


def test_a_loop_that_ends_valid_succeeds(registry: AgentRegistry) -> None:
    result = run(registry, "ab", n=3)
    assert result.status == "succeeded" and not result.findings and not result.failing


@pytest.mark.parametrize(
    ("fail_on", "failing_codes"),
    [
        pytest.param("any", ["LOWER", "DIGIT"], id="any"),
        pytest.param("high", ["DIGIT"], id="high"),
        pytest.param("none", [], id="none"),
    ],
)
def test_findings_left_have_their_own_status_and_fail_on_chooses(
    registry: AgentRegistry, fail_on: str, failing_codes: list[str]
) -> None:
    result = run(registry, "ab1", n=2, fail_on=fail_on)
    assert result.ok and result.status == "findings"
    assert [(f.code, f.location) for f in result.findings] == [("LOWER", "1"), ("DIGIT", "2")]
    assert [f.code for f in result.failing] == failing_codes
    reasons = {f.code: f.reason for f in result.findings}
    assert reasons["DIGIT"] == "digits are the user's to change"  # the validator's own
    assert reasons["LOWER"] == "still found after 2 validations (the loop's limit)"


def _write_pipeline(tmp_path: Path, fail_on: str) -> tuple[Path, Path]:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(textwrap.dedent(LOOP.format(n=2, fail_on=fail_on)), encoding="utf-8")
    data = tmp_path / "in.json"
    data.write_text(json.dumps({"text": "ab1"}), encoding="utf-8")
    return pipeline, data


@pytest.mark.parametrize(
    ("file_fail_on", "option", "code"),
    [
        pytest.param("any", [], 3, id="file-any"),
        pytest.param("none", [], 0, id="file-none"),
        pytest.param("none", ["--fail-on", "high"], 3, id="option-high-overrides"),
        pytest.param("any", ["--fail-on", "none"], 0, id="option-none-overrides"),
    ],
)
def test_cli_exit_code_and_summary_name_every_finding(
    registry: AgentRegistry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    file_fail_on: str,
    option: list[str],
    code: int,
) -> None:
    from orchestration import cli
    from orchestration.pipeline import runner as pipeline_runner

    monkeypatch.setattr(pipeline_runner, "default_registry", lambda: registry)
    pipeline, data = _write_pipeline(tmp_path, file_fail_on)
    out = tmp_path / "out"
    args = ["run", str(pipeline), "--input", str(data), "--out", str(out)]
    args += ["--state", str(tmp_path / "state"), *option]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == code, result.output
    assert "succeeded" not in result.stdout.splitlines()[0]
    assert "findings: 2 left" in result.stdout
    assert "finding: DIGIT 2: digits are the user's to change" in result.stderr
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "**Findings left:** 2" in summary
    assert "| fix | DIGIT | error | 2 | digit '1' | digits are the user's to change |" in summary
    assert "| fix | LOWER | warning | 1 |" in summary
    output = json.loads((out / "output.json").read_text(encoding="utf-8"))
    assert output["data"]["text"] == "Ab1"  # the best attempt, written as the output


def test_accepted_issues_do_not_fail_the_run_but_are_listed_everywhere(
    registry: AgentRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issues a validator reports suppressed on purpose: not findings, never silent."""
    from orchestration import cli
    from orchestration.pipeline import runner as pipeline_runner

    monkeypatch.setattr(pipeline_runner, "default_registry", lambda: registry)
    pipeline, data = _write_pipeline(tmp_path, "any")
    text = pipeline.read_text(encoding="utf-8").replace("error_digits", "accept_digits")
    pipeline.write_text(text.replace("max_iterations: 2", "max_iterations: 3"), encoding="utf-8")
    out = tmp_path / "out"
    args = ["run", str(pipeline), "--input", str(data), "--out", str(out)]
    result = CliRunner().invoke(cli.main, [*args, "--state", str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.stdout.splitlines()[0]
    assert "suppressed: DIGIT 2: digits are the user's to change" in result.stderr
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "**Suppressed with a reason:** 1" in summary
    assert "| fix | DIGIT | 2 | digit '1' | digits are the user's to change |" in summary
