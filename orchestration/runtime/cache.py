"""A content-addressed cache of agent results.

The key is the sha256 of (agent name, agent version, input digest): the same agent at the
same version given the same input gives the same output, so the output can be reused. The
input digest :func:`orchestration.runtime.execution.execute` passes covers the agent's settings too
and, for an agent that may call a model, the model and its instructions.
Bump an agent's ``version`` when its output for a given input changes.

:class:`DirectoryCache` keeps one JSON file per entry under ``ROOT/<key[:2]>/<key>.json``,
a folder that ``actions/cache`` can carry from one workflow run to the next. Entries are
written atomically; an entry that cannot be read or no longer fits the output model counts
as a miss and is removed. The cache is an optimisation: failing to write an entry is
logged, never an error of the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

from agents.errors import ForgeflowError
from orchestration.runtime.artifact import write_text_atomic

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

_KEY = re.compile(r"[0-9a-f]{64}")


class CacheError(ForgeflowError):
    """The cache folder cannot be used."""


def cache_key(agent_name: str, agent_version: str, input_digest: str) -> str:
    """The sha256 hex digest naming the result of one agent version on one input."""
    material = json.dumps([agent_name, agent_version, input_digest], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


@runtime_checkable
class ResultCache(Protocol):
    """What :func:`orchestration.runtime.execution.execute` needs of a result cache."""

    def key(self, agent_name: str, agent_version: str, input_digest: str) -> str:
        """The key of one agent version's result on one input."""
        ...

    def get(self, key: str, model: type[ModelT]) -> ModelT | None:
        """The cached result under ``key`` as ``model``, or None on a miss."""
        ...

    def put(self, key: str, value: BaseModel) -> None:
        """Store ``value`` under ``key``."""
        ...


class _CountingCache:
    """Shared parts: the key function and the hit/miss counters."""

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0

    def key(self, agent_name: str, agent_version: str, input_digest: str) -> str:
        """The key of one agent version's result on one input (see :func:`cache_key`)."""
        return cache_key(agent_name, agent_version, input_digest)

    def _miss(self) -> None:
        self.misses += 1

    def _hit(self) -> None:
        self.hits += 1


class MemoryCache(_CountingCache):
    """Results kept in this process only. Entries are stored as JSON, so a caller
    changing a returned model does not change the cache."""

    def __init__(self) -> None:
        super().__init__()
        self._entries: dict[str, str] = {}

    def get(self, key: str, model: type[ModelT]) -> ModelT | None:
        """The cached result under ``key`` as ``model``, or None on a miss."""
        text = self._entries.get(key)
        if text is not None:
            try:
                value = model.model_validate_json(text)
            except ValidationError:
                del self._entries[key]
            else:
                self._hit()
                return value
        self._miss()
        return None

    def put(self, key: str, value: BaseModel) -> None:
        """Store ``value`` under ``key``."""
        self._entries[key] = value.model_dump_json()

    def clear(self) -> int:
        """Forget every entry; return how many there were."""
        count = len(self._entries)
        self._entries.clear()
        return count

    def __len__(self) -> int:
        return len(self._entries)


class DirectoryCache(_CountingCache):
    """Results as JSON files under ``root``: ``root/<key[:2]>/<key>.json``.

    ``write_errors`` counts entries that could not be written (a read-only or full disk);
    such a failure is logged and the run goes on.
    """

    def __init__(self, root: Path | str) -> None:
        super().__init__()
        self.root = Path(root)
        self.write_errors = 0
        if self.root.exists() and not self.root.is_dir():
            raise CacheError(f"{self.root}: cache folder is a file; give a folder path")

    def path_for(self, key: str) -> Path:
        """Where the entry ``key`` lives."""
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a cache key (64 lowercase hex digits): {key!r}")
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str, model: type[ModelT]) -> ModelT | None:
        """The cached result under ``key`` as ``model``, or None on a miss.

        An entry that cannot be read, is not JSON, or does not validate as ``model`` is a
        miss, and is removed so the fresh result replaces it.
        """
        path = self.path_for(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._miss()
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self._discard(path, f"unreadable ({exc})")
            self._miss()
            return None
        try:
            value = model.model_validate_json(text)
        except ValidationError as exc:
            self._discard(path, f"not a valid {model.__name__} ({exc.error_count()} errors)")
            self._miss()
            return None
        self._hit()
        return value

    def put(self, key: str, value: BaseModel) -> None:
        """Store ``value`` under ``key`` atomically; a failed write is only logged."""
        path = self.path_for(key)
        try:
            write_text_atomic(path, value.model_dump_json() + "\n")
        except (ForgeflowError, OSError) as exc:
            self.write_errors += 1
            log.warning("result cache: cannot write %s: %s", path, exc)

    def _entries(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [
            path
            for path in self.root.glob("??/*.json")
            if _KEY.fullmatch(path.stem) and path.parent.name == path.stem[:2]
        ]

    def clear(self) -> int:
        """Remove every entry (and leftover temporary files); return how many entries.

        Only files this cache writes are touched, so a mistaken ``root`` loses nothing
        else.
        """
        entries = self._entries()
        for path in entries:
            path.unlink(missing_ok=True)
        if self.root.is_dir():
            for sub in self.root.glob("??"):
                if not sub.is_dir():
                    continue
                for tmp in sub.glob(".*.json.*.tmp"):
                    if _KEY.fullmatch(tmp.name[1:65]):
                        tmp.unlink(missing_ok=True)
                with contextlib.suppress(OSError):  # not empty: holds what is not ours
                    sub.rmdir()
        return len(entries)

    def __len__(self) -> int:
        return len(self._entries())

    def _discard(self, path: Path, why: str) -> None:
        log.warning("result cache: dropping %s: %s", path, why)
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
