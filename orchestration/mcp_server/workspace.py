"""The workspace a client lets the server use: its declared roots, or the working folder.

Every path a tool is given is resolved (``..`` and symbolic links followed) and must end
inside one of the roots; relative paths start from the first root. Anything else is an
:class:`~agents.errors.InputError`, before any file is opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from agents.errors import InputError

if TYPE_CHECKING:
    from mcp.types import ListRootsResult


def roots_of(result: ListRootsResult | None, workdir: Path) -> list[Path]:
    """The client's ``file://`` roots as folders; the working folder when it has none."""
    roots: list[Path] = []
    for root in result.roots if result is not None else []:
        url = urlparse(str(root.uri))
        if url.scheme == "file" and url.netloc in ("", "localhost"):
            roots.append(Path(unquote(url.path)).resolve())
    return roots or [Path(workdir).resolve()]


@dataclass(frozen=True)
class Workspace:
    """The folders tools may read and write."""

    roots: list[Path]

    def resolve(self, text: str, what: str) -> Path:
        """``text`` as an absolute path inside a root, or an InputError naming ``what``."""
        if not isinstance(text, str) or not text.strip() or "\x00" in text:
            raise InputError(f"{what}: expected a file path")
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self.roots[0] / path
        real = path.resolve()
        if any(real == root or real.is_relative_to(root) for root in self.roots):
            return real
        shown = ", ".join(str(r) for r in self.roots)
        raise InputError(f"{what} {text!r}: outside the workspace roots ({shown}); refused")
