"""Stand-in for actions/download-artifact v4: copy stored artifacts into the workspace."""

from __future__ import annotations

import fnmatch
import os
import shutil
import sys
from pathlib import Path


def output(name: str, value: str) -> None:
    """Append ``name=value`` to $GITHUB_OUTPUT."""
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
        fh.write(f"{name}={value}\n")


def fail(message: str) -> int:
    print(f"::error::{message}")
    return 1


def main() -> int:
    env = os.environ
    store = env.get("FORGEFLOW_ACT_STORE")
    if not store:
        return fail("FORGEFLOW_ACT_STORE is not set (the act harness passes it)")
    repo = env.get("GITHUB_REPOSITORY", "local/repo")
    run_id = env.get("GITHUB_RUN_ID", "0")
    if env.get("STANDIN_TOKEN"):
        # As on GitHub: another run (or repository) is reached only with a token.
        repo = env.get("STANDIN_REPOSITORY") or repo
        run_id = env.get("STANDIN_RUN_ID") or run_id
    if not run_id.isdigit():
        return fail(f"run-id must be a number, got {run_id!r}")
    workspace = Path(env.get("GITHUB_WORKSPACE", "."))
    dest = Path(os.path.expanduser(env.get("STANDIN_PATH") or str(workspace)))
    if not dest.is_absolute():
        dest = workspace / dest
    artifacts = Path(store) / repo / "runs" / run_id / "artifacts"
    available = sorted(p.name for p in artifacts.iterdir()) if artifacts.is_dir() else []
    name = env.get("STANDIN_NAME", "")
    if name:
        if name not in available:
            return fail(f"Unable to download artifact(s): Artifact not found for name: {name}")
        shutil.copytree(artifacts / name / "files", dest, dirs_exist_ok=True)
        print(f"Artifact {name} was downloaded to {dest}")
    else:
        pattern = env.get("STANDIN_PATTERN", "")
        chosen = [a for a in available if not pattern or fnmatch.fnmatchcase(a, pattern)]
        merge = env.get("STANDIN_MERGE_MULTIPLE", "false") == "true"
        for a in chosen:
            target = dest if merge else dest / a
            shutil.copytree(artifacts / a / "files", target, dirs_exist_ok=True)
        print(f"Downloaded {len(chosen)} artifacts to {dest}")
    output("download-path", str(dest.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
