"""Workflow helper commands: ``pr-state``, ``sticky-comment``, ``dispatch``, ``emit-matrix``.

Registered on ``python -m orchestration`` by :func:`register`. Each is a thin wrapper over
:mod:`orchestration.github.pr_state`, :mod:`orchestration.github.dispatch` and
:mod:`orchestration.github.matrix`. The API commands read ``GITHUB_TOKEN``,
``GITHUB_REPOSITORY`` and ``GITHUB_API_URL`` from the environment (as a workflow step sets
them); a missing one ends in one line and exit 2. Everything a workflow passes is validated
before use, and nothing taken from the pull request (title, branch, body) is ever run or
interpolated into a command.

Step outputs go to ``$GITHUB_OUTPUT`` through :func:`set_output` only.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from agents.errors import InputError

_OUTPUT_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,99}")


def set_output(name: str, value: str, env: Mapping[str, str] = os.environ) -> Path | None:
    """Append ``name=value`` to ``$GITHUB_OUTPUT`` (a heredoc block for multi-line values).

    Outside GitHub Actions (no ``GITHUB_OUTPUT``) the pair is printed instead and ``None``
    returned.
    """
    if not _OUTPUT_NAME_RE.fullmatch(name):
        raise InputError(f"output name {name!r} is not allowed: use A-Z a-z 0-9 _ -")
    if "\n" in value or "\r" in value:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        line = f"{name}<<{delimiter}\n{value}\n{delimiter}\n"
    else:
        line = f"{name}={value}\n"
    target = env.get("GITHUB_OUTPUT", "")
    if not target:
        click.echo(line, nl=False)
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line)
    except OSError as exc:
        raise InputError(f"{path}: cannot append the step output: {exc.strerror or exc}") from None
    return path


def _event(env: Mapping[str, str] = os.environ) -> dict[str, Any] | None:
    """The triggering event's payload (``$GITHUB_EVENT_PATH``), or ``None``."""
    target = env.get("GITHUB_EVENT_PATH", "")
    if not target:
        return None
    from orchestration.runtime.artifact import read_json

    data = read_json(Path(target), what="event payload (JSON)")
    return data if isinstance(data, dict) else None


def _pr_number(given: int | None, env: Mapping[str, str] = os.environ) -> int:
    if given is not None:
        if given < 1:
            raise InputError(f"--pr {given} must be a positive pull-request number")
        return given
    event = _event(env) or {}
    for holder in (event.get("pull_request"), event.get("issue"), event):
        number = holder.get("number") if isinstance(holder, dict) else None
        if isinstance(number, int) and not isinstance(number, bool) and number > 0:
            return number
    raise InputError("no pull-request number: pass --pr N or run on a pull_request event")


def _json_value(value: str | None, value_file: Path | None) -> Any:
    if (value is None) == (value_file is None):
        raise InputError("give the value with exactly one of --value JSON or --value-file FILE")
    if value_file is not None:
        from orchestration.runtime.guards import max_artifact_bytes, read_regular_text

        text = read_regular_text(value_file, max_artifact_bytes(), what="JSON value file")
        source = str(value_file)
    else:
        text, source = str(value), "--value"
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise InputError(f"{source}: not JSON: nested too deeply to parse") from None
    except ValueError as exc:
        raise InputError(f"{source}: not JSON: {exc}") from None
    from orchestration.runtime.guards import check_depth

    check_depth(value, where=source)
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _client() -> tuple[Any, str]:
    from orchestration.github.api import client_from_env, env_settings

    settings = env_settings()
    return client_from_env(), settings.repo


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def register(main: click.Group) -> None:
    """Add the workflow helper commands to the ``python -m orchestration`` group."""
    from orchestration.runtime.cli_support import user_errors

    @main.group("pr-state")
    def pr_state() -> None:
        """Read and write state kept in hidden markers in a pull request's body."""

    @pr_state.command("get")
    @click.argument("key", required=False)
    @click.option("--pr", "number", type=int, help="Pull-request number (default: the event's).")
    @click.option("--output", "output_name", help="Also set this step output to the JSON.")
    @user_errors
    def pr_state_get(key: str | None, number: int | None, output_name: str | None) -> None:
        """Print KEY's value as JSON (every key when KEY is omitted; null when absent)."""
        import asyncio

        from orchestration.github.pr_state import PullRequestState, check_key

        if key is not None:
            check_key(key)
        client, repo = _client()
        state = PullRequestState(repo, _pr_number(number), client)
        values = asyncio.run(state.read())
        text = _dump(values if key is None else values.get(key))
        click.echo(text)
        if output_name:
            set_output(output_name, text)

    @pr_state.command("set")
    @click.argument("key")
    @click.option("--value", help="The value, as JSON.")
    @click.option(
        "--value-file", type=click.Path(path_type=Path, dir_okay=False), help="JSON file."
    )
    @click.option("--pr", "number", type=int, help="Pull-request number (default: the event's).")
    @click.option(
        "--spill-file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Where to write the value if the body cannot hold it (upload it as an artifact).",
    )
    @click.option("--artifact-name", help="Name of the artifact --spill-file is uploaded as.")
    @click.option("--artifact-url", help="Link to the artifact (e.g. the run's page).")
    @click.option(
        "--settle",
        type=click.FloatRange(min=0, max=60),
        default=2.0,
        show_default=True,
        help="Seconds to wait before checking that no concurrent writer overwrote the key.",
    )
    @click.option(
        "--expect-head-sha",
        help="Write only if the pull request's head is this commit (else exit 2, nothing written).",
    )
    @user_errors
    def pr_state_set(
        key: str,
        value: str | None,
        value_file: Path | None,
        number: int | None,
        spill_file: Path | None,
        artifact_name: str | None,
        artifact_url: str | None,
        settle: float,
        expect_head_sha: str | None,
    ) -> None:
        """Set KEY to a JSON value in the pull request's body.

        Prints what the body holds for KEY: the value, or the pointer to the artifact the
        value was moved to (then --spill-file exists and the step output spilled=true).
        """
        import asyncio

        from orchestration.github.pr_state import (
            ArtifactSpill,
            PullRequestState,
            check_key,
            is_artifact_pointer,
        )

        check_key(key)
        data = _json_value(value, value_file)
        spill = None
        if spill_file is not None or artifact_name is not None:
            if spill_file is None or artifact_name is None:
                raise InputError("--spill-file and --artifact-name go together")
            spill = ArtifactSpill(spill_file, artifact_name, artifact_url)
        client, repo = _client()
        state = PullRequestState(
            repo, _pr_number(number), client, settle=settle, expect_head_sha=expect_head_sha
        )
        stored = asyncio.run(state.update(key, data, spill=spill))
        spilled = is_artifact_pointer(stored) and not is_artifact_pointer(data)
        click.echo(_dump(stored))
        if os.environ.get("GITHUB_OUTPUT"):
            set_output("spilled", "true" if spilled else "false")

    @main.command("sticky-comment")
    @click.option("--key", "marker_key", required=True, help="Marker naming the comment.")
    @click.option(
        "--body-file",
        required=True,
        type=click.Path(path_type=Path, dir_okay=False),
        help="Markdown file with the comment's text.",
    )
    @click.option("--pr", "number", type=int, help="Pull-request number (default: the event's).")
    @click.option(
        "--author",
        default="github-actions[bot]",
        show_default=True,
        help=(
            "Login of the token's identity: only a marked comment by this user is updated "
            "(the default is a job's GITHUB_TOKEN; pass the login of any other token)."
        ),
    )
    @user_errors
    def sticky_comment(marker_key: str, body_file: Path, number: int | None, author: str) -> None:
        """Create or update the one comment marked KEY (and written by --author) on the
        pull request."""
        import asyncio

        from orchestration.github.pr_state import check_key, check_login, upsert_sticky_comment

        check_key(marker_key)
        check_login(author)
        from orchestration.runtime.guards import max_artifact_bytes, read_regular_text

        markdown = read_regular_text(body_file, max_artifact_bytes(), what="markdown file")
        client, repo = _client()
        result = asyncio.run(
            upsert_sticky_comment(
                repo, _pr_number(number), marker_key, markdown, client=client, author=author
            )
        )
        verb = "created" if result.created else "updated"
        click.echo(f"{verb} comment {result.comment_id}: {result.url or ''}".rstrip(": "))

    @main.command("dispatch")
    @click.option("--event-type", required=True, help="repository_dispatch event type.")
    @click.option("--correlation-id", required=True, help="The chain's correlation id.")
    @click.option(
        "--artifact-run-id",
        help="Run holding the artifact the next step needs (default: this run, GITHUB_RUN_ID).",
    )
    @click.option(
        "--payload-file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="JSON object of extra client_payload keys.",
    )
    @click.option(
        "--hop", type=int, help="Hop number (default: the current dispatch's hop + 1, else 1)."
    )
    @click.option("--max-hops", type=int, default=50, show_default=True, help="Refuse beyond.")
    @click.option("--dry-run", is_flag=True, help="Print the payload; do not send it.")
    @user_errors
    def dispatch(
        event_type: str,
        correlation_id: str,
        artifact_run_id: str | None,
        payload_file: Path | None,
        hop: int | None,
        max_hops: int,
        dry_run: bool,
    ) -> None:
        """Send the next repository_dispatch event of a chain.

        With tracing on, the dispatch is a span (continuing $TRACEPARENT) whose
        traceparent travels in the payload to the next run.
        """
        import asyncio

        from orchestration import tracing
        from orchestration.github.dispatch import (
            build_client_payload,
            check_event_type,
            load_payload_file,
            next_hop,
            send_dispatch,
        )

        tracing.setup_from_env()
        check_event_type(event_type)
        extra = load_payload_file(payload_file) if payload_file is not None else None
        run_id = artifact_run_id or os.environ.get("GITHUB_RUN_ID") or None
        the_hop = hop if hop is not None else next_hop(_event())
        try:
            with tracing.span(
                f"dispatch {event_type}",
                {
                    "messaging.system": "github.repository_dispatch",
                    "messaging.operation.type": "send",
                    "messaging.destination.name": event_type,
                    "forgeflow.correlation_id": correlation_id,
                    "forgeflow.hop": the_hop,
                    "forgeflow.dry_run": dry_run,
                },
                kind="producer",
                parent=tracing.parent_from_env(),
            ) as span:
                payload = build_client_payload(
                    correlation_id,
                    the_hop,
                    run_id,
                    extra,
                    max_hops=max_hops,
                    traceparent=span.traceparent,
                )
                if dry_run:
                    click.echo(_dump({"event_type": event_type, "client_payload": payload}))
                    return
                client, repo = _client()
                asyncio.run(send_dispatch(client, repo, event_type, payload))
        finally:
            tracing.flush()
        click.echo(
            f"dispatched {event_type} to {repo} "
            f"(correlation {payload['correlation_id']}, hop {payload['hop']})"
        )

    @main.command("emit-matrix")
    @click.option("--agents", "agents_json", help='JSON list of agent names, e.g. ["a","b"].')
    @click.option(
        "--agents-file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="File holding the JSON list.",
    )
    @click.option("--name", default="matrix", show_default=True, help="Step output name.")
    @user_errors
    def emit_matrix(agents_json: str | None, agents_file: Path | None, name: str) -> None:
        """Write NAME=<matrix JSON> to $GITHUB_OUTPUT, one leg per known agent.

        With tracing on, the fan-out is a span (continuing $TRACEPARENT); the matrix then
        has a one-value ``traceparent`` dimension (every leg continues that trace), and
        ``traceparent`` is also written as an output of its own for the combine job.
        """
        from agents.registry import default_registry
        from orchestration import tracing
        from orchestration.github.matrix import (
            build_matrix,
            matrix_json,
            parse_agents,
            read_agents_file,
        )

        tracing.setup_from_env()

        if (agents_json is None) == (agents_file is None):
            raise InputError("give the agents with exactly one of --agents JSON or --agents-file")
        agents = (
            read_agents_file(agents_file)
            if agents_file is not None
            else parse_agents(str(agents_json))
        )
        matrix = build_matrix(agents, default_registry().names())
        try:
            with tracing.span(
                "fan_out",
                {"forgeflow.legs": len(matrix["agent"])},
                kind="producer",
                parent=tracing.parent_from_env(),
            ) as span:
                traceparent = span.traceparent
                if traceparent is not None:
                    matrix["traceparent"] = [traceparent]
                set_output(name, matrix_json(matrix))
                if traceparent is not None:
                    set_output("traceparent", traceparent)
        finally:
            tracing.flush()
