"""The directory store: its file layout, name encoding, run-id checks and damaged files.

The contract every store shares (round trips, replacement, isolation, resumability,
concurrent writers) is tested over all stores in ``test_sql_store.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.errors import StateStoreError
from orchestration.runtime.artifact import ArtifactStatus, Envelope
from orchestration.state.directory import DirectoryStore, decode_name, encode_name
from orchestration.state.open import open_store


def envelope(stage_data: str = "x") -> Envelope:
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    return Envelope(
        schema_id="forgeflow/Test",
        agent="test",
        run_id="run-1",
        correlation_id="run-1",
        input_digest="sha256:" + "0" * 64,
        started_at=at,
        finished_at=at,
        duration_ms=1.5,
        status=ArtifactStatus.SUCCEEDED,
        data={"value": stage_data},
    )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("vision", id="plain"),
        pytest.param("review/vision", id="slash"),
        pytest.param("loop#3", id="hash"),
        pytest.param("..", id="dot-dot"),
        pytest.param(".hidden", id="leading-dot"),
        pytest.param("a%2Fb", id="percent-looking-like-escape"),
        pytest.param("sécurité · 成本", id="non-ascii"),
        pytest.param("a b\\c:d*e?", id="shell-and-windows-specials"),
    ],
)
def test_names_are_stored_in_one_plain_file_and_listed_back(tmp_path: Path, name: str) -> None:
    store = DirectoryStore(tmp_path)
    store.put_stage("run-1", name, envelope(name))

    files = [p for p in (tmp_path / "runs" / "run-1").iterdir()]
    assert len(files) == 1 and files[0].is_file()
    assert not files[0].name.startswith(".")
    assert "/" not in files[0].name and "\\" not in files[0].name
    assert decode_name(files[0].name.removesuffix(".json")) == name
    assert store.list_stages("run-1") == [(name, envelope(name))]


def test_encoding_keeps_readable_names_readable() -> None:
    assert encode_name("network_flow") == "network_flow"
    assert encode_name("review/vision#2") == "review%2Fvision%232"


def test_layout_is_runs_and_values_folders_of_json(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    store.put_stage("run-1", "combine", envelope())
    store.put_value("breaker/vision", {"state": "open"})

    stage_doc = json.loads((tmp_path / "runs" / "run-1" / "combine.json").read_text())
    assert stage_doc["data"] == {"value": "x"}
    assert json.loads((tmp_path / "values" / "breaker%2Fvision.json").read_text()) == {
        "state": "open"
    }
    assert store.location == str(tmp_path)


def test_reads_create_nothing(tmp_path: Path) -> None:
    root = tmp_path / "state"
    store = DirectoryStore(root)
    assert store.get_stage("run-1", "a") is None
    assert store.list_stages("run-1") == []
    assert store.get_value("k") is None
    assert not root.exists()


@pytest.mark.parametrize(
    "run_id",
    [
        pytest.param("../escape", id="parent"),
        pytest.param("..", id="dot-dot"),
        pytest.param("a/b", id="slash"),
        pytest.param("/etc", id="absolute"),
        pytest.param(".hidden", id="leading-dot"),
        pytest.param("", id="empty"),
        pytest.param("x" * 129, id="too-long"),
        pytest.param("a\\b", id="backslash"),
    ],
)
def test_unsafe_run_ids_are_refused(tmp_path: Path, run_id: str) -> None:
    store = DirectoryStore(tmp_path / "state")
    with pytest.raises(StateStoreError, match="invalid run id"):
        store.put_stage(run_id, "a", envelope())
    with pytest.raises(StateStoreError, match="invalid run id"):
        store.list_stages(run_id)
    assert list(tmp_path.rglob("*.json")) == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b'{"schema_id": "forgeflow/T"', "not valid JSON", id="truncated"),
        pytest.param(b"\xff\xfe\x00garbage", "not UTF-8", id="binary"),
        pytest.param(b'{"hello": "world"}', "not an artifact envelope", id="not-an-envelope"),
        pytest.param(b"[]", "not an artifact envelope", id="json-array"),
    ],
)
def test_a_corrupt_stage_file_is_an_error_naming_the_file(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    store = DirectoryStore(tmp_path)
    store.put_stage("run-1", "review/vision", envelope())
    path = store.stage_path("run-1", "review/vision")
    path.write_bytes(content)

    with pytest.raises(StateStoreError) as info:
        store.get_stage("run-1", "review/vision")
    message = str(info.value)
    assert str(path) in message and reason in message
    assert "\n" not in message
    with pytest.raises(StateStoreError, match="corrupt state file"):
        store.list_stages("run-1")


def test_a_corrupt_value_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    store.put_value("k", [1, 2])
    store.value_path("k").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(StateStoreError) as info:
        store.get_value("k")
    assert f"{store.value_path('k')}: corrupt state file: not valid JSON" in str(info.value)


def test_listing_ignores_files_that_are_not_stage_files(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    store.put_stage("run-1", "a", envelope())
    run_dir = tmp_path / "runs" / "run-1"
    (run_dir / ".a.json.x1y2.tmp").write_text("half a docu", encoding="utf-8")  # killed writer
    (run_dir / "notes.txt").write_text("hello", encoding="utf-8")
    (run_dir / "%zz.json").write_text("{}", encoding="utf-8")  # not one of our encodings
    assert [stage for stage, _ in store.list_stages("run-1")] == ["a"]


def test_a_file_where_the_state_folder_should_be_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "state"
    target.write_text("", encoding="utf-8")
    with pytest.raises(StateStoreError, match=r"state folder .*state is a file"):
        open_store(target)


def test_open_store_picks_the_directory_store_for_paths(tmp_path: Path) -> None:
    for url in (tmp_path, str(tmp_path), f"dir:{tmp_path}", f"file:{tmp_path}"):
        store = open_store(url)
        assert isinstance(store, DirectoryStore)
        assert store.location == str(tmp_path)


def test_a_value_json_cannot_hold_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    store.put_value("k", 1)
    with pytest.raises(StateStoreError, match="'k' is not JSON-serialisable"):
        store.put_value("k", {"when": object()})
    with pytest.raises(StateStoreError, match="'k' is not JSON-serialisable"):
        store.put_value("k", float("nan"))
    assert store.get_value("k") == 1
    assert sorted(p.name for p in (tmp_path / "values").iterdir()) == ["k.json"]
