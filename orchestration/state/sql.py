"""A state store in a SQL database: a SQLite file, or PostgreSQL given a URL.

URLs:

- ``sqlite:///relative/path.db`` (relative to the working folder),
  ``sqlite:////absolute/path.db``, or ``sqlite:///:memory:``;
- ``postgresql://user[:password]@host[:port]/database[?options]`` (``postgres://`` too),
  through psycopg 3, which is imported only when such a URL is opened.

Two tables are created when missing::

    stages(run_id, stage, input_digest, status, envelope, updated_at,
           primary key (run_id, stage))
    kv(key primary key, value, updated_at)

``envelope`` and ``value`` hold JSON (``jsonb`` in PostgreSQL). Every write is one upsert
in its own transaction. The store keeps one connection; it is meant for one thread (the
asyncio loop's), and a lock keeps a stray call from another thread safe.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from pydantic import ValidationError

from agents.base import format_validation_error
from agents.errors import StateStoreError
from orchestration.runtime.artifact import Envelope
from orchestration.runtime.guards import connection_secrets, mask_credentials, scrub_secrets
from orchestration.state.base import StateStore
from orchestration.state.directory import dump_value

#: Seconds to wait for a PostgreSQL server to answer before giving up.
CONNECT_TIMEOUT_S = 5
#: Seconds a SQLite writer waits for another writer's lock.
SQLITE_BUSY_TIMEOUT_S = 30.0
#: Key of the advisory lock that serialises table creation in PostgreSQL.
_PG_SCHEMA_LOCK = 0x466F726765  # "Forge"


def mask_password(url: str) -> str:
    """``url`` with every credential it carries (userinfo password, ``password=``,
    ``sslpassword=``, …) masked, as the driver parses it; see
    :func:`orchestration.runtime.guards.mask_credentials`."""
    return mask_credentials(url)


def _reason(exc: BaseException) -> str:
    """The most specific clause of a driver's (often multi-line) error message, one line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    first = lines[0]
    clause = first.rsplit(": ", 1)[-1].strip() if ": " in first else first
    clause = re.sub(r"^\[Errno [-\d]+\]\s*", "", clause) or first
    return clause[0].lower() + clause[1:] if clause[:2] != clause[:2].upper() else clause


class _Backend(ABC):
    """What differs between SQLite and PostgreSQL: connecting, SQL dialect, JSON columns."""

    placeholder = "?"
    json_type = "TEXT"  # not JSON: SQLite would give such a column numeric affinity
    time_type = "TEXT"
    json_param = "?"

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (in the open transaction, if any); return its rows."""

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction: committed on success, rolled back on error."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""

    def load_json(self, raw: Any) -> Any:
        """A JSON column's value as Python data (PostgreSQL hands jsonb over parsed)."""
        return json.loads(raw) if isinstance(raw, str | bytes) else raw

    def timestamp(self) -> Any:
        """The current time as a parameter for an ``updated_at`` column."""
        return datetime.now(UTC).isoformat()


class _SqliteBackend(_Backend):
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(
            path,
            timeout=SQLITE_BUSY_TIMEOUT_S,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
            check_same_thread=False,  # guarded by SqlStore's lock
        )
        self._enable_wal()
        self.conn.execute("PRAGMA synchronous=NORMAL")

    def _enable_wal(self) -> None:
        """Switch a new database to WAL; the mode is kept in the file, so this is a no-op
        afterwards. Changing it needs a moment of exclusive access, and SQLite answers
        "database is locked" at once (without its busy wait) while another connection is
        creating the same fresh database: wait and try again, up to the busy timeout."""
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
        while True:
            try:
                mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                continue
            if mode and str(mode[0]).lower() == "wal":
                return
            if time.monotonic() > deadline:
                return  # another mode (e.g. a read-only file system): keep working in it
            time.sleep(0.05)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, tuple(params)).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")  # take the write lock now, not mid-way
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class _PostgresBackend(_Backend):
    placeholder = "%s"
    json_type = "JSONB"
    time_type = "TIMESTAMPTZ"
    json_param = "%s::jsonb"

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, tuple(params))  # type: ignore[arg-type]  # sql built from constants
            return cur.fetchall() if cur.description is not None else []

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def close(self) -> None:
        self.conn.close()

    def timestamp(self) -> Any:
        return datetime.now(UTC)

    def load_json(self, raw: Any) -> Any:
        return raw  # psycopg parses jsonb itself (a JSON string arrives as a str)


class SqlStore(StateStore):
    """Stage artifacts and values in SQLite or PostgreSQL, chosen by ``url``.

    Raises :class:`agents.errors.StateStoreError` for a malformed URL or a database that
    cannot be opened or reached (within :data:`CONNECT_TIMEOUT_S` seconds).
    """

    def __init__(self, url: str) -> None:
        self.url = str(url)
        self._location = mask_password(self.url)
        self._lock = threading.Lock()
        self._backend = self._connect()
        try:
            self._create_tables()
        except BaseException:
            self._backend.close()
            raise

    @property
    def location(self) -> str:
        """The URL, with any password masked."""
        return self._location

    # -- connecting ----------------------------------------------------------------------

    def _connect(self) -> _Backend:
        scheme = self.url.split(":", 1)[0].lower()
        if scheme == "sqlite":
            return self._connect_sqlite()
        if scheme in ("postgresql", "postgres"):
            return self._connect_postgres()
        raise StateStoreError(
            f"unsupported state URL {self._location}: use sqlite:///FILE or postgresql://HOST/DB"
        )

    def _connect_sqlite(self) -> _Backend:
        if not self.url.startswith("sqlite:///"):
            raise StateStoreError(
                f"bad SQLite URL {self._location}: use sqlite:///relative.db "
                "or sqlite:////absolute/path.db"
            )
        raw = self.url.removeprefix("sqlite:///").split("?", 1)[0]
        if not raw:
            raise StateStoreError(f"bad SQLite URL {self._location}: no file path after ///")
        if raw != ":memory:":
            path = Path(raw)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StateStoreError(
                    f"cannot create the folder of SQLite state {path}: {exc.strerror or exc}"
                ) from None
            if path.is_dir():
                raise StateStoreError(f"SQLite state {path} is a folder, expected a file")
        try:
            return _SqliteBackend(raw)
        except sqlite3.Error as exc:
            raise StateStoreError(f"cannot open SQLite state {raw}: {_reason(exc)}") from None

    def _connect_postgres(self) -> _Backend:
        try:
            parts: SplitResult = urlsplit(self.url)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError as exc:
            raise StateStoreError(f"bad PostgreSQL URL {self._location}: {exc}") from None
        if not parts.path.strip("/"):
            raise StateStoreError(
                f"bad PostgreSQL URL {self._location}: no database name "
                "(postgresql://USER@HOST:PORT/DATABASE)"
            )
        try:
            import psycopg
        except ImportError:
            raise StateStoreError(
                f"cannot open {self._location}: PostgreSQL state needs psycopg; "
                "install it with: pip install 'forgeflow[postgres]'"
            ) from None
        try:
            return _PostgresBackend(self.url)
        except psycopg.Error as exc:
            reason = scrub_secrets(_reason(exc), connection_secrets(self.url))
            raise StateStoreError(
                f"cannot reach PostgreSQL at {self._location}: {reason}"
            ) from None

    def _create_tables(self) -> None:
        b = self._backend
        ddl = [
            "CREATE TABLE IF NOT EXISTS stages ("
            " run_id TEXT NOT NULL,"
            " stage TEXT NOT NULL,"
            " input_digest TEXT NOT NULL,"
            " status TEXT NOT NULL,"
            f" envelope {b.json_type} NOT NULL,"
            f" updated_at {b.time_type} NOT NULL,"
            " PRIMARY KEY (run_id, stage))",
            "CREATE TABLE IF NOT EXISTS kv ("
            " key TEXT PRIMARY KEY,"
            f" value {b.json_type} NOT NULL,"
            f" updated_at {b.time_type} NOT NULL)",
        ]
        with self._guard("create tables"), b.transaction():
            if isinstance(b, _PostgresBackend):
                # Two jobs opening a fresh database at once must not race on CREATE TABLE.
                b.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_SCHEMA_LOCK,))
            for statement in ddl:
                b.execute(statement)

    # -- plumbing ------------------------------------------------------------------------

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Hold the lock; turn driver errors into one-line StateStoreErrors."""
        errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
        if isinstance(getattr(self, "_backend", None), _PostgresBackend):
            import psycopg

            errors = (psycopg.Error,)
        with self._lock:
            try:
                yield
            except errors as exc:
                reason = scrub_secrets(_reason(exc), connection_secrets(self.url))
                raise StateStoreError(
                    f"state store {self._location}: cannot {action}: {reason}"
                ) from None

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self._backend.placeholder).replace(
            "JSON(%)", self._backend.json_param
        )

    @staticmethod
    def _check(name: str, what: str) -> None:
        if not isinstance(name, str) or not name:
            raise StateStoreError(f"empty {what}")

    def _envelope(self, raw: Any, run_id: str, stage: str) -> Envelope:
        where = f"state store {self._location}: stage {stage!r} of run {run_id!r}"
        try:
            doc = self._backend.load_json(raw)
            return Envelope.model_validate(doc)
        except ValueError as exc:  # JSONDecodeError and ValidationError are ValueErrors
            reason = (
                format_validation_error(exc)
                if isinstance(exc, ValidationError)
                else f"not valid JSON ({exc})"
            )
            raise StateStoreError(f"{where}: corrupt envelope: {reason}") from None

    # -- the interface -------------------------------------------------------------------

    def get_stage(self, run_id: str, stage: str) -> Envelope | None:
        """The artifact stored for ``stage`` of ``run_id``, or None."""
        self._check(run_id, "run id")
        self._check(stage, "stage name")
        with self._guard("read a stage"):
            rows = self._backend.execute(
                self._sql("SELECT envelope FROM stages WHERE run_id = ? AND stage = ?"),
                (run_id, stage),
            )
        return self._envelope(rows[0][0], run_id, stage) if rows else None

    def put_stage(self, run_id: str, stage: str, envelope: Envelope) -> None:
        """Store (or replace) the artifact of ``stage`` of ``run_id`` in one transaction."""
        self._check(run_id, "run id")
        self._check(stage, "stage name")
        sql = self._sql(
            "INSERT INTO stages (run_id, stage, input_digest, status, envelope, updated_at)"
            " VALUES (?, ?, ?, ?, JSON(%), ?)"
            " ON CONFLICT (run_id, stage) DO UPDATE SET"
            " input_digest = excluded.input_digest, status = excluded.status,"
            " envelope = excluded.envelope, updated_at = excluded.updated_at"
        )
        params = (
            run_id,
            stage,
            envelope.input_digest,
            str(envelope.status),
            envelope.model_dump_json(),
            self._backend.timestamp(),
        )
        with self._guard("write a stage"), self._backend.transaction():
            self._backend.execute(sql, params)

    def list_stages(self, run_id: str) -> list[tuple[str, Envelope]]:
        """All stored (stage, artifact) pairs of ``run_id``, ordered by stage name."""
        self._check(run_id, "run id")
        with self._guard("list stages"):
            rows = self._backend.execute(
                self._sql("SELECT stage, envelope FROM stages WHERE run_id = ?"), (run_id,)
            )
        # Sorted here, by code point, so the order does not depend on a database collation.
        found = [(stage, self._envelope(raw, run_id, stage)) for stage, raw in rows]
        found.sort(key=lambda pair: pair[0])
        return found

    def get_value(self, key: str) -> Any | None:
        """The JSON value stored under ``key``, or None."""
        self._check(key, "key")
        with self._guard("read a value"):
            rows = self._backend.execute(self._sql("SELECT value FROM kv WHERE key = ?"), (key,))
        if not rows:
            return None
        try:
            return self._backend.load_json(rows[0][0])
        except ValueError as exc:
            raise StateStoreError(
                f"state store {self._location}: value of key {key!r} is corrupt: {exc}"
            ) from None

    def put_value(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``key`` in one transaction."""
        self._check(key, "key")
        sql = self._sql(
            "INSERT INTO kv (key, value, updated_at) VALUES (?, JSON(%), ?)"
            " ON CONFLICT (key) DO UPDATE SET"
            " value = excluded.value, updated_at = excluded.updated_at"
        )
        params = (key, dump_value(key, value), self._backend.timestamp())
        with self._guard("write a value"), self._backend.transaction():
            self._backend.execute(sql, params)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._backend.close()
