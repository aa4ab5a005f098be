"""Hostile and careless input: one table test per defect found, each named for it.

Every case asserts what a user would notice: one clear line and exit code 2 (or the
documented result), nothing written, nothing lost, untrusted text inert.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import assert_user_error, run_cli

from agents.errors import ForgeflowError, InputError

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "diagrams" / "webapp.drawio"
PIPELINE = REPO / "pipelines" / "synthforge.yaml"
APP_LABEL = 'value="App Service&lt;br&gt;app-orders-web"'

#: Address-space cap for the bomb tests: far below what an expanded bomb would need.
MEMORY_CAP = 1024 * 1024 * 1024
_CAPPED = (
    "import resource, runpy, sys\n"
    "resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))\n"
    "sys.argv = [sys.argv[1], *sys.argv[2:]]\n"
    "runpy.run_module(sys.argv[0], run_name='__main__')\n"
)


def capped(module: str, *args: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` under a 1 GB address-space cap."""
    return run_cli("-c", _CAPPED.format(cap=MEMORY_CAP), module, *args, **kwargs)


def diagram_with_label(tmp_path: Path, label: str, name: str = "labelled.drawio") -> Path:
    """The example diagram with the App Service's label replaced by ``label``."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert APP_LABEL in text
    path = tmp_path / name
    path.write_text(text.replace(APP_LABEL, f'value="{escape(label, quote=True)}"'), "utf-8")
    return path


def run_synthforge(tmp_path: Path, diagram: Path) -> Any:
    from orchestration.pipeline.runner import run_pipeline_file

    return run_pipeline_file(
        PIPELINE,
        diagram,
        state=str(tmp_path / "state"),
        out_dir=tmp_path / "out",
        settings={"interactive": {"yes": "true"}},
    )


def outside_code(markdown: str) -> str:
    """``markdown`` without its fenced code blocks and inline code spans."""
    no_fences = re.sub(r"(?ms)^```.*?^```[ \t]*$", "", markdown)
    return re.sub(r"`[^`\n]*`", "", no_fences)


def nothing_in(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


# --------------------------------------------------------------------------- 1


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        pytest.param("ping @octocat now", "@octocat", id="user-mention"),
        pytest.param("ask @my-org/reviewers", "@my-org/reviewers", id="team-mention"),
        pytest.param("fixes #123", "#123", id="issue-link"),
        pytest.param("see GH-1", "GH-1", id="gh-link"),
    ],
)
def test_01_mentions_and_issue_links_are_inert_on_github(
    tmp_path: Path, text: str, raw: str
) -> None:
    """A label, file name or branch holding a mention reaches report.md, the sticky comment
    and the job summary inert, yet readable (only an invisible character is added)."""
    from orchestration.github.pr_state import sticky_body
    from orchestration.runtime.job_summary import write_step_summary

    report = run_synthforge(tmp_path, diagram_with_label(tmp_path, f"App {text}"))
    assert report.ok and report.report is not None
    written = {
        "report.md": report.report.read_text(encoding="utf-8"),
        "artifact report_markdown": json.loads(report.output.read_text(encoding="utf-8"))["data"][
            "report_markdown"
        ],
        "sticky comment": sticky_body("report", f"Branch `x` said: {text}"),
    }
    summary_file = tmp_path / "step-summary.md"
    write_step_summary(f"| stage | {text} |", env={"GITHUB_STEP_SUMMARY": str(summary_file)})
    written["job summary"] = summary_file.read_text(encoding="utf-8")
    for where, markdown in written.items():
        prose = outside_code(markdown)  # GitHub links nothing inside code
        assert raw not in prose, f"{where} holds a live {raw!r}"
        visible = prose.replace("\u200b", "").replace("\\", "")
        assert raw in visible, f"{where} no longer reads {raw!r}"


def test_01_code_and_urls_are_left_as_they_are() -> None:
    """Inside code and URLs GitHub links nothing, and the characters matter."""
    from orchestration.runtime.markdown import neutralise

    text = '```mermaid\nn1["#64;octocat #35;1"]\n```\n`@octocat` <https://x.io/a#123> @b\n'
    out = neutralise(text)
    assert out.startswith(
        '```mermaid\nn1["#64;octocat #35;1"]\n```\n`@octocat` <https://x.io/a#123>'
    )
    assert out.endswith("@\u200bb\n")
    assert neutralise(out) == out, "neutralising twice changes nothing"


# --------------------------------------------------------------------------- 2


@pytest.mark.parametrize(
    ("schema_id", "own_schemas", "needle"),
    [
        pytest.param(
            "forgeflow/../agents/synthforge/data/prices", False, "unknown schema", id="traversal"
        ),
        pytest.param("forgeflow/../junk", True, "unknown schema", id="traversal-to-junk"),
        pytest.param("forgeflow//etc/passwd", False, "unknown schema", id="absolute"),
        pytest.param("forgeflow/Junk", True, "not a readable JSON Schema", id="junk-by-name"),
        pytest.param("forgeflow/Missing", True, "no schema Missing.json", id="missing-by-name"),
    ],
)
def test_02_validate_loads_only_committed_schemas_by_name(
    tmp_path: Path, schema_id: str, own_schemas: bool, needle: str
) -> None:
    """Only the schemas in the folder may be loaded, by bare name; the case seen was a
    schema id pointing at the price table, reported valid."""
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "Junk.json").write_text("not json {", encoding="utf-8")
    (tmp_path / "junk.json").write_text("not json {", encoding="utf-8")
    artifact = tmp_path / "artifact.json"
    artifact.write_text(json.dumps({"schema_id": schema_id, "agent": "x", "data": {}}), "utf-8")
    args: list[str | Path] = ["-m", "orchestration", "validate", artifact]
    if own_schemas:
        args += ["--schemas", schemas]
    proc = run_cli(*args)
    assert_user_error(proc, needle)
    assert "valid" not in proc.stdout


# --------------------------------------------------------------------------- 3


def _nested(depth: int, kind: str) -> str:
    """JSON text nested ``depth`` deep (built as text: too deep for ``json.dumps``)."""
    opens, closes = [], []
    for n in range(depth):
        if kind == "array" or (kind == "mixed" and n % 2):
            opens.append("[")
            closes.append("]")
        else:
            opens.append('{"k":')
            closes.append("}")
    return "".join(opens) + '"leaf"' + "".join(reversed(closes))


@pytest.mark.parametrize(
    ("depth", "kind", "field"),
    [
        pytest.param(977, "array", "text", id="array-977-in-typed-field"),
        pytest.param(977, "object", "text", id="object-977-in-typed-field"),
        pytest.param(977, "array", "extra", id="array-977"),
        pytest.param(900, "mixed", "extra", id="mixed-900"),
        pytest.param(100, "array", "text", id="array-100-in-typed-field"),
    ],
)
def test_03_deep_nesting_inside_data_is_one_line(
    tmp_path: Path, depth: int, kind: str, field: str
) -> None:
    """The case seen: an array 977 deep where the schema wants a string ended in a
    RecursionError traceback (jsonschema quoting the value)."""
    artifact = tmp_path / "deep.json"
    doc = {
        "schema_id": "forgeflow/TextOutput",
        "schema_version": "1.0",
        "agent": "echo",
        "run_id": "r",
        "correlation_id": "c",
        "input_digest": "sha256:0",
        "started_at": "2024-01-01T00:00:00Z",
        "finished_at": "2024-01-01T00:00:00Z",
        "duration_ms": 0,
        "status": "succeeded",
        "data": {"text": "x", field: "NESTED"},
    }
    text = json.dumps(doc).replace('"NESTED"', _nested(depth, kind))
    artifact.write_text(text, encoding="utf-8")
    proc = run_cli("-m", "orchestration", "validate", artifact)
    assert_user_error(proc, str(artifact), "nested deeper than")
    out = tmp_path / "out.json"
    proc = run_cli("-m", "agents.run", "word_count", artifact, "-o", out)
    assert_user_error(proc, str(artifact), "nested deeper than")
    assert not out.exists()


# --------------------------------------------------------------------------- 4


def _special(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.drawio"
    if kind == "link-to-dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-to-fifo":
        os.mkfifo(tmp_path / "pipe")
        path.symlink_to(tmp_path / "pipe")
    elif kind == "link-to-folder":
        path.symlink_to(tmp_path)
    return path


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        pytest.param("link-to-dev-zero", "not a regular file (a device)", id="link-to-dev-zero"),
        pytest.param("fifo", "not a regular file (a FIFO)", id="fifo"),
        pytest.param("link-to-fifo", "not a regular file (a FIFO)", id="link-to-fifo"),
        pytest.param("link-to-folder", "is a folder", id="link-to-folder"),
    ],
)
@pytest.mark.parametrize("door", ["agents.run", "orchestration run"])
def test_04_a_diagram_must_be_a_regular_file(
    tmp_path: Path, kind: str, needle: str, door: str
) -> None:
    """Never read without end: refused before any read, in one line."""
    path = _special(tmp_path, kind)
    out = tmp_path / "out"
    if door == "agents.run":
        proc = run_cli("-m", "agents.run", "vision", path, "-o", out / "v.json", timeout=20)
    else:
        proc = run_cli(
            "-m", "orchestration", "run", PIPELINE, "--input", path, "--out", out,
            "--state", tmp_path / "state", "--set", "interactive.yes=true", timeout=20,
        )  # fmt: skip
    assert_user_error(proc, str(path), needle)
    assert nothing_in(out)


def _list_step_script() -> str:
    workflow = yaml.safe_load((REPO / ".github/workflows/synthforge-pr.yml").read_text("utf-8"))
    steps = [step for job in workflow["jobs"].values() for step in job.get("steps", [])]
    run = next(s["run"] for s in steps if s.get("id") == "list")
    return run.split("<<'PY'\n", 1)[1].rsplit("PY", 1)[0]


@pytest.mark.parametrize(
    ("make", "refused"),
    [
        pytest.param("link", True, id="committed-symlink"),
        pytest.param("file", False, id="regular-file"),
    ],
)
def test_04_the_pr_workflow_refuses_symlinked_diagrams(
    tmp_path: Path, make: str, refused: bool
) -> None:
    """The diagrams job's own script, run on a clone whose change commits a link."""
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=repo, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q")
    (repo / "README").write_text("x\n")
    git("add", "README")
    git("commit", "-qm", "base")
    base = git("rev-parse", "HEAD")
    if make == "link":
        (repo / "evil.drawio").symlink_to("/dev/zero")
    else:
        (repo / "ok.drawio").write_text(EXAMPLE.read_text(encoding="utf-8"))
    git("add", "-A")
    git("commit", "-qm", "change")
    output = tmp_path / "github-output"
    output.write_text("")
    proc = subprocess.run(
        [sys.executable, "-c", _list_step_script()],
        cwd=repo,
        env={
            **os.environ, "BASE_SHA": base, "GITHUB_OUTPUT": str(output), "PR_NUMBER": "7",
            "GROUP_SIZE": "20",
        },
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if refused:
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "::error" in proc.stdout and "symbolic link" in proc.stdout
        assert output.read_text() == "", "no diagram list for a refused change"
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "count=1" in output.read_text()


# --------------------------------------------------------------------------- 5


def _target(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"target-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-to-stdout":
        path.symlink_to("/proc/self/fd/1")
    elif kind == "link-to-file":
        (tmp_path / "real.json").write_text("keep me")
        path.symlink_to(tmp_path / "real.json")
    elif kind == "device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a null device, in tmp
        except (PermissionError, OSError) as exc:
            pytest.skip(f"cannot create a device node here: {exc}")
    return path


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        pytest.param("fifo", "a FIFO, not a regular file", id="fifo"),
        pytest.param("link-to-stdout", "is a symbolic link", id="link-to-proc-self-fd-1"),
        pytest.param("link-to-file", "is a symbolic link", id="link-to-file"),
        pytest.param("device", "a device, not a regular file", id="device"),
    ],
)
def test_05_output_onto_something_not_a_regular_file_is_refused(
    tmp_path: Path, kind: str, needle: str
) -> None:
    target = _target(tmp_path, kind)
    before = target.lstat()
    data = tmp_path / "in.json"
    data.write_text('{"text": "a b"}')
    proc = run_cli("-m", "agents.run", "word_count", data, "-o", target, timeout=60)
    assert_user_error(proc, str(target), needle)
    after = target.lstat()
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino), "left as it was"
    if kind == "link-to-file":
        assert (tmp_path / "real.json").read_text() == "keep me"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- 6

_SECRET = "S3cret-pw"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(f"postgresql://bob@127.0.0.1:1/db?password={_SECRET}", id="query-password"),
        pytest.param(f"postgresql://bob:{_SECRET}@127.0.0.1:1/db", id="userinfo-password"),
        pytest.param(
            f"postgresql://bob@127.0.0.1:1/db?sslmode=disable&sslpassword={_SECRET}",
            id="sslpassword",
        ),
        pytest.param(
            f"postgres://bob@127.0.0.1:1/db?password={_SECRET}&connect_timeout=2",
            id="postgres-scheme",
        ),
    ],
)
def test_06_a_password_in_the_state_url_is_never_printed_on_failure(
    tmp_path: Path, url: str
) -> None:
    pytest.importorskip("psycopg")
    data = tmp_path / "in.json"
    data.write_text('{"text": "a b"}')
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: p\nstages:\n  - agent: word_count\n")
    proc = run_cli(
        "-m", "orchestration", "run", pipeline, "--input", data, "--state", url,
        "--out", tmp_path / "out", timeout=60,
    )  # fmt: skip
    line = assert_user_error(proc, "cannot reach PostgreSQL", "***")
    assert _SECRET not in proc.stdout + proc.stderr, line


@pytest.mark.postgres
@pytest.mark.parametrize("param", ["password", "sslpassword"])
def test_06_a_password_in_the_state_url_is_never_printed_on_success(
    tmp_path: Path, postgres_url: str, param: str
) -> None:
    data = tmp_path / "in.json"
    data.write_text('{"text": "a b"}')
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: p\nstages:\n  - agent: word_count\n")
    sep = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{sep}{param}={_SECRET}"
    proc = run_cli(
        "-m", "orchestration", "run", pipeline, "--input", data, "--state", url,
        "--out", tmp_path / "out", timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    state_line = next(line for line in proc.stdout.splitlines() if line.startswith("state:"))
    assert "***" in state_line
    assert _SECRET not in proc.stdout + proc.stderr


# --------------------------------------------------------------------------- 7

_BOMB_ANCHORS = """
        a: &a ["x","x","x","x","x","x","x","x","x","x"]
        b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
        c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
        d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
        e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
        f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
        g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
        h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]"""


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        pytest.param(
            "name: bomb\nstages:\n  - agent: interactive\n    settings:\n      decisions:"
            + _BOMB_ANCHORS
            + "\n",
            "YAML aliases expand",
            id="bomb-in-settings-decisions",
        ),
        pytest.param(
            "name: bomb\nstages:\n  - agent: filter\n    settings:\n      x:"
            + _BOMB_ANCHORS
            + "\n",
            "YAML aliases expand",
            id="bomb-in-settings",
        ),
        pytest.param(
            "name: bomb\nstages:\n  - agent: filter\n    settings: &s {x: *s}\n",
            "refers to itself",
            id="recursive-alias",
        ),
    ],
)
def test_07_yaml_alias_bombs_are_refused_before_they_expand(
    tmp_path: Path, text: str, needle: str
) -> None:
    pipeline = tmp_path / "bomb.yaml"
    pipeline.write_text(text, encoding="utf-8")
    proc = capped(
        "orchestration", "run", pipeline, "--input", EXAMPLE, "--out", tmp_path / "out",
        "--state", tmp_path / "state", timeout=60,
    )  # fmt: skip
    assert_user_error(proc, str(pipeline), needle)
    assert nothing_in(tmp_path / "out")


# --------------------------------------------------------------------------- 8


def _envelope(data: dict[str, Any], schema: str = "TextOutput") -> dict[str, Any]:
    return {
        "schema_id": f"forgeflow/{schema}",
        "schema_version": "1.0",
        "agent": "echo",
        "run_id": "r",
        "correlation_id": "c",
        "input_digest": "sha256:0",
        "started_at": "2024-01-01T00:00:00Z",
        "finished_at": "2024-01-01T00:00:00Z",
        "duration_ms": 0,
        "status": "succeeded",
        "data": data,
    }


@pytest.mark.parametrize("door", ["agents.run", "validate"])
def test_08_an_artifact_over_the_size_limit_is_refused(tmp_path: Path, door: str) -> None:
    """The limit is settable (FORGEFLOW_MAX_ARTIFACT_BYTES); lowered here to 1 MB so the
    case stays small."""
    artifact = tmp_path / "big.json"
    artifact.write_text(json.dumps(_envelope({"text": "word " * 400_000})), encoding="utf-8")
    env = {"FORGEFLOW_MAX_ARTIFACT_BYTES": str(1024 * 1024)}
    out = tmp_path / "out.json"
    if door == "agents.run":
        proc = run_cli("-m", "agents.run", "word_count", artifact, "-o", out, env=env)
    else:
        proc = run_cli("-m", "orchestration", "validate", artifact, env=env)
    assert_user_error(proc, str(artifact), "over the 1 MB limit", "FORGEFLOW_MAX_ARTIFACT_BYTES")
    assert not out.exists()


@pytest.mark.parametrize(
    ("door", "data"),
    [
        pytest.param("validate", {"text": ["x" * 2_000_000]}, id="validate-huge-array"),
        pytest.param("validate", {"text": {"k" * 1_000_000: 1}}, id="validate-huge-key"),
        pytest.param("agents.run", {"text": 1, "k" * 1_000_000: 2}, id="run-huge-extra-key"),
    ],
)
def test_08_an_error_line_is_cut_to_a_readable_length(
    tmp_path: Path, door: str, data: dict[str, Any]
) -> None:
    artifact = tmp_path / "bad.json"
    artifact.write_text(json.dumps(_envelope(data)), encoding="utf-8")
    if door == "validate":
        proc = run_cli("-m", "orchestration", "validate", artifact)
    else:
        proc = run_cli("-m", "agents.run", "word_count", artifact, "-o", tmp_path / "o.json")
    from agents.errors import MAX_ERROR_CHARS

    line = assert_user_error(proc, str(artifact))
    assert len(line) <= len("error: ") + MAX_ERROR_CHARS, len(line)


def test_08_huge_labels_make_a_bounded_report(tmp_path: Path) -> None:
    """The case seen: an 18 MB diagram with huge labels wrote a 144 MB report.md."""
    label = "Huge " + "label " * 200_000  # 1.2 MB of one label
    report = run_synthforge(tmp_path, diagram_with_label(tmp_path, label))
    text = report.report.read_text(encoding="utf-8")
    assert len(text) <= 1_000_000, len(text)
    assert max(len(line) for line in text.splitlines()) < 5_000
    assert "Huge label label" in text, "the label is still shown, cut"
    from agents.synthforge.analysis.report import MAX_REPORT_CHARS

    assert len(text) <= MAX_REPORT_CHARS


# --------------------------------------------------------------------------- 9

_KV = "image;html=1;image=img/lib/azure2/security/Key_Vaults.svg;"
_SQL = "image;html=1;image=img/lib/azure2/databases/SQL_Database.svg;"


def _cell(cid: str, style: str, label: str, x: int) -> str:
    return (
        f'<mxCell id="{cid}" value="{label}" style="{style}" vertex="1" parent="1">'
        f'<mxGeometry x="{x}" y="0" width="60" height="60" as="geometry"/></mxCell>'
    )


def _edge(cid: str, source: str, target: str) -> str:
    return (
        f'<mxCell id="{cid}" edge="1" parent="1" source="{source}" target="{target}">'
        '<mxGeometry relative="1" as="geometry"/></mxCell>'
    )


def _page(page_id: str, cells: str) -> str:
    return (
        f'<diagram id="{page_id}" name="{page_id}"><mxGraphModel><root>'
        f'<mxCell id="0"/><mxCell id="1" parent="0"/>{cells}</root></mxGraphModel></diagram>'
    )


def test_09_one_cell_id_twice_on_a_page_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.drawio"
    cells = _cell("a", _KV, "Vault", 0) + _cell("a", _SQL, "Orders DB", 200)
    path.write_text(f"<mxfile>{_page('p1', cells)}</mxfile>")
    out = tmp_path / "v.json"
    proc = run_cli("-m", "agents.run", "vision", path, "-o", out)
    assert_user_error(proc, str(path), "cell id 'a' is used twice")
    assert not out.exists()


@pytest.mark.parametrize(
    "second_page",
    [
        pytest.param(
            _cell("a", _KV, "Vault 2", 0)
            + _cell("p2/a", _SQL, "DB 2", 200)
            + _edge("e", "a", "p2/a"),
            id="renamed-id-already-taken",
        ),
        pytest.param(
            _cell("a", _KV, "Vault 2", 0)
            + _cell("p2/a", _SQL, "DB 2", 200)
            + _cell("p2/a~2", _SQL, "DB 3", 400)
            + _edge("e", "a", "p2/a~2"),
            id="second-choice-taken-too",
        ),
    ],
)
def test_09_pages_reusing_ids_keep_every_cell_and_edge(tmp_path: Path, second_page: str) -> None:
    from agents.synthforge.analysis.vision import detect_file

    first = _cell("a", _KV, "Vault", 0) + _cell("b", _SQL, "DB", 200) + _edge("e", "a", "b")
    path = tmp_path / "pages.drawio"
    path.write_text(f"<mxfile>{_page('p1', first)}{_page('p2', second_page)}</mxfile>")
    result = detect_file(path)
    cells_drawn = first.count('vertex="1"') + second_page.count('vertex="1"')
    assert len(result.icons) == cells_drawn, "no icon dropped or merged"
    assert len({i.id for i in result.icons}) == cells_drawn
    assert len(result.connections) == 2
    for conn in result.connections:
        assert conn.source and conn.target and conn.source != conn.target, conn
    page2 = next(c for c in result.connections if c.page == "p2")
    labels = {i.id: i.label for i in result.icons}
    assert labels[page2.source] == "Vault 2"
    assert labels[page2.target] == ("DB 2" if "DB 3" not in second_page else "DB 3")


# --------------------------------------------------------------------------- 10


@pytest.mark.parametrize(
    ("change", "force", "refused"),
    [
        pytest.param("edit", False, True, id="edited-file-refused"),
        pytest.param("edit", True, False, id="edited-file-with-force"),
        pytest.param("none", False, False, id="unchanged-generation-replaced"),
    ],
)
def test_10_hand_edits_of_generated_files_are_not_overwritten(
    tmp_path: Path, change: str, force: bool, refused: bool
) -> None:
    from agents.synthforge.iac.models import GeneratedFile
    from agents.synthforge.iac.module_development import write_files

    target = tmp_path / "iac"
    first = [GeneratedFile(path="main.tf", content="# one\n", language="terraform")]
    write_files(target, first)
    if change == "edit":
        (target / "main.tf").write_text("# one\n# my own edit\n")
    second = [GeneratedFile(path="main.tf", content="# two\n", language="terraform")]
    if refused:
        with pytest.raises(InputError, match="changed since Forgeflow generated it") as info:
            write_files(target, second)
        assert "write_modules.force=true" in info.value.one_line()
        assert (target / "main.tf").read_text() == "# one\n# my own edit\n", "the edit is kept"
    else:
        write_files(target, second, force=force)
        assert (target / "main.tf").read_text() == "# two\n"
    assert [p.name for p in tmp_path.iterdir()] == ["iac"], "no temporary folder left"


# --------------------------------------------------------------------------- 11


def _fail_writes_into(out_dir: Path, after: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let ``after`` temporary files be renamed into ``out_dir`` (or a folder being built
    beside it), then fail like a full disk."""
    real = os.replace
    count = [0]

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        src_p, dst_p = Path(src), Path(dst)
        parent = dst_p.parent.name
        ours = parent == out_dir.name or parent.startswith(f".{out_dir.name}.")
        if src_p.name.endswith(".tmp") and src_p.is_file() and ours:
            count[0] += 1
            if count[0] > after:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


@pytest.mark.parametrize(
    "earlier_run", [False, True], ids=["new-folder", "folder-of-an-earlier-run"]
)
def test_11_a_full_disk_leaves_the_output_folder_whole_or_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, earlier_run: bool
) -> None:
    from orchestration.pipeline.runner import run_pipeline_file

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "name: p\nstages:\n  - agent: echo\n  - agent: uppercase\n  - agent: word_count\n"
    )
    data = tmp_path / "in.json"
    data.write_text('{"text": "a b c"}')
    out = tmp_path / "runs" / "out"
    if earlier_run:
        data2 = tmp_path / "in2.json"
        data2.write_text('{"text": "earlier"}')
        run_pipeline_file(pipeline, data2, state=str(tmp_path / "s1"), out_dir=out)
    before = _snapshot(out)
    _fail_writes_into(out, 2, monkeypatch)
    with pytest.raises(ForgeflowError) as info:
        run_pipeline_file(pipeline, data, state=str(tmp_path / "s2"), out_dir=out)
    line = info.value.one_line()
    assert "No space left on device" in line and "nothing was written" in line
    assert _snapshot(out) == before, "the folder is as it was: no file of the failed run"
    assert sorted(p.name for p in out.parent.iterdir()) == (["out"] if earlier_run else [])


# --------------------------------------------------------------------------- 12


class _Capture(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        _Capture.bodies.append(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def capture_server() -> Iterator[str]:
    _Capture.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        pytest.param("é" * 30_000, False, id="60KB-utf8-is-180KB-sent"),
        pytest.param("é" * 11_000, False, id="22KB-utf8-is-66KB-sent"),
        pytest.param("€" * 10_000, True, id="30KB-utf8-is-60KB-sent"),
        pytest.param("e" * 60_000, True, id="60KB-ascii"),
    ],
)
def test_12_the_dispatch_payload_is_counted_as_sent(
    capture_server: str, text: str, accepted: bool
) -> None:
    pytest.importorskip("github")
    from orchestration.github.api import connect
    from orchestration.github.dispatch import (
        MAX_PAYLOAD_BYTES,
        DispatchError,
        build_client_payload,
        send_dispatch,
    )

    if not accepted:
        with pytest.raises(DispatchError, match="GitHub accepts under"):
            build_client_payload("chain-1", 1, extra={"note": text})
        return
    payload = build_client_payload("chain-1", 1, extra={"note": text})
    client = connect("t0ken", api_url=capture_server)
    asyncio.run(send_dispatch(client, "o/r", "next", payload))
    sent = json.loads(_Capture.bodies[0])["client_payload"]
    assert sent == payload
    # what went on the wire for client_payload: the body minus its envelope
    wire = len(_Capture.bodies[0]) - len(json.dumps({"event_type": "next", "client_payload": {}}))
    assert wire < MAX_PAYLOAD_BYTES


# --------------------------------------------------------------------------- 13


def _garbage_server(body: bytes, *, chunked: bool) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            if chunked:
                self.send_header("transfer-encoding", "chunked")
            else:
                self.send_header("content-length", str(len(body)))
            self.end_headers()
            try:
                if chunked:
                    for i in range(0, len(body), 65536):
                        piece = body[i : i + 65536]
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.wfile.write(body)
            except OSError:
                pass  # the client stopped reading, as it should

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/v1"


_NOISE = bytes((i * 7919 + 13) % 256 for i in range(1 << 16))


@pytest.mark.parametrize(
    ("body", "chunked", "needle"),
    [
        pytest.param(_NOISE * 160, False, "over the 4 MB limit", id="10MB-garbage"),
        pytest.param(_NOISE * 160, True, "over the 4 MB limit", id="10MB-garbage-chunked"),
        pytest.param(_NOISE * 2, False, "not valid JSON/UTF-8", id="128KB-not-utf8"),
        pytest.param(b"<html>oops</html>" * 100, False, "not valid JSON/UTF-8", id="html"),
    ],
)
def test_13_a_model_endpoint_answering_garbage_is_said_so(
    body: bytes, chunked: bool, needle: str
) -> None:
    pytest.importorskip("openai")
    from agents.model_client import ChatMessage
    from agents.models.config import ModelEndpoint, Secret
    from agents.models.openai_client import ModelCallError, OpenAIModelClient
    from orchestration.resilience.retry import RetryPolicy

    server, url = _garbage_server(body, chunked=chunked)

    async def no_wait(_: float) -> None:
        return None

    async def call() -> None:
        client = OpenAIModelClient(
            ModelEndpoint(url, Secret("sk-test"), model="m"),
            policy=RetryPolicy(max_attempts=2),
            sleep=no_wait,
        )
        try:
            await client.complete([ChatMessage(role="user", content="hi")])
        finally:
            await client.aclose()

    try:
        with pytest.raises(ModelCallError) as info:
            asyncio.run(call())
    finally:
        server.shutdown()
        server.server_close()
    message = str(info.value)
    assert needle in message and "Decode" not in message
    assert len(message) < 300


# --------------------------------------------------------------------------- 14


@pytest.fixture(scope="module")
def classified(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agents.run import run_one

    folder = tmp_path_factory.mktemp("classified")
    assert run_one("vision", EXAMPLE, folder / "vision.json") == 0
    assert run_one("filter", folder / "vision.json", folder / "filter.json") == 0
    return folder / "filter.json"


@pytest.mark.parametrize(
    ("decision", "needle"),
    [
        pytest.param(
            {"action": "add", "resource_id": "new1", "resource_type": "Not/AType"},
            "'Not/AType' is not a resource type",
            id="add-not-a-type",
        ),
        pytest.param(
            {"action": "correct", "resource_id": "app", "resource_type": "Not/AType"},
            "'Not/AType' is not a resource type",
            id="correct-to-not-a-type",
        ),
        pytest.param(
            {"action": "add", "resource_id": "new1", "resource_type": "sites"},
            "'sites' is not a resource type",
            id="add-bare-word",
        ),
    ],
)
def test_14_decisions_setting_an_unknown_type_are_refused(
    tmp_path: Path, classified: Path, decision: dict[str, Any], needle: str
) -> None:
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"reviewer": "ann", "decisions": [decision]}))
    out = tmp_path / "reviewed.json"
    proc = run_cli(
        "-m", "agents.run", "interactive", classified, "-o", out, "--set",
        f"decisions={decisions}",
    )  # fmt: skip
    assert_user_error(proc, str(decisions), needle)
    assert not out.exists()


def test_14_a_wellformed_type_forgeflow_does_not_know_is_accepted_with_a_warning(
    tmp_path: Path, classified: Path
) -> None:
    decisions = tmp_path / "decisions.json"
    decision = {"action": "add", "resource_id": "new1", "resource_type": "Microsoft.Foo/bars"}
    decisions.write_text(json.dumps({"reviewer": "ann", "decisions": [decision]}))
    out = tmp_path / "reviewed.json"
    proc = run_cli(
        "-m", "agents.run", "interactive", classified, "-o", out, "--set",
        f"decisions={decisions}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    warnings = json.loads(out.read_text())["data"]["warnings"]
    assert any("'Microsoft.Foo/bars' is not one Forgeflow knows" in w for w in warnings)


# --------------------------------------------------------------------------- the promise


def test_the_readme_names_the_limits_the_code_applies() -> None:
    """The README's bad-input table states the limits the code enforces."""
    from agents.errors import MAX_ERROR_CHARS
    from agents.models.openai_client import MAX_REPLY_BYTES
    from agents.synthforge.analysis import drawio, report
    from orchestration.github.dispatch import MAX_PAYLOAD_BYTES, MAX_PAYLOAD_KEYS
    from orchestration.runtime import guards

    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Bad and hostile input", 1)[1].split("\n## ", 1)[0]
    mb = 1024 * 1024
    stated = [
        f"at most {MAX_ERROR_CHARS:,} characters",
        f"{drawio.MAX_FILE_BYTES // mb} MB; {drawio.MAX_PAGE_BYTES // mb} MB per decompressed page",
        f"{drawio.MAX_TOTAL_BYTES // mb} MB for all pages",
        f"at most {guards.DEFAULT_MAX_ARTIFACT_BYTES // mb} MB (`{guards.ARTIFACT_LIMIT_ENV}",
        f"nested at most {guards.MAX_NESTING} deep",
        f"at most {guards.MAX_PIPELINE_BYTES // mb} MB; YAML nested at most {guards.MAX_NESTING}",
        f"{guards.YAML_MIN_NODE_BUDGET:,} at least",
        f"at most {MAX_REPLY_BYTES // mb} MB",
        f"under {MAX_PAYLOAD_BYTES // 1024} KB, at most {MAX_PAYLOAD_KEYS} top-level keys",
        f"cut to {report.MAX_TEXT:,} characters, the report to {report.MAX_REPORT_CHARS:,}",
    ]
    for claim in stated:
        assert claim in section, claim
    assert guards.YAML_EXPANSION_FACTOR == 10 and "ten times its nodes" in section
