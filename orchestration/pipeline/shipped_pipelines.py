"""The pipelines Forgeflow ships (``pipelines/*.yaml``), found by name in the installed package.

The files live once, in ``pipelines/`` at the repository root (where ``python -m
orchestration run pipelines/synthforge.yaml`` reads them in a checkout);
``orchestration/pipeline/shipped`` links to that folder, so a wheel carries them as the
package data of ``orchestration.pipeline.shipped`` and :func:`shipped_pipeline` finds
them through :mod:`importlib.resources` in a checkout, an editable install or a wheel
alike. Standard library only: it loads nothing of the pipeline machinery.
"""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from agents.errors import InputError

PACKAGE = "orchestration.pipeline.shipped"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


def _folder() -> Traversable | None:
    """The shipped pipelines' folder; None where the package lacks it (a checkout that
    kept the link ``orchestration/pipeline/shipped`` as a plain file, say)."""
    try:
        return files(PACKAGE)
    except ModuleNotFoundError:
        return None


def shipped_names() -> list[str]:
    """Names of the shipped pipelines (``synthforge``, ``synthforge-iac``, ...), sorted."""
    folder = _folder()
    if folder is None:
        return []
    found = (entry.name for entry in folder.iterdir() if entry.is_file())
    return sorted(name[: -len(".yaml")] for name in found if name.endswith(".yaml"))


def shipped_pipeline(name: str) -> Path:
    """The file of the shipped pipeline ``name`` (``synthforge`` → ``.../synthforge.yaml``).

    Raises :class:`~agents.errors.InputError` for a name that is not one of them.
    """
    folder = _folder() if _NAME.fullmatch(name) else None
    resource = folder.joinpath(f"{name}.yaml") if folder is not None else None
    if resource is None or not resource.is_file():
        known = ", ".join(shipped_names()) or "none: the package has no pipelines/ folder"
        raise InputError(f"no shipped pipeline named {name[:100]!r} (shipped: {known})")
    return Path(str(resource)).resolve()  # in a checkout: the file in pipelines/
