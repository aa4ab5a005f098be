"""OpenTelemetry tracing: the span tree of a run, what spans may hold, and tracing off.

Spans are taken with the SDK's ``InMemorySpanExporter`` (through
``orchestration.tracing.configure``); the cross-process chain under ``act`` with a real
OTLP/HTTP receiver is in ``test_workflows_act.py``. Diagrams: ``../shared/corpus/diagrams``
(real public draw.io files; origins and licences in its SOURCES.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_cli

from agents.base import Agent, AgentConfig
from agents.builtin import TextInput, TextOutput
from agents.model_client import ChatMessage, ScriptedModelClient
from orchestration import tracing
from orchestration.github.dispatch import DispatchError, build_client_payload
from orchestration.pipeline.runner import run_pipeline_file
from orchestration.runtime.execution import RunContext, execute
from orchestration.runtime.monitoring import RunMonitor

otel_sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="needs forgeflow[otel]")
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

REPO = Path(__file__).resolve().parent.parent
WEBAPP = REPO / "examples" / "diagrams" / "webapp.drawio"
#: A real Azure diagram (SOURCES.md: Azure-Samples/functions-quickstart-python-azd-cosmosdb).
AZURE_DIAGRAM = (
    "Azure-Samples__functions-quickstart-python-azd-cosmosdb__diagrams_architecture.drawio"
)
TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure(exporter, service_name="forgeflow-test")
    try:
        yield exporter
    finally:
        tracing.reset()


def tree(finished: Any) -> dict[str, list[str]]:
    """Parent span name -> names of its children, in start order ("" for roots)."""
    by_id = {s.context.span_id: s for s in finished}
    children: dict[str, list[Any]] = {}
    for s in finished:
        parent = by_id.get(s.parent.span_id).name if s.parent and s.parent.span_id in by_id else ""
        children.setdefault(parent, []).append(s)
    return {k: [s.name for s in sorted(v, key=lambda s: s.start_time)] for k, v in children.items()}


def named(finished: Any, name: str) -> Any:
    (span,) = [s for s in finished if s.name == name]
    return span


def parent_of(finished: Any, span: Any) -> Any:
    return next(s for s in finished if s.context.span_id == span.parent.span_id)


# --------------------------------------------------------------------------- traceparent


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(TP, TP, id="valid"),
        pytest.param(f"  {TP.upper()} ", TP, id="upper-case-and-spaces"),
        pytest.param(TP[:-2] + "00", TP[:-2] + "00", id="not-sampled"),
        pytest.param("ff" + TP[2:], None, id="version-ff"),
        pytest.param(f"00-{'0' * 32}-00f067aa0ba902b7-01", None, id="zero-trace-id"),
        pytest.param(f"00-4bf92f3577b34da6a3ce929d0e0e4736-{'0' * 16}-01", None, id="zero-span"),
        pytest.param(TP + "-extra", None, id="version-00-with-more-fields"),
        pytest.param("01" + TP[2:] + "-future", "01" + TP[2:], id="later-version-extra-field"),
        pytest.param("00-4bf92f35-00f067aa0ba902b7-01", None, id="short-trace-id"),
        pytest.param("'; DROP TABLE runs; --", None, id="hostile-text"),
        pytest.param(None, None, id="none"),
        pytest.param(42, None, id="not-text"),
    ],
)
def test_traceparent_is_checked_as_w3c_says(value: Any, expected: str | None) -> None:
    assert tracing.parse_traceparent(value) == expected


def test_extract_finds_the_key_in_any_case_and_inject_writes_the_current_span(
    spans: InMemorySpanExporter,
) -> None:
    assert tracing.extract({"Traceparent": TP}) == TP
    assert tracing.extract({"traceparent": "garbage"}) is None
    assert tracing.extract(None) is None
    assert tracing.inject({}) == {}  # no span current
    with tracing.span("door", kind="server", parent=tracing.extract({"TRACEPARENT": TP})) as s:
        carrier = tracing.inject({})
        assert carrier == {"traceparent": s.traceparent}
    (door,) = spans.get_finished_spans()
    assert f"{door.context.trace_id:032x}" == TP.split("-")[1]
    assert f"{door.parent.span_id:016x}" == TP.split("-")[2] and door.parent.is_remote


# --------------------------------------------------------------------------- tracing off


def test_with_tracing_off_no_opentelemetry_module_is_imported_and_nothing_changes(
    tmp_path: Path,
) -> None:
    """The main command in-process with no OTEL_* set: no OpenTelemetry module loaded,
    no traceparent in any artifact, no trace line in the summary."""
    script = f"""
import json, sys
from pathlib import Path
from orchestration.pipeline.runner import run_pipeline_file
report = run_pipeline_file(
    Path({str(REPO / "pipelines" / "synthforge.yaml")!r}), Path({str(WEBAPP)!r}),
    state={str(tmp_path / "state")!r}, out_dir=Path({str(tmp_path / "out")!r}),
    settings={{"interactive": {{"yes": "true"}}}},
)
print(json.dumps({{"ok": report.ok, "trace_id": report.trace_id,
    "otel": sorted(m for m in sys.modules if m.startswith("opentelemetry"))}}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "GITHUB_"))}
    env["OTEL_TRACES_EXPORTER"] = "none"
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result == {"ok": True, "trace_id": None, "otel": []}
    for artifact in (tmp_path / "out").glob("*.json"):
        assert "traceparent" not in json.loads(artifact.read_text())
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "**Trace:**" not in summary
    assert "| CPU ms | peak memory MB |" in summary


# --------------------------------------------------------------------------- a SynthForge run


def test_span_tree_of_a_synthforge_run(
    spans: InMemorySpanExporter, corpus_diagrams: Path, tmp_path: Path
) -> None:
    """The IaC pipeline on a real Azure diagram, with real checkov: stages under the
    pipeline, the parallel branches under their group, the loop's iterations under the
    loop, every agent run with its attributes, state writes under their agent run."""
    if not (os.environ.get("FORGEFLOW_CHECKOV") or shutil.which("checkov")):
        pytest.skip("checkov is not installed (scripts/test.sh installs it)")
    iac = tmp_path / "iac"
    report = run_pipeline_file(
        REPO / "pipelines" / "synthforge-iac.yaml",
        corpus_diagrams / AZURE_DIAGRAM,
        state=str(tmp_path / "state"),
        run_id="traced-run",
        out_dir=tmp_path / "out",
        settings={"interactive": {"yes": "true"}, "write_modules": {"output_dir": str(iac)}},
    )
    assert report.ok
    finished = spans.get_finished_spans()
    shape = tree(finished)
    assert shape[""] == ["pipeline synthforge-iac"]
    assert shape["pipeline synthforge-iac"] == [
        "stage vision",
        "stage filter",
        "stage interactive",
        "stage analysis",
        "stage iac",
        "stage write_modules",
    ]
    assert shape["stage vision"] == ["invoke_agent vision"]
    assert shape["stage analysis"] == ["parallel analysis", "invoke_agent combine"]
    assert sorted(shape["parallel analysis"]) == [
        "invoke_agent cost_estimation",
        "invoke_agent network_flow",
        "invoke_agent security",
    ]
    assert shape["stage iac"] == ["loop iac"]
    loop_children = shape["loop iac"]
    assert loop_children[0] == "invoke_agent module_development"
    iterations = loop_children[1:]
    assert iterations == [f"loop_iteration iac#{i + 1}" for i in range(len(iterations))]
    assert iterations
    assert shape["loop_iteration iac#1"][0] == "invoke_agent code_quality"
    if len(iterations) > 1:
        assert shape["loop_iteration iac#1"] == [
            "invoke_agent code_quality",
            "invoke_agent code_quality_fixer",
        ]
    # every agent run writes its artifact to the state store inside its own span
    agent_spans = [s for s in finished if s.name.startswith("invoke_agent ")]
    assert len(agent_spans) == report.stages
    for s in agent_spans:
        assert shape.get(s.name, [])[-1:] == ["state put_stage"], s.name

    trace_ids = {s.context.trace_id for s in finished}
    assert len(trace_ids) == 1
    security = named(finished, "invoke_agent security")
    attributes = dict(security.attributes)
    assert attributes["gen_ai.operation.name"] == "invoke_agent"
    assert attributes["gen_ai.agent.name"] == attributes["forgeflow.agent"] == "security"
    assert attributes["forgeflow.stage"] == "analysis/security"
    assert attributes["forgeflow.run_id"] == "traced-run"
    assert attributes["forgeflow.correlation_id"] == "traced-run"
    assert attributes["forgeflow.status"] == "succeeded"
    assert attributes["forgeflow.cached"] is False and attributes["forgeflow.resumed"] is False
    stored = json.loads((tmp_path / "out" / "analysis__security.json").read_text())
    assert attributes["forgeflow.input_digest"] == stored["input_digest"]
    assert stored["traceparent"].split("-")[2] == f"{security.context.span_id:016x}"
    assert attributes["forgeflow.cpu_ms"] >= 0 and attributes["forgeflow.peak_rss_kb"] > 0
    first = named(finished, "loop_iteration iac#1")
    assert first.attributes["forgeflow.iteration"] == 1
    assert first.attributes["forgeflow.issues"] >= 0
    loop = named(finished, "loop iac")
    assert loop.attributes["forgeflow.iterations"] == len(iterations)
    pipeline = named(finished, "pipeline synthforge-iac")
    # the run's own status (a loop that leaves findings says so), and how many
    assert pipeline.attributes["forgeflow.status"] == report.status
    assert report.status in ("succeeded", "findings")
    assert pipeline.attributes["forgeflow.findings"] == len(report.findings)
    # the run summary names the trace; the run report too
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert report.trace_id == f"{pipeline.context.trace_id:032x}"
    assert f"**Trace:** `{report.trace_id}`" in summary

    # the same run again: every stage resumed, as the spans say
    spans.clear()
    again = run_pipeline_file(
        REPO / "pipelines" / "synthforge-iac.yaml",
        corpus_diagrams / AZURE_DIAGRAM,
        state=str(tmp_path / "state"),
        run_id="traced-run",
        out_dir=tmp_path / "out2",
        settings={"interactive": {"yes": "true"}, "write_modules": {"output_dir": str(iac)}},
    )
    assert again.ok and again.trace_id != report.trace_id
    resumed = [s for s in spans.get_finished_spans() if s.name.startswith("invoke_agent ")]
    assert resumed and all(s.attributes["forgeflow.resumed"] is True for s in resumed)


def test_a_failed_stage_marks_its_spans_failed_without_the_message(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    class Boom(Agent[TextInput, TextOutput]):
        name = "boom"
        input_model = TextInput
        output_model = TextOutput

        async def process(self, data: TextInput) -> TextOutput:
            raise RuntimeError(f"cannot handle {data.text}")

    from orchestration.patterns.sequential import SequentialPipeline

    result = asyncio.run(SequentialPipeline([Boom()], name="p").run({"text": "Secret Label 42"}))
    assert not result.ok
    finished = spans.get_finished_spans()
    boom = named(finished, "invoke_agent boom")
    assert boom.status.status_code.name == "ERROR" and not boom.status.description
    assert boom.attributes["error.type"] == "RuntimeError"
    assert named(finished, "pipeline p").status.status_code.name == "ERROR"
    assert "Secret Label 42" not in _dump(finished)


# --------------------------------------------------------------------------- model calls


class AskAgent(Agent[TextInput, TextOutput]):
    name = "ask"
    input_model = TextInput
    output_model = TextOutput

    async def process(self, data: TextInput) -> TextOutput:
        assert self.model_client is not None
        reply = await self.model_client.complete([ChatMessage(role="user", content=data.text)])
        return TextOutput(text=reply.content)


async def test_model_calls_are_genai_spans_under_their_agent_run(
    spans: InMemorySpanExporter,
) -> None:
    client = ScriptedModelClient(["four words of reply", "two more"], model="gpt-4o-mini")
    agent = AskAgent(AgentConfig(name="ask"), model_client=client)
    monitor = RunMonitor()
    run = await execute(agent, {"text": "the prompt text here"}, RunContext(monitor=monitor))
    assert run.ok
    assert agent.model_client is client  # the traced wrapper lives only during the run
    finished = spans.get_finished_spans()
    chat = named(finished, "chat gpt-4o-mini")
    assert parent_of(finished, chat).name == "invoke_agent ask"
    assert chat.kind.name == "CLIENT"
    assert dict(chat.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "scripted",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.output.type": "text",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 4,
        "gen_ai.usage.output_tokens": 4,
        "forgeflow.tool_calls_asked": 0,
    }
    invoke = named(finished, "invoke_agent ask")
    assert invoke.attributes["gen_ai.usage.input_tokens"] == 4
    assert invoke.attributes["forgeflow.model_calls"] == 1
    assert "the prompt text here" not in _dump(finished)
    assert "four words of reply" not in _dump(finished)
    (rec,) = monitor.records
    assert rec.trace_id == f"{invoke.context.trace_id:032x}"
    assert rec.cpu_ms is not None and rec.peak_rss_kb is not None


# --------------------------------------------------------------------------- no leaks


def _dump(finished: Any) -> str:
    """Everything a span exports, as text: names, attributes, events, status, resource."""
    return "\n".join(s.to_json() for s in finished)


def _texts(finished: Any) -> list[str]:
    """Every text a span exports: its name, and each text attribute, event and status
    description, and its resource's texts (numbers cannot hold a label)."""
    out: list[str] = []
    for s in finished:
        out.append(s.name)
        out += [v for v in s.attributes.values() if isinstance(v, str)]
        out += [v for v in s.resource.attributes.values() if isinstance(v, str)]
        for event in s.events:
            out.append(event.name)
            out += [v for v in event.attributes.values() if isinstance(v, str)]
        if s.status.description:
            out.append(s.status.description)
    return out


def _labels(diagram: Path) -> set[str]:
    from agents.synthforge.analysis.vision import detect_file

    found = detect_file(diagram)
    texts = {i.label for i in found.icons} | {c.label for c in found.containers}
    texts |= {c.label for c in found.connections} | {t.text for t in found.texts}
    return {t.strip() for t in texts if len(t.strip()) >= 3}


async def test_no_secret_prompt_or_diagram_label_in_any_exported_span(
    spans: InMemorySpanExporter,
    corpus_diagrams: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every corpus diagram through SynthForge with tracing on, the model key set; then a
    model-backed run against the local OpenAI-compatible stand-in with that key. No
    label, free text, connection label, prompt or key is in any exported span."""
    from openai_stub import OpenAIStub, client_for

    key = "sk-forgeflow-never-exported-0123456789"
    monkeypatch.setenv("FORGEFLOW_MODEL_API_KEY", key)
    diagrams = sorted(p for p in corpus_diagrams.iterdir() if p.suffix in (".drawio", ".xml"))
    assert len(diagrams) >= 16
    labels: set[str] = set()
    for i, diagram in enumerate(diagrams):
        labels |= _labels(diagram)
        report = await asyncio.to_thread(
            run_pipeline_file,
            REPO / "pipelines" / "synthforge.yaml",
            diagram,
            state=str(tmp_path / "state"),
            out_dir=tmp_path / f"out{i}",
            settings={"interactive": {"yes": "true"}},
        )
        assert report.ok, diagram.name
    assert len(labels) > 50  # the corpus has plenty of text to leak
    with OpenAIStub(key=key) as stub:
        stub.push("a reply that quotes Lease Container and the prompt")
        client = client_for(stub, "gpt-4o")
        try:
            agent = AskAgent(AgentConfig(name="ask"), model_client=client)
            run = await execute(agent, {"text": "Prompt about Lease Container"}, RunContext())
        finally:
            await client.aclose()
    assert run.ok
    finished = spans.get_finished_spans()
    assert any(s.name == "chat gpt-4o" for s in finished)
    assert named(finished, "chat gpt-4o").attributes["gen_ai.provider.name"] == "openai"
    text = _dump(finished)
    assert len([s for s in finished if s.name.startswith("invoke_agent ")]) == len(diagrams) * 7 + 1
    exported = _texts(finished)
    leaked = sorted(
        label
        for label in labels
        if any(re.search(rf"(?<!\w){re.escape(label)}(?!\w)", t) for t in exported)
    )
    assert leaked == []
    assert key not in text
    assert "Prompt about" not in text and "quotes Lease Container" not in text


async def test_pull_request_text_is_not_in_the_github_api_spans(
    spans: InMemorySpanExporter, tmp_path: Path, corpus_events: Path
) -> None:
    """State written to a real PR payload's body through the GitHub stand-in: the calls
    are spans; the PR's title and body, and the state written, are in none of them."""
    from conftest import require_corpus
    from github_stub import GitHubStub, Spec

    from orchestration.github.api import connect
    from orchestration.github.pr_state import PullRequestState

    token = "ghs_tracingTestTokenNeverExported0000"
    payload = json.loads((corpus_events / "pull_request.opened.payload.json").read_text())
    title, body = payload["pull_request"]["title"], payload["pull_request"]["body"]
    spec = Spec(require_corpus("github-rest") / "operations.json")
    with GitHubStub(spec, record=tmp_path / "requests.jsonl") as stub:
        repo, number = stub.seed_pull_request(payload)

        async def no_wait(_: float) -> None:
            return None

        state = PullRequestState(
            repo, number, connect(token, api_url=stub.url, sleep=no_wait), settle=0
        )
        await state.update("report", {"note": "state text that stays private"})
    finished = spans.get_finished_spans()
    calls = [s for s in finished if s.name == "github.api"]
    assert calls and all(s.kind.name == "CLIENT" for s in calls)
    assert all(s.attributes["forgeflow.github.attempts"] >= 1 for s in calls)
    text = _dump(finished)
    for private in (title, body, "state text that stays private", token):
        assert private and private not in text, private


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"OTEL_TRACES_EXPORTER": "jaeger"},
            "error: OTEL_TRACES_EXPORTER: unknown exporter 'jaeger'; use otlp, console or none",
            id="unknown-exporter",
        ),
        pytest.param(
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "error: OTEL_EXPORTER_OTLP_PROTOCOL=grpc: Forgeflow exports OTLP over http/protobuf "
            "only; unset it or set http/protobuf",
            id="grpc",
        ),
        pytest.param(
            {"OTEL_TRACES_EXPORTER": "console", "FORGEFLOW_TRACE_URL": "ftp://x/{trace_id}"},
            "error: FORGEFLOW_TRACE_URL must be an http(s) URL with {trace_id} in it, "
            "e.g. https://jaeger.example/trace/{trace_id}",
            id="bad-trace-url",
        ),
    ],
)
def test_a_tracing_setting_that_cannot_work_is_one_line_and_exit_2(
    env: dict[str, str], message: str, tmp_path: Path
) -> None:
    source = tmp_path / "in.json"
    source.write_text('{"text": "x"}')
    out = tmp_path / "out.json"
    proc = run_cli("-m", "agents.run", "echo", source, "-o", out, env=env)
    assert (proc.returncode, proc.stderr.strip()) == (2, message)
    assert not out.exists()


def test_console_exporter_writes_spans_to_stderr_and_keeps_stdout_for_the_command(
    tmp_path: Path,
) -> None:
    proc = run_cli(
        "-m",
        "orchestration",
        "dispatch",
        "--dry-run",
        "--event-type",
        "next",
        "--correlation-id",
        "c-1",
        env={"OTEL_TRACES_EXPORTER": "console", "OTEL_EXPORTER_OTLP_ENDPOINT": ""},
    )
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    traceparent = printed["client_payload"]["traceparent"]
    assert tracing.parse_traceparent(traceparent) == traceparent
    exported = json.loads(proc.stderr[proc.stderr.index("{") :])
    assert exported["name"] == "dispatch next"
    assert exported["context"]["span_id"] == "0x" + traceparent.split("-")[2]


def test_the_traceparent_counts_toward_the_ten_payload_keys(spans: InMemorySpanExporter) -> None:
    seven = {f"k{i}": i for i in range(7)}
    assert "traceparent" not in build_client_payload("c", 1, "7", seven)
    with tracing.span("dispatch") as s, pytest.raises(DispatchError) as caught:
        build_client_payload("c", 1, "7", seven, traceparent=s.traceparent)
    assert "11 top-level keys" in str(caught.value) and "traceparent" in str(caught.value)
    six = build_client_payload("c", 1, "7", dict(list(seven.items())[:6]), traceparent=TP)
    assert six["traceparent"] == TP and len(six) == 10
    with pytest.raises(DispatchError, match="'traceparent' is set by Forgeflow"):
        build_client_payload("c", 1, None, {"traceparent": TP})
    assert "traceparent" not in build_client_payload("c", 1, None, traceparent="bogus")


def test_summary_links_the_trace_when_a_trace_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.runtime.monitoring import RunRecord

    monitor = RunMonitor()
    trace_id = TP.split("-")[1]

    monitor.records.append(RunRecord(stage="s", agent="a", status="succeeded", duration_ms=1.0))
    assert f"**Trace:** `{trace_id}`" in monitor.summary_markdown(trace_id=trace_id)
    monkeypatch.setenv("FORGEFLOW_TRACE_URL", "https://jaeger.example/trace/{trace_id}")
    assert (
        f"**Trace:** [`{trace_id}`](https://jaeger.example/trace/{trace_id})"
        in monitor.summary_markdown(trace_id=trace_id)
    )
    assert "**Trace:**" not in monitor.summary_markdown(trace_id="not-a-trace-id")


def test_otlp_without_the_otel_extra_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    """The OpenTelemetry packages made unimportable (a package of the same name that
    refuses to load, first on the path): the run stops before anything is written."""
    blocker = tmp_path / "blocked" / "opentelemetry"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('not installed here')\n")
    source = tmp_path / "in.json"
    source.write_text('{"text": "x"}')
    out = tmp_path / "out.json"
    proc = run_cli(
        "-m",
        "agents.run",
        "echo",
        source,
        "-o",
        out,
        env={"OTEL_TRACES_EXPORTER": "otlp", "PYTHONPATH": str(blocker.parent)},
    )
    assert (proc.returncode, proc.stderr.strip()) == (
        2,
        "error: OTEL_TRACES_EXPORTER=otlp needs the OpenTelemetry packages: "
        "pip install 'forgeflow[otel]'",
    )
    assert not out.exists()


async def test_a_tool_using_agent_with_tracing_on_is_one_chat_span_per_model_round(
    spans: InMemorySpanExporter,
) -> None:
    """The assistant agent with one tool against the local OpenAI-compatible stand-in:
    the tool loop's two model rounds are two chat spans under the agent run, with the
    tools offered and asked for counted; the tool's arguments and answer are in none."""
    from openai_stub import OpenAIStub, ToolCalls, client_for

    from agents.models.assistant import AssistantAgent

    icon = "img/lib/azure2/compute/Function_Apps.svg"
    with OpenAIStub(key="sk-tools") as stub:
        stub.push(ToolCalls.of(("icon_lookup", {"icon": icon})), {"answer": "done", "sources": []})
        client = client_for(stub, "gpt-4o-mini")
        try:
            agent = AssistantAgent(
                AgentConfig(name="assistant", tools=["icon_lookup"]), model_client=client
            )
            async with agent:
                run = await execute(agent, {"task": "which type is it"}, RunContext())
        finally:
            await client.aclose()
    assert run.ok, run.error
    finished = spans.get_finished_spans()
    chats = [s for s in finished if s.name == "chat gpt-4o-mini"]
    assert len(chats) == 2
    assert {parent_of(finished, s).name for s in chats} == {"invoke_agent assistant"}
    assert [s.attributes["forgeflow.tool_calls_asked"] for s in chats] == [1, 0]
    assert all(s.attributes["forgeflow.tools_offered"] >= 1 for s in chats)
    text = _dump(finished)
    assert icon not in text and "which type is it" not in text
