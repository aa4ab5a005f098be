"""``python -m agents.synthforge.review``: the pull-request review console's commands.

- ``open``: after a pull request's analysis, open or refresh the review of its diagrams;
- ``comment``: handle one ``issue_comment`` delivery (``/forgeflow …``);
- ``iac``: generate the modules a ``comment`` run asked for, and a patch of them;
- ``push``: commit the generated modules to the pull request's branch.

They read ``GITHUB_TOKEN``, ``GITHUB_REPOSITORY`` and ``GITHUB_API_URL`` from the
environment like the other workflow helpers, and end a user's mistake in one line, exit 2.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import click

from agents.errors import InputError
from orchestration.runtime.cli_support import user_errors


def _output(name: str, value: str) -> None:
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(f"{name}={value}\n")


def _client() -> tuple[Any, str]:
    from orchestration.github.api import client_from_env, env_settings

    return client_from_env(), env_settings().repo


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """SynthForge review on a pull request."""


@main.command("open")
@click.option("--artifacts-dir", type=click.Path(path_type=Path), required=True)
@click.option("--diagrams", "diagrams_json", required=True, help='JSON list of {"id", "path"}.')
@click.option("--pr", "number", type=int, required=True)
@click.option("--head-sha", required=True)
@click.option("--run-url", default=None)
@click.option("--require-review", is_flag=True, help="Open a review even with nothing unclear.")
@user_errors
def open_command(
    artifacts_dir: Path,
    diagrams_json: str,
    number: int,
    head_sha: str,
    run_url: str | None,
    require_review: bool,
) -> None:
    """Open or refresh the review of the analysed diagrams."""
    from agents.synthforge.review.console import open_reviews

    try:
        diagrams = json.loads(diagrams_json)
        folders = {str(d["path"]): artifacts_dir / f"synthforge-{int(d['id'])}" for d in diagrams}
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(f"--diagrams: expected a JSON list of {{id, path}}: {exc}") from None
    client, repo = _client()
    state = asyncio.run(
        open_reviews(
            client,
            repo,
            number,
            folders,
            head_sha=head_sha,
            run_url=run_url,
            require_review=require_review,
        )
    )
    waiting = [d.path for d in state.diagrams.values() if d.status == "waiting_review"]
    _output("waiting", str(len(waiting)))
    click.echo(f"{len(state.diagrams)} diagram(s) under review, {len(waiting)} waiting")


@main.command("comment")
@click.option("--event", "event_path", type=click.Path(path_type=Path), required=True)
@click.option("--workdir", type=click.Path(path_type=Path), required=True)
@click.option("--cache", "cache_dir", type=click.Path(path_type=Path), default=None)
@click.option("--run-url", default=None)
@user_errors
def comment_command(
    event_path: Path, workdir: Path, cache_dir: Path | None, run_url: str | None
) -> None:
    """Handle one issue_comment delivery (the event payload file)."""
    from agents.synthforge.review.console import (
        Workspace,
        event_from_payload,
        handle_comment,
        write_json,
    )
    from orchestration.runtime.artifact import read_json

    event = event_from_payload(read_json(event_path))
    workdir.mkdir(parents=True, exist_ok=True)
    outcome_file = workdir / "outcome.json"
    if event is None:
        write_json(outcome_file, {"handled": [], "iac": []})
        _output("iac", "0")
        click.echo("not a comment on a pull request: nothing to do")
        return
    client, _ = _client()
    outcome = asyncio.run(
        handle_comment(event, client, Workspace(workdir, cache_dir), run_url=run_url)
    )
    write_json(outcome_file, outcome.to_json())
    _output("outcome", str(outcome_file))
    _output("iac", str(len(outcome.iac)))
    if outcome.refused:
        click.echo(f"refused: {event.login} may not answer the review")
        return
    for path, run in outcome.runs.items():
        click.echo(
            f"{path}: analysed from the {run['from']}; stages run: {', '.join(run['stages'])}"
        )
    click.echo(
        f"handled {len(outcome.handled)} comment(s); re-ran {len(outcome.rerun)} analysis(es); "
        f"{len(outcome.errors)} line(s) not carried out"
    )


@main.command("iac")
@click.option("--outcome", "outcome_path", type=click.Path(path_type=Path), required=True)
@click.option("--workdir", type=click.Path(path_type=Path), required=True)
@click.option("--pr", "number", type=int, required=True)
@click.option("--run-url", default="")
@user_errors
def iac_command(outcome_path: Path, workdir: Path, number: int, run_url: str) -> None:
    """Generate the modules the comment asked for; write modules/, a patch and a message."""
    from agents.synthforge.review.console import reply
    from agents.synthforge.review.iac import commit_message, generate, iac_requests, patch
    from orchestration.runtime.artifact import read_json

    requests = iac_requests(read_json(outcome_path), str(outcome_path))
    if not requests:
        _output("count", "0")
        click.echo("no modules requested")
        return
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for n, request in enumerate(requests, start=1):
        generated = generate(request, workdir / f"d{n}", base=outcome_path.parent)
        (workdir / f"d{n}.patch").write_text(patch(generated), encoding="utf-8")
        message = commit_message(
            generated,
            run=run_url or str(request["run_id"]),
            requested_by=str(request["requested_by"]),
        )
        (workdir / f"d{n}.message").write_text(message, encoding="utf-8")
        results.append(
            {
                **request,
                "folder": str(generated.folder),
                "infra_path": generated.infra_path,
                "files": generated.files,
                "findings": generated.findings,
                "status": generated.status,
                "number": n,
            }
        )
    (workdir / "iac.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    from agents.synthforge.review.console import _md

    lines = ["### SynthForge modules"]
    for r in results:
        where = (
            "attached to the run as an artifact with a patch (fork pull request)"
            if r["fork"]
            else f"to be committed under `{_md(r['infra_path'])}`"
        )
        lines.append(f"- {_md(r['path'])}: {len(r['files'])} file(s), {where}.")
        if r["findings"]:
            lines.append(f"  {len(r['findings'])} checkov finding(s) remain:")
            lines += [f"  - {_md(f)}" for f in r["findings"][:30]]
        else:
            lines.append("  checkov: no failed check remains.")
    client, repo = _client()
    asyncio.run(reply(client, repo, number, "\n".join(lines)))
    _output("count", str(len(results)))
    _output("fork", "true" if any(r["fork"] for r in results) else "false")
    click.echo(f"modules for {len(results)} diagram(s) in {workdir}")


@main.command("push")
@click.option("--iac-dir", type=click.Path(path_type=Path), required=True)
@click.option("--branch", default=None, help="Default: the pull request's head branch.")
@click.option("--remote", required=True, help="The repository to push to (URL or path).")
@user_errors
def push_command(iac_dir: Path, branch: str | None, remote: str) -> None:
    """Commit each generated module folder to the branch of REMOTE (same-repository PRs)."""
    import base64

    from agents.synthforge.review.iac import Generated, commit_and_push
    from orchestration.runtime.artifact import read_json

    results = read_json(iac_dir / "iac.json")
    token = os.environ.get("GITHUB_TOKEN", "")
    header = None
    if token and remote.startswith("https://"):
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        header = f"AUTHORIZATION: basic {basic}"
    expected: str | None = None
    for n, r in enumerate(results):
        if r["fork"]:
            raise InputError("a fork's branch cannot be pushed to; attach the patch instead")
        generated = Generated(
            diagram=r["path"], folder=Path(r["folder"]), infra_path=r["infra_path"]
        )
        message = (iac_dir / f"d{r['number']}.message").read_text(encoding="utf-8")
        target = branch or str(r.get("head_ref") or "")
        sha = commit_and_push(
            generated,
            remote=remote,
            branch=target,
            expected_head=(r.get("head_sha") or None) if n == 0 else expected,
            message=message,
            workdir=iac_dir / f"d{r['number']}",
            auth_header=header,
        )
        expected = sha
        click.echo(f"{r['path']}: committed {sha[:12]} to {target}")
        _output("commit", sha)


if __name__ == "__main__":
    main()
