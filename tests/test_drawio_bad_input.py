"""Bad diagrams through ``python -m agents.run vision FILE -o OUT``.

Each must end with exit code 2 and exactly one line on stderr naming the file and the
problem: no traceback, and no output file.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import zlib
from pathlib import Path

import pytest
from cli_helpers import assert_user_error, run_cli

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "diagrams" / "webapp.drawio"

#: Address-space cap for the bomb tests: far below what an expanded bomb would need.
MEMORY_CAP = 1024 * 1024 * 1024

_CAPPED = (
    "import resource, runpy, sys\n"
    "resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))\n"
    "sys.argv = ['agents.run', *sys.argv[1:]]\n"
    "runpy.run_module('agents.run', run_name='__main__')\n"
)


def run_vision(path: Path, out: Path, *, capped: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the vision agent on ``path`` as a user would, optionally under a memory cap."""
    if capped:
        return run_cli("-c", _CAPPED.format(cap=MEMORY_CAP), "vision", path, "-o", out)
    return run_cli("-m", "agents.run", "vision", path, "-o", out)


#: Text that compresses poorly, so a cut stream is cut well before its end.
NOISE = "".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(500)).encode()


def compressed_page(payload: bytes) -> str:
    """A ``<diagram>`` body as draw.io compresses it, from already URL-encoded bytes."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(deflater.compress(payload) + deflater.flush()).decode()


def mxfile(body: str) -> str:
    return f'<mxfile host="test"><diagram id="p1" name="Page-1">{body}</diagram></mxfile>'


def check(tmp_path: Path, path: Path, *needles: str, capped: bool = False) -> str:
    out = tmp_path / "out" / "vision.json"
    proc = run_vision(path, out, capped=capped)
    line = assert_user_error(proc, str(path), *needles)
    assert not out.exists(), "no artifact is written for bad input"
    assert not out.parent.exists() or not any(out.parent.iterdir()), "no temporary file left"
    return line


def test_truncated_xml(tmp_path: Path) -> None:
    path = tmp_path / "truncated.drawio"
    text = EXAMPLE.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    check(tmp_path, path, "not well-formed XML", "line")


def test_page_that_is_not_base64(tmp_path: Path) -> None:
    path = tmp_path / "bad-base64.drawio"
    path.write_text(mxfile("7VZNb9sw%%%not*base64!!"), encoding="utf-8")
    check(tmp_path, path, "page 'Page-1'", "not valid base64")


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        pytest.param(b"\xff" * 32, "not valid deflate data", id="garbage"),
        pytest.param(zlib.compress(NOISE)[2:2000], "truncated", id="cut-short"),
    ],
)
def test_page_with_bad_deflate_data(tmp_path: Path, raw: bytes, needle: str) -> None:
    path = tmp_path / "bad-deflate.drawio"
    path.write_text(mxfile(base64.b64encode(raw).decode()), encoding="utf-8")
    check(tmp_path, path, "page 'Page-1'", needle)


def test_deflate_bomb_stops_at_the_page_cap(tmp_path: Path) -> None:
    """17 MB of inflated page from ~17 KB on disk: refused at the 16 MB cap, in bounded
    memory."""
    path = tmp_path / "deflate-bomb.drawio"
    path.write_text(mxfile(compressed_page(b"A" * (17 * 1024 * 1024))), encoding="utf-8")
    assert path.stat().st_size < 100_000
    check(tmp_path, path, "decompresses to more than 16 MB", capped=True)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE mxfile [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<mxfile><diagram id="p1" name="&lol9;"><mxGraphModel><root>
<mxCell id="0"/><mxCell id="1" parent="0" value="&lol9;"/>
</root></mxGraphModel></diagram></mxfile>
"""


def test_entity_expansion_bomb(tmp_path: Path) -> None:
    """Billion laughs: refused before any expansion, in bounded memory."""
    path = tmp_path / "laughs.drawio"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    check(tmp_path, path, "refused", "entities", capped=True)


def test_external_entity_reference_does_not_read_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    path = tmp_path / "xxe.drawio"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE mxfile [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
        '<mxfile><diagram id="p1" name="&xxe;"><mxGraphModel><root><mxCell id="0"/>'
        "</root></mxGraphModel></diagram></mxfile>\n",
        encoding="utf-8",
    )
    line = check(tmp_path, path, "refused", "external entity")
    assert "TOP-SECRET-VALUE" not in line


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.drawio"
    path.write_bytes(b"")
    check(tmp_path, path, "empty file")


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    """A 50 MB file is refused from its size, before it is read."""
    path = tmp_path / "huge.drawio"
    with path.open("wb") as fh:
        fh.write(b'<mxfile host="test">')
        fh.seek(50 * 1024 * 1024 - len(b"</mxfile>"))
        fh.write(b"</mxfile>")
    assert path.stat().st_size == 50 * 1024 * 1024
    check(tmp_path, path, "50 MB is over the 20 MB limit")


PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        pytest.param("diagram.png", PNG_HEADER, "PNG", id="png"),
        pytest.param("exported.drawio", PNG_HEADER, "PNG", id="png-misnamed"),
        pytest.param("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "JPEG", id="jpeg"),
    ],
)
def test_raster_image(tmp_path: Path, name: str, data: bytes, kind: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    line = check(tmp_path, path, f"raster diagrams ({kind}) need a vision model")
    assert line.endswith("export the diagram as .drawio")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        pytest.param('<svg xmlns="http://www.w3.org/2000/svg"/>', "root element <svg>", id="svg"),
        pytest.param('<mxfile host="x"></mxfile>', "no <diagram> page", id="no-pages"),
        pytest.param(
            mxfile(compressed_page(b"%3Chtml%3E%3C%2Fhtml%3E")),
            "expected <mxGraphModel>",
            id="page-not-a-model",
        ),
        pytest.param("\ufeff   \n", "empty file", id="only-whitespace"),
    ],
)
def test_not_a_drawio_diagram(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "other.xml"
    path.write_text(text, encoding="utf-8")
    check(tmp_path, path, needle)


def test_missing_file(tmp_path: Path) -> None:
    check(tmp_path, tmp_path / "nowhere.drawio", "no such file")
