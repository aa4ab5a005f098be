"""The checkov worker program: checkov imported once, one scan per request.

Run by checkov's own interpreter (the one its ``checkov`` script names), not by Forgeflow's:
checkov lives in an environment of its own, so this file uses only the standard library
and checkov, and is run by path (``python -I checkov_serve.py``), never imported from the
``agents`` package there.

Protocol, JSON lines: once checkov is imported the worker writes ``{"ready": true}`` on
stdout; then each line read from stdin is a request ``{"argv": [...], "cwd": "..."}`` — the
arguments a ``checkov`` command line would get — and each answer is one line
``{"returncode": N, "stdout": "...", "stderr": "..."}``, what that command line would
have exited with and printed. End of input stops the worker.

Each scan runs in a child forked from the worker, which has imported checkov and never
scanned: checkov's runners keep the last scan's definitions, graph and context in
module-level instances (a second in-process scan of another folder reports the first
one's resources), and a fresh child starts each scan from the state a cold ``checkov``
command starts from, minus the import. The one thing built ahead for every child is the
Bicep grammar (pycep's Lark parser, about 1.5 s to load), built once in the worker and
handed to checkov's Bicep parser as the parser it would build itself; it is stateless
between parses (each parse makes its own transformer).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from typing import Any


def _share_bicep_grammar() -> None:
    """Let checkov's Bicep parser reuse one pycep parser instead of loading the grammar."""
    try:
        import checkov.bicep.parser as bicep_parser
        from pycep import BicepParser
    except ImportError:  # a checkov without Bicep support: nothing to share
        return
    built: dict[tuple[tuple[str, Any], ...], Any] = {}

    def shared(**kwargs: Any) -> Any:
        key = tuple(sorted(kwargs.items()))
        if key not in built:
            built[key] = BicepParser(**kwargs)
        return built[key]

    shared(add_line_numbers=True)  # what checkov.bicep.parser.Parser asks for
    bicep_parser.BicepParser = shared  # type: ignore[assignment]


def _scan(checkov_class: Any, argv: list[str], cwd: str) -> int:
    """In the forked child: run checkov as its ``checkov`` script does; the exit code."""
    import warnings

    with contextlib.suppress(OSError):
        os.chdir(cwd)
    sys.argv = ["checkov", *argv]  # checkov reads sys.argv for its config file paths
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=SyntaxWarning)
            code = checkov_class(argv).run()
    except SystemExit as exc:
        code = exc.code
    except BaseException as exc:  # noqa: BLE001 - reported as the CLI would: exit 2
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def _run_one(checkov_class: Any, argv: list[str], cwd: str, channel: int) -> dict[str, Any]:
    """Fork a child for one scan, capture its stdout and stderr; the answer.

    The child closes ``channel`` (the protocol's stdout): if the worker dies during a
    scan, its caller sees the end of the channel at once, not when the scan ends.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: its fds 1 and 2 (and its own children's) go to the files
            code = 2
            try:
                os.close(channel)
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                code = _scan(checkov_class, argv, cwd)
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return {
            "returncode": os.waitstatus_to_exitcode(status),
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace")[-4000:],
        }


def main() -> int:
    """Serve scans until stdin ends; 0."""
    # the protocol gets its own copy of stdout; fd 1 itself goes to stderr so that
    # nothing checkov prints at import or between scans can break a line of it
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    from checkov.main import Checkov

    bicep_ready = False
    channel.write(json.dumps({"ready": True}) + "\n")
    channel.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            argv = [str(a) for a in request["argv"]]
            cwd = str(request.get("cwd") or os.getcwd())
        except (ValueError, KeyError, TypeError) as exc:
            answer: dict[str, Any] = {
                "returncode": 2,
                "stdout": "",
                "stderr": f"bad request: {exc}",
            }
        else:
            if not bicep_ready and any("bicep" in a for a in argv):
                _share_bicep_grammar()
                bicep_ready = True
            answer = _run_one(Checkov, argv, cwd, channel.fileno())
        channel.write(json.dumps(answer) + "\n")
        channel.flush()
    return 0


if __name__ == "__main__":
    # nothing is left to flush once the input ends (each scan ran in a child), and the
    # interpreter's own clean-up of checkov's modules takes a second or two
    code = main()
    sys.stderr.flush()
    os._exit(code)
