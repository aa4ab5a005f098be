"""Committed pipelines: the files a request or a webhook names by NAME (``pipelines/NAME.yaml``)."""

from __future__ import annotations

from typing import Any

from agents.errors import InputError


def committed_pipeline(state: Any, name: str) -> str:
    """The text of ``NAME.yaml`` in the server's pipelines folder."""
    folder = state.config.pipelines_dir
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
        raise InputError(
            f"pipeline {name!r}: no such committed pipeline; committed: "
            f"{', '.join(known) or 'none'}"
        )
    return path.read_text(encoding="utf-8")
