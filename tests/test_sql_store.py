"""The state-store contract over every store, and what is particular to the SQL stores.

The contract tests run against a directory store, a SQLite file and a real PostgreSQL
server (the ``postgres_url`` fixture of ``tests/pg_server.py``), each opened through
:func:`orchestration.state.open.open_store` as a user would.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agents.base import Agent, AgentResult
from agents.errors import StateStoreError
from orchestration.runtime.artifact import ArtifactStatus, Envelope, digest
from orchestration.runtime.execution import RunContext, execute
from orchestration.state.base import StateStore
from orchestration.state.open import open_store
from orchestration.state.sql import SqlStore, mask_password

REPO = Path(__file__).resolve().parent.parent

STORE_KINDS = [
    pytest.param("directory", id="directory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def _reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS stages, kv")


@pytest.fixture(params=STORE_KINDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL naming an empty store of each kind."""
    kind = request.param
    if kind == "directory":
        return str(tmp_path / "state")
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("postgres_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def store(store_url: str) -> Any:
    with open_store(store_url) as opened:
        yield opened


def make_envelope(data: Any = None, *, run_id: str = "run-1", seconds: int = 0) -> Envelope:
    start = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC) + timedelta(seconds=seconds)
    return Envelope(
        schema_id="forgeflow/SecurityReport",
        agent="security",
        agent_version="2",
        run_id=run_id,
        correlation_id="corr-9",
        input_digest=digest(data),
        started_at=start,
        finished_at=start + timedelta(milliseconds=250),
        duration_ms=250.0,
        status=ArtifactStatus.SUCCEEDED,
        data={
            "findings": [{"rule": "open-ingress", "port": 22, "note": "0.0.0.0/0 ✓"}],
            "score": 0.75,
            "value": data,
        },
    )


# -- the contract, over every store --------------------------------------------------------


def test_an_empty_store_has_nothing(store: StateStore) -> None:
    assert store.get_stage("run-1", "vision") is None
    assert store.list_stages("run-1") == []
    assert store.get_value("breaker/vision") is None


def test_an_envelope_round_trips_unchanged(store: StateStore) -> None:
    env = make_envelope("a")
    env.error = None
    store.put_stage("run-1", "security", env)
    got = store.get_stage("run-1", "security")
    assert got == env
    assert got is not None and got.started_at.tzinfo is not None


def test_putting_a_stage_again_replaces_it(store: StateStore) -> None:
    store.put_stage("run-1", "vision", make_envelope("old"))
    failed = make_envelope("new", seconds=5)
    failed.status, failed.error, failed.data = ArtifactStatus.FAILED, "boom", None
    store.put_stage("run-1", "vision", failed)
    assert store.get_stage("run-1", "vision") == failed
    assert store.list_stages("run-1") == [("vision", failed)]


def test_stages_are_listed_by_name(store: StateStore) -> None:
    names = ["vision", "review/vision#2", "Combine", "cost_estimation", "review/vision#10", "é"]
    for i, name in enumerate(names):
        store.put_stage("run-1", name, make_envelope(name, seconds=i))
    listed = store.list_stages("run-1")
    assert [name for name, _ in listed] == sorted(names)
    assert all(env.data is not None and env.data["value"] == name for name, env in listed)


def test_runs_are_isolated(store: StateStore) -> None:
    store.put_stage("run-a", "vision", make_envelope("a", run_id="run-a"))
    store.put_stage("run-b", "vision", make_envelope("b", run_id="run-b"))
    store.put_stage("run-b", "filter", make_envelope("b2", run_id="run-b"))

    got_a = store.get_stage("run-a", "vision")
    assert got_a is not None and got_a.run_id == "run-a"
    assert [name for name, _ in store.list_stages("run-a")] == ["vision"]
    assert [name for name, _ in store.list_stages("run-b")] == ["filter", "vision"]
    assert store.get_stage("run-a", "filter") is None
    assert store.list_stages("run-c") == []


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"state": "open", "failures": 3, "opened_at": 1.5}, id="object"),
        pytest.param([1, "two", None, True, {"x": []}], id="array"),
        pytest.param(42, id="integer"),
        pytest.param(0.1, id="float"),
        pytest.param("text ✓", id="string"),
        pytest.param(False, id="boolean"),
    ],
)
def test_values_round_trip(store: StateStore, value: Any) -> None:
    store.put_value("breaker/vision", value)
    assert store.get_value("breaker/vision") == value
    assert store.get_value("breaker/other") is None


def test_putting_a_value_again_replaces_it(store: StateStore) -> None:
    store.put_value("k", {"n": 1})
    store.put_value("k", {"n": 2})
    assert store.get_value("k") == {"n": 2}


def test_state_survives_closing_and_reopening(store_url: str) -> None:
    with open_store(store_url) as first:
        first.put_stage("run-1", "vision", make_envelope("a"))
        first.put_value("k", [1])
    with open_store(store_url) as second:
        assert second.get_stage("run-1", "vision") == make_envelope("a")
        assert second.get_value("k") == [1]


def test_a_value_json_cannot_hold_is_refused(store: StateStore) -> None:
    store.put_value("k", "kept")
    with pytest.raises(StateStoreError, match="'k' is not JSON-serialisable"):
        store.put_value("k", {"when": datetime.now(UTC)})
    assert store.get_value("k") == "kept"


def test_location_names_the_store(store: StateStore, store_url: str) -> None:
    assert store.location == store_url


# -- resumability through execute() -------------------------------------------------------


class ShoutInput(BaseModel):
    text: str


class ShoutOutput(AgentResult):
    shout: str


class ShoutAgent(Agent[ShoutInput, ShoutOutput]):
    """Upper-cases its text and counts how often it really ran."""

    name = "shout"
    input_model = ShoutInput
    output_model = ShoutOutput

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def process(self, data: ShoutInput) -> ShoutOutput:
        self.calls += 1
        return ShoutOutput(shout=data.text.upper())


async def test_a_run_resumes_unchanged_stages_and_reruns_changed_ones(store_url: str) -> None:
    agent = ShoutAgent()
    stage = "review/shout#1"

    with open_store(store_url) as store:
        first = await execute(
            agent, {"text": "hi"}, RunContext(run_id="run-7", store=store), stage=stage
        )
    assert first.ok and not first.resumed and agent.calls == 1

    with open_store(store_url) as store:  # a later job of the same run
        again = await execute(
            agent, {"text": "hi"}, RunContext(run_id="run-7", store=store), stage=stage
        )
        assert again.resumed and agent.calls == 1
        assert isinstance(again.output, ShoutOutput) and again.output.shout == "HI"

        changed = await execute(
            agent, {"text": "bye"}, RunContext(run_id="run-7", store=store), stage=stage
        )
        assert not changed.resumed and agent.calls == 2
        assert isinstance(changed.output, ShoutOutput) and changed.output.shout == "BYE"
        stored = store.get_stage("run-7", stage)
        assert stored is not None and stored.input_digest == digest(ShoutInput(text="bye"))

        other_run = await execute(
            agent, {"text": "bye"}, RunContext(run_id="run-8", store=store), stage=stage
        )
        assert not other_run.resumed and agent.calls == 3


# -- concurrent writers ---------------------------------------------------------------------


def test_concurrent_writers_of_different_runs_lose_nothing(store_url: str) -> None:
    writers, per_writer = 2, 40
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            with open_store(store_url) as store:  # each writer has its own connection
                for i in range(per_writer):
                    store.put_stage(f"run-{n}", f"stage/{i:02d}", make_envelope(i, seconds=i))
                    store.put_value(f"writer-{n}/{i}", {"writer": n, "i": i})
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []

    with open_store(store_url) as store:
        for n in range(writers):
            listed = store.list_stages(f"run-{n}")
            assert [name for name, _ in listed] == [f"stage/{i:02d}" for i in range(per_writer)]
            assert all(
                store.get_value(f"writer-{n}/{i}") == {"writer": n, "i": i}
                for i in range(per_writer)
            )


# -- SQL specifics ---------------------------------------------------------------------------


def test_open_store_picks_the_sql_store_for_sqlite_urls(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/s.db") as store:
        assert isinstance(store, SqlStore)


def test_a_relative_sqlite_path_is_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///.forgeflow/nested/state.db") as store:
        store.put_value("k", 1)
    assert (tmp_path / ".forgeflow" / "nested" / "state.db").is_file()


def test_sqlite_state_uses_write_ahead_logging(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqlStore(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_corrupt_sqlite_row_is_an_error_naming_store_and_stage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    with SqlStore(url) as store:
        store.put_stage("run-1", "vision", make_envelope("a"))
    conn = sqlite3.connect(tmp_path / "state.db")
    with conn:
        conn.execute("UPDATE stages SET envelope = '{\"agent\": 1'")
    conn.close()
    with SqlStore(url) as store, pytest.raises(StateStoreError) as info:
        store.get_stage("run-1", "vision")
    assert str(info.value).startswith(f"state store {url}: stage 'vision' of run 'run-1'")
    assert "corrupt envelope" in str(info.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            "postgresql://forge:s3cret@127.0.0.1:1/state",
            "cannot reach PostgreSQL at postgresql://forge:***@127.0.0.1:1/state: "
            "connection refused",
            id="refused-password-masked",
        ),
        pytest.param(
            "postgresql://forge@127.0.0.1:notaport/state",
            "bad PostgreSQL URL postgresql://forge@127.0.0.1:notaport/state",
            id="bad-port",
        ),
        pytest.param(
            "postgres://forge:s3cret@127.0.0.1:1/",
            "bad PostgreSQL URL postgres://forge:***@127.0.0.1:1/: no database name",
            id="no-database",
        ),
        pytest.param("sqlite://host/state.db", "bad SQLite URL sqlite://host/state.db", id="host"),
        pytest.param("sqlite:///", "bad SQLite URL sqlite:///: no file path", id="no-path"),
    ],
)
def test_bad_or_unreachable_urls_are_one_line_errors(url: str, message: str) -> None:
    with pytest.raises(StateStoreError) as info:
        open_store(url)
    text = str(info.value)
    assert text.startswith(message)
    assert "\n" not in text and "s3cret" not in text


def test_a_sqlite_file_under_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("", encoding="utf-8")
    with pytest.raises(StateStoreError, match="cannot create the folder of SQLite state"):
        open_store(f"sqlite:///{tmp_path}/blocker/state.db")


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        pytest.param("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db", id="pw"),
        pytest.param(
            "postgresql://u@h/db?sslmode=require",
            "postgresql://u@h/db?sslmode=require",
            id="no-password",
        ),
        pytest.param(
            "postgresql://u:p%40ss@[::1]:5/db", "postgresql://u:***@[::1]:5/db", id="ipv6-escaped"
        ),
        pytest.param("sqlite:///state.db", "sqlite:///state.db", id="sqlite"),
    ],
)
def test_passwords_are_masked(url: str, masked: str) -> None:
    assert mask_password(url) == masked


@pytest.mark.postgres
def test_postgres_tables_hold_queryable_json(postgres_url: str) -> None:
    """Another tool (a workflow step with psql, say) can query the stored artifacts."""
    import psycopg

    _reset_postgres(postgres_url)
    with SqlStore(postgres_url) as store:
        store.put_stage("run-1", "security", make_envelope("a"))
        store.put_value("breaker/vision", {"state": "open"})
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            "SELECT status, input_digest, envelope->>'agent', updated_at IS NOT NULL"
            " FROM stages WHERE run_id = 'run-1' AND stage = 'security'"
        ).fetchone()
        value = conn.execute("SELECT value->>'state' FROM kv WHERE key = 'breaker/vision'")
        assert row == ("succeeded", digest("a"), "security", True)
        assert value.fetchone() == ("open",)


# -- scripts/ensure-postgres.sh ------------------------------------------------------------

SCRIPT = REPO / "scripts" / "ensure-postgres.sh"


def _fake_tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


def _run_script(tmp_path: Path, apt_get: str) -> subprocess.CompletedProcess[str]:
    """Run the script on a machine without PostgreSQL, with ``apt_get`` as apt-get."""
    fake_bin, lib_root = tmp_path / "bin", tmp_path / "lib"
    fake_bin.mkdir(exist_ok=True)
    lib_root.mkdir(exist_ok=True)
    _fake_tool(fake_bin, "apt-get", apt_get)
    env = {
        **os.environ,
        "PATH": f"{fake_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PG_CONFIG": str(tmp_path / "no-pg_config"),
        "POSTGRES_LIB_ROOT": str(lib_root),
    }
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env)


@pytest.mark.skipif(os.geteuid() != 0, reason="without root the script would need sudo")
def test_ensure_postgres_installs_only_when_missing_and_is_quiet(tmp_path: Path) -> None:
    calls = tmp_path / "apt-calls"
    install = (
        f'echo "$*" >> "{calls}"\n'
        'case "$*" in *install*)\n'
        f'  mkdir -p "{tmp_path}/lib/15/bin"\n'
        "  for t in initdb pg_ctl postgres; do\n"
        f'    printf "#!/bin/sh\\n" > "{tmp_path}/lib/15/bin/$t"; '
        f'chmod +x "{tmp_path}/lib/15/bin/$t"\n'
        "  done;;\n"
        "esac\n"
        'echo "lots of apt output"\n'
    )
    first = _run_script(tmp_path, install)
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"{tmp_path}/lib/15/bin\n" and first.stderr == ""
    assert calls.read_text().splitlines()[0] == "update -qq"
    assert "install" in calls.read_text().splitlines()[1]

    again = _run_script(tmp_path, f'echo "$*" >> "{calls}"\n')
    assert again.returncode == 0 and again.stdout == first.stdout
    assert len(calls.read_text().splitlines()) == 2  # apt-get was not called again


@pytest.mark.skipif(os.geteuid() != 0, reason="without root the script would need sudo")
def test_ensure_postgres_fails_with_a_clear_message(tmp_path: Path) -> None:
    failing = (
        'case "$*" in *install*) echo "E: Unable to locate package postgresql" >&2; '
        "exit 100;; esac\n"
    )
    done = _run_script(tmp_path, failing)
    assert done.returncode != 0
    assert done.stderr.startswith("ensure-postgres: apt-get install postgresql failed")
    assert "Unable to locate package postgresql" in done.stderr


def test_ensure_postgres_finds_the_server_installed_here() -> None:
    """On a machine with PostgreSQL, the script only reports where its binaries are."""
    from pg_server import find_bindir

    bindir = find_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server installed here")
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == f"{bindir}\n"
