"""Property-based tests (hypothesis) over every reader of untrusted input.

The property, for each reader: whatever the input, the reader ends in a valid result or
in one :class:`~agents.errors.ForgeflowError` whose message is one readable line; never in
another exception (a traceback for the user).

Readers covered: the draw.io reader (plain, compressed, multi-page, ``UserObject``/
``object`` wrappers, damaged files) and the vision detection after it; artifact readers
(``read_artifact``, ``load_model``, ``validate``); decisions files and their application;
pipeline files (YAML, with aliases) and their checking; event payloads
(``$GITHUB_EVENT_PATH``, payload files, the next dispatch); pull-request-body state.

Profiles (``FORGEFLOW_HYPOTHESIS_PROFILE``): ``default`` — a bounded number of examples,
so the suite runs in the test command in seconds; ``ci`` — the same, derandomized (a
fixed seed; chosen when ``CI=true``) and without an example database; ``long`` — many
more examples, for a soak run::

    FORGEFLOW_HYPOTHESIS_PROFILE=long python -m pytest -q tests/test_fuzz_untrusted_input.py
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.errors import MAX_ERROR_CHARS, ForgeflowError

settings.register_profile(
    "default",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci", parent=settings.get_profile("default"), derandomize=True, database=None
)
settings.register_profile("long", parent=settings.get_profile("default"), max_examples=5_000)
settings.load_profile(
    os.environ.get("FORGEFLOW_HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() == "true" else "default")
)

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "diagrams" / "webapp.drawio"


def ends_well(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """``fn(*args)``: its result, or None after a one-line ForgeflowError. Anything else
    propagates (and fails the property)."""
    try:
        return fn(*args, **kwargs)
    except ForgeflowError as exc:
        line = exc.one_line()
        assert line and "\n" not in line, repr(line)
        assert len(line) <= MAX_ERROR_CHARS, len(line)
        return None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def put(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    return path


# --------------------------------------------------------------------------- strategies

_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40
)  # no lone surrogates: files are UTF-8
_ids = st.sampled_from(["0", "1", "a", "b", "c", "p2/a", "p2/a~2", "edge", "", "a b", "1/0"])
_styles = st.sampled_from(
    [
        "image;html=1;image=img/lib/azure2/security/Key_Vaults.svg;",
        "image;html=1;image=img/lib/azure2/databases/SQL_Database.svg;",
        "image;html=1;image=img/lib/azure2/app_services/App_Services.svg;",
        "shape=mxgraph.aws4.resourceIcon;resIcon=mxgraph.aws4.s3;",
        "points=[];outlineConnect=0;shape=mxgraph.aws4.group;grIcon=mxgraph.aws4.group_vpc;",
        "rounded=0;container=1;html=1;",
        "swimlane;html=1;",
        "group",
        "text;html=1;",
        "edgeStyle=orthogonalEdgeStyle;endArrow=classic;startArrow=classic;",
        "",
        ";;=;==;a=;=b",
    ]
)
_numbers = st.one_of(
    st.sampled_from(["", "0", "-10", "1e308", "NaN", "inf", "-inf", "x", "1e-320", "0.5"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


def _attr(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", "&#13;")
        .replace("\n", "&#10;")
        .replace("\t", "&#9;")
    )


def _xml_safe(text: str) -> str:
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


@st.composite
def cells(draw: st.DrawFn) -> str:
    cid, parent, source, target = draw(_ids), draw(_ids), draw(_ids), draw(_ids)
    label = _xml_safe(draw(st.one_of(_text, st.sampled_from(["<b>App</b><br>x", "@octocat #1"]))))
    vertex, edge = draw(st.booleans()), draw(st.booleans())
    attrs = [f'style="{_attr(draw(_styles))}"']
    if draw(st.booleans()):
        attrs.append(f'parent="{_attr(parent)}"')
    if vertex:
        attrs.append('vertex="1"')
    if edge:
        attrs.append('edge="1"')
        if draw(st.booleans()):
            attrs.append(f'source="{_attr(source)}"')
        if draw(st.booleans()):
            attrs.append(f'target="{_attr(target)}"')
    geometry = ""
    if draw(st.booleans()):
        x, y, w, h = (draw(_numbers) for _ in range(4))
        rel = ' relative="1"' if draw(st.booleans()) else ""
        geometry = (
            f'<mxGeometry x="{_attr(x)}" y="{_attr(y)}" width="{_attr(w)}" '
            f'height="{_attr(h)}"{rel} as="geometry"/>'
        )
    wrapper = draw(st.sampled_from(["mxCell", "UserObject", "object", "other"]))
    inner = " ".join(attrs)
    if wrapper == "mxCell":
        return f'<mxCell id="{_attr(cid)}" value="{_attr(label)}" {inner}>{geometry}</mxCell>'
    if wrapper == "other":
        return f'<note id="{_attr(cid)}">{_attr(label)}</note>'
    body = f"<mxCell {inner}>{geometry}</mxCell>" if draw(st.booleans()) else ""
    return f'<{wrapper} id="{_attr(cid)}" label="{_attr(label)}">{body}</{wrapper}>'


@st.composite
def graph_models(draw: st.DrawFn) -> str:
    root = "".join(draw(st.lists(cells(), max_size=12)))
    base = '<mxCell id="0"/><mxCell id="1" parent="0"/>' if draw(st.booleans()) else ""
    return f"<mxGraphModel><root>{base}{root}</root></mxGraphModel>"


def compress_page(xml: str) -> str:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    quoted = urllib.parse.quote(xml, safe="~()*!.'").encode()
    return base64.b64encode(deflater.compress(quoted) + deflater.flush()).decode()


@st.composite
def diagrams(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(graph_models())  # a bare <mxGraphModel>
    pages = []
    for n in range(draw(st.integers(1, 3))):
        model = draw(graph_models())
        how = draw(st.sampled_from(["plain", "compressed", "text", "empty", "bad-base64"]))
        page_id = draw(st.sampled_from([f"p{n + 1}", "p1", "", "p2"]))
        head = f'<diagram id="{page_id}" name="{_attr(_xml_safe(draw(_text)))}">'
        if how == "plain":
            pages.append(f"{head}{model}</diagram>")
        elif how == "compressed":
            pages.append(f"{head}{compress_page(model)}</diagram>")
        elif how == "text":
            pages.append(f"{head}{_attr(model)}</diagram>")
        elif how == "empty":
            pages.append(f"{head}</diagram>")
        else:
            pages.append(f"{head}@@not base64@@</diagram>")
    return f'<mxfile host="fuzz">{"".join(pages)}</mxfile>'


@st.composite
def damaged(draw: st.DrawFn, source: st.SearchStrategy[str]) -> bytes:
    data = draw(source).encode("utf-8")
    how = draw(st.sampled_from(["as is", "as is", "cut", "flip", "insert"]))
    if how == "cut" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
    if how == "insert":
        i = draw(st.integers(0, len(data)))
        return data[:i] + draw(st.binary(max_size=16)) + data[i:]
    return data


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@st.composite
def deep_json(draw: st.DrawFn) -> str:
    depth = draw(st.integers(1, 3000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"k":', "}")]))
    return opener * depth + "1" + closer * depth


# --------------------------------------------------------------------------- draw.io


@given(data=damaged(diagrams()))
def test_drawio_reader_and_detection(scratch: Path, data: bytes) -> None:
    from agents.synthforge.analysis.drawio import read_diagram
    from agents.synthforge.analysis.vision import detect
    from agents.synthforge.models import DetectionResult

    path = put(scratch, "fuzz.drawio", data)
    pages = ends_well(read_diagram, path)
    if pages is None:
        return
    ids = [c.id for page in pages for c in page.cells]
    assert len(ids) == len(set(ids)), "cell ids are unique across pages"
    result = ends_well(detect, pages, "fuzz.drawio")
    if result is not None:
        DetectionResult.model_validate(result.model_dump(mode="json"))


@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_drawio_reader_on_anything(scratch: Path, data: bytes) -> None:
    from agents.synthforge.analysis.drawio import read_diagram

    ends_well(read_diagram, put(scratch, "any.drawio", data))


# --------------------------------------------------------------------------- artifacts

_ENVELOPE_KEYS = [
    "schema_id", "schema_version", "agent", "agent_version", "run_id", "correlation_id",
    "input_digest", "started_at", "finished_at", "duration_ms", "status", "error", "data",
]  # fmt: skip


@st.composite
def artifacts(draw: st.DrawFn) -> str:
    good = {
        "schema_id": draw(
            st.sampled_from(
                ["forgeflow/TextOutput", "forgeflow/TextInput", "forgeflow/../x", "x", ""]
            )
            | _text
        ),
        "schema_version": "1.0",
        "agent": draw(st.sampled_from(["echo", "vision"]) | _text),
        "run_id": "r",
        "correlation_id": "c",
        "input_digest": "sha256:0",
        "started_at": draw(st.sampled_from(["2024-01-01T00:00:00Z", "yesterday", ""])),
        "finished_at": "2024-01-01T00:00:00Z",
        "duration_ms": draw(st.sampled_from([0, -1, 1e308, "1"])),
        "status": draw(st.sampled_from(["succeeded", "failed", "skipped", "odd"])),
        "data": draw(st.fixed_dictionaries({}, optional={"text": json_values}) | json_values),
    }
    for key in draw(st.lists(st.sampled_from(_ENVELOPE_KEYS), max_size=3)):
        if draw(st.booleans()):
            good.pop(key, None)
        else:
            good[key] = draw(json_values)
    text = json.dumps(good)
    if draw(st.integers(0, 5)) == 0:
        text = text.replace('"data": ', '"data": ' + draw(deep_json()) + ', "x": ', 1)
    return text


@given(text=artifacts() | deep_json() | st.text(max_size=200))
def test_artifact_readers(scratch: Path, text: str) -> None:
    from agents.builtin import TextInput
    from orchestration.runtime.artifact import load_model, read_artifact
    from orchestration.runtime.schemas import validate_file

    path = put(scratch, "artifact.json", text)
    ends_well(read_artifact, path)
    ends_well(read_artifact, path, TextInput)
    loaded = ends_well(load_model, path, TextInput)
    assert loaded is None or isinstance(loaded.text, str)
    ends_well(validate_file, path)


# --------------------------------------------------------------------------- decisions


@pytest.fixture(scope="module")
def classified(scratch: Path) -> Any:
    from agents.run import run_one
    from agents.synthforge.models import ClassifiedArchitecture
    from orchestration.runtime.artifact import load_model

    assert run_one("vision", EXAMPLE, scratch / "vision.json") == 0
    assert run_one("filter", scratch / "vision.json", scratch / "filter.json") == 0
    return load_model(scratch / "filter.json", ClassifiedArchitecture)


_types = (
    st.sampled_from(
        ["Microsoft.Web/sites", "Microsoft.Foo/bars", "AWS::S3::Bucket", "Not/AType", "", "sites"]
    )
    | _text
)
_decision = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["confirm", "correct", "remove", "add", "explode"]),
        "resource_id": st.sampled_from(["app", "func", "cosmos", "kv", "new1", ""]) | _text,
    },
    optional={"resource_type": _types | st.none(), "kind": _text | st.none(), "name": _text},
)


@given(
    doc=st.fixed_dictionaries(
        {"reviewer": _text, "decisions": st.lists(_decision, max_size=5)},
        optional={"accept_rest": st.booleans() | _text},
    )
    | json_values
)
def test_decisions_files(scratch: Path, classified: Any, doc: Any) -> None:
    from agents.synthforge.analysis.interactive import apply_decisions, load_decisions
    from agents.synthforge.models import ReviewedArchitecture

    path = put(scratch, "decisions.json", json.dumps(doc))
    loaded = ends_well(load_decisions, path)
    if loaded is None:
        return
    reviewed = ends_well(
        apply_decisions,
        classified,
        loaded.decisions,
        reviewer=loaded.reviewer,
        method="decisions_file",
        accept_rest=loaded.accept_rest,
    )
    if reviewed is not None:
        ReviewedArchitecture.model_validate(reviewed.model_dump(mode="json"))


# --------------------------------------------------------------------------- pipeline files

_agents = st.sampled_from(
    ["vision", "filter", "interactive", "echo", "uppercase", "word_count", "combine", "nope"]
)
_stage = st.one_of(
    st.fixed_dictionaries(
        {"agent": _agents},
        optional={"name": _text, "settings": st.dictionaries(_text, json_values)},
    ),
    st.fixed_dictionaries(
        {
            "parallel": st.fixed_dictionaries(
                {"branches": st.lists(_agents, max_size=3), "combiner": _agents},
                optional={"name": _text, "max_concurrency": st.integers(-1, 5)},
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "loop": st.fixed_dictionaries(
                {"generator": _agents, "validator": _agents},
                optional={"fixer": _agents, "max_iterations": st.integers(-1, 30)},
            )
        }
    ),
    json_values,
)


@st.composite
def alias_yaml(draw: st.DrawFn) -> str:
    """YAML whose anchors and aliases nest: from harmless reuse to a bomb."""
    fan, levels = draw(st.integers(1, 12)), draw(st.integers(1, 9))
    lines = ["name: aliases", "x:", f'  l0: &l0 ["{"v" * draw(st.integers(0, 5))}"]']
    for n in range(1, levels):
        lines.append(f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * fan)}]")
    lines.append(f"stages: [{{agent: echo, settings: {{s: *l{levels - 1}}}}}]")
    return "\n".join(lines) + "\n"


@given(
    text=st.fixed_dictionaries(
        {"name": _text, "stages": st.lists(_stage, max_size=4)},
        optional={"description": _text},
    ).map(lambda d: yaml.safe_dump(d, allow_unicode=True))
    | alias_yaml()
    | st.text(max_size=200)
)
def test_pipeline_files(scratch: Path, text: str) -> None:
    from orchestration.pipeline.file import load_spec, plan_stages

    spec = ends_well(load_spec, put(scratch, "pipeline.yaml", text))
    if spec is not None:
        ends_well(plan_stages, spec, source="pipeline.yaml")


# --------------------------------------------------------------------------- event payloads


_event = st.fixed_dictionaries(
    {},
    optional={
        "pull_request": st.fixed_dictionaries({}, optional={"number": json_values}) | json_values,
        "issue": json_values,
        "number": json_values,
        "client_payload": st.fixed_dictionaries({}, optional={"hop": json_values}) | json_values,
        "action": _text,
    },
)


@given(text=_event.map(json.dumps) | deep_json() | st.text(max_size=100))
def test_event_payloads(scratch: Path, text: str) -> None:
    from orchestration.github.cli import _event, _pr_number
    from orchestration.github.dispatch import build_client_payload, load_payload_file, next_hop

    path = put(scratch, "event.json", text)
    env = {"GITHUB_EVENT_PATH": str(path)}
    event = ends_well(_event, env)
    number = ends_well(_pr_number, None, env)
    assert number is None or (isinstance(number, int) and number > 0)
    hop = next_hop(event)
    assert isinstance(hop, int) and hop >= 1
    extra = ends_well(load_payload_file, path)
    if extra is not None:
        payload = ends_well(build_client_payload, "chain-1", hop, None, extra)
        assert payload is None or payload["hop"] == hop


# --------------------------------------------------------------------------- PR-body state

_marker_bits = st.sampled_from(
    [
        "<!-- forgeflow:state key=k enc=b64z -->",
        "<!-- /forgeflow:state key=k -->",
        "<!-- eNqrVkrLz1eyUkpKLFKqBQAd9gRQ -->",
        "<!-- ",
        " -->",
        "\n",
        "\r\n",
        "<!-- forgeflow:state key=other enc=b64z -->",
    ]
)
_bodies = st.lists(_marker_bits | _text, max_size=12).map("".join) | st.none()


@given(body=_bodies, value=json_values)
def test_pull_request_body_state(body: str | None, value: Any) -> None:
    from orchestration.github.pr_state import read_state, remove_state, user_text, write_state

    state = ends_well(read_state, body)
    assert state is None or isinstance(state, dict)
    mine = user_text(body)
    new = ends_well(write_state, body, "k", value)
    if new is None:
        return
    assert user_text(new) == mine, "the author's text is kept byte for byte"
    assert read_state(new)["k"] == json.loads(json.dumps(value))
    assert user_text(remove_state(new, "k")) == mine
