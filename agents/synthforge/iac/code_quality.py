"""The ``code_quality`` agent: parse the generated modules, then run checkov over them.

Input :class:`~agents.synthforge.iac.models.GeneratedModules`, output
:class:`~agents.synthforge.iac.models.CodeQualityReport` (a
:class:`~orchestration.patterns.feedback_loop.ValidationReport`).

1. Every ``.tf`` file is parsed with ``hcl2`` (python-hcl2, or the bc-python-hcl2 fork that
   checkov installs under the same import name) and every ``.bicep`` file with
   ``pycep-parser``; a syntax error is an issue ``SYNTAX`` at ``file:line``. A parser
   that is not installed (the ``iac`` extra) is a :class:`ParserMissingError`, not an issue.
2. ``checkov -d DIR --framework terraform,bicep -o json --skip-download`` runs
   over the files (offline; ``terraform_json`` too when there are ``.tf.json`` files;
   not ``--quiet``, which leaves the skipped checks out of the JSON);
   each failed check is an issue with the check id as code, the check name as message,
   ``file:line resource`` as location, and ``fixable`` set when ``code_quality_fixer``
   has a fix for it. The line is where the resource starts, so a fix above it in the
   same file moves it. A check the code suppresses inline (``checkov:skip=ID:reason``,
   see :mod:`~agents.synthforge.iac.suppressions`) is one of the report's ``accepted``
   issues, with the reason written beside it; it is not a failure.

Settings: ``checkov`` — the checkov executable (default ``$FORGEFLOW_CHECKOV``, else
``checkov`` on ``PATH``); ``checkov_timeout`` — seconds (default 600).

checkov runs kept warm, one worker process for every validation of the process
(:mod:`agents.synthforge.iac.checkov_worker`; ``FORGEFLOW_CHECKOV_WORKER=0`` turns it off).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, cast

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from agents.base import Agent, AgentSettings
from agents.errors import ForgeflowError
from agents.synthforge.iac import checkov_worker
from agents.synthforge.iac.fixer import can_fix
from agents.synthforge.iac.models import (
    CheckovSummary,
    CodeQualityReport,
    GeneratedFile,
    GeneratedModules,
    UnfixedIssue,
)
from orchestration.patterns.feedback_loop import Issue

SYNTAX = "SYNTAX"
_LINE = re.compile(r"line (\d+)")


class CheckovError(ForgeflowError):
    """checkov is missing, timed out or answered with something that is not its JSON."""


class ParserMissingError(ForgeflowError):
    """The Terraform or Bicep parser (the ``iac`` extra) is not installed."""


class CodeQualitySettings(AgentSettings):
    """Settings of the ``code_quality`` agent."""

    checkov: str | None = Field(
        default=None,
        description="The checkov executable (default $FORGEFLOW_CHECKOV, else checkov on PATH)",
    )
    checkov_timeout: float = Field(
        default=600.0, description="Seconds checkov may run before the check fails"
    )

    @field_validator("checkov_timeout", mode="before")
    @classmethod
    def _positive_seconds(cls, value: Any) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = -1.0
        if not seconds > 0 or seconds == float("inf"):
            raise PydanticCustomError("seconds", "expected a number of seconds greater than 0")
        return seconds


SettingsLike = CodeQualitySettings | Mapping[str, Any] | None


def quality_settings(settings: SettingsLike) -> CodeQualitySettings:
    """``settings`` as :class:`CodeQualitySettings` (a mapping is validated)."""
    if isinstance(settings, CodeQualitySettings):
        return settings
    return cast(CodeQualitySettings, CodeQualityAgent.check_settings(dict(settings or {})))


#: Import name of each parser -> the distribution that provides it.
_PARSER_PACKAGES = {"hcl2": "python-hcl2", "pycep": "pycep-parser"}


@cache
def _bicep_parser() -> Any:
    from pycep import BicepParser

    return BicepParser()


def syntax_issue(file: GeneratedFile) -> Issue | None:
    """The syntax error of one file as an issue, or None when it parses."""
    try:
        if file.path.endswith(".tf"):
            import hcl2

            hcl2.loads(file.content)
        elif file.path.endswith(".bicep"):
            _bicep_parser().parse(text=file.content)
        elif file.path.endswith(".json"):
            json.loads(file.content)
    except Exception as exc:  # each parser raises its own errors (lark, ValueError, ...)
        if isinstance(exc, ModuleNotFoundError) and exc.name in _PARSER_PACKAGES:
            raise ParserMissingError(
                f"{file.path}: checking {file.language} syntax needs "
                f"{_PARSER_PACKAGES[exc.name]}, which is not installed; "
                "pip install 'forgeflow[iac]'"
            ) from None
        line = getattr(exc, "line", None) or getattr(exc, "lineno", None)
        if not isinstance(line, int) or line < 1:
            found = _LINE.search(str(exc))
            line = int(found.group(1)) if found else None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Issue(
            code=SYNTAX,
            message=f"{file.language} syntax error: {first[:200]}",
            location=f"{file.path}:{line if line else '?'}",
            fixable=False,
            reason="syntax errors are not fixed automatically; the file needs a person",
        )
    return None


def checkov_executable(settings: SettingsLike) -> str:
    """The checkov command: the ``checkov`` setting, ``$FORGEFLOW_CHECKOV`` or PATH."""
    configured = quality_settings(settings).checkov
    chosen = configured or os.environ.get("FORGEFLOW_CHECKOV") or "checkov"
    found = shutil.which(chosen)
    if found is None:
        raise CheckovError(
            f"checkov not found ({chosen}); install it (pipx install checkov) "
            "or point --set checkov=PATH / FORGEFLOW_CHECKOV at it"
        )
    return found


def run_checkov(
    folder: Path, frameworks: list[str], executable: str, timeout: float = 600
) -> tuple[CheckovSummary, list[dict[str, Any]]]:
    """Run checkov over ``folder``; its summary and the failed and skipped checks (each
    with ``check_type``; a skipped one's ``check_result.result`` is ``SKIPPED``)."""
    cmd = [
        executable,
        "-d",
        str(folder),
        "--framework",
        ",".join(frameworks),
        "-o",
        "json",
        "--skip-download",
    ]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    started = time.perf_counter()
    try:
        proc = checkov_worker.run(cmd, timeout=timeout, env=env)  # warm, or one process
    except subprocess.TimeoutExpired:
        raise CheckovError(f"checkov timed out after {timeout:g} s on {folder}") from None
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CheckovError(f"checkov exited {proc.returncode}: {tail[0][:200]}")
    out = proc.stdout
    start = min((i for i in (out.find("["), out.find("{")) if i >= 0), default=-1)
    try:
        data = json.loads(out[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        data = None
    if data is None:
        raise CheckovError("checkov printed no JSON report")
    reports = data if isinstance(data, list) else [data]
    summary = CheckovSummary(seconds=round(seconds, 3))
    failed: list[dict[str, Any]] = []
    for report in reports:
        part = report.get("summary", report)
        summary.version = summary.version or part.get("checkov_version")
        summary.passed += int(part.get("passed", 0))
        summary.failed += int(part.get("failed", 0))
        summary.skipped += int(part.get("skipped", 0))
        summary.parsing_errors += int(part.get("parsing_errors", 0))
        results = report.get("results", {})
        for check in [*results.get("failed_checks", []), *results.get("skipped_checks", [])]:
            failed.append({**check, "check_type": report.get("check_type", "")})
    return summary, failed


@cache
def high_checks() -> frozenset[str]:
    """The checks whose failure is ``high`` (error severity), from ``data/check_severity.json``."""
    from agents.synthforge.analysis.network_flow import load_data

    groups: dict[str, list[str]] = load_data("check_severity.json")["high"]
    return frozenset(check for checks in groups.values() for check in checks)


def severity_of(check: dict[str, Any]) -> str:
    """``error`` for a high-severity check, else ``warning``.

    checkov's own severity is used when its report carries one (HIGH, CRITICAL → error);
    offline it carries none, and the shipped list of high checks decides.
    """
    given = str(check.get("severity") or "").upper()
    if given:
        return "error" if given in ("HIGH", "CRITICAL") else "warning"
    return "error" if str(check.get("check_id", "")) in high_checks() else "warning"


def check_issue(check: dict[str, Any]) -> Issue:
    """One failed checkov check as an issue at ``file:line resource``."""
    path = str(check.get("file_path", "")).lstrip("/")
    lines = check.get("file_line_range") or [None]
    return Issue(
        code=str(check.get("check_id", "CKV_UNKNOWN")),
        message=str(check.get("check_name", "failed check")),
        severity="error" if severity_of(check) == "error" else "warning",
        location=f"{path}:{lines[0] if lines[0] else '?'} {check.get('resource', '')}".strip(),
        identity=f"{path} {check.get('resource', '')}",
    )


def skipped(check: dict[str, Any]) -> bool:
    """Whether checkov reports ``check`` skipped (suppressed inline) rather than failed."""
    result = check.get("check_result")
    return isinstance(result, dict) and str(result.get("result", "")).upper() == "SKIPPED"


def accepted_issue(check: dict[str, Any]) -> Issue:
    """A check the code suppresses inline, with the reason written beside it."""
    result = check.get("check_result") or {}
    reason = str(result.get("suppress_comment") or "").strip() or "no reason given"
    return check_issue(check).model_copy(update={"fixable": False, "reason": reason})


def checkov_timeout(settings: SettingsLike) -> float:
    """The ``checkov_timeout`` setting in seconds (default 600), checked."""
    return quality_settings(settings).checkov_timeout


def validate(candidate: GeneratedModules, settings: SettingsLike) -> CodeQualityReport:
    """Parse every file, run checkov over the folder, and report the issues."""
    settings = quality_settings(settings)
    issues: list[Issue] = []
    for file in candidate.files:
        issue = syntax_issue(file)
        if issue is not None:
            issues.append(issue)
    syntax = len(issues)
    frameworks: list[str] = sorted({f.language for f in candidate.files})
    if any(f.path.endswith(".tf.json") for f in candidate.files):
        frameworks.append("terraform_json")
    summary: CheckovSummary | None = None
    unfixable: list[UnfixedIssue] = []
    accepted: list[Issue] = []
    covered = uncovered = 0
    if frameworks:
        executable = checkov_executable(settings)
        timeout = checkov_timeout(settings)
        with tempfile.TemporaryDirectory(prefix="forgeflow-code-quality-") as tmp:
            root = Path(tmp)
            for file in candidate.files:
                target = root / file.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(file.content, encoding="utf-8")
            summary, failed = run_checkov(root, frameworks, executable, timeout)
        seen: set[tuple[str, str | None, str]] = set()
        for check in failed:
            if skipped(check):
                accepted.append(accepted_issue(check))
                continue
            issue = check_issue(check)
            if issue.key() in seen:
                continue
            seen.add(issue.key())
            ok, reason = can_fix(issue, candidate)
            issue.fixable = ok
            if ok:
                covered += 1
            else:
                uncovered += 1
                issue.reason = reason
                unfixable.append(UnfixedIssue(issue=issue, reason=reason))
            issues.append(issue)
    warnings = []
    if summary is not None and summary.parsing_errors:
        warnings.append(f"checkov could not parse {summary.parsing_errors} file(s)")
    return CodeQualityReport(
        valid=not issues,
        issues=issues,
        files_checked=len(candidate.files),
        syntax_errors=syntax,
        checkov=summary,
        failed_covered=covered,
        failed_uncovered=uncovered,
        unfixable=unfixable,
        accepted=accepted,
        warnings=warnings,
    )


class CodeQualityAgent(Agent[GeneratedModules, CodeQualityReport]):
    """Syntax check (python-hcl2, pycep-parser) and checkov static analysis."""

    name = "code_quality"
    description = "Parses generated Terraform/Bicep and runs checkov; failed checks as issues"
    input_model = GeneratedModules
    output_model = CodeQualityReport
    settings_model = CodeQualitySettings
    settings: CodeQualitySettings

    async def process(self, data: GeneratedModules) -> CodeQualityReport:
        import asyncio

        return await asyncio.to_thread(validate, data, self.settings)
