"""What the command lines share: one-line errors with their exit codes, ``--set`` parsing."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from agents.errors import ForgeflowError

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Turn a :class:`ForgeflowError` into one line on stderr and its exit code, and
    Ctrl-C into one line and exit code 130 (not click's 'Aborted!' and 1, the code of a
    failed run)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ForgeflowError as exc:
            click.echo(f"error: {exc.one_line()}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def parse_settings(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as agent settings, values as text.

    Each agent's settings model turns the text into its type (``yes=true`` into a boolean,
    ``checkov_timeout=60`` into a number), so a text setting may still read ``true``.
    """
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ForgeflowError(f"--set {pair!r}: expected KEY=VALUE")
        settings[key.strip()] = value
    return settings
