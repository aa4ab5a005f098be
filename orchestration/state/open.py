"""Opening the state store a URL names: a folder, SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from orchestration.state.base import DEFAULT_STATE_DIR, StateStore


def open_store(url: str | Path | None = None) -> StateStore:
    """Open the store a URL names.

    - ``None`` → a directory store at ``.forgeflow/state``;
    - a path, or ``dir:PATH`` / ``file:PATH`` → a directory store there;
    - ``sqlite:///PATH`` → a SQLite file; ``postgresql://…`` → PostgreSQL.

    Raises :class:`agents.errors.StateStoreError` when the store cannot be opened.
    """
    from orchestration.state.directory import DirectoryStore

    if url is None:
        return DirectoryStore(DEFAULT_STATE_DIR)
    text = str(url)
    if text.startswith(("sqlite:", "postgresql:", "postgres:")):
        from orchestration.state.sql import SqlStore

        return SqlStore(text)
    for prefix in ("dir:", "file:"):
        if text.startswith(prefix):
            text = text.removeprefix(prefix)
    if "://" in text:
        from agents.errors import StateStoreError

        raise StateStoreError(
            f"unsupported state URL {text.split('://')[0]}://…; "
            "use a folder path, sqlite:///FILE or postgresql://HOST/DB"
        )
    return DirectoryStore(Path(text))
