"""Bounded reads of untrusted files, and the size and nesting limits of what is read.

Every reader of a file a user or a pull request hands in goes through these:
:func:`read_regular_bytes` reads a regular file (after resolving links) within a size
limit, with a bounded read, so a link to ``/dev/zero``, a FIFO or a huge file ends in one
line instead of a hang or an exhausted memory; :func:`check_depth` bounds the nesting of
parsed JSON or YAML. The artifact limit is read from ``FORGEFLOW_MAX_ARTIFACT_BYTES`` each
time (default 32 MB = 32 MiB).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agents.errors import ForgeflowError, InputError, cut_line


class LimitExceeded(InputError):
    """Input is larger, deeper or more expansive than Forgeflow accepts."""


#: Default largest JSON artifact or document read, in bytes (``FORGEFLOW_MAX_ARTIFACT_BYTES``).
DEFAULT_MAX_ARTIFACT_BYTES = 32 * 1024 * 1024
ARTIFACT_LIMIT_ENV = "FORGEFLOW_MAX_ARTIFACT_BYTES"
#: Deepest nesting of arrays and objects accepted in any JSON or YAML document read.
MAX_NESTING = 64


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n % (1024 * 1024) else f"{n // (1024 * 1024)} MB"


def max_artifact_bytes(env: dict[str, str] | None = None) -> int:
    """The artifact size limit: ``FORGEFLOW_MAX_ARTIFACT_BYTES`` or 32 MiB."""
    raw = (env if env is not None else os.environ).get(ARTIFACT_LIMIT_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_ARTIFACT_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ForgeflowError(
            f"{ARTIFACT_LIMIT_ENV}={cut_line(raw, 40)!r}: expected a positive number of bytes"
        )
    return value


def read_regular_bytes(path: Path, limit: int, *, what: str = "file") -> bytes:
    """The bytes of ``path``, which must be a regular file (links resolved) of at most
    ``limit`` bytes; read with a bound, so a file that grows or lies about its size cannot
    make the read endless. Every failure is one :class:`InputError` naming ``path``."""
    path = Path(path)
    try:
        info = path.stat()  # follows links: what the link points at must be a regular file
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a folder, expected a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(
            f"{path}: is not a regular file ({file_kind(info.st_mode)}); expected a {what}"
        )
    if info.st_size > limit:
        raise LimitExceeded(
            f"{path}: {_mib(info.st_size)} is over the {_mib(limit)} limit for a {what}"
        )
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise LimitExceeded(f"{path}: over the {_mib(limit)} limit for a {what}")
    return data


def read_regular_text(path: Path, limit: int, *, what: str = "file") -> str:
    """:func:`read_regular_bytes` decoded as UTF-8 (one line when it is not)."""
    data = read_regular_bytes(path, limit, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text, expected a {what}") from None


def file_kind(mode: int) -> str:
    """What a non-regular file is, for messages ('a FIFO', 'a device', ...)."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def check_depth(value: Any, limit: int = MAX_NESTING, *, where: str = "document") -> None:
    """Raise :class:`LimitExceeded` when arrays/objects nest deeper than ``limit``."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise LimitExceeded(f"{where}: nested deeper than {limit} levels")
        stack.extend((child, depth + 1) for child in children)
