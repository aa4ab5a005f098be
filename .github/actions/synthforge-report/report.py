"""Build the SynthForge pull-request comment and PR-body state from an analysis run's
artifacts, treating every byte of them as untrusted.

The artifacts come from a run that executed the pull request's code (for a fork, anyone's
code), so nothing in them is believed without a check:

- only the expected layout is read: ``synthforge-pr/pr.json`` and
  ``synthforge-group-N/dID/output.json``; other files are ignored, symbolic links and
  files over :data:`MAX_FILE` refused, at most :data:`MAX_DIAGRAMS` diagrams;
- ``pr.json``'s number is used only when the event names no pull request (fork pull
  requests), and the writer then checks that the pull request's head is the analysed
  commit (``pr-state set --expect-head-sha``) before writing anything;
- every ``output.json`` must be the pipeline's final artifact (schema
  ``forgeflow/ArchitectureAnalysis``) and pass its JSON Schema; everything shown is
  escaped for markdown, and the markdown report the artifact carries is not pasted:
  the comment is rebuilt from the validated fields.

Reads ``REPORT_*`` from the environment (see action.yml), writes ``report.md`` and
``state.json`` under ``$RUNNER_TEMP``, their paths, ``failed`` and ``number`` to
``$GITHUB_OUTPUT``, and the report to the job summary.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from agents.errors import ForgeflowError
from agents.synthforge.analysis.report import md
from orchestration.runtime.schemas import SCHEMAS_DIR, validate_file

#: GitHub refuses comments over 65,536 characters; leave room for the marker and header.
MAX_COMMENT = 60_000
STATE_KEY_VERSION = 1
#: Limits on what an artifact may hold before it is even parsed.
MAX_FILE = 20 * 1024 * 1024
MAX_DIAGRAMS = 256 * 20
MAX_PATH = 1024
EXPECTED_SCHEMA = "forgeflow/ArchitectureAnalysis"
GROUP_DIR = re.compile(r"synthforge-group-[1-9][0-9]{0,2}")


class Untrusted(ForgeflowError):
    """An artifact that does not pass the checks."""


def output(name: str, value: str) -> None:
    """One ``name=value`` line to ``$GITHUB_OUTPUT``."""
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
        fh.write(f"{name}={value}\n")


def command_text(text: str) -> str:
    """``text`` safe as a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def regular_file(path: Path) -> Path:
    """``path`` if it is a regular file (no link) of at most :data:`MAX_FILE` bytes."""
    if path.is_symlink() or not path.is_file():
        raise Untrusted(f"{path.name}: not a regular file")
    if path.stat().st_size > MAX_FILE:
        raise Untrusted(f"{path.name}: larger than {MAX_FILE} bytes")
    return path


def load_pr(root: Path) -> tuple[int, list[tuple[int, str]]]:
    """The claimed pull-request number and the diagrams of ``synthforge-pr/pr.json``."""
    path = regular_file(root / "synthforge-pr" / "pr.json")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Untrusted(f"pr.json: not JSON: {exc}") from None
    number = doc.get("number") if isinstance(doc, dict) else None
    items = doc.get("diagrams") if isinstance(doc, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 2**31:
        raise Untrusted(f"pr.json: number {number!r} is not a pull-request number")
    if not isinstance(items, list) or len(items) > MAX_DIAGRAMS:
        raise Untrusted(f"pr.json: diagrams must be a list of at most {MAX_DIAGRAMS}")
    diagrams: list[tuple[int, str]] = []
    seen: set[int] = set()
    for item in items:
        ident = item.get("id") if isinstance(item, dict) else None
        name = item.get("path") if isinstance(item, dict) else None
        if not isinstance(ident, int) or isinstance(ident, bool) or not 0 < ident <= MAX_DIAGRAMS:
            raise Untrusted(f"pr.json: diagram id {ident!r} is not a small positive integer")
        if ident in seen:
            raise Untrusted(f"pr.json: diagram id {ident} appears twice")
        if not isinstance(name, str) or not 0 < len(name) <= MAX_PATH or "\0" in name:
            raise Untrusted(f"pr.json: diagram {ident}: path is not a file name")
        seen.add(ident)
        diagrams.append((ident, name))
    return number, diagrams


def find_outputs(root: Path) -> dict[int, tuple[str, Path]]:
    """``dID/output.json`` of every ``synthforge-group-N`` folder: id -> (artifact, file)."""
    found: dict[int, tuple[str, Path]] = {}
    for group in sorted(root.iterdir()) if root.is_dir() else []:
        if not GROUP_DIR.fullmatch(group.name) or group.is_symlink() or not group.is_dir():
            continue
        for folder in sorted(group.iterdir()):
            match = re.fullmatch(r"d([1-9][0-9]{0,4})", folder.name)
            if match and not folder.is_symlink() and (folder / "output.json").exists():
                found.setdefault(int(match.group(1)), (group.name, folder / "output.json"))
    return found


def check_filter(path: Path) -> bytes | None:
    """The validated ``filter.json`` beside an output (the classified architecture the
    review starts from), or ``None`` when it is absent or does not pass."""
    if not path.exists():
        return None
    try:
        raw = regular_file(path).read_bytes()
        if validate_file(path, SCHEMAS_DIR) != "forgeflow/ClassifiedArchitecture":
            return None
    except (ForgeflowError, OSError):
        return None
    return raw


def check_output(path: Path) -> tuple[dict[str, Any], bytes]:
    """The validated final artifact at ``path`` and its bytes."""
    raw = regular_file(path).read_bytes()
    try:
        schema_id = validate_file(path, SCHEMAS_DIR)
    except ForgeflowError as exc:
        raise Untrusted(str(exc).replace(str(path.parent.parent.parent), "…")) from None
    if schema_id != EXPECTED_SCHEMA:
        raise Untrusted(f"output.json is a {schema_id} artifact, not {EXPECTED_SCHEMA}")
    doc = json.loads(raw)
    return doc, raw


def pull_request_number(claimed: int, event_json: str) -> int:
    """The event's pull request when it names exactly one, else the claimed one (checked
    by the writer against the head commit before anything is written)."""
    try:
        listed = json.loads(event_json or "[]")
    except ValueError:
        listed = []
    numbers = [
        p.get("number")
        for p in listed if isinstance(listed, list)
        for p in [p] if isinstance(p, dict)
    ]  # fmt: skip
    numbers = [n for n in numbers if isinstance(n, int) and not isinstance(n, bool) and n > 0]
    return numbers[0] if len(numbers) == 1 else claimed


def diagram_row(path: str, doc: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
    """The table row, the state entry's fields and whether the analysis succeeded."""
    data = doc.get("data") or {}
    status = str(doc.get("status"))
    ok = status == "succeeded"
    resources = len(((data.get("architecture") or {}).get("resources")) or [])
    cost = (data.get("cost") or {}).get("total_monthly")
    currency = str((data.get("cost") or {}).get("currency", ""))
    confidence = data.get("confidence")
    if not isinstance(confidence, int | float) or isinstance(confidence, bool):
        confidence = None
    cost_text = f"{cost:,.2f} {md(currency)}" if isinstance(cost, int | float) else "–"
    row = (
        f"| {md(path)} | {'✅' if ok else '❌'} {md(status)} | "
        f"{confidence if confidence is not None else '–'} | {resources} | {cost_text} |"
    )
    fields = {"status": status, "confidence": confidence, "resources": resources}
    return row, fields, ok


def main() -> int:
    env = os.environ
    root = Path(env["REPORT_ARTIFACTS_DIR"])
    head_sha = env["REPORT_HEAD_SHA"]
    if not re.fullmatch(r"[0-9a-f]{40}", head_sha):
        print(f"::error::head-sha {command_text(repr(head_sha))} is not a commit id")
        return 2
    run_url = env["REPORT_RUN_URL"]
    if not re.fullmatch(r"https?://[A-Za-z0-9.:/_-]+", run_url):
        print(f"::error::run-url {command_text(repr(run_url))} is not a plain URL")
        return 2
    if not (root / "synthforge-pr" / "pr.json").exists():
        print(
            "::notice title=SynthForge::the analysis run left no list of diagrams "
            "(it stopped before analysing); nothing to report"
        )
        output("failed", "")
        output("number", "")
        return 0
    try:
        claimed, diagrams = load_pr(root)
    except Untrusted as exc:
        print(f"::error title=SynthForge::analysis artifacts refused: {command_text(str(exc))}")
        return 2
    number = pull_request_number(claimed, env.get("REPORT_PULL_REQUESTS", "[]"))
    outputs = find_outputs(root)
    rows = [
        "| diagram | status | confidence | resources | estimated cost a month |",
        "|---|---|---|---|---|",
    ]
    sections: list[str] = []
    state: dict[str, Any] = {
        "version": STATE_KEY_VERSION,
        "head_sha": head_sha,
        "run": run_url,
        "diagrams": {},
    }
    failed = 0
    # What passed the checks, laid out for the review (synthforge-ID/output.json and
    # filter.json), so nothing downstream reads the downloaded artifacts themselves.
    checked = Path(env.get("RUNNER_TEMP", ".")) / "synthforge-checked"
    checked.mkdir(parents=True, exist_ok=True)
    passed: list[dict[str, Any]] = []
    for ident, path in diagrams:
        artifact, file = outputs.get(ident, (f"synthforge-group-{(ident - 1) // 20 + 1}", None))
        entry: dict[str, Any] = {"artifact": artifact, "file": f"d{ident}/output.json"}
        problem = ""
        if file is None:
            problem = "no output artifact (the analysis stopped before the end; see the run)"
            entry["status"] = "missing"
        else:
            try:
                doc, raw = check_output(file)
            except Untrusted as exc:
                problem = f"the artifact did not pass the checks: {exc}"
                entry["status"] = "invalid"
        if problem:
            failed += 1
            entry["error"] = problem
            rows.append(f"| {md(path)} | ❌ {entry['status']} | – | – | – |")
            sections.append(f"### {md(path)}\n\n{md(problem)}\n")
        else:
            row, fields, ok = diagram_row(path, doc)
            failed += 0 if ok else 1
            rows.append(row)
            entry.update(
                fields,
                output_sha256=hashlib.sha256(raw).hexdigest(),
                correlation_id=str(doc.get("correlation_id") or ""),
            )
            sections.append(
                f"<details><summary>{md(path)}</summary>\n\n{details(doc)}\n</details>\n"
            )
            classified = check_filter(file.parent / "filter.json") if file is not None else None
            if classified is not None:
                folder = checked / f"synthforge-{ident}"
                folder.mkdir(exist_ok=True)
                (folder / "output.json").write_bytes(raw)
                (folder / "filter.json").write_bytes(classified)
                passed.append({"id": ident, "path": path})
        state["diagrams"][path] = entry
    branch = md(env["REPORT_HEAD_REF"])
    header = [
        "## SynthForge analysis",
        "",
        f"Branch {branch} at `{head_sha[:12]}`: {len(diagrams)} changed diagram(s), "
        f"{failed} failed. [Workflow run]({run_url})",
        "",
        *rows,
        "",
    ]
    text = "\n".join(header)
    for section in sections:
        if len(text) + len(section) > MAX_COMMENT:
            text += (
                "\nThe remaining reports do not fit in a comment; they are in the run's "
                "artifacts.\n"
            )
            break
        text += "\n" + section
    out = Path(env.get("RUNNER_TEMP", ".")) / "synthforge-report"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(text, encoding="utf-8")
    (out / "state.json").write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    output("report", str(out / "report.md"))
    output("state", str(out / "state.json"))
    output("failed", str(failed))
    output("number", str(number))
    output("checked-dir", str(checked))
    output("diagrams", json.dumps(passed))
    print(f"report for {len(diagrams)} diagram(s) of pull request #{number}, {failed} failed")
    return 0


def details(doc: dict[str, Any]) -> str:
    """One diagram's section, rebuilt from the validated artifact (every string escaped)."""
    data = doc.get("data") or {}
    resources = (data.get("architecture") or {}).get("resources") or []
    flows = (data.get("network") or {}).get("flows") or []
    secured = (data.get("security") or {}).get("resources") or []
    cost = data.get("cost") or {}
    private = sum(1 for f in flows if f.get("private"))
    facts = [
        f"- Resources: {len(resources)}",
        f"- Flows: {len(flows)} ({private} private, {len(flows) - private} public)",
        f"- Security: {sum(len(r.get('role_assignments') or []) for r in secured)} role "
        f"assignments, {sum(1 for r in secured if r.get('private_endpoint'))} private endpoints",
    ]
    if isinstance(cost.get("total_monthly"), int | float):
        facts.append(
            f"- Estimated cost: {cost['total_monthly']:,.2f} {md(str(cost.get('currency', '')))}"
            f" a month ({md(str(cost.get('region', '')))})"
        )
    lines = ["| resource | type |", "|---|---|"]
    lines += [
        f"| {md(str(r.get('name', '')))} | {md(str(r.get('resource_type', '')))} |"
        for r in resources[:200]
    ]
    if len(resources) > 200:
        lines.append(f"| … {len(resources) - 200} more | |")
    return "\n".join([*facts, "", *lines])


if __name__ == "__main__":
    sys.exit(main())
