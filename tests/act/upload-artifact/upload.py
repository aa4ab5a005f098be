"""Stand-in for actions/upload-artifact v4: copy matched files into the local store."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

FORBIDDEN = set('":<>|*?\r\n\\/')


def output(name: str, value: str) -> None:
    """Append ``name=value`` to $GITHUB_OUTPUT."""
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
        fh.write(f"{name}={value}\n")


def fail(message: str) -> int:
    print(f"::error::{message}")
    return 1


def hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def matched_files(patterns: list[str], workspace: Path, include_hidden: bool) -> list[Path]:
    """Files the ``path`` input names: globs, folders (recursively), minus ``!`` lines."""
    include: set[Path] = set()
    exclude: set[Path] = set()
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = os.path.expanduser(raw[1:] if negate else raw)
        if not os.path.isabs(pattern):
            pattern = str(workspace / pattern)
        found: set[Path] = set()
        for hit in glob.glob(pattern, recursive=True, include_hidden=include_hidden):
            p = Path(hit)
            if p.is_dir():
                found.update(
                    f for f in p.rglob("*") if f.is_file() and (include_hidden or not hidden(f, p))
                )
            elif p.is_file():
                found.add(p)
        (exclude if negate else include).update(x.resolve() for x in found)
    return sorted(include - exclude)


def artifact_root(patterns: list[str], workspace: Path) -> Path:
    """The folder paths in the artifact are relative to, as the real action computes it:
    each search path's root (a folder itself, a file's folder, a glob's part before its
    first wildcard), then the least common ancestor of those roots."""
    roots: list[str] = []
    for raw in patterns:
        if raw.startswith("!"):
            continue
        pattern = os.path.expanduser(raw)
        if not os.path.isabs(pattern):
            pattern = str(workspace / pattern)
        parts = Path(pattern).parts
        plain = next((i for i, part in enumerate(parts) if glob.has_magic(part)), None)
        if plain is not None:
            roots.append(str(Path(*parts[:plain]).resolve()))
        elif Path(pattern).is_dir():
            roots.append(str(Path(pattern).resolve()))
        else:
            roots.append(str(Path(pattern).resolve().parent))
    return Path(os.path.commonpath(roots))


def main() -> int:
    env = os.environ
    store = env.get("FORGEFLOW_ACT_STORE")
    if not store:
        return fail("FORGEFLOW_ACT_STORE is not set (the act harness passes it)")
    name = env.get("STANDIN_NAME") or "artifact"
    if any(c in FORBIDDEN for c in name):
        return fail(f"The artifact name is not valid: {name}. Contains a forbidden character")
    workspace = Path(env.get("GITHUB_WORKSPACE", "."))
    patterns = [line.strip() for line in env.get("STANDIN_PATH", "").splitlines() if line.strip()]
    include_hidden = env.get("STANDIN_INCLUDE_HIDDEN_FILES", "false") == "true"
    files = matched_files(patterns, workspace, include_hidden)
    if not files:
        mode = env.get("STANDIN_IF_NO_FILES_FOUND", "warn")
        message = f"No files were found with the provided path: {env.get('STANDIN_PATH')}."
        if mode == "error":
            return fail(message + " No artifacts will be uploaded.")
        if mode == "warn":
            print(f"::warning::{message} No artifacts will be uploaded.")
        return 0
    root = artifact_root(patterns, workspace)
    repo = env.get("GITHUB_REPOSITORY", "local/repo")
    run_dir = Path(store) / repo / "runs" / env.get("GITHUB_RUN_ID", "0") / "artifacts"
    target = run_dir / name
    if target.exists():
        if env.get("STANDIN_OVERWRITE", "false") != "true":
            return fail(
                f"Failed to CreateArtifact: an artifact with this name already exists on the "
                f"workflow run: {name}"
            )
        shutil.rmtree(target)
    files_dir = target / "files"
    digest = hashlib.sha256()
    for f in files:
        rel = f.relative_to(root)
        dest = files_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
        digest.update(rel.as_posix().encode() + b"\0" + f.read_bytes())
    counter = Path(store) / "next-artifact-id"
    artifact_id = int(counter.read_text()) if counter.exists() else 1
    counter.write_text(str(artifact_id + 1))
    meta = {
        "id": artifact_id,
        "name": name,
        "files": [f.relative_to(root).as_posix() for f in files],
    }
    (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    server = env.get("GITHUB_SERVER_URL", "https://github.com")
    url = f"{server}/{repo}/actions/runs/{env.get('GITHUB_RUN_ID', '0')}/artifacts/{artifact_id}"
    print(f"Artifact {name} has been successfully uploaded ({len(files)} files), id {artifact_id}")
    output("artifact-id", str(artifact_id))
    output("artifact-url", url)
    output("artifact-digest", digest.hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
