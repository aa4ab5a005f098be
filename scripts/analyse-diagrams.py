"""Run the SynthForge pipeline on several diagrams in one job (synthforge-pr.yml).

``DIAGRAMS`` (environment) is the job's group: a JSON list of ``{"id": N, "path": P}``,
``P`` relative to the workspace. Each diagram's run goes to ``OUT/dN/`` (every stage's
artifact, ``output.json``, ``report.md``, ``summary.md``) with its own state folder and a
shared result cache. A diagram that fails gets one ``::error file=P::`` annotation (the
pipeline's own for a failed stage; this script's for bad input, exit 2), the others go on.
Writes ``analysed`` and ``failed`` to ``$GITHUB_OUTPUT`` and a table to the job summary;
exits 1 when any diagram failed, 2 when ``DIAGRAMS`` itself is bad.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

#: A diagram's report goes into the job summary (at most 1 MiB a step) below this size.
MAX_SUMMARY_REPORT = 40_000


def escape(text: str, *, prop: bool = False) -> str:
    """A workflow command's message (or, with ``prop``, property value), escaped."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def cell(text: str) -> str:
    """Markdown-table-safe text."""
    return " ".join(text.split()).replace("|", "\\|").replace("`", "'")


def append(env_name: str, text: str) -> None:
    target = os.environ.get(env_name)
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(text)


def load_group(text: str) -> list[tuple[int, str]]:
    """The ``DIAGRAMS`` list, checked: ids are positive integers, paths relative."""
    try:
        items: Any = json.loads(text)
    except ValueError as exc:
        raise SystemExit(
            f"::error title=SynthForge::DIAGRAMS is not JSON: {escape(str(exc))}"
        ) from None
    if not isinstance(items, list):
        raise SystemExit("::error title=SynthForge::DIAGRAMS must be a JSON list")
    group: list[tuple[int, str]] = []
    for item in items:
        ident = item.get("id") if isinstance(item, dict) else None
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(ident, int) or isinstance(ident, bool) or ident < 1:
            raise SystemExit(f"::error title=SynthForge::bad diagram entry {escape(repr(item))}")
        if not isinstance(path, str) or not path or path.startswith("/") or "\0" in path:
            raise SystemExit(f"::error title=SynthForge::bad diagram path {escape(repr(path))}")
        group.append((ident, path))
    return group


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args(argv)
    try:
        group = load_group(os.environ.get("DIAGRAMS", ""))
    except SystemExit as exc:
        print(exc.code)
        return 2
    workspace = Path(os.environ.get("GITHUB_WORKSPACE") or ".")
    state = Path(os.environ.get("RUNNER_TEMP") or args.out.parent) / "synthforge-state"
    rows = ["| diagram | result |", "|---|---|"]
    reports: list[str] = []
    failed = 0
    for ident, path in group:
        cmd = [
            sys.executable, "-P", "-m", "orchestration", "run", str(args.pipeline),
            "--input", str(workspace / path), "--out", str(args.out / f"d{ident}"),
            "--state", str(state / f"d{ident}"), "--set", "interactive.yes=true",
        ]  # fmt: skip
        if args.cache is not None:
            cmd += ["--cache", str(args.cache)]
        print(f"::group::{escape(path)}")
        proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, check=False)
        sys.stderr.write(proc.stderr)
        print("::endgroup::")
        if proc.returncode == 0:
            rows.append(f"| {cell(path)} | succeeded |")
            report = args.out / f"d{ident}" / "report.md"
            if report.is_file() and report.stat().st_size < MAX_SUMMARY_REPORT:
                text = report.read_text(encoding="utf-8")
                reports.append(f"<details><summary>{cell(path)}</summary>\n\n{text}\n</details>\n")
            continue
        failed += 1
        lines = proc.stderr.strip().splitlines()
        reason = lines[-1] if lines else f"exit {proc.returncode}"
        rows.append(f"| {cell(path)} | failed: {cell(reason)} |")
        if proc.returncode != 1:  # exit 1 is a failed stage: the pipeline annotated it
            print(f"::error file={escape(path, prop=True)},title=SynthForge::{escape(reason)}")
    summary = "### SynthForge analyses\n\n" + "\n".join(rows) + "\n\n" + "\n".join(reports)
    append("GITHUB_STEP_SUMMARY", summary)
    append("GITHUB_OUTPUT", f"analysed={len(group)}\nfailed={failed}\n")
    print(f"{len(group)} diagram(s) analysed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
