"""The model API key never reaches artifacts, state, caches, summaries or logs.

A whole SynthForge pipeline runs on a PNG diagram with a fake key against the local
stand-in (the vision stage calls the model), once through the CLI in a subprocess with
debug JSON logs and a GitHub job summary, once in-process with a model that fails with
the key quoted in its error text. Afterwards every file written under the test's folder
(the SQLite state store, the run's artifacts, the result cache, the job summary) and all
captured output and logs are searched for the key, and for its tail alone (which is what
a partly redacted echo would show). Neither is found.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openai_stub import Fault, OpenAIStub, no_external_network  # noqa: F401 (a fixture)
from raster_fixtures import png_bytes, webapp_reading

from agents.models.config import endpoint_from_env
from agents.models.openai_client import OpenAIModelClient
from orchestration.pipeline.runner import run_pipeline_file
from orchestration.resilience.retry import RetryPolicy

pytestmark = pytest.mark.usefixtures("no_external_network")

REPO = Path(__file__).resolve().parent.parent
PIPELINE = REPO / "pipelines" / "synthforge.yaml"
TAIL = "7f3a9c2e51d84b6f"
KEY = f"sk-forgeflow-FAKE-{TAIL}"


def leaks(root: Path, *texts: str) -> list[str]:
    """Where the key (or its tail) occurs: file paths under ``root`` and captured texts."""
    found = []
    needles = (KEY.encode(), TAIL.encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if any(n in data for n in needles):
            found.append(str(path.relative_to(root)))
    for i, text in enumerate(texts):
        if KEY in text or TAIL in text:
            found.append(f"captured text #{i}")
    return found


@pytest.fixture
def diagram(tmp_path: Path) -> Path:
    path = tmp_path / "input" / "architecture.png"
    path.parent.mkdir()
    path.write_bytes(png_bytes(1200, 900, [(100, 100, 64, 64, (0, 120, 212))]))
    return path


def test_cli_pipeline_run_writes_the_key_nowhere(tmp_path: Path, diagram: Path) -> None:
    written = [f for f in tmp_path.rglob("*") if f.is_file()]
    with OpenAIStub(key=KEY, default=webapp_reading()) as stub:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("FORGEFLOW_", "OPENAI_", "GITHUB_"))
        }
        env.update(
            FORGEFLOW_MODEL_BASE_URL=stub.base_url,
            FORGEFLOW_MODEL_API_KEY=KEY,
            FORGEFLOW_MODEL="gpt-4o",
            FORGEFLOW_LOG_LEVEL="DEBUG",
            FORGEFLOW_LOG_FORMAT="json",
            GITHUB_ACTIONS="true",
            GITHUB_STEP_SUMMARY=str(tmp_path / "step-summary.md"),
            HOME=str(tmp_path / "home"),
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "orchestration",
                "run",
                str(PIPELINE),
                "--input",
                str(diagram),
                "--set",
                "interactive.yes=true",
                "--state",
                f"sqlite:///{tmp_path / 'state.db'}",
                "--out",
                str(tmp_path / "out"),
                "--cache",
                str(tmp_path / "cache"),
            ],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        requests = list(stub.requests)
    assert proc.returncode == 0, proc.stderr
    # the key did travel, to the model and nowhere else
    assert [r.headers["authorization"] for r in requests] == [f"Bearer {KEY}"]
    new_files = [f for f in tmp_path.rglob("*") if f.is_file() and f not in written]
    names = {f.name for f in new_files}
    assert {"state.db", "step-summary.md", "summary.md", "output.json", "vision.json"} <= names
    assert any(f.parent.name != "out" and "cache" in f.parts for f in new_files)
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "model tokens in/out" in summary  # usage is recorded, the key is not
    assert '"level": "DEBUG"' in proc.stderr  # debug logs were on and were searched
    assert leaks(tmp_path, proc.stdout, proc.stderr) == []


def test_failing_model_quoting_the_key_leaks_nothing(
    tmp_path: Path,
    diagram: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    summary_file = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_file))
    with OpenAIStub(key=KEY) as stub:
        stub.default = Fault(500, message=f"upstream refused key {KEY} (ends {TAIL})")
        monkeypatch.setenv("FORGEFLOW_MODEL_BASE_URL", stub.base_url)
        monkeypatch.setenv("FORGEFLOW_MODEL_API_KEY", KEY)
        monkeypatch.setenv("FORGEFLOW_MODEL", "gpt-4o")
        endpoint = endpoint_from_env()
        assert endpoint is not None

        async def no_wait(_: float) -> None:
            return None

        client = OpenAIModelClient(endpoint, policy=RetryPolicy(max_attempts=2), sleep=no_wait)
        report = run_pipeline_file(
            PIPELINE,
            diagram,
            state=str(tmp_path / "state"),
            out_dir=tmp_path / "out",
            settings={"interactive": {"yes": True}},
            cache_dir=tmp_path / "cache",
            model_client=client,
        )
    assert not report.ok and report.failed_stage == "vision"
    assert report.error is not None and "HTTP 500: upstream refused key ***" in report.error
    assert summary_file.exists()
    captured = capsys.readouterr()
    assert "HTTP 500" in caplog.text or "HTTP 500" in captured.out
    assert leaks(tmp_path, caplog.text, captured.out, captured.err) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(f"bad key {KEY}.", "bad key ***.", id="whole-key"),
        pytest.param(
            f"Incorrect API key provided: sk-forg*************{TAIL[-4:]}. See docs.",
            "Incorrect API key provided: ***. See docs.",
            id="openai-style-masked-echo",
        ),
        pytest.param(f"key ending {TAIL}", "key ending ***", id="tail-alone"),
        pytest.param("model overloaded, retry later", "model overloaded, retry later", id="clean"),
    ],
)
def test_server_text_is_scrubbed_of_the_key(text: str, expected: str) -> None:
    from agents.models.openai_client import scrub_key

    assert scrub_key(text, KEY) == expected
