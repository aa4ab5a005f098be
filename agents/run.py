"""``python -m agents.run AGENT INPUT [-o OUTPUT]``: run one agent on one artifact.

This is what every job of the workflow suite calls. Exit codes: 0 the agent succeeded,
1 the agent ran and failed (a failed artifact is written), 2 bad input or usage (one line
on stderr, nothing written).

Model-backed agents (and ``vision`` on a PNG/JPEG) use the hosted model configured by
``FORGEFLOW_MODEL_BASE_URL``/``FORGEFLOW_MODEL_API_KEY``/``FORGEFLOW_MODEL_API_VERSION``/
``FORGEFLOW_MODEL`` (see :mod:`agents.models.config`); the ``--model-*`` options override
all but the key, which is read from the environment only. Nothing configured: no model,
no network.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from agents.errors import ForgeflowError
from agents.models.cli_options import model_options
from orchestration.runtime.cli_support import parse_settings

if TYPE_CHECKING:
    from agents.model_client import ModelClient


def settings_text(agent_name: str) -> str:
    """What ``--settings AGENT`` prints: the settings' JSON Schema, or that there are none."""
    cls = _registry().get(agent_name)
    if cls.settings_model is None:
        return f"agent {agent_name!r} takes no settings"
    schema = cls.settings_model.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, indent=2)


def _registry():  # type: ignore[no-untyped-def]
    from agents.registry import default_registry

    return default_registry()


def run_one(
    agent_name: str,
    input_path: Path,
    output_path: Path,
    *,
    run_id: str | None = None,
    correlation_id: str | None = None,
    settings: dict[str, Any] | None = None,
    model_client: ModelClient | None = None,
) -> int:
    """Run ``agent_name`` on the input file and write its artifact. Returns the exit code.

    ``settings`` become the agent's ``AgentConfig.settings`` (``--set KEY=VALUE``);
    ``model_client`` is the hosted model the agent may call (None: no model). The run
    closes the client when it ends.

    With tracing on (``OTEL_TRACES_EXPORTER``), the agent's span continues the trace of
    ``$TRACEPARENT``, else of the input artifact's ``traceparent``, so that jobs handing
    artifacts on make one trace.
    """
    import asyncio

    from agents.base import AgentConfig
    from orchestration import tracing
    from orchestration.runtime.artifact import correlation_of, traceparent_of, write_artifact
    from orchestration.runtime.execution import RunContext, execute
    from orchestration.runtime.monitoring import RunMonitor

    tracing.setup_from_env()  # a tracing setting that cannot work fails before any reading
    cls = _registry().get(agent_name)
    cls.check_settings(settings or {}, agent=agent_name)  # a typo fails before any reading
    data = cls.load_input(input_path)
    if output_path.exists() and output_path.is_dir():
        raise ForgeflowError(f"{output_path}: is a folder; give -o a file path")
    from orchestration.runtime.guards import check_output_target

    check_output_target(output_path)  # a device, FIFO or link is never replaced
    monitor = RunMonitor()
    ctx = RunContext(
        run_id=run_id or os.environ.get("FORGEFLOW_RUN_ID") or "",
        correlation_id=correlation_id or correlation_of(input_path) or "",
        monitor=monitor,
        record_resources=True,
    )
    if not ctx.run_id:
        from orchestration.runtime.artifact import new_id

        ctx.run_id = new_id()
        ctx.correlation_id = ctx.correlation_id or ctx.run_id

    parent = None
    if tracing.enabled():
        parent = tracing.parent_from_env() or traceparent_of(input_path)

    async def go() -> int:
        config = AgentConfig(name=agent_name, settings=settings or {})
        try:
            with tracing.attach_parent(parent):
                async with cls(config, model_client=model_client) as agent:
                    result = await execute(agent, data, ctx)
        finally:
            close = getattr(model_client, "aclose", None)
            if close is not None:
                await close()
        if isinstance(result.exception, ForgeflowError):
            raise result.exception  # a user error: one line, exit 2, nothing written
        write_artifact(output_path, result.envelope)
        monitor.report_to_github(f"Forgeflow agent `{agent_name}`")
        if not result.ok:
            click.echo(f"agent {agent_name!r} failed: {result.error}", err=True)
            return 1
        return 0

    try:
        return asyncio.run(go())
    finally:
        tracing.flush()


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("agent", required=False)
@click.argument("input_file", metavar="INPUT", required=False, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="Where to write the output artifact (default: AGENT.json).",
)
@click.option("--run-id", help="Run id for the artifact (default: $FORGEFLOW_RUN_ID or new).")
@click.option("--correlation-id", help="Correlation id (default: the input artifact's).")
@click.option(
    "--set",
    "set_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="An agent setting (repeatable), e.g. --set yes=true; --settings AGENT lists an "
    "agent's settings and their types.",
)
@model_options
@click.option("--list", "list_agents", is_flag=True, help="List agents and their types.")
@click.option("--schema", "schema_of", metavar="AGENT", help="Print AGENT's output schema.")
@click.option(
    "--settings",
    "settings_of",
    metavar="AGENT",
    help="Print the settings AGENT takes (a JSON Schema), or that it takes none.",
)
def main(
    agent: str | None,
    input_file: Path | None,
    output: str | None,
    run_id: str | None,
    correlation_id: str | None,
    set_pairs: tuple[str, ...],
    model_base_url: str | None,
    model_api_version: str | None,
    model_name: str | None,
    list_agents: bool,
    schema_of: str | None,
    settings_of: str | None,
) -> None:
    """Run one Forgeflow AGENT on one INPUT artifact and write its output artifact.

    Logs go to stderr: warnings and errors by default; FORGEFLOW_LOG_LEVEL=INFO adds a
    line per agent run, FORGEFLOW_LOG_FORMAT=json makes them JSON lines.
    """
    try:
        if agent or input_file:
            from orchestration.runtime.log import configure_logging_from_env

            configure_logging_from_env()
        if list_agents:
            for info in _registry().describe():
                click.echo(
                    f"{info.name}\t{info.input_model} -> {info.output_model}\t{info.description}"
                )
            return
        if schema_of:
            from orchestration.runtime.schemas import artifact_schema

            cls = _registry().get(schema_of)
            click.echo(json.dumps(artifact_schema(cls.output_model), indent=2))
            return
        if settings_of:
            click.echo(settings_text(settings_of))
            return
        if not agent or input_file is None:
            raise ForgeflowError("usage: python -m agents.run AGENT INPUT [-o OUTPUT] (see --help)")
        if output is not None and output.endswith(("/", os.sep)):
            raise ForgeflowError(f"{output}: names a folder; give -o a file path")
        from agents.models.factory import model_client_from_env

        client = model_client_from_env(
            base_url=model_base_url, api_version=model_api_version, model=model_name
        )
        code = run_one(
            agent,
            input_file,
            Path(output or f"{agent}.json"),
            run_id=run_id,
            correlation_id=correlation_id,
            settings=parse_settings(set_pairs),
            model_client=client,
        )
    except ForgeflowError as exc:
        click.echo(f"error: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)  # nothing written: artifacts are atomic
        sys.exit(130)
    sys.exit(code)


if __name__ == "__main__":
    main()
