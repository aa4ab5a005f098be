"""PNG/JPEG diagrams through the vision agent and a hosted model (the local stand-in).

The PNG is a real image written by hand (``raster_fixtures``, zlib + struct): a small
architecture-style picture of coloured boxes. The stand-in plays the model: it answers with
what the draw.io path finds in ``examples/diagrams/webapp.drawio``, so the raster path is
shown to yield the same ``DetectionResult`` the draw.io path does.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openai_stub import OpenAIStub, client_for, no_external_network  # noqa: F401 (a fixture)
from raster_fixtures import WEBAPP, png_bytes, webapp_reading

from agents.base import AgentConfig
from agents.models.openai_client import OpenAIModelClient
from agents.synthforge.analysis.drawio import RasterDiagramError
from agents.synthforge.analysis.filter import FilterAgent
from agents.synthforge.analysis.raster_vision import consistency_problem, image_size, raster_kind
from agents.synthforge.analysis.vision import VisionAgent, detect_file
from agents.synthforge.models import ClassifiedArchitecture, DetectionResult
from orchestration.runtime.execution import RunContext, execute

# Only loopback (the stand-in) may be reached; anything else fails the test.
pytestmark = pytest.mark.usefixtures("no_external_network")

KEY = "sk-test-raster"


@pytest.fixture
def diagram_png(tmp_path: Path) -> Path:
    path = tmp_path / "webapp.png"
    path.write_bytes(
        png_bytes(
            1200,
            900,
            [(40, 40, 1100, 800, (230, 240, 255)), (100, 100, 64, 64, (0, 120, 212))],
        )
    )
    return path


@pytest.fixture
async def stub() -> AsyncIterator[OpenAIStub]:
    with OpenAIStub(key=KEY) as server:
        yield server


@pytest.fixture
async def client(stub: OpenAIStub) -> AsyncIterator[OpenAIModelClient]:
    made = client_for(stub, "gpt-4o")
    yield made
    await made.aclose()


def test_png_written_here_is_a_real_png(diagram_png: Path) -> None:
    data = diagram_png.read_bytes()
    assert raster_kind(diagram_png) == "png"
    assert image_size(data, "png") == (1200, 900)


def test_jpeg_size_from_its_frame_header(tmp_path: Path) -> None:
    # SOI, an APP0 segment, then SOF0 with height 480 and width 640
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 480, 640, 1) + b"\x01\x11\x00"
    data = b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"
    path = tmp_path / "d.jpg"
    path.write_bytes(data)
    assert raster_kind(path) == "jpeg"
    assert image_size(data, "jpeg") == (640, 480)


async def test_png_gives_a_detection_result_through_the_model(
    stub: OpenAIStub, client: OpenAIModelClient, diagram_png: Path
) -> None:
    reading = webapp_reading()
    stub.push(reading)
    agent = VisionAgent(AgentConfig(name="vision"), model_client=client)
    run = await execute(agent, VisionAgent.load_input(diagram_png), RunContext())
    assert run.ok, run.error
    result = run.output
    assert isinstance(result, DetectionResult)
    # the same detection as the draw.io path, with the file's own source and page
    drawio = detect_file(WEBAPP)
    assert [i.icon_key for i in result.icons] == [i.icon_key for i in drawio.icons]
    assert [(c.source, c.target) for c in result.connections] == [
        (c.source, c.target) for c in drawio.connections
    ]
    assert result.source == "webapp.png"
    assert [p.model_dump() for p in result.pages] == [
        {"id": "page-1", "name": "webapp.png", "icon_count": len(drawio.icons)}
    ]
    assert {i.page for i in result.icons} == {"page-1"}
    assert "read from a raster image by model gpt-4o" in result.warnings[0]
    assert len(run.usage) == 1 and run.usage[0].usage.cost_usd is not None
    # what went over the wire: the image as a data URL, the schema as the response format
    (request,) = stub.requests
    user = request.body["messages"][1]
    text, image = user["content"]
    assert "1200x900 pixels" in text["text"]
    url = image["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == diagram_png.read_bytes()
    fmt = request.body["response_format"]["json_schema"]
    assert fmt["name"] == "DetectionResult"
    assert fmt["schema"] == DetectionResult.model_json_schema()


async def test_the_raster_result_feeds_the_next_stage(
    stub: OpenAIStub, client: OpenAIModelClient, diagram_png: Path
) -> None:
    stub.push(webapp_reading())
    vision = VisionAgent(model_client=client)
    detected = await execute(vision, VisionAgent.load_input(diagram_png), RunContext())
    assert detected.output is not None
    classified = await execute(FilterAgent(), detected.output, RunContext())
    from_drawio = await execute(FilterAgent(), detect_file(WEBAPP), RunContext())
    assert isinstance(classified.output, ClassifiedArchitecture)
    assert isinstance(from_drawio.output, ClassifiedArchitecture)
    assert classified.output.resources  # the diagram's resources were found
    assert [r.resource_type for r in classified.output.resources] == [
        r.resource_type for r in from_drawio.output.resources
    ]


async def test_inconsistent_reading_is_asked_again_with_the_reason(
    stub: OpenAIStub, client: OpenAIModelClient, diagram_png: Path
) -> None:
    bad = webapp_reading()
    bad["connections"][0]["target"] = "no-such-icon"
    stub.push(bad, webapp_reading())
    result = await VisionAgent(model_client=client).run(VisionAgent.load_input(diagram_png))
    assert result.connections[0].target is not None
    correction = stub.requests[1].body["messages"][-1]["content"]
    assert "$.connections[0].target: 'no-such-icon' is not an icon id" in correction


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param(
            lambda d: d["icons"].append(dict(d["icons"][0])), "is used twice", id="duplicate-id"
        ),
        pytest.param(
            lambda d: d["icons"][0].update(parent="nowhere"),
            "$.icons[0].parent: 'nowhere' is not a container id",
            id="unknown-parent",
        ),
        pytest.param(
            lambda d: d["icons"][0]["bbox"].update(x=5000.0),
            "$.icons[0].bbox: outside the 1200x900 pixel image",
            id="box-outside-image",
        ),
    ],
)
def test_consistency_rules(change: Any, problem: str) -> None:
    doc = webapp_reading()
    assert consistency_problem(DetectionResult.model_validate(doc), (1200, 900)) is None
    change(doc)
    found = consistency_problem(DetectionResult.model_validate(doc), (1200, 900))
    assert found is not None and problem in found


async def test_png_without_a_model_keeps_the_clear_error(diagram_png: Path) -> None:
    with pytest.raises(RasterDiagramError, match=r"raster diagrams \(PNG\) need a vision model"):
        await VisionAgent().run(VisionAgent.load_input(diagram_png))


async def test_drawio_with_a_model_configured_does_not_call_it(
    stub: OpenAIStub, client: OpenAIModelClient
) -> None:
    result = await VisionAgent(model_client=client).run(VisionAgent.load_input(WEBAPP))
    assert result.icons and not stub.requests


def model_env(stub: OpenAIStub, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORGEFLOW_", "OPENAI_"))}
    env.update(
        FORGEFLOW_MODEL_BASE_URL=stub.base_url,
        FORGEFLOW_MODEL_API_KEY=KEY,
        FORGEFLOW_MODEL="gpt-4o",
        **extra,
    )
    return env


def run_vision(stub: OpenAIStub, png: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """``python -m agents.run vision PNG -o OUT`` with the model pointed at ``stub``."""
    return subprocess.run(
        [sys.executable, "-m", "agents.run", "vision", str(png), "-o", str(out)],
        env=model_env(stub),
        cwd=out.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_reading_that_never_validates_is_a_failed_artifact(
    stub: OpenAIStub, diagram_png: Path, tmp_path: Path
) -> None:
    """``agents.run vision diagram.png`` with a model that keeps breaking the schema."""
    stub.default = {"source": "x", "icons": [{"id": "i1"}]}
    out = tmp_path / "vision.json"
    proc = run_vision(stub, diagram_png, out)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["status"] == "failed"
    assert "no reply matched DetectionResult in 3 attempts" in doc["error"]
    assert "$.icons[0]" in doc["error"]
    assert len(stub.requests) == 3
    assert "Traceback" not in proc.stderr
    assert KEY not in proc.stderr + proc.stdout + out.read_text()


def test_agents_run_reads_a_png_with_the_configured_model(
    stub: OpenAIStub, diagram_png: Path, tmp_path: Path
) -> None:
    stub.push(webapp_reading())
    out = tmp_path / "vision.json"
    proc = run_vision(stub, diagram_png, out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["status"] == "succeeded"
    assert doc["data"]["source"] == "webapp.png"
    assert stub.requests[0].headers["authorization"] == f"Bearer {KEY}"
