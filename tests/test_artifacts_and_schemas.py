"""Artifacts (envelope, atomic writes, validated reads) and the generated schemas."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_helpers import assert_user_error, run_cli

from agents.builtin import TextInput, WordCount
from agents.errors import SchemaViolation
from orchestration.runtime.artifact import digest, load_model, read_artifact, write_text_atomic
from orchestration.runtime.schemas import SCHEMAS_DIR, drift, generate


def test_committed_schemas_are_in_sync_with_the_models() -> None:
    assert drift() == [], "run: python -m orchestration schemas"


def test_drift_is_detected(tmp_path: Path) -> None:
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, copy)
    target = copy / "WordCount.json"
    doc = json.loads(target.read_text())
    doc["$defs"]["WordCount"]["properties"].pop("words")
    target.write_text(json.dumps(doc))
    (copy / "Stale.json").write_text("{}")
    problems = drift(copy)
    assert "WordCount.json: differs from the models" in problems
    assert "Stale.json: no model generates it" in problems
    generate(copy)
    assert drift(copy) == []


def test_digest_is_canonical() -> None:
    assert digest({"b": 1, "a": [1, 2]}) == digest({"a": [1, 2], "b": 1})
    assert digest(TextInput(text="x")) == digest({"text": "x"})
    assert digest({"a": 1}) != digest({"a": 2})


def test_atomic_write_leaves_old_content_when_interrupted(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.write_text("old")

    with pytest.raises(TypeError):
        write_text_atomic(target, 123)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_validate_cli_accepts_a_real_artifact_and_rejects_a_broken_one(tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text('{"text": "a b"}')
    good = tmp_path / "good.json"
    assert (
        run_cli("-m", "agents.run", "word_count", tmp_path / "in.json", "-o", good).returncode == 0
    )
    proc = run_cli("-m", "orchestration", "validate", good)
    assert proc.returncode == 0
    assert "valid forgeflow/WordCount" in proc.stdout

    doc = json.loads(good.read_text())
    doc["data"]["words"] = -1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    line = assert_user_error(run_cli("-m", "orchestration", "validate", bad), "bad.json")
    assert "$.data.words" in line and "minimum" in line


def test_read_artifact_names_file_and_path(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"schema_id": "forgeflow/WordCount", "agent": "x", "data": {}}))
    with pytest.raises(SchemaViolation, match=r"a.json: \$\.schema_version|a.json: \$\.run_id"):
        read_artifact(path)


def test_load_model_reads_bare_json_and_artifact_data(tmp_path: Path) -> None:
    bare = tmp_path / "bare.json"
    bare.write_text('{"text": "t", "words": 1, "characters": 1}')
    assert load_model(bare, WordCount).words == 1
    failed = tmp_path / "failed.json"
    failed.write_text(
        json.dumps(
            {
                "schema_id": "forgeflow/WordCount",
                "agent": "wc",
                "status": "failed",
                "error": "boom",
                "data": None,
            }
        )
    )
    with pytest.raises(Exception, match="status 'failed': boom"):
        load_model(failed, WordCount)
