"""``python -m orchestration``: run pipelines and the helpers workflows need.

Every command is a thin wrapper over a function; errors a user can cause end in one line
on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from agents.errors import ForgeflowError
from agents.models.cli_options import model_options
from orchestration.runtime.cli_support import user_errors

if TYPE_CHECKING:
    from orchestration.pipeline.file import FailOn

#: Exit code of ``run`` when it finished but a loop left findings that fail the run.
FINDINGS_EXIT = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Forgeflow orchestration: pipelines, schemas, validation.

    Logs go to stderr: warnings and errors by default; set FORGEFLOW_LOG_LEVEL=INFO for a
    line per agent run, and FORGEFLOW_LOG_FORMAT=json for JSON lines.
    """
    _configure_logging()


def _configure_logging() -> None:
    from orchestration.runtime.log import configure_logging_from_env

    try:
        configure_logging_from_env()
    except ForgeflowError as exc:
        click.echo(f"error: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--schemas",
    "schemas_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of JSON Schemas (default: the repository's schemas/).",
)
@user_errors
def validate(files: tuple[Path, ...], schemas_dir: Path | None) -> None:
    """Validate artifact FILES against the JSON Schemas with jsonschema."""
    from orchestration.runtime.schemas import SCHEMAS_DIR, validate_file

    for path in files:
        schema_id = validate_file(path, schemas_dir or SCHEMAS_DIR)
        click.echo(f"{path}: valid {schema_id}")


@main.command()
@click.option("--check", is_flag=True, help="Fail if the committed schemas differ.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write (default: the repository's schemas/).",
)
@user_errors
def schemas(check: bool, out: Path | None) -> None:
    """Generate schemas/*.json from the models (or check they are in sync)."""
    from orchestration.runtime.schemas import SCHEMAS_DIR, drift, generate

    directory = out or SCHEMAS_DIR
    if check:
        problems = drift(directory)
        if problems:
            raise ForgeflowError(
                f"schemas out of sync ({'; '.join(problems)}); run: python -m orchestration schemas"
            )
        click.echo(f"{directory}: schemas in sync")
        return
    for path in generate(directory):
        click.echo(f"wrote {path}")


@main.command()
@click.argument("pipeline", type=click.Path(path_type=Path))
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Input of the first stage (an artifact, JSON, or e.g. a diagram).",
)
@click.option(
    "--state",
    metavar="URL",
    help="State store: a folder (default .forgeflow/state), sqlite:///FILE "
    "or postgresql://HOST/DB.",
)
@click.option("--run-id", help="Run id; rerun with the same id to resume (default: new).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for the run's artifacts (default .forgeflow/runs/RUN_ID).",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Result-cache folder (content-addressed; carry it with actions/cache).",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="AGENT.KEY=VALUE",
    help="Agent setting, e.g. --set interactive.yes=true (repeatable).",
)
@model_options
@click.option(
    "--fail-on",
    type=click.Choice(["none", "high", "any"]),
    help="Which findings a feedback loop leaves fail the run (exit 3): none, high "
    "(error severity) or any (default: the loop's fail_on in the pipeline file, else any).",
)
@user_errors
def run(
    pipeline: Path,
    input_path: Path,
    state: str | None,
    run_id: str | None,
    out_dir: Path | None,
    cache_dir: Path | None,
    settings: tuple[str, ...],
    model_base_url: str | None,
    model_api_version: str | None,
    model_name: str | None,
    fail_on: str | None,
) -> None:
    """Run the pipeline file PIPELINE on one input.

    Exit codes: 0 succeeded (or findings that --fail-on does not count); 1 a stage
    failed; 2 bad input or usage; 3 finished, but a loop left findings that fail the run;
    130 interrupted.
    """
    import os

    from agents.models.factory import model_client_from_env
    from orchestration.pipeline.runner import parse_settings, run_pipeline_file
    from orchestration.runtime.artifact import new_id

    client = model_client_from_env(
        base_url=model_base_url, api_version=model_api_version, model=model_name
    )
    # chosen here, so that an interrupted run can be told how to resume
    run_id = run_id or os.environ.get("FORGEFLOW_RUN_ID") or new_id()
    try:
        report = run_pipeline_file(
            pipeline,
            input_path,
            state=state,
            run_id=run_id,
            out_dir=out_dir,
            settings=parse_settings(settings),
            cache_dir=cache_dir,
            model_client=client,
            fail_on=cast("FailOn | None", fail_on),
        )
    except KeyboardInterrupt:
        click.echo(f"error: interrupted; rerun with --run-id {run_id} to resume", err=True)
        sys.exit(130)
    if not report.ok:
        status = f"failed at stage {report.failed_stage!r}"
    elif report.findings:
        status = f"findings: {len(report.findings)} left, {len(report.failing)} failing the run"
    else:
        status = "succeeded"
    click.echo(f"run {report.run_id}: {status} ({report.stages} stages, {report.resumed} resumed)")
    if report.output:
        click.echo(f"output:    {report.output}")
    if report.report:
        click.echo(f"report:    {report.report}")
    click.echo(f"artifacts: {report.out_dir}")
    click.echo(f"summary:   {report.summary}")
    click.echo(f"state:     {report.state}")
    if report.trace_id:
        click.echo(f"trace:     {report.trace_id}")
    if not report.ok:
        click.echo(f"error: stage {report.failed_stage!r} failed: {report.error}", err=True)
        sys.exit(1)
    for issue in report.findings:
        where = f" {issue.location}" if issue.location else ""
        click.echo(f"finding: {issue.code}{where}: {issue.reason or issue.message}", err=True)
    for issue in report.accepted:
        where = f" {issue.location}" if issue.location else ""
        click.echo(f"suppressed: {issue.code}{where}: {issue.reason}", err=True)
    if report.failing:
        sys.exit(FINDINGS_EXIT)


@main.command()
@click.argument("run_id")
@click.option(
    "--state",
    metavar="URL",
    help="State store, as for run (default .forgeflow/state).",
)
@user_errors
def status(run_id: str, state: str | None) -> None:
    """Where run RUN_ID stands, as JSON: its record (pipeline, input, settings, outcome,
    model usage) when a door started it, and every stored stage."""
    from orchestration.pipeline.runs import run_status

    click.echo(run_status(run_id, state=state).model_dump_json(indent=2))


@main.command()
@click.option(
    "--http",
    "http_address",
    metavar="HOST:PORT",
    help="Serve streamable HTTP on HOST:PORT (path /mcp) instead of stdio; off loopback "
    "a bearer token in $FORGEFLOW_MCP_TOKEN is required.",
)
@click.option(
    "--state",
    metavar="URL",
    help="State store, as for run (default .forgeflow/state in the working folder).",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Result-cache folder for the runs the tools start.",
)
@user_errors
def mcp(http_address: str | None, state: str | None, cache_dir: Path | None) -> None:
    """Serve Forgeflow's agents and pipelines as an MCP server (stdio by default).

    Needs the mcp extra: pip install 'forgeflow[mcp]'.
    """
    import os

    from orchestration.mcp_server.http import TOKEN_ENV, check_token, parse_address

    address = parse_address(http_address) if http_address else None
    token = os.environ.get(TOKEN_ENV) or None
    if address is not None:
        check_token(address[0], token)
    try:
        from orchestration.mcp_server.server import ServerConfig, build_server
    except ImportError as exc:
        missing = (exc.name or "mcp").split(".")[0]
        raise ForgeflowError(
            f"the MCP server needs the {missing} package: pip install 'forgeflow[mcp]'"
        ) from None
    app = build_server(ServerConfig(state=state, cache_dir=cache_dir))
    if address is None:
        app.run("stdio")
        return
    from orchestration.mcp_server.http import PATH, serve_http

    click.echo(f"forgeflow MCP server on http://{address[0]}:{address[1]}{PATH}", err=True)
    serve_http(app, address[0], address[1], token)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--state",
    metavar="URL",
    help="State store (default sqlite:///.forgeflow/server.db); postgresql://... for "
    "workers on a job queue.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=int,
    help="Workers in the server process (0 with PostgreSQL: only separate "
    "'orchestration worker' processes run the runs).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for the runs' files (default .forgeflow/server).",
)
@click.option(
    "--pipelines",
    "pipelines_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of committed pipelines that requests name (default pipelines/).",
)
@click.option("--max-body", "max_body_bytes", type=int, help="Largest request body in bytes.")
@click.option(
    "--webhook-pipeline",
    default="synthforge",
    show_default=True,
    help="Committed pipeline a webhook's changed diagram runs.",
)
@click.option(
    "--webhook-set",
    "webhook_settings",
    multiple=True,
    metavar="AGENT.KEY=VALUE",
    help="Setting for webhook-started runs (repeatable).",
)
@click.option(
    "--allow-set",
    "allow_settings",
    multiple=True,
    metavar="AGENT.KEY",
    help="A setting requests may give, besides interactive.yes, cost_estimation.region and "
    "module_development.iac (repeatable). Settings that name files or programs on this "
    "machine should not be allowed.",
)
@user_errors
def serve(
    host: str,
    port: int,
    state: str | None,
    workers: int,
    data_dir: Path | None,
    pipelines_dir: Path | None,
    max_body_bytes: int | None,
    webhook_pipeline: str,
    webhook_settings: tuple[str, ...],
    allow_settings: tuple[str, ...],
) -> None:
    """Serve the HTTP API and GitHub webhooks (pip install 'forgeflow[server]').

    API tokens come from FORGEFLOW_API_TOKENS (comma-separated tokens or sha256:HASH of
    them); without them the server listens on loopback only. The webhook secret comes
    from FORGEFLOW_WEBHOOK_SECRET, the token for GitHub's contents API from GITHUB_TOKEN.
    """
    from orchestration.pipeline.runner import parse_settings
    from orchestration.server.config import DEFAULT_ALLOWED_SETTINGS, ServerConfig
    from orchestration.server.main import serve as run_server

    for name in allow_settings:
        agent, dot, key = name.partition(".")
        if not agent or not dot or not key or "=" in name:
            raise ForgeflowError(f"--allow-set {name!r}: expected AGENT.KEY")
    postgres = bool(state and state.startswith(("postgresql:", "postgres:")))
    config = ServerConfig.from_env(
        host=host,
        port=port,
        state=state,
        workers=workers,
        embedded_workers=not postgres,
        data_dir=data_dir,
        pipelines_dir=pipelines_dir,
        max_body_bytes=max_body_bytes,
        webhook_pipeline=webhook_pipeline,
        webhook_settings=parse_settings(webhook_settings),
        allowed_settings=DEFAULT_ALLOWED_SETTINGS | set(allow_settings),
    )
    run_server(config)


@main.command()
@click.option(
    "--state",
    metavar="URL",
    required=True,
    help="The PostgreSQL state store the server uses (postgresql://...).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".forgeflow") / "server",
    show_default=True,
    help="Folder for the runs' files on this machine; keep it relative (and the same for "
    "every worker and server) so that a run another worker takes up resumes its stages.",
)
@click.option(
    "--stalled-after",
    type=click.FloatRange(min=1.0),
    default=30.0,
    show_default=True,
    help="Seconds without a heartbeat after which a worker is taken for dead and its run "
    "is given to another.",
)
@user_errors
def worker(state: str, data_dir: Path, stalled_after: float) -> None:
    """Take runs from the PostgreSQL job queue and run them (pip install 'forgeflow[queue]').

    Start as many as you like, on any machines that reach the database; each runs one run
    at a time. SIGTERM or Ctrl-C stops it after the run in progress.
    """
    from agents.errors import ConfigError
    from orchestration.server.queue import run_workers

    if not state.startswith(("postgresql:", "postgres:")):
        raise ConfigError("--state: workers share a PostgreSQL store (postgresql://...)")
    run_workers(state, data_dir, stalled_after=stalled_after)


from orchestration.github.cli import register  # noqa: E402 - commands need ``main`` defined

register(main)
