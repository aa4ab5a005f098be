"""File tools confined to a workspace: ``read_file``, ``file_search`` and ``write_file``.

Every path a model gives is taken relative to the workspace folder; an absolute path, a
``..`` that climbs out, or a symbolic link that leads out is refused. Hidden folders
(``.git``, ``.venv``, ...) are not searched. ``write_file`` is a writing tool: offered
only when the agent's ``tool_policy.allow_writes`` is true.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from agents.tools.function import FunctionTool, ToolArgumentsError

if TYPE_CHECKING:
    from agents.tools.toolset import ToolContext

#: Files larger than this are not searched nor read whole.
MAX_FILE_BYTES = 2_000_000
#: One search reads at most this many files (the reply then says ``more``).
MAX_FILES_SEARCHED = 5_000


class Workspace:
    """The folder the file tools may touch."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def resolve(self, path: str, *, must_exist: bool = True) -> Path:
        """``path`` (relative to the workspace) as an absolute path inside it.

        Raises :class:`ToolArgumentsError` (which goes back to the model) for a path
        outside the workspace, or a missing one when ``must_exist``.
        """
        if not path or "\x00" in path:
            raise ToolArgumentsError("path: give a file path relative to the workspace")
        pure = PurePosixPath(path.replace("\\", "/"))
        if pure.is_absolute() or Path(path).is_absolute():
            raise ToolArgumentsError(
                f"path {path!r}: absolute paths are refused; use one relative to the workspace"
            )
        target = (self.root / pure).resolve()
        if not target.is_relative_to(self.root):
            raise ToolArgumentsError(f"path {path!r}: outside the workspace")
        if must_exist and not target.exists():
            raise ToolArgumentsError(f"path {path!r}: no such file in the workspace")
        return target

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def files(self, pattern: str) -> list[Path]:
        """Files matching ``pattern`` (a glob relative to the workspace; ``**/`` also
        matches the top folder), hidden folders and links out of the workspace left out,
        sorted."""
        pattern = pattern or "**/*"
        pure = PurePosixPath(pattern)
        if pure.is_absolute() or ".." in pure.parts:
            raise ToolArgumentsError(f"glob {pattern!r}: must stay inside the workspace")
        patterns = {pattern}
        while pattern.startswith("**/"):
            pattern = pattern[3:]
            patterns.add(pattern)
        found = []
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in names:
                if name.startswith("."):
                    continue
                path = Path(folder) / name
                rel = path.relative_to(self.root).as_posix()
                if not any(fnmatch.fnmatchcase(rel, p) for p in patterns):
                    continue
                try:
                    real = path.resolve()
                except OSError:
                    continue
                if real.is_relative_to(self.root) and real.is_file():
                    found.append(path)
        return sorted(found)


def _text_of(path: Path) -> str | None:
    """The file's text, or None when it is binary or too large."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def read_file_tool(ctx: ToolContext) -> FunctionTool:
    """``read_file``: lines of one text file of the workspace."""
    workspace = ctx.workspace

    def read_file(
        path: Annotated[str, Field(description="File path relative to the workspace")],
        offset: Annotated[int, Field(ge=0, description="First line to return (0-based)")] = 0,
        max_lines: Annotated[int, Field(ge=1, le=2000, description="Lines to return")] = 400,
    ) -> dict[str, Any]:
        """Read a text file of the workspace (a window of its lines)."""
        target = workspace.resolve(path)
        if not target.is_file():
            raise ToolArgumentsError(f"path {path!r}: not a file")
        text = _text_of(target)
        if text is None:
            raise ToolArgumentsError(
                f"path {path!r}: a binary file, or larger than {MAX_FILE_BYTES:,} bytes"
            )
        lines = text.splitlines()
        window = lines[offset : offset + max_lines]
        return {
            "path": workspace.relative(target),
            "offset": offset,
            "lines": len(lines),
            "content": "\n".join(window),
            "more": offset + max_lines < len(lines),
        }

    return FunctionTool(read_file)


def file_search_tool(ctx: ToolContext) -> FunctionTool:
    """``file_search``: lines of workspace files that contain a text."""
    workspace = ctx.workspace

    def file_search(
        query: Annotated[str, Field(min_length=1, description="Text to find (any case)")],
        glob: Annotated[str, Field(description="Files to search, a glob")] = "**/*",
        max_results: Annotated[int, Field(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        """Find the lines of workspace files that contain a text (case-insensitive)."""
        needle = query.lower()
        matches: list[dict[str, Any]] = []
        files = workspace.files(glob)
        for path in files[:MAX_FILES_SEARCHED]:
            text = _text_of(path)
            if text is None:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                if needle in line.lower():
                    if len(matches) == max_results:
                        return {"matches": matches, "more": True}
                    matches.append(
                        {"path": workspace.relative(path), "line": number, "text": line[:300]}
                    )
        return {"matches": matches, "more": len(files) > MAX_FILES_SEARCHED}

    return FunctionTool(file_search)


def write_file_tool(ctx: ToolContext) -> FunctionTool:
    """``write_file``: write one text file of the workspace (a writing tool)."""
    workspace = ctx.workspace

    def write_file(
        path: Annotated[str, Field(description="File path relative to the workspace")],
        content: Annotated[str, Field(max_length=MAX_FILE_BYTES)],
    ) -> dict[str, Any]:
        """Write a text file in the workspace (created or replaced, all at once)."""
        target = workspace.resolve(path, must_exist=False)
        if target.is_dir():
            raise ToolArgumentsError(f"path {path!r}: is a folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".forgeflow-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(content)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return {"path": workspace.relative(target), "characters": len(content)}

    return FunctionTool(write_file, writes=True)
