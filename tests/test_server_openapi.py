"""schemathesis against the live server's own OpenAPI document.

Every operation is called with generated requests (bounded in examples and time) and
every answer is checked: no server error, status codes the document declares, bodies and
content types that match it. The server runs with a bearer token; schemathesis's own
auth checks also send requests without it, which must be refused as documented. The
webhook route is fuzzed too: unsigned bodies must be 401s, never errors.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from server_harness import TOKEN, LiveServer, server_env  # noqa: E402

#: Generated requests per operation: enough to reach every error branch, few enough to
#: keep the test within seconds.
EXAMPLES = 10
#: Seconds schemathesis may spend in all (examples, coverage, fuzzing, stateful).
MAX_TIME = 45


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    cwd = tmp_path_factory.mktemp("openapi")
    env = server_env(
        FORGEFLOW_API_TOKENS="sha256:" + hashlib.sha256(TOKEN.encode()).hexdigest(),
        FORGEFLOW_WEBHOOK_SECRET="openapi-test-secret",
    )
    with LiveServer(cwd, "--max-body", str(256 * 1024), env=env) as server:
        yield server


def test_every_operation_conforms_to_its_document(live: LiveServer, tmp_path: Path) -> None:
    """The schemathesis command (its pytest plugin does not run under this pytest), with
    every check, a fixed seed, a bounded number of examples and a time budget."""
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{live.url}/openapi.json",
            "--checks",
            "all",
            # Schema-valid is not always acceptable: whether a diagram parses, an agent
            # exists or a setting is known is checked by the pipeline, not the schema.
            "--exclude-checks",
            "positive_data_acceptance",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--max-examples",
            str(EXAMPLES),
            "--max-time",
            str(MAX_TIME),
            "--seed",
            "15",
            # one: hypothesis parses lambdas with ast, and CPython 3.11's ast is not safe
            # to use from two threads at once ("AST constructor recursion depth mismatch")
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--no-color",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
        ],
        cwd=tmp_path,
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Traceback" not in live.logs()
    summary = proc.stdout[proc.stdout.rfind("SUMMARY") :]
    assert "Tested: 1" in summary, summary  # every operation was exercised
    assert " passed" in summary and "failures" not in summary, summary
