"""Typed documents of the infrastructure-as-code stage of SynthForge.

combine → module_development → code_quality ⇄ code_quality_fixer

``module_development`` turns an :class:`~agents.synthforge.models.ArchitectureAnalysis`
into :class:`GeneratedModules`; ``code_quality`` validates those into a
:class:`CodeQualityReport` (a :class:`~orchestration.patterns.feedback_loop.ValidationReport`);
``code_quality_fixer`` takes a :class:`FixModulesRequest` (``{candidate, issues}``) and
returns :class:`GeneratedModules` again, so the three fit
:class:`~orchestration.patterns.feedback_loop.FeedbackLoop`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agents.base import AgentResult
from orchestration.patterns.feedback_loop import Issue, ValidationReport

IacKind = Literal["terraform", "bicep", "both"]
Language = Literal["terraform", "bicep"]


class GeneratedFile(BaseModel):
    """One generated source file, relative to the output folder."""

    path: str = Field(
        description="POSIX path relative to the output folder, e.g. modules/x/main.tf"
    )
    content: str
    language: Language


class AppliedSecurity(BaseModel):
    """What the generated code does for one resource's security recommendations."""

    resource_id: str
    resource_type: str
    module: str = Field(description="Module instance name in the generated code")
    measures: list[str] = Field(
        default_factory=list,
        description="Applied measures, e.g. 'managed identity', 'min TLS 1.2'",
    )
    public_network_access: Literal["Enabled", "Disabled"] = Field(
        description="What the code sets; Enabled only where the flows need it"
    )
    public_access_reason: str = Field(
        default="", description="Why public network access stays enabled, when it does"
    )


class SkippedResource(BaseModel):
    """A resource of the analysis that no module was generated for, and why."""

    resource_id: str
    resource_type: str
    reason: str


class AppliedFix(BaseModel):
    """One fix the fixer made."""

    code: str = Field(description="The checkov check id fixed")
    file: str
    resource: str
    change: str = Field(description="What was changed, e.g. 'set min_tls_version = \"TLS1_2\"'")
    iteration: int = Field(
        ge=0,
        description="Which fixer run made it (1 = the first; 0 = module_development, "
        "which makes the fixes it knows as it generates)",
    )


class UnfixedIssue(BaseModel):
    """An issue that was not fixed, and the reason."""

    issue: Issue
    reason: str


class FixRound(BaseModel):
    """One run of the fixer: how many issues it was sent, fixed and left."""

    iteration: int = Field(ge=1)
    issues_sent: int = Field(ge=0)
    fixed: int = Field(ge=0)
    unfixed: int = Field(ge=0)


class GeneratedModules(AgentResult):
    """Generated Terraform and/or Bicep modules for one architecture."""

    source: str = Field(description="The diagram the architecture came from")
    iac: IacKind
    files: list[GeneratedFile] = Field(default_factory=list)
    output_dir: str | None = Field(
        default=None, description="Folder the files were written to (None: not written)"
    )
    applied: list[AppliedSecurity] = Field(default_factory=list)
    skipped: list[SkippedResource] = Field(default_factory=list)
    fixes: list[AppliedFix] = Field(
        default_factory=list, description="Fixes applied by code_quality_fixer, all runs"
    )
    unfixed: list[UnfixedIssue] = Field(
        default_factory=list, description="Issues the last fixer run could not fix, with why"
    )
    fix_runs: int = Field(default=0, ge=0, description="How many times the fixer ran")
    fix_rounds: list[FixRound] = Field(default_factory=list, description="Each fixer run")
    findings: list[Issue] = Field(
        default_factory=list,
        description="What the last validation still found in these files (check id, "
        "file:line resource, why it is left); set by the feedback loop",
    )
    accepted: list[Issue] = Field(
        default_factory=list,
        description="The checks the code suppresses inline, as checkov reported them "
        "skipped, each with the reason written beside it (a checkov false positive, or "
        "public access a flow from the internet needs); set by the feedback loop",
    )

    @property
    def report_markdown(self) -> str:
        """A markdown report: what was generated, what is left and why, what was skipped."""
        return modules_report(self)


def modules_report(modules: GeneratedModules) -> str:
    """The markdown report of ``modules`` (see :attr:`GeneratedModules.report_markdown`)."""
    from orchestration.runtime.monitoring import markdown_cell as _cell

    where = f" in `{_cell(modules.output_dir)}`" if modules.output_dir else ""
    lines = [
        f"# Infrastructure as code: {_cell(modules.source) or 'architecture'}",
        "",
        f"- Files: {len(modules.files)} ({modules.iac}){where}",
        f"- Modules: {len(modules.applied)}; resources without a module: {len(modules.skipped)}",
        f"- Fixes applied: {sum(1 for f in modules.fixes if f.iteration == 0)} as generated, "
        f"{sum(1 for f in modules.fixes if f.iteration > 0)} by the fixer "
        f"in {modules.fix_runs} run(s)",
        f"- Findings left: {len(modules.findings)}",
        f"- Checks suppressed with a reason: {len(modules.accepted)}",
        "",
    ]
    if modules.findings:
        lines += [
            "## Findings left",
            "",
            "| check | severity | file | resource | what | why it is left |",
            "|---|---|---|---|---|---|",
            *_issue_rows(modules.findings, severity=True),
            "",
        ]
    if modules.accepted:
        lines += [
            "## Checks suppressed with a reason",
            "",
            "| check | file | resource | what | reason |",
            "|---|---|---|---|---|",
            *_issue_rows(modules.accepted, severity=False),
            "",
        ]
    if modules.skipped:
        lines += ["## Resources without a module", "", "| resource | type | why |", "|---|---|---|"]
        for skip in modules.skipped:
            skip_cells = (skip.resource_id, skip.resource_type, skip.reason)
            lines.append("| " + " | ".join(_cell(c) for c in skip_cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _issue_rows(issues: list[Issue], *, severity: bool) -> list[str]:
    """One table row per issue: check, (severity,) file, resource, what, reason."""
    from orchestration.runtime.monitoring import markdown_cell as _cell

    rows = []
    for issue in issues:
        head, _, resource = (issue.location or "").partition(" ")
        file = head.rpartition(":")[0] or head
        cells = [issue.code, *([issue.severity] if severity else []), file, resource]
        cells += [issue.message, issue.reason or "not known"]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return rows


class CheckovSummary(BaseModel):
    """Counts from one checkov run."""

    version: str | None = None
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    parsing_errors: int = 0
    seconds: float = Field(default=0.0, ge=0, description="Wall time of the checkov run")


class CodeQualityReport(ValidationReport):
    """The validation of generated modules: syntax errors and failed checkov checks.

    ``issues`` hold syntax errors (code ``SYNTAX``) and failed checks (code = check id,
    location ``file:line resource``). ``fixable`` is true for the checks the fixer knows.
    """

    files_checked: int = 0
    syntax_errors: int = 0
    checkov: CheckovSummary | None = None
    failed_covered: int = Field(default=0, description="Failed checks the fixer covers")
    failed_uncovered: int = Field(default=0, description="Failed checks the fixer does not cover")
    unfixable: list[UnfixedIssue] = Field(
        default_factory=list, description="The failed checks the fixer does not cover, and why"
    )


class FixModulesRequest(BaseModel):
    """The input of code_quality_fixer: the candidate and the issues to fix in it."""

    candidate: GeneratedModules
    issues: list[Issue] = Field(default_factory=list)
