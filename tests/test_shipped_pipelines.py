"""The shipped pipelines (``pipelines/*.yaml``) are package data, found by name.

``orchestration/pipeline/shipped`` links to ``pipelines/`` at the repository root, so
the build a wheel is made from (setuptools' ``build_py``) carries each file as
``orchestration/pipeline/shipped/NAME.yaml``, and
:func:`~orchestration.pipeline.shipped_pipelines.shipped_pipeline` finds it there with
nothing but the built tree on the path — as in a wheel install, where the repository's
``pipelines/`` folder is not. A wheel itself is built and inspected where setuptools can
build one offline (its ``bdist_wheel``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from agents.errors import InputError
from orchestration.pipeline.shipped_pipelines import shipped_names, shipped_pipeline

REPO = Path(__file__).resolve().parents[1]
#: The files, in the order of their names (``synthforge`` before ``synthforge-iac``).
FILES = sorted(REPO.glob("pipelines/*.yaml"), key=lambda f: f.stem)


def test_every_file_of_pipelines_is_found_by_its_name() -> None:
    assert FILES, "pipelines/ has no YAML file"
    assert shipped_names() == [f.stem for f in FILES]
    for file in FILES:
        found = shipped_pipeline(file.stem)
        assert found == file.resolve()  # in a checkout: the very file of pipelines/
        assert found.read_bytes() == file.read_bytes()


@pytest.mark.parametrize(
    "name", ["nope", "synthforge.yaml", "../pipelines/synthforge", "a/b", "", "x" * 5000]
)
def test_a_name_that_is_not_a_shipped_pipeline_is_one_clear_line(name: str) -> None:
    with pytest.raises(InputError) as raised:
        shipped_pipeline(name)
    line = raised.value.one_line()
    assert line.startswith("no shipped pipeline named ") and "synthforge-iac" in line
    assert "\n" not in line and len(line) < 400


def test_a_package_without_its_pipelines_folder_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the link is not a folder (kept as a plain file), no traceback: one line."""
    from orchestration.pipeline import shipped_pipelines

    monkeypatch.setattr(shipped_pipelines, "PACKAGE", "orchestration.pipeline.not_shipped")
    assert shipped_names() == []
    with pytest.raises(InputError) as raised:
        shipped_pipeline("synthforge")
    assert raised.value.one_line() == (
        "no shipped pipeline named 'synthforge' "
        "(shipped: none: the package has no pipelines/ folder)"
    )


def _setup(*commands: str, cwd: Path = REPO) -> None:
    """Run setuptools' commands on the project (offline; output only under tmp paths)."""
    proc = subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", *commands],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_package_build_carries_them_and_the_finder_finds_them_there(
    tmp_path: Path,
) -> None:
    lib = tmp_path / "lib"
    _setup("egg_info", "--egg-base", str(tmp_path), "build_py", "--build-lib", str(lib))
    shipped = lib / "orchestration" / "pipeline" / "shipped"
    assert sorted(p.name for p in shipped.iterdir()) == sorted(f.name for f in FILES)
    for file in FILES:
        assert (shipped / file.name).read_bytes() == file.read_bytes()
        assert not (shipped / file.name).is_symlink()
    # the built tree alone (no checkout, no site-packages): the finder returns its files
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from orchestration.pipeline.shipped_pipelines import shipped_names, shipped_pipeline;"
        "print('\\n'.join(str(shipped_pipeline(n)) for n in shipped_names()))"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code, str(lib)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout.split() == [str((shipped / f.name).resolve()) for f in FILES]


def _can_build_wheels() -> bool:
    if importlib.util.find_spec("wheel") is not None:
        return True
    return importlib.util.find_spec("setuptools.command.bdist_wheel") is not None


@pytest.mark.skipif(
    not _can_build_wheels(), reason="no bdist_wheel here (the wheel package, or setuptools 70.1+)"
)
def test_the_wheel_lists_them(tmp_path: Path) -> None:
    _setup(
        "egg_info",
        "--egg-base",
        str(tmp_path),
        "build",
        "--build-base",
        str(tmp_path / "build"),
        "bdist_wheel",
        "--bdist-dir",
        str(tmp_path / "bdist"),
        "--dist-dir",
        str(tmp_path / "dist"),
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for file in FILES:
        assert f"orchestration/pipeline/shipped/{file.name}" in names
    assert "orchestration/pipeline/shipped_pipelines.py" in names
