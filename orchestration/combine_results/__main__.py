"""The fan-in command a workflow's combine job runs; the merging is in patterns/fan_in."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from agents.errors import ForgeflowError
from orchestration.patterns.fan_in import combine


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default="combined.json",
    show_default=True,
    help="Where to write the combined artifact.",
)
@click.option("--combiner", metavar="AGENT", help="Agent that merges the legs' outputs.")
@click.option(
    "--upstream",
    type=click.Path(path_type=Path),
    help="The input the legs shared (artifact or JSON); needed with --combiner.",
)
@click.option("--run-id", help="Run id of the combined artifact.")
def main(
    directory: Path, output: Path, combiner: str | None, upstream: Path | None, run_id: str | None
) -> None:
    """Merge the agent result artifacts found below DIRECTORY.

    With tracing on, the merge is a span continuing $TRACEPARENT (a fan-out's trace).
    """
    from orchestration import tracing

    try:
        tracing.setup_from_env()
        try:
            with tracing.span(
                "combine_results",
                {"forgeflow.combiner": combiner},
                parent=tracing.parent_from_env(),
            ) as span:
                ok, combined = combine(
                    directory, output, combiner=combiner, upstream=upstream, run_id=run_id
                )
                span.set_attributes(
                    {
                        "forgeflow.legs": len(combined.results),
                        "forgeflow.failed_legs": len(combined.failures),
                    }
                )
                if not ok or combined.failures:
                    span.fail("legs_failed" if combined.failures else "combiner_failed")
        finally:
            tracing.flush()
    except ForgeflowError as exc:
        click.echo(f"error: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        sys.exit(130)
    click.echo(f"merged {len(combined.results)} legs into {output}")
    for failure in combined.failures:
        click.echo(f"failed leg {failure.leg}: {failure.error}", err=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
