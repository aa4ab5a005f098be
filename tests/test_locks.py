"""Forgeflow's locks (``scripts/locks/``) and the cache key of ``scripts/install-forgeflow.sh``.

The locks are what a job installs with uv; the key is what ``actions/cache`` stores the
environment under. Both are checked offline: the locks against ``pyproject.toml``'s
ranges, the key for what must and must not change it.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
LOCKS = REPO / "scripts" / "locks"
SCRIPT = REPO / "scripts" / "install-forgeflow.sh"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EXTRAS = ["github", "model", "postgres", "iac"]


def pins(path: Path) -> dict[str, str]:
    """``name -> version`` of a lock file, each pin with at least one hash."""
    text = path.read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", text):
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if match:
            assert "--hash=sha256:" in block, f"{path.name}: {match.group(1)} has no hash"
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


@pytest.mark.parametrize("group", ["core", *EXTRAS])
def test_each_lock_pins_its_group_within_pyprojects_ranges(group: str) -> None:
    locked = pins(LOCKS / f"{group}.txt")
    wanted = list(PROJECT["dependencies"])
    if group != "core":
        wanted += PROJECT["optional-dependencies"][group]
    for spec in map(Requirement, wanted):
        name = canonicalize_name(spec.name)
        assert name in locked, f"scripts/locks/{group}.txt does not pin {spec.name}"
        assert spec.specifier.contains(locked[name], prereleases=True), (
            f"scripts/locks/{group}.txt pins {spec.name}=={locked[name]}, outside {spec.specifier}"
        )


@pytest.mark.parametrize("extra", EXTRAS)
def test_core_pins_are_the_same_in_every_lock(extra: str) -> None:
    core, other = pins(LOCKS / "core.txt"), pins(LOCKS / f"{extra}.txt")
    assert {n: v for n, v in other.items() if n in core} == core


def key(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "FORGEFLOW_INSTALLER"} | env
    return subprocess.run(
        ["bash", str(SCRIPT), "key", str(REPO), "/nonexistent/venv", *args],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )


def test_cache_key_changes_with_what_is_installed_and_nothing_else() -> None:
    core = key("")
    assert core.returncode == 0, core.stdout + core.stderr
    assert re.fullmatch(r"forgeflow-venv-\S+-[0-9a-f]{24}\n", core.stdout), core.stdout
    assert key("").stdout == core.stdout  # stable
    github = key("github").stdout
    both = key("github,model").stdout
    with_package = key("", "my-agents==1.2").stdout
    pip = key("", FORGEFLOW_INSTALLER="pip").stdout
    assert len({core.stdout, github, both, with_package, pip}) == 5
    # The Python version is part of the key (a cached environment belongs to one).
    assert re.search(r"-\d+\.\d+\.\d+-cpython-\d+-", core.stdout), core.stdout


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        pytest.param(("gpu",), {}, "input extras: 'gpu' is not one of", id="unknown-extra"),
        pytest.param(("",), {"FORGEFLOW_INSTALLER": "conda"}, "must be uv or pip", id="installer"),
    ],
)
def test_bad_extras_or_installer_are_one_error_line(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    proc = key(*args, **env)
    assert proc.returncode == 2
    assert proc.stdout.startswith("::error::") and message in proc.stdout
    assert proc.stdout.count("\n") == 1
