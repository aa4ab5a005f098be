"""checkov kept warm: the worker program, its pool, its failures, and its equality with a cold run.

Most tests run the real worker program (``checkov_serve.py``) over a stand-in ``checkov``
package written here, started by a stand-in interpreter: fast, and able to hang or crash
on request. Its ``Checkov.run`` counts its runs in a module global, as checkov's runners
keep their last scan in module-level instances: a count above 1 would mean a scan saw
another scan's state. The test marked ``slow`` runs the real checkov and compares the
worker's answers with cold ``checkov`` command lines over the same folders.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agents.synthforge.iac import checkov_worker
from agents.synthforge.iac.checkov_worker import WorkerSettingError, enabled, interpreter_of
from agents.synthforge.iac.code_quality import CheckovError, checkov_executable, run_checkov

REPO = Path(__file__).resolve().parent.parent

FAKE_MAIN = """\
import json, os, sys, time
RUNS = 0

class Checkov:
    def __init__(self, argv):
        self.folder = argv[argv.index("-d") + 1]

    def run(self):
        global RUNS
        RUNS += 1
        mode = open(os.path.join(self.folder, "mode")).read().strip()
        open(os.path.join(self.folder, "pid"), "w").write(str(os.getpid()))
        if mode == "hang":
            time.sleep(600)
        if mode == "kill-worker":
            os.kill(os.getppid(), 9)
            time.sleep(600)
        if mode == "crash":
            print("Traceback: the parser fell over", file=sys.stderr)
            return 2
        report = {"check_type": "terraform", "results": {"failed_checks": [{
            "check_id": "CKV_FAKE_1", "check_name": "fake", "file_path": "/main.tf",
            "file_line_range": [1, 2], "resource": "azurerm_x.y"}]},
            "summary": {"passed": RUNS, "failed": 1, "skipped": 0, "parsing_errors": 0,
                        "checkov_version": "0.0-fake"}}
        print(json.dumps([report]))
        return 1
"""


@pytest.fixture
def fake_checkov(tmp_path: Path) -> str:
    """A ``checkov`` script whose interpreter runs the stand-in checkov package."""
    package = tmp_path / "site" / "checkov"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "main.py").write_text(FAKE_MAIN, encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python"
    # the worker is started as `python -I program`: -I would drop PYTHONPATH, so the
    # stand-in interpreter leaves it out
    python.write_text(
        textwrap.dedent(f"""\
            #!/bin/sh
            [ "$1" = "-I" ] && shift
            PYTHONPATH={tmp_path / "site"} exec {sys.executable} "$@"
            """),
        encoding="utf-8",
    )
    script = bin_dir / "checkov"
    script.write_text(
        f"#!{python}\nimport sys\nfrom checkov.main import Checkov\n"
        "sys.exit(Checkov(sys.argv[1:]).run())\n",
        encoding="utf-8",
    )
    for path in (python, script):
        path.chmod(0o755)
    return str(script)


def folder(tmp_path: Path, name: str, mode: str = "ok") -> Path:
    path = tmp_path / name
    path.mkdir(exist_ok=True)
    (path / "mode").write_text(mode, encoding="utf-8")
    return path


def gone(pid: int, within: float = 10.0) -> bool:
    """Whether process ``pid`` has ended (or is a zombie nobody waits for) within the time."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"):
            return True
        time.sleep(0.05)
    return False


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the worker runs on Linux"
)


def warm_worker(tmp_path: Path, fake_checkov: str) -> int:
    """Scan once so that a worker runs; its process id."""
    run_checkov(folder(tmp_path, "warm"), ["terraform"], fake_checkov, 30)
    [pid] = checkov_worker.POOL.pids()
    return pid


@pytest.fixture(autouse=True)
def fresh_pool() -> object:
    yield
    checkov_worker.POOL.close()


# --------------------------------------------------------------------------- choosing


def test_the_interpreter_is_read_from_the_scripts_shebang(tmp_path: Path) -> None:
    python = tmp_path / "venv" / "bin" / "python3.11"
    python.parent.mkdir(parents=True)
    python.write_text("", encoding="utf-8")
    python.chmod(0o755)
    cases = {
        "direct": (f"#!{python}\nimport checkov\n", str(python)),
        "pip's long-path form": (
            f"#!/bin/sh\n'''exec' \"{python}\" \"$0\" \"$@\"\n' '''\n",
            str(python),
        ),
        "a shell wrapper": ('#!/bin/sh\nexec docker run checkov "$@"\n', None),
        "a binary": ("\x7fELF\x02\x01", None),
        "a missing interpreter": ("#!/no/such/python\n", None),
    }
    for name, (text, expected) in cases.items():
        script = tmp_path / name.replace(" ", "_").replace("'", "")
        script.write_text(text, encoding="utf-8")
        assert interpreter_of(str(script)) == expected, name
    env_script = tmp_path / "env_form"
    env_script.write_text("#!/usr/bin/env python3\n", encoding="utf-8")
    assert interpreter_of(str(env_script)) == shutil.which("python3")
    assert interpreter_of(str(tmp_path / "absent")) is None


def test_the_worker_can_be_turned_off_and_a_bad_value_is_one_line() -> None:
    assert enabled({}) is sys.platform.startswith("linux")
    assert enabled({"FORGEFLOW_CHECKOV_WORKER": "1"}) is sys.platform.startswith("linux")
    for off in ("0", "false", "No", "off"):
        assert enabled({"FORGEFLOW_CHECKOV_WORKER": off}) is False
    with pytest.raises(WorkerSettingError) as info:
        enabled({"FORGEFLOW_CHECKOV_WORKER": "sometimes"})
    assert "FORGEFLOW_CHECKOV_WORKER='sometimes'" in str(info.value)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- the worker


@linux_only
def test_one_worker_serves_every_scan_and_no_scan_sees_anothers_state(
    tmp_path: Path, fake_checkov: str
) -> None:
    pids = set()
    for name in ("a", "b", "a"):
        summary, failed = run_checkov(folder(tmp_path, name), ["terraform"], fake_checkov, 30)
        # the stand-in counts its runs in a module global: 1 every time, so each scan
        # starts from the state the worker had before any scan
        assert (summary.passed, summary.failed, summary.version) == (1, 1, "0.0-fake")
        assert [c["check_id"] for c in failed] == ["CKV_FAKE_1"]
        assert failed[0]["check_type"] == "terraform"
        pids |= set(checkov_worker.POOL.pids())
    assert len(pids) == 1
    scans = {int((tmp_path / n / "pid").read_text()) for n in ("a", "b")}
    assert not pids & scans  # the scans ran in children, not in the worker


def test_turned_off_each_scan_is_a_checkov_command_of_its_own(
    tmp_path: Path, fake_checkov: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORGEFLOW_CHECKOV_WORKER", "0")
    for name in ("a", "b"):
        summary, _ = run_checkov(folder(tmp_path, name), ["terraform"], fake_checkov, 30)
        assert (summary.passed, summary.failed) == (1, 1)
    assert checkov_worker.POOL.pids() == []


@linux_only
def test_a_hung_scan_times_out_in_one_line_and_the_next_scan_gets_a_fresh_worker(
    tmp_path: Path, fake_checkov: str
) -> None:
    first = warm_worker(tmp_path, fake_checkov)
    hung = folder(tmp_path, "hung", "hang")
    started = time.monotonic()
    with pytest.raises(CheckovError) as info:
        run_checkov(hung, ["terraform"], fake_checkov, 1)
    assert time.monotonic() - started < 10
    assert str(info.value) == f"checkov timed out after 1 s on {hung}"
    assert gone(first)
    assert gone(int((hung / "pid").read_text()))  # the scan's child too: no orphan
    summary, _ = run_checkov(folder(tmp_path, "after"), ["terraform"], fake_checkov, 30)
    assert summary.failed == 1
    assert checkov_worker.POOL.pids() and first not in checkov_worker.POOL.pids()


@linux_only
def test_a_crashed_worker_or_scan_is_one_clear_line_and_the_next_scan_works(
    tmp_path: Path, fake_checkov: str
) -> None:
    with pytest.raises(CheckovError) as info:
        run_checkov(folder(tmp_path, "dies", "kill-worker"), ["terraform"], fake_checkov, 30)
    assert str(info.value).startswith("checkov exited -9: ")
    assert "\n" not in str(info.value)
    assert gone(int((tmp_path / "dies" / "pid").read_text()))
    with pytest.raises(CheckovError) as info:
        run_checkov(folder(tmp_path, "crash", "crash"), ["terraform"], fake_checkov, 30)
    assert str(info.value) == "checkov exited 2: Traceback: the parser fell over"
    summary, _ = run_checkov(folder(tmp_path, "after"), ["terraform"], fake_checkov, 30)
    assert summary.failed == 1


@linux_only
def test_a_worker_that_cannot_import_checkov_is_one_clear_line(tmp_path: Path) -> None:
    script = tmp_path / "checkov"
    script.write_text(f"#!{sys.executable}\nimport checkov\n", encoding="utf-8")
    script.chmod(0o755)
    with pytest.raises(CheckovError) as info:
        run_checkov(folder(tmp_path, "a"), ["terraform"], str(script), 30)
    assert str(info.value) == "checkov exited 2: ModuleNotFoundError: No module named 'checkov'"


ORPHAN = """\
import os, sys, time
from pathlib import Path
from agents.synthforge.iac import checkov_worker
from agents.synthforge.iac.code_quality import run_checkov
run_checkov(Path(sys.argv[1]), ["terraform"], sys.argv[2], 30)
print(checkov_worker.POOL.pids()[0], flush=True)
if sys.argv[3] == "stay":
    time.sleep(600)
"""


@linux_only
@pytest.mark.parametrize("end", ["exit", "killed"])
def test_the_worker_ends_with_the_process_that_started_it(
    tmp_path: Path, fake_checkov: str, end: str
) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", ORPHAN, str(folder(tmp_path, "a")), fake_checkov,
         "leave" if end == "exit" else "stay"],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    worker = int(proc.stdout.readline())
    if end == "killed":  # no atexit: the worker sees the end of its input
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert gone(worker)


# --------------------------------------------------------------------------- real checkov

TF_A = """\
resource "azurerm_storage_account" "a" {
  name                     = "stwarma01"
  resource_group_name      = "rg"
  location                 = "westeurope"
  account_tier             = "Standard"
  account_replication_type = "LRS"
  min_tls_version          = "TLS1_0"
}
"""
TF_B = """\
resource "azurerm_key_vault" "b" {
  name                = "kv-warm-b"
  resource_group_name = "rg"
  location            = "westeurope"
  tenant_id           = "00000000-0000-0000-0000-000000000000"
  sku_name            = "standard"
}

resource "azurerm_linux_web_app" "b" {
  name                = "app-warm-b"
  resource_group_name = "rg"
  location            = "westeurope"
  service_plan_id     = "plan"
  site_config {}
}
"""
BICEP_A = """\
resource st 'Microsoft.Storage/storageAccounts@2023-01-01' = {
  name: 'stwarmbicep01'
  location: 'westeurope'
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: { minimumTlsVersion: 'TLS1_0' }
}
"""


def report_of(folder_path: Path, frameworks: list[str], executable: str) -> object:
    """What a scan says, without its timing: summary counts and failed checks."""
    summary, failed = run_checkov(folder_path, frameworks, executable)
    checks = sorted(
        (c["check_type"], c["check_id"], c["file_path"], tuple(c["file_line_range"]), c["resource"])
        for c in failed
    )
    return summary.model_dump(exclude={"seconds"}), checks


@pytest.mark.slow
@linux_only
def test_warm_scans_equal_cold_checkov_runs_over_the_same_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (os.environ.get("FORGEFLOW_CHECKOV") or shutil.which("checkov")):
        pytest.skip("checkov is not installed")
    executable = checkov_executable({})
    if interpreter_of(executable) is None:
        pytest.skip("checkov is not a Python console script here")
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for path, files in (
        (a, {"main.tf": TF_A, "main.bicep": BICEP_A}),
        (b, {"main.tf": TF_B}),
        (c, {"main.tf": TF_B + TF_A}),
    ):
        path.mkdir()
        for name, text in files.items():
            (path / name).write_text(text, encoding="utf-8")
    scans = [
        (a, ["bicep", "terraform"]),
        (b, ["terraform"]),
        (a, ["terraform"]),
        (c, ["terraform"]),
    ]
    warm = [report_of(p, f, executable) for p, f in scans]
    assert len(checkov_worker.POOL.pids()) == 1
    monkeypatch.setenv("FORGEFLOW_CHECKOV_WORKER", "0")
    cold = [report_of(p, f, executable) for p, f in scans]
    assert warm == cold
    # the folders differ, so equal answers are not equal by accident
    assert len({json.dumps(r, default=str) for r in cold}) == len(scans)


@linux_only
def test_scans_at_the_same_time_get_a_worker_each_and_both_are_kept(
    tmp_path: Path, fake_checkov: str
) -> None:
    import threading

    answers: list[int] = []

    def scan(name: str) -> None:
        summary, _ = run_checkov(folder(tmp_path, name), ["terraform"], fake_checkov, 30)
        answers.append(summary.failed)

    threads = [threading.Thread(target=scan, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [1, 1]
    assert 1 <= len(checkov_worker.POOL.pids()) <= checkov_worker.MAX_IDLE


@linux_only
def test_a_forked_process_leaves_its_parents_worker_alone(
    tmp_path: Path, fake_checkov: str
) -> None:
    worker = warm_worker(tmp_path, fake_checkov)
    pid = os.fork()
    if pid == 0:  # the child: no workers of its own, and its exit (atexit) stops none
        mine = checkov_worker.POOL.pids()
        checkov_worker.POOL.close()
        os._exit(0 if mine == [] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    summary, _ = run_checkov(folder(tmp_path, "b"), ["terraform"], fake_checkov, 30)
    assert summary.failed == 1
    assert checkov_worker.POOL.pids() == [worker]
