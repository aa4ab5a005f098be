"""The state-store interface: where a run's stage artifacts and small values live.

Stores: a directory of artifacts (the default, embedded), and a SQL database (a SQLite
file by default, PostgreSQL when given a ``postgresql://`` URL);
:func:`orchestration.state.open.open_store` picks one from a URL. A pipeline run is
resumable through its store: a stage whose stored artifact has the same input digest (and
agent version) is not run again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Any

from orchestration.runtime.artifact import Envelope

#: Where runs keep their state when no ``--state`` is given.
DEFAULT_STATE_DIR = Path(".forgeflow") / "state"


class StateStore(ABC):
    """Stage artifacts by (run id, stage), and JSON values by key.

    Every write is atomic: a reader sees the old value or the new one, never a mix.
    """

    @abstractmethod
    def get_stage(self, run_id: str, stage: str) -> Envelope | None:
        """The artifact stored for ``stage`` of ``run_id``, or None."""

    @abstractmethod
    def put_stage(self, run_id: str, stage: str, envelope: Envelope) -> None:
        """Store (or replace) the artifact of ``stage`` of ``run_id``."""

    @abstractmethod
    def list_stages(self, run_id: str) -> list[tuple[str, Envelope]]:
        """All stored (stage, artifact) pairs of ``run_id``, ordered by stage name."""

    @abstractmethod
    def get_value(self, key: str) -> Any | None:
        """The JSON value stored under ``key``, or None."""

    @abstractmethod
    def put_value(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``key``."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the state is, for messages (a path or a URL without its password)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
