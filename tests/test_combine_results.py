"""``python -m orchestration.combine_results``: merging the legs of a fan-out."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import assert_user_error, run_cli


def leg(tmp_path: Path, name: str, agent: str, text: str) -> None:
    src = tmp_path / f"{name}.in.json"
    src.write_text(json.dumps({"text": text}))
    out = tmp_path / "legs" / name / f"{agent}.json"
    proc = run_cli("-m", "agents.run", agent, src, "-o", out, "--run-id", "fan")
    assert proc.returncode == 0, proc.stderr


def test_merges_succeeded_legs_and_reports_failed_ones(tmp_path: Path) -> None:
    leg(tmp_path, "one", "word_count", "a b")
    leg(tmp_path, "two", "uppercase", "shout")
    failed = json.loads((tmp_path / "legs" / "two" / "uppercase.json").read_text())
    failed.update(agent="echo", status="failed", error="leg crashed", data=None)
    (tmp_path / "legs" / "three").mkdir()
    (tmp_path / "legs" / "three" / "echo.json").write_text(json.dumps(failed))
    (tmp_path / "legs" / "junk.json").write_text("{oops")

    out = tmp_path / "combined.json"
    proc = run_cli("-m", "orchestration.combine_results", tmp_path / "legs", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "merged 2 legs" in proc.stdout
    assert "failed leg echo: leg crashed" in proc.stderr
    assert "failed leg junk.json" in proc.stderr
    doc = json.loads(out.read_text())
    assert doc["schema_id"] == "forgeflow/CombinedResults"
    data = doc["data"]
    assert data["results"]["word_count"]["words"] == 2
    assert data["results"]["uppercase"]["text"] == "SHOUT"
    assert {f["leg"] for f in data["failures"]} == {"echo", "junk.json"}
    assert run_cli("-m", "orchestration", "validate", out).returncode == 0


def test_empty_or_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    assert_user_error(
        run_cli("-m", "orchestration.combine_results", tmp_path / "none", "-o", out),
        "no such folder",
    )
    (tmp_path / "empty").mkdir()
    assert_user_error(
        run_cli("-m", "orchestration.combine_results", tmp_path / "empty", "-o", out),
        "no result artifacts",
    )
    assert not out.exists()
