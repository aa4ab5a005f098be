"""A pytest plugin that runs a real, throw-away PostgreSQL server for the test session.

Loaded from ``tests/conftest.py`` with ``pytest_plugins = ["pg_server"]``. The session
fixture :func:`postgres_url` finds the server binaries (``$PG_CONFIG``/``pg_config
--bindir``, else the newest ``/usr/lib/postgresql/*/bin``), runs ``initdb`` on a temporary
data folder and starts the server on 127.0.0.1 and a free port, with its unix sockets in
the same temporary folder and trust authentication. PostgreSQL refuses to run as root, so
when the tests run as root the server runs as the ``postgres`` user (via ``runuser``), and
the temporary folder belongs to that user. At the end of the session the server is stopped
and the folder removed.

Where the binaries are missing the PostgreSQL tests are skipped, except when ``CI=true``:
there they fail, since the CI command installs PostgreSQL first
(``scripts/ensure-postgres.sh``).
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

DATABASE = "forgeflow_test"
SUPERUSER = "postgres"
#: Where Debian installs server versions; ``$POSTGRES_LIB_ROOT`` overrides it (as in
#: ``scripts/ensure-postgres.sh``).
LIB_ROOT = Path(os.environ.get("POSTGRES_LIB_ROOT", "/usr/lib/postgresql"))
_START_ATTEMPTS = 3


def _has_server(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", Path(path).parent.name)) or (0,)


def find_bindir(lib_root: Path = LIB_ROOT) -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None if no server is installed."""
    pg_config = os.environ.get("PG_CONFIG") or shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            out = ""
        if out and _has_server(Path(out)):
            return Path(out)
    for candidate in sorted(glob.glob(str(lib_root / "*" / "bin")), key=_version_key, reverse=True):
        if _has_server(Path(candidate)):
            return Path(candidate)
    return None


def _unavailable(reason: str) -> NoReturn:
    """Fail under CI (PostgreSQL must be there), skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true requires it (run scripts/ensure-postgres.sh)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One temporary PostgreSQL cluster, run as ``postgres`` when we are root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.base = Path(tempfile.mkdtemp(prefix="forgeflow-pg-"))
        self.data = self.base / "data"
        self.sockets = self.base / "sockets"
        self.log = self.base / "server.log"
        self.port = 0
        self.sockets.mkdir()
        if self.as_root:
            shutil.chown(self.base, SUPERUSER, SUPERUSER)
            shutil.chown(self.sockets, SUPERUSER, SUPERUSER)

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self.as_root:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, cwd=self.base)

    def _check(self, what: str, done: subprocess.CompletedProcess[str]) -> None:
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RuntimeError(f"PostgreSQL {what} failed: {' / '.join(detail)}")

    def start(self) -> None:
        """initdb, then start on a free loopback port and wait until it accepts connections."""
        self._check(
            "initdb",
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ),
        )
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {shlex.quote(str(self.sockets))} "
                "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
            )
            done = self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            )
            if done.returncode == 0:
                return
            if attempt == _START_ATTEMPTS:  # the port may have been taken meanwhile: retry
                log = self.log.read_text(errors="replace") if self.log.exists() else ""
                tail = " / ".join(log.strip().splitlines()[-3:])
                raise RuntimeError(f"PostgreSQL did not start: {done.stderr.strip()} {tail}")

    def url(self, database: str) -> str:
        """A connection URL for ``database`` as the superuser (trust authentication)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        """``CREATE DATABASE name`` through the maintenance database."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove the temporary folder."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running throw-away PostgreSQL server (see the module docstring)."""
    bindir = find_bindir()
    if bindir is None:
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _unavailable("running as root, and runuser (to run PostgreSQL as postgres) is missing")
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            _unavailable(f"running as root, and there is no {SUPERUSER!r} user to run PostgreSQL")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[test]')")
    server = PostgresServer(bindir)
    try:
        server.start()
        server.create_database(DATABASE)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """``postgresql://postgres@127.0.0.1:PORT/forgeflow_test`` on the session's server."""
    return postgres_server.url(DATABASE)
