"""Stand-in for actions/setup-python v5: use the test's interpreter if its version fits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def output(name: str, value: str) -> None:
    """Append ``name=value`` to $GITHUB_OUTPUT."""
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
        fh.write(f"{name}={value}\n")


def matches(requested: str, actual: str) -> bool:
    """``3.11`` matches 3.11.7, ``3.x`` any 3, ``3.11.7`` only itself."""
    want = requested.strip().split(".")
    have = actual.split(".")
    return all(w in ("x", "*") or w == h for w, h in zip(want, have, strict=False))


def main() -> int:
    env = os.environ
    python = env.get("FORGEFLOW_ACT_PYTHON")
    if not python:
        print("::error::FORGEFLOW_ACT_PYTHON is not set (the act harness passes it)")
        return 1
    requested = env.get("STANDIN_PYTHON_VERSION", "")
    version_file = env.get("STANDIN_PYTHON_VERSION_FILE", "")
    if not requested and version_file:
        requested = Path(env.get("GITHUB_WORKSPACE", "."), version_file).read_text().strip()
    actual = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if requested and not matches(requested, actual):
        print(
            f"::error::The version '{requested}' with architecture 'x64' was not found for "
            f"this operating system (the stand-in has {actual})."
        )
        return 1
    bin_dir = str(Path(python).parent)
    with open(env["GITHUB_PATH"], "a", encoding="utf-8") as fh:
        fh.write(bin_dir + "\n")
    if env.get("STANDIN_UPDATE_ENVIRONMENT", "true") == "true":
        prefix = subprocess.run(
            [python, "-c", "import sys; print(sys.prefix)"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        with open(env["GITHUB_ENV"], "a", encoding="utf-8") as fh:
            fh.write(f"pythonLocation={prefix}\nPython_ROOT_DIR={prefix}\n")
    print(f"Successfully set up Python ({actual}) from {python}")
    output("python-version", actual)
    output("python-path", python)
    output("cache-hit", "false")
    return 0


if __name__ == "__main__":
    sys.exit(main())
