"""Run-level helpers (orchestration/pipeline/runs.py): start, resume, status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.errors import ForgeflowError, InputError
from orchestration.pipeline.runs import RunRecord, read_record, resume_run, run_status, start_run
from orchestration.state.open import open_store

REPO = Path(__file__).resolve().parent.parent
PIPELINE = REPO / "pipelines" / "synthforge.yaml"
DIAGRAM = REPO / "examples" / "diagrams" / "webapp.drawio"


def start(tmp_path: Path, run_id: str, **kwargs: object) -> RunRecord:
    """SynthForge on the example diagram, accepted as classified, in ``tmp_path``."""
    return start_run(
        PIPELINE,
        DIAGRAM,
        state=str(tmp_path / "state"),
        run_id=run_id,
        out_dir=tmp_path / "out" / run_id,
        settings={"interactive": {"yes": "true"}},
        **kwargs,  # type: ignore[arg-type]
    )


def test_start_records_the_run_and_its_outcome(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    record = start(tmp_path, "r1")
    assert record.status == "succeeded" and record.stages == 7 and record.resumed == 0
    assert record.finished_at is not None and record.finished_at >= record.started_at
    assert Path(record.report or "").is_file() and Path(record.output or "").is_file()
    with open_store(state) as store:
        assert read_record(store, "r1") == record
    status = run_status("r1", state=state)
    assert status.status == "succeeded" and status.record == record
    assert [s.stage for s in status.stages][:2] == ["analysis/combine", "analysis/cost_estimation"]
    assert all(s.status == "succeeded" for s in status.stages) and len(status.stages) == 7


def test_bad_input_leaves_no_record(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    with pytest.raises(InputError, match="missing.drawio"):
        start_run(PIPELINE, tmp_path / "missing.drawio", state=state, run_id="r2")
    with pytest.raises(ForgeflowError, match="unknown setting 'regoin'"):
        start_run(
            PIPELINE,
            DIAGRAM,
            state=state,
            run_id="r2",
            settings={"cost_estimation": {"regoin": "x"}},
        )
    with pytest.raises(InputError, match="no such run"):
        run_status("r2", state=state)


def test_resume_reruns_from_the_changed_stage(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    first = start(tmp_path, "r3")
    again = resume_run("r3", state=state)
    assert again.status == "succeeded" and again.resumed == 7
    changed = resume_run("r3", state=state, settings={"cost_estimation": {"region": "eastus"}})
    # everything but the cost estimate (and the combine after it) is taken from the store
    assert changed.resumed == 5 and changed.settings["interactive"] == {"yes": "true"}
    output = json.loads(Path(changed.output or "").read_text())
    assert output["data"]["cost"]["region"] == "eastus"
    assert changed.started_at > first.started_at


def test_a_failed_resume_by_user_error_keeps_the_record(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    ok = start(tmp_path, "r4")
    bad = tmp_path / "decisions.json"
    bad.write_text(
        '{"reviewer": "bob", "decisions": [{"action": "remove", "resource_id": "nope"}]}'
    )
    with pytest.raises(ForgeflowError, match="nope"):
        resume_run("r4", state=state, settings={"interactive": {"decisions": str(bad)}})
    with open_store(state) as store:
        assert read_record(store, "r4") == ok


def test_unknown_and_bad_run_ids(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such run"):
        resume_run("never", state=str(tmp_path / "state"))
    with pytest.raises(ForgeflowError, match="invalid run id"):
        run_status("../x", state=str(tmp_path / "state"))


def test_a_cli_run_has_stages_but_no_record(tmp_path: Path) -> None:
    from orchestration.pipeline.runner import run_pipeline_file

    state = str(tmp_path / "state")
    run_pipeline_file(
        PIPELINE,
        DIAGRAM,
        state=state,
        run_id="cli",
        out_dir=tmp_path / "out",
        settings={"interactive": {"yes": "true"}},
    )
    status = run_status("cli", state=state)
    assert status.status == "unknown" and status.record is None and len(status.stages) == 7


def test_a_run_the_server_hands_to_workers_is_seen_by_status(tmp_path: Path) -> None:
    """One store, one run from every door: `orchestration status` (and the MCP tool, which
    calls the same function) reads the record the HTTP server's workers keep."""
    from click.testing import CliRunner

    from orchestration.cli import main
    from orchestration.pipeline import queued_runs
    from orchestration.pipeline.executor import execute_run

    state = f"sqlite:///{tmp_path / 'server.db'}"
    with open_store(state) as store:
        queued_runs.start_run(
            store,
            pipeline_yaml=PIPELINE.read_text(encoding="utf-8"),
            input_name=DIAGRAM.name,
            input_bytes=DIAGRAM.read_bytes(),
            run_id="srv1",
        )
    status = run_status("srv1", state=state)
    assert status.status == "queued" and status.record is None and status.stages == []
    assert status.queued is not None and status.queued.input_name == "webapp.drawio"

    with open_store(state) as store:
        execute_run(store, "srv1", tmp_path / "work")
    status = run_status("srv1", state=state)
    assert status.status == "waiting_for_review"  # no decisions given: it stops at the review
    assert status.queued is not None and status.queued.review is not None
    assert status.stages and all(s.status == "succeeded" for s in status.stages)

    result = CliRunner().invoke(main, ["status", "srv1", "--state", state])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["status"] == "waiting_for_review" and shown["queued"]["id"] == "srv1"


def test_a_damaged_server_record_is_a_one_line_error(tmp_path: Path) -> None:
    from agents.errors import StateStoreError
    from orchestration.pipeline.queued_runs import RUN_KEY

    state = str(tmp_path / "state")
    with open_store(state) as store:
        store.put_value(RUN_KEY + "bad", {"id": "bad", "status": "nonsense"})
    with pytest.raises(StateStoreError, match="record of run 'bad' is damaged"):
        run_status("bad", state=state)
