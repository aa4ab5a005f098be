"""The IaC feedback loop on every Azure diagram of the corpus.

Diagrams: ``../shared/corpus/diagrams`` (real public draw.io files; origins, licences and
styles per file in its SOURCES.md). The Azure ones are those whose SOURCES.md entry lists
azure2, mscae, mxgraph.azure or mxgraph.mscae styles — 12 of the 16.

Each diagram goes through the SynthForge analysis (pipelines/synthforge.yaml, review
accepted) and then once through ``FeedbackLoop(module_development → code_quality →
code_quality_fixer, max 3)`` with real checkov; the results are shared by the tests of
this module (checkov takes about 3 s a run, and each loop runs it two or three times).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agents.synthforge.iac.corpus import analyse, azure_diagrams, iac_loop
from agents.synthforge.iac.models import CodeQualityReport, GeneratedModules
from orchestration.patterns.feedback_loop import Issue, LoopResult

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
PIPELINE = REPO / "pipelines" / "synthforge.yaml"


@dataclass
class Outcome:
    """One diagram's loop, and the first and final validation reports."""

    diagram: str
    loop: LoopResult
    first: CodeQualityReport
    final: CodeQualityReport

    @property
    def output(self) -> GeneratedModules:
        assert isinstance(self.loop.output, GeneratedModules)
        return self.loop.output


@pytest.fixture(scope="module")
def shared() -> dict[str, Any]:
    return {}


@pytest.fixture
async def outcomes(corpus_diagrams: Path, shared: dict[str, Any]) -> list[Outcome]:
    """The loop's outcome for every Azure diagram, computed once for the module."""
    if "outcomes" not in shared:
        results = []
        for diagram in azure_diagrams(corpus_diagrams):
            loop = await iac_loop().run(await analyse(diagram, PIPELINE))
            assert loop.error is None, f"{diagram.name}: {loop.error}"
            reports = [r.output for r in loop.runs if isinstance(r.output, CodeQualityReport)]
            assert loop.best_iteration is not None
            results.append(
                Outcome(diagram.name, loop, reports[0], reports[loop.best_iteration - 1])
            )
        shared["outcomes"] = results
    outcomes: list[Outcome] = shared["outcomes"]
    return outcomes


def test_the_corpus_has_twenty_five_azure_diagrams(corpus_diagrams: Path) -> None:
    names = [p.name for p in azure_diagrams(corpus_diagrams)]
    assert len(names) == 25  # SOURCES.md: 12 in sections 1–16, 13 in sections 17–32
    assert "AFP9272000__azure-hub-spoke-network__docs_architecture.drawio" not in names  # no icons
    assert all((corpus_diagrams / n).is_file() for n in names)


def test_generated_terraform_parses_with_python_hcl2(outcomes: list[Outcome]) -> None:
    import hcl2

    parsed = 0
    for o in outcomes:
        for f in o.output.files:
            if f.path.endswith(".tf"):
                try:
                    hcl2.loads(f.content)
                except Exception as exc:  # the parser's own error types
                    pytest.fail(f"{o.diagram}: {f.path} does not parse: {exc}")
                parsed += 1
    assert parsed > 100


def test_generated_bicep_parses_with_pycep(outcomes: list[Outcome]) -> None:
    from pycep import BicepParser

    parser = BicepParser()
    parsed = 0
    for o in outcomes:
        for f in o.output.files:
            if f.path.endswith(".bicep"):
                try:
                    parser.parse(text=f.content)
                except Exception as exc:  # the parser's own error types
                    pytest.fail(f"{o.diagram}: {f.path} does not parse: {exc}")
                parsed += 1
    assert parsed > 30


def test_loop_ends_with_no_failed_check_the_fixer_covers(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        covered = [i for i in o.loop.remaining_issues if i.fixable]
        assert not covered, f"{o.diagram}: {[(i.code, i.location) for i in covered]}"
        assert o.final.failed_covered == 0
        assert o.final.syntax_errors == 0
        # what is left is listed with the reason it was not fixed
        assert len(o.final.unfixable) == len(o.loop.remaining_issues)
        assert all(u.reason for u in o.final.unfixable)


def _identity(issue: Issue) -> tuple[str, str, str]:
    """Check, file and resource: what stays the same when a fix above it shifts lines."""
    head, _, resource = (issue.location or "").partition(" ")
    return issue.code, head.rpartition(":")[0], resource


def test_checkov_failed_checks_before_and_after_the_loop(
    outcomes: list[Outcome], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = []
    for o in outcomes:
        before = o.first.checkov.failed if o.first.checkov else 0
        after = o.final.checkov.failed if o.final.checkov else 0
        rows.append((o.diagram[:58], before, o.first.failed_covered, after, len(o.loop.iterations)))
        first = {_identity(i) for i in o.first.issues}
        final = {_identity(i) for i in o.final.issues}
        covered = {_identity(i) for i in o.first.issues if i.fixable}
        assert final <= first, f"{o.diagram}: fixes introduced {final - first}"
        assert first - final == covered, o.diagram  # exactly the covered ones were fixed
        assert after == before - len(covered), o.diagram
    with capsys.disabled():
        print("\n" + f"{'diagram':58}  {'failed before':>13}  {'covered':>7}  {'after':>5}  iter")
        for name, before, n_covered, after, iterations in rows:
            print(f"{name:58}  {before:>13}  {n_covered:>7}  {after:>5}  {iterations:>4}")
    # the generator made the fixes it knows up front (iteration 0), so checkov's first run
    # finds nothing the fixer covers and the loop needs a single validation
    assert sum(1 for o in outcomes for f in o.output.fixes if f.iteration == 0) > 50
    assert all(r[2] == 0 and r[4] == 1 for r in rows), rows


def test_the_output_records_found_and_fixed_per_iteration(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        first = o.loop.iterations[0]
        fixed_codes = {i.code for i in first.issues_fixed}
        assert {f.code for f in o.output.fixes if f.iteration == 1} <= fixed_codes
        if o.output.fix_rounds:
            assert o.output.fix_rounds[0].issues_sent == o.first.failed_covered
        # every fix the generator made is recorded, on a file of the output
        paths = {f.path for f in o.output.files}
        assert all(f.file in paths for f in o.output.fixes if f.iteration == 0)


def test_the_loops_output_lists_every_finding_with_its_reason(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        findings = o.output.findings
        assert [(i.code, i.location) for i in findings] == [
            (i.code, i.location) for i in o.final.issues
        ], o.diagram
        assert all(i.reason for i in findings), o.diagram
        if o.output.files:
            assert "## Findings left" in o.output.report_markdown or not findings


def test_pipeline_file_runs_the_loop_after_combine(corpus_diagrams: Path, tmp_path: Path) -> None:
    diagram = (
        corpus_diagrams / "KallumBascombe__cloudhelp-azure-platform__diagrams_architecture.drawio"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration",
            "run",
            str(REPO / "pipelines" / "synthforge-iac.yaml"),
            "--input",
            str(diagram),
            "--set",
            "interactive.yes=true",
            "--set",
            f"write_modules.output_dir={tmp_path / 'iac'}",
            "--out",
            str(tmp_path / "out"),
            "--state",
            str(tmp_path / "state"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    envelope = json.loads((tmp_path / "out" / "output.json").read_text())
    modules = GeneratedModules.model_validate(envelope["data"])
    # checks are left (each with its reason): the run says so, and exits 3 (fail_on any)
    assert modules.findings and all(i.reason for i in modules.findings)
    assert proc.returncode == 3, proc.stderr
    first_line = proc.stdout.splitlines()[0]
    assert f"findings: {len(modules.findings)} left" in first_line, first_line
    assert "succeeded" not in first_line
    assert all(f"finding: {i.code}" in proc.stderr for i in modules.findings)
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert f"**Findings left:** {len(modules.findings)}" in summary
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert all(i.code in report for i in modules.findings)
    # checkov's own count over the written folder is the number the run reports
    from agents.synthforge.iac.code_quality import checkov_executable, run_checkov

    counted, _ = run_checkov(tmp_path / "iac", ["bicep", "terraform"], checkov_executable({}))
    assert counted.failed == len(modules.findings)
    assert modules.fixes  # the generator's own fixes (iteration 0) are recorded
    stages = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"analysis__combine.json", "iac__generate.json", "iac__validate-1.json"} <= stages
    on_disk = {
        p.relative_to(tmp_path / "iac").as_posix()
        for p in (tmp_path / "iac").rglob("*")
        if p.is_file()
    }
    assert on_disk == {f.path for f in modules.files} | {".forgeflow-generated.json"}
    assert modules.output_dir == str(tmp_path / "iac")
    # the folder holds the files the loop returned (fixed), not the first generation
    for f in modules.files:
        assert (tmp_path / "iac" / f.path).read_text(encoding="utf-8") == f.content
