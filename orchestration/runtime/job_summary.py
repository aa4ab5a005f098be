"""GitHub Actions output: the job summary file and ``::error::`` annotations.

Both are no-ops outside GitHub Actions, so the same code runs on a laptop unchanged:

- :func:`write_step_summary` appends markdown to the file named by ``$GITHUB_STEP_SUMMARY``;
- :func:`annotate_error` prints an ``::error ...::`` workflow command on stdout when
  ``GITHUB_ACTIONS=true``.

Workflow-command escaping follows GitHub's rules: in the message ``%``, ``\\r`` and ``\\n``
are percent-encoded; in property values ``:`` and ``,`` are too, so a file name or title
cannot end the property list early or start a second command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from agents.errors import InputError

SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def in_github_actions(env: Mapping[str, str] = os.environ) -> bool:
    """True when running as a GitHub Actions step (``GITHUB_ACTIONS=true``)."""
    return env.get("GITHUB_ACTIONS", "").lower() == "true"


def escape_data(text: str) -> str:
    """Escape the message part of a workflow command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (``file=``, ``title=``) of a workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def error_command(
    message: str, *, file: str | None = None, line: int | None = None, title: str | None = None
) -> str:
    """The ``::error file=…,line=…,title=…::message`` line, escaped."""
    props: list[str] = []
    if file:
        props.append(f"file={escape_property(str(file))}")
    if line is not None:
        props.append(f"line={int(line)}")
    if title:
        props.append(f"title={escape_property(title)}")
    head = "::error " + ",".join(props) if props else "::error"
    return f"{head}::{escape_data(message)}"


def annotate_error(
    message: str,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    stream: TextIO | None = None,
) -> bool:
    """Print an error annotation when inside GitHub Actions. Returns whether it printed."""
    if not in_github_actions(env):
        return False
    out = stream if stream is not None else sys.stdout
    out.write(error_command(message, file=file, line=line, title=title) + "\n")
    out.flush()
    return True


def write_step_summary(markdown: str, env: Mapping[str, str] = os.environ) -> Path | None:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY``; return the file, or None when unset.

    Mentions and issue references in it are made inert first (see
    :mod:`orchestration.runtime.markdown`).
    """
    from orchestration.runtime.markdown import neutralise

    target = env.get(SUMMARY_ENV, "")
    if not target:
        return None
    path = Path(target)
    markdown = neutralise(markdown)
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot append the job summary (${SUMMARY_ENV}): {exc.strerror or exc}"
        ) from None
    return path
