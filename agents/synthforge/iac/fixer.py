"""The ``code_quality_fixer`` agent: deterministic fixes for the checkov checks it knows.

Input :class:`~agents.synthforge.iac.models.FixModulesRequest` (``{candidate, issues}``),
output the candidate again (:class:`~agents.synthforge.iac.models.GeneratedModules`) with
the fixes made, recorded in ``fixes``, and every issue it could not fix in ``unfixed``
with the reason.

The fixes themselves (the table :data:`FIXES`, the reasons :data:`NOT_FIXED`, the text
edits) are in :mod:`agents.synthforge.iac.fixes`, which ``module_development`` also uses
to make them up front; they are re-exported here. :func:`can_fix` is what
``code_quality`` uses to mark an issue ``fixable``.

When the candidate was written to an ``output_dir``, the fixed files replace it (all at
once, as ``module_development`` writes them).
"""

from __future__ import annotations

from pathlib import Path

from agents.base import Agent
from agents.synthforge.iac.fixes import (
    DEFAULT_REASON,
    FIXES,
    NOT_FIXED,
    PUBLIC_REASON,
    Fix,
    FixError,
    Where,
    apply_fix,
    describe_fix,
    find_block,
    parse_location,
    secure_defaults,
    set_value,
)
from agents.synthforge.iac.hcl_format import format_hcl
from agents.synthforge.iac.models import (
    AppliedFix,
    FixModulesRequest,
    FixRound,
    GeneratedFile,
    GeneratedModules,
    UnfixedIssue,
)
from orchestration.patterns.feedback_loop import Issue

__all__ = [
    "DEFAULT_REASON",
    "FIXES",
    "NOT_FIXED",
    "CodeQualityFixerAgent",
    "Fix",
    "FixError",
    "Where",
    "apply_fix",
    "can_fix",
    "find_block",
    "fix_modules",
    "parse_location",
    "secure_defaults",
    "set_value",
]


def can_fix(issue: Issue, candidate: GeneratedModules) -> tuple[bool, str]:
    """Whether the fixer has a fix for ``issue`` in ``candidate``, and if not, why."""
    where = parse_location(issue.location)
    if issue.code == "SYNTAX":
        return False, "syntax errors are not fixed automatically; the file needs a person"
    if where is None:
        return False, "the issue has no file:line resource location"
    fix = FIXES.get((where.language, issue.code))
    if fix is None:
        return False, NOT_FIXED.get(issue.code, DEFAULT_REASON)
    type_, _ = where.block()
    if type_ not in fix.resource_types:
        return False, f"the fix for {issue.code} covers {', '.join(fix.resource_types)} only"
    if fix.private_only:
        symbol = where.module_instance()
        applied = next((a for a in candidate.applied if a.module == symbol), None)
        if applied is None or applied.public_network_access == "Enabled":
            why = applied.public_access_reason if applied else "unknown instance"
            return False, f"public network access stays enabled ({why}); {PUBLIC_REASON}"
    return True, ""


def fix_modules(request: FixModulesRequest) -> GeneratedModules:
    """Apply every known fix for ``request.issues`` to a copy of the candidate."""
    candidate = request.candidate
    run = candidate.fix_runs + 1
    files = {f.path: f for f in candidate.files}
    fixes: list[AppliedFix] = []
    unfixed: list[UnfixedIssue] = []
    done: set[tuple[str, str, str, str]] = set()
    for issue in request.issues:
        ok, reason = can_fix(issue, candidate)
        where = parse_location(issue.location)
        if not ok or where is None:
            unfixed.append(UnfixedIssue(issue=issue, reason=reason))
            continue
        fix = FIXES[(where.language, issue.code)]
        type_, name = where.block()
        key = (where.file, type_, name, issue.code)
        if key in done:  # the same module block, reported for another module instance
            continue
        source = files.get(where.file.lstrip("/"))
        if source is None:
            unfixed.append(
                UnfixedIssue(issue=issue, reason=f"{where.file} is not a generated file")
            )
            continue
        if not source.path.endswith((".tf", ".bicep")):
            unfixed.append(
                UnfixedIssue(
                    issue=issue,
                    reason=f"{source.path} is not HCL or Bicep text; the fixer edits only those",
                )
            )
            continue
        try:
            text = apply_fix(source.content, where, fix)
            if where.language == "terraform":
                text = format_hcl(text)
        except FixError as exc:
            unfixed.append(UnfixedIssue(issue=issue, reason=str(exc)))
            continue
        files[source.path] = GeneratedFile(path=source.path, content=text, language=source.language)
        done.add(key)
        fixes.append(
            AppliedFix(
                code=issue.code,
                file=source.path,
                resource=f"{type_}.{name}",
                change=describe_fix(fix, where.language),
                iteration=run,
            )
        )
    out = candidate.model_copy(
        update={
            "files": [files[f.path] for f in candidate.files],
            "fixes": [*candidate.fixes, *fixes],
            "unfixed": unfixed,
            "fix_runs": run,
            "fix_rounds": [
                *candidate.fix_rounds,
                FixRound(
                    iteration=run,
                    issues_sent=len(request.issues),
                    fixed=len(request.issues) - len(unfixed),
                    unfixed=len(unfixed),
                ),
            ],
        }
    )
    if candidate.output_dir and fixes:
        from agents.synthforge.iac.module_development import write_files

        write_files(Path(candidate.output_dir), out.files)
    return out


class CodeQualityFixerAgent(Agent[FixModulesRequest, GeneratedModules]):
    """Deterministic fixes for known checkov failures; the rest listed with the reason."""

    name = "code_quality_fixer"
    description = "Fixes the checkov checks it knows in generated modules; lists the rest"
    input_model = FixModulesRequest
    output_model = GeneratedModules

    async def process(self, data: FixModulesRequest) -> GeneratedModules:
        return fix_modules(data)
