"""With no model endpoint configured, Forgeflow makes no network connection at all.

The main command (the README's ``python -m orchestration run pipelines/synthforge.yaml
--input examples/diagrams/webapp.drawio --set interactive.yes=true``) and a single
``agents.run`` are run in a subprocess whose sockets are watched from before the first
import: every ``connect``, ``connect_ex``, ``create_connection`` and name lookup is
recorded, and the run must record none, nor import the ``openai`` SDK.

Also here: the network guard that the model tests use (``no_external_network``) lets
loopback through and stops anything else before a packet leaves.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from openai_stub import OpenAIStub, guard_network, is_loopback

REPO = Path(__file__).resolve().parent.parent

WATCH = r"""
import json, os, runpy, socket, sys

attempts = []

def watch(name, real):
    def wrapper(*args, **kwargs):
        attempts.append([name, repr(args[1:] if name.startswith("socket.") else args)[:200]])
        return real(*args, **kwargs)
    return wrapper

socket.socket.connect = watch("socket.connect", socket.socket.connect)
socket.socket.connect_ex = watch("socket.connect_ex", socket.socket.connect_ex)
socket.create_connection = watch("create_connection", socket.create_connection)
socket.getaddrinfo = watch("getaddrinfo", socket.getaddrinfo)

module, *argv = sys.argv[1:]
sys.argv = [module, *argv]
code = 0
try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
report = {
    "code": code,
    "attempts": attempts,
    "openai": sorted(m for m in sys.modules if m == "openai" or m.startswith("openai.")),
    "client": "agents.models.openai_client" in sys.modules,
}
with open(os.environ["WATCH_REPORT"], "w") as fh:
    json.dump(report, fh)
"""


def clean_env(report: Path) -> dict[str, str]:
    """The environment without any model endpoint (nor OpenAI SDK settings)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FORGEFLOW_MODEL", "OPENAI_", "AZURE_OPENAI"))
        and k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY")
    }
    env["WATCH_REPORT"] = str(report)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def watched(tmp_path: Path, module: str, *args: str) -> dict[str, object]:
    report = tmp_path / "watch.json"
    proc = subprocess.run(
        [sys.executable, "-c", WATCH, module, *args],
        env=clean_env(report),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.exists(), proc.stderr
    result = json.loads(report.read_text())
    result["stderr"] = proc.stderr
    return result


def test_main_command_makes_no_connection_and_loads_no_model_sdk(tmp_path: Path) -> None:
    result = watched(
        tmp_path,
        "orchestration",
        "run",
        str(REPO / "pipelines" / "synthforge.yaml"),
        "--input",
        str(REPO / "examples" / "diagrams" / "webapp.drawio"),
        "--set",
        "interactive.yes=true",
        "--state",
        str(tmp_path / "state"),
        "--out",
        str(tmp_path / "out"),
    )
    assert result["code"] == 0, result["stderr"]
    assert (tmp_path / "out" / "output.json").exists()
    assert result["attempts"] == []
    assert result["openai"] == []
    assert result["client"] is False


def test_one_agent_run_makes_no_connection(tmp_path: Path) -> None:
    out = tmp_path / "vision.json"
    diagram = str(REPO / "examples" / "diagrams" / "webapp.drawio")
    result = watched(tmp_path, "agents.run", "vision", diagram, "-o", str(out))
    assert result["code"] == 0, result["stderr"]
    assert out.exists()
    assert result["attempts"] == [] and result["openai"] == []


def test_help_does_not_load_the_model_client(tmp_path: Path) -> None:
    result = watched(tmp_path, "agents.run", "--help")
    assert result["code"] == 0
    assert result["openai"] == [] and result["client"] is False


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        pytest.param("127.0.0.1", True, id="ipv4-loopback"),
        pytest.param("127.8.9.10", True, id="ipv4-loopback-range"),
        pytest.param("::1", True, id="ipv6-loopback"),
        pytest.param("localhost", True, id="localhost"),
        pytest.param("203.0.113.7", False, id="ipv4-public"),
        pytest.param("api.openai.com", False, id="hostname"),
        pytest.param("0.0.0.0", False, id="unspecified"),
    ],
)
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_guard_stops_a_non_loopback_connection_before_it_is_made() -> None:
    with guard_network() as seen:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            with pytest.raises(OSError, match="network guard: connection to .*203.0.113.7"):
                sock.connect(("203.0.113.7", 443))
        finally:
            sock.close()
        with pytest.raises(OSError, match="name lookup of 'api.openai.com' refused"):
            socket.getaddrinfo("api.openai.com", 443)
    assert seen == [("203.0.113.7", 443)]


def test_guard_lets_loopback_through() -> None:
    before = socket.socket.connect
    with OpenAIStub() as stub, guard_network() as seen:
        port = int(stub.root.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert conn.recv(12).startswith(b"HTTP/1.")
    assert seen == [("127.0.0.1", port)]
    # and the functions it replaced are back afterwards
    assert socket.socket.connect is before
