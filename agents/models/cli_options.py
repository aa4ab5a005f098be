"""The ``--model-*`` options both command lines take (``agents.run`` and ``orchestration run``).

Only click is imported here, so ``--help`` stays as quick as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def model_options(command: F) -> F:
    """Add ``--model-base-url``, ``--model-api-version`` and ``--model`` (→ ``model_name``).

    The key is never an option: it is read from ``$FORGEFLOW_MODEL_API_KEY`` only, so it
    does not appear in a process list or a shell history.
    """
    for option in reversed(
        (
            click.option(
                "--model-base-url",
                metavar="URL",
                help="OpenAI-compatible endpoint for model-backed agents "
                "(default: $FORGEFLOW_MODEL_BASE_URL; none: no model, no network).",
            ),
            click.option(
                "--model-api-version",
                metavar="VERSION",
                help="Azure OpenAI API version (default: $FORGEFLOW_MODEL_API_VERSION).",
            ),
            click.option(
                "--model",
                "model_name",
                metavar="NAME",
                help="Model, or Azure deployment (default: $FORGEFLOW_MODEL). The key comes "
                "from $FORGEFLOW_MODEL_API_KEY only.",
            ),
        )
    ):
        command = option(command)
    return command
