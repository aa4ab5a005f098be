"""checkov kept warm: one checkov process serving every validation of the process.

A cold ``checkov`` command spends most of its time importing itself (5–10 s of a 6–12 s
run here). :func:`run` takes the command line that ``code_quality.run_checkov`` would
start and answers as :func:`subprocess.run` would (a :class:`subprocess.CompletedProcess`
with checkov's exit code, stdout and stderr, or :class:`subprocess.TimeoutExpired`), but
sends it to a worker — ``checkov_serve.py`` run by checkov's own interpreter, found from
the shebang of the ``checkov`` script — which has imported checkov once and forks a fresh
child per scan (``checkov_serve.py`` says why a child, not the worker, scans). The
worker is started by the first scan, reused by every later one (all validations of a
loop, and every loop of the process), and stopped when the process exits. A worker that
dies answers like a checkov that crashed; one that does not answer in time is killed
with its children and the scan times out; either way the next scan starts a fresh
worker. Scans made at the same time get a worker each.

``FORGEFLOW_CHECKOV_WORKER=0`` (or ``false``, ``no``, ``off``) runs one checkov command per
validation instead. So does an executable that is not a Python console script (no
interpreter to find) or a platform without ``fork`` semantics the worker can rely on
(anything but Linux).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from agents.errors import ForgeflowError

#: The worker program (standard library and checkov only), run by checkov's interpreter.
PROGRAM = Path(__file__).with_name("checkov_serve.py")
ENV = "FORGEFLOW_CHECKOV_WORKER"
_ON = {"1", "true", "yes", "on", ""}
_OFF = {"0", "false", "no", "off"}
#: Idle workers kept for later scans (one per set of scans made at the same time).
MAX_IDLE = 2
#: The ``exec`` line pip writes under ``#!/bin/sh`` when the interpreter path is too long.
_SH_EXEC = re.compile(r"""^'''exec' "?([^"\s]+)"? "\$0" "\$@"$""")


class WorkerSettingError(ForgeflowError):
    """``FORGEFLOW_CHECKOV_WORKER`` has a value that is neither on nor off."""


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether scans go to a kept-warm worker (``FORGEFLOW_CHECKOV_WORKER``, default on)."""
    value = (os.environ if environ is None else environ).get(ENV, "").strip().lower()
    if value in _ON:
        return sys.platform.startswith("linux")
    if value in _OFF:
        return False
    raise WorkerSettingError(f"{ENV}={value[:40]!r}: expected 1/true/yes/on or 0/false/no/off")


def interpreter_of(executable: str) -> str | None:
    """The Python interpreter a ``checkov`` console script runs with, or None.

    Read from the script's shebang (``#!/venv/bin/python``, ``#!/usr/bin/env python3``, or
    pip's ``#!/bin/sh`` + ``'''exec' /long/path/python "$0" "$@"`` form); None for a binary,
    a shell wrapper, or an interpreter that is not Python.
    """
    try:
        with open(executable, "rb") as handle:
            head = handle.read(1024).decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    if not head or not head[0].startswith("#!"):
        return None
    words = head[0][2:].split()
    if words and words[0] in ("/bin/sh", "/usr/bin/sh") and len(head) > 1:
        found = _SH_EXEC.match(head[1].strip())
        words = [found.group(1)] if found else []
    if words and Path(words[0]).name == "env" and len(words) > 1:
        resolved = shutil.which(words[1])
        words = [resolved] if resolved else []
    if not words or not Path(words[0]).name.startswith(("python", "pypy")):
        return None
    return words[0] if os.access(words[0], os.X_OK) else None


class Worker:
    """One worker process: start, one scan at a time, stop."""

    def __init__(self, interpreter: str, env: Mapping[str, str]) -> None:
        self.errors: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.proc = subprocess.Popen(
            [interpreter, "-I", str(PROGRAM)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            env=dict(env),
            start_new_session=True,  # its scans and their children: one group to kill
        )
        self.ready = False
        self._buffer = b""

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.proc.pid

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.proc.poll() is None

    def _line(self, deadline: float) -> bytes | None:
        """The next line from the worker; None when it ended; TimeoutError at ``deadline``."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            readable, _, _ = select.select([fd], [], [], min(left, 0.5))
            if not readable:
                if not self.alive():  # died, and something it started holds the pipe
                    return None
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _ended(self, cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """The answer for a worker that stopped: its exit code and last line of stderr.

        An exit code checkov's own 0 or 1 (results) would be read as is 2 (checkov's
        crash code): a worker that ends has answered nothing.
        """
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)  # let it finish dying before its group is killed
        self.stop()
        self.errors.seek(0)
        lines = self.errors.read().decode("utf-8", "replace").strip().splitlines()
        code = self.proc.returncode if self.proc.returncode not in (0, 1, None) else 2
        tail = lines[-1] if lines else "the checkov worker stopped without a word"
        return subprocess.CompletedProcess(list(cmd), code, "", tail)

    def scan(self, cmd: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Run ``cmd``'s arguments in the worker; as :func:`subprocess.run` would answer."""
        deadline = time.monotonic() + timeout
        try:
            if not self.ready:
                if self._line(deadline) is None:
                    return self._ended(cmd)
                self.ready = True
            request = {"argv": list(cmd[1:]), "cwd": os.getcwd()}
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write((json.dumps(request) + "\n").encode("utf-8"))
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                return self._ended(cmd)
            line = self._line(deadline)
        except TimeoutError:
            self.stop()
            raise subprocess.TimeoutExpired(list(cmd), timeout) from None
        if line is None:
            return self._ended(cmd)
        try:
            answer: dict[str, Any] = json.loads(line)
            return subprocess.CompletedProcess(
                list(cmd), int(answer["returncode"]), answer["stdout"], answer["stderr"]
            )
        except (ValueError, KeyError, TypeError):
            self.stop()
            return subprocess.CompletedProcess(
                list(cmd), 2, "", "the checkov worker answered with something that is not JSON"
            )

    def stop(self) -> None:
        """End the worker and every process it started (its session); wait for it.

        The group is killed even when the worker itself has died: a scan it forked may
        still run.
        """
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.alive():
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def close(self) -> None:
        """Let the worker end by itself (end of its input), or stop it after 5 s."""
        if self.alive() and self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        if self.proc.returncode != 0:  # killed, crashed or still running: its group too
            self.stop()
        else:
            with contextlib.suppress(OSError):
                assert self.proc.stdout is not None
                self.proc.stdout.close()
        self.errors.close()


class Pool:
    """Idle workers by (interpreter, environment); one per scan running at the same time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[tuple[tuple[str, tuple[tuple[str, str], ...]], Worker]] = []
        self._busy: set[Worker] = set()

    def take(self, interpreter: str, env: Mapping[str, str]) -> tuple[Any, Worker]:
        """An idle worker for this interpreter and environment, or a new one."""
        key = (interpreter, tuple(sorted(env.items())))
        with self._lock:
            for i, (k, worker) in enumerate(self._idle):
                if k == key:
                    del self._idle[i]
                    if worker.alive():
                        self._busy.add(worker)
                        return key, worker
                    worker.close()
                    break
        worker = Worker(interpreter, env)
        with self._lock:
            self._busy.add(worker)
        return key, worker

    def give_back(self, key: Any, worker: Worker) -> None:
        """Keep a worker that still runs for the next scan (at most :data:`MAX_IDLE`)."""
        extra: list[Worker] = []
        with self._lock:
            self._busy.discard(worker)
            if worker.alive():
                self._idle.append((key, worker))
            else:
                extra.append(worker)
            while len(self._idle) > MAX_IDLE:
                extra.append(self._idle.pop(0)[1])
        for old in extra:
            old.close()

    def forget(self) -> None:
        """In a process forked from this one: drop the parent's workers, untouched.

        The child closes its copies of the idle workers' pipes (so that a worker still
        sees the end of its input when the parent ends) and starts workers of its own
        when it scans.
        """
        self._lock = threading.Lock()
        for _, worker in self._idle:
            for stream in (worker.proc.stdin, worker.proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        self._idle = []
        self._busy = set()

    def pids(self) -> list[int]:
        """Process ids of the workers running now (idle or busy)."""
        with self._lock:
            workers = [w for _, w in self._idle] + list(self._busy)
        return [w.pid for w in workers if w.alive()]

    def close(self) -> None:
        """Stop every worker (at exit)."""
        with self._lock:
            workers = [w for _, w in self._idle] + list(self._busy)
            self._idle.clear()
            self._busy.clear()
        for worker in workers:
            worker.close()


POOL = Pool()
atexit.register(POOL.close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=POOL.forget)


def run(
    cmd: Sequence[str], *, timeout: float, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """checkov's command line ``cmd`` run warm when possible, else as a process of its own.

    ``cmd[0]`` is the checkov executable. Answers like ``subprocess.run(cmd,
    capture_output=True, text=True, timeout=timeout, env=env)``.
    """
    interpreter = interpreter_of(cmd[0]) if enabled(env) else None
    if interpreter is None:
        return subprocess.run(
            list(cmd), capture_output=True, text=True, timeout=timeout, env=dict(env), check=False
        )
    key, worker = POOL.take(interpreter, env)
    try:
        return worker.scan(cmd, timeout)
    finally:
        POOL.give_back(key, worker)
