"""GitHub's rule for the token of a reusable workflow, as a model the tests can run.

GitHub's documentation, "Reusing workflows"
(https://docs.github.com/en/actions/how-tos/reuse-automations/reuse-workflows, and its
reference page https://docs.github.com/en/actions/reference/workflows-and-actions/reusing-workflow-configurations),
says that the ``GITHUB_TOKEN`` permissions a caller passes can only be downgraded, never
elevated, by the called workflow. A job of the called workflow that asks for more than
the calling job grants makes the whole run fail at start-up, before any job runs. ``act``
ignores ``permissions`` altogether, so no run under act can show this; this module
computes it from the workflow files instead:

- what a calling job grants: its own ``permissions:``, else its workflow's top-level
  ``permissions:``, else the restricted default (``contents: read``, ``packages: read``);
- what each job of the called workflow asks for: its own ``permissions:``, else the called
  workflow's top-level ``permissions:``, else exactly what it is given;
- a job that itself calls a reusable workflow passes on at most what it was given, and the
  rule applies again one level down.

``permissions: {}`` grants nothing; ``read-all`` and ``write-all`` every scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LEVELS = {"none": 0, "read": 1, "write": 2}
#: The scopes of ``GITHUB_TOKEN`` (GitHub's "Controlling permissions for GITHUB_TOKEN").
SCOPES = (
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
)
#: What a job gets when neither it nor its workflow says (the restricted default).
RESTRICTED_DEFAULT = {"contents": "read", "packages": "read"}
#: Forgeflow's own repository as other repositories name it in ``uses:``.
FORGEFLOW_REMOTE = re.compile(r"^[^/]+/forgeflow/(\.github/workflows/[^@]+)@[0-9a-f]{40}$")


Permissions = dict[str, str]


def load(path: Path) -> dict[str, Any]:
    """A workflow file (``on`` kept as the string "on")."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a workflow")
    return data


def normalise(value: Any, where: str) -> Permissions:
    """A ``permissions:`` value as ``{scope: level}`` with every scope present."""
    if value == "read-all":
        return dict.fromkeys(SCOPES, "read") | {"id-token": "none"}
    if value == "write-all":
        return dict.fromkeys(SCOPES, "write")
    if value in ("", None):
        value = {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: permissions {value!r} is not a mapping")
    out = dict.fromkeys(SCOPES, "none")
    for scope, level in value.items():
        if scope not in SCOPES or level not in LEVELS:
            raise ValueError(f"{where}: unknown permission {scope}: {level}")
        out[scope] = level
    return out


def granted_by(workflow: dict[str, Any], job: dict[str, Any], where: str) -> Permissions:
    """What the token of ``job`` holds (its own, else the workflow's, else the default)."""
    if "permissions" in job:
        return normalise(job["permissions"], where)
    if "permissions" in workflow:
        return normalise(workflow["permissions"], where)
    return normalise(RESTRICTED_DEFAULT, where)


def at_most(asked: Permissions, allowed: Permissions) -> Permissions:
    """``asked`` lowered to what ``allowed`` permits, scope by scope."""
    return {s: min(asked[s], allowed[s], key=LEVELS.__getitem__) for s in SCOPES}


def exceeding(asked: Permissions, allowed: Permissions) -> dict[str, tuple[str, str]]:
    """Scopes where ``asked`` wants more than ``allowed``: scope -> (asked, allowed)."""
    return {s: (asked[s], allowed[s]) for s in SCOPES if LEVELS[asked[s]] > LEVELS[allowed[s]]}


def resolve(uses: str, caller: Path, repo: Path) -> Path:
    """The file a job's ``uses:`` names, inside Forgeflow's repository ``repo``."""
    for prefix in ("./", "$/"):
        if uses.startswith(prefix):
            return repo / uses[len(prefix) :]
    match = FORGEFLOW_REMOTE.match(uses)
    if match:
        return repo / match.group(1)
    raise ValueError(f"{caller}: cannot resolve reusable workflow {uses!r}")


@dataclass(frozen=True)
class Violation:
    """A called job that asks for more than its caller grants."""

    caller: str
    called: str
    job: str
    scope: str
    asked: str
    allowed: str

    def __str__(self) -> str:
        return (
            f"{self.caller} calls {self.called}, whose job {self.job!r} asks for "
            f"{self.scope}: {self.asked} but is only allowed {self.scope}: {self.allowed}"
        )


def calls(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The jobs of ``workflow`` that call a reusable workflow."""
    for job_id, job in (workflow.get("jobs") or {}).items():
        if isinstance(job, dict) and "uses" in job:
            yield job_id, job


def check_call(
    called_path: Path, allowed: Permissions, caller: str, repo: Path, depth: int = 1
) -> list[Violation]:
    """Violations of the rule when ``called_path`` runs with at most ``allowed``."""
    if depth > 4:
        raise ValueError(f"{caller}: more than four levels of reusable workflows")
    called = load(called_path)
    name = called_path.relative_to(repo).as_posix()
    found: list[Violation] = []
    for job_id, job in (called.get("jobs") or {}).items():
        where = f"{name} jobs.{job_id}"
        if "permissions" in job or "permissions" in called:
            asked = granted_by(called, job, where)
        else:
            asked = allowed  # nothing said: the job gets what it is given
        for scope, (want, have) in exceeding(asked, allowed).items():
            found.append(Violation(caller, name, job_id, scope, want, have))
        if "uses" in job:
            inner = resolve(job["uses"], called_path, repo)
            found += check_call(inner, at_most(asked, allowed), where, repo, depth + 1)
    return found


def check_workflow(path: Path, repo: Path) -> list[Violation]:
    """Violations of the rule by every reusable-workflow call in the workflow at ``path``."""
    workflow = load(path)
    name = path.relative_to(repo).as_posix()
    found: list[Violation] = []
    for job_id, job in calls(workflow):
        where = f"{name} jobs.{job_id}"
        allowed = granted_by(workflow, job, where)
        found += check_call(resolve(job["uses"], path, repo), allowed, where, repo)
    return found


def required(called_path: Path, repo: Path) -> Permissions:
    """The least a caller must grant for every job of ``called_path`` to start."""
    need = dict.fromkeys(SCOPES, "none")
    called = load(called_path)
    for job_id, job in (called.get("jobs") or {}).items():
        where = f"{called_path.name} jobs.{job_id}"
        if "permissions" in job or "permissions" in called:
            asked = granted_by(called, job, where)
        else:
            asked = dict.fromkeys(SCOPES, "none")
        if "uses" in job:
            inner = required(resolve(job["uses"], called_path, repo), repo)
            asked = {s: max(asked[s], inner[s], key=LEVELS.__getitem__) for s in SCOPES}
        need = {s: max(need[s], asked[s], key=LEVELS.__getitem__) for s in SCOPES}
    return need


def permissions_table(workflows: list[Path], repo: Path) -> str:
    """The markdown table of what a caller grants for each reusable workflow, and why."""
    rows = ["| workflow | the calling job grants | used for |", "|---|---|---|"]
    for path in workflows:
        need = required(path, repo)
        grants = ", ".join(f"`{s}: {lvl}`" for s, lvl in need.items() if lvl != "none")
        reasons: list[str] = []
        text = path.read_text(encoding="utf-8").splitlines()
        for line in text:
            match = re.match(r"^\s+([a-z-]+): (read|write)\s*#\s*(.+)$", line)
            if match and match.group(1) in SCOPES:
                reason = f"`{match.group(1)}`: {match.group(3).strip()}"
                if reason not in reasons:
                    reasons.append(reason)
        rows.append(f"| `{path.name}` | {grants or 'nothing'} | {'; '.join(reasons)} |")
    return "\n".join(rows)
