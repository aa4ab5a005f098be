"""Errors a user can cause. Each ends a command with one line and exit code 2."""

from __future__ import annotations

#: Longest error line printed, in characters: an error that quotes a huge value stays readable.
MAX_ERROR_CHARS = 2_000


def cut_line(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` on one line, cut to at most ``limit`` characters with a note of how much went."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    keep = max(1, limit - 40)
    return f"{flat[:keep]}… ({len(flat) - keep:,} characters cut)"


class ForgeflowError(Exception):
    """Base of every error caused by input, configuration or environment.

    The CLIs print ``str(error)`` as one line on stderr and exit with ``exit_code``.
    """

    exit_code = 2

    def one_line(self) -> str:
        return cut_line(str(self)) or type(self).__name__


class InputError(ForgeflowError):
    """A file is missing, unreadable, not JSON, or not what it should be."""


class SchemaViolation(InputError):
    """A document breaks its schema; the message names the file and the JSON path."""


class UnknownAgentError(ForgeflowError):
    """No agent is registered under the requested name."""


class PipelineError(ForgeflowError):
    """A pipeline or plan is malformed: unknown stage kind, type mismatch, cycle."""


class StateStoreError(ForgeflowError):
    """A state store cannot be opened or reached."""


class ToolError(ForgeflowError):
    """An agent's tools are set wrongly or cannot be set up: an unknown tool, a tool that
    writes while writes are not allowed, an MCP server that does not start or lacks an
    allow-listed tool."""


class NotFoundError(ForgeflowError):
    """A run, stage, artifact or agent asked for by name does not exist."""


class ConflictError(ForgeflowError):
    """The thing exists but is not in a state that allows the request (e.g. decisions for a
    run that is not waiting for review)."""


class AuthError(ForgeflowError):
    """A request's credentials (bearer token, webhook signature) are missing or wrong."""


class ConfigError(ForgeflowError):
    """A command's configuration (options, environment) is unusable."""


class TracingConfigError(ForgeflowError):
    """The OpenTelemetry settings in the environment (``OTEL_*``) cannot be used as they are."""
