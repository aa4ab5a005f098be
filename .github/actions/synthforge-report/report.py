"""Build the SynthForge pull-request comment and PR-body state from analysis artifacts.

Reads ``REPORT_*`` from the environment (see action.yml), writes ``report.md`` and
``state.json`` under ``$RUNNER_TEMP`` and their paths to ``$GITHUB_OUTPUT``. Everything
taken from the pull request or the diagrams (branch name, paths, labels) is written as
inert text; the per-diagram reports were escaped by the ``combine`` agent already.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from agents.synthforge.analysis.report import md

#: GitHub refuses comments over 65,536 characters; leave room for the marker and header.
MAX_COMMENT = 60_000
STATE_KEY_VERSION = 1


def output(name: str, value: str) -> None:
    """One ``name=value`` line to ``$GITHUB_OUTPUT``."""
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
        fh.write(f"{name}={value}\n")


def load_output(folder: Path) -> tuple[dict[str, Any] | None, str]:
    """The pipeline's ``output.json`` in ``folder`` and why it is missing, if it is."""
    path = folder / "output.json"
    if not path.is_file():
        return None, "no output artifact (the analysis stopped before the end; see the run)"
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc, ""


def main() -> int:
    env = os.environ
    diagrams = json.loads(env["REPORT_DIAGRAMS"])
    root = Path(env["REPORT_ARTIFACTS_DIR"])
    head_sha = env["REPORT_HEAD_SHA"]
    if not re.fullmatch(r"[0-9a-f]{40}", head_sha):
        print(f"::error::head-sha {head_sha!r} is not a commit id")
        return 2
    run_url = env["REPORT_RUN_URL"]
    if not re.fullmatch(r"https?://[A-Za-z0-9.:/_-]+", run_url):
        print(f"::error::run-url {run_url!r} is not a plain URL")
        return 2
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
    for item in diagrams:
        ident, path = int(item["id"]), str(item["path"])
        name = f"synthforge-{ident}"
        doc, missing = load_output(root / name)
        entry: dict[str, Any] = {"artifact": name}
        if doc is None:
            failed += 1
            entry.update(status="missing", error=missing)
            rows.append(f"| {md(path)} | ❌ missing | – | – | – |")
            sections.append(f"### {md(path)}\n\n{md(missing)}\n")
        else:
            data = doc.get("data") or {}
            status = str(doc.get("status"))
            ok = status == "succeeded"
            failed += 0 if ok else 1
            resources = len(((data.get("architecture") or {}).get("resources")) or [])
            cost = (data.get("cost") or {}).get("total_monthly")
            currency = (data.get("cost") or {}).get("currency", "")
            confidence = data.get("confidence")
            raw = (root / name / "output.json").read_bytes()
            entry.update(
                status=status,
                confidence=confidence,
                resources=resources,
                output_sha256=hashlib.sha256(raw).hexdigest(),
                correlation_id=doc.get("correlation_id"),
            )
            cost_text = f"{cost:,.2f} {md(currency)}" if isinstance(cost, int | float) else "–"
            rows.append(
                f"| {md(path)} | {'✅' if ok else '❌'} {md(status)} | "
                f"{confidence if confidence is not None else '–'} | {resources} | "
                f"{cost_text} |"
            )
            body = data.get("report_markdown") or md(doc.get("error") or "no report")
            sections.append(f"<details><summary>{md(path)}</summary>\n\n{body}\n\n</details>\n")
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
    output("report", str(out / "report.md"))
    output("state", str(out / "state.json"))
    output("failed", str(failed))
    print(f"report for {len(diagrams)} diagram(s), {failed} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
