"""Monitoring: run records, the markdown job summary, annotations and structured logs."""

from __future__ import annotations

import html
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.base import Agent, AgentResult
from agents.builtin import EchoAgent, TextInput
from agents.errors import ForgeflowError
from orchestration.runtime.execution import RunContext, execute
from orchestration.runtime.job_summary import (
    annotate_error,
    error_command,
    write_step_summary,
)
from orchestration.runtime.log import configure_logging
from orchestration.runtime.monitoring import RunMonitor, RunRecord, mermaid_label


class BoomAgent(Agent[TextInput, AgentResult]):
    """Fails on every input."""

    name = "boom"
    input_model = TextInput
    output_model = AgentResult

    async def process(self, data: TextInput) -> AgentResult:
        raise RuntimeError(f"cannot handle {data.text}\nsecond line")


def _table_rows(markdown: str) -> list[list[str]]:
    """The data rows of the first markdown table, split on unescaped pipes."""
    rows = [ln for ln in markdown.splitlines() if ln.startswith("| ")]
    out = []
    for row in rows[1:]:  # skip the header
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        out.append([c.strip() for c in cells])
    return out


def _mermaid_block(markdown: str) -> list[str]:
    lines = markdown.splitlines()
    start = lines.index("```mermaid")
    end = lines.index("```", start + 1)
    return lines[start + 1 : end]


def _decode_mermaid(label: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label)


# -- records via execute() --------------------------------------------------------------------


async def test_execute_records_every_run_with_status_and_error() -> None:
    monitor = RunMonitor()
    ctx = RunContext(monitor=monitor)
    await execute(EchoAgent(), {"text": "hi"}, ctx, stage="first")
    await execute(BoomAgent(), {"text": "x"}, ctx, stage="second")
    await execute(EchoAgent(), {"wrong": 1}, ctx, stage="third")

    assert [(r.stage, r.agent, r.status) for r in monitor.records] == [
        ("first", "echo", "succeeded"),
        ("second", "boom", "failed"),
        ("third", "echo", "failed"),
    ]
    assert monitor.records[1].error == "RuntimeError: cannot handle x second line"
    assert "$.text" in (monitor.records[2].error or "")
    assert all(r.run_id == ctx.run_id for r in monitor.records)
    assert [r.stage for r in monitor.failures] == ["second", "third"]


# -- summary table ---------------------------------------------------------------------------


async def test_summary_table_lists_each_run_and_totals() -> None:
    monitor = RunMonitor()
    ctx = RunContext(monitor=monitor)
    await execute(EchoAgent(), {"text": "hi"}, ctx, stage="vision")
    await execute(BoomAgent(), {"text": "x"}, ctx, stage="security")
    monitor.records.append(
        RunRecord(
            stage="cost",
            agent="cost_estimation",
            status="succeeded",
            duration_ms=1234.5,
            cached=True,
        )
    )
    md = monitor.summary_markdown(title="SynthForge")

    assert md.startswith("## SynthForge\n")
    assert (
        "| stage | agent | status | duration ms | cached/resumed | CPU ms | peak memory MB "
        "| error |" in md
    )
    rows = _table_rows(md)
    assert [row[:2] for row in rows] == [
        ["vision", "echo"],
        ["security", "boom"],
        ["cost", "cost_estimation"],
    ]
    assert rows[0][2].endswith("succeeded") and rows[1][2].endswith("failed")
    assert rows[2][3] == "1,234.5"
    assert rows[2][4] == "cached" and rows[0][4] == ""
    assert rows[1][-1] == "RuntimeError: cannot handle x second line"
    assert "**Total:** 3 runs (1 failed, 2 succeeded); 1 cached, 0 resumed;" in md


def test_title_keeps_code_spans_on_one_line() -> None:
    md = RunMonitor().summary_markdown(title="run `abc` of\n# pipeline <b>x</b>")
    assert md.splitlines()[0] == "## run `abc` of # pipeline &lt;b&gt;x&lt;/b&gt;"


def test_summary_of_an_empty_run_says_so() -> None:
    md = RunMonitor().summary_markdown(title="empty")
    assert "No agent ran." in md and "```mermaid" not in md


def test_table_cells_cannot_break_the_table() -> None:
    monitor = RunMonitor()
    monitor.records.append(
        RunRecord(
            stage="a|b",
            agent="x",
            status="failed",
            duration_ms=1.0,
            error="bad | pipe\nnew line <script>alert(1)</script>",
        )
    )
    md = monitor.summary_markdown(title="t | <b>")
    rows = _table_rows(md)
    assert len(rows) == 1 and len(rows[0]) == 8  # the header's columns, no more
    assert rows[0][0] == r"a\|b"
    assert "<script>" not in md and "<b>" not in md
    assert html.unescape(rows[0][-1]).replace("\\|", "|") == (
        "bad | pipe new line <script>alert(1)</script>"
    )


# -- mermaid ---------------------------------------------------------------------------------

NODE = re.compile(r'^  (n\d+)\["([^"\[\]|`<>\n]*)<br/>([^"\[\]|`<>\n]*)"\]$')
EDGE = re.compile(r"^  (n\d+) --> (n\d+)$")
OTHER = re.compile(r"^  (classDef \w+ [\w:#,]+|class n\d+ \w+)$")


def _parse_mermaid(block: list[str]) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str]]]:
    """Nodes and edges of our mermaid output; fails on any line of another shape."""
    assert block[0] == "graph LR"
    nodes: dict[str, tuple[str, str]] = {}
    edges: list[tuple[str, str]] = []
    for line in block[1:]:
        if m := NODE.match(line):
            nodes[m.group(1)] = (_decode_mermaid(m.group(2)), _decode_mermaid(m.group(3)))
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
        else:
            assert OTHER.match(line), f"unexpected mermaid line: {line!r}"
    return nodes, edges


HOSTILE = [
    pytest.param('say "hi"', id="double-quote"),
    pytest.param("a] --> evil[b", id="bracket-arrow"),
    pytest.param("x|y", id="pipe"),
    pytest.param("two\nlines\r\nhere", id="newlines"),
    pytest.param("a --> b", id="arrow"),
    pytest.param("```\n# heading", id="code-fence"),
    pytest.param("#quot; &amp; #35;", id="entity-lookalike"),
    pytest.param("<img src=x onerror=alert(1)>", id="html"),
    pytest.param("end", id="mermaid-keyword"),
    pytest.param("(round) {curly} ;semi", id="shapes"),
]


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_labels_stay_inside_their_node(label: str) -> None:
    monitor = RunMonitor()
    for i, stage in enumerate([label, "plain", label]):
        monitor.records.append(
            RunRecord(
                stage=stage,
                agent=label,
                status="failed" if i else "succeeded",
                duration_ms=3.0,
                error=label,
            )
        )
    md = monitor.summary_markdown(title=label)

    fences = [ln for ln in md.splitlines() if ln.lstrip().startswith(("```", "~~~"))]
    assert fences == ["```mermaid", "```"]  # the fence opens and closes once
    nodes, edges = _parse_mermaid(_mermaid_block(md))
    flat = " ".join(label.split())
    assert nodes["n0"][0] == flat and nodes["n2"][0] == flat
    assert nodes["n0"][1].startswith(flat + " succeeded")
    assert edges == [("n0", "n1"), ("n1", "n2")]


def test_mermaid_label_keeps_plain_names_readable() -> None:
    assert mermaid_label("vision stage_1") == "vision stage_1"
    assert mermaid_label('a"b') == "a#34;b"


def test_mermaid_edges_follow_after_and_nodes_are_styled_by_status() -> None:
    monitor = RunMonitor()
    recs = [
        RunRecord("review", "review", "succeeded", 1.0),
        RunRecord("network_flow", "nf", "succeeded", 1.0, after=["review"]),
        RunRecord("security", "sec", "failed", 1.0, after=["review"], error="x"),
        RunRecord("cost", "cost", "succeeded", 1.0, after=["review"], cached=True),
        RunRecord(
            "combine",
            "combine",
            "skipped",
            0.0,
            after=["network_flow", "security", "cost", "unknown"],
        ),
    ]
    monitor.records.extend(recs)
    block = _mermaid_block(monitor.summary_markdown())
    nodes, edges = _parse_mermaid(block)

    assert len(nodes) == 5
    assert sorted(edges) == [
        ("n0", "n1"),
        ("n0", "n2"),
        ("n0", "n3"),
        ("n1", "n4"),
        ("n2", "n4"),
        ("n3", "n4"),
    ]
    assert "  class n0 succeeded" in block
    assert "  class n2 failed" in block
    assert "  class n3 cached" in block
    assert "  class n4 skipped" in block


# -- step summary ----------------------------------------------------------------------------


def test_step_summary_appends_to_the_file(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("# from an earlier step\n", encoding="utf-8")
    env = {"GITHUB_STEP_SUMMARY": str(target)}

    assert write_step_summary("## one", env=env) == target
    write_step_summary("## two\n", env=env)

    assert target.read_text(encoding="utf-8") == "# from an earlier step\n## one\n## two\n"


def test_step_summary_is_a_no_op_without_the_variable(tmp_path: Path) -> None:
    assert write_step_summary("## one", env={}) is None
    assert list(tmp_path.iterdir()) == []


def test_step_summary_unwritable_file_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ForgeflowError, match=r"summary\.md.*cannot append the job summary"):
        write_step_summary("x", env={"GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "summary.md")})


def test_report_to_github_writes_summary_and_annotations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monitor = RunMonitor()
    monitor.records.append(RunRecord("vision", "vision", "failed", 2.0, error="no icons"))
    target = tmp_path / "summary.md"
    monitor.report_to_github(
        title="CI", env={"GITHUB_STEP_SUMMARY": str(target), "GITHUB_ACTIONS": "true"}
    )
    assert target.read_text(encoding="utf-8") == monitor.summary_markdown(title="CI")
    assert capsys.readouterr().out == (
        "::error title=Forgeflow%3A stage vision (agent vision) failed::no icons\n"
    )


# -- annotations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "printed"),
    [
        pytest.param({"GITHUB_ACTIONS": "true"}, True, id="actions"),
        pytest.param({}, False, id="unset"),
        pytest.param({"GITHUB_ACTIONS": "false"}, False, id="false"),
        pytest.param({"CI": "true"}, False, id="other-ci"),
    ],
)
def test_annotations_only_inside_github_actions(
    env: dict[str, str], printed: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert annotate_error("broken", file="a.json", env=env) is printed
    out = capsys.readouterr().out
    assert out == ("::error file=a.json::broken\n" if printed else "")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"message": "plain"}, "::error::plain", id="message-only"),
        pytest.param(
            {"message": "50% done\r\nnext", "file": "a.json", "line": 3, "title": "t"},
            "::error file=a.json,line=3,title=t::50%25 done%0D%0Anext",
            id="data-escapes",
        ),
        pytest.param(
            {"message": "m", "file": "dir,x/a:b.json", "title": "x::error::y,line=9"},
            "::error file=dir%2Cx/a%3Ab.json,title=x%3A%3Aerror%3A%3Ay%2Cline=9::m",
            id="property-escapes",
        ),
        pytest.param(
            {"message": "::warning::fake", "title": "100%\n"},
            "::error title=100%25%0A::::warning::fake",
            id="percent-newline-in-title",
        ),
    ],
)
def test_annotation_escaping(kwargs: dict[str, object], expected: str) -> None:
    assert error_command(**kwargs) == expected  # type: ignore[arg-type]


def test_emit_annotations_one_per_failed_run() -> None:
    monitor = RunMonitor()
    monitor.records.extend(
        [
            RunRecord("a", "x", "succeeded", 1.0),
            RunRecord("b", "y", "failed", 1.0, error="line one\nline two"),
            RunRecord("c", "z", "failed", 1.0, error="50%"),
        ]
    )
    out = io.StringIO()
    count = monitor.emit_annotations(file="in.json", env={"GITHUB_ACTIONS": "true"}, stream=out)
    assert count == 2
    assert out.getvalue().splitlines() == [
        "::error file=in.json,title=Forgeflow%3A stage b (agent y) failed::line one%0Aline two",
        "::error file=in.json,title=Forgeflow%3A stage c (agent z) failed::50%25",
    ]
    quiet = io.StringIO()
    assert monitor.emit_annotations(env={}, stream=quiet) == 0 and quiet.getvalue() == ""


# -- structured logs -------------------------------------------------------------------------


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _json_lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


@pytest.mark.usefixtures("restore_root_logger")
async def test_json_logs_carry_run_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_logs=True)
    monitor = RunMonitor()
    ctx = RunContext(monitor=monitor, run_id="run-42")
    await execute(EchoAgent(), {"text": "hi"}, ctx, stage="vision")
    await execute(BoomAgent(), {"text": "x"}, ctx, stage="security")

    captured = capsys.readouterr()
    assert captured.out == ""
    lines = [d for d in _json_lines(captured.err) if d["logger"] == "forgeflow.runs"]
    assert [(d["stage"], d["agent"], d["status"]) for d in lines] == [
        ("vision", "echo", "succeeded"),
        ("security", "boom", "failed"),
    ]
    for doc, rec in zip(lines, monitor.records, strict=True):
        assert doc["level"] == "INFO"
        assert doc["run_id"] == "run-42"
        assert doc["duration_ms"] == pytest.approx(rec.duration_ms, abs=0.001)
        assert isinstance(doc["timestamp"], str) and "T" in doc["timestamp"]
    assert lines[1]["error"] == "RuntimeError: cannot handle x second line"
    assert "security: agent boom failed" in str(lines[1]["message"])


@pytest.mark.parametrize(
    ("json_logs", "env", "is_json"),
    [
        pytest.param(None, {"FORGEFLOW_LOG_FORMAT": "json"}, True, id="env-json"),
        pytest.param(None, {"FORGEFLOW_LOG_FORMAT": "JSON"}, True, id="env-json-upper"),
        pytest.param(None, {}, False, id="default-text"),
        pytest.param(None, {"FORGEFLOW_LOG_FORMAT": "text"}, False, id="env-text"),
        pytest.param(False, {"FORGEFLOW_LOG_FORMAT": "json"}, False, id="argument-wins"),
        pytest.param(True, {}, True, id="argument-json"),
    ],
)
@pytest.mark.usefixtures("restore_root_logger")
def test_log_format_choice(
    json_logs: bool | None,
    env: dict[str, str],
    is_json: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json_logs=json_logs, env=env)
    logging.getLogger("forgeflow.test").info("hello %s", "world", extra={"stage": "s1"})
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    if is_json:
        doc = json.loads(err[0])
        assert doc["message"] == "hello world" and doc["stage"] == "s1"
        assert doc["logger"] == "forgeflow.test"
    else:
        assert err[0].endswith("INFO forgeflow.test: hello world stage=s1")


@pytest.mark.usefixtures("restore_root_logger")
def test_configure_twice_keeps_one_handler_and_honours_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json_logs=True)
    configure_logging(json_logs=True, level="warning")
    log = logging.getLogger("forgeflow.test")
    log.info("quiet")
    log.warning("loud")
    assert [d["message"] for d in _json_lines(capsys.readouterr().err)] == ["loud"]


@pytest.mark.usefixtures("restore_root_logger")
def test_unknown_log_level_is_a_user_error() -> None:
    with pytest.raises(ForgeflowError, match="log level 'LOUD': unknown"):
        configure_logging(level="LOUD")
