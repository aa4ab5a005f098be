"""Start ``python -m orchestration serve`` (or ``worker``) as a real process, for tests.

The server listens on 127.0.0.1 and a free port; :class:`LiveServer` waits until
``/healthz`` answers, and stops it (SIGTERM, or SIGKILL on request) afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WEBAPP = REPO / "examples" / "diagrams" / "webapp.drawio"
TOKEN = "test-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FORGEFLOW_", "GITHUB_", "OPENAI_"))
    }
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class LiveServer:
    """A running ``orchestration serve`` process."""

    def __init__(
        self,
        cwd: Path,
        *args: str,
        env: dict[str, str] | None = None,
        token: str | None = TOKEN,
        port: int | None = None,
        command: str = "serve",
    ) -> None:
        self.cwd = Path(cwd)
        self.port = port or free_port()
        self.token = token
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "orchestration", command]
        if command == "serve":
            argv += ["--port", str(self.port), "--pipelines", str(REPO / "pipelines")]
        argv += list(args)
        self.log = open(self.cwd / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv, cwd=self.cwd, env=env or server_env(), stdout=self.log, stderr=self.log
        )

    def wait_ready(self, timeout: float = 30.0) -> LiveServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                logs = self.logs()
                self.log.close()
                raise RuntimeError(f"server exited with {self.proc.returncode}: {logs}")
            try:
                status, _ = self.request("GET", "/healthz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer in {timeout}s: {self.logs()}")

    def logs(self) -> str:
        self.log.flush()
        return (self.cwd / f"server-{self.port}.log").read_text(errors="replace")[-4000:]

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        auth: bool = True,
        timeout: float = 30.0,
    ) -> tuple[int, Any]:
        """``(status, parsed JSON or text)`` of one request."""
        sent = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        if auth and self.token:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, _decode(resp.read(), resp.headers.get("content-type", ""))
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.read(), exc.headers.get("content-type", ""))

    def start_run(self, diagram: Path = WEBAPP, *settings: str, **extra: Any) -> dict[str, Any]:
        body = {
            "pipeline": "synthforge",
            "input": {
                "name": diagram.name,
                "content_base64": base64.b64encode(diagram.read_bytes()).decode(),
            },
            "settings": list(settings),
            **extra,
        }
        status, answer = self.request("POST", "/v1/runs", body)
        assert status == 202, answer
        return dict(answer)

    def wait_run(
        self, run_id: str, statuses: tuple[str, ...] = ("succeeded", "failed"), timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, run = self.request("GET", f"/v1/runs/{run_id}")
            assert status == 200, run
            if run["status"] in statuses:
                return dict(run)
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} still {run['status']} after {timeout}s")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return int(self.proc.returncode)

    def __enter__(self) -> LiveServer:
        return self.wait_ready()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _decode(data: bytes, content_type: str) -> Any:
    if "json" in content_type:
        return json.loads(data)
    return data.decode("utf-8", errors="replace")
