"""``/forgeflow iac``: modules for a reviewed diagram, committed to its branch or attached.

:func:`generate` runs the IaC loop on the reviewed analysis (the review run's output),
writes the modules under ``infra/<diagram name>/`` of a folder, and says which checkov
findings remain. For a same-repository pull request :func:`commit_and_push` clones the
branch, copies the modules in and pushes one commit whose message names the diagram, the
run and who asked; for a fork, :func:`patch` writes a ``git apply``-able patch to attach
(the token cannot push to a fork, and the run must not check out its code with a write
token anyway). Files are only ever written as data: nothing in the clone is run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.errors import ForgeflowError, InputError

_BRANCH = re.compile(r"[A-Za-z0-9._/-]{1,200}")


@dataclass
class Generated:
    """The modules of one diagram and what checkov still finds in them."""

    diagram: str
    folder: Path
    infra_path: str
    files: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    status: str = "succeeded"


def infra_path(diagram: str) -> str:
    """Where a diagram's modules go in the repository: ``infra/<diagram stem>``."""
    stem = Path(diagram).stem
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in stem).strip(".-")
    return f"infra/{safe or 'diagram'}"


#: What every ``outcome.iac`` entry holds (the comment job writes them all).
REQUEST_KEYS = ("path", "analysis", "run_id", "requested_by", "fork")


def iac_requests(outcome: Any, where: str) -> list[dict[str, Any]]:
    """The ``iac`` entries of a comment job's outcome, each checked to hold
    :data:`REQUEST_KEYS`; :class:`InputError` otherwise, before any module is made."""
    requests = outcome.get("iac") if isinstance(outcome, dict) else None
    if not isinstance(outcome, dict) or not isinstance(requests or [], list):
        raise InputError(f"{where}: not a comment job's outcome (an object with an 'iac' list)")
    for n, request in enumerate(requests or [], start=1):
        missing = [k for k in REQUEST_KEYS if not isinstance(request, dict) or k not in request]
        if missing:
            raise InputError(f"{where}: iac entry {n} lacks {', '.join(missing)}")
    return list(requests or [])


def generate(
    request: dict[str, Any], workdir: Path, *, base: Path, cache_dir: Path | None = None
) -> Generated:
    """Run the IaC loop for one ``outcome.iac`` entry; modules land in ``workdir``.

    ``base`` is the comment run's workspace (where ``outcome.json`` is): the entry's
    ``analysis`` is relative to it, and must stay inside it.
    """
    from agents.synthforge.iac.models import GeneratedModules
    from orchestration.pipeline.runner import run_pipeline_file
    from orchestration.pipeline.shipped_pipelines import shipped_pipeline
    from orchestration.runtime.artifact import read_artifact

    diagram = str(request["path"])
    target = infra_path(diagram)
    modules = workdir / "modules"
    out = workdir / "iac-run"
    report = run_pipeline_file(
        shipped_pipeline("synthforge-iac-from-analysis"),
        _inside(base, str(request["analysis"])),
        state=str(workdir / "state"),
        run_id=str(request["run_id"]) + "-iac",
        out_dir=out,
        settings={
            "module_development": {"iac": str(request.get("iac") or "both")},
            "write_modules": {"output_dir": str(modules / target)},
        },
        cache_dir=cache_dir,
    )
    if not report.ok or report.output is None:
        raise ForgeflowError(
            f"{diagram}: the IaC loop failed at {report.failed_stage}: {report.error}"
        )
    generated = read_artifact(report.output, GeneratedModules).typed(GeneratedModules)
    findings = [
        f"{u.issue.code} at {u.issue.location or '?'}: {u.reason}" for u in generated.unfixed
    ]
    return Generated(
        diagram=diagram,
        folder=modules,
        infra_path=target,
        files=sorted(f.path for f in generated.files),
        findings=findings,
        status="findings" if findings else "succeeded",
    )


def _inside(base: Path, rel: str) -> Path:
    path = (base / rel).resolve()
    if not path.is_relative_to(base.resolve()):
        raise InputError(f"outcome: {rel!r} is outside the review's folder")
    return path


def patch(generated: Generated) -> str:
    """A ``git apply``-able patch adding the generated files (for fork pull requests)."""
    chunks = []
    root = generated.folder
    for path in sorted(p for p in (root / generated.infra_path).rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        body = "".join(f"+{line}\n" for line in lines)
        chunks.append(
            f"diff --git a/{rel} b/{rel}\nnew file mode 100644\n--- /dev/null\n+++ b/{rel}\n"
            f"@@ -0,0 +1,{len(lines)} @@\n{body}"
        )
    return "".join(chunks)


def commit_message(generated: Generated, *, run: str, requested_by: str) -> str:
    who = requested_by.replace("@", "")
    lines = [
        f"SynthForge: modules for {generated.diagram}",
        "",
        f"Generated by Forgeflow run {run}, requested by {who} with /forgeflow iac.",
    ]
    if generated.findings:
        lines += ["", f"{len(generated.findings)} checkov finding(s) remain:"]
        lines += [f"- {f}" for f in generated.findings[:20]]
    return "\n".join(lines) + "\n"


def _git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    full = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        **(env or {}),
    }
    proc = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ForgeflowError(f"git {args[0]}: {tail[0][:300]}")
    return proc.stdout


def commit_and_push(
    generated: Generated,
    *,
    remote: str,
    branch: str,
    expected_head: str | None,
    message: str,
    workdir: Path,
    auth_header: str | None = None,
) -> str:
    """Clone ``branch`` of ``remote``, add the modules, commit, push; the new commit's sha.

    ``expected_head`` (the analysed head) guards against pushing onto a branch that moved.
    """
    if not _BRANCH.fullmatch(branch) or ".." in branch or branch.startswith("-"):
        raise InputError(f"branch {branch!r} is not a plain branch name")
    clone = workdir / "clone"
    if clone.exists():
        shutil.rmtree(clone)
    extra = ["-c", f"http.extraheader={auth_header}"] if auth_header else []
    _git(*extra, "clone", "--quiet", "--depth", "1", "--branch", branch, "--", remote, str(clone))
    head = _git("rev-parse", "HEAD", cwd=clone).strip()
    if expected_head and head != expected_head:
        raise ForgeflowError(
            f"the branch {branch} moved to {head[:12]} since {expected_head[:12]} was analysed; "
            "run /forgeflow iac again"
        )
    source = generated.folder / generated.infra_path
    target = clone / generated.infra_path
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    _git("add", "--", generated.infra_path, cwd=clone)
    ident = {
        "GIT_AUTHOR_NAME": "forgeflow[bot]",
        "GIT_AUTHOR_EMAIL": "forgeflow@users.noreply.github.com",
        "GIT_COMMITTER_NAME": "forgeflow[bot]",
        "GIT_COMMITTER_EMAIL": "forgeflow@users.noreply.github.com",
    }
    status = _git("status", "--porcelain", cwd=clone)
    if not status.strip():
        return head  # the branch already has exactly these modules
    msg_file = workdir / "commit-message.txt"
    msg_file.write_text(message, encoding="utf-8")
    _git("commit", "--quiet", "-F", str(msg_file), cwd=clone, env=ident)
    _git(*extra, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=clone)
    return _git("rev-parse", "HEAD", cwd=clone).strip()
